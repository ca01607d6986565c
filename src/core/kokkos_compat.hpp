#pragma once
// The one place where klab's code differs between Kokkos / Kokkos Kernels 3.4 (Debian's) and 4.x;
// the Kokkos Core part, which klab_core (built without Kokkos Kernels) needs too, is in
// core/kokkos_core_compat.hpp.
#include <KokkosKernels_config.h>

#include "core/kokkos_core_compat.hpp"

#include <KokkosBlas1_axpby.hpp>
#include <KokkosBlas2_gemv.hpp>
#include <KokkosBlas3_gemm.hpp>
#include <KokkosBlas3_trsm.hpp>

namespace klab::compat {

// Whether Kokkos Kernels links a host BLAS with LAPACK, whose Fortran routines (named by its
// F77_BLAS_MANGLE) klab may call itself on host spaces. 3.4 has no LAPACK TPL macro: its BLAS TPL
// calls LAPACK's dtrtri, so linking it links LAPACK; 4.x names the LAPACK TPL apart.
#if defined(KOKKOSKERNELS_ENABLE_TPL_BLAS) && \
    (defined(KOKKOSKERNELS_ENABLE_TPL_LAPACK) || !defined(KOKKOSKERNELS_VERSION))
inline constexpr bool host_lapack_linked = true;
#else
inline constexpr bool host_lapack_linked = false;
#endif

// y += alpha x on `space`, as gemm below.
template <class ExecSpace, class XView, class YView>
void axpy([[maybe_unused]] const ExecSpace& space, double alpha, const XView& x, const YView& y) {
#if defined(KOKKOSKERNELS_VERSION) && KOKKOSKERNELS_VERSION >= 40100
  KokkosBlas::axpy(space, alpha, x, y);
#else
  KokkosBlas::axpy(alpha, x, y);
#endif
}

// C = alpha op(A) op(B) + beta C, with op "N" (as is) or "T" (transposed), on `space`.
// Kokkos Kernels 4.1 takes the execution space as an argument; 3.4 runs on the execution space of
// the Views' device type, so callers give their Views Kokkos::Device<ExecSpace, memory space>.
// Neither fences: the caller does.
template <class ExecSpace, class AView, class BView, class CView>
void gemm([[maybe_unused]] const ExecSpace& space, const char* trans_a, const char* trans_b, double alpha,
          const AView& a, const BView& b, double beta, const CView& c) {
#if defined(KOKKOSKERNELS_VERSION) && KOKKOSKERNELS_VERSION >= 40100
  KokkosBlas::gemm(space, trans_a, trans_b, alpha, a, b, beta, c);
#else
  KokkosBlas::gemm(trans_a, trans_b, alpha, a, b, beta, c);
#endif
}

// y = alpha op(A) x + beta y on `space`, as gemm above.
template <class ExecSpace, class AView, class XView, class YView>
void gemv([[maybe_unused]] const ExecSpace& space, const char* trans, double alpha, const AView& a, const XView& x,
          double beta, const YView& y) {
#if defined(KOKKOSKERNELS_VERSION) && KOKKOSKERNELS_VERSION >= 40100
  KokkosBlas::gemv(space, trans, alpha, a, x, beta, y);
#else
  KokkosBlas::gemv(trans, alpha, a, x, beta, y);
#endif
}

// B = alpha op(A)⁻¹ B (side "L") or alpha B op(A)⁻¹ (side "R"), A triangular (uplo "L" or "U",
// diag "N" or "U" for a unit diagonal). Every Kokkos Kernels version has this form, which runs on
// the execution space of the Views' device type: with klab's Views, `space`'s.
template <class ExecSpace, class AView, class BView>
void trsm(const ExecSpace&, const char* side, const char* uplo, const char* trans, const char* diag, double alpha,
          const AView& a, const BView& b) {
  KokkosBlas::trsm(side, uplo, trans, diag, alpha, a, b);
}

}  // namespace klab::compat
