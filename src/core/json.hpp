#pragma once
// A small JSON value for the results file: objects keep insertion order so files diff well.
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace klab {

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() : value_(nullptr) {}
  Json(std::nullptr_t) : value_(nullptr) {}
  Json(bool b) : value_(b) {}
  // Integers are written exactly (a double would round a seed above 2^53).
  Json(int i) : value_(static_cast<std::int64_t>(i)) {}
  Json(long i) : value_(static_cast<std::int64_t>(i)) {}
  Json(long long i) : value_(static_cast<std::int64_t>(i)) {}
  Json(unsigned long i) : Json(static_cast<unsigned long long>(i)) {}
  Json(unsigned long long i) : value_(i) {}
  Json(double d) : value_(d) {}
  Json(const char* s) : value_(std::string(s)) {}
  Json(std::string s) : value_(std::move(s)) {}
  Json(Array a) : value_(std::move(a)) {}
  Json(Object o) : value_(std::move(o)) {}

  static Json object() { return Json(Object{}); }
  static Json array() { return Json(Array{}); }
  static Json array(const std::vector<double>& numbers) { return Json(Array(numbers.begin(), numbers.end())); }

  // Appends a member (objects) or an element (arrays).
  Json& set(std::string key, Json value);
  Json& push(Json value);

  // Non-finite numbers are written as null: JSON has no NaN.
  std::string dump(int indent = 2) const;

 private:
  void write(std::string& out, int indent, int depth) const;
  std::variant<std::nullptr_t, bool, std::int64_t, unsigned long long, double, std::string, Array, Object> value_;
};

std::string json_escape(const std::string& s);

}  // namespace klab
