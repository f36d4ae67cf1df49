// `vigil bench NAME [--json]`: the stack's own benchmarks (issue 15,
// docs/benchmarks.md). Drivers in src/sim/bench.*; the timer wheel's
// micro-benchmark runs under Google Benchmark here.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "sim/bench.hpp"
#include "stack/timer_wheel.hpp"
#include "util/json.hpp"
#include "util/rng.hpp"

namespace vigil::cli {

namespace {

namespace bench = sim::bench;

void bench_usage(FILE* f) {
  std::fprintf(f,
               "usage: vigil bench NAME [--json] [options]\n"
               "\n"
               "  bulk         two stacks in one thread, in memory, no loss: Gbit/s, ns and\n"
               "               allocations per segment, fraction of a memcpy\n"
               "               [--bytes N] (default 1 GiB) [--mtu M] (default 1500)\n"
               "               [--no-checksum] (partial checksums, as Linux loopback)\n"
               "               [--no-ceiling] (skip the memcpy measurement)\n"
               "  handshake    connect, accept, 1 byte each way, close, in memory: handshakes/s\n"
               "               [--count N] (default 200000)\n"
               "  idle         N established connections with keepalive 7200/75/9 through\n"
               "               3 h of virtual time: bytes per connection, RSS, events/s\n"
               "               [--connections N] (default 1000000) [--memory-limit MIB]\n"
               "  timer-wheel  Google Benchmark of TimerWheel arm+cancel at 1k..1M timers\n"
               "               [--max-timers N] (default 1000000) [--min-time S] (default 0.2)\n"
               "  sizes        sizeof each part of a connection\n"
               "\n"
               "  --json       print the figures as one JSON object on stdout\n"
               "\n"
               "Times are the thread's CPU time (\"vigil on one core\"); *_wall figures\n"
               "are the wall clock. scripts/bench.sh runs the suite against Linux and\n"
               "writes docs/benchmarks.md. The analyzer and TUN benchmarks need root and\n"
               "namespaces: scripts/bench-analyze.sh and scripts/bench-tun.sh.\n");
}

bool parse_u64(const std::string& s, uint64_t* out) {
  try {
    size_t pos = 0;
    const unsigned long long v = std::stoull(s, &pos);
    if (pos != s.size() || s[0] == '-') return false;
    *out = v;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

void print_result(const bench::Result& r, bool json) {
  if (json) {
    util::JsonWriter w;
    w.begin_object().key("benchmark").value(r.name);
    w.key("figures").begin_object();
    for (const auto& [k, v] : r.figures) w.key(k).value(v);
    w.end_object();
    w.key("notes").begin_object();
    for (const auto& [k, v] : r.notes) w.key(k).value(v);
    w.end_object();
    w.key("error");
    if (r.error.empty())
      w.null();
    else
      w.value(r.error);
    w.end_object();
    std::printf("%s\n", w.str().c_str());
    return;
  }
  std::printf("%s\n", r.name.c_str());
  for (const auto& [k, v] : r.figures) std::printf("  %-34s %.6g\n", k.c_str(), v);
  for (const auto& [k, v] : r.notes) std::printf("  %-34s %s\n", k.c_str(), v.c_str());
  if (!r.error.empty()) std::printf("  error: %s\n", r.error.c_str());
}

// --- timer wheel (Google Benchmark) ---

// N entries armed at random deadlines within an hour; each iteration
// cancels one and arms it again at a new deadline, as a connection's timer
// is moved on every segment. O(1) shows as the same ns from 1k to 1M.
void BM_ArmCancel(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const Instant t0 = Instant::zero();
  stack::TimerWheel wheel(t0);
  auto entries = std::make_unique<stack::TimerEntry[]>(n);
  util::Rng rng(3);
  auto deadline = [&] {
    return t0 + Duration::millis(1 + static_cast<int64_t>(rng.next_u64() % 3'600'000));
  };
  for (size_t i = 0; i < n; ++i) {
    entries[i].owner = i;
    wheel.arm(entries[i], deadline());
  }
  size_t i = 0;
  for (auto _ : state) {
    stack::TimerEntry& e = entries[i];
    wheel.cancel(e);
    wheel.arm(e, deadline());
    i = (i + 7919) % n;  // a stride, so that the touched entries are spread
  }
  for (size_t j = 0; j < n; ++j) wheel.cancel(entries[j]);
}

// Collects each run's CPU ns per iteration instead of printing a table.
class Collector : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) results.emplace_back(r.benchmark_name(), r.GetAdjustedCPUTime());
  }
  std::vector<std::pair<std::string, double>> results;
};

bench::Result run_timer_wheel(uint64_t max_timers, const std::string& min_time) {
  bench::Result r;
  r.name = "timer-wheel";
  std::vector<int64_t> sizes;
  for (int64_t n = 1000; n <= static_cast<int64_t>(max_timers); n *= 10) sizes.push_back(n);
  auto* b = benchmark::RegisterBenchmark("arm_cancel", BM_ArmCancel);
  for (int64_t n : sizes) b->Arg(n);
  b->Unit(benchmark::kNanosecond);
  std::string flag = "--benchmark_min_time=" + min_time;
  std::string argv0 = "vigil bench timer-wheel";
  char* argv[] = {argv0.data(), flag.data(), nullptr};
  int argc = 2;
  benchmark::Initialize(&argc, argv);
  Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  double lo = 0, hi = 0;
  for (size_t i = 0; i < collector.results.size() && i < sizes.size(); ++i) {
    const double ns = collector.results[i].second;
    r.figures.emplace_back("arm_cancel_ns_" + std::to_string(sizes[i]), ns);
    lo = i == 0 ? ns : std::min(lo, ns);
    hi = std::max(hi, ns);
  }
  // The largest over the smallest: 1 for perfectly flat.
  r.figures.emplace_back("arm_cancel_spread", lo > 0 ? hi / lo : 0);
  if (collector.results.size() != sizes.size()) r.error = "Google Benchmark ran no benchmark";
  return r;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  std::string name;
  bool json = false, checksums = true, ceiling = true;
  uint64_t bytes = uint64_t{1} << 30, mtu = 1500, count = 200'000, connections = 1'000'000;
  uint64_t memory_limit_mib = 6 * 1024, max_timers = 1'000'000;
  std::string min_time = "0.2";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto number = [&](uint64_t* out) {
      if (i + 1 >= args.size() || !parse_u64(args[i + 1], out)) {
        std::fprintf(stderr, "vigil bench: %s needs a whole number\n", a.c_str());
        return false;
      }
      ++i;
      return true;
    };
    if (a == "--help" || a == "-h") {
      bench_usage(stdout);
      return 0;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--no-checksum") {
      checksums = false;
    } else if (a == "--no-ceiling") {
      ceiling = false;
    } else if (a == "--bytes") {
      if (!number(&bytes)) return 2;
    } else if (a == "--mtu") {
      if (!number(&mtu)) return 2;
    } else if (a == "--count") {
      if (!number(&count)) return 2;
    } else if (a == "--connections") {
      if (!number(&connections)) return 2;
    } else if (a == "--memory-limit") {
      if (!number(&memory_limit_mib)) return 2;
    } else if (a == "--max-timers") {
      if (!number(&max_timers)) return 2;
    } else if (a == "--min-time") {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "vigil bench: --min-time needs seconds\n");
        return 2;
      }
      min_time = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(
          stderr,
          "vigil bench: unknown option '%s'; valid options: --json --bytes --mtu "
          "--no-checksum --no-ceiling --count --connections --memory-limit --max-timers --min-time "
          "--help\n",
          a.c_str());
      return 2;
    } else if (name.empty()) {
      name = a;
    } else {
      std::fprintf(stderr, "vigil bench: one benchmark at a time, got '%s' and '%s'\n",
                   name.c_str(), a.c_str());
      return 2;
    }
  }
  // Range checks: an MTU the stack can carry (IPv4's 576 minimum, RFC 791;
  // the 65535 IPv4 total-length ceiling), and counts that make a run.
  if (mtu < 576 || mtu > 65535) {
    std::fprintf(stderr, "vigil bench: --mtu must be 576..65535, got %llu\n",
                 static_cast<unsigned long long>(mtu));
    return 2;
  }
  if (bytes == 0 || count == 0 || connections == 0 || connections > 3'000'000 ||
      max_timers < 1000) {
    std::fprintf(stderr,
                 "vigil bench: --bytes and --count must be > 0, --connections 1..3000000, "
                 "--max-timers >= 1000\n");
    return 2;
  }

  // A progress line, rewritten in place, only on a terminal.
  const bool tty = isatty(STDERR_FILENO) != 0;
  bench::Progress progress;
  if (tty)
    progress = [](const std::string& line) { std::fprintf(stderr, "\r%-70s", line.c_str()); };
  auto end_progress = [&] {
    if (tty) std::fprintf(stderr, "\r%-70s\r", "");
  };

  bench::Result r;
  if (name == "bulk") {
    bench::BulkParams p;
    p.bytes = bytes;
    p.mtu = static_cast<uint32_t>(mtu);
    p.checksums = checksums;
    p.ceiling = ceiling;
    r = bench::run_bulk(p, progress);
  } else if (name == "handshake") {
    bench::HandshakeParams p;
    p.count = count;
    r = bench::run_handshake(p, progress);
  } else if (name == "idle") {
    bench::IdleParams p;
    p.connections = connections;
    p.memory_limit = memory_limit_mib << 20;
    r = bench::run_idle(p, progress);
  } else if (name == "timer-wheel") {
    if (progress) progress("timer-wheel: Google Benchmark, 1k..1M timers");
    r = run_timer_wheel(max_timers, min_time);
  } else if (name == "sizes") {
    r.name = "sizes";
    for (const auto& [k, v] : bench::connection_sizes()) r.figures.emplace_back(k, double(v));
  } else if (name.empty()) {
    bench_usage(stderr);
    return 2;
  } else {
    std::fprintf(stderr,
                 "vigil bench: unknown benchmark '%s'; valid benchmarks: bulk, handshake, idle, "
                 "timer-wheel, sizes\n",
                 name.c_str());
    return 2;
  }
  end_progress();
  print_result(r, json);
  return r.error.empty() ? 0 : 1;
}

}  // namespace vigil::cli
