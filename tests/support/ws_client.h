// A blocking WebSocket test client on Beast: connect (with headers), send
// text, read the next frame with a deadline, and see how the server closed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

namespace hawker::testing {

class WsClient {
 public:
  WsClient();
  ~WsClient();
  // Opens ws://127.0.0.1:port/target. On a refused handshake returns false
  // and http_status() says what the server answered.
  bool connect(uint16_t port, const std::string& target,
               const std::vector<std::pair<std::string, std::string>>& headers = {});
  int http_status() const { return http_status_; }
  bool send_text(const std::string& text);
  // The next text frame within timeout_ms; nullopt on timeout or close.
  std::optional<std::string> read(int timeout_ms = 5000);
  // Reads frames until one has "type" == type (others are kept in skipped()).
  std::optional<boost::json::object> read_type(const std::string& type, int timeout_ms = 5000);
  // The close code the server sent (0: none seen yet).
  int close_code() const { return close_code_; }
  bool closed() const { return closed_; }
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int http_status_ = 0;
  int close_code_ = 0;
  bool closed_ = false;
};

}  // namespace hawker::testing
