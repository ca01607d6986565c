#pragma once
// FP64 tensor cores, where the build targets a GPU that has them: the one matrix instruction klab
// uses, a warp's 8×8×4 product D = A·B + C in doubles (PTX mma.sync m8n8k4, compute capability 8.0
// and up), and the asynchronous copies that feed it. Kokkos names no such operations; the kernels
// that use them are chosen at compile time through klab::linalg::fp64_tensor_cores, and a build
// for any other target keeps its SIMT kernels.
#include <Kokkos_Core.hpp>

namespace klab::linalg {

// Kokkos 3.4 knows Ampere (8.0); Kokkos 4 adds Hopper (9.0). Both have FP64 tensor cores at
// twice the rate of their FP64 FMA units. Builds for 8.6 and 8.9, which run the instruction at a
// small fraction of that rate, keep the SIMT kernels. The choice follows the build's target, not
// the GPU it runs on: a build for 8.0 takes the tensor cores on an 8.6 card too.
#if defined(KOKKOS_ENABLE_CUDA) && (defined(KOKKOS_ARCH_AMPERE80) || defined(KOKKOS_ARCH_HOPPER90))
inline constexpr bool fp64_tensor_cores = true;
#else
inline constexpr bool fp64_tensor_cores = false;
#endif

// The fragments of one 8×8×4 product in a warp: lane l holds A(l / 4, l % 4), B(l % 4, l / 4) and
// C(l / 4, 2 (l % 4) + e) for e = 0, 1 (the PTX ISA's layout for .f64 m8n8k4, A row-major and
// B column-major).
struct WarpFragment {
  static constexpr int m = 8, n = 8, k = 4;
  KOKKOS_INLINE_FUNCTION static int row(int lane) { return lane / 4; }
  KOKKOS_INLINE_FUNCTION static int quad(int lane) { return lane % 4; }
};

// c += a·b over the warp's fragments; every lane of the warp must call it together. Only device
// code of a build with fp64_tensor_cores may call it; elsewhere it aborts.
KOKKOS_INLINE_FUNCTION void mma_8x8x4([[maybe_unused]] double (&c)[2], [[maybe_unused]] double a,
                                      [[maybe_unused]] double b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m8n8k4.row.col.f64.f64.f64.f64 {%0, %1}, {%2}, {%3}, {%0, %1};\n"
               : "+d"(c[0]), "+d"(c[1])
               : "d"(a), "d"(b));
#else
  Kokkos::abort("klab::linalg::mma_8x8x4: no FP64 tensor cores on this target");
#endif
}

// Asynchronous copies from global to shared memory that do not pass through registers (PTX
// cp.async, compute capability 8.0 and up), so that a team can fetch its next tiles while it
// multiplies the current ones. A thread issues copies, commits them as a group, and waits for its
// groups before a team barrier makes the data visible to the other threads.

// shared[0] = valid ? global[0] : 0, 8 bytes; with valid false nothing is read.
KOKKOS_INLINE_FUNCTION void copy_async([[maybe_unused]] double* shared, [[maybe_unused]] const double* global,
                                       [[maybe_unused]] bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(address), "l"(global), "r"(valid ? 8 : 0));
#else
  Kokkos::abort("klab::linalg::copy_async: no asynchronous copies on this target");
#endif
}

// Closes the group of the copies this thread issued since the last commit.
KOKKOS_INLINE_FUNCTION void commit_async_copies() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}

// Waits until at most `pending` of this thread's committed groups, the newest, are in flight.
template <int pending>
KOKKOS_INLINE_FUNCTION void wait_async_copies() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(pending) : "memory");
#endif
}

}  // namespace klab::linalg
