#include "app/live_sessions.h"

#include <atomic>

#include <boost/json.hpp>

#include "app/json_io.h"
#include "core/ids.h"
#include "core/log.h"
#include "live/frame.h"

namespace hawker::app {
namespace json = boost::json;
namespace {

constexpr size_t kBlockedWordsMax = 200;

http::Frame error_frame(std::string_view code, std::string_view message) {
  return live::make_frame("error", 0, json::object{{"code", code}, {"message", message}});
}

// Common to viewer and seller sessions: the connection, error counting.
class SessionBase : public http::WebSocketHandler, public live::Subscriber {
 public:
  void deliver(live::Frame frame, uint64_t replace_key) override {
    if (auto connection = connection_.load()) connection->send(std::move(frame), replace_key);
  }
  std::shared_ptr<http::NetworkThread> home() const override {
    auto connection = connection_.load();
    return connection ? connection->home().lock() : nullptr;
  }

 protected:
  void open(std::shared_ptr<http::WebSocketConnection> connection) { connection_.store(std::move(connection)); }
  void reply_error(std::string_view code, std::string_view message) {
    auto connection = connection_.load();
    if (!connection) return;
    connection->send(error_frame(code, message));
    if (++client_errors_ >= kClientErrorsMax) connection->close(http::kClosePolicy, "too many bad frames");
  }
  void drop_connection() { connection_.store(nullptr); }

 private:
  std::atomic<std::shared_ptr<http::WebSocketConnection>> connection_;
  int client_errors_ = 0;  // home-thread-only
};

class ViewerSession final : public SessionBase, public std::enable_shared_from_this<ViewerSession> {
 public:
  ViewerSession(live::LiveHub& hub, uint64_t show_id, std::string user, std::optional<uint64_t> since_seq)
      : hub_(hub), show_id_(show_id), user_(std::move(user)), since_seq_(since_seq) {}

  void on_open(std::shared_ptr<http::WebSocketConnection> connection) override {
    open(connection);
    Status subscribed = hub_.subscribe(show_id_, shared_from_this(), user_, since_seq_);
    if (!subscribed) {
      connection->send(error_frame("unavailable", subscribed.error().message));
      connection->close(http::kClosePolicy, "cannot join this show");
    }
  }

  void on_text(std::string_view message) override {
    boost::system::error_code ec;
    json::value value = json::parse(message, ec);
    if (ec || !value.is_object()) return reply_error("bad_frame", "frames must be JSON objects");
    const json::object& frame = value.as_object();
    const json::value* type = frame.if_contains("type");
    if (!type || !type->is_string()) return reply_error("bad_frame", "a frame needs a string 'type'");
    const std::string_view kind = type->as_string();
    if (kind == "chat") return chat(frame);
    if (kind == "resume") return resume(frame);
    if (kind == "delete_chat" || kind == "mute" || kind == "blocked_words") return moderate(kind, frame);
    reply_error("bad_frame", "unknown frame type");
  }

  void on_close() override {
    hub_.unsubscribe(show_id_, this);
    drop_connection();
  }

 private:
  void chat(const json::object& frame) {
    if (user_.empty()) return reply_error("unauthorized", "sign in to chat");
    auto text = read_string(frame, "text", 4 * 500);  // code points are checked by the chat policy
    if (!text || !*text) return reply_error("bad_frame", "chat needs a string 'text'");
    auto sent = hub_.chat(show_id_, user_, **text);
    if (!sent) return reply_error(sent.error().code == ErrorCode::kOverloaded ? "rate_limited" : "chat_refused",
                                  sent.error().message);
  }

  void resume(const json::object& frame) {
    auto since = read_int(frame, "since_seq", 0, INT64_MAX);
    if (!since || !*since) return reply_error("bad_frame", "resume needs an integer 'since_seq'");
    auto resumed = hub_.resume(show_id_, shared_from_this(), static_cast<uint64_t>(**since));
    if (!resumed) reply_error("unavailable", resumed.error().message);
  }

