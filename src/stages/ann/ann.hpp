#pragma once
// Stage `ann`: the seed notebook's least-squares random-feature network, trained without
// gradient descent:
//
//   y ≈ Σ_k v_k tanh(Σ_j w_jk x_ij + b_k) + b_0
//
//   inner layer    for each neuron k, the least-squares fit of arctanh(y) on a random subset of
//                  m = obs/neurons distinct rows: [X_k | 1]·(w_k, b_k) ≈ arctanh(y_k)
//   hidden layer   L = [tanh(X·Wᵀ + b) | 1]            (Kokkos Kernels gemm, then the activation)
//   outer layer    (LᵀL + λI)·v = Lᵀy                   (LᵀL and Lᵀy from one gram of [L | y] by
//                                                        gemms, blocked Cholesky on the space; on
//                                                        host spaces dsyrk, dpotrf and trsm)
//
// `bias: true` (the default) is the seed's formula: a bias column in every inner fit and b_0 in
// the outer layer. `bias: false` is the seed's code, which leaves both out.
// Data as in the seed: x uniform in [-0.5, 0.5) of obs × vars, y = amplitude·sin(Σ_j x_ij) with
// amplitude 1/2, and an independent test set of the same shape.
//
// The three layers are the case's variants `inner`, `hidden` and `outer`, each building on the
// one before, timed apart with the deck's warm-ups and repetitions, and checked: the inner weights
// of sampled neurons against a host Householder QR, sampled columns of L against a host
// evaluation, and the fit by the test correlation against `min_correlation`.
//
// On several ranks (Communicator) each holds its share of the rows of the train and test sets,
// generated from their global index, and the layers distribute as follows:
//   inner    each rank fits its share of the neurons. A neuron's rows are the same global rows as
//            on one rank; those another rank holds are generated again from their index, since
//            every input is a pure function of (seed, stream, index): nothing large moves. One
//            allgather then gives every rank all of W, b (and the condition estimates).
//   hidden   each rank's rows of L from its rows of X: no communication.
//   outer    each rank's rows add to LᵀL and Lᵀy: one sum over the ranks of both, then every rank
//            factors and solves the same small (neurons+1)² system.
// The checks combine the ranks' parts (maxima, sums of moments, sampled predictions in rank order),
// so every rank judges the whole problem, the same for any rank count. The weights are those of one
// rank: W exactly (the same rows, summed in the same order), L but for the gemm's blocking of the
// rows, and v to about κ(LᵀL)·ε relative, LᵀL and Lᵀy being summed in another order (by rank,
// then across ranks); tests/data/mpi/ann.yaml shows what that leaves of the records.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/comm.hpp"
#include "core/comm_views.hpp"
#include "core/kokkos_compat.hpp"
#include "core/random.hpp"
#include "core/stage.hpp"
#include "core/views.hpp"
#include "linalg/cholesky.hpp"
#include "linalg/host_least_squares.hpp"

namespace klab::stages {

// The stage's deck keys (AnnParams' fields) and its case: ann.cpp.
StageDefinition ann_stage();

struct AnnParams {
  std::int64_t obs = 0, vars = 10, neurons = 1000;
  bool bias = true;
  double amplitude = 0.5;       // y = amplitude·sin(Σ_j x_ij); arctanh needs |y| < 1
  double lambda = 0;            // ridge added to the outer normal equations' diagonal
  std::int64_t block = 32;      // block size of the outer Cholesky factorisation
  int gram_blocks = 8;          // column blocks of L for LᵀL: >1 multiplies only the lower triangle
  double min_correlation = 0.999;
  std::int64_t sample = 500;    // (prediction, target) pairs of the test set kept in the results
  std::int64_t rows_per_neuron() const { return obs / neurons; }
  std::int64_t inner_unknowns() const { return vars + (bias ? 1 : 0); }
  std::int64_t outer_unknowns() const { return neurons + (bias ? 1 : 0); }
};

constexpr std::uint64_t ann_stream_x = 21, ann_stream_test_x = 22, ann_stream_rows = 23;
// Each neuron's normal equations are refused above this condition estimate: the normal equations
// square the condition of X_k, so beyond 1e12 (κ(X_k) ≈ 1e6) fewer than 4 digits could survive.
constexpr double ann_inner_condition_limit = 1e12;
constexpr int ann_checked_neurons = 16, ann_checked_columns = 4;

// The key of neuron k's row subset: permutation k of the row stream.
KOKKOS_INLINE_FUNCTION std::uint64_t neuron_key(std::uint64_t seed, std::int64_t neuron) {
  return permutation_key(seed, ann_stream_rows, neuron);
}

// How every row of a data set is generated, by its global index i whichever rank holds it:
// x_ij = -0.5 + uniform01(seed, stream, i + j·obs) (the whole obs × vars matrix in column-major
// order) and y_i = amplitude·sin(Σ_j x_ij). Any space, any rank and the host make the same bits.
struct AnnRows {
  std::uint64_t seed, stream;
  std::int64_t obs, vars;
  double amplitude;

