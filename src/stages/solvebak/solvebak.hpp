#pragma once
// Stage `solvebak`: X·a = y by SolveBak coordinate descent (arXiv 2104.12570), the seed
// notebook's solver, X obs×vars. Forms:
//
//   residual (seed-exact)             a = 0, e = y; per sweep, for j = 0 .. vars-1:
//                                       da = <X_j, e> / <X_j, X_j>;  e -= da X_j;  a_j += da
//   blocked                           the residual form's iterates, `block` columns at a time: per
//                                     block B, c = X_Bᵀe (gemv), solve (D + L_BB) d = c, e -= X_B d
//                                     (gemv), a_B += d; G_BB = X_BᵀX_B (D its diagonal, L_BB the
//                                     part below) and the inverse of D + L_BB computed once per case,
//                                     so the solve is a small gemv
//   gram                              one Gauss–Seidel sweep on G a = Xᵀy per sweep, G = XᵀX:
//                                     T a' = Xᵀy - U a (T = D + L, G's lower triangle and diagonal,
//                                     U the part above), applied as a' = T⁻¹Xᵀy - (T⁻¹U) a, one
//                                     gemv; G, Xᵀy and the products with T⁻¹ once per case (Kokkos
//                                     Kernels gemm, trsm)
//   batched ("parallel HPSCDP")       per block B of `batch` columns: da_B = X_Bᵀe / diag;
//                                     e -= X_B da_B;  a_B += da_B  (gemv; B = 1 is `residual`)
//
// Why blocked and gram give the residual form's iterates (in exact arithmetic): within a block,
// the seed's step j sees e after the block's earlier steps i < j, so <X_j, e> = c_j - Σ_i G_ji da_i:
// that is row j of (D + L_BB) d = c. The gram form is the same with the whole of X as one block
// and Xᵀe = Xᵀy - G a. Solving with the triangle through products with its inverse computed once
// takes the same steps in other rounding (the triangle is that of a Gram matrix, its diagonal
// positive); the tests hold both forms to the per-column loops.
//
// Data as in the seed: X and a_true uniform in [-0.5, 0.5), y = X a_true; X is LayoutLeft so a
// column is contiguous. The check is the seed's error, mean |a_true - a|, after the last sweep,
// against the deck's `tolerance`; the residual ||y - X a|| / ||y|| is reported beside it.
// Each record's samples are the sweeps, each timed alone; the Gram matrices (G, or the blocked
// form's G_BB) and their triangles' inverses are computed once per case, timed apart.
//
// On several ranks the rows of X (and of y and e) are split over them (Communicator::share),
// each rank generating its block from the global seed; a, a_true and the column norms are
// replicated, and every rank takes the same steps. The forms combine their sums:
//   residual  one sum over ranks of <X_j, e> per column (a scalar: latency-bound by design, the
//             seed's loop as it is)
//   blocked   each G_BB summed over ranks once; one sum over ranks of X_Bᵀe per block
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
#include "linalg/triangular.hpp"

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

// Indices [first, second): a block of columns.
using IndexRange = std::pair<std::int64_t, std::int64_t>;

// Calls f(range) for the consecutive ranges [first, first + size) that cover [0, n), the last one
// possibly shorter.
template <class F>
void for_each_block(std::int64_t n, std::int64_t size, F&& f) {
  for (std::int64_t first = 0; first < n; first += size) f(IndexRange(first, std::min(n, first + size)));
}

// The gram form's sweep, one Gauss–Seidel sweep on G a = Xᵀy: with T = D + L (G's lower triangle
// and diagonal) and U the part above, T a' = Xᵀy - U a, so a' = v - K a for v = T⁻¹Xᵀy and
// K = T⁻¹U computed once per case: one gemv (into r, then copied to a). Forward substitution with
// T takes the columns in the seed's order, each step from r_j less the updates of the columns
// before it: the per-column sweep's steps, whose chain of vars dependent steps this applies as one
// pass over K that every thread shares.
template <class ExecSpace>
void gram_sweep(const ExecSpace& space, const SpaceMatrix<ExecSpace>& k, const SpaceVector<ExecSpace>& v,
                const SolveBakState<ExecSpace>& s, const SpaceVector<ExecSpace>& r) {
  Kokkos::deep_copy(space, r, v);
  compat::gemv(space, "N", -1.0, k, s.a, 1.0, r);
  Kokkos::deep_copy(space, s.a, r);
}

