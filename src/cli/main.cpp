// The `vigil` command: one binary, subcommands.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "vigil/version.hpp"

namespace {

void usage(FILE* f) {
  std::fprintf(f,
               "usage: vigil <command> [options]\n"
               "\n"
               "commands:\n"
               "  sim        run a deterministic simulated scenario (vigil sim --list)\n"
               "  analyze    label the TCP segments of a capture (vigil analyze FILE)\n"
               "  tun        run the stack on a Linux TUN device (vigil tun --help)\n"
               "  bench      measure the stack: bulk, handshake, idle ... (vigil bench --help)\n"
               "  conform    test a TCP implementation's liveness rules (vigil conform --help)\n"
               "  help       show this text\n"
               "  --version  print vigil's version\n"
               "\n"
               "`vigil <command> --help` describes a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  int rc = 2;
  if (cmd == "sim") {
    rc = vigil::cli::run_sim(args);
  } else if (cmd == "analyze") {
    rc = vigil::cli::run_analyze(args);
  } else if (cmd == "tun") {
    rc = vigil::cli::run_tun(args);
  } else if (cmd == "bench") {
    rc = vigil::cli::run_bench(args);
  } else if (cmd == "conform") {
    rc = vigil::cli::run_conform(args);
  } else if (cmd == "--version") {
    std::printf("vigil %s\n", VIGIL_VERSION);
    rc = 0;
  } else if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    usage(stdout);
    rc = 0;
  } else {
    std::fprintf(
        stderr,
        "vigil: unknown command '%s'; valid commands: sim, analyze, tun, bench, conform, help\n",
        cmd.c_str());
    return 2;
  }
  // The last net under every command's output (--list, --keys, help ...):
  // output that did not reach its file is a failure, not a success.
  if ((std::fflush(stdout) != 0 || std::ferror(stdout)) && rc == 0) {
    std::fprintf(stderr, "vigil %s: cannot write standard output: %s\n", cmd.c_str(),
                 std::strerror(errno));
    rc = 1;
  }
  return rc;
}
