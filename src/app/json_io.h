// JSON helpers for the HTTP API: strict reading of untrusted bodies (a field
// of the wrong type is an error naming the field), the error envelope, and
// the public JSON shapes of products and orders (docs/API.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "core/result.h"
#include "http/message.h"
#include "store/read_store.h"
#include "store/write_store.h"

namespace hawker::app {

// Parses a JSON object body; errors are kInvalid with a message for the client.
Result<boost::json::object> parse_object(std::string_view body);
// Field readers: nullopt when absent; an error when present with the wrong type or out of range.
Result<std::optional<std::string>> read_string(const boost::json::object& object, std::string_view field,
                                               size_t max_bytes);
Result<std::optional<int64_t>> read_int(const boost::json::object& object, std::string_view field, int64_t min,
                                        int64_t max);

http::Response json_response(int status, const boost::json::value& body);
http::Response error_response(int status, std::string_view code, std::string_view message);
// Maps an Error from lower layers to the HTTP error it means.
http::Response error_response(const Error& error);

boost::json::object product_json(const market::ProductDefinition& definition, const market::Inventory& inventory);
boost::json::object order_json(const store::OrderView& order);

}  // namespace hawker::app
