#!/usr/bin/env python3
"""Measure the running Linux kernel's TCP timer schedules.

Run as root:  python3 scripts/measure-linux.py [--out tests/data/linux-schedules.json]
                                              [--keep-pcaps DIR] [--only NAME,...]

Every scenario gets its own pair of network namespaces (vgm-<pid>-<tag>-c and
vgm-<pid>-<tag>-s) joined by a veth pair created directly inside them
(vgm0 10.77.0.1/24 in the client namespace, vgm1 10.77.0.2/24 in the server
namespace). Nothing in the root namespace is touched: no interface, route,
firewall rule or sysctl. Per-namespace tcp sysctls are set only inside the
scenario's own namespaces; "blackholes" are nftables tables created inside the
server namespace. tcpdump runs inside the client namespace on vgm0, and the
pcap is parsed here with struct (stdlib only).

The scenarios run concurrently (each is mostly idle waiting on kernel timers),
so the whole run takes about as long as the longest one (SYN retransmission
with tcp_syn_retries=6, ~2.3 min). Everything (sockets, tcpdump processes by
PID, namespaces) is torn down in a finally block, also on SIGINT/SIGTERM.

Times: pcap timestamps and time.time() are both CLOCK_REALTIME, so the
application-visible error times are put on the same axis as the packets.
All reported times are seconds with 3 decimals.
"""

import argparse
import ctypes
import datetime
import errno
import fcntl
import gzip
import json
import os
import platform
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import traceback

CLIENT_IP = "10.77.0.1"
SERVER_IP = "10.77.0.2"
PORT = 5001
CLOSED_PORT = 5999
CLONE_NEWNET = 0x40000000
TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", 18)
TCP_SYNCNT = getattr(socket, "TCP_SYNCNT", 7)
TCP_INFO = getattr(socket, "TCP_INFO", 11)

PID = os.getpid()
_libc = ctypes.CDLL(None, use_errno=True)

# sysctls reported (fresh namespace defaults and per-scenario values)
REPORTED_SYSCTLS = [
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_retries1",
    "net.ipv4.tcp_retries2", "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_syn_linear_timeouts",
    "net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_rto_min_us",
    "net.ipv4.tcp_rto_max_ms", "net.ipv4.tcp_early_retrans",
    "net.ipv4.tcp_thin_linear_timeouts", "net.ipv4.tcp_frto",
    "net.ipv4.tcp_recovery", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_sack",
    "net.ipv4.tcp_shrink_window", "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_invalid_ratelimit",
]

MIB_KEYS = ["TCPLossProbes", "TCPTimeouts", "TCPAbortOnTimeout",
            "TCPKeepAlive", "TCPWinProbe", "TCPSynRetrans", "TCPLossProbeRecovery",
            "TCPSpuriousRTOs", "TCPAbortOnData", "TCPAbortOnClose", "TCPACKSkippedSeq"]


def r3(x):
    return None if x is None else round(float(x), 3) + 0.0  # + 0.0: no "-0.0"


def gaps(times):
    return [r3(b - a) for a, b in zip(times, times[1:])]


# --------------------------------------------------------------------------
# process / namespace plumbing

_lock = threading.Lock()
_namespaces = []       # every namespace we created (names)
_procs = []            # every subprocess.Popen we started (tcpdump)
_sockets = []          # every socket we created


