// klab's Google Benchmarks: the cases of every stage, as the stage makes them for `klab run`, at
// the sizes its benchmark deck chooses (src/stages/NAME/benchmarks.yaml), and the calibration.
//
// Names are "<stage>/<variant>/<space>[/quick]/<case>": the quick set, which CI's gate runs, is
// --benchmark_filter=/quick/; the full suite is every benchmark. A benchmark times the variant's
// body as `klab run` samples it (an iterative method's iterations continue from each other), with
// the work per sample the stage states for its records.
//   build/openmp/perf/bench_klab --benchmark_filter='^(matmul|calibration)/.*/quick/' --benchmark_format=json
//   build/openmp/perf/bench_klab --print_deck=quick      the quick set's cases as a deck for `klab run`
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <list>

#include "bench_common.hpp"
#include "core/deck.hpp"
#include "stages/registry.hpp"

namespace {

const std::vector<std::string> benchmark_sets = {"quick", "full"};

std::string benchmarks_path(const klab::StageDefinition& stage) {
  return std::string(KLAB_SOURCE_DIR) + "/src/stages/" + stage.name + "/benchmarks.yaml";
}

// The entries every stage lists under `set` ("quick" or "full") in its benchmarks.yaml, the
// `stage` key implied, as one deck `klab run` takes. Its samples are few: the benchmarks take
// their own; klab runs it to compare its records with the benchmarks.
std::string benchmark_deck_text(const std::string& set) {
  YAML::Node deck;
  deck["run"]["name"] = "benchmarks (" + set + ")";
  deck["run"]["warmups"] = 0;
  deck["run"]["repetitions"] = 2;
  for (const klab::StageDefinition& stage : klab::stage_registry()) {
    const YAML::Node entries = YAML::LoadFile(benchmarks_path(stage))[set];
    for (std::size_t i = 0; i < entries.size(); ++i) {
      YAML::Node entry = YAML::Clone(entries[i]);
      entry["stage"] = stage.name;
      entry["name"] = stage.name + "-" + set + "-" + std::to_string(i);
      deck["stages"].push_back(entry);
    }
  }
  YAML::Emitter text;
  text << deck;
  return std::string(text.c_str()) + "\n";
}

// The case's label as one component of a benchmark name.
std::string name_component(std::string label) {
  for (char& ch : label)
    if (ch == ' ' || ch == '/') ch = ',';
  return label;
}

// Times variant v of the case on the space. The variants before it run once first: a variant may
// build on them, as the harness runs them in order (ann's hidden layer needs the inner weights).
void bench_variant(benchmark::State& state, const klab::Case& c, std::size_t v, const std::string& space,
                   bool slowed) {
  const klab::CaseSetup setup = c.setup(space, klab::CaseContext{false, [](const std::string&) {}, {}});
  for (std::size_t u = 0; u <= v; ++u) {
    const klab::VariantRun& run = setup.variants[u];
    if (run.start) run.start();
    if (u < v) run.body();
  }
  const std::function<void()>& body = setup.variants[v].body;
  if (!slowed) {
    klab::perf::time_iterations(state, setup.fence, c.variants[v].work, body);
    return;
  }
  // A test build's deliberate slow-down (KLAB_PERF_SLOWDOWN_TEST): every 4th call runs the body twice.
  int calls = 0;
  klab::perf::time_iterations(state, setup.fence, c.variants[v].work, [&] {
    body();
    if (++calls % 4 == 0) body();
  });
}

// Registers every case of the benchmark decks on every space compiled in. The decks live as long
// as the benchmarks that point into them.
void register_stage_benchmarks(std::list<klab::Deck>& decks) {
  for (const std::string& set : benchmark_sets) {
    decks.push_back(klab::parse_deck(benchmark_deck_text(set), "benchmarks.yaml (" + set + ")", klab::stage_registry()));
    for (const klab::StageEntry& entry : decks.back().stages)
      for (const klab::Case& c : entry.cases)
        for (std::size_t v = 0; v < c.variants.size(); ++v)
          for (const std::string& space : klab::compiled_space_names()) {
            const std::string name = entry.type + "/" + c.variants[v].name + "/" + space +
                                     (set == "quick" ? "/quick/" : "/") + name_component(c.label);
#ifdef KLAB_PERF_SLOWDOWN_TEST
            const bool slowed = name == KLAB_PERF_SLOWDOWN_TEST;
#else
            const bool slowed = false;
#endif
            benchmark::RegisterBenchmark(name.c_str(), [&c, v, space, slowed](benchmark::State& state) {
              bench_variant(state, c, v, space, slowed);
            })->UseManualTime()->Unit(benchmark::kMillisecond);
          }
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  // --print_deck=SET prints the cases of a set as a deck for `klab run`, and nothing runs.
  const std::string print_deck = "--print_deck=";
  if (argc == 2 && std::string(argv[1]).rfind(print_deck, 0) == 0) {
    const std::string set = argv[1] + print_deck.size();
    if (std::find(benchmark_sets.begin(), benchmark_sets.end(), set) == benchmark_sets.end()) {
      std::cerr << "bench_klab: --print_deck takes quick or full\n";
      return 2;
    }
    try {
      std::cout << benchmark_deck_text(set);
    } catch (const std::exception& e) {
      std::cerr << "bench_klab: " << e.what() << "\n";
      return 2;
    }
    return 0;
  }
  Kokkos::ScopeGuard kokkos(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("kokkos_version", std::to_string(KOKKOS_VERSION));
  benchmark::AddCustomContext("kokkos_concurrency", std::to_string(Kokkos::DefaultHostExecutionSpace().concurrency()));
  std::list<klab::Deck> decks;
  try {
    klab::perf::register_calibration_benchmarks();
    register_stage_benchmarks(decks);
  } catch (const std::exception& e) {
    std::cerr << "bench_klab: " << e.what() << "\n";
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
