// HTTP integration tests of the public API against the real `hawker serve`
// binary (one server for the suite, a fresh data folder, sandbox payments).
//
// They prove, over real sockets: products are created, read (with ETag and
// Cache-Control, 304 on a matching If-None-Match), listed by seller with
// cursor pagination, and restocked by their owner only; an order is answered
// 202 and ends confirmed (polled, bounded); the same Idempotency-Key replays
// the same order and with another body is 422; declined and timed-out
// payments end rejected (payment_declined / payment_failed) and give the stock
// back; the per-buyer limit rejects with limit_exceeded; a sold-out product
// answers 409 at the edge; an order is visible to its buyer and its product's
// seller only; every kind of bad input is a 4xx with the JSON error envelope
// and changes no stock and accepts no order; /metrics is Prometheus text.
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/jwt.h"
#include "support/hawker_process.h"
#include "support/server_suite.h"

namespace hawker::testing {
namespace {

namespace json = boost::json;

constexpr int kFinalWaitMs = 30'000;  // bound for an order to reach a final state
constexpr int kProjectionWaitMs = 10'000;

class ApiTest : public ServerSuite {
 protected:
  // A name no other test uses, for sellers, buyers and keys.
  static std::string unique(const std::string& prefix) {
    static std::atomic<int> next{0};
    return prefix + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
           std::to_string(next.fetch_add(1));
  }

  static std::string mint(const std::string& sub, const std::string& role) {
    std::string token = server_->token(sub, role);
    EXPECT_FALSE(token.empty()) << "hawker token failed for " << sub;
    return token;
  }

  static HttpReply create_product(const std::string& seller_token, const json::object& body) {
    return server_->post("/v1/products", json::serialize(body), seller_token);
  }

  // Creates a product and returns its id ("" after a recorded failure).
  static std::string make_product(const std::string& seller_token, int64_t stock, int64_t max_per_buyer = 0,
                                  int64_t price_cents = 1299) {
    json::object body{{"title", "Test lamp"}, {"price_cents", price_cents}, {"stock", stock}};
    if (max_per_buyer > 0) body["max_per_buyer"] = max_per_buyer;
    HttpReply reply = create_product(seller_token, body);
    EXPECT_EQ(reply.status, 201) << reply.describe();
    json::value product = reply.json();
    if (!product.is_object() || !product.as_object().contains("id")) {
      ADD_FAILURE() << "no product in " << reply.describe();
      return {};
    }
    return std::string(product.at("id").as_string());
  }

  static HttpReply buy(const std::string& buyer_token, const std::string& key, const std::string& product_id,
                       int64_t quantity, const std::string& payment_token = "tok_visa") {
    json::object body{{"product_id", product_id}, {"quantity", quantity}, {"payment_token", payment_token}};
    return server_->post("/v1/orders", json::serialize(body), buyer_token, {{"Idempotency-Key", key}});
  }

  // Places an order and returns its id ("" after a recorded failure).
  static std::string place(const std::string& buyer_token, const std::string& product_id, int64_t quantity,
                           const std::string& payment_token = "tok_visa") {
    HttpReply reply = buy(buyer_token, unique("key"), product_id, quantity, payment_token);
    EXPECT_EQ(reply.status, 202) << reply.describe();
    json::value body = reply.json();
    if (!body.is_object() || !body.as_object().contains("order_id")) {
      ADD_FAILURE() << "no order id in " << reply.describe();
      return {};
    }
    EXPECT_EQ(body.at("status"), "accepted");
    return std::string(body.at("order_id").as_string());
  }

  // Polls GET /v1/orders/{id} until the order is confirmed or rejected
  // (bounded). Every poll must answer 200: an accepted order never vanishes.
  static json::object wait_final(const std::string& order_id, const std::string& token) {
    json::object last;
    bool final_state = eventually(
        [&] {
          HttpReply reply = server_->get("/v1/orders/" + order_id, token);
          EXPECT_EQ(reply.status, 200) << "order " << order_id << ": " << reply.describe();
          json::value body = reply.json();
          if (reply.status != 200 || !body.is_object()) return reply.status != 200;  // stop on a failure
          last = body.as_object();
          return last.at("status") == "confirmed" || last.at("status") == "rejected";
        },
        kFinalWaitMs, 25);
    EXPECT_TRUE(final_state) << "order " << order_id << " not final within " << kFinalWaitMs
                             << " ms; last seen " << json::serialize(last);
    return last;
  }

