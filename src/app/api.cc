#include "app/api.h"

#include <boost/json.hpp>

#include "app/json_io.h"
#include "app/streaming.h"
#include "core/ids.h"
#include "core/jwt.h"
#include "core/token_cache.h"
#include "core/log.h"
#include "http/file_response.h"
#include "market/decision.h"

namespace hawker::app {
namespace json = boost::json;
using http::Method;
using http::Request;
using http::Responder;
using http::Response;

namespace {
constexpr size_t kIdempotencyKeyBytesMax = 200;
constexpr size_t kPaymentTokenBytesMax = 100;
constexpr size_t kPageLimitMax = 100;
constexpr auto kProjectionWait = std::chrono::milliseconds(2000);
constexpr size_t kStreamKeyBytes = 16;  // 32 hex characters
constexpr int64_t kGuestTokenSeconds = 24 * 3600;

// The web pages: revalidated on every load (ETag), so a new build shows at once.
constexpr std::string_view kPageCache = "no-cache";
constexpr http::FileType kWebTypes[] = {
    {".html", "text/html; charset=utf-8", kPageCache, true},
    {".js", "text/javascript; charset=utf-8", kPageCache, true},
    {".css", "text/css; charset=utf-8", kPageCache, true},
    {".svg", "image/svg+xml", kPageCache, true},
    {".png", "image/png", kPageCache, false},
    {".ico", "image/x-icon", kPageCache, false},
};

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

// Splits "/v1/products/prd_1/restock" into its segments after the prefix.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return out;
}

std::string etag_for(const json::object& body) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "\"%016llx\"",
                static_cast<unsigned long long>(fnv1a64(json::serialize(body))));
  return buffer;
}
}  // namespace

struct Api::Impl {
  ApiContext ctx;
  Counter& requests_2xx;
  Counter& requests_4xx;
  Counter& requests_5xx;
  Counter& orders_accepted;
  Counter& orders_duplicate;
  Counter& orders_sold_out_edge;
  Counter& orders_overloaded;
  Histogram& order_latency;
  TokenCache& tokens;

  explicit Impl(ApiContext context)
      : ctx(std::move(context)),
        requests_2xx(ctx.metrics->counter("hawker_http_requests_total{class=\"2xx\"}", "HTTP requests answered")),
        requests_4xx(ctx.metrics->counter("hawker_http_requests_total{class=\"4xx\"}", "HTTP requests answered")),
        requests_5xx(ctx.metrics->counter("hawker_http_requests_total{class=\"5xx\"}", "HTTP requests answered")),
        orders_accepted(ctx.metrics->counter("hawker_order_clicks_total{answer=\"accepted\"}", "Buy clicks by answer")),
        orders_duplicate(ctx.metrics->counter("hawker_order_clicks_total{answer=\"duplicate\"}", "Buy clicks by answer")),
        orders_sold_out_edge(
            ctx.metrics->counter("hawker_order_clicks_total{answer=\"sold_out\"}", "Buy clicks by answer")),
        orders_overloaded(ctx.metrics->counter("hawker_order_clicks_total{answer=\"overloaded\"}", "Buy clicks by answer")),
        order_latency(ctx.metrics->histogram("hawker_order_click_seconds", "Buy click to HTTP answer",
                                             latency_buckets_seconds())),
        tokens(*ctx.tokens) {}

  void count(int status) {
    if (status < 400) requests_2xx.add();
    else if (status < 500) requests_4xx.add();
    else requests_5xx.add();
  }

  void reply(const Responder& responder, Response&& response) {
    count(response.status);
    responder.send(std::move(response));
  }

  Result<Claims> authenticate(const Request& request) {
    std::string_view header = request.header("authorization");
    std::string token;
    if (header.size() > 7 && (header.substr(0, 7) == "Bearer " || header.substr(0, 7) == "bearer ")) {
      token = std::string(header.substr(7));
    } else if (!header.empty()) {
      return make_error(ErrorCode::kUnauthorized, "Authorization must be 'Bearer <token>'");
    } else if (!http::query_param(request.query(), "token", token)) {
      return make_error(ErrorCode::kUnauthorized, "missing bearer token");
    }
    return tokens.verify(token, ctx.clock->now_us() / 1'000'000);
  }

