#include "spike/runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "core/address.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/jwt.h"
#include "http/client.h"
#include "spike/arrival.h"
#include "spike/scan.h"

namespace hawker::spike {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using Outcome = ClickRecord::Outcome;

// Bounds.
constexpr int kSetupTimeoutMs = 15'000;        // each setup call
constexpr size_t kServersMax = 64;             // --url entries
constexpr auto kExchangeTimeout = std::chrono::seconds(30);  // each HTTP exchange of the spike
constexpr int kTransportAttempts = 3;          // a click whose connection failed is resent (same key) this often
constexpr int k429Retries = 5;                 // a click answered 429 is retried after Retry-After this often
constexpr int64_t kRetryAfterCapUs = 2'000'000;
constexpr int64_t kWatchedFirstPollUs = 1'000'000;  // a watched buyer's order is polled only if no frame came
constexpr int kViewerBatch = 100;               // viewers opened per ramp step
constexpr auto kViewerStep = std::chrono::milliseconds(20);
constexpr int64_t kViewerRampBoundUs = 60'000'000;
constexpr int64_t kBooksBoundUs = 15'000'000;   // waiting for reserved == 0 after the last final
constexpr int64_t kViewersSettleBoundUs = 5'000'000;  // waiting for every viewer to see the final stock
constexpr size_t kFrameBytesMax = 64 * 1024;
constexpr int kCountsMax = 10'000'000;          // buyers x clicks, viewers: what one process can hold

int64_t wall_us() { return SystemClock::instance().now_us(); }

std::string iso_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &limit);
}

// ---- Setup over the public API (blocking, before the clock starts) ----------

struct Api {
  std::string host;
  uint16_t port = 0;

  Result<json::value> call(http::Method method, const std::string& target, const std::string& token,
                           const std::string& body, int expect) const {
    auto value = http::call_json(host, port, method, target, token, body, expect, kSetupTimeoutMs);
    if (value && !value->is_object()) return make_error(ErrorCode::kInvalid, target + " did not answer a JSON object");
    return value;
  }
};

