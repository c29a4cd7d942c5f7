#include "http/client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

namespace hawker::http {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

bhttp::verb to_verb(Method method) {
  switch (method) {
    case Method::kGet: return bhttp::verb::get;
    case Method::kPost: return bhttp::verb::post;
    case Method::kPut: return bhttp::verb::put;
    case Method::kDelete: return bhttp::verb::delete_;
    case Method::kHead: return bhttp::verb::head;
    case Method::kOptions: return bhttp::verb::options;
    case Method::kOther: return bhttp::verb::get;
  }
  return bhttp::verb::get;
}
}  // namespace

Result<Response> call(const std::string& host, uint16_t port, const Request& request, int timeout_ms) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  bhttp::request<bhttp::string_body> message{to_verb(request.method), request.target, 11};
  message.set(bhttp::field::host, host);
  for (const auto& [name, value] : request.headers) message.set(name, value);
  message.body() = request.body;
  message.prepare_payload();
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1 << 20);

  beast::error_code result;
  bool connected = false;
  bool done = false;
  beast::error_code resolve_error;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, std::to_string(port), resolve_error);
  if (resolve_error) return make_error(ErrorCode::kUnavailable, "cannot resolve " + host);
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  stream.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
    if (ec) {
      result = ec;
      done = true;
      return;
    }
    connected = true;
    bhttp::async_write(stream, message, [&](beast::error_code write_error, size_t) {
      if (write_error) {
        result = write_error;
        done = true;
        return;
      }
      bhttp::async_read(stream, buffer, parser, [&](beast::error_code read_error, size_t) {
        result = read_error;
        done = true;
      });
    });
  });
  io.run();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (!done || result) {
    if (!connected) return make_error(ErrorCode::kUnavailable, "cannot connect to " + host + ":" + std::to_string(port));
    if (result == beast::error::timeout) return make_error(ErrorCode::kTimeout, "timed out after sending");
    return make_error(ErrorCode::kIo, "http call failed: " + result.message());
  }
  Response response;
  auto& reply = parser.get();
  response.status = static_cast<int>(reply.result_int());
  response.content_type = std::string(reply[bhttp::field::content_type]);
  response.body = std::move(reply.body());
  return response;
}

Result<boost::json::value> call_json(const std::string& host, uint16_t port, Method method, const std::string& target,
                                     const std::string& token, const std::string& body, int expected_status,
                                     int timeout_ms) {
  Request request;
  request.method = method;
  request.target = target;
  if (!token.empty()) request.headers.emplace_back("authorization", "Bearer " + token);
  if (!body.empty()) request.headers.emplace_back("content-type", "application/json");
  request.body = body;
  auto reply = call(host, port, request, timeout_ms);
  if (!reply)
    return make_error(reply.error().code,
                      "cannot reach " + host + ":" + std::to_string(port) + ": " + reply.error().message);
  const std::string verb = method == Method::kGet ? "GET " : method == Method::kPost ? "POST " : "";
  if (reply->status != expected_status)
    return make_error(ErrorCode::kInvalid,
                      verb + target + " answered " + std::to_string(reply->status) + ": " + reply->body);
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(reply->body, ec);
  if (ec) return make_error(ErrorCode::kInvalid, verb + target + " answered something that is not JSON");
  return parsed;
}

}  // namespace hawker::http
