#include "stages/registry.hpp"

#include "stages/ann.hpp"
#include "stages/elementwise.hpp"
#include "stages/gd.hpp"
#include "stages/matmul.hpp"
#include "stages/solvebak.hpp"

namespace klab {

const StageRegistry& stage_registry() {
  static const StageRegistry registry = {
      stages::elementwise_stage(),
      stages::matmul_stage(),
      stages::solvebak_stage(),
      stages::ann_stage(),
      stages::gd_stage(),
  };
  return registry;
}

}  // namespace klab
