#include "support/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/ids.h"
#include "support/child.h"
#include "support/pg_client.h"

namespace hawker::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
constexpr const char* kSystemUser = "postgres";  // who runs the server when the test is root
constexpr const char* kSuperuser = "postgres";   // the cluster's superuser (initdb -U)
constexpr int kInitTimeoutMs = 120'000;
constexpr int kReadyTimeoutMs = 60'000;
constexpr int kStopTimeoutMs = 15'000;
constexpr int kKillTimeoutMs = 15'000;
constexpr int kLaunchAttemptsMax = 4;  // fresh ports tried when one is taken

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}


std::mutex shared_mutex;
std::unique_ptr<PostgresServer> shared_server;  // guarded by shared_mutex
std::string shared_failure;                     // guarded by shared_mutex
bool shared_tried = false;                      // guarded by shared_mutex

}  // namespace

PostgresServer* PostgresServer::shared() {
  std::lock_guard lock(shared_mutex);
  if (!shared_tried) {
    shared_tried = true;
    auto server = std::make_unique<PostgresServer>();
    if (server->start()) shared_server = std::move(server);
    else shared_failure = server->error();
  }
  return shared_server.get();
}

std::string PostgresServer::shared_error() {
  std::lock_guard lock(shared_mutex);
  return shared_failure;
}

PostgresServer::~PostgresServer() {
  stop();
  if (!folder_.empty() && std::getenv("HAWKER_TEST_KEEP") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }
}

bool PostgresServer::start() {
  if (!prepare_folder()) return false;
  if (!init_cluster()) {
    std::fprintf(stderr, "PostgreSQL initdb failed: %s\n---- %s ----\n%s----\n", error_.c_str(), log_path_.c_str(),
                 log_tail(80).c_str());
    return false;
  }
  return launch_on_free_port();
}

bool PostgresServer::start_standby(const PostgresServer& primary) {
  if (!primary.running()) {
    error_ = "the primary is not running";
    return false;
  }
  if (!prepare_folder()) return false;
  if (!base_backup(primary)) {
    std::fprintf(stderr, "pg_basebackup failed: %s\n---- %s ----\n%s----\n", error_.c_str(), log_path_.c_str(),
                 log_tail(80).c_str());
    return false;
  }
  return launch_on_free_port();
}

