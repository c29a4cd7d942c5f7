#include "support/hawker_process.h"

#include <algorithm>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
#include <sstream>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/child.h"

extern char** environ;

namespace hawker::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kLaunchAttemptsMax = 4;   // fresh ports tried when one is taken
constexpr size_t kReplyBytesMax = 8 << 20;
constexpr int kTokenTimeoutMs = 15'000;

int remaining_ms(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_fd(int fd, short events, SteadyClock::time_point deadline) {
  while (true) {
    pollfd entry{fd, events, 0};
    int ready = ::poll(&entry, 1, remaining_ms(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Parses a complete response read until the server closed the connection.
bool parse_reply(const std::string& raw, HttpReply& reply) {
  size_t header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) return false;
  size_t space = raw.find(' ');
  if (space == std::string::npos || space > header_end) return false;
  int status = std::atoi(raw.c_str() + space + 1);
  if (status < 100 || status > 999) return false;
  size_t line = raw.find("\r\n") + 2;
  while (line < header_end) {
    size_t next = raw.find("\r\n", line);
    std::string_view field(raw.data() + line, next - line);
    size_t colon = field.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = field.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      reply.headers.emplace_back(lower(field.substr(0, colon)), std::string(value));
    }
    line = next + 2;
  }
  reply.body = raw.substr(header_end + 4);
  std::string length = reply.header("content-length");
  // 304 and 204 carry no body whatever Content-Length says (RFC 9110 8.6).
  const bool bodiless = status == 304 || status == 204;
  if (bodiless && !reply.body.empty()) return false;
  if (!bodiless && !length.empty() && reply.body.size() != std::strtoull(length.c_str(), nullptr, 10)) return false;
  reply.status = status;
  return true;
}

// Reads a whole file, or empty.
// The hawker binary: $HAWKER_BINARY, else `hawker` beside this test binary
// (both are built into the same build folder). Found at run time rather than
// compiled in, so test objects do not depend on the checkout's path (ccache
// hits across clones).
std::string hawker_binary() {
  if (const char* configured = std::getenv("HAWKER_BINARY"); configured && *configured) return configured;
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("hawker") : (self.parent_path() / "hawker").string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

std::string HttpReply::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key == name) return value;
  return {};
}

boost::json::value HttpReply::json() const {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(body, ec);
  if (ec) return nullptr;
  return value;
}

std::string HttpReply::describe() const {
  if (!answered()) return "no answer (" + error + ")";
  std::string shown = body.size() > 600 ? body.substr(0, 600) + "..." : body;
  return std::to_string(status) + " " + shown;
}

PinnedSale open_pinned_sale(const HawkerProcess& server, const std::string& seller, int64_t stock) {
  const std::string token = server.token(seller, "seller");
  HttpReply product = server.post(
      "/v1/products",
      boost::json::serialize(boost::json::object{{"title", "Lamp"}, {"price_cents", 900}, {"stock", stock}}), token);
  EXPECT_EQ(product.status, 201) << product.describe();
  HttpReply show = server.post("/v1/shows", R"({"title":"Live test"})", token);
  EXPECT_EQ(show.status, 201) << show.describe();
  if (product.status != 201 || show.status != 201) return {};
  PinnedSale sale{std::string(show.json().at("id").as_string()), std::string(product.json().at("id").as_string())};
  HttpReply pinned = server.post("/v1/shows/" + sale.show + "/showcase",
                                 boost::json::serialize(boost::json::object{{"product_id", sale.product}}), token);
  EXPECT_EQ(pinned.status, 200) << pinned.describe();
  return sale;
}

bool eventually(const std::function<bool()>& condition, int timeout_ms, int interval_ms) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (condition()) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
}

namespace {

// Connects to 127.0.0.1:port within the deadline; -1 with `error` set if not.
int connect_loopback(uint16_t port, SteadyClock::time_point deadline, std::string& error) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
  int so_error = errno;
  if (so_error == EINPROGRESS) {
    if (!wait_fd(fd, POLLOUT, deadline)) {
      error = "connect: timed out";
      ::close(fd);
      return -1;
    }
    socklen_t length = sizeof so_error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
    if (so_error == 0) return fd;
  }
  error = std::string("connect: ") + std::strerror(so_error);
  ::close(fd);
  return -1;
}

// Sends all of `request`. A server may answer (e.g. 413) and close before
// reading everything: a reset while sending is not an error, the answer is
// read next. False only on timeout.
bool send_all(int fd, std::string_view request, SteadyClock::time_point deadline) {
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_fd(fd, POLLOUT, deadline)) return false;
    } else {
      return true;
    }
  }
  return true;
}

