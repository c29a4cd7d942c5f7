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

// A loopback port nobody listens on right now (it may be taken before use;
// the launcher retries with another).
uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

// Forks and execs `args` (absolute path first) in `cwd` with stdout and
// stderr appended to `log_path`; as uid/gid when `drop`. The child dies with
// the calling thread. Returns the pid, or -1 with `error` set.
pid_t spawn(const std::vector<std::string>& args, const std::string& log_path, const std::string& cwd, bool drop,
            uid_t uid, gid_t gid, std::string& error) {
  std::vector<std::string> owned = args;
  std::vector<char*> argv;
  for (auto& arg : owned) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    error = "cannot open " + log_path + ": " + std::strerror(errno);
    if (log_fd >= 0) ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return -1;
  }
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to exec. The death signal
    // is set after the user change, which would clear it.
    if (drop && (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) ::_exit(125);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::chdir(cwd.c_str()) != 0) ::_exit(124);
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

// Waits for `pid` at most timeout_ms; true with `status` if it exited.
bool wait_exit(pid_t pid, int timeout_ms, int& status) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

struct ConnFinish {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultClear {
  void operator()(PGresult* result) const { PQclear(result); }
};

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
  std::string base = std::filesystem::temp_directory_path().string() + "/hawker-pg-XXXXXX";
  std::vector<char> path(base.begin(), base.end());
  path.push_back('\0');
  if (::mkdtemp(path.data()) == nullptr) {
    error_ = std::string("mkdtemp: ") + std::strerror(errno);
    return false;
  }
  folder_ = path.data();
  data_dir_ = folder_ + "/data";
  log_path_ = folder_ + "/postgres.log";
  if (drop_privileges_ && ::chown(folder_.c_str(), run_uid_, run_gid_) != 0) {
    error_ = "chown " + folder_ + ": " + std::strerror(errno);
    return false;
  }
  if (!init_cluster()) {
    std::fprintf(stderr, "PostgreSQL initdb failed: %s\n---- %s ----\n%s----\n", error_.c_str(), log_path_.c_str(),
                 log_tail(80).c_str());
    return false;
  }
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
  pid_t pid = spawn(args, log_path_, folder_, drop_privileges_, run_uid_, run_gid_, error_);
  if (pid < 0) return false;
  int status = 0;
  if (!wait_exit(pid, kInitTimeoutMs, status)) {
    ::kill(pid, SIGKILL);
    wait_exit(pid, kKillTimeoutMs, status);
    error_ = "initdb did not finish within " + std::to_string(kInitTimeoutMs) + " ms";
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error_ = "initdb failed (" + describe_status(status) + ")";
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
  pid_t pid = spawn(args, log_path_, folder_, drop_privileges_, run_uid_, run_gid_, error_);
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

bool PostgresServer::reap(int timeout_ms) {
  int status = 0;
  if (!wait_exit(pid_, timeout_ms, status)) return false;
  pid_ = -1;
  return true;
}

void PostgresServer::stop() {
  if (!running()) return;
  // SIGTERM is PostgreSQL's smart shutdown (it waits for sessions to end).
  ::kill(pid_, SIGTERM);
  if (reap(kStopTimeoutMs)) return;
  std::fprintf(stderr, "postgres ignored SIGTERM for %d ms; sending SIGKILL\n", kStopTimeoutMs);
  ::kill(pid_, SIGKILL);
  (void)reap(kKillTimeoutMs);
}

std::string PostgresServer::conninfo(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + kSuperuser + " dbname=" + database +
         " connect_timeout=10";
}

Result<std::string> PostgresServer::create_database(const std::string& database) const {
  if (database.empty() || database.size() > 63 ||
      database.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
    return make_error(ErrorCode::kInvalid, "bad test database name '" + database + "'");
  std::unique_ptr<PGconn, ConnFinish> conn(PQconnectdb(conninfo("postgres").c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    return make_error(ErrorCode::kUnavailable,
                      std::string("test postgres: ") + (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  const char* values[] = {database.c_str()};
  std::unique_ptr<PGresult, ResultClear> exists(PQexecParams(conn.get(), "SELECT 1 FROM pg_database WHERE datname = $1",
                                                             1, nullptr, values, nullptr, nullptr, 0));
  if (PQresultStatus(exists.get()) != PGRES_TUPLES_OK)
    return make_error(ErrorCode::kIo, std::string("test postgres: ") + PQerrorMessage(conn.get()));
  if (PQntuples(exists.get()) == 0) {
    // A name cannot be a parameter: it is checked above and quoted here.
    std::unique_ptr<char, decltype(&PQfreemem)> quoted(
        PQescapeIdentifier(conn.get(), database.c_str(), database.size()), &PQfreemem);
    if (!quoted) return make_error(ErrorCode::kIo, std::string("test postgres: ") + PQerrorMessage(conn.get()));
    const std::string sql = std::string("CREATE DATABASE ") + quoted.get() + " TEMPLATE template0";
    std::unique_ptr<PGresult, ResultClear> created(PQexec(conn.get(), sql.c_str()));
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

}  // namespace hawker::testing
