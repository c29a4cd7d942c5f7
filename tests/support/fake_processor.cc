#include "support/fake_processor.h"

#include <algorithm>

#include <boost/json.hpp>

namespace hawker::testing {
namespace {

namespace json = boost::json;

http::Response json_reply(int status, const json::value& body) {
  http::Response response;
  response.status = status;
  response.body = json::serialize(body);
  return response;
}

http::Response error_reply(int status, const std::string& type, const std::string& message) {
  return json_reply(status, json::object{{"error", json::object{{"type", type}, {"message", message}}}});
}

}  // namespace

FakeProcessor::FakeProcessor() = default;

FakeProcessor::~FakeProcessor() { stop(); }

bool FakeProcessor::start() {
  http::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.threads = 2;
  server_ = http::make_http_server(options, [this](http::Request& request, http::Responder responder) {
    handle(request, std::move(responder));
  });
  if (!server_->start()) {
    server_.reset();
    return false;
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  delay_thread_ = std::thread([this] { delay_loop(); });
  return true;
}

void FakeProcessor::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  delayed_changed_.notify_all();
  if (delay_thread_.joinable()) delay_thread_.join();
  {
    // Unsent slow answers hold their connections: drop them before the server goes.
    std::lock_guard lock(mutex_);
    delayed_.clear();
  }
  if (server_) {
    server_->stop();
    server_.reset();
  }
}

uint16_t FakeProcessor::port() const { return server_ ? server_->port() : 0; }

std::string FakeProcessor::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

void FakeProcessor::set_mode(Mode mode, int requests) {
  std::lock_guard lock(mutex_);
  mode_ = mode;
  mode_requests_left_ = requests;
}

void FakeProcessor::set_slow_ms(int slow_ms) {
  std::lock_guard lock(mutex_);
  slow_ms_ = slow_ms;
}

int FakeProcessor::charge_requests() const {
  std::lock_guard lock(mutex_);
  return total_charge_requests_;
}

int FakeProcessor::charge_requests(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto found = charge_requests_.find(key);
  return found == charge_requests_.end() ? 0 : found->second;
}

int FakeProcessor::void_requests(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto found = void_requests_.find(key);
  return found == void_requests_.end() ? 0 : found->second;
}

size_t FakeProcessor::charges_stored() const {
  std::lock_guard lock(mutex_);
  return charges_.size();
}

size_t FakeProcessor::charges_succeeded() const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(std::count_if(charges_.begin(), charges_.end(), [](const auto& entry) {
    return entry.second.status == 200 && !entry.second.voided;
  }));
}

std::optional<FakeProcessor::Charge> FakeProcessor::charge(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto found = charges_.find(key);
  if (found == charges_.end()) return std::nullopt;
  return found->second;
}

void FakeProcessor::handle(http::Request& request, http::Responder responder) {
  const std::string path(request.path());
  const std::string key(request.header("idempotency-key"));
  constexpr std::string_view kCharges = "/v1/charges";
  constexpr std::string_view kVoid = "/void";
  if (request.method != http::Method::kPost) return responder.send(error_reply(405, "invalid_request_error", "POST only"));

  if (path.size() > kCharges.size() + 1 + kVoid.size() && path.rfind(std::string(kCharges) + "/", 0) == 0 &&
      path.compare(path.size() - kVoid.size(), kVoid.size(), kVoid) == 0) {
    const std::string charge_key = path.substr(kCharges.size() + 1, path.size() - kCharges.size() - 1 - kVoid.size());
    {
      std::lock_guard lock(mutex_);
      ++void_requests_[charge_key];
      auto found = charges_.find(charge_key);
      if (found != charges_.end()) found->second.voided = true;
    }
    return responder.send(json_reply(200, json::object{{"id", charge_key}, {"status", "voided"}}));
  }
  if (path != kCharges) return responder.send(error_reply(404, "invalid_request_error", "no such route"));

  Mode mode;
  int slow_ms;
  {
    std::lock_guard lock(mutex_);
    ++total_charge_requests_;
    if (!key.empty()) ++charge_requests_[key];
    mode = mode_;
    slow_ms = slow_ms_;
    if (mode_requests_left_ > 0 && --mode_requests_left_ == 0) mode_ = Mode::kNormal;
  }
  switch (mode) {
    case Mode::kOutage: return responder.send(error_reply(503, "api_error", "service unavailable"));
    case Mode::kServerError: return responder.send(error_reply(500, "api_error", "internal error"));
    case Mode::kGarbage: {
      http::Response response;
      response.status = 200;
      response.body = "<html>not json</html>";
      return responder.send(std::move(response));
    }
    case Mode::kSlow: {
      http::Response response = charge_response(request, key);
      std::lock_guard lock(mutex_);
      delayed_.push_back(Delayed{std::chrono::steady_clock::now() + std::chrono::milliseconds(slow_ms),
                                 std::move(responder), std::move(response)});
      delayed_changed_.notify_all();
      return;
    }
    case Mode::kNormal: return responder.send(charge_response(request, key));
  }
}

http::Response FakeProcessor::charge_response(const http::Request& request, const std::string& key) {
  if (key.empty()) return error_reply(400, "invalid_request_error", "Idempotency-Key is required");
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) return error_reply(400, "invalid_request_error", "body must be a JSON object");
  const json::object& fields = body.as_object();
  const json::value* amount = fields.if_contains("amount");
  const json::value* currency = fields.if_contains("currency");
  const json::value* source = fields.if_contains("source");
  if (!amount || !amount->is_int64() || !currency || !currency->is_string() || !source || !source->is_string())
    return error_reply(400, "invalid_request_error", "amount, currency and source are required");

  std::lock_guard lock(mutex_);
  auto found = charges_.find(key);
  if (found != charges_.end()) {
    ++found->second.replays;
    http::Response replay;
    replay.status = found->second.status;
    replay.body = found->second.body;
    return replay;
  }
  Charge charge;
  charge.key = key;
  charge.amount = amount->as_int64();
  charge.currency = std::string(currency->as_string());
  charge.source = std::string(source->as_string());
  http::Response response;
  if (charge.source == "tok_visa") {
    response = json_reply(200, json::object{{"id", "ch_" + std::to_string(next_charge_id_++)},
                                            {"status", "succeeded"},
                                            {"amount", charge.amount},
                                            {"currency", charge.currency}});
  } else {
    response = json_reply(
        402, json::object{{"error", json::object{{"type", "card_error"}, {"code", "card_declined"},
                                                 {"message", "Your card was declined."}}}});
  }
  charge.status = response.status;
  charge.body = response.body;
  charges_.emplace(key, std::move(charge));
  return response;
}

void FakeProcessor::delay_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (delayed_.empty()) {
      delayed_changed_.wait(lock);
      continue;
    }
    auto earliest = std::min_element(delayed_.begin(), delayed_.end(),
                                     [](const Delayed& a, const Delayed& b) { return a.due < b.due; });
    if (earliest->due > std::chrono::steady_clock::now()) {
      // Copy the deadline: a push_back while waiting may move the vector.
      const auto due = earliest->due;
      delayed_changed_.wait_until(lock, due);
      continue;
    }
    Delayed due = std::move(*earliest);
    delayed_.erase(earliest);
    lock.unlock();
    due.responder.send(std::move(due.response));
    lock.lock();
  }
}

}  // namespace hawker::testing
