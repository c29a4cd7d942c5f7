// Proves the ffmpeg command of the ABR ladder (stream/ladder.h): the default
// ladder is 720p/480p/360p/240p at the right sizes; each rendition is scaled
// from input 0's video with square pixels and paired with input 0's audio;
// bitrates are bounded (maxrate, bufsize); keyframes fall on segment
// boundaries (force_key_frames on time, no scene cuts, -g backstop); the HLS
// output is an EVENT playlist per rendition plus master.m3u8 in output_dir;
// append_list appears only when resuming (discont_start never); the input arguments are
// spliced in unchanged; and validate_ladder refuses options ffmpeg would
// misread or that break the bounds.
#include "stream/ladder.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

namespace hawker::stream {
namespace {

const std::vector<std::string> kRtmpInput{"-rw_timeout", "10000000", "-i", "rtmp://127.0.0.1:1935/live/shw_42"};
const std::string kOutputDir = "/data/hls/shw_42";

// The argument after the first `flag`; "" when absent.
std::string value_after(const std::vector<std::string>& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  if (it == argv.end() || it + 1 == argv.end()) return "";
  return *(it + 1);
}

int count(const std::vector<std::string>& argv, const std::string& argument) {
  return static_cast<int>(std::count(argv.begin(), argv.end(), argument));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Ladder, DefaultRenditionsAreFourSizesBestFirst) {
  const auto renditions = default_renditions();
  ASSERT_EQ(renditions.size(), 4u);
  const std::vector<std::tuple<std::string, int, int>> expected{
      {"720p", 1280, 720}, {"480p", 852, 480}, {"360p", 640, 360}, {"240p", 424, 240}};
  for (size_t i = 0; i < renditions.size(); ++i) {
    EXPECT_EQ(renditions[i].name, std::get<0>(expected[i]));
    EXPECT_EQ(renditions[i].width, std::get<1>(expected[i]));
    EXPECT_EQ(renditions[i].height, std::get<2>(expected[i]));
    EXPECT_GT(renditions[i].video_kbps, 0);
    EXPECT_GE(renditions[i].maxrate_kbps, renditions[i].video_kbps);
    if (i > 0) {
      EXPECT_LT(renditions[i].video_kbps, renditions[i - 1].video_kbps);
    }
  }
  EXPECT_TRUE(validate_ladder(LadderOptions{}, kOutputDir).ok());
}

TEST(Ladder, StartsWithFfmpegAndSplicesTheInputUnchanged) {
  const auto argv = ladder_arguments(kRtmpInput, kOutputDir, LadderOptions{}, false);
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv[0], "ffmpeg");
  auto input = std::search(argv.begin(), argv.end(), kRtmpInput.begin(), kRtmpInput.end());
  ASSERT_NE(input, argv.end());
  // Input options come before everything that applies to the output.
  auto filter = std::find(argv.begin(), argv.end(), "-filter_complex");
  ASSERT_NE(filter, argv.end());
  EXPECT_LT(input, filter);
  EXPECT_EQ(count(argv, "-i"), 1);
  EXPECT_EQ(count(argv, "-nostdin"), 1);  // ffmpeg must never wait on a terminal

