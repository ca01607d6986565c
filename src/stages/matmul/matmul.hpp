#pragma once
// Stage `matmul`: C = A·B with A M×K and B K×N doubles, the seed notebook's matrix product.
//
//   for (j = 0; j < n; ++j)
//     for (i = 0; i < m; ++i) {
//       c[i][j] = 0;
//       for (p = 0; p < k; ++p) c[i][j] += a[i][p] * b[p][j];
//     }
//
// Work per product, for every variant (matmul_work): 2 M N K FLOPs, and 8 (M K + K N + M N) bytes.
// Variants:
//   kokkos-kernels  KokkosBlas::gemm, which reaches the host BLAS or cuBLAS through Kokkos Kernels'
//                   TPLs when they are enabled (the record's notes say which path ran);
//   naive           one work item per element of C, the inner product over K (seed 002's loop);
//   tiled           a team per C tile; A and B tiles staged in team scratch memory, K tile by K tile
//                   (seed 000's block split & join); each thread holds a register block of C (8×8 on a
//                   CPU, 4×4 on a GPU);
//   zip-reduce      the lecture's unfused form: a zip kernel writes all M·K·N products to memory,
//                   a reduce kernel sums them over K. It shows in numbers why fusion matters, and
//                   needs 8 M·K·N bytes, so it is limited to M·K·N <= 2^26 (512 MiB).
// `variants` defaults to all four, zip-reduce only for the cases within its limit; listing it
// explicitly with a larger case is a deck error.
//
// Deck keys (read in matmul.cpp): `sizes` (square N) and/or `shapes` (a list of {m, k, n}),
// `variants`, and `tile: {m, n, k}` for the tiled variant (m and n multiples of 8; each key
// defaults per space), refused when `variants` leaves tiled out.
//
// On R ranks (mpirun) each rank holds a block of A's and C's rows and all of B, generated from the
// seed by global index, and multiplies its block; the check's sums of squares add up over ranks.
// No collective runs within a product.
//
// Inputs are uniform in [0, 1) like NumPy's random.rand, generated on the space from the deck's
// seed. Every variant writes into C poisoned with NaN and is compared with the KokkosBlas::gemm
// result (relative Frobenius error), which is itself checked once per case on the host: against
// a triple loop up to M·N·K = 2^27, and above by Freivalds' projection C·x = A·(B·x).
// Tolerance: every summation order of a K-term inner product is within K·eps·(|A||B|)_ij of the
// exact value, and with inputs in [0, 1) |A||B| = A·B, so two correct products differ by at most
// 2·K·eps in relative Frobenius norm.
//
// matmul_backward() is the matching backward pass (seed 002): for f(M, N) = M·N,
// grad_M = grad_out·Nᵀ and grad_N = Mᵀ·grad_out, two gemm calls with transposes.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/device_pragma.hpp"
#include "core/kokkos_compat.hpp"
#include "core/random.hpp"
#include "core/stage.hpp"
#include "core/views.hpp"
#include "linalg/tensor_cores.hpp"

namespace klab::stages {

// The stage's deck keys and cases: matmul.cpp.
StageDefinition matmul_stage();

// zip-reduce's M×K×N products.
template <class ExecSpace>
using Products = Kokkos::View<double***, Kokkos::LayoutLeft, SpaceDevice<ExecSpace>>;
using HostMatrix = Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace>;

struct MatmulShape {
  std::int64_t m = 0, k = 0, n = 0;  // A is m×k, B is k×n, C is m×n
  double flops() const { return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k); }
  std::int64_t products() const { return m * k * n; }
  // The size a crossover analysis sorts by: N, or for a rectangular shape the N of the square
  // product with as many multiply-adds.
  double size() const { return m == k && k == n ? static_cast<double>(n) : std::cbrt(static_cast<double>(products())); }
};

// The C tile (m×n) and K tile (k) of the tiled variant; 0 means the space's default.
struct TileShape {
  int m = 0, n = 0, k = 0;
};

enum class MatmulVariant { kokkos_kernels, naive, tiled, zip_reduce };

// The deck's names of the variants, in the order of MatmulVariant.
inline const std::vector<std::string>& matmul_variant_names() {
  static const std::vector<std::string> names = {"kokkos-kernels", "naive", "tiled", "zip-reduce"};
  return names;
}
inline const std::string& name_of(MatmulVariant variant) {
  return matmul_variant_names()[static_cast<std::size_t>(variant)];
}
// The variant of a name from matmul_variant_names().
inline MatmulVariant variant_named(const std::string& name) {
  const auto& names = matmul_variant_names();
  return static_cast<MatmulVariant>(std::find(names.begin(), names.end(), name) - names.begin());
}

struct MatmulParams {
  std::vector<MatmulShape> shapes;
  std::vector<MatmulVariant> variants;
  TileShape tile;
};

constexpr std::int64_t zip_reduce_max_products = std::int64_t(1) << 26;
// Up to this M·N·K the gemm reference is checked against a host triple loop (under a second).
constexpr std::int64_t host_loop_max_products = std::int64_t(1) << 27;
// Doubles in one SIMD register of the ISA klab's host code is compiled for (KLAB_HOST_ARCH).
#if defined(__AVX512F__)
constexpr int host_vector_doubles = 8;
#elif defined(__AVX__)
constexpr int host_vector_doubles = 4;
#else
constexpr int host_vector_doubles = 2;
#endif
// The register block of C that one thread of the tiled variant accumulates, per arrangement
// (see TiledMultiply). On a CPU a column of the block is one to four SIMD vectors, and a sweep over
// the K tile needs at least as many independent vector accumulators as FMAs can be in flight
// (2 pipes × 4 cycles on current x86 cores), held in registers with a column of A and a broadcast
// of B: 8×8 is eight of AVX-512's 32 registers; with AVX2 (16 registers) and SSE2 the block's
// columns go in passes of eight accumulators (host_multiply_panels). What each block measured:
// README, stage `matmul`.
struct RegisterBlock {
  int rows, cols;
};
template <bool GpuLayout>
constexpr RegisterBlock register_block = GpuLayout ? RegisterBlock{4, 4} : RegisterBlock{8, 8};
// Register blocks in a C tile.
inline int register_blocks(const TileShape& tile, const RegisterBlock& block) {
  return (tile.m / block.rows) * (tile.n / block.cols);
}
// A deck's tile must suit the register block of every arrangement.
constexpr RegisterBlock tile_multiple = {std::lcm(register_block<true>.rows, register_block<false>.rows),
                                         std::lcm(register_block<true>.cols, register_block<false>.cols)};

// Streams of the counter-based generator for A, B and Freivalds' vector x.
constexpr std::uint64_t matmul_stream_a = 11, matmul_stream_b = 12, matmul_stream_x = 13;

