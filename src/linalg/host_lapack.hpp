#pragma once
// The host BLAS and LAPACK that Kokkos Kernels links (its BLAS/LAPACK TPLs; OpenBLAS in klab's
// builds), called directly for what Kokkos Kernels 3.4 does not offer: a symmetric rank-k update
// (dsyrk) and a Cholesky factorisation (dpotrf); and triangular solves with several right-hand
// sides in place (dtrsm), which Kokkos Kernels 3.4 has but does not send to the host BLAS. Each
// is one call that the library runs on its own threads over all cores, with its own blocking, as
// NumPy's L.T @ L and np.linalg.cholesky do; klab's team kernels on a host space would instead
// leave the chain of diagonal blocks to one thread. Host spaces only: the Views' memory must be the host's.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/kokkos_compat.hpp"
#include "core/spaces.hpp"
#include "core/views.hpp"

// Fortran's calling convention: every argument by address, and after them the length of each
// character argument, which gfortran-built LAPACK routines may pass on to the ones they call.
extern "C" {
void F77_BLAS_MANGLE(dsyrk, DSYRK)(const char* uplo, const char* trans, const int* n, const int* k,
                                   const double* alpha, const double* a, const int* lda, const double* beta,
                                   double* c, const int* ldc, std::size_t uplo_length, std::size_t trans_length);
void F77_BLAS_MANGLE(dpotrf, DPOTRF)(const char* uplo, const int* n, double* a, const int* lda, int* info,
                                     std::size_t uplo_length);
void F77_BLAS_MANGLE(dtrsm, DTRSM)(const char* side, const char* uplo, const char* transa, const char* diag, const int* m,
                                   const int* n, const double* alpha, const double* a, const int* lda, double* b,
                                   const int* ldb, std::size_t side_length, std::size_t uplo_length,
                                   std::size_t transa_length, std::size_t diag_length);
}

namespace klab::linalg {

// Whether klab's dense symmetric solves on ExecSpace go to the host BLAS and LAPACK: on host spaces
// where Kokkos Kernels links them.
template <class ExecSpace>
inline constexpr bool uses_host_lapack = !SpaceTraits<ExecSpace>::is_device && compat::host_lapack_linked;

// Fortran's INTEGER: klab's extents stay below 2³¹ (a deck's obs is at most 1e9).
inline int fortran_int(std::int64_t value) { return static_cast<int>(value); }

// The leading dimension of a LayoutLeft matrix, at least 1 as LAPACK requires of empty ones.
template <class Matrix>
int leading_dimension(const Matrix& m) {
  return fortran_int(std::max<std::int64_t>(1, static_cast<std::int64_t>(m.stride(1))));
}

// The lower triangle of g (n×n) = lᵀl for the rows×n matrix l, by one dsyrk; above the diagonal g
// keeps what it held. Waits for what `space` was computing into l or g first.
template <class ExecSpace>
void host_lower_gram(const ExecSpace& space, const SpaceMatrix<ExecSpace>& l, const SpaceMatrix<ExecSpace>& g) {
  static_assert(uses_host_lapack<ExecSpace>, "the host BLAS reads host memory only");
  space.fence();
  const int n = fortran_int(l.extent(1)), k = fortran_int(l.extent(0)), lda = leading_dimension(l),
            ldc = leading_dimension(g);
  const double one = 1, zero = 0;
  F77_BLAS_MANGLE(dsyrk, DSYRK)("L", "T", &n, &k, &one, l.data(), &lda, &zero, g.data(), &ldc, 1, 1);
}

}  // namespace klab::linalg
