#include "core/thread_name.h"
#include "http/server.h"

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cassert>
#include <atomic>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "core/log.h"
#include "http/send_queue.h"

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

namespace websocket = beast::websocket;

// HTTP connections run on strands of the shared HTTP io_context; the strand's
// type is spelled out so no type-erased executor sits on the request path.
using HttpStrand = asio::strand<asio::io_context::executor_type>;
using HttpSocket = asio::basic_stream_socket<tcp, HttpStrand>;

// 1xx, 204 and 304 answers carry no body (RFC 9110 6.4.1); 1xx and 204 no
// Content-Length either (a 304 may announce the length of what it leaves out).
bool response_has_body(int status) { return status >= 200 && status != 204 && status != 304; }
bool response_has_length(int status) { return status >= 200 && status != 204; }

// A body larger than this is freed once written, not kept for the
// connection's next answer (an HLS viewer's connection would hold a segment).
constexpr size_t kBodyKeptBytesMax = 64 * 1024;

void append_decimal(std::string& out, uint64_t value) {
  char digits[20];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n != 0) out.push_back(digits[--n]);
}

bool has_line_break(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

// How the head of an answer is framed, from the request it answers.
struct Framing {
  bool keep_alive = true;
  bool http10 = false;  // an HTTP/1.0 client keeps the connection only when told so
};

// The status line and headers of `response`, ending with the blank line.
// Content-Length is the body's size, or the length a HEAD or 304 describes
// (response.content_length). Handlers never put request data in headers; a
// header that could split the answer (CR or LF) is a bug and is left out.
void format_head(const Response& response, Framing framing, std::string& out) {
  assert(response.status >= 100 && response.status <= 599);
  out.clear();
  out.append("HTTP/1.1 ");
  append_decimal(out, static_cast<uint64_t>(response.status));
  out.push_back(' ');
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(response.status));
  out.append(reason.data(), reason.size());
  out.append("\r\nServer: hawker\r\nContent-Type: ");
  if (!has_line_break(response.content_type)) out.append(response.content_type);
  out.append("\r\n");
  for (const auto& [name, value] : response.headers) {
    assert(!has_line_break(name) && !has_line_break(value));
    if (has_line_break(name) || has_line_break(value)) continue;
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
  if (response_has_length(response.status)) {
    out.append("Content-Length: ");
    append_decimal(out, response.content_length ? *response.content_length : response.body.size());
    out.append("\r\n");
  }
  if (!framing.keep_alive) out.append("Connection: close\r\n");
  else if (framing.http10) out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
}

// One WebSocket network thread: its own event loop, run by one thread. A
// WebSocket stays on its loop for its whole life, so it needs no strand.
class Loop final : public NetworkThread {
 public:
  void post(std::function<void()> work) override { asio::post(io, std::move(work)); }
  asio::io_context io{1};
};

// Sockets and streams bound to one loop's executor: no type-erased executor
// on the per-frame path.
using LoopExecutor = asio::io_context::executor_type;
using LoopSocket = asio::basic_stream_socket<tcp, LoopExecutor>;

struct Shared {
  // WebSockets move onto these at the upgrade, in turn. Weak: the server
  // owns the loops, and a loop's queue holds sessions that hold this.
  std::shared_ptr<Loop> next_loop() {
    const size_t index = next_loop_index.fetch_add(1, std::memory_order_relaxed) % loops.size();
    return loops[index].lock();
  }
  std::vector<std::weak_ptr<Loop>> loops;
  std::atomic<size_t> next_loop_index{0};

  ServerOptions options;
  Handler handler;
  UpgradeHandler upgrade;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> websockets{0};
  std::atomic<uint64_t> slow_closed{0};
};

// One WebSocket connection: reads on its loop, writes from a bounded queue
// with one write in flight; send() and close() may come from any thread.
class WebSocketSession : public WebSocketConnection, public std::enable_shared_from_this<WebSocketSession> {
 public:
  // The socket leaves the HTTP stream's timeouts behind: the WebSocket stream
  // has its own (handshake, idle, pings).
  WebSocketSession(LoopSocket&& stream, std::shared_ptr<Shared> shared, WebSocketHandlerPtr handler,
                   std::weak_ptr<Loop> home)
      : ws_(std::move(stream)), shared_(std::move(shared)), handler_(std::move(handler)), home_(std::move(home)) {
    shared_->websockets.fetch_add(1);
  }
  ~WebSocketSession() override { shared_->websockets.fetch_sub(1); }

  void accept(bhttp::request<bhttp::string_body> upgrade_request) {
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = std::chrono::milliseconds(shared_->options.ws_idle_timeout_ms);
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.read_message_max(shared_->options.ws_message_bytes_max);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(bhttp::field::server, "hawker"); }));
    auto request = std::make_shared<bhttp::request<bhttp::string_body>>(std::move(upgrade_request));
    ws_.async_accept(*request, [self = shared_from_this(), request](beast::error_code ec) {
      if (ec) return self->finish();
      self->open_ = true;
      self->handler_->on_open(self);
      self->read();
    });
  }

  bool send(Frame frame, uint64_t replace_key) override {
    bool start = false;
    {
      std::lock_guard lock(mutex_);
      if (closing_) return false;
      switch (queue_.push(std::move(frame), replace_key)) {
        case PushResult::kStartWrite: start = true; break;
        case PushResult::kQueued: break;
        case PushResult::kFull:
          closing_ = true;
          queue_.clear();
          shared_->slow_closed.fetch_add(1);
          asio::post(ws_.get_executor(), [self = shared_from_this()] { self->close_now(kClosePolicy, "too slow"); });
          return false;
      }
    }
    if (start) {
      // On the home thread (a broadcast handed over in one task per thread)
      // the write starts now: no post per frame.
      if (ws_.get_executor().running_in_this_thread()) write_front();
      else asio::post(ws_.get_executor(), [self = shared_from_this()] { self->write_front(); });
    }
    return true;
  }

  std::weak_ptr<NetworkThread> home() const override { return home_; }

  void close(uint16_t code, std::string_view reason) override {
    {
      std::lock_guard lock(mutex_);
      if (closing_) return;
      closing_ = true;
      queue_.clear();
    }
    asio::post(ws_.get_executor(),
               [self = shared_from_this(), code, reason = std::string(reason)] { self->close_now(code, reason); });
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        if (ec == websocket::error::message_too_big) self->close_now(kCloseTooBig, "message too big");
        return self->finish();
      }
      if (self->ws_.got_text()) {
        auto data = self->buffer_.cdata();
        self->handler_->on_text(std::string_view(static_cast<const char*>(data.data()), data.size()));
      }
      self->buffer_.consume(self->buffer_.size());
      self->read();
    });
  }

  void write_front() {
    Frame frame;
    {
      std::lock_guard lock(mutex_);
      if (!queue_.writing()) return;
      frame = queue_.front();
    }
    ws_.text(true);
    ws_.async_write(asio::buffer(*frame), [self = shared_from_this(), frame](beast::error_code ec, size_t) {
      if (ec) return self->finish();
      bool more = false;
      {
        std::lock_guard lock(self->mutex_);
        if (!self->queue_.writing()) return;  // cleared by a close
        more = self->queue_.pop();
      }
      if (more) self->write_front();
    });
  }

  void close_now(uint16_t code, const std::string& reason) {
    if (close_sent_ || !open_) return;
    close_sent_ = true;
    ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason), [self = shared_from_this()](beast::error_code) {
      self->finish();
    });
  }

  // Runs once, on the strand, when the connection is done for any reason.
  void finish() {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      queue_.clear();
    }
    if (finished_) return;
    finished_ = true;
    if (open_) handler_->on_close();
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
  }

  websocket::stream<LoopSocket> ws_;
  std::shared_ptr<Shared> shared_;
  WebSocketHandlerPtr handler_;
  std::weak_ptr<Loop> home_;
  beast::flat_buffer buffer_;
  std::mutex mutex_;  // guards queue_ and closing_
  SendQueue queue_;
  bool closing_ = false;
  // Home-thread-only state.
  bool open_ = false;
  bool close_sent_ = false;
  bool finished_ = false;
};

