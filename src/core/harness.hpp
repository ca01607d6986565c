#pragma once
// The one loop every stage's cases run through: for a case on a space, the memory budget, the
// setup (timed apart), each variant's warm-ups and fenced samples, its check, the judging and the
// record. Nothing here knows a stage.
#include <functional>
#include <string>
#include <vector>

#include "core/results.hpp"
#include "core/stage.hpp"

namespace klab {

// Who a case belongs to: the deck's label for its stage entry and the registered stage name.
struct StageIdentity {
  std::string label;
  std::string type;
  std::string scaling = "strong";  // the deck entry's: "weak" when its sizes are per rank
};

class Harness {
 public:
  static constexpr double default_progress_after_s = 3.0;
  // `log` takes a line as each case and variant starts; records are appended to `records`. When a
  // variant's warm-ups and samples have run for more than `progress_after_s`, `progress` takes a
  // line after each of them with the time so far and an estimate of the time left.
  // With `comm` of several ranks every rank runs the same cases in step: a distributed case's
  // records are the slowest rank's times (Case::distributed); any other case fails on every rank.
  Harness(std::vector<ResultRecord>& records, std::function<void(const std::string&)> log, bool verbose,
          std::function<void(const std::string&)> progress = {}, double progress_after_s = default_progress_after_s,
          Communicator comm = {});

  // Runs every variant of `c` on the named space (compiled in) and appends a record for each,
  // within the profiling region "STAGE:CASE:SPACE" and, inside it, "...:setup" and
  // "...:VARIANT" (core/profiling.hpp). A
  // case whose memory estimate exceeds what the space has left, whose setup throws, or whose
  // variant throws, gets failed records saying why; the next case still runs. Interrupted (a
  // signal) propagates: the case in progress leaves no record.
  void run_case(const StageIdentity& stage, const Case& c, const std::string& space);

 private:
  ResultRecord record(const StageIdentity& stage, const Case& c, const std::string& space,
                      const std::string& variant) const;
  // Failed records, as `why` says, for the variants of `c` from `first_variant` on.
  void fail_case(const StageIdentity& stage, const Case& c, const std::string& space, std::size_t first_variant,
                 const Check& why);
  void add(ResultRecord record);
  // The step callback of take_samples that reports `what`'s progress, or none.
  std::function<void(int, int)> progress_of(const std::string& what) const;

  std::vector<ResultRecord>& records_;
  std::function<void(const std::string&)> log_;
  bool verbose_;
  std::function<void(const std::string&)> progress_;
  double progress_after_s_;
  Communicator comm_;
};

// What take_samples measured. With several ranks each sample is the slowest rank's, and the
// fastest rank's median and the collectives' seconds (the most any rank spent, median over the
// samples) say how even the work and how large the communication were.
struct Samples {
  TimeStats time;
  double fastest_rank_median_s = -1;  // < 0: one rank
  double communication_s = -1;
};

// Takes the samples of one variant as `sampling` says, fencing each with `fence`: starts it,
// runs the warm-ups (iterative sampling: starts again after them), then the timed samples,
// calling after_sample between them outside the timing, and on_step (if any) with the warm-ups
// and samples done and their total after each. A signal stops it (Interrupted) before and after
// every warm-up and sample; the ranks of `comm` agree on that, and start each sample together.
Samples take_samples(const Sampling& sampling, const VariantRun& run, const std::function<void()>& fence,
                     const std::function<void(int done, int total)>& on_step = {}, const Communicator& comm = {});

// The signal received so far (0: none), on every rank of `comm` the one any of them got.
int agreed_interrupt_signal(const Communicator& comm);

// Throws Interrupted when agreed_interrupt_signal(comm) is not 0.
void stop_if_interrupted(const Communicator& comm);

// Adds to each record of one case and space its speed as a share of the fastest one's.
void note_share_of_fastest(std::vector<ResultRecord>& records);

}  // namespace klab
