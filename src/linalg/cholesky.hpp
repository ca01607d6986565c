#pragma once
// Symmetric positive-definite solves A·X = B on an execution space: a right-looking blocked
// Cholesky factorisation A = L·Lᵀ. Per block column, one team factors the small diagonal block,
// Kokkos Kernels trsm forms the panel below it and gemm updates the trailing matrix, so the
// O(n³) work runs as BLAS 3 (cuBLAS / the host BLAS through Kokkos Kernels' TPLs).
//
// On host spaces HostCholesky does the same with the host LAPACK's dpotrf and dpotrs (see
// linalg/host_lapack.hpp); cholesky_for picks the one for a space.
//
// A pivot (the diagonal of the Schur complement, L_jj²) that is not above n·ε·max_j A_jj marks
// the matrix as numerically singular: the factorisation records the first such column and the
// caller refuses to solve, instead of returning weights made of rounding noise or NaN.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/kokkos_compat.hpp"
#include "core/spaces.hpp"
#include "core/views.hpp"
#include "linalg/host_lapack.hpp"

namespace klab::linalg {

struct CholeskyReport {
  std::int64_t size = 0;
  std::int64_t failed_column = -1;  // the first pivot at or below the threshold, or -1
  double failed_pivot = 0;          // its value
  double min_pivot = 0, max_pivot = 0;
  // max pivot / min pivot: a lower bound on the 2-norm condition number of A.
  double condition_estimate() const { return min_pivot > 0 ? max_pivot / min_pivot : std::numeric_limits<double>::infinity(); }
  bool ok() const { return failed_column < 0; }
  std::string describe_failure() const;
};

inline std::string CholeskyReport::describe_failure() const {
  std::ostringstream out;
  out << "Cholesky pivot " << failed_column << " of " << size << " is " << std::setprecision(3) << failed_pivot
      << " (not above n·eps·max diagonal): the matrix is singular or indefinite";
  return out.str();
}

// Slots of the status View the factorisation's kernels write.
namespace CholeskySlot {
enum : int { min_pivot, max_pivot, failed_column, failed_pivot, threshold, count };
}

// One team finds the largest diagonal element of the n×n matrix a, resets the status and sets its
// threshold to threshold_per_unit times that element.
template <class ExecSpace>
struct CholeskyStart {
  SpaceMatrix<ExecSpace> a;
  SpaceVector<ExecSpace> status;
  std::int64_t n;
  double huge, threshold_per_unit;

  KOKKOS_INLINE_FUNCTION void operator()(const typename Kokkos::TeamPolicy<ExecSpace>::member_type& member) const {
    double largest = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(member, n),
        [&](std::int64_t j, double& m) { m = a(j, j) > m ? a(j, j) : m; }, Kokkos::Max<double>(largest));
    Kokkos::single(Kokkos::PerTeam(member), [&] {
      status(CholeskySlot::min_pivot) = huge;
      status(CholeskySlot::max_pivot) = 0;
      status(CholeskySlot::failed_column) = -1;
      status(CholeskySlot::failed_pivot) = 0;
      status(CholeskySlot::threshold) = threshold_per_unit * largest;
    });
  }
};

// Resets the status and sets the singularity threshold n·ε·max_j a_jj.
template <class ExecSpace>
void cholesky_start(const ExecSpace& space, const SpaceMatrix<ExecSpace>& a, const SpaceVector<ExecSpace>& status) {
  const std::int64_t n = a.extent(0);
  const double huge = std::numeric_limits<double>::max();
  const double threshold_per_unit = static_cast<double>(n) * std::numeric_limits<double>::epsilon();
  Kokkos::parallel_for("cholesky::start", Kokkos::TeamPolicy<ExecSpace>(space, 1, Kokkos::AUTO),
                       CholeskyStart<ExecSpace>{a, status, n, huge, threshold_per_unit});
}

// Calls f(i, c) for every i in [first, end) and c in [first, i], spread over the team's threads as a
// grid of rows × 16 columns (a single thread walks them all), so no thread divides an index.
template <class Member, class F>
KOKKOS_INLINE_FUNCTION void for_lower_triangle(const Member& member, int first, int end, F&& f) {
  const int threads = member.team_size(), lanes = threads >= 16 ? 16 : 1;
  const int rank = member.team_rank(), rows_step = threads / lanes;
  for (int i = first + rank / lanes; i < end; i += rows_step)
    for (int c = first + rank % lanes; c <= i; c += lanes) f(i, c);
}

// One team factors the width×width block of a at (k0, k0) in place, on a copy in its scratch at
// `level` (see cholesky_diagonal_block), and folds its pivots into the status.
template <class ExecSpace>
struct CholeskyDiagonalBlock {
  using Scratch = Kokkos::View<double**, Kokkos::LayoutLeft, typename ExecSpace::scratch_memory_space,
                               Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

