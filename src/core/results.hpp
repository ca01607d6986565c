#pragma once
// One measured result: a stage, a variant and a problem size on one execution space.
#include <string>
#include <utility>
#include <vector>

#include "core/timing.hpp"

namespace klab {

// Bytes moved and floating-point operations of one sample of a measured body (0: not counted).
// A stage states it once per variant of a case (core/stage.hpp); records and benchmarks read it
// from there.
struct Work {
  double bytes = 0, flops = 0;
};

struct ResultRecord {
  std::string stage;         // the deck's label for the stage (its type unless named)
  std::string stage_type;    // the registered stage name
  std::string variant;       // e.g. "kernel", "kernel+transfers"
  std::string space;         // execution space name
  std::string case_label;    // e.g. "N=1000"
  std::string size_name;     // what `size` counts, e.g. "N", "obs"
  double size = 0;           // the swept size, for crossover analysis
  Sampling sampling;         // what a sample is and how many were asked for
  TimeStats time;             // with several ranks, each sample is the slowest rank's
  int ranks = 1;              // MPI ranks the case ran on
  double fastest_rank_median_s = -1;  // ranks > 1: the median of the fastest rank's samples
  double communication_s = -1;        // ranks > 1: the median over samples of the most seconds a rank spent in collectives
  std::string collectives;            // ranks > 1: what summed the space's memory (Communicator::collectives)
  // A scaling study (the case on several rank counts) compares with the fewest ranks of the study
  // (scaling_base_ranks). Strong scaling (the same sizes): speed-up is that median time over this
  // one's, efficiency the speed-up per rank added. Weak scaling (sizes per rank): efficiency is
  // that median time over this one's, speed-up the efficiency times the ranks added (work per
  // second gained). 1 rank per rank added is perfect for both.
  std::string scaling = "strong";        // "weak": the case's sizes grew with its ranks
  double speedup = -1, efficiency = -1;  // < 0: no study
  int scaling_base_ranks = 0;
  double setup_s = 0;        // allocating, generating and copying the case's inputs, timed apart
  double transfer_s = -1;    // of which host<->space copies, where the stage measured them; < 0: none
  double bytes = 0;          // bytes moved per sample (0: not counted)
  double flops = 0;          // floating-point operations per sample (0: not counted)
  std::string check;         // what `error` measures, e.g. "max relative error vs host reference"
  double error = 0;
  double tolerance = 0;
  bool passed = false;       // error is a number and within tolerance, and the run completed
  std::string failure;       // why the record failed, empty when it passed
  std::vector<std::pair<std::string, std::string>> notes;  // stage-specific facts, e.g. a BLAS path
  std::vector<std::pair<std::string, double>> metrics;     // stage-specific numbers, e.g. a residual
  std::vector<std::pair<std::string, std::vector<double>>> series;  // e.g. the error after each sweep

  void count(const Work& work) {
    bytes = work.bytes;
    flops = work.flops;
  }
  double gigabytes_per_second() const;  // 0 when bytes or time are not known
  double gigaflops_per_second() const;
};

// Passed when the error is finite and within tolerance and no failure was set; otherwise sets
// `failure` (keeping one the stage set).
void judge(ResultRecord& record);

}  // namespace klab
