// The matmul stage on every compiled space: each variant against the host triple loop on square,
// rectangular and odd shapes; the stage's cases from its deck keys and their records; the backward
// pass against central differences; the host checks themselves.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "stage_test_helpers.hpp"
#include "stages/matmul/matmul.hpp"
#include "test_spaces.hpp"

namespace {

namespace stages = klab::stages;
using stages::HostMatrix;
using stages::MatmulShape;
using stages::MatmulVariant;

const double eps = std::numeric_limits<double>::epsilon();

HostMatrix random_matrix(std::int64_t rows, std::int64_t cols, std::mt19937_64& engine) {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  HostMatrix m("m", rows, cols);
  for (std::int64_t j = 0; j < cols; ++j)
    for (std::int64_t i = 0; i < rows; ++i) m(i, j) = uniform(engine);
  return m;
}

template <class ExecSpace>
klab::SpaceMatrix<ExecSpace> on_space(const HostMatrix& host) {
  klab::SpaceMatrix<ExecSpace> m("m", host.extent(0), host.extent(1));
  Kokkos::deep_copy(m, host);
  return m;
}

template <class ExecSpace>
class MatmulOnSpace : public ::testing::Test {};
TYPED_TEST_SUITE(MatmulOnSpace, klab::testing::CompiledSpaces);

TYPED_TEST(MatmulOnSpace, EveryVariantMatchesHostProductOnFreshRandomInputs) {
  using ExecSpace = TypeParam;
  const ExecSpace space;
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 engine(seed);
  // Square, rectangular, not multiples of any tile, a single element, and vectors.
  const std::vector<MatmulShape> shapes = {{1, 1, 1},  {13, 15, 17}, {67, 33, 129}, {64, 64, 64},
                                           {1, 50, 1}, {50, 1, 50},  {130, 300, 70}};
  // The space's default tile (several K tiles at K = 300), the smallest tile a deck may give (one
  // register block per team on a CPU: the accumulators stay in registers) and a tall one (several
  // K tiles everywhere, partial tiles at every edge).
  const std::vector<stages::TileShape> tiles = {{}, {8, 8, 3}, {16, 8, 5}};
  for (const MatmulShape& shape : shapes) {
    const HostMatrix host_a = random_matrix(shape.m, shape.k, engine), host_b = random_matrix(shape.k, shape.n, engine);
    const HostMatrix expected = stages::host_product(host_a, host_b);
    const auto a = on_space<ExecSpace>(host_a), b = on_space<ExecSpace>(host_b);
    klab::SpaceMatrix<ExecSpace> c("c", shape.m, shape.n);
    const stages::Products<ExecSpace> products("products", shape.m, shape.k, shape.n);
    const auto check = [&](MatmulVariant variant, const stages::TileShape& tile) {
      Kokkos::deep_copy(c, std::numeric_limits<double>::quiet_NaN());
      stages::multiply(space, variant, a, b, c, stages::plan_tiled<ExecSpace>(tile, shape), products);
      space.fence();
      const HostMatrix result = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c);
      EXPECT_LE(stages::host_relative_frobenius_error(result, expected), 2.0 * static_cast<double>(shape.k) * eps)
          << stages::name_of(variant) << " " << stages::case_label(shape) << ", tile " << tile.m << "x" << tile.n << "x"
          << tile.k << ", seed " << seed;
    };
    for (const MatmulVariant variant : {MatmulVariant::kokkos_kernels, MatmulVariant::naive, MatmulVariant::zip_reduce})
      check(variant, {});
    for (const stages::TileShape& tile : tiles) check(MatmulVariant::tiled, tile);
  }
}