  static json::object get_product(const std::string& product_id) {
    HttpReply reply = server_->get("/v1/products/" + product_id);
    EXPECT_EQ(reply.status, 200) << reply.describe();
    json::value body = reply.json();
    return body.is_object() ? body.as_object() : json::object();
  }

  static int64_t available(const std::string& product_id) {
    json::object product = get_product(product_id);
    return product.contains("available") ? product.at("available").to_number<int64_t>() : -1;
  }

  // Waits until the read side shows `expected` units available.
  static void expect_available(const std::string& product_id, int64_t expected) {
    int64_t seen = -1;
    bool reached = eventually(
        [&] {
          seen = available(product_id);
          return seen == expected;
        },
        kProjectionWaitMs);
    EXPECT_TRUE(reached) << product_id << " shows " << seen << " available, expected " << expected;
  }

  // The value of one sample line of /metrics, or -1.
  static double metric(const std::string& sample) {
    HttpReply reply = server_->get("/metrics");
    if (reply.status != 200) return -1;
    size_t at = 0;
    while ((at = reply.body.find(sample + " ", at)) != std::string::npos) {
      if (at == 0 || reply.body[at - 1] == '\n') return std::strtod(reply.body.c_str() + at + sample.size() + 1, nullptr);
      at += sample.size();
    }
    return -1;
  }

};

// The body is the error envelope {"error":{"code","message"}} with `code`.
::testing::AssertionResult is_error(const HttpReply& reply, int status, const std::string& code) {
  if (reply.status != status)
    return ::testing::AssertionFailure() << "expected " << status << " " << code << ", got " << reply.describe();
  if (reply.header("content-type").rfind("application/json", 0) != 0)
    return ::testing::AssertionFailure() << "error is not JSON: content-type " << reply.header("content-type");
  json::value body = reply.json();
  if (!body.is_object() || !body.as_object().contains("error") || !body.at("error").is_object())
    return ::testing::AssertionFailure() << "no error envelope in " << reply.describe();
  const json::object& error = body.at("error").as_object();
  const json::value* error_code = error.if_contains("code");
  const json::value* message = error.if_contains("message");
  if (!error_code || !error_code->is_string() || !message || !message->is_string() || message->as_string().empty())
    return ::testing::AssertionFailure() << "error lacks code or message: " << reply.describe();
  if (error_code->as_string() != code)
    return ::testing::AssertionFailure() << "expected code " << code << ", got " << reply.describe();
  return ::testing::AssertionSuccess();
}

TEST_F(ApiTest, HealthzAnswersOk) {
  HttpReply reply = server_->get("/healthz");
  ASSERT_EQ(reply.status, 200) << reply.describe();
  EXPECT_EQ(reply.json().at("status"), "ok");
}

TEST_F(ApiTest, CreateProductReturnsItAndGetServesItWithCachingHeaders) {
  const std::string seller = unique("seller");
  const std::string token = mint(seller, "seller");
  HttpReply created = create_product(
      token, json::object{{"title", "Walnut desk lamp"}, {"price_cents", 4599}, {"currency", "EUR"}, {"stock", 25},
                          {"max_per_buyer", 3}, {"low_threshold", 5}});
  ASSERT_EQ(created.status, 201) << created.describe();
  json::object product = created.json().as_object();
  ASSERT_TRUE(product.contains("id"));
  EXPECT_EQ(product.at("seller"), seller.c_str());
  EXPECT_EQ(product.at("title"), "Walnut desk lamp");
  EXPECT_EQ(product.at("price_cents").to_number<int64_t>(), 4599);
  EXPECT_EQ(product.at("currency"), "EUR");
  EXPECT_EQ(product.at("available").to_number<int64_t>(), 25);
  EXPECT_EQ(product.at("state"), "in_stock");
  EXPECT_EQ(product.at("max_per_buyer").to_number<int64_t>(), 3);

  const std::string id(product.at("id").as_string());
  HttpReply fetched = server_->get("/v1/products/" + id);
  ASSERT_EQ(fetched.status, 200) << fetched.describe();
  EXPECT_EQ(fetched.json(), json::value(product)) << "GET differs from what POST returned";
  EXPECT_FALSE(fetched.header("etag").empty());
  EXPECT_NE(fetched.header("cache-control").find("max-age"), std::string::npos) << fetched.header("cache-control");

  // Currency defaults to USD.
  HttpReply plain = create_product(token, json::object{{"title", "Plain"}, {"price_cents", 100}, {"stock", 1}});
  ASSERT_EQ(plain.status, 201) << plain.describe();
  EXPECT_EQ(plain.json().at("currency"), "USD");
}

TEST_F(ApiTest, GetProductAnswers304WhenEtagMatchesAndANewEtagAfterAChange) {
  const std::string token = mint(unique("seller"), "seller");
  const std::string id = make_product(token, 10);
  ASSERT_FALSE(id.empty());
  HttpReply first = server_->get("/v1/products/" + id);
  ASSERT_EQ(first.status, 200) << first.describe();
  const std::string etag = first.header("etag");
  ASSERT_FALSE(etag.empty());

  HttpReply revalidated = server_->get("/v1/products/" + id, "", {{"If-None-Match", etag}});
  EXPECT_EQ(revalidated.status, 304) << revalidated.describe();
  EXPECT_TRUE(revalidated.body.empty());
  EXPECT_EQ(revalidated.header("etag"), etag);

  HttpReply stale = server_->get("/v1/products/" + id, "", {{"If-None-Match", "\"not-the-etag\""}});
  EXPECT_EQ(stale.status, 200) << stale.describe();

  // After a restock the representation changes, and so does the ETag.
  HttpReply restocked = server_->post("/v1/products/" + id + "/restock", R"({"quantity":5})", token);
  ASSERT_EQ(restocked.status, 200) << restocked.describe();
  HttpReply changed = server_->get("/v1/products/" + id, "", {{"If-None-Match", etag}});
  EXPECT_EQ(changed.status, 200) << changed.describe();
  EXPECT_NE(changed.header("etag"), etag);
  EXPECT_EQ(changed.json().at("available").to_number<int64_t>(), 15);
}

TEST_F(ApiTest, GetUnknownProductIs404) {
  EXPECT_TRUE(is_error(server_->get("/v1/products/prd_987654321"), 404, "not_found"));
  EXPECT_TRUE(is_error(server_->get("/v1/products/banana"), 404, "not_found"));
}

TEST_F(ApiTest, ListProductsBySellerPagesWithACursor) {
  const std::string seller = unique("seller");
  const std::string token = mint(seller, "seller");
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i) {
    created.push_back(make_product(token, 3 + i));
    ASSERT_FALSE(created.back().empty());
  }
  // Another seller's product must not show up.
  ASSERT_FALSE(make_product(mint(unique("other"), "seller"), 1).empty());