// The two passes over a block of columns X_B of tall X (obs ≫ columns) that the blocked and
// batched forms make per block: c = X_Bᵀe and e -= X_B d. On a host space they are the host BLAS's
// gemv. On a GPU cuBLAS's gemv ran the first as a split-K gemm plus a reduction, and both below
// the bandwidth a block can stream at; klab's kernels read X_B once, coalesced, with many loads in
// flight per thread. Both split the rows the same way: a team of `lanes` × `groups` threads takes
// `rows_per_team` rows; a thread takes rows lane, lane + lanes, ... (a warp reads consecutive rows
// of a column) of the columns of its group, summing in registers; the team then adds its threads'
// sums in scratch.
template <class ExecSpace>
struct TallBlockTeams {
  using Member = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  using Scratch = Kokkos::View<double**, Kokkos::LayoutLeft, typename ExecSpace::scratch_memory_space,
                               Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  static constexpr int lanes = 32, groups = 8, iterations = 8, team_size = lanes * groups;
  static constexpr std::int64_t rows_per_team = lanes * iterations;

  static Kokkos::TeamPolicy<ExecSpace> policy(const ExecSpace& space, std::int64_t obs, std::size_t scratch_bytes) {
    Kokkos::TeamPolicy<ExecSpace> teams(space, static_cast<int>((obs + rows_per_team - 1) / rows_per_team), team_size);
    teams.set_scratch_size(0, Kokkos::PerTeam(scratch_bytes));
    return teams;
  }
};

// c += X_Bᵀe: a group takes `per_thread` consecutive columns at a time; the team's sum of a
// column goes to c by one atomic (a second pass over the teams' partial sums cost more).
template <class ExecSpace, class XBlock>
struct BlockDotsByTeam : TallBlockTeams<ExecSpace> {
  using Teams = TallBlockTeams<ExecSpace>;
  using typename Teams::Member, typename Teams::Scratch;
  using Teams::groups, Teams::iterations, Teams::lanes, Teams::rows_per_team;
  static constexpr int per_thread = 8, columns_per_pass = groups * per_thread;

  XBlock x;
  SpaceVector<ExecSpace> e, c;

  BlockDotsByTeam(const XBlock& x_, const SpaceVector<ExecSpace>& e_, const SpaceVector<ExecSpace>& c_)
      : x(x_), e(e_), c(c_) {}

  // The lanes' sums of a pass, a padding row keeping a column's sums off a single memory bank.
  static std::size_t scratch_bytes() { return Scratch::shmem_size(lanes + 1, columns_per_pass); }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& member) const {
    const int thread = member.team_rank(), lane = thread % lanes, group = thread / lanes;
    const std::int64_t first = member.league_rank() * rows_per_team;
    const std::int64_t obs = x.extent(0), width = x.extent(1);
    const Scratch sums(member.team_scratch(0), lanes + 1, columns_per_pass);
    for (std::int64_t j0 = 0; j0 < width; j0 += columns_per_pass) {
      const std::int64_t j_first = j0 + group * per_thread;
      double acc[per_thread] = {};
      for (int k = 0; k < iterations; ++k) {
        const std::int64_t i = first + k * lanes + lane;
        if (i < obs) {
          const double ei = e(i);
          for (int m = 0; m < per_thread; ++m)
            if (j_first + m < width) acc[m] += x(i, j_first + m) * ei;
        }
      }
      for (int m = 0; m < per_thread; ++m) sums(lane, group * per_thread + m) = acc[m];
      member.team_barrier();
      if (thread < columns_per_pass && j0 + thread < width) {
        double sum = 0;
        for (int l = 0; l < lanes; ++l) sum += sums(l, thread);
        Kokkos::atomic_add(&c(j0 + thread), sum);
      }
      member.team_barrier();
    }
  }
};

// e -= X_B d: a group takes every groups-th column, a thread summing its rows' shares; the team
// adds the groups' sums per row.
template <class ExecSpace, class XBlock>
struct SubtractBlockByTeam : TallBlockTeams<ExecSpace> {
  using Teams = TallBlockTeams<ExecSpace>;
  using typename Teams::Member, typename Teams::Scratch;
  using Teams::groups, Teams::iterations, Teams::lanes, Teams::rows_per_team;
  static_assert(Teams::team_size == rows_per_team, "each thread finishes one of the team's rows");

  XBlock x;
  SpaceVector<ExecSpace> d, e;

