#include "stream/nginx.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/address.h"
#include "core/log.h"

namespace hawker::stream {

Result<std::string> render_template(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(text.size() + 256);
  size_t position = 0;
  while (position < text.size()) {
    size_t open = text.find("${", position);
    if (open == std::string_view::npos) {
      out.append(text.substr(position));
      break;
    }
    out.append(text.substr(position, open - position));
    size_t close = text.find('}', open);
    if (close == std::string_view::npos) return make_error(ErrorCode::kInvalid, "template: unclosed ${");
    std::string name(text.substr(open + 2, close - open - 2));
    auto value = values.find(name);
    if (value == values.end()) return make_error(ErrorCode::kInvalid, "template: no value for ${" + name + "}");
    out.append(value->second);
    position = close + 1;
  }
  return out;
}

namespace {

// nginx reads these values as bare words: refuse anything that could end a
// directive or open a block.
bool plain_value(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value)
    if (c == ';' || c == '{' || c == '}' || c == '\n' || c == '\r' || c == ' ' || c == '\t' || c == '"' || c == '\'' ||
        c == '$')
      return false;
  return true;
}

Status check_values(const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values)
    if (name != "ORIGIN_SERVERS" && !plain_value(value))
      return make_error(ErrorCode::kInvalid, "nginx config: bad value for " + name + ": '" + value + "'");
  return {};
}

// A listen address nginx can use: HOST:PORT with a real port.
bool split_listen(const std::string& listen, std::string& host, uint16_t& port) {
  return split_host_port(listen, host, port) && port != 0;
}

bool accepts_connections(const std::string& listen) {
  std::string host;
  uint16_t port = 0;
  if (!split_listen(listen, host, port)) return false;
  if (host == "0.0.0.0" || host == "*") host = "127.0.0.1";
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  bool ok = inet_pton(AF_INET, host.c_str(), &address.sin_addr) == 1 &&
            connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

std::string tail_of(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > bytes) text = text.substr(text.size() - bytes);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

Status write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) return make_error(ErrorCode::kIo, "cannot write " + path);
  return {};
}

}  // namespace

Result<std::string> render_rtmp(const RtmpIngestConfig& config) {
  std::string host;
  uint16_t port = 0;
  if (!split_listen(config.listen, host, port))
    return make_error(ErrorCode::kInvalid, "RTMP listen address must be HOST:PORT, got '" + config.listen + "'");
  if (config.update_seconds < 1 || config.update_seconds > 3600)
    return make_error(ErrorCode::kInvalid, "RTMP update period must be 1..3600 s");
  std::map<std::string, std::string> values{{"RTMP_LISTEN", config.listen},
                                            {"CALLBACK_BASE", config.callback_base},
                                            {"CALLBACK_SECRET", config.callback_secret},
                                            {"NOTIFY_UPDATE", std::to_string(config.update_seconds) + "s"}};
  if (Status checked = check_values(values); !checked) return checked.error();
  return render_template(rtmp_template(), values);
}

Result<std::string> render_edge(const EdgeConfig& config) {
  std::string host;
  uint16_t port = 0;
  if (!split_listen(config.listen, host, port))
    return make_error(ErrorCode::kInvalid, "edge listen address must be HOST:PORT, got '" + config.listen + "'");
  if (config.origins.empty()) return make_error(ErrorCode::kInvalid, "the edge needs at least one origin");
  std::string servers;
  for (const auto& origin : config.origins) {
    if (!split_listen(origin, host, port) || !plain_value(origin))
      return make_error(ErrorCode::kInvalid, "origin must be HOST:PORT, got '" + origin + "'");
    servers += "    server " + origin + " max_fails=3 fail_timeout=2s;\n";
  }
  std::map<std::string, std::string> values{{"EDGE_LISTEN", config.listen},
                                            {"CACHE_DIR", config.cache_dir},
                                            {"CACHE_MAX", config.cache_max},
                                            {"ACCESS_LOG", config.access_log},
                                            {"ORIGIN_SERVERS", servers}};
  if (Status checked = check_values(values); !checked) return checked.error();
  return render_template(edge_template(), values);
}