  std::vector<std::string> listed;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::string target = "/v1/products?seller=" + seller + "&limit=2";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    HttpReply reply = server_->get(target);
    ASSERT_EQ(reply.status, 200) << reply.describe();
    json::object body = reply.json().as_object();
    const json::array& items = body.at("items").as_array();
    EXPECT_LE(items.size(), 2u);
    for (const auto& item : items) {
      EXPECT_EQ(item.at("seller"), seller.c_str());
      listed.emplace_back(item.at("id").as_string());
    }
    if (body.at("next").is_null()) break;
    ASSERT_TRUE(body.at("next").is_string()) << json::serialize(body);
    cursor = std::string(body.at("next").as_string());
    ASSERT_FALSE(items.empty()) << "a non-null cursor after an empty page";
  }
  EXPECT_EQ(listed, created) << "pages must hold every product once, in creation order";

  EXPECT_TRUE(is_error(server_->get("/v1/products?seller=" + seller + "&limit=0"), 400, "invalid_request"));
  EXPECT_TRUE(is_error(server_->get("/v1/products?seller=" + seller + "&limit=101"), 400, "invalid_request"));
  EXPECT_TRUE(is_error(server_->get("/v1/products?seller=" + seller + "&cursor=xyz"), 400, "invalid_request"));
}

TEST_F(ApiTest, RestockByOwnerAddsStockOthersAre403BadQuantityIs400) {
  const std::string owner = mint(unique("seller"), "seller");
  const std::string id = make_product(owner, 4);
  ASSERT_FALSE(id.empty());
  const std::string target = "/v1/products/" + id + "/restock";

  HttpReply restocked = server_->post(target, R"({"quantity":6})", owner);
  ASSERT_EQ(restocked.status, 200) << restocked.describe();
  EXPECT_EQ(restocked.json().at("available").to_number<int64_t>(), 10);
  expect_available(id, 10);

  EXPECT_TRUE(is_error(server_->post(target, R"({"quantity":1})", mint(unique("rival"), "seller")), 403, "forbidden"));
  EXPECT_TRUE(is_error(server_->post(target, R"({"quantity":1})", mint(unique("buyer"), "buyer")), 403, "forbidden"));
  EXPECT_TRUE(is_error(server_->post(target, R"({"quantity":1})"), 401, "unauthorized"));
  for (const char* body : {R"({"quantity":0})", R"({"quantity":-3})", R"({"quantity":"5"})", R"({"quantity":1.5})",
                           R"({})", R"([5])", "{nope"})
    EXPECT_TRUE(is_error(server_->post(target, body, owner), 400, "invalid_request")) << body;
  EXPECT_TRUE(is_error(server_->post("/v1/products/prd_987654321/restock", R"({"quantity":1})", owner), 404,
                       "not_found"));
  expect_available(id, 10);
}

