// Proves the Transcoder (stream/transcoder.h) with the real ffmpeg, fed by a
// synthetic lavfi source in real time (-re):
//   - it writes master.m3u8 and one EVENT media playlist per rendition, with
//     #EXT-X-PROGRAM-DATE-TIME on every segment and no segment over the
//     segment length (EXTINF <= 2.1 for 2-s segments);
//   - the default ladder really is 1280x720, 852x480, 640x360 and 424x240
//     (the master's RESOLUTION and the encoded segments, via ffprobe);
//   - ffmpeg killed with SIGKILL mid-show is restarted (restarts() == 1) and
//     resumes the playlists: old segments stay listed, numbering continues
//     with no gap or repeat, and one #EXT-X-DISCONTINUITY marks the break;
//   - a Transcoder started on the playlists of an earlier one (hawker
//     restarted mid-show) resumes them the same way;
//   - stop() ends every media playlist with one #EXT-X-ENDLIST, keeps every
//     segment, leaves no temporary file, and is idempotent;
//   - an ffmpeg that keeps failing is restarted with a backoff, not in a loop.
// Also proves end_media_playlists on hand-written files and that start()
// refuses bad options. Every wait is bounded by a deadline. The tests that
// need ffmpeg are skipped, saying so, when it is not installed.
#include "stream/transcoder.h"

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "stream/process.h"

namespace hawker::stream {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kFirstSegmentsTimeoutMs = 15'000;
constexpr int kRestartTimeoutMs = 10'000;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Polls `done` every 50 ms until it holds or timeout_ms passed.
bool wait_until(const std::function<bool()>& done, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// What a test needs to know about a media playlist.
struct PlaylistFacts {
  bool header = false;  // starts with #EXTM3U
  int target_duration = 0;
  std::vector<std::string> segments;
  std::vector<double> durations;
  int program_date_times = 0;
  int discontinuities = 0;
  std::vector<size_t> discontinuity_before;  // indexes of the segments an #EXT-X-DISCONTINUITY precedes
  int endlists = 0;
  bool ends_with_endlist = false;
};

PlaylistFacts parse_playlist_facts(const std::string& text) {
  PlaylistFacts playlist;
  playlist.header = text.starts_with("#EXTM3U");
  std::istringstream lines(text);
  std::string line;
  std::string last;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.starts_with("#EXT-X-TARGETDURATION:")) playlist.target_duration = std::stoi(line.substr(22));
    if (line.starts_with("#EXTINF:")) playlist.durations.push_back(std::stod(line.substr(8)));
    if (line.starts_with("#EXT-X-PROGRAM-DATE-TIME:")) ++playlist.program_date_times;
    if (line == "#EXT-X-DISCONTINUITY") {
      ++playlist.discontinuities;
      playlist.discontinuity_before.push_back(playlist.segments.size());
    }
    if (line == "#EXT-X-ENDLIST") ++playlist.endlists;
    if (line[0] != '#') playlist.segments.push_back(line);
  }
  playlist.ends_with_endlist = last == "#EXT-X-ENDLIST";
  return playlist;
}

PlaylistFacts read_playlist_facts(const fs::path& path) { return parse_playlist_facts(read_text(path)); }

// "<name>_00000.ts", "<name>_00001.ts", ...: numbering from 0 with no gap or repeat.
bool numbered_in_order(const std::string& name, const std::vector<std::string>& segments) {
  for (size_t i = 0; i < segments.size(); ++i) {
    char expected[64];
    std::snprintf(expected, sizeof expected, "%s_%05zu.ts", name.c_str(), i);
    if (segments[i] != expected) return false;
  }
  return true;
}

// The RESOLUTION=WxH of every variant in a master playlist, in order.
std::vector<std::string> master_resolutions(const std::string& text) {
  std::vector<std::string> resolutions;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.starts_with("#EXT-X-STREAM-INF:")) continue;
    const size_t start = line.find("RESOLUTION=");
    if (start == std::string::npos) continue;
    const size_t end = line.find(',', start);
    resolutions.push_back(line.substr(start + 11, end == std::string::npos ? end : end - start - 11));
  }
  return resolutions;
}

// A source like a seller's: 640x360 at 25 fps with a stereo tone, both in
// input 0, paced in real time.
std::vector<std::string> test_source(const std::string& size = "640x360") {
  return {"-re", "-f", "lavfi", "-i",
          "testsrc2=size=" + size + ":rate=25[out0];sine=frequency=440:sample_rate=48000[out1]"};
}

