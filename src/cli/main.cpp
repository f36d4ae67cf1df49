// The `vigil` command: one binary, subcommands.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace {

void usage(FILE* f) {
  std::fprintf(f,
               "usage: vigil <command> [options]\n"
               "\n"
               "commands:\n"
               "  sim        run a deterministic simulated scenario (vigil sim --list)\n"
               "  analyze    label the TCP segments of a capture (vigil analyze FILE)\n"
               "  tun        run the stack on a Linux TUN device (vigil tun --help)\n"
               "  help       show this text\n"
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
  if (cmd == "sim") return vigil::cli::run_sim(args);
  if (cmd == "analyze") return vigil::cli::run_analyze(args);
  if (cmd == "tun") return vigil::cli::run_tun(args);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "vigil: unknown command '%s'; valid commands: sim, analyze, tun, help\n",
               cmd.c_str());
  return 2;
}
