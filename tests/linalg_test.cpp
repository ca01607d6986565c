// The dense solvers under the stages: host Householder least squares, and the Cholesky
// factorisations (the blocked one on every compiled space, the host LAPACK's on host spaces)
// against a host LU solve.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "linalg/cholesky.hpp"
#include "linalg/host_least_squares.hpp"
#include "test_helpers.hpp"
#include "test_spaces.hpp"

namespace {

using klab::testing::host_lu_solve;
using klab::testing::relative_difference;

std::vector<double> random_values(std::size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// A·x for column-major rows×cols A.
std::vector<double> multiply(const std::vector<double>& a, const std::vector<double>& x, std::size_t rows) {
  std::vector<double> y(rows, 0.0);
  for (std::size_t j = 0; j < x.size(); ++j)
    for (std::size_t i = 0; i < rows; ++i) y[i] += a[i + j * rows] * x[j];
  return y;
}

TEST(HostLeastSquares, RecoversTheSolutionOfAConsistentSystem) {
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  const std::size_t rows = 40, cols = 7;
  const auto a = random_values(rows * cols, rng);
  const auto x_true = random_values(cols, rng);
  EXPECT_LE(relative_difference(klab::linalg::host_least_squares(a, multiply(a, x_true, rows), rows, cols), x_true),
            1e-12)
      << "seed " << seed;
}

TEST(HostLeastSquares, LeavesAResidualOrthogonalToTheColumns) {
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  const std::size_t rows = 50, cols = 6;
  const auto a = random_values(rows * cols, rng);
  const auto b = random_values(rows, rng);
  const auto x = klab::linalg::host_least_squares(a, b, rows, cols);
  const auto ax = multiply(a, x, rows);
  double b_norm = 0;
  for (double v : b) b_norm += v * v;
  for (std::size_t j = 0; j < cols; ++j) {
    double dot = 0;
    for (std::size_t i = 0; i < rows; ++i) dot += a[i + j * rows] * (ax[i] - b[i]);
    EXPECT_LT(std::fabs(dot), 1e-13 * std::sqrt(b_norm)) << "column " << j << ", seed " << seed;
  }
}

TEST(HostLeastSquares, RejectsADependentColumn) {
  std::vector<double> a(20 * 3, 1.0);
  for (std::size_t i = 0; i < 20; ++i) a[i] = static_cast<double>(i);  // column 1 and 2 are equal
  EXPECT_THROW(klab::linalg::host_least_squares(a, std::vector<double>(20, 1.0), 20, 3), std::runtime_error);
}

template <class ExecSpace>
class CholeskyOnSpace : public ::testing::Test {};
TYPED_TEST_SUITE(CholeskyOnSpace, klab::testing::CompiledSpaces);

// Mᵀ·M + shift·I for a random n×n M (column-major), symmetric positive definite for shift > 0.
std::vector<double> random_spd(std::size_t n, double shift, std::mt19937_64& rng) {
  const auto m = random_values(n * n, rng);
  std::vector<double> a(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t k = 0; k < n; ++k) a[i + j * n] += m[k + i * n] * m[k + j * n];
      if (i == j) a[i + j * n] += shift;
    }
  return a;
}

template <class ExecSpace>
klab::SpaceMatrix<ExecSpace> to_space(const std::vector<double>& values, std::size_t rows, std::size_t cols) {
  klab::SpaceMatrix<ExecSpace> out("matrix", rows, cols);
  auto host = Kokkos::create_mirror_view(out);
  for (std::size_t j = 0; j < cols; ++j)
    for (std::size_t i = 0; i < rows; ++i) host(i, j) = values[i + j * rows];
  Kokkos::deep_copy(out, host);
  return out;
}

// Calls f(name, factorisation) for each Cholesky factorisation klab has on ExecSpace: the blocked
// one in blocks of `block` columns on every space, and the host LAPACK's on host spaces.
template <class ExecSpace, class F>
void for_each_cholesky(std::int64_t block, F&& f) {
  klab::linalg::BlockedCholesky<ExecSpace> blocked(block);
  f("blocked", blocked);
  if constexpr (klab::linalg::uses_host_lapack<ExecSpace>) {
    klab::linalg::HostCholesky<ExecSpace> host;
    f("host LAPACK", host);
  }
}

TEST(BlockedCholesky, TakesBlocksOfOneColumnToItsWidest) {
  using Blocked = klab::linalg::BlockedCholesky<Kokkos::DefaultHostExecutionSpace>;
  EXPECT_THROW(Blocked(0), std::invalid_argument);
  EXPECT_THROW(Blocked(klab::linalg::cholesky_max_block + 1), std::invalid_argument);
  EXPECT_NO_THROW(Blocked(1));
  EXPECT_NO_THROW(Blocked(klab::linalg::cholesky_max_block));
}

TYPED_TEST(CholeskyOnSpace, SolvesSpdSystemsLikeHostLu) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  // One block, several blocks with a shorter last one, blocks of one column, a block larger than n,
  // panels of several teams' rows (64 each); and sizes that cross the host LAPACK's own blocking
  // (OpenBLAS's dpotrf factors up to 32 columns unblocked, larger matrices in diagonal blocks of
  // about n/4, recursively).
  for (const auto& size_and_block : std::vector<std::pair<std::size_t, std::int64_t>>{
           {1, 8}, {32, 32}, {150, 32}, {60, 1}, {20, 32}, {33, 16}, {301, 32}, {203, 7}}) {
    // Named copies, not structured bindings: the lambda below captures them, which C++17 does not
    // allow for bindings (nvcc warns).
    const std::size_t n = size_and_block.first;
    const std::int64_t block = size_and_block.second;
    const auto a = random_spd(n, 0.1, rng);
    const auto b = random_values(n * 2, rng);
    // The factorisations read the lower triangle alone: NaN above the diagonal must not reach
    // the factor (the blocked one computes with entries above the diagonal and drops them).
    auto lower = a;
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < j; ++i) lower[i + j * n] = std::numeric_limits<double>::quiet_NaN();
    std::vector<klab::linalg::CholeskyReport> reports;
    for_each_cholesky<ExecSpace>(block, [&](const std::string& name, auto& cholesky) {
      SCOPED_TRACE(name + ", n = " + std::to_string(n) + ", block = " + std::to_string(block) + ", seed " +
                   std::to_string(seed));
      const auto a_space = to_space<ExecSpace>(lower, n, n);
      const auto x_space = to_space<ExecSpace>(b, n, 2);
      cholesky.factor(ExecSpace(), a_space);
      cholesky.solve(ExecSpace(), a_space, x_space);
      const auto report = cholesky.report();
      ASSERT_TRUE(report.ok()) << report.describe_failure();
      EXPECT_EQ(report.size, static_cast<std::int64_t>(n));
      EXPECT_GE(report.condition_estimate(), 1.0);
      reports.push_back(report);
      const auto x = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x_space);
      for (std::size_t c = 0; c < 2; ++c) {
        const std::vector<double> column(b.begin() + c * n, b.begin() + (c + 1) * n);
        const std::vector<double> got(x.data() + c * n, x.data() + (c + 1) * n);
        EXPECT_LE(relative_difference(got, host_lu_solve(a, column, n)), 1e-10);
      }
    });
    // Both factorisations see the same pivots, to rounding.
    for (const auto& report : reports) {
      EXPECT_NEAR(report.min_pivot, reports[0].min_pivot, 1e-12 * reports[0].max_pivot) << "n = " << n;
      EXPECT_NEAR(report.max_pivot, reports[0].max_pivot, 1e-12 * reports[0].max_pivot) << "n = " << n;
    }
  }
}

