#include "app/server.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <thread>

#include <boost/json.hpp>

#include "app/api.h"
#include "app/live_relay.h"
#include "app/live_sessions.h"
#include "app/seller_stats.h"
#include "app/streaming.h"
#include "live/hub.h"
#include "checkout/engine.h"
#include "checkout/http_processor.h"
#include "checkout/payment_router.h"
#include "checkout/sandbox_processor.h"
#include "checkout/workers.h"
#include "core/jwt.h"
#include "app/json_io.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/thread_name.h"
#include "http/server.h"
#include "store/event_tail.h"
#include "stream/hls_origin.h"
#include "stream/nginx.h"
#include "bus/jetstream_event_log.h"
#include "bus/jetstream_purchase_queue.h"
#include "store/postgres_read_store.h"
#include "store/postgres_show_store.h"
#include "store/postgres_write_store.h"

namespace hawker::app {

namespace {
// The HLS origin's threads run ahead of the API's under contention.
constexpr int kVideoNice = -5;
}  // namespace


namespace {

class EmbeddedServer final : public Server {
 public:
  ~EmbeddedServer() override { stop(); }

  Status start(const ServeOptions& options) {
    const bool cluster = !options.nats_url.empty() || !options.postgres_url.empty();
    if (cluster && (options.nats_url.empty() || options.postgres_url.empty()))
      return make_error(ErrorCode::kInvalid, "cluster mode needs both --nats and --postgres");
    if (!cluster && options.role != NodeRole::kAll)
      return make_error(ErrorCode::kInvalid, "a gateway or worker needs the cluster: --nats URL --postgres URL");
    if (!cluster && !options.postgres_read_url.empty())
      return make_error(ErrorCode::kInvalid, "--postgres-read is for cluster mode: --nats URL --postgres URL");
    gateway_ = options.role != NodeRole::kWorker;
    worker_ = options.role != NodeRole::kGateway;
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) return make_error(ErrorCode::kIo, "cannot create data folder " + options.data_dir + ": " + ec.message());

    if (Status opened = cluster ? open_cluster_stores(options) : open_embedded_stores(options); !opened) return opened;
    if (cluster && gateway_) {
      auto node = write_store_->allocate_node_number();
      if (!node) return node.error();
      set_order_id_node(*node);
      gate_.set_own_node(*node % kOrderNodesMax);
      // Chat ids and pins carry the hub's node id (1 .. live::kNodeIdMax).
      hub_options_.node_id = *node % live::kNodeIdMax + 1;
      log_info("server.node", {{"orders", *node % kOrderNodesMax}, {"live", hub_options_.node_id}});
    }

    // The gate starts from the write side's state, then follows its events.
    const uint64_t tails_from = write_store_->last_event_seq();
    if (gateway_) {
      auto products = write_store_->list_products();
      if (!products) return products.error();
      for (const auto& product : *products) gate_.upsert(product.definition, product.inventory);
      if (Status reconciled = reconcile_pending(); !reconciled) return reconciled;
    }

    auto checkpoint = read_store_->checkpoint();
    if (!checkpoint) return checkpoint.error();
    // A worker writes the read side; a cluster gateway follows it (its
    // read-your-writes waits until the workers' projection has the event).
    store::EventTail::Handler project = [this](std::span<const market::Event> events) {
      return read_store_->apply(events);
    };
    if (!worker_) project = [this](std::span<const market::Event> events) { return await_projection(events); };
    projection_ = std::make_unique<store::EventTail>("projection", *events_, *checkpoint, std::move(project));
    projection_->start();

    std::string secret;
    if (gateway_) {
      if (Status started = start_gateway(options, tails_from, secret); !started) return started;
    }
    if (worker_) {
      if (event_log_) start_outbox_relay();
      if (Status started = start_workers(options); !started) return started;
    }
    register_gauges();
    if (Status serving = serve_http(options, secret); !serving) return serving;
    return {};
  }

  uint16_t port() const override { return http_ ? http_->port() : 0; }
  uint16_t hls_port() const override { return hls_http_ ? hls_http_->port() : 0; }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    if (nginx_) nginx_->stop();
    if (streaming_) streaming_->stop();
    if (hls_http_) hls_http_->stop();
    if (http_) http_->stop();
    if (intake_) intake_->stop();
    if (workers_) workers_->stop();
    if (gate_tail_) gate_tail_->stop();
    if (live_tail_) live_tail_->stop();
    {
      std::lock_guard lock(ticker_mutex_);
      ticker_stopping_ = true;
    }
    ticker_wake_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    if (projection_) projection_->stop();
    if (outbox_relay_) outbox_relay_->stop();
    log_info("server.stopped");
  }

