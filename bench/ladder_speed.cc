// ladder_speed: does hawker's ABR ladder keep real time on this machine, and
// how much CPU does it take? (issue 4's first figure, docs/BENCHMARKS.md)
//
// Offline mode (--offline): makes a --seconds long 1280x720 30 fps file with
// the look of the demo's seller (stream/test_source.h: testsrc2 + the burnt-in
// clock + a tone, encoded as the publisher encodes it, but as fast as ffmpeg
// goes instead of -re), then runs hawker's own ladder (stream/ladder.h,
// default options) on that file as fast as it can go, pinned to one core with
// `taskset -c --cpu` (--cpu all: not pinned).
//   speed = media seconds / wall seconds (>= 1.0: the ladder keeps real time)
//   cores = (user + sys CPU of the ladder, from getrusage(RUSAGE_CHILDREN)
//           around its reaping) / wall seconds
// Media seconds are the source's length; the sum of the 720p playlist's
// EXTINF is printed beside it as a check.
//
// Live mode (--live --data DATA --show shw_N): the ladder of a show being
// published in real time to a running `hawker serve --rtmp-listen`. Finds the
// ladder's ffmpeg by scanning /proc for the ffmpeg whose HLS output is
// DATA/hls/shw_N/%v.m3u8, then for --seconds samples its CPU from
// /proc/PID/stat once a second (and the processes named by --watch
// NAME=PID, the whole machine from /proc/stat, and every process, to name the
// busiest commands: the machine may be shared), and reads the 720p media
// playlist from disk every 100 ms: media seconds produced per wall second =
// growth of the EXTINF sum between the first and the last new segment seen /
// the wall time between them. A live ladder cannot go faster than its input
// (1.0); below 1.0 it falls behind and the live-edge delay grows. It also
// prints the PDT lead of those segments: PROGRAM-DATE-TIME + duration minus
// the time the segment's file was finished (its mtime). ffmpeg stamps the
// PDTs from the wall clock when its HLS muxer starts, plus media time; input
// it buffered before that start (most likely while probing the RTMP input)
// is media the ladder then encodes faster than real time, so the PDTs run
// ahead of the wall clock by about that much, and `now - PDT` understates the
// real delay.
//
// Publish mode (--publish RTMP_URL): runs test_source_arguments(RTMP_URL,
// TestSourceOptions{}), the demo's synthetic 720p30 seller, for at most
// --seconds, then stops it (SIGINT). With --pid-file it writes the
// publisher ffmpeg's pid there (for --watch).
//
// Every mode stops by itself: waits are bounded by --seconds and --timeout.
// Prints a table; --json FILE also writes the figures as one JSON object.
//
//   ladder_speed --offline [--seconds 60] [--cpu 0] [--work DIR] [--timeout 900]
//   ladder_speed --live --data DATA --show shw_1 [--seconds 60] [--watch publisher=PID]
//   ladder_speed --publish rtmp://127.0.0.1:1935/live/KEY [--seconds 600] [--pid-file FILE]
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "core/clock.h"
#include "stream/ladder.h"
#include "stream/playlist.h"
#include "stream/process.h"
#include "stream/test_source.h"

namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using hawker::monotonic_us;

enum class Mode { kNone, kOffline, kLive, kPublish };

struct Options {
  Mode mode = Mode::kNone;
  int seconds = 60;
  std::string cpu = "0";  // taskset -c value; "all": not pinned
  std::string work_dir;   // offline: where the source and the ladder go (default a temp folder)
  bool keep = false;      // offline: keep the work folder
  int timeout_s = 900;    // offline: a bound on each ffmpeg run
  std::string data_dir;   // live
  std::string show;       // live: shw_N
  std::vector<std::pair<std::string, pid_t>> watched;  // live: --watch NAME=PID
  std::string rtmp_url;   // publish
  std::string pid_file;   // publish
  std::string json_path;
};

