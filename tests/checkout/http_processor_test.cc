// HttpProcessor and PaymentRouter against a fake Stripe-style processor
// (tests/support/fake_processor.h) over real HTTP.
//
// It proves that make_http_processor validates its URL and maps every answer
// to the right outcome — 200 succeeded: approved; 402: declined; 503 or no
// listener: unavailable (nothing processed); 500, a reply past the timeout, or
// an unreadable 200: timeout (outcome unknown) — always under the same
// Idempotency-Key, so a repeat is a replay and never a second charge. It
// proves that a PaymentRouter with two processors pins new orders to the
// first, opens its breaker after repeated unavailability and then gives new
// orders to the second (and the first again once the breaker's time is up),
// never sends one order to two processors, voids after ambiguous failures
// (and only then); and that a real `hawker serve --payment-url` confirms and
// declines orders through the processor, charging under the order id.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "checkout/http_processor.h"
#include "checkout/payment_router.h"
#include "checkout/sandbox_processor.h"
#include "core/clock.h"
#include "support/fake_processor.h"
#include "support/hawker_process.h"

namespace hawker::checkout {
namespace {

namespace json = boost::json;
using hawker::testing::FakeProcessor;
using Mode = FakeProcessor::Mode;

constexpr int kClientTimeoutMs = 1'000;  // generous: a loaded machine must not turn a normal answer into a timeout
constexpr int kSlowMs = 6'000;  // far past the client's timeout

ChargeRequest charge(const std::string& key, const std::string& token = "tok_visa", int64_t amount = 1299) {
  return ChargeRequest{key, amount, "USD", token};
}

PaymentProcessorPtr processor_for(const FakeProcessor& fake, const std::string& name = "stripe",
                                  std::set<std::string, std::less<>> currencies = {"USD", "EUR", "GBP"}) {
  HttpProcessorOptions options;
  options.timeout_ms = kClientTimeoutMs;
  options.currencies = std::move(currencies);
  auto processor = make_http_processor(name, fake.url(), options);
  EXPECT_TRUE(processor) << processor.error().message;
  return processor ? std::move(*processor) : nullptr;
}

class HttpProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake_.start());
    processor_ = processor_for(fake_);
    ASSERT_NE(processor_, nullptr);
  }
  FakeProcessor fake_;
  PaymentProcessorPtr processor_;
};

TEST_F(HttpProcessorTest, ApprovesVisaUnderTheIdempotencyKeyAndReplaysIt) {
  EXPECT_EQ(processor_->name(), "stripe");
  EXPECT_EQ(processor_->authorize(charge("ord_1", "tok_visa", 4599)), PaymentOutcome::kApproved);
  auto stored = fake_.charge("ord_1");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->amount, 4599);
  EXPECT_EQ(stored->currency, "usd");
  EXPECT_EQ(stored->source, "tok_visa");

  EXPECT_EQ(processor_->authorize(charge("ord_1", "tok_visa", 4599)), PaymentOutcome::kApproved);
  EXPECT_EQ(fake_.charge_requests("ord_1"), 2);
  EXPECT_EQ(fake_.charge("ord_1")->replays, 1);
  EXPECT_EQ(fake_.charges_succeeded(), 1u) << "one key, one charge";
}

TEST_F(HttpProcessorTest, DeclineIsFinalAndReplaysAsADecline) {
  EXPECT_EQ(processor_->authorize(charge("ord_2", "tok_decline")), PaymentOutcome::kDeclined);
  EXPECT_EQ(processor_->authorize(charge("ord_2", "tok_decline")), PaymentOutcome::kDeclined);
  EXPECT_EQ(fake_.charge("ord_2")->status, 402);
  EXPECT_EQ(fake_.charge("ord_2")->replays, 1);
  EXPECT_EQ(fake_.charges_succeeded(), 0u);
}

TEST_F(HttpProcessorTest, OutageIsUnavailableAndProcessesNothing) {
  fake_.set_mode(Mode::kOutage);
  EXPECT_EQ(processor_->authorize(charge("ord_3")), PaymentOutcome::kUnavailable);
  EXPECT_EQ(fake_.charge_requests("ord_3"), 1);
  EXPECT_FALSE(fake_.charge("ord_3").has_value());
  // Safe to try again with the same key once it is back.
  fake_.set_mode(Mode::kNormal);
  EXPECT_EQ(processor_->authorize(charge("ord_3")), PaymentOutcome::kApproved);
  EXPECT_EQ(fake_.charges_succeeded(), 1u);
}

