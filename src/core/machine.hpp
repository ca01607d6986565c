#pragma once
// What the machine is: the seed notebook's first cells (RAM, GPU, processor count) and more.
// Kokkos must be initialised before collect_machine_info().
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace klab {

struct SpaceInfo {
  std::string name;
  int concurrency = 0;
};

struct GpuInfo {
  std::string name;
  int compute_capability_major = 0, compute_capability_minor = 0;
  int multiprocessors = 0;
  std::uint64_t memory_total = 0, memory_free = 0;  // bytes
};

struct MachineInfo {
  std::string hostname;
  std::string cpu_model;
  int logical_cores = 0;
  int initial_thread_cpus = 0;  // CPUs the initial thread may run on: 1 where OMP_PROC_BIND took effect
  std::uint64_t ram_total = 0, ram_available = 0;  // bytes
  std::string kokkos_version;
  std::string kokkos_configuration;  // Kokkos::print_configuration
  std::vector<SpaceInfo> spaces;
  std::vector<GpuInfo> gpus;
  std::string host_code_flags;  // the target flags klab's own host code was compiled with (KLAB_HOST_ARCH)
  std::string blas_core;     // OpenBLAS's kernel family (openblas_get_corename), empty for another BLAS
  std::string blas_threads;  // OpenBLAS's threads (openblas_get_parallel): OpenMP, pthreads or none
  std::vector<std::pair<std::string, std::string>> environment;  // OMP_*, KOKKOS_*, OPENBLAS_* variables set
};

// The OpenMP runtime and OpenBLAS read their environment when they load, before main, so a
// variable set later changes nothing. Where one of these is missing, this sets it and restarts the
// program once (execv of /proc/self/exe); otherwise it returns and nothing changes.
// - OMP_PROC_BIND=spread and OMP_PLACES=threads, Kokkos's recommended binding (tiled matmul,
//   N = 1000 on 2 cores: 41 ms bound, 53 ms not), unless OpenBLAS runs its own pthreads: the
//   OpenMP runtime binds the initial thread to the first core when it loads, OpenBLAS's threads
//   start after and inherit that one core (its dgemm 38 ms bound, 20 ms not). There it sets
//   OMP_PROC_BIND=false, which needs no restart. OpenBLAS's OpenMP build runs on the bound
//   OpenMP threads instead (20 ms); klab links it where it is installed.
// - OPENBLAS_CORETYPE, where OpenBLAS took its generic SSE3 "Prescott" kernels for a CPU model it
//   does not know (Debian's 0.3.21 on some virtualised Xeons; 4x slower than the AVX-512 ones),
//   named from the CPU's own feature flags.
// Call it before anything reads input: the restarted program reads it again.
void restart_with_run_environment(char** argv);

MachineInfo collect_machine_info();

// The memory new allocations can take now, and where that figure comes from; bytes is 0 when it
// is unknown.
struct AvailableMemory {
  std::uint64_t bytes = 0;
  std::string source;
};
// The GPU's free memory (cudaMemGetInfo) for a device space; for the host, the least of
// /proc/meminfo's MemAvailable, what the process's cgroup (v2) limit leaves and what its
// address-space limit (RLIMIT_AS) leaves.
AvailableMemory available_memory(bool device);
Json to_json(const MachineInfo& info);
void print_machine_info(std::ostream& out, const MachineInfo& info, bool with_configuration);

}  // namespace klab
