#pragma once
// Stage `gd`: the seed's simplest network, a linear neuron without bias or activation, trained by
// gradient descent on the squared error, forward pass and backpropagation as matrix products:
//
//   per step on the rows B of a batch (b = |B|):   r = X_B·w − y_B            (gemv)
//                                                  w ← w − lr·(2/b)·X_Bᵀ·r    (gemv)
//
// Strategies: `sgd` (a step per row), `minibatch` (a step per `batch_sizes` rows), `batch` (a step
// per pass over all rows). Rows are taken in order, or in a fresh keyed permutation every epoch
// with `shuffle: true` (gathered into a batch buffer first). Data: the deck's rows, or synthetic
// X uniform in [-0.5, 0.5), y = X·w_true + uniform noise. The check is the distance of the final
// weights to the closed-form least-squares weights (XᵀX)⁻¹Xᵀy (blocked Cholesky on the space),
// relative to their norm; a run whose loss becomes Inf or NaN is reported as diverged, with the
// epoch, never as a result. Each epoch is timed alone; the loss after it is computed outside.
//
// On R ranks (mpirun) the training is data-parallel, as PyTorch's DistributedDataParallel is:
// every rank holds the data and takes its share of each step's rows, and the ranks sum their
// gradients X_sᵀr_s (one allreduce of vars doubles per step) before the same update. The weights
// are those of one rank to rounding: only the order of the gradient's sum differs.
#include <Kokkos_Core.hpp>

#include <KokkosBlas1_dot.hpp>
#include <algorithm>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/comm_views.hpp"
#include "core/kokkos_compat.hpp"
#include "core/random.hpp"
#include "core/stage.hpp"
#include "core/views.hpp"
#include "linalg/cholesky.hpp"

namespace klab::stages {

// The stage's deck keys and cases: gd.cpp.
StageDefinition gd_stage();

struct GdParams {
  std::vector<std::vector<double>> rows;  // inline data, each row x_1 .. x_vars, y; empty: synthetic
  std::int64_t obs = 0, vars = 0;
  double noise = 0;
  std::vector<double> initial_weights;  // vars values
  double learning_rate = 0.01;
  int epochs = 100;
  std::vector<std::string> strategies;
  std::vector<std::int64_t> batch_sizes;  // for minibatch
  bool shuffle = false;
  double tolerance = 1e-6;  // on ||w - w*|| / ||w*||
};

constexpr std::uint64_t gd_stream_x = 31, gd_stream_w = 32, gd_stream_noise = 33, gd_stream_shuffle = 34;

template <class ExecSpace>
struct GdData {
  SpaceMatrix<ExecSpace> x;
  SpaceVector<ExecSpace> y;
};

template <class ExecSpace>
GdData<ExecSpace> make_gd_data(const ExecSpace& space, const GdParams& params, std::uint64_t seed) {
  GdData<ExecSpace> d{SpaceMatrix<ExecSpace>("gd::x", params.obs, params.vars), SpaceVector<ExecSpace>("gd::y", params.obs)};
  if (!params.rows.empty()) {
    const auto x = Kokkos::create_mirror_view(d.x);
    const auto y = Kokkos::create_mirror_view(d.y);
    for (std::int64_t i = 0; i < params.obs; ++i) {
      for (std::int64_t j = 0; j < params.vars; ++j) x(i, j) = params.rows[i][j];
      y(i) = params.rows[i][params.vars];
    }
    Kokkos::deep_copy(d.x, x);
    Kokkos::deep_copy(d.y, y);
    return d;
  }
  fill_uniform(space, d.x, seed, gd_stream_x, -0.5, 0.5);
  SpaceVector<ExecSpace> w_true("gd::w_true", params.vars);
  fill_uniform(space, w_true, seed, gd_stream_w, -0.5, 0.5);
  fill_uniform(space, d.y, seed, gd_stream_noise, -params.noise, params.noise);
  compat::gemv(space, "N", 1.0, d.x, w_true, 1.0, d.y);
  space.fence();
  return d;
}

// Row k of xb, yb = row permuted_index(key, obs, half_bits, first + k) of x, y.
template <class ExecSpace>
struct GatherPermutedRows {
  SpaceMatrix<ExecSpace> x;
  SpaceVector<ExecSpace> y;
  SpaceMatrix<ExecSpace> xb;
  SpaceVector<ExecSpace> yb;
  std::uint64_t key;
  std::int64_t obs, vars;
  int half_bits;
  std::int64_t first;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t k) const {
    const std::int64_t row = permuted_index(key, obs, half_bits, first + k);
    for (std::int64_t j = 0; j < vars; ++j) xb(k, j) = x(row, j);
    yb(k) = y(row);
  }
};