// Two small renditions: cheap enough for a 2-core machine.
LadderOptions small_ladder(int segment_seconds) {
  LadderOptions ladder;
  ladder.renditions = {Rendition{"180p", 320, 180, 300, 320}, Rendition{"90p", 160, 90, 100, 110}};
  ladder.segment_seconds = segment_seconds;
  ladder.threads = 1;
  return ladder;
}

class TranscoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "hawker-transcoder-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    output_dir_ = root_ / "hls" / "shw_1";
    log_path_ = root_ / "ffmpeg.log";
  }

  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "--- %s ---\n%s\n", log_path_.c_str(), read_text(log_path_).c_str());
      for (const auto& name : {"180p.m3u8", "master.m3u8"}) {
        std::fprintf(stderr, "--- %s ---\n%s\n", name, read_text(output_dir_ / name).c_str());
      }
    }
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  void skip_without_ffmpeg() {
    if (!find_executable("ffmpeg").ok()) GTEST_SKIP() << "ffmpeg is not installed (Debian package ffmpeg)";
  }

  TranscoderOptions options(LadderOptions ladder) const {
    TranscoderOptions options;
    options.input_arguments = test_source();
    options.output_dir = output_dir_.string();
    options.ladder = std::move(ladder);
    options.log_path = log_path_.string();
    options.restart_backoff_ms = 100;
    options.restart_backoff_max_ms = 400;
    return options;
  }

  size_t segment_count(const std::string& name) const {
    return read_playlist_facts(output_dir_ / (name + ".m3u8")).segments.size();
  }

  // Waits until every named playlist lists at least `segments` segments.
  bool wait_for_segments(const std::vector<std::string>& names, size_t segments, int timeout_ms) const {
    return wait_until(
        [&] {
          for (const auto& name : names)
            if (segment_count(name) < segments) return false;
          return true;
        },
        timeout_ms);
  }

  fs::path root_;
  fs::path output_dir_;
  fs::path log_path_;
};

TEST_F(TranscoderTest, WritesMasterAndMediaPlaylistsWithShortDatedSegments) {
  skip_without_ffmpeg();
  Transcoder transcoder(options(small_ladder(2)));
  ASSERT_TRUE(transcoder.start().ok());
  ASSERT_TRUE(wait_for_segments({"180p", "90p"}, 2, kFirstSegmentsTimeoutMs));
  EXPECT_TRUE(transcoder.running());
  EXPECT_TRUE(transcoder.pid().has_value());
  EXPECT_EQ(transcoder.restarts(), 0u);

  const std::string master = read_text(output_dir_ / "master.m3u8");
  EXPECT_EQ(master_resolutions(master), (std::vector<std::string>{"320x180", "160x90"})) << master;
  EXPECT_NE(master.find("BANDWIDTH="), std::string::npos);
  EXPECT_NE(master.find("CODECS=\"avc1."), std::string::npos);
  EXPECT_NE(master.find("mp4a.40.2"), std::string::npos);
  EXPECT_NE(master.find("180p.m3u8"), std::string::npos);
  EXPECT_NE(master.find("90p.m3u8"), std::string::npos);

  for (const std::string name : {"180p", "90p"}) {
    const auto playlist = read_playlist_facts(output_dir_ / (name + ".m3u8"));
    EXPECT_TRUE(playlist.header) << name;
    EXPECT_LE(playlist.target_duration, 2) << name;
    EXPECT_EQ(playlist.program_date_times, static_cast<int>(playlist.segments.size())) << name;
    ASSERT_EQ(playlist.durations.size(), playlist.segments.size()) << name;
    for (double duration : playlist.durations) EXPECT_LE(duration, 2.1) << name;
    EXPECT_TRUE(numbered_in_order(name, playlist.segments)) << name;
    for (const auto& segment : playlist.segments) EXPECT_TRUE(fs::exists(output_dir_ / segment)) << segment;
    EXPECT_EQ(playlist.endlists, 0) << name;  // still live
  }
  EXPECT_NE(read_text(output_dir_ / "180p.m3u8").find("#EXT-X-PLAYLIST-TYPE:EVENT"), std::string::npos);
  transcoder.stop();
}

