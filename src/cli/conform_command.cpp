// `vigil conform`: the liveness and RFC 2525 suite against a TCP
// implementation (issue 14, docs/conform.md). Cases in src/conform; this
// file picks the target, runs the cases and writes the reports.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli11.hpp"
#include "cli/commands.hpp"
#include "conform/cases.hpp"
#include "conform/report.hpp"
#include "conform/sim_testbed.hpp"
#include "conform/targets.hpp"

namespace vigil::cli {
namespace {

void conform_usage(FILE* f) {
  std::fprintf(f,
               "usage: vigil conform [--target vigil|linux|lwip | --target-cmd CMD] [--profile P]\n"
               "                     [--case NAME]... [--list] [--json] [--html FILE]\n"
               "                     [--pcap-dir DIR] [--matrix [--matrix-doc FILE]]\n"
               "\n"
               "Plays the remote peer against a TCP implementation, drives it through\n"
               "keepalive, retransmission, user-timeout, persist, congestion and\n"
               "robustness cases (docs/conform.md) and grades it from the wire.\n"
               "\n"
               "  --target T     vigil (default: vigil's stack in the simulator, virtual\n"
               "                 time), linux (the kernel in a namespace), lwip\n"
               "  --target-cmd C a black-box program listening or connecting in the\n"
               "                 namespace, graded from the wire only\n"
               "  --profile P    the vigil target's profile: linux (default) or rfc\n"
               "  --bug NAME     switch an RFC 2525 problem on in the vigil target\n"
               "                 (vigil sim --bugs), to see the cases that catch it fail\n"
               "  --set K=V      set a knob of the vigil target (docs/knobs.md)\n"
               "  --case NAME    run only this case (repeatable); --list names them\n"
               "  --json         the results as JSON on stdout\n"
               "  --html FILE    one page: the matrix and each case's time-sequence plot\n"
               "  --pcap-dir DIR keep every case's capture as DIR/TARGET-CASE.pcap\n"
               "  --matrix       run every available target (vigil rfc, vigil linux, and\n"
               "                 the real ones if built) and print the markdown matrix\n"
               "  --matrix-doc F with --matrix: replace the matrix between the markers\n"
               "                 <!-- conform-matrix:begin --> and <!-- conform-matrix:end -->\n"
               "                 in F (docs/conformance.md)\n"
               "\n"
               "Exit: 0 every case passed or is info/skipped, 1 a case failed, 2 usage.\n");
}

struct TargetSpec {
  bool sim = true;
  conform::SimTargetOptions sim_options;
  conform::RealTarget real;
};

conform::TestbedFactory factory(const TargetSpec& t) {
  if (t.sim) {
    return [o = t.sim_options](std::string& why) { return conform::make_sim_testbed(o, why); };
  }
  return [r = t.real](std::string& why) { return conform::make_real_testbed(r, why); };
}

conform::TargetRun run_target(const TargetSpec& t, const std::vector<const conform::Case*>& cases,
                              bool progress) {
  conform::TargetRun run;
  const auto make = factory(t);
  {
    std::string why;
    auto tb = make(why);
    run.target = tb ? tb->name() : why;
  }
  size_t i = 0;
  for (const conform::Case* c : cases) {
    ++i;
    if (progress) {
      std::fprintf(stderr, "\r\033[K[%zu/%zu] %s: %s", i, cases.size(), run.target.c_str(),
                   c->info.name.c_str());
      std::fflush(stderr);
    }
    run.results.emplace_back(c, conform::run_case(*c, make));
  }
  if (progress) std::fprintf(stderr, "\r\033[K");
  return run;
}

bool write_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "vigil conform: cannot write %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    std::fprintf(stderr, "vigil conform: cannot write %s: %s\n", path.c_str(),
                 std::strerror(ok ? errno : err));
    return false;
  }
  return true;
}

// Replaces the text between the two markers in `path` with `matrix`.
bool update_doc(const std::string& path, const std::string& matrix) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "vigil conform: cannot read %s\n", path.c_str());
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  const std::string begin = "<!-- conform-matrix:begin -->", end = "<!-- conform-matrix:end -->";
  const size_t b = doc.find(begin), e = doc.find(end);
  if (b == std::string::npos || e == std::string::npos || e < b) {
    std::fprintf(stderr, "vigil conform: %s has no %s ... %s markers\n", path.c_str(),
                 begin.c_str(), end.c_str());
    return false;
  }
  doc.replace(b + begin.size(), e - b - begin.size(), "\n" + matrix);
  return write_file(path, doc);
}

}  // namespace

