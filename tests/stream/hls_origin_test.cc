// Proves the HLS origin (stream/hls_origin.h) against a real show folder in
// a temporary directory:
//  - it serves playlists and segments with the right MIME type, caching
//    headers, ETag and Last-Modified, and CORS on every answer;
//  - nothing outside a show folder is reachable: "..", percent-escapes,
//    extra or empty path segments, symlinks (file or show folder), FIFOs,
//    folders, .tmp files, unknown shows, odd extensions and oversized files
//    all get the same JSON 404;
//  - media playlists carry the show's product moments as DATERANGE tags, the
//    master playlist never does, and their ETag follows the bytes served;
//  - single byte ranges give 206/416, malformed or multiple ranges the whole
//    file, If-Range guards them; If-None-Match / If-Modified-Since give 304;
//  - HEAD has GET's headers and length without the body, OPTIONS is a CORS
//    preflight, other methods 405;
//  - request counters by kind; concurrent calls agree;
//  - through the real HTTP server, HEAD and 304 announce the right
//    Content-Length and send no body.
#include "stream/hls_origin.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/ids.h"
#include "http/server.h"

namespace hawker::stream {
namespace {

namespace fs = std::filesystem;
using http::Method;
using http::Request;
using http::Response;

// 2026-11-29T18:56:37.658Z
constexpr int64_t kStartMs = 1'795'978'597'658;
// Tue, 14 Nov 2023 22:13:20 GMT, plus some nanoseconds.
constexpr int64_t kMtimeS = 1'700'000'000;
constexpr long kMtimeNs = 123'456'789;
constexpr std::string_view kMtimeHttp = "Tue, 14 Nov 2023 22:13:20 GMT";
constexpr uint64_t kShow = 7;

constexpr std::string_view kMaster =
    "#EXTM3U\n"
    "#EXT-X-VERSION:6\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=2800000,RESOLUTION=1280x720\n"
    "720p.m3u8\n";

constexpr std::string_view kMedia =
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
    "720p_00001.ts\n";

std::string segment_bytes(size_t size, int salt) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 31 + static_cast<size_t>(salt)) % 251);
  return bytes;
}

std::string hex(uint64_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%llx", static_cast<unsigned long long>(value));
  return buffer;
}

// The value of a response header, or "" (names compared exactly).
std::string header_of(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers)
    if (key == name) return value;
  return "";
}

bool has_header(const Response& response, std::string_view name) {
  for (const auto& entry : response.headers)
    if (entry.first == name) return true;
  return false;
}

Request make_request(Method method, std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
  Request request;
  request.method = method;
  request.target = std::move(target);
  request.headers = std::move(headers);
  return request;
}

