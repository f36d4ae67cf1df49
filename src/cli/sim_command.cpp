// `vigil sim`: list and run simulator scenarios.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/cli11.hpp"
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
  bool help = false, list = false, bugs = false, keys = false, json = false, verbose = false;
  std::vector<std::string> names, sets;
  CLI::App app("vigil sim");
  init_app(app);
  app.add_flag("-h,--help", help);
  app.add_flag("--list", list);
  app.add_flag("--bugs", bugs);
  app.add_flag("--keys", keys);
  app.add_flag("--json", json);
  app.add_flag("-v,--verbose", verbose);
  app.add_option("--seed", params.seed)->check(check([](const std::string& v) -> std::string {
    uint64_t n = 0;
    return parse_u64(v, 0, UINT64_MAX, &n) ? "" : "expects a whole number, got '" + v + "'";
  }));
  app.add_option("--profile", params.profile);
  app.add_option("--pcap", params.pcap_path);
  app.add_option("--bug", params.bugs)->allow_extra_args(false);
  app.add_option("--set", sets)->allow_extra_args(false)->check(check([](const std::string& v) {
    const auto eq = v.find('=');
    return eq == std::string::npos || eq == 0 ? "expects key=value, got '" + v + "'"
                                              : std::string();
  }));
  app.add_option("name", names);
  if (auto rc = parse(app, args, "sim",
                      "unknown option '%s'; valid options: --list --keys --bugs --seed --profile "
                      "--pcap --json --verbose --bug --set --help"))
    return *rc;
  if (help) {
    sim_usage(stdout);
    return 0;
  }
  if (list) {
    for (const auto& s : sim::scenario_list()) {
      std::printf("%-20s %s\n", s.name.c_str(), s.summary.c_str());
    }
    return 0;
  }
  if (bugs) {
    for (const auto& [bug, what] : sim::bug_list())
      std::printf("%-26s %s\n", bug.c_str(), what.c_str());
    return 0;
  }
  if (keys) {
    for (const auto& k : sim::settable_keys()) std::printf("%s\n", k.c_str());
    return 0;
  }
  if (names.size() > 1) {
    std::fprintf(stderr, "vigil sim: one scenario at a time (got '%s' and '%s')\n",
                 names[0].c_str(), names[1].c_str());
    return 2;
  }
  if (names.empty()) {
    sim_usage(stderr);
    return 2;
  }
  const std::string name = names[0];
  for (const std::string& v : sets) {
    const auto eq = v.find('=');
    params.sets.emplace_back(v.substr(0, eq), v.substr(eq + 1));
  }
  sim::ScenarioResult result;
  const std::string err = sim::run_scenario(name, params, &result);
  if (!err.empty()) {
    std::fprintf(stderr, "vigil sim: %s\n", err.c_str());
    // A bad name, key or value is the caller's mistake; a file we cannot
    // write is not.
    return result.usage_error ? 2 : 1;
  }
  const std::string text = json ? render_json(result) : render_timeline(result, verbose);
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "vigil sim: cannot write standard output: %s\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace vigil::cli