TEST_F(ApiTest, OrderHappyPathEndsConfirmedAndTakesTheStock) {
  const std::string seller_token = mint(unique("seller"), "seller");
  const std::string id = make_product(seller_token, 10, 0, 1299);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");
  const std::string order_id = place(buyer, id, 2);
  ASSERT_FALSE(order_id.empty());

  json::object order = wait_final(order_id, buyer);
  EXPECT_EQ(order.at("status"), "confirmed") << json::serialize(order);
  EXPECT_EQ(order.at("order_id"), order_id.c_str());
  EXPECT_EQ(order.at("product_id"), id.c_str());
  EXPECT_EQ(order.at("quantity").to_number<int64_t>(), 2);
  EXPECT_FALSE(order.contains("reason")) << json::serialize(order);
  expect_available(id, 8);
}

TEST_F(ApiTest, SameKeySameBodyReplaysTheSameOrder) {
  const std::string id = make_product(mint(unique("seller"), "seller"), 10);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");
  const std::string key = unique("key");
  HttpReply first = buy(buyer, key, id, 1);
  ASSERT_EQ(first.status, 202) << first.describe();
  const std::string order_id(first.json().at("order_id").as_string());

  HttpReply again = buy(buyer, key, id, 1);
  ASSERT_EQ(again.status, 202) << again.describe();
  EXPECT_EQ(again.json().at("order_id"), order_id.c_str());

  EXPECT_EQ(wait_final(order_id, buyer).at("status"), "confirmed");
  // Still the same order once it is final; only one unit was ever taken.
  HttpReply late = buy(buyer, key, id, 1);
  ASSERT_EQ(late.status, 202) << late.describe();
  EXPECT_EQ(late.json().at("order_id"), order_id.c_str());
  expect_available(id, 9);

  // Keys belong to a buyer: another buyer's same key is another order.
  const std::string other = mint(unique("buyer"), "buyer");
  HttpReply theirs = buy(other, key, id, 1);
  ASSERT_EQ(theirs.status, 202) << theirs.describe();
  EXPECT_NE(theirs.json().at("order_id"), order_id.c_str());
}

TEST_F(ApiTest, SameKeyWithAnotherBodyIs422) {
  const std::string id = make_product(mint(unique("seller"), "seller"), 10);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");
  const std::string key = unique("key");
  HttpReply first = buy(buyer, key, id, 1);
  ASSERT_EQ(first.status, 202) << first.describe();
  const std::string order_id(first.json().at("order_id").as_string());

  EXPECT_TRUE(is_error(buy(buyer, key, id, 2), 422, "idempotency_key_reused"));
  EXPECT_TRUE(is_error(buy(buyer, key, id, 1, "tok_decline"), 422, "idempotency_key_reused"));
  EXPECT_EQ(wait_final(order_id, buyer).at("status"), "confirmed");
  EXPECT_TRUE(is_error(buy(buyer, key, id, 3), 422, "idempotency_key_reused"));
  expect_available(id, 9);
}

TEST_F(ApiTest, DeclinedPaymentEndsRejectedAndTheStockReturns) {
  const std::string id = make_product(mint(unique("seller"), "seller"), 5);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");
  const std::string order_id = place(buyer, id, 3, "tok_decline");
  ASSERT_FALSE(order_id.empty());
  json::object order = wait_final(order_id, buyer);
  EXPECT_EQ(order.at("status"), "rejected") << json::serialize(order);
  EXPECT_EQ(order.at("reason"), "payment_declined") << json::serialize(order);
  expect_available(id, 5);
}

TEST_F(ApiTest, PaymentTimeoutEndsRejectedPaymentFailedAndTheStockReturns) {
  const std::string id = make_product(mint(unique("seller"), "seller"), 5);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");
  const std::string order_id = place(buyer, id, 2, "tok_timeout");
  ASSERT_FALSE(order_id.empty());
  json::object order = wait_final(order_id, buyer);
  EXPECT_EQ(order.at("status"), "rejected") << json::serialize(order);
  EXPECT_EQ(order.at("reason"), "payment_failed") << json::serialize(order);
  expect_available(id, 5);
}