def run(cmd, input_text=None, check=True):
    p = subprocess.run(cmd, input=input_text, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    return p.stdout


def nsexec(ns, *cmd, **kw):
    return run(["ip", "netns", "exec", ns] + list(cmd), **kw)


def in_netns(ns, fn):
    """Run fn() in a throwaway thread that has joined namespace ns.

    setns(CLONE_NEWNET) only changes the calling thread; a socket keeps the
    namespace it was created in, so it can then be used from any thread.
    """
    box = {}

    def body():
        try:
            fd = os.open("/var/run/netns/" + ns, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, "setns(%s): %s" % (ns, os.strerror(e)))
            finally:
                os.close(fd)
            box["v"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in caller
            box["e"] = e

    t = threading.Thread(target=body)
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box["v"]


def mib(ns):
    """TcpExt counters of namespace ns (subset)."""
    text = nsexec(ns, "cat", "/proc/net/netstat")
    lines = text.splitlines()
    out = {}
    for a, b in zip(lines[0::2], lines[1::2]):
        ka, va = a.split(), b.split()
        if ka and ka[0] == "TcpExt:":
            for k, v in zip(ka[1:], va[1:]):
                if k in MIB_KEYS:
                    out[k] = int(v)
    return out


def sysctl_get(ns, key):
    p = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-n", key],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None
    v = p.stdout.strip()
    return int(v) if v.lstrip("-").isdigit() else v


class Pair:
    """Two namespaces (client c, server s) and a veth between them."""

    def __init__(self, tag):
        self.tag = tag
        self.c = "vgm-%d-%s-c" % (PID, tag)
        self.s = "vgm-%d-%s-s" % (PID, tag)
        for ns in (self.c, self.s):
            run(["ip", "netns", "add", ns])
            with _lock:
                _namespaces.append(ns)
        # Created directly inside the two namespaces: never exists in root.
        run(["ip", "link", "add", "vgm0", "netns", self.c, "type", "veth",
             "peer", "name", "vgm1", "netns", self.s])
        for ns, dev, ip in ((self.c, "vgm0", CLIENT_IP), (self.s, "vgm1", SERVER_IP)):
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            run(["ip", "-n", ns, "addr", "add", ip + "/24", "dev", dev])
            run(["ip", "-n", ns, "link", "set", dev, "up"])
        self.sysctls = {"client": {}, "server": {}}
        self.cap = None

    def sysctl(self, side, values):
        ns = self.c if side == "client" else self.s
        for k, v in values.items():
            nsexec(ns, "sysctl", "-q", "-w", "%s=%s" % (k, v))
        for k in values:
            self.sysctls[side][k] = sysctl_get(ns, k)

    def socket(self, side):
        ns = self.c if side == "client" else self.s
        s = in_netns(ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        with _lock:
            _sockets.append(s)
        return s

    def listen(self, setup=None):
        ls = self.socket("server")
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if setup:
            setup(ls)
        ls.bind((SERVER_IP, PORT))
        ls.listen(8)
        return ls

    def wait_link(self):
        # veth carrier comes up asynchronously; wait until both ends are UP,
        # then until the client can resolve the server (ARP only, no TCP/IP).
        deadline = time.time() + 5
        while time.time() < deadline:
            a = run(["ip", "-n", self.c, "-o", "link", "show", "vgm0"])
            b = run(["ip", "-n", self.s, "-o", "link", "show", "vgm1"])
            if "LOWER_UP" in a and "LOWER_UP" in b and "state UP" in a and "state UP" in b:
                return
            time.sleep(0.05)

    def capture(self):
        self.cap = Capture(self.c, "vgm0", self.tag)
        return self.cap

    def blackhole_server(self):
        """Drop every IP packet into and out of the server namespace."""
        rules = ("table inet vgm {\n"
                 " chain in { type filter hook input priority 0; policy drop; }\n"
                 " chain out { type filter hook output priority 0; policy drop; }\n"
                 "}\n")
        nsexec(self.s, "nft", "-f", "-", input_text=rules)
        return time.time()


class Capture:
    def __init__(self, ns, dev, tag):
        self.path = os.path.join(WORKDIR, tag + ".pcap")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "tcpdump", "-i", dev, "-nn", "-U",
             "--immediate-mode", "-Z", "root", "-s", "160", "-w", self.path, "tcp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        with _lock:
            _procs.append(self.proc)
        # wait for "listening on ..."
        ready = threading.Event()
        self.stderr = []

        def reader():
            for line in self.proc.stderr:
                self.stderr.append(line)
                if "listening on" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(10) or self.proc.poll() is not None:
            raise RuntimeError("tcpdump did not start: %s" % "".join(self.stderr))
        time.sleep(0.2)

    def stop(self):
        time.sleep(0.3)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return read_pcap(self.path)


# --------------------------------------------------------------------------
# pcap parsing

def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    else:
        e = ">"
        magic = struct.unpack(">I", data[:4])[0]
    nano = magic == 0xA1B23C4D
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    pkts = []
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        ts = sec + frac / (1e9 if nano else 1e6)
        if linktype == 1:
            if len(frame) < 14 or struct.unpack("!H", frame[12:14])[0] != 0x0800:
                continue
            ip = frame[14:]
        elif linktype == 113:  # Linux cooked
            ip = frame[16:]
        else:
            ip = frame
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 0xF) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        src = socket.inet_ntoa(ip[12:16])
        dst = socket.inet_ntoa(ip[16:20])
        tcp = ip[ihl:]
        if len(tcp) < 20:
            continue
        sport, dport, seq, ack, offflags, win = struct.unpack("!HHIIHH", tcp[:16])
        doff = (offflags >> 12) * 4
        flags = offflags & 0x1FF
        pkts.append({
            "ts": ts, "src": src, "dst": dst, "sport": sport, "dport": dport,
            "seq": seq, "ack": ack, "win": win, "flags": flags,
            "len": tot - ihl - doff,
        })
    return pkts


def flagstr(f):
    s = ""
    for bit, ch in ((0x02, "S"), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x20, "U"), (0x10, ".")):
        if f & bit:
            s += ch
    return s


class Trace:
    """Packets of one connection, annotated; 'c' = client, 's' = server."""

    def __init__(self, pkts, sport=None):
        self.pkts = []
        for p in pkts:
            if p["src"] == CLIENT_IP:
                p["dir"] = "c"
            elif p["src"] == SERVER_IP:
                p["dir"] = "s"
            else:
                continue
            self.pkts.append(p)
        self.isn = {}
        for p in self.pkts:
            if p["flags"] & 0x02 and p["dir"] not in self.isn:
                self.isn[p["dir"]] = p["seq"]
        # annotate: relative seq/ack, kind
        high = {"c": None, "s": None}   # highest sequence sent (SND.NXT seen)
        for p in self.pkts:
            d, o = p["dir"], ("s" if p["dir"] == "c" else "c")
            base = self.isn.get(d)
            p["rseq"] = (p["seq"] - base) & 0xFFFFFFFF if base is not None else p["seq"]
            obase = self.isn.get(o)
            p["rack"] = ((p["ack"] - obase) & 0xFFFFFFFF) if (obase is not None and p["flags"] & 0x10) else p["ack"]
            end = p["rseq"] + p["len"] + (1 if p["flags"] & 0x03 else 0)
            h = high[d]
            f = p["flags"]
            if f & 0x04:
                kind = "rst"
            elif f & 0x02:
                kind = "syn" if not (f & 0x10) else "synack"
                if h is not None and p["rseq"] < h:
                    kind += "-retrans"
            elif h is not None and p["rseq"] == h - 1 and p["len"] <= 1:
                kind = "probe"          # SEQ = SND.NXT-1, 0 or 1 byte
            elif p["len"] > 0 and h is not None and p["rseq"] < h:
                kind = "retrans"
            elif p["len"] > 0:
                kind = "data"
            elif f & 0x01:
                kind = "fin"
            else:
                kind = "ack"
            p["kind"] = kind
            if h is None or end > h:
                high[d] = end
            p["snd_nxt_before"] = h

    def of(self, d=None, kind=None, after=None):
        out = []
        for p in self.pkts:
            if d and p["dir"] != d:
                continue
            if kind and (p["kind"] not in (kind if isinstance(kind, (list, tuple)) else [kind])):
                continue
            if after is not None and p["ts"] <= after:
                continue
            out.append(p)
        return out

    def dump(self, t0, limit=None, skip_bulk=None):
        rows = []
        for p in self.pkts:
            # skip_bulk: before this time keep only SYN/SYN-ACK/FIN/RST
            if skip_bulk is not None and p["ts"] < skip_bulk and not p["flags"] & 0x07:
                continue
            rows.append([r3(p["ts"] - t0), p["dir"] + ">" + ("s" if p["dir"] == "c" else "c"),
                         flagstr(p["flags"]), p["rseq"], p["rack"], p["win"], p["len"], p["kind"]])
        if limit and len(rows) > limit:
            rows = rows[:limit // 2] + [["..."]] + rows[-limit // 2:]
        return rows


TRACE_FIELDS = ["t", "dir", "flags", "rel_seq", "rel_ack", "win_raw", "len", "kind"]


# --------------------------------------------------------------------------
# socket helpers

def wait_error(sock, timeout):
    """Block in recv() until the kernel reports an error (or timeout)."""
    sock.settimeout(timeout)
    t_start = time.time()
    try:
        d = sock.recv(4096)
        return {"result": "eof" if d == b"" else "data", "t_wall": time.time(), "waited": time.time() - t_start}
    except OSError as e:
        t = time.time()
        if e.errno is None:  # python's own timeout
            return {"result": "no error (still open)", "t_wall": t, "waited": t - t_start}
        return {"result": "error", "errno": e.errno, "errname": errno.errorcode.get(e.errno, "?"),
                "t_wall": t, "waited": t - t_start}


def tcp_info(sock):
    b = sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, 104)
    state, ca_state, retransmits, probes, backoff = struct.unpack("BBBBB", b[:5])
    rto, ato = struct.unpack("II", b[8:16])
    names = {1: "ESTABLISHED", 2: "SYN_SENT", 7: "CLOSE", 8: "CLOSE_WAIT", 4: "FIN_WAIT1"}
    return {"state": names.get(state, state), "retransmits": retransmits, "probes": probes,
            "backoff": backoff, "rto_us": rto}


def set_keepalive(s, idle, intvl, cnt):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, intvl)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, cnt)