  SubtractBlockByTeam(const XBlock& x_, const SpaceVector<ExecSpace>& d_, const SpaceVector<ExecSpace>& e_)
      : x(x_), d(d_), e(e_) {}

  static std::size_t scratch_bytes() { return Scratch::shmem_size(rows_per_team, groups); }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& member) const {
    const int thread = member.team_rank(), lane = thread % lanes, group = thread / lanes;
    const std::int64_t first = member.league_rank() * rows_per_team;
    const std::int64_t obs = x.extent(0), width = x.extent(1);
    const Scratch sums(member.team_scratch(0), rows_per_team, groups);
    double acc[iterations] = {};
    for (std::int64_t j = group; j < width; j += groups) {
      const double dj = d(j);
      for (int k = 0; k < iterations; ++k) {
        const std::int64_t i = first + k * lanes + lane;
        if (i < obs) acc[k] += x(i, j) * dj;
      }
    }
    for (int k = 0; k < iterations; ++k) sums(k * lanes + lane, group) = acc[k];
    member.team_barrier();
    const std::int64_t i = first + thread;
    if (i < obs) {
      double sum = 0;
      for (int g = 0; g < groups; ++g) sum += sums(thread, g);
      e(i) -= sum;
    }
  }
};

// c = X_Bᵀe.
template <class ExecSpace, class XBlock>
void block_dots(const ExecSpace& space, const XBlock& x_block, const SpaceVector<ExecSpace>& e,
                const SpaceVector<ExecSpace>& c) {
  if constexpr (SpaceTraits<ExecSpace>::is_device) {
    using Dots = BlockDotsByTeam<ExecSpace, XBlock>;
    Kokkos::deep_copy(space, c, 0.0);
    Kokkos::parallel_for("solvebak::block_dots", Dots::policy(space, x_block.extent(0), Dots::scratch_bytes()),
                         Dots(x_block, e, c));
  } else {
    compat::gemv(space, "T", 1.0, x_block, e, 0.0, c);
  }
}

// e -= X_B d.
template <class ExecSpace, class XBlock>
void subtract_block(const ExecSpace& space, const XBlock& x_block, const SpaceVector<ExecSpace>& d,
                    const SpaceVector<ExecSpace>& e) {
  if constexpr (SpaceTraits<ExecSpace>::is_device) {
    using Subtract = SubtractBlockByTeam<ExecSpace, XBlock>;
    Kokkos::parallel_for("solvebak::subtract_block",
                         Subtract::policy(space, x_block.extent(0), Subtract::scratch_bytes()),
                         Subtract(x_block, d, e));
  } else {
    compat::gemv(space, "N", -1.0, x_block, d, 1.0, e);
  }
}

// What the blocked and batched forms' sweeps work in: c, a block long, and the sweep's update
// `delta`, vars long.
template <class ExecSpace>
struct BlockWork {
  SpaceVector<ExecSpace> c, delta;

  BlockWork() = default;
  BlockWork(std::int64_t vars, std::int64_t block) : c("solvebak::block_work", block), delta("solvebak::delta", vars) {}
};

// The sweep of the forms that take X a block of columns B at a time: c = X_Bᵀe (one sum over the
// ranks), then `block_step(columns, c, d)` turns c into the block's update d, B's part of delta,
// and e -= X_B d (one pass over X_B each way: block_dots, subtract_block); a += delta once the
// blocks are done (no step reads a).
template <class ExecSpace, class BlockStep>
void block_sweep(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p, const SolveBakState<ExecSpace>& s,
                 std::int64_t block, const BlockWork<ExecSpace>& work, const BlockStep& block_step) {
  for_each_block(p.x.extent(1), block, [&](const IndexRange& columns) {
    const auto x_block = Kokkos::subview(p.x, Kokkos::ALL, columns);
    const SpaceVector<ExecSpace> c = Kokkos::subview(work.c, IndexRange(0, columns.second - columns.first));
    const SpaceVector<ExecSpace> d = Kokkos::subview(work.delta, columns);
    block_dots(space, x_block, s.residual, c);
    sum_over_ranks(p.comm, space, c);
    block_step(columns, c, d);
    subtract_block(space, x_block, d, s.residual);
  });
  compat::axpy(space, 1.0, work.delta, s.a);
}

// The batched form's step on a block: d_k = c_k / <X_k, X_k>.
template <class ExecSpace>
struct BatchedStep {
  SpaceVector<ExecSpace> c, d, norms;
  std::int64_t first;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t k) const { d(k) = c(k) / norms(first + k); }
};

