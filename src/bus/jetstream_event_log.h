// JetStreamEventLog: the write side's event outbox as a NATS JetStream
// stream (cluster mode). Every worker process relays committed events into
// it with append(); projections and gateways follow it as a
// store::EventSource (store::EventTail), so they need not tail PostgreSQL.
//
// Server-side layout, every name derived from the name prefix P:
// - stream P_events (file storage, limits retention: max_age, max_bytes,
//   `replicas` copies, AllowDirect), one subject P.events. Message k of the
//   stream (stream seq k) is event seq k + offset: its payload is
//   market::encode_event(event) and its Nats-Msg-Id header is the event seq
//   in decimal.
// - The offset is fixed when the stream is created (options.first_event_seq
//   - 1, 0 by default: event 1 is stream message 1) and recorded in the
//   stream's description ("hawker event log; event seq = stream seq +
//   OFFSET"), so every process and every restart derives the same mapping,
//   also after max_age has removed every message. Purging the stream breaks
//   the mapping: delete it instead (the relay then republishes).
// - Core-NATS subject P.events.appended: after an append is acknowledged the
//   appender publishes the new last event seq there (best effort); other
//   objects use it only as a wake-up and confirm with the server.
//
// append(events): `events` must be consecutive (seq, seq+1, ...). Events
// the stream already holds (seq <= its last) are skipped; an append whose
// first new event would leave a gap (first seq > last + 1) is kInvalid and
// publishes nothing. Each event is published with Nats-Msg-Id = its seq and
// Nats-Expected-Last-Sequence = its stream seq - 1, so the server stores
// event N only right after event N-1: with any number of appenders (every
// worker runs a relay) each event is stored exactly once, in order. The
// expected-sequence check is used rather than Nats-Expected-Last-Msg-Id
// because the server keeps the last sequence across restarts and max_age,
// but not always the last msg id. The very first message (nothing to expect:
// the 2.9 server ignores an expected sequence of 0) relies on the stream's
// dedupe of Nats-Msg-Id within duplicate_window. When another appender got
// there first, append() reads the stream's last message again, skips what is
// there and goes on (bounded rounds); it verifies every acknowledgement and
// the last message (seq and msg id) against the mapping, and answers kIo
// when the stream holds something else (e.g. a foreign publish).
//
// read_events(after, limit): pipelined direct gets ($JS.API.DIRECT.GET, by
// stream seq) of the events after `after` that this object knows are
// durable: up to 4096 requests go out at once and are answered in
// one round trip, no consumer state lives on the server, and a reader can
// start anywhere. Thousands of events a second cost a handful of round
// trips. An event that is gone because of max_age (or max_bytes) is
// kNotFound: a projection further behind than the retention (7 days by
// default) must rebuild from the write store. A message that is not a
// well-formed event of this log (bad bytes, wrong msg id or seq) is kIo.
//
// last_event_seq() is a cached value, advanced by this object's appends and
// reads and by refreshes from the server (stream info: its last seq), which
// happen when a notice announced something newer (at most once per notice
// value) and, while a wait_for_events() is waiting, every 250 ms at most.
// wait_for_events() wakes on notices from other processes within a round
// trip (a few ms); a lost notice, or an appender that sends none, costs at
// most the poll interval. It never waits past its timeout (a refresh it
// starts is bounded by the time left).
//
// Every server round trip is bounded by request_timeout; failures are
// Result errors (kUnavailable: not connected; kTimeout: no answer).
// Thread-safe: any number of threads may call any method; appends through
// one object take turns.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/result.h"
#include "market/event.h"
#include "store/event_source.h"

namespace hawker::bus {

struct JetStreamEventLogOptions {
  std::string url = "nats://127.0.0.1:4222";  // or a comma-separated list of servers
  std::string name_prefix = "hawker";         // letters, digits, '-' and '_' only
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds request_timeout{5'000};  // every server round trip
  // Retention: older events are removed; a reader behind them must rebuild.
  std::chrono::seconds max_age{7 * 24 * 3600};
  int64_t max_bytes = -1;  // -1: no limit
  std::chrono::milliseconds duplicate_window{120'000};  // <= max_age
  int replicas = 1;  // 3 in a production cluster
  // Only used when this open creates the stream: the event seq of stream
  // message 1 (offset = first_event_seq - 1). An existing stream keeps its own.
  uint64_t first_event_seq = 1;
};

class JetStreamEventLog : public store::EventSource {
 public:
  // Stores `events` (consecutive seqs, each encodable in one message) after
  // what the stream holds, skipping those it has; see the header comment.
  // kInvalid: not consecutive, a gap, or an event too large for the server.
  virtual Status append(std::span<const market::Event> events) = 0;
  // event seq = stream seq + offset().
  virtual uint64_t offset() const = 0;
};
using JetStreamEventLogPtr = std::unique_ptr<JetStreamEventLog>;

// Connects (bounded), creates the stream if needed (or checks the one there)
// and reads its last event. kInvalid: bad options; kUnavailable/kTimeout: no
// server; kConflict: a stream of that name that is not an event log.
Result<JetStreamEventLogPtr> open_jetstream_event_log(const JetStreamEventLogOptions& options);

}  // namespace hawker::bus
