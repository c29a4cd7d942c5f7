// The HLS ABR ladder: which renditions one live show is encoded into, and the
// ffmpeg command line that encodes them. Pure functions; no I/O.
//
// One ffmpeg reads the seller's stream and writes, into one output directory:
//   master.m3u8                  the master playlist (written by ffmpeg; BANDWIDTH,
//                                RESOLUTION and CODECS for every rendition)
//   <name>.m3u8                  one EVENT media playlist per rendition: every
//                                segment stays listed, so the show can be replayed
//   <name>_00000.ts, ...         MPEG-TS segments of at most segment_seconds
//
// Invariants of the command: every rendition has an IDR frame exactly every
// segment_seconds of media time (force_key_frames on time, no scene-cut
// keyframes), so segments line up across renditions and each one starts
// independently; the video bitrate is bounded by maxrate over a VBV buffer of
// kVbvSeconds; the audio is AAC stereo 48 kHz, the same in every rendition.
//
// The input must carry video AND audio in input 0 (0:v:0 and 0:a:0). ffmpeg's
// var_stream_map pairs each video with an audio stream, and a `0:a?` mapping
// does not help: with no audio stream the HLS muxer refuses to start ("Unable
// to map stream at a:0"). A test source therefore builds both in one lavfi
// graph: `-f lavfi -i "testsrc2=...[out0];sine=...[out1]"`.
//
// Thread-safety: plain values and functions; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace hawker::stream {

struct Rendition {
  std::string name;  // the playlist and segment prefix: [A-Za-z0-9_-]+, e.g. "720p"
  int width = 0;     // pixels, even (yuv420p)
  int height = 0;
  int video_kbps = 0;    // the target bitrate (-b:v)
  int maxrate_kbps = 0;  // the bound on the bitrate (-maxrate); >= video_kbps
};

// 720p 1280x720, 480p 852x480, 360p 640x360, 240p 424x240, best first.
std::vector<Rendition> default_renditions();

struct LadderOptions {
  std::vector<Rendition> renditions = default_renditions();
  int segment_seconds = 2;  // HLS segment length and keyframe interval
  int audio_kbps = 96;
  std::string preset = "veryfast";  // x264 preset
  int threads = 0;                  // encoder threads; 0: ffmpeg decides
};

// Limits on the options (bounded everything: a ladder from a config file
// cannot ask for a thousand renditions or hour-long segments).
inline constexpr size_t kRenditionsMax = 8;
inline constexpr int kSegmentSecondsMax = 10;
inline constexpr int kDimensionMax = 3840;
inline constexpr int kVideoKbpsMax = 50'000;
inline constexpr int kAudioKbpsMin = 32;
inline constexpr int kAudioKbpsMax = 320;
inline constexpr int kThreadsMax = 64;
// The VBV buffer (-bufsize) holds this many seconds at maxrate: any window of a
// second or more stays close to maxrate.
inline constexpr int kVbvSeconds = 1;
// -g is a backstop only (keyframes come from force_key_frames on time, as the
// input's frame rate is not known here): segment_seconds at this frame rate, so
// x264 never adds a keyframe of its own below it. -keyint_min gets the same
// value; x264 clamps it to half of -g, and it only governs scene cuts, which
// are off (-sc_threshold 0).
inline constexpr int kFrameRateMax = 60;

inline constexpr const char* kMasterPlaylistName = "master.m3u8";

// Ok when ladder_arguments may be called with these options and output_dir;
// otherwise kInvalid saying which value is wrong.
Status validate_ladder(const LadderOptions& options, const std::string& output_dir);

// The full ffmpeg argv (argv[0] = "ffmpeg") that encodes `input_arguments`
// (spliced in as given, e.g. {"-rw_timeout", "10000000", "-i", "rtmp://..."})
// into the ladder under output_dir. `resume` is for a restart after ffmpeg died
// mid-show (or hawker restarted): hls_flags append_list makes ffmpeg read the
// existing media playlists and append to them. Old segments stay listed with
// their PROGRAM-DATE-TIMEs, numbering continues after the last listed segment,
// an old #EXT-X-ENDLIST is dropped, and #EXT-X-DISCONTINUITY marks the break
// before the first new segment. (Not discont_start: that flag puts an
// #EXT-X-DISCONTINUITY before the FIRST segment of the playlist, in the header,
// and a second one on later resumes; append_list alone marks the break.)
// Requires validate_ladder(options, output_dir) to be ok.
std::vector<std::string> ladder_arguments(const std::vector<std::string>& input_arguments,
                                          const std::string& output_dir, const LadderOptions& options,
                                          bool resume);

}  // namespace hawker::stream