// The batched form's sweep: per block, every column's step from the same e (block Jacobi).
template <class ExecSpace>
void batched_sweep(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p, const SolveBakState<ExecSpace>& s,
                   std::int64_t batch, const BlockWork<ExecSpace>& work) {
  const auto step = [&](const IndexRange& columns, const SpaceVector<ExecSpace>& c, const SpaceVector<ExecSpace>& d) {
    Kokkos::parallel_for("solvebak::batched_step",
                         Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, c.extent(0)),
                         BatchedStep<ExecSpace>{c, d, p.column_norms, columns.first});
  };
  block_sweep(space, p, s, batch, work, step);
}

// The blocked form keeps (D_BB + L_BB)⁻¹ of each block B of columns in B's rows of one vars × block
// matrix, from its column 0.
template <class ExecSpace>
SpaceMatrix<ExecSpace> block_of(const SpaceMatrix<ExecSpace>& block_inverse, const IndexRange& columns) {
  return Kokkos::subview(block_inverse, columns, IndexRange(0, columns.second - columns.first));
}

// For each block B of block_inverse.extent(1) columns, G_BB = X_BᵀX_B (summed over the ranks) and the
// inverse of its lower triangle, D_BB + L_BB.
template <class ExecSpace>
void compute_block_inverses(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p,
                            const SpaceMatrix<ExecSpace>& block_inverse) {
  for_each_block(p.x.extent(1), block_inverse.extent(1), [&](const IndexRange& columns) {
    const std::int64_t width = columns.second - columns.first;
    const auto x_block = Kokkos::subview(p.x, Kokkos::ALL, columns);
    // Contiguous, as sum_over_ranks needs.
    const SpaceMatrix<ExecSpace> gram("solvebak::block_gram", width, width);
    compat::gemm(space, "T", "N", 1.0, x_block, x_block, 0.0, gram);
    sum_over_ranks(p.comm, space, gram);
    linalg::invert_lower(space, gram, block_of(block_inverse, columns));
  });
}

// The gram form's K = T⁻¹U and v = T⁻¹Xᵀy (gram_sweep, v in the vars × 1 matrix `start`), from
// G = XᵀX and Xᵀy summed over the ranks; G is dropped once they are made.
template <class ExecSpace>
void compute_gauss_seidel(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p,
                          const SpaceMatrix<ExecSpace>& k, const SpaceMatrix<ExecSpace>& start) {
  const std::int64_t vars = p.x.extent(1);
  const SpaceMatrix<ExecSpace> g("solvebak::gram", vars, vars);
  compat::gemm(space, "T", "N", 1.0, p.x, p.x, 0.0, g);
  sum_over_ranks(p.comm, space, g);
  const SpaceVector<ExecSpace> xty = Kokkos::subview(start, Kokkos::ALL, 0);
  compat::gemv(space, "T", 1.0, p.x, p.y, 0.0, xty);
  sum_over_ranks(p.comm, space, xty);
  linalg::gauss_seidel_matrix(space, g, k);
  linalg::solve_lower(space, g, start);
}

// The blocked form's sweep: per block, the seed's steps on its columns, in order: forward
// substitution with G_BB, as one small gemv with its inverse.
template <class ExecSpace>
void blocked_sweep(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p, const SolveBakState<ExecSpace>& s,
                   const SpaceMatrix<ExecSpace>& block_inverse, const BlockWork<ExecSpace>& work) {
  const auto step = [&](const IndexRange& columns, const SpaceVector<ExecSpace>& c, const SpaceVector<ExecSpace>& d) {
    compat::gemv(space, "N", 1.0, block_of(block_inverse, columns), c, 0.0, d);
  };
  block_sweep(space, p, s, block_inverse.extent(1), work, step);
}

