#pragma once
#include "core/stage.hpp"

namespace klab {

// Every stage a deck can name, in the order `klab --help` lists them.
const StageRegistry& stage_registry();

}  // namespace klab
