// fanout_load: the load generator of the fan-out figures (bench/fanout.sh).
//
// Viewer mode (default): opens --connections WebSocket viewers to --url and
// --path (async Beast, all on one io_context and one thread, so thousands fit
// in one process), ramped in --ramp-batch at a time every --ramp-interval-ms
// so the server's accept queue is not overrun. Every connection reads frames;
// for each frame whose "type" is --type it records the delivery latency,
// receive wall clock - the frame's "ts_us" (server and client share this
// machine's clock). The measurement window opens at the first such frame after
// the ramp (or --first-wait-s after it, if none comes) and lasts --duration
// seconds; then one JSON line goes to stdout and the process exits. With
// --ready-file it writes that file once the ramp is over (all connections
// opened or failed), so a script can read the server's memory with idle
// viewers and only then start the broadcasts.
//
// The latency includes this process's own queueing: one thread reads up to
// --connections frames per broadcast, so the last socket served waits for the
// others. Run several processes (fanout.sh runs 3) to keep that small.
//
// Buy mode (--buy PRODUCT_ID --data DIR): buys one unit (tok_visa, a fresh
// Idempotency-Key each time) every --interval-ms for --duration seconds, open
// loop over --buy-connections keep-alive connections (default 4, so an answer
// may take 4 ticks without slowing the ticks), so the product's stock ticks
// at a steady rate; prints one JSON line with what was answered. With --start-file
// it connects at once but starts buying only when that file exists: a server
// at its connection limit after the viewers' ramp still has this connection.
//
//   fanout_load --url 127.0.0.1:8080 --path /v1/shows/shw_1/live --connections 5000 --duration 30
//   fanout_load --url 127.0.0.1:8080 --buy prd_1 --data DATA --interval-ms 100 --duration 40
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "core/clock.h"
#include "core/jwt.h"
#include "spike/scan.h"

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// Bounds: the latency histogram has kLatencyBucketUs-wide buckets up to
// kLatencyRangeUs (4 MB of counters); slower frames land in the last bucket
// and still count in the exact max.
constexpr int64_t kLatencyBucketUs = 10;
constexpr int64_t kLatencyRangeUs = 10'000'000;
constexpr int kConnectionsMax = 19'000;      // below the 20,000 open files a process may hold
constexpr int kHandshakeTimeoutS = 30;       // the WebSocket handshake
constexpr int kRampTimeoutS = 120;           // measure anyway when the ramp has not settled by then
constexpr size_t kFrameBytesMax = 64 * 1024; // a viewer frame larger than this is a bug
constexpr size_t kFailureKindsMax = 16;      // distinct failure messages kept for the report
constexpr int kStartWaitS = 600;             // buy mode: the longest wait for --start-file

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string path = "/";
  std::string type = "inventory";
  int connections = 5000;
  double duration_s = 30;
  int ramp_batch = 500;
  int ramp_interval_ms = 100;
  double first_wait_s = 60;
  std::string ready_file;
  // Buy mode.
  std::string buy_product;
  std::string secret_file;
  int interval_ms = 100;
  std::string start_file;
  int buy_connections = 4;
};

void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &limit);
}

int64_t wall_us() { return hawker::SystemClock::instance().now_us(); }

// CPU seconds this process used (user + system), to show what the load itself costs.
double cpu_s() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

using hawker::spike::int_field;
using hawker::spike::string_field;

class LatencyHistogram {
 public:
  LatencyHistogram() : buckets_(kLatencyRangeUs / kLatencyBucketUs + 1, 0) {}
  void add(int64_t latency_us) {
    latency_us = std::max<int64_t>(latency_us, 0);  // the same clock: only rounding can make it negative
    max_us_ = std::max(max_us_, latency_us);
    ++buckets_[static_cast<size_t>(std::min(latency_us, kLatencyRangeUs) / kLatencyBucketUs)];
    ++count_;
  }
  uint64_t count() const { return count_; }
  int64_t max_us() const { return max_us_; }
  // The upper edge of the bucket holding the p-th percentile.
  double percentile_ms(double p) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(p / 100.0 * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return static_cast<double>(std::min<int64_t>((i + 1) * kLatencyBucketUs, max_us_)) / 1000.0;
    }
    return static_cast<double>(max_us_) / 1000.0;
  }

 private:
  std::vector<uint32_t> buckets_;
  uint64_t count_ = 0;
  int64_t max_us_ = 0;
};

