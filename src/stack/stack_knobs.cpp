// `--set stack.*`: the StackConfig listener defences (issue 12 hole 4) by
// name, with ranges after Linux's sysctls (docs/knobs.md has the table).
#include "stack/stack.hpp"
#include "util/knobs.hpp"

namespace vigil::stack {

namespace {

using util::parse_u64;
using StackKnob = util::Knob<StackConfig>;

template <typename T>
StackKnob count_knob(const char* name, T StackConfig::*field, uint64_t hi, const char* why) {
  return {name, [=](StackConfig& c, std::string_view v) -> std::string {
            uint64_t x = 0;
            if (!parse_u64(v, hi, &x)) {
              return "expects a whole number from 0 to " + std::to_string(hi) + " (" + why + ")";
            }
            c.*field = static_cast<T>(x);
            return {};
          }};
}

const std::vector<StackKnob>& knobs() {
  static const std::vector<StackKnob> k = {
      // 65535: the largest backlog while Linux kept it in a u16 (somaxconn);
      // at 1,480 bytes per half-open connection, under 100 MB. 0:
      // the SYN queue is always full, so every SYN gets a cookie (Linux's
      // tcp_syncookies=2) or, with cookies off, is dropped.
      count_knob("stack.syn_backlog", &StackConfig::syn_backlog, 65535,
                 "0: every SYN answered by a cookie; Linux somaxconn"),
      // Linux tcp_synack_retries is a u8 sysctl: 0..255. Each retry backs
      // off to at most rto.max, so 255 still ends (in under 9 hours at 120 s).
      count_knob("stack.synack_retries", &StackConfig::synack_retries, 255,
                 "Linux tcp_synack_retries"),
      {"stack.syn_cookies",
       [](StackConfig& c, std::string_view v) -> std::string {
         if (!util::parse_bool(v, &c.syn_cookies)) return "expects true or false";
         return {};
       }},
      // 1048576: Linux's default fs.nr_open, the most descriptors (so
      // sockets) one process may hold. 0: no cap.
      count_knob("stack.max_connections", &StackConfig::max_connections, 1u << 20,
                 "0: no cap; Linux fs.nr_open"),
  };
  return k;
}

}  // namespace

std::string StackConfig::set_one(std::string_view key, std::string_view value) {
  return util::set_knob(knobs(), *this, key, value, "stack knobs");
}

const std::vector<std::string>& StackConfig::knob_names() {
  static const std::vector<std::string> names = util::knob_names(knobs());
  return names;
}

}  // namespace vigil::stack