Request get(std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
  return make_request(Method::kGet, std::move(target), std::move(headers));
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

void set_mtime(const fs::path& path) {
  struct timespec times[2] = {{kMtimeS, kMtimeNs}, {kMtimeS, kMtimeNs}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << std::strerror(errno);
}

void expect_not_found(const Response& response, const std::string& target) {
  EXPECT_EQ(response.status, 404) << target;
  EXPECT_EQ(response.content_type, "application/json") << target;
  EXPECT_EQ(response.body, R"({"error":{"code":"not_found","message":"no such HLS file"}})") << target;
  EXPECT_EQ(header_of(response, "Cache-Control"), "no-cache") << target;
  EXPECT_EQ(header_of(response, "Access-Control-Allow-Origin"), "*") << target;
  EXPECT_FALSE(has_header(response, "ETag")) << target;
}

// Reads a counter's value from the Prometheus text.
uint64_t counter_value(const Registry& registry, const std::string& name) {
  const std::string text = registry.render();
  const std::string line_start = name + " ";
  size_t at = text.find("\n" + line_start);
  if (at == std::string::npos) return UINT64_MAX;
  return std::stoull(text.substr(at + 1 + line_start.size()));
}

class HlsOriginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "hawker-hls-origin-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    base_ = pattern;
    root_ = base_ / "hls";
    show_ = root_ / format_show_id(kShow);
    fs::create_directories(show_);
    fs::create_directories(base_ / "outside");

    write_file(show_ / "master.m3u8", kMaster);
    write_file(show_ / "720p.m3u8", kMedia);
    segment_ = segment_bytes(1000, 1);
    write_file(show_ / "720p_00000.ts", segment_);
    write_file(show_ / "720p_00001.ts", segment_bytes(1200, 2));
    write_file(show_ / "720p_00002.ts.tmp", "partial");
    write_file(show_ / "init.mp4", "init");
    write_file(show_ / "720p_00000.m4s", "fragment");
    write_file(show_ / "audio_0.aac", "aac");
    write_file(show_ / "notes.txt", "not media");
    write_file(show_ / "empty.ts", "");
    write_file(show_ / (std::string(64, 'a') + ".ts"), "long name");
    write_file(show_ / (std::string(65, 'a') + ".ts"), "too long a name");
    fs::create_directory(show_ / "folder.ts");
    ASSERT_EQ(::mkfifo((show_ / "fifo.ts").c_str(), 0600), 0);
    {
      // Sparse: over the limit without writing 64 MiB.
      std::ofstream huge(show_ / "huge.ts");
      huge.close();
      fs::resize_file(show_ / "huge.ts", kFileBytesMax + 1);
    }
    write_file(root_ / "secret.ts", "root secret");
    write_file(base_ / "outside" / "secret.ts", "outside secret");
    write_file(base_ / "outside" / "720p_00000.ts", "outside segment");
    fs::create_symlink(base_ / "outside" / "secret.ts", show_ / "link.ts");
    fs::create_symlink("../../outside/secret.ts", show_ / "relative_link.ts");
    fs::create_symlink(base_ / "outside", root_ / format_show_id(8));  // a show folder that is a symlink
    for (const char* name : {"master.m3u8", "720p.m3u8", "720p_00000.ts", "720p_00001.ts"}) set_mtime(show_ / name);
  }

  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }

  HlsOrigin origin(HlsOrigin::MomentsFn moments = {}, Registry* metrics = nullptr) const {
    return HlsOrigin(root_.string(), std::move(moments), metrics);
  }

  fs::path base_, root_, show_;
  std::string segment_;
};

// ---- serving files ----

TEST_F(HlsOriginTest, ServesASegmentWithItsHeaders) {
  const Response response = origin().serve(get("/hls/shw_7/720p_00000.ts"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body, segment_);
  EXPECT_EQ(response.content_type, "video/mp2t");
  EXPECT_EQ(header_of(response, "Cache-Control"), "public, max-age=86400, immutable");
  EXPECT_EQ(header_of(response, "Accept-Ranges"), "bytes");
  EXPECT_EQ(header_of(response, "ETag"), "\"" + hex(1000) + "-" + hex(kMtimeS * 1'000'000'000 + kMtimeNs) + "\"");
  EXPECT_EQ(header_of(response, "Last-Modified"), kMtimeHttp);
  EXPECT_EQ(header_of(response, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header_of(response, "Access-Control-Expose-Headers"), "Content-Length, Content-Range, ETag, Last-Modified");
  EXPECT_FALSE(has_header(response, "Content-Range"));
  EXPECT_FALSE(response.content_length.has_value());
}

TEST_F(HlsOriginTest, ServesPlaylistsWithShortCaching) {
  const Response response = origin().serve(get("/hls/shw_7/720p.m3u8"));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body, kMedia);
  EXPECT_EQ(response.content_type, "application/vnd.apple.mpegurl");
  EXPECT_EQ(header_of(response, "Cache-Control"), "public, max-age=1");
  EXPECT_EQ(header_of(response, "ETag"), "\"" + hex(fnv1a64(kMedia)) + "\"");
  EXPECT_EQ(header_of(response, "Last-Modified"), kMtimeHttp);
  EXPECT_EQ(header_of(response, "Accept-Ranges"), "bytes");
}

TEST_F(HlsOriginTest, MimeTypeByExtension) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"master.m3u8", "application/vnd.apple.mpegurl"},
      {"720p_00001.ts", "video/mp2t"},
      {"720p_00000.m4s", "video/iso.segment"},
      {"init.mp4", "video/mp4"},
      {"audio_0.aac", "audio/aac"},
      {std::string(64, 'a') + ".ts", "video/mp2t"},  // the longest name allowed
  };
  for (const auto& [name, mime] : cases) {
    const Response response = origin().serve(get("/hls/shw_7/" + name));
    EXPECT_EQ(response.status, 200) << name;
    EXPECT_EQ(response.content_type, mime) << name;
  }
}