// Index arithmetic in 64 bits: M·N, and zip-reduce's M·K·N, can pass 2^31.
template <class ExecSpace>
using Range64 = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>;

// c(i, j) = Σ_p a(i, p)·b(p, j), one work item per element of C.
template <class ExecSpace>
struct MatmulNaive {
  SpaceMatrix<ExecSpace> a, b, c;
  std::int64_t rows, depth;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t index) const {
    const std::int64_t i = index % rows, j = index / rows;
    double sum = 0;
    for (std::int64_t p = 0; p < depth; ++p) sum += a(i, p) * b(p, j);
    c(i, j) = sum;
  }
};

template <class ExecSpace>
void multiply_naive(const ExecSpace& space, const SpaceMatrix<ExecSpace>& a, const SpaceMatrix<ExecSpace>& b,
                    const SpaceMatrix<ExecSpace>& c) {
  const std::int64_t rows = c.extent(0), depth = a.extent(1);
  // Consecutive work items take consecutive rows of one column of C: adjacent in memory
  // (LayoutLeft), so a GPU warp's loads of A coalesce and all of it reads one element of B.
  Kokkos::parallel_for(
      "matmul::naive", Range64<ExecSpace>(space, 0, c.size()), MatmulNaive<ExecSpace>{a, b, c, rows, depth});
}

// products(i, p, j) = a(i, p) * b(p, j), one work item per product.
template <class ExecSpace>
struct MatmulZip {
  SpaceMatrix<ExecSpace> a, b;
  Products<ExecSpace> products;
  std::int64_t rows, depth;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t index) const {
    const std::int64_t i = index % rows, p = index / rows % depth, j = index / rows / depth;
    products(i, p, j) = a(i, p) * b(p, j);
  }
};

// c(i, j) = Σ_p products(i, p, j), one work item per element of C.
template <class ExecSpace>
struct MatmulReduce {
  Products<ExecSpace> products;
  SpaceMatrix<ExecSpace> c;
  std::int64_t rows, depth;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t index) const {
    const std::int64_t i = index % rows, j = index / rows;
    double sum = 0;
    for (std::int64_t p = 0; p < depth; ++p) sum += products(i, p, j);
    c(i, j) = sum;
  }
};

// Zip: products(i, p, j) = a(i, p) * b(p, j) for all i, p, j; reduce: c(i, j) = sum over p.
template <class ExecSpace>
void multiply_zip_reduce(const ExecSpace& space, const SpaceMatrix<ExecSpace>& a, const SpaceMatrix<ExecSpace>& b,
                         const Products<ExecSpace>& products, const SpaceMatrix<ExecSpace>& c) {
  const std::int64_t rows = c.extent(0), depth = a.extent(1);
  Kokkos::parallel_for(
      "matmul::zip", Range64<ExecSpace>(space, 0, products.size()), MatmulZip<ExecSpace>{a, b, products, rows, depth});
  Kokkos::parallel_for(
      "matmul::reduce", Range64<ExecSpace>(space, 0, c.size()), MatmulReduce<ExecSpace>{products, c, rows, depth});
}

// What the tiled kernels share: the product, the tile, and the C tiles of the league, team t
// taking the tile t % tiles_down down and t / tiles_down across.
template <class ExecSpace>
struct TiledProduct {
  using Scratch = Kokkos::View<double*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;

  SpaceMatrix<ExecSpace> a, b, c;
  TileShape tile;
  int scratch_level;
  std::int64_t tiles_down;  // C tiles per column of tiles

  TiledProduct(const SpaceMatrix<ExecSpace>& a_, const SpaceMatrix<ExecSpace>& b_, const SpaceMatrix<ExecSpace>& c_,
               const TileShape& tile_, int scratch_level_)
      : a(a_),
        b(b_),
        c(c_),
        tile(tile_),
        scratch_level(scratch_level_),
        tiles_down((static_cast<std::int64_t>(c_.extent(0)) + tile_.m - 1) / tile_.m) {}

  std::int64_t league_size() const {
    return tiles_down * ((static_cast<std::int64_t>(c.extent(1)) + tile.n - 1) / tile.n);
  }
  // How many of the `size` rows, columns or steps from `first` on lie within `extent`: a tile's
  // share of a matrix at its edges.
  KOKKOS_INLINE_FUNCTION static int within(std::int64_t extent, std::int64_t first, int size) {
    const std::int64_t left = extent - first;
    return left < size ? static_cast<int>(left) : size;
  }
  // The first row and column of C in a team's tile.
  KOKKOS_INLINE_FUNCTION std::int64_t tile_row0(std::int64_t team) const { return team % tiles_down * tile.m; }
  KOKKOS_INLINE_FUNCTION std::int64_t tile_col0(std::int64_t team) const { return team / tiles_down * tile.n; }

  // A team's threads' shares of a rows×cols block they stage: they split the rows first, so that
  // consecutive threads take consecutive elements of a column, adjacent in memory (LayoutLeft),
  // and a GPU's loads coalesce. A thread takes rows rank_down + i threads_down of columns
  // rank_across + j threads_across; the threads left over when the team size is no multiple of
  // threads_down take none.
  struct BlockShare {
    int threads_down, threads_across, rank_down, rank_across;

    KOKKOS_INLINE_FUNCTION BlockShare(int team_size, int team_rank, int rows)
        : threads_down(team_size < rows ? team_size : rows),
          threads_across(team_size / threads_down),
          rank_down(team_rank % threads_down),
          rank_across(team_rank / threads_down) {}
    KOKKOS_INLINE_FUNCTION bool idle() const { return rank_across >= threads_across; }
  };
};

// The tiled kernel: team t computes the C tile (tile.m × tile.n) at league rank t. For each K
// tile the team copies the A tile (tile.m × tile.k) and the B tile (tile.k × tile.n, rearranged:
// see b_index) into scratch, zero-padded past the matrices' edges, and each thread multiplies
// them into its register blocks.
// On a GPU a team has one thread per register block, whose accumulators stay in registers over
// the whole K loop. A CPU team is one thread owning every block of the tile; it keeps the partial
// sums in C itself between K tiles (the C tile is in its cache), and the tiles act as the packed,
// cache-sized panels of a CPU gemm. `GpuLayout` arranges blocks and scratch for a GPU (below); it
// defaults to whether the space is one, and tests run the GPU arrangement on the host too.
template <class ExecSpace, bool GpuLayout = SpaceTraits<ExecSpace>::is_device>
struct TiledMultiply : TiledProduct<ExecSpace> {
  using Product = TiledProduct<ExecSpace>;
  using Product::a, Product::b, Product::c, Product::tile, Product::scratch_level;
  using typename Product::Scratch;
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Member = typename Policy::member_type;
  static constexpr int block_rows = register_block<GpuLayout>.rows, block_cols = register_block<GpuLayout>.cols;
  struct Accumulator {
    double value[block_cols][block_rows];
  };

