#pragma once
// Symmetric positive-definite solves A·X = B on an execution space: a right-looking blocked
// Cholesky factorisation A = L·Lᵀ. Per block column, one launch factors the small diagonal block
// and solves the panel below it against it, and Kokkos Kernels gemm updates the trailing matrix,
// so the O(n³) work runs as BLAS 3 (cuBLAS / the host BLAS through Kokkos Kernels' TPLs).
//
// On host spaces HostCholesky does the same with the host LAPACK's dpotrf and the host BLAS's
// dtrsm (see linalg/host_lapack.hpp); cholesky_for picks the one for a space.
// Both factor the leading square of a matrix with rows below it, which leave as the solutions of
// L·x = b for each row bᵀ: the forward half of a solve, done in passing.
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

#include "core/device_pragma.hpp"
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

// The widest block the factorisation takes: a row of a block is worked on in an array of this
// many registers.
constexpr int cholesky_max_block = 32;

// Block column [k0, k0 + width) of the factorisation of the leading n×n square of the rows×n
// matrix a, the rows below the square solved against the block as the panel's are, in one launch. Every
// team factors the diagonal block A_kk, the same chain of `width` steps in every team so that none
// waits for another; then it turns its share of the panel rows below, P, into P·L_kk⁻ᵀ, each row
// a chain of `width` steps of its own, one row per thread. Team 0 folds the pivots into the status
// and writes L_kk to rows k0.. of `diagonal`, not to a, whose A_kk other teams may not have read
// yet (CholeskyDiagonalCopy puts it there later). The chains are latency, not work: a row of the
// block or panel lives in one thread's registers (on a device, where a team has at least as many
// threads as the block has rows; a host thread holds all of them), and the factorisation's steps
// exchange one column at a time through scratch.
// The loops run over max_width columns whatever the width, with no test per element: the entries
// past the width, and those above the diagonal of a row of the block, are computed from whatever
// their registers and scratch hold and never read into an entry that is kept, nor written back.
// With the scratch's extents fixed too, each step is loads at constant offsets and FMAs; tests
// and index arithmetic per element were most of the instructions, and the code outgrew the
// instruction cache.
template <class ExecSpace>
struct CholeskyBlockColumn {
  using Member = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  static constexpr int max_width = cholesky_max_block;
  template <class Extents>
  using Scratch = Kokkos::View<Extents, Kokkos::LayoutLeft, typename ExecSpace::scratch_memory_space,
                               Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using BlockScratch = Scratch<double[max_width][max_width]>;
  using PivotScratch = Scratch<double[max_width]>;
  using ColumnScratch = Scratch<double[max_width][2]>;  // column j of the Schur complement, in slot j % 2
  // Rows of the block one thread holds: teams on a device have panel_rows >= max_width threads,
  // a host team one.
  static constexpr int rows_per_thread = SpaceTraits<ExecSpace>::is_device ? 1 : max_width;

  SpaceMatrix<ExecSpace> a, diagonal;
  SpaceVector<ExecSpace> status;
  std::int64_t k0, rows;  // rows: a's, the factored square's and those below it
  int width, panel_rows;  // panel_rows: the rows below the block each team solves