  // Gives out(j, x_ij) for each j of row i; returns y_i.
  template <class Out>
  KOKKOS_INLINE_FUNCTION double row(std::int64_t i, Out&& out) const {
    double sum = 0;
    for (std::int64_t j = 0; j < vars; ++j) {
      const double x = -0.5 + uniform01(seed, stream, static_cast<std::uint64_t>(i + j * obs));
      out(j, x);
      sum += x;
    }
    return amplitude * compat::math::sin(sum);
  }
};

// Row i of a column-major matrix of `rows` rows in host memory, as AnnRows::row's `out` on the
// host (nvcc refuses host lambdas there: row is a host-device function).
struct HostMatrixRow {
  double* matrix;
  std::int64_t i, rows;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t j, double value) const { matrix[i + j * rows] = value; }
};

inline AnnRows ann_rows(const AnnParams& params, std::uint64_t seed, std::uint64_t stream) {
  return {seed, stream, params.obs, params.vars, params.amplitude};
}

// A rank's rows [first, first + x.extent(0)) of a data set of obs rows.
template <class ExecSpace>
struct AnnData {
  SpaceMatrix<ExecSpace> x;
  SpaceVector<ExecSpace> y;
  AnnRows source;
  std::int64_t first;
};

// Local row i of x and y: global row first + i of the source.
template <class ExecSpace>
struct AnnGenerate {
  SpaceMatrix<ExecSpace> x;
  SpaceVector<ExecSpace> y;
  AnnRows source;
  std::int64_t first;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i) const {
    y(i) = source.row(first + i, [&](std::int64_t j, double value) { x(i, j) = value; });
  }
};

// This rank's share of the rows of the data set of `stream`.
template <class ExecSpace>
AnnData<ExecSpace> make_ann_data(const ExecSpace& space, const AnnParams& params, std::uint64_t seed,
                                 std::uint64_t stream, const Communicator& comm = Communicator()) {
  const std::pair<std::int64_t, std::int64_t> share = comm.share(params.obs);
  const std::int64_t rows = share.second - share.first;
  AnnData<ExecSpace> d{SpaceMatrix<ExecSpace>("ann::x", rows, params.vars), SpaceVector<ExecSpace>("ann::y", rows),
                       ann_rows(params, seed, stream), share.first};
  Kokkos::parallel_for("ann::data", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, rows),
                       AnnGenerate<ExecSpace>{d.x, d.y, d.source, d.first});
  return d;
}

template <class ExecSpace>
struct InnerWeights {
  SpaceMatrix<ExecSpace> w;          // neurons × vars
  SpaceVector<ExecSpace> b;          // neurons (zero without bias)
  SpaceVector<ExecSpace> condition;  // per neuron: the pivot-ratio estimate of κ(X_kᵀX_k), ∞ if singular
};

// Neuron k's fit (w_k, b_k) and condition estimate, by the team of league rank k.
template <class ExecSpace>
struct AnnInnerFit {
  using Member = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  using Scratch = Kokkos::View<double**, Kokkos::LayoutLeft, typename ExecSpace::scratch_memory_space,
                               Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

  SpaceMatrix<ExecSpace> x;  // this rank's rows: first_row, first_row + 1, ... of obs
  SpaceVector<ExecSpace> y;
  AnnRows source;
  std::int64_t first_row, local_rows, first_neuron;
  SpaceMatrix<ExecSpace> w;
  SpaceVector<ExecSpace> b, condition;
  std::int64_t vars, m, p;
  bool bias;
  int half_bits;
  std::int64_t chunk;
  double eps, infinity;

