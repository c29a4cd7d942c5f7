#include "app/streaming.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "core/ids.h"
#include "core/log.h"
#include "core/thread_name.h"
#include "stream/test_source.h"

#include <signal.h>

namespace hawker::app {
namespace json = boost::json;

namespace {
constexpr size_t kMomentsPerShowMax = 10'000;  // a pin every few seconds for a whole day
constexpr size_t kMomentsFileBytesMax = 4 << 20;
constexpr int kLadderNice = -5;

std::optional<std::string> read_small_file(const std::string& path, size_t bytes_max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text;
  text.resize(bytes_max + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > bytes_max) return std::nullopt;
  return text;
}
}  // namespace

Streaming::Streaming(StreamingOptions options, store::ShowStore& shows, const Clock& clock, Registry& metrics)
    : options_(std::move(options)),
      shows_(shows),
      clock_(clock),
      publishes_(metrics.counter("hawker_stream_publishes_total{result=\"accepted\"}", "RTMP publishes asked for")),
      publishes_refused_(
          metrics.counter("hawker_stream_publishes_total{result=\"refused\"}", "RTMP publishes asked for")) {
  metrics.gauge("hawker_stream_ladders_running", "ffmpeg ABR ladders running",
                [this] { return static_cast<double>(ladders_running()); });
  metrics.gauge("hawker_stream_ladder_restarts_total", "ffmpeg ladders restarted after dying mid-show",
                [this] { return static_cast<double>(ladder_restarts()); });
}

Streaming::~Streaming() { stop(); }

Status Streaming::start() {
  std::error_code ec;
  std::filesystem::create_directories(options_.hls_dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create " + options_.hls_dir + ": " + ec.message());
  // No publisher is known to a fresh process: a show left live has lost its
  // ladder. End it cleanly; a publisher still connected to nginx is cut off
  // at its next on_update and comes back through on_publish.
  for (size_t offset = 0;; offset += 100) {
    auto page = shows_.list(offset, 100);
    if (!page) return page.error();
    for (const auto& show : *page) {
      if (show.status != store::ShowStatus::kLive) continue;
      if (Status ended = shows_.set_status(show.id, store::ShowStatus::kEnded); !ended) return ended;
      stream::Transcoder::end_playlists(show_folder(show.id));
      log_info("stream.ended_at_start", {{"show_id", format_show_id(show.id)}});
    }
    if (page->size() < 100) break;
  }
  control_ = std::thread([this] { control_loop(); });
  return {};
}

void Streaming::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (control_.joinable()) control_.join();
  std::map<uint64_t, std::unique_ptr<stream::Transcoder>> ladders;
  {
    std::lock_guard lock(mutex_);
    ladders.swap(ladders_);
  }
  for (auto& [show_id, ladder] : ladders) ladder->stop();
}

Result<store::ShowRecord> Streaming::publish(const std::string& stream_key) {
  auto show = shows_.find_by_stream_key(stream_key);
  if (!show) return show.error();
  if (!*show) {
    publishes_refused_.add();
    log_warn("stream.publish_refused", {{"reason", "unknown or rotated stream key"}});
    return make_error(ErrorCode::kForbidden, "unknown stream key");
  }
  if (Status live = shows_.set_status((*show)->id, store::ShowStatus::kLive); !live) return live.error();
  (*show)->status = store::ShowStatus::kLive;
  {
    std::lock_guard lock(mutex_);
    // A show publishes under one name at a time: a publish with a new key
    // (after a rotation) replaces the old one, which on_update then cuts off.
    std::erase_if(live_keys_, [&](const auto& entry) { return entry.second == (*show)->id; });
    live_keys_[stream_key] = (*show)->id;
    actions_.push_back(Action{ActionKind::kStartLadder, (*show)->id, stream_key});
  }
  wake_.notify_all();
  publishes_.add();
  log_info("stream.published", {{"show_id", format_show_id((*show)->id)}});
  if (status_listener_) status_listener_(**show);
  return std::move(**show);
}

void Streaming::publish_done(const std::string& stream_key) {
  uint64_t show_id = 0;
  {
    std::lock_guard lock(mutex_);
    auto live = live_keys_.find(stream_key);
    if (live == live_keys_.end()) return;  // a refused or replaced publisher
    show_id = live->second;
    live_keys_.erase(live);
    actions_.push_back(Action{ActionKind::kStopLadder, show_id, {}});
  }
  wake_.notify_all();
  if (Status ended = shows_.set_status(show_id, store::ShowStatus::kEnded); !ended)
    log_warn("stream.end_failed", {{"show_id", format_show_id(show_id)}, {"error", ended.error().message}});
  log_info("stream.publish_done", {{"show_id", format_show_id(show_id)}});
  if (status_listener_) {
    if (auto show = shows_.get(show_id); show && *show) status_listener_(**show);
  }
}

bool Streaming::still_publishing(const std::string& stream_key) {
  std::lock_guard lock(mutex_);
  return live_keys_.contains(stream_key);
}

void Streaming::control_loop() {
  set_thread_name("hawker-stream");
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !actions_.empty(); });
    if (stopping_) break;
    Action action = std::move(actions_.front());
    actions_.pop_front();
    lock.unlock();
    run(action);
    lock.lock();
  }
  lock.unlock();
  // Sources were spawned by this thread (PR_SET_PDEATHSIG): stop them here.
  for (auto& [show_id, source] : test_sources_) source->terminate(SIGINT, 3000);
  test_sources_.clear();
}