  int blocks_down, blocks_across;

  TiledMultiply(const SpaceMatrix<ExecSpace>& a_, const SpaceMatrix<ExecSpace>& b_, const SpaceMatrix<ExecSpace>& c_,
                const TileShape& tile_, int scratch_level_)
      : Product(a_, b_, c_, tile_, scratch_level_),
        blocks_down(tile_.m / block_rows),
        blocks_across(tile_.n / block_cols) {}

  KOKKOS_INLINE_FUNCTION int register_blocks() const { return blocks_down * blocks_across; }
  static std::size_t scratch_bytes(const TileShape& t) {
    return Scratch::shmem_size(a_tile_size(t)) + Scratch::shmem_size(b_tile_size(t));
  }

  // The A tile. On a CPU: panels of block_rows rows, each p-major (row % R + R p + R k (row / R)),
  // so that a thread's sweep over p reads its block's panel in order, one SIMD load per step. On a
  // GPU: column-major, where the threads of a warp read consecutive rows of one column.
  KOKKOS_INLINE_FUNCTION static std::size_t a_tile_size(const TileShape& t) {
    return static_cast<std::size_t>(t.m) * static_cast<std::size_t>(t.k);
  }
  KOKKOS_INLINE_FUNCTION int a_index(int row, int p) const {
    return GpuLayout ? row + p * tile.m : row % block_rows + block_rows * (p + tile.k * (row / block_rows));
  }

  // The B tile is stored so that one step p of the inner product finds a thread's B values in one
  // place, as it finds its A values, so that a step is vector loads and broadcasts across the
  // register block rather than a reduction across p. On a CPU: panels of block_cols columns, each p-major
  // (col % C + C p + C k (col / C)), which the staging copy writes almost in order.
  // On a GPU: transposed, with one spare row, so that the threads staging a column of B, which
  // write a row of the tile, hit distinct shared-memory banks.
  KOKKOS_INLINE_FUNCTION static std::size_t b_tile_size(const TileShape& t) {
    return static_cast<std::size_t>(GpuLayout ? t.n + 1 : t.n) * static_cast<std::size_t>(t.k);
  }
  KOKKOS_INLINE_FUNCTION int b_index(int p, int col) const {
    return GpuLayout ? col + p * (tile.n + 1)
                     : col % block_cols + block_cols * (p + tile.k * (col / block_cols));
  }

  // The rows of a register block: adjacent on a CPU, where a thread's column of eight values is one
  // AVX-512 load (two AVX2 ones); on a GPU strided by the number of blocks down the tile, so that
  // the threads of a warp read consecutive scratch words (no bank conflicts). The same for columns.
  KOKKOS_INLINE_FUNCTION int row_in_tile(int block, int r) const {
    const int block_row = block % blocks_down;
    return GpuLayout ? block_row + r * blocks_down : block_row * block_rows + r;
  }
  KOKKOS_INLINE_FUNCTION int col_in_tile(int block, int s) const {
    const int block_col = block / blocks_down;
    return GpuLayout ? block_col + s * blocks_across : block_col * block_cols + s;
  }

  // Calls put(r, s, source(row0 + r, col0 + s)) over a rows×cols block, with zeros past the
  // source's edges, each thread its BlockShare. Host builds stage the CPU arrangement with
  // host_stage_tiles instead; this serves it where the tests run it on a GPU.
  // No division per element: it would cost more than the copy on a CPU.
  template <class Put>
  KOKKOS_INLINE_FUNCTION static void copy_block(const Member& team, int rows, int cols,
                                                const SpaceMatrix<ExecSpace>& source, std::int64_t row0,
                                                std::int64_t col0, const Put& put) {
    const typename Product::BlockShare share(team.team_size(), team.team_rank(), rows);
    if (share.idle()) return;
    const int valid_rows = Product::within(source.extent(0), row0, rows);
    const int valid_cols = Product::within(source.extent(1), col0, cols);
    for (int s = share.rank_across; s < cols; s += share.threads_across) {
      const int valid = s < valid_cols ? valid_rows : 0;
      int r = share.rank_down;
      for (; r < valid; r += share.threads_down) put(r, s, source(row0 + r, col0 + s));
      for (; r < rows; r += share.threads_down) put(r, s, 0.0);
    }
  }

  // Stages the A and B tiles at K offset k0; the barrier makes them visible to the whole team.
  KOKKOS_INLINE_FUNCTION void stage_tiles(const Member& team, const Scratch& a_tile, const Scratch& b_tile,
                                          std::int64_t row0, std::int64_t col0, std::int64_t k0) const {
#ifndef __CUDA_ARCH__
    if constexpr (!GpuLayout) {
      host_stage_tiles(team, a_tile, b_tile, row0, col0, k0);
      team.team_barrier();
      return;
    }
#endif
    copy_block(team, tile.m, tile.k, a, row0, k0, [&](int r, int p, double value) { a_tile(a_index(r, p)) = value; });
    copy_block(team, tile.k, tile.n, b, k0, col0, [&](int p, int s, double value) { b_tile(b_index(p, s)) = value; });
    team.team_barrier();
  }

  KOKKOS_INLINE_FUNCTION void accumulate(Accumulator& acc, const Scratch& a_tile, const Scratch& b_tile, int block,
                                         int depth) const {
#ifndef __CUDA_ARCH__
    if constexpr (!GpuLayout) {
      host_multiply_panels(acc, &a_tile(a_index(row_in_tile(block, 0), 0)), &b_tile(b_index(0, col_in_tile(block, 0))),
                           depth);
      return;
    }
#endif
    // The block's A and B values at one step: adjacent on a CPU (one panel each), blocks_down and
    // blocks_across apart on a GPU.
    const int a_step = GpuLayout ? blocks_down : 1, b_step = GpuLayout ? blocks_across : 1;
    for (int p = 0; p < depth; ++p) {
      double a_reg[block_rows], b_reg[block_cols];
      const int a_first = a_index(row_in_tile(block, 0), p), b_first = b_index(p, col_in_tile(block, 0));
      for (int r = 0; r < block_rows; ++r) a_reg[r] = a_tile(a_first + r * a_step);
      for (int s = 0; s < block_cols; ++s) b_reg[s] = b_tile(b_first + s * b_step);
      for (int s = 0; s < block_cols; ++s)
        for (int r = 0; r < block_rows; ++r) acc.value[s][r] += a_reg[r] * b_reg[s];
    }
  }

#ifndef __CUDA_ARCH__
  // The CPU arrangement's staging, without copy_block's index arithmetic per element (a large share
  // of the kernel's time once the multiply ran at speed): A a column at a time, its rows
  // in runs of block_rows into consecutive panels; B a column at a time, its steps block_cols
  // apart. The team's threads take columns in turn. Rows and columns past the matrices' edges are
  // zero; steps past the end of K are left alone (accumulate stops at tile_depth).
  void host_stage_tiles(const Member& team, const Scratch& a_tile, const Scratch& b_tile, std::int64_t row0,
                        std::int64_t col0, std::int64_t k0) const {
    const int depth = tile_depth(k0);
    const int rows = Product::within(a.extent(0), row0, tile.m), cols = Product::within(b.extent(1), col0, tile.n);
    for (int p = team.team_rank(); p < depth; p += team.team_size()) {
      double* run = a_tile.data() + a_index(0, p);
      for (int r0 = 0; r0 < tile.m; r0 += block_rows, run += block_rows * tile.k) {
        if (r0 + block_rows <= rows)
          for (int i = 0; i < block_rows; ++i) run[i] = a(row0 + r0 + i, k0 + p);
        else
          for (int i = 0; i < block_rows; ++i) run[i] = r0 + i < rows ? a(row0 + r0 + i, k0 + p) : 0.0;
      }
    }
    for (int s = team.team_rank(); s < tile.n; s += team.team_size()) {
      double* steps = b_tile.data() + b_index(0, s);
      for (int p = 0; p < depth; ++p) steps[block_cols * p] = s < cols ? b(k0 + p, col0 + s) : 0.0;
    }
  }

