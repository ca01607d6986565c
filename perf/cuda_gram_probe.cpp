// The lower triangle of the gram G = LᵀL (L column-major, rows × n), as the ANN's outer layer on
// a CUDA device forms it, timed by cuBLAS in several ways side by side: the column blocks' pairs
// one dgemm each (what lower_gram does), the same blocks as one strided-batched dgemm per block
// diagonal (fewer, wider launches), by halving (the block below the diagonal of the two halves in
// one dgemm, then each half's triangle again), the full product by one dgemm, and dsyrk. Prints the median
// and minimum of 20 event-timed repetitions after 3 warm-ups.
//
//   build/cuda/perf/cuda_gram_probe [rows n]      default: 100000 1008 (the seed's [L | y | 0])
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

void check(int status, const char* what) {
  if (status != 0) {
    std::fprintf(stderr, "cuda_gram_probe: %s failed (%d)\n", what, status);
    std::exit(1);
  }
}

// Entries of L in [-0.5, 0.5), from a multiplicative hash of the index.
__global__ void fill(double* l, long count) {
  for (long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<long>(gridDim.x) * blockDim.x)
    l[i] = static_cast<double>((static_cast<unsigned long>(i) * 2654435761ul) % 1000ul) / 1000.0 - 0.5;
}

template <class Launch>
void time_launches(const std::string& name, Launch&& launch) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  for (int w = 0; w < 3; ++w) launch();
  std::vector<float> ms;
  for (int r = 0; r < 20; ++r) {
    check(cudaEventRecord(start), "cudaEventRecord");
    launch();
    check(cudaEventRecord(stop), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float elapsed = 0;
    check(cudaEventElapsedTime(&elapsed, start, stop), "cudaEventElapsedTime");
    ms.push_back(elapsed);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-44s median %.3f ms  min %.3f ms\n", name.c_str(), ms[ms.size() / 2], ms[0]);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

}  // namespace

int main(int argc, char** argv) {
  const long rows = argc > 1 ? std::atol(argv[1]) : 100000, n = argc > 2 ? std::atol(argv[2]) : 1008;
  if (rows < 1 || n < 2) {
    std::fprintf(stderr, "cuda_gram_probe: rows and n must be positive integers (n at least 2)\n");
    return 2;
  }
  double *l = nullptr, *g = nullptr;
  check(cudaMalloc(&l, sizeof(double) * rows * n), "cudaMalloc");
  check(cudaMalloc(&g, sizeof(double) * n * n), "cudaMalloc");
  fill<<<1024, 256>>>(l, rows * n);
  check(cudaDeviceSynchronize(), "fill");
  cublasHandle_t handle;
  check(cublasCreate(&handle), "cublasCreate");
  const double one = 1.0, zero = 0.0;
  std::printf("L %ld x %ld; G's lower triangle in column blocks of equal width\n", rows, n);
  for (const long blocks : {2L, 4L, 6L, 7L, 8L, 12L, 16L}) {
    if (n % blocks != 0) continue;
    const long w = n / blocks;
    const std::string shape = std::to_string(blocks) + " blocks of " + std::to_string(w);
    time_launches("pairs, " + shape, [&] {
      for (long bi = 0; bi < blocks; ++bi)
        for (long bj = 0; bj <= bi; ++bj)
          check(cublasDgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, w, w, rows, &one, l + bi * w * rows, rows,
                            l + bj * w * rows, rows, &zero, g + bi * w + bj * w * n, n),
                "cublasDgemm");
    });
    // Diagonal d holds the blocks (i + d, i): A, B and C step by one block per batch entry.
    time_launches("batched per block diagonal, " + shape, [&] {
      for (long d = 0; d < blocks; ++d)
        check(cublasDgemmStridedBatched(handle, CUBLAS_OP_T, CUBLAS_OP_N, w, w, rows, &one, l + d * w * rows, rows,
                                        w * rows, l, rows, w * rows, &zero, g + d * w, n, w * (n + 1), blocks - d),
              "cublasDgemmStridedBatched");
    });
  }
  // Halving: the block below the diagonal of the two halves by one dgemm, each half's triangle
  // again so, `depth` times; the blocks on the diagonal at the bottom by one dgemm each.
  const auto halving = [&](auto&& self, long first, long width, int depth) -> void {
    if (depth == 0) {
      check(cublasDgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, width, width, rows, &one, l + first * rows, rows,
                        l + first * rows, rows, &zero, g + first + first * n, n),
            "cublasDgemm");
      return;
    }
    const long half = width / 2;
    check(cublasDgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, width - half, half, rows, &one, l + (first + half) * rows,
                      rows, l + first * rows, rows, &zero, g + first + half + first * n, n),
          "cublasDgemm");
    self(self, first, half, depth - 1);
    self(self, first + half, width - half, depth - 1);
  };
  for (int depth = 1; depth <= 4; ++depth)
    time_launches("halving, depth " + std::to_string(depth), [&] { halving(halving, 0, n, depth); });
  time_launches("full product, one dgemm", [&] {
    check(cublasDgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, n, rows, &one, l, rows, l, rows, &zero, g, n),
          "cublasDgemm");
  });
  time_launches("lower triangle, one dsyrk", [&] {
    check(cublasDsyrk(handle, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, n, rows, &one, l, rows, &zero, g, n),
          "cublasDsyrk");
  });
  cublasDestroy(handle);
  cudaFree(l);
  cudaFree(g);
  return 0;
}
