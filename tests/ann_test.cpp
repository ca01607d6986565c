// The ann stage on every compiled space: row subsets, the batched inner fits against host QR,
// the outer solve against a host LU solve, the fit at a seed-like shape, its errors, and what
// each deck key changes.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "stage_test_helpers.hpp"
#include "stages/ann/ann.hpp"
#include "test_helpers.hpp"
#include "test_spaces.hpp"

namespace {

using klab::stages::AnnParams;
using klab::testing::relative_difference;
using klab::testing::to_vector;

TEST(KeyedPermutation, EveryPositionGivesADistinctIndexInRange) {
  for (const std::int64_t obs : {1, 2, 3, 17, 1000, 65537}) {
    const int half_bits = klab::permutation_half_bits(obs);
    std::set<std::int64_t> rows;
    for (std::int64_t i = 0; i < obs; ++i) {
      const std::int64_t row = klab::permuted_index(klab::stages::neuron_key(9, 4), obs, half_bits, i);
      ASSERT_GE(row, 0);
      ASSERT_LT(row, obs);
      rows.insert(row);
    }
    EXPECT_EQ(static_cast<std::int64_t>(rows.size()), obs) << "obs " << obs;
  }
}

TEST(KeyedPermutation, NeuronsDrawDifferentRows) {
  const std::int64_t obs = 100000;
  const int half_bits = klab::permutation_half_bits(obs);
  std::vector<std::int64_t> first, second;
  for (std::int64_t i = 0; i < 100; ++i) {
    first.push_back(klab::permuted_index(klab::stages::neuron_key(9, 0), obs, half_bits, i));
    second.push_back(klab::permuted_index(klab::stages::neuron_key(9, 1), obs, half_bits, i));
  }
  std::sort(first.begin(), first.end());
  std::sort(second.begin(), second.end());
  std::vector<std::int64_t> common;
  std::set_intersection(first.begin(), first.end(), second.begin(), second.end(), std::back_inserter(common));
  EXPECT_LT(common.size(), 5u);  // 100 of 100,000 twice: about 0.1 rows in common
}

template <class ExecSpace>
class AnnOnSpace : public ::testing::Test {};
TYPED_TEST_SUITE(AnnOnSpace, klab::testing::CompiledSpaces);

AnnParams small_params(bool bias) {
  AnnParams p;
  p.obs = 3000;
  p.vars = 6;
  p.neurons = 40;
  p.bias = bias;
  return p;
}

template <class ExecSpace>
klab::stages::InnerWeights<ExecSpace> fit_inner(const klab::stages::AnnData<ExecSpace>& data, const AnnParams& p) {
  const klab::stages::InnerWeights<ExecSpace> inner{
      klab::SpaceMatrix<ExecSpace>("w", p.neurons, p.vars), klab::SpaceVector<ExecSpace>("b", p.neurons),
      klab::SpaceVector<ExecSpace>("condition", p.neurons)};
  klab::stages::fit_inner_layer(ExecSpace(), data, p, inner);
  return inner;
}

TYPED_TEST(AnnOnSpace, InnerWeightsOfEveryNeuronMatchHostQr) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  for (const bool bias : {true, false}) {
    SCOPED_TRACE(std::string("bias ") + (bias ? "true" : "false") + ", seed " + std::to_string(seed));
    const AnnParams p = small_params(bias);
    const auto data = klab::stages::make_ann_data(ExecSpace(), p, seed, klab::stages::ann_stream_x);
    const auto inner = fit_inner(data, p);
    const auto host = klab::stages::host_ann_data(data.source, 0, p.obs);
    // The host regenerates the same data without copying it.
    EXPECT_EQ(to_vector(data.x), host.x);
    const auto w = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), inner.w);
    const auto b = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), inner.b);
    for (std::int64_t k = 0; k < p.neurons; ++k) {
      std::vector<double> got;
      for (std::int64_t j = 0; j < p.vars; ++j) got.push_back(w(k, j));
      if (bias) got.push_back(b(k));
      EXPECT_LE(relative_difference(got, klab::stages::host_inner_weights(data.source, p, k)), 1e-8) << "neuron " << k;
      if (!bias) EXPECT_EQ(b(k), 0.0);
    }
  }
}

