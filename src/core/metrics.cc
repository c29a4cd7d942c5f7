#include "core/metrics.h"

#include <cmath>
#include <set>
#include <sstream>

namespace hawker {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (value > 0) sum_micro_.fetch_add(static_cast<uint64_t>(std::llround(value * 1e6)), std::memory_order_relaxed);
}

double Histogram::sum() const { return static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6; }

Counter& Registry::counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  auto entry = std::make_unique<Entry>();
  entry->name = name;
  entry->help = help;
  entry->type = "counter";
  entry->counter = std::make_unique<Counter>();
  Counter& counter = *entry->counter;
  entries_.push_back(std::move(entry));
  return counter;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  auto entry = std::make_unique<Entry>();
  entry->name = name;
  entry->help = help;
  entry->type = "histogram";
  entry->histogram = std::make_unique<Histogram>(std::move(bounds));
  Histogram& histogram = *entry->histogram;
  entries_.push_back(std::move(entry));
  return histogram;
}

void Registry::gauge(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  auto entry = std::make_unique<Entry>();
  entry->name = name;
  entry->help = help;
  entry->type = "gauge";
  entry->gauge = std::move(read);
  entries_.push_back(std::move(entry));
}

namespace {
std::string base_name(const std::string& name) { return name.substr(0, name.find('{')); }
std::string labels(const std::string& name) {
  size_t brace = name.find('{');
  return brace == std::string::npos ? std::string() : name.substr(brace + 1, name.size() - brace - 2);
}
std::string with_label(const std::string& base, const std::string& existing, const std::string& extra) {
  std::string all = existing.empty() ? extra : (extra.empty() ? existing : existing + "," + extra);
  return all.empty() ? base : base + "{" + all + "}";
}
}  // namespace

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  std::set<std::string> described;
  for (const auto& entry : entries_) {
    std::string base = base_name(entry->name);
    if (described.insert(base).second) {
      out << "# HELP " << base << " " << entry->help << "\n";
      out << "# TYPE " << base << " " << entry->type << "\n";
    }
    if (entry->counter) {
      out << entry->name << " " << entry->counter->value() << "\n";
    } else if (entry->gauge) {
      out << entry->name << " " << entry->gauge() << "\n";
    } else {
      const Histogram& h = *entry->histogram;
      std::string own = labels(entry->name);
      uint64_t cumulative = 0;
      for (size_t i = 0; i < h.bounds().size(); ++i) {
        cumulative += h.bucket(i);
        std::ostringstream le;
        le << "le=\"" << h.bounds()[i] << "\"";
        out << with_label(base + "_bucket", own, le.str()) << " " << cumulative << "\n";
      }
      cumulative += h.bucket(h.bounds().size());
      out << with_label(base + "_bucket", own, "le=\"+Inf\"") << " " << cumulative << "\n";
      out << with_label(base + "_sum", own, "") << " " << h.sum() << "\n";
      out << with_label(base + "_count", own, "") << " " << h.count() << "\n";
    }
  }
  return out.str();
}

std::vector<double> latency_buckets_seconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace hawker
