#pragma once
// The execution spaces compiled into this build, by the names decks use, and a dispatcher
// that calls a generic callable with an instance of the named space. This is the one place
// that instantiates templated stage code per space.
#include <Kokkos_Core.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace klab {

// name: the deck's name; is_device: memory not reachable from the host; host_staging_space:
// where host copies of a space's data live for transfers.
template <class ExecSpace>
struct SpaceTraits;

#ifdef KOKKOS_ENABLE_OPENMP
template <>
struct SpaceTraits<Kokkos::OpenMP> {
  static constexpr const char* name = "openmp";
  static constexpr bool is_device = false;
  using host_staging_space = Kokkos::HostSpace;
};
#endif
#ifdef KOKKOS_ENABLE_CUDA
template <>
struct SpaceTraits<Kokkos::Cuda> {
  static constexpr const char* name = "cuda";
  static constexpr bool is_device = true;
  // Page-locked host memory: copies to and from the device run at PCIe/NVLink speed, where
  // pageable memory is staged through a driver buffer first.
  using host_staging_space = Kokkos::CudaHostPinnedSpace;
};
#endif
#ifdef KOKKOS_ENABLE_SERIAL
template <>
struct SpaceTraits<Kokkos::Serial> {
  static constexpr const char* name = "serial";
  static constexpr bool is_device = false;
  using host_staging_space = Kokkos::HostSpace;
};
#endif

// Every space name a deck may use, compiled in or not.
inline const std::vector<std::string>& known_space_names() {
  static const std::vector<std::string> names = {"openmp", "cuda", "serial"};
  return names;
}

template <class ExecSpace>
struct SpaceTag {
  using type = ExecSpace;
  static constexpr const char* name = SpaceTraits<ExecSpace>::name;
};

// Calls f(SpaceTag<ExecSpace>{}) for each space compiled in, in the order of known_space_names().
// Tags, not instances: names are needed before Kokkos is initialised (deck validation).
template <class F>
void for_each_compiled_space(F&& f) {
#ifdef KOKKOS_ENABLE_OPENMP
  f(SpaceTag<Kokkos::OpenMP>{});
#endif
#ifdef KOKKOS_ENABLE_CUDA
  f(SpaceTag<Kokkos::Cuda>{});
#endif
#ifdef KOKKOS_ENABLE_SERIAL
  f(SpaceTag<Kokkos::Serial>{});
#endif
}

inline std::vector<std::string> compiled_space_names() {
  std::vector<std::string> names;
  for_each_compiled_space([&](auto tag) { names.push_back(decltype(tag)::name); });
  return names;
}

// Whether the named space (compiled in) computes in memory the host cannot reach.
inline bool space_is_device(const std::string& name) {
  bool device = false;
  for_each_compiled_space([&](auto tag) {
    if (name == decltype(tag)::name) device = SpaceTraits<typename decltype(tag)::type>::is_device;
  });
  return device;
}

// Calls f(ExecSpace()) for the space called `name`; throws if it is not compiled in.
template <class F>
void with_space(const std::string& name, F&& f) {
  bool found = false;
  for_each_compiled_space([&](auto tag) {
    if (!found && name == decltype(tag)::name) {
      found = true;
      f(typename decltype(tag)::type());
    }
  });
  if (!found) throw std::invalid_argument("execution space '" + name + "' is not compiled into this build");
}

}  // namespace klab