  KOKKOS_INLINE_FUNCTION void operator()(const Member& member) const {
    const std::int64_t k = first_neuron + member.league_rank();
    const std::uint64_t key = neuron_key(source.seed, k);
    Scratch rows(member.team_scratch(0), chunk, p + 1);  // [X_k | 1 | arctanh(y_k)]
    Scratch normal(member.team_scratch(0), p, p + 1);    // [lower of AᵀA | Aᵀz]
    Kokkos::parallel_for(Kokkos::TeamThreadRange(member, p * (p + 1)),
                         [&](std::int64_t e) { normal(e % p, e / p) = 0; });
    for (std::int64_t first = 0; first < m; first += chunk) {
      const std::int64_t count = m - first < chunk ? m - first : chunk;
      member.team_barrier();
      Kokkos::parallel_for(Kokkos::TeamThreadRange(member, count), [&](std::int64_t r) {
        const std::int64_t row = permuted_index(key, source.obs, half_bits, first + r);
        const std::int64_t local = row - first_row;
        double target;
        if (local >= 0 && local < local_rows) {
          for (std::int64_t j = 0; j < vars; ++j) rows(r, j) = x(local, j);
          target = y(local);
        } else {  // another rank's row: generated here, the same numbers that rank holds
          target = source.row(row, [&](std::int64_t j, double value) { rows(r, j) = value; });
        }
        if (bias) rows(r, vars) = 1;
        rows(r, p) = compat::math::atanh(target);
      });
      member.team_barrier();
      // Entry (i, c) of [AᵀA | Aᵀz] with c <= i or c = p; each entry has one owner thread.
      Kokkos::parallel_for(Kokkos::TeamThreadRange(member, p * (p + 1)), [&](std::int64_t e) {
        const std::int64_t i = e % p, c = e / p;
        if (c < p && c > i) return;
        double sum = 0;
        for (std::int64_t r = 0; r < count; ++r) sum += rows(r, i) * rows(r, c);
        normal(i, c) += sum;
      });
    }
    member.team_barrier();
    Kokkos::single(Kokkos::PerTeam(member), [&] {
      double largest = 0;
      for (std::int64_t j = 0; j < p; ++j) largest = normal(j, j) > largest ? normal(j, j) : largest;
      double min_pivot = infinity, max_pivot = 0;
      bool singular = false;
      for (std::int64_t j = 0; j < p && !singular; ++j) {
        double pivot = normal(j, j);
        for (std::int64_t c = 0; c < j; ++c) pivot -= normal(j, c) * normal(j, c);
        if (!(pivot > static_cast<double>(p) * eps * largest)) {
          singular = true;
          break;
        }
        min_pivot = pivot < min_pivot ? pivot : min_pivot;
        max_pivot = pivot > max_pivot ? pivot : max_pivot;
        const double root = compat::math::sqrt(pivot);
        normal(j, j) = root;
        for (std::int64_t i = j + 1; i < p; ++i) {
          double v = normal(i, j);
          for (std::int64_t c = 0; c < j; ++c) v -= normal(i, c) * normal(j, c);
          normal(i, j) = v / root;
        }
      }
      condition(k) = singular ? infinity : max_pivot / min_pivot;
      if (singular) return;
      for (std::int64_t i = 0; i < p; ++i) {  // L·u = Aᵀz, in place in the last column
        double v = normal(i, p);
        for (std::int64_t c = 0; c < i; ++c) v -= normal(i, c) * normal(c, p);
        normal(i, p) = v / normal(i, i);
      }
      for (std::int64_t i = p; i-- > 0;) {  // Lᵀ·w = u
        double v = normal(i, p);
        for (std::int64_t r = i + 1; r < p; ++r) v -= normal(r, i) * normal(r, p);
        normal(i, p) = v / normal(i, i);
      }
      for (std::int64_t j = 0; j < vars; ++j) w(k, j) = normal(j, p);
      b(k) = bias ? normal(vars, p) : 0.0;
    });
  }
};

// Every rank's fits in every rank's W, b and condition: each rank wrote the rows comm.share(neurons)
// of them, sent in one allgather on the host (device memory staged through it, counted as
// communication).
template <class ExecSpace>
void gather_inner_weights(const Communicator& comm, const ExecSpace& space, const InnerWeights<ExecSpace>& inner) {
  if (comm.size() == 1) return;
  space.fence();  // the fits are compute, not communication
  const CommunicationScope counted(comm);
  // Pageable host copies: a few doubles per neuron, where pinned memory would cost milliseconds
  // to allocate on every call.
  const auto w = Kokkos::create_mirror_view(Kokkos::HostSpace(), inner.w);
  const auto b = Kokkos::create_mirror_view(Kokkos::HostSpace(), inner.b);
  const auto condition = Kokkos::create_mirror_view(Kokkos::HostSpace(), inner.condition);
  Kokkos::deep_copy(space, w, inner.w);
  Kokkos::deep_copy(space, b, inner.b);
  Kokkos::deep_copy(space, condition, inner.condition);
  space.fence();
  const std::int64_t neurons = w.extent(0), vars = w.extent(1), stride = vars + 2;
  const std::pair<std::int64_t, std::int64_t> share = comm.share(neurons);
  std::vector<double> mine;  // per neuron: w_k, b_k, condition_k
  for (std::int64_t k = share.first; k < share.second; ++k) {
    for (std::int64_t j = 0; j < vars; ++j) mine.push_back(w(k, j));
    mine.push_back(b(k));
    mine.push_back(condition(k));
  }
  const std::vector<double> all = comm.gather(mine.data(), mine.size());
  for (std::int64_t k = 0; k < neurons; ++k) {
    const double* fit = all.data() + k * stride;
    for (std::int64_t j = 0; j < vars; ++j) w(k, j) = fit[j];
    b(k) = fit[vars];
    condition(k) = fit[vars + 1];
  }
  Kokkos::deep_copy(space, inner.w, w);
  Kokkos::deep_copy(space, inner.b, b);
  Kokkos::deep_copy(space, inner.condition, condition);
  space.fence();
}

