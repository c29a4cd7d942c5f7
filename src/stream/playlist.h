// HLS media playlists (RFC 8216): parsing what ffmpeg writes, and the two
// rewrites the origin makes before serving one.
//
// ffmpeg's HLS muxer writes one media playlist per rendition (720p.m3u8, ...)
// with an #EXT-X-PROGRAM-DATE-TIME (PDT) on every segment, so each segment
// has a wall-clock interval [pdt, pdt + duration). That lets us pin "product
// moments" (the seller showed a product at time T) to the place in the video
// where they happened: with_dateranges() adds one #EXT-X-DATERANGE tag per
// moment, which players surface as timed metadata.
//
// Everything here is a pure function of its arguments: no I/O, no clock, no
// globals. Inputs are untrusted text (a playlist on disk may be truncated or
// garbage): the parser returns an Error naming the line, never crashes, and
// is bounded by kPlaylistBytesMax. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hawker::stream {

// Larger playlists are refused: 12 hours of 2 s segments is about 2 MiB.
inline constexpr size_t kPlaylistBytesMax = 16 * 1024 * 1024;

struct Segment {
  std::string uri;
  double duration_s = 0;
  // Unix milliseconds of the segment's first sample, from the
  // #EXT-X-PROGRAM-DATE-TIME tag just before it; -1 when it has none.
  int64_t pdt_ms = -1;
  bool discontinuity = false;  // an #EXT-X-DISCONTINUITY precedes it
};

struct MediaPlaylist {
  double target_duration_s = 0;
  uint64_t media_sequence = 0;
  std::vector<Segment> segments;
  bool ended = false;  // #EXT-X-ENDLIST: the show is over, no more segments
};

// Parses a media playlist. The tags of a segment (#EXTINF, PDT,
// #EXT-X-DISCONTINUITY, others ignored) may come in any order before its URI
// line. Errors (kInvalid) say which line: text not starting with #EXTM3U, a
// bad #EXTINF duration, a bad PDT, a URI without #EXTINF, oversized text.
// Accepts LF or CRLF line ends.
Result<MediaPlaylist> parse_media_playlist(std::string_view text);

// Unix ms as a PDT: "2026-11-29T18:56:37.658Z" (always UTC, milliseconds).
std::string format_pdt(int64_t unix_ms);
// Parses "YYYY-MM-DDTHH:MM:SS[.fraction][offset]" where offset is Z, +hhmm,
// +hh:mm, -hh:mm (no offset: UTC); fraction digits beyond milliseconds are
// truncated. False (unix_ms untouched) on anything else.
bool parse_pdt(std::string_view text, int64_t& unix_ms);

// The wall-clock end of the newest segment (its PDT + duration), in unix ms.
// A last segment without PDT is dated from the latest one that has it, adding
// the durations in between. nullopt when no segment has a PDT.
std::optional<int64_t> live_edge_ms(const MediaPlaylist& playlist);

// A product moment: the seller pinned a product during the show.
struct Moment {
  std::string id;
  std::string product_id;  // public id, "prd_..."
  std::string title;
  int64_t start_ms = 0;  // unix ms
};

// The DATERANGE class of product moments.
inline constexpr std::string_view kMomentClass = "com.hawker.showcase";

// Returns `playlist` with one line per moment
//   #EXT-X-DATERANGE:ID="..",CLASS="com.hawker.showcase",START-DATE="..",X-PRODUCT-ID="..",X-TITLE=".."
// placed just before the tags of the first segment that ends after the
// moment's start: with PDTs that increase along the playlist (as ffmpeg
// writes them), the segment whose [pdt, pdt + duration) holds the start, or
// the first segment for a moment before it, or the segment after a gap. A
// moment at or after the end of the last segment, and every moment when no
// segment has a PDT, goes after the last segment (so before #EXT-X-ENDLIST).
// Segments without PDT are dated from their neighbours. Moments at the same
// place keep their order by start, then as given. In quoted values `"`
// becomes `'` and control characters are dropped (RFC 8216 quoted-string).
// Returns the text unchanged when `moments` is empty or the playlist does
// not parse. Linear in the text plus O(m log m) for m moments.
std::string with_dateranges(std::string_view playlist, std::span<const Moment> moments);

// Returns `playlist` ending with "#EXT-X-ENDLIST\n", unchanged if it already
// has that tag (a final newline is added first when missing).
std::string with_endlist(std::string_view playlist);

}  // namespace hawker::stream
