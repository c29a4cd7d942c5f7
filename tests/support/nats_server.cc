#include "support/nats_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include "support/child.h"

namespace hawker::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kLaunchAttemptsMax = 4;  // fresh ports tried when one is taken
constexpr std::chrono::milliseconds kReadyTimeout{20'000};
constexpr std::chrono::milliseconds kStopTimeout{5'000};
constexpr std::chrono::milliseconds kPollPause{20};
constexpr int kProbeTimeoutMs = 1'000;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Connects to the port and reads the server's INFO line (bounded): proof that
// a NATS server answers there, and whether it has JetStream on.
std::string read_info_line(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return {};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  std::string line;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 || errno == EINPROGRESS) {
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(kProbeTimeoutMs);
    char buffer[4096];
    while (line.find('\n') == std::string::npos && line.size() < 65'536) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
      if (left <= 0) break;
      pollfd entry{fd, POLLIN, 0};
      if (::poll(&entry, 1, static_cast<int>(left)) <= 0) break;
      ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got <= 0) break;
      line.append(buffer, static_cast<size_t>(got));
    }
  }
  ::close(fd);
  return line;
}

}  // namespace

NatsServer::~NatsServer() {
  stop();
  if (!directory_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
}

NatsServer* NatsServer::shared(std::string* why) {
  // Started once, on first use, and stopped when the process exits.
  static std::string failure;
  static std::unique_ptr<NatsServer> server = [] {
    auto started = std::make_unique<NatsServer>();
    if (!started->start(failure)) started.reset();
    return started;
  }();
  if (!server && why != nullptr) *why = failure;
  return server.get();
}

bool NatsServer::start(std::string& why) {
  if (directory_.empty()) {
    directory_ = make_temp_folder("hawker-nats", why);
    if (directory_.empty()) return false;
    log_path_ = directory_ + "/server.log";
  }
  if (::access(nats_server_binary().c_str(), X_OK) != 0) {
    why = nats_server_binary() + " is not an executable (install nats-server or set HAWKER_NATS_SERVER)";
    return false;
  }
  std::string last;
  for (int attempt = 0; attempt < kLaunchAttemptsMax; ++attempt) {
    uint16_t port = free_loopback_port();
    if (port == 0) continue;
    if (launch(port, last)) return true;
    stop();
  }
  why = "nats-server did not start: " + last + "\n---- " + log_path_ + " (tail) ----\n" + log_tail();
  return false;
}

bool NatsServer::launch(uint16_t port, std::string& why) {
  std::vector<std::string> args = {nats_server_binary(), "-js", "-sd", directory_ + "/jetstream", "-a", "127.0.0.1",
                                   "-p", std::to_string(port)};
  const pid_t pid = spawn_child(ChildSpec{args, log_path_, false, "", std::nullopt}, why);
  if (pid < 0) return false;
  pid_ = pid;
  port_ = port;
  return wait_ready(why);
}

bool NatsServer::wait_ready(std::string& why) {
  return wait_nats_ready(pid_, log_path_, 0, port_, kReadyTimeout, why);
}

void NatsServer::stop() {
  if (pid_ <= 0) return;
  (void)stop_child(pid_, static_cast<int>(kStopTimeout.count()), "nats-server");
  pid_ = -1;
}

std::string NatsServer::log_tail(size_t bytes_max) const { return log_tail_of(log_path_, bytes_max); }

std::string nats_server_binary() {
  if (const char* configured = std::getenv("HAWKER_NATS_SERVER"); configured && *configured) return configured;
  return "/usr/sbin/nats-server";
}

bool wait_nats_ready(pid_t& pid, const std::string& log_path, size_t log_offset, uint16_t port,
                     std::chrono::milliseconds timeout, std::string& why) {
  const auto deadline = SteadyClock::now() + timeout;
  const std::string listening = "127.0.0.1:" + std::to_string(port);
  while (true) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      why = "nats-server exited during start-up (status " + std::to_string(status) + ")";
      return false;
    }
    // Ready when this child says so (not some other process that took the
    // port meanwhile, nor an earlier launch logging to the same file) and a
    // client gets an INFO with JetStream on.
    const std::string log = read_file(log_path);
    const std::string_view fresh = log_offset < log.size() ? std::string_view(log).substr(log_offset) : std::string_view();
    if (fresh.find("Server is ready") != std::string_view::npos && fresh.find(listening) != std::string_view::npos) {
      const std::string info = read_info_line(port);
      if (info.rfind("INFO ", 0) == 0 && info.find("\"jetstream\":true") != std::string::npos) return true;
    }
    if (SteadyClock::now() >= deadline) {
      why = "not ready within " + std::to_string(timeout.count()) + " ms on port " + std::to_string(port);
      return false;
    }
    std::this_thread::sleep_for(kPollPause);
  }
}

std::string log_tail_of(const std::string& path, size_t bytes_max) {
  std::string log = read_file(path);
  if (log.size() > bytes_max) log = "..." + log.substr(log.size() - bytes_max);
  return log;
}

std::string unique_prefix(std::string_view hint) {
  static std::atomic<uint64_t> next{1};
  std::string prefix;
  for (char c : hint)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) prefix.push_back(c);
  if (prefix.size() > 32) prefix.resize(32);
  return "t" + std::to_string(::getpid()) + "_" + std::to_string(next.fetch_add(1)) + "_" + prefix;
}

}  // namespace hawker::testing
