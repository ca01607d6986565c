#pragma once
// Counter-based random numbers: value i of stream s under seed k is a pure function of
// (k, s, i), so every execution space fills its Views in parallel with exactly the same
// numbers, and a host reference can regenerate any input without copying it back.
#include <Kokkos_Core.hpp>

#include <cstdint>

namespace klab {

// SplitMix64's finaliser: a bijective mix with good avalanche, cheap on CPU and GPU.
KOKKOS_INLINE_FUNCTION std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) with 53 random bits, like NumPy's random.rand.
KOKKOS_INLINE_FUNCTION double uniform01(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  const std::uint64_t bits = mix64(mix64(seed ^ mix64(stream)) + index);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

// v(i) = lo + (hi - lo) * uniform01(seed, stream, first + i) for each i.
template <class View>
struct FillUniform {
  View v;
  std::uint64_t seed, stream;
  double lo, hi;
  std::uint64_t first;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i) const {
    v(i) = lo + (hi - lo) * uniform01(seed, stream, first + static_cast<std::uint64_t>(i));
  }
};

// Fills v(i) = lo + (hi - lo) * uniform01(seed, stream, first + i) on `space`: with `first`, a
// rank's slice of a vector spread over ranks holds the numbers of the whole vector's.
template <class ExecSpace, class View>
void fill_uniform(const ExecSpace& space, const View& v, std::uint64_t seed, std::uint64_t stream, double lo,
                  double hi, std::uint64_t first = 0) {
  static_assert(View::rank == 1, "fill_uniform fills rank-1 Views");
  Kokkos::parallel_for(
      "klab::fill_uniform", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, v.extent(0)),
      FillUniform<View>{v, seed, stream, lo, hi, first});
}

// m(local % rows, local / rows) = lo + (hi - lo) * uniform01(seed, stream, index) for each local
// index, where index is the element's column-major index in the whole matrix of global_rows rows
// whose rows first_row, first_row + 1, ... m holds.
template <class Matrix>
struct FillUniformColumnMajor {
  Matrix m;
  std::int64_t rows, first_row, global_rows;
  std::uint64_t seed, stream;
  double lo, hi;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t local) const {
    const std::int64_t i = local % rows, j = local / rows;
    const auto index = static_cast<std::uint64_t>(first_row + i + j * global_rows);
    m(i, j) = lo + (hi - lo) * uniform01(seed, stream, index);
  }
};

// Fills m(i, j) with value i + j * rows of the stream: the column-major order of the numbers, so a
// LayoutLeft matrix holds the same values as a rank-1 View of rows * cols filled above. With
// `first_row` and `global_rows`, m is the row block [first_row, first_row + rows) of a matrix of
// global_rows rows (a rank's share) and holds that matrix's numbers.
template <class ExecSpace, class... Properties>
void fill_uniform(const ExecSpace& space, const Kokkos::View<double**, Properties...>& m, std::uint64_t seed,
                  std::uint64_t stream, double lo, double hi, std::int64_t first_row = 0,
                  std::int64_t global_rows = -1) {
  const std::int64_t rows = m.extent(0);
  if (global_rows < 0) global_rows = rows;
  Kokkos::parallel_for(
      "klab::fill_uniform", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, m.size()),
      FillUniformColumnMajor<Kokkos::View<double**, Properties...>>{m, rows, first_row, global_rows, seed, stream, lo,
                                                                      hi});
}

// A keyed permutation of [0, n): position i maps to permuted_index(key, n, half_bits, i), a
// 4-round Feistel network on 2·half_bits bits (the smallest even width covering n, from
// permutation_half_bits(n)), cycle-walked back into range. Any prefix of positions is a set of
// distinct indices, each computed on its own by any thread of any space: no shuffle, no host loop.
KOKKOS_INLINE_FUNCTION std::int64_t permuted_index(std::uint64_t key, std::int64_t n, int half_bits, std::int64_t i) {
  const std::uint64_t mask = (std::uint64_t(1) << half_bits) - 1;
  std::uint64_t v = static_cast<std::uint64_t>(i);
  do {
    std::uint64_t left = v >> half_bits, right = v & mask;
    for (std::uint64_t round = 0; round < 4; ++round) {
      const std::uint64_t next = left ^ (mix64(key + (round << 56) + right) & mask);
      left = right;
      right = next;
    }
    v = (left << half_bits) | right;
  } while (v >= static_cast<std::uint64_t>(n));
  return static_cast<std::int64_t>(v);
}

inline int permutation_half_bits(std::int64_t n) {
  int half_bits = 0;
  while ((std::int64_t(1) << (2 * half_bits)) < n) ++half_bits;
  return half_bits;
}

// The key of permutation k of a stream under a seed.
KOKKOS_INLINE_FUNCTION std::uint64_t permutation_key(std::uint64_t seed, std::uint64_t stream, std::int64_t k) {
  return mix64(mix64(seed ^ mix64(stream)) + static_cast<std::uint64_t>(k));
}

}  // namespace klab
