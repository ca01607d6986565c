#pragma once
// Stage `solvebak`: X·a = y by SolveBak coordinate descent (arXiv 2104.12570), the seed
// notebook's solver, X obs×vars. Forms:
//
//   residual (seed-exact)             a = 0, e = y; per sweep, for j = 0 .. vars-1:
//                                       da = <X_j, e> / <X_j, X_j>;  e -= da X_j;  a_j += da
//   blocked                           the residual form's iterates, `block` columns at a time: per
//                                     block B, c = X_Bᵀe (gemv), solve (D + L_BB) d = c by forward
//                                     substitution, e -= X_B d (gemv), a_B += d; G_BB = X_BᵀX_B
//                                     (D its diagonal, L_BB the part below) computed once per case
//   gram                              G = XᵀX once (Kokkos Kernels gemm), r = Xᵀy as the form starts;
//                                     per sweep one Gauss–Seidel sweep on G a = Xᵀy as a triangular
//                                     solve: r = Xᵀy - G a (gemv), solve (D + L) d = r, a += d
//   batched ("parallel HPSCDP")       per block B of `batch` columns: da_B = X_Bᵀe / diag;
//                                     e -= X_B da_B;  a_B += da_B  (gemv; B = 1 is `residual`)
//
// Why blocked and gram give the residual form's iterates (in exact arithmetic): within a block,
// the seed's step j sees e after the block's earlier steps i < j, so <X_j, e> = c_j - Σ_i G_ji da_i:
// that is row j of (D + L_BB) d = c. The gram form is the same with the whole of X as one block
// and r = Xᵀe = Xᵀy - G a.
//
// Data as in the seed: X and a_true uniform in [-0.5, 0.5), y = X a_true; X is LayoutLeft so a
// column is contiguous. The check is the seed's error, mean |a_true - a|, after the last sweep,
// against the deck's `tolerance`; the residual ||y - X a|| / ||y|| is reported beside it.
// Each record's samples are the sweeps, each timed alone; the Gram matrices (G, or the blocked
// form's G_BB) are computed once per case, timed apart.
//
// On several ranks the rows of X (and of y and e) are split over them (Communicator::share),
// each rank generating its block from the global seed; a, a_true and the column norms are
// replicated, and every rank takes the same steps. The forms combine their sums:
//   residual  one sum over ranks of <X_j, e> per column (a scalar: latency-bound by design, the
//             seed's loop as it is)
//   blocked   G_BB summed over ranks once; one sum over ranks of X_Bᵀe per block
//   batched   one sum over ranks of X_Bᵀe per block
//   gram      G and Xᵀy summed over ranks once; the sweeps then run on every rank without
//             communication
// The iterates match one rank's to rounding, not bit for bit: a dot product over the rows is
// summed per rank and then over ranks, another order than one rank's sum. The check's residual
// adds the ranks' sums of squares.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/comm.hpp"
#include "core/comm_views.hpp"
#include "core/kokkos_compat.hpp"
#include "core/random.hpp"
#include "core/spaces.hpp"
#include "core/stage.hpp"
#include "core/timing.hpp"
#include "core/views.hpp"

namespace klab::stages {

// The stage's deck keys (`obs`, `vars`, `sweeps`, `forms`, `batch`, `block`, `tolerance`,
// `history`) and its case: solvebak.cpp.
StageDefinition solvebak_stage();

struct SolveBakParams {
  std::int64_t obs = 0, vars = 0;
  int sweeps = 10;
  std::vector<std::string> forms;
  std::int64_t batch = 100;  // columns per block of the batched form
  std::int64_t block = 64;   // columns per block of the blocked form
  double tolerance = 1e-6;   // on mean |a_true - a| after the last sweep
  bool history = false;      // the error after every sweep, in the results file
};

constexpr std::uint64_t solvebak_stream_x = 11, solvebak_stream_a = 12;

// This rank's rows of X and y; a_true and the column norms whole.
template <class ExecSpace>
struct SolveBakProblem {
  SpaceMatrix<ExecSpace> x;
  SpaceVector<ExecSpace> a_true, y;
  SpaceVector<ExecSpace> column_norms;  // <X_j, X_j> over all rows
  Communicator comm;                    // the ranks the rows are split over
};

// <X_j, X_j> for every column j: a team per column, so a column's reads coalesce.
template <class ExecSpace>
struct ColumnNorms {
  SpaceMatrix<ExecSpace> x;
  SpaceVector<ExecSpace> norms;
  std::int64_t obs;

