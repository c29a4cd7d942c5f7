// NatsServer: a real nats-server (Debian's, or $HAWKER_NATS_SERVER) with
// JetStream on, for the tests of the JetStream adapters.
//
// start() makes a temp folder (JetStream data in DIR/jetstream, the server's
// output in DIR/server.log), picks a free loopback port, forks and execs
// `nats-server -js -sd DIR/jetstream -a 127.0.0.1 -p PORT`, and waits
// (bounded) until this child says it is ready and answers a NATS client with
// JetStream on. The child is tied to the forking thread (PR_SET_PDEATHSIG), so
// a test binary that dies takes its server along. stop() sends SIGTERM, waits
// (bounded), then SIGKILL; the destructor stops and removes the folder.
//
// One server per test binary: shared() starts it on first use and keeps it
// until the process exits; tests isolate themselves by name prefix
// (unique_prefix()). Threads: shared() from the test thread (the first call
// forks); url() from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace hawker::testing {

class NatsServer {
 public:
  NatsServer() = default;
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // The binary's shared server, or nullptr with `why` set (the error and the
  // server's log tail) when it could not start. Tries once per process.
  static NatsServer* shared(std::string* why = nullptr);

  // False with `why` (including the log's tail) if the server did not start.
  bool start(std::string& why);
  void stop();

  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& directory() const { return directory_; }
  std::string log_tail(size_t bytes_max = 4'000) const;

 private:
  bool launch(uint16_t port, std::string& why);
  bool wait_ready(std::string& why);

  std::string directory_;
  std::string log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// Shared with NatsCluster (support/nats_cluster.h).
// The nats-server binary: $HAWKER_NATS_SERVER, else Debian's /usr/sbin/nats-server.
std::string nats_server_binary();

// Waits (bounded by `timeout`) until the nats-server child `pid` says in its
// log, past byte `log_offset` (where this launch began writing), that it is
// ready on 127.0.0.1:`port`, and a client connecting there gets an INFO with
// JetStream on. False with `why` when the child exits (then `pid` becomes -1)
// or the time runs out.
bool wait_nats_ready(pid_t& pid, const std::string& log_path, size_t log_offset, uint16_t port,
                     std::chrono::milliseconds timeout, std::string& why);

// The last `bytes_max` bytes of a log ("" when it cannot be read).
std::string log_tail_of(const std::string& path, size_t bytes_max);

// A name prefix no other test of this process uses: letters, digits and '_'
// (legal in stream, consumer and bucket names and in subjects).
std::string unique_prefix(std::string_view hint);

}  // namespace hawker::testing
