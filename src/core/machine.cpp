#include "core/machine.hpp"

#include <dlfcn.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <Kokkos_Core.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <ostream>
#include <sstream>
#include <vector>

#include "core/comm.hpp"
#include "core/spaces.hpp"

#ifdef KOKKOS_ENABLE_CUDA
#include <cuda_runtime.h>
#endif

extern char** environ;

namespace klab {

namespace {

// OpenBLAS's kernel family, or "" when the BLAS linked in is not OpenBLAS.
std::string openblas_core_name() {
  using CoreName = char* (*)();
  const auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return core_name ? core_name() : "";
}

// OpenBLAS's threading (openblas_get_parallel: 0, 1, 2), or "" when the BLAS is not OpenBLAS.
std::string openblas_threads() {
  using Parallel = int (*)();
  const auto parallel = reinterpret_cast<Parallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  if (!parallel) return "";
  switch (parallel()) {
    case 0: return "none";
    case 1: return "pthreads";
    case 2: return "OpenMP";
    default: return "unknown";
  }
}

// Sets `name` to `value` where unset, noting it in `set`.
void set_if_unset(const char* name, const char* value, std::vector<const char*>& set) {
  if (std::getenv(name)) return;
  setenv(name, value, 1);
  set.push_back(name);
}

// The OPENBLAS_CORETYPE to restart with where OpenBLAS took its Prescott kernels, else nullptr.
const char* better_blas_core_type() {
  std::string core = openblas_core_name();
  for (char& c : core) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (core != "prescott") return nullptr;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? "SkylakeX" : __builtin_cpu_supports("avx2") ? "Haswell" : nullptr;
}

// With OMP_PROC_BIND set when the process started, the OpenMP runtime bound this (initial) thread
// to its first place; a restart would inherit that one place as the whole process's CPUs, and
// every OpenMP thread of the new process would share it. The CPUs of all places are the ones the
// process started with (as the launcher or taskset left them): the thread goes back to them.
void unbind_from_first_place() {
#ifdef _OPENMP
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int place = 0; place < omp_get_num_places(); ++place) {
    std::vector<int> ids(static_cast<std::size_t>(omp_get_place_num_procs(place)));
    omp_get_place_proc_ids(place, ids.data());
    for (const int id : ids)
      if (id >= 0 && id < CPU_SETSIZE) CPU_SET(id, &all);
  }
  if (CPU_COUNT(&all) > 0) sched_setaffinity(0, sizeof all, &all);
#endif
}

}  // namespace

void restart_with_run_environment(char** argv) {
  std::vector<const char*> set;  // the variables that need a restart to take effect
  if (openblas_threads() == "pthreads") {
    // No binding. OMP_PROC_BIND=false records that (the runtime, which found neither variable,
    // is unbound already: no restart) and keeps Kokkos from warning that it is unset.
    if (!std::getenv("OMP_PLACES")) setenv("OMP_PROC_BIND", "false", 0);
  } else {
    set_if_unset("OMP_PROC_BIND", "spread", set);
    set_if_unset("OMP_PLACES", "threads", set);
  }
  if (const char* core = std::getenv("OPENBLAS_CORETYPE") ? nullptr : better_blas_core_type()) {
    std::cerr << "klab: OpenBLAS chose its generic Prescott kernels for this CPU; restarting with OPENBLAS_CORETYPE="
              << core << "\n";
    set_if_unset("OPENBLAS_CORETYPE", core, set);
  }
  if (set.empty()) return;
  unbind_from_first_place();
  execv("/proc/self/exe", argv);
  // Reached only if execv failed: the variables set would not be in effect, and the results,
  // which record the environment, must not say they were.
  for (const char* name : set) unsetenv(name);
}

