#pragma once
// The YAML side of ParamReader, for the deck parser alone (stage code reads through params.hpp).
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "core/params.hpp"

namespace klab {

struct ParamReader::Impl {
  YAML::Node node;      // the mapping read
  YAML::Node resolved;  // what was read, defaults included, as a mapping of the resolved deck
  std::string path;     // its key path in the deck
  std::shared_ptr<const std::string> file;
  std::vector<std::string> asked;
};

// A reader of `node` (a mapping: checked here) at key path `path`, writing what it reads into the
// mapping `resolved`.
ParamReader read_mapping(const YAML::Node& node, std::string path, std::shared_ptr<const std::string> file,
                         YAML::Node resolved);

// "file:line:column" of a node (1-based), or "file" when the node carries no position.
std::string location_of(const std::string& file, const YAML::Node& node);

}  // namespace klab
