// hls_players: simulated HLS players against the CDN edge, for the live-edge
// delay and segment fetch latency figures of issue 4 (bench/stream.sh,
// docs/BENCHMARKS.md).
//
// --players threads each play one live show for --duration seconds the way
// hls.js does, over one keep-alive connection to the edge: fetch the master
// playlist once, pick a rendition (player i takes variant i mod N, so every
// rendition is watched), then reload that media playlist every half target
// duration (about 1 s for 2 s segments; the first reloads are spread over one
// interval so the players are not in step). At every reload:
//   live-edge delay = now (wall clock) - live_edge_ms(playlist), i.e. how far
//                     behind real time the newest segment a player can fetch
//                     ends (its #EXT-X-PROGRAM-DATE-TIME + duration);
// and every segment that appeared since the last reload (at the start: only
// the newest) is fetched in order and timed:
//   segment fetch = request sent -> whole body read (a reconnect, when the
//                   edge closed the idle connection, is included).
// With --origin-dir DATA/hls/shw_N (the origin's folder, on this machine) each
// reload also records
//   newest segment age = now - the modification time of the newest listed
//                        segment's file (when the ladder finished writing it).
// Unlike the live-edge delay this does not depend on where the ladder's
// ffmpeg anchored its PROGRAM-DATE-TIMEs (the wall clock when its HLS muxer
// started, after it had already buffered some input): a segment cannot be
// finished before its media was captured, so
//   real delay (capture -> playable at the edge) >= newest segment age.
// Prints p50/p90/p99/max of these (and of the playlist fetches), counts of
// polls, segments, bytes, X-Cache-Status values and errors; --json FILE also
// writes them as one JSON object. Everything targets --edge (loopback in the
// benchmarks); every request has a timeout and the run ends after --duration.
//
//   hls_players --edge 127.0.0.1:18799 --show shw_1 [--players 50] [--duration 60]
//               [--origin-dir DATA/hls/shw_1] [--label NAME] [--json FILE]
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "core/clock.h"
#include "stream/playlist.h"

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using hawker::monotonic_us;

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "18799";
  std::string show;
  int players = 50;
  int duration_s = 60;
  int timeout_ms = 10'000;
  std::string label = "players";
  std::string origin_dir;
  std::string json_path;
};

constexpr int kPlayersMax = 2000;
constexpr int kDurationMax_s = 3600;
// A segment or playlist larger than this is an error, not a reason to grow.
constexpr uint64_t kBodyBytesMax = 32ull << 20;
// hls.js reloads a live playlist every half target duration while waiting for
// a new segment; bounded so a broken playlist cannot make us spin or stall.
constexpr int kReloadMinMs = 250;
constexpr int kReloadMaxMs = 5000;
// New segments fetched per reload at most (a player that fell far behind
// skips to the newest, as hls.js does).
constexpr size_t kSegmentsPerReloadMax = 4;
// A segment fetch this slow most likely sat in a proxy_cache_lock wait (see main).
constexpr double kLockWaitMs = 480;

bool parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--edge") {
      const size_t colon = value.rfind(':');
      if (colon == std::string::npos) return false;
      options.host = value.substr(0, colon);
      options.port = value.substr(colon + 1);
    } else if (flag == "--show") options.show = value;
    else if (flag == "--players") options.players = std::stoi(value);
    else if (flag == "--duration") options.duration_s = std::stoi(value);
    else if (flag == "--timeout-ms") options.timeout_ms = std::stoi(value);
    else if (flag == "--label") options.label = value;
    else if (flag == "--origin-dir") options.origin_dir = value;
    else if (flag == "--json") options.json_path = value;
    else {
      std::fprintf(stderr, "hls_players: unknown flag %s\n", flag.c_str());
      return false;
    }
  }
  if (options.show.empty() || options.players < 1 || options.players > kPlayersMax || options.duration_s < 1 ||
      options.duration_s > kDurationMax_s || options.timeout_ms < 1) {
    std::fprintf(stderr, "hls_players: --show shw_N needed; --players 1..%d; --duration 1..%d\n", kPlayersMax,
                 kDurationMax_s);
    return false;
  }
  return true;
}

struct Reply {
  int status = 0;
  std::string body;
  std::string cache_status;  // X-Cache-Status
};

// One keep-alive HTTP/1.1 connection to the edge, used by one player thread.
// Every request is bounded by the timeout; a request on a connection the
// edge closed while idle is retried once on a new one.
class EdgeConnection {
 public:
  EdgeConnection(const Options& options) : options_(options), stream_(io_) {}