TEST_F(HttpProcessorTest, ServerErrorIsAnAmbiguousTimeout) {
  fake_.set_mode(Mode::kServerError);
  EXPECT_EQ(processor_->authorize(charge("ord_4")), PaymentOutcome::kTimeout);
}

TEST_F(HttpProcessorTest, ReplyPastTheClientTimeoutIsATimeoutAndCanBeVoided) {
  fake_.set_slow_ms(kSlowMs);
  fake_.set_mode(Mode::kSlow);
  EXPECT_EQ(processor_->authorize(charge("ord_5")), PaymentOutcome::kTimeout);
  // The processor did charge: exactly the ambiguity a void is for.
  ASSERT_TRUE(fake_.charge("ord_5").has_value());
  fake_.set_mode(Mode::kNormal);
  EXPECT_EQ(processor_->void_charge(charge("ord_5")), PaymentOutcome::kApproved);
  EXPECT_EQ(fake_.void_requests("ord_5"), 1);
  EXPECT_TRUE(fake_.charge("ord_5")->voided);
  EXPECT_EQ(fake_.charges_succeeded(), 0u);
}

TEST_F(HttpProcessorTest, UnreadableSuccessIsATimeout) {
  fake_.set_mode(Mode::kGarbage);
  EXPECT_EQ(processor_->authorize(charge("ord_6")), PaymentOutcome::kTimeout);
}

TEST_F(HttpProcessorTest, NoListenerIsUnavailable) {
  FakeProcessor gone;
  ASSERT_TRUE(gone.start());
  PaymentProcessorPtr processor = processor_for(gone);
  ASSERT_NE(processor, nullptr);
  gone.stop();  // nothing listens on that port now
  EXPECT_EQ(processor->authorize(charge("ord_7")), PaymentOutcome::kUnavailable);
}

TEST_F(HttpProcessorTest, SupportsItsConfiguredCurrencies) {
  EXPECT_TRUE(processor_->supports("USD"));
  EXPECT_TRUE(processor_->supports("EUR"));
  EXPECT_FALSE(processor_->supports("JPY"));
  PaymentProcessorPtr yen_only = processor_for(fake_, "yen", {"JPY"});
  ASSERT_NE(yen_only, nullptr);
  EXPECT_TRUE(yen_only->supports("JPY"));
  EXPECT_FALSE(yen_only->supports("USD"));
}

TEST(HttpProcessorUrlTest, AcceptsHttpHostPortOnly) {
  for (const char* url : {"http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://payments.internal:443",
                          "http://localhost:1"}) {
    auto processor = make_http_processor("p", url);
    EXPECT_TRUE(processor) << url << ": " << processor.error().message;
  }
  for (const char* url : {"", "127.0.0.1:8080", "https://127.0.0.1:8080", "ftp://127.0.0.1:21", "http://",
                          "http://127.0.0.1", "http://:8080", "http://127.0.0.1:", "http://127.0.0.1:99999",
                          "http://127.0.0.1:123456", "http://127.0.0.1:80a", "http://127.0.0.1:-1",
                          "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/charges", "HTTP://127.0.0.1:80"}) {
    auto processor = make_http_processor("p", url);
    ASSERT_FALSE(processor) << "accepted " << url;
    EXPECT_EQ(processor.error().code, ErrorCode::kInvalid) << url;
  }
}

// ---- PaymentRouter over two HTTP processors ------------------------------------------

class PaymentRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(first_fake_.start());
    ASSERT_TRUE(second_fake_.start());
    first_ = processor_for(first_fake_, "first");
    second_ = processor_for(second_fake_, "second");
    ASSERT_TRUE(first_ && second_);
    options_.failure_threshold = 3;
    options_.open_ms = 5'000;
    options_.attempts_max = 2;
    options_.retry_backoff_ms = 0;
    router_ = std::make_unique<PaymentRouter>(std::vector<PaymentProcessor*>{first_.get(), second_.get()}, options_,
                                              clock_);
  }

  // A reserved order pinned as the engine pins it: to choose()'s answer.
  market::OrderRecord reserve(uint64_t order_id, const std::string& token = "tok_visa") {
    market::OrderRecord order;
    order.order_id = order_id;
    order.product_id = 1;
    order.buyer = "buyer";
    order.seller = "seller";
    order.quantity = 1;
    order.amount_cents = 2500;
    order.currency = "USD";
    order.payment_token = token;
    order.processor = router_->choose("USD");
    order.status = market::OrderStatus::kReserved;
    return order;
  }

  static std::string key(const market::OrderRecord& order) { return charge_for(order).idempotency_key; }

  // How many processors ever saw this order's key.
  int processors_that_saw(const market::OrderRecord& order) const {
    return (first_fake_.charge_requests(key(order)) > 0 ? 1 : 0) +
           (second_fake_.charge_requests(key(order)) > 0 ? 1 : 0);
  }

  FakeProcessor first_fake_;
  FakeProcessor second_fake_;
  PaymentProcessorPtr first_;
  PaymentProcessorPtr second_;
  ManualClock clock_;
  RouterOptions options_;
  std::unique_ptr<PaymentRouter> router_;
};

