// JetStreamEventLog over cnats: see jetstream_event_log.h for the layout, the
// seq mapping and the contract. Implementation notes:
// - Publishes and direct gets go out as plain NATS requests, each with a
//   reply subject of its own under one inbox, and their answers are collected
//   on the calling thread (exchange()): a wave of up to kWaveMax costs one
//   round trip and no callback runs on cnats' threads.
// - The only cnats callback is the notice subscription: it records the
//   highest seq announced ("hinted") and wakes waiters. What it announces is
//   confirmed with the server (refresh(): stream info, last_seq) before
//   last_event_seq() moves, so a stray notice can cost a round trip, never a
//   wrong answer. The Signal it shares with this object is reference-counted
//   (cnats' completion callback drops the thread's reference), and the
//   destructor closes the connection before anything else.
// - known (Signal::known) only moves forward: acknowledged appends, events
//   read, refreshes.
#include "bus/jetstream_event_log.h"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "bus/nats_common.h"
#include "core/log.h"

namespace hawker::bus {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kComponent = "jetstream event log";
constexpr size_t kAppendEventsMax = 65'536;  // one append's span
constexpr size_t kWaveMax = 4'096;           // requests in flight at once
constexpr size_t kReadPageMax = 4'096;       // one read_events answer at most
constexpr int kAppendRoundsMax = 64;         // lost races in one append before giving up
constexpr int kReplyPendingMax = 2 * static_cast<int>(kWaveMax) + 64;
// Without notices (lost, or an appender that sends none) a waiter still asks
// the server this often.
constexpr milliseconds kPollInterval{250};
constexpr std::string_view kDescriptionPrefix = "hawker event log; event seq = stream seq + ";

Error nats_failure(std::string_view what, natsStatus status, jsErrCode js_code = static_cast<jsErrCode>(0)) {
  return nats_error(kComponent, what, status, js_code);
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<uint64_t> header_u64(natsMsg* msg, const char* name) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, name, &value) != NATS_OK || value == nullptr) return std::nullopt;
  return parse_u64(value);
}

// Shared with the notice subscription's cnats thread.
struct Signal {
  std::mutex mutex;
  std::condition_variable changed;
  uint64_t known = 0;    // newest durable event seq confirmed by the server
  uint64_t hinted = 0;   // newest event seq a notice announced
  uint64_t checked = 0;  // hinted value the last refresh started from
};
using SignalRef = std::shared_ptr<Signal>;

void on_notice(natsConnection* /*connection*/, natsSubscription* /*sub*/, natsMsg* msg, void* closure) {
  Signal& signal = **static_cast<SignalRef*>(closure);
  std::optional<uint64_t> seq = parse_u64(nats_data(msg));
  natsMsg_Destroy(msg);
  if (!seq) return;  // not ours: ignored
  {
    std::lock_guard lock(signal.mutex);
    if (*seq <= signal.hinted) return;
    signal.hinted = *seq;
  }
  signal.changed.notify_all();
}

void on_notice_complete(void* closure) { delete static_cast<SignalRef*>(closure); }

struct StreamState {
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t messages = 0;
};

class JetStreamLog final : public JetStreamEventLog {
 public:
  explicit JetStreamLog(JetStreamEventLogOptions options)
      : options_(std::move(options)),
        stream_(options_.name_prefix + "_events"),
        subject_(options_.name_prefix + ".events"),
        notice_subject_(options_.name_prefix + ".events.appended"),
        direct_get_subject_("$JS.API.DIRECT.GET." + stream_),
        info_subject_("$JS.API.STREAM.INFO." + stream_),
        signal_(std::make_shared<Signal>()) {}

  ~JetStreamLog() override {
    // Closing first stops the notice callback (and frees its reference).
    if (connection_ != nullptr) natsConnection_Close(connection_);
    replies_.clear();  // only once the read loop has stopped
    if (notice_sub_ != nullptr) natsSubscription_Destroy(notice_sub_);
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (connection_ != nullptr) natsConnection_Destroy(connection_);
  }

  Status open();

  Status append(std::span<const market::Event> events) override;
  Result<std::vector<market::Event>> read_events(uint64_t after_seq, size_t limit) override;
  uint64_t last_event_seq() override;
  void wait_for_events(uint64_t after_seq, milliseconds timeout) override;
  uint64_t offset() const override { return offset_; }

