#include "core/params.hpp"

#include "core/params_yaml.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

namespace klab {

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


ParamReader read_mapping(const YAML::Node& node, std::string path, std::shared_ptr<const std::string> file,
                         YAML::Node resolved) {
  if (!node.IsMap()) throw DeckError(location_of(*file, node), path, "expected a mapping, got " + kind_of(node));
  auto impl = std::make_shared<ParamReader::Impl>();
  impl->node = node;
  impl->resolved = resolved;
  impl->path = std::move(path);
  impl->file = std::move(file);
  return ParamReader(std::move(impl));
}

ParamReader::ParamReader(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

const std::string& ParamReader::path() const { return impl_->path; }
const std::string& ParamReader::file() const { return *impl_->file; }

namespace {

std::string key_path(const ParamReader::Impl& impl, const std::string& key) {
  return impl.path.empty() ? key : impl.path + "." + key;
}

YAML::Node find_key(const YAML::Node& mapping, const std::string& key) {
  for (const auto& entry : mapping)
    if (entry.first.IsScalar() && entry.first.Scalar() == key) return entry.second;
  return YAML::Node(YAML::NodeType::Undefined);
}

[[noreturn]] void fail_at(const ParamReader::Impl& impl, const YAML::Node& at, const std::string& item_path,
                          const std::string& what) {
  throw DeckError(location_of(*impl.file, at.IsDefined() ? at : impl.node), item_path, what);
}

// The value as the resolved deck holds it: a list for a list, so a lone scalar reads back alike.
template <class T>
YAML::Node list_node(const std::vector<T>& values) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& v : values) list.push_back(v);
  list.SetStyle(YAML::EmitterStyle::Flow);
  return list;
}

}  // namespace

void ParamReader::fail(const std::string& key, const std::string& what) const {
  fail_at(*impl_, find_key(impl_->node, key), key.empty() ? impl_->path : key_path(*impl_, key), what);
}

void ParamReader::fail_element(const std::string& key, std::size_t index, const std::string& what) const {
  const YAML::Node value = find_key(impl_->node, key);
  if (!value.IsSequence()) fail(key, what);
  fail_at(*impl_, value[index], key_path(*impl_, key) + "[" + std::to_string(index) + "]", what);
}

bool ParamReader::has(const std::string& key) const { return find_key(impl_->node, key).IsDefined(); }

// True when the key is absent and `fallback` applies; fails when it is absent and required.
template <class T>
bool use_fallback(const ParamReader& reader, const YAML::Node& value, const std::string& key,
                  const std::optional<T>& fallback, const std::string& expected) {
  if (value.IsDefined()) return false;
  if (!fallback) reader.missing(key, expected);
  return true;
}

namespace {

YAML::Node lookup(ParamReader::Impl& impl, const std::string& key) {
  impl.asked.push_back(key);
  return find_key(impl.node, key);
}

// Returns `value` after writing it to the resolved deck under `key`.
template <class T>
T resolve(ParamReader::Impl& impl, const std::string& key, T value) {
  impl.resolved[key] = value;
  return value;
}

template <class T>
std::vector<T> resolve(ParamReader::Impl& impl, const std::string& key, std::vector<T> values) {
  impl.resolved[key] = list_node(values);
  return values;
}

}  // namespace

std::int64_t ParamReader::integer(const std::string& key, std::optional<std::int64_t> fallback,
                                  Range<std::int64_t> range) {
  const YAML::Node value = lookup(*impl_, key);
  if (use_fallback(*this, value, key, fallback, "an integer")) return resolve(*impl_, key, *fallback);
  const std::string expected = "an integer in [" + format_number(range.min) + ", " + format_number(range.max) + "]";
  const auto parsed = value.IsScalar() ? parse_integer(value.Scalar()) : std::nullopt;
  if (!parsed) fail(key, "expected " + expected + ", got " + kind_of(value));
  if (*parsed < range.min || *parsed > range.max) fail(key, "out of range: expected " + expected + ", got " + value.Scalar());
  return resolve(*impl_, key, *parsed);
}

double ParamReader::real(const std::string& key, std::optional<double> fallback, Range<double> range) {
  const YAML::Node value = lookup(*impl_, key);
  if (use_fallback(*this, value, key, fallback, "a number")) return resolve(*impl_, key, *fallback);
  const std::string expected = "a number in [" + format_number(range.min) + ", " + format_number(range.max) + "]";
  const auto parsed = value.IsScalar() ? parse_real(value.Scalar()) : std::nullopt;
  if (!parsed) fail(key, "expected " + expected + ", got " + kind_of(value));
  if (*parsed < range.min || *parsed > range.max) fail(key, "out of range: expected " + expected + ", got " + value.Scalar());
  return resolve(*impl_, key, *parsed);
}

