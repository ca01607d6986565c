#pragma once
// Timing of a region on an execution space: warm-ups first (not counted), then repetitions,
// each bracketed by fences so asynchronous device work is inside the measured interval.
#include <chrono>
#include <vector>

#include "core/interrupt.hpp"

namespace klab {

struct RepeatSettings {
  int warmups = 1;
  int repetitions = 10;
};

struct TimeStats {
  int count = 0;
  double min = 0, median = 0, mean = 0, max = 0, stddev = 0;  // seconds; stddev is the sample one
  std::vector<double> samples;
};

// Statistics of the samples (seconds); an empty list gives count = 0 and zeros.
TimeStats summarize(std::vector<double> samples);

// Seconds of one call of body(), fenced before and after so all its work on `space` counts.
// Throws Interrupted first when SIGINT or SIGTERM arrived, so a long case stops between samples.
template <class ExecSpace, class Body>
double time_once(const ExecSpace& space, Body&& body) {
  using clock = std::chrono::steady_clock;
  throw_if_interrupted();
  space.fence();
  const auto start = clock::now();
  body();
  space.fence();
  return std::chrono::duration<double>(clock::now() - start).count();
}

template <class ExecSpace, class Body>
TimeStats time_region(const ExecSpace& space, const RepeatSettings& repeat, Body&& body) {
  for (int w = 0; w < repeat.warmups; ++w) body();
  space.fence();
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(repeat.repetitions));
  for (int r = 0; r < repeat.repetitions; ++r) samples.push_back(time_once(space, body));
  return summarize(std::move(samples));
}

}  // namespace klab