TEST_F(PaymentRouterTest, PinsTheFirstProcessorForNewOrders) {
  for (uint64_t id = 1; id <= 3; ++id) {
    market::OrderRecord order = reserve(id);
    EXPECT_EQ(order.processor, "first");
    EXPECT_EQ(router_->settle(order), Settlement::kConfirmed);
    EXPECT_EQ(first_fake_.charge_requests(key(order)), 1);
  }
  market::OrderRecord declined = reserve(4, "tok_decline");
  EXPECT_EQ(router_->settle(declined), Settlement::kDeclined);
  EXPECT_EQ(first_fake_.charge_requests(key(declined)), 1) << "a decline is final: no retry";
  EXPECT_EQ(second_fake_.charge_requests(), 0);
  EXPECT_FALSE(router_->breaker_open("first"));
  EXPECT_EQ(router_->choose("JPY"), "") << "nobody takes yen";
}

TEST_F(PaymentRouterTest, ChoosesTheFirstProcessorThatTakesTheCurrency) {
  PaymentProcessorPtr usd_only = processor_for(first_fake_, "usd-only", {"USD"});
  ASSERT_NE(usd_only, nullptr);
  PaymentRouter router({usd_only.get(), second_.get()}, options_, clock_);
  EXPECT_EQ(router.choose("USD"), "usd-only");
  EXPECT_EQ(router.choose("EUR"), "second");
}

TEST_F(PaymentRouterTest, OpensTheBreakerAfterRepeatedUnavailabilityThenChoosesTheSecond) {
  first_fake_.set_mode(Mode::kOutage);
  // attempts_max 2 per order, threshold 3: the second failing order opens it.
  market::OrderRecord one = reserve(11);
  ASSERT_EQ(one.processor, "first");
  EXPECT_EQ(router_->settle(one), Settlement::kFailed);
  EXPECT_EQ(first_fake_.charge_requests(key(one)), options_.attempts_max);
  EXPECT_FALSE(router_->breaker_open("first"));
  market::OrderRecord two = reserve(12);
  ASSERT_EQ(two.processor, "first");
  EXPECT_EQ(router_->settle(two), Settlement::kFailed);
  EXPECT_TRUE(router_->breaker_open("first"));
  // Unavailable means nothing was processed: nothing to void.
  EXPECT_EQ(first_fake_.void_requests(key(one)) + first_fake_.void_requests(key(two)), 0);

  // New orders go to the second processor while the breaker is open.
  market::OrderRecord three = reserve(13);
  EXPECT_EQ(three.processor, "second");
  EXPECT_EQ(router_->settle(three), Settlement::kConfirmed);
  EXPECT_EQ(second_fake_.charge_requests(key(three)), 1);
  EXPECT_EQ(first_fake_.charge_requests(key(three)), 0);

  // Once its time is up the first is tried again, and a success closes it.
  clock_.advance_us(int64_t{options_.open_ms} * 1000 + 1);
  first_fake_.set_mode(Mode::kNormal);
  EXPECT_FALSE(router_->breaker_open("first"));
  market::OrderRecord four = reserve(14);
  EXPECT_EQ(four.processor, "first");
  EXPECT_EQ(router_->settle(four), Settlement::kConfirmed);
  EXPECT_FALSE(router_->breaker_open("first"));
  EXPECT_EQ(reserve(15).processor, "first");
}