// Bounds on what a flag may ask for.
constexpr int kSecondsMax = 3600;
constexpr int kWatchedMax = 8;
// How long --live waits for the ladder's ffmpeg to appear.
constexpr int kFindLadderTimeoutMs = 20'000;
constexpr int kPlaylistPollMs = 100;
constexpr int kCpuSampleMs = 1000;
constexpr size_t kBusiestShown = 8;

bool parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--offline") { options.mode = Mode::kOffline; continue; }
    if (flag == "--live") { options.mode = Mode::kLive; continue; }
    if (flag == "--keep") { options.keep = true; continue; }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "ladder_speed: %s needs a value\n", flag.c_str());
      return false;
    }
    const std::string value = argv[++i];
    if (flag == "--publish") {
      options.mode = Mode::kPublish;
      options.rtmp_url = value;
    } else if (flag == "--seconds") options.seconds = std::stoi(value);
    else if (flag == "--cpu") options.cpu = value;
    else if (flag == "--work") options.work_dir = value;
    else if (flag == "--timeout") options.timeout_s = std::stoi(value);
    else if (flag == "--data") options.data_dir = value;
    else if (flag == "--show") options.show = value;
    else if (flag == "--pid-file") options.pid_file = value;
    else if (flag == "--json") options.json_path = value;
    else if (flag == "--watch") {
      const size_t equals = value.find('=');
      if (equals == std::string::npos || options.watched.size() >= kWatchedMax) {
        std::fprintf(stderr, "ladder_speed: --watch NAME=PID (at most %d)\n", kWatchedMax);
        return false;
      }
      options.watched.emplace_back(value.substr(0, equals), static_cast<pid_t>(std::stol(value.substr(equals + 1))));
    } else {
      std::fprintf(stderr, "ladder_speed: unknown flag %s\n", flag.c_str());
      return false;
    }
  }
  if (options.mode == Mode::kNone) {
    std::fprintf(stderr, "ladder_speed: say --offline, --live or --publish URL\n");
    return false;
  }
  if (options.seconds < 1 || options.seconds > kSecondsMax || options.timeout_s < 1) {
    std::fprintf(stderr, "ladder_speed: --seconds must be in 1..%d, --timeout positive\n", kSecondsMax);
    return false;
  }
  if (options.mode == Mode::kLive && (options.data_dir.empty() || options.show.empty())) {
    std::fprintf(stderr, "ladder_speed: --live needs --data DATA and --show shw_N\n");
    return false;
  }
  return true;
}

double seconds_since(int64_t start_us) { return static_cast<double>(monotonic_us() - start_us) / 1e6; }

double cpu_seconds(const timeval& value) {
  return static_cast<double>(value.tv_sec) + static_cast<double>(value.tv_usec) / 1e6;
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The 720p media playlist's EXTINF sum and segment count; nullopt while it
// does not exist or does not parse (ffmpeg replaces it atomically, so that is
// only before the first segment).
struct PlaylistState {
  double media_s = 0;
  size_t segments = 0;
};

std::optional<PlaylistState> read_playlist(const std::string& path) {
  auto text = read_text(path);
  if (!text) return std::nullopt;
  auto playlist = hawker::stream::parse_media_playlist(*text);
  if (!playlist) return std::nullopt;
  PlaylistState state;
  for (const auto& segment : playlist->segments) state.media_s += segment.duration_s;
  state.segments = playlist->segments.size();
  return state;
}

void write_json(const std::string& path, const json::object& object) {
  if (path.empty()) return;
  std::ofstream file(path);
  file << json::serialize(object) << "\n";
}

// ---- offline -------------------------------------------------------------------------

// A run of one child: wall seconds and the CPU it used (user, sys), from the
// growth of RUSAGE_CHILDREN around its reaping (this program has no other
// children at the time).
struct RunCost {
  bool ok = false;
  std::string status;
  double wall_s = 0;
  double user_s = 0;
  double sys_s = 0;
};

RunCost run_measured(const std::vector<std::string>& argv, const std::string& log_path, int timeout_s) {
  RunCost cost;
  rusage before{};
  getrusage(RUSAGE_CHILDREN, &before);
  const int64_t start_us = monotonic_us();
  auto child = hawker::stream::ChildProcess::spawn({argv, log_path});
  if (!child) {
    cost.status = child.error().message;
    return cost;
  }
  if (!(*child)->wait_for(timeout_s * 1000)) {
    (*child)->terminate(SIGKILL, 1000);
    cost.status = "timed out after " + std::to_string(timeout_s) + " s";
    return cost;
  }
  cost.wall_s = seconds_since(start_us);
  rusage after{};
  getrusage(RUSAGE_CHILDREN, &after);
  cost.user_s = cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime);
  cost.sys_s = cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime);
  const int status = (*child)->wait_status().value_or(-1);
  cost.status = hawker::stream::describe_wait_status(status);
  cost.ok = cost.status == "exited 0";
  return cost;
}

