#include "core/deck.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "core/params_yaml.hpp"
#include "core/spaces.hpp"
#include "core/utf8.hpp"

namespace klab {

namespace {

constexpr std::int64_t max_repetitions = 1000000;
constexpr std::size_t max_deck_bytes = std::size_t{16} << 20;  // decks are hand-written: kilobytes

// `warmups` and, unless `with_repetitions` is false (a stage whose samples are iterations),
// `repetitions`, defaulting to `fallback`; repetitions left unread are 0.
RepeatSettings read_repeat(ParamReader& reader, const RepeatSettings& fallback, bool with_repetitions = true) {
  RepeatSettings repeat;
  repeat.warmups = static_cast<int>(reader.integer("warmups", fallback.warmups, {0, max_repetitions}));
  repeat.repetitions =
      with_repetitions
          ? static_cast<int>(reader.integer("repetitions", fallback.repetitions, {1, max_repetitions}))
          : 0;
  return repeat;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

RunSettings read_run(ParamReader& reader) {
  RunSettings run;
  run.name = reader.text("name", std::nullopt);
  const std::vector<std::string> compiled = compiled_space_names();
  run.spaces = reader.choice_list("spaces", compiled, known_space_names());
  for (std::size_t i = 0; i < run.spaces.size(); ++i) {
    if (std::find(compiled.begin(), compiled.end(), run.spaces[i]) != compiled.end()) continue;
    reader.fail_element("spaces", i, "execution space '" + run.spaces[i] +
                                         "' is not compiled into this build (compiled: " + joined(compiled) + ")");
  }
  run.baseline = reader.choice("baseline", run.spaces.front(), run.spaces);
  run.repeat = read_repeat(reader, RepeatSettings{});
  run.seed = static_cast<std::uint64_t>(reader.integer("seed", 20240901, {0, std::numeric_limits<std::int64_t>::max()}));
  const int job = Communicator::world().size();
  const std::vector<std::int64_t> ranks = reader.integer_list("ranks", std::vector<std::int64_t>{job}, {1, 1 << 20});
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    if (ranks[i] > job && run.ranks_beyond_job.empty()) {
      try {  // the error as the deck's other errors read, with its location, for `klab run`
        reader.fail_element("ranks", i, "asks for " + std::to_string(ranks[i]) + " ranks, this job has " +
                                            std::to_string(job) + ": start klab with mpirun -np " +
                                            std::to_string(ranks[i]) + " (or more)");
      } catch (const DeckError& e) {
        run.ranks_beyond_job = e.what();
      }
    }
    run.ranks.push_back(static_cast<int>(ranks[i]));
  }
  run.collectives = reader.choice("collectives", std::string("mpi"), {"mpi", "nccl"});
  if (run.collectives == "nccl" && !nccl_compiled())
    reader.fail("collectives", "NCCL is not compiled into this build (klab info, 'Ranks', says what is): use mpi");
  if (auto output = reader.child("output")) {
    run.json_path = output->text("json", std::string());
    run.csv_path = output->text("csv", std::string());
    output->finish();
  }
  reader.finish();
  return run;
}

std::vector<std::string> stage_names(const StageRegistry& registry) {
  std::vector<std::string> names;
  for (const auto& definition : registry) names.push_back(definition.name);
  return names;
}

StageEntry read_stage(ParamReader& reader, const RunSettings& run, const StageRegistry& registry) {
  StageEntry entry;
  entry.where = location_of(reader.file(), reader.impl().node);
  entry.type = reader.choice("stage", std::nullopt, stage_names(registry));
  entry.label = reader.text("name", entry.type);
  const auto definition = std::find_if(registry.begin(), registry.end(),
                                       [&](const StageDefinition& d) { return d.name == entry.type; });
  // A stage whose samples are its method's iterations has no repetitions to set.
  const std::string& iterations = definition->iterations_key;
  if (!iterations.empty() && reader.has("repetitions"))
    reader.fail("repetitions", entry.type + ": samples are " + iterations + "; set '" + iterations +
                                   "' instead of 'repetitions'");
  entry.repeat = read_repeat(reader, run.repeat, iterations.empty());
  entry.scaling = reader.choice("scaling", std::string("strong"), {"strong", "weak"});
  if (entry.scaling == "strong") {
    entry.cases = definition->cases(reader, StageSettings{entry.repeat, run.seed, 0});
  } else {
    // The deck's sizes label the cases of every rank count, so that a study pairs them.
    entry.cases = definition->cases(reader, StageSettings{entry.repeat, run.seed, 1});
    for (Case& c : entry.cases) c.label += " per rank";
    for (const int ranks : run.ranks) {
      std::vector<Case> cases = definition->cases(reader, StageSettings{entry.repeat, run.seed, ranks});
      for (std::size_t i = 0; i < cases.size(); ++i) cases[i].label = entry.cases.at(i).label;
      entry.weak_cases[ranks] = std::move(cases);
    }
  }
  reader.finish();
  return entry;
}

// Where a second YAML document in `text` starts, if there is one. Not YAML::LoadAll: on some
// malformed input (found by tests/fuzz) it adds empty documents without end.
std::optional<YAML::Mark> second_document(const std::string& text) {
  struct DocumentStart : YAML::EventHandler {
    std::optional<YAML::Mark> mark;
    void OnDocumentStart(const YAML::Mark& at) override { mark = at; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  };
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStart first, second;
  if (!parser.HandleNextDocument(first) || !parser.HandleNextDocument(second)) return std::nullopt;
  return second.mark;
}

}  // namespace

Deck parse_deck(const std::string& text, const std::string& path, const StageRegistry& registry) {
  if (const std::size_t bad = invalid_utf8_at(text); bad != std::string::npos) {
    const std::size_t line_start = text.rfind('\n', bad) == std::string::npos ? 0 : text.rfind('\n', bad) + 1;
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    throw DeckError(path + ":" + std::to_string(std::count(text.begin(), text.begin() + bad, '\n') + 1) + ":" +
                        std::to_string(bad - line_start + 1),
                    "", std::string("not UTF-8: byte ") + byte + " (a deck is UTF-8 text)");
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
    if (const auto second = second_document(text))
      throw DeckError(path + ":" + std::to_string(second->line + 1) + ":" + std::to_string(second->column + 1), "",
                      "more than one YAML document ('---' or stray text): a deck is one document, its runs are its stages");
  } catch (const YAML::ParserException& e) {
    throw DeckError(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1), "",
                    "YAML syntax error: " + e.msg);
  }
  auto file = std::make_shared<const std::string>(path);
  if (!root.IsMap())
    throw DeckError(root.Mark().is_null() ? path + ":1:1" : location_of(path, root), "",
                    (root.IsNull() ? "the deck is empty: " : "") + std::string("a deck is a mapping with keys 'run' and 'stages'"));
  Deck deck;
  deck.path = path;
  deck.text = text;
  deck.resolved = std::make_shared<YAML::Node>(YAML::NodeType::Map);
  ParamReader top = read_mapping(root, "", file, *deck.resolved);

