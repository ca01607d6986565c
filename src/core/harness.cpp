#include "core/harness.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <sstream>

#include "core/interrupt.hpp"
#include "core/machine.hpp"
#include "core/profiling.hpp"

namespace klab {

namespace {

std::string gigabytes(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GB", bytes * 1e-9);
  return text;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// What a check found, into the record it judges.
void take_check(ResultRecord& r, Check check) {
  r.check = std::move(check.name);
  r.error = check.error;
  r.tolerance = check.tolerance;
  r.failure = std::move(check.failure);
  r.notes = std::move(check.notes);
  r.metrics = std::move(check.metrics);
  r.series = std::move(check.series);
}

}  // namespace

int agreed_interrupt_signal(const Communicator& comm) {
  return comm.size() == 1 ? interrupt_signal() : static_cast<int>(comm.max(static_cast<double>(interrupt_signal())));
}

void stop_if_interrupted(const Communicator& comm) {
  if (const int signal = agreed_interrupt_signal(comm)) throw Interrupted(signal);
}

Samples take_samples(const Sampling& sampling, const VariantRun& run, const std::function<void()>& fence,
                     const std::function<void(int done, int total)>& on_step, const Communicator& comm) {
  const int total = sampling.warmups + sampling.count;
  const auto step_done = [&](int done) {
    if (on_step) on_step(done, total);
  };
  if (run.start) run.start();
  for (int w = 0; w < sampling.warmups; ++w) {
    stop_if_interrupted(comm);
    run.body();
    step_done(w + 1);
  }
  if (sampling.iterative() && sampling.warmups > 0 && run.start) run.start();
  fence();
  std::vector<double> samples, communication;
  samples.reserve(static_cast<std::size_t>(sampling.count));
  for (int i = 0; i < sampling.count; ++i) {
    stop_if_interrupted(comm);
    comm.barrier();  // the ranks start each sample together
    const double communicated = comm.communication_s();
    samples.push_back(time_fenced(fence, run.body));
    communication.push_back(comm.communication_s() - communicated);
    step_done(sampling.warmups + i + 1);
    stop_if_interrupted(comm);  // a stop waits for one sample at most
    if (run.after_sample && !run.after_sample(i)) break;
  }
  Samples out;
  if (comm.size() > 1) {
    // after_sample decides on values the ranks share, so they stop at the same sample.
    const double count = static_cast<double>(samples.size());
    if (comm.max(count) != -comm.max(-count)) throw std::logic_error("the ranks took different numbers of samples");
    std::vector<double> fastest = samples;
    comm.max(samples);
    comm.min(fastest);
    comm.max(communication);
    out.fastest_rank_median_s = summarize(std::move(fastest)).median;
    out.communication_s = summarize(std::move(communication)).median;
  }
  out.time = summarize(std::move(samples));
  return out;
}

void note_share_of_fastest(std::vector<ResultRecord>& records) {
  const auto timed = [](const ResultRecord& r) { return r.failure.empty() && r.time.count > 0; };
  const ResultRecord* best = nullptr;
  for (const auto& r : records)
    if (timed(r) && (!best || r.time.median < best->time.median)) best = &r;
  if (!best) return;
  const ResultRecord fastest = *best;
  for (auto& r : records) {
    if (!timed(r)) continue;
    std::ostringstream share;
    share.precision(3);
    share << 100.0 * fastest.time.median / r.time.median << "% (fastest: " << fastest.variant << ")";
    r.notes.emplace_back("share_of_fastest_variant", share.str());
  }
}

Harness::Harness(std::vector<ResultRecord>& records, std::function<void(const std::string&)> log, bool verbose,
                 std::function<void(const std::string&)> progress, double progress_after_s, Communicator comm)
    : records_(records),
      log_(std::move(log)),
      verbose_(verbose),
      progress_(std::move(progress)),
      progress_after_s_(progress_after_s),
      comm_(std::move(comm)) {}

std::function<void(int, int)> Harness::progress_of(const std::string& what) const {
  if (!progress_) return {};
  const auto start = std::chrono::steady_clock::now();
  return [this, what, start](int done, int total) {
    const double elapsed = seconds_since(start);
    if (elapsed < progress_after_s_) return;
    char line[160];
    std::snprintf(line, sizeof line, ": %d/%d samples and warm-ups, %.0f s, about %.0f s left", done, total, elapsed,
                  elapsed / done * (total - done));
    progress_(what + line);
  };
}

ResultRecord Harness::record(const StageIdentity& stage, const Case& c, const std::string& space,
                             const std::string& variant) const {
  ResultRecord r;
  r.stage = stage.label;
  r.stage_type = stage.type;
  r.space = space;
  r.variant = variant;
  r.case_label = c.label;
  r.size_name = c.size_name;
  r.size = c.size;
  r.sampling = c.sampling;
  r.ranks = comm_.size();
  r.scaling = stage.scaling;
  // NCCL sums device memory only; a host space's collectives are MPI's.
  if (r.ranks > 1) r.collectives = space_is_device(space) ? comm_.collectives() : Communicator().collectives();
  return r;
}

void Harness::add(ResultRecord record) {
  judge(record);
  records_.push_back(std::move(record));
}

void Harness::fail_case(const StageIdentity& stage, const Case& c, const std::string& space,
                        std::size_t first_variant, const Check& why) {
  for (std::size_t v = first_variant; v < c.variants.size(); ++v) {
    ResultRecord r = record(stage, c, space, c.variants[v].name);
    take_check(r, why);
    records_.push_back(std::move(r));
  }
}

void Harness::run_case(const StageIdentity& stage, const Case& c, const std::string& space) {
  stop_if_interrupted(comm_);
  log_(c.label);
  if (comm_.size() > 1 && !c.distributed) {
    const Check why{"runs on ranks", 0, 0,
                    stage.type + " does not split its work over ranks: run it on one (without mpirun, or -np 1)",
                    {}, {}, {}};
    log_("skipped: " + why.failure);
    fail_case(stage, c, space, 0, why);
    return;
  }
  // ':' between the parts: NVTX filters (ncu --nvtx-include) read '/' as nesting.
  const std::string region = stage.label + ":" + c.label + ":" + space;
  const ProfilingRegion case_region(region);
  // Each rank's share of the whole problem, and what it holds in full.
  const double memory_bytes = (c.memory_bytes - c.replicated_bytes) / comm_.size() + c.replicated_bytes;
  const AvailableMemory available = available_memory(space_is_device(space));
  // The ranks agree on the tightest rank (the one needing the largest share of what it has left),
  // so that all of them skip the case or none does.
  const double mine = available.bytes > 0 ? memory_bytes / static_cast<double>(available.bytes) : 0.0;
  const double tightest = comm_.size() > 1 ? comm_.max(mine) : mine;
  if (tightest > 1) {
    const int rank = comm_.size() > 1 ? static_cast<int>(comm_.max(mine == tightest ? comm_.rank() : -1.0)) : 0;
    const double bytes = memory_bytes / tightest;  // what that rank has
    const std::string where = comm_.size() > 1 ? " on rank " + std::to_string(rank) : "";
    Check why;
    why.name = "estimated memory / available memory";
    why.error = tightest;
    why.tolerance = 1;
    why.failure = stage.label + " " + c.label + " on " + space + where + " needs an estimated " +
                  gigabytes(memory_bytes) + ", more than the " + gigabytes(bytes) + " available" +
                  (mine == tightest ? " (" + available.source + ")" : std::string()) + "; the case was not run";
    why.metrics = {{"estimated_bytes", memory_bytes}, {"available_bytes", bytes}};
    log_("skipped: " + why.failure);
    fail_case(stage, c, space, 0, why);
    return;
  }

  // A setup or variant that throws fails its records. On several ranks every rank learns of a
  // failure on any of them (Communicator::agree_on_failure, which names the rank), so that all go
  // on in step; a rank whose failure the others cannot come to agree on ends the job.
  CaseSetup setup;
  double setup_s = 0;
  std::string failure;
  try {
    const CaseContext context{verbose_, log_, comm_};
    const ProfilingRegion setup_region(region + ":setup");
    const auto start = std::chrono::steady_clock::now();
    setup = c.setup(space, context);
    setup_s = seconds_since(start);
    if (setup.variants.size() != c.variants.size())
      throw std::logic_error("the setup made " + std::to_string(setup.variants.size()) + " variants, the case names " +
                             std::to_string(c.variants.size()));
  } catch (const Interrupted&) {
    throw;
  } catch (const std::exception& e) {
    failure = std::string("setup failed: ") + e.what();
  }
  failure = comm_.agree_on_failure(failure);
  if (!failure.empty()) {
    log_(c.label + ": FAILED: " + failure);
    fail_case(stage, c, space, 0, {"case set up", 0, 0, failure, {}, {}, {}});
    return;
  }

  std::vector<ResultRecord> case_records;
  for (std::size_t v = 0; v < c.variants.size(); ++v) {
    const VariantInfo& info = c.variants[v];
    const VariantRun& run = setup.variants[v];
    log_(c.label + " " + info.name);
    const ProfilingRegion variant_region(region + ":" + info.name);
    ResultRecord r = record(stage, c, space, info.name);
    r.setup_s = setup_s;
    r.transfer_s = setup.transfer_s;
    r.count(info.work);
    try {
      const Samples samples =
          take_samples(c.sampling, run, setup.fence, progress_of(c.label + " " + info.name), comm_);
      r.time = samples.time;
      r.fastest_rank_median_s = samples.fastest_rank_median_s;
      r.communication_s = samples.communication_s;
      take_check(r, run.check());
      stop_if_interrupted(comm_);  // a check against a host reference can take long
    } catch (const Interrupted&) {
      throw;
    } catch (const std::exception& e) {
      failure = std::string("variant failed: ") + e.what();
    }
    failure = comm_.agree_on_failure(failure);
    if (!failure.empty()) {
      // The variants after it may build on its result: none of them runs.
      log_(c.label + " " + info.name + ": FAILED: " + failure);
      take_check(r, {"variant completed", 0, 0, failure, {}, {}, {}});
      case_records.push_back(std::move(r));
      for (auto& done : case_records) add(std::move(done));
      fail_case(stage, c, space, v + 1,
                {"variant completed", 0, 0, "not run: variant '" + info.name + "' of the case failed before it", {}, {}, {}});
      return;
    }
    case_records.push_back(std::move(r));
  }
  if (c.same_result && case_records.size() > 1) note_share_of_fastest(case_records);
  for (auto& r : case_records) add(std::move(r));
}

}  // namespace klab
