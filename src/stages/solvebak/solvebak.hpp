#pragma once
// Stage `solvebak`: X·a = y by SolveBak coordinate descent (arXiv 2104.12570), the seed
// notebook's solver, X obs×vars. Forms:
//
//   residual (seed-exact)             a = 0, e = y; per sweep, for j = 0 .. vars-1:
//                                       da = <X_j, e> / <X_j, X_j>;  e -= da X_j;  a_j += da
//   gram                              G = XᵀX, r = Xᵀy once (Kokkos Kernels gemm / gemv); per
//                                     sweep, for j: da = r_j / G_jj;  r -= da G_j;  a_j += da
//                                     (r = Xᵀe: the same iterates in exact arithmetic)
//   batched ("parallel HPSCDP")       per block B of `batch` columns: da_B = X_Bᵀe / diag;
//                                     e -= X_B da_B;  a_B += da_B  (gemv; B = 1 is `residual`)
//
// Data as in the seed: X and a_true uniform in [-0.5, 0.5), y = X a_true; X is LayoutLeft so a
// column is contiguous. The check is the seed's error, mean |a_true - a|, after the last sweep,
// against the deck's `tolerance`; the residual ||y - X a|| / ||y|| is reported beside it.
// Each record's samples are the sweeps, each timed alone; the gram form's G = XᵀX is computed
// once per case, timed apart.
//
// On several ranks the rows of X (and of y and e) are split over them (Communicator::share),
// each rank generating its block from the global seed; a, a_true and the column norms are
// replicated, and every rank takes the same steps. The forms combine their sums:
//   residual  one sum over ranks of <X_j, e> per column (a scalar: latency-bound by design, the
//             seed's loop as it is)
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

// The stage's deck keys (`obs`, `vars`, `sweeps`, `forms`, `batch`, `tolerance`, `history`) and
// its case: solvebak.cpp.
StageDefinition solvebak_stage();

struct SolveBakParams {
  std::int64_t obs = 0, vars = 0;
  int sweeps = 10;
  std::vector<std::string> forms;
  std::int64_t batch = 100;  // columns per block of the batched form
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

// The state the sweeps update: the coefficients a, and the residual e = y - X a (residual and
// batched forms) or r = Xᵀe (gram form).
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

// The gram form's sweep on the vars-vector r = Xᵀe: one team walks the columns in order, the
// team's threads sharing each update of r. A single launch per sweep: the steps are a chain,
// and G (vars² doubles) is small enough to stay in cache. Every element of r changes at every
// step, so the step writes a second copy of r instead of updating in place: nobody overwrites
// r(j) while others read it, and one barrier per step suffices. `work` holds that copy.
template <class ExecSpace>
struct GramSweep {
  SpaceMatrix<ExecSpace> g;
  SpaceVector<ExecSpace> a;
  std::int64_t vars;
  SpaceVector<ExecSpace> buffers[2];

  KOKKOS_INLINE_FUNCTION void operator()(const typename Kokkos::TeamPolicy<ExecSpace>::member_type& member) const {
    for (std::int64_t j = 0; j < vars; ++j) {
      const auto& current = buffers[j % 2];
      const auto& next = buffers[(j + 1) % 2];
      const double da = current(j) / g(j, j);
      Kokkos::parallel_for(Kokkos::TeamThreadRange(member, vars),
                           [&](std::int64_t i) { next(i) = current(i) - da * g(i, j); });
      Kokkos::single(Kokkos::PerTeam(member), [&] { a(j) += da; });
      member.team_barrier();
    }
  }
};

template <class ExecSpace>
void gram_sweep(const ExecSpace& space, const SpaceMatrix<ExecSpace>& g, const SolveBakState<ExecSpace>& s,
                const SpaceVector<ExecSpace>& work) {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  const std::int64_t vars = g.extent(0);
  // A GPU team of 256: barriers of a full 1024-thread block cost more than they spread. On a CPU
  // one thread: a step is a few thousand flops, less than a barrier between cores costs.
  const Policy policy(space, 1, SpaceTraits<ExecSpace>::is_device ? 256 : 1);
  Kokkos::parallel_for("solvebak::gram_sweep", policy, GramSweep<ExecSpace>{g, s.a, vars, {s.residual, work}});
  if (vars % 2) Kokkos::deep_copy(space, s.residual, work);  // r ended in the second copy
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

// The batched form's sweep: per block of columns, two gemv calls and a scaling kernel; on several
// ranks the block's X_Bᵀe is summed over them between the first gemv and the scaling.
template <class ExecSpace>
void batched_sweep(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p, const SolveBakState<ExecSpace>& s,
                   std::int64_t batch, const SpaceVector<ExecSpace>& da) {
  const std::int64_t vars = p.x.extent(1);
  for (std::int64_t first = 0; first < vars; first += batch) {
    const std::int64_t width = std::min(batch, vars - first);
    const auto columns = std::make_pair(first, first + width);
    const auto x_block = Kokkos::subview(p.x, Kokkos::ALL, columns);
    const auto da_block = Kokkos::subview(da, std::make_pair(std::int64_t(0), width));
    compat::gemv(space, "T", 1.0, x_block, s.residual, 0.0, da_block);
    sum_over_ranks(p.comm, space, da_block);
    Kokkos::parallel_for(
        "solvebak::batched_scale", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, width),
        BatchedScale<ExecSpace>{da_block, p.column_norms, s.a, first});
    compat::gemv(space, "N", -1.0, x_block, da_block, 1.0, s.residual);
  }
}

// The sweeps of the forms a case runs, one form after another, on one problem. The state is
// allocated once and shared by the forms (a, and one residual e of obs rows for the residual and
// batched forms), since each start() resets what its form uses. The gram form's G = XᵀX is
// computed here, once, and its time kept apart from the sweeps; on several ranks G and Xᵀy are
// the sums of the ranks' X_rᵀX_r and X_rᵀy_r, so the gram sweeps need no communication.
template <class ExecSpace>
class SolveBakSweeps {
 public:
  // Throws when a column of X is zero: every form divides by its norm.
  SolveBakSweeps(const ExecSpace& space, const SolveBakProblem<ExecSpace>& p, const std::vector<std::string>& forms,
                 std::int64_t batch)
      : space_(space), p_(p), batch_(batch), a_("solvebak::a", p.x.extent(1)) {
    require_nonzero_columns(p.column_norms);
    const std::int64_t obs = p.x.extent(0), vars = p.x.extent(1);
    const auto runs = [&](const char* form) { return std::count(forms.begin(), forms.end(), form) > 0; };
    if (runs("residual") || runs("batched")) e_ = SpaceVector<ExecSpace>("solvebak::e", obs);
    if (runs("batched")) da_ = SpaceVector<ExecSpace>("solvebak::da", std::min(batch, vars));
    if (runs("gram")) {
      g_ = SpaceMatrix<ExecSpace>("solvebak::gram", vars, vars);
      r_ = SpaceVector<ExecSpace>("solvebak::r", vars);
      r_next_ = SpaceVector<ExecSpace>("solvebak::r_next", vars);
      gram_setup_s_ = time_once(space_, [&] {
        compat::gemm(space_, "T", "N", 1.0, p_.x, p_.x, 0.0, g_);
        sum_over_ranks(p_.comm, space_, g_);
      });
    }
  }