  void moderate(std::string_view kind, const json::object& frame) {
    if (user_.empty()) return reply_error("unauthorized", "sign in first");
    Status done;
    if (kind == "delete_chat") {
      auto id = read_int(frame, "id", 1, INT64_MAX);
      if (!id || !*id) return reply_error("bad_frame", "delete_chat needs an integer 'id'");
      auto deleted = hub_.delete_chat(show_id_, user_, static_cast<uint64_t>(**id));
      if (!deleted) done = deleted.error();
    } else if (kind == "blocked_words") {
      const json::value* words = frame.if_contains("words");
      if (!words || !words->is_array() || words->as_array().size() > kBlockedWordsMax)
        return reply_error("bad_frame", "blocked_words needs an array 'words' of at most 200 strings");
      std::vector<std::string> list;
      for (const auto& word : words->as_array()) {
        if (!word.is_string() || word.as_string().empty() || word.as_string().size() > 64)
          return reply_error("bad_frame", "each blocked word is a string of 1 to 64 bytes");
        list.emplace_back(word.as_string());
      }
      done = hub_.set_blocked_words(show_id_, user_, list);
    } else {
      auto target = read_string(frame, "user", 128);
      if (!target || !*target) return reply_error("bad_frame", "mute needs a string 'user'");
      done = hub_.mute(show_id_, user_, **target);
    }
    if (!done) reply_error(done.error().code == ErrorCode::kForbidden ? "forbidden" : "refused", done.error().message);
  }

  live::LiveHub& hub_;
  const uint64_t show_id_;
  const std::string user_;
  const std::optional<uint64_t> since_seq_;
};

class SellerSession final : public SessionBase, public std::enable_shared_from_this<SellerSession> {
 public:
  SellerSession(live::LiveHub& hub, std::string seller) : hub_(hub), seller_(std::move(seller)) {}
  void on_open(std::shared_ptr<http::WebSocketConnection> connection) override {
    open(std::move(connection));
    hub_.subscribe_seller(seller_, shared_from_this());
  }
  void on_text(std::string_view) override { reply_error("bad_frame", "the seller channel takes no frames"); }
  void on_close() override {
    hub_.unsubscribe_seller(seller_, this);
    drop_connection();
  }

 private:
  live::LiveHub& hub_;
  const std::string seller_;
};

bool origin_allowed(const LiveEndpointContext& context, const http::Request& request) {
  std::string_view origin = request.header("origin");
  if (origin.empty()) return true;  // not a browser: nothing to protect against
  if (origin == "http://" + std::string(request.header("host")) ||
      origin == "https://" + std::string(request.header("host")))
    return true;
  for (const auto& allowed : context.allowed_origins)
    if (allowed == "*" || allowed == origin) return true;
  return false;
}

http::UpgradeDecision refuse(int status, std::string_view code, std::string_view message) {
  return http::UpgradeDecision{nullptr, error_response(status, code, message)};
}

}  // namespace

http::UpgradeDecision live_upgrade(const LiveEndpointContext& context, const http::Request& request) {
  if (!origin_allowed(context, request)) return refuse(403, "forbidden", "origin not allowed");
  std::string token;
  std::string_view header = request.header("authorization");
  if (header.size() > 7 && header.substr(0, 7) == "Bearer ") token = std::string(header.substr(7));
  else http::query_param(request.query(), "token", token);
  std::optional<Claims> claims;
  if (!token.empty()) {
    auto verified = context.tokens->verify(token, context.clock->now_us() / 1'000'000);
    if (!verified) return refuse(401, "unauthorized", verified.error().message);
    claims = *verified;
  }
  std::string_view path = request.path();
  if (path == "/v1/sellers/me/live") {
    if (!claims || claims->role != Role::kSeller) return refuse(401, "unauthorized", "a seller token is required");
    return http::UpgradeDecision{std::make_shared<SellerSession>(*context.hub, claims->sub), {}};
  }
  constexpr std::string_view kPrefix = "/v1/shows/";
  constexpr std::string_view kSuffix = "/live";
  if (path.size() > kPrefix.size() + kSuffix.size() && path.substr(0, kPrefix.size()) == kPrefix &&
      path.substr(path.size() - kSuffix.size()) == kSuffix) {
    uint64_t show_id = 0;
    if (!parse_show_id(path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()), show_id) ||
        !context.hub->find_show(show_id))
      return refuse(404, "not_found", "no such show");
    std::optional<uint64_t> since;
    std::string since_text;
    if (http::query_param(request.query(), "since_seq", since_text) && !since_text.empty()) {
      char* end = nullptr;
      unsigned long long value = std::strtoull(since_text.c_str(), &end, 10);
      if (end == since_text.c_str() || *end != '\0') return refuse(400, "invalid_request", "bad since_seq");
      since = value;
    }
    return http::UpgradeDecision{
        std::make_shared<ViewerSession>(*context.hub, show_id, claims ? claims->sub : std::string(), since), {}};
  }
  return refuse(404, "not_found", "no WebSocket here");
}

}  // namespace hawker::app