// The user to run as (when root) and a fresh folder it owns.
bool PostgresServer::prepare_folder() {
  if (::geteuid() == 0) {
    const passwd* user = ::getpwnam(kSystemUser);
    if (user == nullptr) {
      error_ = std::string("running as root, and there is no '") + kSystemUser + "' user to run PostgreSQL as";
      return false;
    }
    drop_privileges_ = true;
    run_uid_ = user->pw_uid;
    run_gid_ = user->pw_gid;
  }
  folder_ = make_temp_folder("hawker-pg", error_);
  if (folder_.empty()) return false;
  data_dir_ = folder_ + "/data";
  log_path_ = folder_ + "/postgres.log";
  if (drop_privileges_ && ::chown(folder_.c_str(), run_uid_, run_gid_) != 0) {
    error_ = "chown " + folder_ + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool PostgresServer::launch_on_free_port() {
  for (int attempt = 0; attempt < kLaunchAttemptsMax; ++attempt) {
    uint16_t port = free_loopback_port();
    if (port == 0) continue;
    if (launch(port)) return true;
    if (running()) break;  // it runs but never got ready: a real failure
    // It exited: retry on another port only if this one was taken.
    std::string tail = log_tail(20);
    if (tail.find("could not bind") == std::string::npos && tail.find("already in use") == std::string::npos) break;
  }
  std::fprintf(stderr, "PostgreSQL did not start: %s\n---- %s ----\n%s----\n", error_.c_str(), log_path_.c_str(),
               log_tail(80).c_str());
  stop();
  return false;
}

bool PostgresServer::init_cluster() {
  const std::vector<std::string> args = {std::string(kBinDir) + "/initdb",
                                         "-D",
                                         data_dir_,
                                         "-U",
                                         kSuperuser,
                                         "-A",
                                         "trust",
                                         "-E",
                                         "UTF8",
                                         "--locale=C",
                                         "--no-sync",
                                         "--no-instructions"};
  return run_to_end(args, "initdb");
}

bool PostgresServer::base_backup(const PostgresServer& primary) {
  // -R writes standby.signal and primary_conninfo; -X stream copies the WAL
  // the backup needs over a second connection while it runs.
  const std::vector<std::string> args = {std::string(kBinDir) + "/pg_basebackup",
                                         "-h",
                                         "127.0.0.1",
                                         "-p",
                                         std::to_string(primary.port()),
                                         "-U",
                                         kSuperuser,
                                         "-D",
                                         data_dir_,
                                         "-R",
                                         "-X",
                                         "stream",
                                         "--checkpoint=fast",
                                         "--no-sync"};
  return run_to_end(args, "pg_basebackup");
}

bool PostgresServer::run_to_end(const std::vector<std::string>& args, const char* what) {
  pid_t pid = spawn_child(child_spec(args), error_);
  if (pid < 0) return false;
  int status = 0;
  if (!wait_child(pid, kInitTimeoutMs, &status)) {
    ::kill(pid, SIGKILL);
    wait_child(pid, kKillTimeoutMs, &status);
    error_ = std::string(what) + " did not finish within " + std::to_string(kInitTimeoutMs) + " ms";
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error_ = std::string(what) + " failed (" + describe_status(status) + ")";
    return false;
  }
  return true;
}

bool PostgresServer::launch(uint16_t port) {
  // A throwaway cluster, removed at the end: flushing it to disk buys
  // nothing (fsync=off), and the shutdown checkpoint of dozens of test
  // databases would otherwise outlast the stop timeout. Commits still wait
  // for their WAL write (synchronous_commit stays on).
  const std::vector<std::string> args = {
      std::string(kBinDir) + "/postgres", "-D", data_dir_, "-k", folder_, "-c", "listen_addresses=127.0.0.1",
      "-c", "fsync=off", "-p", std::to_string(port)};
  const std::string marker = "==== postgres on port " + std::to_string(port) + " ====\n";
  if (std::FILE* log = std::fopen(log_path_.c_str(), "a")) {
    std::fputs(marker.c_str(), log);
    std::fclose(log);
  }
  pid_t pid = spawn_child(child_spec(args), error_);
  if (pid < 0) return false;
  pid_ = pid;
  port_ = port;
  std::string why;
  if (wait_ready(why)) return true;
  error_ = why;
  return false;
}

bool PostgresServer::wait_ready(std::string& why) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(kReadyTimeoutMs);
  const std::string ping = conninfo("postgres");
  while (true) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      why = "postgres exited during start-up (" + describe_status(status) + ")";
      return false;
    }
    if (PQping(ping.c_str()) == PQPING_OK) return true;
    if (SteadyClock::now() >= deadline) {
      why = "postgres did not accept connections within " + std::to_string(kReadyTimeoutMs) + " ms";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// initdb and postgres: in the server's folder, logging to its log, as the
// postgres user when the tests run as root.
ChildSpec PostgresServer::child_spec(const std::vector<std::string>& args) const {
  ChildSpec spec{args, log_path_, true, folder_, std::nullopt};
  if (drop_privileges_) spec.user = std::make_pair(run_uid_, run_gid_);
  return spec;
}

bool PostgresServer::reap(int timeout_ms) {
  if (!wait_child(pid_, timeout_ms, nullptr)) return false;
  pid_ = -1;
  return true;
}

void PostgresServer::stop() {
  if (!running()) return;
  // SIGTERM is PostgreSQL's smart shutdown (it waits for sessions to end).
  (void)stop_child(pid_, kStopTimeoutMs, "postgres");
  pid_ = -1;
}

std::string PostgresServer::conninfo(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + kSuperuser + " dbname=" + database +
         " connect_timeout=10";
}

Result<std::string> PostgresServer::create_database(const std::string& database) const {
  if (database.empty() || database.size() > 63 ||
      database.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
    return make_error(ErrorCode::kInvalid, "bad test database name '" + database + "'");
  PgConnection conn(PQconnectdb(conninfo("postgres").c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    return make_error(ErrorCode::kUnavailable,
                      std::string("test postgres: ") + (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  const char* values[] = {database.c_str()};
  PgQueryResult exists(PQexecParams(conn.get(), "SELECT 1 FROM pg_database WHERE datname = $1",
                                                             1, nullptr, values, nullptr, nullptr, 0));
  if (PQresultStatus(exists.get()) != PGRES_TUPLES_OK)
    return make_error(ErrorCode::kIo, std::string("test postgres: ") + PQerrorMessage(conn.get()));
  if (PQntuples(exists.get()) == 0) {
    // A name cannot be a parameter: it is checked above and quoted here.
    std::unique_ptr<char, decltype(&PQfreemem)> quoted(
        PQescapeIdentifier(conn.get(), database.c_str(), database.size()), &PQfreemem);
    if (!quoted) return make_error(ErrorCode::kIo, std::string("test postgres: ") + PQerrorMessage(conn.get()));
    const std::string sql = std::string("CREATE DATABASE ") + quoted.get() + " TEMPLATE template0";
    PgQueryResult created(PQexec(conn.get(), sql.c_str()));
    const char* state = PQresultErrorField(created.get(), PG_DIAG_SQLSTATE);
    const bool raced = state != nullptr && std::strcmp(state, "42P04") == 0;  // created meanwhile
    if (PQresultStatus(created.get()) != PGRES_COMMAND_OK && !raced)
      return make_error(ErrorCode::kIo, std::string("test postgres: ") + PQerrorMessage(conn.get()));
  }
  return conninfo(database);
}

std::string PostgresServer::log_tail(size_t lines) const {
  if (log_path_.empty()) return {};
  return read_tail(log_path_, lines);
}

Result<std::string> shared_database_for(const std::string& prefix, const std::string& key) {
  PostgresServer* server = PostgresServer::shared();
  if (server == nullptr)
    return make_error(ErrorCode::kUnavailable, "no PostgreSQL server for tests: " + PostgresServer::shared_error());
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a64(key)));
  return server->create_database(prefix + hash);
}

}  // namespace hawker::testing
