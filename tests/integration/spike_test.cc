// `hawker spike` against the real `hawker serve` (one server for the suite):
// a small flash crowd sells exactly its stock and every invariant holds; the
// per-buyer limit caps double clicks; a sale that cannot sell (every card
// declined) is reported FAILED with exit 1; bad flags are exit 2 with a reason
// and create nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "support/hawker_process.h"
#include "support/server_suite.h"

namespace hawker::testing {
namespace {

namespace json = boost::json;

constexpr int kSpikeTimeoutMs = 180'000;

class SpikeTest : public ServerSuite {
 protected:
  void SetUp() override {
    ServerSuite::SetUp();
    out_ = server_->folder() + "/spike-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  CommandOutput spike(std::vector<std::string> flags) const {
    std::vector<std::string> args = {"spike", "--url", "127.0.0.1:" + std::to_string(server_->port()), "--data",
                                     server_->data_dir(), "--out", out_};
    args.insert(args.end(), flags.begin(), flags.end());
    return run_hawker(args, kSpikeTimeoutMs);
  }

  json::value results() const {
    std::ifstream in(out_ + "/results.json");
    std::stringstream text;
    text << in.rdbuf();
    json::error_code ec;
    json::value value = json::parse(text.str(), ec);
    EXPECT_FALSE(ec) << "results.json: " << text.str();
    return value;
  }

  static int64_t number(const json::value& value, std::initializer_list<const char*> path) {
    const json::value* at = &value;
    for (const char* key : path) at = &at->at(key);
    return at->to_number<int64_t>();
  }

  static std::string describe(const CommandOutput& run) {
    return "exit " + std::to_string(run.exit_code) + "\n--- stdout\n" + run.out + "--- stderr\n" + run.err;
  }