  SpaceMatrix<ExecSpace> a;
  SpaceVector<ExecSpace> status;
  std::int64_t k0;
  int width, level;

  KOKKOS_INLINE_FUNCTION void operator()(const typename Kokkos::TeamPolicy<ExecSpace>::member_type& member) const {
    Scratch block(member.team_scratch(level), width, width);
    for_lower_triangle(member, 0, width, [&](int i, int c) { block(i, c) = a(k0 + i, k0 + c); });
    // Every thread sees the same pivots, so each keeps the statistics in registers and one
    // writes them at the end: no global-memory round trip inside the chain of columns.
    const double threshold = status(CholeskySlot::threshold);
    double low = status(CholeskySlot::min_pivot), high = status(CholeskySlot::max_pivot);
    double failed_column = status(CholeskySlot::failed_column), failed_pivot = status(CholeskySlot::failed_pivot);
    for (int j = 0; j < width; ++j) {
      member.team_barrier();
      const double pivot = block(j, j);
      const bool singular = !(pivot > threshold);
      if (singular && failed_column < 0) {
        failed_column = static_cast<double>(k0 + j);
        failed_pivot = pivot;
      }
      if (!singular) {
        low = pivot < low ? pivot : low;
        high = pivot > high ? pivot : high;
      }
      // A failed pivot is recorded and replaced by 1 so the rest stays finite; the caller
      // refuses the factor.
      const double root = singular ? 1.0 : compat::math::sqrt(pivot);
      member.team_barrier();  // everyone has read block(j, j) before it is overwritten
      Kokkos::parallel_for(Kokkos::TeamThreadRange(member, j, width),
                           [&](int i) { block(i, j) = i == j ? root : block(i, j) / root; });
      member.team_barrier();
      for_lower_triangle(member, j + 1, width, [&](int i, int c) { block(i, c) -= block(i, j) * block(c, j); });
    }
    Kokkos::single(Kokkos::PerTeam(member), [&] {
      status(CholeskySlot::min_pivot) = low;
      status(CholeskySlot::max_pivot) = high;
      status(CholeskySlot::failed_column) = failed_column;
      status(CholeskySlot::failed_pivot) = failed_pivot;
    });
    member.team_barrier();
    for_lower_triangle(member, 0, width, [&](int i, int c) { a(k0 + i, k0 + c) = block(i, c); });
  }
};

// Factors a(k0:k1, k0:k1) in place, in one team, on a copy in scratch memory (GPU shared memory
// up to 40 KiB, i.e. blocks of up to 71 columns; larger blocks use the slower level-1 scratch):
// per column, scale it by its pivot's root, then subtract its outer product from the part of the
// block to its right, the (row, column) pairs of that update spread over the team. The copy
// matters: the update is a chain of `block` dependent steps on one multiprocessor, so each step
// must cost shared-memory latency, not global-memory latency.
template <class ExecSpace>
void cholesky_diagonal_block(const ExecSpace& space, const SpaceMatrix<ExecSpace>& a, std::int64_t k0, std::int64_t k1,
                             const SpaceVector<ExecSpace>& status) {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Scratch = typename CholeskyDiagonalBlock<ExecSpace>::Scratch;
  const int width = static_cast<int>(k1 - k0);
  const std::size_t bytes = Scratch::shmem_size(width, width);
  const int level = bytes <= 40 * 1024 ? 0 : 1;  // 48 KiB less room for Kokkos's own alignment
  Policy policy(space, 1, SpaceTraits<ExecSpace>::is_device ? 256 : 1);
  policy.set_scratch_size(level, Kokkos::PerTeam(bytes));
  Kokkos::parallel_for("cholesky::diagonal_block", policy,
                       CholeskyDiagonalBlock<ExecSpace>{a, status, k0, width, level});
}

template <class ExecSpace>
class BlockedCholesky {
 public:
  explicit BlockedCholesky(std::int64_t block) : block_(block), status_("cholesky::status", CholeskySlot::count) {}

  // Overwrites the lower triangle of the n×n matrix `a` with L; the upper triangle is left as is.
  // Enqueues only: report() reads the outcome.
  void factor(const ExecSpace& space, const SpaceMatrix<ExecSpace>& a) {
    const std::int64_t n = a.extent(0);
    size_ = n;
    cholesky_start(space, a, status_);
    for (std::int64_t k0 = 0; k0 < n; k0 += block_) {
      const std::int64_t k1 = std::min(n, k0 + block_);
      cholesky_diagonal_block(space, a, k0, k1, status_);
      if (k1 == n) break;
      const auto diagonal = Kokkos::subview(a, std::make_pair(k0, k1), std::make_pair(k0, k1));
      const auto panel = Kokkos::subview(a, std::make_pair(k1, n), std::make_pair(k0, k1));
      const auto trailing = Kokkos::subview(a, std::make_pair(k1, n), std::make_pair(k1, n));
      compat::trsm(space, "R", "L", "T", "N", 1.0, diagonal, panel);
      compat::gemm(space, "N", "T", -1.0, panel, panel, 1.0, trailing);
    }
  }

