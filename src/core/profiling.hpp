#pragma once
// Named regions for profilers: Kokkos Tools libraries, and through Kokkos Tools' NVTX connector
// nsys and ncu, show klab's stages, cases and variants around the kernels they launch. Without a
// tool loaded a region costs a null check.
#include <Kokkos_Core.hpp>

#include <string>

namespace klab {

// A Kokkos Tools region for as long as the object lives.
class ProfilingRegion {
 public:
  explicit ProfilingRegion(const std::string& name) { Kokkos::Profiling::pushRegion(name); }
  ~ProfilingRegion() { Kokkos::Profiling::popRegion(); }
  ProfilingRegion(const ProfilingRegion&) = delete;
  ProfilingRegion& operator=(const ProfilingRegion&) = delete;
};

}  // namespace klab
