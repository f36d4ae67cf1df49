// `vigil sim`: list and run simulator scenarios.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/sim_report.hpp"
#include "sim/scenario.hpp"

namespace vigil::cli {

namespace {

void sim_usage(FILE* f) {
  std::fprintf(f,
               "usage: vigil sim --list\n"
               "       vigil sim fuzz --seeds A..B [--json] [--jobs N] (vigil sim fuzz --help)\n"
               "       vigil sim NAME [--seed N] [--profile rfc|linux] [--pcap FILE] [--json]\n"
               "                      [--verbose] [--bug NAME ...] [--set key=value ...]\n"
               "\n"
               "Runs scenario NAME on virtual time and prints a timeline of what happened\n"
               "(or, with --json, the result object described in docs/sim-json.md).\n"
               "The same NAME, seed and settings always give the same run and pcap.\n"
               "\n"
               "  --seed N        seed for every random choice (default 1)\n"
               "  --profile P     default knob values: rfc (default) or linux\n"
               "  --pcap FILE     write every packet seen at the client's interface\n"
               "  --json          print the result as JSON on stdout\n"
               "  --verbose       list every event in the timeline\n"
               "  --set key=value change a knob; `vigil sim --keys` lists them\n"
               "  --bug NAME      switch on an RFC 2525 problem; `vigil sim --bugs` lists them\n");
}

}  // namespace

int run_sim(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "fuzz")
    return run_sim_fuzz(std::vector<std::string>(args.begin() + 1, args.end()));
  sim::ScenarioParams params;
  std::string name;
  bool json = false, verbose = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto need_value = [&](const char* flag) -> const std::string* {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "vigil sim: %s needs a value\n", flag);
        return nullptr;
      }
      return &args[++i];
    };
    if (a == "--help" || a == "-h") {
      sim_usage(stdout);
      return 0;
    } else if (a == "--list") {
      for (const auto& s : sim::scenario_list()) {
        std::printf("%-20s %s\n", s.name.c_str(), s.summary.c_str());
      }
      return 0;
    } else if (a == "--bugs") {
      for (const auto& [bug, what] : sim::bug_list())
        std::printf("%-26s %s\n", bug.c_str(), what.c_str());
      return 0;
    } else if (a == "--bug") {
      const std::string* v = need_value("--bug");
      if (!v) return 2;
      params.bugs.push_back(*v);
    } else if (a == "--keys") {
      for (const auto& k : sim::settable_keys()) std::printf("%s\n", k.c_str());
      return 0;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--verbose" || a == "-v") {
      verbose = true;
    } else if (a == "--seed") {
      const std::string* v = need_value("--seed");
      if (!v) return 2;
      try {
        size_t pos = 0;
        params.seed = std::stoull(*v, &pos);
        if (pos != v->size()) throw std::invalid_argument("trailing");
      } catch (const std::exception&) {
        std::fprintf(stderr, "vigil sim: --seed expects a whole number, got '%s'\n", v->c_str());
        return 2;
      }
    } else if (a == "--profile") {
      const std::string* v = need_value("--profile");
      if (!v) return 2;
      params.profile = *v;
    } else if (a == "--pcap") {
      const std::string* v = need_value("--pcap");
      if (!v) return 2;
      params.pcap_path = *v;
    } else if (a == "--set") {
      const std::string* v = need_value("--set");
      if (!v) return 2;
      const auto eq = v->find('=');
      if (eq == std::string::npos || eq == 0) {
        std::fprintf(stderr, "vigil sim: --set expects key=value, got '%s'\n", v->c_str());
        return 2;
      }
      params.sets.emplace_back(v->substr(0, eq), v->substr(eq + 1));
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr,
                   "vigil sim: unknown option '%s'; valid options: --list --keys --bugs --seed "
                   "--profile --pcap --json --verbose --bug --set --help\n",
                   a.c_str());
      return 2;
    } else if (name.empty()) {
      name = a;
    } else {
      std::fprintf(stderr, "vigil sim: one scenario at a time (got '%s' and '%s')\n", name.c_str(),
                   a.c_str());
      return 2;
    }
  }
  if (name.empty()) {
    sim_usage(stderr);
    return 2;
  }
  sim::ScenarioResult result;
  const std::string err = sim::run_scenario(name, params, &result);
  if (!err.empty()) {
    std::fprintf(stderr, "vigil sim: %s\n", err.c_str());
    // A bad name, key or value is the caller's mistake; a file we cannot
    // write is not.
    const bool usage_error = err.rfind("unknown", 0) == 0 ||
                             err.find(" expects ") != std::string::npos ||
                             err.find("must not") != std::string::npos;
    return usage_error ? 2 : 1;
  }
  const std::string text = json ? render_json(result) : render_timeline(result, verbose);
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "vigil sim: cannot write standard output: %s\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace vigil::cli
