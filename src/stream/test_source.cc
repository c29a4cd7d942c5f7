#include "stream/test_source.h"

#include <unistd.h>

namespace hawker::stream {

namespace {
constexpr const char* kFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
}

std::vector<std::string> test_source_arguments(const std::string& rtmp_url, const TestSourceOptions& options) {
  const std::string size = std::to_string(options.width) + "x" + std::to_string(options.height);
  std::string video = "testsrc2=size=" + size + ":rate=" + std::to_string(options.fps);
  // The clock lets a viewer see the delay: compare it with a watch.
  if (options.clock && access(kFont, R_OK) == 0)
    video += std::string(",drawtext=fontfile=") + kFont +
             ":text='hawker demo %{localtime\\:%T}':fontsize=" + std::to_string(options.height / 12) +
             ":fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=12:x=(w-tw)/2:y=h-th-40";
  return {"ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostdin", "-re",
          "-f", "lavfi", "-i", video,
          "-f", "lavfi", "-i", "sine=frequency=440:beep_factor=4:sample_rate=48000",
          "-c:v", "libx264", "-preset", options.preset, "-tune", "zerolatency", "-pix_fmt", "yuv420p",
          "-g", std::to_string(options.fps * 2), "-b:v", "2500k",
          "-c:a", "aac", "-b:a", "128k", "-ar", "48000",
          "-f", "flv", rtmp_url};
}

}  // namespace hawker::stream