  KOKKOS_INLINE_FUNCTION void operator()(const typename Kokkos::TeamPolicy<ExecSpace>::member_type& member) const {
    const int j = member.league_rank();
    double sum = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(member, obs), [&](std::int64_t i, double& partial) { partial += x(i, j) * x(i, j); },
        sum);
    Kokkos::single(Kokkos::PerTeam(member), [&] { norms(j) = sum; });
  }
};

template <class ExecSpace>
void compute_column_norms(const ExecSpace& space, const SpaceMatrix<ExecSpace>& x,
                          const SpaceVector<ExecSpace>& norms) {
  const std::int64_t obs = x.extent(0);
  Kokkos::parallel_for(
      "solvebak::column_norms", Kokkos::TeamPolicy<ExecSpace>(space, static_cast<int>(x.extent(1)), Kokkos::AUTO),
      ColumnNorms<ExecSpace>{x, norms, obs});
}

// Throws when a column of X is zero: every form divides by its norm.
template <class NormsView>
void require_nonzero_columns(const NormsView& norms) {
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), norms);
  for (std::size_t j = 0; j < host.extent(0); ++j)
    if (!(host(j) > 0))
      throw std::runtime_error("column " + std::to_string(j) +
                               " of X is zero: coordinate descent divides by <X_j, X_j> = 0");
}

// The problem of obs rows, this rank's share of them on `space`. Throws when a rank would have no
// row: the residual form's step updates a on the rank's first row.
template <class ExecSpace>
SolveBakProblem<ExecSpace> make_solvebak_problem(const ExecSpace& space, std::int64_t obs, std::int64_t vars,
                                                 std::uint64_t seed, const Communicator& comm = Communicator()) {
  if (obs < comm.size())
    throw std::runtime_error("obs = " + std::to_string(obs) + " rows of X on " + std::to_string(comm.size()) +
                             " ranks: every rank needs at least one");
  const std::pair<std::int64_t, std::int64_t> rows = comm.share(obs);
  const std::int64_t local = rows.second - rows.first;
  SolveBakProblem<ExecSpace> p{SpaceMatrix<ExecSpace>("solvebak::x", local, vars),
                               SpaceVector<ExecSpace>("solvebak::a_true", vars),
                               SpaceVector<ExecSpace>("solvebak::y", local),
                               SpaceVector<ExecSpace>("solvebak::column_norms", vars), comm};
  fill_uniform(space, p.x, seed, solvebak_stream_x, -0.5, 0.5, rows.first, obs);
  fill_uniform(space, p.a_true, seed, solvebak_stream_a, -0.5, 0.5);
  compat::gemv(space, "N", 1.0, p.x, p.a_true, 0.0, p.y);
  compute_column_norms(space, p.x, p.column_norms);
  sum_over_ranks(comm, space, p.column_norms);
  space.fence();
  return p;
}

// The state the sweeps update: the coefficients a, and the residual e = y - X a (residual,
// blocked and batched forms; the gram form keeps none between sweeps).
template <class ExecSpace>
struct SolveBakState {
  SpaceVector<ExecSpace> a, residual;
};

// One coordinate step of the residual form fused with the next step's dot product, so a step
// costs one launch and one pass over the residual instead of the seed's three kernels:
//   da = dot_in / <X_j, X_j>;  e -= da X_j;  a_j += da;  dot_out = <X_next, e>.
// da is read on the device from the previous step's reduction, so the host only enqueues.
// Two scalars alternate as dot_in and dot_out: no kernel reads what it writes.
template <class ExecSpace>
struct ResidualStep {
  SpaceMatrix<ExecSpace> x;
  SpaceVector<ExecSpace> norms, e, a;
  std::int64_t j, next;
  SpaceScalar<ExecSpace> dot_in;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i, double& dot) const {
    const double da = dot_in() / norms(j);
    const double ei = e(i) - da * x(i, j);
    e(i) = ei;
    dot += x(i, next) * ei;
    if (i == 0) a(j) += da;
  }
};