TEST_F(ApiTest, PerBuyerLimitRejectsWithLimitExceeded) {
  const std::string id = make_product(mint(unique("seller"), "seller"), 20, /*max_per_buyer=*/2);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");

  // Over the limit in one order.
  json::object too_many = wait_final(place(buyer, id, 3), buyer);
  EXPECT_EQ(too_many.at("status"), "rejected") << json::serialize(too_many);
  EXPECT_EQ(too_many.at("reason"), "limit_exceeded") << json::serialize(too_many);

  // Up to the limit, then one more.
  EXPECT_EQ(wait_final(place(buyer, id, 2), buyer).at("status"), "confirmed");
  json::object extra = wait_final(place(buyer, id, 1), buyer);
  EXPECT_EQ(extra.at("status"), "rejected") << json::serialize(extra);
  EXPECT_EQ(extra.at("reason"), "limit_exceeded") << json::serialize(extra);

  // Another buyer still may buy.
  const std::string other = mint(unique("buyer"), "buyer");
  EXPECT_EQ(wait_final(place(other, id, 2), other).at("status"), "confirmed");
  expect_available(id, 16);
}

TEST_F(ApiTest, SoldOutProductAnswers409AtTheEdge) {
  const std::string id = make_product(mint(unique("seller"), "seller"), 2);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");
  const std::string key = unique("key");
  HttpReply bought = buy(buyer, key, id, 2);
  ASSERT_EQ(bought.status, 202) << bought.describe();
  const std::string order_id(bought.json().at("order_id").as_string());
  EXPECT_EQ(wait_final(order_id, buyer).at("status"), "confirmed");
  expect_available(id, 0);
  EXPECT_EQ(get_product(id).at("state"), "sold_out");

  const std::string late = mint(unique("buyer"), "buyer");
  EXPECT_TRUE(is_error(buy(late, unique("key"), id, 1), 409, "sold_out"));
  EXPECT_TRUE(is_error(buy(buyer, unique("key"), id, 1), 409, "sold_out"));
  // A key seen before is still answered with its order, even once sold out.
  HttpReply replay = buy(buyer, key, id, 2);
  ASSERT_EQ(replay.status, 202) << replay.describe();
  EXPECT_EQ(replay.json().at("order_id"), order_id.c_str());
  expect_available(id, 0);
}

TEST_F(ApiTest, OrderForMoreThanIsLeftEndsRejectedSoldOut) {
  const std::string id = make_product(mint(unique("seller"), "seller"), 3);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");
  // The edge lets it in (some stock is left); the decision rejects it.
  json::object order = wait_final(place(buyer, id, 5), buyer);
  EXPECT_EQ(order.at("status"), "rejected") << json::serialize(order);
  EXPECT_EQ(order.at("reason"), "sold_out") << json::serialize(order);
  expect_available(id, 3);
  EXPECT_EQ(wait_final(place(buyer, id, 3), buyer).at("status"), "confirmed");
  expect_available(id, 0);
}

TEST_F(ApiTest, RestockAfterSellingOutOpensTheEdgeAgain) {
  const std::string seller = mint(unique("seller"), "seller");
  const std::string id = make_product(seller, 1);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");
  EXPECT_EQ(wait_final(place(buyer, id, 1), buyer).at("status"), "confirmed");
  expect_available(id, 0);
  EXPECT_TRUE(is_error(buy(buyer, unique("key"), id, 1), 409, "sold_out"));

  HttpReply restocked = server_->post("/v1/products/" + id + "/restock", R"({"quantity":2})", seller);
  ASSERT_EQ(restocked.status, 200) << restocked.describe();
  expect_available(id, 2);
  // The edge follows the restock (asynchronously): a click is let in again.
  HttpReply accepted;
  EXPECT_TRUE(eventually(
      [&] {
        accepted = buy(buyer, unique("key"), id, 2);
        EXPECT_TRUE(accepted.status == 202 || accepted.status == 409) << accepted.describe();
        return accepted.status != 409;
      },
      kProjectionWaitMs, 25));
  ASSERT_EQ(accepted.status, 202) << accepted.describe();
  EXPECT_EQ(wait_final(std::string(accepted.json().at("order_id").as_string()), buyer).at("status"), "confirmed");
  expect_available(id, 0);
}

