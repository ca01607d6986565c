#include "core/timing.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace klab {

TimeStats summarize(std::vector<double> samples) {
  TimeStats stats;
  stats.count = static_cast<int>(samples.size());
  if (samples.empty()) return stats;
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  stats.min = sorted.front();
  stats.max = sorted.back();
  stats.median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  stats.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(n);
  if (n > 1) {
    double sum_sq = 0;
    for (double s : sorted) sum_sq += (s - stats.mean) * (s - stats.mean);
    stats.stddev = std::sqrt(sum_sq / static_cast<double>(n - 1));
  }
  stats.samples = std::move(samples);
  return stats;
}

}  // namespace klab