std::string string_of(const json::value& object, const char* key) {
  const auto* value = object.as_object().if_contains(key);
  return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

int64_t int_of(const json::value& object, const char* key) {
  const auto* value = object.as_object().if_contains(key);
  return value && value->is_int64() ? value->as_int64() : 0;
}

struct Books {
  int64_t initial = 0, restocked = 0, available = 0, reserved = 0, sold = 0;
};

Books books_from(const json::value& counts) {
  Books books;
  books.initial = int_of(counts, "initial");
  books.restocked = int_of(counts, "restocked");
  books.available = int_of(counts, "available");
  books.reserved = int_of(counts, "reserved");
  books.sold = int_of(counts, "sold");
  return books;
}

// ---- The run ------------------------------------------------------------------

class Run;

// One keep-alive HTTP/1.1 connection: one exchange at a time.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  using Done = std::function<void(beast::error_code, bhttp::response<bhttp::string_body>&)>;
  HttpConnection(asio::io_context& io, const tcp::endpoint& endpoint) : stream_(io), endpoint_(endpoint) {}

  void exchange(bhttp::request<bhttp::string_body>&& request, Done done) {
    request_ = std::move(request);
    done_ = std::move(done);
    stream_.expires_after(kExchangeTimeout);
    if (connected_) return write();
    stream_.async_connect(endpoint_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail(ec);
      self->connected_ = true;
      beast::error_code ignored;
      self->stream_.socket().set_option(tcp::no_delay(true), ignored);
      self->write();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    connected_ = false;
  }

 private:
  void write() {
    bhttp::async_write(stream_, request_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->fail(ec);
      self->response_ = {};
      bhttp::async_read(self->stream_, self->buffer_, self->response_,
                        [self](beast::error_code ec, size_t) { self->on_read(ec); });
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) return fail(ec);
    if (!response_.keep_alive()) close();
    Done done = std::move(done_);
    done(ec, response_);
  }

  void fail(beast::error_code ec) {
    close();
    buffer_.clear();
    Done done = std::move(done_);
    done(ec, response_);
  }

  beast::tcp_stream stream_;
  tcp::endpoint endpoint_;
  bool connected_ = false;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> request_;
  bhttp::response<bhttp::string_body> response_;
  Done done_;
};

class Viewer;

class Run {
 public:
  Run(asio::io_context& io, const Options& options, std::vector<tcp::endpoint> endpoints, std::string host_header)
      : io_(io), options_(options), endpoints_(std::move(endpoints)), host_header_(std::move(host_header)), timer_(io),
        poll_timer_(io), progress_timer_(io), deadline_timer_(io), phase_timer_(io) {}

  // Inputs prepared by run_spike.
  std::vector<std::string> buyer_tokens;
  std::vector<std::string> viewer_tokens;
  std::string seller_token, product_id, show_id, run_id, order_body;
  Arrival arrival;
  int64_t arrival_window_us = 0;

  // Outputs.
  Results results;
  std::vector<double> tick_latency_ms;
  Books books;
  bool books_read = false;
  int64_t viewers_connected_at_end = 0, viewers_saw_final = 0;
  int64_t viewers_opened = 0, viewers_failed = 0;
  std::string viewer_failure;

  void start();
  void on_viewer_open(bool ok, const std::string& why) {
    if (ok) ++viewers_opened;
    else {
      ++viewers_failed;
      if (viewer_failure.empty()) viewer_failure = why;
    }
  }
  void on_frame(Viewer& viewer, std::string_view text);
  bool clicks_started() const { return started_; }
  int64_t now_us() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t0_).count();
  }
  const std::string& host_header() const { return host_header_; }
  // The servers take turns: connection i (clicks, polls, viewers alike) goes
  // to server i mod their count.
  const tcp::endpoint& endpoint(size_t i) const { return endpoints_[i % endpoints_.size()]; }

 private:
  void open_viewers();
  void start_clicks();
  void on_due();
  void dispatch_clicks();
  void send_click(const std::shared_ptr<HttpConnection>& connection, uint32_t index);
  void on_click_answer(const std::shared_ptr<HttpConnection>& connection, uint32_t index, beast::error_code ec,
                       bhttp::response<bhttp::string_body>& response);
  void on_accepted(uint32_t index, const std::string& order_id);
  void record_final(uint32_t index, Outcome outcome, int64_t at_us, bool by_frame);
  void on_poll_tick();
  void poll(const std::shared_ptr<HttpConnection>& connection, uint32_t index);
  void on_progress();
  void maybe_done();
  void read_books();
  void read_books_once();
  void wait_viewers(int64_t target, int64_t since_us);
  void finish();
  bhttp::request<bhttp::string_body> request(bhttp::verb verb, const std::string& target, const std::string& token);

  asio::io_context& io_;
  const Options& options_;
  std::vector<tcp::endpoint> endpoints_;
  std::string host_header_;
  asio::steady_timer timer_, poll_timer_, progress_timer_, deadline_timer_, phase_timer_;
  SteadyClock::time_point t0_ = SteadyClock::now();
  bool started_ = false, done_ = false, finished_ = false;

  std::vector<std::shared_ptr<Viewer>> viewers_;
  std::vector<int64_t> offsets_;
  std::vector<uint32_t> owners_;
  std::vector<std::string> order_ids_;     // per click, from its 202
  std::vector<uint8_t> attempts_, throttles_;
  size_t next_due_ = 0;
  std::deque<uint32_t> pending_;           // due clicks waiting for a connection
  std::vector<std::shared_ptr<HttpConnection>> idle_clicks_, idle_polls_;
  std::unordered_map<std::string, uint32_t> order_index_;
  struct EarlyFinal {
    Outcome outcome;
    int64_t at_us;
  };
  std::unordered_map<std::string, EarlyFinal> early_finals_;  // order frames that beat their 202
  using PollEntry = std::pair<int64_t, uint32_t>;              // due, click
  std::priority_queue<PollEntry, std::vector<PollEntry>, std::greater<>> polls_;
  int64_t answered_ = 0, finals_pending_ = 0, confirmed_ = 0, last_progress_answered_ = 0;
  int64_t stock_seen_ = -1;
  int64_t books_since_us_ = 0;
};

class Viewer : public std::enable_shared_from_this<Viewer> {
 public:
  Viewer(asio::io_context& io, Run& run, size_t index) : run_(run), index_(index), ws_(io) {}