TEST_F(ApiTest, OrderIsVisibleToItsBuyerAndItsSellerOnly) {
  const std::string seller = mint(unique("seller"), "seller");
  const std::string id = make_product(seller, 5);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");
  const std::string order_id = place(buyer, id, 1);
  ASSERT_FALSE(order_id.empty());
  // Readable while undecided and after.
  HttpReply early = server_->get("/v1/orders/" + order_id, buyer);
  EXPECT_EQ(early.status, 200) << early.describe();
  EXPECT_EQ(wait_final(order_id, buyer).at("status"), "confirmed");

  HttpReply by_seller = server_->get("/v1/orders/" + order_id, seller);
  ASSERT_EQ(by_seller.status, 200) << by_seller.describe();
  EXPECT_EQ(by_seller.json().at("order_id"), order_id.c_str());

  EXPECT_TRUE(is_error(server_->get("/v1/orders/" + order_id, mint(unique("stranger"), "buyer")), 404, "not_found"));
  EXPECT_TRUE(is_error(server_->get("/v1/orders/" + order_id, mint(unique("stranger"), "seller")), 404, "not_found"));
  EXPECT_TRUE(is_error(server_->get("/v1/orders/" + order_id), 401, "unauthorized"));
  EXPECT_TRUE(is_error(server_->get("/v1/orders/ord_00000000deadbeef", buyer), 404, "not_found"));
  EXPECT_TRUE(is_error(server_->get("/v1/orders/banana", buyer), 404, "not_found"));
}

TEST_F(ApiTest, BadOrderInputIsA4xxJsonErrorAndChangesNothing) {
  const std::string seller_name = unique("seller");
  const std::string seller = mint(seller_name, "seller");
  const std::string id = make_product(seller, 7);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");
  const std::string secret = server_->secret();
  ASSERT_GE(secret.size(), 16u);
  const int64_t now_s = SystemClock::instance().now_ms() / 1000;
  const std::string expired = sign_token(Claims{"buyer-expired", Role::kBuyer, now_s - 60}, secret);
  const std::string wrong_secret =
      sign_token(Claims{"buyer-forged", Role::kBuyer, now_s + 3600}, "0123456789abcdef0123456789abcdef");
  const std::string accepted_metric = "hawker_order_clicks_total{answer=\"accepted\"}";
  const double accepted_before = metric(accepted_metric);
  ASSERT_GE(accepted_before, 0);

  const std::string good = R"({"product_id":")" + id + R"(","quantity":1,"payment_token":"tok_visa"})";
  auto with = [&](const std::string& fields) {
    return R"({"product_id":")" + id + "\"," + fields + "}";
  };
  struct Case {
    std::string name;
    std::string body;
    Headers headers;  // Authorization and Idempotency-Key unless overridden
    int status;
    std::string code;
  };
  const std::string bearer = "Bearer " + buyer;
  auto standard = [&](const std::string& key = "bad-input-key") {
    return Headers{{"Authorization", bearer}, {"Idempotency-Key", key}, {"Content-Type", "application/json"}};
  };
  std::vector<Case> cases = {
      {"malformed JSON", R"({"product_id":")" + id + R"(","quantity":1,)", standard(), 400, "invalid_request"},
      {"not JSON at all", "product=1&quantity=1", standard(), 400, "invalid_request"},
      {"empty body", "", standard(), 400, "invalid_request"},
      {"body is an array", "[" + good + "]", standard(), 400, "invalid_request"},
      {"body is a string", R"("buy")", standard(), 400, "invalid_request"},
      {"body is a number", "42", standard(), 400, "invalid_request"},
      {"body is null", "null", standard(), 400, "invalid_request"},
      {"oversized body", with(R"("quantity":1,"payment_token":"tok_visa","pad":")" + std::string(17 * 1024, 'x') + "\""),
       standard(), 413, "payload_too_large"},
      {"product_id a number", R"({"product_id":1,"quantity":1,"payment_token":"tok_visa"})", standard(), 400,
       "invalid_request"},
      {"quantity a string", with(R"("quantity":"1","payment_token":"tok_visa")"), standard(), 400, "invalid_request"},
      {"quantity a fraction", with(R"("quantity":1.5,"payment_token":"tok_visa")"), standard(), 400,
       "invalid_request"},
      {"quantity a bool", with(R"("quantity":true,"payment_token":"tok_visa")"), standard(), 400, "invalid_request"},
      {"payment_token a number", with(R"("quantity":1,"payment_token":42)"), standard(), 400, "invalid_request"},
      {"payment_token an object", with(R"("quantity":1,"payment_token":{})"), standard(), 400, "invalid_request"},
      {"quantity 0", with(R"("quantity":0,"payment_token":"tok_visa")"), standard(), 400, "invalid_request"},
      {"quantity -1", with(R"("quantity":-1,"payment_token":"tok_visa")"), standard(), 400, "invalid_request"},
      {"quantity over the per-order bound", with(R"("quantity":1001,"payment_token":"tok_visa")"), standard(), 400,
       "invalid_request"},
      {"quantity huge", with(R"("quantity":9223372036854775807,"payment_token":"tok_visa")"), standard(), 400,
       "invalid_request"},
      {"quantity beyond 64 bits", with(R"("quantity":123456789012345678901234567890,"payment_token":"tok_visa")"),
       standard(), 400, "invalid_request"},
      {"quantity hugely negative", with(R"("quantity":-9223372036854775808,"payment_token":"tok_visa")"), standard(),
       400, "invalid_request"},
      {"missing product_id", R"({"quantity":1,"payment_token":"tok_visa"})", standard(), 400, "invalid_request"},
      {"missing payment_token", with(R"("quantity":1)"), standard(), 400, "invalid_request"},
      {"unknown product", R"({"product_id":"prd_987654321","quantity":1,"payment_token":"tok_visa"})", standard(),
       404, "not_found"},
      {"garbage product id", R"({"product_id":"banana","quantity":1,"payment_token":"tok_visa"})", standard(), 404,
       "not_found"},
      {"missing token", good, {{"Idempotency-Key", "bad-input-key"}}, 401, "unauthorized"},
      {"garbage token", good, {{"Authorization", "Bearer not.a.token"}, {"Idempotency-Key", "k"}}, 401,
       "unauthorized"},
      {"token without dots", good, {{"Authorization", "Bearer abcdef"}, {"Idempotency-Key", "k"}}, 401,
       "unauthorized"},
      {"basic auth", good, {{"Authorization", "Basic dXNlcjpwYXNz"}, {"Idempotency-Key", "k"}}, 401, "unauthorized"},
      {"expired token", good, {{"Authorization", "Bearer " + expired}, {"Idempotency-Key", "k"}}, 401,
       "unauthorized"},
      {"token from another secret", good, {{"Authorization", "Bearer " + wrong_secret}, {"Idempotency-Key", "k"}},
       401, "unauthorized"},
      {"missing Idempotency-Key", good, {{"Authorization", bearer}}, 400, "invalid_request"},
      {"Idempotency-Key too long", good, {{"Authorization", bearer}, {"Idempotency-Key", std::string(201, 'k')}}, 400,
       "invalid_request"},
      {"seller buying own product", good, {{"Authorization", "Bearer " + seller}, {"Idempotency-Key", "own"}}, 403,
       "forbidden"},
  };
  for (const Case& c : cases) {
    HttpReply reply = server_->call("POST", "/v1/orders", c.headers, c.body);
    EXPECT_TRUE(is_error(reply, c.status, c.code)) << "case: " << c.name;
  }

  EXPECT_EQ(metric(accepted_metric), accepted_before) << "a bad request was accepted";
  expect_available(id, 7);
  // The key the bad requests carried is still free: nothing was stored under it.
  HttpReply real = buy(buyer, "bad-input-key", id, 1);
  ASSERT_EQ(real.status, 202) << real.describe();
  EXPECT_EQ(wait_final(std::string(real.json().at("order_id").as_string()), buyer).at("status"), "confirmed");
  expect_available(id, 6);
}