  // The CPU arrangement's register block times its A and B panels, written in the compiler's
  // vectors (GCC and Clang): a column of the block is block_rows / host_vector_doubles vectors,
  // and the columns go in passes that leave eight vector accumulators, which the registers hold
  // beside an A column and a broadcast B value. GCC's own vectorisation of the scalar loop above
  // kept the 8x8 block's sixteen AVX2 accumulators partly in memory, and moved operands through
  // shuffles that took the FMA ports.
  static void host_multiply_panels(Accumulator& acc, const double* a_panel, const double* b_panel, int depth) {
    using Vector = double __attribute__((vector_size(sizeof(double) * host_vector_doubles)));
    constexpr int accumulators = 8, vectors = block_rows / host_vector_doubles, pass_cols = accumulators / vectors;
    static_assert(block_rows % host_vector_doubles == 0 && block_cols % pass_cols == 0);
    // Copies, not casts: the panels and the accumulator are only aligned for doubles, and are
    // doubles (the compilers turn these into unaligned vector loads and stores).
    const auto at = [](const double* p) {
      Vector v;
      __builtin_memcpy(&v, p, sizeof v);
      return v;
    };
    const auto put = [](double* p, Vector v) { __builtin_memcpy(p, &v, sizeof v); };
    // An empty asm that claims to change the A column keeps it in registers: without it GCC reads
    // the column again from the panel for every FMA (memory operands), and the loads, not the
    // FMAs, bound the loop.
    const auto keep_in_register = [](Vector& v) {
#if defined(__x86_64__) || defined(__i386__)
      asm("" : "+x"(v));
#else
      (void)v;
#endif
    };
    for (int s0 = 0; s0 < block_cols; s0 += pass_cols) {
      Vector part[pass_cols][vectors];
      for (int s = 0; s < pass_cols; ++s)
        for (int v = 0; v < vectors; ++v) part[s][v] = at(&acc.value[s0 + s][v * host_vector_doubles]);
      for (int p = 0; p < depth; ++p) {
        Vector a_column[vectors];
        for (int v = 0; v < vectors; ++v) {
          a_column[v] = at(a_panel + p * block_rows + v * host_vector_doubles);
          keep_in_register(a_column[v]);
        }
        for (int s = 0; s < pass_cols; ++s) {
          const double b_value = b_panel[p * block_cols + s0 + s];
          for (int v = 0; v < vectors; ++v) part[s][v] += a_column[v] * b_value;
        }
      }
      for (int s = 0; s < pass_cols; ++s)
        for (int v = 0; v < vectors; ++v) put(&acc.value[s0 + s][v * host_vector_doubles], part[s][v]);
    }
  }
#endif

  // The K extent of the tile at k0: tile.k but at the end of K.
  KOKKOS_INLINE_FUNCTION int tile_depth(std::int64_t k0) const {
    return Product::within(a.extent(1), k0, tile.k);
  }

  // Calls f(s, r, i, j) for each element (r, s) of the register block that lies in C, at (i, j).
  template <class F>
  KOKKOS_INLINE_FUNCTION void for_each_in_c(int block, std::int64_t row0, std::int64_t col0, const F& f) const {
    for (int s = 0; s < block_cols; ++s)
      for (int r = 0; r < block_rows; ++r) {
        const std::int64_t i = row0 + row_in_tile(block, r), j = col0 + col_in_tile(block, s);
        if (i < static_cast<std::int64_t>(c.extent(0)) && j < static_cast<std::int64_t>(c.extent(1))) f(s, r, i, j);
      }
  }

  KOKKOS_INLINE_FUNCTION void store(const Accumulator& acc, std::int64_t row0, std::int64_t col0, int block) const {
    for_each_in_c(block, row0, col0, [&](int s, int r, std::int64_t i, std::int64_t j) { c(i, j) = acc.value[s][r]; });
  }

  KOKKOS_INLINE_FUNCTION Accumulator load(std::int64_t row0, std::int64_t col0, int block) const {
    Accumulator acc{};
    for_each_in_c(block, row0, col0, [&](int s, int r, std::int64_t i, std::int64_t j) { acc.value[s][r] = c(i, j); });
    return acc;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const std::int64_t row0 = this->tile_row0(team.league_rank()), col0 = this->tile_col0(team.league_rank());
    const std::int64_t depth = a.extent(1);
    const Scratch a_tile(team.team_scratch(scratch_level), a_tile_size(tile));
    const Scratch b_tile(team.team_scratch(scratch_level), b_tile_size(tile));
    const int passes = register_blocks() / team.team_size();
    if (passes == 1) {
      const int block = team.team_rank();
      Accumulator acc{};
      for (std::int64_t k0 = 0; k0 < depth; k0 += tile.k) {
        stage_tiles(team, a_tile, b_tile, row0, col0, k0);
        accumulate(acc, a_tile, b_tile, block, tile_depth(k0));
        team.team_barrier();  // every thread is done with the tiles before they are overwritten
      }
      store(acc, row0, col0, block);
    } else {
      for (std::int64_t k0 = 0; k0 < depth; k0 += tile.k) {
        stage_tiles(team, a_tile, b_tile, row0, col0, k0);
        for (int pass = 0; pass < passes; ++pass) {
          const int block = team.team_rank() + pass * team.team_size();
          Accumulator acc = k0 == 0 ? Accumulator{} : load(row0, col0, block);
          accumulate(acc, a_tile, b_tile, block, tile_depth(k0));
          store(acc, row0, col0, block);
        }
        team.team_barrier();
      }
    }
  }
};

