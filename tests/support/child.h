// Servers the tests start as children (hawker, PostgreSQL, nats-server): the
// fork/exec, the bounded waits and the loopback ports they share.
//
// A child is tied to the thread that spawned it (PR_SET_PDEATHSIG): a test
// that crashes leaves nothing running. It gets stdin from /dev/null, stdout
// and stderr in its log file, an empty signal mask and no other descriptor
// of the test (no listening socket leaks into a server).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hawker::testing {

struct ChildSpec {
  std::vector<std::string> args;  // the program's absolute path first
  std::string log_path;           // stdout and stderr go here
  bool append = true;             // else the log is truncated first
  std::string cwd;                // empty: the test's own
  std::optional<std::pair<uid_t, gid_t>> user;  // run as this user (the test runs as root)
};

// The child's pid, or -1 with `error` set.
pid_t spawn_child(const ChildSpec& spec, std::string& error);

// Waits at most `timeout_ms` for `pid` to exit; true (with `status`) when it did.
bool wait_child(pid_t pid, int timeout_ms, int* status);

// SIGTERM, at most `grace_ms` for it to exit, then SIGKILL (printing that
// `what` had to be killed) and a bounded wait. The wait status, or -1.
int stop_child(pid_t pid, int grace_ms, const char* what);

// A loopback port nobody listens on right now (0 when none could be found).
// It may be taken before use: launchers retry with another.
uint16_t free_loopback_port();

// A fresh folder TMPDIR/PREFIX-XXXXXX; empty with `error` set on failure.
std::string make_temp_folder(const std::string& prefix, std::string& error);

// The last `lines` lines of a text file ("" when it cannot be read).
std::string read_tail(const std::string& path, size_t lines);

}  // namespace hawker::testing