// relative Frobenius error of the tiled kernel with the given arrangement and team size.
template <bool GpuLayout, class ExecSpace>
double tiled_error(const ExecSpace& space, const HostMatrix& host_a, const HostMatrix& host_b,
                   const HostMatrix& expected, const stages::TileShape& tile, int team_size) {
  const MatmulShape shape{static_cast<std::int64_t>(host_a.extent(0)), static_cast<std::int64_t>(host_a.extent(1)),
                          static_cast<std::int64_t>(host_b.extent(1))};
  stages::TiledLaunch launch = stages::plan_tiled<ExecSpace, GpuLayout>(tile, shape);
  launch.team_size = team_size;
  klab::SpaceMatrix<ExecSpace> c("c", expected.extent(0), expected.extent(1));
  Kokkos::deep_copy(c, std::numeric_limits<double>::quiet_NaN());
  stages::multiply_tiled<ExecSpace, GpuLayout>(space, on_space<ExecSpace>(host_a), on_space<ExecSpace>(host_b), c,
                                               launch);
  space.fence();
  return stages::host_relative_frobenius_error(Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c), expected);
}

// The tensor-core kernel (CUDA builds for GPUs with FP64 tensor cores): its default tile, the
// smallest (one warp, one step of the instruction per K tile), rectangular ones with several warps
// per team, on products that fill no tile and have a K that is no multiple of 4.
TYPED_TEST(MatmulOnSpace, TiledOnTensorCoresMatchesHostProduct) {
  using ExecSpace = TypeParam;
  if constexpr (!stages::tiled_on_tensor_cores<ExecSpace>) {
    GTEST_SKIP() << "no FP64 tensor cores in this build's " << klab::SpaceTraits<ExecSpace>::name;
  } else {
    const ExecSpace space;
    const std::uint64_t seed = std::random_device{}();
    std::mt19937_64 engine(seed);
    const std::vector<stages::TileShape> tiles = {{}, {32, 32, 4}, {64, 32, 8}, {32, 96, 12}, {128, 64, 8}};
    for (const MatmulShape& shape : std::vector<MatmulShape>{{1, 1, 1}, {13, 15, 17}, {67, 33, 129}, {130, 300, 70}}) {
      const HostMatrix host_a = random_matrix(shape.m, shape.k, engine);
      const HostMatrix host_b = random_matrix(shape.k, shape.n, engine);
      const HostMatrix expected = stages::host_product(host_a, host_b);
      klab::SpaceMatrix<ExecSpace> c("c", shape.m, shape.n);
      for (const stages::TileShape& tile : tiles) {
        const stages::TiledLaunch launch = stages::plan_tiled_variant<ExecSpace>(tile, shape);
        ASSERT_TRUE(launch.tensor_cores);
        Kokkos::deep_copy(c, std::numeric_limits<double>::quiet_NaN());
        stages::multiply_tiled_variant(space, on_space<ExecSpace>(host_a), on_space<ExecSpace>(host_b), c, launch);
        space.fence();
        EXPECT_LE(stages::host_relative_frobenius_error(Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c),
                                                        expected),
                  2.0 * static_cast<double>(shape.k) * eps)
            << stages::case_label(shape) << ", " << launch.describe() << ", seed " << seed;
      }
    }
    EXPECT_THROW(stages::plan_tiled_variant<ExecSpace>({40, 32, 4}, {100, 100, 100}), std::runtime_error);
    EXPECT_THROW(stages::plan_tiled_variant<ExecSpace>({32, 32, 6}, {100, 100, 100}), std::runtime_error);
    EXPECT_THROW(stages::plan_tiled_variant<ExecSpace>({128, 128, 32}, {1000, 1000, 1000}), std::runtime_error);
    EXPECT_THROW(stages::plan_tiled_variant<ExecSpace>({128, 128, 4}, {1000, 1000, 1000}), std::runtime_error);
  }
}

// Register blocks of the tile the kernel uses in one arrangement (fitted to the product's shape).
template <bool GpuLayout, class ExecSpace>
int blocks_in(const stages::TileShape& tile, const MatmulShape& shape) {
  const stages::TiledLaunch launch = stages::plan_tiled<ExecSpace, GpuLayout>(tile, shape);
  return stages::register_blocks(launch.tile, launch.block);
}