// The tiled variant on FP64 tensor cores (a CUDA build for a GPU that has them: linalg/
// tensor_cores.hpp). The same split and join as TiledMultiply, A and B tiles staged in team scratch
// K tile by K tile, but a team has one warp per 32×32 block of the C tile, and a warp accumulates
// its block as 4×4 fragments of 8×8 in registers, each step over 4 of K one mma_8x8x4 per
// fragment: 256 multiply-adds per instruction where a SIMT FMA does 32. The tiles come in by
// asynchronous copies into two stages of scratch, the next K tile's while the team multiplies the
// current one. Both tiles are column-major, their leading dimensions padded by 4 (A: tile.m + 4,
// B: tile.k + 4) so that each half-warp's fragment loads (4 rows × 4 of K) hit 16 distinct
// 8-byte bank pairs; for B that holds when tile.k is a multiple of 8 (2- or 4-way conflicts
// otherwise). tile.m and tile.n are multiples of 32, tile.k of 4, and a team has at most
// max_team_size threads.
template <class ExecSpace>
struct TensorCoreTiledMultiply : TiledProduct<ExecSpace> {
  using Product = TiledProduct<ExecSpace>;
  using Product::a, Product::b, Product::c, Product::tile, Product::scratch_level;
  // Teams of up to 256 threads, two per multiprocessor at least: at most 128 registers a thread.
  // A team's threads are its warps' lanes in order (vector length 1, TeamPolicy's default).
  static constexpr int max_team_size = 256;
  using Policy = Kokkos::TeamPolicy<ExecSpace, Kokkos::LaunchBounds<max_team_size, 2>>;
  using Member = typename Policy::member_type;
  using typename Product::Scratch;
  using Fragment = linalg::WarpFragment;
  static constexpr int warp_size = 32, warp_rows = 32, warp_cols = 32, pad = 4, stages = 2;
  static constexpr int fragments_down = warp_rows / Fragment::m, fragments_across = warp_cols / Fragment::n;

  int warps_down;

  TensorCoreTiledMultiply(const SpaceMatrix<ExecSpace>& a_, const SpaceMatrix<ExecSpace>& b_,
                          const SpaceMatrix<ExecSpace>& c_, const TileShape& tile_, int scratch_level_)
      : Product(a_, b_, c_, tile_, scratch_level_), warps_down(tile_.m / warp_rows) {}

  static int team_size(const TileShape& t) { return t.m / warp_rows * (t.n / warp_cols) * warp_size; }
  // The padded leading dimensions of the A tile (tile.m × tile.k) and the B tile (tile.k × tile.n).
  KOKKOS_INLINE_FUNCTION static int a_ld(const TileShape& t) { return t.m + pad; }
  KOKKOS_INLINE_FUNCTION static int b_ld(const TileShape& t) { return t.k + pad; }
  // One stage: the A tile, then the B tile.
  KOKKOS_INLINE_FUNCTION static int stage_size(const TileShape& t) { return a_ld(t) * t.k + b_ld(t) * t.n; }
  static std::size_t scratch_bytes(const TileShape& t) {
    return Scratch::shmem_size(static_cast<std::size_t>(stages) * stage_size(t));
  }
  // Issues this thread's copies (its BlockShare) of source(row0 + r, col0 + s) into
  // tile[r + s * ld] for a rows×cols block, zeros past the source's edges. A block inside the
  // source, as all but the edge tiles are, is walked by pointers without a bounds test per element.
  KOKKOS_INLINE_FUNCTION static void stage_block(const Member& team, int rows, int cols,
                                                 const SpaceMatrix<ExecSpace>& source, std::int64_t row0,
                                                 std::int64_t col0, double* tile, int ld) {
    const typename Product::BlockShare share(team.team_size(), team.team_rank(), rows);
    if (share.idle()) return;
    const std::int64_t source_rows = source.extent(0), source_cols = source.extent(1);
    if (row0 + rows <= source_rows && col0 + cols <= source_cols) {
      const std::int64_t column_step = static_cast<std::int64_t>(share.threads_across) * source.stride(1);
      const double* from = &source(row0 + share.rank_down, col0 + share.rank_across);
      double* to = tile + share.rank_down + share.rank_across * ld;
      for (int s = share.rank_across; s < cols;
           s += share.threads_across, from += column_step, to += share.threads_across * ld)
        for (int r = 0; r < rows - share.rank_down; r += share.threads_down) linalg::copy_async(to + r, from + r, true);
      return;
    }
    for (int s = share.rank_across; s < cols; s += share.threads_across) {
      const bool column_inside = col0 + s < source_cols;
      for (int r = share.rank_down; r < rows; r += share.threads_down) {
        const bool inside = column_inside && row0 + r < source_rows;
        linalg::copy_async(tile + r + s * ld, inside ? &source(row0 + r, col0 + s) : source.data(), inside);
      }
    }
  }

  KOKKOS_INLINE_FUNCTION void stage_tiles(const Member& team, double* stage, std::int64_t row0, std::int64_t col0,
                                          std::int64_t k0) const {
    stage_block(team, tile.m, tile.k, a, row0, k0, stage, a_ld(tile));
    stage_block(team, tile.k, tile.n, b, k0, col0, stage + a_ld(tile) * tile.k, b_ld(tile));
  }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const std::int64_t row0 = this->tile_row0(team.league_rank()), col0 = this->tile_col0(team.league_rank());
    const std::int64_t depth = a.extent(1);
    const int lda = a_ld(tile), ldb = b_ld(tile);
    const Scratch scratch(team.team_scratch(scratch_level), static_cast<std::size_t>(stages) * stage_size(tile));
    const int warp = team.team_rank() / warp_size, lane = team.team_rank() % warp_size;
    const int warp_row0 = warp % warps_down * warp_rows, warp_col0 = warp / warps_down * warp_cols;
    const int row = Fragment::row(lane), quad = Fragment::quad(lane);
    double acc[fragments_down][fragments_across][2] = {};
    stage_tiles(team, scratch.data(), row0, col0, 0);
    linalg::commit_async_copies();
    int current = 0;
    for (std::int64_t k0 = 0; k0 < depth; k0 += tile.k, current ^= 1) {
      if (k0 + tile.k < depth) stage_tiles(team, scratch.data() + (current ^ 1) * stage_size(tile), row0, col0, k0 + tile.k);
      linalg::commit_async_copies();
      linalg::wait_async_copies<1>();  // this thread's copies of the current stage have landed
      team.team_barrier();             // and every thread's
      // This lane's element of A's fragments (rows warp_row0 + 8i + row, column quad) and of B's
      // (row quad, columns warp_col0 + 8j + row); the tiles are zero past the matrices' edges.
      const double* a_values = scratch.data() + current * stage_size(tile) + warp_row0 + row + quad * lda;
      const double* b_values = scratch.data() + current * stage_size(tile) + lda * tile.k + quad + (warp_col0 + row) * ldb;
      // Unrolled on the GPU, so that the next steps' fragment loads issue among this step's mma.
      KLAB_DEVICE_PRAGMA(unroll 4)
      for (int p = 0; p < tile.k; p += Fragment::k) {
        double a_fragment[fragments_down], b_fragment[fragments_across];
        for (int i = 0; i < fragments_down; ++i) a_fragment[i] = a_values[i * Fragment::m + p * lda];
        for (int j = 0; j < fragments_across; ++j) b_fragment[j] = b_values[j * Fragment::n * ldb + p];
        for (int i = 0; i < fragments_down; ++i)
          for (int j = 0; j < fragments_across; ++j) linalg::mma_8x8x4(acc[i][j], a_fragment[i], b_fragment[j]);
      }
      team.team_barrier();  // every warp is done with this stage before the next copies overwrite it
    }
    for (int i = 0; i < fragments_down; ++i)
      for (int j = 0; j < fragments_across; ++j)
        for (int e = 0; e < 2; ++e) {
          const std::int64_t ci = row0 + warp_row0 + i * Fragment::m + row;
          const std::int64_t cj = col0 + warp_col0 + j * Fragment::n + 2 * quad + e;
          if (ci < static_cast<std::int64_t>(c.extent(0)) && cj < static_cast<std::int64_t>(c.extent(1)))
            c(ci, cj) = acc[i][j][e];
        }
  }
};

