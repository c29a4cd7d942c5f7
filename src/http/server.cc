#include "core/thread_name.h"
#include "http/server.h"

#include <atomic>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.h"

namespace hawker::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

Method to_method(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get: return Method::kGet;
    case bhttp::verb::post: return Method::kPost;
    case bhttp::verb::put: return Method::kPut;
    case bhttp::verb::delete_: return Method::kDelete;
    case bhttp::verb::head: return Method::kHead;
    case bhttp::verb::options: return Method::kOptions;
    default: return Method::kOther;
  }
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

struct Shared {
  ServerOptions options;
  Handler handler;
  std::atomic<size_t> connections{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    shared_->connections.fetch_add(1);
  }
  ~Session() { shared_->connections.fetch_sub(1); }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }

 private:
  class Sink final : public Responder::Sink {
   public:
    explicit Sink(std::shared_ptr<Session> session) : session_(std::move(session)) {}
    void deliver(Response&& response) override {
      auto session = std::move(session_);
      if (!session) return;  // answered twice: keep the first
      asio::post(session->stream_.get_executor(),
                 [session, response = std::move(response)]() mutable { session->write_response(std::move(response)); });
    }

   private:
    std::shared_ptr<Session> session_;
  };

  void read_request() {
    parser_.emplace();
    parser_->body_limit(shared_->options.body_bytes_max);
    parser_->header_limit(static_cast<uint32_t>(shared_->options.header_bytes_max));
    stream_.expires_after(std::chrono::milliseconds(first_request_ ? shared_->options.read_timeout_ms
                                                                   : shared_->options.idle_timeout_ms));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    first_request_ = false;
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted || ec == asio::error::eof) {
      return close();
    }
    if (ec == bhttp::error::body_limit) return reject(413, "payload_too_large", "request body over the limit");
    if (ec == bhttp::error::header_limit) return reject(431, "headers_too_large", "request headers over the limit");
    if (ec) return reject(400, "bad_request", "malformed HTTP request");
    stream_.expires_never();
    auto& message = parser_->get();
    Request request;
    request.method = to_method(message.method());
    request.target = std::string(message.target());
    for (const auto& field : message) request.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    request.body = std::move(message.body());
    keep_alive_ = message.keep_alive();
    beast::error_code endpoint_error;
    auto remote = stream_.socket().remote_endpoint(endpoint_error);
    if (!endpoint_error) request.remote_address = remote.address().to_string();
    try {
      shared_->handler(request, Responder(std::make_shared<Sink>(shared_from_this())));
    } catch (const std::exception& error) {
      log_error("http.handler_threw", {{"error", error.what()}});
      write_response(Response{500, "application/json", {}, R"({"error":{"code":"internal","message":"internal error"}})", true});
    }
  }

  void reject(int status, std::string_view code, std::string_view message) {
    Response response;
    response.status = status;
    response.body = std::string(R"({"error":{"code":")") + std::string(code) + R"(","message":")" +
                    std::string(message) + "\"}}";
    response.close = true;
    keep_alive_ = false;
    write_response(std::move(response));
  }

  void write_response(Response&& response) {
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>();
    message->result(static_cast<unsigned>(response.status));
    message->version(11);
    message->set(bhttp::field::server, "hawker");
    message->set(bhttp::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    message->keep_alive(keep_alive_ && !response.close);
    message->prepare_payload();
    stream_.expires_after(std::chrono::milliseconds(shared_->options.read_timeout_ms));
    bhttp::async_write(stream_, *message, [self = shared_from_this(), message](beast::error_code ec, size_t) {
      if (ec || !message->keep_alive()) return self->close();
      self->read_request();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Shared> shared_;
  bool keep_alive_ = true;
  bool first_request_ = true;
};

class BeastServer final : public HttpServer {
 public:
  BeastServer(ServerOptions options, Handler handler)
      : io_(options.threads), acceptor_(io_), shared_(std::make_shared<Shared>()) {
    shared_->options = std::move(options);
    shared_->handler = std::move(handler);
  }
  ~BeastServer() override { stop(); }

  Status start() override {
    beast::error_code ec;
    auto address = asio::ip::make_address(shared_->options.address, ec);
    if (ec) return make_error(ErrorCode::kInvalid, "bad listen address " + shared_->options.address);
    tcp::endpoint endpoint(address, shared_->options.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error(ErrorCode::kIo, "cannot listen on " + shared_->options.address + ":" +
                                                  std::to_string(shared_->options.port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    accept();
    for (int i = 0; i < std::max(1, shared_->options.threads); ++i) threads_.emplace_back([this] {
      set_thread_name("hawker-http");
      io_.run();
    });
    return {};
  }

  uint16_t port() const override { return port_; }
  size_t open_connections() const override { return shared_->connections.load(); }

  void stop() override {
    if (threads_.empty()) return;
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    io_.stop();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  void accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        if (shared_->connections.load() >= shared_->options.connections_max) {
          beast::error_code ignored;
          socket.close(ignored);  // over the bound: refuse rather than queue without limit
        } else {
          beast::error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
          std::make_shared<Session>(std::move(socket), shared_)->start();
        }
      }
      accept();
    });
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
};

}  // namespace

std::unique_ptr<HttpServer> make_http_server(ServerOptions options, Handler handler) {
  return std::make_unique<BeastServer>(std::move(options), std::move(handler));
}

}  // namespace hawker::http