// One HTTP connection, on its strand of the shared HTTP io_context: any
// network thread may serve it, so a thread that is descheduled under load
// does not hold its connections up.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpSocket&& socket, std::shared_ptr<Shared> shared)
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
      // dispatch: an answer given while the handler runs (a 409 at the edge, a
      // read) is written at once on this thread; one from another thread (the
      // intake's group commit) is queued on the session's strand.
      asio::dispatch(session->stream_.get_executor(), [session, response = std::move(response)]() mutable {
        session->write_response(std::move(response));
      });
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
    http10_ = message.version() == 10;
    head_request_ = message.method() == bhttp::verb::head;
    if (websocket::is_upgrade(message)) return upgrade(message);
    Request request = plain_request(message);
    request.body = std::move(message.body());
    keep_alive_ = message.keep_alive();
    auto sink = std::make_shared<Sink>(shared_from_this());
    try {
      shared_->handler(request, Responder(sink));
    } catch (const std::exception& error) {
      log_error("http.handler_threw", {{"error", error.what()}});
      // Through the same sink: if the handler answered before it threw, that
      // answer stands (and may be on the wire already).
      sink->deliver(error_response(500, "internal", "internal error"));
    }
  }

  static Response error_response(int status, std::string_view code, std::string_view message) {
    Response response;
    response.status = status;
    response.body = std::string(R"({"error":{"code":")") + std::string(code) + R"(","message":")" +
                    std::string(message) + "\"}}";
    response.close = true;
    return response;
  }

  static Request plain_request(const bhttp::request<bhttp::string_body>& message) {
    Request request;
    request.method = to_method(message.method());
    request.target = std::string(message.target());
    for (const auto& field : message) request.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    return request;
  }

  // A WebSocket upgrade: the route accepts it (the connection becomes a
  // WebSocketSession) or answers with a refusal.
  void upgrade(bhttp::request<bhttp::string_body>& message) {
    keep_alive_ = false;
    if (!shared_->upgrade) return reject(404, "not_found", "no WebSocket here");
    Request request = plain_request(message);
    UpgradeDecision decision;
    try {
      decision = shared_->upgrade(request);
    } catch (const std::exception& error) {
      log_error("http.upgrade_threw", {{"error", error.what()}});
      return reject(500, "internal", "internal error");
    }
    if (!decision.handler) {
      decision.refusal.close = true;
      return write_response(std::move(decision.refusal));
    }
    // The connection moves to a loop of its own for the rest of its life.
    std::shared_ptr<Loop> loop = shared_->next_loop();
    if (!loop) return close();  // the server is stopping
    beast::error_code ec;
    HttpSocket& socket = stream_.socket();
    const tcp::endpoint local = socket.local_endpoint(ec);
    LoopSocket moved(loop->io);
    if (!ec) {
      const auto fd = socket.release(ec);
      if (!ec) moved.assign(local.protocol(), fd, ec);
    }
    if (ec) {
      log_warn("http.websocket_move_failed", {{"error", ec.message()}});
      return close();
    }
    // From here on only the loop's thread touches the WebSocket: the
    // handshake starts there too.
    auto session = std::make_shared<WebSocketSession>(std::move(moved), shared_, std::move(decision.handler), loop);
    asio::post(loop->io, [session, request = parser_->release()]() mutable { session->accept(std::move(request)); });
  }

  // Before any handler ran (a request that could not be read).
  void reject(int status, std::string_view code, std::string_view message) {
    keep_alive_ = false;
    head_request_ = false;
    write_response(error_response(status, code, message));
  }

  // The response goes out as two buffers, the head formatted here and the
  // body as the handler made it: no Beast message, fields or serializer per
  // answer (they cost more than the rest of a buy click's HTTP work).
  // One answer per request, on the session's strand.
  void write_response(Response&& response) {
    if (writing_) {
      // A second answer while the first is on the wire would tear both.
      log_error("http.answered_twice", {{"status", response.status}});
      return;
    }
    writing_ = true;
    keep_alive_ = keep_alive_ && !response.close;
    // A HEAD gets the head a GET would: the length of the body, not the body.
    if (head_request_ && !response.content_length && response_has_body(response.status))
      response.content_length = response.body.size();
    format_head(response, Framing{keep_alive_, http10_}, head_);
    body_ = std::move(response.body);
    if (head_request_ || !response_has_body(response.status)) body_.clear();
    stream_.expires_after(std::chrono::milliseconds(shared_->options.read_timeout_ms));
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
    asio::async_write(stream_, buffers, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (self->body_.capacity() > kBodyKeptBytesMax) std::string().swap(self->body_);
      if (ec || !self->keep_alive_) return self->close();
      self->read_request();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::basic_stream<tcp, HttpStrand> stream_;
  beast::flat_buffer buffer_;
  std::string head_;  // the response being written: status line and headers
  std::string body_;  // and its body
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Shared> shared_;
  bool keep_alive_ = true;
  bool http10_ = false;        // the request being answered is HTTP/1.0
  bool head_request_ = false;  // and is a HEAD
  bool writing_ = false;       // an answer is on the wire
  bool first_request_ = true;
};

class BeastServer final : public HttpServer {
 public:
  BeastServer(ServerOptions options, Handler handler, UpgradeHandler upgrade)
      : loops_(make_loops(options.threads)),
        io_(std::max(1, options.threads)),
        acceptor_(io_),
        accept_backoff_(io_),
        shared_(std::make_shared<Shared>()) {
    for (const auto& loop : loops_) shared_->loops.push_back(loop);
    shared_->options = std::move(options);
    shared_->handler = std::move(handler);
    shared_->upgrade = std::move(upgrade);
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
    for (size_t i = 0; i < loops_.size(); ++i) {
      threads_.emplace_back([this] { run_thread(shared_->options.thread_name, io_); });
      threads_.emplace_back([this, loop = loops_[i].get()] { run_thread(shared_->options.thread_name + "-ws", loop->io); });
    }
    return {};
  }

  uint16_t port() const override { return port_; }
  size_t open_connections() const override { return shared_->connections.load(); }
  size_t open_websockets() const override { return shared_->websockets.load(); }
  uint64_t slow_closed() const override { return shared_->slow_closed.load(); }

  void stop() override {
    if (threads_.empty()) return;
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    io_.stop();
    for (const auto& loop : loops_) loop->io.stop();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  static std::vector<std::shared_ptr<Loop>> make_loops(int threads) {
    std::vector<std::shared_ptr<Loop>> loops;
    for (int i = 0; i < std::max(1, threads); ++i) loops.push_back(std::make_shared<Loop>());
    return loops;
  }

  void run_thread(const std::string& name, asio::io_context& io) {
    set_thread_name(name);
    // Linux: PRIO_PROCESS with a thread id sets that thread's nice value.
    if (shared_->options.thread_nice != 0)
      setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), shared_->options.thread_nice);
    // A loop with only idle connections has no work queued: run until stop().
    auto guard = asio::make_work_guard(io);
    io.run();
  }

  void accept() {
    acceptor_.async_accept(asio::make_strand(io_.get_executor()), [this](beast::error_code ec, HttpSocket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {
        // Out of file descriptors (or another accept failure): back off
        // instead of spinning on an error that will not clear at once.
        log_warn("http.accept_failed", {{"error", ec.message()}});
        accept_backoff_.expires_after(std::chrono::milliseconds(50));
        accept_backoff_.async_wait([this](beast::error_code wait_error) {
          if (!wait_error && acceptor_.is_open()) accept();
        });
        return;
      }
      {
        // HTTP sessions and WebSockets share one bound.
        if (shared_->connections.load() + shared_->websockets.load() >= shared_->options.connections_max) {
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

  std::vector<std::shared_ptr<Loop>> loops_;  // WebSockets, one thread each
  asio::io_context io_;                       // HTTP, shared by the HTTP threads
  tcp::acceptor acceptor_;
  asio::steady_timer accept_backoff_;
  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
};

}  // namespace

std::unique_ptr<HttpServer> make_http_server(ServerOptions options, Handler handler, UpgradeHandler upgrade) {
  return std::make_unique<BeastServer>(std::move(options), std::move(handler), std::move(upgrade));
}

}  // namespace hawker::http