// Reads until the server closes the connection (the request said
// Connection: close). False with `error` set on timeout or a failure before
// any byte arrived.
bool receive_all(int fd, SteadyClock::time_point deadline, std::string& raw, std::string& error) {
  char buffer[16 * 1024];
  while (true) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      raw.append(buffer, static_cast<size_t>(n));
      if (raw.size() > kReplyBytesMax) {
        error = "reply too large";
        return false;
      }
    } else if (n == 0) {
      return true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_fd(fd, POLLIN, deadline)) {
        error = "recv: timed out after " + std::to_string(raw.size()) + " bytes";
        return false;
      }
    } else if (errno == ECONNRESET && !raw.empty()) {
      return true;  // answered, then reset: keep the answer
    } else {
      error = std::string("recv: ") + std::strerror(errno);
      return false;
    }
  }
}

}  // namespace

HttpReply http_call(uint16_t port, std::string_view method, std::string_view target, const Headers& headers,
                    std::string_view body, int timeout_ms) {
  HttpReply reply;
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  int fd = connect_loopback(port, deadline, reply.error);
  if (fd < 0) return reply;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  std::string request;
  request.reserve(256 + body.size());
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  request.append("Host: 127.0.0.1:").append(std::to_string(port)).append("\r\n");
  request.append("Connection: close\r\n");
  for (const auto& [name, value] : headers) request.append(name).append(": ").append(value).append("\r\n");
  if (!body.empty() || method == "POST") request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  request.append("\r\n").append(body);

  if (!send_all(fd, request, deadline)) {
    reply.error = "send: timed out";
    return reply;
  }
  std::string raw;
  if (!receive_all(fd, deadline, raw, reply.error)) return reply;
  if (!parse_reply(raw, reply)) {
    reply.headers.clear();
    reply.body.clear();
    reply.status = 0;
    reply.error = raw.empty() ? "connection closed without an answer"
                              : "incomplete or malformed reply (" + std::to_string(raw.size()) + " bytes)";
  }
  return reply;
}

// ---- HawkerProcess ------------------------------------------------------------

HawkerProcess::HawkerProcess(HawkerOptions options) : options_(std::move(options)) {}

HawkerProcess::~HawkerProcess() {
  if (running()) stop();
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  if (test != nullptr && ::testing::Test::HasFailure() && !log_path_.empty()) {
    std::fprintf(stderr, "---- hawker server log (%s), last lines ----\n%s---- end of server log ----\n",
                 log_path_.c_str(), log_tail(80).c_str());
  }
  if (!folder_.empty() && std::getenv("HAWKER_TEST_KEEP") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }
}

bool HawkerProcess::start() {
  if (folder_.empty()) {
    folder_ = make_temp_folder("hawker-it", error_);
    if (folder_.empty()) return false;
    data_dir_ = folder_ + "/data";
    log_path_ = folder_ + "/server.log";
  }
  for (int attempt = 0; attempt < kLaunchAttemptsMax; ++attempt) {
    uint16_t port = free_loopback_port();
    if (port == 0) continue;
    if (launch(port)) return true;
    if (running()) break;  // it runs but never got ready: a real failure
  }
  std::fprintf(stderr, "hawker did not start: %s\n---- server log ----\n%s----\n", error_.c_str(),
               log_tail(80).c_str());
  return false;
}

bool HawkerProcess::restart() {
  if (running()) stop();
  const uint16_t previous = port_.load();
  // The same port first (clients retry the address they know), then fresh ones.
  for (int attempt = 0; attempt < kLaunchAttemptsMax; ++attempt) {
    uint16_t port = attempt == 0 && previous != 0 ? previous : free_loopback_port();
    if (port == 0) continue;
    if (launch(port)) return true;
    if (running()) break;
  }
  std::fprintf(stderr, "hawker did not restart: %s\n---- server log ----\n%s----\n", error_.c_str(),
               log_tail(80).c_str());
  return false;
}

bool HawkerProcess::launch(uint16_t port) {
  std::vector<std::string> args = {hawker_binary(), "--log-level", "info", options_.command,
                                   "--listen", "127.0.0.1:" + std::to_string(port), "--data", data_dir_};
  if (!options_.secret_file.empty()) {
    args.push_back("--secret-file");
    args.push_back(options_.secret_file);
  }
  // The HLS origin on a free port too, unless the test sets it (parallel
  // test processes must not fight over the default 8081).
  if (std::find(options_.extra_args.begin(), options_.extra_args.end(), "--hls-listen") == options_.extra_args.end()) {
    args.push_back("--hls-listen");
    args.push_back("127.0.0.1:0");
  }
  for (const auto& extra : options_.extra_args) args.push_back(extra);
  std::string marker = "==== hawker " + options_.command + " on port " + std::to_string(port) + " ====\n";
  std::error_code size_error;
  const auto log_size = std::filesystem::file_size(log_path_, size_error);
  launch_log_offset_ = size_error ? 0 : static_cast<size_t>(log_size);
  if (std::FILE* log = std::fopen(log_path_.c_str(), "a")) {
    std::fputs(marker.c_str(), log);
    std::fclose(log);
  }
  const pid_t pid = spawn_child(ChildSpec{args, log_path_, true, "", std::nullopt}, error_);
  if (pid < 0) return false;
  pid_ = pid;
  port_.store(port);
  std::string why;
  if (wait_ready(why)) return true;
  error_ = why;
  return false;
}