  static std::size_t scratch_bytes() {
    return BlockScratch::shmem_size() + 2 * PivotScratch::shmem_size() + ColumnScratch::shmem_size();
  }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& member) const {
    const BlockScratch block(member.team_scratch(0));
    const PivotScratch pivots(member.team_scratch(0)), inverse_root(member.team_scratch(0));
    const ColumnScratch column(member.team_scratch(0));
    const int threads = member.team_size(), rank = member.team_rank();
    // Row rank + t·threads of the block, unscaled (L_ij·L_jj) until the end.
    double row[rows_per_thread][max_width];
    for (int t = 0; t < rows_per_thread; ++t) {
      const int i = rank + t * threads;
      KLAB_DEVICE_PRAGMA(unroll)
      for (int d = 0; d < max_width; ++d) row[t][d] = i < width && d < width ? a(k0 + i, k0 + d) : 0.0;
    }
    const double threshold = status(CholeskySlot::threshold);
    // Step j: the rows publish column j, then each subtracts its multiple of it. Two column slots
    // let step j+1 publish while a slow thread still reads step j's: one barrier per step.
    KLAB_DEVICE_PRAGMA(unroll)
    for (int j = 0; j < max_width; ++j) {
      if (j >= width) continue;
      for (int t = 0; t < rows_per_thread; ++t) {
        const int i = rank + t * threads;
        if (i >= j && i < width) column(i, j % 2) = row[t][j];
      }
      member.team_barrier();
      const double pivot = column(j, j % 2);
      // A failed pivot is replaced by 1 so the rest stays finite; the status records it (below)
      // and the caller refuses the factor.
      const double inverse = pivot > threshold ? compat::reciprocal_sqrt(pivot) : 1.0;
      if (rank == 0) {
        pivots(j) = pivot;
        inverse_root(j) = inverse;
      }
      const double inverse_pivot = inverse * inverse;
      for (int t = 0; t < rows_per_thread; ++t) {
        const int i = rank + t * threads;
        if (i <= j || i >= width) continue;  // rows above j are final; rows past the block hold nothing
        const double l = row[t][j] * inverse_pivot;
        KLAB_DEVICE_PRAGMA(unroll)
        for (int d = j + 1; d < max_width; ++d) row[t][d] -= l * column(d, j % 2);
      }
    }
    member.team_barrier();
    for (int t = 0; t < rows_per_thread; ++t) {
      const int i = rank + t * threads;
      if (i >= width) continue;
      KLAB_DEVICE_PRAGMA(unroll)
      for (int d = 0; d < max_width; ++d) block(i, d) = row[t][d] * inverse_root(d);
    }
    member.team_barrier();
    // Team 0 folds the block's pivots into the status, after the chain, which they would slow.
    if (member.league_rank() == 0) {
      Kokkos::single(Kokkos::PerTeam(member), [&] {
        double low = status(CholeskySlot::min_pivot), high = status(CholeskySlot::max_pivot);
        double failed_column = status(CholeskySlot::failed_column), failed_pivot = status(CholeskySlot::failed_pivot);
        for (int j = 0; j < width; ++j) {
          const double pivot = pivots(j);
          if (!(pivot > threshold)) {
            if (failed_column < 0) {
              failed_column = static_cast<double>(k0 + j);
              failed_pivot = pivot;
            }
          } else {
            low = pivot < low ? pivot : low;
            high = pivot > high ? pivot : high;
          }
        }
        status(CholeskySlot::min_pivot) = low;
        status(CholeskySlot::max_pivot) = high;
        status(CholeskySlot::failed_column) = failed_column;
        status(CholeskySlot::failed_pivot) = failed_pivot;
      });
      for_lower_triangle(member, 0, width, [&](int i, int c) { diagonal(k0 + i, c) = block(i, c); });
    }
    // Row r of the panel: x_c = (p_c - Σ_{d<c} x_d·L_cd) / L_cc, column by column, each x_c
    // subtracted from the rest of the row as soon as it is known.
    const std::int64_t first = k0 + width + static_cast<std::int64_t>(member.league_rank()) * panel_rows;
    const int team_rows = rows - first < panel_rows ? static_cast<int>(rows - first) : panel_rows;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(member, team_rows), [&](int r) {
      double x[max_width];
      KLAB_DEVICE_PRAGMA(unroll)
      for (int d = 0; d < max_width; ++d) x[d] = d < width ? a(first + r, k0 + d) : 0.0;
      KLAB_DEVICE_PRAGMA(unroll)
      for (int c = 0; c < max_width; ++c) {
        x[c] *= inverse_root(c);
        KLAB_DEVICE_PRAGMA(unroll)
        for (int d = c + 1; d < max_width; ++d) x[d] -= x[c] * block(d, c);
      }
      KLAB_DEVICE_PRAGMA(unroll)
      for (int d = 0; d < max_width; ++d)
        if (d < width) a(first + r, k0 + d) = x[d];
    });
  }
};