// Starts or stops one show's ladder. Runs on the control thread only, which
// alone adds to and removes from ladders_ (readers take the mutex).
void Streaming::run(const Action& action) {
  if (action.kind == ActionKind::kStartTestSource) return run_test_source(action);
  std::unique_ptr<stream::Transcoder> old;
  {
    std::lock_guard lock(mutex_);
    auto found = ladders_.find(action.show_id);
    if (found != ladders_.end()) {
      old = std::move(found->second);
      ladders_.erase(found);
    }
  }
  if (old) old->stop();
  if (action.kind != ActionKind::kStartLadder || options_.rtmp_pull_base.empty()) return;
  stream::TranscoderOptions transcoder;
  transcoder.ffmpeg = options_.ffmpeg;
  // rw_timeout: an ffmpeg whose input stalls gives up and is restarted.
  // (A shorter probe would bring the program date times closer to the real
  // edge, but ffmpeg connects before the publisher's first packets and a
  // 1 s probe then finds no streams.)
  transcoder.input_arguments = {"-rw_timeout", "15000000", "-i", options_.rtmp_pull_base + "/" + action.stream_key};
  // Video keeps flowing when buyers saturate the CPU (ProcessSpec::nice).
  transcoder.nice = kLadderNice;
  transcoder.output_dir = show_folder(action.show_id);
  transcoder.ladder = options_.ladder;
  transcoder.log_path = show_folder(action.show_id) + "/ffmpeg.log";
  auto ladder = std::make_unique<stream::Transcoder>(std::move(transcoder));
  if (Status started = ladder->start(); !started) {
    log_error("stream.ladder_failed",
              {{"show_id", format_show_id(action.show_id)}, {"error", started.error().message}});
    return;
  }
  std::lock_guard lock(mutex_);
  ladders_[action.show_id] = std::move(ladder);
}

Status Streaming::start_test_source(const store::ShowRecord& show) {
  if (options_.rtmp_pull_base.empty())
    return make_error(ErrorCode::kUnavailable, "this server has no RTMP ingest for a test source");
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return make_error(ErrorCode::kUnavailable, "stopping");
    actions_.push_back(Action{ActionKind::kStartTestSource, show.id, show.stream_key});
  }
  wake_.notify_all();
  return {};
}

void Streaming::run_test_source(const Action& action) {
  auto running = test_sources_.find(action.show_id);
  if (running != test_sources_.end() && running->second->running()) return;
  stream::ProcessSpec spec;
  spec.argv = stream::test_source_arguments(options_.rtmp_pull_base + "/" + action.stream_key, {});
  spec.argv[0] = options_.ffmpeg;
  std::error_code ec;
  std::filesystem::create_directories(show_folder(action.show_id), ec);
  spec.log_path = show_folder(action.show_id) + "/test-source.log";
  auto source = stream::ChildProcess::spawn(spec);
  if (!source) {
    log_error("stream.test_source_failed",
              {{"show_id", format_show_id(action.show_id)}, {"error", source.error().message}});
    return;
  }
  log_info("stream.test_source_started",
           {{"show_id", format_show_id(action.show_id)}, {"pid", static_cast<int64_t>((*source)->pid())}});
  test_sources_[action.show_id] = std::move(*source);
}

