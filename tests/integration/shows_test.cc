// Proves the shows API against the real binary: a seller creates a show
// (201, status scheduled, no showcase), everyone can read it and list it, only
// its seller may pin a product and only one of their own, the pinned product
// shows with its live stock, and bad input gets a clear 4xx.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/hawker_process.h"
#include "support/server_suite.h"

namespace hawker::testing {
namespace {
namespace json = boost::json;

class ShowsTest : public ServerSuite {
 protected:
  static std::string make_show(const std::string& token, const std::string& title) {
    HttpReply reply = server_->post("/v1/shows", json::serialize(json::object{{"title", title}}), token);
    EXPECT_EQ(reply.status, 201) << reply.describe();
    if (reply.status != 201) return {};
    return std::string(reply.json().at("id").as_string());
  }

  static std::string make_product(const std::string& token, int64_t stock) {
    HttpReply reply = server_->post(
        "/v1/products", json::serialize(json::object{{"title", "Scarf"}, {"price_cents", 1500}, {"stock", stock}}), token);
    EXPECT_EQ(reply.status, 201) << reply.describe();
    if (reply.status != 201) return {};
    return std::string(reply.json().at("id").as_string());
  }

};

TEST_F(ShowsTest, SellerCreatesAShowEveryoneReadsIt) {
  const std::string seller = server_->token("show-seller-1", "seller");
  HttpReply created = server_->post("/v1/shows", R"({"title":"Friday drop"})", seller);
  ASSERT_EQ(created.status, 201) << created.describe();
  json::object show = created.json().as_object();
  EXPECT_EQ(show.at("seller").as_string(), "show-seller-1");
  EXPECT_EQ(show.at("title").as_string(), "Friday drop");
  EXPECT_EQ(show.at("status").as_string(), "scheduled");
  EXPECT_EQ(show.at("viewers").as_int64(), 0);
  EXPECT_TRUE(show.at("showcase").is_null());
  const std::string id(show.at("id").as_string());
  ASSERT_EQ(id.rfind("shw_", 0), 0u);

  HttpReply fetched = server_->get("/v1/shows/" + id);
  ASSERT_EQ(fetched.status, 200) << fetched.describe();
  EXPECT_EQ(fetched.json().at("id").as_string(), id);

  HttpReply listed = server_->get("/v1/shows?limit=100");
  ASSERT_EQ(listed.status, 200) << listed.describe();
  bool found = false;
  const json::value page = listed.json();  // keep it alive for the loop
  for (const auto& item : page.at("items").as_array()) found = found || item.at("id").as_string() == id;
  EXPECT_TRUE(found) << listed.body;
  EXPECT_TRUE(listed.json().as_object().contains("next"));
}

TEST_F(ShowsTest, OnlyTheSellerPinsAndOnlyTheirOwnProduct) {
  const std::string seller = server_->token("show-seller-2", "seller");
  const std::string other_seller = server_->token("show-seller-3", "seller");
  const std::string buyer = server_->token("show-buyer-1", "buyer");
  const std::string show = make_show(seller, "Pin test");
  const std::string own = make_product(seller, 40);
  const std::string foreign = make_product(other_seller, 5);
  ASSERT_FALSE(show.empty());
  const std::string path = "/v1/shows/" + show + "/showcase";

  EXPECT_EQ(server_->post(path, R"({"product_id":")" + own + "\"}", buyer).status, 403);
  EXPECT_EQ(server_->post(path, R"({"product_id":")" + own + "\"}", other_seller).status, 403);
  EXPECT_EQ(server_->post(path, R"({"product_id":")" + foreign + "\"}", seller).status, 403);
  EXPECT_EQ(server_->post(path, R"({"product_id":"prd_999999"})", seller).status, 404);
  EXPECT_EQ(server_->post(path, R"({"product_id":7})", seller).status, 400);
  EXPECT_EQ(server_->post(path, R"({})", seller).status, 400);
  EXPECT_EQ(server_->post(path, R"({"product_id":")" + own + "\"}").status, 401);
  EXPECT_TRUE(server_->get("/v1/shows/" + show).json().at("showcase").is_null()) << "refusals change nothing";

  HttpReply pinned = server_->post(path, R"({"product_id":")" + own + "\"}", seller);
  ASSERT_EQ(pinned.status, 200) << pinned.describe();
  json::object showcase = pinned.json().at("showcase").as_object();
  EXPECT_EQ(showcase.at("id").as_string(), own);
  EXPECT_EQ(showcase.at("available").as_int64(), 40);
  EXPECT_EQ(showcase.at("state").as_string(), "in_stock");
  EXPECT_EQ(server_->get("/v1/shows/" + show).json().at("showcase").at("id").as_string(), own);
}

TEST_F(ShowsTest, BadInputGetsClearErrors) {
  const std::string seller = server_->token("show-seller-4", "seller");
  const std::string buyer = server_->token("show-buyer-2", "buyer");
  EXPECT_EQ(server_->post("/v1/shows", R"({"title":"x"})", buyer).status, 403);
  EXPECT_EQ(server_->post("/v1/shows", R"({"title":"x"})").status, 401);
  EXPECT_EQ(server_->post("/v1/shows", R"({"title":""})", seller).status, 400);
  EXPECT_EQ(server_->post("/v1/shows", R"({"title":5})", seller).status, 400);
  EXPECT_EQ(server_->post("/v1/shows", R"([1,2])", seller).status, 400);
  EXPECT_EQ(server_->post("/v1/shows", "{", seller).status, 400);
  EXPECT_EQ(server_->get("/v1/shows/shw_0").status, 404);
  EXPECT_EQ(server_->get("/v1/shows/nope").status, 404);
  EXPECT_EQ(server_->get("/v1/shows/shw_424242").status, 404);
  EXPECT_EQ(server_->get("/v1/shows?limit=0").status, 400);
  EXPECT_EQ(server_->get("/v1/shows?cursor=abc").status, 400);
  HttpReply error = server_->post("/v1/shows", R"({"title":5})", seller);
  EXPECT_TRUE(error.json().at("error").as_object().contains("code")) << error.body;
}

}  // namespace
}  // namespace hawker::testing