// What all viewers of this process share. One thread: no locks.
class Run {
 public:
  enum class Phase { kRamp, kWaitFirst, kMeasure, kDone };

  Run(asio::io_context& io, Options options) : io_(io), options_(std::move(options)), timer_(io) {
    quoted_type_key_ = "\"type\"";
    quoted_ts_key_ = "\"ts_us\"";
  }

  void start(tcp::endpoint endpoint);
  void on_opened() { ++opened_; }
  void on_failed(std::string_view what) {
    ++failed_;
    note_failure(what);
  }
  void on_closed(std::string_view what) {
    if (phase_ == Phase::kDone) return;
    ++closed_;
    note_failure(what);
  }
  // A frame arrived at `received_us` (wall clock).
  void on_frame(std::string_view text, int64_t received_us);
  Phase phase() const { return phase_; }
  const Options& options() const { return options_; }

 private:
  void launch_batch();
  void tick();
  void begin_measuring(int64_t now_us);
  void finish();
  void note_failure(std::string_view what) {
    std::string key(what);
    if (failure_kinds_.size() < kFailureKindsMax || failure_kinds_.contains(key)) ++failure_kinds_[key];
  }

  asio::io_context& io_;
  const Options options_;
  asio::steady_timer timer_;
  tcp::endpoint endpoint_;
  std::string quoted_type_key_;
  std::string quoted_ts_key_;
  Phase phase_ = Phase::kRamp;
  int launched_ = 0;
  int opened_ = 0;
  int failed_ = 0;
  int closed_ = 0;
  int64_t started_us_ = 0;       // monotonic
  int64_t ramp_done_us_ = 0;     // monotonic
  int64_t next_batch_us_ = 0;    // monotonic
  int64_t window_start_us_ = 0;  // monotonic
  int64_t window_end_us_ = 0;    // monotonic
  uint64_t frames_ = 0;          // of --type, inside the window
  uint64_t frames_other_ = 0;    // other types, inside the window
  uint64_t frames_untimed_ = 0;  // of --type but without ts_us
  LatencyHistogram latency_;
  std::map<std::string, int> failure_kinds_;
};

class Viewer : public std::enable_shared_from_this<Viewer> {
 public:
  Viewer(asio::io_context& io, Run& run) : run_(run), ws_(io) {}  // one thread: no strand needed

  // No connect timeout of its own: a loopback connect is answered at once or
  // its SYN is retried by the kernel; the ramp's timeout bounds the wait.
  void start(const tcp::endpoint& endpoint) {
    ws_.next_layer().async_connect(endpoint, [self = shared_from_this()](beast::error_code ec) {
      self->on_connect(ec);
    });
  }

 private:
  void on_connect(beast::error_code ec) {
    if (ec) return run_.on_failed("connect: " + ec.message());
    beast::error_code ignored;
    ws_.next_layer().set_option(tcp::no_delay(true), ignored);
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(kHandshakeTimeoutS);
    timeouts.idle_timeout = websocket::stream_base::none();  // the server pings; Beast answers
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.read_message_max(kFrameBytesMax);
    const std::string host = run_.options().host + ":" + run_.options().port;
    ws_.async_handshake(host, run_.options().path, [self = shared_from_this()](beast::error_code ec) {
      self->on_handshake(ec);
    });
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return run_.on_failed("handshake: " + ec.message());
    run_.on_opened();
    read();
  }

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    const int64_t received_us = wall_us();
    if (ec) {
      if (ec == websocket::error::closed)
        return run_.on_closed("closed by peer, code " + std::to_string(ws_.reason().code));
      return run_.on_closed("read: " + ec.message());
    }
    if (run_.phase() == Run::Phase::kDone) return;
    const auto data = buffer_.cdata();
    run_.on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()), received_us);
    buffer_.consume(buffer_.size());
    read();
  }

  Run& run_;
  // A bare socket rather than beast::tcp_stream: no per-operation timer
  // bookkeeping on the read path, which is most of what this process does.
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
};