TYPED_TEST(AnnOnSpace, RowsOutsideTheDataBlockAreGeneratedBitForBit) {
  // Data holding rows [1000, 2000) of 3000 (a rank's share) fits every neuron as the whole data
  // does: the rows it lacks are generated from their global index, the very numbers.
  using ExecSpace = TypeParam;
  const AnnParams p = small_params(true);
  const auto all = klab::stages::make_ann_data(ExecSpace(), p, 5, klab::stages::ann_stream_x);
  const auto rows = std::make_pair(std::int64_t(1000), std::int64_t(2000));
  const klab::stages::AnnData<ExecSpace> part{Kokkos::subview(all.x, rows, Kokkos::ALL), Kokkos::subview(all.y, rows),
                                              all.source, rows.first};
  const auto from_all = fit_inner(all, p), from_part = fit_inner(part, p);
  EXPECT_EQ(to_vector(from_part.w), to_vector(from_all.w));
  EXPECT_EQ(to_vector(from_part.b), to_vector(from_all.b));
  EXPECT_EQ(to_vector(from_part.condition), to_vector(from_all.condition));
}

// The hidden layer of p's training data on the space beside its target, [L | y], with that data.
template <class ExecSpace>
std::pair<klab::stages::LayerAndTarget<ExecSpace>, klab::stages::AnnData<ExecSpace>> hidden_layer_of(
    const AnnParams& p, std::uint64_t seed) {
  const auto data = klab::stages::make_ann_data(ExecSpace(), p, seed, klab::stages::ann_stream_x);
  const auto layer = klab::stages::make_layer_and_target(ExecSpace(), p.outer_unknowns(), data.y);
  klab::stages::hidden_layer(ExecSpace(), data.x, fit_inner(data, p), layer.layer);
  return {layer, data};
}

// LᵀL (column-major, n × n) by plain loops on the host from L's values (obs × n, column-major).
std::vector<double> host_gram(const std::vector<double>& l, std::size_t obs, std::size_t n) {
  std::vector<double> gram(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j <= i; ++j) {
      double sum = 0;
      for (std::size_t r = 0; r < obs; ++r) sum += l[r + i * obs] * l[r + j * obs];
      gram[i + j * n] = gram[j + i * n] = sum;
    }
  return gram;
}

// (LᵀL + λI)·v = Lᵀy on the host from L's values, by plain loops and LU.
std::vector<double> host_outer_weights(const std::vector<double>& l, const std::vector<double>& y, std::size_t n,
                                       double lambda) {
  const std::size_t obs = y.size();
  std::vector<double> normal = host_gram(l, obs, n), rhs(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t r = 0; r < obs; ++r) rhs[i] += l[r + i * obs] * y[r];
    normal[i + i * n] += lambda;
  }
  return klab::testing::host_lu_solve(normal, rhs, n);
}

TYPED_TEST(AnnOnSpace, OuterWeightsMatchAHostLuSolve) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  AnnParams p = small_params(true);
  p.neurons = 12;
  p.lambda = 1e-3;
  const auto [layer, data] = hidden_layer_of<ExecSpace>(p, seed);
  // Cholesky blocks of 5; LᵀL as one gemm, and as the lower triangle of 3 × 3 blocks (on a device:
  // host spaces call the host BLAS and LAPACK whatever the keys).
  klab::stages::OuterLayer<ExecSpace> outer(p.outer_unknowns(), 5, 1), outer_lower(p.outer_unknowns(), 5, 3);
  outer.solve(ExecSpace(), layer.both, p.lambda);
  outer_lower.solve(ExecSpace(), layer.both, p.lambda);
  ASSERT_TRUE(outer.report().ok()) << outer.report().describe_failure();
  ASSERT_TRUE(outer_lower.report().ok()) << outer_lower.report().describe_failure();

  const std::size_t obs = p.obs, n = p.outer_unknowns();
  const std::vector<double> l = to_vector(layer.layer);
  const std::vector<double> expected = host_outer_weights(l, to_vector(data.y), n, p.lambda);
  EXPECT_LE(relative_difference(to_vector(outer.weights()), expected), 1e-8);
  EXPECT_LE(relative_difference(to_vector(outer_lower.weights()), expected), 1e-8);
  // The constant column of L is exactly 1.
  for (std::size_t r = 0; r < obs; ++r) ASSERT_EQ(l[r + (n - 1) * obs], 1.0);
}

