#include "stages/registry.hpp"

#include "stages/elementwise.hpp"

namespace klab {

const StageRegistry& stage_registry() {
  static const StageRegistry registry = {
      stages::elementwise_stage(),
  };
  return registry;
}

}  // namespace klab