// Factors block column [k0, k1) of a (see CholeskyBlockColumn), every row of a below the block
// solved against it: a team of `panel_rows` threads on a device per that many rows.
template <class ExecSpace>
void cholesky_block_column(const ExecSpace& space, const SpaceMatrix<ExecSpace>& a,
                           const SpaceMatrix<ExecSpace>& diagonal, std::int64_t k0, std::int64_t k1,
                           const SpaceVector<ExecSpace>& status) {
  using Kernel = CholeskyBlockColumn<ExecSpace>;
  constexpr int panel_rows = 64;
  static_assert(!SpaceTraits<ExecSpace>::is_device || panel_rows >= Kernel::max_width,
                "a device team holds a row of the diagonal block per thread");
  const std::int64_t rows = a.extent(0);
  const int width = static_cast<int>(k1 - k0);
  const std::int64_t teams = std::max<std::int64_t>(1, (rows - k1 + panel_rows - 1) / panel_rows);
  Kokkos::TeamPolicy<ExecSpace> policy(space, static_cast<int>(teams), SpaceTraits<ExecSpace>::is_device ? panel_rows : 1);
  policy.set_scratch_size(0, Kokkos::PerTeam(Kernel::scratch_bytes()));
  Kokkos::parallel_for("cholesky::block_column", policy, Kernel{a, diagonal, status, k0, rows, width, panel_rows});
}

// Row i of the diagonal blocks of L, from `diagonal` (row i: L_i,k0.. for the block k0 of i) to a.
template <class ExecSpace>
struct CholeskyDiagonalCopy {
  SpaceMatrix<ExecSpace> a, diagonal;
  std::int64_t n, block;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t e) const {
    const std::int64_t i = e % n, c = e / n, k0 = i - i % block;
    if (k0 + c <= i) a(i, k0 + c) = diagonal(i, c);
  }
};

// The factorisations take a rows×n matrix: its leading square and the rows below.
inline void require_tall(std::int64_t rows, std::int64_t n) {
  if (rows < n)
    throw std::invalid_argument("Cholesky of a " + std::to_string(rows) + "×" + std::to_string(n) +
                                " matrix: the square to factor needs as many rows as columns");
}

template <class ExecSpace>
class BlockedCholesky {
 public:
  // block: 1 to cholesky_max_block columns.
  explicit BlockedCholesky(std::int64_t block) : block_(block), status_("cholesky::status", CholeskySlot::count) {
    if (block < 1 || block > cholesky_max_block)
      throw std::invalid_argument("Cholesky block of " + std::to_string(block) + " columns: 1 to " +
                                  std::to_string(cholesky_max_block) + " are possible");
  }

  // Overwrites the lower triangle of the leading n×n square A of the rows×n matrix `a` (rows >= n)
  // with L, and the rows B below the square with B·L⁻ᵀ. Above the diagonal it reads nothing and
  // leaves what the trailing updates made of it. Enqueues only: report() reads the outcome.
  void factor(const ExecSpace& space, const SpaceMatrix<ExecSpace>& a) {
    const std::int64_t rows = a.extent(0), n = a.extent(1);
    require_tall(rows, n);
    size_ = n;
    const std::int64_t width = std::min(n, block_);
    if (diagonal_.extent(0) != static_cast<std::size_t>(n) || diagonal_.extent(1) != static_cast<std::size_t>(width))
      diagonal_ = SpaceMatrix<ExecSpace>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "cholesky::diagonal"), n, width);
    cholesky_start(space, SpaceMatrix<ExecSpace>(Kokkos::subview(a, std::make_pair(std::int64_t(0), n), Kokkos::ALL)),
                   status_);
    for (std::int64_t k0 = 0; k0 < n; k0 += block_) {
      const std::int64_t k1 = std::min(n, k0 + block_);
      cholesky_block_column(space, a, diagonal_, k0, k1, status_);
      if (k1 == n) break;
      // The rows below the block, less the square's: A22 -= P·P_squareᵀ.
      const auto panel = Kokkos::subview(a, std::make_pair(k1, rows), std::make_pair(k0, k1));
      const auto panel_square = Kokkos::subview(a, std::make_pair(k1, n), std::make_pair(k0, k1));
      const auto trailing = Kokkos::subview(a, std::make_pair(k1, rows), std::make_pair(k1, n));
      compat::gemm(space, "N", "T", -1.0, panel, panel_square, 1.0, trailing);
    }
    Kokkos::parallel_for("cholesky::diagonal_copy",
                         Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, n * width),
                         CholeskyDiagonalCopy<ExecSpace>{a, diagonal_, n, width});
  }

  // Overwrites the n×k right-hand sides `b` with the solution of L·Lᵀ·x = b.
  void solve(const ExecSpace& space, const SpaceMatrix<ExecSpace>& l, const SpaceMatrix<ExecSpace>& b) const {
    compat::trsm(space, "L", "L", "N", "N", 1.0, l, b);
    back_substitute(space, l, b);
  }

  // Overwrites the n×k right-hand sides `b` with the solution of Lᵀ·x = b: the second half of
  // solve, for b = L⁻¹c that factor made of rows cᵀ below the square.
  void back_substitute(const ExecSpace& space, const SpaceMatrix<ExecSpace>& l, const SpaceMatrix<ExecSpace>& b) const {
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
  SpaceMatrix<ExecSpace> diagonal_;  // the diagonal blocks of L, each in the rows it covers
};

