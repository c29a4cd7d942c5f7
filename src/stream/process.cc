#include "stream/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace hawker::stream {

Result<std::string> find_executable(const std::string& name, const std::string& debian_package) {
  auto missing = [&] {
    std::string message = "cannot find the program '" + name + "'";
    if (!debian_package.empty()) message += " (install the Debian package " + debian_package + ")";
    return make_error(ErrorCode::kUnavailable, message);
  };
  if (name.empty()) return missing();
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) == 0) return name;
    return missing();
  }
  const char* path = std::getenv("PATH");
  std::string directories = path ? path : "/usr/local/bin:/usr/bin:/bin";
  directories += ":/usr/sbin:/sbin";  // nginx lives in sbin, often not in a user's PATH
  size_t start = 0;
  while (start <= directories.size()) {
    size_t end = directories.find(':', start);
    if (end == std::string::npos) end = directories.size();
    std::string directory = directories.substr(start, end - start);
    if (!directory.empty()) {
      std::string candidate = directory + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return missing();
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

Result<ChildProcessPtr> ChildProcess::spawn(const ProcessSpec& spec) {
  if (spec.argv.empty()) return make_error(ErrorCode::kInvalid, "spawn: empty command");
  auto program = find_executable(spec.argv[0]);
  if (!program) return program.error();

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls (the parent has other threads).
  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const auto& argument : spec.argv) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  const std::string log_path = spec.log_path.empty() ? "/dev/null" : spec.log_path;
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return make_error(ErrorCode::kIo, "spawn: cannot open log " + log_path + ": " + std::strerror(errno));
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    close(log_fd);
    return make_error(ErrorCode::kIo, "spawn: cannot open /dev/null");
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    close(null_fd);
    return make_error(ErrorCode::kIo, std::string("spawn: fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    setpgid(0, 0);  // a terminal's Ctrl-C goes to hawker, which stops its children in order
    if (spec.nice != 0) setpriority(PRIO_PROCESS, 0, spec.nice);  // best effort
    // Signals blocked by the parent's threads stay blocked across exec: clear them.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(program->c_str(), argv.data());
    _exit(127);
  }
  close(log_fd);
  close(null_fd);
  return ChildProcessPtr(new ChildProcess(pid));
}

ChildProcess::~ChildProcess() {
  if (!status_) terminate(SIGTERM, 3000);
}

bool ChildProcess::running() {
  if (status_) return false;
  int status = 0;
  pid_t reaped = waitpid(pid_, &status, WNOHANG);
  if (reaped == pid_) {
    status_ = status;
    return false;
  }
  if (reaped < 0 && errno == ECHILD) {  // reaped elsewhere; nothing more to learn
    status_ = 0;
    return false;
  }
  return true;
}

bool ChildProcess::wait_for(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The whole process group: the child leads its own (setpgid at spawn), so
// nginx's workers get the signal too and none outlive a killed master.
void ChildProcess::signal(int signal_number) {
  if (status_) return;
  if (kill(-pid_, signal_number) != 0) kill(pid_, signal_number);
}

void ChildProcess::terminate(int signal_number, int grace_ms) {
  if (!running()) return;
  signal(signal_number);
  if (!wait_for(grace_ms)) {
    signal(SIGKILL);
    wait_for(10'000);
  }
  kill(-pid_, SIGKILL);  // anything the child left in its group (nginx workers)
}

}  // namespace hawker::stream