  // Puts `form` (one of the constructor's forms) at its start, a = 0 and its residual e = y, or
  // r = Xᵀy for the gram form; the sweeps that follow are that form's.
  void start(const std::string& form) {
    form_ = form;
    Kokkos::deep_copy(space_, a_, 0.0);
    if (form_ == "gram") {
      compat::gemv(space_, "T", 1.0, p_.x, p_.y, 0.0, r_);
      sum_over_ranks(p_.comm, space_, r_);
      state_ = {a_, r_};
      return;
    }
    Kokkos::deep_copy(space_, e_, p_.y);
    state_ = {a_, e_};
    if (form_ == "residual") residual_.emplace(space_, p_, state_);
  }

  void sweep() {
    if (form_ == "gram")
      gram_sweep(space_, g_, state_, r_next_);
    else if (form_ == "batched")
      batched_sweep(space_, p_, state_, batch_, da_);
    else
      residual_->sweep();
  }

  // The started form's a and residual.
  const SolveBakState<ExecSpace>& state() const { return state_; }
  // Seconds of computing G = XᵀX (0 without the gram form).
  double gram_setup_s() const { return gram_setup_s_; }

 private:
  ExecSpace space_;
  SolveBakProblem<ExecSpace> p_;
  std::int64_t batch_;
  SpaceVector<ExecSpace> a_, e_, da_, r_, r_next_;
  SpaceMatrix<ExecSpace> g_;
  double gram_setup_s_ = 0;
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

// Bytes the stage allocates on the space: X, its vectors of obs rows (y, the residual, the check's
// residual) and of vars, and G for the gram form.
inline double solvebak_bytes(const SolveBakParams& p) {
  const double obs = static_cast<double>(p.obs), vars = static_cast<double>(p.vars);
  const bool gram = std::count(p.forms.begin(), p.forms.end(), "gram") > 0;
  return 8.0 * (obs * vars + 3.0 * obs + 5.0 * vars + (gram ? vars * vars : 0.0));
}

// Of solvebak_bytes, what every rank holds in full: the vectors of vars and G.
inline double solvebak_replicated_bytes(const SolveBakParams& p) {
  const double vars = static_cast<double>(p.vars);
  const bool gram = std::count(p.forms.begin(), p.forms.end(), "gram") > 0;
  return 8.0 * (5.0 * vars + (gram ? vars * vars : 0.0));
}

// Per sweep of a form: the residual and batched forms read X (obs × vars) twice and do 4 flops per
// element; the gram form reads G (vars × vars) once and does 2 flops per element.
inline Work solvebak_sweep_work(const std::string& form, std::int64_t obs, std::int64_t vars) {
  const bool gram = form == "gram";
  const double elements = static_cast<double>(gram ? vars : obs) * static_cast<double>(vars);
  return {(gram ? 8.0 : 16.0) * elements, (gram ? 2.0 : 4.0) * elements};
}

}  // namespace klab::stages