TYPED_TEST(AnnOnSpace, LowerGramIsTheLowerTriangleOfLtL) {
  // The device path's blocked gemms (1 to 8 column blocks of 13 columns: unequal blocks, halved
  // unevenly) on every space, and on host spaces the host BLAS's dsyrk, against plain loops.
  using ExecSpace = TypeParam;
  AnnParams p = small_params(true);
  p.neurons = 12;
  const std::size_t obs = p.obs, n = p.outer_unknowns();
  const auto layer = hidden_layer_of<ExecSpace>(p, 7).first.layer;
  const std::vector<double> expected = host_gram(to_vector(layer), obs, n);
  const auto lower_difference = [&](const klab::SpaceMatrix<ExecSpace>& gram) {
    const std::vector<double> got = to_vector(gram);
    double diff = 0, norm = 0;
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = j; i < n; ++i) {
        diff = std::max(diff, std::fabs(got[i + j * n] - expected[i + j * n]));
        norm = std::max(norm, std::fabs(expected[i + j * n]));
      }
    return diff / norm;
  };
  // One block (the full gemm), halves, and halvings that split odd counts unevenly.
  for (const int blocks : {1, 2, 3, 5, 8}) {
    const klab::SpaceMatrix<ExecSpace> gram("gram", n, n);
    klab::stages::lower_gram(ExecSpace(), layer, gram, blocks);
    EXPECT_LE(lower_difference(gram), 1e-14) << blocks << " column blocks";
  }
  if constexpr (klab::linalg::uses_host_lapack<ExecSpace>) {
    const klab::SpaceMatrix<ExecSpace> host_gram("host_gram", n, n);
    klab::linalg::host_lower_gram(ExecSpace(), layer, host_gram);
    EXPECT_LE(lower_difference(host_gram), 1e-14);
  }
}

TYPED_TEST(AnnOnSpace, HostBlasOuterWeightsMatchPlainHostLoops) {
  // On host spaces the outer layer is one dsyrk, the host LAPACK's dpotrf and the BLAS's trsm. An odd
  // neuron count (301 unknowns, no bias) and 3017 rows take both past the BLAS's blocking
  // (OpenBLAS: dsyrk in panels of a few hundred rows, dpotrf in diagonal blocks of about n/4,
  // recursively):
  // the weights are those of plain loops and LU, to 1e-9 relative. With |L| ≤ 1 and λ = 1,
  // κ(LᵀL + λI) ≤ 1 + obs·n ≈ 1e6 keeps κ·ε near 2e-10.
  using ExecSpace = TypeParam;
  if constexpr (!klab::linalg::uses_host_lapack<ExecSpace>) {
    GTEST_SKIP() << "the device path: OuterWeightsMatchAHostLuSolve";
  } else {
    const std::uint64_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    AnnParams p = small_params(false);
    p.obs = 3017;
    p.neurons = 301;
    p.lambda = 1.0;
    const auto [layer, data] = hidden_layer_of<ExecSpace>(p, seed);
    klab::stages::OuterLayer<ExecSpace> outer(p.outer_unknowns(), 32, 4);
    outer.solve(ExecSpace(), layer.both, p.lambda);
    ASSERT_TRUE(outer.report().ok()) << outer.report().describe_failure();
    const std::vector<double> expected =
        host_outer_weights(to_vector(layer.layer), to_vector(data.y), p.outer_unknowns(), p.lambda);
    EXPECT_LE(relative_difference(to_vector(outer.weights()), expected), 1e-9)
        << "condition estimate " << outer.report().condition_estimate();
  }
}

// The ann entry `entry` (its keys after `stage:`), one repetition without warm-up, run through the
// harness on `space`.
std::vector<klab::ResultRecord> run_ann(const std::string& entry, const std::string& space) {
  const klab::Deck deck =
      klab::testing::parse_stage(klab::stages::ann_stage(), entry + "    warmups: 0\n    repetitions: 1\n");
  return klab::testing::run_stage(deck, space);
}

double metric(const klab::ResultRecord& record, const std::string& name) {
  for (const auto& [key, value] : record.metrics)
    if (key == name) return value;
  ADD_FAILURE() << record.variant << " has no metric " << name;
  return 0.0;
}