int run_conform(const std::vector<std::string>& args) {
  bool help = false, list = false, json = false, matrix = false;
  std::string target = "vigil", target_cmd, profile = "linux", html, pcap_dir, matrix_doc;
  std::vector<std::string> case_names, bugs, sets;
  CLI::App app("vigil conform");
  init_app(app);
  app.add_flag("-h,--help", help);
  app.add_flag("--list", list);
  app.add_flag("--json", json);
  app.add_flag("--matrix", matrix);
  app.add_option("--matrix-doc", matrix_doc);
  app.add_option("--target", target)->check(check([](const std::string& v) -> std::string {
    return v == "vigil" || v == "linux" || v == "lwip"
               ? ""
               : "expects vigil, linux or lwip, got '" + v + "'";
  }));
  app.add_option("--target-cmd", target_cmd);
  app.add_option("--profile", profile)->check(check([](const std::string& v) -> std::string {
    return v == "rfc" || v == "linux" ? "" : "expects rfc or linux, got '" + v + "'";
  }));
  app.add_option("--bug", bugs)->allow_extra_args(false);
  app.add_option("--set", sets)->allow_extra_args(false)->check(check([](const std::string& v) {
    const auto eq = v.find('=');
    return eq == std::string::npos || eq == 0 ? "expects key=value, got '" + v + "'"
                                              : std::string();
  }));
  app.add_option("--case", case_names)->allow_extra_args(false);
  app.add_option("--html", html);
  app.add_option("--pcap-dir", pcap_dir);
  if (auto rc = parse(app, args, "conform",
                      "unknown option '%s'; valid options: --target --target-cmd --profile --bug "
                      "--set --case --list --json --html --pcap-dir --matrix --matrix-doc --help"))
    return *rc;
  if (help) {
    conform_usage(stdout);
    return 0;
  }
  if (list) {
    for (const auto& c : conform::all_cases()) {
      std::printf("%-34s %-15s %s%s\n", c.info.name.c_str(), c.info.category.c_str(),
                  c.info.rule.c_str(), c.info.virtual_only ? " [virtual time only]" : "");
    }
    return 0;
  }
  if (!matrix_doc.empty() && !matrix) {
    std::fprintf(stderr, "vigil conform: --matrix-doc needs --matrix\n");
    return 2;
  }
  std::vector<const conform::Case*> cases;
  for (const auto& n : case_names) {
    const conform::Case* c = conform::find_case(n);
    if (!c) {
      std::fprintf(stderr, "vigil conform: unknown case '%s' (vigil conform --list)\n", n.c_str());
      return 2;
    }
    cases.push_back(c);
  }
  if (cases.empty()) {
    for (const auto& c : conform::all_cases()) cases.push_back(&c);
  }

  TargetSpec spec;
  spec.sim_options.profile = profile;
  spec.sim_options.bugs = bugs;
  for (const auto& s : sets) {
    const auto eq = s.find('=');
    spec.sim_options.knobs.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  const bool vigil_only_options = !bugs.empty() || !sets.empty();
  if (!target_cmd.empty()) {
    spec.sim = false;
    spec.real.kind = conform::RealKind::command;
    spec.real.command = target_cmd;
  } else if (target != "vigil") {
    spec.sim = false;
    spec.real.kind = target == "linux" ? conform::RealKind::linux_kernel : conform::RealKind::lwip;
  }
  if (!spec.sim && vigil_only_options) {
    std::fprintf(stderr, "vigil conform: --bug and --set apply to --target vigil only\n");
    return 2;
  }

  std::vector<TargetSpec> targets;
  if (matrix) {
    for (const char* p : {"rfc", "linux"}) {
      TargetSpec t = spec;
      t.sim = true;
      t.sim_options.profile = p;
      targets.push_back(t);
    }
    if (conform::real_testbed_built()) {
      for (auto k : {conform::RealKind::linux_kernel, conform::RealKind::lwip}) {
        TargetSpec t;
        t.sim = false;
        t.real.kind = k;
        targets.push_back(t);
      }
    }
  } else {
    targets.push_back(spec);
    // A target that cannot be made is a usage problem here, said once.
    std::string why;
    if (!factory(spec)(why)) {
      std::fprintf(stderr, "vigil conform: %s\n", why.c_str());
      return 2;
    }
  }

  if (!pcap_dir.empty()) {
    // Made before any case runs, so a path that cannot be made fails at once.
    std::error_code ec;
    std::filesystem::create_directories(pcap_dir, ec);
    if (ec) {
      std::fprintf(stderr, "vigil conform: cannot create --pcap-dir %s: %s\n", pcap_dir.c_str(),
                   ec.message().c_str());
      return 1;
    }
  }
  const bool progress = isatty(STDERR_FILENO) != 0;
  std::vector<conform::TargetRun> runs;
  for (const auto& t : targets) runs.push_back(run_target(t, cases, progress));

  if (!pcap_dir.empty()) {
    for (const auto& r : runs) {
      const std::string err = conform::write_pcaps(r, pcap_dir);
      if (!err.empty()) {
        std::fprintf(stderr, "vigil conform: cannot write %s\n", err.c_str());
        return 1;
      }
    }
  }
  if (!html.empty() && !write_file(html, conform::html_report(runs))) return 1;
  if (json) {
    std::fputs(conform::json_report(runs).c_str(), stdout);
  } else if (matrix) {
    const std::string md = conform::markdown_matrix(runs);
    std::fputs(md.c_str(), stdout);
    if (!matrix_doc.empty() && !update_doc(matrix_doc, md)) return 1;
  } else {
    for (const auto& r : runs) std::fputs(conform::text_report(r).c_str(), stdout);
  }
  return conform::any_failed(runs) ? 1 : 0;
}

}  // namespace vigil::cli