// Whether the tiled variant runs on FP64 tensor cores on a space.
template <class ExecSpace>
constexpr bool tiled_on_tensor_cores = SpaceTraits<ExecSpace>::is_device && linalg::fp64_tensor_cores;

// The deck's tile with the defaults where it gave none, no larger than the matrices (each extent
// rounded up to `block`, and K to `k_multiple`), so that a small product does not pay for a
// large tile's padding.
inline TileShape fit_tile(const TileShape& requested, const TileShape& fallback, const MatmulShape& shape,
                          const RegisterBlock& block, int k_multiple) {
  const auto fit = [](int wanted, std::int64_t extent, int multiple) {
    const std::int64_t needed = (extent + multiple - 1) / multiple * multiple;
    return needed < wanted ? static_cast<int>(needed) : wanted;
  };
  return {fit(requested.m ? requested.m : fallback.m, shape.m, block.rows),
          fit(requested.n ? requested.n : fallback.n, shape.n, block.cols),
          fit(requested.k ? requested.k : fallback.k, shape.k, k_multiple)};
}

// The tile of the register-block kernel. Defaults: on a GPU a 64×64 C tile, K tile 16 and 256
// threads (16 KiB of shared memory); on a CPU a 128×128 C tile and K tile 128, so that the A and B
// tiles (128 KiB each) stay in a core's L2 cache and each element of A and B is copied N/128 times.
template <class ExecSpace, bool GpuLayout = SpaceTraits<ExecSpace>::is_device>
TileShape resolve_tile(const TileShape& requested, const MatmulShape& shape) {
  const TileShape fallback = SpaceTraits<ExecSpace>::is_device ? TileShape{64, 64, 16} : TileShape{128, 128, 128};
  return fit_tile(requested, fallback, shape, register_block<GpuLayout>, 1);
}

// How the tiled kernel is launched on a space: which kernel, team size and scratch level, checked
// against the space's limits before anything runs.
struct TiledLaunch {
  TileShape tile;
  RegisterBlock block{};  // of a thread; of a warp on tensor cores
  bool tensor_cores = false;
  int team_size = 1;
  int scratch_level = 0;
  std::size_t scratch_bytes = 0;

  std::string describe() const {
    std::ostringstream out;
    out << "C tile " << tile.m << "x" << tile.n << ", K tile " << tile.k << ", " << block.rows << "x" << block.cols
        << (tensor_cores ? " block per warp on FP64 tensor cores (mma 8x8x4)" : " register block per thread")
        << ", team of " << team_size << ", " << scratch_bytes / 1024.0 << " KiB scratch at level " << scratch_level;
    return out.str();
  }
};

// Level 0 is a GPU's shared memory; level 1 (global memory there) takes what does not fit.
template <class ExecSpace>
void place_scratch(TiledLaunch& launch) {
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  launch.scratch_level = launch.scratch_bytes <= static_cast<std::size_t>(Policy::scratch_size_max(0)) ? 0 : 1;
  if (launch.scratch_bytes > static_cast<std::size_t>(Policy::scratch_size_max(launch.scratch_level)))
    throw std::runtime_error("matmul tiled: the A and B tiles need " + std::to_string(launch.scratch_bytes) +
                             " bytes of team scratch, more than " + SpaceTraits<ExecSpace>::name +
                             " offers; use a smaller tile");
}

// The register-block kernel's launch (TiledMultiply<ExecSpace, GpuLayout>).
template <class ExecSpace, bool GpuLayout = SpaceTraits<ExecSpace>::is_device>
TiledLaunch plan_tiled(const TileShape& requested, const MatmulShape& shape) {
  TiledLaunch launch;
  launch.tile = resolve_tile<ExecSpace, GpuLayout>(requested, shape);
  launch.block = register_block<GpuLayout>;
  launch.team_size = SpaceTraits<ExecSpace>::is_device ? register_blocks(launch.tile, launch.block) : 1;
  launch.scratch_bytes = TiledMultiply<ExecSpace, GpuLayout>::scratch_bytes(launch.tile);
  place_scratch<ExecSpace>(launch);
  return launch;
}

// The tensor-core kernel's launch: a deck's tile must have m and n multiples of a warp's block and
// k a multiple of the instruction's 4, and its two stages must fit in shared memory. Defaults: a
// 64×64 C tile (four warps) and K tile 16.
template <class ExecSpace>
TiledLaunch plan_tiled_on_tensor_cores(const TileShape& requested, const MatmulShape& shape) {
  using Kernel = TensorCoreTiledMultiply<ExecSpace>;
  const std::string shown = std::to_string(requested.m) + "x" + std::to_string(requested.n) + "x" +
                            std::to_string(requested.k);
  if (requested.m % Kernel::warp_rows || requested.n % Kernel::warp_cols || requested.k % linalg::WarpFragment::k)
    throw std::runtime_error("matmul tiled: on " + std::string(SpaceTraits<ExecSpace>::name) +
                             "'s FP64 tensor cores the C tile's m and n must be multiples of 32 and its k of 4, got " +
                             shown);
  TiledLaunch launch;
  launch.block = {Kernel::warp_rows, Kernel::warp_cols};
  launch.tile = fit_tile(requested, {64, 64, 16}, shape, launch.block, linalg::WarpFragment::k);
  launch.tensor_cores = true;
  launch.team_size = Kernel::team_size(launch.tile);
  if (launch.team_size > Kernel::max_team_size)
    throw std::runtime_error("matmul tiled: on " + std::string(SpaceTraits<ExecSpace>::name) +
                             "'s FP64 tensor cores a team has a warp per 32x32 block of the C tile, at most " +
                             std::to_string(Kernel::max_team_size / Kernel::warp_size) + " warps; " + shown +
                             " needs " + std::to_string(launch.team_size / Kernel::warp_size));
  launch.scratch_bytes = Kernel::scratch_bytes(launch.tile);
  place_scratch<ExecSpace>(launch);
  if (launch.scratch_level != 0)  // the asynchronous copies write shared memory only
    throw std::runtime_error("matmul tiled: two stages of A and B tiles need " + std::to_string(launch.scratch_bytes) +
                             " bytes, more than the " + std::to_string(Kokkos::TeamPolicy<ExecSpace>::scratch_size_max(0)) +
                             " of " + SpaceTraits<ExecSpace>::name + "'s team shared memory; use a smaller tile");
  return launch;
}