namespace {

// The value after "key:" on the first line of a /proc file that starts with `key`.
std::string proc_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

// A "key: N kB" field of a /proc file, in bytes; 0 when absent.
std::uint64_t proc_kilobytes(const char* file, const std::string& key) {
  const std::string value = proc_field(file, key);  // "24546508 kB"
  return value.empty() ? 0 : std::stoull(value) * 1024ULL;
}

std::uint64_t meminfo_bytes(const std::string& key) { return proc_kilobytes("/proc/meminfo", key); }

std::string gib(std::uint64_t bytes) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0) << " GiB";
  return out.str();
}

std::string kokkos_version() {
  const int v = KOKKOS_VERSION;  // major*10000 + minor*100 + patch in Kokkos 3.x and 4.x
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d.%d.%02d", v / 10000, (v / 100) % 100, v % 100);
  return buf;
}

void collect_gpus([[maybe_unused]] MachineInfo& info) {
#ifdef KOKKOS_ENABLE_CUDA
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return;
  GpuInfo gpu;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) == cudaSuccess) gpu.name = prop.name;
  // Attributes rather than cudaDeviceProp fields, several of which CUDA 13 removed.
  cudaDeviceGetAttribute(&gpu.compute_capability_major, cudaDevAttrComputeCapabilityMajor, device);
  cudaDeviceGetAttribute(&gpu.compute_capability_minor, cudaDevAttrComputeCapabilityMinor, device);
  cudaDeviceGetAttribute(&gpu.multiprocessors, cudaDevAttrMultiProcessorCount, device);
  std::size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
    gpu.memory_free = free_bytes;
    gpu.memory_total = total_bytes;
  }
  info.gpus.push_back(gpu);
#endif
}

// What the cgroup (v2) of this process may still allocate, or 0 when it sets no limit.
std::uint64_t cgroup_memory_left() {
  std::ifstream membership("/proc/self/cgroup");
  std::string line, group;
  while (std::getline(membership, line))
    if (line.rfind("0::", 0) == 0) group = line.substr(3);
  if (group.empty()) return 0;
  const std::string folder = "/sys/fs/cgroup" + (group == "/" ? "" : group);
  std::ifstream max_file(folder + "/memory.max"), current_file(folder + "/memory.current");
  std::uint64_t max = 0, current = 0;
  if (!(max_file >> max) || !(current_file >> current)) return 0;  // "max": no limit
  return max > current ? max - current : 1;
}

// What the address-space limit (ulimit -v, RLIMIT_AS) leaves for new mappings, or 0 when there
// is none. An allocation beyond it throws where the memory budget would have skipped the case.
std::uint64_t address_space_left() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  const std::uint64_t mapped = proc_kilobytes("/proc/self/status", "VmSize");
  return limit.rlim_cur > mapped ? limit.rlim_cur - mapped : 1;
}

}  // namespace

AvailableMemory available_memory([[maybe_unused]] bool device) {
#ifdef KOKKOS_ENABLE_CUDA
  if (device) {
    std::size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) return {};
    return {free_bytes, "free GPU memory"};
  }
#endif
  AvailableMemory host{meminfo_bytes("MemAvailable"), "host MemAvailable"};
  const std::uint64_t cgroup = cgroup_memory_left();
  if (cgroup > 0 && (host.bytes == 0 || cgroup < host.bytes)) host = {cgroup, "what the cgroup's memory.max leaves"};
  const std::uint64_t address_space = address_space_left();
  if (address_space > 0 && (host.bytes == 0 || address_space < host.bytes))
    host = {address_space, "what the address-space limit (ulimit -v) leaves"};
  return host;
}