// Rows below the square leave the factorisation as B·L⁻ᵀ: for the row bᵀ, (L⁻¹b)ᵀ, from which the
// back substitution alone solves A·x = b. One block (20 columns), blocks that leave a shorter last
// one, and rows below that span several device teams (64 rows each), more than the square has.
TYPED_TEST(CholeskyOnSpace, RowsBelowTheSquareAreSolvedInPassing) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  for (const auto& size_and_below :
       std::vector<std::pair<std::size_t, std::size_t>>{{20, 3}, {75, 3}, {96, 70}, {40, 130}}) {
    const std::size_t n = size_and_below.first, below = size_and_below.second;
    const auto a = random_spd(n, 0.1, rng);
    const auto b = random_values(n * below, rng);
    // [A ; Bᵀ]: the square's lower triangle (NaN above it) with the rows Bᵀ below.
    std::vector<double> tall((n + below) * n, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t i = j; i < n; ++i) tall[i + j * (n + below)] = a[i + j * n];
      for (std::size_t r = 0; r < below; ++r) tall[n + r + j * (n + below)] = b[j + r * n];
    }
    for (const std::int64_t block : {16, 32}) {
      for_each_cholesky<ExecSpace>(block, [&](const std::string& name, auto& cholesky) {
        SCOPED_TRACE(name + ", n = " + std::to_string(n) + ", " + std::to_string(below) + " rows below, block " +
                     std::to_string(block) + ", seed " + std::to_string(seed));
        const auto a_space = to_space<ExecSpace>(tall, n + below, n);
        cholesky.factor(ExecSpace(), a_space);
        ASSERT_TRUE(cholesky.report().ok()) << cholesky.report().describe_failure();
        EXPECT_EQ(cholesky.report().size, static_cast<std::int64_t>(n));
        // The rows below, transposed into right-hand sides (through the host: a device copies
        // only contiguous Views to it).
        const auto factored = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a_space);
        klab::SpaceMatrix<ExecSpace> x_space("x", n, below);
        auto host_x = Kokkos::create_mirror_view(x_space);
        for (std::size_t r = 0; r < below; ++r)
          for (std::size_t j = 0; j < n; ++j) host_x(j, r) = factored(n + r, j);
        Kokkos::deep_copy(x_space, host_x);
        const auto square = Kokkos::subview(a_space, std::make_pair(std::size_t(0), n), Kokkos::ALL);
        cholesky.back_substitute(ExecSpace(), klab::SpaceMatrix<ExecSpace>(square), x_space);
        const auto x = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x_space);
        for (std::size_t r = 0; r < below; ++r) {
          const std::vector<double> column(b.begin() + r * n, b.begin() + (r + 1) * n);
          const std::vector<double> got(x.data() + r * n, x.data() + (r + 1) * n);
          EXPECT_LE(relative_difference(got, host_lu_solve(a, column, n)), 1e-10) << "row " << r;
        }
      });
    }
  }
  for_each_cholesky<ExecSpace>(8, [&](const std::string& name, auto& cholesky) {
    EXPECT_THROW(cholesky.factor(ExecSpace(), klab::SpaceMatrix<ExecSpace>("wide", 4, 5)), std::invalid_argument)
        << name;
  });
}

