// Deck parsing: valid decks, and malformed decks each checked for the exact file:line:column,
// key path and message of its error.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/deck.hpp"
#include "stages/registry.hpp"
#include "unix_socket.hpp"

namespace {

klab::Deck parse(const std::string& text) { return klab::parse_deck(text, "deck.yaml", klab::stage_registry()); }

struct DeckErrorCase {
  const char* name;
  const char* text;
  const char* where;
  const char* path;
  const char* message;  // the exact detail, or its beginning when it ends in "..."
};

void PrintTo(const DeckErrorCase& c, std::ostream* out) { *out << c.name; }

class MalformedDeck : public ::testing::TestWithParam<DeckErrorCase> {};

TEST_P(MalformedDeck, NamesLocationPathAndExpectation) {
  const DeckErrorCase& c = GetParam();
  try {
    parse(c.text);
    FAIL() << "deck was accepted:\n" << c.text;
  } catch (const klab::DeckError& e) {
    EXPECT_EQ(e.where(), c.where) << e.what();
    EXPECT_EQ(e.path(), c.path) << e.what();
    const std::string expected = c.message;
    if (expected.size() > 3 && expected.compare(expected.size() - 3, 3, "...") == 0)
      EXPECT_EQ(e.detail().substr(0, expected.size() - 3), expected.substr(0, expected.size() - 3)) << e.what();
    else
      EXPECT_EQ(e.detail(), expected) << e.what();
    // The one-line form the CLI prints.
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
}

const DeckErrorCase malformed_decks[] = {
    {"typo_in_run_key", "run:\n  name: t\n  repetitons: 5\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:3", "run.repetitons", "unknown key 'repetitons' (did you mean 'repetitions'?)..."},
    {"typo_in_stage_key", "run:\n  name: t\nstages:\n  - stage: elementwise\n    size: [10]\n", "deck.yaml:5:5",
     "stages[0].size", "unknown key 'size' (did you mean 'sizes'?)..."},
    {"wrong_type", "run:\n  name: t\n  repetitions: many\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:16", "run.repetitions", "expected an integer in [1, 1000000], got 'many'"},
    {"out_of_range", "run:\n  name: t\n  repetitions: 0\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:16", "run.repetitions", "out of range: expected an integer in [1, 1000000], got 0"},
    {"missing_stage_key", "run:\n  name: t\nstages:\n  - stage: elementwise\n    include_transfers: true\n",
     "deck.yaml:4:5", "stages[0].sizes", "missing required key (expected an integer or a list of integers)"},
    {"missing_run_name", "run:\n  seed: 3\nstages:\n  - stage: elementwise\n    sizes: [10]\n", "deck.yaml:2:3",
     "run.name", "missing required key (expected a string)"},
    {"unknown_stage", "run:\n  name: t\nstages:\n  - stage: elementwize\n    sizes: [10]\n", "deck.yaml:4:12",
     "stages[0].stage", "expected one of 'ann', 'elementwise', 'gd', 'matmul', 'solvebak', got 'elementwize' (did you mean 'elementwise'?)"},
    {"unknown_space", "run:\n  name: t\n  spaces: [serial, openmpp]\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:20", "run.spaces[1]", "expected one of 'openmp', 'cuda', 'serial', got 'openmpp' (did you mean 'openmp'?)"},
    {"bad_list_element", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [10, 1e3, abc]\n",
     "deck.yaml:5:22", "stages[0].sizes[2]", "expected an integer in [1, 10000000000], got 'abc'"},
    {"negative_size", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: -5\n", "deck.yaml:5:12",
     "stages[0].sizes", "out of range: expected an integer in [1, 10000000000], got -5"},
    {"fractional_size", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [2.5]\n", "deck.yaml:5:13",
     "stages[0].sizes[0]", "expected an integer in [1, 10000000000], got '2.5'"},
    {"not_a_boolean", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [10]\n    include_transfers: maybe\n",
     "deck.yaml:6:24", "stages[0].include_transfers", "expected true or false, got 'maybe'"},
    {"duplicate_key", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [10]\n    sizes: [20]\n",
     "deck.yaml:6:5", "stages[0].sizes", "duplicate key"},
    {"yaml_syntax", "run:\n  name: [t\nstages: []\n", "deck.yaml:3:7", "", "YAML syntax error: ..."},
    {"empty_stage_list", "run:\n  name: t\nstages: []\n", "deck.yaml:3:9", "stages",
     "expected a non-empty list, got an empty list"},
    {"missing_stages", "run:\n  name: t\n", "deck.yaml:1:1", "stages", "missing required key (expected a list)"},
    {"missing_run", "stages:\n  - stage: elementwise\n    sizes: [10]\n", "deck.yaml:1:1", "run",
     "missing required key (expected a mapping with at least 'name')"},
    {"top_level_list", "- run\n- stages\n", "deck.yaml:1:1", "", "a deck is a mapping with keys 'run' and 'stages'"},
    {"stage_not_a_mapping", "run:\n  name: t\nstages:\n  - elementwise\n", "deck.yaml:4:5", "stages[0]",
     "expected a mapping, got 'elementwise'"},
    {"typo_top_level", "run:\n  name: t\nstage:\n  - stage: elementwise\n", "deck.yaml:3:1", "stage",
     "unknown key 'stage' (did you mean 'stages'?)"},
    {"typo_in_required_stage_key", "run:\n  name: t\nstages:\n  - stage: elementwise\n    size: [10]\n    sizes: 1\n",
     "deck.yaml:5:5", "stages[0].size", "unknown key 'size' (did you mean 'sizes'?)..."},
    {"unknown_top_level", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [10]\nstagez: 1\n",
     "deck.yaml:6:1", "stagez", "unknown key 'stagez' (did you mean 'stages'?)..."},
    {"baseline_not_selected", "run:\n  name: t\n  spaces: [serial]\n  baseline: openmp\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:4:13", "run.baseline", "expected one of 'serial', got 'openmp'"},
    {"repeated_space", "run:\n  name: t\n  spaces: [serial, serial]\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:20", "run.spaces[1]", "'serial' is listed twice"},
    {"duplicate_stage_name",
     "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [10]\n  - stage: elementwise\n    sizes: [20]\n",
     "deck.yaml:6:5", "stages[1]", "stage name 'elementwise' is already used at deck.yaml:4:5 (give each entry a distinct 'name')"},
    {"seed_not_integer", "run:\n  name: t\n  seed: 1.5\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:9", "run.seed", "expected an integer in [0, 9223372036854775807], got '1.5'"},
    {"ranks_zero", "run:\n  name: t\n  ranks: 0\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:10", "run.ranks", "out of range: expected an integer in [1, 1048576], got 0"},
    {"collectives_unknown", "run:\n  name: t\n  collectives: nccl2\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:16", "run.collectives", "expected one of 'mpi', 'nccl', got 'nccl2' (did you mean 'nccl'?)"},
    {"output_not_mapping", "run:\n  name: t\n  output: results.json\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:11", "run.output", "expected a mapping, got 'results.json'"},
    {"stage_override_out_of_range", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [10]\n    warmups: -1\n",
     "deck.yaml:6:14", "stages[0].warmups", "out of range: expected an integer in [0, 1000000], got -1"},
    {"size_too_large", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [1e11]\n", "deck.yaml:5:13",
     "stages[0].sizes[0]", "out of range: expected an integer in [1, 10000000000], got 1e11"},
    {"matmul_zip_reduce_at_large_size",
     "run:\n  name: t\nstages:\n  - stage: matmul\n    sizes: [100, 2000]\n    variants: [naive, zip-reduce]\n",
     "deck.yaml:5:18", "stages[0].sizes[1]",
     "zip-reduce materialises M*K*N = 8000000000 products, more than its limit of 67108864 (2^26, 512 MiB): use a "
     "smaller size or leave zip-reduce out of 'variants'"},
    {"matmul_zip_reduce_at_large_shape",
     "run:\n  name: t\nstages:\n  - stage: matmul\n    variants: zip-reduce\n    shapes:\n"
     "      - {m: 10, k: 10, n: 10}\n      - {m: 1000, k: 1000, n: 100}\n",
     "deck.yaml:8:9", "stages[0].shapes[1]",
     "zip-reduce materialises M*K*N = 100000000 products, more than its limit of 67108864 (2^26, 512 MiB): use a "
     "smaller size or leave zip-reduce out of 'variants'"},
    {"matmul_zero_size", "run:\n  name: t\nstages:\n  - stage: matmul\n    sizes: [16, 0]\n", "deck.yaml:5:17",
     "stages[0].sizes[1]", "out of range: expected an integer in [1, 1000000], got 0"},
    {"matmul_negative_size", "run:\n  name: t\nstages:\n  - stage: matmul\n    sizes: -3\n", "deck.yaml:5:12",
     "stages[0].sizes", "out of range: expected an integer in [1, 1000000], got -3"},
    {"matmul_zero_in_shape", "run:\n  name: t\nstages:\n  - stage: matmul\n    shapes: [{m: 4, k: 0, n: 4}]\n",
     "deck.yaml:5:24", "stages[0].shapes[0].k", "out of range: expected an integer in [1, 1000000], got 0"},
    {"matmul_typo_in_shape", "run:\n  name: t\nstages:\n  - stage: matmul\n    shapes: [{m: 4, k: 2, nn: 4}]\n",
     "deck.yaml:5:27", "stages[0].shapes[0].nn", "unknown key 'nn' (did you mean 'n'?)"},
    {"matmul_typo_shapes", "run:\n  name: t\nstages:\n  - stage: matmul\n    sizes: 10\n    shape: [{m: 1, k: 1, n: 1}]\n",
     "deck.yaml:6:5", "stages[0].shape", "unknown key 'shape' (did you mean 'shapes'?)..."},
    {"matmul_no_sizes", "run:\n  name: t\nstages:\n  - stage: matmul\n    variants: [naive]\n", "deck.yaml:4:5",
     "stages[0].sizes", "missing required key (expected an integer or a list of integers, or 'shapes')"},
    {"matmul_tile_not_a_multiple_of_the_register_block",
     "run:\n  name: t\nstages:\n  - stage: matmul\n    sizes: 10\n    tile: {m: 30}\n", "deck.yaml:6:15",
     "stages[0].tile.m", "expected a multiple of 8 (the register blocks of every space), got 30"},
    // Found by tests/fuzz: values and keys that hold line breaks are quoted escaped, so the error
    // stays on one line; a quoted value with leading blanks is not a number.
    {"line_break_in_value", "run:\n  name: t\n  repetitions: \"0\\n  see: 7\"\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:16", "run.repetitions", "expected an integer in [1, 1000000], got '0\\n  see: 7'"},
    {"line_break_in_key", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [10]\n    \"size\\ns\": 1\n",
     "deck.yaml:6:5", "stages[0].size\\ns", "unknown key 'size\\ns'..."},
    // A name is printed in progress lines and table rows: a line break would split them.
    {"control_character_in_stage_name",
     "run:\n  name: t\nstages:\n  - stage: elementwise\n    name: \"a\\tb\\x01\"\n    sizes: [10]\n",
     "deck.yaml:5:11", "stages[0].name", "control characters (a newline, a tab) are not allowed in a string here"},
    {"line_break_in_stage_name", "run:\n  name: t\nstages:\n  - stage: elementwise\n    name: \"a\\nb\"\n    sizes: [10]\n",
     "deck.yaml:5:11", "stages[0].name", "control characters (a newline, a tab) are not allowed in a string here"},
    {"empty_deck", "", "deck.yaml:1:1", "", "the deck is empty: a deck is a mapping with keys 'run' and 'stages'"},
    {"comments_only", "# nothing here\n", "deck.yaml:1:1", "",
     "the deck is empty: a deck is a mapping with keys 'run' and 'stages'"},
    {"second_document", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [10]\n---\nrun:\n  name: u\n",
     "deck.yaml:6:1", "", "more than one YAML document ('---' or stray text): a deck is one document, its runs are its stages"},
    // Found by tests/fuzz: yaml-cpp's LoadAll adds empty documents without end after this one.
    {"stray_text", ", 4096, 16384]", "deck.yaml:1:1", "",
     "more than one YAML document ('---' or stray text): a deck is one document, its runs are its stages"},
    {"not_utf8_in_a_comment", "run:\n  name: t # caf\xe9\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:2:16", "", "not UTF-8: byte 0xE9 (a deck is UTF-8 text)"},
    {"not_utf8_in_a_name", "run:\n  name: \xff\xfe\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:2:9", "", "not UTF-8: byte 0xFF (a deck is UTF-8 text)"},
    {"repeated_size", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [10, 10, 1e1]\n", "deck.yaml:5:17",
     "stages[0].sizes[1]", "10 is listed twice (also sizes[0]): it would run the same case again"},
    {"ann_sample_above_obs", "run:\n  name: t\nstages:\n  - stage: ann\n    obs: 100\n    neurons: 10\n    sample: 101\n",
     "deck.yaml:7:13", "stages[0].sample", "out of range: expected an integer in [0, 100], got 101"},
    {"quoted_blank_before_number", "run:\n  name: t\n  repetitions: \" 5\"\nstages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:16", "run.repetitions", "expected an integer in [1, 1000000], got ' 5'"},
    {"repetitions_of_an_iterative_stage",
     "run:\n  name: t\nstages:\n  - stage: solvebak\n    obs: 100\n    vars: 10\n    repetitions: 1000\n",
     "deck.yaml:7:18", "stages[0].repetitions", "solvebak: samples are sweeps; set 'sweeps' instead of 'repetitions'"},
    {"long_value_is_cut", "run:\n  name: t\n  repetitions: abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijXYZ\n"
     "stages:\n  - stage: elementwise\n    sizes: [10]\n",
     "deck.yaml:3:16", "run.repetitions",
     "expected an integer in [1, 1000000], got 'abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij...'"},
    // Found by tests/fuzz: gd's rows as a scalar threw yaml-cpp's BadSubscript, not a DeckError.
    {"gd_rows_not_a_list", "run:\n  name: t\nstages:\n  - stage: gd\n    rows: 5\n    learning_rate: 0.1\n",
     "deck.yaml:5:11", "stages[0].rows", "expected a non-empty list, got '5'"},
    {"gd_rows_a_mapping", "run:\n  name: t\nstages:\n  - stage: gd\n    rows: {0: [1, 2]}\n    learning_rate: 0.1\n",
     "deck.yaml:5:11", "stages[0].rows", "expected a non-empty list, got a mapping"},
    {"scaling_unknown", "run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [10]\n    scaling: medium\n",
     "deck.yaml:6:14", "stages[0].scaling", "expected one of 'strong', 'weak', got 'medium'"},
    {"gd_weak_sgd", "run:\n  name: t\nstages:\n  - stage: gd\n    obs: 100\n    vars: 2\n    learning_rate: 0.1\n"
     "    scaling: weak\n",
     "deck.yaml:4:5", "stages[0].strategies", "sgd steps on one row, which cannot grow with the ranks under weak..."},
    {"gd_weak_rows", "run:\n  name: t\nstages:\n  - stage: gd\n    rows: [[1, 2], [2, 4]]\n    learning_rate: 0.1\n"
     "    scaling: weak\n",
     "deck.yaml:7:14", "stages[0].scaling", "weak scaling grows synthetic data with the ranks; the data here are 'rows'"},
};

INSTANTIATE_TEST_SUITE_P(Deck, MalformedDeck, ::testing::ValuesIn(malformed_decks),
                         [](const ::testing::TestParamInfo<DeckErrorCase>& info) { return std::string(info.param.name); });

TEST(Deck, MinimalDeckTakesDefaults) {
  const klab::Deck deck = parse("run:\n  name: minimal\nstages:\n  - stage: elementwise\n    sizes: 1000\n");
  EXPECT_EQ(deck.run.name, "minimal");
  ASSERT_FALSE(deck.run.spaces.empty());
  EXPECT_EQ(deck.run.baseline, deck.run.spaces.front());
  EXPECT_EQ(deck.run.repeat.warmups, 1);
  EXPECT_EQ(deck.run.repeat.repetitions, 10);
  ASSERT_EQ(deck.stages.size(), 1u);
  EXPECT_EQ(deck.stages[0].label, "elementwise");
  EXPECT_EQ(deck.stages[0].type, "elementwise");
  EXPECT_EQ(deck.stages[0].where, "deck.yaml:4:5");
  EXPECT_TRUE(deck.run.json_path.empty());
}

TEST(Deck, FullDeckReadsEveryKey) {
  const klab::Deck deck = parse(
      "run:\n  name: full\n  spaces: [serial]\n  baseline: serial\n  warmups: 0\n  repetitions: 3\n  seed: 99\n"
      "  output:\n    json: out/r.json\n    csv: out/r.csv\n"
      "stages:\n  - stage: elementwise\n    name: small\n    sizes: [1_000, 1e6]\n    repetitions: 7\n"
      "  - stage: elementwise\n    name: large\n    sizes: [100]\n    include_transfers: true\n");
  EXPECT_EQ(deck.run.spaces, std::vector<std::string>{"serial"});
  EXPECT_EQ(deck.run.repeat.warmups, 0);
  EXPECT_EQ(deck.run.repeat.repetitions, 3);
  EXPECT_EQ(deck.run.seed, 99u);
  EXPECT_EQ(deck.run.json_path, "out/r.json");
  EXPECT_EQ(deck.run.csv_path, "out/r.csv");
  ASSERT_EQ(deck.stages.size(), 2u);
  EXPECT_EQ(deck.stages[0].label, "small");
  EXPECT_EQ(deck.stages[0].repeat.repetitions, 7);  // the stage overrides
  EXPECT_EQ(deck.stages[0].repeat.warmups, 0);      // the run's default
  EXPECT_EQ(deck.stages[1].repeat.repetitions, 3);
}

TEST(Deck, EveryShippedDeckValidates) {
  int decks = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(KLAB_SOURCE_DIR) + "/inputs")) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW(klab::load_deck(entry.path().string(), klab::stage_registry()));
    ++decks;
  }
  EXPECT_GE(decks, 6);
}