// The tiled kernel as a GPU runs it (interleaved register blocks, padded B tile) and as a CPU
// does (packed panels), each with teams of one thread and of several: cooperative staging, one
// register block per thread and several.
TYPED_TEST(MatmulOnSpace, TiledKernelInBothLayoutsWithOneOrSeveralThreadsPerTeam) {
  using ExecSpace = TypeParam;
  const ExecSpace space;
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 engine(seed);
  // 1, 2, 4 and 6 blocks in the CPU arrangement, 4, 8, 16 and 24 in the GPU one, where the
  // product is large enough.
  const std::vector<stages::TileShape> tiles = {{8, 8, 3}, {16, 8, 5}, {16, 16, 5}, {24, 16, 7}};
  for (const MatmulShape& shape : std::vector<MatmulShape>{{13, 15, 17}, {67, 33, 129}}) {
    const HostMatrix host_a = random_matrix(shape.m, shape.k, engine), host_b = random_matrix(shape.k, shape.n, engine);
    const HostMatrix expected = stages::host_product(host_a, host_b);
    const double tolerance = 2.0 * static_cast<double>(shape.k) * eps;
    for (const stages::TileShape& tile : tiles)
      for (int team_size = 1; team_size <= 3; ++team_size) {
        if (team_size > space.concurrency()) continue;
        SCOPED_TRACE(stages::case_label(shape) + ", tile " + std::to_string(tile.m) + "x" + std::to_string(tile.n) +
                     "x" + std::to_string(tile.k) + ", team " + std::to_string(team_size) + ", seed " +
                     std::to_string(seed));
        if (blocks_in<true, ExecSpace>(tile, shape) % team_size == 0)
          EXPECT_LE(tiled_error<true>(space, host_a, host_b, expected, tile, team_size), tolerance) << "GPU layout";
        if (blocks_in<false, ExecSpace>(tile, shape) % team_size == 0)
          EXPECT_LE(tiled_error<false>(space, host_a, host_b, expected, tile, team_size), tolerance) << "CPU layout";
      }
  }
}

// The notes of a record, by key.
std::string note(const klab::ResultRecord& r, const std::string& key) {
  for (const auto& [name, value] : r.notes)
    if (name == key) return value;
  return "";
}

TYPED_TEST(MatmulOnSpace, StageRecordsEveryCaseAndVariantAndPasses) {
  using ExecSpace = TypeParam;
  const klab::Deck deck = klab::testing::parse_stage(
      stages::matmul_stage(),
      "    name: mm\n    sizes: [1, 40]\n    shapes: [{m: 13, k: 15, n: 17}]\n    warmups: 1\n    repetitions: 2\n",
      "  seed: 2024\n");
  std::vector<std::string> log;
  const auto records = klab::testing::run_stage(deck, klab::SpaceTraits<ExecSpace>::name, &log);

  const std::vector<MatmulShape> shapes = {{1, 1, 1}, {40, 40, 40}, {13, 15, 17}};
  std::vector<std::string> expected_log;
  for (const MatmulShape& shape : shapes) {
    expected_log.push_back(stages::case_label(shape));
    for (const std::string& variant : stages::matmul_variant_names())
      expected_log.push_back(stages::case_label(shape) + " " + variant);
  }
  EXPECT_EQ(log, expected_log);
  ASSERT_EQ(records.size(), 12u);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const klab::ResultRecord& r = records[i];
    const MatmulShape& shape = shapes[i / 4];
    SCOPED_TRACE(r.case_label + " " + r.variant);
    EXPECT_EQ(r.case_label, stages::case_label(shape));
    EXPECT_EQ(r.variant, stages::matmul_variant_names()[i % 4]);
    EXPECT_TRUE(r.passed) << r.failure;
    EXPECT_EQ(r.stage, "mm");
    EXPECT_EQ(r.space, klab::SpaceTraits<ExecSpace>::name);
    EXPECT_EQ(r.size_name, "N");
    EXPECT_DOUBLE_EQ(r.size, shape.size());
    EXPECT_EQ(r.time.count, 2);
    EXPECT_EQ(r.transfer_s >= 0, klab::SpaceTraits<ExecSpace>::is_device);
    EXPECT_DOUBLE_EQ(r.flops, 2.0 * shape.m * shape.n * shape.k);
    EXPECT_DOUBLE_EQ(r.bytes, 8.0 * (shape.m * shape.k + shape.k * shape.n + shape.m * shape.n));
    EXPECT_DOUBLE_EQ(r.tolerance, 2.0 * shape.k * eps);
    const char* variant_note[] = {"gemm_path", nullptr, "tiling", "products"};
    for (const char* key : {"reference", "share_of_fastest_variant", variant_note[i % 4]})
      if (key) EXPECT_NE(note(r, key), "") << key;
  }
}

