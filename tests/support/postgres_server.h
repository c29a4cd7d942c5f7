// PostgresServer: a throwaway PostgreSQL 15 (or a hot standby of one) for
// tests of the cluster-mode adapters (PostgresWriteStore, PostgresReadStore).
//
// start() runs `initdb` in a fresh temp folder (DIR/data, trust
// authentication, superuser `postgres`), then `postgres -D DIR/data -k DIR
// -c listen_addresses=127.0.0.1 -p PORT` on a free loopback port, and waits
// (bounded) until it accepts connections. PostgreSQL refuses to run as root:
// when the test runs as root, both programs run as the `postgres` system user
// (the child drops to it before exec, the folder is chowned to it). The
// server's output goes to DIR/postgres.log; its tail is printed when it does
// not start. The child is tied to the thread that started it
// (PR_SET_PDEATHSIG), so a crashed test leaves no server behind.
// stop() sends SIGTERM and waits (bounded, then SIGKILL); the destructor
// stops it and removes the folder (kept when HAWKER_TEST_KEEP is set).
//
// start_standby(primary) makes a hot standby of a running server instead:
// `pg_basebackup -R -X stream` from the primary (initdb's pg_hba trusts
// replication from loopback, and PostgreSQL 15 defaults to wal_level=replica
// and max_wal_senders=10) into its own temp folder, then a postmaster on
// another free port that streams the primary's WAL and answers read-only
// queries. Stop the standby before its primary.
//
// One server per test binary: shared() starts it on first use (call it from
// the main thread) and it is stopped at exit; create_database() gives each
// test its own database.
//
// Threads: start/stop and the destructor from one thread; port(),
// conninfo() and create_database() from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include <vector>

#include "core/result.h"
#include "support/child.h"

namespace hawker::testing {

class PostgresServer {
 public:
  PostgresServer() = default;
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // The test binary's server, started on first call; nullptr when it could
  // not start (the reason is in shared_error() and was printed).
  static PostgresServer* shared();
  static std::string shared_error();

  // False with error() set (and the log tail printed) if it did not start.
  bool start();
  // A hot standby of `primary` (running); false with error() set as start().
  bool start_standby(const PostgresServer& primary);
  void stop();
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_; }
  const std::string& error() const { return error_; }
  // A libpq connection string for `database` as the superuser.
  std::string conninfo(const std::string& database) const;
  // Creates `database` unless it exists (letters, digits and _ only);
  // returns its conninfo.
  Result<std::string> create_database(const std::string& database) const;
  std::string log_tail(size_t lines = 60) const;

 private:
  bool prepare_folder();
  bool init_cluster();
  bool base_backup(const PostgresServer& primary);
  bool launch_on_free_port();
  // Runs a tool (bounded by kInitTimeoutMs) and checks it exited 0.
  bool run_to_end(const std::vector<std::string>& args, const char* what);
  bool launch(uint16_t port);
  bool wait_ready(std::string& why);
  bool reap(int timeout_ms);
  ChildSpec child_spec(const std::vector<std::string>& args) const;

  std::string folder_;
  std::string data_dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  uid_t run_uid_ = 0;  // the user initdb and postgres run as
  gid_t run_gid_ = 0;
  bool drop_privileges_ = false;
  std::string error_;
};

// The conninfo of the shared server's database for `key` (PREFIX + a hash of
// the key: the same key, e.g. a test's folder, always gets the same
// database), created on first use.
Result<std::string> shared_database_for(const std::string& prefix, const std::string& key);

}  // namespace hawker::testing