// The sweeps of the forms a case runs, one form after another, on one problem. The state is
// allocated once and shared by the forms (a, and one residual e of obs rows for the residual,
// blocked and batched forms), since each start() resets what its form uses. The Gram matrices and
// what the sweeps take from their triangles are computed here, once, and their time kept apart
// from the sweeps: the gram form's G = XᵀX (with Xᵀy) and the blocked form's diagonal blocks G_BB.
// On several ranks they are the sums of the ranks' shares, so the gram sweeps need no
// communication.
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
    if (work > 0) work_ = BlockWork<ExecSpace>(vars, work);
    if (runs("blocked")) {
      block_inverse_ = SpaceMatrix<ExecSpace>("solvebak::block_inverses", vars, std::min(block, vars));
      block_gram_setup_s_ = time_once(space_, [&] { compute_block_inverses(space_, p_, block_inverse_); });
    }
    if (runs("gram")) {
      gauss_seidel_ = SpaceMatrix<ExecSpace>("solvebak::gauss_seidel_matrix", vars, vars);
      const SpaceMatrix<ExecSpace> start("solvebak::gauss_seidel_start", vars, 1);
      gauss_seidel_start_ = Kokkos::subview(start, Kokkos::ALL, 0);
      r_ = SpaceVector<ExecSpace>("solvebak::r", vars);
      gram_setup_s_ = time_once(space_, [&] { compute_gauss_seidel(space_, p_, gauss_seidel_, start); });
    }
  }

  // Puts `form` (one of the constructor's forms) at its start, a = 0 and its residual e = y (none
  // for the gram form); the sweeps that follow are that form's.
  void start(const std::string& form) {
    form_ = form;
    Kokkos::deep_copy(space_, a_, 0.0);
    if (form_ == "gram") {
      state_ = {a_, {}};
      return;
    }
    Kokkos::deep_copy(space_, e_, p_.y);
    state_ = {a_, e_};
    if (form_ == "residual") residual_.emplace(space_, p_, state_);
  }

  void sweep() {
    if (form_ == "gram")
      gram_sweep(space_, gauss_seidel_, gauss_seidel_start_, state_, r_);
    else if (form_ == "blocked")
      blocked_sweep(space_, p_, state_, block_inverse_, work_);
    else if (form_ == "batched")
      batched_sweep(space_, p_, state_, batch_, work_);
    else
      residual_->sweep();
  }

  // The started form's a and residual.
  const SolveBakState<ExecSpace>& state() const { return state_; }
  // Seconds of computing G = XᵀX, Xᵀy and the gram sweep's T⁻¹U and T⁻¹Xᵀy (0 without the gram
  // form).
  double gram_setup_s() const { return gram_setup_s_; }
  // Seconds of computing the blocked form's G_BB and their triangles' inverses (0 without it).
  double block_gram_setup_s() const { return block_gram_setup_s_; }

 private:
  ExecSpace space_;
  SolveBakProblem<ExecSpace> p_;
  std::int64_t batch_;
  SpaceVector<ExecSpace> a_, e_, r_, gauss_seidel_start_;
  BlockWork<ExecSpace> work_;
  SpaceMatrix<ExecSpace> gauss_seidel_, block_inverse_;
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
// a, the block work and update, and T⁻¹Xᵀy and r of the gram form), G and T⁻¹U for the gram form
// and the blocked form's inverses of G_BB's triangles, a vars × block matrix.
inline double solvebak_replicated_bytes(const SolveBakParams& p) {
  const double vars = static_cast<double>(p.vars);
  const auto runs = [&](const char* form) { return std::count(p.forms.begin(), p.forms.end(), form) > 0; };
  const double block = static_cast<double>(std::min(p.block, p.vars));
  return 8.0 * (7.0 * vars + (runs("gram") ? 2.0 * vars * vars : 0.0) + (runs("blocked") ? vars * block : 0.0));
}

// Bytes the stage allocates on the space: X, its vectors of obs rows (y, the residual, the check's
// residual), and the replicated rest.
inline double solvebak_bytes(const SolveBakParams& p) {
  const double obs = static_cast<double>(p.obs), vars = static_cast<double>(p.vars);
  return 8.0 * (obs * vars + 3.0 * obs) + solvebak_replicated_bytes(p);
}

// Per sweep of a form: the residual, blocked and batched forms read X (obs × vars) twice and do 4
// flops per element (the blocked form's small solves, vars × block flops, left out); the gram form
// reads T⁻¹U (vars × vars) once, in a gemv, and does 2 flops per element read.
inline Work solvebak_sweep_work(const std::string& form, std::int64_t obs, std::int64_t vars) {
  if (form == "gram") {
    const double elements = static_cast<double>(vars) * static_cast<double>(vars);
    return {8.0 * elements, 2.0 * elements};
  }
  const double elements = static_cast<double>(obs) * static_cast<double>(vars);
  return {16.0 * elements, 4.0 * elements};
}

}  // namespace klab::stages
