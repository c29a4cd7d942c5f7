#include "app/demo.h"
#include "app/server.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/jwt.h"
#include "http/client.h"

namespace hawker::app {
namespace {

struct DemoProduct {
  const char* seller;
  const char* title;
  int64_t price_cents;
  int64_t stock;
  int32_t max_per_buyer;
};

constexpr DemoProduct kProducts[] = {
    {"ava", "Aurora silk scarf", 3900, 1200, 0},
    {"ava", "Glow vitamin C serum", 2400, 500, 3},
    {"ben", "Limited sneaker drop", 18900, 100, 1},
    {"ben", "Studio headphones", 12900, 250, 2},
    {"chloe", "Hand-thrown ceramic mug", 2800, 60, 2},
};

std::string token_for(const std::string& sub, Role role, const std::string& secret) {
  Claims claims{sub, role, SystemClock::instance().now_ms() / 1000 + 7 * 24 * 3600};
  return sign_token(claims, secret);
}

}  // namespace

namespace {

Result<boost::json::value> call_json(const std::string& host, uint16_t port, http::Method method,
                                     const std::string& target, const std::string& token, const std::string& body,
                                     int expected_status) {
  return http::call_json(host, port, method, target, token, body, expected_status, 5000);
}

std::string text_at(const boost::json::value& value, std::initializer_list<const char*> path) {
  const boost::json::value* at = &value;
  for (const char* key : path) {
    const auto* object = at->if_object();
    if (!object || !object->contains(key)) return {};
    at = &object->at(key);
  }
  return at->is_string() ? std::string(at->as_string()) : std::string();
}

}  // namespace

Result<DemoSeed> seed_demo(const std::string& host, uint16_t port, const std::string& secret) {
  auto listed = call_json(host, port, http::Method::kGet, "/v1/products?seller=ava&limit=100", "", "", 200);
  if (!listed) return listed.error();
  DemoSeed seed;
  const auto& items = listed->as_object().at("items").as_array();
  if (items.empty()) {
    for (const auto& product : kProducts) {
      boost::json::object body{{"title", product.title},
                               {"price_cents", product.price_cents},
                               {"currency", "USD"},
                               {"stock", product.stock},
                               {"max_per_buyer", product.max_per_buyer}};
      auto created = call_json(host, port, http::Method::kPost, "/v1/products",
                               token_for(product.seller, Role::kSeller, secret), boost::json::serialize(body), 201);
      if (!created) return created.error();
      if (seed.pin_product.empty()) seed.pin_product = text_at(*created, {"id"});
    }
  } else {
    seed.pin_product = text_at(items.front(), {"id"});
  }
  // The demo show: ava's, found again on a restart (the owner sees its key).
  const std::string ava = token_for("ava", Role::kSeller, secret);
  auto shows = call_json(host, port, http::Method::kGet, "/v1/shows?limit=100", ava, "", 200);
  if (!shows) return shows.error();
  boost::json::value show;
  for (const auto& item : shows->as_object().at("items").as_array())
    if (text_at(item, {"seller"}) == "ava") {
      show = item;
      break;
    }
  if (show.is_null()) {
    auto created = call_json(host, port, http::Method::kPost, "/v1/shows", ava,
                             R"({"title":"Ava's spring drop, live"})", 201);
    if (!created) return created.error();
    show = *created;
  }
  seed.show_id = text_at(show, {"id"});
  seed.stream_key = text_at(show, {"stream_key"});
  seed.rtmp_url = text_at(show, {"ingest", "rtmp"});
  seed.playback_url = text_at(show, {"playback", "hls"});
  return seed;
}

Status start_demo_stream(const std::string& host, uint16_t port, const std::string& secret, const DemoSeed& seed) {
  auto started = call_json(host, port, http::Method::kPost, "/v1/shows/" + seed.show_id + "/test-source",
                           token_for("ava", Role::kSeller, secret), "", 202);
  if (!started) return started.error();
  return {};
}

// The playback URL's host, port and target ("http://HOST:PORT/TARGET").
static bool split_http_url(const std::string& url, std::string& host, uint16_t& port, std::string& target) {
  constexpr std::string_view kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) return false;
  size_t slash = url.find('/', kScheme.size());
  if (slash == std::string::npos) return false;
  target = url.substr(slash);
  return split_host_port(url.substr(kScheme.size(), slash - kScheme.size()), host, port);
}

Status pin_when_live(const std::string& host, uint16_t port, const std::string& secret, const DemoSeed& seed,
                     int timeout_ms) {
  // A moment aligns with a segment: wait until the show is live and its
  // first media playlist is served.
  std::string video_host, video_target;
  uint16_t video_port = 0;
  const bool has_video = split_http_url(seed.playback_url, video_host, video_port, video_target);
  const int64_t deadline = SystemClock::instance().now_ms() + timeout_ms;
  while (SystemClock::instance().now_ms() < deadline) {
    auto show = call_json(host, port, http::Method::kGet, "/v1/shows/" + seed.show_id, "", "", 200);
    bool ready = show && text_at(*show, {"status"}) == "live";
    if (ready && has_video) {
      http::Request playlist;
      playlist.target = video_target.substr(0, video_target.rfind('/') + 1) + "720p.m3u8";
      auto fetched = http::call(video_host, video_port, playlist, 2000);
      ready = fetched && fetched->status == 200 && fetched->body.find("#EXTINF") != std::string::npos;
    }
    if (ready) {
      auto pinned = call_json(host, port, http::Method::kPost, "/v1/shows/" + seed.show_id + "/showcase",
                              token_for("ava", Role::kSeller, secret),
                              boost::json::serialize(boost::json::object{{"product_id", seed.pin_product}}), 200);
      if (!pinned) return pinned.error();
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return make_error(ErrorCode::kTimeout, "the demo show's video did not start");
}

void print_demo(const std::string& host, uint16_t port, const std::string& secret, const DemoSeed& seed) {
  const std::string base = "http://" + host + ":" + std::to_string(port);
  const std::string buyer = token_for("demo-buyer", Role::kBuyer, secret);
  std::printf("\nhawker demo is running on %s\n\n", base.c_str());
  std::printf("  watch and buy    %s/shows/%s\n", base.c_str(), seed.show_id.c_str());
  std::printf("  seller console   %s/seller#token=%s\n", base.c_str(), token_for("ava", Role::kSeller, secret).c_str());
  std::printf("  all shows        %s/\n\n", base.c_str());
  std::printf("  catalog          %s/v1/products\n", base.c_str());
  std::printf("  shows            %s/v1/shows\n", base.c_str());
  std::printf("  live show        %s/v1/shows/%s\n", base.c_str(), seed.show_id.c_str());
  if (!seed.playback_url.empty())
    std::printf("  video (HLS)      %s   (open with: ffplay, vlc or mpv)\n", seed.playback_url.c_str());
  std::printf("  live channel     ws://%s:%u/v1/shows/%s/live\n", host.c_str(), port, seed.show_id.c_str());
  std::printf("  health           %s/healthz\n  metrics          %s/metrics\n\n", base.c_str(), base.c_str());
  std::printf("  buyer token      %s\n", buyer.c_str());
  std::printf("  seller token     %s  (seller 'ava')\n\n", token_for("ava", Role::kSeller, secret).c_str());
  if (!seed.pin_product.empty()) {
    std::printf("Buy one:\n  curl -s -X POST %s/v1/orders -H 'Authorization: Bearer %s' \\\n"
                "    -H 'Idempotency-Key: demo-1' -H 'Content-Type: application/json' \\\n"
                "    -d '{\"product_id\":\"%s\",\"quantity\":1,\"payment_token\":\"tok_visa\"}'\n",
                base.c_str(), buyer.c_str(), seed.pin_product.c_str());
    std::printf("Then: curl -s %s/v1/orders/<order_id> -H 'Authorization: Bearer <buyer token>'\n\n", base.c_str());
  }
  std::printf("Press Ctrl-C to stop.\n");
  std::fflush(stdout);
}

}  // namespace hawker::app