  // Empty on success; otherwise what failed.
  std::string get(const std::string& target, Reply& reply) {
    std::string failure;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = connected_;
      failure = attempt_get(target, reply);
      if (failure.empty()) return failure;
      close();
      if (!reused) break;
    }
    return failure;
  }

 private:
  std::string attempt_get(const std::string& target, Reply& reply) {
    beast::error_code error;
    if (!connected_) {
      tcp::resolver resolver(io_);
      auto endpoints = resolver.resolve(options_.host, options_.port, error);
      if (error) return "resolve";
      stream_.expires_after(std::chrono::milliseconds(options_.timeout_ms));
      stream_.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) { error = ec; });
      run();
      if (error) return error == beast::error::timeout ? "connect_timeout" : "connect";
      stream_.socket().set_option(tcp::no_delay(true));
      connected_ = true;
    }
    bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
    request.set(bhttp::field::host, options_.host);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kBodyBytesMax);
    stream_.expires_after(std::chrono::milliseconds(options_.timeout_ms));
    bhttp::async_write(stream_, request, [&](beast::error_code ec, size_t) {
      error = ec;
      if (ec) return;
      bhttp::async_read(stream_, buffer_, parser, [&](beast::error_code read_error, size_t) { error = read_error; });
    });
    run();
    if (error) return error == beast::error::timeout ? "timeout" : "io";
    auto& response = parser.get();
    reply.status = static_cast<int>(response.result_int());
    reply.cache_status = std::string(response["X-Cache-Status"]);
    reply.body = std::move(response.body());
    if (!response.keep_alive()) close();
    return "";
  }

  void run() {
    io_.restart();
    io_.run();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    connected_ = false;
  }

  const Options& options_;
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

// What one player saw; merged after the run.
struct PlayerStats {
  std::vector<double> delay_ms;
  std::vector<double> segment_ms;
  std::map<std::string, std::vector<double>> segment_ms_by_cache;  // by X-Cache-Status
  std::vector<double> playlist_ms;
  std::vector<double> age_ms;  // newest segment age (--origin-dir)
  uint64_t polls = 0;
  uint64_t segments = 0;
  uint64_t segment_bytes = 0;
  uint64_t stale_polls = 0;  // reloads that brought no new segment
  std::map<std::string, uint64_t> cache;   // X-Cache-Status of segment fetches
  std::map<std::string, uint64_t> errors;  // "status 404", "timeout", ...
  std::string variant;
};

double elapsed_ms(int64_t start_us) { return static_cast<double>(monotonic_us() - start_us) / 1000.0; }

// Media playlist names listed by a master playlist.
std::vector<std::string> variants_of(const std::string& master) {
  std::vector<std::string> variants;
  std::istringstream lines(master);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] != '#' && line.find(".m3u8") != std::string::npos) variants.push_back(line);
  }
  return variants;
}

class Player {
 public:
  Player(const Options& options, int index, int64_t end_us)
      : options_(options), index_(index), end_us_(end_us), connection_(options) {}

  void run(PlayerStats& stats) {
    const std::string base = "/hls/" + options_.show + "/";
    Reply reply;
    std::vector<std::string> variants;
    if (!fetch(base + "master.m3u8", reply, stats)) return;
    variants = variants_of(reply.body);
    if (variants.empty()) {
      stats.errors["master without variants"]++;
      return;
    }
    stats.variant = variants[static_cast<size_t>(index_) % variants.size()];
    const std::string playlist_target = base + stats.variant;

    int reload_ms = 1000;
    // Spread the first reloads over one interval.
    sleep_until(monotonic_us() + int64_t{reload_ms} * 1000 * index_ / options_.players);
    std::string last_uri;
    while (monotonic_us() < end_us_) {
      const int64_t poll_us = monotonic_us();
      if (fetch(playlist_target, reply, stats)) {
        stats.playlist_ms.push_back(elapsed_ms(poll_us));
        stats.polls++;
        if (auto playlist = hawker::stream::parse_media_playlist(reply.body); !playlist) {
          stats.errors["playlist does not parse"]++;
        } else {
          if (auto edge_ms = hawker::stream::live_edge_ms(*playlist))
            stats.delay_ms.push_back(static_cast<double>(hawker::SystemClock::instance().now_ms() - *edge_ms));
          else
            stats.errors["playlist without PDT"]++;
          record_age(*playlist, stats);
          reload_ms = std::clamp(static_cast<int>(playlist->target_duration_s * 1000 / 2), kReloadMinMs, kReloadMaxMs);
          if (!fetch_new_segments(*playlist, base, last_uri, stats)) stats.stale_polls++;
        }
      }
      sleep_until(poll_us + int64_t{reload_ms} * 1000);
    }
  }

