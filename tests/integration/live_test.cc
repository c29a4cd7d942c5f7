// Proves the live WebSocket endpoints against the real binary with real
// WebSocket clients: a viewer gets a hello with the show and the pinned
// product; a chat reaches every viewer; a purchase makes every viewer's
// `inventory` fall and only the buyer's connection gets the `order` frame;
// the seller channel gets the sale notice; and the handshake and frame rules
// hold: foreign Origin 403, unknown show 404, bad token 401, oversized frame
// closed 1009, malformed JSON an `error` frame, chat without a token refused.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/hawker_process.h"
#include "support/server_suite.h"
#include "support/ws_client.h"

namespace hawker::testing {
namespace {
namespace json = boost::json;

class LiveTest : public ServerSuite {
 protected:
  // A show by `seller` pinning a new product with `stock` units; returns {show, product}.
  static std::pair<std::string, std::string> live_show(const std::string& seller, int64_t stock) {
    PinnedSale sale = open_pinned_sale(*server_, seller, stock);
    return {sale.show, sale.product};
  }

};

TEST_F(LiveTest, HelloCarriesTheShowAndThePinnedProduct) {
  auto [show, product] = live_show("live-seller-1", 30);
  ASSERT_FALSE(show.empty());
  WsClient guest;
  ASSERT_TRUE(guest.connect(server_->port(), "/v1/shows/" + show + "/live")) << guest.http_status();
  auto hello = guest.read_type("hello");
  ASSERT_TRUE(hello.has_value());
  EXPECT_TRUE(hello->contains("seq"));
  std::string text = json::serialize(*hello);
  EXPECT_NE(text.find(product), std::string::npos) << text;
  EXPECT_NE(text.find("\"available\":30"), std::string::npos) << text;
}

TEST_F(LiveTest, ChatReachesEveryViewerAndGuestsCannotChat) {
  auto [show, product] = live_show("live-seller-2", 5);
  const std::string path = "/v1/shows/" + show + "/live";
  WsClient alice, guest;
  ASSERT_TRUE(alice.connect(server_->port(), path + "?token=" + server_->token("alice")));
  ASSERT_TRUE(guest.connect(server_->port(), path));
  ASSERT_TRUE(alice.read_type("hello"));
  ASSERT_TRUE(guest.read_type("hello"));
  ASSERT_TRUE(alice.send_text(R"({"type":"chat","text":"hello everyone"})"));
  for (WsClient* viewer : {&alice, &guest}) {
    auto chat = viewer->read_type("chat");
    ASSERT_TRUE(chat.has_value());
    EXPECT_EQ(chat->at("user").as_string(), "alice");
    EXPECT_EQ(chat->at("text").as_string(), "hello everyone");
  }
  ASSERT_TRUE(guest.send_text(R"({"type":"chat","text":"me too"})"));
  auto refused = guest.read_type("error");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->at("code").as_string(), "unauthorized");
}

TEST_F(LiveTest, APurchaseMovesEveryViewersStockAndOnlyTheBuyerGetsTheOrder) {
  auto [show, product] = live_show("live-seller-3", 10);
  const std::string path = "/v1/shows/" + show + "/live";
  const std::string buyer_token = server_->token("live-buyer-1");
  WsClient buyer, watcher, seller;
  ASSERT_TRUE(buyer.connect(server_->port(), path, {{"Authorization", "Bearer " + buyer_token}}));
  ASSERT_TRUE(watcher.connect(server_->port(), path + "?token=" + server_->token("live-watcher-1")));
  ASSERT_TRUE(seller.connect(server_->port(), "/v1/sellers/me/live?token=" + server_->token("live-seller-3", "seller")));
  ASSERT_TRUE(buyer.read_type("hello"));
  ASSERT_TRUE(watcher.read_type("hello"));

  HttpReply order = server_->post(
      "/v1/orders", json::serialize(json::object{{"product_id", product}, {"quantity", 2}, {"payment_token", "tok_visa"}}),
      buyer_token, {{"Idempotency-Key", "live-1"}});
  ASSERT_EQ(order.status, 202) << order.describe();
  const std::string order_id(order.json().at("order_id").as_string());

  // The buyer sees its order decided, possibly reserved first, then confirmed.
  bool confirmed = false;
  for (int i = 0; i < 3 && !confirmed; ++i) {
    auto frame = buyer.read_type("order");
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(frame->at("order_id").as_string(), order_id);
    confirmed = frame->at("status").as_string() == "confirmed";
  }
  EXPECT_TRUE(confirmed);
  // The stock falls for every viewer (coalesced: wait for the value 8).
  for (WsClient* viewer : {&watcher}) {
    bool saw_eight = false;
    for (int i = 0; i < 5 && !saw_eight; ++i) {
      auto inventory = viewer->read_type("inventory");
      ASSERT_TRUE(inventory.has_value());
      EXPECT_EQ(inventory->at("product_id").as_string(), product);
      saw_eight = inventory->at("available").as_int64() == 8;
    }
    EXPECT_TRUE(saw_eight);
  }
  auto notice = seller.read_type("notice");
  ASSERT_TRUE(notice.has_value());
  EXPECT_EQ(notice->at("kind").as_string(), "sale");
  // The watcher never gets the buyer's order frame (reads until quiet).
  EXPECT_FALSE(watcher.read_type("order", 800).has_value());
}

TEST_F(LiveTest, HandshakeRulesForeignOriginUnknownShowBadToken) {
  auto [show, product] = live_show("live-seller-4", 1);
  const std::string path = "/v1/shows/" + show + "/live";
  WsClient foreign;
  EXPECT_FALSE(foreign.connect(server_->port(), path, {{"Origin", "http://evil.example"}}));
  EXPECT_EQ(foreign.http_status(), 403);
  WsClient same_origin;
  EXPECT_TRUE(same_origin.connect(server_->port(), path,
                                  {{"Origin", "http://127.0.0.1:" + std::to_string(server_->port())}}));
  WsClient unknown;
  EXPECT_FALSE(unknown.connect(server_->port(), "/v1/shows/shw_987654/live"));
  EXPECT_EQ(unknown.http_status(), 404);
  WsClient bad_token;
  EXPECT_FALSE(bad_token.connect(server_->port(), path + "?token=garbage"));
  EXPECT_EQ(bad_token.http_status(), 401);
  WsClient buyer_as_seller;
  EXPECT_FALSE(buyer_as_seller.connect(server_->port(), "/v1/sellers/me/live?token=" + server_->token("someone")));
  EXPECT_EQ(buyer_as_seller.http_status(), 401);
}

TEST_F(LiveTest, MalformedFramesGetErrorsAndAnOversizedFrameIsClosed1009) {
  auto [show, product] = live_show("live-seller-5", 1);
  const std::string path = "/v1/shows/" + show + "/live?token=" + server_->token("live-viewer-5");
  WsClient viewer;
  ASSERT_TRUE(viewer.connect(server_->port(), path));
  ASSERT_TRUE(viewer.read_type("hello"));
  ASSERT_TRUE(viewer.send_text("{not json"));
  auto error = viewer.read_type("error");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->at("code").as_string(), "bad_frame");
  ASSERT_TRUE(viewer.send_text(R"({"type":"dance"})"));
  ASSERT_TRUE(viewer.read_type("error").has_value());

  WsClient big;
  ASSERT_TRUE(big.connect(server_->port(), path));
  ASSERT_TRUE(big.read_type("hello"));
  big.send_text(std::string(70 * 1024, 'x'));
  EXPECT_FALSE(big.read(5000).has_value());
  EXPECT_EQ(big.close_code(), 1009);
}

}  // namespace
}  // namespace hawker::testing