Result<NginxProcessPtr> NginxProcess::start(const NginxOptions& options) {
  if (!options.rtmp && !options.edge) return make_error(ErrorCode::kInvalid, "nginx: neither RTMP nor edge asked for");
  auto nginx = find_executable(options.nginx, "nginx-light");
  if (!nginx) return nginx.error();
  std::error_code ec;
  const std::string work = std::filesystem::absolute(options.work_dir, ec).string();
  std::filesystem::create_directories(work + "/tmp", ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create " + work + ": " + ec.message());
  if (!plain_value(work)) return make_error(ErrorCode::kInvalid, "nginx work folder must not hold spaces: " + work);

  std::string conf;
  if (options.rtmp) {
    if (access(options.rtmp_module.c_str(), R_OK) != 0)
      return make_error(ErrorCode::kUnavailable, "cannot find " + options.rtmp_module +
                                                     " (install the Debian package libnginx-mod-rtmp)");
    conf += "load_module " + options.rtmp_module + ";\n";
  }
  // Workers run as hawker's own user, so they can use the data folder hawker
  // made (it may be private); started as root, nginx would otherwise switch
  // them to `nobody`.
  // As root, the workers also get more CPU than hawker's API under a buyer
  // spike (the edge and ingest must keep video flowing).
  if (geteuid() == 0) conf += "user root root;\nworker_priority -5;\n";
  conf += "daemon off;\nmaster_process on;\nworker_processes 1;\npid " + work + "/nginx.pid;\nerror_log " + work +
          "/error.log warn;\nevents { worker_connections 16384; }\n";
  if (options.rtmp) {
    auto rtmp = render_rtmp(*options.rtmp);
    if (!rtmp) return rtmp.error();
    if (Status written = write_file(work + "/rtmp.conf", *rtmp); !written) return written.error();
    conf += "rtmp {\n    include " + work + "/rtmp.conf;\n}\n";
  }
  if (options.edge) {
    EdgeConfig edge = *options.edge;
    if (edge.cache_dir.empty()) edge.cache_dir = work + "/cache";
    auto rendered = render_edge(edge);
    if (!rendered) return rendered.error();
    if (Status written = write_file(work + "/edge.conf", *rendered); !written) return written.error();
    conf += "http {\n    access_log off;\n    client_body_temp_path " + work + "/tmp/body;\n    proxy_temp_path " +
            work + "/tmp/proxy;\n    include " + work + "/edge.conf;\n}\n";
  }
  if (Status written = write_file(work + "/nginx.conf", conf); !written) return written.error();

  ProcessSpec spec;
  spec.argv = {*nginx, "-p", work + "/", "-c", work + "/nginx.conf", "-e", work + "/error.log"};
  spec.log_path = work + "/nginx.out";
  auto child = ChildProcess::spawn(spec);
  if (!child) return child.error();
  NginxProcessPtr process(new NginxProcess(std::move(*child)));

  std::vector<std::string> listeners;
  if (options.rtmp) listeners.push_back(options.rtmp->listen);
  if (options.edge) listeners.push_back(options.edge->listen);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.start_timeout_ms);
  for (;;) {
    if (!process->running())
      return make_error(ErrorCode::kUnavailable, "nginx exited at start: " + tail_of(work + "/error.log", 600));
    bool ready = true;
    for (const auto& listen : listeners) ready = ready && accepts_connections(listen);
    if (ready) break;
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(ErrorCode::kTimeout, "nginx did not start listening: " + tail_of(work + "/error.log", 600));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  log_info("nginx.started", {{"pid", static_cast<int64_t>(process->pid())},
                             {"rtmp", options.rtmp ? options.rtmp->listen : std::string()},
                             {"edge", options.edge ? options.edge->listen : std::string()},
                             {"config", work + "/nginx.conf"}});
  return process;
}

NginxProcess::~NginxProcess() { stop(); }

bool NginxProcess::running() { return child_ && child_->running(); }

void NginxProcess::stop() {
  if (!child_) return;
  // SIGTERM is nginx's fast shutdown: a graceful one (SIGQUIT) waits for
  // every RTMP publisher to leave, which may be never.
  child_->terminate(SIGTERM, 3000);
  child_.reset();
}

}  // namespace hawker::stream
