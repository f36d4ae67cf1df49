// `vigil sim fuzz --seeds A..B`: runs sim::run_fuzz_seed on every seed of
// the range, one worker process per core (fork; each worker takes every
// N-th seed and reports over a pipe), and prints the failures with the
// command that replays each (docs/sim-fuzz.md).
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cli/cli11.hpp"
#include "cli/commands.hpp"
#include "sim/fuzz.hpp"
#include "sim/scenario.hpp"
#include "util/json.hpp"

namespace vigil::cli {

namespace {

void fuzz_usage(FILE* f) {
  std::fprintf(f,
               "usage: vigil sim fuzz --seeds A..B [--json] [--jobs N] [--verbose] [--pcap FILE]\n"
               "                      [--bug NAME ...]\n"
               "\n"
               "Runs one randomized simulation per seed: each seed draws links and impairments,\n"
               "partitions, connections and their applications, and off-path attackers, runs\n"
               "them on virtual time and checks the invariants of docs/sim-fuzz.md. A seed\n"
               "always replays exactly. Exit 0: no failure; 1: failures; 2: bad arguments.\n"
               "\n"
               "  --seeds A..B  the seeds to run, inclusive (A alone: one seed)\n"
               "  --json        print {seeds_run, failures[{seed, invariant, detail, replay}]}\n"
               "  --jobs N      worker processes (default: the number of cores)\n"
               "  --verbose     one seed: print what it drew and how each connection ended\n"
               "  --pcap FILE   one seed: capture at host 0's interface\n"
               "  --bug NAME    switch on an RFC 2525 problem (vigil sim --bugs)\n");
}

// One line of a worker's report: tabs and newlines would break the framing.
std::string flat(std::string s) {
  for (char& ch : s)
    if (ch == '\t' || ch == '\n' || ch == '\r') ch = ' ';
  return s;
}

struct Options {
  uint64_t first = 0, last = 0;
  bool json = false, verbose = false;
  unsigned jobs = 0;
  sim::FuzzOptions run;
};

std::string replay_command(uint64_t seed, const Options& o) {
  std::string c = "vigil sim fuzz --seeds " + std::to_string(seed) + ".." + std::to_string(seed);
  for (const auto& b : o.run.bugs) c += " --bug " + b;
  if (o.run.fault != sim::FuzzFault::kNone)
    c += std::string(" --fault ") + sim::fuzz_fault_name(o.run.fault);
  return c + " --verbose";
}

// A worker: seeds first, first+step, ... up to last. Reports "S seed" when
// it starts one, "F seed\tinvariant\tdetail" per failure, "D seed" when done.
[[noreturn]] void worker(int fd, uint64_t first, uint64_t last, uint64_t step, const Options& o) {
  FILE* out = fdopen(fd, "w");
  if (!out) _exit(3);
  for (uint64_t s = first; s <= last; s += step) {
    std::fprintf(out, "S %llu\n", static_cast<unsigned long long>(s));
    std::fflush(out);
    const sim::FuzzSeedResult r = sim::run_fuzz_seed(s, o.run);
    for (const auto& f : r.failures)
      std::fprintf(out, "F %llu\t%s\t%s\n", static_cast<unsigned long long>(s), f.invariant.c_str(),
                   flat(f.detail).c_str());
    if (!r.error.empty())
      std::fprintf(out, "F %llu\t%s\t%s\n", static_cast<unsigned long long>(s), "io",
                   flat(r.error).c_str());
    std::fprintf(out, "D %llu %llu %llu\n", static_cast<unsigned long long>(s),
                 static_cast<unsigned long long>(r.packets),
                 static_cast<unsigned long long>(r.injected));
    std::fflush(out);
    if (last - s < step) break;
  }
  _exit(std::fclose(out) == 0 ? 0 : 3);
}

struct Worker {
  pid_t pid = -1;
  int fd = -1;
  uint64_t next = 0;  // next seed it will run
  uint64_t step = 1;
  bool in_seed = false;
  uint64_t current = 0;
  std::string buf;
};

class Progress {
 public:
  Progress(uint64_t total) : total_(total), on_(isatty(STDERR_FILENO) == 1) {}
  void update(uint64_t done, size_t failures) {
    if (!on_) return;
    // At most ten redraws a second (and the last one).
    const auto now = std::chrono::steady_clock::now();
    if (done != total_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const int width = 40;
    const int filled = static_cast<int>(total_ ? done * width / total_ : width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(width - filled), '.');
    std::fprintf(stderr, "\r[%s] %llu/%llu seeds, %zu failures", bar.c_str(),
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
                 failures);
    std::fflush(stderr);
  }
  void clear() {
    if (on_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  uint64_t total_;
  bool on_;
  std::chrono::steady_clock::time_point last_{};
};

bool spawn(Worker& w, const Options& o) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    worker(fds[1], w.next, o.last, w.step, o);
  }
  close(fds[1]);
  w.pid = pid;
  w.fd = fds[0];
  w.in_seed = false;
  w.buf.clear();
  return true;
}

// Runs every seed over `jobs` workers; collects failures by seed.
struct Totals {
  uint64_t packets = 0;   // delivered, over every seed
  uint64_t injected = 0;  // of them forged by the attackers
};

int run_all(const Options& o, uint64_t* seeds_run, std::vector<sim::FuzzFailure>* failures,
            Totals* totals) {
  const uint64_t total = o.last - o.first + 1;
  const uint64_t jobs = std::min<uint64_t>(o.jobs, total);
  std::vector<Worker> ws(jobs);
  for (uint64_t j = 0; j < jobs; ++j) {
    ws[j].next = o.first + j;
    ws[j].step = jobs;
    if (!spawn(ws[j], o)) {
      std::fprintf(stderr, "vigil sim fuzz: cannot start a worker: %s\n", std::strerror(errno));
      return 1;
    }
  }
  Progress progress(total);
  uint64_t done = 0;
  size_t live = jobs;
  char chunk[4096];
  while (live > 0) {
    std::vector<pollfd> pfds;
    std::vector<size_t> idx;
    for (size_t j = 0; j < ws.size(); ++j) {
      if (ws[j].fd >= 0) {
        pfds.push_back({ws[j].fd, POLLIN, 0});
        idx.push_back(j);
      }
    }
    if (poll(pfds.data(), pfds.size(), 100) < 0 && errno != EINTR) return 1;
    for (size_t k = 0; k < pfds.size(); ++k) {
      if (!(pfds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Worker& w = ws[idx[k]];
      const ssize_t n = read(w.fd, chunk, sizeof chunk);
      if (n > 0) {
        w.buf.append(chunk, static_cast<size_t>(n));
        size_t nl;
        while ((nl = w.buf.find('\n')) != std::string::npos) {
          const std::string line = w.buf.substr(0, nl);
          w.buf.erase(0, nl + 1);
          uint64_t seed = 0;
          if (line.size() > 2 && line[0] == 'S') {
            parse_u64(line.substr(2), 0, UINT64_MAX, &seed);
            w.in_seed = true;
            w.current = seed;
          } else if (line.size() > 2 && line[0] == 'D') {
            unsigned long long sd = 0, pk = 0, inj = 0;
            std::sscanf(line.c_str() + 2, "%llu %llu %llu", &sd, &pk, &inj);
            seed = sd;
            totals->packets += pk;
            totals->injected += inj;
            w.in_seed = false;
            w.next = seed + w.step;
            ++done;
          } else if (line.size() > 2 && line[0] == 'F') {
            const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
            if (t1 == std::string::npos || t2 == std::string::npos) continue;
            parse_u64(line.substr(2, t1 - 2), 0, UINT64_MAX, &seed);
            failures->push_back({seed, line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1)});
          }
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      // End of the pipe: the worker has finished or died.
      close(w.fd);
      w.fd = -1;
      int status = 0;
      waitpid(w.pid, &status, 0);
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!w.in_seed) {
        if (!clean)
          std::fprintf(stderr, "vigil sim fuzz: a worker failed outside any seed (status %d)\n",
                       status);
        --live;
        continue;
      }
      // A crash (an assertion, a sanitizer, a signal) inside a seed: that
      // seed fails, and a new worker carries on after it.
      std::string why = WIFSIGNALED(status)
                            ? "the run crashed: signal " + std::to_string(WTERMSIG(status)) + " (" +
                                  strsignal(WTERMSIG(status)) + ")"
                            : "the run exited with status " + std::to_string(WEXITSTATUS(status));
      failures->push_back({w.current, sim::kInvInternal, why});
      ++done;
      w.next = w.current + w.step;
      if (w.next > o.last || w.next < o.first) {
        --live;
        continue;
      }
      if (!spawn(w, o)) {
        std::fprintf(stderr, "vigil sim fuzz: cannot restart a worker: %s\n", std::strerror(errno));
        return 1;
      }
    }
    progress.update(done, failures->size());
  }
  progress.clear();
  *seeds_run = done;
  std::stable_sort(
      failures->begin(), failures->end(),
      [](const sim::FuzzFailure& a, const sim::FuzzFailure& b) { return a.seed < b.seed; });
  return 0;
}

}  // namespace

int run_sim_fuzz(const std::vector<std::string>& args) {
  Options o;
  bool have_seeds = false;
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  o.jobs = cores > 0 ? static_cast<unsigned>(cores) : 1;
  bool help = false;
  std::string seeds, fault;
  CLI::App app("vigil sim fuzz");
  init_app(app);
  app.add_flag("-h,--help", help);
  app.add_option("--seeds", seeds)->check(check([&](const std::string& v) -> std::string {
    const size_t dots = v.find("..");
    const std::string lo = dots == std::string::npos ? v : v.substr(0, dots);
    const std::string hi = dots == std::string::npos ? v : v.substr(dots + 2);
    if (!parse_u64(lo, 0, UINT64_MAX, &o.first) || !parse_u64(hi, 0, UINT64_MAX, &o.last))
      return "expects A..B with whole numbers A <= B (or one seed A), got '" + v + "'";
    if (o.first > o.last) return v + " is empty: the first seed is above the last";
    return "";
  }));
  app.add_option("-j,--jobs", o.jobs)->check(check([](const std::string& v) -> std::string {
    uint64_t n = 0;
    return parse_u64(v, 1, 1024, &n) ? "" : "expects a number from 1 to 1024, got '" + v + "'";
  }));
  app.add_flag("--json", o.json);
  app.add_flag("-v,--verbose", o.verbose);
  app.add_option("--pcap", o.run.pcap_path);
  app.add_option("--bug", o.run.bugs)
      ->allow_extra_args(false)
      ->check(check([](const std::string& v) {
        tcp::TcpConfig probe;
        return sim::apply_scenario_bug(v, &probe);
      }));
  // Undocumented in --help: deliberate faults for the tests that show
  // each invariant can fail (docs/sim-fuzz.md).
  app.add_option("--fault", fault)->check(check([&](const std::string& v) -> std::string {
    if (sim::parse_fuzz_fault(v, &o.run.fault)) return "";
    std::string names;
    for (const auto& n : sim::fuzz_fault_names()) names += (names.empty() ? "" : ", ") + n;
    return "unknown fault '" + v + "'; valid faults: " + names;
  }));
  if (auto rc = parse(app, args, "sim fuzz",
                      "unknown argument '%s'; valid options: --seeds --json --jobs --verbose "
                      "--pcap --bug --help"))
    return *rc;
  if (help) {
    fuzz_usage(stdout);
    return 0;
  }
  have_seeds = !seeds.empty();
  if (!have_seeds) {
    std::fprintf(stderr, "vigil sim fuzz: --seeds A..B is required\n");
    fuzz_usage(stderr);
    return 2;
  }
  const bool one = o.first == o.last;
  if ((o.verbose || !o.run.pcap_path.empty()) && !one) {
    std::fprintf(stderr,
                 "vigil sim fuzz: --verbose and --pcap take a single seed (--seeds N..N)\n");
    return 2;
  }

  uint64_t seeds_run = 0;
  Totals totals;
  std::vector<sim::FuzzFailure> failures;
  std::string text;
  if (one && (o.verbose || !o.run.pcap_path.empty())) {
    // In this process, so the drawn parameters and the capture come out.
    const sim::FuzzSeedResult r = sim::run_fuzz_seed(o.first, o.run);
    if (!r.error.empty()) {
      std::fprintf(stderr, "vigil sim fuzz: %s\n", r.error.c_str());
      return 1;
    }
    seeds_run = 1;
    failures = r.failures;
    totals.packets = r.packets;
    totals.injected = r.injected;
    if (!o.json) {
      text += "seed " + std::to_string(o.first) + " draws:\n" + r.params;
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    "ran to %.6f s: %llu packets delivered, %llu of them from the attacker\n",
                    r.end.secs(), static_cast<unsigned long long>(r.packets),
                    static_cast<unsigned long long>(r.injected));
      text += buf + r.summary;
      if (!r.events.empty()) text += "events:\n" + r.events;
    }
  } else if (run_all(o, &seeds_run, &failures, &totals) != 0) {
    return 1;
  }

  if (o.json) {
    util::JsonWriter j;
    j.begin_object();
    j.key("seeds_run").value(seeds_run);
    j.key("packets_delivered").value(totals.packets);
    j.key("attacker_packets").value(totals.injected);
    j.key("failures").begin_array();
    for (const auto& f : failures) {
      j.begin_object();
      j.key("seed").value(f.seed);
      j.key("invariant").value(f.invariant);
      j.key("detail").value(f.detail);
      j.key("replay").value(replay_command(f.seed, o));
      j.end_object();
    }
    j.end_array();
    j.end_object();
    text = j.str() + "\n";
  } else {
    for (const auto& f : failures) {
      text += "seed " + std::to_string(f.seed) + ": " + f.invariant + ": " + f.detail + "\n";
      text += "  replay: " + replay_command(f.seed, o) + "\n";
    }
    text += "seeds run: " + std::to_string(seeds_run) +
            ", failures: " + std::to_string(failures.size()) + " (" +
            std::to_string(totals.packets) + " packets delivered, " +
            std::to_string(totals.injected) + " from attackers)\n";
  }
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "vigil sim fuzz: cannot write standard output: %s\n",
                 std::strerror(errno));
    return 1;
  }
  return failures.empty() ? 0 : 1;
}

}  // namespace vigil::cli