bool HawkerProcess::wait_ready(std::string& why) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(options_.ready_timeout_ms);
  while (true) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      why = "server exited during start-up (status " + std::to_string(status) + ")";
      return false;
    }
    // Ready when this child says it listens (not some other process that
    // took the port in the meantime) and /healthz answers.
    HttpReply reply;
    if (listening_since_launch()) {
      reply = http_call(port_.load(), "GET", "/healthz", {}, "", 2'000);
      if (reply.status == 200) return true;
    } else {
      reply.error = "no server.listening line in the log yet";
    }
    if (SteadyClock::now() >= deadline) {
      why = "no answer from /healthz within " + std::to_string(options_.ready_timeout_ms) + " ms: " + reply.describe();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool HawkerProcess::reap(int timeout_ms, int* status) {
  if (!wait_child(pid_, timeout_ms, status)) return false;
  pid_ = -1;
  return true;
}

int HawkerProcess::stop() {
  if (!running()) return -1;
  const int status = stop_child(pid_, options_.stop_timeout_ms, "hawker");
  pid_ = -1;
  return status;
}

void HawkerProcess::kill9() {
  if (!running()) return;
  int status = 0;
  ::kill(pid_, SIGKILL);
  (void)reap(60'000, &status);
}

bool HawkerProcess::listening_since_launch() const {
  std::string log = read_file(log_path_);
  return log.size() > launch_log_offset_ && log.find("\"server.listening\"", launch_log_offset_) != std::string::npos;
}

std::string HawkerProcess::secret() const {
  std::string text = read_file(options_.secret_file.empty() ? data_dir_ + "/jwt.secret" : options_.secret_file);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

CommandOutput run_hawker(const std::vector<std::string>& arguments, int timeout_ms) {
  CommandOutput result;
  int out_fds[2], err_fds[2];
  if (::pipe2(out_fds, O_CLOEXEC) != 0) return result;
  if (::pipe2(err_fds, O_CLOEXEC) != 0) {
    ::close(out_fds[0]);
    ::close(out_fds[1]);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_fds[1], 2);
  std::vector<std::string> args = {hawker_binary()};
  args.insert(args.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_fds[1]);
  ::close(err_fds[1]);
  if (spawned == 0) {
    // Both pipes are drained together so a chatty child never blocks on a full one.
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    pollfd fds[2] = {{out_fds[0], POLLIN, 0}, {err_fds[0], POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open = 2;
    while (open > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
      if (left <= 0) {
        result.timed_out = true;
        ::kill(pid, SIGKILL);
        break;
      }
      if (::poll(fds, 2, static_cast<int>(left)) < 0 && errno != EINTR) break;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buffer[4096];
        const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
        if (n > 0) {
          sinks[i]->append(buffer, static_cast<size_t>(n));
        } else if (n == 0 || errno != EINTR) {
          fds[i].fd = -1;
          --open;
        }
      }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  }
  ::close(out_fds[0]);
  ::close(err_fds[0]);
  return result;
}

std::string HawkerProcess::token(const std::string& sub, const std::string& role) const {
  const std::vector<std::string> source = options_.secret_file.empty()
                                              ? std::vector<std::string>{"--data", data_dir_}
                                              : std::vector<std::string>{"--secret-file", options_.secret_file};
  std::vector<std::string> arguments = {"token", "--sub", sub, "--role", role};
  arguments.insert(arguments.end(), source.begin(), source.end());
  CommandOutput run = run_hawker(arguments, kTokenTimeoutMs);
  if (run.exit_code != 0) return {};
  std::string out = std::move(run.out);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

HttpReply HawkerProcess::call(std::string_view method, std::string_view target, const Headers& headers,
                              std::string_view body) const {
  return http_call(port_.load(), method, target, headers, body, options_.request_timeout_ms);
}

HttpReply HawkerProcess::get(std::string_view target, const std::string& token, const Headers& headers) const {
  Headers all = headers;
  if (!token.empty()) all.emplace_back("Authorization", "Bearer " + token);
  return call("GET", target, all, "");
}

HttpReply HawkerProcess::post(std::string_view target, std::string_view body, const std::string& token,
                              const Headers& headers) const {
  Headers all = headers;
  if (!token.empty()) all.emplace_back("Authorization", "Bearer " + token);
  all.emplace_back("Content-Type", "application/json");
  return call("POST", target, all, body);
}

std::string HawkerProcess::log_tail(size_t lines) const {
  if (log_path_.empty()) return {};
  return read_tail(log_path_, lines);
}

}  // namespace hawker::testing