// A deck may ask for more ranks than this job has (it validates, for a larger launch); `klab run`
// reports the first such count as a deck error (tests/mpi_test.cpp).
TEST(Deck, RankCountsBeyondTheJobAreKeptForRunToRefuse) {
  const klab::Deck deck = parse("run:\n  name: t\n  ranks: [1, 4, 8]\nstages:\n  - stage: elementwise\n    sizes: [10]\n");
  EXPECT_EQ(deck.run.ranks, (std::vector<int>{1, 4, 8}));
  EXPECT_EQ(deck.run.ranks_beyond_job,
            "deck.yaml:3:14: run.ranks[1]: asks for 4 ranks, this job has 1: start klab with mpirun -np 4 (or more)");
  EXPECT_TRUE(parse("run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: [10]\n").run.ranks_beyond_job.empty());
}

// Weak scaling: the deck's sizes are one rank's share. Each stage grows the extent it splits over
// the ranks with the rank count, and every rank count's cases keep the per-rank label that pairs
// them in the study; strong scaling runs the deck's cases on every rank count.
TEST(Deck, WeakScalingGrowsTheSplitExtentWithTheRanks) {
  const klab::Deck deck = parse(
      "run:\n  name: t\n  ranks: [1, 2, 3]\nstages:\n"
      "  - {stage: elementwise, sizes: [10, 20], scaling: weak}\n"
      "  - {stage: matmul, shapes: [{m: 8, k: 4, n: 6}], variants: [naive], scaling: weak}\n"
      "  - {stage: solvebak, obs: 50, vars: 5, scaling: weak}\n"
      "  - {stage: ann, obs: 200, neurons: 10, scaling: weak}\n"
      "  - {stage: gd, obs: 100, vars: 2, learning_rate: 0.1, strategies: [minibatch, batch], batch_sizes: [8],"
      " scaling: weak}\n"
      "  - {stage: elementwise, name: strong, sizes: [10]}\n");
  const std::vector<std::vector<double>> one_rank = {{10, 20}, {6}, {50}, {200}, {8, 100}, {10}};
  for (std::size_t s = 0; s < deck.stages.size(); ++s) {
    const klab::StageEntry& entry = deck.stages[s];
    SCOPED_TRACE(entry.label);
    const bool weak = entry.scaling == "weak";
    EXPECT_EQ(weak, s + 1 < deck.stages.size());
    for (const int ranks : {1, 2, 3}) {
      const std::vector<klab::Case>& cases = entry.cases_on(ranks);
      ASSERT_EQ(cases.size(), one_rank[s].size());
      for (std::size_t c = 0; c < cases.size(); ++c) {
        EXPECT_EQ(cases[c].label, entry.cases[c].label);
        EXPECT_EQ(cases[c].label.find(" per rank") != std::string::npos, weak);
        // matmul's size is N (its columns) and gd's the batch: the rows grow in the memory.
        if (entry.type == "matmul")
          EXPECT_DOUBLE_EQ(cases[c].memory_bytes, entry.cases[c].memory_bytes * (weak ? ranks : 1) -
                                                      (weak ? ranks - 1 : 0) * cases[c].replicated_bytes);
        else
          EXPECT_DOUBLE_EQ(cases[c].size, one_rank[s][c] * (weak ? ranks : 1));
      }
    }
  }
}