 private:
  Status ensure_stream();
  Result<uint64_t> offset_of(const jsStreamInfo& info) const;
  Result<std::vector<NatsMsgPtr>> exchange(const std::vector<NatsRequest>& requests, milliseconds timeout);
  Result<StreamState> stream_state(milliseconds timeout);
  // The last event the stream holds, its last message checked against the mapping.
  Result<uint64_t> verified_last();
  // Asks the server for its last seq (bounded by `timeout`) and advances known.
  void refresh(milliseconds timeout);
  // The event in `msg`, a direct get of stream seq `stream_seq`, or kIo.
  Result<market::Event> event_of(natsMsg* msg, uint64_t stream_seq) const;
  Status publish_wave(std::span<const market::Event> events, uint64_t& last);
  Status check_stored_by_others(std::span<const market::Event> events, const std::vector<size_t>& indexes,
                                uint64_t last);
  void advance(uint64_t seq) {
    {
      std::lock_guard lock(signal_->mutex);
      if (seq <= signal_->known) return;
      signal_->known = seq;
    }
    signal_->changed.notify_all();
  }
  uint64_t known() const {
    std::lock_guard lock(signal_->mutex);
    return signal_->known;
  }
  // A direct get of stream message `stream_seq`.
  NatsRequest direct_get(uint64_t stream_seq) const {
    return NatsRequest{direct_get_subject_, "{\"seq\":" + std::to_string(stream_seq) + "}", {}, 0, false};
  }
  Status connected() const {
    if (natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED) return {};
    return make_error(ErrorCode::kUnavailable,
                      std::string(kComponent) + ": not connected to " + options_.url + " (reconnecting)");
  }

  const JetStreamEventLogOptions options_;
  const std::string stream_;
  const std::string subject_;
  const std::string notice_subject_;
  const std::string direct_get_subject_;
  const std::string info_subject_;
  SignalRef signal_;
  natsConnection* connection_ = nullptr;
  natsSubscription* notice_sub_ = nullptr;
  ReplyInboxes replies_{kReplyPendingMax};  // exchange()'s reply subscriptions
  jsCtx* js_ = nullptr;
  uint64_t offset_ = 0;
  int64_t max_payload_ = 0;
  std::mutex append_mutex_;  // appends through one object take turns
  std::atomic<int64_t> last_refresh_ns_{0};
};

Status JetStreamLog::open() {
  NatsConnectOptions connect;
  connect.url = options_.url;
  connect.client_name = "hawker-event-log";
  connect.connect_timeout = options_.connect_timeout;
  connect.no_echo = true;  // our own notices tell us nothing new
  connect.log_scope = "bus.event_log";
  auto connection = connect_nats(connect, kComponent);
  if (!connection) return connection.error();
  connection_ = connection->release();
  max_payload_ = natsConnection_GetMaxPayload(connection_);

  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = options_.request_timeout.count();
  natsStatus status = natsConnection_JetStream(&js_, connection_, &js_options);
  if (status != NATS_OK) {
    js_ = nullptr;
    return nats_failure("jetstream context", status);
  }
  if (Status made = ensure_stream(); !made) return made;

  auto* closure = new SignalRef(signal_);
  status = natsConnection_Subscribe(&notice_sub_, connection_, notice_subject_.c_str(), on_notice, closure);
  if (status != NATS_OK) {
    notice_sub_ = nullptr;
    delete closure;
    return nats_failure("subscribe to " + notice_subject_, status);
  }
  // From here on cnats owns `closure` and frees it when the subscription closes.
  status = natsSubscription_SetOnCompleteCB(notice_sub_, on_notice_complete, closure);
  if (status == NATS_OK) status = natsConnection_FlushTimeout(connection_, options_.request_timeout.count());
  if (status != NATS_OK) return nats_failure("subscription " + notice_subject_, status);

  {
    std::lock_guard lock(signal_->mutex);
    signal_->known = offset_;  // nothing before the log's start
  }
  // Readers need not vouch for the last message (append() does).
  auto state = stream_state(options_.request_timeout);
  if (!state) return state.error();
  advance(state->last_seq + offset_);
  return {};
}