  void handle(Request& request, const Responder& responder) {
    auto parts = segments(request.path());
    const Method method = request.method;
    if (parts.size() == 1 && (parts[0] == "healthz" || parts[0] == "metrics") && method == Method::kGet)
      return reply(responder, ops_response(request, *ctx.metrics));
    if (parts.size() >= 2 && parts[0] == "v1") {
      if (parts[1] == "orders") {
        if (parts.size() == 2 && method == Method::kPost) return post_order(request, responder);
        if (parts.size() == 3 && method == Method::kGet) return reply(responder, get_order(request, parts[2]));
        if (parts.size() <= 3) return reply(responder, error_response(405, "method_not_allowed", "method not allowed"));
      }
      if (parts[1] == "shows") {
        if (parts.size() == 2 && method == Method::kPost) return reply(responder, create_show(request));
        if (parts.size() == 2 && method == Method::kGet) return reply(responder, list_shows(request));
        if (parts.size() == 3 && method == Method::kGet) return reply(responder, get_show(request, parts[2]));
        if (parts.size() == 4 && parts[3] == "showcase" && method == Method::kPost)
          return reply(responder, pin_product(request, parts[2]));
        if (parts.size() == 4 && parts[3] == "stream-key" && method == Method::kPost)
          return reply(responder, rotate_stream_key(request, parts[2]));
        if (parts.size() == 4 && parts[3] == "test-source" && method == Method::kPost)
          return reply(responder, start_test_source(request, parts[2]));
        if (parts.size() <= 4) return reply(responder, error_response(405, "method_not_allowed", "method not allowed"));
      }
      if (parts[1] == "ingest" && parts.size() == 4 && parts[2] == "rtmp" && method == Method::kPost)
        return reply(responder, ingest_callback(request, parts[3]));
      if (parts[1] == "products") {
        if (parts.size() == 2 && method == Method::kPost) return reply(responder, create_product(request));
        if (parts.size() == 2 && method == Method::kGet) return reply(responder, list_products(request));
        if (parts.size() == 3 && method == Method::kGet) return reply(responder, get_product(request, parts[2]));
        if (parts.size() == 4 && parts[3] == "restock" && method == Method::kPost)
          return reply(responder, restock(request, parts[2]));
        if (parts.size() == 4 && parts[3] == "inventory" && method == Method::kGet)
          return reply(responder, product_inventory(request, parts[2]));
        if (parts.size() <= 4) return reply(responder, error_response(405, "method_not_allowed", "method not allowed"));
      }
    }
    if (parts.size() == 3 && parts[0] == "v1" && parts[1] == "auth" && parts[2] == "guest" && method == Method::kPost)
      return reply(responder, guest_token());
    if (method == Method::kGet || method == Method::kHead) {
      if (auto page = web_page(request, parts)) return reply(responder, std::move(*page));
    }
    reply(responder, error_response(404, "not_found", "no such route"));
  }

  // The pages of web/: / (shows), /shows/{id} (the viewer), /seller (the
  // console), their assets, and hls.js from web/node_modules.
  std::optional<Response> web_page(const Request& request, const std::vector<std::string_view>& parts) {
    if (ctx.web_root.empty()) return std::nullopt;
    auto page = [&](std::string_view name) {
      return http::file_response(request, ctx.web_root, name, *http::file_type_of(name, kWebTypes));
    };
    if (parts.empty()) return page("index.html");
    if (parts.size() == 1 && parts[0] == "seller") return page("seller.html");
    if (parts.size() == 2 && parts[0] == "shows") return page("show.html");
    if (parts.size() == 2 && parts[0] == "assets") {
      if (parts[1] == "hls.js")
        return http::file_response(request, ctx.web_root + "/node_modules/hls.js/dist", "hls.min.js",
                                   *http::file_type_of("hls.js", kWebTypes));
      if (const http::FileType* type = http::file_type_of(parts[1], kWebTypes))
        return http::file_response(request, ctx.web_root + "/assets", parts[1], *type);
    }
    return std::nullopt;
  }

