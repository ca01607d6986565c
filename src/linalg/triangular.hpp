#pragma once
// Solves with a lower triangle once, in setup, so that iterations that would solve with the same
// triangle every time apply a precomputed product instead: one gemv, a pass any number of threads
// can share, in place of a chain of n dependent steps.
#include <Kokkos_Core.hpp>

#include <cstdint>

#include "core/kokkos_compat.hpp"
#include "core/views.hpp"

namespace klab::linalg {

// b = T⁻¹ b for the n×k matrix b, T the lower triangle of the n×n matrix t with its diagonal (the
// part above is not read), which must have no zero on the diagonal: one trsm.
template <class ExecSpace>
void solve_lower(const ExecSpace& space, const SpaceMatrix<ExecSpace>& t, const SpaceMatrix<ExecSpace>& b) {
  compat::trsm(space, "L", "L", "N", "N", 1.0, t, b);
}

// out = the identity.
template <class ExecSpace>
struct IdentityMatrix {
  SpaceMatrix<ExecSpace> out;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i, std::int64_t j) const { out(i, j) = i == j ? 1.0 : 0.0; }
};

// out = the part of m above its diagonal, zero elsewhere.
template <class ExecSpace>
struct StrictlyUpperPart {
  SpaceMatrix<ExecSpace> m, out;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i, std::int64_t j) const { out(i, j) = i < j ? m(i, j) : 0.0; }
};

// Runs f(i, j) for every element of the matrix `out`.
template <class ExecSpace, class F>
void for_each_element(const ExecSpace& space, const char* name, const SpaceMatrix<ExecSpace>& out, const F& f) {
  using Policy = Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<std::int64_t>>;
  const std::int64_t rows = out.extent(0), columns = out.extent(1);
  Kokkos::parallel_for(name, Policy(space, {0, 0}, {rows, columns}), f);
}

// inverse = T⁻¹, T as in solve_lower; inverse's upper part is zero.
template <class ExecSpace>
void invert_lower(const ExecSpace& space, const SpaceMatrix<ExecSpace>& t, const SpaceMatrix<ExecSpace>& inverse) {
  for_each_element(space, "linalg::identity", inverse, IdentityMatrix<ExecSpace>{inverse});
  solve_lower(space, t, inverse);
}

// k = T⁻¹ U for the n×n matrix g, T its lower triangle with the diagonal and U the part above: the
// Gauss–Seidel iteration's matrix, (D + L) a' = b - U a giving a' = T⁻¹ b - k a.
template <class ExecSpace>
void gauss_seidel_matrix(const ExecSpace& space, const SpaceMatrix<ExecSpace>& g, const SpaceMatrix<ExecSpace>& k) {
  for_each_element(space, "linalg::strictly_upper", k, StrictlyUpperPart<ExecSpace>{g, k});
  solve_lower(space, g, k);
}

}  // namespace klab::linalg