  void start(const std::string& target) {
    target_ = target;
    ws_.next_layer().async_connect(run_.endpoint(index_), [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->run_.on_viewer_open(false, "connect: " + ec.message());
      beast::error_code ignored;
      self->ws_.next_layer().set_option(tcp::no_delay(true), ignored);
      websocket::stream_base::timeout timeouts{};
      timeouts.handshake_timeout = std::chrono::seconds(30);
      timeouts.idle_timeout = websocket::stream_base::none();  // the server pings; Beast answers
      timeouts.keep_alive_pings = false;
      self->ws_.set_option(timeouts);
      self->ws_.read_message_max(kFrameBytesMax);
      self->ws_.async_handshake(self->run_.host_header(), self->target_, [self](beast::error_code ec) {
        if (ec) return self->run_.on_viewer_open(false, "handshake: " + ec.message());
        self->open = true;
        self->run_.on_viewer_open(true, {});
        self->read();
      });
    });
  }

  void close() {
    closing_ = true;
    beast::error_code ignored;
    ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    ws_.next_layer().close(ignored);
  }

  size_t index() const { return index_; }
  bool open = false;
  int64_t last_available = -1;

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->open = false;
        return;
      }
      const auto data = self->buffer_.cdata();
      self->run_.on_frame(*self, std::string_view(static_cast<const char*>(data.data()), data.size()));
      self->buffer_.consume(self->buffer_.size());
      if (!self->closing_) self->read();
    });
  }

  Run& run_;
  size_t index_;
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  std::string target_;
  bool closing_ = false;
};

bhttp::request<bhttp::string_body> Run::request(bhttp::verb verb, const std::string& target, const std::string& token) {
  bhttp::request<bhttp::string_body> message{verb, target, 11};
  message.set(bhttp::field::host, host_header_);
  message.set(bhttp::field::authorization, "Bearer " + token);
  return message;
}

void Run::start() {
  offsets_ = schedule(arrival, static_cast<size_t>(options_.buyers) * options_.clicks_per_buyer, options_.seed);
  owners_ = click_owners(static_cast<uint32_t>(options_.buyers), static_cast<uint32_t>(options_.clicks_per_buyer),
                         options_.seed);
  results.clicks.resize(offsets_.size());
  for (size_t i = 0; i < offsets_.size(); ++i) results.clicks[i].due_us = offsets_[i];
  order_ids_.resize(offsets_.size());
  attempts_.assign(offsets_.size(), 0);
  throttles_.assign(offsets_.size(), 0);
  for (int i = 0; i < options_.connections; ++i)
    idle_clicks_.push_back(std::make_shared<HttpConnection>(io_, endpoint(static_cast<size_t>(i))));
  // Pollers: a quarter as many as the click connections (8 to 256). Under a
  // flood each poll waits its turn like a click, so too few pollers would
  // measure the spike's own polling, not the server.
  const int pollers = std::clamp(options_.connections / 4, 8, 256);
  for (int i = 0; i < pollers; ++i)
    idle_polls_.push_back(std::make_shared<HttpConnection>(io_, endpoint(static_cast<size_t>(i))));
  t0_ = SteadyClock::now();  // until the clicks start: the viewers' ramp
  open_viewers();
}

void Run::open_viewers() {
  const size_t total = viewer_tokens.size();
  const size_t from = viewers_.size();
  for (size_t i = from; i < std::min(total, from + kViewerBatch); ++i) {
    auto viewer = std::make_shared<Viewer>(io_, *this, i);
    viewers_.push_back(viewer);
    viewer->start("/v1/shows/" + show_id + "/live?token=" + viewer_tokens[i]);
  }
  const bool settled = static_cast<size_t>(viewers_opened + viewers_failed) == total;
  if (settled || now_us() > kViewerRampBoundUs) {
    if (!settled && options_.progress)
      std::fprintf(options_.progress, "spike: viewers did not all open within 60 s (%lld of %zu)\n",
                   static_cast<long long>(viewers_opened), total);
    return start_clicks();
  }
  timer_.expires_after(kViewerStep);
  timer_.async_wait([this](beast::error_code ec) {
    if (!ec) open_viewers();
  });
}