TYPED_TEST(MatmulOnSpace, ZipReduceIsLeftOutBeyondItsLimit) {
  using ExecSpace = TypeParam;
  // zip-reduce is among the default variants; 407^3 just passes 2^26.
  const klab::Deck deck = klab::testing::parse_stage(
      stages::matmul_stage(), "    sizes: [407, 8]\n    warmups: 0\n    repetitions: 1\n", "  seed: 7\n");
  const auto records = klab::testing::run_stage(deck, klab::SpaceTraits<ExecSpace>::name);
  std::vector<std::string> ran;
  for (const auto& r : records) {
    ran.push_back(r.case_label + " " + r.variant);
    EXPECT_TRUE(r.passed) << r.case_label << " " << r.variant << ": " << r.failure;
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"N=407 kokkos-kernels", "N=407 naive", "N=407 tiled", "N=8 kokkos-kernels",
                                           "N=8 naive", "N=8 tiled", "N=8 zip-reduce"}));
}

TEST(Matmul, EveryKeyChangesWhatRuns) {
  const auto cases = [](const std::string& entry) {
    return klab::testing::parse_stage(stages::matmul_stage(), entry).stages.at(0).cases;
  };
  const auto names = [](const klab::Case& c) {
    std::vector<std::string> out;
    for (const auto& variant : c.variants) out.push_back(variant.name);
    return out;
  };

  const auto squares = cases("    sizes: [10, 20]\n");
  ASSERT_EQ(squares.size(), 2u);
  EXPECT_EQ(squares[1].label, "N=20");
  EXPECT_EQ(squares[1].size_name, "N");
  EXPECT_EQ(squares[1].size, 20.0);
  EXPECT_TRUE(squares[1].same_result);
  EXPECT_EQ(names(squares[1]), stages::matmul_variant_names());
  for (const auto& variant : squares[1].variants) {
    EXPECT_DOUBLE_EQ(variant.work.flops, 2.0 * 20 * 20 * 20);
    EXPECT_DOUBLE_EQ(variant.work.bytes, 8.0 * 3 * 20 * 20);
  }
  EXPECT_DOUBLE_EQ(squares[1].memory_bytes, stages::matmul_bytes({20, 20, 20}, {MatmulVariant::zip_reduce}));

  const auto rectangles = cases("    shapes: [{m: 2, k: 3, n: 4}]\n    sizes: 5\n");
  ASSERT_EQ(rectangles.size(), 2u);
  EXPECT_EQ(rectangles[0].label, "N=5");
  EXPECT_EQ(rectangles[1].label, "M=2 K=3 N=4");
  EXPECT_DOUBLE_EQ(rectangles[1].size, std::cbrt(24.0));
  EXPECT_DOUBLE_EQ(rectangles[1].variants[0].work.bytes, 8.0 * (2 * 3 + 3 * 4 + 2 * 4));

  const auto chosen = cases("    sizes: 10\n    variants: [tiled, naive]\n");
  EXPECT_EQ(names(chosen[0]), (std::vector<std::string>{"tiled", "naive"}));
  EXPECT_DOUBLE_EQ(chosen[0].memory_bytes, stages::matmul_bytes({10, 10, 10}, {MatmulVariant::naive}));

  const auto sampled = cases("    sizes: 10\n    warmups: 4\n    repetitions: 7\n");
  EXPECT_EQ(sampled[0].sampling.unit, "repetition");
  EXPECT_EQ(sampled[0].sampling.warmups, 4);
  EXPECT_EQ(sampled[0].sampling.count, 7);

  // The tile shows in the tiled variant's record, fitted to the product (K = 20 < 32).
  const std::string host = klab::SpaceTraits<Kokkos::DefaultHostExecutionSpace>::name;
  const auto tiling = [&](const std::string& entry) {
    const std::string deck = "    sizes: 20\n    variants: tiled\n    repetitions: 1\n" + entry;
    const auto records = klab::testing::run_stage(klab::testing::parse_stage(stages::matmul_stage(), deck), host);
    EXPECT_EQ(records.size(), 1u);
    return records.empty() ? std::string() : note(records[0], "tiling");
  };
  EXPECT_EQ(tiling("    tile: {m: 16, n: 8, k: 32}\n").rfind("C tile 16x8, K tile 20,", 0), 0u);
  EXPECT_NE(tiling(""), tiling("    tile: {m: 16, n: 8, k: 5}\n"));
}

