#!/usr/bin/env python3
"""Writes docs/benchmarks.md from what scripts/bench.sh measured.

Usage: bench-report.py WORK_DIR OUT_FILE VIGIL_BINARY QUICK(0|1)
Prints the README results table on stdout as well.
"""
import datetime
import json
import os
import platform
import re
import subprocess
import sys

work, out, vigil, quick = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"


def load(name):
    try:
        with open(os.path.join(work, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def text(name):
    try:
        with open(os.path.join(work, name)) as f:
            return f.read().strip()
    except OSError:
        return ""


def num(name):
    try:
        return float(text(name))
    except ValueError:
        return 0.0


def fig(r, k):
    return r["figures"].get(k) if r and r.get("figures") else None


def fmt(v, d=2):
    if v is None:
        return "-"
    if abs(v) >= 1e6:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{d}f}"


def ratio(a, b):
    return a / b if a and b else None


def met(v, ok):
    if v is None:
        return "not measured"
    return "**met**" if ok(v) else "not met"


cpu = ""
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
load_avg = open("/proc/loadavg").read().split()[:3]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
version = subprocess.run([vigil, "--version"], capture_output=True, text=True).stdout.strip()

b1500, b65535 = load("bulk1500.json"), load("bulk65535.json")
hs, timer, sizes = load("handshake.json"), load("timer.json"), load("sizes.json")
hs_tuned = load("handshake_tuned.json")
linux_hs = load("linux_hs.json")


def iperf(name):
    """(Gbit/s by the wall clock, Gbit/s per CPU-second of both ends)."""
    r = load(name) or {}
    try:
        bps = r["end"]["sum_received"]["bits_per_second"]
        cpu = r["end"]["cpu_utilization_percent"]
        busy = (cpu["host_total"] + cpu["remote_total"]) / 100
        return bps / 1e9, (bps / 1e9 / busy if busy > 0 else None)
    except (KeyError, TypeError):
        return None, None


lo_wall, lo_cpu = iperf("linux_lo.json")
veth_wall, veth_cpu = iperf("linux_veth.json")
idles = []
for n in (10000, 100000, 1000000):
    r = load(f"idle{n}.json")
    if r:
        rss = num(f"idle{n}.maxrss") * 1024
        idles.append((n, r, rss))
idle = idles[-1] if idles else (0, None, 0)

g1500, g65535 = fig(b1500, "gbit_per_s"), fig(b65535, "gbit_per_s")
hs_rate = fig(hs, "handshakes_per_s")
linux_hs_wall = linux_hs.get("handshakes_per_s") if linux_hs else None
# Per CPU-second of the process (both threads, user + system).
linux_hs_rate = (linux_hs["handshakes"] / linux_hs["cpu_s"]
                 if linux_hs and linux_hs.get("cpu_s") else None)
r65535 = ratio(g65535, lo_cpu)
r1500 = ratio(g1500, veth_cpu)
rhs = ratio(hs_rate, linux_hs_rate)

L = []
w = L.append
w("# Benchmarks")
w("")
w("Written by `scripts/bench.sh` (issue 15); every figure below, vigil's and")
w("Linux's, comes from one run on one machine. `vigil bench NAME --json` gives")
w("any one of them (`vigil bench --help`).")
w("")
w(f"- date: {now}; {version}{' (--quick sizes)' if quick else ''}")
w(f"- machine: {cpu}, {os.cpu_count()} CPUs, kernel {platform.release()}")
w(f"- load average when the report was written: {' '.join(load_avg)} (other work shares these cores;")
w("  vigil's figures use its thread's CPU time, `*_wall` ones the wall clock)")
w("")
w("## Results against Linux")
w("")
w("All rates are per CPU-second (vigil: its thread; Linux: both iperf3")
w("processes, or both threads of vigil_linux_handshake, user + system), since")
w("other work shares this machine; wall-clock figures are in the sections below.")
w("")
w("| benchmark | vigil | Linux, same run | ratio | target | met |")
w("|---|---|---|---|---|---|")
w(f"| bulk, MTU 65535, in memory vs iperf3 over 127.0.0.1 | {fmt(g65535)} Gbit/s | "
  f"{fmt(lo_cpu)} Gbit/s | {fmt(r65535)}x | >= 1.5x | {met(r65535, lambda v: v >= 1.5)} |")
w(f"| bulk, MTU 1500, in memory vs iperf3 over veth, offloads off | {fmt(g1500)} Gbit/s | "
  f"{fmt(veth_cpu)} Gbit/s | {fmt(r1500)}x | >= 1.5x | {met(r1500, lambda v: v >= 1.5)} |")
w(f"| handshakes (connect, accept, 1 byte each way, close) | {fmt(hs_rate)}/s | "
  f"{fmt(linux_hs_rate)}/s | {fmt(rhs)}x | >= 10x | {met(rhs, lambda v: v >= 10)} |")
hs_t = fig(hs_tuned, "handshakes_per_s")
rhs_t = ratio(hs_t, linux_hs_rate)
w(f"| handshakes, glibc heap trimming off | {fmt(hs_t)}/s | "
  f"{fmt(linux_hs_rate)}/s | {fmt(rhs_t)}x | >= 10x | {met(rhs_t, lambda v: v >= 10)} |")
n, ir, rss = idle
bpc = fig(ir, "bytes_per_connection")
w(f"| idle connection, heap per endpoint ({n:,} connections) | {fmt(bpc)} B | ~3400 B slab (docs) | "
  f"{fmt(ratio(3400, bpc))}x smaller | <= 512 B | {met(bpc, lambda v: v <= 512)} |")
w("")
w("Bulk moves its bytes between two vigil stacks in one thread (no delay")
w("model, no loss); the pattern is made before the clock starts and the")
w("receiver's check of every byte is timed apart and subtracted. MTU 1500")
w("computes and verifies every checksum, as a veth with offloads off does;")
w("MTU 65535 uses partial checksums, unverified, as Linux loopback")
w("(CHECKSUM_PARTIAL) does. iperf3 uses two processes and the kernel, so it")
w("can use both cores; vigil uses one.")
w("")
w("## Bulk")
w("")
w(f"Linux in the same run, wall clock: iperf3 over 127.0.0.1 {fmt(lo_wall)} Gbit/s "
  f"({fmt(lo_cpu)} per CPU-second); over veth with offloads off {fmt(veth_wall)} Gbit/s "
  f"({fmt(veth_cpu)} per CPU-second).")
w("")
w("| figure | MTU 1500 | MTU 65535 |")
w("|---|---|---|")
for k in ("bytes", "gbit_per_s", "gbit_per_s_wall", "ns_per_segment", "segments", "acks",
          "allocations", "allocations_per_segment", "memcpy_gbit_per_s", "fraction_of_memcpy",
          "verify_cpu_s"):
    w(f"| `{k}` | {fmt(fig(b1500, k), 3)} | {fmt(fig(b65535, k), 3)} |")
for r in (b1500, b65535):
    if r and r.get("error"):
        w(f"\nerror: {r['error']}")
w("")
w("## Handshakes")
w("")
w("| figure | vigil | Linux (vigil_linux_handshake over 127.0.0.1) |")
w("|---|---|---|")
w(f"| handshakes/s (wall) | {fmt(fig(hs, 'handshakes_per_s_wall'))} | {fmt(linux_hs_wall)} |")
w(f"| handshakes per CPU-second | {fmt(hs_rate)} | {fmt(linux_hs_rate)} |")
w(f"| ns per handshake | {fmt(fig(hs, 'ns_per_handshake'))} | "
  f"{fmt(1e9 / linux_hs_rate if linux_hs_rate else None)} |")
w(f"| handshakes/s (CPU), glibc trim and mmap thresholds raised | {fmt(fig(hs_tuned, 'handshakes_per_s'))} | - |")
w(f"| datagrams per handshake | {fmt(fig(hs, 'datagrams_per_handshake'))} | - |")
w(f"| allocations per handshake | {fmt(fig(hs, 'allocations_per_handshake'))} | - |")
w("")
w("Send and receive rings start at 8 KiB on the first byte and double as")
w("more is queued, up to the configured capacity, so a 1-byte exchange takes")
w("8 KiB each way. The second row raises glibc's trim and mmap thresholds")
w("(GLIBC_TUNABLES), which once showed how much glibc's returning memory to")
w("the kernel at every close cost when each cycle allocated 1 MiB; with the")
w("growing rings the two rows differ by run-to-run noise only.")
w("")
w("The Linux program runs its server in a second thread, so it may use both")
w("cores; its CPU time counts both threads. Each vigil cycle advances virtual")
w("time by 10 ms, so TIME-WAIT (60 s) holds about 6000 connections, as the")
w("Linux loop keeps its TIME-WAIT sockets.")
w("")
w("## Idle scale")
w("")
w("Keepalive 7200/75/9 at the connecting end, every peer answering, 3 hours of")
w("virtual time: one probe and one answer per connection (the next probe")
w("would be due at 14400 s).")
w("")
w("| connections | bytes per connection (heap, per endpoint) | stack-held bytes per connection | "
  "RSS established | peak RSS | set-up wall s | 3 h run wall s | events/s (CPU) | allocations while idle | outcome |")
w("|---|---|---|---|---|---|---|---|---|---|")
for n, r, rss in idles:
    err = r.get("error") or "ok"
    w(f"| {n:,} | {fmt(fig(r, 'bytes_per_connection'))} | {fmt(fig(r, 'stack_held_bytes_per_connection'))} | "
      f"{fmt((fig(r, 'rss_bytes') or 0) / 2**20)} MiB | {fmt(rss / 2**20)} MiB | "
      f"{fmt(fig(r, 'setup_wall_s'))} | {fmt(fig(r, 'wall_s'))} | {fmt(fig(r, 'events_per_s'))} | "
      f"{fmt(fig(r, 'allocations_while_idle'))} | {err} |")
w("")
w("Targets (1,000,000 connections): <= 512 B per connection, no buffer memory")
w("while idle, RSS <= 1 GiB, the 3 h run in <= 10 s wall, >= 10 M events/s.")
ev = fig(idle[1], "events_per_s")
w(f"Here: {met(bpc, lambda v: v <= 512)} (bytes), "
  f"{met(fig(idle[1], 'stack_held_bytes_per_connection'), lambda v: v <= 2000)} "
  "(no buffers: stack-held bytes are sizeof(Connection) alone), "
  f"{met(idle[2] if idle[0] == 1000000 else None, lambda v: v <= 2**30)} (RSS), "
  f"{met(fig(idle[1], 'wall_s') if idle[0] == 1000000 else None, lambda v: v <= 10)} (wall), "
  f"{met(ev, lambda v: v >= 1e7)} (events/s).")
w("")
w("## Per-connection footprint")
w("")
w("| part | bytes |")
w("|---|---|")
for k, v in (sizes or {}).get("figures", {}).items():
    w(f"| `{k}` | {int(v)} |")
if idles:
    w(f"| measured heap per idle endpoint ({idle[0]:,} connections; the stack's slot map "
      f"node holding the Connection, its congestion-control and loss-recovery objects, the "
      f"demux entry; no buffers) | {fmt(bpc)} |")
w("")
w("Send and receive buffers are allocated on the first write and the first")
w("arriving byte, so an idle connection holds none (`allocations_while_idle`")
w("counts what the 3 h run allocated).")
w("")
w("## Timer wheel (Google Benchmark)")
w("")
w("Cancel one timer and arm it at a new random deadline, among N armed:")
w("")
w("| timers | ns per arm+cancel |")
w("|---|---|")
for k, v in (timer or {}).get("figures", {}).items():
    m = re.match(r"arm_cancel_ns_(\d+)", k)
    if m:
        w(f"| {int(m.group(1)):,} | {v:.1f} |")
spread = fig(timer, "arm_cancel_spread")
w("")
w(f"Largest over smallest: {fmt(spread)} (1.0 is flat). The growth that remains at")
w("1M timers is cache misses on entries spread over 100+ MB, not work per")
w("timer: arm and cancel touch one slot list and one bitmap word each.")
w("")
w("## Simulator speed")
w("")
w("Events are datagrams delivered plus timer runs. Target: at least 10 M per")
w("CPU-second on the idle-scale run (issue 15).")
w("")
w("| run | events | events per CPU-second |")
w("|---|---|---|")
for name, r in (("bulk, MTU 1500", b1500), ("bulk, MTU 65535", b65535)):
    if r:
        ev = (fig(r, "segments") or 0) + (fig(r, "acks") or 0)
        cpu = fig(r, "cpu_s")
        w(f"| {name} (segments + ACKs; receiver's check included) | {fmt(ev)} | {fmt(ev / cpu if cpu else None)} |")
for n, r, _ in idles:
    w(f"| idle, {n:,} connections, 3 h | {fmt(fig(r, 'events'))} | {fmt(fig(r, 'events_per_s'))} |")
cat = load("catalogue.json")
w("")
if cat:
    w(f"The whole scenario catalogue (`vigil sim --list`, rfc and linux, {cat['runs']} runs, "
      f"one process each): **{cat['wall_s']:.2f} s** of wall time.")
else:
    w("The scenario catalogue was not timed in this run.")
w("")
w("## callgrind")
w("")
ib1, ib2 = num("cg_bulk1.ir"), num("cg_bulk2.ir")
cb1, cb2 = load("cg_bulk1.json"), load("cg_bulk2.json")
ih1, ih2 = num("cg_hs1.ir"), num("cg_hs2.ir")
if ib1 and ib2 and cb1 and cb2:
    dseg = fig(cb2, "segments") - fig(cb1, "segments")
    w(f"- bulk, MTU 1500: **{(ib2 - ib1) / dseg:,.0f} instructions per segment** "
      f"(Ir of 16 MiB minus Ir of 8 MiB, over the {dseg:,.0f} segments between them;"
      " the receiver's verification included)")
if ih1 and ih2:
    w(f"- handshake: **{(ih2 - ih1) / 2000:,.0f} instructions per handshake** "
      "(4000 cycles minus 2000)")
for name, title in (("cg_bulk_top.txt", "bulk (16 MiB), exclusive"),
                    ("cg_hs_top.txt", "handshake (4000), exclusive")):
    t = text(name)
    if t:
        w("")
        w(f"Hot spots, {title}:")
        w("")
        w("```")
        w(t)
        w("```")
if not (ib1 and ih1):
    w("Not measured in this run (--quick, or valgrind missing).")
w("")
for name, title in (("analyze.txt", "Analyzer (scripts/bench-analyze.sh)"),
                    ("tun.txt", "TUN (scripts/bench-tun.sh)")):
    t = text(name)
    w(f"## {title}")
    w("")
    if t:
        w("```")
        w("\n".join(t.splitlines()[-30:]))
        w("```")
    else:
        w("Not run (--quick, or not root).")
    w("")

with open(out, "w") as f:
    f.write("\n".join(L).rstrip() + "\n")

# The README table.
print("| benchmark | vigil | Linux | ratio |")
print("|---|---|---|---|")
print(f"| bulk MTU 65535 vs loopback | {fmt(g65535)} Gbit/s | {fmt(lo_cpu)} Gbit/s | {fmt(r65535)}x |")
print(f"| bulk MTU 1500 vs veth | {fmt(g1500)} Gbit/s | {fmt(veth_cpu)} Gbit/s | {fmt(r1500)}x |")
print(f"| handshakes/s | {fmt(hs_rate)} | {fmt(linux_hs_rate)} | {fmt(rhs)}x |")
print(f"| handshakes/s, glibc heap trimming off | {fmt(hs_t)} | {fmt(linux_hs_rate)} | {fmt(rhs_t)}x |")
print(f"| idle bytes/connection | {fmt(bpc)} | ~3400 | {fmt(ratio(3400, bpc))}x smaller |")