  // POST /v1/auth/guest: a buyer token for a fresh guest name, where the
  // server allows guests (the demo does; off by default).
  Response guest_token() {
    if (!ctx.allow_guests) return error_response(403, "forbidden", "this server does not allow guests");
    Claims claims;
    claims.sub = "guest-" + random_hex(6);
    claims.role = Role::kBuyer;
    claims.exp = ctx.clock->now_us() / 1'000'000 + kGuestTokenSeconds;
    return json_response(201, json::object{{"token", sign_token(claims, ctx.secret)},
                                           {"sub", claims.sub},
                                           {"role", "buyer"},
                                           {"expires", claims.exp}});
  }

  // POST /v1/shows/{id}/test-source: the demo's synthetic stream, published
  // with the show's key (where the server offers it).
  Response start_test_source(const Request& request, std::string_view id_text) {
    auto claims = authenticate(request);
    if (!claims) return error_response(claims.error());
    if (!ctx.allow_test_source || !ctx.streaming)
      return error_response(403, "forbidden", "this server does not offer a test source");
    uint64_t show_id = 0;
    if (!parse_show_id(id_text, show_id)) return error_response(404, "not_found", "no such show");
    auto show = ctx.shows->get(show_id);
    if (!show) return error_response(show.error());
    if (!*show) return error_response(404, "not_found", "no such show");
    if ((*show)->seller != claims->sub) return error_response(403, "forbidden", "only the show's seller can stream");
    if (Status started = ctx.streaming->start_test_source(**show); !started) return error_response(started.error());
    return json_response(202, json::object{{"status", "starting"}});
  }

  // POST /v1/orders: validate, then hand to the intake; answer when durable.
  void post_order(Request& request, const Responder& responder) {
    const int64_t started = monotonic_us();
    auto claims = authenticate(request);
    if (!claims) return reply(responder, error_response(claims.error()));
    std::string_view key = request.header("idempotency-key");
    if (key.empty()) return reply(responder, error_response(400, "invalid_request", "Idempotency-Key header is required"));
    if (key.size() > kIdempotencyKeyBytesMax)
      return reply(responder, error_response(400, "invalid_request", "Idempotency-Key is longer than 200 bytes"));
    auto body = parse_object(request.body);
    if (!body) return reply(responder, error_response(body.error()));
    auto product_text = read_string(*body, "product_id", 64);
    auto quantity = read_int(*body, "quantity", 1, market::kQuantityMax);
    auto token = read_string(*body, "payment_token", kPaymentTokenBytesMax);
    for (const Error* error : {product_text ? nullptr : &product_text.error(), quantity ? nullptr : &quantity.error(),
                               token ? nullptr : &token.error()})
      if (error) return reply(responder, error_response(*error));
    if (!*product_text) return reply(responder, error_response(400, "invalid_request", "field 'product_id' is required"));
    if (!*token) return reply(responder, error_response(400, "invalid_request", "field 'payment_token' is required"));
    uint64_t product_id = 0;
    if (!parse_product_id(**product_text, product_id))
      return reply(responder, error_response(404, "not_found", "unknown product"));
    checkout::Gate::Entry* product = ctx.gate->find(product_id);
    if (product == nullptr) return reply(responder, error_response(404, "not_found", "unknown product"));
    if (product->definition.seller == claims->sub)
      return reply(responder, error_response(403, "forbidden", "sellers cannot buy their own products"));

    checkout::Submission submission;
    submission.buyer = claims->sub;
    submission.idempotency_key = std::string(key);
    submission.product_id = product_id;
    submission.quantity = static_cast<int32_t>(quantity->value_or(1));
    submission.payment_token = std::move(**token);
    std::string canonical = std::to_string(product_id) + "|" + std::to_string(submission.quantity) + "|" +
                            submission.payment_token;
    submission.fingerprint = fnv1a64(canonical);
    ctx.intake->submit(std::move(submission), [this, responder, started](const checkout::IntakeResult& result) {
      order_latency.observe(static_cast<double>(monotonic_us() - started) / 1e6);
      using checkout::IntakeVerdict;
      switch (result.verdict) {
        case IntakeVerdict::kAccepted:
        case IntakeVerdict::kDuplicate: {
          (result.verdict == IntakeVerdict::kAccepted ? orders_accepted : orders_duplicate).add();
          std::string body = "{\"order_id\":\"" + format_order_id(result.order_id) + "\",\"status\":\"accepted\"}";
          Response response;
          response.status = 202;
          response.body = std::move(body);
          return reply(responder, std::move(response));
        }
        case IntakeVerdict::kKeyReused:
          return reply(responder, error_response(422, "idempotency_key_reused",
                                                 "this Idempotency-Key was used for a different request"));
        case IntakeVerdict::kSoldOut:
          orders_sold_out_edge.add();
          return reply(responder, error_response(409, "sold_out", "this product is sold out"));
        case IntakeVerdict::kOverloaded: {
          orders_overloaded.add();
          Response response = error_response(429, "overloaded", "too many orders in line; retry shortly");
          response.headers.emplace_back("Retry-After", "1");
          return reply(responder, std::move(response));
        }
        case IntakeVerdict::kUnavailable:
          return reply(responder, error_response(503, "unavailable", "the order could not be stored; retry"));
      }
    });
  }

