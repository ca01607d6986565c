#pragma once
// What a stage is to the core: it reads its deck entry into cases. A case is set up on one
// execution space and offers variants, each a body to time and a check of its result; the
// harness (core/harness.hpp) owns everything else: the loops, warm-ups, fences, timing, memory
// budget, judging, progress and records. The core knows no stage; a stage is one folder under
// src/stages/, listed by CMake.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/comm.hpp"
#include "core/params.hpp"
#include "core/results.hpp"
#include "core/spaces.hpp"
#include "core/timing.hpp"

namespace klab {

// What a variant's check found: `error` against `tolerance`, and facts for the record.
struct Check {
  std::string name;      // what `error` measures
  double error = 0;
  double tolerance = 0;
  std::string failure;   // a reason to fail beyond the error (e.g. divergence), or empty
  std::vector<std::pair<std::string, std::string>> notes;
  std::vector<std::pair<std::string, double>> metrics;
  std::vector<std::pair<std::string, std::vector<double>>> series;
};

// One variant of a case set up on a space. Only `body` and `check` are required.
struct VariantRun {
  std::function<void()> start;                   // untimed, before the warm-ups and again before the samples
  std::function<void()> body;                    // one sample
  std::function<bool(int sample)> after_sample;  // untimed, after sample i; false ends the sampling early
  std::function<Check()> check;                  // untimed, after the samples
};

// A case set up on one space: its variants' runs, in the order of Case::variants.
struct CaseSetup {
  std::vector<VariantRun> variants;
  std::function<void()> fence;  // waits for the space's work: the timer's fence
  double transfer_s = -1;       // seconds of host<->space copies within the setup; < 0: none
};

// What a case's setup may tell the user as it runs.
struct CaseContext {
  bool verbose = false;
  std::function<void(const std::string&)> announce;
  // The ranks the case runs on: a distributed case takes its share of the work (Communicator::share)
  // and combines what its checks need across them.
  Communicator comm;
};

// A variant's name and the work of one of its samples: the one count that records, benchmarks
// and plots use.
struct VariantInfo {
  std::string name;
  Work work;
};

struct Case {
  std::string label;      // e.g. "N=1000"
  std::string size_name;  // the sweep axis, e.g. "N", "obs"
  double size = 0;
  double memory_bytes = 0;  // estimated allocation on one space, for the memory budget
  // Of memory_bytes, what a distributed case allocates in full on every rank (replicated data);
  // the rest is split over the ranks.
  double replicated_bytes = 0;
  Sampling sampling;
  std::vector<VariantInfo> variants;
  // The variants compute the same result: each record notes its share of the fastest.
  bool same_result = false;
  // The setup splits the work over the context's ranks (memory_bytes is then the whole problem's);
  // a case that does not runs on one rank only and fails on more.
  bool distributed = false;
  // Allocates, generates and copies the inputs on the named space (compiled in).
  std::function<CaseSetup(const std::string& space, const CaseContext& context)> setup;
};

// What every stage entry of a deck shares: its warm-ups and repetitions, and the seed.
struct StageSettings {
  RepeatSettings repeat;
  std::uint64_t seed = 0;
  // Weak scaling: the deck's sizes are one rank's share and the cases are made for this many
  // ranks; 0 under strong scaling. A stage sizes the extent it splits over ranks by split_extent.
  int weak_ranks = 0;

  std::int64_t split_extent(std::int64_t per_rank) const { return weak_ranks > 0 ? per_rank * weak_ranks : per_rank; }

  // Samples that are repetitions of a body, as the deck's warmups and repetitions say.
  Sampling repetitions() const { return {"repetition", repeat.warmups, repeat.repetitions}; }
  // Samples that are `count` iterations of the stage's method (unit "sweep", "epoch").
  Sampling iterations(std::string unit, int count) const { return {std::move(unit), repeat.warmups, count}; }
};

struct StageDefinition {
  std::string name;
  std::string summary;
  // Empty when a sample is a repetition of the body; otherwise the deck key that sets how many
  // iterations of the stage's method (its samples) run, e.g. "sweeps": `repetitions` is then
  // refused for the stage.
  std::string iterations_key;
  // Reads the stage's own keys from its deck entry (the core reads the common ones).
  std::function<std::vector<Case>(ParamReader&, const StageSettings&)> cases;
};

using StageRegistry = std::vector<StageDefinition>;

// A Case::setup from a generic callable setup(exec_space, context) -> CaseSetup: instantiated, in
// the translation unit that calls this, for every space compiled in, and given the space's fence.
template <class Setup>
std::function<CaseSetup(const std::string&, const CaseContext&)> on_every_space(Setup setup) {
  return [setup](const std::string& space_name, const CaseContext& context) {
    CaseSetup out;
    with_space(space_name, [&](const auto& space) {
      out = setup(space, context);
      out.fence = [space] { space.fence(); };
      space.fence();
    });
    return out;
  };
}

}  // namespace klab