bool ParamReader::boolean(const std::string& key, std::optional<bool> fallback) {
  const YAML::Node value = lookup(*impl_, key);
  if (use_fallback(*this, value, key, fallback, "true or false")) return resolve(*impl_, key, *fallback);
  const auto parsed = value.IsScalar() ? parse_boolean(value.Scalar()) : std::nullopt;
  if (!parsed) fail(key, "expected true or false, got " + kind_of(value));
  return resolve(*impl_, key, *parsed);
}

std::string ParamReader::text(const std::string& key, std::optional<std::string> fallback) {
  const YAML::Node value = lookup(*impl_, key);
  if (use_fallback(*this, value, key, fallback, "a string")) return resolve(*impl_, key, *fallback);
  if (!value.IsScalar() || value.Scalar().empty()) fail(key, "expected a non-empty string, got " + kind_of(value));
  // Names and paths end up in progress lines, tables and CSV cells, one per line.
  for (const unsigned char c : value.Scalar())
    if (c < 0x20 || c == 0x7f) fail(key, "control characters (a newline, a tab) are not allowed in a string here");
  return resolve(*impl_, key, value.Scalar());
}

std::string ParamReader::choice(const std::string& key, std::optional<std::string> fallback,
                                const std::vector<std::string>& allowed) {
  const YAML::Node value = lookup(*impl_, key);
  if (use_fallback(*this, value, key, fallback, "one of " + quoted_list(allowed))) return resolve(*impl_, key, *fallback);
  if (!is_choice(value, allowed)) fail(key, not_a_choice(value, allowed));
  return resolve(*impl_, key, value.Scalar());
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
  const YAML::Node value = lookup(*impl_, key);
  if (use_fallback(*this, value, key, fallback, "an integer or a list of integers"))
    return resolve(*impl_, key, *fallback);
  if (value.IsSequence() && value.size() == 0) fail(key, "expected a non-empty list of integers, got []");
  const std::string expected = "an integer in [" + format_number(range.min) + ", " + format_number(range.max) + "]";
  std::vector<std::int64_t> out;
  for_each_element(value, key_path(*impl_, key), [&](const YAML::Node& item, const std::string& item_path) {
    const auto parsed = item.IsScalar() ? parse_integer(item.Scalar()) : std::nullopt;
    if (!parsed) fail_at(*impl_, item, item_path, "expected " + expected + ", got " + kind_of(item));
    if (*parsed < range.min || *parsed > range.max)
      fail_at(*impl_, item, item_path, "out of range: expected " + expected + ", got " + item.Scalar());
    const auto earlier = std::find(out.begin(), out.end(), *parsed);
    if (earlier != out.end())
      fail_at(*impl_, item, item_path, format_number(*parsed) + " is listed twice (also " + key + "[" +
                                           std::to_string(earlier - out.begin()) + "]): it would run the same case again");
    out.push_back(*parsed);
  });
  return resolve(*impl_, key, std::move(out));
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
  const YAML::Node value = lookup(*impl_, key);
  if (use_fallback(*this, value, key, fallback, "a number or a list of numbers")) return resolve(*impl_, key, *fallback);
  if (value.IsSequence() && value.size() == 0) fail(key, "expected a non-empty list of numbers, got []");
  std::vector<double> out;
  for_each_element(value, key_path(*impl_, key), [&](const YAML::Node& item, const std::string& item_path) {
    out.push_back(finite_number(item, item_path, *impl_->file));
  });
  return resolve(*impl_, key, std::move(out));
}

namespace {

// The required, non-empty list at `key`.
YAML::Node required_list(const ParamReader& reader, const YAML::Node& value, const std::string& key) {
  if (!value.IsDefined()) reader.missing(key, "a list");
  if (!value.IsSequence() || value.size() == 0) reader.fail(key, "expected a non-empty list, got " + kind_of(value));
  return value;
}

}  // namespace

