#include "core/stage.hpp"

#include <cstdio>

#include "core/interrupt.hpp"
#include "core/machine.hpp"

namespace klab {

namespace {

std::string gigabytes(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GB", bytes * 1e-9);
  return text;
}

}  // namespace

void StageContext::announce(const std::string& what) const {
  throw_if_interrupted();
  announce_(what);
}

bool StageContext::fits_in_memory(const std::string& space, bool device, const std::string& case_label, double size,
                                  double bytes) {
  const AvailableMemory available = available_memory(device);
  if (available.bytes == 0 || bytes <= static_cast<double>(available.bytes)) return true;
  ResultRecord r = record(space, "-", case_label, size);
  r.check = "estimated memory / available memory";
  r.error = bytes / static_cast<double>(available.bytes);
  r.tolerance = 1;
  r.failure = label_ + " " + case_label + " on " + space + " needs an estimated " + gigabytes(bytes) +
              ", more than the " + gigabytes(static_cast<double>(available.bytes)) + " available (" +
              available.source + "); the case was not run";
  r.metrics = {{"estimated_bytes", bytes}, {"available_bytes", static_cast<double>(available.bytes)}};
  announce_("skipped: " + r.failure);
  add(std::move(r));
  return false;
}

ResultRecord StageContext::record(const std::string& space, const std::string& variant, const std::string& case_label,
                                  double size) const {
  ResultRecord r;
  r.stage = label_;
  r.stage_type = type_;
  r.space = space;
  r.variant = variant;
  r.case_label = case_label;
  r.size = size;
  return r;
}

void StageContext::add(ResultRecord record) {
  judge(record);
  records_.push_back(std::move(record));
}

}  // namespace klab