TYPED_TEST(CholeskyOnSpace, NamesTheFirstFailedPivot) {
  using ExecSpace = TypeParam;
  std::mt19937_64 rng(5);
  const std::size_t n = 70;
  // Column and row 41 repeat 12 in a Gram matrix: the pivot of 41 is zero up to rounding.
  auto m = random_values(n * n, rng);
  for (std::size_t k = 0; k < n; ++k) m[k + 41 * n] = m[k + 12 * n];
  std::vector<double> repeated(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t k = 0; k < n; ++k) repeated[i + j * n] += m[k + i * n] * m[k + j * n];
  // Indefinite: a negative diagonal entry in the second block (where dpotrf stops). Tiny: a
  // positive pivot that dpotrf accepts and the threshold does not.
  std::vector<double> indefinite(n * n, 0.0), tiny(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    indefinite[i + i * n] = i == 20 ? -1.0 : 1.0;
    tiny[i + i * n] = i == 30 ? 1e-20 : 1.0;
  }
  for_each_cholesky<ExecSpace>(16, [&](const std::string& name, auto& cholesky) {
    SCOPED_TRACE(name);
    cholesky.factor(ExecSpace(), to_space<ExecSpace>(repeated, n, n));
    EXPECT_EQ(cholesky.report().failed_column, 41);
    EXPECT_NE(cholesky.report().describe_failure().find("pivot 41 of 70"), std::string::npos);
    cholesky.factor(ExecSpace(), to_space<ExecSpace>(indefinite, n, n));
    EXPECT_EQ(cholesky.report().failed_column, 20);
    EXPECT_EQ(cholesky.report().failed_pivot, -1.0);
    cholesky.factor(ExecSpace(), to_space<ExecSpace>(tiny, n, n));
    EXPECT_EQ(cholesky.report().failed_column, 30);
    EXPECT_DOUBLE_EQ(cholesky.report().failed_pivot, 1e-20);
  });
}

}  // namespace