template <class ExecSpace>
void residual_step(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p, const SolveBakState<ExecSpace>& s,
                   std::int64_t j, std::int64_t next, const SpaceScalar<ExecSpace>& dot_in,
                   const SpaceScalar<ExecSpace>& dot_out) {
  Kokkos::parallel_reduce(
      "solvebak::residual_step", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, p.x.extent(0)),
      ResidualStep<ExecSpace>{p.x, p.column_norms, s.residual, s.a, j, next, dot_in},
      Kokkos::Sum<double, typename ExecSpace::memory_space>(dot_out));
}

// <X_j, e>.
template <class ExecSpace>
struct DotColumn {
  SpaceMatrix<ExecSpace> x;
  std::int64_t j;
  SpaceVector<ExecSpace> e;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i, double& sum) const { sum += x(i, j) * e(i); }
};

template <class ExecSpace>
void dot_column(const ExecSpace& space, const SpaceMatrix<ExecSpace>& x, std::int64_t j,
                const SpaceVector<ExecSpace>& e, const SpaceScalar<ExecSpace>& dot) {
  Kokkos::parallel_reduce(
      "solvebak::dot", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, x.extent(0)),
      DotColumn<ExecSpace>{x, j, e}, Kokkos::Sum<double, typename ExecSpace::memory_space>(dot));
}

// The residual form: a sweep is `vars` fused steps; `dot` carries <X_j, e> between them. On
// several ranks each step's dot covers the rank's rows and is summed over the ranks before the
// next step divides it (on one rank sum_over_ranks returns at once: no fence, no copy).
template <class ExecSpace>
class ResidualSweeps {
 public:
  ResidualSweeps(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p, const SolveBakState<ExecSpace>& s)
      : space_(space), p_(p), s_(s), dot_a_("solvebak::dot_a"), dot_b_("solvebak::dot_b") {
    dot_column(space_, p_.x, 0, s_.residual, dot_a_);
    sum_over_ranks(p_.comm, space_, dot_a_);
  }
  void sweep() {
    const std::int64_t vars = p_.x.extent(1);
    for (std::int64_t j = 0; j < vars; ++j) {
      residual_step(space_, p_, s_, j, (j + 1) % vars, dot_a_, dot_b_);
      sum_over_ranks(p_.comm, space_, dot_b_);
      std::swap(dot_a_, dot_b_);
    }
  }

 private:
  ExecSpace space_;
  SolveBakProblem<ExecSpace> p_;
  SolveBakState<ExecSpace> s_;
  SpaceScalar<ExecSpace> dot_a_, dot_b_;
};

// Indices [first, second): a block of columns or a tile of rows.
using IndexRange = std::pair<std::int64_t, std::int64_t>;

// Calls f(range) for the consecutive ranges [first, first + size) that cover [0, n), the last one
// possibly shorter.
template <class F>
void for_each_block(std::int64_t n, std::int64_t size, F&& f) {
  for (std::int64_t first = 0; first < n; first += size) f(IndexRange(first, std::min(n, first + size)));
}

// How lower_solve splits its work on a space. Rows per tile: a GPU team keeps its tile's diagonal
// block in shared memory, 64 × 64 doubles (32 KiB: Kokkos 3.4 allows 40 KiB), a thread per row,
// and the other teams subtract the tile's update from the rows below. A CPU thread solves the
// whole triangle (the blocked form's G_BB) as one tile in one launch, reading it where it lies:
// the steps are a chain, and a launch of teams across cores costs more than the panel work it
// would spread. Columns per step of the substitution: each thread finds the step's d values
// itself, so the team meets at a barrier once per `step` columns and a row takes their shares in
// one pass.
template <class ExecSpace>
struct LowerSolveShape {
  static constexpr bool gpu = SpaceTraits<ExecSpace>::is_device;
  static constexpr std::int64_t tile = gpu ? 64 : std::int64_t(1) << 40;
  static constexpr int team_size = gpu ? 64 : 1;
  static constexpr int step = 4;
  static_assert(tile % step == 0, "a previous tile is whole steps");
};

