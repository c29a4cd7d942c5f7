#include "stream/playlist.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace hawker::stream {
namespace {

// More segments than any show has (110 hours of 2 s segments): bounds the
// memory a hostile playlist of tiny lines can make us allocate.
constexpr size_t kSegmentsMax = 200'000;
// Longer #EXTINF or #EXT-X-TARGETDURATION values are garbage (and would
// overflow the millisecond arithmetic).
constexpr double kDurationMax_s = 86'400;
constexpr int64_t kMsPerDay = 86'400'000;

constexpr std::string_view kEndList = "#EXT-X-ENDLIST";

// Tags that describe the whole playlist rather than the segment after them:
// they never start a segment's block of tags.
constexpr std::string_view kPlaylistTags[] = {
    "#EXTM3U",
    "#EXT-X-VERSION",
    "#EXT-X-TARGETDURATION",
    "#EXT-X-MEDIA-SEQUENCE",
    "#EXT-X-DISCONTINUITY-SEQUENCE",
    "#EXT-X-PLAYLIST-TYPE",
    "#EXT-X-I-FRAMES-ONLY",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    "#EXT-X-START",
    "#EXT-X-ENDLIST",
    "#EXT-X-ALLOW-CACHE",
    "#EXT-X-SERVER-CONTROL",
    "#EXT-X-PART-INF",
    "#EXT-X-DEFINE",
};

bool is_playlist_tag(std::string_view name) {
  return std::find(std::begin(kPlaylistTags), std::end(kPlaylistTags), name) != std::end(kPlaylistTags);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// One line of a playlist: its trimmed content and where it sits in the text
// (`end` is past its '\n').
struct Line {
  std::string_view content;
  size_t begin = 0;
  size_t end = 0;
};

class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  bool next(Line& line) {
    if (position_ >= text_.size()) return false;
    size_t newline = text_.find('\n', position_);
    size_t stop = newline == std::string_view::npos ? text_.size() : newline;
    line.begin = position_;
    line.end = newline == std::string_view::npos ? text_.size() : newline + 1;
    line.content = trim(text_.substr(position_, stop - position_));
    position_ = line.end;
    ++number_;
    return true;
  }
  size_t number() const { return number_; }

 private:
  std::string_view text_;
  size_t position_ = 0;
  size_t number_ = 0;
};

// "\r\n" when the first line ends so, else "\n": inserted lines match.
std::string_view line_end_of(std::string_view text) {
  size_t newline = text.find('\n');
  return newline != std::string_view::npos && newline > 0 && text[newline - 1] == '\r' ? "\r\n" : "\n";
}

bool parse_duration(std::string_view text, double& seconds) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (error != std::errc() || end != text.data() + text.size()) return false;
  if (!std::isfinite(value) || value < 0 || value > kDurationMax_s) return false;
  seconds = value;
  return true;
}