TEST(Deck, MatmulDefaultsRunZipReduceOnlyWhereItFits) {
  // zip-reduce is in the default variants, so N = 2000 is no error: the stage leaves it out there.
  const klab::Deck deck = parse("run:\n  name: t\nstages:\n  - stage: matmul\n    sizes: [8, 2000]\n");
  ASSERT_EQ(deck.stages.size(), 1u);
  EXPECT_EQ(deck.stages[0].type, "matmul");
}

// The run section's repetitions are a default for the stages sampled by repetition: no error for
// a stage whose samples are iterations (its own `repetitions` is: malformed_decks).
TEST(Deck, RunRepetitionsLeaveAnIterativeStageItsIterations) {
  const klab::Deck deck = parse(
      "run:\n  name: t\n  repetitions: 3\nstages:\n  - stage: gd\n    obs: 50\n    vars: 2\n    learning_rate: 0.1\n"
      "    epochs: 4\n    strategies: [batch]\n");
  EXPECT_EQ(deck.stages[0].cases.at(0).sampling.unit, "epoch");
  EXPECT_EQ(deck.stages[0].cases.at(0).sampling.count, 4);
}

// Labels, sizes, sampling and variants (with their work) of every case of a deck.
std::vector<std::string> describe_cases(const klab::Deck& deck) {
  std::vector<std::string> out;
  for (const auto& entry : deck.stages)
    for (const auto& c : entry.cases) {
      std::string line = entry.label + " " + c.label + " " + c.size_name + "=" + std::to_string(c.size) + " " +
                         c.sampling.unit + " " + std::to_string(c.sampling.warmups) + "+" +
                         std::to_string(c.sampling.count) + " mem " + std::to_string(c.memory_bytes);
      for (const auto& v : c.variants)
        line += " " + v.name + ":" + std::to_string(v.work.bytes) + "/" + std::to_string(v.work.flops);
      out.push_back(line);
    }
  return out;
}