// One launch of lower_solve, for the tile of rows T = [first, end); the previous tile's rows are
// [previous, first), their d solved. Team 0 takes the tile: r_T minus the panel g(T, previous) times
// the previous d, then forward substitution on the tile's diagonal block (copied to scratch on a
// GPU: the steps are a chain, and each then waits for shared memory, not global memory), writing
// d_T and adding it to a_T. The other teams subtract the previous d from the rows below the tile
// through the rest of that panel, `tile` rows each. A row has thus lost every earlier tile's share
// when its own tile is solved, and the panels cost no launches of their own.
template <class ExecSpace>
struct LowerSolveTile {
  using Shape = LowerSolveShape<ExecSpace>;
  using Member = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  using ScratchMatrix = Kokkos::View<double**, Kokkos::LayoutLeft, typename ExecSpace::scratch_memory_space,
                                     Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using ScratchVector =
      Kokkos::View<double*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

  SpaceMatrix<ExecSpace> g;
  SpaceVector<ExecSpace> rd, a;  // rd: r, overwritten by d tile by tile
  std::int64_t previous, first, end;
  int level;  // of the team scratch

  // c and 1/D, and on a GPU the tile's diagonal block.
  static std::size_t scratch_bytes(std::int64_t width) {
    return 2 * ScratchVector::shmem_size(width) + (Shape::gpu ? ScratchMatrix::shmem_size(width, width) : 0);
  }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& member) const {
    if (member.league_rank() == 0) {
      solve_tile(member);
    } else {
      const std::int64_t begin = end + (member.league_rank() - 1) * Shape::tile;
      const std::int64_t n = rd.extent(0), stop = begin + Shape::tile < n ? begin + Shape::tile : n;
      subtract_previous(member, begin, stop, rd, 0);
    }
  }

  // target(i - offset) = rd(i) - Σ_j g(i, j) d_j over the previous tile's j, for rows i in [begin, stop).
  // A thread takes a row and sums in a register, a GPU warp reading a panel column's consecutive
  // elements. (On a CPU the one tile has no previous tile: this copies r.)
  template <class Target>
  KOKKOS_INLINE_FUNCTION void subtract_previous(const Member& member, std::int64_t begin, std::int64_t stop,
                                                const Target& target, std::int64_t offset) const {
    Kokkos::parallel_for(Kokkos::TeamThreadRange(member, begin, stop), [&](std::int64_t i) {
      double sum = 0;
      for (std::int64_t j = previous; j < first; ++j) sum += g(i, j) * rd(j);
      target(i - offset) = rd(i) - sum;
    });
  }

  KOKKOS_INLINE_FUNCTION void solve_tile(const Member& member) const {
    const int width = static_cast<int>(end - first);
    const ScratchVector c(member.team_scratch(level), width), inverse_diagonal(member.team_scratch(level), width);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(member, width),
                         [&](int i) { inverse_diagonal(i) = 1.0 / g(first + i, first + i); });
    subtract_previous(member, first, end, c, first);
    if constexpr (Shape::gpu) {
      const ScratchMatrix block(member.team_scratch(level), width, width);
      // A row's loads all issued before its stores: a loop that stored each element as it came
      // would wait for the loads one after another.
      constexpr int in_flight = 16;
      Kokkos::parallel_for(Kokkos::TeamThreadRange(member, width), [&](int i) {
        for (int j = 0; j <= i; j += in_flight) {
          double row[in_flight];
          for (int m = 0; m < in_flight; ++m) row[m] = j + m <= i ? g(first + i, first + j + m) : 0.0;
          for (int m = 0; m < in_flight; ++m)
            if (j + m <= i) block(i, j + m) = row[m];
        }
      });
      substitute(member, block, c, inverse_diagonal);
    } else {  // the tile stays in the core's caches
      const Kokkos::pair<std::int64_t, std::int64_t> rows(first, end);
      substitute(member, Kokkos::subview(g, rows, rows), c, inverse_diagonal);
    }
  }

  // Forward substitution on the tile's diagonal block, c holding the tile's right-hand side. A step
  // of `step` columns: every thread solves the step's small triangle itself, one writes its d, and
  // the rows below take the step's shares.
  template <class Block>
  KOKKOS_INLINE_FUNCTION void substitute(const Member& member, const Block& block, const ScratchVector& c,
                                         const ScratchVector& inverse_diagonal) const {
    const int width = static_cast<int>(c.extent(0));
    member.team_barrier();
    for (int j = 0; j < width; j += Shape::step) {
      const int count = width - j < Shape::step ? width - j : Shape::step;
      double d[Shape::step] = {};
      for (int m = 0; m < Shape::step; ++m)
        if (m < count) {
          double sum = c(j + m);
          for (int k = 0; k < m; ++k) sum -= block(j + m, j + k) * d[k];
          d[m] = sum * inverse_diagonal(j + m);
        }
      Kokkos::single(Kokkos::PerTeam(member), [&] {
        for (int m = 0; m < Shape::step; ++m)
          if (m < count) {
            rd(first + j + m) = d[m];
            a(first + j + m) += d[m];
          }
      });
      // Rows below a shorter (last) step: none.
      Kokkos::parallel_for(Kokkos::TeamThreadRange(member, j + count, width), [&](int i) {
        double sum = 0;
        for (int m = 0; m < Shape::step; ++m) sum += block(i, j + m) * d[m];
        c(i) -= sum;
      });
      member.team_barrier();
    }
  }
};