TEST_F(HlsOriginTest, IgnoresTheQueryString) {
  const Response response = origin().serve(get("/hls/shw_7/720p.m3u8?_HLS_msn=3&_HLS_part=0"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, kMedia);
  expect_not_found(origin().serve(get("/hls/shw_7/x.ts?file=720p_00000.ts")), "query names no file");
}

TEST_F(HlsOriginTest, ServesAnEmptyFile) {
  const Response response = origin().serve(get("/hls/shw_7/empty.ts"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "");
}

// ---- what must not be served ----

TEST_F(HlsOriginTest, NothingOutsideAShowFolder) {
  const HlsOrigin hls = origin();
  const std::vector<std::string> targets = {
      "/hls/shw_7/../../etc/passwd",
      "/hls/shw_x/../../etc/passwd",
      "/hls/shw_7/../secret.ts",
      "/hls/shw_7/..%2fsecret.ts",
      "/hls/shw_7/%2e%2e%2fsecret.ts",
      "/hls/shw_7/%2E%2E%2Fsecret.ts",
      "/hls/shw_7/..\\secret.ts",
      "/hls/shw_7/720p_00000%2ets",
      "/hls/%2e%2e/secret.ts",
      "/hls/../hls/shw_7/720p_00000.ts",
      "/hls/shw_7/link.ts",           // absolute symlink out of the folder
      "/hls/shw_7/relative_link.ts",  // relative symlink out of the folder
      "/hls/shw_8/720p_00000.ts",     // the show folder is a symlink
      "/hls/shw_8/secret.ts",
      "/hls/shw_7/fifo.ts",
      "/hls/shw_7/folder.ts",
      "/hls/shw_7/huge.ts",
      "/hls/shw_7/720p_00002.ts.tmp",
      "/hls/shw_7/720p_00002.ts",
      "/hls/shw_7/missing.m3u8",
      "/hls/shw_7/notes.txt",
      "/hls/shw_7/" + std::string(65, 'a') + ".ts",
      "/hls/shw_7/.ts",
      "/hls/shw_7/720p_00000.TS",
      "/hls/shw_7/720p_00000.ts.",
      "/hls/shw_7/720p_00000.ts%00",
      std::string("/hls/shw_7/720p_00000.ts\0.m3u8", 30),
      "/hls/shw_7/720p.m3u8.ts",
      "/hls/shw_7/720p 1.ts",
      "/hls/shw_7/master.m3u8/",
      "/hls/shw_7/sub/master.m3u8",
      "/hls/shw_7//master.m3u8",
      "/hls//shw_7/master.m3u8",
      "/hls/shw_7/",
      "/hls/shw_7",
      "/hls/",
      "/hls",
      "/",
      "",
      "/HLS/shw_7/master.m3u8",
      "/v1/hls/shw_7/master.m3u8",
      "/hls/shw_9/master.m3u8",   // no such show
      "/hls/shw_07/master.m3u8",  // not the canonical id
      "/hls/shw_0/master.m3u8",
      "/hls/shw_x/master.m3u8",
      "/hls/7/master.m3u8",
      "/hls/prd_7/master.m3u8",
      "/hls/shw_99999999999999999999999/master.m3u8",
  };
  for (const std::string& target : targets) expect_not_found(hls.serve(get(target)), target);
}

TEST_F(HlsOriginTest, ARootSymlinkIsTheOperatorsChoice) {
  // The root itself may be a symlink (DATA on another disk); only what is
  // inside a show folder is checked.
  fs::create_symlink(root_, base_ / "hls-link");
  const HlsOrigin hls((base_ / "hls-link").string(), {}, nullptr);
  EXPECT_EQ(hls.serve(get("/hls/shw_7/720p_00000.ts")).status, 200);
}

// ---- product moments ----

TEST_F(HlsOriginTest, TagsMediaPlaylistsButNotTheMaster) {
  std::atomic<int> calls{0};
  std::atomic<uint64_t> asked_show{0};
  const HlsOrigin hls = origin([&](uint64_t show_id) {
    ++calls;
    asked_show = show_id;
    return std::vector<Moment>{{"mom_1", "prd_42", "Red \"boots\"", kStartMs + 2500}};
  });
  const Response media = hls.serve(get("/hls/shw_7/720p.m3u8"));
  ASSERT_EQ(media.status, 200);
  const std::string expected_line =
      "#EXT-X-DATERANGE:ID=\"mom_1\",CLASS=\"com.hawker.showcase\",START-DATE=\"2026-11-29T18:56:40.158Z\","
      "X-PRODUCT-ID=\"prd_42\",X-TITLE=\"Red 'boots'\"\n";
  EXPECT_NE(media.body.find("720p_00000.ts\n" + expected_line + "#EXTINF:2.000000,\n"), std::string::npos)
      << media.body;
  EXPECT_EQ(media.body.size(), kMedia.size() + expected_line.size());
  EXPECT_EQ(header_of(media, "ETag"), "\"" + hex(fnv1a64(media.body)) + "\"");
  EXPECT_NE(header_of(media, "ETag"), "\"" + hex(fnv1a64(kMedia)) + "\"");
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(asked_show.load(), kShow);

  const Response master = hls.serve(get("/hls/shw_7/master.m3u8"));
  EXPECT_EQ(master.status, 200);
  EXPECT_EQ(master.body, kMaster);
  EXPECT_EQ(calls.load(), 1);  // not even asked for the master

  const Response segment = hls.serve(get("/hls/shw_7/720p_00000.ts"));
  EXPECT_EQ(segment.body, segment_);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(HlsOriginTest, NoMomentsServesTheFileAsItIs) {
  const HlsOrigin hls = origin([](uint64_t) { return std::vector<Moment>{}; });
  const Response response = hls.serve(get("/hls/shw_7/720p.m3u8"));
  EXPECT_EQ(response.body, kMedia);
  EXPECT_EQ(header_of(response, "ETag"), "\"" + hex(fnv1a64(kMedia)) + "\"");
}

TEST_F(HlsOriginTest, PlaylistETagFollowsTheMoments) {
  std::mutex mutex;
  std::vector<Moment> moments = {{"mom_1", "prd_1", "A", kStartMs + 100}};
  const HlsOrigin hls = origin([&](uint64_t) {
    std::lock_guard lock(mutex);
    return moments;
  });
  const Response first = hls.serve(get("/hls/shw_7/720p.m3u8"));
  {
    std::lock_guard lock(mutex);
    moments.push_back({"mom_2", "prd_2", "B", kStartMs + 3000});
  }
  const std::string old_etag = header_of(first, "ETag");
  // Same file, same mtime, new moment: the old ETag and the date no longer match.
  const Response second = hls.serve(get("/hls/shw_7/720p.m3u8", {{"if-none-match", old_etag}}));
  EXPECT_EQ(second.status, 200);
  EXPECT_NE(header_of(second, "ETag"), old_etag);
  EXPECT_NE(second.body.find("ID=\"mom_2\""), std::string::npos);
  const Response dated = hls.serve(get("/hls/shw_7/720p.m3u8", {{"if-modified-since", std::string(kMtimeHttp)}}));
  EXPECT_EQ(dated.status, 200);  // moments change without the file: the date says nothing
  const Response current = hls.serve(get("/hls/shw_7/720p.m3u8", {{"if-none-match", header_of(second, "ETag")}}));
  EXPECT_EQ(current.status, 304);
}

// ---- ranges ----

TEST_F(HlsOriginTest, SingleRanges) {
  const HlsOrigin hls = origin();
  struct Case {
    std::string range;
    size_t first, last;
  };
  const std::vector<Case> cases = {
      {"bytes=0-99", 0, 99},   {"bytes=100-100", 100, 100},  {"bytes=990-", 990, 999}, {"bytes=-10", 990, 999},
      {"bytes=-5000", 0, 999}, {"bytes=500-5000", 500, 999}, {"bytes=0-", 0, 999},     {"Bytes=1-2", 1, 2},
      {" bytes=3-4 ", 3, 4},   {"bytes=999-999", 999, 999},
  };
  for (const Case& c : cases) {
    const Response response = hls.serve(get("/hls/shw_7/720p_00000.ts", {{"range", c.range}}));
    ASSERT_EQ(response.status, 206) << c.range;
    EXPECT_EQ(response.body, segment_.substr(c.first, c.last - c.first + 1)) << c.range;
    EXPECT_EQ(header_of(response, "Content-Range"),
              "bytes " + std::to_string(c.first) + "-" + std::to_string(c.last) + "/1000")
        << c.range;
    EXPECT_EQ(response.content_type, "video/mp2t");
    EXPECT_EQ(header_of(response, "Accept-Ranges"), "bytes");
    EXPECT_FALSE(header_of(response, "ETag").empty());
    EXPECT_EQ(header_of(response, "Access-Control-Allow-Origin"), "*");
  }
}

TEST_F(HlsOriginTest, UnsatisfiableRanges) {
  const HlsOrigin hls = origin();
  for (const std::string range : {"bytes=1000-", "bytes=1000-2000", "bytes=-0", "bytes=5000-6000"}) {
    const Response response = hls.serve(get("/hls/shw_7/720p_00000.ts", {{"range", range}}));
    EXPECT_EQ(response.status, 416) << range;
    EXPECT_EQ(header_of(response, "Content-Range"), "bytes */1000") << range;
    EXPECT_EQ(header_of(response, "Access-Control-Allow-Origin"), "*") << range;
    EXPECT_NE(response.body.find("range_not_satisfiable"), std::string::npos);
  }
  const Response empty = hls.serve(get("/hls/shw_7/empty.ts", {{"range", "bytes=0-"}}));
  EXPECT_EQ(empty.status, 416);
  EXPECT_EQ(header_of(empty, "Content-Range"), "bytes */0");
}

TEST_F(HlsOriginTest, MalformedOrMultipleRangesGetTheWholeFile) {
  const HlsOrigin hls = origin();
  for (const std::string range :
       {"bytes=5-2", "bytes=0-1,5-6", "bytes=0-1, 5-6", "items=0-1", "bytes=abc", "bytes=", "bytes=-", "bytes = 3-4",
        "bytes=1-2-3", "bytes=0x10-", "bytes=+1-2", "0-99", "bytes=99999999999999999999999-"}) {
    const Response response = hls.serve(get("/hls/shw_7/720p_00000.ts", {{"range", range}}));
    EXPECT_EQ(response.status, 200) << range;
    EXPECT_EQ(response.body, segment_) << range;
    EXPECT_FALSE(has_header(response, "Content-Range")) << range;
  }
}

TEST_F(HlsOriginTest, RangesOfATaggedPlaylistCountTheBytesServed) {
  const HlsOrigin hls = origin([](uint64_t) { return std::vector<Moment>{{"m", "prd_1", "T", kStartMs}}; });
  const std::string full = hls.serve(get("/hls/shw_7/720p.m3u8")).body;
  ASSERT_GT(full.size(), kMedia.size());
  const Response tail = hls.serve(get("/hls/shw_7/720p.m3u8", {{"range", "bytes=-14"}}));
  ASSERT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, "720p_00001.ts\n");
  EXPECT_EQ(header_of(tail, "Content-Range"), "bytes " + std::to_string(full.size() - 14) + "-" +
                                                  std::to_string(full.size() - 1) + "/" + std::to_string(full.size()));
}

TEST_F(HlsOriginTest, IfRangeGuardsTheRange) {
  const HlsOrigin hls = origin();
  const std::string etag = header_of(hls.serve(get("/hls/shw_7/720p_00000.ts")), "ETag");
  const Response same = hls.serve(get("/hls/shw_7/720p_00000.ts", {{"range", "bytes=0-9"}, {"if-range", etag}}));
  EXPECT_EQ(same.status, 206);
  EXPECT_EQ(same.body, segment_.substr(0, 10));
  const Response dated =
      hls.serve(get("/hls/shw_7/720p_00000.ts", {{"range", "bytes=0-9"}, {"if-range", std::string(kMtimeHttp)}}));
  EXPECT_EQ(dated.status, 206);
  for (const std::string& stale : std::vector<std::string>{"\"other\"", "W/" + etag, "Wed, 15 Nov 2023 22:13:20 GMT"}) {
    const Response response = hls.serve(get("/hls/shw_7/720p_00000.ts", {{"range", "bytes=0-9"}, {"if-range", stale}}));
    EXPECT_EQ(response.status, 200) << stale;
    EXPECT_EQ(response.body, segment_) << stale;
  }
}

// ---- conditional requests ----

TEST_F(HlsOriginTest, IfNoneMatchGives304) {
  const HlsOrigin hls = origin();
  for (const std::string name : {"720p_00000.ts", "720p.m3u8"}) {
    const std::string target = "/hls/shw_7/" + name;
    const Response full = hls.serve(get(target));
    const std::string etag = header_of(full, "ETag");
    ASSERT_FALSE(etag.empty());
    for (const std::string& header : {etag, "\"nope\", " + etag, "W/" + etag, std::string("*")}) {
      const Response response = hls.serve(get(target, {{"if-none-match", header}, {"range", "bytes=0-3"}}));
      EXPECT_EQ(response.status, 304) << name << " " << header;
      EXPECT_EQ(response.body, "") << header;
      EXPECT_EQ(response.content_length, full.body.size()) << header;  // what a 200 would have sent
      EXPECT_EQ(header_of(response, "ETag"), etag);
      EXPECT_EQ(header_of(response, "Cache-Control"), header_of(full, "Cache-Control"));
      EXPECT_EQ(header_of(response, "Access-Control-Allow-Origin"), "*");
    }
    const Response other = hls.serve(get(target, {{"if-none-match", "\"nope\""}}));
    EXPECT_EQ(other.status, 200);
    EXPECT_EQ(other.body, full.body);
  }
}

TEST_F(HlsOriginTest, IfModifiedSinceGives304) {
  const HlsOrigin hls = origin();
  const std::string target = "/hls/shw_7/720p_00000.ts";
  EXPECT_EQ(hls.serve(get(target, {{"if-modified-since", std::string(kMtimeHttp)}})).status, 304);
  EXPECT_EQ(hls.serve(get(target, {{"if-modified-since", "Wed, 15 Nov 2023 00:00:00 GMT"}})).status, 304);
  EXPECT_EQ(hls.serve(get(target, {{"if-modified-since", "Tue, 14 Nov 2023 22:13:19 GMT"}})).status, 200);
  EXPECT_EQ(hls.serve(get(target, {{"if-modified-since", "yesterday"}})).status, 200);
  EXPECT_EQ(hls.serve(get(target, {{"if-modified-since", "Tuesday, 14-Nov-23 22:13:20 GMT"}})).status, 200);
  // If-None-Match wins over the date (RFC 9110 13.1.3).
  EXPECT_EQ(
      hls.serve(get(target, {{"if-none-match", "\"nope\""}, {"if-modified-since", std::string(kMtimeHttp)}})).status,
      200);
}

// ---- methods ----

TEST_F(HlsOriginTest, HeadHasTheHeadersOfGetWithoutTheBody) {
  const HlsOrigin hls = origin([](uint64_t) { return std::vector<Moment>{{"m", "prd_1", "T", kStartMs}}; });
  for (const std::string name : {"720p_00000.ts", "720p.m3u8", "master.m3u8", "empty.ts"}) {
    const std::string target = "/hls/shw_7/" + name;
    const Response full = hls.serve(get(target));
    const Response head = hls.serve(make_request(Method::kHead, target));
    EXPECT_EQ(head.status, 200) << name;
    EXPECT_EQ(head.body, "") << name;
    EXPECT_EQ(head.content_length, full.body.size()) << name;
    EXPECT_EQ(head.content_type, full.content_type) << name;
    EXPECT_EQ(head.headers, full.headers) << name;
  }
  // Range is for GET only (RFC 9110 14.2).
  const Response ranged = hls.serve(make_request(Method::kHead, "/hls/shw_7/720p_00000.ts", {{"range", "bytes=0-9"}}));
  EXPECT_EQ(ranged.status, 200);
  EXPECT_EQ(ranged.content_length, 1000u);
  expect_not_found(hls.serve(make_request(Method::kHead, "/hls/shw_7/missing.ts")), "HEAD missing");
}

TEST_F(HlsOriginTest, OptionsIsACorsPreflight) {
  const Response response =
      origin().serve(make_request(Method::kOptions, "/hls/shw_7/720p.m3u8", {{"origin", "https://shop.example"}}));
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(response.body, "");
  EXPECT_EQ(header_of(response, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header_of(response, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(header_of(response, "Access-Control-Allow-Headers"), "Range");
  EXPECT_EQ(header_of(response, "Access-Control-Max-Age"), "86400");
}

TEST_F(HlsOriginTest, OtherMethodsAre405) {
  for (Method method : {Method::kPost, Method::kPut, Method::kDelete, Method::kOther}) {
    const Response response = origin().serve(make_request(method, "/hls/shw_7/720p.m3u8"));
    EXPECT_EQ(response.status, 405);
    EXPECT_EQ(header_of(response, "Allow"), "GET, HEAD, OPTIONS");
    EXPECT_EQ(header_of(response, "Access-Control-Allow-Origin"), "*");
    EXPECT_EQ(response.body, R"({"error":{"code":"method_not_allowed","message":"method not allowed"}})");
  }
}

// ---- metrics and threads ----

TEST_F(HlsOriginTest, CountsRequestsByKind) {
  Registry registry;
  const HlsOrigin hls = origin({}, &registry);
  EXPECT_EQ(hls.serve(get("/hls/shw_7/720p.m3u8")).status, 200);
  EXPECT_EQ(hls.serve(get("/hls/shw_7/master.m3u8")).status, 200);
  EXPECT_EQ(hls.serve(get("/hls/shw_7/720p_00000.ts")).status, 200);
  EXPECT_EQ(hls.serve(get("/hls/shw_7/720p_00000.ts", {{"range", "bytes=0-1"}})).status, 206);
  EXPECT_EQ(hls.serve(make_request(Method::kHead, "/hls/shw_7/init.mp4")).status, 200);
  EXPECT_EQ(hls.serve(get("/hls/shw_7/missing.ts")).status, 404);
  EXPECT_EQ(hls.serve(get("/hls/shw_7/../x")).status, 404);
  EXPECT_EQ(hls.serve(make_request(Method::kOptions, "/hls/shw_7/720p.m3u8")).status, 204);
  EXPECT_EQ(counter_value(registry, "hawker_hls_requests_total{kind=\"playlist\"}"), 2u);
  EXPECT_EQ(counter_value(registry, "hawker_hls_requests_total{kind=\"segment\"}"), 3u);
  EXPECT_EQ(counter_value(registry, "hawker_hls_requests_total{kind=\"not_found\"}"), 2u);
}

TEST_F(HlsOriginTest, ConcurrentCallsAgree) {
  Registry registry;
  const HlsOrigin hls = origin([](uint64_t) { return std::vector<Moment>{{"m", "prd_1", "T", kStartMs}}; }, &registry);
  const std::string playlist = hls.serve(get("/hls/shw_7/720p.m3u8")).body;
  constexpr int kThreads = 4;
  constexpr int kRounds = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        if (hls.serve(get("/hls/shw_7/720p.m3u8")).body != playlist) ++wrong;
        const Response part =
            hls.serve(get("/hls/shw_7/720p_00000.ts", {{"range", "bytes=" + std::to_string(t) + "-"}}));
        if (part.body != segment_.substr(static_cast<size_t>(t))) ++wrong;
        if (hls.serve(get("/hls/shw_7/../../etc/passwd")).status != 404) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(counter_value(registry, "hawker_hls_requests_total{kind=\"segment\"}"),
            static_cast<uint64_t>(kThreads * kRounds));
}

// ---- through the HTTP server ----

// One request on a fresh connection ("Connection: close"); the raw bytes of
// the answer, so we see exactly what goes on the wire.
std::string raw_exchange(uint16_t port, const std::string& request_text) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "socket failed";
  struct timeval timeout {
    5, 0
  };
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::send(fd, request_text.data(), request_text.size(), 0) == static_cast<ssize_t>(request_text.size())) {
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) answer.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

std::string lower(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

TEST_F(HlsOriginTest, OverTheWireHeadAnd304AnnounceTheLengthWithoutABody) {
  const HlsOrigin hls = origin();
  http::ServerOptions options;
  options.port = 0;
  options.threads = 1;
  auto server = http::make_http_server(
      options, [&](http::Request& request, http::Responder responder) { responder.send(hls.serve(request)); });
  ASSERT_TRUE(server->start().ok());
  const uint16_t port = server->port();

  const std::string get_answer =
      raw_exchange(port, "GET /hls/shw_7/720p_00000.ts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_NE(get_answer.find("\r\n\r\n"), std::string::npos) << get_answer;
  EXPECT_EQ(get_answer.substr(get_answer.find("\r\n\r\n") + 4), segment_);
  EXPECT_NE(lower(get_answer).find("content-length: 1000\r\n"), std::string::npos);

  const std::string head_answer =
      raw_exchange(port, "HEAD /hls/shw_7/720p_00000.ts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head_answer.rfind("HTTP/1.1 200", 0), 0u) << head_answer;
  EXPECT_NE(lower(head_answer).find("content-length: 1000\r\n"), std::string::npos) << head_answer;
  EXPECT_NE(lower(head_answer).find("content-type: video/mp2t\r\n"), std::string::npos) << head_answer;
  EXPECT_EQ(head_answer.size(), head_answer.find("\r\n\r\n") + 4) << "HEAD sent a body: " << head_answer;

  const std::string not_modified = raw_exchange(
      port, "GET /hls/shw_7/720p_00000.ts HTTP/1.1\r\nHost: x\r\nConnection: close\r\nIf-Modified-Since: " +
                std::string(kMtimeHttp) + "\r\n\r\n");
  EXPECT_EQ(not_modified.rfind("HTTP/1.1 304", 0), 0u) << not_modified;
  EXPECT_NE(lower(not_modified).find("content-length: 1000\r\n"), std::string::npos) << not_modified;
  EXPECT_EQ(not_modified.size(), not_modified.find("\r\n\r\n") + 4) << not_modified;

  const std::string missing =
      raw_exchange(port, "GET /hls/shw_7/%2e%2e%2fsecret.ts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(missing.rfind("HTTP/1.1 404", 0), 0u) << missing;
  EXPECT_NE(missing.find(R"({"error":{"code":"not_found")"), std::string::npos) << missing;
  server->stop();
}

}  // namespace
}  // namespace hawker::stream
