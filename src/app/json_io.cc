#include "app/json_io.h"

#include <boost/json.hpp>

#include "core/ids.h"

namespace hawker::app {
namespace json = boost::json;

Result<json::object> parse_object(std::string_view body) {
  if (body.empty()) return make_error(ErrorCode::kInvalid, "request body must be a JSON object");
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 16;
  json::value value = json::parse(body, ec, {}, options);
  if (ec) return make_error(ErrorCode::kInvalid, "malformed JSON: " + ec.message());
  if (!value.is_object()) return make_error(ErrorCode::kInvalid, "request body must be a JSON object");
  return std::move(value.as_object());
}

Result<std::optional<std::string>> read_string(const json::object& object, std::string_view field, size_t max_bytes) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || value->is_null()) return std::optional<std::string>();
  if (!value->is_string()) return make_error(ErrorCode::kInvalid, "field '" + std::string(field) + "' must be a string");
  const auto& text = value->as_string();
  if (text.size() > max_bytes)
    return make_error(ErrorCode::kInvalid,
                      "field '" + std::string(field) + "' is longer than " + std::to_string(max_bytes) + " bytes");
  return std::optional<std::string>(std::string(text));
}

Result<std::optional<int64_t>> read_int(const json::object& object, std::string_view field, int64_t min, int64_t max) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || value->is_null()) return std::optional<int64_t>();
  int64_t number = 0;
  if (value->is_int64()) number = value->as_int64();
  else if (value->is_uint64() && value->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) number = static_cast<int64_t>(value->as_uint64());
  else if (value->is_uint64()) number = INT64_MAX;
  else return make_error(ErrorCode::kInvalid, "field '" + std::string(field) + "' must be an integer");
  if (number < min || number > max)
    return make_error(ErrorCode::kInvalid, "field '" + std::string(field) + "' must be between " +
                                               std::to_string(min) + " and " + std::to_string(max));
  return std::optional<int64_t>(number);
}

http::Response json_response(int status, const json::value& body) {
  http::Response response;
  response.status = status;
  response.body = json::serialize(body);
  return response;
}

http::Response error_response(int status, std::string_view code, std::string_view message) {
  json::object error;
  error["code"] = code;
  error["message"] = message;
  return json_response(status, json::object{{"error", std::move(error)}});
}

http::Response error_response(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalid: return error_response(400, "invalid_request", error.message);
    case ErrorCode::kUnauthorized: return error_response(401, "unauthorized", error.message);
    case ErrorCode::kForbidden: return error_response(403, "forbidden", error.message);
    case ErrorCode::kNotFound: return error_response(404, "not_found", error.message);
    case ErrorCode::kConflict: return error_response(422, "conflict", error.message);
    case ErrorCode::kSoldOut: return error_response(409, "sold_out", error.message);
    case ErrorCode::kOverloaded: return error_response(429, "overloaded", error.message);
    case ErrorCode::kVersionConflict:
    case ErrorCode::kIo:
    case ErrorCode::kTimeout:
    case ErrorCode::kUnavailable: return error_response(503, "unavailable", error.message);
    case ErrorCode::kInternal: return error_response(500, "internal", error.message);
  }
  return error_response(500, "internal", error.message);
}

json::object product_json(const market::ProductDefinition& d, const market::Inventory& i) {
  json::object o;
  o["id"] = format_product_id(d.id);
  o["seller"] = d.seller;
  o["title"] = d.title;
  o["price_cents"] = d.price_cents;
  o["currency"] = d.currency;
  o["available"] = i.available;
  o["state"] = market::stock_state_name(market::stock_state(i));
  o["max_per_buyer"] = d.max_per_buyer;
  return o;
}

json::object order_json(const store::OrderView& v) {
  json::object o;
  o["order_id"] = format_order_id(v.order_id);
  o["product_id"] = format_product_id(v.product_id);
  o["quantity"] = v.quantity;
  o["status"] = market::order_status_name(v.status);
  if (v.status == market::OrderStatus::kRejected) o["reason"] = market::reject_reason_name(v.reason);
  if (v.status != market::OrderStatus::kAccepted) o["amount_cents"] = v.amount_cents;
  if (v.updated_us > 0) o["updated_ms"] = v.updated_us / 1000;
  return o;
}

}  // namespace hawker::app