 private:
  static bus::QueueOptions queue_options(const ServeOptions& options) {
    bus::QueueOptions queue;
    queue.ack_wait = std::chrono::milliseconds(options.ack_wait_ms);
    return queue;
  }

  Status open_embedded_stores(const ServeOptions& options) {
    auto queue = bus::open_rocks_purchase_queue(options.data_dir + "/queue", queue_options(options));
    if (!queue) return queue.error();
    queue_ = std::move(*queue);
    auto write = store::open_rocks_write_store(options.data_dir + "/write");
    if (!write) return write.error();
    write_store_ = std::move(*write);
    auto read = store::open_sqlite_read_store(options.data_dir + "/read.sqlite");
    if (!read) return read.error();
    read_store_ = std::move(*read);
    events_ = write_store_.get();  // the outbox itself
    if (!gateway_) return {};
    auto shows = store::open_sqlite_show_store(options.data_dir + "/shows.sqlite");
    if (!shows) return shows.error();
    shows_ = std::move(*shows);
    return {};
  }

  Status open_cluster_stores(const ServeOptions& options) {
    bus::JetStreamOptions nats;
    nats.url = options.nats_url;
    nats.name_prefix = options.cluster_name;
    nats.replicas = options.nats_replicas;
    auto queue = bus::open_jetstream_purchase_queue(nats, queue_options(options));
    if (!queue) return queue.error();
    queue_ = std::move(*queue);
    store::PostgresWriteStoreOptions write_options;
    write_options.pool_size = static_cast<size_t>(options.postgres_pool);
    auto write = store::open_postgres_write_store(options.postgres_url, write_options);
    if (!write) return write.error();
    write_store_ = std::move(*write);
    if (Status opened = open_cluster_read_store(options); !opened) return opened;
    // The event log every tail follows: the outbox, relayed into JetStream
    // by the workers (start_outbox_relay).
    bus::JetStreamEventLogOptions log_options;
    log_options.url = options.nats_url;
    log_options.name_prefix = options.cluster_name;
    log_options.replicas = options.nats_replicas;
    auto log = bus::open_jetstream_event_log(log_options);
    if (!log) return log.error();
    event_log_ = std::move(*log);
    events_ = event_log_.get();
    if (!gateway_) return {};
    auto shows = store::open_postgres_show_store(options.postgres_url);
    if (!shows) return shows.error();
    shows_ = std::move(*shows);
    log_info("server.cluster", {{"role", role_name(options.role)},
                                {"nats", options.nats_url},
                                {"name", options.cluster_name},
                                {"replicas", options.nats_replicas}});
    return {};
  }

  // The projection (a worker's) writes the read models on --postgres; a
  // process without it may read them from --postgres-read (a replica).
  Status open_cluster_read_store(const ServeOptions& options) {
    const bool from_replica = !options.postgres_read_url.empty() && !worker_;
    if (!options.postgres_read_url.empty() && worker_)
      log_info("server.postgres_read_ignored",
               {{"reason", "this process runs the projection, which writes the read models on --postgres"}});
    store::PostgresReadStoreOptions read_options;
    read_options.read_only = from_replica;
    auto read =
        store::open_postgres_read_store(from_replica ? options.postgres_read_url : options.postgres_url, read_options);
    if (!read) return read.error();
    read_store_ = std::move(*read);
    if (from_replica) log_info("server.read_models", {{"source", "--postgres-read"}, {"mode", "read-only"}});
    return {};
  }

  static const char* role_name(NodeRole role) {
    switch (role) {
      case NodeRole::kGateway: return "gateway";
      case NodeRole::kWorker: return "worker";
      case NodeRole::kAll: break;
    }
    return "all";
  }