// Solves (D + L) d = r for the n×n matrix g, D its diagonal and L the part below it (the part above
// is not read), overwriting r with d, and adds d to a: forward substitution, one launch per tile of
// rows (LowerSolveTile).
template <class ExecSpace>
void lower_solve(const ExecSpace& space, const SpaceMatrix<ExecSpace>& g, const SpaceVector<ExecSpace>& rd,
                 const SpaceVector<ExecSpace>& a) {
  using Shape = LowerSolveShape<ExecSpace>;
  using Policy = Kokkos::TeamPolicy<ExecSpace, Kokkos::Schedule<Kokkos::Dynamic>>;
  const std::int64_t n = g.extent(0);
  for_each_block(n, Shape::tile, [&](const IndexRange& rows) {
    const auto [first, end] = rows;
    const std::size_t bytes = LowerSolveTile<ExecSpace>::scratch_bytes(end - first);
    const int level = bytes <= static_cast<std::size_t>(Policy::scratch_size_max(0)) ? 0 : 1;
    // Teams for the rows below, once a previous tile has a d to subtract.
    const std::int64_t teams_below = first > 0 ? (n - end + Shape::tile - 1) / Shape::tile : 0;
    Policy policy(space, static_cast<int>(1 + teams_below), Shape::team_size);
    policy.set_scratch_size(level, Kokkos::PerTeam(bytes));
    Kokkos::parallel_for("solvebak::lower_solve", policy,
                         LowerSolveTile<ExecSpace>{g, rd, a, first > 0 ? first - Shape::tile : 0, first, end, level});
  });
}

// The gram form's sweep on a CPU: one thread walks the columns in one launch (the steps are a
// chain, and G stays in its caches), keeping r = Xᵀy - G a across sweeps: da = r_j / G(j, j),
// r -= da G(:, j), a_j += da — the per-column sweep's steps, reading G once, by columns, in
// updates that vectorise.
template <class ExecSpace>
struct HostGramSweep {
  SpaceMatrix<ExecSpace> g;
  SpaceVector<ExecSpace> r, a;

  KOKKOS_INLINE_FUNCTION void operator()(int) const {
    const std::int64_t n = g.extent(0);
    for (std::int64_t j = 0; j < n; ++j) {
      const double da = r(j) / g(j, j);
      for (std::int64_t i = 0; i < n; ++i) r(i) -= da * g(i, j);
      a(j) += da;
    }
  }
};

