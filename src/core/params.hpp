#pragma once
// Strict reading of one YAML mapping of a deck: every value is checked for type and range,
// every error names file:line:column and the key path, and keys nobody asked for are errors
// (with the nearest valid key suggested).
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace klab {

// A deck error: `where` is "file:line:column", `path` the key path ("stages[0].sizes[2]").
class DeckError : public std::runtime_error {
 public:
  DeckError(std::string where, std::string path, std::string what);
  const std::string& where() const { return where_; }
  const std::string& path() const { return path_; }
  const std::string& detail() const { return detail_; }

 private:
  std::string where_, path_, detail_;
};

// "file:line:column" of a node (1-based), or "file" when the node carries no position.
std::string location_of(const std::string& file, const YAML::Node& node);

// The entry of `candidates` closest to `word` by edit distance, or "" if none is close.
std::string nearest_word(const std::string& word, const std::vector<std::string>& candidates);

template <class T>
struct Range {
  T min;
  T max;
};

class ParamReader {
 public:
  // `node` must be a mapping (checked here); `path` is its key path in the deck.
  ParamReader(const YAML::Node& node, std::string path, std::shared_ptr<const std::string> file);

  std::int64_t integer(const std::string& key, std::optional<std::int64_t> fallback, Range<std::int64_t> range);
  double real(const std::string& key, std::optional<double> fallback, Range<double> range);
  bool boolean(const std::string& key, std::optional<bool> fallback);
  std::string text(const std::string& key, std::optional<std::string> fallback);
  std::string choice(const std::string& key, std::optional<std::string> fallback,
                     const std::vector<std::string>& allowed);
  // A list of integers; a single scalar is read as a one-element list.
  std::vector<std::int64_t> integer_list(const std::string& key, std::optional<std::vector<std::int64_t>> fallback,
                                         Range<std::int64_t> range);
  // A list of finite numbers; a single scalar is read as a one-element list.
  std::vector<double> real_list(const std::string& key, std::optional<std::vector<double>> fallback);
  // A required table: a non-empty list of rows, each a list of `width` finite numbers.
  std::vector<std::vector<double>> real_table(const std::string& key, std::size_t width);
  // A list of choices; a single scalar is read as a one-element list. Duplicates are errors.
  std::vector<std::string> choice_list(const std::string& key, std::optional<std::vector<std::string>> fallback,
                                       const std::vector<std::string>& allowed);
  // A required, non-empty list, returned as is for the caller to read element by element.
  YAML::Node sequence(const std::string& key);
  // A nested mapping, or nullopt when the key is absent.
  std::optional<ParamReader> child(const std::string& key);

  bool has(const std::string& key) const;
  // Fails on keys never asked for (suggesting the nearest asked-for key) and on duplicate keys.
  void finish() const;

  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }
  const YAML::Node& node() const { return node_; }
  // Fails for an absent required key, pointing at a near-miss spelling of it when there is one.
  [[noreturn]] void missing(const std::string& key, const std::string& expected) const;
  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& what) const;

 private:
  YAML::Node lookup(const std::string& key);
  std::string key_path(const std::string& key) const;

  YAML::Node node_;
  std::string path_;
  std::shared_ptr<const std::string> file_;
  std::vector<std::string> asked_;
};

// Parses a YAML scalar as an exact integer: accepts 1000, 1_000, 1e6 (when exactly integral).
std::optional<std::int64_t> parse_integer(const std::string& text);
std::optional<double> parse_real(const std::string& text);
std::optional<bool> parse_boolean(const std::string& text);

}  // namespace klab