Result<uint64_t> JetStreamLog::offset_of(const jsStreamInfo& info) const {
  const char* description = info.Config != nullptr ? info.Config->Description : nullptr;
  std::string_view text = description != nullptr ? description : "";
  std::optional<uint64_t> offset;
  if (text.substr(0, kDescriptionPrefix.size()) == kDescriptionPrefix)
    offset = parse_u64(text.substr(kDescriptionPrefix.size()));
  if (!offset)
    return make_error(ErrorCode::kConflict, std::string(kComponent) + ": stream " + stream_ +
                                                " exists but is not an event log (description \"" +
                                                std::string(text) + "\")");
  return *offset;
}

Status JetStreamLog::ensure_stream() {
  jsStreamInfo* info = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus status = js_GetStreamInfo(&info, js_, stream_.c_str(), nullptr, &js_code);
  if (status == NATS_NOT_FOUND || js_code == JSStreamNotFoundErr) {
    const std::string description = std::string(kDescriptionPrefix) + std::to_string(options_.first_event_seq - 1);
    const char* subjects[] = {subject_.c_str()};
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = stream_.c_str();
    config.Description = description.c_str();
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Retention = js_LimitsPolicy;
    config.Discard = js_DiscardOld;
    config.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.max_age).count();
    config.MaxBytes = options_.max_bytes;
    config.Replicas = options_.replicas;
    config.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.duplicate_window).count();
    config.AllowDirect = true;  // read_events() reads by stream seq
    info = nullptr;
    js_code = static_cast<jsErrCode>(0);
    status = js_AddStream(&info, js_, &config, nullptr, &js_code);
    if (status != NATS_OK && js_code == JSStreamNameExistErr) {  // another process made it first
      info = nullptr;
      js_code = static_cast<jsErrCode>(0);
      status = js_GetStreamInfo(&info, js_, stream_.c_str(), nullptr, &js_code);
    }
  }
  if (status != NATS_OK) return nats_failure("stream " + stream_, status, js_code);
  auto offset = offset_of(*info);
  const bool direct = info->Config != nullptr && info->Config->AllowDirect;
  jsStreamInfo_Destroy(info);
  if (!offset) return offset.error();
  if (!direct)
    return make_error(ErrorCode::kConflict, std::string(kComponent) + ": stream " + stream_ + " has no direct get");
  offset_ = *offset;
  return {};
}

Result<std::vector<NatsMsgPtr>> JetStreamLog::exchange(const std::vector<NatsRequest>& requests, milliseconds timeout) {
  std::vector<NatsMsgPtr> replies(requests.size());
  if (requests.empty()) return replies;
  if (Status up = connected(); !up) return up.error();
  // A pooled reply subscription (see ReplyInboxes: cnats 3.4 crashes when
  // subscriptions are made and destroyed per exchange under load).
  auto lease = replies_.take(connection_, kComponent);
  if (!lease) return lease.error();
  const std::string inbox = lease->next_inbox();
  if (Status sent = publish_requests(connection_, requests, inbox, kComponent); !sent) return sent.error();
  if (Status got = collect_replies(lease->sub(), inbox, replies, timeout, NoResponders::kCount, kComponent); !got)
    return got.error();
  return replies;
}

Result<StreamState> JetStreamLog::stream_state(milliseconds timeout) {
  if (Status up = connected(); !up) return up.error();
  natsMsg* raw = nullptr;
  natsStatus status = natsConnection_RequestString(&raw, connection_, info_subject_.c_str(), "",
                                                   std::max<int64_t>(timeout.count(), 1));
  if (status != NATS_OK) return nats_failure("stream info " + stream_, status);
  NatsMsgPtr reply(raw);
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(nats_data(raw), ec);
  const boost::json::object* object = ec ? nullptr : json.if_object();
  const boost::json::value* state = object != nullptr ? object->if_contains("state") : nullptr;
  if (state == nullptr || !state->is_object())
    return make_error(ErrorCode::kUnavailable, std::string(kComponent) + ": stream info " + stream_ + ": " +
                                                   std::string(nats_data(raw).substr(0, 200)));
  const auto& fields = state->as_object();
  return StreamState{json_u64(fields, "first_seq"), json_u64(fields, "last_seq"), json_u64(fields, "messages")};
}

