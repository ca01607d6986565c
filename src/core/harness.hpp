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
};

class Harness {
 public:
  // `log` takes progress lines; records are appended to `records`.
  Harness(std::vector<ResultRecord>& records, std::function<void(const std::string&)> log, bool verbose);

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

  std::vector<ResultRecord>& records_;
  std::function<void(const std::string&)> log_;
  bool verbose_;
};

// Takes the samples of one variant as `sampling` says, fencing each with `fence`: starts it,
// runs the warm-ups (iterative sampling: starts again after them), then the timed samples,
// calling after_sample between them outside the timing.
TimeStats take_samples(const Sampling& sampling, const VariantRun& run, const std::function<void()>& fence);

// Adds to each record of one case and space its speed as a share of the fastest one's.
void note_share_of_fastest(std::vector<ResultRecord>& records);

}  // namespace klab
