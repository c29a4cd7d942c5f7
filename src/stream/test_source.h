// The synthetic seller: ffmpeg publishing a test pattern with a visible
// wall clock and a tone over RTMP, in real time. The demo's live show, the
// streaming tests and the streaming benchmarks all use it, so what a new
// user sees is what is tested and measured.
#pragma once

#include <string>
#include <vector>

namespace hawker::stream {

struct TestSourceOptions {
  int width = 1280;
  int height = 720;
  int fps = 30;
  bool clock = true;  // burn the wall clock into the picture (needs fonts-dejavu-core)
  std::string preset = "veryfast";
};

// The ffmpeg argv (argv[0] = "ffmpeg") publishing to `rtmp_url`.
std::vector<std::string> test_source_arguments(const std::string& rtmp_url, const TestSourceOptions& options);

}  // namespace hawker::stream
