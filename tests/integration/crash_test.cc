// Crash test of the real `hawker serve` process: kill -9 in the middle of a
// buying rush, twice, restarting on the same data folder each time.
//
// Sixteen client threads, each its own buyer, click "Buy Now" on one product
// (300 units) with unique Idempotency-Keys, mostly tok_visa and some
// tok_decline, while payments take a little time (so kills land with orders
// queued, reserved and being charged). Clicks that got no answer because of a
// kill are retried after the restart with their same key and body.
//
// It proves the invariants of DESIGN.md across crashes: every 202 order still
// exists and reaches exactly one final state (confirmed, or rejected with a
// reason that fits its payment token) within a bounded time and stays there;
// one key maps to one order (a replay after the crashes returns the same
// order id, and no two keys share an order); nothing is oversold (confirmed
// units <= stock); stock is conserved (available == stock - confirmed units
// once all is final); and the server never answers 5xx — the only failures
// seen are connections cut by the kill itself.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "support/hawker_process.h"

namespace hawker::testing {
namespace {

namespace json = boost::json;

constexpr int kThreads = 16;
constexpr int64_t kStock = 300;
constexpr int kKills = 2;
constexpr int kAcceptedBeforeFirstKill = 70;
constexpr int kAcceptedBetweenKills = 80;
constexpr int kPhaseWaitMs = 60'000;   // bound for each phase of the rush
constexpr int kFinalWaitMs = 60'000;   // bound for every order to be final after the last restart
constexpr int kRetryAttemptsMax = 50;  // per unanswered click, after the restart

struct Click {
  int buyer = 0;  // thread index
  std::string key;
  std::string body;
  std::string payment_token;
  int64_t quantity = 0;
  int status = 0;  // last answer; 0 while unanswered
  std::string order_id;
};

// Shared between the rush threads and the test's thread.
struct Rush {
  std::mutex mutex;
  std::condition_variable server_up;
  uint64_t generation = 0;        // bumped just before each kill
  uint64_t ready_generation = 0;  // set to generation once restarted
  std::atomic<bool> stop{false};
  std::atomic<int> accepted{0};
  std::atomic<int> sold_out{0};
  std::vector<std::string> failures;  // unexpected answers, under mutex

  void fail(std::string what) {
    std::lock_guard lock(mutex);
    if (failures.size() < 50) failures.push_back(std::move(what));
  }
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HawkerOptions options;
    // Slow payments a little so kills find orders reserved and being charged.
    options.extra_args = {"--payment-latency-ms", "15"};
    server_ = std::make_unique<HawkerProcess>(options);
    ASSERT_TRUE(server_->start()) << server_->error();
  }

  // One thread of the rush: click until told to stop.
  void click_loop(int index, const std::string& buyer_token, std::vector<Click>& clicks) {
    for (int n = 0; !rush_.stop.load(); ++n) {
      {
        std::unique_lock lock(rush_.mutex);
        rush_.server_up.wait(lock, [&] { return rush_.stop.load() || rush_.ready_generation == rush_.generation; });
      }
      if (rush_.stop.load()) return;
      Click click;
      click.buyer = index;
      click.key = "crash-t" + std::to_string(index) + "-c" + std::to_string(n);
      click.quantity = n % 5 == 4 ? 2 : 1;
      click.payment_token = n % 7 == 3 ? "tok_decline" : "tok_visa";
      click.body = json::serialize(json::object{
          {"product_id", product_id_}, {"quantity", click.quantity}, {"payment_token", click.payment_token}});

      uint64_t generation_before, ready_before;
      {
        std::lock_guard lock(rush_.mutex);
        generation_before = rush_.generation;
        ready_before = rush_.ready_generation;
      }
      HttpReply reply = server_->post("/v1/orders", click.body, buyer_token, {{"Idempotency-Key", click.key}});
      if (!reply.answered()) {
        uint64_t generation_after;
        {
          std::lock_guard lock(rush_.mutex);
          generation_after = rush_.generation;
        }
        // Only a kill may cut a connection.
        if (generation_after == generation_before && ready_before == generation_before)
          rush_.fail("no answer without a kill: " + click.key + ": " + reply.error);
        clicks.push_back(std::move(click));
        std::unique_lock lock(rush_.mutex);
        rush_.server_up.wait(lock, [&] { return rush_.stop.load() || rush_.ready_generation > generation_before; });
        continue;
      }
      record(click, reply);
      clicks.push_back(std::move(click));
    }
  }

