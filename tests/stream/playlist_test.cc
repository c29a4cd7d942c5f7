// Proves the HLS playlist functions (stream/playlist.h):
//  - parse_media_playlist reads what ffmpeg 5.1 writes (EXTINF before the
//    PDT, CRLF too), in any tag order, with discontinuities and ENDLIST, and
//    refuses bad text with an error naming the line; seeded random bytes and
//    mutations of a real playlist never crash it (the seed is printed);
//  - format_pdt / parse_pdt agree with known instants, accept every offset
//    form ffmpeg and others write, reject malformed dates, and round-trip;
//  - live_edge_ms is the end of the newest segment, carried forward over
//    segments without PDT;
//  - with_dateranges puts each moment before the segment that contains it
//    (boundaries, before the first, after the last, no PDT at all, a missing
//    final newline, CRLF), sanitises quoted values, leaves text alone without
//    moments, and places thousands of moments among thousands of segments
//    correctly; with_endlist appends once.
#include "stream/playlist.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hawker::stream {
namespace {

// 2026-11-29T18:56:37.658Z
constexpr int64_t kStartMs = 1'795'978'597'658;

constexpr std::string_view kFfmpegPlaylist =
    "#EXTM3U\n"
    "#EXT-X-VERSION:6\n"
    "#EXT-X-TARGETDURATION:2\n"
    "#EXT-X-MEDIA-SEQUENCE:0\n"
    "#EXT-X-PLAYLIST-TYPE:EVENT\n"
    "#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXTINF:2.000000,\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T18:56:37.658+0000\n"
    "720p_00000.ts\n"
    "#EXTINF:2.000000,\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T18:56:39.658+0000\n"
    "720p_00001.ts\n"
    "#EXTINF:1.500000,\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T18:56:41.658+0000\n"
    "720p_00002.ts\n";

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

size_t count_of(std::string_view text, std::string_view needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

std::string daterange(std::string_view id, std::string_view product, std::string_view title, int64_t start_ms) {
  return "#EXT-X-DATERANGE:ID=\"" + std::string(id) + "\",CLASS=\"com.hawker.showcase\",START-DATE=\"" +
         format_pdt(start_ms) + "\",X-PRODUCT-ID=\"" + std::string(product) + "\",X-TITLE=\"" + std::string(title) +
         "\"";
}

// ---- parse_media_playlist ----

TEST(ParseMediaPlaylist, ReadsWhatFfmpegWrites) {
  auto parsed = parse_media_playlist(kFfmpegPlaylist);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->target_duration_s, 2);
  EXPECT_EQ(parsed->media_sequence, 0u);
  EXPECT_FALSE(parsed->ended);
  ASSERT_EQ(parsed->segments.size(), 3u);
  EXPECT_EQ(parsed->segments[0].uri, "720p_00000.ts");
  EXPECT_EQ(parsed->segments[0].duration_s, 2.0);
  EXPECT_EQ(parsed->segments[0].pdt_ms, kStartMs);
  EXPECT_EQ(parsed->segments[1].pdt_ms, kStartMs + 2000);
  EXPECT_EQ(parsed->segments[2].uri, "720p_00002.ts");
  EXPECT_EQ(parsed->segments[2].duration_s, 1.5);
  EXPECT_EQ(parsed->segments[2].pdt_ms, kStartMs + 4000);
  for (const Segment& segment : parsed->segments) EXPECT_FALSE(segment.discontinuity);
}

TEST(ParseMediaPlaylist, TagsInAnyOrderDiscontinuityAndEndList) {
  const std::string text =
      "#EXTM3U\n"
      "#EXT-X-TARGETDURATION:4\n"
      "#EXT-X-MEDIA-SEQUENCE:17\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T18:56:37.658Z\n"
      "#EXTINF:4.0,title with, commas\n"
      "a.ts\n"
      "# a comment\n"
      "#EXT-X-DISCONTINUITY\n"
      "#EXT-X-SOMETHING-NEW:X=1\n"
      "#EXTINF:3.2\n"
      "b.ts\n"
      "\n"
      "#EXTINF:2,\n"
      "c.ts\n"
      "#EXT-X-ENDLIST\n";
  auto parsed = parse_media_playlist(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->target_duration_s, 4);
  EXPECT_EQ(parsed->media_sequence, 17u);
  EXPECT_TRUE(parsed->ended);
  ASSERT_EQ(parsed->segments.size(), 3u);
  EXPECT_EQ(parsed->segments[0].pdt_ms, kStartMs);
  EXPECT_EQ(parsed->segments[0].duration_s, 4.0);
  EXPECT_FALSE(parsed->segments[0].discontinuity);
  EXPECT_TRUE(parsed->segments[1].discontinuity);
  EXPECT_EQ(parsed->segments[1].pdt_ms, -1);  // a PDT belongs to one segment only
  EXPECT_DOUBLE_EQ(parsed->segments[1].duration_s, 3.2);
  EXPECT_FALSE(parsed->segments[2].discontinuity);
  EXPECT_EQ(parsed->segments[2].uri, "c.ts");
}

TEST(ParseMediaPlaylist, AcceptsCrLfAndTrailingSpaces) {
  std::string text;
  for (const std::string& line : lines_of(kFfmpegPlaylist)) text += line + "  \r\n";
  auto parsed = parse_media_playlist(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->segments.size(), 3u);
  EXPECT_EQ(parsed->segments[1].uri, "720p_00001.ts");
  EXPECT_EQ(parsed->segments[1].pdt_ms, kStartMs + 2000);
}

TEST(ParseMediaPlaylist, EmptyPlaylistHasNoSegments) {
  auto parsed = parse_media_playlist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->segments.empty());
  EXPECT_FALSE(parsed->ended);
}