void Run::start_clicks() {
  if (options_.progress && !viewer_tokens.empty())
    std::fprintf(options_.progress, "spike: %lld viewers watching (%lld failed%s%s); clicking\n",
                 static_cast<long long>(viewers_opened), static_cast<long long>(viewers_failed),
                 viewer_failure.empty() ? "" : ": ", viewer_failure.c_str());
  // Connect every click connection before the clock starts: a spike's buyers
  // are already on the page.
  auto connected = std::make_shared<int>(0);
  const auto total = static_cast<int>(idle_clicks_.size());
  auto go = [this] {
    t0_ = SteadyClock::now() + std::chrono::milliseconds(50);
    started_ = true;
    stock_seen_ = viewers_.empty() ? -1 : viewers_.front()->last_available;
    if (stock_seen_ >= 0) results.stock.push_back({0, stock_seen_});
    const double bound_s =
        options_.duration_s > 0 ? options_.duration_s : static_cast<double>(arrival_window_us) / 1e6 + 60;
    deadline_timer_.expires_at(t0_ + std::chrono::microseconds(static_cast<int64_t>(bound_s * 1e6)));
    deadline_timer_.async_wait([this](beast::error_code ec) {
      if (!ec && !done_) {
        done_ = true;
        read_books();
      }
    });
    on_due();
    on_poll_tick();
    if (options_.progress) on_progress();
  };
  if (total == 0) return go();
  for (auto& connection : idle_clicks_) {
    // A GET of /healthz opens the connection (and proves it answers).
    connection->exchange(request(bhttp::verb::get, "/healthz", seller_token),
                         [connected, total, go](beast::error_code, bhttp::response<bhttp::string_body>&) {
                           if (++*connected == total) go();
                         });
  }
}

void Run::on_due() {
  const int64_t now = now_us();
  while (next_due_ < offsets_.size() && offsets_[next_due_] <= now) pending_.push_back(static_cast<uint32_t>(next_due_++));
  dispatch_clicks();
  if (next_due_ < offsets_.size()) {
    timer_.expires_at(t0_ + std::chrono::microseconds(offsets_[next_due_]));
    timer_.async_wait([this](beast::error_code ec) {
      if (!ec && !done_) on_due();
    });
  }
}

void Run::dispatch_clicks() {
  while (!pending_.empty() && !idle_clicks_.empty() && !done_) {
    auto connection = std::move(idle_clicks_.back());
    idle_clicks_.pop_back();
    const uint32_t index = pending_.front();
    pending_.pop_front();
    send_click(connection, index);
  }
}

void Run::send_click(const std::shared_ptr<HttpConnection>& connection, uint32_t index) {
  auto message = request(bhttp::verb::post, "/v1/orders", buyer_tokens[owners_[index]]);
  message.set("Idempotency-Key", run_id + "-" + std::to_string(index));
  message.set(bhttp::field::content_type, "application/json");
  message.body() = order_body;
  message.prepare_payload();
  connection->exchange(std::move(message), [this, connection, index](beast::error_code ec,
                                                                     bhttp::response<bhttp::string_body>& response) {
    on_click_answer(connection, index, ec, response);
  });
}

void Run::on_click_answer(const std::shared_ptr<HttpConnection>& connection, uint32_t index, beast::error_code ec,
                          bhttp::response<bhttp::string_body>& response) {
  idle_clicks_.push_back(connection);
  ClickRecord& click = results.clicks[index];
  const int64_t now = now_us();
  if (ec) {
    // Nothing came back: send it again with the same key, as an app would
    // (the server answers a replay with the same order).
    if (++attempts_[index] < kTransportAttempts) {
      pending_.push_front(index);
    } else {
      ++results.tally.dropped;
      click.answer_us = -1;
      ++answered_;  // given up on: counted so the run can end
      maybe_done();
    }
    return dispatch_clicks();
  }
  const int status = static_cast<int>(response.result_int());
  if (status == 429) {
    ++results.answers_429;
    if (++throttles_[index] <= k429Retries) {
      int64_t wait_us = 1'000'000;
      try {
        wait_us = std::stoll(std::string(response[bhttp::field::retry_after])) * 1'000'000;
      } catch (const std::exception&) {
      }
      wait_us = std::clamp<int64_t>(wait_us, 50'000, kRetryAfterCapUs);
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::microseconds(wait_us));
      timer->async_wait([this, timer, index](beast::error_code ec) {
        if (ec || done_) return;
        pending_.push_back(index);
        dispatch_clicks();
      });
      return dispatch_clicks();
    }
  }
  click.status = status;
  click.answer_us = now;
  ++answered_;
  if (status == 202) {
    ++results.answers_202;
    json::error_code parse_error;
    json::value body = json::parse(response.body(), parse_error);
    std::string order_id = !parse_error && body.is_object() ? string_of(body, "order_id") : std::string();
    if (order_id.empty()) {
      ++results.tally.client_errors;  // a 202 without an order id: the contract is broken
    } else {
      on_accepted(index, order_id);
    }
  } else if (status == 409) {
    ++results.answers_409;
    click.final_us = now;
    click.outcome = Outcome::kSoldOutAtEdge;
  } else if (status == 429) {
    ++results.tally.throttled;  // still 429 after the retries: counted in answers_429 above
  } else {
    ++results.answers_other;
    if (status >= 500) ++results.tally.server_errors;
    else ++results.tally.client_errors;
  }
  maybe_done();
  dispatch_clicks();
}