 private:
  // Fetches the segments after last_uri (all but the newest kSegmentsPerReloadMax
  // are skipped); false when there were none.
  bool fetch_new_segments(const hawker::stream::MediaPlaylist& playlist, const std::string& base,
                          std::string& last_uri, PlayerStats& stats) {
    const auto& segments = playlist.segments;
    if (segments.empty()) return false;
    size_t first = segments.size() - 1;  // at the start: only the newest
    if (!last_uri.empty()) {
      auto seen = std::find_if(segments.rbegin(), segments.rend(), [&](const auto& s) { return s.uri == last_uri; });
      first = seen == segments.rend() ? 0 : static_cast<size_t>(segments.rend() - seen);
    }
    if (first >= segments.size()) return false;
    first = std::max(first, segments.size() - std::min(segments.size(), kSegmentsPerReloadMax));
    for (size_t i = first; i < segments.size() && monotonic_us() < end_us_; ++i) {
      Reply reply;
      const int64_t sent_us = monotonic_us();
      if (fetch(base + segments[i].uri, reply, stats)) {
        const double latency_ms = elapsed_ms(sent_us);
        const std::string cache = reply.cache_status.empty() ? "-" : reply.cache_status;
        stats.segment_ms.push_back(latency_ms);
        stats.segment_ms_by_cache[cache].push_back(latency_ms);
        stats.segments++;
        stats.segment_bytes += reply.body.size();
        stats.cache[cache]++;
      }
      last_uri = segments[i].uri;
    }
    return true;
  }

  // now - mtime of the newest listed segment's file in the origin's folder.
  void record_age(const hawker::stream::MediaPlaylist& playlist, PlayerStats& stats) {
    if (options_.origin_dir.empty() || playlist.segments.empty()) return;
    struct stat file {};
    if (stat((options_.origin_dir + "/" + playlist.segments.back().uri).c_str(), &file) != 0) {
      stats.errors["segment file missing in --origin-dir"]++;
      return;
    }
    const int64_t written_us = int64_t{file.st_mtim.tv_sec} * 1'000'000 + file.st_mtim.tv_nsec / 1000;
    stats.age_ms.push_back(static_cast<double>(hawker::SystemClock::instance().now_us() - written_us) / 1000.0);
  }

  bool fetch(const std::string& target, Reply& reply, PlayerStats& stats) {
    std::string failure = connection_.get(target, reply);
    if (!failure.empty()) {
      stats.errors[failure]++;
      return false;
    }
    if (reply.status != 200) {
      stats.errors["status " + std::to_string(reply.status)]++;
      return false;
    }
    return true;
  }

  void sleep_until(int64_t when_us) {
    const int64_t until_us = std::min(when_us, end_us_);
    const int64_t now_us = monotonic_us();
    if (until_us > now_us) std::this_thread::sleep_for(std::chrono::microseconds(until_us - now_us));
  }

  const Options& options_;
  const int index_;
  const int64_t end_us_;
  EdgeConnection connection_;
};

