// Plain HTTP request/response values, free of Beast, so the many files that
// handle requests never include Boost.Beast or Asio (they compile slowly).
// Only server.cc and client.cc convert between these and Beast's types.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hawker::http {

enum class Method { kGet, kPost, kPut, kDelete, kHead, kOptions, kOther };

struct Request {
  Method method = Method::kGet;
  std::string target;  // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;

  std::string_view path() const;
  std::string_view query() const;
  // The header's value, or empty. `name` must be lower-case.
  std::string_view header(std::string_view name) const;
};

// Decodes one query parameter (percent-decoding); false when absent.
bool query_param(std::string_view query, std::string_view name, std::string& value);

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;  // close the connection after sending
  // For a response that describes a body it does not carry (the answer to a
  // HEAD, or a 304): the Content-Length of that body, sent instead of
  // body.size(), which must be 0. Unset for every other response.
  std::optional<uint64_t> content_length;
};

// Hands a response back to the connection that asked, from any thread, once.
class Responder {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void deliver(Response&& response) = 0;
  };
  explicit Responder(std::shared_ptr<Sink> sink) : sink_(std::move(sink)) {}
  void send(Response&& response) const { sink_->deliver(std::move(response)); }

 private:
  std::shared_ptr<Sink> sink_;
};

}  // namespace hawker::http