void Run::on_accepted(uint32_t index, const std::string& order_id) {
  if (!order_ids_[index].empty() && order_ids_[index] != order_id) ++results.tally.replays_mismatched;
  order_ids_[index] = order_id;
  ++finals_pending_;
  order_index_[order_id] = index;
  if (auto early = early_finals_.find(order_id); early != early_finals_.end()) {
    record_final(index, early->second.outcome, std::max(early->second.at_us, results.clicks[index].answer_us), true);
    early_finals_.erase(early);
    return;
  }
  const bool watched = owners_[index] < viewers_.size() && viewers_[owners_[index]]->open;
  polls_.emplace(now_us() + (watched ? kWatchedFirstPollUs : int64_t{options_.poll_ms} * 1000), index);
}

void Run::record_final(uint32_t index, Outcome outcome, int64_t at_us, bool by_frame) {
  ClickRecord& click = results.clicks[index];
  if (click.outcome != Outcome::kNone) return;
  click.outcome = outcome;
  click.final_us = at_us;
  --finals_pending_;
  if (outcome == Outcome::kConfirmed) ++confirmed_;
  ++(by_frame ? results.finals_by_frame : results.finals_by_poll);
  maybe_done();
}

Outcome outcome_of(std::string_view status, std::string_view reason) {
  if (status == "confirmed") return Outcome::kConfirmed;
  if (status != "rejected") return Outcome::kNone;
  if (reason == "sold_out") return Outcome::kRejectedSoldOut;
  if (reason == "limit_exceeded") return Outcome::kRejectedLimit;
  return Outcome::kRejectedOther;
}

void Run::on_frame(Viewer& viewer, std::string_view text) {
  const auto type = string_field(text, "\"type\"");
  if (!type) return;
  if (*type == "inventory") {
    if (string_field(text, "\"product_id\"") != std::optional<std::string_view>(product_id)) return;
    const auto available = int_field(text, "\"available\"");
    if (!available) return;
    viewer.last_available = *available;
    if (!started_) return;
    if (const auto ts = int_field(text, "\"ts_us\"")) tick_latency_ms.push_back(static_cast<double>(wall_us() - *ts) / 1000.0);
    if (viewer.index() == 0) {
      stock_seen_ = *available;
      results.stock.push_back({now_us(), *available});
    }
    return;
  }
  if (*type == "order") {
    const auto status = string_field(text, "\"status\"");
    const auto order_id = string_field(text, "\"order_id\"");
    if (!status || !order_id) return;
    const Outcome outcome = outcome_of(*status, string_field(text, "\"reason\"").value_or(""));
    if (outcome == Outcome::kNone) return;
    std::string id(*order_id);
    if (auto found = order_index_.find(id); found != order_index_.end())
      record_final(found->second, outcome, now_us(), true);
    else
      early_finals_.emplace(std::move(id), EarlyFinal{outcome, now_us()});
    return;
  }
  if (*type == "hello" || *type == "showcase") {
    json::error_code ec;
    json::value frame = json::parse(text, ec);
    if (ec || !frame.is_object()) return;
    const json::value* product = frame.as_object().if_contains("product");  // the pinned product
    if (product && product->is_object() && string_of(*product, "id") == product_id)
      viewer.last_available = int_of(*product, "available");
  }
}