  void record(Click& click, const HttpReply& reply) {
    click.status = reply.status;
    if (reply.status == 202) {
      json::value body = reply.json();
      if (!body.is_object() || !body.as_object().contains("order_id") || !body.at("order_id").is_string()) {
        rush_.fail("202 without an order id: " + reply.describe());
        return;
      }
      click.order_id = std::string(body.at("order_id").as_string());
      rush_.accepted.fetch_add(1);
    } else if (reply.status == 409) {
      rush_.sold_out.fetch_add(1);
    } else {
      rush_.fail("click " + click.key + " answered " + reply.describe());
    }
  }

  // Kill -9, restart on the same folder, and let the threads go on.
  bool kill_and_restart() {
    {
      std::lock_guard lock(rush_.mutex);
      ++rush_.generation;
    }
    server_->kill9();
    bool restarted = server_->restart();
    {
      std::lock_guard lock(rush_.mutex);
      if (restarted) rush_.ready_generation = rush_.generation;
      else rush_.stop.store(true);
    }
    rush_.server_up.notify_all();
    return restarted;
  }

  // Sends each click that got no answer again, same key and body, until it
  // is answered. Returns how many there were.
  int retry_unanswered(std::vector<std::vector<Click>>& clicks, const std::vector<std::string>& tokens) {
    int retried = 0;
    for (auto& thread_clicks : clicks) {
      for (auto& click : thread_clicks) {
        if (click.status != 0) continue;
        ++retried;
        HttpReply reply;
        for (int attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
          reply = server_->post("/v1/orders", click.body, tokens[click.buyer], {{"Idempotency-Key", click.key}});
          if (reply.answered() && reply.status != 429) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (!reply.answered()) {
          ADD_FAILURE() << "retried click " << click.key << " got no answer: " << reply.error;
          continue;
        }
        record(click, reply);
      }
    }
    return retried;
  }

  // Polls every order until all are confirmed or rejected (bounded); each
  // read must answer 200. Fills `final_states` by order id.
  bool wait_all_final(const std::vector<const Click*>& orders, const std::vector<std::string>& tokens,
                      std::map<std::string, json::object>& final_states) {
    bool read_failed = false;
    const bool all_final = eventually(
        [&] {
          for (const Click* click : orders) {
            if (final_states.count(click->order_id)) continue;
            HttpReply reply = server_->get("/v1/orders/" + click->order_id, tokens[click->buyer]);
            if (reply.status != 200 || !reply.json().is_object()) {
              ADD_FAILURE() << "accepted order " << click->order_id << " (" << click->key << ") reads as "
                            << reply.describe();
              read_failed = true;
              return true;
            }
            json::object order = reply.json().as_object();
            if (order.at("status") == "confirmed" || order.at("status") == "rejected")
              final_states.emplace(click->order_id, std::move(order));
          }
          return final_states.size() == orders.size();
        },
        kFinalWaitMs, 100);
    if (!all_final)
      ADD_FAILURE() << final_states.size() << " of " << orders.size() << " orders final after " << kFinalWaitMs
                    << " ms";
    return all_final && !read_failed;
  }

  std::unique_ptr<HawkerProcess> server_;
  std::string product_id_;
  Rush rush_;
};

TEST_F(CrashTest, KillNineMidRushLosesNothingAndSellsExactlyTheStock) {
  const std::string seller = server_->token("crash-seller", "seller");
  ASSERT_FALSE(seller.empty());
  HttpReply created = server_->post(
      "/v1/products", json::serialize(json::object{{"title", "Rush lamp"}, {"price_cents", 500}, {"stock", kStock}}),
      seller);
  ASSERT_EQ(created.status, 201) << created.describe();
  product_id_ = std::string(created.json().at("id").as_string());

  std::vector<std::string> tokens;
  for (int i = 0; i < kThreads; ++i) {
    tokens.push_back(server_->token("crash-buyer-" + std::to_string(i), "buyer"));
    ASSERT_FALSE(tokens.back().empty());
  }

  // ---- The rush, with kills ----------------------------------------------------
  std::vector<std::vector<Click>> clicks(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([this, i, &tokens, &clicks] { click_loop(i, tokens[i], clicks[i]); });

  int kills = 0;
  for (int k = 0; k < kKills; ++k) {
    const int target = kAcceptedBeforeFirstKill + k * kAcceptedBetweenKills;
    if (!eventually([&] { return rush_.accepted.load() >= target || rush_.sold_out.load() > 0; }, kPhaseWaitMs, 2)) {
      ADD_FAILURE() << "only " << rush_.accepted.load() << " orders accepted before kill " << k + 1;
      break;
    }
    EXPECT_EQ(rush_.sold_out.load(), 0) << "sold out before kill " << k + 1 << "; the kill would not be mid-rush";
    if (!kill_and_restart()) {
      ADD_FAILURE() << "restart " << k + 1 << " failed: " << server_->error();
      break;
    }
    ++kills;
  }
  // Run on until the product sells out at the edge.
  const int sold_out_before = rush_.sold_out.load();
  EXPECT_TRUE(eventually([&] { return rush_.sold_out.load() > sold_out_before + kThreads; }, kPhaseWaitMs))
      << "never sold out after the last restart";
  rush_.stop.store(true);
  rush_.server_up.notify_all();
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(kills, kKills);
  ASSERT_TRUE(server_->running());

  const int retried = retry_unanswered(clicks, tokens);
  std::fprintf(stderr, "crash test: %d kills, %d accepted, %d sold out at the edge, %d clicks retried\n", kills,
               rush_.accepted.load(), rush_.sold_out.load(), retried);
  {
    std::lock_guard lock(rush_.mutex);
    for (const auto& failure : rush_.failures) ADD_FAILURE() << failure;
  }

  // ---- One key, one order ----------------------------------------------------------
  std::vector<const Click*> orders;
  std::map<std::string, std::string> key_of_order;
  for (const auto& thread_clicks : clicks)
    for (const auto& click : thread_clicks)
      if (click.status == 202) {
        orders.push_back(&click);
        auto [it, inserted] = key_of_order.emplace(click.order_id, click.key);
        EXPECT_TRUE(inserted) << "keys " << it->second << " and " << click.key << " share order " << click.order_id;
      }
  ASSERT_GT(orders.size(), static_cast<size_t>(kAcceptedBeforeFirstKill));

  // ---- Every 202 reaches one final state -------------------------------------------
  std::map<std::string, json::object> final_states;
  ASSERT_TRUE(wait_all_final(orders, tokens, final_states));

  int64_t confirmed_units = 0;
  int confirmed = 0;
  for (const Click* click : orders) {
    const json::object& order = final_states.at(click->order_id);
    EXPECT_EQ(order.at("quantity").to_number<int64_t>(), click->quantity) << click->key;
    EXPECT_EQ(order.at("product_id"), product_id_.c_str());
    if (order.at("status") == "confirmed") {
      EXPECT_EQ(click->payment_token, "tok_visa") << "declined card confirmed: " << click->key;
      confirmed_units += click->quantity;
      ++confirmed;
      continue;
    }
    ASSERT_TRUE(order.contains("reason")) << json::serialize(order);
    const std::string reason(order.at("reason").as_string());
    if (click->payment_token == "tok_visa")
      EXPECT_EQ(reason, "sold_out") << click->key << " " << json::serialize(order);
    else
      EXPECT_TRUE(reason == "payment_declined" || reason == "sold_out") << click->key << " " << json::serialize(order);
  }
  EXPECT_LE(confirmed_units, kStock) << "oversold";

  // ---- Final means final; keys still map to their orders ----------------------------
  for (const Click* click : orders) {
    HttpReply again = server_->get("/v1/orders/" + click->order_id, tokens[click->buyer]);
    ASSERT_EQ(again.status, 200) << again.describe();
    EXPECT_EQ(again.json(), json::value(final_states.at(click->order_id))) << "a final order changed: " << click->key;
    HttpReply replay = server_->post("/v1/orders", click->body, tokens[click->buyer], {{"Idempotency-Key", click->key}});
    ASSERT_EQ(replay.status, 202) << click->key << ": " << replay.describe();
    EXPECT_EQ(replay.json().at("order_id"), click->order_id.c_str()) << "key " << click->key << " got a new order";
  }

  // ---- Conservation -------------------------------------------------------------------
  int64_t available = -1;
  const bool conserved = eventually(
      [&] {
        HttpReply product = server_->get("/v1/products/" + product_id_);
        if (product.status != 200) return false;
        available = product.json().at("available").to_number<int64_t>();
        return available == kStock - confirmed_units;
      },
      10'000);
  EXPECT_TRUE(conserved) << "available " << available << " != stock " << kStock << " - confirmed units "
                         << confirmed_units << " (" << confirmed << " confirmed orders)";

  // A clean shutdown after all that.
  int status = server_->stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "exit status " << status;
}

}  // namespace
}  // namespace hawker::testing