void Run::start(tcp::endpoint endpoint) {
  endpoint_ = endpoint;
  started_us_ = hawker::monotonic_us();
  next_batch_us_ = started_us_;
  tick();
}

void Run::launch_batch() {
  const int count = std::min(options_.ramp_batch, options_.connections - launched_);
  for (int i = 0; i < count; ++i) std::make_shared<Viewer>(io_, *this)->start(endpoint_);
  launched_ += count;
}

void Run::on_frame(std::string_view text, int64_t received_us) {
  const auto type = string_field(text, quoted_type_key_);
  const bool wanted = type && *type == options_.type;
  if (phase_ == Phase::kWaitFirst && wanted) begin_measuring(hawker::monotonic_us());
  if (phase_ != Phase::kMeasure) return;
  if (!wanted) {
    ++frames_other_;
    return;
  }
  ++frames_;
  if (const auto ts_us = int_field(text, quoted_ts_key_)) latency_.add(received_us - *ts_us);
  else ++frames_untimed_;
}

void Run::begin_measuring(int64_t now_us) {
  phase_ = Phase::kMeasure;
  window_start_us_ = now_us;
  window_end_us_ = now_us + static_cast<int64_t>(options_.duration_s * 1e6);
}

// Every 10 ms: the next ramp batch when due, the phase changes, the end.
void Run::tick() {
  const int64_t now_us = hawker::monotonic_us();
  if (phase_ == Phase::kRamp) {
    if (launched_ < options_.connections && now_us >= next_batch_us_) {
      launch_batch();
      next_batch_us_ += int64_t{options_.ramp_interval_ms} * 1000;
    }
    const bool settled = launched_ == options_.connections && opened_ + failed_ == options_.connections;
    if (settled || now_us - started_us_ > int64_t{kRampTimeoutS} * 1'000'000) {
      phase_ = Phase::kWaitFirst;
      ramp_done_us_ = now_us;
      if (!options_.ready_file.empty()) std::ofstream(options_.ready_file) << opened_ << "\n";
      std::fprintf(stderr, "fanout_load: ramp done in %.2f s: %d opened, %d failed\n",
                   static_cast<double>(now_us - started_us_) / 1e6, opened_, failed_);
    }
  } else if (phase_ == Phase::kWaitFirst) {
    if (now_us - ramp_done_us_ > static_cast<int64_t>(options_.first_wait_s * 1e6)) begin_measuring(now_us);
  } else if (phase_ == Phase::kMeasure && now_us >= window_end_us_) {
    return finish();
  }
  timer_.expires_after(std::chrono::milliseconds(10));
  timer_.async_wait([this](beast::error_code ec) {
    if (!ec) tick();
  });
}

void Run::finish() {
  phase_ = Phase::kDone;
  const double window_s = static_cast<double>(hawker::monotonic_us() - window_start_us_) / 1e6;
  boost::json::object failures;
  for (const auto& [what, count] : failure_kinds_) failures[what] = count;
  boost::json::object report{
      {"tool", "fanout_load"},
      {"url", options_.host + ":" + options_.port},
      {"path", options_.path},
      {"type", options_.type},
      {"connections", options_.connections},
      {"opened", opened_},
      {"failed", failed_},
      {"closed", closed_},
      {"ramp_s", static_cast<double>(ramp_done_us_ - started_us_) / 1e6},
      {"window_s", window_s},
      {"frames", frames_},
      {"frames_other", frames_other_},
      {"frames_untimed", frames_untimed_},
      {"frames_per_s", window_s > 0 ? static_cast<double>(frames_) / window_s : 0.0},
      {"latency_ms_p50", latency_.percentile_ms(50)},
      {"latency_ms_p99", latency_.percentile_ms(99)},
      {"latency_ms_max", static_cast<double>(latency_.max_us()) / 1000.0},
      {"cpu_s", cpu_s()},
      {"failures", failures},
  };
  std::printf("%s\n", boost::json::serialize(report).c_str());
  std::fflush(stdout);
  io_.stop();  // the viewers' sockets close as the process exits
}