void Run::on_poll_tick() {
  const int64_t now = now_us();
  while (!polls_.empty() && polls_.top().first <= now && !idle_polls_.empty()) {
    const uint32_t index = polls_.top().second;
    polls_.pop();
    if (results.clicks[index].outcome != Outcome::kNone) continue;
    auto connection = std::move(idle_polls_.back());
    idle_polls_.pop_back();
    poll(connection, index);
  }
  if (done_) return;
  poll_timer_.expires_after(std::chrono::milliseconds(5));
  poll_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) on_poll_tick();
  });
}

void Run::poll(const std::shared_ptr<HttpConnection>& connection, uint32_t index) {
  connection->exchange(request(bhttp::verb::get, "/v1/orders/" + order_ids_[index], buyer_tokens[owners_[index]]),
                       [this, connection, index](beast::error_code ec, bhttp::response<bhttp::string_body>& response) {
                         idle_polls_.push_back(connection);
                         if (!ec && response.result_int() == 200) {
                           json::error_code parse_error;
                           json::value order = json::parse(response.body(), parse_error);
                           if (!parse_error && order.is_object()) {
                             const Outcome outcome = outcome_of(string_of(order, "status"), string_of(order, "reason"));
                             if (outcome != Outcome::kNone) return record_final(index, outcome, now_us(), false);
                           }
                         }
                         if (results.clicks[index].outcome == Outcome::kNone)
                           polls_.emplace(now_us() + int64_t{options_.poll_ms} * 1000, index);
                       });
}

void Run::on_progress() {
  const int64_t rate = (answered_ - last_progress_answered_) * 4;
  last_progress_answered_ = answered_;
  std::fprintf(options_.progress,
               "\rspike: clicks sent %zu/%zu  answered %lld  confirmed %lld  stock left %s  %lld answers/s   ",
               next_due_ - pending_.size(), offsets_.size(), static_cast<long long>(answered_),
               static_cast<long long>(confirmed_), stock_seen_ >= 0 ? std::to_string(stock_seen_).c_str() : "?",
               static_cast<long long>(rate));
  std::fflush(options_.progress);
  if (finished_) return;
  progress_timer_.expires_after(std::chrono::milliseconds(250));
  progress_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) on_progress();
  });
}

void Run::maybe_done() {
  if (done_ || answered_ < static_cast<int64_t>(offsets_.size()) || finals_pending_ > 0) return;
  done_ = true;
  deadline_timer_.cancel();
  read_books();
}

// After the last final: the books, once nothing is reserved any more (bounded).
void Run::read_books() {
  books_since_us_ = now_us();
  read_books_once();
}

void Run::read_books_once() {
  auto retry = [this] {
    phase_timer_.expires_after(std::chrono::milliseconds(idle_polls_.empty() ? 20 : 100));
    phase_timer_.async_wait([this](beast::error_code ec) {
      if (!ec) read_books_once();
    });
  };
  if (idle_polls_.empty()) return retry();
  auto connection = std::move(idle_polls_.back());
  idle_polls_.pop_back();
  connection->exchange(
      request(bhttp::verb::get, "/v1/products/" + product_id + "/inventory", seller_token),
      [this, retry, connection](beast::error_code ec, bhttp::response<bhttp::string_body>& response) {
        idle_polls_.push_back(connection);
        if (!ec && response.result_int() == 200) {
          json::error_code parse_error;
          json::value counts = json::parse(response.body(), parse_error);
          if (!parse_error && counts.is_object()) {
            books = books_from(counts);
            books_read = true;
          }
        }
        const bool settled = books_read && books.reserved == 0;
        if (settled || now_us() - books_since_us_ > kBooksBoundUs) return wait_viewers(books.available, now_us());
        retry();
      });
}

// Until every open viewer has seen `target` available (bounded).
void Run::wait_viewers(int64_t target, int64_t since_us) {
  int64_t open = 0, saw = 0;
  for (const auto& viewer : viewers_) {
    if (!viewer->open) continue;
    ++open;
    if (books_read && viewer->last_available == target) ++saw;
  }
  if (saw == open || now_us() - since_us > kViewersSettleBoundUs) {
    viewers_connected_at_end = open;
    viewers_saw_final = saw;
    return finish();
  }
  phase_timer_.expires_after(std::chrono::milliseconds(20));
  phase_timer_.async_wait([this, target, since_us](beast::error_code ec) {
    if (!ec) wait_viewers(target, since_us);
  });
}