  // The read side first; then the write side (decided, not yet projected);
  // then the queue (accepted, not yet decided); then the write side again, in
  // case the order was decided and acked between the two looks.
  Result<std::optional<store::OrderView>> find_order(uint64_t order_id) {
    auto projected = ctx.read_store->get_order(order_id);
    if (!projected || *projected) return projected;
    for (int look = 0; look < 2; ++look) {
      auto decided = ctx.write_store->get_order(order_id);
      if (!decided) return decided.error();
      if (*decided) return std::optional<store::OrderView>(view_of(**decided));
      if (look == 1) break;
      auto queued = ctx.queue->find_order(order_id);
      if (!queued) return queued.error();
      if (*queued) {
        store::OrderView order;
        order.order_id = (*queued)->order_id;
        order.product_id = (*queued)->product_id;
        order.buyer = (*queued)->buyer;
        order.quantity = (*queued)->quantity;
        order.status = market::OrderStatus::kAccepted;
        if (auto* product = ctx.gate->find(order.product_id)) order.seller = product->definition.seller;
        return std::optional<store::OrderView>(std::move(order));
      }
    }
    return std::optional<store::OrderView>();
  }

  static store::OrderView view_of(const market::OrderRecord& record) {
    store::OrderView order;
    order.order_id = record.order_id;
    order.product_id = record.product_id;
    order.buyer = record.buyer;
    order.seller = record.seller;
    order.quantity = record.quantity;
    order.amount_cents = record.amount_cents;
    order.status = record.status;
    order.reason = record.reason;
    order.accepted_us = record.accepted_us;
    order.updated_us = record.updated_us;
    return order;
  }

  Response get_order(const Request& request, std::string_view id_text) {
    auto claims = authenticate(request);
    if (!claims) return error_response(claims.error());
    uint64_t order_id = 0;
    if (!parse_order_id(id_text, order_id)) return error_response(404, "not_found", "no such order");
    auto found = find_order(order_id);
    if (!found) return error_response(found.error());
    if (!*found) return error_response(404, "not_found", "no such order");
    const store::OrderView& order = **found;
    if (order.buyer != claims->sub && order.seller != claims->sub)
      return error_response(404, "not_found", "no such order");
    return json_response(200, order_json(order));
  }

  // A seller's signed request with a JSON object body, or the error to answer.
  struct SellerRequest {
    Claims claims;
    json::object body;
  };
  Result<SellerRequest> seller_request(const Request& request, std::string_view action) {
    auto claims = authenticate(request);
    if (!claims) return claims.error();
    if (claims->role != Role::kSeller)
      return make_error(ErrorCode::kForbidden, "only sellers can " + std::string(action));
    auto body = parse_object(request.body);
    if (!body) return body.error();
    return SellerRequest{std::move(*claims), std::move(*body)};
  }

  // ?limit= in 1..kPageLimitMax (default 50); false after a bad value.
  static bool page_limit(const Request& request, size_t& limit) {
    std::string text;
    limit = 50;
    if (!http::query_param(request.query(), "limit", text)) return true;
    char* end = nullptr;
    long value = std::strtol(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || value < 1 || value > static_cast<long>(kPageLimitMax)) return false;
    limit = static_cast<size_t>(value);
    return true;
  }

