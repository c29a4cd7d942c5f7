// Proves the server side of the web pages: the pages and their assets are
// served from the web root (and nothing outside it), guests get buyer tokens
// only where the server allows them, and the test source is only offered
// where the server allows it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <boost/json.hpp>

#include "support/hawker_process.h"

namespace hawker::testing {
namespace {

class WebTest : public ::testing::Test {
 protected:
  // A web root of our own, so the test does not depend on the real pages.
  void SetUp() override {
    char pattern[] = "/tmp/hawker-web-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    std::filesystem::create_directories(root_ + "/assets");
    std::filesystem::create_directories(root_ + "/node_modules/hls.js/dist");
    std::ofstream(root_ + "/index.html") << "<h1>shows</h1>";
    std::ofstream(root_ + "/show.html") << "<h1>viewer</h1>";
    std::ofstream(root_ + "/seller.html") << "<h1>console</h1>";
    std::ofstream(root_ + "/assets/app.css") << "body{}";
    std::ofstream(root_ + "/node_modules/hls.js/dist/hls.min.js") << "var Hls;";
    std::ofstream(root_ + "/secret.txt") << "not a page";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(WebTest, PagesAndAssetsAreServedAndNothingElse) {
  HawkerOptions options;
  options.extra_args = {"--web-root", root_};
  HawkerProcess server(options);
  ASSERT_TRUE(server.start()) << server.error();
  auto index = server.get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<h1>shows</h1>");
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.header("cache-control"), "no-cache");
  EXPECT_FALSE(index.header("etag").empty());
  EXPECT_EQ(server.get("/shows/shw_1").body, "<h1>viewer</h1>");
  EXPECT_EQ(server.get("/seller").body, "<h1>console</h1>");
  auto css = server.get("/assets/app.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.header("content-type"), "text/css; charset=utf-8");
  auto hls = server.get("/assets/hls.js");
  EXPECT_EQ(hls.status, 200);
  EXPECT_EQ(hls.body, "var Hls;");
  auto again = server.get("/", "", {{"If-None-Match", index.header("etag")}});
  EXPECT_EQ(again.status, 304);
  for (const char* target : {"/secret.txt", "/assets/../secret.txt", "/assets/%2e%2e%2fsecret.txt",
                             "/assets/missing.js", "/assets/sub/app.css", "/index.html/x", "/nope"}) {
    EXPECT_EQ(server.get(target).status, 404) << target;
  }
  // The API is unchanged beside the pages.
  EXPECT_EQ(server.get("/healthz").status, 200);
}

TEST_F(WebTest, GuestsAndTestSourceOnlyWhereAllowed) {
  HawkerProcess closed;
  ASSERT_TRUE(closed.start()) << closed.error();
  EXPECT_EQ(closed.post("/v1/auth/guest", "").status, 403);
  auto show = closed.post("/v1/shows", R"({"title":"t"})", closed.token("ava", "seller"));
  ASSERT_EQ(show.status, 201);
  const std::string id(show.json().as_object().at("id").as_string());
  EXPECT_EQ(closed.post("/v1/shows/" + id + "/test-source", "", closed.token("ava", "seller")).status, 403);
  EXPECT_EQ(closed.stop(), 0);

  HawkerOptions options;
  options.extra_args = {"--allow-guests"};
  HawkerProcess open(options);
  ASSERT_TRUE(open.start()) << open.error();
  auto first = open.post("/v1/auth/guest", "");
  ASSERT_EQ(first.status, 201) << first.describe();
  auto second = open.post("/v1/auth/guest", "");
  ASSERT_EQ(second.status, 201);
  const boost::json::value first_json = first.json();
  const auto& guest = first_json.as_object();
  EXPECT_EQ(std::string(guest.at("role").as_string()), "buyer");
  EXPECT_NE(guest.at("sub"), second.json().as_object().at("sub")) << "each guest is someone new";
  // The token works: a guest can buy.
  const std::string token(guest.at("token").as_string());
  auto product = open.post("/v1/products", R"({"title":"mug","price_cents":900,"currency":"EUR","stock":3})",
                           open.token("ava", "seller"));
  ASSERT_EQ(product.status, 201);
  const std::string product_id(product.json().as_object().at("id").as_string());
  auto order = open.post("/v1/orders",
                         R"({"product_id":")" + product_id + R"(","quantity":1,"payment_token":"tok_visa"})", token,
                         {{"Idempotency-Key", "guest-1"}});
  EXPECT_EQ(order.status, 202) << order.describe();
}

}  // namespace
}  // namespace hawker::testing
