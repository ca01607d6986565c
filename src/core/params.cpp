#include "core/params.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

namespace klab {

namespace {

// The text with its control characters escaped (a line break as \n), so that a message quoting a
// deck's keys and values stays on one line.
std::string one_line(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

DeckError::DeckError(std::string where, std::string path, std::string what)
    : std::runtime_error(one_line(where) + ": " + (path.empty() ? "" : one_line(path) + ": ") + one_line(what)),
      where_(one_line(where)),
      path_(one_line(path)),
      detail_(one_line(what)) {}

std::string location_of(const std::string& file, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return file;
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string quoted_list(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) out += (i ? ", '" : "'") + words[i] + "'";
  return out;
}

std::string kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return node.size() == 0 ? "an empty list" : "a list";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: {
      // A long value is cut: the message names the place, it need not repeat the whole value.
      constexpr std::size_t shown = 80;
      const std::string& text = node.Scalar();
      return "'" + (text.size() <= shown ? text : text.substr(0, shown) + "...") + "'";
    }
    default: return "an undefined value";
  }
}

template <class T>
std::string format_number(T value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// The message for a value that is not one of `allowed`, with the nearest one suggested.
std::string not_a_choice(const YAML::Node& value, const std::vector<std::string>& allowed) {
  std::string what = "expected one of " + quoted_list(allowed) + ", got " + kind_of(value);
  if (value.IsScalar()) {
    const std::string near = nearest_word(value.Scalar(), allowed);
    if (!near.empty()) what += " (did you mean '" + near + "'?)";
  }
  return what;
}

bool is_choice(const YAML::Node& value, const std::vector<std::string>& allowed) {
  return value.IsScalar() && std::find(allowed.begin(), allowed.end(), value.Scalar()) != allowed.end();
}

}  // namespace

std::string nearest_word(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::optional<std::int64_t> parse_integer(const std::string& text) {
  std::string digits;
  for (char c : text)
    if (c != '_') digits.push_back(c);
  // strtoll would skip leading white space, which only a quoted value can carry: not a number.
  if (digits.empty() || text.front() == '_' || text.back() == '_' ||
      std::isspace(static_cast<unsigned char>(digits.front())))
    return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(digits.c_str(), &end, 10);
  if (errno == 0 && end == digits.c_str() + digits.size()) return value;
  // Exponent forms such as 1e8 are accepted when they denote an integer exactly.
  const auto real = parse_real(digits);
  if (real && std::isfinite(*real) && std::floor(*real) == *real && std::fabs(*real) < 9.0e18)
    return static_cast<std::int64_t>(*real);
  return std::nullopt;
}

std::optional<double> parse_real(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size()) return std::nullopt;
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<bool> parse_boolean(const std::string& text) {
  if (text == "true" || text == "True" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "False" || text == "no" || text == "off") return false;
  return std::nullopt;
}

ParamReader::ParamReader(const YAML::Node& node, std::string path, std::shared_ptr<const std::string> file)
    : node_(node), path_(std::move(path)), file_(std::move(file)) {
  if (!node_.IsMap()) throw DeckError(location_of(*file_, node_), path_, "expected a mapping, got " + kind_of(node_));
}

std::string ParamReader::key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

void ParamReader::fail(const YAML::Node& at, const std::string& key, const std::string& what) const {
  throw DeckError(location_of(*file_, at.IsDefined() ? at : node_), key.empty() ? path_ : key_path(key), what);
}

bool ParamReader::has(const std::string& key) const {
  for (const auto& entry : node_)
    if (entry.first.IsScalar() && entry.first.Scalar() == key) return true;
  return false;
}

// True when the key is absent and `fallback` applies; fails when it is absent and required.
template <class T>
bool use_fallback(const ParamReader& reader, const YAML::Node& value, const std::string& key,
                  const std::optional<T>& fallback, const std::string& expected) {
  if (value.IsDefined()) return false;
  if (!fallback) reader.missing(key, expected);
  return true;
}

YAML::Node ParamReader::lookup(const std::string& key) {
  asked_.push_back(key);
  for (const auto& entry : node_)
    if (entry.first.IsScalar() && entry.first.Scalar() == key) return entry.second;
  return YAML::Node(YAML::NodeType::Undefined);
}

std::int64_t ParamReader::integer(const std::string& key, std::optional<std::int64_t> fallback,
                                  Range<std::int64_t> range) {
  const YAML::Node value = lookup(key);
  if (use_fallback(*this, value, key, fallback, "an integer")) return *fallback;
  const std::string expected = "an integer in [" + format_number(range.min) + ", " + format_number(range.max) + "]";
  const auto parsed = value.IsScalar() ? parse_integer(value.Scalar()) : std::nullopt;
  if (!parsed) fail(value, key, "expected " + expected + ", got " + kind_of(value));
  if (*parsed < range.min || *parsed > range.max) fail(value, key, "out of range: expected " + expected + ", got " + value.Scalar());
  return *parsed;
}

double ParamReader::real(const std::string& key, std::optional<double> fallback, Range<double> range) {
  const YAML::Node value = lookup(key);
  if (use_fallback(*this, value, key, fallback, "a number")) return *fallback;
  const std::string expected = "a number in [" + format_number(range.min) + ", " + format_number(range.max) + "]";
  const auto parsed = value.IsScalar() ? parse_real(value.Scalar()) : std::nullopt;
  if (!parsed) fail(value, key, "expected " + expected + ", got " + kind_of(value));
  if (*parsed < range.min || *parsed > range.max) fail(value, key, "out of range: expected " + expected + ", got " + value.Scalar());
  return *parsed;
}

bool ParamReader::boolean(const std::string& key, std::optional<bool> fallback) {
  const YAML::Node value = lookup(key);
  if (use_fallback(*this, value, key, fallback, "true or false")) return *fallback;
  const auto parsed = value.IsScalar() ? parse_boolean(value.Scalar()) : std::nullopt;
  if (!parsed) fail(value, key, "expected true or false, got " + kind_of(value));
  return *parsed;
}

std::string ParamReader::text(const std::string& key, std::optional<std::string> fallback) {
  const YAML::Node value = lookup(key);
  if (use_fallback(*this, value, key, fallback, "a string")) return *fallback;
  if (!value.IsScalar() || value.Scalar().empty()) fail(value, key, "expected a non-empty string, got " + kind_of(value));
  return value.Scalar();
}

std::string ParamReader::choice(const std::string& key, std::optional<std::string> fallback,
                                const std::vector<std::string>& allowed) {
  const YAML::Node value = lookup(key);
  if (use_fallback(*this, value, key, fallback, "one of " + quoted_list(allowed))) return *fallback;
  if (!is_choice(value, allowed)) fail(value, key, not_a_choice(value, allowed));
  return value.Scalar();
}

namespace {

// Calls `element(node, index_path)` for each element of a list, or once for a lone scalar.
template <class F>
void for_each_element(const YAML::Node& value, const std::string& path, F&& element) {
  if (value.IsSequence()) {
    for (std::size_t i = 0; i < value.size(); ++i) element(value[i], path + "[" + std::to_string(i) + "]");
  } else {
    element(value, path);
  }
}

}  // namespace

std::vector<std::int64_t> ParamReader::integer_list(const std::string& key,
                                                    std::optional<std::vector<std::int64_t>> fallback,
                                                    Range<std::int64_t> range) {
  const YAML::Node value = lookup(key);
  if (use_fallback(*this, value, key, fallback, "an integer or a list of integers")) return *fallback;
  if (value.IsSequence() && value.size() == 0) fail(value, key, "expected a non-empty list of integers, got []");
  const std::string expected = "an integer in [" + format_number(range.min) + ", " + format_number(range.max) + "]";
  std::vector<std::int64_t> out;
  for_each_element(value, key_path(key), [&](const YAML::Node& item, const std::string& item_path) {
    const auto parsed = item.IsScalar() ? parse_integer(item.Scalar()) : std::nullopt;
    if (!parsed) throw DeckError(location_of(*file_, item), item_path, "expected " + expected + ", got " + kind_of(item));
    if (*parsed < range.min || *parsed > range.max)
      throw DeckError(location_of(*file_, item), item_path, "out of range: expected " + expected + ", got " + item.Scalar());
    out.push_back(*parsed);
  });
  return out;
}

namespace {

// The finite number at `item`, or a DeckError naming it.
double finite_number(const YAML::Node& item, const std::string& item_path, const std::string& file) {
  const auto parsed = item.IsScalar() ? parse_real(item.Scalar()) : std::nullopt;
  if (!parsed || !std::isfinite(*parsed))
    throw DeckError(location_of(file, item), item_path, "expected a finite number, got " + kind_of(item));
  return *parsed;
}

}  // namespace

std::vector<double> ParamReader::real_list(const std::string& key, std::optional<std::vector<double>> fallback) {
  const YAML::Node value = lookup(key);
  if (use_fallback(*this, value, key, fallback, "a number or a list of numbers")) return *fallback;
  if (value.IsSequence() && value.size() == 0) fail(value, key, "expected a non-empty list of numbers, got []");
  std::vector<double> out;
  for_each_element(value, key_path(key), [&](const YAML::Node& item, const std::string& item_path) {
    out.push_back(finite_number(item, item_path, *file_));
  });
  return out;
}

std::vector<std::vector<double>> ParamReader::real_table(const std::string& key, std::size_t width) {
  const YAML::Node rows = sequence(key);
  std::vector<std::vector<double>> out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::string row_path = key_path(key) + "[" + std::to_string(r) + "]";
    if (!rows[r].IsSequence() || rows[r].size() != width)
      throw DeckError(location_of(*file_, rows[r]), row_path,
                      "expected a list of " + std::to_string(width) + " numbers, got " +
                          (rows[r].IsSequence() ? "a list of " + std::to_string(rows[r].size()) : kind_of(rows[r])));
    out.emplace_back();
    for (std::size_t c = 0; c < width; ++c)
      out.back().push_back(finite_number(rows[r][c], row_path + "[" + std::to_string(c) + "]", *file_));
  }
  return out;
}

std::vector<std::string> ParamReader::choice_list(const std::string& key,
                                                  std::optional<std::vector<std::string>> fallback,
                                                  const std::vector<std::string>& allowed) {
  const YAML::Node value = lookup(key);
  if (use_fallback(*this, value, key, fallback, "a list of " + quoted_list(allowed))) return *fallback;
  if (value.IsSequence() && value.size() == 0) fail(value, key, "expected a non-empty list, got []");
  std::vector<std::string> out;
  for_each_element(value, key_path(key), [&](const YAML::Node& item, const std::string& item_path) {
    const std::string where = location_of(*file_, item);
    if (!is_choice(item, allowed)) throw DeckError(where, item_path, not_a_choice(item, allowed));
    if (std::find(out.begin(), out.end(), item.Scalar()) != out.end())
      throw DeckError(where, item_path, "'" + item.Scalar() + "' is listed twice");
    out.push_back(item.Scalar());
  });
  return out;
}

void ParamReader::missing(const std::string& key, const std::string& expected) const {
  // A misspelt required key reads better as the typo than as a missing key.
  for (const auto& entry : node_) {
    if (!entry.first.IsScalar()) continue;
    const std::string& name = entry.first.Scalar();
    if (std::find(asked_.begin(), asked_.end(), name) == asked_.end() && nearest_word(name, {key}) == key)
      throw DeckError(location_of(*file_, entry.first), key_path(name),
                      "unknown key '" + name + "' (did you mean '" + key + "'?)");
  }
  fail(YAML::Node(YAML::NodeType::Undefined), key, "missing required key (expected " + expected + ")");
}

YAML::Node ParamReader::sequence(const std::string& key) {
  const YAML::Node value = lookup(key);
  if (!value.IsDefined()) missing(key, "a list");
  if (!value.IsSequence() || value.size() == 0) fail(value, key, "expected a non-empty list, got " + kind_of(value));
  return value;
}

std::optional<ParamReader> ParamReader::child(const std::string& key) {
  const YAML::Node value = lookup(key);
  if (!value.IsDefined()) return std::nullopt;
  if (!value.IsMap()) fail(value, key, "expected a mapping, got " + kind_of(value));
  return ParamReader(value, key_path(key), file_);
}

void ParamReader::finish() const {
  std::set<std::string> seen;
  for (const auto& entry : node_) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) throw DeckError(location_of(*file_, key), path_, "expected a plain key, got " + kind_of(key));
    const std::string& name = key.Scalar();
    if (!seen.insert(name).second) throw DeckError(location_of(*file_, key), key_path(name), "duplicate key");
    if (std::find(asked_.begin(), asked_.end(), name) != asked_.end()) continue;
    std::vector<std::string> valid = asked_;
    std::sort(valid.begin(), valid.end());
    valid.erase(std::unique(valid.begin(), valid.end()), valid.end());
    std::string what = "unknown key '" + name + "'";
    const std::string near = nearest_word(name, valid);
    if (!near.empty()) what += " (did you mean '" + near + "'?)";
    what += "; valid keys: " + quoted_list(valid);
    throw DeckError(location_of(*file_, key), key_path(name), what);
  }
}

}  // namespace klab