void JetStreamLog::refresh(milliseconds timeout) {
  last_refresh_ns_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  auto state = stream_state(timeout);
  if (!state) return;  // the caller's wait goes on; the next refresh may do better
  advance(state->last_seq + offset_);
}

Result<market::Event> JetStreamLog::event_of(natsMsg* msg, uint64_t stream_seq) const {
  const uint64_t seq = stream_seq + offset_;
  auto corrupt = [&](std::string_view why) {
    return make_error(ErrorCode::kIo, std::string(kComponent) + ": stream " + stream_ + " message " +
                                          std::to_string(stream_seq) + " is not event " + std::to_string(seq) +
                                          ": " + std::string(why));
  };
  if (header_u64(msg, "Nats-Sequence") != stream_seq) return corrupt("wrong stream sequence");
  if (header_u64(msg, "Nats-Msg-Id") != seq) return corrupt("missing or wrong Nats-Msg-Id");
  auto event = market::decode_event(nats_data(msg));
  if (!event) return corrupt(event.error().message);
  if (event->seq != seq) return corrupt("it carries seq " + std::to_string(event->seq));
  return std::move(*event);
}

Result<uint64_t> JetStreamLog::verified_last() {
  auto state = stream_state(options_.request_timeout);
  if (!state) return state.error();
  if (state->last_seq == 0 || state->messages == 0) return state->last_seq + offset_;  // nothing left to check
  auto replies = exchange({direct_get(state->last_seq)}, options_.request_timeout);
  if (!replies) return replies.error();
  natsMsg* reply = (*replies)[0].get();
  const std::string code = nats_reply_status(reply);
  if (code == "404") return state->last_seq + offset_;  // removed by max_age meanwhile
  if (!code.empty())
    return make_error(ErrorCode::kUnavailable, std::string(kComponent) + ": read last message: status " + code);
  auto event = event_of(reply, state->last_seq);
  if (!event) return event.error();
  return event->seq;
}

Status JetStreamLog::append(std::span<const market::Event> events) {
  if (events.empty()) return {};
  if (events.size() > kAppendEventsMax)
    return make_error(ErrorCode::kInvalid, std::string(kComponent) + ": append over kAppendEventsMax events");
  const uint64_t first = events.front().seq;
  if (first == 0) return make_error(ErrorCode::kInvalid, std::string(kComponent) + ": event seq 0");
  for (size_t i = 1; i < events.size(); ++i)
    if (events[i].seq != first + i)
      return make_error(ErrorCode::kInvalid, std::string(kComponent) + ": append of events that are not consecutive (" +
                                                 std::to_string(events[i - 1].seq) + " then " +
                                                 std::to_string(events[i].seq) + ")");
  std::lock_guard lock(append_mutex_);
  uint64_t last = known();
  bool refreshed = false;
  for (int round = 0; round < kAppendRoundsMax; ++round) {
    const size_t from = last >= first ? static_cast<size_t>(std::min<uint64_t>(last - first + 1, events.size())) : 0;
    if (from == events.size()) return {};
    // A gap, or the stream's very first message (no expected sequence to
    // check): first make sure `last` is the server's, not a stale cache.
    if (!refreshed && (events[from].seq > last + 1 || events[from].seq == offset_ + 1)) {
      auto stored = verified_last();
      if (!stored) return stored.error();
      last = std::max(last, *stored);
      advance(last);
      refreshed = true;
      continue;
    }
    if (events[from].seq > last + 1)
      return make_error(ErrorCode::kInvalid, std::string(kComponent) + ": append would leave a gap: the log ends at " +
                                                 std::to_string(last) + ", the events start at " +
                                                 std::to_string(events[from].seq));
    const size_t until = std::min(events.size(), from + kWaveMax);
    const uint64_t before = last;
    Status wave = publish_wave(events.subspan(from, until - from), last);
    if (!wave) return wave;
    if (last > before) {
      advance(last);
      // Best effort: wakes the readers of other processes.
      natsConnection_PublishString(connection_, notice_subject_.c_str(), std::to_string(last).c_str());
    }
    if (last < events[until - 1].seq) {  // lost a race: see what the others stored
      auto stored = verified_last();
      if (!stored) return stored.error();
      last = std::max(last, *stored);
      advance(last);
      refreshed = true;
    } else {
      --round;  // progress is not a lost race; bounded by the span's size
    }
  }
  return make_error(ErrorCode::kTimeout, std::string(kComponent) + ": append lost " +
                                             std::to_string(kAppendRoundsMax) + " races in a row");
}

