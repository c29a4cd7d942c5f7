#include "stream/transcoder.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "core/log.h"
#include "core/thread_name.h"
#include "stream/playlist.h"
#include "stream/process.h"

namespace hawker::stream {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kEndList = "#EXT-X-ENDLIST";
constexpr std::string_view kTemporarySuffix = ".tmp";

bool is_media_playlist(const fs::directory_entry& entry) {
  std::error_code error;
  if (!entry.is_regular_file(error)) return false;
  const fs::path& path = entry.path();
  return path.extension() == ".m3u8" && path.filename() != kMasterPlaylistName;
}

// Sorted, so errors and logs come out in a stable order.
std::vector<fs::path> media_playlists(const std::string& output_dir) {
  std::vector<fs::path> playlists;
  std::error_code error;
  for (fs::directory_iterator it(output_dir, error), end; !error && it != end; it.increment(error)) {
    if (is_media_playlist(*it)) playlists.push_back(it->path());
  }
  std::sort(playlists.begin(), playlists.end());
  return playlists;
}

// ffmpeg writes segments and playlists as <name>.tmp and renames them when
// complete (hls_flags temp_file); a killed ffmpeg leaves its last one behind.
void remove_temporary_files(const std::string& output_dir) {
  std::vector<fs::path> leftovers;
  std::error_code error;
  for (fs::directory_iterator it(output_dir, error), end; !error && it != end; it.increment(error)) {
    if (it->path().extension() == kTemporarySuffix) leftovers.push_back(it->path());
  }
  for (const auto& path : leftovers) {
    std::error_code ignored;
    fs::remove(path, ignored);
  }
}

Result<std::string> read_file(const fs::path& path) {
  std::error_code error;
  const uintmax_t size = fs::file_size(path, error);
  if (error) return make_error(ErrorCode::kIo, path.string() + ": " + error.message());
  if (size > kPlaylistBytesMax) return make_error(ErrorCode::kIo, path.string() + ": larger than kPlaylistBytesMax");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, path.string() + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::kIo, path.string() + ": read failed");
  return std::move(text).str();
}

}  // namespace

Status replace_file(const std::string& path, std::string_view contents) {
  // Not "<name>.tmp": that is ffmpeg's own temporary name for the same file.
  const std::string temporary = path + ".replace.tmp";
  auto failed = [&](const char* what) {
    const std::string message = temporary + ": " + what + ": " + std::strerror(errno);
    unlink(temporary.c_str());
    return make_error(ErrorCode::kIo, message);
  };
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return failed("open");
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return failed("write");
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    close(fd);
    return failed("fsync");
  }
  if (close(fd) != 0) return failed("close");
  if (rename(temporary.c_str(), path.c_str()) != 0) return failed("rename");
  return ok_status();
}

namespace {

bool ends_with_endlist(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  const size_t line_start = text.rfind('\n');
  const std::string_view last_line = line_start == std::string_view::npos ? text : text.substr(line_start + 1);
  return last_line == kEndList;
}

Status end_media_playlist(const fs::path& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  if (!text->starts_with("#EXTM3U")) return make_error(ErrorCode::kIo, path.string() + ": not an M3U8 playlist");
  if (ends_with_endlist(*text)) return ok_status();
  std::string ended = std::move(*text);
  if (!ended.empty() && ended.back() != '\n') ended += '\n';
  ended += kEndList;
  ended += '\n';
  return replace_file(path.string(), ended);
}

}  // namespace

Status end_media_playlists(const std::string& output_dir) {
  Status first_error;
  for (const auto& path : media_playlists(output_dir)) {
    auto status = end_media_playlist(path);
    if (!status && first_error.ok()) first_error = status;
  }
  return first_error;
}

Transcoder::Transcoder(TranscoderOptions options) : options_(std::move(options)) {}

Transcoder::~Transcoder() { stop(); }

