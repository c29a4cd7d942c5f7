// Nginx: hawker's RTMP ingest and CDN edge, run as a child process from the
// configurations shipped in deploy/nginx/ (rtmp.conf, edge.conf; compiled
// into the binary so an installed hawker needs no source tree).
//
// render_*() fill in a template's ${NAME} placeholders; an unknown
// placeholder is an error, so a typo never reaches nginx. NginxProcess
// writes a complete nginx.conf into its work folder (pid, logs, cache and
// temp files all inside it), starts `nginx -p WORK -c WORK/nginx.conf`,
// and waits until every listener accepts connections.
//
// One owner; not thread-safe. stop() (and the destructor) sends SIGQUIT for
// a graceful stop, then SIGKILL after a few seconds.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "stream/process.h"

namespace hawker::stream {

struct RtmpIngestConfig {
  std::string listen;         // HOST:PORT of the RTMP listener
  std::string callback_base;  // http://HOST:PORT/v1/ingest/rtmp (hawker's API)
  std::string callback_secret;
  int update_seconds = 10;    // on_update period: how soon a cut-off key stops
};

struct EdgeConfig {
  std::string listen;                // HOST:PORT of the edge
  std::vector<std::string> origins;  // HOST:PORT of each HLS origin
  std::string cache_dir;
  std::string cache_max = "2g";
  std::string access_log = "off";    // a path, or "off"
};

// Replaces every ${NAME} in `text` with values[NAME]; kInvalid naming the
// first placeholder without a value.
Result<std::string> render_template(std::string_view text, const std::map<std::string, std::string>& values);
std::string_view rtmp_template();  // deploy/nginx/rtmp.conf
std::string_view edge_template();  // deploy/nginx/edge.conf
Result<std::string> render_rtmp(const RtmpIngestConfig& config);
Result<std::string> render_edge(const EdgeConfig& config);

struct NginxOptions {
  std::string nginx = "nginx";
  std::string rtmp_module = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
  std::string work_dir;               // created if missing
  std::optional<RtmpIngestConfig> rtmp;
  std::optional<EdgeConfig> edge;
  int start_timeout_ms = 10'000;
};

class NginxProcess;
using NginxProcessPtr = std::unique_ptr<NginxProcess>;

class NginxProcess {
 public:
  static Result<NginxProcessPtr> start(const NginxOptions& options);
  ~NginxProcess();
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;
  void stop();
  bool running();
  pid_t pid() const { return child_ ? child_->pid() : 0; }

 private:
  explicit NginxProcess(ChildProcessPtr child) : child_(std::move(child)) {}
  ChildProcessPtr child_;
};

}  // namespace hawker::stream
