// Subcommand entry points. Each returns the process exit code:
// 0 success, 1 the work failed, 2 the command line was wrong.
#pragma once

#include <string>
#include <vector>

namespace vigil::cli {

int run_sim(const std::vector<std::string>& args);
int run_sim_fuzz(const std::vector<std::string>& args);  // vigil sim fuzz
int run_analyze(const std::vector<std::string>& args);
int run_tun(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);    // vigil bench (issue 15)
int run_conform(const std::vector<std::string>& args);  // vigil conform (issue 14)

}  // namespace vigil::cli