def connect_pair(pair, client_setup=None, listen_setup=None):
    ls = pair.listen(listen_setup)
    cs = pair.socket("client")
    if client_setup:
        client_setup(cs)
    cs.settimeout(10)
    t = time.time()
    cs.connect((SERVER_IP, PORT))
    ls.settimeout(10)
    conn, _ = ls.accept()
    with _lock:
        _sockets.append(conn)
    cs.settimeout(None)
    return ls, cs, conn, t


def err_fields(res, ref, last=None):
    out = {"result": res["result"]}
    if "errno" in res:
        out["errno"] = res["errno"]
        out["errname"] = res["errname"]
    out["t"] = r3(res["t_wall"] - ref)
    if last is not None:
        out["after_last_packet"] = r3(res["t_wall"] - last)
    return out


# --------------------------------------------------------------------------
# scenarios: each returns a dict (JSON-able)

def sc_keepalive_dead(pair):
    """1. keepalive, peer blackholed right after the handshake."""
    idle, intvl, cnt = 2, 1, 3
    cap = pair.capture()
    _ls, cs, _conn, _ = connect_pair(pair, client_setup=lambda s: set_keepalive(s, idle, intvl, cnt))
    t_bh = pair.blackhole_server()
    res = wait_error(cs, 20)
    pkts = cap.stop()
    tr = Trace(pkts)
    last_rx = max(p["ts"] for p in tr.of("s") if p["ts"] < t_bh)
    probes = tr.of("c", "probe", after=last_rx)
    rst = tr.of("c", "rst", after=last_rx)
    snd_nxt = tr.of("c", "ack")[0]["rseq"] if tr.of("c", "ack") else None
    return {
        "settings": {"SO_KEEPALIVE": 1, "TCP_KEEPIDLE": idle, "TCP_KEEPINTVL": intvl, "TCP_KEEPCNT": cnt},
        "reference": "last packet received from the peer (the SYN-ACK) = t 0",
        "blackhole_at": r3(t_bh - last_rx),
        "probe_times": [r3(p["ts"] - last_rx) for p in probes],
        "probe_gaps": gaps([last_rx] + [p["ts"] for p in probes]),
        "probe_payload_bytes": [p["len"] for p in probes],
        "probe_seq_minus_snd_nxt": [p["rseq"] - snd_nxt for p in probes] if snd_nxt is not None else None,
        "rst_sent": bool(rst),
        "rst_time": r3(rst[0]["ts"] - last_rx) if rst else None,
        "rst_shape": {"flags": flagstr(rst[0]["flags"]), "seq_minus_snd_nxt": rst[0]["rseq"] - snd_nxt,
                      "win": rst[0]["win"]} if rst else None,
        "app_error": err_fields(res, last_rx, probes[-1]["ts"] if probes else None),
        "mib_client": mib(pair.c),
        "trace_fields": TRACE_FIELDS,
        "trace": tr.dump(last_rx),
    }