TEST_F(PaymentRouterTest, NeverSendsOneOrderToTwoProcessors) {
  // An order pinned to the first stays there through its outage, the open
  // breaker and a later re-settlement (what the sweep does after a crash).
  market::OrderRecord pinned = reserve(21);
  ASSERT_EQ(pinned.processor, "first");
  first_fake_.set_mode(Mode::kOutage);
  EXPECT_EQ(router_->settle(pinned), Settlement::kFailed);
  market::OrderRecord other = reserve(22);
  EXPECT_EQ(router_->settle(other), Settlement::kFailed);
  ASSERT_TRUE(router_->breaker_open("first"));
  EXPECT_EQ(router_->settle(pinned), Settlement::kFailed) << "still pinned to the first, still down";
  EXPECT_EQ(second_fake_.charge_requests(key(pinned)), 0);

  first_fake_.set_mode(Mode::kNormal);
  EXPECT_EQ(router_->settle(pinned), Settlement::kConfirmed);
  EXPECT_EQ(router_->settle(pinned), Settlement::kConfirmed) << "settling again replays";
  EXPECT_EQ(first_fake_.charge(key(pinned))->replays, 1);
  EXPECT_EQ(first_fake_.charges_succeeded(), 1u);

  // A mix of outages on both sides (each order settled twice, as after a
  // crash): every order's key reaches one processor only.
  std::vector<market::OrderRecord> orders;
  for (uint64_t id = 30; id < 42; ++id) {
    if (id % 6 == 0) clock_.advance_us(int64_t{options_.open_ms} * 1000 + 1);
    if (id % 4 == 0) first_fake_.set_mode(Mode::kOutage, 2 * options_.attempts_max);
    if (id % 5 == 0) second_fake_.set_mode(Mode::kOutage, 1);
    market::OrderRecord order = reserve(id);
    ASSERT_FALSE(order.processor.empty()) << id;
    (void)router_->settle(order);
    (void)router_->settle(order);
    orders.push_back(order);
  }
  int on_first = 0, on_second = 0;
  for (const auto& order : orders) {
    on_first += first_fake_.charge_requests(key(order)) > 0 ? 1 : 0;
    on_second += second_fake_.charge_requests(key(order)) > 0 ? 1 : 0;
  }
  EXPECT_GT(on_first, 0);
  EXPECT_GT(on_second, 0) << "the mix never failed over";
  for (const auto& order : orders) EXPECT_LE(processors_that_saw(order), 1) << key(order);
  EXPECT_EQ(processors_that_saw(pinned), 1);
}

TEST_F(PaymentRouterTest, VoidsAfterAmbiguousTimeouts) {
  first_fake_.set_slow_ms(kSlowMs);
  first_fake_.set_mode(Mode::kSlow);
  market::OrderRecord slow = reserve(51);
  ASSERT_EQ(slow.processor, "first");
  EXPECT_EQ(router_->settle(slow), Settlement::kFailed);
  EXPECT_EQ(first_fake_.charge_requests(key(slow)), options_.attempts_max) << "retried with the same key";
  EXPECT_EQ(first_fake_.void_requests(key(slow)), 1) << "a charge that may have happened is voided";
  ASSERT_TRUE(first_fake_.charge(key(slow)).has_value());
  EXPECT_TRUE(first_fake_.charge(key(slow))->voided);

  first_fake_.set_mode(Mode::kServerError);
  market::OrderRecord failing = reserve(52);
  ASSERT_EQ(failing.processor, "first");
  EXPECT_EQ(router_->settle(failing), Settlement::kFailed);
  EXPECT_EQ(first_fake_.void_requests(key(failing)), 1);

  // An ambiguous first attempt that a retry resolves needs no void.
  clock_.advance_us(int64_t{options_.open_ms} * 1000 + 1);
  first_fake_.set_mode(Mode::kServerError, 1);
  market::OrderRecord recovered = reserve(53);
  ASSERT_EQ(recovered.processor, "first");
  EXPECT_EQ(router_->settle(recovered), Settlement::kConfirmed);
  EXPECT_EQ(first_fake_.charge_requests(key(recovered)), 2);
  EXPECT_EQ(first_fake_.void_requests(key(recovered)), 0);
  EXPECT_EQ(second_fake_.charge_requests(), 0);
  EXPECT_EQ(first_fake_.charges_succeeded(), 1u) << "only the recovered order keeps its money";
}

