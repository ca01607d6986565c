#pragma once
// Where Kokkos Core 3.4 (Debian's) and 4.x differ, for klab's code; core/kokkos_compat.hpp adds
// Kokkos Kernels.
#include <Kokkos_Core.hpp>

namespace klab::compat {

// Kokkos's portable math functions (tanh, atanh, sqrt, ...): Kokkos::Experimental in 3.x,
// Kokkos from 3.7 on.
#if KOKKOS_VERSION >= 30700
namespace math = ::Kokkos;
#else
namespace math = ::Kokkos::Experimental;
#endif

// 1/√x. Kokkos 3.4 has no rsqrt; CUDA's is one instruction sequence where 1/sqrt(x) is two (a
// square root, then a division), which matters in chains of dependent steps.
KOKKOS_INLINE_FUNCTION double reciprocal_sqrt(double x) {
#ifdef __CUDA_ARCH__
  return ::rsqrt(x);
#else
  return 1.0 / math::sqrt(x);
#endif
}

// The command-line options Kokkos::initialize reads (its --kokkos-help), by the kind of value
// they take. 3.7 renamed --kokkos-threads to --kokkos-num-threads (4.3 dropped the old name).
// Each list ends with nullptr: counts take =INT >= 1 (threads), indices =INT >= 0 (a device, a
// NUMA region), texts =STRING (or INT[,INT]), flags nothing.
#if KOKKOS_VERSION >= 30700
inline constexpr const char* kokkos_count_options[] = {"--kokkos-num-threads", "--kokkos-threads", nullptr};
inline constexpr const char* kokkos_index_options[] = {"--kokkos-device-id", "--kokkos-numa", nullptr};
inline constexpr const char* kokkos_text_options[] = {"--kokkos-map-device-id-by", "--kokkos-num-devices",
                                                      "--kokkos-tools-libs", "--kokkos-tools-library",
                                                      "--kokkos-tools-args", nullptr};
inline constexpr const char* kokkos_flag_options[] = {"--kokkos-help", "--kokkos-disable-warnings",
                                                      "--kokkos-print-configuration", "--kokkos-tune-internals",
                                                      "--kokkos-tools-help", nullptr};
#else
inline constexpr const char* kokkos_count_options[] = {"--kokkos-threads", nullptr};
inline constexpr const char* kokkos_index_options[] = {"--kokkos-device-id", "--kokkos-device", "--kokkos-numa",
                                                       nullptr};
inline constexpr const char* kokkos_text_options[] = {"--kokkos-num-devices", "--kokkos-ndevices",
                                                      "--kokkos-tools-library", "--kokkos-tools-args", nullptr};
inline constexpr const char* kokkos_flag_options[] = {"--kokkos-help", "--kokkos-disable-warnings",
                                                      "--kokkos-tune-internals", "--kokkos-tools-help", nullptr};
#endif

// The most threads Kokkos's OpenMP space can run: it keeps a fixed array of that many per-thread
// slots and writes past it when started with more. 0 without the OpenMP space.
#if !defined(KOKKOS_ENABLE_OPENMP)
inline constexpr int openmp_max_threads = 0;
#elif KOKKOS_VERSION >= 40000
inline constexpr int openmp_max_threads = Kokkos::Impl::OpenMPTraits::MAX_THREAD_COUNT;
#else
inline constexpr int openmp_max_threads = Kokkos::Impl::OpenMPExec::MAX_THREAD_COUNT;
#endif

}  // namespace klab::compat