def sc_keepalive_answered(pair):
    """2. keepalive, peer alive (kernel answers), both idle."""
    idle, intvl, cnt = 2, 1, 3
    cap = pair.capture()
    _ls, cs, _conn, _ = connect_pair(pair, client_setup=lambda s: set_keepalive(s, idle, intvl, cnt))
    res = wait_error(cs, 10.5)
    pkts = cap.stop()
    tr = Trace(pkts)
    t0 = tr.of("s", "synack")[0]["ts"]
    probes = tr.of("c", "probe")
    answers = tr.of("s", "ack", after=t0)
    rows = []
    for p in probes:
        prev_rx = max(q["ts"] for q in tr.of("s") if q["ts"] < p["ts"])
        ans = [a for a in answers if a["ts"] > p["ts"]]
        rows.append({"t": r3(p["ts"] - t0), "since_last_rx": r3(p["ts"] - prev_rx),
                     "answered_after": r3(ans[0]["ts"] - p["ts"]) if ans else None,
                     "len": p["len"]})
    return {
        "settings": {"SO_KEEPALIVE": 1, "TCP_KEEPIDLE": idle, "TCP_KEEPINTVL": intvl, "TCP_KEEPCNT": cnt},
        "reference": "SYN-ACK received = t 0; observed for ~10.5 s",
        "probe_times": [r3(p["ts"] - t0) for p in probes],
        "probe_gaps": gaps([t0] + [p["ts"] for p in probes]),
        "probes": rows,
        "app_result": res["result"],
        "mib_client": mib(pair.c),
        "trace_fields": TRACE_FIELDS,
        "trace": tr.dump(t0),
    }


def sc_keepalive_both(pair):
    """3. both ends keepalive: client idle 3 s, server idle 5 s, intvl 1."""
    a_idle, b_idle, intvl, cnt = 3, 5, 1, 3
    cap = pair.capture()
    _ls, cs, conn, _ = connect_pair(
        pair, client_setup=lambda s: set_keepalive(s, a_idle, intvl, cnt),
        listen_setup=lambda s: set_keepalive(s, b_idle, intvl, cnt))  # inherited by the child
    res = wait_error(cs, 21)
    pkts = cap.stop()
    tr = Trace(pkts)
    t_c = tr.of("s", "synack")[0]["ts"]          # client's last rx before idle
    t_s = tr.of("c", "ack")[0]["ts"]            # server's (ACK of SYN-ACK)
    a = tr.of("c", "probe")
    b = tr.of("s", "probe")

    def last_in_window_rx(p, frm):
        # last packet from `frm` that is not itself a probe (probes are out of window)
        cand = [q["ts"] for q in tr.of(frm) if q["ts"] < p["ts"] and q["kind"] != "probe"]
        return max(cand) if cand else None

    return {
        "settings": {"client": {"TCP_KEEPIDLE": a_idle, "TCP_KEEPINTVL": intvl, "TCP_KEEPCNT": cnt},
                     "server": {"TCP_KEEPIDLE": b_idle, "TCP_KEEPINTVL": intvl, "TCP_KEEPCNT": cnt,
                                "how": "set on the listener, inherited by the accepted socket"}},
        "reference": "SYN-ACK (as seen on the client veth) = t 0; observed ~21 s",
        "handshake_ack_at": r3(t_s - t_c),
        "client_probe_times": [r3(p["ts"] - t_c) for p in a],
        "client_probe_gaps": gaps([p["ts"] for p in a]),
        "client_probe_since_last_inwindow_rx": [r3(p["ts"] - last_in_window_rx(p, "s")) for p in a],
        "server_probe_times": [r3(p["ts"] - t_c) for p in b],
        "server_probe_gaps": gaps([p["ts"] for p in b]),
        "server_probe_since_last_inwindow_rx": [r3(p["ts"] - last_in_window_rx(p, "c")) for p in b],
        "app_result": res["result"],
        "mib_client": mib(pair.c),
        "mib_server": mib(pair.s),
        "trace_fields": TRACE_FIELDS,
        "trace": tr.dump(t_c),
    }


def _rto_common(pair, user_timeout_ms=None, wait=40):
    cap = pair.capture()

    def setup(s):
        if user_timeout_ms:
            s.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, user_timeout_ms)

    _ls, cs, _conn, _ = connect_pair(pair, client_setup=setup)
    rto_after_handshake = tcp_info(cs)["rto_us"]
    time.sleep(0.3)
    pair.blackhole_server()
    time.sleep(0.2)
    cs.send(b"v" * 100)
    res = wait_error(cs, wait)
    pkts = cap.stop()
    tr = Trace(pkts)
    syn = tr.of("c", "syn")[0]["ts"]
    synack = tr.of("s", "synack")[0]["ts"]
    first = tr.of("c", "data")[0]
    rtx = tr.of("c", "retrans")
    times = [first["ts"]] + [p["ts"] for p in rtx]
    rst = tr.of("c", "rst")
    m = mib(pair.c)
    n_tlp = m.get("TCPLossProbes", 0)
    rto_rtx = times[1 + n_tlp:]
    out = {
        "handshake_rtt": r3(synack - syn),
        "rto_us_after_handshake": rto_after_handshake,
        "reference": "original transmission of the 100-byte segment = t 0",
        "retransmission_times": [r3(t - first["ts"]) for t in times[1:]],
        "gaps": gaps(times),
        "retransmissions": len(rtx),
        "tail_loss_probes": n_tlp,
        "note": "the first %d retransmission(s) are tail loss probes (TcpExt TCPLossProbes); "
                "the rest are RTO retransmissions" % n_tlp if n_tlp else "all retransmissions are RTO retransmissions",
        "first_rto_retransmission": r3(rto_rtx[0] - first["ts"]) if rto_rtx else None,
        "rst_sent": bool(rst),
        "app_error": err_fields(res, first["ts"], times[-1]),
        "error_minus_first_rto_retransmission": r3(res["t_wall"] - rto_rtx[0]) if rto_rtx else None,
        "mib_client": m,
        "trace_fields": TRACE_FIELDS,
        "trace": tr.dump(first["ts"]),
    }
    return out