TEST(ParseMediaPlaylist, RefusesBadTextWithTheLine) {
  struct Case {
    std::string text;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"", "#EXTM3U"},
      {"hello\n", "#EXTM3U"},
      {"#EXTM3U8\n", "#EXTM3U"},
      {"\n#EXTM3U\n", "#EXTM3U"},
      {"#EXTM3U\n#EXTINF:abc,\na.ts\n", "line 2: bad #EXTINF"},
      {"#EXTM3U\n#EXTINF:-1,\na.ts\n", "line 2: bad #EXTINF"},
      {"#EXTM3U\n#EXTINF:nan,\na.ts\n", "line 2: bad #EXTINF"},
      {"#EXTM3U\n#EXTINF:inf,\na.ts\n", "line 2: bad #EXTINF"},
      {"#EXTM3U\n#EXTINF:1e9,\na.ts\n", "line 2: bad #EXTINF"},
      {"#EXTM3U\n#EXTINF:,\na.ts\n", "line 2: bad #EXTINF"},
      {"#EXTM3U\n#EXTINF\na.ts\n", "line 2: bad #EXTINF"},
      {"#EXTM3U\n#EXTINF:2,\na.ts\nb.ts\n", "line 4: segment URI without #EXTINF"},
      {"#EXTM3U\na.ts\n", "line 2: segment URI without #EXTINF"},
      {"#EXTM3U\n#EXTINF:2,\na.ts\n#EXTINF:2,\n", "line 4: #EXTINF without a segment URI"},
      {"#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:yesterday\n#EXTINF:2,\na.ts\n", "line 2: bad #EXT-X-PROGRAM-DATE-TIME"},
      {"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:-3\n", "line 2: bad #EXT-X-MEDIA-SEQUENCE"},
      {"#EXTM3U\n#EXT-X-TARGETDURATION:two\n", "line 2: bad #EXT-X-TARGETDURATION"},
  };
  for (const Case& c : cases) {
    auto parsed = parse_media_playlist(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalid);
    EXPECT_NE(parsed.error().message.find(c.message_part), std::string::npos)
        << "text: " << c.text << "\nmessage: " << parsed.error().message;
  }
}