// Each deck error of the stage, at its place in the deck (line 5 is the first key of the entry).
TEST(Matmul, DeckErrorsPointAtTheOffendingEntry) {
  struct Refused {
    std::string entry, where, path, detail;
  };
  const std::string beyond = " products, more than its limit of 67108864 (2^26, 512 MiB): use a smaller size or leave "
                             "zip-reduce out of 'variants'";
  const std::vector<Refused> decks = {
      {"    sizes: [100, 2000]\n    variants: [naive, zip-reduce]\n", "deck.yaml:5:18", "stages[0].sizes[1]",
       "zip-reduce materialises M*K*N = 8000000000" + beyond},
      {"    variants: zip-reduce\n    sizes: 500\n", "deck.yaml:6:12", "stages[0].sizes",
       "zip-reduce materialises M*K*N = 125000000" + beyond},
      {"    variants: zip-reduce\n    shapes:\n      - {m: 10, k: 10, n: 10}\n      - {m: 1000, k: 1000, n: 100}\n",
       "deck.yaml:8:9", "stages[0].shapes[1]", "zip-reduce materialises M*K*N = 100000000" + beyond},
      {"    sizes: 10\n    tile: {m: 30}\n", "deck.yaml:6:15", "stages[0].tile.m",
       "expected a multiple of 8 (the register blocks of every space), got 30"},
      {"    sizes: 10\n    variants: [naive]\n    tile: {m: 16}\n", "deck.yaml:7:11", "stages[0].tile",
       "'tile' shapes the tiled variant only, which 'variants' leaves out"},
      {"    variants: [naive]\n", "deck.yaml:4:5", "stages[0].sizes",
       "missing required key (expected an integer or a list of integers, or 'shapes')"},
      {"    sizes: 10\n    variants: [all, naive]\n", "deck.yaml:6:15", "stages[0].variants",
       "'all' stands alone: it means every variant"},
  };
  for (const Refused& refused : decks) {
    SCOPED_TRACE(refused.entry);
    try {
      klab::testing::parse_stage(stages::matmul_stage(), refused.entry);
      ADD_FAILURE() << "no error";
    } catch (const klab::DeckError& e) {
      EXPECT_EQ(e.where(), refused.where);
      EXPECT_EQ(e.path(), refused.path);
      EXPECT_EQ(e.detail(), refused.detail);
    }
  }
}