def sc_rto_retries2(n, early_retrans=None):
    def f(pair):
        vals = {"net.ipv4.tcp_retries2": n}
        if early_retrans is not None:
            vals["net.ipv4.tcp_early_retrans"] = early_retrans
        pair.sysctl("client", vals)
        out = _rto_common(pair, wait=150)
        out["settings"] = vals
        return out
    return f


def sc_user_timeout(early_retrans=None):
    def f(pair):
        if early_retrans is not None:
            pair.sysctl("client", {"net.ipv4.tcp_early_retrans": early_retrans})
        out = _rto_common(pair, user_timeout_ms=3000, wait=30)
        out["settings"] = {"TCP_USER_TIMEOUT": 3000,
                           "net.ipv4.tcp_retries2": sysctl_get(pair.c, "net.ipv4.tcp_retries2"),
                           "net.ipv4.tcp_early_retrans": sysctl_get(pair.c, "net.ipv4.tcp_early_retrans")}
        return out
    return f


def sc_syn(syn_retries=None, linear=None, syncnt=None, wait=170):
    def f(pair):
        vals = {}
        if syn_retries is not None:
            vals["net.ipv4.tcp_syn_retries"] = syn_retries
        if linear is not None:
            vals["net.ipv4.tcp_syn_linear_timeouts"] = linear
        if vals:
            pair.sysctl("client", vals)
        settings = dict(vals)
        settings["net.ipv4.tcp_syn_retries"] = sysctl_get(pair.c, "net.ipv4.tcp_syn_retries")
        settings["net.ipv4.tcp_syn_linear_timeouts"] = sysctl_get(pair.c, "net.ipv4.tcp_syn_linear_timeouts")
        if syncnt is not None:
            settings["TCP_SYNCNT"] = syncnt
        ls = pair.listen()
        pair.blackhole_server()
        cap = pair.capture()
        cs = pair.socket("client")
        if syncnt is not None:
            cs.setsockopt(socket.IPPROTO_TCP, TCP_SYNCNT, syncnt)
        cs.settimeout(wait)
        t_call = time.time()
        try:
            cs.connect((SERVER_IP, PORT))
            res = {"result": "connected", "t_wall": time.time()}
        except OSError as e:
            t = time.time()
            if e.errno is None:
                res = {"result": "script timeout", "t_wall": t}
            else:
                res = {"result": "error", "errno": e.errno, "errname": errno.errorcode.get(e.errno, "?"), "t_wall": t}
        pkts = cap.stop()
        ls.close()
        tr = Trace(pkts)
        syns = tr.of("c", ["syn", "syn-retrans"])
        t0 = syns[0]["ts"]
        times = [p["ts"] for p in syns]
        return {
            "settings": settings,
            "reference": "first SYN = t 0",
            "connect_call_to_first_syn": r3(t0 - t_call),
            "syn_times": [r3(t - t0) for t in times],
            "gaps": gaps(times),
            "syn_retransmissions": len(syns) - 1,
            "rst_sent": bool(tr.of("c", "rst")),
            "app_error": err_fields(res, t0, times[-1]),
            "mib_client": mib(pair.c),
        }
    return f


def _fill_zero_window(pair):
    def lsetup(s):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

    def csetup(s):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)

    _ls, cs, conn, _ = connect_pair(pair, client_setup=csetup, listen_setup=lsetup)
    cs.setblocking(False)
    sent = 0
    chunk = b"z" * 1000
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            sent += cs.send(chunk)
        except BlockingIOError:
            break
    # wait until the server's receive queue stops growing (window closed)
    buf = bytearray(4)
    prev, stable = -1, 0
    while stable < 3 and time.time() < deadline + 5:
        fcntl.ioctl(conn, termios.FIONREAD, buf)
        n = struct.unpack("i", buf)[0]
        stable = stable + 1 if n == prev else 0
        prev = n
        time.sleep(0.02)
    return cs, conn, sent, prev


def _zw_analysis(tr):
    zw = [p for p in tr.of("s") if p["win"] == 0 and p["flags"] & 0x10 and not p["flags"] & 0x07]
    t_zw = zw[0]["ts"]
    probes = tr.of("c", "probe", after=t_zw)
    # a persist probe may also carry data when the window is not quite 0
    rows = []
    for p in probes:
        ans = [a for a in tr.of("s", after=p["ts"]) if a["ts"] - p["ts"] < 0.1]
        rows.append({"t": r3(p["ts"] - t_zw), "len": p["len"],
                     "seq_minus_snd_nxt": p["rseq"] - p["snd_nxt_before"],
                     "answer": ({"after": r3(ans[0]["ts"] - p["ts"]), "win": ans[0]["win"],
                                 "flags": flagstr(ans[0]["flags"])} if ans else None)})
    return t_zw, probes, rows


def sc_zero_window(pair):
    """7a. zero window, peer alive: persist probes for ~30 s."""
    cap = pair.capture()
    cs, conn, sent, queued = _fill_zero_window(pair)
    time.sleep(30)
    info = tcp_info(cs)
    so_error = cs.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    # now let the receiver drain a bit: does the transfer resume?
    conn.settimeout(2)
    t_read = time.time()
    got = 0
    try:
        got = len(conn.recv(65536))
    except OSError:
        pass
    time.sleep(0.5)
    pkts = cap.stop()
    tr = Trace(pkts)
    t_zw, probes, rows = _zw_analysis(tr)
    other = [p for p in tr.of("c", after=t_zw) if p["kind"] not in ("probe",)]
    return {
        "settings": {"server SO_RCVBUF": 4096, "client SO_SNDBUF": 32768},
        "reference": "first zero-window ACK from the server = t 0",
        "bytes_written_before_block": sent, "server_rcvq_when_closed": queued,
        "probe_times": [r3(p["ts"] - t_zw) for p in probes],
        "probe_gaps": gaps([t_zw] + [p["ts"] for p in probes]),
        "probes": rows,
        "after_30s": {"tcp_info": info, "SO_ERROR": so_error, "server_read_bytes": got},
        "server_read_at": r3(t_read - t_zw),
        "first_client_non_probe_after_zw": ([r3(other[0]["ts"] - t_zw), other[0]["kind"], other[0]["len"]]
                                            if other else None),
        "mib_client": mib(pair.c),
        "mib_server": mib(pair.s),
        "trace_fields": TRACE_FIELDS,
        "trace": tr.dump(t_zw, skip_bulk=t_zw),
    }