TEST(Deck, TheResolvedDeckOfEveryShippedDeckReadsBackToTheSameCases) {
  for (const auto& file : std::filesystem::directory_iterator(std::string(KLAB_SOURCE_DIR) + "/inputs")) {
    if (file.path().extension() != ".yaml") continue;
    SCOPED_TRACE(file.path().string());
    const klab::Deck deck = klab::load_deck(file.path().string(), klab::stage_registry());
    const std::string resolved = klab::resolved_deck_yaml(deck);
    const klab::Deck again = klab::parse_deck(resolved, "resolved.yaml", klab::stage_registry());
    EXPECT_EQ(describe_cases(again), describe_cases(deck));
    EXPECT_EQ(again.run.seed, deck.run.seed);
    EXPECT_EQ(again.run.spaces, deck.run.spaces);
    EXPECT_EQ(klab::resolved_deck_yaml(again), resolved);  // a fixed point
  }
}

TEST(Deck, TheResolvedDeckFillsInEveryDefault) {
  const klab::Deck deck = parse("run:\n  name: t\nstages:\n  - stage: elementwise\n    sizes: 10\n");
  const std::string resolved = klab::resolved_deck_yaml(deck);
  for (const std::string key : {"seed:", "warmups:", "repetitions:", "include_transfers: false", "sizes: [10]",
                                "baseline:", "spaces:"})
    EXPECT_NE(resolved.find(key), std::string::npos) << key << " in\n" << resolved;
}