// This rank's share of the neurons' fits in one launch, a team per neuron, then every rank's in
// every rank's `out`. The team gathers its rows (and arctanh of their targets) chunk by chunk into
// scratch memory, accumulates the small normal equations [X_k|1]ᵀ[X_k|1]·w = [X_k|1]ᵀ arctanh(y_k)
// there, and one thread solves them by Cholesky: p ≤ 41 unknowns make the solve a few thousand
// flops, far below the cost of gathering the rows.
template <class ExecSpace>
void fit_inner_layer(const ExecSpace& space, const AnnData<ExecSpace>& data, const AnnParams& params,
                     const InnerWeights<ExecSpace>& out, const Communicator& comm = Communicator()) {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Scratch = typename AnnInnerFit<ExecSpace>::Scratch;
  const std::int64_t vars = params.vars, m = params.rows_per_neuron();
  const std::int64_t p = params.inner_unknowns();
  const bool bias = params.bias;
  const int half_bits = permutation_half_bits(params.obs);
  // Rows per chunk: 24 KiB of scratch for the gathered rows, plus p × (p+1) for the equations.
  const std::int64_t chunk = std::max<std::int64_t>(1, std::min<std::int64_t>(m, 3072 / (p + 1)));
  const double eps = std::numeric_limits<double>::epsilon();
  const double infinity = std::numeric_limits<double>::infinity();
  const std::pair<std::int64_t, std::int64_t> neurons = comm.share(params.neurons);
  const std::int64_t local_rows = data.x.extent(0);
  const auto x = data.x;
  const auto y = data.y;
  const auto w = out.w;
  const auto b = out.b;
  const auto condition = out.condition;
  Policy policy(space, static_cast<int>(neurons.second - neurons.first), SpaceTraits<ExecSpace>::is_device ? 64 : 1);
  policy.set_scratch_size(0, Kokkos::PerTeam(Scratch::shmem_size(chunk, p + 1) + Scratch::shmem_size(p, p + 1)));
  Kokkos::parallel_for("ann::inner_layer", policy,
                       AnnInnerFit<ExecSpace>{x, y, data.source, data.first, local_rows, neurons.first, w, b,
                                              condition, vars, m, p, bias, half_bits, chunk, eps, infinity});
  gather_inner_weights(comm, space, out);
}

// L(i, c) = tanh(L(i, c) + b_c) for the neurons' columns, 1 in the constant column.
template <class ExecSpace>
struct AnnActivation {
  SpaceMatrix<ExecSpace> layer;
  SpaceVector<ExecSpace> b;
  std::int64_t obs, neurons;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t e) const {
    const std::int64_t i = e % obs, c = e / obs;
    layer(i, c) = c < neurons ? compat::math::tanh(layer(i, c) + b(c)) : 1.0;
  }
};

// L = [tanh(X·Wᵀ + b) | 1]: the gemm writes X·Wᵀ into L's first `neurons` columns, and one pass
// adds the bias, applies the activation and sets the constant column.
template <class ExecSpace>
void hidden_layer(const ExecSpace& space, const SpaceMatrix<ExecSpace>& x, const InnerWeights<ExecSpace>& inner,
                  const SpaceMatrix<ExecSpace>& layer) {
  const std::int64_t obs = x.extent(0), neurons = inner.w.extent(0), columns = layer.extent(1);
  compat::gemm(space, "N", "T", 1.0, x, inner.w, 0.0,
               Kokkos::subview(layer, Kokkos::ALL, std::make_pair(std::int64_t(0), neurons)));
  const auto b = inner.b;
  Kokkos::parallel_for(
      "ann::activation", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, obs * columns),
      AnnActivation<ExecSpace>{layer, b, obs, neurons});
}

