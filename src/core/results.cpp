#include "core/results.hpp"

#include <cmath>
#include <sstream>

namespace klab {

double ResultRecord::gigabytes_per_second() const {
  return bytes > 0 && time.median > 0 ? bytes / time.median * 1e-9 : 0.0;
}

double ResultRecord::gigaflops_per_second() const {
  return flops > 0 && time.median > 0 ? flops / time.median * 1e-9 : 0.0;
}

void judge(ResultRecord& record) {
  if (!record.failure.empty()) {  // the stage already knows why it failed (e.g. a diverged iteration)
    record.passed = false;
  } else if (!std::isfinite(record.error)) {
    record.passed = false;
    record.failure = "validation error is not a number (NaN or Inf in the result)";
  } else if (record.error > record.tolerance) {
    std::ostringstream out;
    out << record.check << " " << record.error << " exceeds tolerance " << record.tolerance;
    record.passed = false;
    record.failure = out.str();
  } else {
    record.passed = true;
    record.failure.clear();
  }
}

}  // namespace klab