TEST(Deck, UnreadableFileIsADeckError) {
  try {
    klab::load_deck("/nonexistent/deck.yaml", klab::stage_registry());
    FAIL() << "no error";
  } catch (const klab::DeckError& e) {
    EXPECT_EQ(e.where(), "/nonexistent/deck.yaml");
    EXPECT_EQ(e.detail(), "cannot open the deck file");
  }
}

// What is not a deck file is refused before anything is read: a folder, a device or a socket,
// and a file too large to be a deck (here a sparse one).
TEST(Deck, AFolderADeviceAndAHugeFileAreNotDecks) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("klab_deck_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto error_of = [](const std::string& path) {
    try {
      klab::load_deck(path, klab::stage_registry());
    } catch (const klab::DeckError& e) {
      EXPECT_EQ(e.where(), path);
      return e.detail();
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of(dir.string()), "is a folder, not a deck file");
  const std::string socket_path = (dir / "socket").string();
  const klab::testing::UnixSocket socket(socket_path);
  EXPECT_EQ(error_of(socket_path), "is not a file (a device or socket): a deck is a YAML file");
  const fs::path huge = dir / "huge.yaml";
  std::ofstream(huge) << "run:\n";
  fs::resize_file(huge, (std::uintmax_t{16} << 20) + 1);
  EXPECT_EQ(error_of(huge.string()), "larger than 16 MiB: not a deck");
  fs::remove_all(dir);
}

#ifndef KOKKOS_ENABLE_CUDA
TEST(Deck, SpaceNotCompiledInIsNamed) {
  try {
    parse("run:\n  name: t\n  spaces: [cuda]\nstages:\n  - stage: elementwise\n    sizes: [10]\n");
    FAIL() << "no error";
  } catch (const klab::DeckError& e) {
    EXPECT_EQ(e.where(), "deck.yaml:3:12");
    EXPECT_EQ(e.path(), "run.spaces[0]");
    EXPECT_EQ(e.detail().rfind("execution space 'cuda' is not compiled into this build (compiled: ", 0), 0u) << e.what();
  }
}
#endif

}  // namespace