// Columns of [L | y] and the order of its gram: n+1, and zero columns up to a multiple of 8, so
// that the gram's gemms see column blocks and leading dimensions that keep cuBLAS's vector loads
// and stores aligned (an odd width or leading dimension made it pick kernels 20-30% slower).
inline std::int64_t layer_and_target_columns(std::int64_t unknowns) { return (unknowns + 1 + 7) / 8 * 8; }

// [L | y]: the hidden layer L (obs × n, which hidden_layer writes) with the target y in the column
// after it, then zeros (layer_and_target_columns). The outer layer's gram of it holds LᵀL and, in
// row n, yᵀL: L is read once, not once more for Lᵀy.
template <class ExecSpace>
struct LayerAndTarget {
  SpaceMatrix<ExecSpace> both;   // [L | y | 0]
  SpaceMatrix<ExecSpace> layer;  // L: the first n columns of both
};

template <class ExecSpace>
LayerAndTarget<ExecSpace> make_layer_and_target(const ExecSpace& space, std::int64_t unknowns,
                                                const SpaceVector<ExecSpace>& y) {
  const SpaceMatrix<ExecSpace> both("ann::layer_and_target", y.extent(0), layer_and_target_columns(unknowns));
  Kokkos::deep_copy(space, Kokkos::subview(both, Kokkos::ALL, unknowns), y);
  return {both, Kokkos::subview(both, Kokkos::ALL, std::make_pair(std::int64_t(0), unknowns))};
}

// G = LᵀL on and below the diagonal. With `blocks` column blocks of L, only the blocks·(blocks+1)/2
// blocks of G on and below the diagonal are multiplied, (blocks+1)/(2·blocks) of the full gemm's
// flops; the Cholesky factorisation reads nothing else. They go in 2·blocks - 1 gemms, by halving:
// the blocks below the diagonal of the two halves' blocks are one rectangle, one gemm, and each
// half's triangle is halved again down to single blocks. cuBLAS runs one large gemm faster than
// the same flops as several (`cuda_gram_probe`; README).
template <class ExecSpace>
void lower_gram(const ExecSpace& space, const SpaceMatrix<ExecSpace>& l, const SpaceMatrix<ExecSpace>& g, int blocks) {
  const std::int64_t n = l.extent(1);
  // Columns of blocks [first, end).
  const auto columns = [&](int first, int end) { return std::make_pair(n * first / blocks, n * end / blocks); };
  const auto product = [&](std::pair<std::int64_t, std::int64_t> rows, std::pair<std::int64_t, std::int64_t> cols) {
    compat::gemm(space, "T", "N", 1.0, Kokkos::subview(l, Kokkos::ALL, rows), Kokkos::subview(l, Kokkos::ALL, cols),
                 0.0, Kokkos::subview(g, rows, cols));
  };
  // The triangle of blocks [first, end).
  const auto triangle = [&](const auto& self, int first, int end) -> void {
    if (end - first == 1) return product(columns(first, end), columns(first, end));
    const int middle = first + (end - first) / 2;
    product(columns(middle, end), columns(first, middle));
    self(self, first, middle);
    self(self, middle, end);
  };
  triangle(triangle, 0, blocks);
}

// λ onto the diagonal of LᵀL, the gram of [L | y]'s first n rows and columns.
template <class ExecSpace>
struct AnnRidge {
  SpaceMatrix<ExecSpace> system;
  double lambda;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t j) const { system(j, j) += lambda; }
};

// Row n of the factored gram into column n, above it: z = L_c⁻¹Lᵀy (L_c the Cholesky factor of
// LᵀL + λI), which the back substitution turns into v.
template <class ExecSpace>
struct AnnRowToColumn {
  SpaceMatrix<ExecSpace> system;
  std::int64_t n;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t j) const { system(j, n) = system(n, j); }
};

