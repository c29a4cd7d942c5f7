#include "stream/ladder.h"

#include <cassert>
#include <set>

namespace hawker::stream {
namespace {

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status invalid(const std::string& message) { return make_error(ErrorCode::kInvalid, "ladder: " + message); }

Status validate_rendition(const Rendition& rendition) {
  if (!valid_name(rendition.name)) return invalid("rendition name '" + rendition.name + "' is not [A-Za-z0-9_-]{1,32}");
  const std::string which = "rendition " + rendition.name + ": ";
  if (rendition.width <= 0 || rendition.height <= 0 || rendition.width > kDimensionMax ||
      rendition.height > kDimensionMax)
    return invalid(which + "width and height must be in 1.." + std::to_string(kDimensionMax));
  if (rendition.width % 2 != 0 || rendition.height % 2 != 0)
    return invalid(which + "width and height must be even (yuv420p)");
  if (rendition.video_kbps <= 0 || rendition.video_kbps > kVideoKbpsMax)
    return invalid(which + "video_kbps must be in 1.." + std::to_string(kVideoKbpsMax));
  if (rendition.maxrate_kbps < rendition.video_kbps || rendition.maxrate_kbps > kVideoKbpsMax)
    return invalid(which + "maxrate_kbps must be in video_kbps.." + std::to_string(kVideoKbpsMax));
  return ok_status();
}

std::string kbps(int value) { return std::to_string(value) + "k"; }

// [0:v:0]split=N[s0][s1]...;[s0]scale=W:H:...,pad=W:H:...,setsar=1[v0];...
// Each picture is fitted inside its rendition keeping its aspect ratio and
// centred on black (a phone's portrait stream is pillarboxed, never
// stretched); even sizes, as 4:2:0 chroma needs.
std::string filter_graph(const std::vector<Rendition>& renditions) {
  std::string graph = "[0:v:0]split=" + std::to_string(renditions.size());
  for (size_t i = 0; i < renditions.size(); ++i) graph += "[s" + std::to_string(i) + "]";
  for (size_t i = 0; i < renditions.size(); ++i) {
    const auto& rendition = renditions[i];
    const std::string index = std::to_string(i);
    const std::string size = std::to_string(rendition.width) + ":" + std::to_string(rendition.height);
    graph += ";[s" + index + "]scale=" + size + ":force_original_aspect_ratio=decrease:force_divisible_by=2,pad=" +
             size + ":(ow-iw)/2:(oh-ih)/2:black,setsar=1[v" + index + "]";
  }
  return graph;
}

// v:0,a:0,name:720p v:1,a:1,name:480p ...
std::string var_stream_map(const std::vector<Rendition>& renditions) {
  std::string map;
  for (size_t i = 0; i < renditions.size(); ++i) {
    if (i > 0) map += ' ';
    const std::string index = std::to_string(i);
    map += "v:" + index + ",a:" + index + ",name:" + renditions[i].name;
  }
  return map;
}

void append(std::vector<std::string>& argv, std::initializer_list<std::string> arguments) {
  argv.insert(argv.end(), arguments.begin(), arguments.end());
}

}  // namespace

std::vector<Rendition> default_renditions() {
  // maxrate about 7% over the target: the peak stays under the BANDWIDTH ffmpeg
  // declares in the master (target bitrate + audio, times 1.1).
  return {
      Rendition{"720p", 1280, 720, 2800, 2996},
      Rendition{"480p", 852, 480, 1400, 1498},
      Rendition{"360p", 640, 360, 800, 856},
      Rendition{"240p", 424, 240, 400, 428},
  };
}

Status validate_ladder(const LadderOptions& options, const std::string& output_dir) {
  if (options.renditions.empty() || options.renditions.size() > kRenditionsMax)
    return invalid("between 1 and " + std::to_string(kRenditionsMax) + " renditions");
  std::set<std::string> names;
  for (const auto& rendition : options.renditions) {
    if (auto status = validate_rendition(rendition); !status) return status;
    if (!names.insert(rendition.name).second) return invalid("rendition name '" + rendition.name + "' repeats");
    if (rendition.name + ".m3u8" == kMasterPlaylistName) return invalid("a rendition may not be named 'master'");
  }
  if (options.segment_seconds < 1 || options.segment_seconds > kSegmentSecondsMax)
    return invalid("segment_seconds must be in 1.." + std::to_string(kSegmentSecondsMax));
  if (options.audio_kbps < kAudioKbpsMin || options.audio_kbps > kAudioKbpsMax)
    return invalid("audio_kbps must be in " + std::to_string(kAudioKbpsMin) + ".." + std::to_string(kAudioKbpsMax));
  if (!valid_name(options.preset)) return invalid("bad x264 preset '" + options.preset + "'");
  if (options.threads < 0 || options.threads > kThreadsMax)
    return invalid("threads must be in 0.." + std::to_string(kThreadsMax));
  // ffmpeg expands '%' in the output names (%v, %05d): a literal one would be
  // taken for a pattern.
  if (output_dir.empty() || output_dir.find('%') != std::string::npos)
    return invalid("output directory '" + output_dir + "' is empty or holds '%'");
  return ok_status();
}

std::vector<std::string> ladder_arguments(const std::vector<std::string>& input_arguments,
                                          const std::string& output_dir, const LadderOptions& options,
                                          bool resume) {
  assert(validate_ladder(options, output_dir).ok());
  const auto& renditions = options.renditions;
  const std::string segment_seconds = std::to_string(options.segment_seconds);
  const std::string gop_frames = std::to_string(options.segment_seconds * kFrameRateMax);

  std::vector<std::string> argv{"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-y"};
  argv.insert(argv.end(), input_arguments.begin(), input_arguments.end());

  append(argv, {"-filter_complex", filter_graph(renditions)});
  for (size_t i = 0; i < renditions.size(); ++i) append(argv, {"-map", "[v" + std::to_string(i) + "]"});
  for (size_t i = 0; i < renditions.size(); ++i) append(argv, {"-map", "0:a:0"});

  append(argv, {"-c:v", "libx264", "-preset", options.preset, "-tune", "zerolatency", "-profile:v", "main",
                "-pix_fmt", "yuv420p"});
  for (size_t i = 0; i < renditions.size(); ++i) {
    const std::string stream = ":v:" + std::to_string(i);
    const auto& rendition = renditions[i];
    append(argv, {"-b" + stream, kbps(rendition.video_kbps), "-maxrate" + stream, kbps(rendition.maxrate_kbps),
                  "-bufsize" + stream, kbps(rendition.maxrate_kbps * kVbvSeconds)});
  }
  append(argv, {"-force_key_frames", "expr:gte(t,n_forced*" + segment_seconds + ")", "-sc_threshold", "0", "-g",
                gop_frames, "-keyint_min", gop_frames});
  if (options.threads > 0) append(argv, {"-threads", std::to_string(options.threads)});
  append(argv, {"-c:a", "aac", "-b:a", kbps(options.audio_kbps), "-ac", "2", "-ar", "48000"});

  std::string flags = "independent_segments+program_date_time+temp_file";
  if (resume) flags += "+append_list";  // marks the break itself: see ladder.h
  append(argv, {"-f", "hls", "-hls_time", segment_seconds, "-hls_playlist_type", "event", "-hls_flags", flags,
                "-hls_segment_filename", output_dir + "/%v_%05d.ts", "-master_pl_name", kMasterPlaylistName,
                "-var_stream_map", var_stream_map(renditions), output_dir + "/%v.m3u8"});
  return argv;
}

}  // namespace hawker::stream