  Response create_product(const Request& request) {
    auto seller = seller_request(request, "create products");
    if (!seller) return error_response(seller.error());
    const Claims* claims = &seller->claims;
    const json::object* body = &seller->body;
    auto title = read_string(*body, "title", market::kTitleBytesMax);
    auto price = read_int(*body, "price_cents", 0, market::kPriceCentsMax);
    auto currency = read_string(*body, "currency", 3);
    auto stock = read_int(*body, "stock", 0, market::kStockMax);
    auto max_per_buyer = read_int(*body, "max_per_buyer", 0, market::kQuantityMax);
    auto low_threshold = read_int(*body, "low_threshold", 0, market::kStockMax);
    for (const Error* error :
         {title ? nullptr : &title.error(), price ? nullptr : &price.error(), currency ? nullptr : &currency.error(),
          stock ? nullptr : &stock.error(), max_per_buyer ? nullptr : &max_per_buyer.error(),
          low_threshold ? nullptr : &low_threshold.error()})
      if (error) return error_response(*error);
    if (!*title || (*title)->empty()) return error_response(400, "invalid_request", "field 'title' is required");
    if (!*price) return error_response(400, "invalid_request", "field 'price_cents' is required");
    if (!*stock) return error_response(400, "invalid_request", "field 'stock' is required");
    std::string currency_code = currency->value_or("USD");
    if (currency_code.size() != 3 || !std::all_of(currency_code.begin(), currency_code.end(),
                                                  [](char c) { return c >= 'A' && c <= 'Z'; }))
      return error_response(400, "invalid_request", "field 'currency' must be a 3-letter upper-case code");

    auto id = ctx.write_store->allocate_product_id();
    if (!id) return error_response(id.error());
    market::ProductDefinition definition;
    definition.id = *id;
    definition.seller = claims->sub;
    definition.title = std::move(**title);
    definition.price_cents = **price;
    definition.currency = currency_code;
    definition.max_per_buyer = static_cast<int32_t>(max_per_buyer->value_or(0));
    definition.low_threshold = low_threshold->value_or(market::default_low_threshold(**stock));
    store::ProductCommit commit = store::product_creation_commit(definition, **stock, ctx.clock->now_us());
    const market::Inventory& inventory = commit.inventory;
    auto committed = ctx.write_store->commit(commit);
    if (!committed) return error_response(committed.error());
    ctx.gate->upsert(definition, inventory);
    ctx.projection->wait_for(*committed, kProjectionWait);
    log_info("product.created", {{"product_id", format_product_id(*id)}, {"seller", definition.seller},
                                 {"stock", inventory.initial}});
    return json_response(201, product_json(definition, inventory));
  }

  // The write side's counts, for the product's seller: what a sale's books
  // (and `hawker spike`'s conservation check) need beyond `available`.
  Response product_inventory(const Request& request, std::string_view id_text) {
    auto claims = authenticate(request);
    if (!claims) return error_response(claims.error());
    uint64_t product_id = 0;
    if (!parse_product_id(id_text, product_id)) return error_response(404, "not_found", "no such product");
    auto product = ctx.write_store->get_product(product_id);
    if (!product) return error_response(product.error());
    if (!*product || (*product)->definition.seller != claims->sub)
      return error_response(404, "not_found", "no such product");
    const market::Inventory& i = (*product)->inventory;
    return json_response(200, json::object{{"product_id", format_product_id(product_id)},
                                           {"initial", i.initial},
                                           {"restocked", i.restocked},
                                           {"available", i.available},
                                           {"reserved", i.reserved},
                                           {"sold", i.sold},
                                           {"version", i.version}});
  }