// Publishes `events` (the first is last + 1) at once; `last` becomes the
// newest event the acknowledgements prove stored.
Status JetStreamLog::publish_wave(std::span<const market::Event> events, uint64_t& last) {
  std::vector<NatsRequest> publishes;
  publishes.reserve(events.size());
  for (const market::Event& event : events) {
    std::string data = market::encode_event(event);
    if (static_cast<int64_t>(data.size()) > max_payload_)
      return make_error(ErrorCode::kInvalid, std::string(kComponent) + ": event " + std::to_string(event.seq) +
                                                 " is larger than the server's max payload");
    const uint64_t stream_seq = event.seq - offset_;
    publishes.push_back(NatsRequest{subject_, std::move(data), std::to_string(event.seq), stream_seq - 1, false});
  }
  auto replies = exchange(publishes, options_.request_timeout);
  if (!replies) return replies.error();
  std::vector<size_t> stored_by_others;  // refused or deduplicated: someone else's message
  for (size_t i = 0; i < events.size(); ++i) {
    const PubAck ack = parse_pub_ack((*replies)[i].get());
    const uint64_t stream_seq = events[i].seq - offset_;
    if (!ack.ok || ack.duplicate) stored_by_others.push_back(i);
    if (ack.ok) {
      // Stored here now, or (duplicate) by another appender before.
      if (ack.sequence != stream_seq)
        return make_error(ErrorCode::kIo, std::string(kComponent) + ": event " + std::to_string(events[i].seq) +
                                              " was stored as stream message " + std::to_string(ack.sequence) +
                                              ", not " + std::to_string(stream_seq) + ": the mapping is broken");
      last = std::max(last, events[i].seq);
    } else if (ack.error_code != JSStreamWrongLastSequenceErr) {
      return make_error(ErrorCode::kUnavailable, std::string(kComponent) + ": publish event " +
                                                     std::to_string(events[i].seq) + ": " + ack.description);
    }
    // Wrong last sequence: another appender is ahead; append() rereads.
  }
  return check_stored_by_others(events, stored_by_others, last);
}

// The messages this wave did not store but a later acknowledgement proves
// are there must be our events (another appender's), not a foreign publish
// the log would otherwise build on. One round trip, only after a lost race.
Status JetStreamLog::check_stored_by_others(std::span<const market::Event> events, const std::vector<size_t>& indexes,
                                            uint64_t last) {
  std::vector<NatsRequest> gets;
  std::vector<uint64_t> stream_seqs;
  for (size_t i : indexes) {
    if (events[i].seq > last) break;
    stream_seqs.push_back(events[i].seq - offset_);
    gets.push_back(direct_get(stream_seqs.back()));
  }
  auto replies = exchange(gets, options_.request_timeout);
  if (!replies) return replies.error();
  for (size_t i = 0; i < gets.size(); ++i) {
    natsMsg* reply = (*replies)[i].get();
    if (nats_reply_status(reply) == "404") continue;  // already removed by max_age: nothing to check
    auto event = event_of(reply, stream_seqs[i]);
    if (!event) return event.error();
  }
  return {};
}

