#include "checkout/http_processor.h"

#include <boost/json.hpp>

#include "http/client.h"

namespace hawker::checkout {
namespace {

class HttpProcessor final : public PaymentProcessor {
 public:
  HttpProcessor(std::string name, std::string host, uint16_t port, HttpProcessorOptions options)
      : name_(std::move(name)), host_(std::move(host)), port_(port), options_(std::move(options)) {}

  const std::string& name() const override { return name_; }
  bool supports(std::string_view currency) const override { return options_.currencies.count(currency) > 0; }

  PaymentOutcome authorize(const ChargeRequest& charge) override {
    boost::json::object body;
    body["amount"] = charge.amount_cents;
    std::string currency = charge.currency;
    for (char& c : currency) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    body["currency"] = currency;
    body["source"] = charge.payment_token;
    return post("/v1/charges", charge.idempotency_key, boost::json::serialize(body));
  }

  PaymentOutcome void_charge(const ChargeRequest& charge) override {
    return post("/v1/charges/" + charge.idempotency_key + "/void", "void-" + charge.idempotency_key, "{}");
  }

 private:
  PaymentOutcome post(const std::string& path, const std::string& key, std::string body) {
    http::Request request;
    request.method = http::Method::kPost;
    request.target = path;
    request.headers.emplace_back("Idempotency-Key", key);
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = std::move(body);
    auto response = http::call(host_, port_, request, options_.timeout_ms);
    if (!response) {
      return response.error().code == ErrorCode::kUnavailable ? PaymentOutcome::kUnavailable
                                                               : PaymentOutcome::kTimeout;
    }
    const int status = response->status;
    if (status == 200) {
      boost::system::error_code ec;
      auto parsed = boost::json::parse(response->body, ec);
      if (!ec && parsed.is_object()) {
        const auto* state = parsed.as_object().if_contains("status");
        if (state && state->is_string() && (state->as_string() == "succeeded" || state->as_string() == "voided"))
          return PaymentOutcome::kApproved;
      }
      return PaymentOutcome::kTimeout;  // a 200 we cannot read: outcome unknown
    }
    if (status == 402) return PaymentOutcome::kDeclined;
    if (status == 409 || status == 429 || status == 503) return PaymentOutcome::kUnavailable;
    return PaymentOutcome::kTimeout;
  }

  std::string name_;
  std::string host_;
  uint16_t port_;
  HttpProcessorOptions options_;
};

}  // namespace

Result<PaymentProcessorPtr> make_http_processor(std::string name, const std::string& base_url,
                                                HttpProcessorOptions options) {
  constexpr std::string_view kScheme = "http://";
  if (base_url.rfind(kScheme, 0) != 0) return make_error(ErrorCode::kInvalid, "payment URL must start with http://");
  std::string rest = base_url.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || rest.find('/') != std::string::npos)
    return make_error(ErrorCode::kInvalid, "payment URL must be http://HOST:PORT");
  std::string host = rest.substr(0, colon);
  std::string digits = rest.substr(colon + 1);
  if (host.empty() || digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(digits) > 65535)
    return make_error(ErrorCode::kInvalid, "payment URL must be http://HOST:PORT");
  return PaymentProcessorPtr(
      std::make_unique<HttpProcessor>(std::move(name), host, static_cast<uint16_t>(std::stoul(digits)), std::move(options)));
}

}  // namespace hawker::checkout
