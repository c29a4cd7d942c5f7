#include "core/thread_name.h"
#include "store/event_tail.h"

#include "core/log.h"

namespace hawker::store {

EventTail::EventTail(std::string name, EventSource& source, uint64_t after_seq, Handler handler, size_t batch_max)
    : name_(std::move(name)), source_(source), handler_(std::move(handler)), batch_max_(batch_max), position_(after_seq) {}

EventTail::~EventTail() { stop(); }

void EventTail::start() { thread_ = std::thread([this] {
    set_thread_name("tail-" + name_);
    run();
  }); }

void EventTail::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

bool EventTail::wait_for(uint64_t seq, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return advanced_.wait_for(lock, timeout, [&] { return position_.load() >= seq; });
}

void EventTail::run() {
  while (!stopping_) {
    const uint64_t after = position_.load();
    auto events = source_.read_events(after, batch_max_);
    if (!events) {
      log_error("events.read_failed", {{"tail", name_}, {"error", events.error().message}});
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (events->empty()) {
      source_.wait_for_events(after, std::chrono::milliseconds(100));
      continue;
    }
    Status handled = handler_(*events);
    if (!handled) {
      log_error("events.handler_failed", {{"tail", name_}, {"error", handled.error().message}});
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      position_.store(events->back().seq);
    }
    advanced_.notify_all();
  }
}

}  // namespace hawker::store