// The gram form's sweep. On a GPU: r = Xᵀy - G a, then (D + L) d = r solved in place in `work`, and
// a += d. Forward substitution takes the columns in the seed's order, each d_j from r_j less the
// updates of the columns before it: the per-column sweep's steps, with its vars-long update of r
// after each step gathered into one gemv and the tiles' panels. On a CPU: HostGramSweep on r,
// which holds Xᵀy - G a from the form's start on.
template <class ExecSpace>
void gram_sweep(const ExecSpace& space, const SpaceMatrix<ExecSpace>& g,
                [[maybe_unused]] const SpaceVector<ExecSpace>& xty, const SolveBakState<ExecSpace>& s,
                const SpaceVector<ExecSpace>& r) {
  if constexpr (SpaceTraits<ExecSpace>::is_device) {
    Kokkos::deep_copy(space, r, xty);
    compat::gemv(space, "N", -1.0, g, s.a, 1.0, r);
    lower_solve(space, g, r, s.a);
  } else {
    Kokkos::parallel_for("solvebak::gram_sweep", Kokkos::RangePolicy<ExecSpace>(space, 0, 1),
                         HostGramSweep<ExecSpace>{g, r, s.a});
  }
}

// The sweep of the forms that take X a block of columns B at a time: c = X_Bᵀe (one gemv, one sum
// over the ranks), then `solve_block(columns, cd)` turns c into the block's update d in place and
// adds it to a_B, then e -= X_B d (one gemv). `work` holds c and d, at least a block long.
template <class ExecSpace, class SolveBlock>
void block_sweep(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p, const SolveBakState<ExecSpace>& s,
                 std::int64_t block, const SpaceVector<ExecSpace>& work, const SolveBlock& solve_block) {
  for_each_block(p.x.extent(1), block, [&](const IndexRange& columns) {
    const auto x_block = Kokkos::subview(p.x, Kokkos::ALL, columns);
    const SpaceVector<ExecSpace> cd = Kokkos::subview(work, IndexRange(0, columns.second - columns.first));
    compat::gemv(space, "T", 1.0, x_block, s.residual, 0.0, cd);
    sum_over_ranks(p.comm, space, cd);
    solve_block(columns, cd);
    compat::gemv(space, "N", -1.0, x_block, cd, 1.0, s.residual);
  });
}

// The batched form's scaling of a block's steps: da_B /= diag;  a_B += da_B.
template <class ExecSpace>
struct BatchedScale {
  SpaceVector<ExecSpace> da_block, norms, a;
  std::int64_t first;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t k) const {
    da_block(k) /= norms(first + k);
    a(first + k) += da_block(k);
  }
};

// The batched form's sweep: per block, every column's step from the same e (block Jacobi).
template <class ExecSpace>
void batched_sweep(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p, const SolveBakState<ExecSpace>& s,
                   std::int64_t batch, const SpaceVector<ExecSpace>& work) {
  const auto scale_block = [&](const IndexRange& columns, const SpaceVector<ExecSpace>& da_block) {
    Kokkos::parallel_for("solvebak::batched_scale",
                         Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, da_block.extent(0)),
                         BatchedScale<ExecSpace>{da_block, p.column_norms, s.a, columns.first});
  };
  block_sweep(space, p, s, batch, work, scale_block);
}

// The blocked form keeps G_BB of each block B of columns in B's rows of one vars × block matrix,
// from its column 0.
template <class ExecSpace>
SpaceMatrix<ExecSpace> gram_of_block(const SpaceMatrix<ExecSpace>& block_gram, const IndexRange& columns) {
  return Kokkos::subview(block_gram, columns, IndexRange(0, columns.second - columns.first));
}

// G_BB = X_BᵀX_B for each block B of block_gram.extent(1) columns, summed over the ranks.
template <class ExecSpace>
void compute_block_grams(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p,
                         const SpaceMatrix<ExecSpace>& block_gram) {
  for_each_block(p.x.extent(1), block_gram.extent(1), [&](const IndexRange& columns) {
    const auto x_block = Kokkos::subview(p.x, Kokkos::ALL, columns);
    compat::gemm(space, "T", "N", 1.0, x_block, x_block, 0.0, gram_of_block(block_gram, columns));
  });
  sum_over_ranks(p.comm, space, block_gram);
}