// L(M, N) = sum(G ∘ (M·N)) has dL/dM = G·Nᵀ and dL/dN = Mᵀ·G. L is linear in each entry, so
// central differences are exact up to rounding.
TYPED_TEST(MatmulOnSpace, BackwardPassMatchesCentralDifferences) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 engine(seed);
  const std::int64_t rows = 5, inner = 4, cols = 3;
  HostMatrix left = random_matrix(rows, inner, engine), right = random_matrix(inner, cols, engine);
  const HostMatrix grad_out = random_matrix(rows, cols, engine);
  const auto loss = [&] {
    const HostMatrix product = stages::host_product(left, right);
    double sum = 0;
    for (std::int64_t j = 0; j < cols; ++j)
      for (std::int64_t i = 0; i < rows; ++i) sum += grad_out(i, j) * product(i, j);
    return sum;
  };

  klab::SpaceMatrix<ExecSpace> grad_left("grad_left", rows, inner), grad_right("grad_right", inner, cols);
  stages::matmul_backward(ExecSpace(), on_space<ExecSpace>(left), on_space<ExecSpace>(right),
                          on_space<ExecSpace>(grad_out), grad_left, grad_right);
  const HostMatrix host_grad_left = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), grad_left);
  const HostMatrix host_grad_right = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), grad_right);

  const double h = 1e-3;
  const auto central_difference = [&](double& entry) {
    const double saved = entry;
    entry = saved + h;
    const double up = loss();
    entry = saved - h;
    const double down = loss();
    entry = saved;
    return (up - down) / (2 * h);
  };
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t p = 0; p < inner; ++p)
      EXPECT_NEAR(host_grad_left(i, p), central_difference(left(i, p)), 1e-10)
          << "dL/dM(" << i << ", " << p << "), seed " << seed;
  for (std::int64_t p = 0; p < inner; ++p)
    for (std::int64_t j = 0; j < cols; ++j)
      EXPECT_NEAR(host_grad_right(p, j), central_difference(right(p, j)), 1e-10)
          << "dL/dN(" << p << ", " << j << "), seed " << seed;
}

TEST(Matmul, HostProductOfKnownMatrices) {
  HostMatrix a("a", 2, 3), b("b", 3, 2);
  const double a_values[2][3] = {{1, 2, 3}, {4, 5, 6}}, b_values[3][2] = {{7, 8}, {9, 10}, {11, 12}};
  for (int i = 0; i < 2; ++i)
    for (int p = 0; p < 3; ++p) a(i, p) = a_values[i][p], b(p, i) = b_values[p][i];
  const HostMatrix c = stages::host_product(a, b);
  EXPECT_EQ(c(0, 0), 58);
  EXPECT_EQ(c(0, 1), 64);
  EXPECT_EQ(c(1, 0), 139);
  EXPECT_EQ(c(1, 1), 154);
}

TEST(Matmul, HostChecksCatchAWrongOrMissingElement) {
  std::mt19937_64 engine(3);
  const HostMatrix a = random_matrix(30, 20, engine), b = random_matrix(20, 25, engine);
  const HostMatrix c = stages::host_product(a, b);
  for (const auto& ok : {stages::check_by_host_loop(a, b, c), stages::check_by_projection(a, b, c, 3)})
    EXPECT_LE(ok.error(), ok.tolerance) << ok.method;

  c(17, 4) *= 1 + 1e-9;
  for (const auto& wrong : {stages::check_by_host_loop(a, b, c), stages::check_by_projection(a, b, c, 3)})
    EXPECT_GT(wrong.error(), wrong.tolerance) << wrong.method;

  c(3, 24) = std::numeric_limits<double>::quiet_NaN();  // an element never written
  for (const auto& unwritten : {stages::check_by_host_loop(a, b, c), stages::check_by_projection(a, b, c, 3)}) {
    klab::ResultRecord record;
    record.error = unwritten.error();
    record.tolerance = unwritten.tolerance;
    klab::judge(record);
    EXPECT_FALSE(record.passed) << unwritten.method;
  }
}

}  // namespace