def sc_zero_window_dead(retries2):
    def f(pair):
        """7b. zero window, then the peer is blackholed."""
        pair.sysctl("client", {"net.ipv4.tcp_retries2": retries2})
        cap = pair.capture()
        cs, conn, sent, queued = _fill_zero_window(pair)
        t_bh = pair.blackhole_server()
        res = wait_error(cs, 120)
        pkts = cap.stop()
        tr = Trace(pkts)
        t_zw, probes, rows = _zw_analysis(tr)
        unanswered = [p for p, r in zip(probes, rows) if r["answer"] is None]
        return {
            "settings": {"net.ipv4.tcp_retries2": retries2, "server SO_RCVBUF": 4096,
                         "client SO_SNDBUF": 32768},
            "reference": "first zero-window ACK from the server = t 0",
            "blackhole_at": r3(t_bh - t_zw),
            "probe_times": [r3(p["ts"] - t_zw) for p in probes],
            "probe_gaps": gaps([t_zw] + [p["ts"] for p in probes]),
            "probes": rows,
            "unanswered_probes": len(unanswered),
            "rst_sent": bool(tr.of("c", "rst")),
            "app_error": err_fields(res, t_zw, probes[-1]["ts"] if probes else None),
            "mib_client": mib(pair.c),
            "trace_fields": TRACE_FIELDS,
            "trace": tr.dump(t_zw, skip_bulk=t_zw),
        }
    return f


def sc_closed_port(pair):
    """8. connect() to a port with no listener."""
    cap = pair.capture()
    cs = pair.socket("client")
    cs.settimeout(10)
    t_call = time.time()
    try:
        cs.connect((SERVER_IP, CLOSED_PORT))
        res = {"result": "connected", "t_wall": time.time()}
    except OSError as e:
        res = {"result": "error", "errno": e.errno, "errname": errno.errorcode.get(e.errno, "?"), "t_wall": time.time()}
    pkts = cap.stop()
    tr = Trace(pkts)
    syn = tr.of("c", "syn")[0]
    rst = tr.of("s", "rst")
    r = rst[0] if rst else None
    return {
        "reference": "SYN = t 0",
        "connect_call_to_syn": r3(syn["ts"] - t_call),
        "rst": ({"t": r3(r["ts"] - syn["ts"]), "flags": flagstr(r["flags"]), "seq": r["seq"],
                 "ack_minus_client_isn": (r["ack"] - syn["seq"]) & 0xFFFFFFFF, "win": r["win"], "len": r["len"]}
                if r else None),
        "app_error": err_fields(res, syn["ts"]),
        "trace_fields": TRACE_FIELDS,
        "trace": tr.dump(syn["ts"]),
    }


def sc_zero_window_user_timeout(ut_ms):
    def f(pair):
        """7c. zero window, peer alive and answering, TCP_USER_TIMEOUT set
        (Linux >= 5.11 ends the zero window anyway: icsk_probes_tstamp)."""
        cap = pair.capture()
        cs, conn, sent, queued = _fill_zero_window(pair)
        cs.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, ut_ms)
        res = wait_error(cs, 60)
        info = None
        pkts = cap.stop()
        tr = Trace(pkts)
        t_zw, probes, rows = _zw_analysis(tr)
        unanswered = [r for r in rows if r["answer"] is None]
        return {
            "settings": {"TCP_USER_TIMEOUT": ut_ms, "server SO_RCVBUF": 4096, "client SO_SNDBUF": 32768},
            "reference": "first zero-window ACK from the server = t 0",
            "probe_times": [r3(p["ts"] - t_zw) for p in probes],
            "probe_gaps": gaps([t_zw] + [p["ts"] for p in probes]),
            "probes": rows,
            "unanswered_probes": len(unanswered),
            "rst_sent": bool(tr.of("c", "rst")),
            "rst_times": [r3(p["ts"] - t_zw) for p in tr.of("c", "rst")],
            "app_error": err_fields(res, t_zw, probes[-1]["ts"] if probes else None),
            "error_minus_first_probe": (r3(res["t_wall"] - probes[0]["ts"]) if probes else None),
            "tcp_info_after": info,
            "mib_client": mib(pair.c),
            "trace_fields": TRACE_FIELDS,
            "trace": tr.dump(t_zw, skip_bulk=t_zw),
        }
    return f


def sc_zero_window_orphan(pair):
    """7d. zero window, peer alive and answering; the client application
    close()s with data still queued: an orphan (tcp_orphan_retries)."""
    cap = pair.capture()
    cs, conn, sent, queued = _fill_zero_window(pair)
    time.sleep(0.5)
    t_close = time.time()
    cs.close()
    # observe until the orphan is gone (Linux: ~344 s, see tcp_orphan_retries)
    deadline = time.time() + 420
    while time.time() < deadline:
        time.sleep(1)
        out = run(["ss", "-N", pair.c, "-Htn", "dst", SERVER_IP], check=False)
        if not out.strip():
            break
    t_gone = time.time()
    pkts = cap.stop()
    tr = Trace(pkts)
    t_zw, probes, rows = _zw_analysis(tr)
    fins = tr.of("c", "fin")
    rsts = tr.of("c", "rst")
    return {
        "settings": {"server SO_RCVBUF": 4096, "client SO_SNDBUF": 32768,
                     "client close()": "with data queued behind the zero window"},
        "reference": "first zero-window ACK from the server = t 0",
        "close_at": r3(t_close - t_zw),
        "probe_times": [r3(p["ts"] - t_zw) for p in probes],
        "probe_gaps": gaps([t_zw] + [p["ts"] for p in probes]),
        "probes": rows,
        "probes_after_close": len([p for p in probes if p["ts"] > t_close]),
        "fin_sent": bool(fins),
        "rst_sent": bool(rsts),
        "rst_times": [r3(p["ts"] - t_zw) for p in rsts],
        "rst_flags": [flagstr(p["flags"]) for p in rsts],
        "socket_gone_by": r3(t_gone - t_zw),
        "mib_client": mib(pair.c),
        "trace_fields": TRACE_FIELDS,
        "trace": tr.dump(t_zw, skip_bulk=t_zw),
    }