TEST_F(ApiTest, BadProductInputIsA4xxJsonErrorAndCreatesNothing) {
  const std::string seller_name = unique("seller");
  const std::string seller = mint(seller_name, "seller");
  const std::string buyer = mint(unique("buyer"), "buyer");
  const std::string good = R"({"title":"Lamp","price_cents":100,"stock":3})";

  EXPECT_TRUE(is_error(server_->post("/v1/products", good, buyer), 403, "forbidden")) << "buyer creating a product";
  EXPECT_TRUE(is_error(server_->post("/v1/products", good), 401, "unauthorized"));
  EXPECT_TRUE(is_error(server_->post("/v1/products", good, "garbage"), 401, "unauthorized"));
  for (const char* body : {
           R"({"price_cents":100,"stock":3})",                       // no title
           R"({"title":"","price_cents":100,"stock":3})",            // empty title
           R"({"title":"Lamp","stock":3})",                          // no price
           R"({"title":"Lamp","price_cents":100})",                  // no stock
           R"({"title":"Lamp","price_cents":-1,"stock":3})",         // negative price
           R"({"title":"Lamp","price_cents":100,"stock":-3})",       // negative stock
           R"({"title":"Lamp","price_cents":100,"stock":"3"})",      // stock a string
           R"({"title":7,"price_cents":100,"stock":3})",             // title a number
           R"({"title":"Lamp","price_cents":100,"stock":3,"currency":"usd"})",
           R"({"title":"Lamp","price_cents":100,"stock":3,"currency":"DOLLARS"})",
           R"({"title":"Lamp","price_cents":100,"stock":3,"max_per_buyer":-1})",
           R"(["Lamp"])",
           R"({"title":"Lamp",)",
       })
    EXPECT_TRUE(is_error(server_->post("/v1/products", body, seller), 400, "invalid_request")) << body;

  HttpReply listed = server_->get("/v1/products?seller=" + seller_name);
  ASSERT_EQ(listed.status, 200) << listed.describe();
  EXPECT_TRUE(listed.json().at("items").as_array().empty()) << listed.describe();
}