bool parse_u64(std::string_view text, uint64_t& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

Error line_error(size_t line, std::string_view what) {
  return make_error(ErrorCode::kInvalid, "playlist line " + std::to_string(line) + ": " + std::string(what));
}

// Where a segment's lines sit in the text: its first segment tag, and the
// end of its URI line.
struct SegmentSpan {
  size_t tags_begin = 0;
  size_t uri_end = 0;
};

// Where things sit in the text, for with_dateranges.
struct Layout {
  std::vector<SegmentSpan> spans;  // one per segment
  size_t endlist_begin = std::string_view::npos;
};

// The parser behind parse_media_playlist and with_dateranges; fills `layout`
// when not null.
Result<MediaPlaylist> parse(std::string_view text, Layout* layout) {
  if (text.size() > kPlaylistBytesMax) return make_error(ErrorCode::kInvalid, "playlist over the size limit");
  LineReader reader(text);
  Line line;
  if (!reader.next(line) || line.content != "#EXTM3U")
    return make_error(ErrorCode::kInvalid, "playlist does not start with #EXTM3U");
  MediaPlaylist playlist;
  Segment pending;
  bool have_extinf = false;
  size_t extinf_line = 0;
  size_t tags_begin = std::string_view::npos;
  while (reader.next(line)) {
    std::string_view content = line.content;
    if (content.empty()) continue;
    if (content.front() != '#') {
      if (!have_extinf) return line_error(reader.number(), "segment URI without #EXTINF");
      if (playlist.segments.size() >= kSegmentsMax) return line_error(reader.number(), "too many segments");
      pending.uri = std::string(content);
      playlist.segments.push_back(std::move(pending));
      assert(tags_begin != std::string_view::npos);  // the #EXTINF line at least
      if (layout) layout->spans.push_back(SegmentSpan{tags_begin, line.end});
      pending = Segment{};
      have_extinf = false;
      tags_begin = std::string_view::npos;
      continue;
    }
    size_t colon = content.find(':');
    std::string_view name = content.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : content.substr(colon + 1);
    if (is_playlist_tag(name)) {
      if (name == "#EXT-X-TARGETDURATION" && !parse_duration(value, playlist.target_duration_s))
        return line_error(reader.number(), "bad #EXT-X-TARGETDURATION");
      if (name == "#EXT-X-MEDIA-SEQUENCE" && !parse_u64(value, playlist.media_sequence))
        return line_error(reader.number(), "bad #EXT-X-MEDIA-SEQUENCE");
      if (name == kEndList && !playlist.ended) {
        playlist.ended = true;
        if (layout) layout->endlist_begin = line.begin;
      }
      continue;
    }
    // A segment tag, an unknown tag or a comment: part of the next segment.
    if (tags_begin == std::string_view::npos) tags_begin = line.begin;
    if (name == "#EXTINF") {
      std::string_view duration = value.substr(0, value.find(','));
      if (!parse_duration(duration, pending.duration_s)) return line_error(reader.number(), "bad #EXTINF duration");
      have_extinf = true;
      extinf_line = reader.number();
    } else if (name == "#EXT-X-PROGRAM-DATE-TIME") {
      if (!parse_pdt(value, pending.pdt_ms)) return line_error(reader.number(), "bad #EXT-X-PROGRAM-DATE-TIME");
    } else if (name == "#EXT-X-DISCONTINUITY") {
      pending.discontinuity = true;
    }
  }
  if (have_extinf) return line_error(extinf_line, "#EXTINF without a segment URI");
  return playlist;
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
int64_t days_from_civil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

void civil_from_days(int64_t days, int64_t& year, int64_t& month, int64_t& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t shifted_month = (5 * day_of_year + 2) / 153;
  day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  year = year_of_era + era * 400 + (month <= 2);
}

bool is_leap(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int64_t days_in_month(int64_t year, int64_t month) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

// Reads exactly `count` digits at `position`.
bool read_digits(std::string_view text, size_t& position, size_t count, int64_t& value) {
  if (text.size() - position < count) return false;
  value = 0;
  for (size_t i = 0; i < count; ++i) {
    char c = text[position + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  position += count;
  return true;
}

bool expect(std::string_view text, size_t& position, char wanted) {
  if (position >= text.size() || text[position] != wanted) return false;
  ++position;
  return true;
}

// Parses the offset after the time: "", Z, +hh, +hhmm, +hh:mm (or -).
bool parse_offset(std::string_view text, size_t position, int64_t& offset_ms) {
  offset_ms = 0;
  if (position == text.size()) return true;
  char sign = text[position++];
  if (sign == 'Z' || sign == 'z') return position == text.size();
  if (sign != '+' && sign != '-') return false;
  int64_t hours = 0, minutes = 0;
  if (!read_digits(text, position, 2, hours)) return false;
  if (position < text.size()) {
    if (text[position] == ':') ++position;
    if (!read_digits(text, position, 2, minutes)) return false;
  }
  if (position != text.size() || hours > 23 || minutes > 59) return false;
  offset_ms = (hours * 60 + minutes) * 60'000 * (sign == '-' ? -1 : 1);
  return true;
}

void append_quoted_value(std::string& out, std::string_view value) {
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"') {
      out.push_back('\'');
    } else if (byte >= 0x20 && byte != 0x7F) {
      out.push_back(c);
    }  // control characters (CR, LF, tab, ...) are dropped
  }
}

void append_daterange(std::string& out, const Moment& moment, std::string_view line_end) {
  out += "#EXT-X-DATERANGE:ID=\"";
  append_quoted_value(out, moment.id);
  out += "\",CLASS=\"";
  out += kMomentClass;
  out += "\",START-DATE=\"";
  out += format_pdt(moment.start_ms);
  out += "\",X-PRODUCT-ID=\"";
  append_quoted_value(out, moment.product_id);
  out += "\",X-TITLE=\"";
  append_quoted_value(out, moment.title);
  out += '"';
  out += line_end;
}

// The wall-clock end (ms) of every segment: from its own PDT, else carried
// forward from the segment before, else back from the first dated segment.
// Empty when no segment has a PDT.
std::vector<double> segment_ends_ms(const MediaPlaylist& playlist) {
  const auto& segments = playlist.segments;
  auto first_dated = std::find_if(segments.begin(), segments.end(), [](const Segment& s) { return s.pdt_ms != -1; });
  if (first_dated == segments.end()) return {};
  std::vector<double> ends(segments.size());
  const size_t first = static_cast<size_t>(first_dated - segments.begin());
  double start = static_cast<double>(first_dated->pdt_ms);
  for (size_t i = first; i-- > 0;) {
    ends[i] = start;
    start -= segments[i].duration_s * 1000;
  }
  double cursor = 0;
  for (size_t i = first; i < segments.size(); ++i) {
    double begin = segments[i].pdt_ms != -1 ? static_cast<double>(segments[i].pdt_ms) : cursor;
    cursor = begin + segments[i].duration_s * 1000;
    ends[i] = cursor;
  }
  return ends;
}

}  // namespace

Result<MediaPlaylist> parse_media_playlist(std::string_view text) { return parse(text, nullptr); }

std::string format_pdt(int64_t unix_ms) {
  // Floor division, so times before 1970 still print a valid clock time.
  int64_t days = unix_ms / kMsPerDay;
  int64_t ms_of_day = unix_ms % kMsPerDay;
  if (ms_of_day < 0) {
    ms_of_day += kMsPerDay;
    --days;
  }
  int64_t year = 0, month = 0, day = 0;
  civil_from_days(days, year, month, day);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(year), static_cast<long long>(month), static_cast<long long>(day),
                static_cast<long long>(ms_of_day / 3'600'000), static_cast<long long>(ms_of_day / 60'000 % 60),
                static_cast<long long>(ms_of_day / 1000 % 60), static_cast<long long>(ms_of_day % 1000));
  return buffer;
}

bool parse_pdt(std::string_view text, int64_t& unix_ms) {
  text = trim(text);
  size_t position = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, position, 4, year) || !expect(text, position, '-') || !read_digits(text, position, 2, month) ||
      !expect(text, position, '-') || !read_digits(text, position, 2, day))
    return false;
  if (position >= text.size() || (text[position] != 'T' && text[position] != 't')) return false;
  ++position;
  if (!read_digits(text, position, 2, hour) || !expect(text, position, ':') ||
      !read_digits(text, position, 2, minute) || !expect(text, position, ':') ||
      !read_digits(text, position, 2, second))
    return false;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
      second > 60)  // 60: a leap second
    return false;
  int64_t millis = 0;
  if (position < text.size() && text[position] == '.') {
    ++position;
    size_t digits = 0;
    while (position < text.size() && text[position] >= '0' && text[position] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[position] - '0');
      ++digits;
      ++position;
    }
    if (digits == 0) return false;
    for (; digits < 3; ++digits) millis *= 10;
  }
  int64_t offset_ms = 0;
  if (!parse_offset(text, position, offset_ms)) return false;
  unix_ms =
      days_from_civil(year, month, day) * kMsPerDay + ((hour * 60 + minute) * 60 + second) * 1000 + millis - offset_ms;
  return true;
}