// The tiled variant's launch on a space: on its FP64 tensor cores where it has them.
template <class ExecSpace>
TiledLaunch plan_tiled_variant(const TileShape& requested, const MatmulShape& shape) {
  if constexpr (tiled_on_tensor_cores<ExecSpace>)
    return plan_tiled_on_tensor_cores<ExecSpace>(requested, shape);
  else
    return plan_tiled<ExecSpace>(requested, shape);
}

// Launches a tiled kernel as planned, a team per C tile.
template <class ExecSpace, class Kernel>
void launch_tiled(const ExecSpace& space, const Kernel& kernel, const TiledLaunch& launch) {
  using Policy = typename Kernel::Policy;
  if (kernel.league_size() > std::numeric_limits<int>::max())
    throw std::runtime_error("matmul tiled: too many C tiles for one launch; use a larger tile");
  const Policy policy = Policy(space, static_cast<int>(kernel.league_size()), launch.team_size)
                            .set_scratch_size(launch.scratch_level, Kokkos::PerTeam(launch.scratch_bytes));
  const int team_max = policy.team_size_max(kernel, Kokkos::ParallelForTag());
  if (launch.team_size > team_max)
    throw std::runtime_error("matmul tiled: the tile needs teams of " + std::to_string(launch.team_size) +
                             " threads, " + SpaceTraits<ExecSpace>::name + " allows " + std::to_string(team_max) +
                             "; use a smaller tile");
  Kokkos::parallel_for("matmul::tiled", policy, kernel);
}

// Runs the register-block kernel as planned by plan_tiled<ExecSpace, GpuLayout>.
template <class ExecSpace, bool GpuLayout = SpaceTraits<ExecSpace>::is_device>
void multiply_tiled(const ExecSpace& space, const SpaceMatrix<ExecSpace>& a, const SpaceMatrix<ExecSpace>& b,
                    const SpaceMatrix<ExecSpace>& c, const TiledLaunch& launch) {
  launch_tiled(space, TiledMultiply<ExecSpace, GpuLayout>(a, b, c, launch.tile, launch.scratch_level), launch);
}

// Runs the kernel a launch was planned for (plan_tiled_variant, or plan_tiled<ExecSpace>).
template <class ExecSpace>
void multiply_tiled_variant(const ExecSpace& space, const SpaceMatrix<ExecSpace>& a, const SpaceMatrix<ExecSpace>& b,
                            const SpaceMatrix<ExecSpace>& c, const TiledLaunch& launch) {
  if constexpr (tiled_on_tensor_cores<ExecSpace>) {
    if (launch.tensor_cores) {
      launch_tiled(space, TensorCoreTiledMultiply<ExecSpace>(a, b, c, launch.tile, launch.scratch_level), launch);
      return;
    }
  }
  multiply_tiled(space, a, b, c, launch);
}

// C = A·B by one variant; `products` is zip-reduce's M×K×N buffer (empty for the others). Not fenced.
template <class ExecSpace>
void multiply(const ExecSpace& space, MatmulVariant variant, const SpaceMatrix<ExecSpace>& a,
              const SpaceMatrix<ExecSpace>& b, const SpaceMatrix<ExecSpace>& c, const TiledLaunch& tiled,
              const Products<ExecSpace>& products) {
  switch (variant) {
    case MatmulVariant::kokkos_kernels:
      compat::gemm(space, "N", "N", 1.0, a, b, 0.0, c);
      break;
    case MatmulVariant::naive:
      multiply_naive(space, a, b, c);
      break;
    case MatmulVariant::tiled:
      multiply_tiled_variant(space, a, b, c, tiled);
      break;
    case MatmulVariant::zip_reduce:
      multiply_zip_reduce(space, a, b, products, c);
      break;
  }
}

// For f(M, N) = M·N with upstream gradient grad_out = dL/df: grad_M = grad_out·Nᵀ and
// grad_N = Mᵀ·grad_out. Not fenced.
template <class ExecSpace>
void matmul_backward(const ExecSpace& space, const SpaceMatrix<ExecSpace>& left, const SpaceMatrix<ExecSpace>& right,
                     const SpaceMatrix<ExecSpace>& grad_out, const SpaceMatrix<ExecSpace>& grad_left,
                     const SpaceMatrix<ExecSpace>& grad_right) {
  compat::gemm(space, "N", "T", 1.0, grad_out, right, 0.0, grad_left);
  compat::gemm(space, "T", "N", 1.0, left, grad_out, 0.0, grad_right);
}

// sqrt(sum_squared_difference / sum_squared_reference), or the absolute norm for a zero reference.
inline double norm_ratio(double sum_squared_difference, double sum_squared_reference) {
  return std::sqrt(sum_squared_reference > 0 ? sum_squared_difference / sum_squared_reference : sum_squared_difference);
}

// Σ (c - reference)² and Σ reference²: the parts of a relative Frobenius error, which add up over
// the row blocks of C on several ranks before the ratio is taken.
struct SquaredNorms {
  double difference = 0, reference = 0;
  double ratio() const { return norm_ratio(difference, reference); }
  SquaredNorms summed(const Communicator& comm) const {
    std::vector<double> parts{difference, reference};
    comm.sum(parts);
    return {parts[0], parts[1]};
  }
};

// Σ (c - reference)² into diff and Σ reference² into ref, one work item per element.
template <class ExecSpace>
struct MatmulSquaredError {
  SpaceMatrix<ExecSpace> c, reference;
  std::int64_t rows;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t index, double& diff, double& ref) const {
    const std::int64_t i = index % rows, j = index / rows;
    const double d = c(i, j) - reference(i, j);
    diff += d * d;
    ref += reference(i, j) * reference(i, j);
  }
};