TEST(ParseMediaPlaylist, RefusesOversizedText) {
  std::string text = "#EXTM3U\n";
  text.resize(kPlaylistBytesMax + 1, '\n');
  auto parsed = parse_media_playlist(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("size limit"), std::string::npos);
}

// Random bytes and random damage to a real playlist: the parser and the
// rewrites must answer (ok or an error), never crash or loop; whatever
// parses keeps its invariants.
TEST(ParseMediaPlaylist, SurvivesGarbage) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  const std::string alphabet = "#EXTINF:-0123456789.,\n\r ZT+PROGRAM-DATE-TIME\xff";
  const Moment moments[] = {{"m1", "prd_1", "t", kStartMs + 1000}, {"m2", "prd_2", "u", kStartMs + 9000}};
  int parsed_ok = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    switch (round % 3) {
      case 0: {  // random bytes, often after a valid header
        text = random() % 2 ? "#EXTM3U\n" : "";
        const size_t length = random() % 300;
        for (size_t i = 0; i < length; ++i) text.push_back(static_cast<char>(random() % 256));
        break;
      }
      case 1: {  // playlist-like tokens
        text = "#EXTM3U\n";
        const size_t length = random() % 400;
        for (size_t i = 0; i < length; ++i) text.push_back(alphabet[random() % alphabet.size()]);
        break;
      }
      default: {  // a real playlist, damaged and maybe truncated
        text = std::string(kFfmpegPlaylist);
        const int flips = 1 + static_cast<int>(random() % 4);
        for (int i = 0; i < flips; ++i) text[random() % text.size()] = static_cast<char>(random() % 256);
        if (random() % 2) text.resize(random() % text.size());
        break;
      }
    }
    auto parsed = parse_media_playlist(text);
    const std::string tagged = with_dateranges(text, moments);
    const std::string ended = with_endlist(text);
    EXPECT_NE(ended.find("#EXT-X-ENDLIST"), std::string::npos);
    if (!parsed.ok()) {
      EXPECT_FALSE(parsed.error().message.empty());
      EXPECT_EQ(tagged, text);  // unparseable text is served as it is
      continue;
    }
    ++parsed_ok;
    for (const Segment& segment : parsed->segments) {
      EXPECT_GE(segment.duration_s, 0);
      EXPECT_FALSE(segment.uri.empty());
    }
    EXPECT_EQ(count_of(tagged, "CLASS=\"com.hawker.showcase\""), count_of(text, "CLASS=\"com.hawker.showcase\"") + 2);
    auto reparsed = parse_media_playlist(tagged);
    ASSERT_TRUE(reparsed.ok()) << reparsed.error().message << "\n" << tagged;
    EXPECT_EQ(reparsed->segments.size(), parsed->segments.size());
  }
  EXPECT_GT(parsed_ok, 300);  // the rewrites were exercised on text that parses
}

// ---- PDT ----

