// Cluster mode end to end, every part a real process on loopback: PostgreSQL,
// a 3-node NATS JetStream cluster (replicas 3), two `hawker gateway`s and two
// `hawker worker`s sharing them, and a Stripe-style fake processor (outside
// the platform) that records every charge by idempotency key.
//
// Buyers click on both gateways while viewers watch on both; mid-spike one
// worker and the NATS node leading the order stream are SIGKILLed.
// Afterwards every 202 must reach exactly one final state, the stock must be
// conserved and not oversold, nobody charged twice, and the viewers on both
// gateways must have seen the same final stock.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "core/ids.h"
#include "support/child.h"
#include "support/fake_processor.h"
#include "support/hawker_process.h"
#include "support/nats_cluster.h"
#include "support/nats_server.h"
#include "support/postgres_server.h"
#include "support/ws_client.h"

namespace hawker::testing {
namespace {

namespace json = boost::json;

constexpr int kAckWaitMs = 3'000;       // a killed worker's orders come back this soon
constexpr int kClickAttemptsMax = 100;  // a click resent (same key) while a part fails over
constexpr int kFinalTimeoutMs = 90'000;  // bound on every order reaching its final state
constexpr int kWatchTimeoutMs = 180'000;  // bound on a viewer seeing the final stock, from before the spike

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    nats_ = NatsServer::shared(&why);
    ASSERT_NE(nats_, nullptr) << why;
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    Result<std::string> conninfo = shared_database_for("hawker_cluster_", std::string(test->name()) + random_hex(8));
    ASSERT_TRUE(conninfo.ok()) << conninfo.error().message;
    conninfo_ = *conninfo;
    prefix_ = unique_prefix(test->name());
    folder_ = make_temp_folder("hawker-cluster", why);
    ASSERT_FALSE(folder_.empty()) << why;
    secret_file_ = folder_ + "/jwt.secret";
    std::ofstream(secret_file_) << random_hex(32) << "\n";
    std::filesystem::permissions(secret_file_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    ASSERT_TRUE(processor_.start());
  }

  void TearDown() override {
    for (auto& part : parts_) part.reset();
    if (cluster_ && HasFailure()) std::fprintf(stderr, "%s\n", cluster_->log_tails().c_str());
    cluster_.reset();
    processor_.stop();
    std::error_code ignored;
    if (!folder_.empty()) std::filesystem::remove_all(folder_, ignored);
  }

  // Every part connects to the 3-node cluster when there is one.
  std::vector<std::string> cluster_args() const {
    if (!cluster_) return {"--nats", nats_->url(), "--postgres", conninfo_, "--cluster-name", prefix_,
                           "--ack-wait-ms", std::to_string(kAckWaitMs)};
    return {"--nats", cluster_->url_list(), "--nats-replicas", "3", "--postgres", conninfo_, "--cluster-name",
            prefix_, "--ack-wait-ms", std::to_string(kAckWaitMs)};
  }

  void start_nats_cluster() {
    cluster_ = std::make_unique<NatsCluster>(3);
    std::string why;
    ASSERT_TRUE(cluster_->start(why)) << why;
  }

  HawkerProcess* start_part(const std::string& command) {
    HawkerOptions options;
    options.command = command;
    options.secret_file = secret_file_;
    options.extra_args = cluster_args();
    if (command == "worker" || command == "serve") {
      for (const char* extra : {"--workers", "2", "--payment-url"}) options.extra_args.push_back(extra);
      options.extra_args.push_back(processor_.url());
    }
    parts_.push_back(std::make_unique<HawkerProcess>(options));
    HawkerProcess* part = parts_.back().get();
    EXPECT_TRUE(part->start()) << command << ": " << part->error();
    return part;
  }

  NatsServer* nats_ = nullptr;
  std::unique_ptr<NatsCluster> cluster_;
  std::string conninfo_;
  std::string prefix_;
  std::string folder_;
  std::string secret_file_;
  FakeProcessor processor_;
  std::vector<std::unique_ptr<HawkerProcess>> parts_;
};

// The product's `available` as a viewer was last told it, reading frames until
// it is `wanted` or `timeout_ms` passes (a NATS leader election can hold the
// event log for seconds, so the stock may arrive well after the orders end).
int64_t available_seen(WsClient& viewer, const std::string& product, int64_t start, int64_t wanted,
                       int timeout_ms) {
  int64_t available = start;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (available != wanted) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    auto frame = viewer.read(static_cast<int>(left));
    if (!frame) break;
    json::value value = json::parse(*frame);
    const json::object& object = value.as_object();
    if (object.at("type").as_string() == "inventory" && object.at("product_id").as_string() == product)
      available = object.at("available").as_int64();
  }
  return available;
}

