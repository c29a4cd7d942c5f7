#include "support/child.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>

namespace hawker::testing {

namespace {
constexpr int kKillWaitMs = 60'000;  // SIGKILL cannot be ignored; this only bounds a stuck kernel
}  // namespace

pid_t spawn_child(const ChildSpec& spec, std::string& error) {
  std::vector<std::string> owned = spec.args;
  std::vector<char*> argv;
  for (auto& arg : owned) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int log_flags = O_WRONLY | O_CREAT | O_CLOEXEC | (spec.append ? O_APPEND : O_TRUNC);
  const int log_fd = ::open(spec.log_path.c_str(), log_flags, 0644);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    error = "cannot open " + spec.log_path + ": " + std::strerror(errno);
    if (log_fd >= 0) ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return -1;
  }
  const bool drop = spec.user.has_value();
  const uid_t uid = drop ? spec.user->first : 0;
  const gid_t gid = drop ? spec.user->second : 0;
  const char* cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to exec. The death signal
    // is set after a user change, which would clear it.
    if (drop && (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) ::_exit(125);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (cwd != nullptr && ::chdir(cwd) != 0) ::_exit(124);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
      for (int fd = 3; fd < 65536; ++fd) ::close(fd);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) error = std::string("fork: ") + std::strerror(errno);
  return pid;
}

bool wait_child(pid_t pid, int timeout_ms, int* status) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int ignored = 0;
  if (status == nullptr) status = &ignored;
  while (true) {
    const pid_t done = ::waitpid(pid, status, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int stop_child(pid_t pid, int grace_ms, const char* what) {
  if (pid <= 0) return -1;
  int status = 0;
  ::kill(pid, SIGTERM);
  if (wait_child(pid, grace_ms, &status)) return status;
  std::fprintf(stderr, "%s ignored SIGTERM for %d ms; sending SIGKILL\n", what, grace_ms);
  ::kill(pid, SIGKILL);
  (void)wait_child(pid, kKillWaitMs, &status);
  return status;
}

uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

std::string make_temp_folder(const std::string& prefix, std::string& error) {
  const std::string base = std::filesystem::temp_directory_path().string() + "/" + prefix + "-XXXXXX";
  std::vector<char> path(base.begin(), base.end());
  path.push_back('\0');
  if (::mkdtemp(path.data()) == nullptr) {
    error = std::string("mkdtemp: ") + std::strerror(errno);
    return {};
  }
  return path.data();
}

std::string read_tail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(std::move(line));
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& kept : tail) out.append(kept).append("\n");
  return out;
}

}  // namespace hawker::testing