Status Transcoder::start() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (started_) return make_error(ErrorCode::kInvalid, "transcoder: already started");
  if (auto status = validate_ladder(options_.ladder, options_.output_dir); !status) return status;
  if (options_.input_arguments.empty()) return make_error(ErrorCode::kInvalid, "transcoder: no input arguments");
  if (options_.restart_backoff_ms < 1 || options_.restart_backoff_max_ms < options_.restart_backoff_ms ||
      options_.restart_backoff_max_ms > kRestartBackoffMaxMs)
    return make_error(ErrorCode::kInvalid, "transcoder: need 1 <= restart_backoff_ms <= restart_backoff_max_ms <= " +
                                               std::to_string(kRestartBackoffMaxMs));
  auto ffmpeg = find_executable(options_.ffmpeg, "ffmpeg");
  if (!ffmpeg) return ffmpeg.error();
  std::error_code error;
  fs::create_directories(options_.output_dir, error);
  if (error)
    return make_error(ErrorCode::kIo, "transcoder: cannot create " + options_.output_dir + ": " + error.message());
  ffmpeg_path_ = std::move(*ffmpeg);
  started_ = true;
  supervisor_ = std::thread([this] { supervise(); });
  return ok_status();
}

void Transcoder::stop() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (!started_ || finished_) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  supervisor_.join();  // the supervisor stops ffmpeg: bounded by kStopGraceMs plus the SIGKILL wait
  remove_temporary_files(options_.output_dir);
  end_playlists(options_.output_dir);
  finished_ = true;
}

void Transcoder::end_playlists(const std::string& output_dir) {
  if (auto status = end_media_playlists(output_dir); !status)
    log_warn("stream.playlists_not_ended", {{"output", output_dir}, {"error", status.error().message}});
}

bool Transcoder::running() const {
  std::lock_guard lock(mutex_);
  return pid_.has_value();
}

std::optional<pid_t> Transcoder::pid() const {
  std::lock_guard lock(mutex_);
  return pid_;
}

void Transcoder::set_pid(std::optional<pid_t> pid) {
  std::lock_guard lock(mutex_);
  pid_ = pid;
}

bool Transcoder::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

bool Transcoder::wait_for_exit_or_stop(ChildProcess& child) {
  while (child.running()) {
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, std::chrono::milliseconds(kPollIntervalMs), [this] { return stopping_; })) return true;
  }
  return false;
}

bool Transcoder::sleep_unless_stopping(int duration_ms) {
  std::unique_lock lock(mutex_);
  return wake_.wait_for(lock, std::chrono::milliseconds(duration_ms), [this] { return stopping_; });
}

void Transcoder::supervise() {
  set_thread_name("ffmpeg-super");
  int backoff_ms = options_.restart_backoff_ms;
  // Runs for the life of the show: each pass spawns one ffmpeg and ends with
  // stop() or with the backoff before the next one.
  while (!stopping()) {
    // Resume whenever there is something to resume: after a crash, and when
    // hawker itself restarted mid-show. Not otherwise: append_list with no
    // playlist to append to puts an #EXT-X-DISCONTINUITY before segment 0.
    const bool resume = !media_playlists(options_.output_dir).empty();
    auto argv = ladder_arguments(options_.input_arguments, options_.output_dir, options_.ladder, resume);
    argv[0] = ffmpeg_path_;
    const auto started_at = Clock::now();
    auto child = ChildProcess::spawn(ProcessSpec{std::move(argv), options_.log_path, options_.nice});
    std::string status;
    if (child) {
      const pid_t pid = (*child)->pid();
      set_pid(pid);
      log_info("stream.ffmpeg_started", {{"pid", pid}, {"output", options_.output_dir}, {"resume", resume}});
      const bool stop_requested = wait_for_exit_or_stop(**child);
      if (stop_requested) (*child)->terminate(SIGINT, kStopGraceMs);
      set_pid(std::nullopt);
      const auto wait_status = (*child)->wait_status();
      status = wait_status ? describe_wait_status(*wait_status) : "unknown";
      if (stop_requested) {
        log_info("stream.ffmpeg_stopped", {{"pid", pid}, {"status", status}, {"output", options_.output_dir}});
        return;
      }
    } else {
      status = "spawn failed: " + child.error().message;
    }
    const auto ran_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_at).count();
    if (ran_ms >= kHealthyRunMs) backoff_ms = options_.restart_backoff_ms;
    const uint64_t restarts = restarts_.fetch_add(1, std::memory_order_relaxed) + 1;
    log_warn("stream.ffmpeg_exited", {{"status", status},
                                      {"restarts", restarts},
                                      {"ran_ms", ran_ms},
                                      {"backoff_ms", backoff_ms},
                                      {"output", options_.output_dir}});
    if (sleep_unless_stopping(backoff_ms)) break;
    backoff_ms = std::min(backoff_ms * 2, options_.restart_backoff_max_ms);
  }
  log_info("stream.ffmpeg_stopped", {{"output", options_.output_dir}});
}

}  // namespace hawker::stream
