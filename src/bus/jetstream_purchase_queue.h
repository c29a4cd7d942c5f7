// JetStreamPurchaseQueue: the PurchaseQueue port on NATS JetStream (cluster
// mode). Gateways append, checkout workers in any number of processes fetch
// from one shared durable pull consumer.
//
// Server-side layout, every name derived from JetStreamOptions::name_prefix P
// (several queues can share one server):
// - stream P_orders (file storage, work-queue retention: an acked request is
//   removed), subjects P.orders.<product_id>.<order_id>: one product's
//   requests keep their order; the order id in the subject lets find_order()
//   read a waiting request without an index of its own. Each message carries
//   Nats-Msg-Id = the idempotency key as "k" + base64url(key) (keys are any
//   bytes; headers and subjects are not): server-side dedupe within
//   duplicate_window.
// - key-value bucket P_keys: the same encoded key -> fingerprint + the first
//   request, written create-only, kept for key_ttl (24 h by default; keys
//   outlive acks).
// - durable pull consumer P_workers (explicit ack, ack wait =
//   QueueOptions::ack_wait), shared by every queue object on P.
//
// append() claims the span's new keys in the bucket (one wave of create-only
// publishes, all acks awaited together), then publishes the winners' requests
// (a second wave). A key found already claimed answers kDuplicate/kKeyReused
// with the first order id, and its first request is published again: if the
// process that claimed it died before publishing, this queues it; otherwise
// the stream's dedupe drops it (or, past the dedupe window, checkout skips an
// order that already exists). find_key() of a known key publishes its first
// request again in the same way: the claim and the request are two writes, so
// a key can exist whose request never reached the stream (its claimant
// answered 503), and a retry answered from find_key() alone would report an
// order that is queued nowhere.
//
// delivery_id is the request's stream sequence: stable across redeliveries,
// never reused. attempt is the server's delivery count, at least 2 for a
// request that was already in the stream when this object opened (another
// process may have been working on it). Leases end with ack(), release()
// (a confirmed NAK), the ack wait, or the destruction of the object that holds
// them (it NAKs them, as a clean restart would); a crashed worker's leases
// come back only after the ack wait.
//
// Every call is bounded by JetStreamOptions' timeouts; failures come back as
// Result errors (kUnavailable when the server cannot be reached, kTimeout when
// it does not answer in time). In a cluster (url a comma-separated list,
// replicas 3) the loss of a node fails calls that way (kUnavailable "no
// responders" while a stream has no leader) until its replicas elect new
// leaders and the connection has moved to a surviving node: 4-8 s with
// nats-server 2.9.10 (tests/bus/jetstream_cluster_test.cc). Callers retry;
// a span retried with the same keys answers kDuplicate with the first order
// ids for keys an earlier, failed attempt had claimed.
//
// depth() (consumer info: pending + ack pending) is cached for depth_cache
// between this object's own changes (the gateway asks it on every request);
// it cannot fail, so during an outage it answers the last value it knew.
//
// The bucket keeps each key's first request (payment token included) for as
// long as it keeps the key (key_ttl): that is what lets a retry re-queue a
// request whose claimant died between the two waves.
// Thread-safe; fetch() calls on one object take turns (one delivery inbox).
#pragma once

#include <chrono>
#include <string>

#include "bus/purchase_queue.h"

namespace hawker::bus {

struct JetStreamOptions {
  std::string url = "nats://127.0.0.1:4222";  // or a comma-separated list (a cluster)
  std::string name_prefix = "hawker";  // letters, digits, '-' and '_' only
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds request_timeout{5'000};  // every server round trip
  std::chrono::milliseconds duplicate_window{120'000};
  std::chrono::milliseconds depth_cache{50};
  int replicas = 1;  // 3 in a production cluster
  // How long the key bucket keeps a key (and its first request, payment
  // token included): a retry after that is a new order. Longer than any
  // client's retry window and than duplicate_window; 0 keeps keys forever.
  std::chrono::seconds key_ttl{24 * 3600};
};

Result<PurchaseQueuePtr> open_jetstream_purchase_queue(const JetStreamOptions& options,
                                                        QueueOptions queue_options = {});

}  // namespace hawker::bus
