#pragma once
// Host-side helpers the stage tests share: copies of Views, a relative difference, and a
// reference dense solve.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <utility>
#include <vector>

namespace klab::testing {

// The View's values in memory order (column-major for LayoutLeft matrices), on the host.
template <class View>
std::vector<double> to_vector(const View& v) {
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  std::vector<double> out(host.extent(0) * (View::rank == 2 ? host.extent(1) : 1));
  std::copy(host.data(), host.data() + out.size(), out.begin());
  return out;
}

// ||a - b|| / ||b||.
inline double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff / norm);
}

// Solves A·x = b for column-major n×n A by Gaussian elimination with partial pivoting: an
// independent method to hold the Cholesky solves against.
inline std::vector<double> host_lu_solve(std::vector<double> a, std::vector<double> b, std::size_t n) {
  auto at = [&](std::size_t i, std::size_t j) -> double& { return a[i + j * n]; };
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t pivot = k;
    for (std::size_t i = k + 1; i < n; ++i)
      if (std::fabs(at(i, k)) > std::fabs(at(pivot, k))) pivot = i;
    if (at(pivot, k) == 0) throw std::runtime_error("host_lu_solve: singular matrix");
    for (std::size_t j = 0; j < n; ++j) std::swap(at(k, j), at(pivot, j));
    std::swap(b[k], b[pivot]);
    for (std::size_t i = k + 1; i < n; ++i) {
      const double factor = at(i, k) / at(k, k);
      for (std::size_t j = k; j < n; ++j) at(i, j) -= factor * at(k, j);
      b[i] -= factor * b[k];
    }
  }
  for (std::size_t k = n; k-- > 0;) {
    for (std::size_t j = k + 1; j < n; ++j) b[k] -= at(k, j) * b[j];
    b[k] /= at(k, k);
  }
  return b;
}

}  // namespace klab::testing
