#pragma once
// Timing of a region: each sample bracketed by fences so asynchronous device work is inside the
// measured interval, and the statistics of the samples. core/harness.hpp takes the samples.
#include <chrono>
#include <string>
#include <vector>


namespace klab {

struct RepeatSettings {
  int warmups = 1;
  int repetitions = 10;
};

// How a case's samples are taken. With unit "repetition" each sample is a run of the body, after
// `warmups` discarded ones. Otherwise the samples are the iterations of an iterative method (unit
// "sweep", "epoch"), continuing from each other: `warmups` iterations run and are discarded, then
// the method starts again.
struct Sampling {
  std::string unit = "repetition";
  int warmups = 1;
  int count = 10;
  bool iterative() const { return unit != "repetition"; }
};

struct TimeStats {
  int count = 0;
  double min = 0, median = 0, mean = 0, max = 0, stddev = 0;  // seconds; stddev is the sample one
  std::vector<double> samples;
};

// Statistics of the samples (seconds); an empty list gives count = 0 and zeros.
TimeStats summarize(std::vector<double> samples);

// Seconds of one call of body(), with fence() before and after so all its asynchronous work
// counts.
template <class Fence, class Body>
double time_fenced(Fence&& fence, Body&& body) {
  using clock = std::chrono::steady_clock;
  fence();
  const auto start = clock::now();
  body();
  fence();
  return std::chrono::duration<double>(clock::now() - start).count();
}

template <class ExecSpace, class Body>
double time_once(const ExecSpace& space, Body&& body) {
  return time_fenced([&] { space.fence(); }, body);
}

}  // namespace klab
