#include "core/json.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/utf8.hpp"

namespace klab {

Json& Json::set(std::string key, Json value) {
  auto* object = std::get_if<Object>(&value_);
  if (!object) throw std::logic_error("Json::set on a non-object");
  object->emplace_back(std::move(key), std::move(value));
  return *this;
}

Json& Json::push(Json value) {
  auto* array = std::get_if<Array>(&value_);
  if (!array) throw std::logic_error("Json::push on a non-array");
  array->push_back(std::move(value));
  return *this;
}

std::string json_escape(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : valid_utf8(text)) {  // JSON is UTF-8, whatever a path or variable holds
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string Json::dump(int indent) const {
  std::string out;
  write(out, indent, 0);
  out += "\n";
  return out;
}

void Json::write(std::string& out, int indent, int depth) const {
  const auto newline = [&](int d) {
    out += "\n";
    out.append(static_cast<std::size_t>(indent * d), ' ');
  };
  if (std::holds_alternative<std::nullptr_t>(value_)) {
    out += "null";
  } else if (const bool* b = std::get_if<bool>(&value_)) {
    out += *b ? "true" : "false";
  } else if (const std::int64_t* i = std::get_if<std::int64_t>(&value_)) {
    out += std::to_string(*i);
  } else if (const unsigned long long* u = std::get_if<unsigned long long>(&value_)) {
    out += std::to_string(*u);
  } else if (const double* d = std::get_if<double>(&value_)) {
    if (!std::isfinite(*d)) {
      out += "null";
    } else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", *d);
      out += buf;
    }
  } else if (const std::string* s = std::get_if<std::string>(&value_)) {
    out += json_escape(*s);
  } else if (const Array* a = std::get_if<Array>(&value_)) {
    out += "[";
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i) out += ",";
      newline(depth + 1);
      (*a)[i].write(out, indent, depth + 1);
    }
    if (!a->empty()) newline(depth);
    out += "]";
  } else if (const Object* o = std::get_if<Object>(&value_)) {
    out += "{";
    for (std::size_t i = 0; i < o->size(); ++i) {
      if (i) out += ",";
      newline(depth + 1);
      out += json_escape((*o)[i].first) + ": ";
      (*o)[i].second.write(out, indent, depth + 1);
    }
    if (!o->empty()) newline(depth);
    out += "}";
  }
}

}  // namespace klab
