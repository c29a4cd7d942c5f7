// Latency summaries for `hawker spike`: exact percentiles over every sample
// (a spike has at most a few million, so sorting them is cheap and nothing is
// lost to bucketing).
#pragma once

#include <cstddef>
#include <vector>

namespace hawker::spike {

struct Summary {
  size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;  // milliseconds
};

// Nearest-rank percentiles; sorts `values` in place. All zero when empty.
Summary summarize(std::vector<double>& values);

// The nearest-rank p-th percentile (0 < p <= 100) of sorted values; 0 when empty.
double percentile_sorted(const std::vector<double>& sorted, double p);

}  // namespace hawker::spike