  Response restock(const Request& request, std::string_view id_text) {
    auto claims = authenticate(request);
    if (!claims) return error_response(claims.error());
    auto body = parse_object(request.body);
    if (!body) return error_response(body.error());
    auto quantity = read_int(*body, "quantity", 1, market::kStockMax);
    if (!quantity) return error_response(quantity.error());
    if (!*quantity) return error_response(400, "invalid_request", "field 'quantity' is required");
    uint64_t product_id = 0;
    if (!parse_product_id(id_text, product_id)) return error_response(404, "not_found", "no such product");
    for (int attempt = 0; attempt < 64; ++attempt) {
      auto product = ctx.write_store->get_product(product_id);
      if (!product) return error_response(product.error());
      if (!*product) return error_response(404, "not_found", "no such product");
      const auto& definition = (*product)->definition;
      if (definition.seller != claims->sub)
        return error_response(403, "forbidden", "only the product's seller can restock it");
      market::Inventory inventory = (*product)->inventory;
      if (inventory.initial + inventory.restocked + **quantity > market::kStockMax)
        return error_response(400, "invalid_request", "restock would exceed the stock limit");
      market::apply_restock(inventory, **quantity);
      inventory.version += 1;
      store::ProductCommit commit;
      commit.product_id = product_id;
      commit.expected_version = (*product)->inventory.version;
      commit.inventory = inventory;
      market::Event restocked;
      restocked.type = market::EventType::kProductRestocked;
      restocked.ts_us = ctx.clock->now_us();
      restocked.product_id = product_id;
      restocked.seller = definition.seller;
      restocked.quantity = static_cast<int32_t>(std::min<int64_t>(**quantity, INT32_MAX));
      restocked.inventory = inventory;
      commit.events.push_back(restocked);
      auto committed = ctx.write_store->commit(commit);
      if (committed) {
        ctx.projection->wait_for(*committed, kProjectionWait);
        return json_response(200, product_json(definition, inventory));
      }
      if (committed.error().code != ErrorCode::kVersionConflict) return error_response(committed.error());
    }
    return error_response(503, "unavailable", "product too busy to restock; retry");
  }

  // ---- Shows ---------------------------------------------------------------

  // The public show; `owner` (its seller asking) adds the secret stream key.
  json::object show_json(const store::ShowRecord& show, bool owner = false) {
    json::object o;
    o["id"] = format_show_id(show.id);
    o["seller"] = show.seller;
    o["title"] = show.title;
    o["status"] = store::show_status_name(show.status);
    auto channel = ctx.hub->find_show(show.id);
    o["viewers"] = channel ? channel->viewer_count() : 0;
    o["showcase"] = nullptr;
    if (show.showcase_product_id != 0) {
      auto product = ctx.read_store->get_product(show.showcase_product_id);
      if (product && *product) o["showcase"] = product_json((*product)->definition, (*product)->inventory);
    }
    if (ctx.streaming) {
      o["ingest"] = json::object{{"rtmp", ctx.streaming->ingest_url(show, owner)}};
      o["playback"] = json::object{{"hls", ctx.streaming->playback_url(show.id)}};
      if (owner) o["stream_key"] = show.stream_key;
    }
    return o;
  }

  // True when the request carries a valid token of this seller; a missing or
  // bad token on a public read just means the public view.
  bool is_owner(const Request& request, const std::string& seller) {
    if (request.header("authorization").empty() && request.query().find("token=") == std::string_view::npos)
      return false;
    auto claims = authenticate(request);
    return claims && claims->role == Role::kSeller && claims->sub == seller;
  }

  // POST /v1/shows/{id}/stream-key: a new secret key; the old one stops
  // working at once (a live publisher under it is cut off by nginx's next
  // on_update).
  Response rotate_stream_key(const Request& request, std::string_view id_text) {
    auto claims = authenticate(request);
    if (!claims) return error_response(claims.error());
    uint64_t show_id = 0;
    if (!parse_show_id(id_text, show_id)) return error_response(404, "not_found", "no such show");
    auto show = ctx.shows->get(show_id);
    if (!show) return error_response(show.error());
    if (!*show) return error_response(404, "not_found", "no such show");
    if ((*show)->seller != claims->sub)
      return error_response(403, "forbidden", "only the show's seller can rotate its stream key");
    const std::string key = random_hex(kStreamKeyBytes);
    if (Status rotated = ctx.shows->set_stream_key(show_id, key); !rotated) return error_response(rotated.error());
    (*show)->stream_key = key;
    log_info("show.stream_key_rotated", {{"show_id", format_show_id(show_id)}});
    return json_response(200, show_json(**show, true));
  }