std::string Streaming::add_moment(uint64_t show_id, const std::string& product_id, const std::string& title) {
  std::lock_guard lock(mutex_);
  bool producing = false;
  for (const auto& [key, id] : live_keys_) producing = producing || id == show_id;
  if (!producing) return {};
  // The segment being produced starts where the newest listed one ends;
  // before the first segment is listed, it starts about now.
  int64_t start_ms = clock_.now_us() / 1000;
  if (!options_.ladder.renditions.empty()) {
    const std::string path = show_folder(show_id) + "/" + options_.ladder.renditions.front().name + ".m3u8";
    if (auto text = read_small_file(path, 16 << 20)) {
      if (auto playlist = stream::parse_media_playlist(*text); playlist && !playlist->ended) {
        if (auto edge = stream::live_edge_ms(*playlist)) start_ms = *edge;
      }
    }
  }
  auto& moments = moments_locked(show_id);
  if (moments.size() >= kMomentsPerShowMax) moments.erase(moments.begin());
  stream::Moment moment;
  moment.id = "pin-" + std::to_string(start_ms) + "-" + product_id;
  moment.product_id = product_id;
  moment.title = title;
  moment.start_ms = start_ms;
  moments.push_back(moment);
  if (Status saved = save_moments_locked(show_id); !saved)
    log_warn("stream.moments_not_saved", {{"show_id", format_show_id(show_id)}, {"error", saved.error().message}});
  return stream::format_pdt(start_ms);
}

std::vector<stream::Moment> Streaming::moments(uint64_t show_id) {
  std::lock_guard lock(mutex_);
  return moments_locked(show_id);
}

// The show's moments, read from moments.json the first time they are asked for.
std::vector<stream::Moment>& Streaming::moments_locked(uint64_t show_id) {
  auto found = moments_.find(show_id);
  if (found != moments_.end()) return found->second;
  auto& moments = moments_[show_id];
  auto text = read_small_file(show_folder(show_id) + "/moments.json", kMomentsFileBytesMax);
  if (!text) return moments;
  boost::system::error_code ec;
  json::value parsed = json::parse(*text, ec);
  if (ec || !parsed.is_array()) {
    log_warn("stream.moments_unreadable", {{"show_id", format_show_id(show_id)}});
    return moments;
  }
  for (const auto& item : parsed.as_array()) {
    const json::object* object = item.if_object();
    if (!object) continue;
    const json::string* id = object->contains("id") ? object->at("id").if_string() : nullptr;
    const json::string* product = object->contains("product_id") ? object->at("product_id").if_string() : nullptr;
    const json::string* title = object->contains("title") ? object->at("title").if_string() : nullptr;
    const int64_t* start = object->contains("start_ms") ? object->at("start_ms").if_int64() : nullptr;
    if (!id || !product || !title || !start) continue;
    moments.push_back(stream::Moment{std::string(*id), std::string(*product), std::string(*title), *start});
    if (moments.size() >= kMomentsPerShowMax) break;
  }
  return moments;
}

Status Streaming::save_moments_locked(uint64_t show_id) {
  json::array items;
  for (const auto& moment : moments_[show_id])
    items.push_back(json::object{{"id", moment.id},
                                 {"product_id", moment.product_id},
                                 {"title", moment.title},
                                 {"start_ms", moment.start_ms}});
  const std::string folder = show_folder(show_id);
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  return stream::replace_file(folder + "/moments.json", json::serialize(items));
}

std::string Streaming::ingest_url(const store::ShowRecord& show, bool with_key) const {
  if (options_.rtmp_public_base.empty()) return {};
  return with_key ? options_.rtmp_public_base + "/" + show.stream_key : options_.rtmp_public_base;
}

std::string Streaming::playback_url(uint64_t show_id) const {
  return hls_public_base_ + "/hls/" + format_show_id(show_id) + "/master.m3u8";
}

std::string Streaming::show_folder(uint64_t show_id) const { return options_.hls_dir + "/" + format_show_id(show_id); }

size_t Streaming::ladders_running() const {
  std::lock_guard lock(mutex_);
  size_t running = 0;
  for (const auto& [show_id, ladder] : ladders_) running += ladder->running() ? 1 : 0;
  return running;
}

uint64_t Streaming::ladder_restarts() const {
  std::lock_guard lock(mutex_);
  uint64_t restarts = 0;
  for (const auto& [show_id, ladder] : ladders_) restarts += ladder->restarts();
  return restarts;
}

std::optional<pid_t> Streaming::ladder_pid(uint64_t show_id) const {
  std::lock_guard lock(mutex_);
  auto found = ladders_.find(show_id);
  if (found == ladders_.end()) return std::nullopt;
  return found->second->pid();
}

}  // namespace hawker::app