TEST_F(TranscoderTest, DefaultLadderHasFourVariantsAtTheRightSizes) {
  skip_without_ffmpeg();
  Transcoder transcoder(options(LadderOptions{}));
  ASSERT_TRUE(transcoder.start().ok());
  // ffmpeg writes the master after the first segments of the renditions.
  ASSERT_TRUE(wait_until([&] { return master_resolutions(read_text(output_dir_ / "master.m3u8")).size() == 4; },
                         kFirstSegmentsTimeoutMs));
  transcoder.stop();

  const std::string master = read_text(output_dir_ / "master.m3u8");
  EXPECT_EQ(master_resolutions(master), (std::vector<std::string>{"1280x720", "852x480", "640x360", "424x240"}))
      << master;
  // The encoded pictures, not only the master's word: probe each first segment.
  auto ffprobe = find_executable("ffprobe", "ffmpeg");
  ASSERT_TRUE(ffprobe.ok()) << ffprobe.error().message;
  for (const std::string name : {"720p", "480p", "360p", "240p"}) {
    const fs::path probe_log = root_ / ("probe-" + name + ".txt");
    auto probe = ChildProcess::spawn(ProcessSpec{{*ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries",
                                                  "stream=width,height", "-of", "csv=p=0",
                                                  (output_dir_ / (name + "_00000.ts")).string()},
                                                 probe_log.string()});
    ASSERT_TRUE(probe.ok()) << probe.error().message;
    ASSERT_TRUE((*probe)->wait_for(10'000)) << name;
    // "W,H" per line; MPEG-TS lists the stream once more under its program.
    std::istringstream lines(read_text(probe_log));
    std::set<std::string> sizes;
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) sizes.insert(line);
    const std::string expected = name == "720p"   ? "1280,720"
                                 : name == "480p" ? "852,480"
                                 : name == "360p" ? "640,360"
                                                  : "424,240";
    EXPECT_EQ(sizes, std::set<std::string>{expected}) << name;
  }
}

TEST_F(TranscoderTest, RestartsAfterSigkillAndKeepsThePlaylistGrowing) {
  skip_without_ffmpeg();
  Transcoder transcoder(options(small_ladder(1)));
  ASSERT_TRUE(transcoder.start().ok());
  ASSERT_TRUE(wait_for_segments({"180p", "90p"}, 2, kFirstSegmentsTimeoutMs));
  const auto before = read_playlist_facts(output_dir_ / "180p.m3u8");
  const auto first_pid = transcoder.pid();
  ASSERT_TRUE(first_pid.has_value());
  ASSERT_EQ(kill(*first_pid, SIGKILL), 0);

  ASSERT_TRUE(wait_until([&] { return transcoder.restarts() == 1; }, kRestartTimeoutMs));
  ASSERT_TRUE(wait_until([&] { return transcoder.pid().has_value() && transcoder.pid() != first_pid; },
                         kRestartTimeoutMs));
  // The killed ffmpeg may have finished a segment or two after `before`.
  const size_t target = read_playlist_facts(output_dir_ / "180p.m3u8").segments.size() + 2;
  ASSERT_TRUE(wait_for_segments({"180p", "90p"}, target, kRestartTimeoutMs));
  EXPECT_EQ(transcoder.restarts(), 1u);

  const auto after = read_playlist_facts(output_dir_ / "180p.m3u8");
  ASSERT_GE(after.segments.size(), before.segments.size() + 2);
  EXPECT_TRUE(std::equal(before.segments.begin(), before.segments.end(), after.segments.begin()))
      << "the segments listed before the kill are no longer listed first";
  EXPECT_TRUE(numbered_in_order("180p", after.segments));
  // One discontinuity, at the break: after every segment listed before the kill.
  EXPECT_EQ(after.discontinuities, 1);
  ASSERT_EQ(after.discontinuity_before.size(), 1u);
  EXPECT_GE(after.discontinuity_before[0], before.segments.size());
  EXPECT_LT(after.discontinuity_before[0], after.segments.size());
  EXPECT_EQ(after.program_date_times, static_cast<int>(after.segments.size()));
  for (double duration : after.durations) EXPECT_LE(duration, 1.1);
  for (const auto& segment : after.segments) EXPECT_TRUE(fs::exists(output_dir_ / segment)) << segment;
  EXPECT_TRUE(numbered_in_order("90p", read_playlist_facts(output_dir_ / "90p.m3u8").segments));
  transcoder.stop();
  EXPECT_EQ(transcoder.restarts(), 1u);  // a stop is not a restart
}

TEST_F(TranscoderTest, PortraitStreamIsPillarboxedNotStretched) {
  skip_without_ffmpeg();
  TranscoderOptions portrait = options(small_ladder(1));
  portrait.input_arguments = test_source("360x640");  // a phone held upright
  Transcoder transcoder(portrait);
  ASSERT_TRUE(transcoder.start().ok());
  ASSERT_TRUE(wait_for_segments({"180p"}, 1, kFirstSegmentsTimeoutMs));
  transcoder.stop();
  // cropdetect finds the picture inside the black bars: a 9:16 picture fitted
  // into 320x180 is about 101 pixels wide and the full 180 high.
  auto ffmpeg = find_executable("ffmpeg");
  ASSERT_TRUE(ffmpeg.ok()) << ffmpeg.error().message;
  const fs::path detect_log = root_ / "cropdetect.txt";
  auto detect = ChildProcess::spawn(ProcessSpec{{*ffmpeg, "-hide_banner", "-i", (output_dir_ / "180p_00000.ts").string(),
                                                 "-vf", "cropdetect=limit=24:round=2:reset=0", "-frames:v", "20", "-f",
                                                 "null", "-"},
                                                detect_log.string()});
  ASSERT_TRUE(detect.ok()) << detect.error().message;
  ASSERT_TRUE((*detect)->wait_for(20'000));
  const std::string log = read_text(detect_log);
  const size_t at = log.rfind("crop=");
  ASSERT_NE(at, std::string::npos) << log;
  int width = 0, height = 0, x = 0, y = 0;
  ASSERT_EQ(std::sscanf(log.c_str() + at, "crop=%d:%d:%d:%d", &width, &height, &x, &y), 4) << log.substr(at, 40);
  EXPECT_GE(width, 92) << log.substr(at, 40);
  EXPECT_LE(width, 112) << log.substr(at, 40);
  EXPECT_GE(height, 172) << log.substr(at, 40);
  EXPECT_NEAR(x, (320 - width) / 2, 6) << "centred: " << log.substr(at, 40);
}

TEST_F(TranscoderTest, StopEndsEveryPlaylistAndKeepsTheSegments) {
  skip_without_ffmpeg();
  Transcoder transcoder(options(small_ladder(1)));
  ASSERT_TRUE(transcoder.start().ok());
  ASSERT_TRUE(wait_for_segments({"180p", "90p"}, 2, kFirstSegmentsTimeoutMs));
  const auto started = Clock::now();
  transcoder.stop();
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(kStopGraceMs + 2000));
  EXPECT_FALSE(transcoder.running());
  EXPECT_FALSE(transcoder.pid().has_value());
  EXPECT_EQ(transcoder.restarts(), 0u);

  for (const std::string name : {"180p", "90p"}) {
    const auto playlist = read_playlist_facts(output_dir_ / (name + ".m3u8"));
    EXPECT_TRUE(playlist.ends_with_endlist) << name;
    EXPECT_EQ(playlist.endlists, 1) << name;
    EXPECT_GE(playlist.segments.size(), 2u) << name;
    EXPECT_TRUE(numbered_in_order(name, playlist.segments)) << name;
    for (const auto& segment : playlist.segments) EXPECT_TRUE(fs::exists(output_dir_ / segment)) << segment;
  }
  EXPECT_TRUE(fs::exists(output_dir_ / "master.m3u8"));
  for (const auto& entry : fs::directory_iterator(output_dir_))
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();

  const std::string ended = read_text(output_dir_ / "180p.m3u8");
  transcoder.stop();  // idempotent
  EXPECT_EQ(read_text(output_dir_ / "180p.m3u8"), ended);
}

TEST_F(TranscoderTest, ResumesThePlaylistsOfAnEarlierTranscoder) {
  skip_without_ffmpeg();
  size_t first_run_segments = 0;
  {
    Transcoder first(options(small_ladder(1)));
    ASSERT_TRUE(first.start().ok());
    ASSERT_TRUE(wait_for_segments({"180p", "90p"}, 2, kFirstSegmentsTimeoutMs));
    first.stop();
    first_run_segments = segment_count("180p");
  }
  Transcoder second(options(small_ladder(1)));
  ASSERT_TRUE(second.start().ok());
  ASSERT_TRUE(wait_for_segments({"180p", "90p"}, first_run_segments + 2, kFirstSegmentsTimeoutMs));
  const auto live = read_playlist_facts(output_dir_ / "180p.m3u8");
  EXPECT_EQ(live.endlists, 0);  // ffmpeg dropped the old #EXT-X-ENDLIST: the show is live again
  EXPECT_EQ(live.discontinuity_before, std::vector<size_t>{first_run_segments});  // exactly at the break
  second.stop();

  const auto ended = read_playlist_facts(output_dir_ / "180p.m3u8");
  EXPECT_TRUE(numbered_in_order("180p", ended.segments));
  EXPECT_EQ(ended.endlists, 1);
  EXPECT_TRUE(ended.ends_with_endlist);
  EXPECT_EQ(second.restarts(), 0u);
}

TEST_F(TranscoderTest, BacksOffWhenFfmpegKeepsFailing) {
  auto options = this->options(small_ladder(1));
  options.ffmpeg = "/bin/false";  // exits 1 at once, like an ffmpeg refusing its input
  options.restart_backoff_ms = 50;
  options.restart_backoff_max_ms = 200;
  Transcoder transcoder(options);
  ASSERT_TRUE(transcoder.start().ok());
  // Backoffs 50, 100, 200, 200, ...: about 6 restarts in 1.2 s, not hundreds.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const uint64_t restarts = transcoder.restarts();
  EXPECT_GE(restarts, 3u);
  EXPECT_LE(restarts, 10u);
  const auto started = Clock::now();
  transcoder.stop();  // interrupts the backoff at once
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(1000));
  EXPECT_FALSE(transcoder.running());
}

TEST_F(TranscoderTest, StartRefusesBadOptionsAndASecondStart) {
  auto missing = options(small_ladder(1));
  missing.ffmpeg = "hawker-no-such-ffmpeg";
  auto status = Transcoder(missing).start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);

  auto percent = options(small_ladder(1));
  percent.output_dir = (root_ / "100%").string();
  status = Transcoder(percent).start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalid);

  auto no_input = options(small_ladder(1));
  no_input.input_arguments.clear();
  EXPECT_FALSE(Transcoder(no_input).start().ok());

  auto backoff = options(small_ladder(1));
  backoff.restart_backoff_ms = 0;
  EXPECT_FALSE(Transcoder(backoff).start().ok());

  auto twice = options(small_ladder(1));
  twice.ffmpeg = "/bin/false";
  Transcoder transcoder(twice);
  ASSERT_TRUE(transcoder.start().ok());
  EXPECT_TRUE(fs::is_directory(output_dir_));
  status = transcoder.start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalid);
  transcoder.stop();

  Transcoder never_started(options(small_ladder(1)));
  never_started.stop();  // nothing to do
  EXPECT_FALSE(never_started.running());
}