TEST(PaymentRouterFallbackTest, AllBreakersOpenStillPinsTheFirstProcessorThatTakesTheCurrency) {
  ManualClock clock;
  SandboxProcessor first(SandboxOptions{"first", {"USD"}, 0, 0});
  SandboxProcessor second(SandboxOptions{"second", {"USD"}, 0, 0});
  RouterOptions options;
  options.failure_threshold = 1;
  options.attempts_max = 1;
  options.retry_backoff_ms = 0;
  PaymentRouter router({&first, &second}, options, clock);
  first.set_available(false);
  second.set_available(false);
  market::OrderRecord order;
  order.order_id = 7;
  order.currency = "USD";
  order.payment_token = "tok_visa";
  order.processor = "first";
  EXPECT_EQ(router.settle(order), Settlement::kFailed);
  order.processor = "second";
  EXPECT_EQ(router.settle(order), Settlement::kFailed);
  ASSERT_TRUE(router.breaker_open("first"));
  ASSERT_TRUE(router.breaker_open("second"));
  EXPECT_EQ(router.choose("USD"), "first") << "an outage must not reject new orders untried";
  EXPECT_EQ(router.choose("JPY"), "");
  // The processor comes back: the pinned order now goes through on it.
  first.set_available(true);
  order.order_id = 8;
  order.processor = router.choose("USD");
  EXPECT_EQ(router.settle(order), Settlement::kConfirmed);
  EXPECT_FALSE(router.breaker_open("first"));
}

TEST(PaymentRouterNoProcessorTest, AnOrderPinnedToNoProcessorFails) {
  ManualClock clock;
  PaymentRouter router({}, RouterOptions{}, clock);
  EXPECT_EQ(router.choose("USD"), "");
  market::OrderRecord order;
  order.order_id = 1;
  order.currency = "USD";
  order.payment_token = "tok_visa";
  EXPECT_EQ(router.settle(order), Settlement::kFailed);
}

// ---- hawker serve --payment-url ---------------------------------------------------------

TEST(HttpProcessorIntegrationTest, HawkerConfirmsAndDeclinesThroughTheProcessor) {
  FakeProcessor fake;
  ASSERT_TRUE(fake.start());
  hawker::testing::HawkerOptions options;
  options.extra_args = {"--payment-url", fake.url()};
  hawker::testing::HawkerProcess server(options);
  ASSERT_TRUE(server.start()) << server.error();

  const std::string seller = server.token("fake-seller", "seller");
  const std::string buyer = server.token("fake-buyer", "buyer");
  ASSERT_FALSE(seller.empty());
  ASSERT_FALSE(buyer.empty());
  auto created = server.post("/v1/products", R"({"title":"Via Stripe","price_cents":1250,"stock":10})", seller);
  ASSERT_EQ(created.status, 201) << created.describe();
  const std::string product_id(created.json().at("id").as_string());

  auto order_for = [&](const std::string& key, const std::string& token, int quantity) {
    auto reply = server.post("/v1/orders",
                             json::serialize(json::object{
                                 {"product_id", product_id}, {"quantity", quantity}, {"payment_token", token}}),
                             buyer, {{"Idempotency-Key", key}});
    EXPECT_EQ(reply.status, 202) << reply.describe();
    return reply.status == 202 ? std::string(reply.json().at("order_id").as_string()) : std::string();
  };
  auto final_state = [&](const std::string& order_id) {
    json::object last;
    bool done = hawker::testing::eventually(
        [&] {
          auto reply = server.get("/v1/orders/" + order_id, buyer);
          if (reply.status != 200) return false;
          last = reply.json().as_object();
          return last.at("status") == "confirmed" || last.at("status") == "rejected";
        },
        30'000, 25);
    EXPECT_TRUE(done) << order_id << " not final; last " << json::serialize(last);
    return last;
  };

  const std::string confirmed = order_for("via-fake-1", "tok_visa", 2);
  ASSERT_FALSE(confirmed.empty());
  EXPECT_EQ(final_state(confirmed).at("status"), "confirmed");
  auto charged = fake.charge(confirmed);
  ASSERT_TRUE(charged.has_value()) << "the processor was not charged under the order id";
  EXPECT_EQ(charged->amount, 2500);
  EXPECT_EQ(charged->currency, "usd");
  EXPECT_EQ(charged->source, "tok_visa");
  EXPECT_EQ(charged->status, 200);

  const std::string declined = order_for("via-fake-2", "tok_decline", 1);
  ASSERT_FALSE(declined.empty());
  json::object rejected = final_state(declined);
  EXPECT_EQ(rejected.at("status"), "rejected");
  EXPECT_EQ(rejected.at("reason"), "payment_declined");
  ASSERT_TRUE(fake.charge(declined).has_value());
  EXPECT_EQ(fake.charge(declined)->status, 402);

  EXPECT_EQ(fake.charges_succeeded(), 1u);
  EXPECT_TRUE(hawker::testing::eventually(
      [&] {
        auto product = server.get("/v1/products/" + product_id);
        return product.status == 200 && product.json().at("available").to_number<int64_t>() == 8;
      },
      10'000));
  server.stop();
  fake.stop();
}

}  // namespace
}  // namespace hawker::checkout
