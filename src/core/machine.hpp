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
  std::uint64_t ram_total = 0, ram_available = 0;  // bytes
  std::string kokkos_version;
  std::string kokkos_configuration;  // Kokkos::print_configuration
  std::vector<SpaceInfo> spaces;
  std::vector<GpuInfo> gpus;
  std::vector<std::pair<std::string, std::string>> environment;  // OMP_* and KOKKOS_* variables set
};

MachineInfo collect_machine_info();
Json to_json(const MachineInfo& info);
void print_machine_info(std::ostream& out, const MachineInfo& info, bool with_configuration);

}  // namespace klab
