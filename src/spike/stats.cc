#include "spike/stats.h"

#include <algorithm>
#include <cmath>

namespace hawker::spike {

double percentile_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  // (less a hair, so that 99.9% of 1000 is rank 999 despite binary fractions).
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

Summary summarize(std::vector<double>& values) {
  Summary summary;
  summary.count = values.size();
  if (values.empty()) return summary;
  std::sort(values.begin(), values.end());
  summary.p50 = percentile_sorted(values, 50);
  summary.p90 = percentile_sorted(values, 90);
  summary.p99 = percentile_sorted(values, 99);
  summary.p999 = percentile_sorted(values, 99.9);
  summary.max = values.back();
  return summary;
}

}  // namespace hawker::spike