TEST(Pdt, FormatsKnownInstants) {
  EXPECT_EQ(format_pdt(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_pdt(kStartMs), "2026-11-29T18:56:37.658Z");
  EXPECT_EQ(format_pdt(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_pdt(1'709'164'800'000), "2024-02-29T00:00:00.000Z");  // a leap day
  EXPECT_EQ(format_pdt(951'782'400'000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(format_pdt(253'402'300'799'999), "9999-12-31T23:59:59.999Z");
}

TEST(Pdt, ParsesEveryOffsetForm) {
  struct Case {
    std::string text;
    int64_t unix_ms;
  };
  const std::vector<Case> cases = {
      {"2026-11-29T18:56:37.658Z", kStartMs},
      {"2026-11-29T18:56:37.658+0000", kStartMs},
      {"2026-11-29T18:56:37.658+00:00", kStartMs},
      {"2026-11-29T18:56:37.658-00:00", kStartMs},
      {"2026-11-29T13:56:37.658-05:00", kStartMs},
      {"2026-11-29T13:56:37.658-0500", kStartMs},
      {"2026-11-30T00:26:37.658+05:30", kStartMs},
      {"2026-11-29T19:56:37.658+01", kStartMs},
      {"2026-11-29T18:56:37.658", kStartMs},  // no offset: UTC
      {"2026-11-29t18:56:37.658z", kStartMs},
      {" 2026-11-29T18:56:37.658Z ", kStartMs},
      {"2026-11-29T18:56:37Z", kStartMs - 658},
      {"2026-11-29T18:56:37.6Z", kStartMs - 58},
      {"2026-11-29T18:56:37.65Z", kStartMs - 8},
      {"2026-11-29T18:56:37.658999999Z", kStartMs},  // truncated to ms
      {"1970-01-01T00:00:00Z", 0},
      {"2024-02-29T00:00:00.000Z", 1'709'164'800'000},
  };
  for (const Case& c : cases) {
    int64_t unix_ms = 42;
    EXPECT_TRUE(parse_pdt(c.text, unix_ms)) << c.text;
    EXPECT_EQ(unix_ms, c.unix_ms) << c.text;
  }
}

TEST(Pdt, RefusesMalformedDates) {
  const std::vector<std::string> bad = {
      "",
      "2026",
      "2026-11-29",
      "2026-11-29 18:56:37Z",
      "2026-11-29T18:56Z",
      "2026-11-29T18:56:37.Z",
      "2026-11-29T18:56:37.658ZZ",
      "2026-11-29T18:56:37.658 Z",
      "2026-11-29T18:56:37.658+0",
      "2026-11-29T18:56:37.658+000",
      "2026-11-29T18:56:37.658+24:00",
      "2026-11-29T18:56:37.658+05:60",
      "2026-11-29T18:56:37.658+05:3",
      "2026-13-29T18:56:37Z",
      "2026-00-29T18:56:37Z",
      "2026-02-29T18:56:37Z",  // not a leap year
      "2026-04-31T00:00:00Z",
      "2026-11-00T00:00:00Z",
      "2026-11-29T24:00:00Z",
      "2026-11-29T23:60:00Z",
      "2026-11-29T23:59:61Z",
      "+2026-11-29T18:56:37Z",
      "2026-1-29T18:56:37Z",
      "20261129T185637Z",
      "2026-11-29T18:56:37.658Zjunk",
  };
  for (const std::string& text : bad) {
    int64_t unix_ms = 42;
    EXPECT_FALSE(parse_pdt(text, unix_ms)) << text;
    EXPECT_EQ(unix_ms, 42) << "changed on failure: " << text;
  }
}

TEST(Pdt, RoundTrips) {
  std::mt19937_64 random(7);
  for (int i = 0; i < 10'000; ++i) {
    const int64_t unix_ms = static_cast<int64_t>(random() % 253'402'300'800'000ull);  // 1970..9999
    int64_t parsed = -1;
    const std::string text = format_pdt(unix_ms);
    ASSERT_TRUE(parse_pdt(text, parsed)) << text;
    ASSERT_EQ(parsed, unix_ms) << text;
  }
}

// ---- live_edge_ms ----

TEST(LiveEdge, IsTheEndOfTheNewestSegment) {
  auto parsed = parse_media_playlist(kFfmpegPlaylist);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(live_edge_ms(*parsed), kStartMs + 5500);
}

TEST(LiveEdge, CarriesForwardOverSegmentsWithoutPdt) {
  MediaPlaylist playlist;
  playlist.segments = {
      {"a.ts", 2.0, -1, false}, {"b.ts", 2.0, kStartMs, false}, {"c.ts", 2.002, -1, false}, {"d.ts", 1.5, -1, true}};
  EXPECT_EQ(live_edge_ms(playlist), kStartMs + 2000 + 2002 + 1500);
  playlist.segments.push_back({"e.ts", 1.0, kStartMs + 60'000, true});  // a newer PDT wins
  EXPECT_EQ(live_edge_ms(playlist), kStartMs + 61'000);
}

TEST(LiveEdge, NoneWithoutPdt) {
  MediaPlaylist playlist;
  EXPECT_EQ(live_edge_ms(playlist), std::nullopt);
  playlist.segments = {{"a.ts", 2.0, -1, false}, {"b.ts", 2.0, -1, false}};
  EXPECT_EQ(live_edge_ms(playlist), std::nullopt);
}

// ---- with_dateranges ----

TEST(WithDateranges, NoMomentsLeavesTheTextAlone) {
  EXPECT_EQ(with_dateranges(kFfmpegPlaylist, {}), kFfmpegPlaylist);
  const std::string garbage = "not a playlist";
  const Moment moment{"m", "prd_1", "x", kStartMs};
  EXPECT_EQ(with_dateranges(garbage, std::span<const Moment>(&moment, 1)), garbage);
  const std::string master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n720p.m3u8\n";
  EXPECT_EQ(with_dateranges(master, std::span<const Moment>(&moment, 1)), master);
}

TEST(WithDateranges, PlacesEachMomentBeforeTheSegmentHoldingIt) {
  const std::vector<Moment> moments = {
      {"mom_3", "prd_30", "Late", kStartMs + 4200},       // in segment 2
      {"mom_1", "prd_10", "Boots", kStartMs + 2500},      // inside segment 1
      {"mom_2", "prd_20", "Boundary", kStartMs + 2000},   // exactly where segment 1 starts
      {"mom_0", "prd_5", "Early", kStartMs - 60'000},     // before the first segment
      {"mom_4", "prd_40", "Edge", kStartMs + 5500},       // at the end of the last segment
      {"mom_5", "prd_50", "Future", kStartMs + 600'000},  // far after
  };
  const std::string expected =
      "#EXTM3U\n"
      "#EXT-X-VERSION:6\n"
      "#EXT-X-TARGETDURATION:2\n"
      "#EXT-X-MEDIA-SEQUENCE:0\n"
      "#EXT-X-PLAYLIST-TYPE:EVENT\n"
      "#EXT-X-INDEPENDENT-SEGMENTS\n" +
      daterange("mom_0", "prd_5", "Early", kStartMs - 60'000) + "\n" +
      "#EXTINF:2.000000,\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T18:56:37.658+0000\n"
      "720p_00000.ts\n" +
      daterange("mom_2", "prd_20", "Boundary", kStartMs + 2000) + "\n" +
      daterange("mom_1", "prd_10", "Boots", kStartMs + 2500) + "\n" +
      "#EXTINF:2.000000,\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T18:56:39.658+0000\n"
      "720p_00001.ts\n" +
      daterange("mom_3", "prd_30", "Late", kStartMs + 4200) + "\n" +
      "#EXTINF:1.500000,\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T18:56:41.658+0000\n"
      "720p_00002.ts\n" +
      daterange("mom_4", "prd_40", "Edge", kStartMs + 5500) + "\n" +
      daterange("mom_5", "prd_50", "Future", kStartMs + 600'000) + "\n";
  EXPECT_EQ(with_dateranges(kFfmpegPlaylist, moments), expected);
}

TEST(WithDateranges, TailMomentsGoBeforeEndList) {
  const std::string ended = with_endlist(kFfmpegPlaylist);
  const Moment moment{"mom_9", "prd_9", "Last call", kStartMs + 10'000};
  const std::string tagged = with_dateranges(ended, std::span<const Moment>(&moment, 1));
  EXPECT_EQ(tagged, std::string(kFfmpegPlaylist) + daterange("mom_9", "prd_9", "Last call", kStartMs + 10'000) +
                        "\n#EXT-X-ENDLIST\n");
}

TEST(WithDateranges, WithoutPdtEverythingGoesAfterTheLastSegment) {
  const std::string text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n#EXTINF:2,\nb.ts\n#EXT-X-ENDLIST\n";
  const std::vector<Moment> moments = {{"b", "prd_2", "B", kStartMs + 5}, {"a", "prd_1", "A", kStartMs}};
  EXPECT_EQ(with_dateranges(text, moments), "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n#EXTINF:2,\nb.ts\n" +
                                                daterange("a", "prd_1", "A", kStartMs) + "\n" +
                                                daterange("b", "prd_2", "B", kStartMs + 5) + "\n#EXT-X-ENDLIST\n");
  // No segments at all: before #EXT-X-ENDLIST, or at the end.
  EXPECT_EQ(with_dateranges("#EXTM3U\n#EXT-X-ENDLIST\n", std::span<const Moment>(moments.data(), 1)),
            "#EXTM3U\n" + daterange("b", "prd_2", "B", kStartMs + 5) + "\n#EXT-X-ENDLIST\n");
  EXPECT_EQ(with_dateranges("#EXTM3U", std::span<const Moment>(moments.data(), 1)),
            "#EXTM3U\n" + daterange("b", "prd_2", "B", kStartMs + 5) + "\n");
}

TEST(WithDateranges, AddsTheMissingFinalNewline) {
  std::string text(kFfmpegPlaylist);
  text.pop_back();  // "...720p_00002.ts" with no newline
  const Moment moment{"m", "prd_1", "T", kStartMs + 99'000};
  EXPECT_EQ(with_dateranges(text, std::span<const Moment>(&moment, 1)),
            std::string(kFfmpegPlaylist) + daterange("m", "prd_1", "T", kStartMs + 99'000) + "\n");
}

TEST(WithDateranges, GoesBeforeADiscontinuity) {
  const std::string text =
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
      "#EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-11-29T18:56:37.658+0000\na.ts\n"
      "#EXT-X-DISCONTINUITY\n"
      "#EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-11-29T18:57:37.658+0000\nb.ts\n";
  // In the gap the restart left: placed before the next segment, with its tags.
  const Moment moment{"m", "prd_1", "T", kStartMs + 30'000};
  const std::string tagged = with_dateranges(text, std::span<const Moment>(&moment, 1));
  EXPECT_NE(tagged.find("a.ts\n" + daterange("m", "prd_1", "T", kStartMs + 30'000) + "\n#EXT-X-DISCONTINUITY\n"),
            std::string::npos)
      << tagged;
}

TEST(WithDateranges, DatesSegmentsWithoutPdtFromTheirNeighbours) {
  // Only the middle segment has a PDT: a.ts is dated back from it, c.ts forward.
  const std::string text =
      "#EXTM3U\n#EXTINF:2,\na.ts\n#EXTINF:2,\n#EXT-X-PROGRAM-DATE-TIME:2026-11-29T18:56:37.658Z\nb.ts\n"
      "#EXTINF:2,\nc.ts\n";
  const std::vector<Moment> moments = {{"in_a", "prd_1", "A", kStartMs - 1000},
                                       {"in_c", "prd_3", "C", kStartMs + 3000}};
  EXPECT_EQ(with_dateranges(text, moments), "#EXTM3U\n" + daterange("in_a", "prd_1", "A", kStartMs - 1000) +
                                                "\n#EXTINF:2,\na.ts\n#EXTINF:2,\n#EXT-X-PROGRAM-DATE-TIME:2026-11-"
                                                "29T18:56:37.658Z\nb.ts\n" +
                                                daterange("in_c", "prd_3", "C", kStartMs + 3000) +
                                                "\n#EXTINF:2,\nc.ts\n");
}

TEST(WithDateranges, SanitisesQuotedValues) {
  const Moment moment{"id\"1\r\n", "prd_\"7\"", "Say \"hi\"\r\n#EXT-X-ENDLIST\t\x01 ok \xc3\xa9", kStartMs + 100};
  const std::string tagged = with_dateranges(kFfmpegPlaylist, std::span<const Moment>(&moment, 1));
  EXPECT_NE(tagged.find("ID=\"id'1\",CLASS=\"com.hawker.showcase\""), std::string::npos) << tagged;
  EXPECT_NE(tagged.find("X-PRODUCT-ID=\"prd_'7'\""), std::string::npos) << tagged;
  EXPECT_NE(tagged.find("X-TITLE=\"Say 'hi'#EXT-X-ENDLIST ok \xc3\xa9\"\n"), std::string::npos) << tagged;
  EXPECT_EQ(lines_of(tagged).size(), lines_of(kFfmpegPlaylist).size() + 1);
  auto parsed = parse_media_playlist(tagged);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->ended);  // the title could not inject a tag
}

TEST(WithDateranges, KeepsCrLfLineEnds) {
  std::string text;
  for (const std::string& line : lines_of(kFfmpegPlaylist)) text += line + "\r\n";
  const Moment moment{"m", "prd_1", "T", kStartMs + 2500};
  const std::string tagged = with_dateranges(text, std::span<const Moment>(&moment, 1));
  EXPECT_NE(tagged.find("720p_00000.ts\r\n" + daterange("m", "prd_1", "T", kStartMs + 2500) + "\r\n#EXTINF"),
            std::string::npos)
      << tagged;
}

// Thousands of segments and moments: every moment lands just before the
// segment that contains it, in one pass.
TEST(WithDateranges, PlacesThousandsOfMoments) {
  constexpr int kSegments = 5000;
  constexpr int kMoments = 3000;
  std::string text = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n";
  for (int i = 0; i < kSegments; ++i) {
    text += "#EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:" + format_pdt(kStartMs + i * 2000) + "\n";
    text += "seg_" + std::to_string(i) + ".ts\n";
  }
  std::mt19937 random(11);
  std::vector<Moment> moments;
  for (int i = 0; i < kMoments; ++i) {
    const int64_t start = kStartMs + static_cast<int64_t>(random() % (kSegments * 2000));
    moments.push_back({"m" + std::to_string(i), "prd_" + std::to_string(i), "t", start});
  }
  const std::string tagged = with_dateranges(text, moments);
  auto parsed = parse_media_playlist(tagged);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->segments.size(), static_cast<size_t>(kSegments));
  // Walk the output: each DATERANGE's start lies in the next segment.
  std::vector<int64_t> waiting;
  int segment = 0;
  size_t placed = 0;
  for (const std::string& line : lines_of(tagged)) {
    if (line.rfind("#EXT-X-DATERANGE:", 0) == 0) {
      size_t at = line.find("START-DATE=\"") + 12;
      int64_t start = 0;
      ASSERT_TRUE(parse_pdt(line.substr(at, 24), start)) << line;
      waiting.push_back(start);
    } else if (!line.empty() && line[0] != '#') {
      for (int64_t start : waiting) {
        EXPECT_GE(start, kStartMs + segment * 2000) << line;
        EXPECT_LT(start, kStartMs + (segment + 1) * 2000) << line;
      }
      placed += waiting.size();
      waiting.clear();
      ++segment;
    }
  }
  EXPECT_TRUE(waiting.empty());
  EXPECT_EQ(placed, static_cast<size_t>(kMoments));
}

// ---- with_endlist ----

TEST(WithEndlist, AppendsOnce) {
  const std::string ended = with_endlist(kFfmpegPlaylist);
  EXPECT_EQ(ended, std::string(kFfmpegPlaylist) + "#EXT-X-ENDLIST\n");
  EXPECT_EQ(with_endlist(ended), ended);
  auto parsed = parse_media_playlist(ended);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->ended);
}

TEST(WithEndlist, HandlesAMissingFinalNewline) {
  std::string text(kFfmpegPlaylist);
  text.pop_back();
  EXPECT_EQ(with_endlist(text), std::string(kFfmpegPlaylist) + "#EXT-X-ENDLIST\n");
  EXPECT_EQ(with_endlist("#EXTM3U\n#EXT-X-ENDLIST"), "#EXTM3U\n#EXT-X-ENDLIST");  // already there
  EXPECT_EQ(with_endlist("#EXTM3U\r\n"), "#EXTM3U\r\n#EXT-X-ENDLIST\r\n");
}

}  // namespace
}  // namespace hawker::stream