// test_source_arguments writing `seconds` of media to a file, as fast as it goes.
std::vector<std::string> source_file_arguments(const std::string& path, int seconds) {
  hawker::stream::TestSourceOptions source;  // the demo's seller: 1280x720, 30 fps, clock, veryfast
  std::vector<std::string> argv = hawker::stream::test_source_arguments(path, source);
  auto real_time = std::find(argv.begin(), argv.end(), "-re");
  if (real_time != argv.end()) argv.erase(real_time);
  // The arguments end with "-f flv URL": the length goes before them.
  const size_t size = argv.size();
  if (size < 3 || argv[size - 3] != "-f" || argv[size - 1] != path) {
    std::fprintf(stderr, "ladder_speed: test_source_arguments no longer end with -f FORMAT URL\n");
    std::exit(1);
  }
  argv.insert(argv.end() - 3, {"-t", std::to_string(seconds)});
  argv.insert(argv.begin() + 1, "-y");
  return argv;
}

int run_offline(const Options& options) {
  fs::path work = options.work_dir;
  if (work.empty()) {
    char pattern[] = "/tmp/hawker-ladder-speed.XXXXXX";
    if (!mkdtemp(pattern)) {
      std::fprintf(stderr, "ladder_speed: mkdtemp: %s\n", std::strerror(errno));
      return 1;
    }
    work = pattern;
  }
  fs::create_directories(work);
  const std::string source = (work / "source.flv").string();
  const fs::path ladder_dir = work / "ladder";
  fs::remove_all(ladder_dir);
  fs::create_directories(ladder_dir);
  const std::string log_path = (work / "ffmpeg.log").string();

  std::fprintf(stderr, "ladder_speed: making %d s of 1280x720 30 fps test source in %s\n", options.seconds,
               source.c_str());
  RunCost made = run_measured(source_file_arguments(source, options.seconds), log_path, options.timeout_s);
  if (!made.ok) {
    std::fprintf(stderr, "ladder_speed: making the source failed (%s); see %s\n", made.status.c_str(),
                 log_path.c_str());
    return 1;
  }

  hawker::stream::LadderOptions ladder;  // hawker's defaults: 720p/480p/360p/240p, veryfast, 2 s
  if (auto valid = hawker::stream::validate_ladder(ladder, ladder_dir.string()); !valid) {
    std::fprintf(stderr, "ladder_speed: %s\n", valid.error().message.c_str());
    return 1;
  }
  std::vector<std::string> argv = hawker::stream::ladder_arguments({"-i", source}, ladder_dir.string(), ladder, false);
  if (options.cpu != "all") argv.insert(argv.begin(), {"taskset", "-c", options.cpu});
  std::fprintf(stderr, "ladder_speed: running the ladder %s\n",
               options.cpu == "all" ? "on every core" : ("pinned to CPU " + options.cpu).c_str());
  RunCost ran = run_measured(argv, log_path, options.timeout_s);
  if (!ran.ok) {
    std::fprintf(stderr, "ladder_speed: the ladder failed (%s); see %s\n", ran.status.c_str(), log_path.c_str());
    return 1;
  }
  auto output = read_playlist((ladder_dir / (ladder.renditions.front().name + ".m3u8")).string());

  const double media_s = options.seconds;
  const double speed = media_s / ran.wall_s;
  const double cores = (ran.user_s + ran.sys_s) / ran.wall_s;
  std::printf("== ladder offline: %d s of 1280x720 30 fps test source -> %zu renditions (preset %s, %d s segments)\n",
              options.seconds, ladder.renditions.size(), ladder.preset.c_str(), ladder.segment_seconds);
  std::printf("%-22s %10s %10s %10s %8s %8s\n", "run", "wall_s", "user_s", "sys_s", "speed", "cores");
  std::printf("%-22s %10.2f %10.2f %10.2f %8s %8.2f\n", "make source (unpinned)", made.wall_s, made.user_s, made.sys_s,
              "-", (made.user_s + made.sys_s) / made.wall_s);
  const std::string label = options.cpu == "all" ? "ladder (not pinned)" : "ladder (taskset -c " + options.cpu + ")";
  std::printf("%-22s %10.2f %10.2f %10.2f %7.2fx %8.2f\n", label.c_str(), ran.wall_s, ran.user_s, ran.sys_s, speed,
              cores);
  if (output)
    std::printf("720p output: %.2f media s in %zu segments (source %.0f s)\n", output->media_s, output->segments,
                media_s);
  if (options.cpu != "all") std::printf("goal speed >= 1.0x on one core: %s\n", speed >= 1.0 ? "met" : "NOT met");

  write_json(options.json_path, json::object{{"mode", "offline"},
                                             {"cpu", options.cpu},
                                             {"media_s", media_s},
                                             {"output_720p_media_s", output ? output->media_s : 0.0},
                                             {"wall_s", ran.wall_s},
                                             {"user_s", ran.user_s},
                                             {"sys_s", ran.sys_s},
                                             {"speed", speed},
                                             {"cores", cores}});
  if (!options.keep && options.work_dir.empty()) fs::remove_all(work);
  return 0;
}