std::optional<int64_t> live_edge_ms(const MediaPlaylist& playlist) {
  std::optional<double> edge_ms;
  for (const Segment& segment : playlist.segments) {
    if (segment.pdt_ms != -1) {
      edge_ms = static_cast<double>(segment.pdt_ms) + segment.duration_s * 1000;
    } else if (edge_ms) {
      *edge_ms += segment.duration_s * 1000;
    }
  }
  if (!edge_ms) return std::nullopt;
  return std::llround(*edge_ms);
}

std::string with_dateranges(std::string_view playlist, std::span<const Moment> moments) {
  if (moments.empty()) return std::string(playlist);
  Layout layout;
  auto parsed = parse(playlist, &layout);
  if (!parsed.ok()) return std::string(playlist);
  const std::vector<SegmentSpan>& spans = layout.spans;
  assert(spans.size() == parsed->segments.size());
  const std::vector<double> ends_ms = segment_ends_ms(*parsed);

  std::vector<size_t> order(moments.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return moments[a].start_ms < moments[b].start_ms; });

  const std::string_view line_end = line_end_of(playlist);
  std::string out;
  out.reserve(playlist.size() + moments.size() * 192);
  size_t copied = 0;  // playlist[0, copied) is in `out`
  size_t next = 0;    // order[next] is the first moment not yet placed
  // Moments are sorted, so each one lands before the first segment that ends
  // after its start: one walk over the segments places them all.
  for (size_t i = 0; i < ends_ms.size() && next < order.size(); ++i) {
    if (static_cast<double>(moments[order[next]].start_ms) >= ends_ms[i]) continue;
    out.append(playlist, copied, spans[i].tags_begin - copied);
    copied = spans[i].tags_begin;
    while (next < order.size() && static_cast<double>(moments[order[next]].start_ms) < ends_ms[i])
      append_daterange(out, moments[order[next++]], line_end);
  }
  if (next < order.size()) {
    // After the last segment; with no segments, before #EXT-X-ENDLIST.
    size_t tail = playlist.size();
    if (!spans.empty()) {
      tail = spans.back().uri_end;
    } else if (layout.endlist_begin != std::string_view::npos) {
      tail = layout.endlist_begin;
    }
    out.append(playlist, copied, tail - copied);
    copied = tail;
    if (tail == playlist.size() && playlist.back() != '\n') out += line_end;
    while (next < order.size()) append_daterange(out, moments[order[next++]], line_end);
  }
  out.append(playlist, copied);
  return out;
}

std::string with_endlist(std::string_view playlist) {
  LineReader reader(playlist);
  Line line;
  while (reader.next(line))
    if (line.content == kEndList) return std::string(playlist);
  std::string out(playlist);
  const std::string_view line_end = line_end_of(playlist);
  if (!out.empty() && out.back() != '\n') out += line_end;
  out += kEndList;
  out += line_end;
  return out;
}

}  // namespace hawker::stream
