#pragma once
#include "core/stage.hpp"

namespace klab {

// Every stage a deck can name (one per folder under src/stages/, in the order of their names).
const StageRegistry& stage_registry();

}  // namespace klab