// w += alpha·g.
template <class ExecSpace>
struct AddScaled {
  SpaceVector<ExecSpace> w, g;
  double alpha;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t j) const { w(j) += alpha * g(j); }
};

// One pass over the rows in steps of `batch` rows (the last step may be shorter). With a
// permutation key, the step's rows are gathered into `xb`/`yb` first; otherwise they are a
// contiguous block of X, used in place. On several ranks each takes its share of a step's rows.
template <class ExecSpace>
class GdEpoch {
 public:
  GdEpoch(const GdData<ExecSpace>& data, std::int64_t batch, double learning_rate, Communicator comm = {})
      : data_(data),
        batch_(batch),
        learning_rate_(learning_rate),
        comm_(std::move(comm)),
        residual_("gd::residual", batch),
        xb_("gd::x_batch", batch, data.x.extent(1)),
        yb_("gd::y_batch", batch),
        gradient_("gd::gradient", comm_.size() > 1 ? data.x.extent(1) : 0) {}

  // shuffle_key < 0: rows in order.
  void run(const ExecSpace& space, const SpaceVector<ExecSpace>& w, std::int64_t shuffle_key) const {
    const std::int64_t obs = data_.x.extent(0);
    for (std::int64_t first = 0; first < obs; first += batch_) {
      const std::int64_t count = std::min(batch_, obs - first);
      const std::pair<std::int64_t, std::int64_t> mine = comm_.share(count);
      const std::int64_t local = mine.second - mine.first;
      const auto rows = std::make_pair(first + mine.first, first + mine.second);
      const auto head = std::make_pair(std::int64_t(0), local);
      const auto r = Kokkos::subview(residual_, head);
      if (shuffle_key < 0) {
        step(space, w, Kokkos::subview(data_.x, rows, Kokkos::ALL), Kokkos::subview(data_.y, rows), r, count);
      } else {
        gather(space, static_cast<std::uint64_t>(shuffle_key), first + mine.first, local);
        step(space, w, Kokkos::subview(xb_, head, Kokkos::ALL), Kokkos::subview(yb_, head), r, count);
      }
    }
  }

  // One step on this rank's rows xb, yb of a step of `count` rows; r is the residual's storage.
  template <class XView, class YView, class RView>
  void step(const ExecSpace& space, const SpaceVector<ExecSpace>& w, const XView& xb, const YView& yb,
            const RView& r, std::int64_t count) const {
    const double scale = -2.0 * learning_rate_ / static_cast<double>(count);
    if (xb.extent(0) > 0) {
      Kokkos::deep_copy(space, r, yb);
      compat::gemv(space, "N", 1.0, xb, w, -1.0, r);  // r = X_B·w − y_B
    }
    if (comm_.size() == 1) {
      compat::gemv(space, "T", scale, xb, r, 1.0, w);  // w −= lr·∇
      return;
    }
    if (xb.extent(0) > 0)
      compat::gemv(space, "T", 1.0, xb, r, 0.0, gradient_);
    else
      Kokkos::deep_copy(space, gradient_, 0.0);  // a rank without rows in this step adds nothing
    sum_over_ranks(comm_, space, gradient_);
    Kokkos::parallel_for("gd::update", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(
                                           space, 0, static_cast<std::int64_t>(w.extent(0))),
                         AddScaled<ExecSpace>{w, gradient_, scale});
  }

  // Rows first .. first+count-1 of the permutation `key` into xb_, yb_.
  void gather(const ExecSpace& space, std::uint64_t key, std::int64_t first, std::int64_t count) const {
    const std::int64_t obs = data_.x.extent(0), vars = data_.x.extent(1);
    const int half_bits = permutation_half_bits(obs);
    Kokkos::parallel_for(
        "gd::gather", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, count),
        GatherPermutedRows<ExecSpace>{data_.x, data_.y, xb_, yb_, key, obs, vars, half_bits, first});
  }

 private:
  GdData<ExecSpace> data_;
  std::int64_t batch_;
  double learning_rate_;
  Communicator comm_;
  SpaceVector<ExecSpace> residual_;
  SpaceMatrix<ExecSpace> xb_;
  SpaceVector<ExecSpace> yb_;
  SpaceVector<ExecSpace> gradient_;  // this rank's X_sᵀr_s, then the sum over ranks
};