TEST_F(ApiTest, UnknownRoutesAnd405AreJsonErrors) {
  EXPECT_TRUE(is_error(server_->get("/v1/nothing-here"), 404, "not_found"));
  EXPECT_TRUE(is_error(server_->call("DELETE", "/v1/products", {}, ""), 405, "method_not_allowed"));
  EXPECT_TRUE(is_error(server_->get("/v1/orders"), 405, "method_not_allowed"));
}

TEST_F(ApiTest, MetricsIsPrometheusTextWithQueueDepth) {
  HttpReply reply = server_->get("/metrics");
  ASSERT_EQ(reply.status, 200) << reply.describe();
  EXPECT_EQ(reply.header("content-type").rfind("text/plain", 0), 0u) << reply.header("content-type");
  EXPECT_NE(reply.body.find("# TYPE hawker_queue_depth gauge\n"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find("# HELP hawker_queue_depth "), std::string::npos);
  // Nothing is left waiting in line once the earlier tests' orders are decided.
  EXPECT_TRUE(eventually([] { return metric("hawker_queue_depth") == 0; }, kFinalWaitMs));
  // Every non-comment line is "name[{labels}] value".
  size_t start = 0;
  int samples = 0;
  while (start < reply.body.size()) {
    size_t end = reply.body.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "the last line lacks its newline";
    std::string line = reply.body.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos) << line;
    char* parsed_end = nullptr;
    std::strtod(line.c_str() + space + 1, &parsed_end);
    EXPECT_EQ(*parsed_end, '\0') << "not a number in: " << line;
    EXPECT_TRUE(std::isalpha(static_cast<unsigned char>(line[0])) || line[0] == '_') << line;
    ++samples;
  }
  EXPECT_GT(samples, 5);
}

TEST_F(ApiTest, InventoryCountsAreTheSellersAndConserveStock) {
  const std::string owner = mint(unique("seller"), "seller");
  const std::string id = make_product(owner, 5);
  ASSERT_FALSE(id.empty());
  const std::string buyer = mint(unique("buyer"), "buyer");
  const std::string confirmed = place(buyer, id, 2);
  ASSERT_FALSE(confirmed.empty());
  ASSERT_EQ(wait_final(confirmed, buyer).at("status"), "confirmed");
  const std::string declined = place(buyer, id, 1, "tok_decline");
  ASSERT_FALSE(declined.empty());
  ASSERT_EQ(wait_final(declined, buyer).at("status"), "rejected");
  ASSERT_EQ(server_->post("/v1/products/" + id + "/restock", R"({"quantity":3})", owner).status, 200);

  const std::string target = "/v1/products/" + id + "/inventory";
  HttpReply reply = server_->get(target, owner);
  ASSERT_EQ(reply.status, 200) << reply.describe();
  json::value counts = reply.json();
  EXPECT_EQ(counts.at("product_id"), id.c_str());
  EXPECT_EQ(counts.at("initial").to_number<int64_t>(), 5);
  EXPECT_EQ(counts.at("restocked").to_number<int64_t>(), 3);
  EXPECT_EQ(counts.at("sold").to_number<int64_t>(), 2);
  EXPECT_EQ(counts.at("reserved").to_number<int64_t>(), 0);
  EXPECT_EQ(counts.at("available").to_number<int64_t>(), 6);
  EXPECT_GT(counts.at("version").to_number<int64_t>(), 0);

  // Anyone but the seller: as if the product did not exist.
  EXPECT_TRUE(is_error(server_->get(target, mint(unique("rival"), "seller")), 404, "not_found"));
  EXPECT_TRUE(is_error(server_->get(target, buyer), 404, "not_found"));
  EXPECT_TRUE(is_error(server_->get(target), 401, "unauthorized"));
  EXPECT_TRUE(is_error(server_->get("/v1/products/prd_987654321/inventory", owner), 404, "not_found"));
}

}  // namespace
}  // namespace hawker::testing