TYPED_TEST(AnnOnSpace, SeedShapedRunFitsTheTestSet) {
  // obs / neurons = 100 rows per neuron, as in the seed.
  const auto records =
      run_ann("    obs: 20000\n    neurons: 200\n    sample: 50\n", klab::SpaceTraits<TypeParam>::name);
  ASSERT_EQ(records.size(), 3u);
  AnnParams p;
  p.obs = 20000;
  p.neurons = 200;
  const klab::stages::AnnWork work = klab::stages::ann_work(p);
  const std::vector<klab::Work> works = {work.inner, work.hidden, work.outer};
  const std::vector<std::string> variants = {"inner", "hidden", "outer"};
  for (std::size_t v = 0; v < records.size(); ++v) {
    const auto& r = records[v];
    EXPECT_TRUE(r.passed) << r.variant << ": " << r.failure;
    EXPECT_EQ(r.variant, variants[v]);
    EXPECT_EQ(r.case_label, "obs=20000 vars=10 neurons=200");
    EXPECT_EQ(r.size_name, "obs");
    EXPECT_EQ(r.size, 20000.0);
    EXPECT_EQ(r.time.count, 1);
    EXPECT_EQ(r.bytes, works[v].bytes) << r.variant;
    EXPECT_EQ(r.flops, works[v].flops) << r.variant;
  }
  EXPECT_EQ(metric(records[0], "rows_per_neuron"), 100.0);
  EXPECT_LE(metric(records[0], "condition_max"), klab::stages::ann_inner_condition_limit);
  const auto& outer = records[2];
  EXPECT_GE(metric(outer, "test_correlation"), 0.999);
  EXPECT_GE(metric(outer, "train_correlation"), 0.999);
  EXPECT_LT(metric(outer, "normal_equation_residual"), 1e-10);
  ASSERT_EQ(outer.series.size(), 2u);
  EXPECT_EQ(outer.series[0].second.size(), 50u);
  EXPECT_EQ(outer.series[1].second.size(), 50u);
}

TYPED_TEST(AnnOnSpace, SingularOuterSystemIsAClearError) {
  // 400 tanh features of 2 inputs are numerically dependent: LᵀL is singular without a ridge.
  const std::string entry = "    obs: 4000\n    vars: 2\n    neurons: 400\n";
  const auto singular = run_ann(entry, klab::SpaceTraits<TypeParam>::name);
  ASSERT_EQ(singular.size(), 3u);
  EXPECT_TRUE(singular[0].passed) << singular[0].failure;
  EXPECT_TRUE(singular[1].passed) << singular[1].failure;
  EXPECT_FALSE(singular[2].passed);
  const std::string& what = singular[2].failure;
  EXPECT_NE(what.find("outer layer: Cholesky pivot "), std::string::npos) << what;
  EXPECT_NE(what.find("lambda > 0"), std::string::npos) << what;

  const auto ridged = run_ann(entry + "    lambda: 1e-6\n", klab::SpaceTraits<TypeParam>::name);
  ASSERT_EQ(ridged.size(), 3u);
  EXPECT_TRUE(ridged[2].passed) << ridged[2].failure;
}

TEST(Ann, DeckErrors) {
  const auto expect_error = [](const std::string& entry, const std::string& where, const std::string& what) {
    try {
      klab::testing::parse_stage(klab::stages::ann_stage(), entry);
      ADD_FAILURE() << "accepted: " << entry;
    } catch (const klab::DeckError& e) {
      EXPECT_EQ(e.where(), where) << e.what();
      EXPECT_EQ(e.detail(), what) << e.what();
    }
  };
  expect_error("    obs: 1000\n    amplitude: 1.0\n", "deck.yaml:6:16",
               "below 1: the inner layer fits arctanh(y), undefined for |y| >= 1");
  expect_error("    obs: 1000\n    neurons: 1001\n", "deck.yaml:6:14", "at most obs (1000)");
  expect_error("    obs: 1000\n    neurons: 100\n", "deck.yaml:6:14",
               "at most obs / 11: each neuron fits 11 unknowns to obs/neurons = 10 rows");
  expect_error("    obs: 1000\n    vars: 41\n", "deck.yaml:6:11", "out of range: expected an integer in [1, 40], got 41");
  expect_error("    obs: 1000\n    lambda: -1\n", "deck.yaml:6:13",
               "out of range: expected a number in [0, 1e+300], got -1");
}