// The blocked form's sweep: per block, the seed's steps on its columns, in order, as forward
// substitution with G_BB.
template <class ExecSpace>
void blocked_sweep(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p, const SolveBakState<ExecSpace>& s,
                   const SpaceMatrix<ExecSpace>& block_gram, const SpaceVector<ExecSpace>& work) {
  const auto solve_block = [&](const IndexRange& columns, const SpaceVector<ExecSpace>& cd) {
    lower_solve(space, gram_of_block(block_gram, columns), cd, SpaceVector<ExecSpace>(Kokkos::subview(s.a, columns)));
  };
  block_sweep(space, p, s, block_gram.extent(1), work, solve_block);
}

// The sweeps of the forms a case runs, one form after another, on one problem. The state is
// allocated once and shared by the forms (a, and one residual e of obs rows for the residual,
// blocked and batched forms), since each start() resets what its form uses. The Gram matrices are
// computed here, once, and their time kept apart from the sweeps: the gram form's G = XᵀX and the
// blocked form's diagonal blocks G_BB. On several ranks they (and Xᵀy) are the sums of the ranks'
// shares, so the gram sweeps need no communication.
template <class ExecSpace>
class SolveBakSweeps {
 public:
  // Throws when a column of X is zero: every form divides by its norm.
  SolveBakSweeps(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p, const std::vector<std::string>& forms,
                 std::int64_t batch, std::int64_t block)
      : space_(space), p_(p), batch_(batch), a_("solvebak::a", p.x.extent(1)) {
    require_nonzero_columns(p.column_norms);
    const std::int64_t obs = p.x.extent(0), vars = p.x.extent(1);
    const auto runs = [&](const char* form) { return std::count(forms.begin(), forms.end(), form) > 0; };
    if (runs("residual") || runs("batched") || runs("blocked")) e_ = SpaceVector<ExecSpace>("solvebak::e", obs);
    const std::int64_t work = std::max(runs("batched") ? std::min(batch, vars) : 0,
                                       runs("blocked") ? std::min(block, vars) : 0);
    if (work > 0) work_ = SpaceVector<ExecSpace>("solvebak::block_work", work);
    if (runs("blocked")) {
      block_gram_ = SpaceMatrix<ExecSpace>("solvebak::block_gram", vars, std::min(block, vars));
      block_gram_setup_s_ = time_once(space_, [&] { compute_block_grams(space_, p_, block_gram_); });
    }
    if (runs("gram")) {
      g_ = SpaceMatrix<ExecSpace>("solvebak::gram", vars, vars);
      xty_ = SpaceVector<ExecSpace>("solvebak::xty", vars);
      r_ = SpaceVector<ExecSpace>("solvebak::r", vars);
      gram_setup_s_ = time_once(space_, [&] {
        compat::gemm(space_, "T", "N", 1.0, p_.x, p_.x, 0.0, g_);
        sum_over_ranks(p_.comm, space_, g_);
      });
    }
  }

  // Puts `form` (one of the constructor's forms) at its start, a = 0 and its residual e = y, or
  // Xᵀy for the gram form; the sweeps that follow are that form's.
  void start(const std::string& form) {
    form_ = form;
    Kokkos::deep_copy(space_, a_, 0.0);
    if (form_ == "gram") {
      compat::gemv(space_, "T", 1.0, p_.x, p_.y, 0.0, xty_);
      sum_over_ranks(p_.comm, space_, xty_);
      Kokkos::deep_copy(space_, r_, xty_);  // Xᵀy - G a at a = 0
      state_ = {a_, {}};
      return;
    }
    Kokkos::deep_copy(space_, e_, p_.y);
    state_ = {a_, e_};
    if (form_ == "residual") residual_.emplace(space_, p_, state_);
  }

  void sweep() {
    if (form_ == "gram")
      gram_sweep(space_, g_, xty_, state_, r_);
    else if (form_ == "blocked")
      blocked_sweep(space_, p_, state_, block_gram_, work_);
    else if (form_ == "batched")
      batched_sweep(space_, p_, state_, batch_, work_);
    else
      residual_->sweep();
  }

  // The started form's a and residual.
  const SolveBakState<ExecSpace>& state() const { return state_; }
  // Seconds of computing G = XᵀX (0 without the gram form).
  double gram_setup_s() const { return gram_setup_s_; }
  // Seconds of computing the blocked form's G_BB (0 without it).
  double block_gram_setup_s() const { return block_gram_setup_s_; }