  std::string out_;
};

TEST_F(SpikeTest, FlashCrowdSellsExactlyTheStockAndEveryInvariantHolds) {
  const CommandOutput run = spike({"--buyers", "600", "--stock", "40", "--viewers", "30", "--arrival", "ramp:300ms",
                                   "--connections", "32", "--seed", "3"});
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_NE(run.out.find("spike PASSED"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("FAIL"), std::string::npos) << run.out;

  const json::value r = results();
  ASSERT_TRUE(r.is_object());
  EXPECT_TRUE(r.at("pass").as_bool());
  EXPECT_EQ(number(r, {"finals", "confirmed"}), 40);
  EXPECT_EQ(number(r, {"finals", "unresolved"}), 0);
  EXPECT_EQ(number(r, {"answers", "202"}) + number(r, {"answers", "409"}), 600);
  EXPECT_EQ(number(r, {"answers", "5xx"}), 0);
  EXPECT_EQ(number(r, {"viewers", "connected"}), 30);
  EXPECT_EQ(number(r, {"viewers", "saw_final"}), 30);
  EXPECT_EQ(number(r, {"books", "sold"}), 40);
  EXPECT_EQ(number(r, {"books", "available"}), 0);
  EXPECT_EQ(number(r, {"latency", "click_to_final", "count"}), 600);
  EXPECT_GT(number(r, {"latency", "stock_tick", "count"}), 0);
  for (const auto& check : r.at("checks").as_array()) EXPECT_TRUE(check.at("pass").as_bool()) << json::serialize(check);

  // The server agrees, read independently of the spike.
  const std::string product = std::string(r.at("product_id").as_string());
  HttpReply read = server_->get("/v1/products/" + product);
  ASSERT_EQ(read.status, 200) << read.describe();
  EXPECT_EQ(read.json().at("available").to_number<int64_t>(), 0);
  EXPECT_EQ(read.json().at("state"), "sold_out");

  for (const char* file : {"report.html", "latency.svg", "answers.svg", "stock.svg"})
    EXPECT_GT(std::filesystem::file_size(out_ + "/" + file), 500u) << file;
}

TEST_F(SpikeTest, PerBuyerLimitCapsDoubleClicks) {
  const CommandOutput run =
      spike({"--buyers", "20", "--clicks", "3", "--limit", "2", "--stock", "100", "--arrival", "ramp:200ms"});
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  const json::value r = results();
  EXPECT_EQ(number(r, {"finals", "confirmed"}), 40);
  EXPECT_EQ(number(r, {"finals", "rejected_limit_exceeded"}), 20);
  EXPECT_EQ(number(r, {"books", "available"}), 60);
}

TEST_F(SpikeTest, SeveralUrlsTakeTurnsAndAreAllReported) {
  // A cluster's gateways are given as a list; here the same server twice.
  const std::string address = "127.0.0.1:" + std::to_string(server_->port());
  const CommandOutput run = run_hawker({"spike", "--url", address + ",http://" + address + "/", "--data",
                                        server_->data_dir(), "--out", out_, "--buyers", "60", "--stock", "20",
                                        "--viewers", "6", "--connections", "4", "--arrival", "ramp:200ms"},
                                       kSpikeTimeoutMs);
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  const json::value r = results();
  EXPECT_EQ(r.at("url").as_string(), address + "," + address);
  EXPECT_EQ(number(r, {"finals", "confirmed"}), 20);
  EXPECT_EQ(number(r, {"viewers", "saw_final"}), 6);
}

TEST_F(SpikeTest, ASaleThatCannotSellIsReportedFailed) {
  // Every card declines: nothing is confirmed though demand and stock are
  // there (a unit for every buyer, so no click can meet a sold-out edge while
  // declined units are on their way back).
  const CommandOutput run =
      spike({"--buyers", "10", "--stock", "10", "--arrival", "rate:100", "--payment-token", "tok_decline"});
  EXPECT_EQ(run.exit_code, 1) << describe(run);
  EXPECT_NE(run.out.find("FAIL confirmed == min(stock, demand under per-buyer limits): confirmed 0, expected 10"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("spike FAILED"), std::string::npos);
  const json::value r = results();
  EXPECT_FALSE(r.at("pass").as_bool());
  EXPECT_EQ(number(r, {"finals", "rejected_other"}), 10);
  EXPECT_EQ(number(r, {"books", "available"}), 10);  // declined payments gave every unit back
}

TEST_F(SpikeTest, BadFlagsAreExit2WithAReasonAndCreateNothing) {
  const std::string seller = "spike-bad-flags";
  struct Case {
    std::vector<std::string> flags;
    const char* says;
  };
  const Case cases[] = {
      {{"--arrival", "burst:1s"}, "--arrival must start with ramp: or rate:"},
      {{"--arrival", "ramp:1"}, "a ramp needs a unit"},
      {{"--buyers", "0"}, "--buyers must be"},
      {{"--connections", "0"}, "--connections must be"},
      {{"--limit", "-1"}, "--limit must be"},
      {{"--product", "prd_999999", "--show", "shw_999999"}, "answered 404"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> flags = c.flags;
    flags.insert(flags.end(), {"--seller", seller});
    const CommandOutput run = spike(flags);
    EXPECT_EQ(run.exit_code, 2) << describe(run);
    EXPECT_NE(run.err.find(c.says), std::string::npos) << describe(run);
  }
  const CommandOutput bad_url =
      run_hawker({"spike", "--url", "nowhere", "--data", server_->data_dir(), "--seller", seller}, kSpikeTimeoutMs);
  EXPECT_EQ(bad_url.exit_code, 2) << describe(bad_url);
  EXPECT_NE(bad_url.err.find("--url must be HOST:PORT"), std::string::npos) << describe(bad_url);
  const CommandOutput bad_second = run_hawker({"spike", "--url", "127.0.0.1:" + std::to_string(server_->port()) + ",",
                                               "--data", server_->data_dir(), "--seller", seller},
                                              kSpikeTimeoutMs);
  EXPECT_EQ(bad_second.exit_code, 2) << describe(bad_second);
  EXPECT_NE(bad_second.err.find("comma-separated for several"), std::string::npos) << describe(bad_second);
  // Without the secret no token can be minted.
  const CommandOutput no_secret =
      run_hawker({"spike", "--url", "127.0.0.1:" + std::to_string(server_->port()), "--seller", seller}, kSpikeTimeoutMs);
  EXPECT_EQ(no_secret.exit_code, 2) << describe(no_secret);
  EXPECT_NE(no_secret.err.find("give --data DIR or --secret-file F"), std::string::npos) << describe(no_secret);

  HttpReply products = server_->get("/v1/products?seller=" + seller);
  ASSERT_EQ(products.status, 200) << products.describe();
  EXPECT_TRUE(products.json().at("items").as_array().empty()) << products.body;
}

}  // namespace
}  // namespace hawker::testing