TEST(Ann, EveryKeyChangesWhatRuns) {
  const std::string base = "    obs: 2000\n    vars: 6\n    neurons: 20\n";
  const auto only_case = [](const std::string& entry) {
    const auto cases = klab::testing::parse_stage(klab::stages::ann_stage(), entry).stages.at(0).cases;
    EXPECT_EQ(cases.size(), 1u);
    return cases.at(0);
  };
  const klab::Case plain = only_case(base);
  EXPECT_EQ(plain.label, "obs=2000 vars=6 neurons=20");
  EXPECT_EQ(plain.size_name, "obs");
  EXPECT_EQ(plain.size, 2000.0);
  EXPECT_FALSE(plain.same_result);
  ASSERT_EQ(plain.variants.size(), 3u);
  EXPECT_EQ(plain.variants[0].name, "inner");
  EXPECT_EQ(plain.variants[1].name, "hidden");
  EXPECT_EQ(plain.variants[2].name, "outer");
  EXPECT_EQ(plain.sampling.unit, "repetition");
  EXPECT_TRUE(plain.distributed);
  // Every rank holds all of W and the outer system: their bytes, exactly, are not split.
  EXPECT_EQ(plain.replicated_bytes, 8.0 * (24.0 * 24.0 + 20.0 * 8.0));  // 21 unknowns and y, padded to 24
  EXPECT_LT(plain.replicated_bytes, plain.memory_bytes);

  // Keys seen in the case itself: its identity, its memory and its variants' work.
  EXPECT_EQ(only_case("    obs: 3000\n    vars: 6\n    neurons: 20\n").size, 3000.0);
  EXPECT_EQ(only_case("    obs: 2000\n    vars: 5\n    neurons: 20\n").label, "obs=2000 vars=5 neurons=20");
  EXPECT_EQ(only_case("    obs: 2000\n    vars: 6\n    neurons: 25\n").label, "obs=2000 vars=6 neurons=25");
  const klab::Case unbiased = only_case(base + "    bias: false\n");
  // [L | y] is padded to 8 columns: with 23 neurons the bias column takes it from 24 to 32.
  const std::string neurons_23 = "    obs: 2000\n    vars: 6\n    neurons: 23\n";
  EXPECT_LT(only_case(neurons_23 + "    bias: false\n").memory_bytes, only_case(neurons_23).memory_bytes);
  EXPECT_LT(unbiased.variants[0].work.flops, plain.variants[0].work.flops);
  // One column block multiplies the whole of LᵀL, not just its lower triangle.
  EXPECT_GT(only_case(base + "    gram_blocks: 1\n").variants[2].work.flops, plain.variants[2].work.flops);
  const klab::Case sampled = only_case(base + "    warmups: 4\n    repetitions: 7\n");
  EXPECT_EQ(sampled.sampling.warmups, 4);
  EXPECT_EQ(sampled.sampling.count, 7);

  // Keys seen in what the outer variant records.
  const std::string space = klab::SpaceTraits<Kokkos::DefaultExecutionSpace>::name;
  const auto outer = [&](const std::string& entry) {
    const auto records = run_ann(entry, space);
    EXPECT_EQ(records.size(), 3u);
    // Checked, though not necessarily passed: the keys change the fit as well.
    EXPECT_EQ(records.at(2).check, "1 - test correlation") << entry << records.at(2).failure;
    return records.at(2);
  };
  const klab::ResultRecord reference = outer(base);
  ASSERT_EQ(reference.series.size(), 2u);
  // y = amplitude·sin(Σ_j x_ij): halving the amplitude halves every target exactly.
  const klab::ResultRecord halved = outer(base + "    amplitude: 0.25\n");
  ASSERT_EQ(halved.series.size(), 2u);
  for (std::size_t i = 0; i < reference.series[1].second.size(); ++i)
    EXPECT_EQ(2.0 * halved.series[1].second[i], reference.series[1].second[i]) << "target " << i;
  EXPECT_GT(metric(outer(base + "    lambda: 1.0\n"), "min_pivot"), metric(reference, "min_pivot"));
  // The Cholesky block size shapes the device path; host spaces call the host LAPACK.
  if (klab::linalg::uses_host_lapack<Kokkos::DefaultExecutionSpace>)
    EXPECT_EQ(outer(base + "    block: 5\n").notes, reference.notes);
  else
    EXPECT_NE(outer(base + "    block: 5\n").notes, reference.notes);
  EXPECT_EQ(outer(base + "    min_correlation: 0.5\n").tolerance, 0.5);
  const klab::ResultRecord fewer = outer(base + "    sample: 7\n");
  ASSERT_EQ(fewer.series.size(), 2u);
  EXPECT_EQ(fewer.series[0].second.size(), 7u);
  EXPECT_TRUE(outer(base + "    sample: 0\n").series.empty());
}

}  // namespace
