// The ann stage on every compiled space: row subsets, the batched inner fits against host QR,
// the outer solve against a host LU solve, the fit at a seed-like shape, and its errors.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "core/deck.hpp"
#include "stages/ann.hpp"
#include "stages/registry.hpp"
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
klab::stages::InnerWeights<ExecSpace> fit_inner(const klab::stages::AnnData<ExecSpace>& data, const AnnParams& p,
                                                std::uint64_t seed) {
  const klab::stages::InnerWeights<ExecSpace> inner{
      klab::SpaceMatrix<ExecSpace>("w", p.neurons, p.vars), klab::SpaceVector<ExecSpace>("b", p.neurons),
      klab::SpaceVector<ExecSpace>("condition", p.neurons)};
  klab::stages::fit_inner_layer(ExecSpace(), data, p, seed, inner);
  return inner;
}

TYPED_TEST(AnnOnSpace, InnerWeightsOfEveryNeuronMatchHostQr) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  for (const bool bias : {true, false}) {
    SCOPED_TRACE(std::string("bias ") + (bias ? "true" : "false") + ", seed " + std::to_string(seed));
    const AnnParams p = small_params(bias);
    const auto data = klab::stages::make_ann_data(ExecSpace(), p, seed, klab::stages::ann_stream_x);
    const auto inner = fit_inner(data, p, seed);
    const auto host = klab::stages::host_ann_data(p, seed, klab::stages::ann_stream_x);
    // The host regenerates the same data without copying it.
    EXPECT_EQ(to_vector(data.x), host.x);
    const auto w = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), inner.w);
    const auto b = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), inner.b);
    for (std::int64_t k = 0; k < p.neurons; ++k) {
      std::vector<double> got;
      for (std::int64_t j = 0; j < p.vars; ++j) got.push_back(w(k, j));
      if (bias) got.push_back(b(k));
      EXPECT_LE(relative_difference(got, klab::stages::host_inner_weights(host, p, seed, k)), 1e-8) << "neuron " << k;
      if (!bias) EXPECT_EQ(b(k), 0.0);
    }
  }
}

TYPED_TEST(AnnOnSpace, OuterWeightsMatchAHostLuSolve) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  AnnParams p = small_params(true);
  p.neurons = 12;
  p.lambda = 1e-3;
  const auto data = klab::stages::make_ann_data(ExecSpace(), p, seed, klab::stages::ann_stream_x);
  const auto inner = fit_inner(data, p, seed);
  const klab::SpaceMatrix<ExecSpace> layer("layer", p.obs, p.outer_unknowns());
  klab::stages::hidden_layer(ExecSpace(), data.x, inner, layer);
  // Cholesky blocks of 5; LᵀL as one gemm, and as the lower triangle of 3 × 3 blocks.
  klab::stages::OuterLayer<ExecSpace> outer(p.outer_unknowns(), 5, 1), outer_lower(p.outer_unknowns(), 5, 3);
  outer.solve(ExecSpace(), layer, data.y, p.lambda);
  outer_lower.solve(ExecSpace(), layer, data.y, p.lambda);
  ASSERT_TRUE(outer.report().ok()) << outer.report().describe_failure();
  ASSERT_TRUE(outer_lower.report().ok()) << outer_lower.report().describe_failure();

  // (LᵀL + λI)·v = Lᵀy on the host from L's values.
  const std::size_t obs = p.obs, n = p.outer_unknowns();
  const std::vector<double> l = to_vector(layer), y = to_vector(data.y);
  std::vector<double> normal(n * n, 0.0), rhs(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t r = 0; r < obs; ++r) rhs[i] += l[r + i * obs] * y[r];
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t r = 0; r < obs; ++r) normal[i + j * n] += l[r + i * obs] * l[r + j * obs];
    normal[i + i * n] += p.lambda;
  }
  const std::vector<double> expected = klab::testing::host_lu_solve(normal, rhs, n);
  EXPECT_LE(relative_difference(to_vector(outer.weights()), expected), 1e-8);
  EXPECT_LE(relative_difference(to_vector(outer_lower.weights()), expected), 1e-8);
  // The constant column of L is exactly 1.
  for (std::size_t r = 0; r < obs; ++r) ASSERT_EQ(l[r + (n - 1) * obs], 1.0);
}

template <class ExecSpace>
std::vector<klab::ResultRecord> run_stage(const AnnParams& params, const ExecSpace& space) {
  std::vector<klab::ResultRecord> records;
  klab::StageContext context("ann", "ann", klab::RepeatSettings{0, 1}, 20240901, false, [](const std::string&) {},
                             records);
  klab::stages::run_ann(space, params, context);
  return records;
}

TYPED_TEST(AnnOnSpace, SeedShapedRunFitsTheTestSet) {
  AnnParams p;
  p.obs = 20000;
  p.neurons = 200;  // obs / neurons = 100 rows per neuron, as in the seed
  p.sample = 50;
  const auto records = run_stage(p, TypeParam());
  ASSERT_EQ(records.size(), 3u);
  for (const auto& r : records) EXPECT_TRUE(r.passed) << r.variant << ": " << r.failure;
  EXPECT_EQ(records[0].variant, "inner");
  EXPECT_EQ(records[1].variant, "hidden");
  const auto& outer = records[2];
  EXPECT_EQ(outer.variant, "outer");
  const auto metric = [&](const std::string& name) {
    for (const auto& [key, value] : outer.metrics)
      if (key == name) return value;
    ADD_FAILURE() << "no metric " << name;
    return 0.0;
  };
  EXPECT_GE(metric("test_correlation"), 0.999);
  EXPECT_GE(metric("train_correlation"), 0.999);
  EXPECT_LT(metric("normal_equation_residual"), 1e-10);
  ASSERT_EQ(outer.series.size(), 2u);
  EXPECT_EQ(outer.series[0].second.size(), 50u);
  EXPECT_EQ(outer.series[1].second.size(), 50u);
}

TYPED_TEST(AnnOnSpace, SingularOuterSystemIsAClearError) {
  // 400 tanh features of 2 inputs are numerically dependent: LᵀL is singular without a ridge.
  AnnParams p;
  p.obs = 4000;
  p.vars = 2;
  p.neurons = 400;
  try {
    run_stage(p, TypeParam());
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("outer layer: Cholesky pivot "), std::string::npos) << what;
    EXPECT_NE(what.find("lambda > 0"), std::string::npos) << what;
  }
  p.lambda = 1e-6;
  const auto records = run_stage(p, TypeParam());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_TRUE(records[2].passed) << records[2].failure;
}

TEST(Ann, DeckErrors) {
  const auto expect_error = [](const std::string& stage, const std::string& where, const std::string& what) {
    try {
      klab::parse_deck("run:\n  name: t\nstages:\n  - stage: ann\n" + stage, "deck.yaml", klab::stage_registry());
      ADD_FAILURE() << "accepted: " << stage;
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

}  // namespace
