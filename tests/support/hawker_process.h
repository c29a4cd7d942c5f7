// HawkerProcess: runs the real `hawker serve` binary (beside the test binary,
// or $HAWKER_BINARY) as a
// child process for integration tests, and talks HTTP to it.
//
// start() makes a fresh temp folder (data in DIR/data, the child's stdout and
// stderr in DIR/server.log), picks a free loopback port by binding port 0,
// forks and execs the server, and waits (bounded) until GET /healthz answers.
// stop() sends SIGTERM and waits (bounded, then SIGKILL); kill9() sends
// SIGKILL, as a crash would; restart() starts again on the same data folder.
// The destructor stops the child, prints the log's tail if the current test
// failed, and removes the folder.
//
// Tokens are minted by running `hawker token`. The HTTP helpers use one
// short-lived connection per call (Connection: close) and never throw: a call
// that got no answer (refused, reset, timed out) has status 0 and `error` set.
//
// Threads: start/stop/kill9/restart and the destructor from the thread that
// owns the object (the child is tied to it with PR_SET_PDEATHSIG); port(),
// token(), get(), post() and call() from any thread, also while a restart is
// under way (a call then simply gets no answer).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace hawker::testing {

// One HTTP exchange as the client saw it.
struct HttpReply {
  int status = 0;     // 0: no answer (see error)
  std::string error;  // why there was no answer
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;

  bool answered() const { return status != 0; }
  // The header's value, or empty; `name` lower-case.
  std::string header(std::string_view name) const;
  // The body parsed as JSON; null when it is not JSON.
  boost::json::value json() const;
  // "status body" for assertion messages.
  std::string describe() const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// A blocking HTTP/1.1 call to 127.0.0.1:port with Connection: close. A
// Content-Length header is added for a non-empty body or a POST.
HttpReply http_call(uint16_t port, std::string_view method, std::string_view target, const Headers& headers,
                    std::string_view body, int timeout_ms);

struct HawkerOptions {
  std::string command = "serve";        // or gateway, worker (cluster roles)
  std::vector<std::string> extra_args;  // appended to `hawker COMMAND ...`
  // The JWT secret file the server is given (--secret-file, added to the
  // arguments) and token() signs with; empty: DIR/data/jwt.secret.
  std::string secret_file;
  int ready_timeout_ms = 30'000;        // for /healthz after a (re)start
  int stop_timeout_ms = 15'000;         // SIGTERM grace before SIGKILL
  int request_timeout_ms = 15'000;      // per HTTP call
};

class HawkerProcess {
 public:
  explicit HawkerProcess(HawkerOptions options = {});
  ~HawkerProcess();
  HawkerProcess(const HawkerProcess&) = delete;
  HawkerProcess& operator=(const HawkerProcess&) = delete;

  // Starts on a fresh folder. False (with `error()` and the log tail printed)
  // when the server did not come up within ready_timeout_ms.
  bool start();
  // SIGTERM, then wait for exit (SIGKILL past stop_timeout_ms). Returns the
  // exit status as waitpid reports it, or -1 when nothing was running.
  int stop();
  // SIGKILL and reap: a crash.
  void kill9();
  // Starts again on the same data folder (and the same port when it is free).
  bool restart();
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_.load(); }
  const std::string& folder() const { return folder_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& error() const { return error_; }
  // The JWT secret the server signs with (DIR/data/jwt.secret).
  std::string secret() const;

  // Runs `hawker token --sub SUB --role ROLE --data DIR`; empty on failure.
  std::string token(const std::string& sub, const std::string& role = "buyer") const;

  HttpReply get(std::string_view target, const std::string& token = "", const Headers& headers = {}) const;
  HttpReply post(std::string_view target, std::string_view body, const std::string& token = "",
                 const Headers& headers = {}) const;
  HttpReply call(std::string_view method, std::string_view target, const Headers& headers,
                 std::string_view body) const;

  // The last `lines` lines of the server's log.
  std::string log_tail(size_t lines = 60) const;

 private:
  bool launch(uint16_t port);
  bool wait_ready(std::string& why);
  bool reap(int timeout_ms, int* status);
  bool listening_since_launch() const;

  HawkerOptions options_;
  std::string folder_;
  std::string data_dir_;
  std::string log_path_;
  size_t launch_log_offset_ = 0;  // where the current child's log begins
  pid_t pid_ = -1;
  std::atomic<uint16_t> port_{0};
  std::string error_;
};

// What a run of the hawker binary printed and how it ended.
struct CommandOutput {
  int exit_code = -1;  // -1: it did not exit normally (killed, or could not start)
  bool timed_out = false;
  std::string out, err;
};

// Runs `hawker ARGUMENTS...` (the binary beside the test binary, or
// $HAWKER_BINARY) and waits for it, at most `timeout_ms` (then SIGKILL).
CommandOutput run_hawker(const std::vector<std::string>& arguments, int timeout_ms);

// A new product of `seller` with `stock` units, pinned on a new show of
// theirs, set up through `server`'s API. Each step that fails is a test
// failure; both ids are empty when the product or the show was not made.
struct PinnedSale {
  std::string show;
  std::string product;
};
PinnedSale open_pinned_sale(const HawkerProcess& server, const std::string& seller, int64_t stock);

// Polls `condition` every `interval_ms` until it holds or `timeout_ms` passes
// (steady clock). Returns whether it held: bounded waiting, never a sleep that
// a test relies on.
bool eventually(const std::function<bool()>& condition, int timeout_ms, int interval_ms = 20);

}  // namespace hawker::testing
