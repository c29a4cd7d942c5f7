// NatsCluster: N (default 3) real nats-server processes on loopback forming
// one JetStream cluster, for the tests of cluster mode (streams with
// replicas 3) and what they survive: kill(i) is a SIGKILL, restart(i) brings
// the same node back on the same ports with the same data.
//
// start() makes a temp folder with one subfolder per node (DIR/nI/jetstream,
// DIR/nI/server.conf, DIR/nI/server.log), picks 2N free loopback ports
// (client and cluster), writes each node's config (server_name nI, cluster
// hawker_test with routes to every other node) and forks the servers. It
// returns once every node answers a client with JetStream on and the cluster
// can place a stream with N replicas (a cnats client creates and deletes one,
// retried until kReadyTimeout): the meta leader is elected and every peer
// known. A port taken meanwhile makes it retry with fresh ports (bounded).
// Children are tied to the forking thread (PR_SET_PDEATHSIG); stop() sends
// SIGTERM, waits (bounded), then SIGKILL; the destructor stops and removes
// the folder.
//
// Threads: start/kill/restart/stop from the test thread (the one that forked);
// url(), url_list(), log_tails() and stream_leader() from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hawker::testing {

class NatsCluster {
 public:
  explicit NatsCluster(int nodes = 3);
  ~NatsCluster();
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  // False with `why` (including every node's log tail) if the cluster did not form.
  bool start(std::string& why);
  void stop();

  // SIGKILL of node `index` and a bounded wait for it to go.
  void kill(int index);
  // Node `index` again (after kill()), same ports and data; false with `why`
  // when it does not answer within kReadyTimeout.
  bool restart(int index, std::string& why);

  int size() const { return static_cast<int>(nodes_.size()); }
  std::string url(int index) const;
  // "nats://127.0.0.1:P0,nats://127.0.0.1:P1,...": what a client that must
  // survive the loss of any one node is given.
  std::string url_list() const;
  // The server_name of node `index` ("n0", "n1", ...).
  std::string server_name(int index) const { return "n" + std::to_string(index); }
  // The index of the node leading stream `stream` (asked over url_list()),
  // or -1 with `why`.
  int stream_leader(const std::string& stream, std::string& why) const;
  bool running(int index) const { return nodes_[static_cast<size_t>(index)].pid > 0; }
  // Every node's log tail, headed by its name: what a failing test prints.
  std::string log_tails(size_t bytes_max_per_node = 6'000) const;

 private:
  struct Node {
    std::string directory;
    std::string config_path;
    std::string log_path;
    uint16_t client_port = 0;
    uint16_t cluster_port = 0;
    size_t log_offset = 0;  // the log's size when the latest launch began
    pid_t pid = -1;
  };

  bool pick_ports();
  bool write_config(int index, std::string& why) const;
  bool launch(int index, std::string& why);
  bool wait_placement(std::string& why) const;

  std::string directory_;
  std::vector<Node> nodes_;
};

}  // namespace hawker::testing
