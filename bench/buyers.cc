// buyers: a load tool for the purchase pipeline's figures (docs/BENCHMARKS.md).
//
// Creates a product with --stock units through the API, then --buyers distinct
// buyers each click "Buy Now" once (quantity 1, tok_visa) over --connections
// keep-alive connections (closed loop: each connection sends its next click
// when the previous one is answered). Afterwards it reads every 202 order until
// it is final and checks: confirmed == min(stock, buyers), every other buyer
// rejected sold_out (409 at the edge or by a worker), no 5xx, nothing lost,
// and the product's available count is stock - confirmed. Prints throughput
// and latency percentiles; exits 1 if a check fails.
//
//   buyers --url 127.0.0.1:8080 --data DATA --buyers 20000 --connections 256 --stock 100
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "core/clock.h"
#include "core/jwt.h"

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string secret_file;
  int buyers = 20000;
  int connections = 256;
  int64_t stock = 100;
};

struct Reply {
  int status = 0;
  std::string body;
};

class Connection {
 public:
  Connection(const Options& options) : options_(options), socket_(io_) {}
  bool request(bhttp::verb verb, const std::string& target, const std::string& token, const std::string& key,
               const std::string& body, Reply& reply) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (!socket_.is_open()) {
          tcp::resolver resolver(io_);
          asio::connect(socket_, resolver.resolve(options_.host, options_.port));
          socket_.set_option(tcp::no_delay(true));
        }
        bhttp::request<bhttp::string_body> message{verb, target, 11};
        message.set(bhttp::field::host, options_.host);
        if (!token.empty()) message.set(bhttp::field::authorization, "Bearer " + token);
        if (!key.empty()) message.set("Idempotency-Key", key);
        message.body() = body;
        message.prepare_payload();
        bhttp::write(socket_, message);
        bhttp::response<bhttp::string_body> response;
        bhttp::read(socket_, buffer_, response);
        reply.status = static_cast<int>(response.result_int());
        reply.body = std::move(response.body());
        if (!response.keep_alive()) socket_.close();
        return true;
      } catch (const std::exception&) {
        beast::error_code ignored;
        socket_.close(ignored);
        buffer_.clear();
        if (attempt == 1) return false;
      }
    }
    return false;
  }

 private:
  const Options& options_;
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--url") {
      size_t colon = value.rfind(':');
      options.host = value.substr(0, colon);
      options.port = value.substr(colon + 1);
    } else if (flag == "--secret-file") options.secret_file = value;
    else if (flag == "--data") options.secret_file = value + "/jwt.secret";
    else if (flag == "--buyers") options.buyers = std::stoi(value);
    else if (flag == "--connections") options.connections = std::stoi(value);
    else if (flag == "--stock") options.stock = std::stoll(value);
    else {
      std::fprintf(stderr, "buyers: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto secret = hawker::load_or_create_secret(options.secret_file, false);
  if (!secret) {
    std::fprintf(stderr, "buyers: %s\n", secret.error().message.c_str());
    return 2;
  }
  const int64_t exp = hawker::SystemClock::instance().now_ms() / 1000 + 3600;
  const std::string seller = hawker::sign_token({"bench-seller", hawker::Role::kSeller, exp}, *secret);

  Connection setup(options);
  Reply reply;
  std::string create = R"({"title":"bench drop","price_cents":1000,"stock":)" + std::to_string(options.stock) + "}";
  if (!setup.request(bhttp::verb::post, "/v1/products", seller, "", create, reply) || reply.status != 201) {
    std::fprintf(stderr, "buyers: cannot create product: %d %s\n", reply.status, reply.body.c_str());
    return 1;
  }
  const std::string product_id(boost::json::parse(reply.body).as_object().at("id").as_string());

  // Tokens first, so signing is not measured.
  std::vector<std::string> tokens(options.buyers);
  for (int i = 0; i < options.buyers; ++i)
    tokens[i] = hawker::sign_token({"buyer-" + std::to_string(i), hawker::Role::kBuyer, exp}, *secret);

  struct Outcome {
    int status = 0;
    int64_t click_us = 0;   // wall clock when sent
    double answer_ms = 0;   // click -> HTTP answer
    std::string order_id;
  };
  std::vector<Outcome> outcomes(options.buyers);
  std::atomic<int> next{0};
  const std::string body = R"({"product_id":")" + product_id + R"(","quantity":1,"payment_token":"tok_visa"})";
  const int64_t started = hawker::monotonic_us();
  std::vector<std::thread> threads;
  for (int c = 0; c < options.connections; ++c) {
    threads.emplace_back([&] {
      Connection connection(options);
      Reply r;
      for (int i = next.fetch_add(1); i < options.buyers; i = next.fetch_add(1)) {
        Outcome& outcome = outcomes[i];
        outcome.click_us = hawker::SystemClock::instance().now_us();
        const int64_t sent = hawker::monotonic_us();
        if (!connection.request(bhttp::verb::post, "/v1/orders", tokens[i], "k" + std::to_string(i), body, r)) {
          outcome.status = -1;
          continue;
        }
        outcome.answer_ms = static_cast<double>(hawker::monotonic_us() - sent) / 1000.0;
        outcome.status = r.status;
        if (r.status == 202)
          outcome.order_id = std::string(boost::json::parse(r.body).as_object().at("order_id").as_string());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double click_seconds = static_cast<double>(hawker::monotonic_us() - started) / 1e6;

  // Follow every 202 to its final state (bounded: 60 s).
  int confirmed = 0, rejected_sold_out = 0, rejected_other = 0, unresolved = 0;
  std::vector<double> final_ms;
  const int64_t deadline = hawker::monotonic_us() + 60'000'000;
  for (int i = 0; i < options.buyers; ++i) {
    Outcome& outcome = outcomes[i];
    if (outcome.status != 202) continue;
    bool done = false;
    while (!done && hawker::monotonic_us() < deadline) {
      if (!setup.request(bhttp::verb::get, "/v1/orders/" + outcome.order_id, tokens[i], "", "", reply)) break;
      if (reply.status == 200) {
        auto order = boost::json::parse(reply.body).as_object();
        std::string status(order.at("status").as_string());
        if (status == "confirmed" || status == "rejected") {
          done = true;
          if (status == "confirmed") ++confirmed;
          else if (order.at("reason").as_string() == "sold_out") ++rejected_sold_out;
          else ++rejected_other;
          if (const auto* updated = order.if_contains("updated_ms"))
            final_ms.push_back(static_cast<double>(updated->to_number<int64_t>() * 1000 - outcome.click_us) / 1000.0);
        }
      }
      if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!done) ++unresolved;
  }

  int accepted = 0, sold_out_edge = 0, server_errors = 0, other = 0;
  std::vector<double> answer_ms;
  for (const auto& outcome : outcomes) {
    if (outcome.status == 202) ++accepted;
    else if (outcome.status == 409) ++sold_out_edge;
    else if (outcome.status >= 500 || outcome.status < 0) ++server_errors;
    else ++other;
    if (outcome.status > 0) answer_ms.push_back(outcome.answer_ms);
  }
  setup.request(bhttp::verb::get, "/v1/products/" + product_id, "", "", "", reply);
  const int64_t available = boost::json::parse(reply.body).as_object().at("available").as_int64();

  const int64_t expected_confirmed = std::min<int64_t>(options.stock, options.buyers);
  std::printf("buyers %d, connections %d, stock %lld, product %s\n", options.buyers, options.connections,
              static_cast<long long>(options.stock), product_id.c_str());
  std::printf("answers: 202 %d, 409 %d, 5xx/failed %d, other %d\n", accepted, sold_out_edge, server_errors, other);
  std::printf("finals: confirmed %d, rejected sold_out %d, rejected other %d, unresolved %d\n", confirmed,
              rejected_sold_out, rejected_other, unresolved);
  std::printf("throughput: %.0f clicks/s over %.2f s\n", options.buyers / click_seconds, click_seconds);
  std::printf("click->answer ms: p50 %.2f p99 %.2f max %.2f\n", percentile(answer_ms, 50), percentile(answer_ms, 99),
              percentile(answer_ms, 100));
  std::printf("click->final ms (accepted orders, server decision time): p50 %.2f p99 %.2f max %.2f\n",
              percentile(final_ms, 50), percentile(final_ms, 99), percentile(final_ms, 100));
  bool ok = true;
  auto check = [&](bool condition, const char* what) {
    std::printf("%s %s\n", condition ? "PASS" : "FAIL", what);
    ok = ok && condition;
  };
  check(confirmed == expected_confirmed, "confirmed == min(stock, buyers)");
  check(accepted + sold_out_edge == options.buyers, "every buyer answered 202 or 409");
  check(rejected_other == 0 && other == 0, "every other buyer rejected sold_out");
  check(server_errors == 0, "no 5xx");
  check(unresolved == 0, "every 202 reached a final state");
  check(available == options.stock - confirmed, "available == stock - confirmed");
  return ok ? 0 : 1;
}