  // POST /v1/ingest/rtmp/{publish|publish_done|update}?secret=S: nginx-rtmp's
  // notify callbacks (form-encoded, the stream name in `name`). A non-2xx
  // answer refuses the publish (or cuts it off, for update).
  Response ingest_callback(const Request& request, std::string_view call) {
    std::string secret;
    if (!ctx.streaming || ctx.ingest_secret.empty() || !http::query_param(request.query(), "secret", secret) ||
        !constant_time_equal(secret, ctx.ingest_secret))
      return error_response(403, "forbidden", "bad ingest callback secret");
    std::string name;
    if (!http::query_param(request.body, "name", name) || name.empty() || name.size() > 200)
      return error_response(400, "invalid_request", "form field 'name' (the stream key) is required");
    if (call == "publish") {
      auto show = ctx.streaming->publish(name);
      if (!show) return error_response(show.error());
      return json_response(200, json::object{{"show_id", format_show_id(show->id)}});
    }
    if (call == "publish_done") {
      ctx.streaming->publish_done(name);
      return json_response(200, json::object{{"status", "ended"}});
    }
    if (call == "update") {
      if (!ctx.streaming->still_publishing(name)) return error_response(403, "forbidden", "not a live stream key");
      return json_response(200, json::object{{"status", "live"}});
    }
    return error_response(404, "not_found", "no such ingest callback");
  }

  Response create_show(const Request& request) {
    auto seller = seller_request(request, "create shows");
    if (!seller) return error_response(seller.error());
    const Claims* claims = &seller->claims;
    const json::object* body = &seller->body;
    auto title = read_string(*body, "title", market::kTitleBytesMax);
    if (!title) return error_response(title.error());
    if (!*title || (*title)->empty()) return error_response(400, "invalid_request", "field 'title' is required");
    auto show = ctx.shows->create(claims->sub, **title, random_hex(kStreamKeyBytes), ctx.clock->now_us());
    if (!show) return error_response(show.error());
    log_info("show.created", {{"show_id", format_show_id(show->id)}, {"seller", show->seller}});
    if (Status opened = ctx.hub->open_show(show->id, show->seller, show_json(*show)); !opened)
      log_warn("live.open_show_failed", {{"show_id", format_show_id(show->id)}, {"error", opened.error().message}});
    return json_response(201, show_json(*show, true));
  }