  auto run = top.child("run");
  if (!run) top.missing("run", "a mapping with at least 'name'");
  deck.run = read_run(*run);

  std::vector<ParamReader> stages = top.mappings("stages");
  top.finish();

  for (ParamReader& reader : stages) {
    StageEntry entry = read_stage(reader, deck.run, registry);
    for (const auto& earlier : deck.stages)
      if (earlier.label == entry.label)
        throw DeckError(entry.where, reader.path(),
                        "stage name '" + entry.label + "' is already used at " + earlier.where +
                            " (give each entry a distinct 'name')");
    deck.stages.push_back(std::move(entry));
  }
  return deck;
}

const std::vector<Case>& StageEntry::cases_on(int ranks) const {
  const auto weak = weak_cases.find(ranks);
  return weak == weak_cases.end() ? cases : weak->second;
}

std::string resolved_deck_yaml(const Deck& deck) {
  YAML::Node resolved = YAML::Clone(*deck.resolved);
  YAML::Node spaces(YAML::NodeType::Sequence);
  for (const auto& s : deck.run.spaces) spaces.push_back(s);
  spaces.SetStyle(YAML::EmitterStyle::Flow);
  resolved["run"]["spaces"] = spaces;
  resolved["run"]["baseline"] = deck.run.baseline;
  resolved["run"]["collectives"] = deck.run.collectives;
  YAML::Emitter out;
  out.SetDoublePrecision(17);  // every double reads back as the same double
  out << resolved;
  return std::string(out.c_str()) + "\n";
}

std::string resolved_deck_of_results(const std::string& results_path) {
  YAML::Node results;
  try {
    results = YAML::LoadFile(results_path);  // JSON is YAML
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(results_path + ": not a readable results file: " + e.msg);
  }
  const YAML::Node resolved = results.IsMap() && results["deck"].IsMap() ? results["deck"]["resolved"] : YAML::Node();
  if (!resolved.IsScalar())
    throw std::runtime_error(results_path + ": no resolved deck (deck.resolved) in this results file");
  return resolved.Scalar();
}

Deck load_deck(const std::string& path, const StageRegistry& registry) {
  // A file or a pipe (klab run <(...)); /dev/zero or a folder is a mistake, found before reading.
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) throw DeckError(path, "", "is a folder, not a deck file");
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status) &&
      !std::filesystem::is_fifo(status))
    throw DeckError(path, "", "is not a file (a device or socket): a deck is a YAML file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DeckError(path, "", "cannot open the deck file");
  std::string text(max_deck_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw DeckError(path, "", "cannot read the deck file");
  if (in.gcount() > static_cast<std::streamsize>(max_deck_bytes))
    throw DeckError(path, "", "larger than " + std::to_string(max_deck_bytes >> 20) + " MiB: not a deck");
  text.resize(static_cast<std::size_t>(in.gcount()));
  return parse_deck(text, path, registry);
}

}  // namespace klab