// Mean squared error ||X·w − y||² / obs.
template <class ExecSpace>
double mean_squared_error(const ExecSpace& space, const GdData<ExecSpace>& data, const SpaceVector<ExecSpace>& w,
                          const SpaceVector<ExecSpace>& work) {
  Kokkos::deep_copy(space, work, data.y);
  compat::gemv(space, "N", 1.0, data.x, w, -1.0, work);
  space.fence();
  return KokkosBlas::dot(work, work) / static_cast<double>(work.extent(0));
}

// The least-squares weights (XᵀX)⁻¹Xᵀy, on the space; throws when XᵀX is singular.
template <class ExecSpace>
SpaceVector<ExecSpace> closed_form_weights(const ExecSpace& space, const GdData<ExecSpace>& data) {
  const std::int64_t vars = data.x.extent(1);
  SpaceMatrix<ExecSpace> normal("gd::normal", vars, vars), solution("gd::closed_form", vars, 1);
  compat::gemm(space, "T", "N", 1.0, data.x, data.x, 0.0, normal);
  compat::gemv(space, "T", 1.0, data.x, data.y, 0.0, Kokkos::subview(solution, Kokkos::ALL, 0));
  linalg::BlockedCholesky<ExecSpace> cholesky(32);
  cholesky.factor(space, normal);
  const linalg::CholeskyReport report = cholesky.report();
  if (!report.ok()) throw std::runtime_error("the closed-form weights are undefined: XᵀX: " + report.describe_failure());
  cholesky.solve(space, normal, solution);
  return Kokkos::subview(solution, Kokkos::ALL, 0);
}

template <class View>
std::vector<double> host_values(const View& v) {
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(host.data(), host.data() + host.extent(0));
}

inline std::string format_vector(const std::vector<double>& v) {
  std::ostringstream out;
  out << "(";
  for (std::size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
  return out.str() + ")";
}

// The seed's arithmetic for the first SGD step, for `klab run --verbose`: forward value, error,
// gradient from the first row, and the updated weights as the space computed them.
template <class ExecSpace>
void announce_first_step(const CaseContext& context, const GdParams& params, const GdData<ExecSpace>& data,
                         const ExecSpace& space) {
  const auto x = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.x);
  const auto y = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.y);
  std::vector<double> row, gradient;
  double forward = 0;
  for (std::int64_t j = 0; j < params.vars; ++j) {
    row.push_back(x(0, j));
    forward += params.initial_weights[j] * x(0, j);
  }
  const double error = forward - y(0);
  for (const double xj : row) gradient.push_back(2 * error * xj);
  SpaceVector<ExecSpace> w("gd::w_first_step", params.vars);
  Kokkos::deep_copy(w, Kokkos::View<const double*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(
                           params.initial_weights.data(), params.initial_weights.size()));
  const GdData<ExecSpace> first_row{Kokkos::subview(data.x, std::make_pair(std::int64_t(0), std::int64_t(1)), Kokkos::ALL),
                                    Kokkos::subview(data.y, std::make_pair(std::int64_t(0), std::int64_t(1)))};
  GdEpoch<ExecSpace>(first_row, 1, params.learning_rate).run(space, w, -1);
  std::ostringstream out;
  out << "first SGD step: x = " << format_vector(row) << ", y = " << y(0) << ", w = "
      << format_vector(params.initial_weights) << "; forward w·x = " << forward << ", error " << forward << " - "
      << y(0) << " = " << error << ", gradient 2·error·x = " << format_vector(gradient) << ", updated w = w - "
      << params.learning_rate << "·gradient = " << format_vector(host_values(w));
  context.announce(out.str());
}

// Bytes the stage allocates on the space: X and y, the batch buffer (as large as X for the batch
// strategy), the residual and loss vectors, and the normal equations.
inline double gd_bytes(const GdParams& p) {
  const double obs = static_cast<double>(p.obs), vars = static_cast<double>(p.vars);
  return 8.0 * (2.0 * obs * (vars + 1.0) + 2.0 * obs + vars * vars);
}

// Per epoch, whatever the batch: two gemv passes over X (obs × vars), 8 bytes read and 2 flops per
// element each.
inline Work gd_epoch_work(std::int64_t obs, std::int64_t vars) {
  const double elements = static_cast<double>(obs) * static_cast<double>(vars);
  return {16.0 * elements, 4.0 * elements};
}

}  // namespace klab::stages