def sc_fin_wait2_orphan(pair):
    """9. the client closes, the server never does: the orphaned client sits
    in FIN-WAIT-2 for tcp_fin_timeout, then is gone (a later segment from
    the server is answered with RST)."""
    cap = pair.capture()
    _ls, cs, conn, _ = connect_pair(pair)
    time.sleep(0.2)
    cs.close()
    t_close = time.time()
    states = []
    deadline = time.time() + 75
    gone = None
    while time.time() < deadline:
        out = run(["ss", "-N", pair.c, "-Htan", "dst", SERVER_IP], check=False).strip()
        st = out.split()[0] if out else "none"
        if not states or states[-1][1] != st:
            states.append([r3(time.time() - t_close), st])
        if st == "none" or (gone is None and st not in ("FIN-WAIT-2", "FIN-WAIT-1")):
            gone = time.time()
            break
        time.sleep(0.25)
    # the server now writes: a live FIN-WAIT-2 would ACK, a gone one resets
    try:
        conn.send(b"late")
    except OSError:
        pass
    time.sleep(0.5)
    pkts = cap.stop()
    tr = Trace(pkts)
    fin = tr.of("c", "fin")
    rsts = tr.of("c", "rst")
    t0 = fin[0]["ts"] if fin else t_close
    return {
        "settings": {"net.ipv4.tcp_fin_timeout": sysctl_get(pair.c, "net.ipv4.tcp_fin_timeout")},
        "reference": "client FIN = t 0",
        "client_states": states,
        "fin_wait2_gone_at": r3(gone - t0) if gone else None,
        "rst_after_late_data": bool(rsts),
        "rst_flags": [flagstr(p["flags"]) for p in rsts],
        "trace_fields": TRACE_FIELDS,
        "trace": tr.dump(t0),
    }


def sc_time_wait_new_syn(pair):
    """12. the server closes first (TIME-WAIT on the server); the client
    reconnects from the same port at once: does TIME-WAIT accept the new
    SYN (RFC 6191, tcp_timewait_state_process) or answer with an ACK?"""
    cap = pair.capture()
    ls = pair.listen()
    cport = 40000

    def client():
        c = pair.socket("client")
        c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.bind((CLIENT_IP, cport))
        c.settimeout(10)
        c.connect((SERVER_IP, PORT))
        return c
    c1 = client()
    ls.settimeout(10)
    s1, _ = ls.accept()
    with _lock:
        _sockets.append(s1)
    s1.close()                      # server FIN first: server ends in TIME-WAIT
    c1.settimeout(5)
    c1.recv(10)                     # EOF
    c1.close()                      # client LAST-ACK -> CLOSED
    time.sleep(0.3)
    tw = run(["ss", "-N", pair.s, "-Htan", "state", "time-wait"], check=False).strip()
    t_re = time.time()
    res = "connected"
    try:
        c2 = client()
        s2, _ = ls.accept()
        with _lock:
            _sockets.append(s2)
    except OSError as e:
        res = "error %s" % errno.errorcode.get(e.errno, e.errno)
    t_done = time.time()
    pkts = cap.stop()
    tr = Trace(pkts)
    syns = [p for p in pkts if p["src"] == CLIENT_IP and p["flags"] & 0x02 and not p["flags"] & 0x10]
    second = syns[-1] if len(syns) > 1 else None
    replies = [p for p in pkts if p["src"] == SERVER_IP and second and p["ts"] >= second["ts"]]
    first = replies[0] if replies else None
    return {
        "reference": "second SYN (same 4-tuple, server in TIME-WAIT) = t 0",
        "server_time_wait_before": bool(tw),
        "result": res,
        "connect_took": r3(t_done - t_re),
        "first_reply": ({"t": r3(first["ts"] - second["ts"]), "flags": flagstr(first["flags"])} if first else None),
        "new_syn_seq_minus_old_syn_seq": ((second["seq"] - syns[0]["seq"]) & 0xFFFFFFFF) if second else None,
        "trace_fields": TRACE_FIELDS,
        "trace": [[r3(p["ts"] - (second["ts"] if second else 0)), ("c>s" if p["src"] == CLIENT_IP else "s>c"),
                   flagstr(p["flags"]), p["len"]] for p in pkts],
    }