TEST_F(TranscoderTest, EndMediaPlaylistsAppendsEndlistOnlyWhereMissing) {
  fs::create_directories(output_dir_);
  const std::string open_playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000000,\na_00000.ts";  // no final newline
  const std::string ended_playlist = "#EXTM3U\n#EXTINF:2.000000,\nb_00000.ts\n#EXT-X-ENDLIST\n";
  const std::string master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n";
  write_text(output_dir_ / "a.m3u8", open_playlist);
  write_text(output_dir_ / "b.m3u8", ended_playlist);
  write_text(output_dir_ / "master.m3u8", master);
  write_text(output_dir_ / "notes.txt", "not a playlist");

  ASSERT_TRUE(end_media_playlists(output_dir_.string()).ok());
  EXPECT_EQ(read_text(output_dir_ / "a.m3u8"), open_playlist + "\n#EXT-X-ENDLIST\n");
  EXPECT_EQ(read_text(output_dir_ / "b.m3u8"), ended_playlist);
  EXPECT_EQ(read_text(output_dir_ / "master.m3u8"), master);
  EXPECT_EQ(read_text(output_dir_ / "notes.txt"), "not a playlist");

  ASSERT_TRUE(end_media_playlists(output_dir_.string()).ok());  // idempotent
  EXPECT_EQ(read_text(output_dir_ / "a.m3u8"), open_playlist + "\n#EXT-X-ENDLIST\n");

  // A broken playlist is reported, and the others are still ended.
  write_text(output_dir_ / "a.m3u8", "garbage");
  write_text(output_dir_ / "c.m3u8", open_playlist + "\n");
  auto status = end_media_playlists(output_dir_.string());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("a.m3u8"), std::string::npos) << status.error().message;
  EXPECT_EQ(read_text(output_dir_ / "c.m3u8"), open_playlist + "\n#EXT-X-ENDLIST\n");
  for (const auto& entry : fs::directory_iterator(output_dir_))
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
}

}  // namespace
}  // namespace hawker::stream
