#include "support/nats_cluster.h"

#include <nats/nats.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "support/child.h"
#include "support/nats_server.h"

namespace hawker::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kLaunchAttemptsMax = 4;  // fresh ports tried when one is taken
constexpr int kPortPicksMax = 64;      // bounds the search for 2N distinct ports
constexpr std::chrono::milliseconds kReadyTimeout{30'000};
constexpr std::chrono::milliseconds kStopTimeout{5'000};
constexpr std::chrono::milliseconds kKillTimeout{5'000};
constexpr std::chrono::milliseconds kPlacementPause{200};
constexpr int64_t kClientWaitMs = 2'000;  // one cnats round trip of the probes
constexpr size_t kLogReadMax = 1 << 20;  // of each log, before the tail is cut
constexpr const char* kProbeStream = "hawker_cluster_probe";

struct Client {
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  ~Client() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (connection != nullptr) natsConnection_Destroy(connection);
  }
};

// A cnats client of the whole cluster with bounded calls (no reconnects: a
// probe that loses its server fails and is retried by its caller).
bool connect(const std::string& urls, Client& client, std::string& why) {
  natsOptions* raw = nullptr;
  if (natsOptions_Create(&raw) != NATS_OK) {
    why = "natsOptions_Create failed";
    return false;
  }
  std::unique_ptr<natsOptions, void (*)(natsOptions*)> options(raw, natsOptions_Destroy);
  // One URL per node: natsOptions_SetURL would take the list as one URL.
  std::vector<std::string> owned;
  for (size_t from = 0; from <= urls.size();) {
    const size_t comma = std::min(urls.find(',', from), urls.size());
    owned.push_back(urls.substr(from, comma - from));
    from = comma + 1;
  }
  std::vector<const char*> servers;
  for (const std::string& url : owned) servers.push_back(url.c_str());
  natsStatus status = natsOptions_SetServers(raw, servers.data(), static_cast<int>(servers.size()));
  if (status == NATS_OK) status = natsOptions_SetTimeout(raw, kClientWaitMs);
  if (status == NATS_OK) status = natsOptions_SetAllowReconnect(raw, false);
  if (status == NATS_OK) status = natsConnection_Connect(&client.connection, raw);
  if (status != NATS_OK) {
    client.connection = nullptr;
    why = std::string("connect to ") + urls + ": " + natsStatus_GetText(status);
    return false;
  }
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = kClientWaitMs;
  status = natsConnection_JetStream(&client.js, client.connection, &js_options);
  if (status != NATS_OK) {
    client.js = nullptr;
    why = std::string("jetstream context: ") + natsStatus_GetText(status);
    return false;
  }
  return true;
}

}  // namespace

NatsCluster::NatsCluster(int nodes) : nodes_(static_cast<size_t>(nodes > 0 ? nodes : 1)) {}

NatsCluster::~NatsCluster() {
  stop();
  if (!directory_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
}

std::string NatsCluster::url(int index) const {
  return "nats://127.0.0.1:" + std::to_string(nodes_[static_cast<size_t>(index)].client_port);
}

std::string NatsCluster::url_list() const {
  std::string urls;
  for (int i = 0; i < size(); ++i) urls += (i == 0 ? "" : ",") + url(i);
  return urls;
}

bool NatsCluster::pick_ports() {
  std::set<uint16_t> taken;
  for (int pick = 0; pick < kPortPicksMax && taken.size() < 2 * nodes_.size(); ++pick)
    if (uint16_t port = free_loopback_port(); port != 0) taken.insert(port);
  if (taken.size() < 2 * nodes_.size()) return false;
  auto next = taken.begin();
  for (Node& node : nodes_) {
    node.client_port = *next++;
    node.cluster_port = *next++;
  }
  return true;
}

bool NatsCluster::write_config(int index, std::string& why) const {
  const Node& node = nodes_[static_cast<size_t>(index)];
  std::string routes;
  for (int i = 0; i < size(); ++i)
    if (i != index)
      routes += "    nats-route://127.0.0.1:" + std::to_string(nodes_[static_cast<size_t>(i)].cluster_port) + "\n";
  std::ofstream out(node.config_path, std::ios::trunc);
  out << "server_name: " << server_name(index) << "\n"
      << "listen: 127.0.0.1:" << node.client_port << "\n"
      << "jetstream {\n  store_dir: \"" << node.directory << "/jetstream\"\n}\n"
      << "cluster {\n  name: hawker_test\n  listen: 127.0.0.1:" << node.cluster_port << "\n"
      << "  routes: [\n" << routes << "  ]\n}\n";
  out.close();
  if (!out) {
    why = "cannot write " + node.config_path;
    return false;
  }
  return true;
}

bool NatsCluster::launch(int index, std::string& why) {
  Node& node = nodes_[static_cast<size_t>(index)];
  std::vector<std::string> args = {nats_server_binary(), "-c", node.config_path};
  // Logs are appended to across launches: readiness is read past this point.
  std::error_code ignored;
  const auto size_before = std::filesystem::file_size(node.log_path, ignored);
  node.log_offset = ignored ? 0 : static_cast<size_t>(size_before);
  node.pid = spawn_child(ChildSpec{args, node.log_path, true, "", std::nullopt}, why);
  return node.pid > 0;
}

bool NatsCluster::start(std::string& why) {
  if (directory_.empty()) {
    directory_ = make_temp_folder("hawker-nats-cluster", why);
    if (directory_.empty()) return false;
    for (int i = 0; i < size(); ++i) {
      Node& node = nodes_[static_cast<size_t>(i)];
      node.directory = directory_ + "/" + server_name(i);
      node.config_path = node.directory + "/server.conf";
      node.log_path = node.directory + "/server.log";
      std::error_code error;
      std::filesystem::create_directories(node.directory + "/jetstream", error);
      if (error) {
        why = "cannot make " + node.directory + ": " + error.message();
        return false;
      }
    }
  }
  if (::access(nats_server_binary().c_str(), X_OK) != 0) {
    why = nats_server_binary() + " is not an executable (install nats-server or set HAWKER_NATS_SERVER)";
    return false;
  }
  std::string last;
  for (int attempt = 0; attempt < kLaunchAttemptsMax; ++attempt) {
    if (!pick_ports()) {
      last = "no free loopback ports";
      continue;
    }
    bool launched = true;
    for (int i = 0; launched && i < size(); ++i) launched = write_config(i, last) && launch(i, last);
    // Every node is forked before any is waited for: each needs its peers
    // to form the cluster.
    for (int i = 0; launched && i < size(); ++i) {
      Node& node = nodes_[static_cast<size_t>(i)];
      launched = wait_nats_ready(node.pid, node.log_path, node.log_offset, node.client_port, kReadyTimeout, last);
      if (!launched) last = server_name(i) + ": " + last;
    }
    if (launched && wait_placement(last)) return true;
    stop();
  }
  why = "nats cluster did not form: " + last + "\n" + log_tails();
  return false;
}

bool NatsCluster::wait_placement(std::string& why) const {
  const auto deadline = SteadyClock::now() + kReadyTimeout;
  while (true) {
    Client client;
    if (connect(url_list(), client, why)) {
      jsStreamConfig config;
      jsStreamConfig_Init(&config);
      config.Name = kProbeStream;
      config.Storage = js_MemoryStorage;
      config.Replicas = size();
      jsStreamInfo* info = nullptr;
      jsErrCode js_code = static_cast<jsErrCode>(0);
      natsStatus status = js_AddStream(&info, client.js, &config, nullptr, &js_code);
      if (status == NATS_OK) {
        jsStreamInfo_Destroy(info);
        // The probe is gone or not, the cluster placed it; a left-over probe
        // in memory storage harms no test.
        (void)js_DeleteStream(client.js, kProbeStream, nullptr, nullptr);
        return true;
      }
      why = std::string("placing a stream with ") + std::to_string(size()) + " replicas: " +
            natsStatus_GetText(status) + " (JetStream error " + std::to_string(static_cast<int>(js_code)) + ")";
    }
    if (SteadyClock::now() >= deadline) {
      why = "JetStream not ready within " + std::to_string(kReadyTimeout.count()) + " ms: " + why;
      return false;
    }
    std::this_thread::sleep_for(kPlacementPause);
  }
}

void NatsCluster::kill(int index) {
  Node& node = nodes_[static_cast<size_t>(index)];
  if (node.pid <= 0) return;
  ::kill(node.pid, SIGKILL);
  int status = 0;
  (void)wait_child(node.pid, static_cast<int>(kKillTimeout.count()), &status);
  node.pid = -1;
}

bool NatsCluster::restart(int index, std::string& why) {
  Node& node = nodes_[static_cast<size_t>(index)];
  if (node.pid > 0) {
    why = server_name(index) + " is still running";
    return false;
  }
  if (!launch(index, why) ||
      !wait_nats_ready(node.pid, node.log_path, node.log_offset, node.client_port, kReadyTimeout, why)) {
    why = server_name(index) + " did not come back: " + why + "\n" + log_tails();
    if (node.pid > 0) kill(index);
    return false;
  }
  return true;
}

void NatsCluster::stop() {
  for (int i = 0; i < size(); ++i) {
    Node& node = nodes_[static_cast<size_t>(i)];
    if (node.pid <= 0) continue;
    (void)stop_child(node.pid, static_cast<int>(kStopTimeout.count()), "nats-server (cluster node)");
    node.pid = -1;
  }
}

int NatsCluster::stream_leader(const std::string& stream, std::string& why) const {
  Client client;
  if (!connect(url_list(), client, why)) return -1;
  jsStreamInfo* info = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus status = js_GetStreamInfo(&info, client.js, stream.c_str(), nullptr, &js_code);
  if (status != NATS_OK) {
    why = "stream info of " + stream + ": " + natsStatus_GetText(status) + " (JetStream error " +
          std::to_string(static_cast<int>(js_code)) + ")";
    return -1;
  }
  const std::string leader = info->Cluster != nullptr && info->Cluster->Leader != nullptr ? info->Cluster->Leader : "";
  jsStreamInfo_Destroy(info);
  for (int i = 0; i < size(); ++i)
    if (server_name(i) == leader) return i;
  why = "stream " + stream + " has no known leader ('" + leader + "')";
  return -1;
}

std::string NatsCluster::log_tails(size_t bytes_max_per_node) const {
  std::string out;
  for (int i = 0; i < size(); ++i) {
    const Node& node = nodes_[static_cast<size_t>(i)];
    out += "---- " + server_name(i) + " " + node.log_path + (node.pid > 0 ? "" : " (not running)") + " (tail) ----\n";
    // A peer that is down makes every other node log a failed route dial
    // each second; those would push everything else out of the tail.
    std::istringstream log(log_tail_of(node.log_path, kLogReadMax));
    std::string kept, line;
    size_t dials = 0;
    while (std::getline(log, line)) {
      if (line.find("Error trying to connect to route") != std::string::npos && ++dials > 1) continue;
      kept += line + "\n";
    }
    if (dials > 1) kept += "(" + std::to_string(dials - 1) + " more failed route dials left out)\n";
    if (kept.size() > bytes_max_per_node) kept = "..." + kept.substr(kept.size() - bytes_max_per_node);
    out += kept;
  }
  return out;
}

}  // namespace hawker::testing