  // Overwrites the n×k right-hand sides `b` with the solution of L·Lᵀ·x = b.
  void solve(const ExecSpace& space, const SpaceMatrix<ExecSpace>& l, const SpaceMatrix<ExecSpace>& b) const {
    compat::trsm(space, "L", "L", "N", "N", 1.0, l, b);
    compat::trsm(space, "L", "L", "T", "N", 1.0, l, b);
  }

  // The last factorisation's outcome (waits for it).
  CholeskyReport report() const {
    const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), status_);
    CholeskyReport r;
    r.size = size_;
    r.min_pivot = host(CholeskySlot::min_pivot);
    r.max_pivot = host(CholeskySlot::max_pivot);
    r.failed_column = static_cast<std::int64_t>(host(CholeskySlot::failed_column));
    r.failed_pivot = host(CholeskySlot::failed_pivot);
    return r;
  }

 private:
  std::int64_t block_;
  std::int64_t size_ = 0;
  SpaceVector<ExecSpace> status_;
};

// The same factorisation and report by the host LAPACK, on host spaces: dpotrf factors the whole
// matrix in one call on all the BLAS's threads. dpotrf stops only at a pivot that is not positive;
// the pivots L_jj² it leaves are then held to BlockedCholesky's threshold, so both refuse the same
// matrices and report the same pivots, to rounding.
template <class ExecSpace>
class HostCholesky {
 public:
  // Overwrites the lower triangle of the n×n matrix `a` with L; the upper triangle is left as is.
  void factor(const ExecSpace& space, const SpaceMatrix<ExecSpace>& a) {
    static_assert(uses_host_lapack<ExecSpace>, "the host LAPACK reads host memory only");
    space.fence();
    const std::int64_t n = a.extent(0);
    std::vector<double> diagonal(static_cast<std::size_t>(n));
    double largest = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      diagonal[j] = a(j, j);
      largest = diagonal[j] > largest ? diagonal[j] : largest;
    }
    const int order = fortran_int(n), lda = leading_dimension(a);
    F77_BLAS_MANGLE(dpotrf, DPOTRF)("L", &order, a.data(), &lda, &info_, 1);
    if (info_ < 0) throw std::logic_error("dpotrf: argument " + std::to_string(-info_) + " is invalid");
    // info_ = j + 1: the pivot of column j is not positive and columns from j on are not factored;
    // its value is what is left of a_jj by the finished part of row j.
    const std::int64_t factored = info_ > 0 ? info_ - 1 : n;
    const double threshold = static_cast<double>(n) * std::numeric_limits<double>::epsilon() * largest;
    report_ = CholeskyReport();
    report_.size = n;
    report_.min_pivot = std::numeric_limits<double>::max();
    for (std::int64_t j = 0; j < n; ++j) {
      const bool stopped = j == factored;
      double pivot = a(j, j) * a(j, j);
      if (stopped) {
        pivot = diagonal[j];
        for (std::int64_t c = 0; c < j; ++c) pivot -= a(j, c) * a(j, c);
      }
      if (stopped || !(pivot > threshold)) {
        report_.failed_column = j;
        report_.failed_pivot = pivot;
        break;
      }
      report_.min_pivot = std::min(report_.min_pivot, pivot);
      report_.max_pivot = std::max(report_.max_pivot, pivot);
    }
  }

  // Overwrites the n×k right-hand sides `b` with the solution of L·Lᵀ·x = b; leaves them as they
  // are when dpotrf stopped short of a factor.
  void solve(const ExecSpace& space, const SpaceMatrix<ExecSpace>& l, const SpaceMatrix<ExecSpace>& b) const {
    space.fence();
    if (info_ != 0) return;
    const int order = fortran_int(l.extent(0)), columns = fortran_int(b.extent(1)), lda = leading_dimension(l),
              ldb = leading_dimension(b);
    int info = 0;
    F77_BLAS_MANGLE(dpotrs, DPOTRS)("L", &order, &columns, l.data(), &lda, b.data(), &ldb, &info, 1);
    if (info < 0) throw std::logic_error("dpotrs: argument " + std::to_string(-info) + " is invalid");
  }

  CholeskyReport report() const { return report_; }

 private:
  int info_ = 0;
  CholeskyReport report_;
};

// The factorisation klab runs on ExecSpace: the host LAPACK's where uses_host_lapack, otherwise
// the blocked one in blocks of `block` columns.
template <class ExecSpace>
auto cholesky_for([[maybe_unused]] std::int64_t block) {
  if constexpr (uses_host_lapack<ExecSpace>)
    return HostCholesky<ExecSpace>();
  else
    return BlockedCholesky<ExecSpace>(block);
}

template <class ExecSpace>
using SpaceCholesky = decltype(cholesky_for<ExecSpace>(0));

}  // namespace klab::linalg
