// A small streaming JSON writer for reports and traces. It only builds the
// text; structural misuse (a value without a key inside an object, an
// unbalanced end_*) is a programming error and is caught by assert.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::util {

// The length of the valid UTF-8 sequence (RFC 3629 §4) starting at s[i], or
// 0 when s[i] does not start one.
size_t utf8_sequence_length(std::string_view s, size_t i);

class JsonWriter {
 public:
  // pretty: one member per line, indented by 2 spaces, "key": value.
  // Otherwise compact, with no whitespace at all.
  explicit JsonWriter(bool pretty = true);

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();

  // Inside an object, before each value.
  JsonWriter& key(std::string_view k);

  // Strings are escaped per RFC 8259. Valid UTF-8 sequences (RFC 3629 §4)
  // are copied as they are; every byte that does not start one (a file
  // name in another encoding, a truncated sequence, an overlong form, a
  // surrogate) becomes \ufffd, the replacement character, so the output is
  // always valid JSON, which must be UTF-8 (RFC 8259 §8.1).
  JsonWriter& value(std::string_view s);
  // Without this overload a string literal would pick value(bool).
  JsonWriter& value(const char* s);
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  JsonWriter& value(int v);
  JsonWriter& value(unsigned v);
  // Shortest text that reads back as the same double; NaN and infinities,
  // which JSON cannot represent, become null.
  JsonWriter& value(double v);
  JsonWriter& value(bool v);
  JsonWriter& null();

  // A number that is already formatted, e.g. "7875.000000"; it must follow
  // the JSON number grammar.
  JsonWriter& raw_number(std::string_view digits);

  const std::string& str() const { return out_; }

 private:
  struct Frame {
    bool is_object;
    size_t count = 0;          // members/elements written so far
    bool key_pending = false;  // object: key written, value not yet
  };

  // Separator and indentation before a value at the current position.
  void before_value();
  void newline_indent();
  void write_string(std::string_view s);

  bool pretty_;
  bool root_written_ = false;
  std::vector<Frame> stack_;
  std::string out_;
};

}  // namespace vigil::util