// The parts of ||c - reference||_F / ||reference||_F, on the space; NaN if c holds a NaN.
template <class ExecSpace>
SquaredNorms squared_error(const ExecSpace& space, const SpaceMatrix<ExecSpace>& c,
                           const SpaceMatrix<ExecSpace>& reference) {
  SquaredNorms parts;
  Kokkos::parallel_reduce("matmul::error", Range64<ExecSpace>(space, 0, c.size()),
                          MatmulSquaredError<ExecSpace>{c, reference, static_cast<std::int64_t>(c.extent(0))},
                          parts.difference, parts.reference);
  return parts;
}

// The product on the host, by the plain loop (j, p, i order: unit stride down the columns).
inline HostMatrix host_product(const HostMatrix& a, const HostMatrix& b) {
  HostMatrix c("matmul::host_c", a.extent(0), b.extent(1));
  for (std::size_t j = 0; j < b.extent(1); ++j)
    for (std::size_t p = 0; p < a.extent(1); ++p)
      for (std::size_t i = 0; i < a.extent(0); ++i) c(i, j) += a(i, p) * b(p, j);
  return c;
}

// y = m·x on the host.
inline std::vector<double> host_matvec(const HostMatrix& m, const std::vector<double>& x) {
  std::vector<double> y(m.extent(0), 0.0);
  for (std::size_t j = 0; j < m.extent(1); ++j)
    for (std::size_t i = 0; i < m.extent(0); ++i) y[i] += m(i, j) * x[j];
  return y;
}

// A host check of c = a·b: c may be a row block of the product (with a's rows), whose parts add
// up with the other blocks' to the whole product's.
struct ProductCheck {
  std::string method;
  SquaredNorms parts;
  double tolerance = 0;
  double error() const { return parts.ratio(); }
};

// The parts of ||c - reference||_F / ||reference||_F for host matrices; NaN if c holds a NaN.
inline SquaredNorms host_squared_error(const HostMatrix& c, const HostMatrix& reference) {
  SquaredNorms parts;
  for (std::size_t j = 0; j < c.extent(1); ++j)
    for (std::size_t i = 0; i < c.extent(0); ++i) {
      parts.difference += (c(i, j) - reference(i, j)) * (c(i, j) - reference(i, j));
      parts.reference += reference(i, j) * reference(i, j);
    }
  return parts;
}

inline double host_relative_frobenius_error(const HostMatrix& c, const HostMatrix& reference) {
  return host_squared_error(c, reference).ratio();
}

// c = a·b checked against the host triple loop.
inline ProductCheck check_by_host_loop(const HostMatrix& a, const HostMatrix& b, const HostMatrix& c) {
  return {"host triple loop", host_squared_error(c, host_product(a, b)),
          2.0 * static_cast<double>(a.extent(1)) * std::numeric_limits<double>::epsilon()};
}

// c = a·b checked by Freivalds' projection: |c·x - a·(b·x)| / |a·(b·x)| with x uniform in [0, 1).
// It costs O(MK + KN + MN) and a wrong element shows with high probability. With non-negative
// inputs each matvec adds at most its depth·eps to the bound.
inline ProductCheck check_by_projection(const HostMatrix& a, const HostMatrix& b, const HostMatrix& c,
                                        std::uint64_t seed) {
  std::vector<double> x(b.extent(1));
  for (std::size_t j = 0; j < x.size(); ++j) x[j] = uniform01(seed, matmul_stream_x, j);
  const std::vector<double> projected = host_matvec(c, x), expected = host_matvec(a, host_matvec(b, x));
  SquaredNorms parts;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    parts.difference += (projected[i] - expected[i]) * (projected[i] - expected[i]);
    parts.reference += expected[i] * expected[i];
  }
  return {"Freivalds projection on the host", parts,
          2.0 * static_cast<double>(a.extent(1) + b.extent(1)) * std::numeric_limits<double>::epsilon()};
}

// By the host loop up to host_loop_max_products of the whole product (`rows` of A, all ranks'),
// by projection beyond: the same method on every rank.
inline ProductCheck check_product(const HostMatrix& a, const HostMatrix& b, const HostMatrix& c, std::uint64_t seed,
                                  std::int64_t rows) {
  const std::int64_t products = rows * static_cast<std::int64_t>(a.extent(1) * b.extent(1));
  return products <= host_loop_max_products ? check_by_host_loop(a, b, c) : check_by_projection(a, b, c, seed);
}

// Which gemm KokkosBlas::gemm reaches on this space, from Kokkos Kernels' configuration.
template <class ExecSpace>
std::string gemm_path() {
  if constexpr (SpaceTraits<ExecSpace>::is_device) {
#ifdef KOKKOSKERNELS_ENABLE_TPL_CUBLAS
    return "cuBLAS (Kokkos Kernels' cuBLAS TPL)";
#else
    return "Kokkos Kernels' own gemm kernel (no cuBLAS TPL)";
#endif
  } else {
#if defined(KOKKOSKERNELS_ENABLE_TPL_MKL)
    return "MKL (Kokkos Kernels' MKL TPL), on MKL's own threads";
#elif defined(KOKKOSKERNELS_ENABLE_TPL_BLAS)
    return "host BLAS (Kokkos Kernels' BLAS TPL), on the BLAS library's threads whatever the space "
           "(klab info: Host BLAS)";
#else
    return "Kokkos Kernels' own gemm kernel (no BLAS TPL)";
#endif
  }
}

inline std::string case_label(const MatmulShape& shape) {
  if (shape.m == shape.k && shape.k == shape.n) return "N=" + std::to_string(shape.n);
  return "M=" + std::to_string(shape.m) + " K=" + std::to_string(shape.k) + " N=" + std::to_string(shape.n);
}

// The work of one product by any variant: its FLOPs, and the bytes of A and B read and C written
// once each. What a variant moves beyond that (zip-reduce's products, the other kernels' re-reads
// of A and B) is its cost, not work done.
inline Work matmul_work(const MatmulShape& shape) {
  const double m = static_cast<double>(shape.m), k = static_cast<double>(shape.k), n = static_cast<double>(shape.n);
  return {8.0 * (m * k + k * n + m * n), shape.flops()};
}

// Bytes a case allocates on the space: A, B, C and the reference, and zip-reduce's products when
// it runs for the case.
inline double matmul_bytes(const MatmulShape& shape, const std::vector<MatmulVariant>& variants) {
  const double m = static_cast<double>(shape.m), k = static_cast<double>(shape.k), n = static_cast<double>(shape.n);
  const bool zip_reduce = shape.products() <= zip_reduce_max_products &&
                          std::count(variants.begin(), variants.end(), MatmulVariant::zip_reduce) > 0;
  return 8.0 * (m * k + k * n + 2.0 * m * n + (zip_reduce ? m * k * n : 0.0));
}

}  // namespace klab::stages
