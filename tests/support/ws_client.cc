#include "support/ws_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace hawker::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct WsClient::Impl {
  asio::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buffer;
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}
WsClient::~WsClient() { close(); }

bool WsClient::connect(uint16_t port, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  beast::error_code ec;
  auto& stream = beast::get_lowest_layer(impl_->ws);
  stream.expires_after(std::chrono::seconds(5));
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return false;
  impl_->ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& request) {
    for (const auto& [name, value] : headers) request.set(name, value);
  }));
  websocket::response_type response;
  impl_->ws.handshake(response, "127.0.0.1:" + std::to_string(port), target, ec);
  http_status_ = static_cast<int>(response.result_int());
  stream.expires_never();
  return !ec;
}

bool WsClient::send_text(const std::string& text) {
  beast::error_code ec;
  impl_->ws.text(true);
  impl_->ws.write(asio::buffer(text), ec);
  return !ec;
}

std::optional<std::string> WsClient::read(int timeout_ms) {
  if (closed_) return std::nullopt;
  std::optional<std::string> out;
  impl_->buffer.clear();
  bool done = false;
  impl_->ws.async_read(impl_->buffer, [&](beast::error_code ec, size_t) {
    done = true;
    if (ec) {
      if (ec == websocket::error::closed || impl_->ws.reason().code != 0) {
        closed_ = true;
        close_code_ = impl_->ws.reason().code;
      } else if (ec != asio::error::operation_aborted) {
        closed_ = true;
      }
      return;
    }
    out = beast::buffers_to_string(impl_->buffer.data());
  });
  impl_->io.restart();
  impl_->io.run_for(std::chrono::milliseconds(timeout_ms));
  if (!done) {
    // Timed out: cancel the read and let it finish.
    beast::get_lowest_layer(impl_->ws).cancel();
    impl_->io.restart();
    impl_->io.run_for(std::chrono::milliseconds(1000));
    closed_ = true;  // a cancelled websocket read leaves the stream unusable
  }
  return out;
}

std::optional<boost::json::object> WsClient::read_type(const std::string& type, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    auto text = read(std::max(left, 1));
    if (!text) return std::nullopt;
    boost::system::error_code ec;
    auto value = boost::json::parse(*text, ec);
    if (ec || !value.is_object()) continue;
    const auto* found = value.as_object().if_contains("type");
    if (found && found->is_string() && found->as_string() == type) return value.as_object();
  }
  return std::nullopt;
}

// Bounded: a server that never answers the close (or a socket full of unread
// frames) must not hang a test's teardown.
void WsClient::close() {
  if (!closed_ && impl_->ws.is_open()) {
    impl_->ws.async_close(websocket::close_code::normal, [](beast::error_code) {});
    impl_->io.restart();
    impl_->io.run_for(std::chrono::seconds(2));
    beast::error_code ignored;
    beast::get_lowest_layer(impl_->ws).socket().close(ignored);
  }
  closed_ = true;
}

}  // namespace hawker::testing
