// Streaming: the show-facing half of the streaming layer — who may publish,
// which shows are live, one ffmpeg ladder per live show, and the product
// moments written into the playlists.
//
// nginx-rtmp asks before every publish (on_publish, with the stream name the
// seller used: the show's stream key). publish() accepts only a show's
// current key, marks the show live and starts its Transcoder, which pulls
// the stream back from nginx on loopback and writes HLS into
// hls_dir/shw_<id>/. publish_done() marks the show ended and stops the
// ladder (its playlists then end with EXT-X-ENDLIST; the files stay for
// replay). still_publishing() answers nginx's periodic on_update: a key
// that was rotated away, or a show hawker no longer thinks is live, is cut
// off.
//
// Transcoders start and stop on one control thread, so an nginx callback is
// answered at once even though stopping ffmpeg takes seconds.
//
// Moments: add_moment() records "product P was pinned" at the program date
// time of the segment being produced, in memory and in
// hls_dir/shw_<id>/moments.json (kept for replay); the HLS origin writes
// them into every media playlist it serves.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/result.h"
#include "store/show_store.h"
#include "stream/ladder.h"
#include "stream/playlist.h"
#include "stream/process.h"
#include "stream/transcoder.h"

namespace hawker::app {

struct StreamingOptions {
  std::string hls_dir;          // DATA/hls
  std::string rtmp_pull_base;   // where ffmpeg pulls from: rtmp://127.0.0.1:1935/live ("" = no ladder)
  std::string rtmp_public_base; // what sellers are told: rtmp://HOST:1935/live
  std::string ffmpeg = "ffmpeg";
  stream::LadderOptions ladder;
};

class Streaming {
 public:
  Streaming(StreamingOptions options, store::ShowStore& shows, const Clock& clock, Registry& metrics);
  ~Streaming();
  Streaming(const Streaming&) = delete;
  Streaming& operator=(const Streaming&) = delete;

  // The base of playback URLs (playback.hls = base + /hls/shw_<id>/master.m3u8),
  // known once the origin or edge listens. Call before start().
  void set_hls_public_base(std::string base) { hls_public_base_ = std::move(base); }

  // Called (from the thread of the nginx callback) after a show went live or
  // ended, so its live channel can tell new viewers. Set before start().
  using StatusListener = std::function<void(const store::ShowRecord& show)>;
  void set_status_listener(StatusListener listener) { status_listener_ = std::move(listener); }

  // Marks shows left live by a previous run as ended (their publishers, if
  // any, are cut off by on_update and come back through on_publish), and
  // starts the control thread.
  Status start();
  // Stops every ladder (the playlists get EXT-X-ENDLIST).
  void stop();

  // nginx-rtmp's on_publish: the show whose current key this is, now live;
  // kForbidden for an unknown or rotated key.
  Result<store::ShowRecord> publish(const std::string& stream_key);
  // nginx-rtmp's on_publish_done: the stream under this name stopped.
  void publish_done(const std::string& stream_key);
  // nginx-rtmp's on_update: false when the publisher must be cut off.
  bool still_publishing(const std::string& stream_key);

  // Records a product moment for a live show and returns its START-DATE
  // (ISO 8601); empty when the show is not producing video.
  std::string add_moment(uint64_t show_id, const std::string& product_id, const std::string& title);
  // The show's moments, oldest first (loaded from disk for a replay).
  std::vector<stream::Moment> moments(uint64_t show_id);

  // Starts the synthetic test source (stream/test_source.h) publishing to
  // the show's ingest with its key, unless one already runs for the show.
  // kUnavailable when the server has no RTMP ingest.
  Status start_test_source(const store::ShowRecord& show);

  // URLs for the show JSON. The key is in the ingest URL only for its seller.
  std::string ingest_url(const store::ShowRecord& show, bool with_key) const;
  std::string playback_url(uint64_t show_id) const;
  std::string show_folder(uint64_t show_id) const;

  // For tests and /metrics: ladders running, ffmpeg restarts so far.
  size_t ladders_running() const;
  uint64_t ladder_restarts() const;
  // The pid of a show's ffmpeg, if running (tests kill it).
  std::optional<pid_t> ladder_pid(uint64_t show_id) const;

 private:
  enum class ActionKind { kStartLadder, kStopLadder, kStartTestSource };
  struct Action {
    ActionKind kind = ActionKind::kStopLadder;
    uint64_t show_id = 0;
    std::string stream_key;
  };
  void control_loop();
  void run(const Action& action);
  void run_test_source(const Action& action);
  std::vector<stream::Moment>& moments_locked(uint64_t show_id);
  Status save_moments_locked(uint64_t show_id);

  const StreamingOptions options_;
  std::string hls_public_base_;
  StatusListener status_listener_;
  store::ShowStore& shows_;
  const Clock& clock_;
  Counter& publishes_;
  Counter& publishes_refused_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Action> actions_;
  bool stopping_ = false;
  std::map<std::string, uint64_t> live_keys_;  // stream name being published -> show
  std::map<uint64_t, std::unique_ptr<stream::Transcoder>> ladders_;  // owned by the control thread
  std::map<uint64_t, std::vector<stream::Moment>> moments_;
  std::map<uint64_t, stream::ChildProcessPtr> test_sources_;  // the control thread's only
  std::thread control_;
};

}  // namespace hawker::app