SCENARIOS = [
    ("keepalive_dead_peer", "ka1", sc_keepalive_dead),
    ("keepalive_answered", "ka2", sc_keepalive_answered),
    ("keepalive_both_ends", "ka3", sc_keepalive_both),
    ("rto_blackhole_retries2_6", "rto6", sc_rto_retries2(6)),
    ("rto_blackhole_retries2_6_no_tlp", "rto6n", sc_rto_retries2(6, early_retrans=0)),
    ("rto_blackhole_retries2_8", "rto8", sc_rto_retries2(8)),
    ("user_timeout_3000ms", "ut", sc_user_timeout()),
    ("user_timeout_3000ms_no_tlp", "utn", sc_user_timeout(early_retrans=0)),
    ("syn_blackhole_syn_retries_6", "syn6", sc_syn(syn_retries=6)),
    ("syn_blackhole_syncnt_2", "syn2", sc_syn(syncnt=2, wait=60)),
    ("syn_blackhole_syn_retries_3_linear_0", "syn3l0", sc_syn(syn_retries=3, linear=0, wait=60)),
    ("zero_window_answered", "zw", sc_zero_window),
    ("zero_window_blackholed_retries2_6", "zwd", sc_zero_window_dead(6)),
    ("closed_port", "rst", sc_closed_port),
    ("zero_window_user_timeout_3000ms", "zwut", sc_zero_window_user_timeout(3000)),
    ("zero_window_orphan", "zwo", sc_zero_window_orphan),
    ("fin_wait2_orphan", "fw2", sc_fin_wait2_orphan),
    ("time_wait_new_syn", "twsyn", sc_time_wait_new_syn),
]


# --------------------------------------------------------------------------

WORKDIR = None


def to_json(obj, ind=0):
    """JSON with one line per list of scalars (trace rows, time lists)."""
    pad, pad1 = " " * ind, " " * (ind + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [pad1 + json.dumps(k) + ": " + to_json(v, ind + 1) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(not isinstance(x, (dict, list)) for x in obj) or \
                all(isinstance(x, list) and all(not isinstance(y, (dict, list)) for y in x) for x in obj) and len(obj) <= 1:
            return json.dumps(obj)
        return "[\n" + ",\n".join(pad1 + to_json(x, ind + 1) for x in obj) + "\n" + pad + "]"
    return json.dumps(obj)


def kernel_hz():
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            for line in f:
                if line.startswith("CONFIG_HZ="):
                    return int(line.split("=")[1])
    except OSError:
        pass
    return None


def cleanup():
    with _lock:
        socks, procs, nss = list(_sockets), list(_procs), list(_namespaces)
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
    for p in procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGINT)
                p.wait(3)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(3)
                except (OSError, subprocess.TimeoutExpired):
                    pass
    for ns in nss:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    left = [n for n in run(["ip", "netns", "list"], check=False).split() if n.startswith("vgm-%d-" % PID)]
    return left


def main():
    global WORKDIR
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "..", "tests", "data", "linux-schedules.json"))
    ap.add_argument("--keep-pcaps", metavar="DIR", help="copy the pcaps here")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other scenarios already in --out (with --only)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("must run as root (network namespaces)")
    for tool in ("ip", "tcpdump", "nft", "sysctl"):
        if not shutil.which(tool):
            sys.exit("missing tool: " + tool)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    WORKDIR = tempfile.mkdtemp(prefix="vgm-pcap-")
    chosen = [s for s in SCENARIOS if not args.only or s[0] in args.only.split(",")]
    results, errors = {}, {}
    t_start = time.time()
    try:
        probe = Pair("dflt")
        defaults = {k.replace("net.ipv4.", ""): sysctl_get(probe.c, k) for k in REPORTED_SYSCTLS}

        def worker(name, tag, fn):
            try:
                pair = Pair(tag)
                pair.wait_link()
                out = fn(pair)
                if pair.sysctls["client"]:
                    out["netns_sysctls_client"] = pair.sysctls["client"]
                results[name] = out
            except BaseException:  # noqa: BLE001
                errors[name] = traceback.format_exc()
            print("[%6.1fs] %s %s" % (time.time() - t_start, name, "FAILED" if name in errors else "done"),
                  file=sys.stderr, flush=True)

        threads = [threading.Thread(target=worker, args=s, daemon=True) for s in chosen]
        for t in threads:
            t.start()
            time.sleep(0.1)
        for t in threads:
            while t.is_alive():
                t.join(0.5)
        doc = {
            "generated_by": "scripts/measure-linux.py",
            "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "kernel": {"release": platform.release(), "version": platform.version(), "HZ": kernel_hz()},
            "units": "seconds (3 decimals) unless the key says otherwise",
            "topology": "two netns per scenario, veth 10.77.0.1/24 (client) <-> 10.77.0.2/24 (server), "
                        "capture on the client veth; blackhole = nftables input+output policy drop "
                        "inside the server netns",
            "netns_defaults": defaults,
            "run_seconds": r3(time.time() - t_start),
            "scenarios": {name: results[name] for name, _, _ in chosen if name in results},
        }
        if args.merge and os.path.exists(args.out):
            with open(args.out) as f:
                old = json.load(f)
            merged = dict(old.get("scenarios", {}))
            merged.update(doc["scenarios"])
            doc["scenarios"] = {name: merged[name] for name, _, _ in SCENARIOS if name in merged}
            doc["merged_from"] = old.get("generated_at")
        if errors:
            doc["errors"] = errors
        out = os.path.abspath(args.out)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            f.write(to_json(doc))
            f.write("\n")
        print("wrote %s (%d scenarios, %d failed, %.1fs)" % (out, len(results), len(errors),
                                                             time.time() - t_start), file=sys.stderr)
        for name, tb in errors.items():
            print("--- %s\n%s" % (name, tb), file=sys.stderr)
        if args.keep_pcaps:
            os.makedirs(args.keep_pcaps, exist_ok=True)
            for fn in os.listdir(WORKDIR):
                shutil.copy(os.path.join(WORKDIR, fn), args.keep_pcaps)
        return 1 if errors else 0
    except KeyboardInterrupt as e:
        print("interrupted (%s); cleaning up" % e, file=sys.stderr)
        return 130
    finally:
        left = cleanup()
        shutil.rmtree(WORKDIR, ignore_errors=True)
        if left:
            print("WARNING: namespaces left behind: %s" % left, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
