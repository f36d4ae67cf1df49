// CLI11 (Debian libcli11-dev) with vigil's conventions: our own --help
// text, "vigil CMD: message" on stderr and exit 2 for a bad command line,
// and unknown options named with the valid ones.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vigil::cli {

// A CLI11 app for `vigil CMD`: no built-in help flag (each command prints
// its own usage), and extra arguments kept for parse() to name.
inline void init_app(CLI::App& app) {
  app.set_help_flag();
  app.allow_extras();
}

// A validator whose message reads "--flag <msg>" once parse() prints it.
inline CLI::Validator check(std::function<std::string(const std::string&)> fn) {
  return CLI::Validator([fn](std::string& v) { return fn(v); }, "");
}

// Parses `args`. On a bad command line prints "vigil CMD: ..." and returns
// 2; otherwise nullopt. `unknown` is the text for an unexpected argument,
// with %s for it ("unknown option '%s'; valid options: ...").
inline std::optional<int> parse(CLI::App& app, const std::vector<std::string>& args,
                                const char* cmd, const char* unknown) {
  std::vector<std::string> rev(args.rbegin(), args.rend());  // CLI11 pops from the back
  try {
    app.parse(rev);
  } catch (const CLI::ValidationError& e) {
    // CLI11 says "--flag: message"; ours read "--flag message".
    std::string m = e.what();
    if (const size_t p = m.find(": "); p != std::string::npos && m.rfind("--", 0) == 0)
      m.replace(p, 2, " ");
    std::fprintf(stderr, "vigil %s: %s\n", cmd, m.c_str());
    return 2;
  } catch (const CLI::ArgumentMismatch& e) {
    // CLI11: "--flag: 1 required TEXT missing".
    const std::string m = e.what();
    const size_t colon = m.find(':');
    if (m.rfind("--", 0) == 0 && colon != std::string::npos && m.ends_with(" missing")) {
      std::fprintf(stderr, "vigil %s: %s needs a value\n", cmd, m.substr(0, colon).c_str());
    } else {
      std::fprintf(stderr, "vigil %s: %s\n", cmd, m.c_str());
    }
    return 2;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "vigil %s: %s\n", cmd, e.what());
    return 2;
  }
  if (const auto extra = app.remaining(); !extra.empty()) {
    std::fprintf(stderr, "vigil %s: ", cmd);
    std::fprintf(stderr, unknown, extra.front().c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  return std::nullopt;
}

// A whole number in [lo, hi]: digits only (no sign, no spaces), no
// overflow. The one copy the three commands share.
inline bool parse_u64(const std::string& s, uint64_t lo, uint64_t hi, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    const auto d = static_cast<uint64_t>(ch - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace vigil::cli
