// Named settings set from text (`--set key=value`): the parsing and the
// table lookup that tcp::TcpConfig and stack::StackConfig share. Each layer
// keeps its own table, its ranges and the reasons for them.
#pragma once

#include <charconv>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::util {

// A whole number in [0, max], all of `v`.
inline bool parse_u64(std::string_view v, uint64_t max, uint64_t* out) {
  uint64_t x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || x > max) return false;
  *out = x;
  return true;
}

inline bool parse_bool(std::string_view v, bool* out) {
  if (v == "1" || v == "true" || v == "on" || v == "yes") {
    *out = true;
    return true;
  }
  if (v == "0" || v == "false" || v == "off" || v == "no") {
    *out = false;
    return true;
  }
  return false;
}

// One setting: its name and a setter that returns "" or what was wrong.
template <typename Config>
struct Knob {
  const char* name;
  std::function<std::string(Config&, std::string_view)> set;
};

// Sets `key` in `c` from the table. Returns "" on success, "KEY <what was
// wrong>, got 'VALUE'" for a bad value (leaving `c` as the setter left it),
// or "unknown knob 'KEY'; valid <kind>: ..." naming every key.
template <typename Config>
std::string set_knob(const std::vector<Knob<Config>>& table, Config& c, std::string_view key,
                     std::string_view value, std::string_view kind) {
  for (const auto& k : table) {
    if (key == k.name) {
      std::string err = k.set(c, value);
      if (!err.empty()) return std::string(key) + " " + err + ", got '" + std::string(value) + "'";
      return {};
    }
  }
  std::string msg = "unknown knob '" + std::string(key) + "'; valid " + std::string(kind) + ":";
  for (const auto& k : table) msg += std::string(" ") + k.name;
  return msg;
}

template <typename Config>
std::vector<std::string> knob_names(const std::vector<Knob<Config>>& table) {
  std::vector<std::string> names;
  names.reserve(table.size());
  for (const auto& k : table) names.emplace_back(k.name);
  return names;
}

}  // namespace vigil::util
