// Proves, with real WebSocket clients against the real binary: a viewer who
// reconnects with since_seq gets exactly the broadcasts it missed; the show's
// seller can mute a user and set blocked words (and nobody else can); a chat
// flood is rate-limited; and the seller channel sends `stats` (viewers,
// revenue, stock per product) about once a second.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/hawker_process.h"
#include "support/server_suite.h"
#include "support/ws_client.h"

namespace hawker::testing {
namespace {
namespace json = boost::json;

class LiveModerationTest : public ServerSuite {
 protected:
  static std::string make_show(const std::string& seller) {
    HttpReply show = server_->post("/v1/shows", R"({"title":"Moderated"})", server_->token(seller, "seller"));
    EXPECT_EQ(show.status, 201) << show.describe();
    return show.status == 201 ? std::string(show.json().at("id").as_string()) : std::string();
  }
  // Reads chats until one says `text` (false on timeout).
  static bool wait_for_chat(WsClient& client, const std::string& text) {
    for (int i = 0; i < 20; ++i) {
      auto chat = client.read_type("chat");
      if (!chat) return false;
      if (chat->at("text").as_string() == text) return true;
    }
    return false;
  }
  static std::string live_path(const std::string& show, const std::string& user, const std::string& role = "buyer") {
    return "/v1/shows/" + show + "/live?token=" + server_->token(user, role);
  }
};

TEST_F(LiveModerationTest, ResumeWithSinceSeqReplaysExactlyTheMissedBroadcasts) {
  const std::string show = make_show("mod-seller-1");
  WsClient away;
  ASSERT_TRUE(away.connect(server_->port(), live_path(show, "away-viewer")));
  auto hello = away.read_type("hello");
  ASSERT_TRUE(hello.has_value());
  const int64_t seen = hello->at("seq").to_number<int64_t>();
  away.close();

  WsClient talker;
  ASSERT_TRUE(talker.connect(server_->port(), live_path(show, "talker")));
  ASSERT_TRUE(talker.read_type("hello"));
  ASSERT_TRUE(talker.send_text(R"({"type":"chat","text":"first"})"));
  ASSERT_TRUE(talker.send_text(R"({"type":"chat","text":"second"})"));
  ASSERT_TRUE(talker.read_type("chat"));
  ASSERT_TRUE(talker.read_type("chat"));

  WsClient back;
  ASSERT_TRUE(back.connect(server_->port(), live_path(show, "away-viewer") + "&since_seq=" + std::to_string(seen)));
  std::vector<std::string> texts;
  int64_t last_seq = seen;
  while (texts.size() < 2) {
    auto text = back.read(5000);
    ASSERT_TRUE(text.has_value()) << "missed broadcasts were not replayed";
    json::object frame = json::parse(*text).as_object();
    ASSERT_NE(frame.at("type").as_string(), "hello") << "a recent since_seq must replay, not re-hello";
    const int64_t seq = frame.at("seq").to_number<int64_t>();
    EXPECT_GT(seq, last_seq);
    last_seq = seq;
    if (frame.at("type").as_string() == "chat") texts.emplace_back(frame.at("text").as_string());
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"first", "second"}));
}

TEST_F(LiveModerationTest, OnlyTheSellerMutesAndBlocksWords) {
  const std::string show = make_show("mod-seller-2");
  WsClient seller, bob, carol;
  ASSERT_TRUE(seller.connect(server_->port(), live_path(show, "mod-seller-2", "seller")));
  ASSERT_TRUE(bob.connect(server_->port(), live_path(show, "bob")));
  ASSERT_TRUE(carol.connect(server_->port(), live_path(show, "carol")));
  for (WsClient* client : {&seller, &bob, &carol}) ASSERT_TRUE(client->read_type("hello"));

  ASSERT_TRUE(carol.send_text(R"({"type":"mute","user":"bob"})"));
  auto refused = carol.read_type("error");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->at("code").as_string(), "forbidden");

  // Each connection has its own strand: order carol's chat after the seller's
  // frames by waiting for a chat the seller sends after them.
  ASSERT_TRUE(seller.send_text(R"({"type":"blocked_words","words":["spam"]})"));
  ASSERT_TRUE(seller.send_text(R"({"type":"chat","text":"rules are set"})"));
  ASSERT_TRUE(wait_for_chat(carol, "rules are set"));
  ASSERT_TRUE(carol.send_text(R"({"type":"chat","text":"buy SPAM now"})"));
  auto blocked = carol.read_type("error");
  ASSERT_TRUE(blocked.has_value());
  EXPECT_EQ(blocked->at("code").as_string(), "chat_refused");

  ASSERT_TRUE(seller.send_text(R"({"type":"mute","user":"bob"})"));
  ASSERT_TRUE(seller.send_text(R"({"type":"chat","text":"welcome"})"));
  ASSERT_TRUE(wait_for_chat(bob, "welcome"));
  ASSERT_TRUE(bob.send_text(R"({"type":"chat","text":"hello?"})"));
  auto muted = bob.read_type("error");
  ASSERT_TRUE(muted.has_value());
  EXPECT_EQ(muted->at("code").as_string(), "chat_refused");
}

TEST_F(LiveModerationTest, AChatFloodIsRateLimited) {
  const std::string show = make_show("mod-seller-3");
  WsClient flooder;
  ASSERT_TRUE(flooder.connect(server_->port(), live_path(show, "flooder")));
  ASSERT_TRUE(flooder.read_type("hello"));
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(flooder.send_text(R"({"type":"chat","text":"again"})"));
  auto limited = flooder.read_type("error");
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ(limited->at("code").as_string(), "rate_limited");
}

TEST_F(LiveModerationTest, SellerChannelSendsStatsAboutOnceASecond) {
  const std::string seller_token = server_->token("mod-seller-4", "seller");
  HttpReply product = server_->post("/v1/products", R"({"title":"Mug","price_cents":2500,"stock":9})", seller_token);
  ASSERT_EQ(product.status, 201) << product.describe();
  const std::string product_id(product.json().at("id").as_string());
  WsClient seller;
  ASSERT_TRUE(seller.connect(server_->port(), "/v1/sellers/me/live?token=" + seller_token));
  HttpReply order = server_->post(
      "/v1/orders", json::serialize(json::object{{"product_id", product_id}, {"quantity", 1}, {"payment_token", "tok_visa"}}),
      server_->token("stats-buyer"), {{"Idempotency-Key", "stats-1"}});
  ASSERT_EQ(order.status, 202) << order.describe();
  bool saw_sale = false;
  for (int i = 0; i < 10 && !saw_sale; ++i) {
    auto stats = seller.read_type("stats", 3000);
    ASSERT_TRUE(stats.has_value());
    const json::array& stock = stats->at("stock").as_array();
    ASSERT_EQ(stock.size(), 1u);
    EXPECT_EQ(stock[0].at("product_id").as_string(), product_id);
    saw_sale = stats->at("revenue_cents").to_number<int64_t>() == 2500 && stock[0].at("available").as_int64() == 8;
  }
  EXPECT_TRUE(saw_sale);
}

}  // namespace
}  // namespace hawker::testing