// The same factorisation and report by the host LAPACK, on host spaces: dpotrf factors the whole
// matrix in one call on all the BLAS's threads. dpotrf stops only at a pivot that is not positive;
// the pivots L_jj² it leaves are then held to BlockedCholesky's threshold, so both refuse the same
// matrices and report the same pivots, to rounding.
template <class ExecSpace>
class HostCholesky {
 public:
  // As BlockedCholesky::factor: L in the leading n×n square of the rows×n matrix `a`, B·L⁻ᵀ in
  // the rows B below it (by the host BLAS's dtrsm, when dpotrf factored the whole square).
  void factor(const ExecSpace& space, const SpaceMatrix<ExecSpace>& a) {
    static_assert(uses_host_lapack<ExecSpace>, "the host LAPACK reads host memory only");
    space.fence();
    const std::int64_t rows = a.extent(0), n = a.extent(1);
    require_tall(rows, n);
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
    if (info_ == 0 && rows > n) {
      const int below = fortran_int(rows - n);
      const double one = 1;
      F77_BLAS_MANGLE(dtrsm, DTRSM)("R", "L", "T", "N", &below, &order, &one, a.data(), &lda, a.data() + n, &lda, 1, 1, 1, 1);
    }
  }

  // As BlockedCholesky's solve (L·Lᵀ·x = b) and back_substitute (Lᵀ·x = b), the two triangular
  // solves dpotrs would make; both leave b as it is when dpotrf stopped short of a factor.
  void solve(const ExecSpace& space, const SpaceMatrix<ExecSpace>& l, const SpaceMatrix<ExecSpace>& b) const {
    solve_triangle(space, "N", l, b);
    back_substitute(space, l, b);
  }

  void back_substitute(const ExecSpace& space, const SpaceMatrix<ExecSpace>& l, const SpaceMatrix<ExecSpace>& b) const {
    solve_triangle(space, "T", l, b);
  }

  CholeskyReport report() const { return report_; }

 private:
  // b = op(L)⁻¹·b, op "N" (as is) or "T" (transposed), by the host BLAS's dtrsm.
  void solve_triangle(const ExecSpace& space, const char* trans, const SpaceMatrix<ExecSpace>& l,
                      const SpaceMatrix<ExecSpace>& b) const {
    space.fence();
    if (info_ != 0) return;
    const int order = fortran_int(l.extent(0)), columns = fortran_int(b.extent(1)), lda = leading_dimension(l),
              ldb = leading_dimension(b);
    const double one = 1;
    F77_BLAS_MANGLE(dtrsm, DTRSM)("L", "L", trans, "N", &order, &columns, &one, l.data(), &lda, b.data(), &ldb, 1, 1, 1, 1);
  }

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
