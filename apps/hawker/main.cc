// The hawker binary: serve, demo, token. Only wiring lives here.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/demo.h"
#include "app/server.h"
#include "core/clock.h"
#include "core/jwt.h"
#include "core/log.h"

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
  CLI::App* serve = app.add_subcommand("serve", "run the server on the embedded default");
  add_serve_flags(serve, serve_options);

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

  CLI11_PARSE(app, argc, argv);
  hawker::LogLevel level;
  if (!hawker::parse_log_level(log_level, level)) {
    std::fprintf(stderr, "hawker: --log-level must be debug, info, warn or error\n");
    return 2;
  }
  hawker::set_log_level(level);

  if (*serve) return run_server(serve_options, false);
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