std::vector<std::vector<double>> ParamReader::real_table(const std::string& key, std::size_t min_width) {
  const YAML::Node rows = required_list(*this, lookup(*impl_, key), key);
  const std::size_t width = rows[0].IsSequence() ? rows[0].size() : 0;
  if (width < min_width)
    fail_element(key, 0, "expected a list of at least " + std::to_string(min_width) + " numbers, got " +
                             (rows[0].IsSequence() ? "a list of " + std::to_string(width) : kind_of(rows[0])));
  std::vector<std::vector<double>> out;
  YAML::Node resolved(YAML::NodeType::Sequence);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::string row_path = key_path(*impl_, key) + "[" + std::to_string(r) + "]";
    if (!rows[r].IsSequence() || rows[r].size() != width)
      fail_at(*impl_, rows[r], row_path,
              "expected a list of " + std::to_string(width) + " numbers, got " +
                  (rows[r].IsSequence() ? "a list of " + std::to_string(rows[r].size()) : kind_of(rows[r])));
    out.emplace_back();
    for (std::size_t c = 0; c < width; ++c)
      out.back().push_back(finite_number(rows[r][c], row_path + "[" + std::to_string(c) + "]", *impl_->file));
    resolved.push_back(list_node(out.back()));
  }
  impl_->resolved[key] = resolved;
  return out;
}

std::vector<std::string> ParamReader::choice_list(const std::string& key,
                                                  std::optional<std::vector<std::string>> fallback,
                                                  const std::vector<std::string>& allowed) {
  const YAML::Node value = lookup(*impl_, key);
  if (use_fallback(*this, value, key, fallback, "a list of " + quoted_list(allowed))) return resolve(*impl_, key, *fallback);
  if (value.IsSequence() && value.size() == 0) fail(key, "expected a non-empty list, got []");
  std::vector<std::string> out;
  for_each_element(value, key_path(*impl_, key), [&](const YAML::Node& item, const std::string& item_path) {
    if (!is_choice(item, allowed)) fail_at(*impl_, item, item_path, not_a_choice(item, allowed));
    if (std::find(out.begin(), out.end(), item.Scalar()) != out.end())
      fail_at(*impl_, item, item_path, "'" + item.Scalar() + "' is listed twice");
    out.push_back(item.Scalar());
  });
  return resolve(*impl_, key, std::move(out));
}

void ParamReader::missing(const std::string& key, const std::string& expected) const {
  // A misspelt required key reads better as the typo than as a missing key.
  for (const auto& entry : impl_->node) {
    if (!entry.first.IsScalar()) continue;
    const std::string& name = entry.first.Scalar();
    if (std::find(impl_->asked.begin(), impl_->asked.end(), name) == impl_->asked.end() &&
        nearest_word(name, {key}) == key)
      throw DeckError(location_of(*impl_->file, entry.first), key_path(*impl_, name),
                      "unknown key '" + name + "' (did you mean '" + key + "'?)");
  }
  fail_at(*impl_, YAML::Node(YAML::NodeType::Undefined), key_path(*impl_, key),
          "missing required key (expected " + expected + ")");
}

std::vector<ParamReader> ParamReader::mappings(const std::string& key) {
  const YAML::Node list = required_list(*this, lookup(*impl_, key), key);
  // Nodes made through the resolved deck's own nodes share its memory: one made apart and added
  // later would be freed with its reader.
  impl_->resolved[key] = YAML::Node(YAML::NodeType::Sequence);
  YAML::Node resolved = impl_->resolved[key];
  std::vector<ParamReader> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    resolved.push_back(YAML::Node(YAML::NodeType::Map));
    out.push_back(read_mapping(list[i], key_path(*impl_, key) + "[" + std::to_string(i) + "]", impl_->file,
                               resolved[i]));
  }
  return out;
}

std::optional<ParamReader> ParamReader::child(const std::string& key) {
  const YAML::Node value = lookup(*impl_, key);
  if (!value.IsDefined()) return std::nullopt;
  if (!value.IsMap()) fail(key, "expected a mapping, got " + kind_of(value));
  impl_->resolved[key] = YAML::Node(YAML::NodeType::Map);
  return read_mapping(value, key_path(*impl_, key), impl_->file, impl_->resolved[key]);
}

void ParamReader::finish() const {
  std::set<std::string> seen;
  const auto& asked = impl_->asked;
  for (const auto& entry : impl_->node) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) fail_at(*impl_, key, impl_->path, "expected a plain key, got " + kind_of(key));
    const std::string& name = key.Scalar();
    if (!seen.insert(name).second) fail_at(*impl_, key, key_path(*impl_, name), "duplicate key");
    if (std::find(asked.begin(), asked.end(), name) != asked.end()) continue;
    std::vector<std::string> valid = asked;
    std::sort(valid.begin(), valid.end());
    valid.erase(std::unique(valid.begin(), valid.end()), valid.end());
    std::string what = "unknown key '" + name + "'";
    const std::string near = nearest_word(name, valid);
    if (!near.empty()) what += " (did you mean '" + near + "'?)";
    what += "; valid keys: " + quoted_list(valid);
    fail_at(*impl_, key, key_path(*impl_, name), what);
  }
}

}  // namespace klab