// The outer layer's normal equations (LᵀL + λI)·v = Lᵀy, solved on the space: the Cholesky
// factorisation of LᵀL + λI = L_c·L_cᵀ takes row n of the gram, yᵀL, as a row below its square and
// leaves zᵀ = yᵀL·L_c⁻ᵀ there, the forward substitution done in passing, so one triangular solve,
// L_cᵀ·v = z, is left. The gram's zero rows below yᵀL (the padding of [L | y | 0]) go through the
// factorisation too and stay zero: with Cholesky blocks that are multiples of 8 they keep the row
// count of its trailing gemms a multiple of 8, for which cuBLAS picks aligned kernels.
// On several ranks each holds some rows of L and y: the lower triangles of their grams of [L | y]
// are summed over the ranks (one sum of a matrix of order layer_and_target_columns), then every
// rank factors and solves the same system.
// On host spaces LᵀL is one dsyrk, the factorisation the host LAPACK's dpotrf and the triangular
// solves the host BLAS's trsm, each one call on all the BLAS's threads, as NumPy does; `block`
// and `gram_blocks` shape the device path only.
template <class ExecSpace>
class OuterLayer {
 public:
  OuterLayer(std::int64_t unknowns, std::int64_t block, int gram_blocks, Communicator comm = Communicator())
      : system_("ann::outer_system", layer_and_target_columns(unknowns), layer_and_target_columns(unknowns)),
        normal_(Kokkos::subview(system_, std::make_pair(std::int64_t(0), unknowns),
                                std::make_pair(std::int64_t(0), unknowns))),
        normal_and_target_(Kokkos::subview(system_, Kokkos::ALL, std::make_pair(std::int64_t(0), unknowns))),
        v_(Kokkos::subview(system_, std::make_pair(std::int64_t(0), unknowns), std::make_pair(unknowns, unknowns + 1))),
        cholesky_(linalg::cholesky_for<ExecSpace>(block)),
        block_(block),
        gram_blocks_(gram_blocks),
        comm_(std::move(comm)) {}

  // layer_and_target: [L | y | 0] (LayerAndTarget::both).
  void solve(const ExecSpace& space, const SpaceMatrix<ExecSpace>& layer_and_target, double lambda) {
    const std::int64_t n = normal_.extent(0);
    // Above the diagonal lie the last factorisation's leftovers, which the sum would multiply.
    if (comm_.size() > 1) Kokkos::deep_copy(space, system_, 0.0);
    if constexpr (linalg::uses_host_lapack<ExecSpace>)
      linalg::host_lower_gram(space, layer_and_target, system_);
    else
      lower_gram(space, layer_and_target, system_, gram_blocks_);
    sum_over_ranks(comm_, space, system_);
    const Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>> unknowns(space, 0, n);
    Kokkos::parallel_for("ann::ridge", unknowns, AnnRidge<ExecSpace>{system_, lambda});
    cholesky_.factor(space, normal_and_target_);
    Kokkos::parallel_for("ann::row_to_column", unknowns, AnnRowToColumn<ExecSpace>{system_, n});
    cholesky_.back_substitute(space, normal_, v_);
  }

  linalg::CholeskyReport report() const { return cholesky_.report(); }
  auto weights() const { return Kokkos::subview(v_, Kokkos::ALL, 0); }

  // How solve forms and factors LᵀL on this space, for the records.
  std::string method() const {
    if constexpr (linalg::uses_host_lapack<ExecSpace>)
      return "LᵀL and Lᵀy by the host BLAS's dsyrk of [L | y], Cholesky by the host LAPACK's dpotrf, the forward "
             "substitution within the factorisation";
    else
      return "LᵀL and Lᵀy from " + std::to_string(gram_blocks_) + " column blocks of [L | y] in " +
             std::to_string(2 * gram_blocks_ - 1) + " gemms, Cholesky in blocks of " + std::to_string(block_) +
             ", the forward substitution within it";
  }

 private:
  // The gram of [L | y | 0]; LᵀL + λI, then its factor; [LᵀL + λI ; yᵀL ; 0], then
  // [its factor ; zᵀ ; 0]; z, then v.
  SpaceMatrix<ExecSpace> system_, normal_, normal_and_target_, v_;
  linalg::SpaceCholesky<ExecSpace> cholesky_;
  std::int64_t block_;
  int gram_blocks_;
  Communicator comm_;
};

struct FitQuality {
  double correlation = 0, rmse = 0;
};

// Pearson correlation and RMSE of prediction against target (host copies of each rank's rows),
// from sums over the ranks: the means first, then the sums about them, as one rank computes them
// (a single pass of raw moments would lose digits to cancellation).
template <class HostVector>
FitQuality fit_quality(const HostVector& prediction, const HostVector& target, const Communicator& comm) {
  std::vector<double> sums(3, 0.0);  // n, Σp, Σt
  for (std::size_t i = 0; i < target.extent(0); ++i) {
    sums[0] += 1;
    sums[1] += prediction(i);
    sums[2] += target(i);
  }
  comm.sum(sums);
  const double n = sums[0], mp = sums[1] / n, mt = sums[2] / n;
  std::vector<double> about(4, 0.0);  // Σ(p - p̄)², Σ(t - t̄)², Σ(p - p̄)(t - t̄), Σ(p - t)²
  for (std::size_t i = 0; i < target.extent(0); ++i) {
    const double dp = prediction(i) - mp, dt = target(i) - mt, e = prediction(i) - target(i);
    about[0] += dp * dp;
    about[1] += dt * dt;
    about[2] += dp * dt;
    about[3] += e * e;
  }
  comm.sum(about);
  return {about[2] / std::sqrt(about[0] * about[1]), std::sqrt(about[3] / n)};
}