  const std::vector<std::string> lavfi{"-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25[out0];sine[out1]"};
  const auto test_argv = ladder_arguments(lavfi, kOutputDir, LadderOptions{}, false);
  EXPECT_NE(std::search(test_argv.begin(), test_argv.end(), lavfi.begin(), lavfi.end()), test_argv.end());
}

TEST(Ladder, FitsEveryRenditionFromInputVideoWithSquarePixelsNeverStretching) {
  const auto argv = ladder_arguments(kRtmpInput, kOutputDir, LadderOptions{}, false);
  const std::string graph = value_after(argv, "-filter_complex");
  EXPECT_TRUE(graph.starts_with("[0:v:0]split=4[s0][s1][s2][s3];")) << graph;
  // Fitted inside W:H keeping the aspect ratio, centred on black: a portrait
  // stream is pillarboxed, never stretched.
  auto fitted = [](int i, const std::string& size) {
    const std::string index = std::to_string(i);
    return "[s" + index + "]scale=" + size + ":force_original_aspect_ratio=decrease:force_divisible_by=2,pad=" + size +
           ":(ow-iw)/2:(oh-ih)/2:black,setsar=1[v" + index + "]";
  };
  EXPECT_TRUE(contains(graph, fitted(0, "1280:720"))) << graph;
  EXPECT_TRUE(contains(graph, fitted(1, "852:480"))) << graph;
  EXPECT_TRUE(contains(graph, fitted(2, "640:360"))) << graph;
  EXPECT_TRUE(contains(graph, fitted(3, "424:240"))) << graph;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(count(argv, "[v" + std::to_string(i) + "]"), 1) << i;
  EXPECT_EQ(count(argv, "0:a:0"), 4);  // one audio copy per rendition: var_stream_map pairs them
  EXPECT_EQ(value_after(argv, "-var_stream_map"),
            "v:0,a:0,name:720p v:1,a:1,name:480p v:2,a:2,name:360p v:3,a:3,name:240p");
}

TEST(Ladder, EncodesMainProfileH264WithBoundedBitrateAndStereoAac) {
  const auto argv = ladder_arguments(kRtmpInput, kOutputDir, LadderOptions{}, false);
  EXPECT_EQ(value_after(argv, "-c:v"), "libx264");
  EXPECT_EQ(value_after(argv, "-preset"), "veryfast");
  EXPECT_EQ(value_after(argv, "-tune"), "zerolatency");
  EXPECT_EQ(value_after(argv, "-profile:v"), "main");
  EXPECT_EQ(value_after(argv, "-pix_fmt"), "yuv420p");
  const auto renditions = default_renditions();
  for (size_t i = 0; i < renditions.size(); ++i) {
    const std::string stream = ":v:" + std::to_string(i);
    EXPECT_EQ(value_after(argv, "-b" + stream), std::to_string(renditions[i].video_kbps) + "k");
    EXPECT_EQ(value_after(argv, "-maxrate" + stream), std::to_string(renditions[i].maxrate_kbps) + "k");
    EXPECT_EQ(value_after(argv, "-bufsize" + stream),
              std::to_string(renditions[i].maxrate_kbps * kVbvSeconds) + "k");
  }
  EXPECT_EQ(value_after(argv, "-c:a"), "aac");
  EXPECT_EQ(value_after(argv, "-b:a"), "96k");
  EXPECT_EQ(value_after(argv, "-ac"), "2");
  EXPECT_EQ(count(argv, "-threads"), 0);  // 0: ffmpeg decides

  LadderOptions options;
  options.preset = "superfast";
  options.threads = 2;
  options.audio_kbps = 128;
  const auto tuned = ladder_arguments(kRtmpInput, kOutputDir, options, false);
  EXPECT_EQ(value_after(tuned, "-preset"), "superfast");
  EXPECT_EQ(value_after(tuned, "-threads"), "2");
  EXPECT_EQ(value_after(tuned, "-b:a"), "128k");
}

TEST(Ladder, KeyframesFallOnSegmentBoundaries) {
  const auto argv = ladder_arguments(kRtmpInput, kOutputDir, LadderOptions{}, false);
  EXPECT_EQ(value_after(argv, "-force_key_frames"), "expr:gte(t,n_forced*2)");
  EXPECT_EQ(value_after(argv, "-sc_threshold"), "0");
  EXPECT_EQ(value_after(argv, "-g"), std::to_string(2 * kFrameRateMax));
  EXPECT_EQ(value_after(argv, "-keyint_min"), std::to_string(2 * kFrameRateMax));
  EXPECT_EQ(value_after(argv, "-hls_time"), "2");

  LadderOptions options;
  options.segment_seconds = 4;
  const auto four = ladder_arguments(kRtmpInput, kOutputDir, options, false);
  EXPECT_EQ(value_after(four, "-force_key_frames"), "expr:gte(t,n_forced*4)");
  EXPECT_EQ(value_after(four, "-g"), std::to_string(4 * kFrameRateMax));
  EXPECT_EQ(value_after(four, "-hls_time"), "4");
}

TEST(Ladder, WritesEventPlaylistsAndMasterIntoOutputDir) {
  const auto argv = ladder_arguments(kRtmpInput, kOutputDir, LadderOptions{}, false);
  EXPECT_EQ(value_after(argv, "-f"), "hls");
  EXPECT_EQ(value_after(argv, "-hls_playlist_type"), "event");
  EXPECT_EQ(value_after(argv, "-hls_segment_filename"), kOutputDir + "/%v_%05d.ts");
  EXPECT_EQ(value_after(argv, "-master_pl_name"), "master.m3u8");
  EXPECT_EQ(argv.back(), kOutputDir + "/%v.m3u8");  // the output comes last
}

TEST(Ladder, AppendsToThePlaylistsOnlyWhenResuming) {
  const auto fresh = value_after(ladder_arguments(kRtmpInput, kOutputDir, LadderOptions{}, false), "-hls_flags");
  EXPECT_EQ(fresh, "independent_segments+program_date_time+temp_file");
  const auto resumed = value_after(ladder_arguments(kRtmpInput, kOutputDir, LadderOptions{}, true), "-hls_flags");
  EXPECT_EQ(resumed, "independent_segments+program_date_time+temp_file+append_list");
}

TEST(Ladder, BuildsAnyNumberOfRenditionsWithinTheLimit) {
  LadderOptions options;
  options.renditions = {Rendition{"small", 320, 180, 300, 320}};
  const auto argv = ladder_arguments(kRtmpInput, kOutputDir, options, false);
  EXPECT_EQ(value_after(argv, "-filter_complex"),
            "[0:v:0]split=1[s0];[s0]scale=320:180:force_original_aspect_ratio=decrease:force_divisible_by=2,"
            "pad=320:180:(ow-iw)/2:(oh-ih)/2:black,setsar=1[v0]");
  EXPECT_EQ(value_after(argv, "-var_stream_map"), "v:0,a:0,name:small");
  EXPECT_EQ(count(argv, "0:a:0"), 1);
}

TEST(Ladder, ValidateRefusesWhatFfmpegWouldMisreadOrTheBoundsForbid) {
  auto refused = [](LadderOptions options, const std::string& output_dir = kOutputDir) {
    auto status = validate_ladder(options, output_dir);
    return !status.ok() && status.error().code == ErrorCode::kInvalid;
  };
  auto with_rendition = [](Rendition rendition) {
    LadderOptions options;
    options.renditions.push_back(rendition);
    return options;
  };
  EXPECT_TRUE(refused(LadderOptions{}, ""));
  EXPECT_TRUE(refused(LadderOptions{}, "/data/hls/100%"));
  LadderOptions none;
  none.renditions.clear();
  EXPECT_TRUE(refused(none));
  LadderOptions too_many;
  too_many.renditions.assign(kRenditionsMax + 1, Rendition{"x", 320, 180, 300, 300});
  for (size_t i = 0; i < too_many.renditions.size(); ++i) too_many.renditions[i].name = "r" + std::to_string(i);
  EXPECT_TRUE(refused(too_many));
  EXPECT_TRUE(refused(with_rendition({"720p", 640, 360, 800, 856})));  // the name repeats
  EXPECT_TRUE(refused(with_rendition({"master", 640, 360, 800, 856})));
  EXPECT_TRUE(refused(with_rendition({"a b", 640, 360, 800, 856})));
  EXPECT_TRUE(refused(with_rendition({"a,name:b", 640, 360, 800, 856})));
  EXPECT_TRUE(refused(with_rendition({"", 640, 360, 800, 856})));
  EXPECT_TRUE(refused(with_rendition({"odd", 641, 360, 800, 856})));
  EXPECT_TRUE(refused(with_rendition({"zero", 0, 360, 800, 856})));
  EXPECT_TRUE(refused(with_rendition({"huge", 8192, 4320, 800, 856})));
  EXPECT_TRUE(refused(with_rendition({"slow", 640, 360, 0, 0})));
  EXPECT_TRUE(refused(with_rendition({"capped", 640, 360, 800, 700})));
  LadderOptions options;
  options.segment_seconds = 0;
  EXPECT_TRUE(refused(options));
  options.segment_seconds = kSegmentSecondsMax + 1;
  EXPECT_TRUE(refused(options));
  options = LadderOptions{};
  options.audio_kbps = 0;
  EXPECT_TRUE(refused(options));
  options = LadderOptions{};
  options.preset = "fast -y";
  EXPECT_TRUE(refused(options));
  options = LadderOptions{};
  options.threads = -1;
  EXPECT_TRUE(refused(options));
  EXPECT_TRUE(validate_ladder(with_rendition({"1080p", 1920, 1080, 5000, 5350}), kOutputDir).ok());
}

}  // namespace
}  // namespace hawker::stream