int run_viewers(const Options& options) {
  asio::io_context io(1);
  tcp::resolver resolver(io);
  beast::error_code ec;
  const auto endpoints = resolver.resolve(options.host, options.port, ec);
  if (ec || endpoints.empty()) {
    std::fprintf(stderr, "fanout_load: cannot resolve %s:%s: %s\n", options.host.c_str(), options.port.c_str(),
                 ec.message().c_str());
    return 2;
  }
  Run run(io, options);
  run.start(*endpoints.begin());
  io.run();
  return run.phase() == Run::Phase::kDone ? 0 : 1;
}

// --- Buy mode -------------------------------------------------------------------

class HttpConnection {
 public:
  explicit HttpConnection(const Options& options) : options_(options), stream_(io_) {}
  bool connect() {
    beast::error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(options_.host, options_.port, ec);
    if (!ec) stream_.connect(endpoints, ec);
    return !ec;
  }
  // The status of one request (0: no answer), reconnecting once.
  int request(bhttp::verb verb, const std::string& target, const std::string& token, const std::string& key,
              const std::string& body) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      beast::error_code ec;
      if (!stream_.socket().is_open() && !connect()) continue;
      bhttp::request<bhttp::string_body> message{verb, target, 11};
      message.set(bhttp::field::host, options_.host);
      if (!token.empty()) message.set(bhttp::field::authorization, "Bearer " + token);
      if (!key.empty()) message.set("Idempotency-Key", key);
      message.set(bhttp::field::content_type, "application/json");
      message.body() = body;
      message.prepare_payload();
      stream_.expires_after(std::chrono::seconds(10));
      bhttp::write(stream_, message, ec);
      bhttp::response<bhttp::string_body> response;
      if (!ec) bhttp::read(stream_, buffer_, response, ec);
      if (ec) {
        stream_.socket().close(ec);
        buffer_.clear();
        continue;
      }
      if (!response.keep_alive()) stream_.socket().close(ec);
      return static_cast<int>(response.result_int());
    }
    return 0;
  }

 private:
  const Options& options_;
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

// Wait for --start-file (bounded); false when it never appears.
bool wait_for_start(const Options& options) {
  if (options.start_file.empty()) return true;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kStartWaitS);
  while (access(options.start_file.c_str(), F_OK) != 0) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Open loop: purchase n is due at start + n * interval and goes out on