// The host's copy of rows [first, first + rows) of a data set (a rank's share), regenerated (no
// transfer).
struct HostAnnData {
  std::int64_t rows, vars;
  std::vector<double> x, y;  // x column-major
  double at(std::int64_t i, std::int64_t j) const { return x[static_cast<std::size_t>(i + j * rows)]; }
};

inline HostAnnData host_ann_data(const AnnRows& source, std::int64_t first, std::int64_t rows) {
  HostAnnData d{rows, source.vars, std::vector<double>(static_cast<std::size_t>(rows * source.vars)),
                std::vector<double>(static_cast<std::size_t>(rows))};
  for (std::int64_t i = 0; i < rows; ++i)
    d.y[static_cast<std::size_t>(i)] = source.row(first + i, HostMatrixRow{d.x.data(), i, rows});
  return d;
}

// Neuron k's weights (w_k, b_k) by host Householder QR on its rows, generated from their index.
inline std::vector<double> host_inner_weights(const AnnRows& source, const AnnParams& params, std::int64_t k) {
  const std::int64_t m = params.rows_per_neuron(), p = params.inner_unknowns();
  std::vector<double> a(static_cast<std::size_t>(m * p)), z(static_cast<std::size_t>(m));
  const int half_bits = permutation_half_bits(params.obs);
  for (std::int64_t r = 0; r < m; ++r) {
    const std::int64_t row = permuted_index(neuron_key(source.seed, k), params.obs, half_bits, r);
    const double y = source.row(row, HostMatrixRow{a.data(), r, m});
    if (params.bias) a[static_cast<std::size_t>(r + params.vars * m)] = 1;
    z[static_cast<std::size_t>(r)] = std::atanh(y);
  }
  return linalg::host_least_squares(std::move(a), std::move(z), static_cast<std::size_t>(m),
                                    static_cast<std::size_t>(p));
}

// Indices spread evenly over [0, n): at most `count` of them.
inline std::vector<std::int64_t> spread_indices(std::int64_t n, std::int64_t count) {
  std::vector<std::int64_t> out;
  for (std::int64_t s = 0; s < std::min(n, count); ++s) out.push_back(s * n / std::min(n, count));
  return out;
}

// max over sampled neurons of ||(w, b)_space - (w, b)_host|| / ||(w, b)_host||.
// Every rank holds every neuron's weights and computes the same.
template <class ExecSpace>
double inner_weights_error(const AnnRows& source, const AnnParams& params, const InnerWeights<ExecSpace>& inner) {
  const auto w = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), inner.w);
  const auto b = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), inner.b);
  double worst = 0;
  for (const std::int64_t k : spread_indices(params.neurons, ann_checked_neurons)) {
    const std::vector<double> reference = host_inner_weights(source, params, k);
    double diff2 = 0, ref2 = 0;
    for (std::int64_t j = 0; j < params.inner_unknowns(); ++j) {
      const double got = j < params.vars ? w(k, j) : b(k);
      diff2 += (got - reference[j]) * (got - reference[j]);
      ref2 += reference[j] * reference[j];
    }
    worst = std::max(worst, std::sqrt(diff2 / ref2));
  }
  return worst;
}

// max |L(i, c) - tanh(Σ_j x_ij w_cj + b_c)| over every row of a few sampled columns of L, the
// maximum over the ranks of their rows'; ∞ for a NaN (a maximum over ranks may drop it).
template <class ExecSpace>
double hidden_layer_error(const HostAnnData& d, const InnerWeights<ExecSpace>& inner,
                          const SpaceMatrix<ExecSpace>& layer, const Communicator& comm) {
  const auto w = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), inner.w);
  const auto b = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), inner.b);
  const std::int64_t neurons = w.extent(0);
  double worst = 0;
  for (const std::int64_t c : spread_indices(layer.extent(1), ann_checked_columns)) {
    const auto column = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), Kokkos::subview(layer, Kokkos::ALL, c));
    for (std::int64_t i = 0; i < d.rows; ++i) {
      double z = c < neurons ? b(c) : 0.0;
      for (std::int64_t j = 0; j < d.vars && c < neurons; ++j) z += d.at(i, j) * w(c, j);
      const double expected = c < neurons ? std::tanh(z) : 1.0;
      worst = std::isnan(column(i)) ? std::numeric_limits<double>::infinity()
                                    : std::max(worst, std::fabs(column(i) - expected));
    }
  }
  return comm.max(worst);
}