// ---- live ----------------------------------------------------------------------------

std::vector<std::string> command_line(pid_t pid) {
  std::vector<std::string> argv;
  auto text = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  if (!text) return argv;
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\0', start);
    if (end == std::string::npos) end = text->size();
    argv.push_back(text->substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

// The ffmpeg (argv[0] ends with "ffmpeg") whose HLS output is
// FOLDER/%v.m3u8, FOLDER being `folder` (paths compared after resolving
// them, a relative one against the process's working directory): the show's
// ladder. Other hawkers on the machine have their own data folders.
std::optional<pid_t> find_ladder(const std::string& folder) {
  std::error_code error;
  const fs::path wanted = fs::weakly_canonical(folder, error);
  constexpr std::string_view kOutputSuffix = "/%v.m3u8";
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    std::vector<std::string> argv = command_line(pid);
    if (argv.empty() || fs::path(argv[0]).filename() != "ffmpeg") continue;
    for (const auto& argument : argv) {
      if (argument.size() <= kOutputSuffix.size() || !argument.ends_with(kOutputSuffix)) continue;
      fs::path output = argument.substr(0, argument.size() - kOutputSuffix.size());
      if (output.is_relative()) output = fs::read_symlink("/proc/" + name + "/cwd", error) / output;
      if (fs::weakly_canonical(output, error) == wanted) return pid;
    }
  }
  return std::nullopt;
}

struct ProcessStat {
  std::string command;  // the kernel's name for it (comm), at most 15 characters
  double cpu_s = 0;     // utime + stime of all its threads
};

// A process's name and CPU from /proc/PID/stat; nullopt once it is gone.
std::optional<ProcessStat> process_stat(pid_t pid) {
  auto text = read_text("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  const size_t open = text->find('(');
  const size_t paren = text->rfind(')');  // the command name may hold spaces and parentheses
  if (open == std::string::npos || paren == std::string::npos || paren < open) return std::nullopt;
  ProcessStat stat;
  stat.command = text->substr(open + 1, paren - open - 1);
  std::istringstream fields(text->substr(paren + 1));
  std::string field;
  double ticks = 0;
  // After ")": state is field 3 of proc(5); utime is 14, stime 15.
  for (int index = 3; index <= 15 && fields >> field; ++index)
    if (index == 14 || index == 15) ticks += std::stod(field);
  stat.cpu_s = ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  return stat;
}

std::optional<double> process_cpu_s(pid_t pid) {
  auto stat = process_stat(pid);
  if (!stat) return std::nullopt;
  return stat->cpu_s;
}

// The CPU of every process on the machine, sampled once a second with the
// rest, grouped by command name: the machine is shared, and another build or
// test running meanwhile skews every figure, so the report says what ran.
// A process that lives less than a second between two samples is missed;
// one that starts during the window counts from zero.
class ProcessCensus {
 public:
  void sample(bool first) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/proc", error)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = static_cast<pid_t>(std::stol(name));
      auto stat = process_stat(pid);
      if (!stat) continue;
      auto found = entries_.find(pid);
      if (found == entries_.end()) {
        if (entries_.size() >= kProcessesMax) continue;
        found = entries_.emplace(pid, Entry{stat->command, first ? stat->cpu_s : 0, 0}).first;
      }
      found->second.last_s = stat->cpu_s;
    }
  }

  // The `top` busiest commands over window_s, in cores.
  std::vector<std::pair<std::string, double>> busiest(double window_s, size_t top) const {
    std::map<std::string, double> by_command;
    for (const auto& [pid, entry] : entries_) by_command[entry.command] += (entry.last_s - entry.base_s) / window_s;
    std::vector<std::pair<std::string, double>> sorted(by_command.begin(), by_command.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    if (sorted.size() > top) sorted.resize(top);
    return sorted;
  }

 private:
  static constexpr size_t kProcessesMax = 100'000;
  struct Entry {
    std::string command;
    double base_s = 0;
    double last_s = 0;
  };
  std::map<pid_t, Entry> entries_;
};

// Busy seconds of the whole machine (every CPU, everything but idle and
// iowait), from /proc/stat.
double machine_busy_s() {
  std::ifstream file("/proc/stat");
  std::string label;
  file >> label;  // "cpu"
  double busy = 0;
  for (int index = 0; index < 8; ++index) {  // user nice system idle iowait irq softirq steal
    double value = 0;
    file >> value;
    if (index != 3 && index != 4) busy += value;
  }
  return busy / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct CpuTrack {
  std::string name;
  pid_t pid = 0;
  double start_s = 0;
  double last_s = 0;
  double max_cores = 0;  // the busiest one-second sample
  bool lost = false;     // the process went away during the window
};

void sample(CpuTrack& track, double interval_s) {
  auto cpu = process_cpu_s(track.pid);
  if (!cpu) {
    track.lost = true;
    return;
  }
  if (interval_s > 0) track.max_cores = std::max(track.max_cores, (*cpu - track.last_s) / interval_s);
  track.last_s = *cpu;
}

// PDT + duration - file mtime, in ms, of the 720p segments from index `first` on.
std::vector<double> pdt_leads_ms(const std::string& folder, const std::string& playlist_path, size_t first) {
  std::vector<double> leads;
  auto text = read_text(playlist_path);
  if (!text) return leads;
  auto playlist = hawker::stream::parse_media_playlist(*text);
  if (!playlist) return leads;
  for (size_t i = first; i < playlist->segments.size(); ++i) {
    const auto& segment = playlist->segments[i];
    struct stat file {};
    if (segment.pdt_ms < 0 || stat((folder + "/" + segment.uri).c_str(), &file) != 0) continue;
    const double written_ms =
        static_cast<double>(file.st_mtim.tv_sec) * 1000 + static_cast<double>(file.st_mtim.tv_nsec) / 1e6;
    leads.push_back(static_cast<double>(segment.pdt_ms) + segment.duration_s * 1000 - written_ms);
  }
  return leads;
}

int run_live(const Options& options) {
  std::optional<pid_t> ladder;
  const int64_t find_start_us = monotonic_us();
  const std::string folder = options.data_dir + "/hls/" + options.show;
  while (!(ladder = find_ladder(folder)) && seconds_since(find_start_us) * 1000 < kFindLadderTimeoutMs)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  if (!ladder) {
    std::fprintf(stderr, "ladder_speed: no ffmpeg writing %s/%%v.m3u8 within %d s\n", folder.c_str(),
                 kFindLadderTimeoutMs / 1000);
    return 1;
  }
  const std::string playlist_path = folder + "/720p.m3u8";

  std::vector<CpuTrack> tracks{{"ladder ffmpeg", *ladder}};
  for (const auto& [name, pid] : options.watched) tracks.push_back({name, pid});
  for (auto& track : tracks) {
    auto cpu = process_cpu_s(track.pid);
    track.lost = !cpu;
    track.start_s = track.last_s = cpu.value_or(0);
  }
  ProcessCensus census;
  census.sample(true);
  const double machine_start_s = machine_busy_s();
  double machine_last_s = machine_start_s;
  double machine_max_cores = 0;

  std::optional<PlaylistState> first_playlist = read_playlist(playlist_path);
  std::optional<PlaylistState> first_change, last_change;
  int64_t first_change_us = 0, last_change_us = 0;
  PlaylistState previous = first_playlist.value_or(PlaylistState{});

  const int64_t start_us = monotonic_us();
  const int64_t end_us = start_us + static_cast<int64_t>(options.seconds) * 1'000'000;
  int64_t next_cpu_us = start_us + kCpuSampleMs * 1000;
  int64_t last_cpu_us = start_us;
  while (monotonic_us() < end_us) {
    std::this_thread::sleep_for(std::chrono::milliseconds(kPlaylistPollMs));
    const int64_t now_us = monotonic_us();
    if (auto state = read_playlist(playlist_path); state && state->segments > previous.segments) {
      if (!first_change) {
        first_change = state;
        first_change_us = now_us;
      }
      last_change = state;
      last_change_us = now_us;
      previous = *state;
    }
    if (now_us >= next_cpu_us) {
      const double interval_s = static_cast<double>(now_us - last_cpu_us) / 1e6;
      for (auto& track : tracks)
        if (!track.lost) sample(track, interval_s);
      census.sample(false);
      const double machine_s = machine_busy_s();
      machine_max_cores = std::max(machine_max_cores, (machine_s - machine_last_s) / interval_s);
      machine_last_s = machine_s;
      last_cpu_us = now_us;
      next_cpu_us += kCpuSampleMs * 1000;
    }
  }
  const double wall_s = seconds_since(start_us);
  const double window_s = static_cast<double>(last_cpu_us - start_us) / 1e6;

  std::printf("== ladder live: show %s, %.1f s sampled (CPU from /proc every %d ms)\n", options.show.c_str(), wall_s,
              kCpuSampleMs);
  std::printf("%-16s %8s %12s %14s\n", "process", "pid", "cores_mean", "cores_max_1s");
  json::object processes;
  for (const auto& track : tracks) {
    const double cores = (track.last_s - track.start_s) / window_s;
    std::printf("%-16s %8d %12.2f %14.2f%s\n", track.name.c_str(), static_cast<int>(track.pid), cores,
                track.max_cores, track.lost ? "  (exited during the window)" : "");
    processes[track.name] = json::object{{"pid", track.pid}, {"cores", cores}, {"cores_max_1s", track.max_cores},
                                         {"lost", track.lost}};
  }
  const double machine_cores = (machine_last_s - machine_start_s) / window_s;
  std::printf("%-16s %8s %12.2f %14.2f  (of %ld CPUs)\n", "whole machine", "-", machine_cores, machine_max_cores,
              sysconf(_SC_NPROCESSORS_ONLN));
  json::object busiest;
  std::printf("busiest commands (cores):");
  for (const auto& [command, cores] : census.busiest(window_s, kBusiestShown)) {
    std::printf(" %s %.2f", command.c_str(), cores);
    busiest[command] = cores;
  }
  std::printf("\n");

  double media_per_wall = 0;
  double media_s = 0, between_s = 0;
  size_t segments = 0;
  if (first_change && last_change && last_change_us > first_change_us) {
    media_s = last_change->media_s - first_change->media_s;
    between_s = static_cast<double>(last_change_us - first_change_us) / 1e6;
    segments = last_change->segments - first_change->segments;
    media_per_wall = media_s / between_s;
    std::printf("720p media produced: %.2f s in %.2f s of wall time (%zu segments) = %.3f media s per wall s\n",
                media_s, between_s, segments, media_per_wall);
  } else {
    std::printf(
        "720p media produced: fewer than two new segments in the window (the ladder stalled, or the window is too "
        "short)\n");
  }
  std::vector<double> leads = pdt_leads_ms(folder, playlist_path, first_playlist ? first_playlist->segments : 0);
  double lead_mean_ms = 0, lead_min_ms = 0, lead_max_ms = 0;
  if (!leads.empty()) {
    for (double lead : leads) lead_mean_ms += lead / static_cast<double>(leads.size());
    lead_min_ms = *std::min_element(leads.begin(), leads.end());
    lead_max_ms = *std::max_element(leads.begin(), leads.end());
    std::printf("PDT lead (PDT + duration - file finished) over %zu segments: mean %.0f ms, min %.0f, max %.0f\n",
                leads.size(), lead_mean_ms, lead_min_ms, lead_max_ms);
  }
  write_json(options.json_path, json::object{{"mode", "live"},
                                             {"show", options.show},
                                             {"wall_s", wall_s},
                                             {"processes", processes},
                                             {"machine_cores", machine_cores},
                                             {"busiest", busiest},
                                             {"machine_cores_max_1s", machine_max_cores},
                                             {"media_s", media_s},
                                             {"media_wall_s", between_s},
                                             {"segments", segments},
                                             {"media_per_wall_s", media_per_wall},
                                             {"pdt_lead_ms_mean", lead_mean_ms},
                                             {"pdt_lead_ms_min", lead_min_ms},
                                             {"pdt_lead_ms_max", lead_max_ms}});
  return media_per_wall > 0 ? 0 : 1;
}

// ---- publish -------------------------------------------------------------------------

int run_publish(const Options& options) {
  hawker::stream::ProcessSpec spec;
  spec.argv = hawker::stream::test_source_arguments(options.rtmp_url, hawker::stream::TestSourceOptions{});
  auto child = hawker::stream::ChildProcess::spawn(spec);
  if (!child) {
    std::fprintf(stderr, "ladder_speed: cannot start the publisher: %s\n", child.error().message.c_str());
    return 1;
  }
  if (!options.pid_file.empty()) std::ofstream(options.pid_file) << (*child)->pid() << "\n";
  std::fprintf(stderr, "ladder_speed: publishing the 720p30 test source to %s (pid %d, at most %d s)\n",
               options.rtmp_url.c_str(), static_cast<int>((*child)->pid()), options.seconds);
  if ((*child)->wait_for(options.seconds * 1000)) {
    std::fprintf(stderr, "ladder_speed: the publisher %s early\n",
                 hawker::stream::describe_wait_status((*child)->wait_status().value_or(-1)).c_str());
    return 1;
  }
  (*child)->terminate(SIGINT, 5000);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    if (!parse_options(argc, argv, options)) return 2;
  } catch (const std::exception& error) {  // std::stoi on a bad number
    std::fprintf(stderr, "ladder_speed: bad flag value: %s\n", error.what());
    return 2;
  }
  switch (options.mode) {
    case Mode::kOffline: return run_offline(options);
    case Mode::kLive: return run_live(options);
    case Mode::kPublish: return run_publish(options);
    case Mode::kNone: break;
  }
  return 2;
}