  Response list_shows(const Request& request) {
    std::string cursor_text;
    size_t offset = 0, limit = 50;
    if (http::query_param(request.query(), "cursor", cursor_text) && !cursor_text.empty()) {
      char* end = nullptr;
      unsigned long long value = std::strtoull(cursor_text.c_str(), &end, 10);
      if (end == cursor_text.c_str() || *end != '\0' || value > 1'000'000'000ull)
        return error_response(400, "invalid_request", "bad cursor");
      offset = static_cast<size_t>(value);
    }
    if (!page_limit(request, limit)) return error_response(400, "invalid_request", "limit must be between 1 and 100");
    auto shows = ctx.shows->list(offset, limit);
    if (!shows) return error_response(shows.error());
    json::array items;
    for (const auto& show : *shows) items.push_back(show_json(show, is_owner(request, show.seller)));
    json::object body;
    body["items"] = std::move(items);
    if (shows->size() == limit) body["next"] = std::to_string(offset + limit);
    else body["next"] = nullptr;
    return json_response(200, body);
  }

  Response get_show(const Request& request, std::string_view id_text) {
    uint64_t show_id = 0;
    if (!parse_show_id(id_text, show_id)) return error_response(404, "not_found", "no such show");
    auto show = ctx.shows->get(show_id);
    if (!show) return error_response(show.error());
    if (!*show) return error_response(404, "not_found", "no such show");
    return json_response(200, show_json(**show, is_owner(request, (*show)->seller)));
  }

  Response pin_product(const Request& request, std::string_view id_text) {
    auto claims = authenticate(request);
    if (!claims) return error_response(claims.error());
    uint64_t show_id = 0;
    if (!parse_show_id(id_text, show_id)) return error_response(404, "not_found", "no such show");
    auto body = parse_object(request.body);
    if (!body) return error_response(body.error());
    auto product_text = read_string(*body, "product_id", 64);
    if (!product_text) return error_response(product_text.error());
    if (!*product_text) return error_response(400, "invalid_request", "field 'product_id' is required");
    auto show = ctx.shows->get(show_id);
    if (!show) return error_response(show.error());
    if (!*show) return error_response(404, "not_found", "no such show");
    if ((*show)->seller != claims->sub) return error_response(403, "forbidden", "only the show's seller can pin");
    uint64_t product_id = 0;
    checkout::Gate::Entry* product = parse_product_id(**product_text, product_id) ? ctx.gate->find(product_id) : nullptr;
    if (product == nullptr) return error_response(404, "not_found", "unknown product");
    if (product->definition.seller != claims->sub)
      return error_response(403, "forbidden", "a show can pin only its seller's products");
    if (Status pinned = ctx.shows->set_showcase(show_id, product_id, ctx.clock->now_us()); !pinned)
      return error_response(pinned.error());
    auto updated = ctx.shows->get(show_id);
    if (!updated || !*updated) return error_response(503, "unavailable", "show vanished");
    json::object shown = show_json(**updated, true);
    if (shown["showcase"].is_object()) {
      const json::object& pinned = shown["showcase"].as_object();
      live::StockLevel level;
      level.available = pinned.at("available").to_number<int64_t>();
      level.state = market::stock_state(level.available, product->definition.low_threshold);
      level.version = product->version.load();
      // A live show's pin is also a product moment in its video: the frame
      // carries the moment's program date time, the playlists its DATERANGE.
      std::string program_date_time;
      if (ctx.streaming)
        program_date_time = ctx.streaming->add_moment(show_id, format_product_id(product_id),
                                                      std::string(pinned.at("title").as_string()));
      auto broadcast = ctx.hub->pin(show_id, product_id, pinned, level, program_date_time);
      if (!broadcast)
        log_warn("live.pin_failed", {{"show_id", format_show_id(show_id)}, {"error", broadcast.error().message}});
      // After the last use of `pinned`: adding a field may move the object's storage.
      if (!program_date_time.empty()) shown["program_date_time"] = program_date_time;
    }
    return json_response(200, shown);
  }

  // ---- Products ------------------------------------------------------------

  Response get_product(const Request& request, std::string_view id_text) {
    uint64_t product_id = 0;
    if (!parse_product_id(id_text, product_id)) return error_response(404, "not_found", "no such product");
    auto view = ctx.read_store->get_product(product_id);
    if (!view) return error_response(view.error());
    if (!*view) return error_response(404, "not_found", "no such product");
    json::object body = product_json((*view)->definition, (*view)->inventory);
    std::string etag = etag_for(body);
    Response response;
    if (request.header("if-none-match") == etag) {
      response.status = 304;
    } else {
      response = json_response(200, body);
    }
    response.headers.emplace_back("ETag", etag);
    response.headers.emplace_back("Cache-Control", "public, max-age=1");
    return response;
  }

  Response list_products(const Request& request) {
    std::string seller, after_text;
    http::query_param(request.query(), "seller", seller);
    uint64_t after = 0;
    if (http::query_param(request.query(), "cursor", after_text) && !after_text.empty() &&
        !parse_product_id(after_text, after))
      return error_response(400, "invalid_request", "bad cursor");
    size_t limit = 50;
    if (!page_limit(request, limit)) return error_response(400, "invalid_request", "limit must be between 1 and 100");
    auto page = ctx.read_store->list_products(seller, after, limit);
    if (!page) return error_response(page.error());
    json::array items;
    for (const auto& view : page->items) items.push_back(product_json(view.definition, view.inventory));
    json::object body;
    body["items"] = std::move(items);
    if (page->next_after) body["next"] = format_product_id(*page->next_after);
    else body["next"] = nullptr;
    Response response = json_response(200, body);
    response.headers.emplace_back("Cache-Control", "public, max-age=1");
    return response;
  }
};

http::Response ops_response(const http::Request& request, Registry& metrics) {
  const bool get = request.method == http::Method::kGet;
  if (get && request.path() == "/healthz") return json_response(200, json::object{{"status", "ok"}});
  if (get && request.path() == "/metrics") {
    http::Response response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = metrics.render();
    return response;
  }
  return error_response(404, "not_found", "no such route");
}

Api::Api(ApiContext context) : impl_(std::make_unique<Impl>(std::move(context))) {}
Api::~Api() = default;

void Api::handle(http::Request& request, http::Responder responder) { impl_->handle(request, responder); }

}  // namespace hawker::app
