#pragma once
// What a stage is to the core: a name, a parser for its deck entry, and a run on one execution
// space that appends result records. The core knows no stage; src/stages/registry.cpp lists them.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/params.hpp"
#include "core/results.hpp"
#include "core/spaces.hpp"
#include "core/timing.hpp"

namespace klab {

// What a stage's run receives besides its own parameters.
class StageContext {
 public:
  StageContext(std::string label, std::string type, RepeatSettings repeat, std::uint64_t seed, bool verbose,
               std::function<void(const std::string&)> announce, std::vector<ResultRecord>& records)
      : label_(std::move(label)),
        type_(std::move(type)),
        repeat_(repeat),
        seed_(seed),
        verbose_(verbose),
        announce_(std::move(announce)),
        records_(records) {}

  const RepeatSettings& repeat() const { return repeat_; }
  std::uint64_t seed() const { return seed_; }
  bool verbose() const { return verbose_; }
  // A progress line as a case starts, so a long run is never silent. Throws Interrupted when
  // SIGINT or SIGTERM arrived: a case about to start is a safe place to stop.
  void announce(const std::string& what) const;
  // Whether a case whose Views take an estimated `bytes` on the space fits in the memory available
  // to it. When it does not, adds a failed record for the case naming the estimate and what is
  // available, and returns false: the stage skips the case rather than fail halfway through
  // allocating (or be killed by the kernel's out-of-memory killer on first touch).
  bool fits_in_memory(const std::string& space, bool device, const std::string& case_label, double size,
                      double bytes);
  template <class ExecSpace>
  bool fits_in_memory(const std::string& case_label, double size, double bytes) {
    return fits_in_memory(SpaceTraits<ExecSpace>::name, SpaceTraits<ExecSpace>::is_device, case_label, size, bytes);
  }
  // A record with the stage's identity filled in.
  ResultRecord record(const std::string& space, const std::string& variant, const std::string& case_label,
                      double size) const;
  // Judges the record (finite error within tolerance) and keeps it.
  void add(ResultRecord record);

 private:
  std::string label_, type_;
  RepeatSettings repeat_;
  std::uint64_t seed_;
  bool verbose_;
  std::function<void(const std::string&)> announce_;
  std::vector<ResultRecord>& records_;
};

class Stage {
 public:
  virtual ~Stage() = default;
  // Runs every case of the stage on the named execution space (compiled in: the deck checked).
  virtual void run(const std::string& space, StageContext& context) const = 0;
};

struct StageDefinition {
  std::string name;
  std::string summary;
  // Reads the stage's own keys from its deck entry (the core reads the common ones).
  std::function<std::unique_ptr<Stage>(ParamReader&)> parse;
};

using StageRegistry = std::vector<StageDefinition>;

// A Stage whose run is one generic callable `run(exec_space, params, context)`, instantiated
// here for every space compiled in: the stage's code is written once, as a template.
template <class Params, class Run>
class SpaceTemplatedStage final : public Stage {
 public:
  SpaceTemplatedStage(Params params, Run run) : params_(std::move(params)), run_(std::move(run)) {}
  void run(const std::string& space, StageContext& context) const override {
    with_space(space, [&](const auto& exec) { run_(exec, params_, context); });
  }

 private:
  Params params_;
  Run run_;
};

template <class Params, class Run>
std::unique_ptr<Stage> make_stage(Params params, Run run) {
  return std::make_unique<SpaceTemplatedStage<Params, Run>>(std::move(params), std::move(run));
}

}  // namespace klab
