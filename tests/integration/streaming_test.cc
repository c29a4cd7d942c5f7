// Proves the streaming layer end to end with the real parts: hawker runs
// nginx with Debian's RTMP module (ingest) and nginx's proxy_cache (the CDN
// edge); a real ffmpeg publishes a test pattern with the show's key; hawker's
// own ffmpeg ladder turns it into four HLS renditions that ffprobe reads
// through the edge.
//
// - a publish with the right key makes the show live and produces a master
//   playlist of four variants (1280x720, 852x480, 640x360, 424x240);
// - pinning a product writes an EXT-X-DATERANGE into every media playlist
//   and the `showcase` frame carries the same program date time;
// - through the edge, a second fetch of a segment is a HIT and 200
//   concurrent requests for a fresh segment reach the origin once;
// - killing the ladder's ffmpeg mid-show is survived (new segments follow);
// - when the publisher stops, the show ends and every media playlist ends
//   with EXT-X-ENDLIST, the files kept for replay;
// - a wrong key (and a rotated one) is refused and produces nothing;
// - path traversal and unknown shows are clean 404s.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "stream/playlist.h"
#include "stream/process.h"
#include "stream/test_source.h"
#include "support/hawker_process.h"
#include "support/ws_client.h"

namespace hawker::testing {
namespace {
namespace json = boost::json;

constexpr int kLiveTimeoutMs = 60'000;  // generous: two cores, other tests beside us

uint16_t free_port() {
  // Reuses the harness's trick: bind port 0, read it, close.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  close(fd);
  return port;
}

// "http://127.0.0.1:PORT/hls/..." -> PORT and the target.
bool split_url(const std::string& url, uint16_t& port, std::string& target) {
  std::smatch match;
  static const std::regex pattern(R"(^http://127\.0\.0\.1:(\d+)(/.*)$)");
  if (!std::regex_match(url, match, pattern)) return false;
  port = static_cast<uint16_t>(std::stoi(match[1]));
  target = match[2];
  return true;
}

bool have_streaming_tools() {
  return stream::find_executable("ffmpeg").ok() && stream::find_executable("ffprobe").ok() &&
         access("/usr/lib/nginx/modules/ngx_rtmp_module.so", R_OK) == 0;
}

std::string run_and_read(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  size_t got;
  while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, got);
  pclose(pipe);
  return out;
}

// The pid of the ffmpeg writing into `folder` (the show's ladder), from
// /proc: argv[0] is ffmpeg and an argument names the folder; 0 when none.
// (pgrep -f would also match the shell running it.)
pid_t ladder_pid_of(const std::string& folder) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
    if (argv0.size() >= 6 && argv0.compare(argv0.size() - 6, 6, "ffmpeg") == 0 &&
        cmdline.find(folder + "/") != std::string::npos)
      return static_cast<pid_t>(std::stol(name));
  }
  return 0;
}

// A seller's test source: a small test pattern with a tone, in real time.
stream::ChildProcessPtr publish(uint16_t rtmp_port, const std::string& key, const std::string& log_path) {
  stream::TestSourceOptions source;  // small and cheap: two cores, other tests beside us
  source.width = 640;
  source.height = 360;
  source.fps = 15;
  source.clock = false;
  source.preset = "ultrafast";
  stream::ProcessSpec spec;
  spec.argv = stream::test_source_arguments("rtmp://127.0.0.1:" + std::to_string(rtmp_port) + "/live/" + key, source);
  spec.log_path = log_path;
  auto child = stream::ChildProcess::spawn(spec);
  return child ? std::move(*child) : nullptr;
}

class StreamingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_streaming_tools()) GTEST_SKIP() << "needs ffmpeg, ffprobe and libnginx-mod-rtmp (scripts/setup.sh)";
    rtmp_port_ = free_port();
    edge_port_ = free_port();
    HawkerOptions options;
    options.extra_args = {"--rtmp-listen", "127.0.0.1:" + std::to_string(rtmp_port_), "--edge-listen",
                          "127.0.0.1:" + std::to_string(edge_port_)};
    server_ = std::make_unique<HawkerProcess>(options);
    ASSERT_TRUE(server_->start()) << server_->error();
    seller_ = server_->token("studio", "seller");
  }
  void TearDown() override {
    publisher_.reset();
    if (HasFailure() && server_) {
      std::fprintf(stderr, "---- hawker log ----\n%s----\n", server_->log_tail(80).c_str());
      std::ifstream ffmpeg_log(server_->folder() + "/publisher.log");
      std::stringstream text;
      text << ffmpeg_log.rdbuf();
      std::fprintf(stderr, "---- publisher log ----\n%s----\n", text.str().c_str());
    }
  }

  json::object create_show(const std::string& title) {
    auto reply = server_->post("/v1/shows", json::serialize(json::object{{"title", title}}), seller_);
    EXPECT_EQ(reply.status, 201) << reply.describe();
    return reply.json().is_object() ? reply.json().as_object() : json::object{};
  }

  json::object get_show(const std::string& id, const std::string& token = "") {
    auto reply = server_->get("/v1/shows/" + id, token);
    return reply.json().is_object() ? reply.json().as_object() : json::object{};
  }

  std::string status_of(const std::string& id) {
    auto show = get_show(id);
    return show.contains("status") ? std::string(show.at("status").as_string()) : "";
  }

  // GET through a full URL on loopback.
  HttpReply fetch(uint16_t port, const std::string& target, const Headers& headers = {}) {
    return http_call(port, "GET", target, headers, "", 10'000);
  }

  double origin_segment_requests() {
    auto reply = server_->get("/metrics");
    static const std::regex line(R"(hawker_hls_requests_total\{kind="segment"\} (\d+))");
    std::smatch match;
    if (!std::regex_search(reply.body, match, line)) return -1;
    return std::stod(match[1]);
  }

  static std::optional<json::object> parse(const std::optional<std::string>& text) {
    if (!text) return std::nullopt;
    boost::system::error_code ec;
    auto value = json::parse(*text, ec);
    if (ec || !value.is_object()) return std::nullopt;
    return value.as_object();
  }

  uint16_t rtmp_port_ = 0;
  uint16_t edge_port_ = 0;
  std::unique_ptr<HawkerProcess> server_;
  std::string seller_;
  stream::ChildProcessPtr publisher_;
};

// Media playlist names listed by a master playlist.
std::vector<std::string> variants_of(const std::string& master) {
  std::vector<std::string> out;
  std::istringstream lines(master);
  std::string line;
  while (std::getline(lines, line))
    if (!line.empty() && line[0] != '#' && line.find(".m3u8") != std::string::npos) out.push_back(line);
  return out;
}

