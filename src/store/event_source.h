// EventSource: a numbered, ordered log of domain events that readers follow
// from a position (the outbox of the write side, or a copy of it).
//
// Port (abstract). Implemented by every WriteStore (store/write_store.h: its
// own outbox) and by bus::JetStreamEventLog (bus/jetstream_event_log.h: the
// outbox relayed into a NATS JetStream stream, so gateways and projections
// need not read PostgreSQL). store::EventTail follows any EventSource. All
// implementations pass tests/store/event_source_contract_test.cc.
//
// Contract:
// - Events have gap-free increasing seqs (1, 2, 3, ... in the write side's
//   commit order); read_events(after_seq, limit) returns the events with
//   seq > after_seq in that order, starting exactly at after_seq + 1, at most
//   `limit` of them, possibly fewer than exist (an empty answer means none
//   are available yet). Nothing is returned before it is durable.
// - last_event_seq() is the seq of the newest durable event this object
//   knows of (0 when none); it never goes back and is cheap to call.
// - wait_for_events(after_seq, timeout) returns once last_event_seq() >
//   after_seq (also for events written by other processes) or once the
//   timeout has passed, whichever comes first; it is always bounded.
// - An implementation that cannot serve a position (a log whose retention
//   dropped the events after `after_seq`) returns an error, never a gap.
// Thread-safe: any number of threads may call any method at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/result.h"
#include "market/event.h"

namespace hawker::store {

class EventSource {
 public:
  virtual ~EventSource() = default;

  virtual Result<std::vector<market::Event>> read_events(uint64_t after_seq, size_t limit) = 0;
  virtual uint64_t last_event_seq() = 0;
  // Blocks until last_event_seq() > after_seq or the timeout passes.
  virtual void wait_for_events(uint64_t after_seq, std::chrono::milliseconds timeout) = 0;
};

}  // namespace hawker::store