TEST_F(ClusterTest, MissingClusterFlagsAreClearErrors) {
  struct Case {
    std::vector<std::string> arguments;
    const char* says;
  };
  const std::string data = folder_ + "/bad-flags";
  const Case cases[] = {
      {{"gateway", "--data", data}, "--nats is required"},
      {{"worker", "--nats", nats_->url(), "--data", data}, "--postgres is required"},
      {{"serve", "--nats", nats_->url(), "--data", data, "--listen", "127.0.0.1:0"},
       "cluster mode needs both --nats and --postgres"},
      {{"gateway", "--nats", nats_->url(), "--postgres", conninfo_, "--cluster-name", prefix_, "--data", data,
        "--listen", "127.0.0.1:0", "--hls-listen", ""},
       "pass --secret-file"},
  };
  for (const Case& c : cases) {
    const CommandOutput run = run_hawker(c.arguments, 30'000);
    EXPECT_NE(run.exit_code, 0) << c.arguments[0] << ": " << run.err;
    EXPECT_NE(run.err.find(c.says), std::string::npos) << run.err;
  }
}

TEST_F(ClusterTest, ServeWithTheClusterFlagsRunsBothRolesAndARestartKeepsEverything) {
  // `hawker serve --nats --postgres`: gateway and worker in one process,
  // state in PostgreSQL and JetStream only, so a restart on a fresh data
  // folder finds it all.
  HawkerProcess* node = start_part("serve");
  ASSERT_FALSE(HasFailure());
  const PinnedSale sale = open_pinned_sale(*node, "serve-seller", 3);
  ASSERT_FALSE(sale.show.empty());
  std::vector<std::string> orders;
  for (int buyer = 0; buyer < 4; ++buyer) {
    HttpReply reply = node->post(
        "/v1/orders",
        json::serialize(json::object{{"product_id", sale.product}, {"quantity", 1}, {"payment_token", "tok_visa"}}),
        node->token("serve-buyer-" + std::to_string(buyer)), {{"Idempotency-Key", "k" + std::to_string(buyer)}});
    ASSERT_TRUE(reply.status == 202 || reply.status == 409) << reply.describe();
    if (reply.status == 202) orders.emplace_back(reply.json().at("order_id").as_string());
  }
  ASSERT_GE(orders.size(), 3u);
  const std::string seller_token = node->token("serve-seller", "seller");
  auto sold = [&](HawkerProcess& process) {
    HttpReply books = process.get("/v1/products/" + sale.product + "/inventory", seller_token);
    return books.status == 200 && books.json().at("sold").as_int64() == 3 &&
           books.json().at("reserved").as_int64() == 0;
  };
  ASSERT_TRUE(eventually([&] { return sold(*node); }, 30'000, 50)) << "the 3 units were not sold";

  // A second process, on its own empty data folder, sees the same sale.
  node->stop();
  HawkerProcess* again = start_part("serve");
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(sold(*again));
  HttpReply show = again->get("/v1/shows/" + sale.show);
  ASSERT_EQ(show.status, 200) << show.describe();
  EXPECT_EQ(show.json().at("showcase").as_object().at("id").as_string(), sale.product);
}

TEST_F(ClusterTest, TwoGatewaysTwoWorkersSellExactlyTheStockThroughAWorkerAndANatsNodeCrash) {
  constexpr int64_t kStock = 150;
  constexpr int kBuyers = 450;
  constexpr int kClientThreads = 6;
  start_nats_cluster();
  ASSERT_FALSE(HasFailure());

  HawkerProcess* worker_a = start_part("worker");
  HawkerProcess* worker_b = start_part("worker");
  HawkerProcess* gateway_a = start_part("gateway");
  HawkerProcess* gateway_b = start_part("gateway");
  ASSERT_FALSE(HasFailure());
  std::vector<HawkerProcess*> gateways = {gateway_a, gateway_b};
  // The sale is set up on gateway A; B learns of the show and its pin from A
  // (the live relay), so B's viewers get the same hello.
  const PinnedSale sale = open_pinned_sale(*gateway_a, "cluster-seller", kStock);
  ASSERT_FALSE(sale.show.empty());

  // A viewer on each gateway.
  const std::string live = "/v1/shows/" + sale.show + "/live";
  WsClient viewer_a, viewer_b;
  ASSERT_TRUE(viewer_a.connect(gateway_a->port(), live));
  auto hello_a = viewer_a.read_type("hello");
  ASSERT_TRUE(hello_a.has_value());
  EXPECT_EQ(hello_a->at("product").as_object().at("available").as_int64(), kStock);
  const bool b_knows = eventually(
      [&] {
        WsClient probe;
        if (!probe.connect(gateway_b->port(), live)) return false;
        auto hello = probe.read_type("hello");
        return hello && hello->contains("product") && hello->at("product").is_object();
      },
      10'000, 100);
  ASSERT_TRUE(b_knows) << "gateway B never learned of the show or its pin";
  ASSERT_TRUE(viewer_b.connect(gateway_b->port(), live));
  auto hello_b = viewer_b.read_type("hello");
  ASSERT_TRUE(hello_b.has_value());
  EXPECT_EQ(hello_b->at("product").as_object().at("id").as_string(), sale.product);
  EXPECT_EQ(hello_b->at("product").as_object().at("available").as_int64(), kStock);

  // Chat crosses gateways: a buyer on A speaks, the viewer on B hears it.
  WsClient talker;
  ASSERT_TRUE(talker.connect(gateway_a->port(), live + "?token=" + gateway_a->token("cluster-talker")));
  ASSERT_TRUE(talker.read_type("hello"));
  ASSERT_TRUE(talker.send_text(R"({"type":"chat","text":"hello from gateway A"})"));
  auto heard = viewer_b.read_type("chat");
  ASSERT_TRUE(heard.has_value()) << "the chat did not reach gateway B";
  EXPECT_EQ(heard->at("text").as_string(), "hello from gateway A");
  EXPECT_EQ(heard->at("user").as_string(), "cluster-talker");

  // From here the viewers keep reading, each on its own thread (so they also
  // answer the server's pings: a socket left unread through a long spike is
  // closed as idle), until they see the stock at 0 or the bound passes.
  std::atomic<int64_t> seen_a{-1}, seen_b{-1};
  std::jthread watcher_a([&] { seen_a = available_seen(viewer_a, sale.product, kStock, 0, kWatchTimeoutMs); });
  std::jthread watcher_b([&] { seen_b = available_seen(viewer_b, sale.product, kStock, 0, kWatchTimeoutMs); });

  // The buyers, spread over both gateways; a third of the way in, worker A
  // and the NATS node leading the order stream die.
  std::vector<std::string> tokens(kBuyers);
  for (int buyer = 0; buyer < kBuyers; ++buyer)
    tokens[buyer] = gateway_a->token("cluster-buyer-" + std::to_string(buyer));
  std::mutex mutex;
  std::vector<std::pair<int, std::string>> accepted;  // (buyer, order id) answered 202
  std::map<int, int> answers;         // final HTTP status of each click
  int retries = 0;                    // clicks resent (same key) after a 5xx, 429 or no answer
  std::atomic<int> next{0};
  std::atomic<bool> killed{false};
  int nats_killed = -1;
  std::vector<std::thread> clients;
  for (int t = 0; t < kClientThreads; ++t)
    clients.emplace_back([&] {
      for (int buyer = next++; buyer < kBuyers; buyer = next++) {
        if (buyer == kBuyers / 3 && !killed.exchange(true)) {
          worker_a->kill9();
          std::string why;
          const int leader = cluster_->stream_leader(prefix_ + "_orders", why);
          EXPECT_GE(leader, 0) << why;
          cluster_->kill(leader >= 0 ? leader : 0);
          std::lock_guard lock(mutex);
          nats_killed = leader >= 0 ? leader : 0;
        }
        HawkerProcess* gateway = gateways[buyer % 2];
        const std::string body =
            json::serialize(json::object{{"product_id", sale.product}, {"quantity", 1}, {"payment_token", "tok_visa"}});
        HttpReply reply;
        int retried = 0;
        for (int attempt = 0; attempt < kClickAttemptsMax; ++attempt) {
          reply = gateway->post("/v1/orders", body, tokens[buyer], {{"Idempotency-Key", "click-" + std::to_string(buyer)}});
          if (reply.status != 0 && reply.status < 500 && reply.status != 429) break;
          ++retried;
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        std::lock_guard lock(mutex);
        retries += retried;
        ++answers[reply.status];
        if (reply.status == 202) accepted.emplace_back(buyer, std::string(reply.json().at("order_id").as_string()));
      }
    });
  for (auto& client : clients) client.join();
  for (const auto& [status, count] : answers)
    EXPECT_TRUE(status == 202 || status == 409) << count << " clicks answered " << status;
  ASSERT_GE(accepted.size(), static_cast<size_t>(kStock)) << "the gate turned buyers away before the stock was gone";

  // Every 202 reaches exactly one final state (the killed worker's orders
  // after the ack wait, on the surviving worker), read back by its buyer.
  std::map<std::string, std::string> final_status;  // order id -> confirmed | rejected:<reason>
  std::map<std::string, std::string> last_seen;     // order id -> its last answer
  const bool all_final = eventually(
      [&] {
        for (size_t i = 0; i < accepted.size(); ++i) {
          const auto& [buyer, order_id] = accepted[i];
          if (final_status.count(order_id)) continue;
          HttpReply order = gateways[i % 2]->get("/v1/orders/" + order_id, tokens[buyer]);
          last_seen[order_id] = order.describe();
          if (order.status != 200) continue;
          const json::object fields = order.json().as_object();
          const std::string status(fields.at("status").as_string());
          if (status == "confirmed") final_status[order_id] = status;
          if (status == "rejected") final_status[order_id] = "rejected:" + std::string(fields.at("reason").as_string());
        }
        return final_status.size() == accepted.size();
      },
      kFinalTimeoutMs, 200);
  if (!all_final)
    for (const auto& [buyer, order_id] : accepted)
      if (!final_status.count(order_id)) ADD_FAILURE() << "not final: " << order_id << ": " << last_seen[order_id];
  ASSERT_TRUE(all_final) << final_status.size() << " of " << accepted.size() << " orders final";
  std::set<std::string> ids;
  for (const auto& [buyer, order_id] : accepted) ids.insert(order_id);
  EXPECT_EQ(ids.size(), accepted.size()) << "two clicks got the same order id";
  int64_t confirmed = 0;
  std::map<std::string, int> outcomes;
  for (const auto& [order_id, status] : final_status) {
    ++outcomes[status];
    if (status == "confirmed") ++confirmed;
  }
  std::fprintf(stderr, "cluster spike: NATS node n%d killed, %d clicks resent, %zu accepted, %d turned away 409,",
               nats_killed, retries, accepted.size(), answers[409]);
  for (const auto& [status, count] : outcomes) std::fprintf(stderr, " %d %s", count, status.c_str());
  std::fprintf(stderr, "\n");
  for (const auto& [status, count] : outcomes)
    EXPECT_TRUE(status == "confirmed" || status == "rejected:sold_out") << count << " orders ended " << status;
  // Demand (one unit per buyer) exceeds the stock: all of it sells, no more.
  EXPECT_EQ(confirmed, kStock);

  // Stock conserved and not oversold, on the write side.
  HttpReply books = gateway_b->get("/v1/products/" + sale.product + "/inventory",
                                   gateway_b->token("cluster-seller", "seller"));
  ASSERT_EQ(books.status, 200) << books.describe();
  const json::object counts = books.json().as_object();
  EXPECT_EQ(counts.at("sold").as_int64(), kStock);
  EXPECT_EQ(counts.at("reserved").as_int64(), 0);
  EXPECT_EQ(counts.at("available").as_int64(), 0);
  EXPECT_EQ(counts.at("available").as_int64() + counts.at("reserved").as_int64() + counts.at("sold").as_int64(),
            counts.at("initial").as_int64() + counts.at("restocked").as_int64());

  // Nobody charged twice: one approved charge per confirmed order, each key
  // charged by one worker even when the other died holding it.
  EXPECT_EQ(processor_.charges_succeeded(), static_cast<size_t>(kStock));
  EXPECT_EQ(processor_.charges_stored(), static_cast<size_t>(kStock));

  // The viewers on both gateways saw the same final stock.
  watcher_a.join();
  watcher_b.join();
  EXPECT_EQ(seen_a.load(), 0) << "the viewer on gateway A was last told " << seen_a.load();
  EXPECT_EQ(seen_b.load(), 0) << "the viewer on gateway B was last told " << seen_b.load();
  EXPECT_TRUE(worker_b->running());
}

}  // namespace
}  // namespace hawker::testing
