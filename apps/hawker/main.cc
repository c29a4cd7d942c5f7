// The hawker binary: serve, gateway, worker, demo, token, spike. Only wiring lives here.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <fstream>

#include "app/demo.h"
#include "app/server.h"
#include "core/clock.h"
#include "core/jwt.h"
#include "core/log.h"
#include "spike/report.h"
#include "spike/runner.h"

namespace {

using hawker::app::ServeOptions;

void add_serve_flags(CLI::App* command, ServeOptions& options) {
  command->add_option("--listen", options.listen, "HOST:PORT to serve HTTP on")->envname("HAWKER_LISTEN");
  command->add_option("--data", options.data_dir, "data folder (created if missing)")->envname("HAWKER_DATA");
  command->add_option("--secret-file", options.secret_file, "JWT secret file (default DATA/jwt.secret)")
      ->envname("HAWKER_SECRET_FILE");
  command->add_option("--http-threads", options.http_threads, "network threads")
      ->envname("HAWKER_HTTP_THREADS")
      ->check(CLI::Range(1, 64));
  command->add_option("--workers", options.decide_threads,
                      "checkout decide threads (0: accept and queue orders, decide none)")
      ->envname("HAWKER_WORKERS")
      ->check(CLI::Range(0, 64));
  command->add_option("--payment-threads", options.payment_threads, "payment settlement threads")
      ->envname("HAWKER_PAYMENT_THREADS")
      ->check(CLI::Range(1, 256));
  command->add_option("--payment-latency-ms", options.payment_latency_ms, "sandbox processor latency")
      ->envname("HAWKER_PAYMENT_LATENCY_MS")
      ->check(CLI::Range(0, 60'000));
  command->add_option("--payment-url", options.payment_url, "Stripe-style processor http://HOST:PORT (optional)")
      ->envname("HAWKER_PAYMENT_URL");
  command->add_option("--queue-max", options.queue_depth_max, "queued orders above which clicks get 429")
      ->envname("HAWKER_QUEUE_MAX")
      ->check(CLI::Range(1, 100'000'000));
  command->add_option("--batch-max", options.batch_max, "requests per checkout batch")
      ->envname("HAWKER_BATCH_MAX")
      ->check(CLI::Range(1, 65536));
  command->add_option("--allowed-origins", options.allowed_origins,
                      "browser origins allowed to open WebSockets besides the server's own (comma-separated)")
      ->envname("HAWKER_ALLOWED_ORIGINS")
      ->delimiter(',');
  command->add_option("--batch-wait-ms", options.batch_wait_ms, "how long a batch may wait to fill")
      ->envname("HAWKER_BATCH_WAIT_MS")
      ->check(CLI::Range(0, 1000));
  command->add_option("--hls-listen", options.hls_listen, "HOST:PORT of the HLS origin (its own threads; '' = none)")
      ->envname("HAWKER_HLS_LISTEN");
  command->add_option("--hls-threads", options.hls_threads, "HLS origin threads")
      ->envname("HAWKER_HLS_THREADS")
      ->check(CLI::Range(1, 64));
  command->add_option("--rtmp-listen", options.rtmp_listen,
                      "HOST:PORT for RTMP ingest: hawker runs nginx-rtmp there ('' = an operator runs it)")
      ->envname("HAWKER_RTMP_LISTEN");
  command->add_option("--edge-listen", options.edge_listen,
                      "HOST:PORT for the nginx CDN edge in front of the origin ('' = none)")
      ->envname("HAWKER_EDGE_LISTEN");
  command->add_option("--rtmp-public-url", options.rtmp_public_url,
                      "ingest URL sellers are told (default rtmp://RTMP_LISTEN/live)")
      ->envname("HAWKER_RTMP_PUBLIC_URL");
  command->add_option("--hls-public-url", options.hls_public_url,
                      "base of playback URLs, e.g. a CDN (default the edge, else the origin)")
      ->envname("HAWKER_HLS_PUBLIC_URL");
  command->add_option("--ffmpeg", options.ffmpeg, "the ffmpeg program for the ABR ladder")->envname("HAWKER_FFMPEG");
  command->add_option("--web-root", options.web_root, "folder of the web pages ('' = serve none)")
      ->envname("HAWKER_WEB_ROOT");
  command->add_flag("--allow-guests,!--no-allow-guests", options.allow_guests,
                    "POST /v1/auth/guest hands out buyer tokens")
      ->envname("HAWKER_ALLOW_GUESTS");
  command->add_flag("--allow-test-source,!--no-allow-test-source", options.allow_test_source,
                    "sellers may start the synthetic test stream on their shows")
      ->envname("HAWKER_ALLOW_TEST_SOURCE");
}

// Cluster mode (docs/OPERATIONS.md); `required` for the gateway and worker roles.
void add_cluster_flags(CLI::App* command, ServeOptions& options, bool required) {
  auto* nats = command->add_option("--nats", options.nats_url,
                                   "NATS JetStream URL(s), comma-separated (cluster mode; with --postgres)")
                   ->envname("HAWKER_NATS");
  auto* postgres = command->add_option("--postgres", options.postgres_url,
                                       "PostgreSQL connection string or URI (cluster mode; with --nats)")
                       ->envname("HAWKER_POSTGRES");
  if (required) {
    nats->required();
    postgres->required();
  }
  command
      ->add_option("--postgres-read", options.postgres_read_url,
                   "PostgreSQL where a gateway reads the read models, read-only (e.g. a standby of --postgres); "
                   "workers ignore it")
      ->envname("HAWKER_POSTGRES_READ");
  command->add_option("--cluster-name", options.cluster_name, "prefix of the JetStream stream, bucket and consumer")
      ->envname("HAWKER_CLUSTER_NAME");
  command->add_option("--nats-replicas", options.nats_replicas, "JetStream replicas (3 on a 3-node cluster)")
      ->envname("HAWKER_NATS_REPLICAS")
      ->check(CLI::Range(1, 5));
  command->add_option("--postgres-pool", options.postgres_pool, "PostgreSQL connections for the write store")
      ->envname("HAWKER_POSTGRES_POOL")
      ->check(CLI::Range(1, 256));
  command->add_option("--ack-wait-ms", options.ack_wait_ms,
                      "how long a fetched order may stay unacknowledged before another worker gets it")
      ->envname("HAWKER_ACK_WAIT_MS")
      ->check(CLI::Range(1'000, 3'600'000));
}

int wait_for_signal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

int run_server(const ServeOptions& options, bool demo) {
  auto server = hawker::app::start_server(options);
  if (!server) {
    hawker::log_error("server.start_failed", {{"error", server.error().message}});
    std::fprintf(stderr, "hawker: %s\n", server.error().message.c_str());
    return 1;
  }
  if (demo) {
    std::string host;
    uint16_t port = 0;
    hawker::app::split_host_port(options.listen, host, port);
    if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
    std::string secret_path = options.secret_file.empty() ? options.data_dir + "/jwt.secret" : options.secret_file;
    auto secret = hawker::load_or_create_secret(secret_path, false);
    auto seeded = secret ? hawker::app::seed_demo(host, (*server)->port(), *secret)
                         : hawker::Result<hawker::app::DemoSeed>(secret.error());
    if (!seeded) {
      std::fprintf(stderr, "hawker: demo seeding failed: %s\n", seeded.error().message.c_str());
      (*server)->stop();
      return 1;
    }
    if (!seeded->rtmp_url.empty()) {
      // The demo's seller streams the synthetic source through the real ingest.
      if (auto started = hawker::app::start_demo_stream(host, (*server)->port(), *secret, *seeded); !started)
        std::fprintf(stderr, "hawker: the demo stream did not start: %s\n", started.error().message.c_str());
      else if (auto pinned = hawker::app::pin_when_live(host, (*server)->port(), *secret, *seeded, 30'000); !pinned)
        std::fprintf(stderr, "hawker: %s (see %s/hls/%s/test-source.log)\n", pinned.error().message.c_str(),
                     options.data_dir.c_str(), seeded->show_id.c_str());
    }
    hawker::app::print_demo(host, (*server)->port(), *secret, *seeded);
  }
  int signal = wait_for_signal();
  hawker::log_info("server.signal", {{"signal", signal}});
  (*server)->stop();
  return 0;
}

bool write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out.flush());
}

// `hawker spike`: 0 when every invariant held, 1 when one failed, 2 when the
// spike could not run.
int run_spike(hawker::spike::Options options, const std::string& data_dir, const std::string& out_dir) {
  if (options.secret_file.empty() && !data_dir.empty()) options.secret_file = data_dir + "/jwt.secret";
  if (isatty(STDERR_FILENO)) options.progress = stderr;
  else std::fprintf(stderr, "hawker spike: running against %s\n", options.url.c_str());
  auto results = hawker::spike::run_spike(options);
  if (!results) {
    std::fprintf(stderr, "hawker spike: %s\n", results.error().message.c_str());
    return 2;
  }
  std::fputs(hawker::spike::summary_table(*results).c_str(), stdout);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  const std::filesystem::path out(out_dir);
  const bool written = !ec && write_file(out / "results.json", hawker::spike::results_json(*results)) &&
                       write_file(out / "report.html", hawker::spike::report_html(*results)) &&
                       write_file(out / "latency.svg", hawker::spike::latency_svg(*results)) &&
                       write_file(out / "answers.svg", hawker::spike::answers_svg(*results)) &&
                       write_file(out / "stock.svg", hawker::spike::stock_svg(*results));
  if (!written) std::fprintf(stderr, "hawker spike: cannot write the report into %s\n", out_dir.c_str());
  else std::printf("report: %s (results.json, report.html, latency.svg, answers.svg, stock.svg)\n", out_dir.c_str());
  const bool pass = hawker::spike::all_pass(results->checks);
  std::printf("%s\n", pass ? "spike PASSED" : "spike FAILED");
  return pass && written ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken by sigwait in the main thread; block them everywhere.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"hawker: a live shopping platform"};
  app.set_version_flag("--version", std::string("hawker ") + HAWKER_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // --log-level may follow the subcommand
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug|info|warn|error")->envname("HAWKER_LOG_LEVEL");

  ServeOptions serve_options;
  CLI::App* serve =
      app.add_subcommand("serve", "run the server: embedded by default, or gateway + worker with --nats and --postgres");
  add_serve_flags(serve, serve_options);
  add_cluster_flags(serve, serve_options, false);

  ServeOptions gateway_options;
  gateway_options.role = hawker::app::NodeRole::kGateway;
  CLI::App* gateway =
      app.add_subcommand("gateway", "cluster: HTTP, WebSockets and HLS origin; orders go to the shared queue");
  add_serve_flags(gateway, gateway_options);
  add_cluster_flags(gateway, gateway_options, true);

  ServeOptions worker_options;
  worker_options.role = hawker::app::NodeRole::kWorker;
  CLI::App* worker = app.add_subcommand("worker", "cluster: checkout workers and the read-side projection");
  add_serve_flags(worker, worker_options);
  add_cluster_flags(worker, worker_options, true);

  ServeOptions demo_options;
  demo_options.data_dir = "hawker-demo-data";
  demo_options.rtmp_listen = "127.0.0.1:1935";
  demo_options.edge_listen = "127.0.0.1:8082";
  demo_options.allow_guests = true;
  demo_options.allow_test_source = true;
  CLI::App* demo = app.add_subcommand("demo", "serve with a seeded demo catalog and print what to try");
  add_serve_flags(demo, demo_options);

  std::string sub, role_text = "buyer", data_dir = "hawker-data", secret_file;
  int64_t ttl_seconds = 24 * 3600;
  CLI::App* token = app.add_subcommand("token", "print a signed bearer token");
  token->add_option("--sub", sub, "user id")->required()->envname("HAWKER_SUB");
  token->add_option("--role", role_text, "buyer|seller")->envname("HAWKER_ROLE")->check(CLI::IsMember({"buyer", "seller"}));
  token->add_option("--ttl", ttl_seconds, "lifetime in seconds")->envname("HAWKER_TTL")->check(CLI::Range(1, 31'536'000));
  token->add_option("--data", data_dir, "data folder holding jwt.secret")->envname("HAWKER_DATA");
  token->add_option("--secret-file", secret_file, "secret file (instead of DATA/jwt.secret)")
      ->envname("HAWKER_SECRET_FILE");

  hawker::spike::Options spike_options;
  std::string spike_data, spike_out = "spike-report";
  CLI::App* spike = app.add_subcommand("spike", "a flash crowd against a running hawker: buy, watch, check the outcome");
  spike->add_option("--url", spike_options.url, "the server, HOST:PORT (a cluster's gateways: comma-separated)")->envname("HAWKER_URL");
  spike->add_option("--data", spike_data, "the server's data folder (its jwt.secret mints the tokens)")
      ->envname("HAWKER_DATA");
  spike->add_option("--secret-file", spike_options.secret_file, "the server's JWT secret (instead of --data)")
      ->envname("HAWKER_SECRET_FILE");
  spike->add_option("--viewers", spike_options.viewers, "WebSocket viewers on the show (viewer i is buyer i)")
      ->envname("HAWKER_VIEWERS");
  spike->add_option("--buyers", spike_options.buyers, "distinct buyers")->envname("HAWKER_BUYERS");
  spike->add_option("--clicks", spike_options.clicks_per_buyer, "clicks per buyer, one unit each")
      ->envname("HAWKER_CLICKS");
  spike->add_option("--stock", spike_options.stock, "units of the product it creates")->envname("HAWKER_STOCK");
  spike->add_option("--limit", spike_options.max_per_buyer, "max_per_buyer of the product it creates (0: none)")
      ->envname("HAWKER_LIMIT");
  spike->add_option("--arrival", spike_options.arrival,
                    "ramp:T (every click at a random moment within T, e.g. ramp:1s) or rate:R (R clicks/s)")
      ->envname("HAWKER_ARRIVAL");
  spike->add_option("--connections", spike_options.connections, "keep-alive HTTP connections for the clicks")
      ->envname("HAWKER_CONNECTIONS");
  spike->add_option("--duration", spike_options.duration_s,
                    "bound on the run after the first click, seconds (0: the arrival window + 60)")
      ->envname("HAWKER_DURATION");
  spike->add_option("--seed", spike_options.seed, "seed of the arrival schedule")->envname("HAWKER_SEED");
  spike->add_option("--product", spike_options.product_id, "use this product instead of creating one")
      ->envname("HAWKER_PRODUCT");
  spike->add_option("--show", spike_options.show_id, "use this show (the product is pinned on it)")
      ->envname("HAWKER_SHOW");
  spike->add_option("--seller", spike_options.seller, "the seller (of --product, or of the one created)")
      ->envname("HAWKER_SELLER");
  spike->add_option("--payment-token", spike_options.payment_token, "the buyers' payment token")
      ->envname("HAWKER_PAYMENT_TOKEN");
  spike->add_option("--poll-ms", spike_options.poll_ms, "how often an undecided order is polled")
      ->envname("HAWKER_POLL_MS");
  spike->add_option("--out", spike_out, "folder for results.json, report.html and the plots")->envname("HAWKER_OUT");

  CLI11_PARSE(app, argc, argv);
  hawker::LogLevel level;
  if (!hawker::parse_log_level(log_level, level)) {
    std::fprintf(stderr, "hawker: --log-level must be debug, info, warn or error\n");
    return 2;
  }
  hawker::set_log_level(level);

  if (*serve) return run_server(serve_options, false);
  if (*gateway) return run_server(gateway_options, false);
  if (*worker) return run_server(worker_options, false);
  if (*spike) return run_spike(spike_options, spike_data, spike_out);
  if (*demo) return run_server(demo_options, true);
  if (*token) {
    std::string path = secret_file.empty() ? data_dir + "/jwt.secret" : secret_file;
    if (secret_file.empty()) {
      std::error_code ignored;
      std::filesystem::create_directories(data_dir, ignored);
    }
    // Creating the secret here lets `hawker token` run before the first serve.
    auto secret = hawker::load_or_create_secret(path, secret_file.empty());
    if (!secret) {
      std::fprintf(stderr, "hawker: %s\n", secret.error().message.c_str());
      return 1;
    }
    hawker::Claims claims;
    claims.sub = sub;
    hawker::parse_role(role_text, claims.role);
    claims.exp = hawker::SystemClock::instance().now_ms() / 1000 + ttl_seconds;
    std::cout << hawker::sign_token(claims, *secret) << "\n";
    return 0;
  }
  return 0;
}
