#pragma once
// Strict reading of one mapping of a deck: every value is checked for type and range, every
// error names file:line:column and the key path, and keys nobody asked for are errors (with the
// nearest valid key suggested).
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

// `text` on one line: line breaks, tabs and other control characters written as escapes
// (\n, \t, \x01), so that an error quoting user input stays one line.
std::string one_line(const std::string& text);

// The entry of `candidates` closest to `word` by edit distance, or "" if none is close.
std::string nearest_word(const std::string& word, const std::vector<std::string>& candidates);

template <class T>
struct Range {
  T min;
  T max;
};

// Reads one mapping of a deck. Every value read, or the default used in its place, is also
// written to the resolved deck (the deck with every default filled in, which the results file
// keeps). The YAML behind it stays in params.cpp: stage code never sees yaml-cpp.
class ParamReader {
 public:
  struct Impl;
  explicit ParamReader(std::shared_ptr<Impl> impl);

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
  // A required table: a non-empty list of rows of finite numbers, all as wide as the first row,
  // which has at least `min_width` of them.
  std::vector<std::vector<double>> real_table(const std::string& key, std::size_t min_width);
  // A list of choices; a single scalar is read as a one-element list. Duplicates are errors.
  std::vector<std::string> choice_list(const std::string& key, std::optional<std::vector<std::string>> fallback,
                                       const std::vector<std::string>& allowed);
  // A required, non-empty list of mappings, a reader for each.
  std::vector<ParamReader> mappings(const std::string& key);
  // A nested mapping, or nullopt when the key is absent.
  std::optional<ParamReader> child(const std::string& key);

  bool has(const std::string& key) const;
  // Fails on keys never asked for (suggesting the nearest asked-for key) and on duplicate keys.
  void finish() const;

  const std::string& path() const;
  const std::string& file() const;
  // Fails for an absent required key, pointing at a near-miss spelling of it when there is one.
  [[noreturn]] void missing(const std::string& key, const std::string& expected) const;
  // Fails at the value of `key` (at the mapping when the key is absent).
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  // Fails at element `index` of the list at `key` (at the value itself when it is a lone scalar).
  [[noreturn]] void fail_element(const std::string& key, std::size_t index, const std::string& what) const;

  Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<Impl> impl_;
};

// Parses a YAML scalar as an exact integer: accepts 1000, 1_000, 1e6 (when exactly integral).
std::optional<std::int64_t> parse_integer(const std::string& text);
std::optional<double> parse_real(const std::string& text);
std::optional<bool> parse_boolean(const std::string& text);

}  // namespace klab
