#include "util/json.hpp"

#include <cassert>
#include <charconv>
#include <cmath>
#include <string>

namespace vigil::util {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259 section 6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// Only used by assert, hence maybe_unused for NDEBUG builds.
[[maybe_unused]] bool is_json_number(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t begin = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    return i > begin;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

}  // namespace

JsonWriter::JsonWriter(bool pretty) : pretty_(pretty) {}

void JsonWriter::newline_indent() {
  if (!pretty_) return;
  out_ += '\n';
  out_.append(2 * stack_.size(), ' ');
}

void JsonWriter::before_value() {
  if (stack_.empty()) {
    assert(!root_written_ && "JSON text has a single top-level value");
    root_written_ = true;
    return;
  }
  Frame& top = stack_.back();
  if (top.is_object) {
    // key() already wrote the separator and indentation.
    assert(top.key_pending && "value inside an object needs a key first");
    top.key_pending = false;
    return;
  }
  if (top.count > 0) out_ += ',';
  ++top.count;
  newline_indent();
}

JsonWriter& JsonWriter::key(std::string_view k) {
  assert(!stack_.empty() && stack_.back().is_object && "key() outside an object");
  Frame& top = stack_.back();
  assert(!top.key_pending && "two keys in a row");
  if (top.count > 0) out_ += ',';
  ++top.count;
  newline_indent();
  write_string(k);
  out_ += pretty_ ? ": " : ":";
  top.key_pending = true;
  return *this;
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ += '{';
  stack_.push_back(Frame{.is_object = true});
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  assert(!stack_.empty() && stack_.back().is_object && "end_object() without begin_object()");
  assert(!stack_.back().key_pending && "key without a value");
  const bool empty = stack_.back().count == 0;
  stack_.pop_back();
  // An empty container stays "{}" on one line.
  if (!empty) newline_indent();
  out_ += '}';
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_ += '[';
  stack_.push_back(Frame{.is_object = false});
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  assert(!stack_.empty() && !stack_.back().is_object && "end_array() without begin_array()");
  const bool empty = stack_.back().count == 0;
  stack_.pop_back();
  if (!empty) newline_indent();
  out_ += ']';
  return *this;
}

size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = at(i);
  if (b < 0x80) return 1;
  // RFC 3629 §4: the second byte's range depends on the first, which rules
  // out overlong forms (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED
  // A0..BF) and code points above U+10FFFF (F4 90.., F5..FF).
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b == 0xe0) lo = 0xa0;
    if (b == 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xbf) return 0;
  }
  return n;
}

void JsonWriter::write_string(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out_ += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      const size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        out_ += "\\ufffd";
      } else {
        out_.append(s.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\b':
        out_ += "\\b";
        break;
      case '\f':
        out_ += "\\f";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      default:
        if (byte < 0x20) {
          out_ += "\\u00";
          out_ += kHex[byte >> 4];
          out_ += kHex[byte & 0x0f];
        } else {
          out_ += c;
        }
    }
  }
  out_ += '"';
}

JsonWriter& JsonWriter::value(std::string_view s) {
  before_value();
  write_string(s);
  return *this;
}

JsonWriter& JsonWriter::value(const char* s) {
  assert(s != nullptr);
  return value(std::string_view(s));
}

JsonWriter& JsonWriter::value(int64_t v) {
  before_value();
  out_ += std::to_string(v);
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t v) {
  before_value();
  out_ += std::to_string(v);
  return *this;
}

JsonWriter& JsonWriter::value(int v) { return value(static_cast<int64_t>(v)); }

JsonWriter& JsonWriter::value(unsigned v) { return value(static_cast<uint64_t>(v)); }

JsonWriter& JsonWriter::value(double v) {
  if (!std::isfinite(v)) return null();
  before_value();
  // 24 characters hold any shortest-form double ("-2.2250738585072014e-308").
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  assert(result.ec == std::errc());
  out_.append(buf, result.ptr);
  return *this;
}

JsonWriter& JsonWriter::value(bool v) {
  before_value();
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::raw_number(std::string_view digits) {
  assert(is_json_number(digits) && "raw_number() needs a JSON number");
  before_value();
  out_ += digits;
  return *this;
}

}  // namespace vigil::util