  // A gateway without a projection of its own: the events are handled once
  // the read side (written by the workers) has them.
  Status await_projection(std::span<const market::Event> events) {
    const uint64_t wanted = events.back().seq;
    std::chrono::milliseconds pause{1};
    while (!stopping_.load()) {
      auto checkpoint = read_store_->checkpoint();
      if (!checkpoint) return checkpoint.error();
      if (*checkpoint >= wanted) return {};
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
    return make_error(ErrorCode::kUnavailable, "stopping");
  }

  // The gate, the live channels and the intake: what answers buyers and viewers.
  Status start_gateway(const ServeOptions& options, uint64_t tails_from, std::string& secret) {
    if (!options.nats_url.empty() && options.secret_file.empty())
      return make_error(ErrorCode::kInvalid,
                        "every gateway of a cluster must sign with one JWT secret: pass --secret-file");
    std::string secret_path = options.secret_file.empty() ? options.data_dir + "/jwt.secret" : options.secret_file;
    auto loaded = load_or_create_secret(secret_path, options.secret_file.empty());
    if (!loaded) return loaded.error();
    secret = *loaded;

    gate_tail_ = std::make_unique<store::EventTail>("gate", *events_, tails_from,
                                                    [this](std::span<const market::Event> events) {
                                                      for (const auto& event : events) {
                                                        gate_.on_event(event);
                                                        count_event(event);
                                                      }
                                                      return Status();
                                                    });
    hub_ = std::make_unique<live::LiveHub>(SystemClock::instance(), metrics_, hub_options_);
    if (Status opened = open_shows(); !opened) return opened;
    if (!options.nats_url.empty()) {
      // Chat, pins and show changes made on other gateways reach this one's
      // viewers (stock and orders come through the shared event log).
      bus::NatsRelayOptions relay;
      relay.url = options.nats_url;
      relay.name_prefix = options.cluster_name;
      auto opened = NatsLiveRelay::open(relay, *hub_);
      if (!opened) return opened.error();
      relay_ = std::move(*opened);
    }
    live_tail_ = std::make_unique<store::EventTail>("live", *events_, tails_from,
                                                    [this](std::span<const market::Event> events) {
                                                      for (const auto& event : events) hub_->on_event(event);
                                                      return Status();
                                                    });
    gate_tail_->start();
    live_tail_->start();
    seller_stats_ = std::make_unique<SellerStats>(*hub_, *read_store_);
    ticker_ = std::thread([this] { tick_loop(); });

    checkout::IntakeOptions intake_options;
    intake_options.queue_depth_max = options.queue_depth_max;
    intake_ = std::make_unique<checkout::Intake>(*queue_, gate_, SystemClock::instance(), metrics_, intake_options);
    intake_->start();
    return {};
  }

  // Cluster mode: every worker copies the write store's outbox into the
  // JetStream event log; the log stores each event once, in order, however
  // many relays race (JetStreamEventLog::append).
  void start_outbox_relay() {
    const uint64_t from = event_log_->last_event_seq();
    outbox_relay_ = std::make_unique<store::EventTail>(
        "outbox", *write_store_, from,
        [this](std::span<const market::Event> events) { return event_log_->append(events); });
    outbox_relay_->start();
    log_info("server.outbox_relay", {{"from", from}});
  }

  // Checkout: the payment processors, the engine and its workers.
  Status start_workers(const ServeOptions& options) {
    if (!options.payment_url.empty()) {
      auto processor = checkout::make_http_processor("stripe", options.payment_url);
      if (!processor) return processor.error();
      processors_.push_back(std::move(*processor));
    }
    checkout::SandboxOptions sandbox;
    sandbox.latency_ms = options.payment_latency_ms;
    processors_.push_back(std::make_unique<checkout::SandboxProcessor>(sandbox));
    std::vector<checkout::PaymentProcessor*> processors;
    for (auto& processor : processors_) processors.push_back(processor.get());
    router_ = std::make_unique<checkout::PaymentRouter>(processors, checkout::RouterOptions{}, SystemClock::instance());
    engine_ = std::make_unique<checkout::CheckoutEngine>(*write_store_, *queue_, *router_, SystemClock::instance());
    checkout::WorkerOptions worker_options;
    worker_options.decide_threads = options.decide_threads;
    worker_options.payment_threads = options.payment_threads;
    worker_options.batch_max = options.batch_max;
    worker_options.batch_wait_ms = options.batch_wait_ms;
    workers_ = std::make_unique<checkout::CheckoutWorkers>(*engine_, *write_store_, *queue_, worker_options);
    if (options.decide_threads > 0) workers_->start();
    else log_warn("server.no_workers", {{"note", "orders are queued and answered 202 but not decided"}});
    return {};
  }

  // The API (a gateway), or only /healthz and /metrics (a worker).
  Status serve_http(const ServeOptions& options, const std::string& secret) {
    http::ServerOptions http_options;
    if (!split_host_port(options.listen, http_options.address, http_options.port))
      return make_error(ErrorCode::kInvalid, "--listen must be HOST:PORT, got '" + options.listen + "'");
    http_options.threads = options.http_threads;
    if (!gateway_) {
      http_ = http::make_http_server(http_options, [this](http::Request& request, http::Responder responder) {
        responder.send(ops_response(request, metrics_));
      });
      if (Status started = http_->start(); !started) return started;
      log_info("server.listening", {{"address", http_options.address},
                                    {"port", http_->port()},
                                    {"role", "worker"},
                                    {"queued", queue_->depth()}});
      return {};
    }
    ApiContext context;
    context.write_store = write_store_.get();
    context.read_store = read_store_.get();
    context.queue = queue_.get();
    context.gate = &gate_;
    context.intake = intake_.get();
    context.projection = projection_.get();
    context.shows = shows_.get();
    context.hub = hub_.get();
    context.metrics = &metrics_;
    context.clock = &SystemClock::instance();
    context.secret = secret;
    if (Status streaming = start_streaming(options, context); !streaming) return streaming;
    tokens_ = std::make_unique<TokenCache>(secret);
    context.tokens = tokens_.get();
    api_ = std::make_unique<Api>(std::move(context));
    live_context_.hub = hub_.get();
    live_context_.tokens = tokens_.get();
    live_context_.clock = &SystemClock::instance();
    live_context_.allowed_origins = options.allowed_origins;
    http_ = http::make_http_server(
        http_options,
        [this](http::Request& request, http::Responder responder) { api_->handle(request, std::move(responder)); },
        [this](const http::Request& request) { return live_upgrade(live_context_, request); });
    if (Status started = http_->start(); !started) return started;
    if (Status nginx = start_nginx(options, http_options.address); !nginx) return nginx;
    log_info("server.listening", {{"address", http_options.address},
                                  {"port", http_->port()},
                                  {"data", options.data_dir},
                                  {"queued", queue_->depth()}});
    return {};
  }

  // The HLS origin (its own listener and threads) and the show side of
  // streaming; the URLs in show JSON follow what is configured.
  Status start_streaming(const ServeOptions& options, ApiContext& context) {
    StreamingOptions streaming;
    streaming.hls_dir = options.data_dir + "/hls";
    streaming.ffmpeg = options.ffmpeg;
    if (!options.rtmp_listen.empty()) {
      std::string host;
      uint16_t port = 0;
      if (!split_host_port(options.rtmp_listen, host, port))
        return make_error(ErrorCode::kInvalid, "--rtmp-listen must be HOST:PORT, got '" + options.rtmp_listen + "'");
      streaming.rtmp_pull_base = "rtmp://127.0.0.1:" + std::to_string(port) + "/live";
      streaming.rtmp_public_base =
          options.rtmp_public_url.empty() ? "rtmp://" + options.rtmp_listen + "/live" : options.rtmp_public_url;
    } else {
      streaming.rtmp_public_base = options.rtmp_public_url;
    }
    streaming_ = std::make_unique<Streaming>(std::move(streaming), *shows_, SystemClock::instance(), metrics_);
    if (!options.hls_listen.empty()) {
      http::ServerOptions hls_options;
      if (!split_host_port(options.hls_listen, hls_options.address, hls_options.port))
        return make_error(ErrorCode::kInvalid, "--hls-listen must be HOST:PORT, got '" + options.hls_listen + "'");
      hls_options.threads = options.hls_threads;
      hls_options.thread_nice = kVideoNice;
      hls_options.thread_name = "hawker-hls";
      origin_ = std::make_unique<stream::HlsOrigin>(
          options.data_dir + "/hls", [this](uint64_t show_id) { return streaming_->moments(show_id); }, &metrics_);
      hls_http_ = http::make_http_server(hls_options, [this](http::Request& request, http::Responder responder) {
        responder.send(origin_->serve(request));
      });
      if (Status started = hls_http_->start(); !started) return started;
      log_info("server.hls_origin", {{"address", hls_options.address}, {"port", hls_http_->port()}});
    }
    std::string playback = options.hls_public_url;
    if (playback.empty() && !options.edge_listen.empty()) playback = "http://" + options.edge_listen;
    if (playback.empty() && hls_http_)
      playback = "http://" + loopback_if_any(hls_options_address(options)) + ":" + std::to_string(hls_http_->port());
    streaming_->set_hls_public_base(playback);
    // New viewers' hello shows the show as it is now (live, ended).
    streaming_->set_status_listener([this](const store::ShowRecord& show) {
      (void)hub_->open_show(show.id, show.seller, channel_show(show));
    });
    if (Status started = streaming_->start(); !started) return started;
    auto ingest_secret = load_or_create_secret(options.data_dir + "/ingest.secret", true);
    if (!ingest_secret) return ingest_secret.error();
    ingest_secret_ = *ingest_secret;
    context.streaming = streaming_.get();
    context.ingest_secret = ingest_secret_;
    context.web_root = options.web_root;
    context.allow_guests = options.allow_guests;
    context.allow_test_source = options.allow_test_source;
    return {};
  }

  static std::string hls_options_address(const ServeOptions& options) {
    std::string host;
    uint16_t port = 0;
    split_host_port(options.hls_listen, host, port);
    return host;
  }

  static std::string loopback_if_any(const std::string& host) {
    return host == "0.0.0.0" || host == "::" || host.empty() ? "127.0.0.1" : host;
  }

  // nginx for RTMP ingest and the CDN edge, when asked for; it calls back
  // into the API, so it starts after the API listens.
  Status start_nginx(const ServeOptions& options, const std::string& api_address) {
    if (options.rtmp_listen.empty() && options.edge_listen.empty()) return {};
    stream::NginxOptions nginx;
    nginx.work_dir = options.data_dir + "/nginx";
    if (!options.rtmp_listen.empty()) {
      stream::RtmpIngestConfig rtmp;
      rtmp.listen = options.rtmp_listen;
      rtmp.callback_base =
          "http://" + loopback_if_any(api_address) + ":" + std::to_string(http_->port()) + "/v1/ingest/rtmp";
      rtmp.callback_secret = ingest_secret_;
      nginx.rtmp = rtmp;
    }
    if (!options.edge_listen.empty()) {
      if (!hls_http_) return make_error(ErrorCode::kInvalid, "--edge-listen needs the HLS origin (--hls-listen)");
      stream::EdgeConfig edge;
      edge.listen = options.edge_listen;
      edge.origins = {loopback_if_any(hls_options_address(options)) + ":" + std::to_string(hls_http_->port())};
      nginx.edge = edge;
    }
    auto started = stream::NginxProcess::start(nginx);
    if (!started) return started.error();
    nginx_ = std::move(*started);
    return {};
  }

  // The show as a live channel's hello carries it.
  static boost::json::object channel_show(const store::ShowRecord& show) {
    return boost::json::object{{"id", format_show_id(show.id)},
                               {"seller", show.seller},
                               {"title", show.title},
                               {"status", store::show_status_name(show.status)}};
  }

  // Every show gets its live channel at start, with its pin.
  Status open_shows() {
    for (size_t offset = 0;; offset += 100) {
      auto page = shows_->list(offset, 100);
      if (!page) return page.error();
      for (const auto& show : *page) {
        if (Status opened = hub_->open_show(show.id, show.seller, channel_show(show)); !opened) return opened;
        if (show.showcase_product_id == 0) continue;
        auto product = write_store_->get_product(show.showcase_product_id);
        if (!product || !*product) continue;
        const auto& [definition, inventory] = **product;
        live::StockLevel level{inventory.available, market::stock_state(inventory), inventory.version};
        (void)hub_->pin(show.id, show.showcase_product_id, product_json(definition, inventory), level);
      }
      if (page->size() < 100) return {};
    }
  }

  // Sends coalesced stock and viewer counts when they fall due.
  void tick_loop() {
    set_thread_name("hawker-live-tick");
    std::unique_lock lock(ticker_mutex_);
    while (!ticker_stopping_) {
      lock.unlock();
      hub_->tick();
      seller_stats_->tick(SystemClock::instance().now_us());
      auto due = hub_->next_due_us();
      lock.lock();
      int64_t wait_us = 50'000;  // also paces the 1 s stats frames
      if (due) wait_us = std::clamp<int64_t>(*due - SystemClock::instance().now_us(), 1'000, 50'000);
      ticker_wake_.wait_for(lock, std::chrono::microseconds(wait_us));
    }
  }

  // Units waiting in the queue undecided count against the gate's stock.
  Status reconcile_pending() {
    auto unacked = queue_->unacked();
    if (!unacked) return unacked.error();
    for (const auto& request : *unacked) {
      if (!gate_.counts_order(request.order_id)) continue;  // another gateway's
      auto order = write_store_->get_order(request.order_id);
      if (!order) return order.error();
      if (!*order) gate_.add_pending(request.product_id, request.quantity);
    }
    return {};
  }

  void count_event(const market::Event& event) {
    using market::EventType;
    switch (event.type) {
      case EventType::kOrderReserved: orders_reserved_->add(); break;
      case EventType::kOrderConfirmed: orders_confirmed_->add(); break;
      case EventType::kOrderRejected: orders_rejected_->add(); break;
      default: break;
    }
  }

  void register_gauges() {
    metrics_.gauge("hawker_queue_depth", "Purchase requests queued and not yet decided",
                   [this] { return static_cast<double>(queue_->depth()); });
    metrics_.gauge("hawker_events_last_seq", "Seq of the last committed event",
                   [this] { return static_cast<double>(write_store_->last_event_seq()); });
    if (event_log_)
      metrics_.gauge("hawker_event_log_seq", "Seq of the last event in the JetStream event log (cluster mode)",
                     [this] { return static_cast<double>(event_log_->last_event_seq()); });
    metrics_.gauge("hawker_projection_seq", "Seq of the last event projected to the read side",
                   [this] { return static_cast<double>(projection_->position()); });
    metrics_.gauge("hawker_websockets_open", "Open WebSocket connections",
                   [this] { return http_ ? static_cast<double>(http_->open_websockets()) : 0.0; });
    metrics_.gauge("hawker_websockets_slow_closed_total", "WebSocket connections closed 1008 for not keeping up",
                   [this] { return http_ ? static_cast<double>(http_->slow_closed()) : 0.0; });
    if (!engine_) return;
    auto& stats = engine_->stats();
    metrics_.gauge("hawker_checkout_commit_conflicts_total", "Optimistic commits that lost a version race",
                   [&stats] { return static_cast<double>(stats.conflicts.load()); });
    metrics_.gauge("hawker_checkout_commits_total", "Write-side commits by checkout",
                   [&stats] { return static_cast<double>(stats.commits.load()); });
    metrics_.gauge("hawker_checkout_redelivered_total", "Requests delivered again and skipped as already decided",
                   [&stats] { return static_cast<double>(stats.redelivered.load()); });
    if (workers_)
      metrics_.gauge("hawker_checkout_settle_backlog",
                     "Reserved orders waiting for a payment thread (at its bound, deciding pauses)",
                     [this] { return static_cast<double>(workers_->settle_backlog()); });
  }

  Registry metrics_;
  Counter* orders_reserved_ = &metrics_.counter("hawker_orders_total{status=\"reserved\"}", "Orders by status reached");
  Counter* orders_confirmed_ = &metrics_.counter("hawker_orders_total{status=\"confirmed\"}", "Orders by status reached");
  Counter* orders_rejected_ = &metrics_.counter("hawker_orders_total{status=\"rejected\"}", "Orders by status reached");
  bus::PurchaseQueuePtr queue_;
  store::WriteStorePtr write_store_;
  store::ReadStorePtr read_store_;
  store::ShowStorePtr shows_;
  checkout::Gate gate_;
  bus::JetStreamEventLogPtr event_log_;  // cluster mode
  store::EventSource* events_ = nullptr;  // what the tails follow: the outbox, or the JetStream log
  std::unique_ptr<store::EventTail> outbox_relay_;  // cluster workers: outbox -> JetStream log
  std::unique_ptr<store::EventTail> projection_;
  std::unique_ptr<store::EventTail> gate_tail_;
  std::unique_ptr<checkout::Intake> intake_;
  std::vector<checkout::PaymentProcessorPtr> processors_;
  std::unique_ptr<checkout::PaymentRouter> router_;
  std::unique_ptr<checkout::CheckoutEngine> engine_;
  std::unique_ptr<checkout::CheckoutWorkers> workers_;
  std::unique_ptr<TokenCache> tokens_;
  live::HubOptions hub_options_;
  std::unique_ptr<live::LiveHub> hub_;
  std::unique_ptr<NatsLiveRelay> relay_;  // cluster mode; destroyed before the hub
  std::unique_ptr<SellerStats> seller_stats_;
  std::unique_ptr<store::EventTail> live_tail_;
  std::thread ticker_;
  std::mutex ticker_mutex_;
  std::condition_variable ticker_wake_;
  bool ticker_stopping_ = false;
  LiveEndpointContext live_context_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<Streaming> streaming_;
  std::unique_ptr<stream::HlsOrigin> origin_;
  std::unique_ptr<http::HttpServer> hls_http_;
  std::string ingest_secret_;
  stream::NginxProcessPtr nginx_;
  bool gateway_ = true;
  bool worker_ = true;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<Server>> start_server(const ServeOptions& options) {
  auto server = std::make_unique<EmbeddedServer>();
  if (Status started = server->start(options); !started) return started.error();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace hawker::app
