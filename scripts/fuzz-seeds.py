#!/usr/bin/env python3
"""Seeds the libFuzzer corpora from simulator captures.

usage: scripts/fuzz-seeds.py OUT_DIR PCAP...

Reads classic pcap files of link type 228 (raw IPv4, what `vigil sim
--pcap` writes) and writes, under OUT_DIR:
  wire/        one raw IPv4 datagram per file;
  stack/       the client's datagrams (10.0.0.1 -> 10.0.0.2) of each capture
               as stack_fuzz.cpp records, SEQ/ACK turned into offsets from
               the server's RCV.NXT/SND.UNA so they land in the live
               connection's window;
  connection/  the same segments as connection_fuzz.cpp records, once for
               each of a few starting states.
File names are content hashes, so seeding twice adds nothing new.

The corpus in tests/fuzz/corpus/ came from these captures (`vigil sim NAME
--pcap F`): handshake-close; bulk-lossy --set bytes=20k; zero-window-persist
--set limit=120s; keepalive-dead-peer --set limit=120s; simultaneous-open;
icmp-forged --set limit=1s; closed-port-rst; window-probe-deadlock --set
limit=30s.
"""
import hashlib
import os
import struct
import sys

CLIENT = bytes([10, 0, 0, 1])
MAX_RECORDS = 24  # per seed: small inputs fuzz fastest
MAX_SEED_BYTES = 4000  # and the corpus stays small enough to keep in git


def datagrams(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    else:
        sys.exit(f"{path}: not a classic pcap file")
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 228:
        sys.exit(f"{path}: link type {linktype}, expected 228 (raw IPv4)")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        yield sec + frac / (1e9 if nano else 1e6), data[off:off + incl]
        off += incl


def tcp_fields(d):
    """(ihl, seq, ack, flags, payload length) of an IPv4/TCP datagram, or None."""
    if len(d) < 40 or d[0] >> 4 != 4 or d[9] != 6:
        return None
    ihl = (d[0] & 15) * 4
    if len(d) < ihl + 20:
        return None
    seq, ack = struct.unpack(">II", d[ihl + 4:ihl + 12])
    doff = (d[ihl + 12] >> 4) * 4
    total = struct.unpack(">H", d[2:4])[0]
    return ihl, seq, ack, d[ihl + 13], max(0, total - ihl - doff), doff


def time_bits(dt):
    # Records advance (k*k x 10 ms), k in 0..7 in ctl bits 5-7.
    k = min(7, int(round((max(dt, 0.0) / 0.010) ** 0.5)))
    return k << 5


def s16(x):
    x &= 0xFFFFFFFF
    x = x - (1 << 32) if x >= 1 << 31 else x
    return max(-32768, min(32767, x)) & 0xFFFF


def client_segments(path):
    """The client's segments with SEQ/ACK as offsets from the server's view:
    SEQ from RCV.NXT (what the client sent so far), ACK from SND.UNA (the
    server's ISS, then the client's highest ACK)."""
    rcv_nxt = snd_una = None
    last_t = None
    out = []
    for t, d in datagrams(path):
        f = tcp_fields(d)
        if f is None:
            continue
        ihl, seq, ack, flags, plen, doff = f
        if d[12:16] != CLIENT:
            if flags & 2 and snd_una is None:
                snd_una = seq
            continue
        if rcv_nxt is None:
            rcv_nxt = seq
        dt = 0.0 if last_t is None else t - last_t
        last_t = t
        ao = s16(ack - snd_una) if snd_una is not None else 0
        out.append((dt, d, ihl, s16(seq - rcv_nxt), ao, flags, doff, plen))
        end = (seq + plen + (1 if flags & 2 else 0) + (1 if flags & 1 else 0)) & 0xFFFFFFFF
        if 0 < (end - rcv_nxt) & 0xFFFFFFFF < 1 << 31:
            rcv_nxt = end
        if flags & 16 and snd_una is not None and 0 < (ack - snd_una) & 0xFFFFFFFF < 1 << 31:
            snd_una = ack
    return out


def stack_record(seg):
    dt, d, ihl, so, ao, _flags, _doff, _plen = seg
    d = bytearray(d)
    # ctl: 1 no checksum check, 2 tuple rewrite, 4 relative SEQ/ACK.
    struct.pack_into(">H", d, ihl + 6, so)
    struct.pack_into(">H", d, ihl + 10, ao)
    return bytes([1 | 2 | 4 | time_bits(dt)]) + struct.pack(">H", len(d)) + bytes(d)


def connection_record(seg):
    dt, d, ihl, so, ao, flags, doff, plen = seg
    window = struct.unpack(">H", d[ihl + 14:ihl + 16])[0]
    opts = d[ihl + 20:ihl + doff]
    payload = d[ihl + doff:ihl + doff + plen]
    return (bytes([1 | 2 | time_bits(dt)]) + struct.pack(">IIBH", so, ao, flags, window) +
            bytes([len(opts)]) + opts + struct.pack(">H", len(payload)) + payload)


def write(out_dir, sub, blob):
    path = os.path.join(out_dir, sub)
    os.makedirs(path, exist_ok=True)
    name = hashlib.sha1(blob).hexdigest()[:16]
    with open(os.path.join(path, name), "wb") as f:
        f.write(blob)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    for pcap in sys.argv[2:]:
        seen = set()
        for _t, d in datagrams(pcap):
            # One of each shape (flags, length) per capture keeps it small.
            f = tcp_fields(d)
            key = (f[3], min(f[4], 1)) if f else (d[9] if len(d) > 9 else -1,)
            if key not in seen:
                seen.add(key)
                write(out_dir, "wire", d)
        segs = client_segments(pcap)
        # The handshake's SYN goes to the listener (a new connection); the
        # rest to the live connection.
        body, size = [], 0
        for s in segs:
            if s[5] & 2 or len(body) == MAX_RECORDS or size + len(s[1]) > MAX_SEED_BYTES:
                continue
            body.append(s)
            size += len(s[1])
        if not body:
            continue
        write(out_dir, "stack", b"".join(stack_record(s) for s in body))
        for choice in (2, 18 + 2, 18 + 3, 5):  # ESTABLISHED (no options, all), FIN-WAIT-1, CLOSE-WAIT
            write(out_dir, "connection",
                  bytes([choice]) + b"".join(connection_record(s) for s in body))
        syns = [s for s in segs if s[5] & 2][:1]
        if syns:  # the SYN itself, into a stack (listener) and into SYN-SENT
            write(out_dir, "stack", stack_record(syns[0]))
            write(out_dir, "connection", bytes([0]) + connection_record(syns[0]))


if __name__ == "__main__":
    main()