// Prediction L·v of a rank's rows of the data set whose hidden layer `layer` holds, with the fit
// against y over every rank's rows.
template <class ExecSpace>
FitQuality predict(const ExecSpace& space, const SpaceMatrix<ExecSpace>& layer, const OuterLayer<ExecSpace>& outer,
                   const SpaceVector<ExecSpace>& y, const SpaceVector<ExecSpace>& prediction,
                   const Communicator& comm) {
  compat::gemv(space, "N", 1.0, layer, outer.weights(), 0.0, prediction);
  return fit_quality(Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), prediction),
                     Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), y), comm);
}

// ||Lᵀ(y - L·v) - λv|| / ||Lᵀy||: how well v solves the outer normal equations, without LᵀL
// (the factorisation overwrote it). Lᵀ(y - L·v) and Lᵀy are summed over the ranks' rows.
template <class ExecSpace>
double normal_equation_residual(const ExecSpace& space, const SpaceMatrix<ExecSpace>& layer,
                                const OuterLayer<ExecSpace>& outer, const SpaceVector<ExecSpace>& y, double lambda,
                                const Communicator& comm) {
  const std::int64_t n = layer.extent(1);
  SpaceVector<ExecSpace> residual("ann::residual", y.extent(0));
  SpaceMatrix<ExecSpace> sums("ann::gradient_rhs", n, 2);  // [Lᵀ(y - L·v) | Lᵀy]: one sum over ranks
  const auto gradient = Kokkos::subview(sums, Kokkos::ALL, 0);
  const auto rhs = Kokkos::subview(sums, Kokkos::ALL, 1);
  Kokkos::deep_copy(space, residual, y);
  compat::gemv(space, "N", -1.0, layer, outer.weights(), 1.0, residual);
  compat::gemv(space, "T", 1.0, layer, residual, 0.0, gradient);
  compat::gemv(space, "T", 1.0, layer, y, 0.0, rhs);
  sum_over_ranks(comm, space, sums);
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), sums);
  const auto v = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), outer.weights());
  double g2 = 0, r2 = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    const double gj = host(j, 0) - lambda * v(j);
    g2 += gj * gj;
    r2 += host(j, 1) * host(j, 1);
  }
  return std::sqrt(g2 / r2);
}

// Of ann_bytes, what every rank allocates in full: the outer system, the gram of [L | y | 0]
// (layer_and_target_columns squared) and the inner weights, biases and condition estimates
// (neurons × (vars + 2)).
inline double ann_replicated_bytes(const AnnParams& p) {
  const double columns = static_cast<double>(layer_and_target_columns(p.outer_unknowns()));
  return 8.0 * (columns * columns + static_cast<double>(p.neurons) * static_cast<double>(p.vars + 2));
}

// Bytes the stage allocates on the space: train and test X and y, [L | y | 0]
// and the vectors of obs rows (prediction, residual), split over the ranks; and the replicated.
inline double ann_bytes(const AnnParams& p) {
  const double obs = static_cast<double>(p.obs), vars = static_cast<double>(p.vars),
               columns = static_cast<double>(layer_and_target_columns(p.outer_unknowns()));
  return 8.0 * (2.0 * obs * (vars + 1.0) + obs * columns + 2.0 * obs) + ann_replicated_bytes(p);
}

// Work per call of each step. Inner fits: the normal equations of every neuron (p(p+1)/2 + p
// entries, 2 flops a row) from its rows of x and y. Hidden layer: the x·w gemm; x read, L written
// by the gemm, then read and written by tanh. Outer solve: the gram of [L | y | 0] (gram_blocks
// skips that share of the upper triangle; the host spaces' dsyrk skips all of it, a little less
// work than counted) and the Cholesky factorisation, reading [L | y | 0].
struct AnnWork {
  Work inner, hidden, outer;
};
inline AnnWork ann_work(const AnnParams& params) {
  const double obs = static_cast<double>(params.obs), m = static_cast<double>(params.rows_per_neuron()),
               p = static_cast<double>(params.inner_unknowns()), n = static_cast<double>(params.outer_unknowns()),
               neurons = static_cast<double>(params.neurons), vars = static_cast<double>(params.vars);
  const double gram_share = (params.gram_blocks + 1.0) / (2.0 * params.gram_blocks),
               columns = static_cast<double>(layer_and_target_columns(params.outer_unknowns()));
  return {{8.0 * neurons * m * (vars + 1), neurons * m * p * (p + 3)},
          {8.0 * (obs * vars + 3.0 * obs * n), 2.0 * obs * neurons * vars},
          {8.0 * obs * columns, 2.0 * obs * columns * columns * gram_share + n * n * n / 3.0}};
}

}  // namespace klab::stages
