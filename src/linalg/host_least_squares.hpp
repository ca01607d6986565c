#pragma once
// Reference least squares on the host: min ||A·x - b|| by Householder QR, which never forms
// AᵀA and so loses no digits to squaring the condition number. Small problems only (validation
// of what the stages compute on an execution space).
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace klab::linalg {

// `a` is rows×cols, column-major (a[i + j * rows]); rows >= cols. Both arguments are copies the
// factorisation overwrites. Throws when A is rank-deficient.
inline std::vector<double> host_least_squares(std::vector<double> a, std::vector<double> b, std::size_t rows,
                                              std::size_t cols) {
  if (rows < cols || a.size() != rows * cols || b.size() != rows)
    throw std::invalid_argument("host_least_squares: expected rows >= cols and matching sizes");
  auto at = [&](std::size_t i, std::size_t j) -> double& { return a[i + j * rows]; };
  std::vector<double> diagonal(cols), column_norms(cols, 0.0);
  for (std::size_t j = 0; j < cols; ++j)
    for (std::size_t i = 0; i < rows; ++i) column_norms[j] += at(i, j) * at(i, j);
  for (std::size_t k = 0; k < cols; ++k) {
    double norm2 = 0;
    for (std::size_t i = k; i < rows; ++i) norm2 += at(i, k) * at(i, k);
    const double norm = std::sqrt(norm2);
    // What is left of column k after removing its components along the earlier ones: rounding
    // noise (relative to the column) means the column depends on them.
    if (!(norm > static_cast<double>(rows) * std::numeric_limits<double>::epsilon() * std::sqrt(column_norms[k])))
      throw std::runtime_error("host_least_squares: column " + std::to_string(k) + " depends on the others");
    // v = x - alpha e_1 with alpha of the sign opposite to x_1, so no cancellation; v is stored
    // in place of the column, and H = I - 2 v vᵀ / (vᵀv) is applied to the columns right of it and b.
    const double x1 = at(k, k);
    const double alpha = x1 > 0 ? -norm : norm;
    at(k, k) = x1 - alpha;
    const double vtv = norm2 - x1 * x1 + at(k, k) * at(k, k);
    auto reflect = [&](auto&& column) {
      double dot = 0;
      for (std::size_t i = k; i < rows; ++i) dot += at(i, k) * column(i);
      const double scale = 2 * dot / vtv;
      for (std::size_t i = k; i < rows; ++i) column(i) -= scale * at(i, k);
    };
    for (std::size_t j = k + 1; j < cols; ++j) reflect([&](std::size_t i) -> double& { return at(i, j); });
    reflect([&](std::size_t i) -> double& { return b[i]; });
    diagonal[k] = alpha;
  }
  std::vector<double> x(cols);
  for (std::size_t k = cols; k-- > 0;) {
    double sum = b[k];
    for (std::size_t j = k + 1; j < cols; ++j) sum -= at(k, j) * x[j];
    x[k] = sum / diagonal[k];
  }
  return x;
}

}  // namespace klab::linalg