Result<std::vector<market::Event>> JetStreamLog::read_events(uint64_t after_seq, size_t limit) {
  std::vector<market::Event> out;
  if (limit == 0) return out;
  if (after_seq < offset_)
    return make_error(ErrorCode::kNotFound, std::string(kComponent) + ": events up to " + std::to_string(offset_) +
                                                " are not in this log (it starts at " + std::to_string(offset_ + 1) +
                                                ")");
  uint64_t last = last_event_seq();
  if (last <= after_seq) return out;
  const size_t count = static_cast<size_t>(std::min<uint64_t>({last - after_seq, limit, kReadPageMax}));
  std::vector<NatsRequest> gets;
  gets.reserve(count);
  for (size_t i = 0; i < count; ++i)
    gets.push_back(direct_get(after_seq - offset_ + 1 + i));
  auto replies = exchange(gets, options_.request_timeout);
  if (!replies) return replies.error();
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    natsMsg* reply = (*replies)[i].get();
    const uint64_t stream_seq = after_seq - offset_ + 1 + i;
    const std::string code = nats_reply_status(reply);
    if (code == "404") {
      if (!out.empty()) break;  // what was read first; the next call finds out
      auto state = stream_state(options_.request_timeout);
      if (!state) return state.error();
      if (stream_seq < state->first_seq)
        return make_error(ErrorCode::kNotFound,
                          std::string(kComponent) + ": event " + std::to_string(stream_seq + offset_) +
                              " is no longer in the log (older than its retention, max_age " +
                              std::to_string(options_.max_age.count()) + " s): rebuild from the write store");
      break;  // a replica that has not caught up yet: empty for now
    }
    if (!code.empty())
      return make_error(ErrorCode::kUnavailable, std::string(kComponent) + ": read event " +
                                                     std::to_string(stream_seq + offset_) + ": status " + code);
    auto event = event_of(reply, stream_seq);
    if (!event) {
      if (!out.empty()) break;  // the good ones first; the next call reports it
      return event.error();
    }
    out.push_back(std::move(*event));
  }
  if (!out.empty()) advance(out.back().seq);
  return out;
}

uint64_t JetStreamLog::last_event_seq() {
  bool stale = false;
  {
    std::lock_guard lock(signal_->mutex);
    if (signal_->hinted > signal_->known && signal_->hinted > signal_->checked) {
      signal_->checked = signal_->hinted;
      stale = true;
    }
  }
  if (stale) refresh(options_.request_timeout);
  return known();
}

void JetStreamLog::wait_for_events(uint64_t after_seq, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    bool stale = false;
    {
      std::unique_lock lock(signal_->mutex);
      const auto last_refresh = Clock::time_point(Clock::duration(last_refresh_ns_.load(std::memory_order_relaxed)));
      const auto poll_at = std::min(deadline, last_refresh + kPollInterval);
      signal_->changed.wait_until(lock, poll_at, [&] {
        return signal_->known > after_seq || (signal_->hinted > signal_->known && signal_->hinted > signal_->checked);
      });
      if (signal_->known > after_seq) return;
      if (signal_->hinted > signal_->known && signal_->hinted > signal_->checked) {
        signal_->checked = signal_->hinted;
        stale = true;
      }
    }
    const auto now = Clock::now();
    if (now >= deadline) return;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - now);
    if (stale || now >= Clock::time_point(Clock::duration(last_refresh_ns_.load())) + kPollInterval)
      refresh(std::max(left, milliseconds(1)));
  }
}

}  // namespace

Result<JetStreamEventLogPtr> open_jetstream_event_log(const JetStreamEventLogOptions& options) {
  if (!valid_prefix(options.name_prefix))
    return make_error(ErrorCode::kInvalid,
                      std::string(kComponent) + ": name prefix must be 1-64 letters, digits, '-' or '_'");
  if (options.replicas < 1 || options.replicas > 5)
    return make_error(ErrorCode::kInvalid, std::string(kComponent) + ": replicas must be 1 to 5");
  if (options.first_event_seq == 0)
    return make_error(ErrorCode::kInvalid, std::string(kComponent) + ": first_event_seq must be at least 1");
  if (options.max_age.count() <= 0 || options.duplicate_window.count() <= 0 ||
      std::chrono::duration_cast<milliseconds>(options.max_age) < options.duplicate_window)
    return make_error(ErrorCode::kInvalid,
                      std::string(kComponent) + ": need 0 < duplicate_window <= max_age");
  if (options.request_timeout.count() <= 0 || options.connect_timeout.count() <= 0)
    return make_error(ErrorCode::kInvalid, std::string(kComponent) + ": timeouts must be positive");
  auto log = std::make_unique<JetStreamLog>(options);
  if (Status opened = log->open(); !opened) return opened.error();
  return JetStreamEventLogPtr(std::move(log));
}

}  // namespace hawker::bus