MachineInfo collect_machine_info() {
  MachineInfo info;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) info.hostname = host;
  info.cpu_model = proc_field("/proc/cpuinfo", "model name");
  info.logical_cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) info.initial_thread_cpus = CPU_COUNT(&allowed);
  info.ram_total = meminfo_bytes("MemTotal");
  info.ram_available = meminfo_bytes("MemAvailable");
  info.kokkos_version = kokkos_version();
  std::ostringstream config;
  Kokkos::print_configuration(config, false);
  info.kokkos_configuration = config.str();
  for_each_compiled_space([&](auto tag) {
    info.spaces.push_back({decltype(tag)::name, static_cast<int>(typename decltype(tag)::type().concurrency())});
  });
  collect_gpus(info);
  info.host_code_flags = KLAB_HOST_CODE_FLAGS;
  info.blas_core = openblas_core_name();
  info.blas_threads = openblas_threads();
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    if (entry.rfind("OMP_", 0) != 0 && entry.rfind("KOKKOS_", 0) != 0 && entry.rfind("OPENBLAS_", 0) != 0) continue;
    const auto eq = entry.find('=');
    info.environment.emplace_back(entry.substr(0, eq), eq == std::string::npos ? "" : entry.substr(eq + 1));
  }
  return info;
}

Json to_json(const MachineInfo& info) {
  Json spaces = Json::array();
  for (const auto& s : info.spaces) spaces.push(Json::object().set("name", s.name).set("concurrency", s.concurrency));
  Json gpus = Json::array();
  for (const auto& g : info.gpus)
    gpus.push(Json::object()
                  .set("name", g.name)
                  .set("compute_capability", std::to_string(g.compute_capability_major) + "." +
                                                 std::to_string(g.compute_capability_minor))
                  .set("multiprocessors", g.multiprocessors)
                  .set("memory_total_bytes", g.memory_total)
                  .set("memory_free_bytes", g.memory_free));
  Json environment = Json::object();
  for (const auto& [key, value] : info.environment) environment.set(key, value);
  return Json::object()
      .set("hostname", info.hostname)
      .set("cpu_model", info.cpu_model)
      .set("logical_cores", info.logical_cores)
      .set("initial_thread_cpus", info.initial_thread_cpus)
      .set("ram_total_bytes", info.ram_total)
      .set("ram_available_bytes", info.ram_available)
      .set("kokkos_version", info.kokkos_version)
      .set("kokkos_configuration", info.kokkos_configuration)
      .set("execution_spaces", std::move(spaces))
      .set("gpus", std::move(gpus))
      .set("host_code_flags", info.host_code_flags)
      .set("blas_core", info.blas_core)
      .set("blas_threads", info.blas_threads)
      .set("environment", std::move(environment));
}

void print_machine_info(std::ostream& out, const MachineInfo& info, bool with_configuration) {
  out << "Host:              " << info.hostname << "\n"
      << "CPU:               " << (info.cpu_model.empty() ? "unknown" : info.cpu_model) << "\n"
      << "Logical cores:     " << info.logical_cores << "\n"
      << "Initial thread:    may run on " << info.initial_thread_cpus << " of them\n"
      << "RAM:               " << gib(info.ram_total) << " total, " << gib(info.ram_available) << " available\n"
      << "Kokkos:            " << info.kokkos_version << "\n"
      << "Execution spaces:  ";
  for (std::size_t i = 0; i < info.spaces.size(); ++i)
    out << (i ? ", " : "") << info.spaces[i].name << " (concurrency " << info.spaces[i].concurrency << ")";
  out << "\n";
  if (info.gpus.empty()) out << "GPU:               none (no device space compiled in)\n";
  for (const auto& g : info.gpus)
    out << "GPU:               " << g.name << ", compute capability " << g.compute_capability_major << "."
        << g.compute_capability_minor << ", " << g.multiprocessors << " SMs, memory " << gib(g.memory_total)
        << " total, " << gib(g.memory_free) << " free\n";
  out << "Host code flags:   " << (info.host_code_flags.empty() ? "compiler default" : info.host_code_flags) << "\n";
  out << "Ranks:             " << communication_paths() << "\n";
  out << "Host BLAS:         "
      << (info.blas_core.empty() ? "not OpenBLAS"
                                 : "OpenBLAS, " + info.blas_core + " kernels, threads: " + info.blas_threads)
      << "\n";
  for (const auto& [key, value] : info.environment) out << "Environment:       " << key << "=" << value << "\n";
  if (with_configuration) out << "\nKokkos configuration:\n" << info.kokkos_configuration;
}

}  // namespace klab
