#include "core/stage.hpp"

#include "core/interrupt.hpp"

namespace klab {

void StageContext::announce(const std::string& what) const {
  throw_if_interrupted();
  announce_(what);
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
