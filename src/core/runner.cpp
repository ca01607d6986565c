#include "core/runner.hpp"

#include <exception>
#include <functional>
#include <optional>
#include <ostream>
#include <vector>

#include "core/harness.hpp"
#include "core/interrupt.hpp"
#include "core/machine.hpp"
#include "core/output.hpp"
#include "core/profiling.hpp"
#include "core/report.hpp"

namespace klab {

namespace {

Json deck_json(const Deck& deck) {
  Json spaces = Json::array();
  for (const auto& s : deck.run.spaces) spaces.push(s);
  Json ranks = Json::array();
  for (const int r : deck.run.ranks) ranks.push(r);
  return Json::object()
      .set("path", deck.path)
      .set("text", deck.text)
      .set("resolved", resolved_deck_yaml(deck))
      .set("run", Json::object()
                      .set("name", deck.run.name)
                      .set("spaces", std::move(spaces))
                      .set("ranks", std::move(ranks))
                      .set("collectives", deck.run.collectives)
                      .set("baseline", deck.run.baseline)
                      .set("warmups", deck.run.repeat.warmups)
                      .set("repetitions", deck.run.repeat.repetitions)
                      .set("seed", deck.run.seed));
}

}  // namespace

OutputPaths output_paths(const Deck& deck, const RunOptions& options) {
  return {options.json_path.empty() ? deck.run.json_path : options.json_path,
          options.csv_path.empty() ? deck.run.csv_path : options.csv_path};
}

void check_outputs(const Deck& deck, const RunOptions& options) {
  const OutputPaths paths = output_paths(deck, options);
  const auto what = [](const char* option, const std::string& path) { return option + (" " + path); };
  if (!paths.json.empty()) check_output_path(paths.json, what("--json", paths.json));
  if (!paths.csv.empty()) check_output_path(paths.csv, what("--csv", paths.csv));
  check_distinct_paths({{"the deck", deck.path}, {"--json", paths.json}, {"--csv", paths.csv}});
}

int run_deck(const Deck& deck, const RunOptions& options, std::ostream& out, std::ostream& log,
             const Communicator& comm) {
  const OutputPaths paths = output_paths(deck, options);
  // The ranks of each rank count the deck asks for: the first R of the job (collective).
  Communicator job = comm;
  if (deck.run.collectives == "nccl") job.use_nccl();
  std::vector<std::optional<Communicator>> groups;
  for (const int ranks : deck.run.ranks) groups.push_back(job.first(ranks));

  const MachineInfo machine = collect_machine_info();
  std::vector<ResultRecord> records;
  int interrupted_by = 0;
  const std::size_t total = deck.stages.size();
  // A progress line on a terminal is rewritten in place until the next line starts below it.
  bool line_open = false;
  const auto end_open_line = [&] {
    if (line_open) log << "\n";
    line_open = false;
  };
  for (std::size_t i = 0; i < total && !interrupted_by; ++i) {
    const StageEntry& entry = deck.stages[i];
    for (const std::string& space : deck.run.spaces) {
      const std::string prefix = "[" + std::to_string(i + 1) + "/" + std::to_string(total) + "] " + entry.label +
                                 " on " + space;
      const auto line = [&](const std::string& what) {
        end_open_line();
        log << prefix << ": " << what << std::endl;
      };
      const auto progress = [&](const std::string& what) {
        if (!options.log_is_terminal) return line(what);
        log << "\r" << prefix << ": " << what << "\033[K" << std::flush;
        line_open = true;
      };
      end_open_line();
      log << prefix << std::endl;
      const ProfilingRegion stage_region(entry.label + ":" + space);
      for (std::size_t c = 0; c < entry.cases.size() && !interrupted_by; ++c) {
        for (const auto& group : groups) {
          if (group) {
            const Case& on_group = entry.cases_on(group->size()).at(c);
            const std::string on = groups.size() > 1 ? " on " + std::to_string(group->size()) + " ranks" : "";
            const auto group_line = [&](const std::string& what) { line(what + on); };
            const auto group_progress = [&](const std::string& what) { progress(what + on); };
            Harness harness(records, group_line, options.verbose, group_progress, Harness::default_progress_after_s,
                            *group);
            try {
              harness.run_case({entry.label, entry.type, entry.scaling}, on_group, space);
            } catch (const Interrupted& e) {
              // The case in progress is dropped: a record is only ever a completed measurement.
              interrupted_by = e.signal();
            }
          }
          // The ranks outside the group wait here, and every rank learns of a signal alike.
          if (groups.size() > 1) interrupted_by = static_cast<int>(comm.max(static_cast<double>(interrupted_by)));
          if (interrupted_by) {
            end_open_line();
            log << prefix << ": " << Interrupted(interrupted_by).what() << "; writing the " << records.size()
                << " record(s) of completed cases" << std::endl;
            break;
          }
        }
      }
      if (interrupted_by) break;
    }
  }
  note_scaling(records);

  // A signal after the last safe point (during the last check) still ends the run as interrupted.
  if (!interrupted_by) interrupted_by = agreed_interrupt_signal(comm);
  end_open_line();
  out << "\n" << deck.run.name << " (" << deck.path << "); ratios are " << deck.run.baseline
      << " time / space time\n\n";
  print_table(out, records, deck.run.baseline);
  if (interrupted_by)
    out << "INTERRUPTED by " << signal_name(interrupted_by) << ": the table holds the cases that completed\n";

  // The results files are the product: a reader of the table that went away (klab run | head)
  // costs the table, not them (main ignores SIGPIPE).
  const bool table_lost = !out.flush();
  if (table_lost) log << "klab: error: the standard output was closed, the table is incomplete" << std::endl;

  const RunDescription description{deck.run.name, deck.run.baseline, to_json(machine), deck_json(deck),
                                   interrupted_by ? signal_name(interrupted_by) : ""};
  if (!comm.root()) return 0;  // rank 0 writes the files and says how the run went
  bool write_failed = false;
  const auto write = [&](const std::string& path, const std::function<std::string()>& content) {
    if (path.empty()) return;
    try {
      write_output_file(path, content());
      log << "wrote " << path << std::endl;
    } catch (const std::exception& e) {
      log << "klab: error: " << e.what() << std::endl;
      write_failed = true;
    }
  };
  write(paths.json, [&] { return results_json(description, records).dump(); });
  write(paths.csv, [&] { return results_csv(records, deck.run.baseline); });
  if (interrupted_by) return interrupted_exit_status(interrupted_by);
  if (write_failed || table_lost) return 1;
  for (const auto& r : records)
    if (!r.passed) return 1;
  return 0;
}

}  // namespace klab