// connection n % --buy-connections, so a slow answer delays no other tick.
int run_buyer(const Options& options) {
  auto secret = hawker::load_or_create_secret(options.secret_file, false);
  if (!secret) {
    std::fprintf(stderr, "fanout_load: %s\n", secret.error().message.c_str());
    return 2;
  }
  const int64_t exp = wall_us() / 1'000'000 + 3600;
  const std::string token = hawker::sign_token({"fanout-driver", hawker::Role::kBuyer, exp}, *secret);
  const std::string body =
      R"({"product_id":")" + options.buy_product + R"(","quantity":1,"payment_token":"tok_visa"})";
  const std::string key_prefix = "fanout-" + std::to_string(getpid()) + "-" + std::to_string(wall_us()) + "-";
  std::vector<std::unique_ptr<HttpConnection>> connections;
  for (int i = 0; i < options.buy_connections; ++i) {
    connections.push_back(std::make_unique<HttpConnection>(options));
    if (!connections.back()->connect()) {
      std::fprintf(stderr, "fanout_load: cannot connect to %s:%s\n", options.host.c_str(), options.port.c_str());
      return 1;
    }
  }
  if (!wait_for_start(options)) {
    std::fprintf(stderr, "fanout_load: %s never appeared\n", options.start_file.c_str());
    return 1;
  }
  struct Tally {
    std::map<int, int> statuses;
    int late = 0;
    LatencyHistogram answer;
  };
  std::vector<Tally> tallies(connections.size());
  const auto interval = std::chrono::milliseconds(options.interval_ms);
  const auto started = std::chrono::steady_clock::now();
  const auto ticks = static_cast<int64_t>(options.duration_s * 1000.0 / options.interval_ms);
  std::vector<std::thread> threads;
  for (size_t c = 0; c < connections.size(); ++c) {
    threads.emplace_back([&, c] {
      Tally& tally = tallies[c];
      for (int64_t n = static_cast<int64_t>(c); n < ticks; n += static_cast<int64_t>(connections.size())) {
        const auto due = started + n * interval;
        if (std::chrono::steady_clock::now() > due + interval) {  // a whole tick behind: skip, never burst
          ++tally.late;
          continue;
        }
        std::this_thread::sleep_until(due);
        const int64_t sent_us = hawker::monotonic_us();
        ++tally.statuses[connections[c]->request(bhttp::verb::post, "/v1/orders", token,
                                                 key_prefix + std::to_string(n), body)];
        tally.answer.add(hawker::monotonic_us() - sent_us);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::map<int, int> statuses;
  int sent = 0, late = 0;
  int64_t answer_ms_max_us = 0;
  double answer_ms_p99 = 0;
  for (const Tally& tally : tallies) {
    for (const auto& [status, count] : tally.statuses) {
      statuses[status] += count;
      sent += count;
    }
    late += tally.late;
    answer_ms_max_us = std::max(answer_ms_max_us, tally.answer.max_us());
    answer_ms_p99 = std::max(answer_ms_p99, tally.answer.percentile_ms(99));
  }
  boost::json::object answers;
  for (const auto& [status, count] : statuses) answers[std::to_string(status)] = count;
  boost::json::object report{{"tool", "fanout_load"},
                             {"mode", "buy"},
                             {"product_id", options.buy_product},
                             {"due", ticks},
                             {"sent", sent},
                             {"late", late},
                             {"answers", answers},
                             {"answer_ms_p99", answer_ms_p99},
                             {"answer_ms_max", static_cast<double>(answer_ms_max_us) / 1000.0}};
  std::printf("%s\n", boost::json::serialize(report).c_str());
  return statuses[202] == sent && late == 0 ? 0 : 1;
}

bool parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "fanout_load: %s needs a value\n", flag.c_str());
      return false;
    }
    const std::string value = argv[i + 1];
    if (flag == "--url") {
      const size_t colon = value.rfind(':');
      if (colon == std::string::npos) return false;
      options.host = value.substr(0, colon);
      options.port = value.substr(colon + 1);
    } else if (flag == "--path") options.path = value;
    else if (flag == "--type") options.type = value;
    else if (flag == "--connections") options.connections = std::stoi(value);
    else if (flag == "--duration") options.duration_s = std::stod(value);
    else if (flag == "--ramp-batch") options.ramp_batch = std::stoi(value);
    else if (flag == "--ramp-interval-ms") options.ramp_interval_ms = std::stoi(value);
    else if (flag == "--first-wait-s") options.first_wait_s = std::stod(value);
    else if (flag == "--ready-file") options.ready_file = value;
    else if (flag == "--buy") options.buy_product = value;
    else if (flag == "--data") options.secret_file = value + "/jwt.secret";
    else if (flag == "--secret-file") options.secret_file = value;
    else if (flag == "--interval-ms") options.interval_ms = std::stoi(value);
    else if (flag == "--start-file") options.start_file = value;
    else if (flag == "--buy-connections") options.buy_connections = std::stoi(value);
    else {
      std::fprintf(stderr, "fanout_load: unknown flag %s\n", flag.c_str());
      return false;
    }
  }
  if (options.connections < 1 || options.connections > kConnectionsMax) {
    std::fprintf(stderr, "fanout_load: --connections must be 1..%d\n", kConnectionsMax);
    return false;
  }
  if (options.duration_s <= 0 || options.duration_s > 3600 || options.ramp_batch < 1 || options.ramp_interval_ms < 1 ||
      options.interval_ms < 1 || options.buy_connections < 1 || options.buy_connections > 64 || options.first_wait_s < 0 || options.first_wait_s > 3600) {
    std::fprintf(stderr, "fanout_load: --duration, --first-wait-s (s, <= 3600), --ramp-*, --interval-ms out of range\n");
    return false;
  }
  if (!options.buy_product.empty() && options.secret_file.empty()) {
    std::fprintf(stderr, "fanout_load: --buy needs --data or --secret-file\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    if (!parse_options(argc, argv, options)) return 2;
  } catch (const std::exception& error) {  // std::stoi on a bad number
    std::fprintf(stderr, "fanout_load: bad flag value: %s\n", error.what());
    return 2;
  }
  raise_open_file_limit();
  return options.buy_product.empty() ? run_viewers(options) : run_buyer(options);
}
