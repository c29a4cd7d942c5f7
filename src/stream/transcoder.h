// Transcoder: supervises the one ffmpeg that encodes one live show into its
// HLS ladder (stream/ladder.h) under output_dir.
//
// start() creates output_dir and starts a supervisor thread. That thread
// spawns ffmpeg (from itself: the child is tied to the thread that spawned it,
// see stream/process.h) and, whenever ffmpeg exits while the transcoder is not
// stopping, logs stream.ffmpeg_exited and spawns it again after a backoff
// (restart_backoff_ms, doubling up to restart_backoff_max_ms, back to the start
// once an ffmpeg has run kHealthyRunMs). An ffmpeg started while media
// playlists already exist in output_dir (a restart, or hawker itself restarted
// mid-show) resumes them: old segments stay listed, numbering continues, and
// #EXT-X-DISCONTINUITY marks the break.
//
// stop() asks ffmpeg to finish (SIGINT: it writes its last segment and
// #EXT-X-ENDLIST), kills it after kStopGraceMs, joins the supervisor, removes
// the temporary files a killed ffmpeg leaves (*.tmp), and makes sure every
// media playlist ends with #EXT-X-ENDLIST, so players know the show is over.
//
// Thread-safety: every public member may be called from any thread. start()
// and stop() are serialised with each other; restarts(), running() and pid()
// never block on the process. The ChildProcess itself belongs to the
// supervisor thread alone.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/result.h"
#include "stream/ladder.h"

namespace hawker::stream {

class ChildProcess;

struct TranscoderOptions {
  std::string ffmpeg = "ffmpeg";  // a path, or a name looked up in PATH
  std::vector<std::string> input_arguments;  // e.g. {"-rw_timeout", "10000000", "-i", "rtmp://..."}
  std::string output_dir;
  LadderOptions ladder;
  std::string log_path;  // ffmpeg's stdout and stderr, appended; empty: /dev/null
  int nice = 0;  // ffmpeg's nice value (ProcessSpec::nice)
  int restart_backoff_ms = 500;
  int restart_backoff_max_ms = 5000;
};

// How long stop() lets ffmpeg finalise after SIGINT before SIGKILL.
inline constexpr int kStopGraceMs = 5000;
// An ffmpeg that ran this long was healthy: the next restart waits only
// restart_backoff_ms again.
inline constexpr int kHealthyRunMs = 10'000;
// How often the supervisor looks whether ffmpeg is still alive.
inline constexpr int kPollIntervalMs = 100;
// Bounds on the backoff options.
inline constexpr int kRestartBackoffMaxMs = 60'000;

class Transcoder {
 public:
  explicit Transcoder(TranscoderOptions options);
  ~Transcoder();  // stop()
  Transcoder(const Transcoder&) = delete;
  Transcoder& operator=(const Transcoder&) = delete;

  // Checks the options, finds ffmpeg, creates output_dir and starts the
  // supervisor. Once per Transcoder: kInvalid when called again.
  Status start();
  // Stops ffmpeg and the supervisor and ends the playlists (see above).
  // Idempotent; returns once all of that is done. Nothing to do before start().
  void stop();

  // How many times ffmpeg exited (or failed to spawn) on its own, each
  // followed by a restart after the backoff.
  uint64_t restarts() const { return restarts_.load(std::memory_order_relaxed); }
  // True while an ffmpeg is up: from its spawn until the supervisor sees it
  // exit (within kPollIntervalMs) or stops it.
  bool running() const;
  // The running ffmpeg's process id (tests kill it to prove the restart).
  std::optional<pid_t> pid() const;

  // end_media_playlists(output_dir), logging (stream.playlists_not_ended)
  // what could not be ended: for a show whose ffmpeg is already gone (hawker
  // restarted), and for stop().
  static void end_playlists(const std::string& output_dir);

 private:
  void supervise();
  bool stopping() const;
  // Waits until the child exits (false) or stop() is called (true).
  bool wait_for_exit_or_stop(ChildProcess& child);
  // Sleeps up to duration_ms; true when stop() was called meanwhile.
  bool sleep_unless_stopping(int duration_ms);
  void set_pid(std::optional<pid_t> pid);

  const TranscoderOptions options_;
  std::string ffmpeg_path_;  // resolved by start(), before the thread exists

  std::mutex lifecycle_mutex_;  // serialises start() and stop()
  bool started_ = false;        // guarded by lifecycle_mutex_
  bool finished_ = false;       // guarded by lifecycle_mutex_
  std::thread supervisor_;      // guarded by lifecycle_mutex_

  mutable std::mutex mutex_;  // never held while waiting on the process
  std::condition_variable wake_;
  bool stopping_ = false;      // guarded by mutex_
  std::optional<pid_t> pid_;   // guarded by mutex_
  std::atomic<uint64_t> restarts_{0};
};

// Makes every media playlist in output_dir (*.m3u8 except master.m3u8) end
// with #EXT-X-ENDLIST: appended when missing, the file replaced atomically
// (temporary file, fsync, rename). Idempotent. Call only while no ffmpeg
// writes to output_dir. Playlists over kPlaylistBytesMax (stream/playlist.h)
// are not touched. An error names the first playlist that could not be ended;
// the others are still done.
Status end_media_playlists(const std::string& output_dir);

// Replaces the file's contents: a temporary file beside it, fsync, rename. A
// reader sees the old contents or the new, never half of them.
Status replace_file(const std::string& path, std::string_view contents);

}  // namespace hawker::stream