struct Summary {
  size_t samples = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

// Nearest-rank percentiles (as bench/buyers.cc).
Summary summarise(std::vector<double> values) {
  Summary summary;
  summary.samples = values.size();
  if (values.empty()) return summary;
  std::sort(values.begin(), values.end());
  auto at = [&](double p) {
    size_t index = static_cast<size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
  };
  summary.p50 = at(50);
  summary.p90 = at(90);
  summary.p99 = at(99);
  summary.max = values.back();
  return summary;
}

json::object to_json(const Summary& summary) {
  return {{"samples", summary.samples}, {"p50", summary.p50}, {"p90", summary.p90}, {"p99", summary.p99},
          {"max", summary.max}};
}

void print_row(const char* name, const Summary& summary) {
  std::printf("%-24s %8zu %9.1f %9.1f %9.1f %9.1f\n", name, summary.samples, summary.p50, summary.p90, summary.p99,
              summary.max);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    if (!parse_options(argc, argv, options)) return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "hls_players: bad flag value: %s\n", error.what());
    return 2;
  }
  const int64_t start_us = monotonic_us();
  const int64_t end_us = start_us + int64_t{options.duration_s} * 1'000'000;
  std::vector<PlayerStats> stats(static_cast<size_t>(options.players));
  {
    std::vector<std::thread> threads;
    threads.reserve(stats.size());
    for (int i = 0; i < options.players; ++i)
      threads.emplace_back([&, i] { Player(options, i, end_us).run(stats[static_cast<size_t>(i)]); });
    for (auto& thread : threads) thread.join();
  }
  const double wall_s = static_cast<double>(monotonic_us() - start_us) / 1e6;

  PlayerStats all;
  std::map<std::string, uint64_t> variants;
  for (auto& player : stats) {
    all.delay_ms.insert(all.delay_ms.end(), player.delay_ms.begin(), player.delay_ms.end());
    all.segment_ms.insert(all.segment_ms.end(), player.segment_ms.begin(), player.segment_ms.end());
    for (const auto& [cache, values] : player.segment_ms_by_cache) {
      auto& merged = all.segment_ms_by_cache[cache];
      merged.insert(merged.end(), values.begin(), values.end());
    }
    all.playlist_ms.insert(all.playlist_ms.end(), player.playlist_ms.begin(), player.playlist_ms.end());
    all.age_ms.insert(all.age_ms.end(), player.age_ms.begin(), player.age_ms.end());
    all.polls += player.polls;
    all.segments += player.segments;
    all.segment_bytes += player.segment_bytes;
    all.stale_polls += player.stale_polls;
    for (const auto& [name, count] : player.cache) all.cache[name] += count;
    for (const auto& [name, count] : player.errors) all.errors[name] += count;
    variants[player.variant.empty() ? "(none)" : player.variant]++;
  }
  const Summary delay = summarise(all.delay_ms);
  const Summary segment = summarise(all.segment_ms);
  const Summary playlist = summarise(all.playlist_ms);
  const Summary age = summarise(all.age_ms);
  uint64_t error_count = 0;
  for (const auto& [name, count] : all.errors) error_count += count;
  // nginx's proxy_cache_lock: a request that finds another one fetching the
  // same segment from the origin re-checks the cache every 500 ms (a timer,
  // not a wake-up), so it waits 500 ms at least and is then a HIT.
  const auto slow_segments = static_cast<uint64_t>(
      std::count_if(all.segment_ms.begin(), all.segment_ms.end(), [](double ms) { return ms >= kLockWaitMs; }));

  std::printf("== hls_players (%s): %d players x %.1f s against the edge %s:%s, show %s\n", options.label.c_str(),
              options.players, wall_s, options.host.c_str(), options.port.c_str(), options.show.c_str());
  std::printf("%-24s %8s %9s %9s %9s %9s\n", "metric (ms)", "samples", "p50", "p90", "p99", "max");
  print_row("live-edge delay", delay);
  if (!options.origin_dir.empty()) print_row("newest segment age", age);
  print_row("segment fetch", segment);
  std::map<std::string, Summary> segment_by_cache;
  for (const auto& [cache, values] : all.segment_ms_by_cache) {
    segment_by_cache[cache] = summarise(values);
    print_row(("  X-Cache-Status " + cache).c_str(), segment_by_cache[cache]);
  }
  print_row("playlist fetch", playlist);
  std::printf("polls %llu (%llu without a new segment), segments %llu (%.1f MB), errors %llu\n",
              static_cast<unsigned long long>(all.polls), static_cast<unsigned long long>(all.stale_polls),
              static_cast<unsigned long long>(all.segments), static_cast<double>(all.segment_bytes) / 1e6,
              static_cast<unsigned long long>(error_count));
  std::printf("segment fetches >= %.0f ms (a proxy_cache_lock wait): %llu\n", kLockWaitMs,
              static_cast<unsigned long long>(slow_segments));
  std::printf("renditions:");
  for (const auto& [name, count] : variants)
    std::printf(" %s x%llu", name.c_str(), static_cast<unsigned long long>(count));
  std::printf("\nsegment X-Cache-Status:");
  for (const auto& [name, count] : all.cache)
    std::printf(" %s %llu", name.c_str(), static_cast<unsigned long long>(count));
  for (const auto& [name, count] : all.errors)
    std::printf("\nerror %s: %llu", name.c_str(), static_cast<unsigned long long>(count));
  std::printf("\n");

  if (!options.json_path.empty()) {
    json::object cache, errors, by_cache;
    for (const auto& [name, count] : all.cache) cache[name] = count;
    for (const auto& [name, summary] : segment_by_cache) by_cache[name] = to_json(summary);
    for (const auto& [name, count] : all.errors) errors[name] = count;
    std::ofstream(options.json_path) << json::serialize(json::object{{"label", options.label},
                                                                     {"players", options.players},
                                                                     {"wall_s", wall_s},
                                                                     {"delay_ms", to_json(delay)},
                                                                     {"age_ms", to_json(age)},
                                                                     {"segment_ms", to_json(segment)},
                                                                     {"segment_ms_by_cache", by_cache},
                                                                     {"segment_fetches_lock_wait", slow_segments},
                                                                     {"playlist_ms", to_json(playlist)},
                                                                     {"polls", all.polls},
                                                                     {"stale_polls", all.stale_polls},
                                                                     {"segments", all.segments},
                                                                     {"segment_bytes", all.segment_bytes},
                                                                     {"cache", cache},
                                                                     {"errors", errors},
                                                                     {"error_count", error_count}})
                                    << "\n";
  }
  return delay.samples > 0 && segment.samples > 0 ? 0 : 1;
}