void Run::finish() {
  finished_ = true;
  if (options_.progress) {
    on_progress();
    std::fprintf(options_.progress, "\n");
  }
  results.tally.answered = 0;
  for (const auto& click : results.clicks) {
    if (click.status == 0 || click.status == 429) continue;
    ++results.tally.answered;
  }
  io_.stop();
}

}  // namespace

Result<Results> run_spike(const Options& options) {
  // ---- Options: every bad one is a clear error before anything is sent.
  std::vector<std::pair<std::string, uint16_t>> servers;  // the first also sets the sale up
  for (size_t from = 0; from <= options.url.size();) {
    size_t comma = std::min(options.url.find(',', from), options.url.size());
    std::string address = options.url.substr(from, comma - from);
    from = comma + 1;
    if (address.starts_with("http://")) address = address.substr(7);
    while (!address.empty() && address.back() == '/') address.pop_back();
    std::string server_host;
    uint16_t server_port = 0;
    if (!split_host_port(address, server_host, server_port) || server_port == 0)
      return make_error(ErrorCode::kInvalid,
                        "--url must be HOST:PORT (or http://HOST:PORT), comma-separated for several, got '" +
                            options.url + "'");
    servers.emplace_back(server_host, server_port);
  }
  if (servers.size() > kServersMax) return make_error(ErrorCode::kInvalid, "--url names more than 64 servers");
  const auto& [host, port] = servers.front();
  auto arrival = parse_arrival(options.arrival);
  if (!arrival) return arrival.error();
  if (options.buyers < 1 || options.buyers > kCountsMax) return make_error(ErrorCode::kInvalid, "--buyers must be 1 to 10000000");
  if (options.clicks_per_buyer < 1 || options.clicks_per_buyer > 100)
    return make_error(ErrorCode::kInvalid, "--clicks must be 1 to 100");
  if (int64_t{options.buyers} * options.clicks_per_buyer > kCountsMax)
    return make_error(ErrorCode::kInvalid, "--buyers x --clicks must be at most 10000000");
  if (options.viewers < 0 || options.viewers > 60'000) return make_error(ErrorCode::kInvalid, "--viewers must be 0 to 60000");
  if (options.connections < 1 || options.connections > 20'000)
    return make_error(ErrorCode::kInvalid, "--connections must be 1 to 20000");
  if (options.stock < 0 || options.stock > 1'000'000'000) return make_error(ErrorCode::kInvalid, "--stock must be 0 to 10^9");
  if (options.max_per_buyer < 0 || options.max_per_buyer > 1000)
    return make_error(ErrorCode::kInvalid, "--limit must be 0 (none) to 1000");
  if (options.duration_s < 0 || options.duration_s > 86'400) return make_error(ErrorCode::kInvalid, "--duration must be 0 to 86400 s");
  if (options.poll_ms < 1 || options.poll_ms > 60'000) return make_error(ErrorCode::kInvalid, "--poll-ms must be 1 to 60000");
  if (options.secret_file.empty())
    return make_error(ErrorCode::kInvalid, "tokens are minted with the server's secret: give --data DIR or --secret-file F");
  auto secret = load_or_create_secret(options.secret_file, false);
  if (!secret) return secret.error();

  raise_open_file_limit();
  const int64_t exp = SystemClock::instance().now_ms() / 1000 + 24 * 3600;
  const std::string seller_token = sign_token({options.seller, Role::kSeller, exp}, *secret);
  const Api api{host, port};

  // ---- The sale.
  std::string product_id = options.product_id, show_id = options.show_id;
  if (product_id.empty()) {
    json::object body{{"title", "spike drop"}, {"price_cents", 1000}, {"stock", options.stock}};
    if (options.max_per_buyer > 0) body["max_per_buyer"] = options.max_per_buyer;
    auto product = api.call(http::Method::kPost, "/v1/products", seller_token, json::serialize(body), 201);
    if (!product) return product.error();
    product_id = string_of(*product, "id");
  }
  auto product = api.call(http::Method::kGet, "/v1/products/" + product_id, "", "", 200);
  if (!product) return product.error();
  const int64_t max_per_buyer = int_of(*product, "max_per_buyer");
  if (show_id.empty()) {
    auto show = api.call(http::Method::kPost, "/v1/shows", seller_token, R"({"title":"spike show"})", 201);
    if (!show) return show.error();
    show_id = string_of(*show, "id");
  }
  auto pinned = api.call(http::Method::kPost, "/v1/shows/" + show_id + "/showcase", seller_token,
                         json::serialize(json::object{{"product_id", product_id}}), 200);
  if (!pinned) return pinned.error();
  auto counts = api.call(http::Method::kGet, "/v1/products/" + product_id + "/inventory", seller_token, "", 200);
  if (!counts) return counts.error();
  const Books before = books_from(*counts);

  // ---- Tokens (signed before the clock starts, so signing is not measured).
  asio::io_context io(1);
  tcp::resolver resolver(io);
  beast::error_code resolve_error;
  std::vector<tcp::endpoint> endpoints;
  for (const auto& [server_host, server_port] : servers) {
    auto resolved = resolver.resolve(server_host, std::to_string(server_port), resolve_error);
    if (resolve_error || resolved.empty()) return make_error(ErrorCode::kInvalid, "cannot resolve " + server_host);
    endpoints.push_back(*resolved.begin());
  }
  Run run(io, options, std::move(endpoints), host + ":" + std::to_string(port));
  run.arrival = *arrival;
  run.arrival_window_us = arrival->kind == Arrival::Kind::kRamp
                              ? arrival->ramp_us
                              : static_cast<int64_t>(static_cast<double>(options.buyers) * options.clicks_per_buyer /
                                                     arrival->rate_per_s * 1e6);
  run.run_id = random_hex(4);
  run.seller_token = seller_token;
  run.product_id = product_id;
  run.show_id = show_id;
  run.order_body = json::serialize(
      json::object{{"product_id", product_id}, {"quantity", 1}, {"payment_token", options.payment_token}});
  run.buyer_tokens.reserve(options.buyers);
  for (int i = 0; i < options.buyers; ++i)
    run.buyer_tokens.push_back(sign_token({"spike-" + run.run_id + "-" + std::to_string(i), Role::kBuyer, exp}, *secret));
  for (int i = 0; i < options.viewers; ++i)
    run.viewer_tokens.push_back(i < options.buyers ? run.buyer_tokens[i]
                                                   : sign_token({"spike-" + run.run_id + "-viewer-" + std::to_string(i),
                                                                 Role::kBuyer, exp},
                                                                *secret));

  // ---- The spike.
  Results& results = run.results;
  results.started_at = iso_now();
  for (const auto& [server_host, server_port] : servers)
    results.url += (results.url.empty() ? "" : ",") + server_host + ":" + std::to_string(server_port);
  results.product_id = product_id;
  results.show_id = show_id;
  results.arrival = describe(*arrival);
  results.seed = options.seed;
  results.viewers_asked = options.viewers;
  results.connections = options.connections;
  run.start();
  io.run();

  // ---- The verdict.
  Tally& tally = results.tally;
  tally.stock = before.available;
  tally.max_per_buyer = max_per_buyer;
  tally.buyers = options.buyers;
  tally.clicks_per_buyer = options.clicks_per_buyer;
  tally.clicks = static_cast<int64_t>(results.clicks.size());
  for (const auto& click : results.clicks) {
    if (click.status == 202) ++tally.accepted;
    if (click.status == 409) ++tally.sold_out;
    switch (click.outcome) {
      case Outcome::kConfirmed: ++tally.confirmed; break;
      case Outcome::kRejectedSoldOut: ++tally.rejected_sold_out; break;
      case Outcome::kRejectedLimit: ++tally.rejected_limit; break;
      case Outcome::kRejectedOther: ++tally.rejected_other; break;
      case Outcome::kNone:
        if (click.status == 202) ++tally.unresolved;
        break;
      case Outcome::kSoldOutAtEdge: break;
    }
  }
  tally.books_read = run.books_read;
  tally.initial = run.books.initial;
  tally.restocked = run.books.restocked;
  tally.available = run.books.available;
  tally.reserved = run.books.reserved;
  tally.sold = run.books.sold;
  tally.sold_before = before.sold;
  tally.viewers = run.viewers_connected_at_end;
  tally.viewers_saw_final = run.viewers_saw_final;
  results.stock_tick = summarize(run.tick_latency_ms);
  summarize_clicks(results, run.arrival_window_us);
  results.checks = verdict(tally);
  return std::move(run.results);
}

}  // namespace hawker::spike
