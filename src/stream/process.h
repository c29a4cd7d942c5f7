// ChildProcess: a program hawker starts and supervises (ffmpeg for the ABR
// ladder, nginx for RTMP ingest and the CDN edge, the demo's test source).
//
// The child gets /dev/null as stdin and a log file (or /dev/null) as stdout
// and stderr. It is asked to die with SIGTERM when the thread that spawned
// it ends (PR_SET_PDEATHSIG), so a hawker killed with SIGKILL leaves no
// ffmpeg or nginx behind: spawn from a thread that lives as long as the
// child (the main thread, or a supervisor thread).
//
// One owner at a time; not thread-safe. The destructor terminates a child
// still running (SIGTERM, then SIGKILL after the grace period).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace hawker::stream {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in PATH
  std::string log_path;           // stdout and stderr, appended; empty: /dev/null
  // The child's nice value when not 0. Below 0 (more CPU than the rest of
  // hawker under contention) needs root or CAP_SYS_NICE; without them the
  // child runs at the inherited priority.
  int nice = 0;
};

class ChildProcess;
using ChildProcessPtr = std::unique_ptr<ChildProcess>;

class ChildProcess {
 public:
  static Result<ChildProcessPtr> spawn(const ProcessSpec& spec);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reaps without blocking; false once the child has exited.
  bool running();
  // The wait status (as from waitpid) once exited.
  std::optional<int> wait_status() const { return status_; }
  // Waits up to timeout_ms for the child to exit; true when it has.
  bool wait_for(int timeout_ms);
  // Signals the child's process group (the child and what it started).
  void signal(int signal_number);
  // Sends signal_number, waits up to grace_ms, then SIGKILL and waits; then
  // kills whatever is left in the child's group.
  void terminate(int signal_number, int grace_ms);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::optional<int> status_;
};

// The full path of an executable: `name` itself when it holds a '/',
// otherwise the first match in PATH; an error naming the program (and the
// Debian package to install, when given) when there is none.
Result<std::string> find_executable(const std::string& name, const std::string& debian_package = "");

// "exited 0", "killed by signal 9", ... for logs.
std::string describe_wait_status(int status);

}  // namespace hawker::stream