 private:
  ExecSpace space_;
  SolveBakProblem<ExecSpace> p_;
  std::int64_t batch_;
  SpaceVector<ExecSpace> a_, e_, work_, xty_, r_;
  SpaceMatrix<ExecSpace> g_, block_gram_;
  double gram_setup_s_ = 0, block_gram_setup_s_ = 0;
  std::string form_;
  SolveBakState<ExecSpace> state_;
  std::optional<ResidualSweeps<ExecSpace>> residual_;
};

// mean |a_true - a|, the seed's error: a is replicated, so every rank finds the same.
template <class ExecSpace>
double mean_abs_error(const SolveBakProblem<ExecSpace>& p, const SolveBakState<ExecSpace>& s) {
  const auto a = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.a);
  const auto a_true = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), p.a_true);
  double sum = 0;
  for (std::size_t j = 0; j < a.extent(0); ++j) sum += std::fabs(a_true(j) - a(j));
  return sum / static_cast<double>(a.extent(0));
}

// <v, v>.
template <class ExecSpace>
struct SumOfSquares {
  SpaceVector<ExecSpace> v;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i, double& sum) const { sum += v(i) * v(i); }
};

// ||y - X a|| / ||y||, computed afresh (not from the state the sweeps carried): each rank's sums of
// squares over its rows, added over the ranks.
template <class ExecSpace>
double relative_residual(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p,
                         const SolveBakState<ExecSpace>& s) {
  SpaceVector<ExecSpace> e("solvebak::check_residual", p.y.extent(0));
  Kokkos::deep_copy(e, p.y);
  compat::gemv(space, "N", -1.0, p.x, s.a, 1.0, e);
  std::vector<double> squares(2, 0.0);  // <e, e>, <y, y>
  const auto y = p.y;
  Kokkos::parallel_reduce(
      "solvebak::residual_norm", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, e.extent(0)),
      SumOfSquares<ExecSpace>{e}, squares[0]);
  Kokkos::parallel_reduce(
      "solvebak::y_norm", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, y.extent(0)),
      SumOfSquares<ExecSpace>{y}, squares[1]);
  p.comm.sum(squares);
  const double e2 = squares[0], y2 = squares[1];
  return y2 > 0 ? std::sqrt(e2 / y2) : std::sqrt(e2);
}

// Of solvebak_bytes, what every rank holds in full: the vectors of vars (a_true, the column norms,
// a, the block work, and Xᵀy and r of the gram form), G for the gram form and the blocked form's
// G_BB, a vars × block matrix.
inline double solvebak_replicated_bytes(const SolveBakParams& p) {
  const double vars = static_cast<double>(p.vars);
  const auto runs = [&](const char* form) { return std::count(p.forms.begin(), p.forms.end(), form) > 0; };
  const double block = static_cast<double>(std::min(p.block, p.vars));
  return 8.0 * (6.0 * vars + (runs("gram") ? vars * vars : 0.0) + (runs("blocked") ? vars * block : 0.0));
}

// Bytes the stage allocates on the space: X, its vectors of obs rows (y, the residual, the check's
// residual), and the replicated rest.
inline double solvebak_bytes(const SolveBakParams& p) {
  const double obs = static_cast<double>(p.obs), vars = static_cast<double>(p.vars);
  return 8.0 * (obs * vars + 3.0 * obs) + solvebak_replicated_bytes(p);
}

// Per sweep of a form: the residual, blocked and batched forms read X (obs × vars) twice and do 4
// flops per element (the blocked form's small solves, vars × block flops, left out); the gram form
// reads G (vars × vars) one and a half times, once in the gemv and its lower triangle in the
// solve, and does 2 flops per element read.
inline Work solvebak_sweep_work(const std::string& form, std::int64_t obs, std::int64_t vars) {
  if (form == "gram") {
    const double elements = 1.5 * static_cast<double>(vars) * static_cast<double>(vars);
    return {8.0 * elements, 2.0 * elements};
  }
  const double elements = static_cast<double>(obs) * static_cast<double>(vars);
  return {16.0 * elements, 4.0 * elements};
}

}  // namespace klab::stages