TEST_F(StreamingTest, LiveShowFromPublishToReplay) {
  json::object show = create_show("Launch night");
  const std::string id(show.at("id").as_string());
  ASSERT_TRUE(show.contains("stream_key")) << "the seller sees the key on create";
  const std::string key(show.at("stream_key").as_string());
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(std::string(show.at("ingest").as_object().at("rtmp").as_string()),
            "rtmp://127.0.0.1:" + std::to_string(rtmp_port_) + "/live/" + key);
  const std::string playback(show.at("playback").as_object().at("hls").as_string());
  uint16_t playback_port = 0;
  std::string master_target;
  ASSERT_TRUE(split_url(playback, playback_port, master_target)) << playback;
  EXPECT_EQ(playback_port, edge_port_) << "viewers watch through the edge";
  EXPECT_EQ(master_target, "/hls/" + id + "/master.m3u8");

  json::object public_view = get_show(id);
  EXPECT_FALSE(public_view.contains("stream_key")) << "the key is the seller's secret";
  EXPECT_EQ(json::serialize(public_view).find(key), std::string::npos);
  EXPECT_EQ(std::string(public_view.at("status").as_string()), "scheduled");

  // A product to pin later, and a viewer on the show's channel.
  auto product = server_->post(
      "/v1/products",
      R"({"title":"Glow serum","price_cents":2500,"currency":"EUR","stock":100,"max_per_buyer":2})", seller_);
  ASSERT_EQ(product.status, 201) << product.describe();
  const std::string product_id(product.json().as_object().at("id").as_string());
  WsClient viewer;
  ASSERT_TRUE(viewer.connect(server_->port(), "/v1/shows/" + id + "/live"));
  ASSERT_TRUE(viewer.read_type("hello"));

  // Publish with the right key: live, and four renditions through the edge.
  publisher_ = publish(rtmp_port_, key, server_->folder() + "/publisher.log");
  ASSERT_NE(publisher_, nullptr);
  ASSERT_TRUE(eventually([&] { return status_of(id) == "live"; }, kLiveTimeoutMs, 100)) << status_of(id);
  HttpReply master;
  ASSERT_TRUE(eventually(
      [&] {
        master = fetch(edge_port_, master_target);
        return master.status == 200 && variants_of(master.body).size() == 4;
      },
      kLiveTimeoutMs, 250))
      << master.describe();
  EXPECT_EQ(master.header("content-type"), "application/vnd.apple.mpegurl");
  const std::vector<std::string> variants = variants_of(master.body);
  ASSERT_EQ(variants.size(), 4u) << master.body;
  // Every variant has segments before ffprobe looks.
  const std::string folder = server_->data_dir() + "/hls/" + id;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& variant : variants) {
          auto playlist = fetch(edge_port_, "/hls/" + id + "/" + variant);
          auto parsed = stream::parse_media_playlist(playlist.body);
          if (playlist.status != 200 || !parsed || parsed->segments.size() < 2) return false;
        }
        return true;
      },
      kLiveTimeoutMs, 250));
  std::string probed = run_and_read("ffprobe -v error -show_entries stream=width,height -of csv=p=0 " + playback +
                                    " 2>/dev/null");
  std::set<std::string> sizes;
  std::istringstream probe_lines(probed);
  for (std::string line; std::getline(probe_lines, line);)
    if (line.find_first_of("0123456789") != std::string::npos)  // audio streams print no size
      sizes.insert(line.substr(0, line.find_last_not_of(",") + 1));
  EXPECT_EQ(sizes, (std::set<std::string>{"1280,720", "852,480", "640,360", "424,240"})) << probed;

  for (const auto& variant : variants) {
    auto playlist = stream::parse_media_playlist(fetch(edge_port_, "/hls/" + id + "/" + variant).body);
    ASSERT_TRUE(playlist.ok());
    for (const auto& segment : playlist->segments) {
      EXPECT_LE(segment.duration_s, 2.1) << variant << " " << segment.uri;
      EXPECT_GE(segment.pdt_ms, 0) << "every segment carries EXT-X-PROGRAM-DATE-TIME";
    }
  }

  // Pin: a DATERANGE in every media playlist, the same date in the frame.
  auto pinned = server_->post("/v1/shows/" + id + "/showcase",
                              json::serialize(json::object{{"product_id", product_id}}), seller_);
  ASSERT_EQ(pinned.status, 200) << pinned.describe();
  auto frame = viewer.read_type("showcase", 10'000);
  ASSERT_TRUE(frame);
  ASSERT_TRUE(frame->contains("program_date_time")) << json::serialize(*frame);
  const std::string moment_date(frame->at("program_date_time").as_string());
  for (const auto& variant : variants) {
    HttpReply direct;
    EXPECT_TRUE(eventually(
        [&] {
          direct = fetch(edge_port_, "/hls/" + id + "/" + variant);
          return direct.body.find("#EXT-X-DATERANGE:") != std::string::npos;
        },
        5'000, 100))
        << variant;
    EXPECT_NE(direct.body.find("CLASS=\"com.hawker.showcase\""), std::string::npos) << direct.body;
    EXPECT_NE(direct.body.find("START-DATE=\"" + moment_date + "\""), std::string::npos) << direct.body;
    EXPECT_NE(direct.body.find("X-PRODUCT-ID=\"" + product_id + "\""), std::string::npos) << direct.body;
    EXPECT_NE(direct.body.find("X-TITLE=\"Glow serum\""), std::string::npos) << direct.body;
  }
  EXPECT_EQ(fetch(edge_port_, master_target).body.find("DATERANGE"), std::string::npos) << "not in the master";

  // The edge: a fresh segment, asked for by 200 players at once, costs the
  // origin one fetch; asked again, it is a HIT.
  auto origin_playlist = stream::parse_media_playlist(fetch(edge_port_, "/hls/" + id + "/" + variants[3]).body);
  ASSERT_TRUE(origin_playlist.ok());
  ASSERT_FALSE(origin_playlist->segments.empty());
  const std::string fresh = "/hls/" + id + "/" + origin_playlist->segments.back().uri;
  const double before = origin_segment_requests();
  ASSERT_GE(before, 0);
  std::atomic<int> ok{0};
  {
    std::vector<std::thread> players;
    for (int i = 0; i < 200; ++i)
      players.emplace_back([&] {
        if (fetch(edge_port_, fresh).status == 200) ok.fetch_add(1);
      });
    for (auto& player : players) player.join();
  }
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(origin_segment_requests() - before, 1) << "proxy_cache_lock: one origin fetch for 200 players";
  auto again = fetch(edge_port_, fresh);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.header("x-cache-status"), "HIT");
  EXPECT_EQ(again.header("content-type"), "video/mp2t");

  // Kill the ladder's ffmpeg mid-show: it is restarted and segments keep coming.
  const pid_t ladder_pid = ladder_pid_of(folder);
  ASSERT_NE(ladder_pid, 0) << "the ladder's ffmpeg is running";
  auto before_kill = stream::parse_media_playlist(fetch(edge_port_, "/hls/" + id + "/" + variants[0]).body);
  ASSERT_TRUE(before_kill.ok());
  const size_t segments_before = before_kill->segments.size();
  ASSERT_EQ(kill(ladder_pid, SIGKILL), 0);
  EXPECT_TRUE(eventually(
      [&] {
        const pid_t now = ladder_pid_of(folder);
        return now != 0 && now != ladder_pid;
      },
      20'000, 100))
      << "a new ffmpeg took over";
  EXPECT_TRUE(eventually(
      [&] {
        auto after = stream::parse_media_playlist(fetch(edge_port_, "/hls/" + id + "/" + variants[0]).body);
        return after.ok() && after->segments.size() >= segments_before + 2;
      },
      kLiveTimeoutMs, 250))
      << "playback continues after the restart";
  auto after_kill = stream::parse_media_playlist(fetch(edge_port_, "/hls/" + id + "/" + variants[0]).body);
  ASSERT_TRUE(after_kill.ok());
  EXPECT_EQ(after_kill->segments.front().uri, before_kill->segments.front().uri) << "old segments stay listed";
  EXPECT_NE(server_->get("/metrics").body.find("hawker_stream_ladder_restarts_total 1"), std::string::npos);

  // The seller stops: the show ends, playlists are closed, files stay.
  publisher_->terminate(SIGINT, 5000);
  publisher_.reset();
  ASSERT_TRUE(eventually([&] { return status_of(id) == "ended"; }, 30'000, 100)) << status_of(id);
  for (const auto& variant : variants) {
    std::string text;
    EXPECT_TRUE(eventually(
        [&] {
          text = fetch(edge_port_, "/hls/" + id + "/" + variant).body;
          return text.find("#EXT-X-ENDLIST") != std::string::npos;
        },
        15'000, 200))
        << variant << ":\n" << text;
  }
  auto replay = stream::parse_media_playlist(fetch(edge_port_, "/hls/" + id + "/" + variants[0]).body);
  ASSERT_TRUE(replay.ok());
  ASSERT_FALSE(replay->segments.empty());
  EXPECT_TRUE(std::filesystem::exists(folder + "/" + replay->segments.front().uri)) << "kept for replay";
  EXPECT_EQ(fetch(edge_port_, "/hls/" + id + "/" + replay->segments.front().uri).status, 200);
}

TEST_F(StreamingTest, WrongAndRotatedKeysAreRefusedAndProduceNothing) {
  json::object show = create_show("Closed door");
  const std::string id(show.at("id").as_string());
  const std::string old_key(show.at("stream_key").as_string());

  publisher_ = publish(rtmp_port_, "not-a-key-of-any-show", server_->folder() + "/publisher.log");
  ASSERT_NE(publisher_, nullptr);
  EXPECT_TRUE(publisher_->wait_for(30'000)) << "nginx closes a refused publisher";
  publisher_.reset();

  auto rotated = server_->post("/v1/shows/" + id + "/stream-key", "", seller_);
  ASSERT_EQ(rotated.status, 200) << rotated.describe();
  const std::string new_key(rotated.json().as_object().at("stream_key").as_string());
  EXPECT_NE(new_key, old_key);
  EXPECT_EQ(std::string(get_show(id, seller_).at("stream_key").as_string()), new_key);
  auto stranger = server_->post("/v1/shows/" + id + "/stream-key", "", server_->token("rival", "seller"));
  EXPECT_EQ(stranger.status, 403);

  publisher_ = publish(rtmp_port_, old_key, server_->folder() + "/publisher.log");
  ASSERT_NE(publisher_, nullptr);
  EXPECT_TRUE(publisher_->wait_for(30'000)) << "the rotated-away key is refused";
  publisher_.reset();

  EXPECT_EQ(status_of(id), "scheduled");
  EXPECT_FALSE(std::filesystem::exists(server_->data_dir() + "/hls/" + id + "/master.m3u8"));
  auto metrics = server_->get("/metrics").body;
  EXPECT_NE(metrics.find("hawker_stream_publishes_total{result=\"refused\"} 2"), std::string::npos) << metrics;

  // nginx's callbacks need the ingest secret: a forged one changes nothing.
  auto forged = server_->post("/v1/ingest/rtmp/publish?secret=guess", "name=" + new_key);
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(status_of(id), "scheduled");
}

// The origin alone (no nginx): only files inside a show's folder, by name.
class OriginOnlyTest : public ::testing::Test {};

TEST_F(OriginOnlyTest, TraversalAndUnknownShowsAreCleanNotFound) {
  HawkerProcess server;
  ASSERT_TRUE(server.start()) << server.error();
  auto created = server.post("/v1/shows", R"({"title":"t"})", server.token("s", "seller"));
  ASSERT_EQ(created.status, 201) << created.describe();
  const std::string id(created.json().as_object().at("id").as_string());
  uint16_t origin_port = 0;
  std::string master_target;
  ASSERT_TRUE(split_url(std::string(created.json().as_object().at("playback").as_object().at("hls").as_string()),
                        origin_port, master_target));
  ASSERT_NE(origin_port, server.port()) << "the origin has its own listener";
  const std::string folder = server.data_dir() + "/hls/" + id;
  std::filesystem::create_directories(folder);
  std::ofstream(folder + "/720p_00001.ts") << "segment bytes";

  auto segment = http_call(origin_port, "GET", "/hls/" + id + "/720p_00001.ts", {}, "", 5000);
  EXPECT_EQ(segment.status, 200);
  EXPECT_EQ(segment.body, "segment bytes");
  for (const std::string& target : std::vector<std::string>{
           "/hls/" + id + "/../../jwt.secret", "/hls/" + id + "/%2e%2e%2f%2e%2e%2fjwt.secret", "/hls/../jwt.secret",
        "/hls/" + id + "/..%2f..%2fingest.secret", "/hls/shw_999999/master.m3u8", "/hls/" + id + "/master.m3u8",
        "/hls/" + id + "/sub/720p_00001.ts", "/hls/nonsense/master.m3u8", "/etc/passwd", "/hls/" + id + "/"}) {
    auto reply = http_call(origin_port, "GET", target, {}, "", 5000);
    EXPECT_EQ(reply.status, 404) << target << " -> " << reply.describe();
    EXPECT_EQ(reply.body.find("jwt"), std::string::npos);
  }
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace hawker::testing
