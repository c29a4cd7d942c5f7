#include "app/demo.h"

#include <cstdio>

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

Status seed_demo(const std::string& host, uint16_t port, const std::string& secret) {
  http::Request list;
  list.target = "/v1/products?limit=100";
  auto existing = http::call(host, port, list, 5000);
  if (!existing) return existing.error();
  boost::system::error_code ec;
  auto listed = boost::json::parse(existing->body, ec);
  const bool empty = !ec && listed.is_object() && listed.as_object().contains("items") &&
                     listed.as_object().at("items").as_array().empty();
  std::vector<std::string> ids;
  if (empty) {
    for (const auto& product : kProducts) {
      http::Request create;
      create.method = http::Method::kPost;
      create.target = "/v1/products";
      create.headers.emplace_back("Authorization", "Bearer " + token_for(product.seller, Role::kSeller, secret));
      create.headers.emplace_back("Content-Type", "application/json");
      boost::json::object body{{"title", product.title},
                               {"price_cents", product.price_cents},
                               {"currency", "USD"},
                               {"stock", product.stock},
                               {"max_per_buyer", product.max_per_buyer}};
      create.body = boost::json::serialize(body);
      auto created = http::call(host, port, create, 5000);
      if (!created) return created.error();
      if (created->status != 201) return make_error(ErrorCode::kInternal, "demo seeding failed: " + created->body);
      ids.push_back(std::string(boost::json::parse(created->body).as_object().at("id").as_string()));
    }
  } else if (!ec && listed.is_object()) {
    for (const auto& item : listed.as_object().at("items").as_array())
      ids.push_back(std::string(item.as_object().at("id").as_string()));
  }
  const std::string base = "http://" + host + ":" + std::to_string(port);
  const std::string buyer = token_for("demo-buyer", Role::kBuyer, secret);
  std::printf("\nhawker demo is running on %s\n\n", base.c_str());
  std::printf("  catalog          %s/v1/products\n", base.c_str());
  for (const auto& id : ids) std::printf("  product          %s/v1/products/%s\n", base.c_str(), id.c_str());
  std::printf("  health           %s/healthz\n  metrics          %s/metrics\n\n", base.c_str(), base.c_str());
  std::printf("  buyer token      %s\n", buyer.c_str());
  std::printf("  seller token     %s  (seller 'ava')\n\n", token_for("ava", Role::kSeller, secret).c_str());
  if (!ids.empty()) {
    std::printf("Buy one:\n  curl -s -X POST %s/v1/orders -H 'Authorization: Bearer %s' \\\n"
                "    -H 'Idempotency-Key: demo-1' -H 'Content-Type: application/json' \\\n"
                "    -d '{\"product_id\":\"%s\",\"quantity\":1,\"payment_token\":\"tok_visa\"}'\n",
                base.c_str(), buyer.c_str(), ids.front().c_str());
    std::printf("Then: curl -s %s/v1/orders/<order_id> -H 'Authorization: Bearer <buyer token>'\n\n", base.c_str());
  }
  std::printf("Press Ctrl-C to stop.\n");
  std::fflush(stdout);
  return {};
}

}  // namespace hawker::app
