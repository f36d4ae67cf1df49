// getsockopt(TCP_INFO) in Linux's layout. Only <linux/tcp.h> here: glibc's
// <netinet/tcp.h> defines a shorter struct tcp_info of the same name.
#include "posix/tcp_info.hpp"

#include <linux/tcp.h>

#include <algorithm>
#include <cstring>

namespace vigil::posix {

namespace {

// Linux's TCP_ESTABLISHED.. numbering (include/net/tcp_states.h), which
// tcpi_state reports.
uint8_t linux_state(tcp::State s) {
  switch (s) {
    case tcp::State::kEstablished:
      return 1;
    case tcp::State::kSynSent:
      return 2;
    case tcp::State::kSynReceived:
      return 3;
    case tcp::State::kFinWait1:
      return 4;
    case tcp::State::kFinWait2:
      return 5;
    case tcp::State::kTimeWait:
      return 6;
    case tcp::State::kClosed:
      return 7;
    case tcp::State::kCloseWait:
      return 8;
    case tcp::State::kLastAck:
      return 9;
    case tcp::State::kListen:
      return 10;
    case tcp::State::kClosing:
      return 11;
  }
  return 7;
}

// The fields newer kernels append after tcpi_snd_wnd (Linux 6.2 to 6.18:
// tcpi_rcv_wnd, tcpi_rehash, tcpi_total_rto, tcpi_total_rto_recoveries,
// tcpi_total_rto_time, then seven AccECN counters), which this machine's
// <linux/tcp.h> may predate. A caller compiled against a newer header
// (packetdrill asserts len >= sizeof its own copy) gets them too.
struct TcpInfoExt {
  struct tcp_info base;
  uint32_t rcv_wnd;
  uint32_t rehash;
  uint16_t total_rto;
  uint16_t total_rto_recoveries;
  uint32_t total_rto_time;
  uint32_t accecn[7];
  uint32_t reserved[5];
};

uint32_t usecs(Duration d) { return d.ns() <= 0 ? 0 : static_cast<uint32_t>(d.us()); }

}  // namespace

size_t tcp_info_size() { return sizeof(TcpInfoExt); }

size_t fill_tcp_info(const tcp::Connection* c, Instant now, void* out, size_t len) {
  TcpInfoExt ext;
  std::memset(&ext, 0, sizeof ext);
  struct tcp_info& ti = ext.base;
  ti.tcpi_state = 7;  // TCP_CLOSE
  if (c != nullptr) {
    (void)now;
    ti.tcpi_state = linux_state(c->state());
    // Linux tcp_get_info: Recovery while fast recovery runs, Loss after a
    // timeout until its data is acked; vigil knows only "in recovery".
    ti.tcpi_ca_state = c->in_recovery() ? TCP_CA_Recovery : TCP_CA_Open;
    ti.tcpi_backoff = static_cast<uint8_t>(std::min<uint32_t>(c->rtt().backoffs(), 255));
    ti.tcpi_retransmits = ti.tcpi_backoff;
    ti.tcpi_probes = static_cast<uint8_t>(std::min<uint32_t>(c->probes_out(), 255));
    if (c->timestamps_enabled()) ti.tcpi_options |= TCPI_OPT_TIMESTAMPS;
    if (c->sack_enabled()) ti.tcpi_options |= TCPI_OPT_SACK;
    if (c->snd_wscale() != 0 || c->rcv_wscale() != 0) {
      ti.tcpi_options |= TCPI_OPT_WSCALE;
      ti.tcpi_snd_wscale = c->snd_wscale() & 0xf;
      ti.tcpi_rcv_wscale = c->rcv_wscale() & 0xf;
    }
    const uint32_t mss = std::max<uint32_t>(c->send_mss(), 1);
    ti.tcpi_rto = usecs(c->rtt().rto());
    ti.tcpi_ato = usecs(c->config().delayed_ack);
    ti.tcpi_snd_mss = c->send_mss();
    ti.tcpi_rcv_mss = c->config().mss;
    // Packets, as Linux counts: bytes in flight over the MSS, rounded up.
    const uint32_t flight = c->snd_nxt() - c->snd_una();
    ti.tcpi_unacked = (flight + mss - 1) / mss;
    if (c->sack_recovery()) {
      ti.tcpi_sacked = c->sack_scoreboard().sacked_bytes(c->snd_una(), c->snd_nxt()) / mss;
    }
    ti.tcpi_pmtu = c->send_mss() + 40 + (c->timestamps_enabled() ? 12 : 0);
    ti.tcpi_rcv_ssthresh = c->rcv_wnd();
    ti.tcpi_rtt = usecs(c->rtt().srtt());
    ti.tcpi_rttvar = usecs(c->rtt().rttvar());
    // Linux reports ssthresh 0x7fffffff (TCP_INFINITE_SSTHRESH) before the
    // first loss; in packets.
    const uint32_t ssthresh = c->ssthresh();
    ti.tcpi_snd_ssthresh = ssthresh >= 0x7fffffffu / 2 ? 0x7fffffffu : ssthresh / mss;
    ti.tcpi_snd_cwnd = c->cwnd() / mss;
    ti.tcpi_advmss = c->config().mss - (c->timestamps_enabled() ? 12 : 0);
    // With RACK: Linux's lost_out and tp->reordering (recovery's digest);
    // otherwise dupthresh (net.ipv4.tcp_reordering).
    const tcp::StateDigest digest = c->state_digest();
    ti.tcpi_lost = static_cast<uint32_t>(std::max<int64_t>(digest.value("lost_out"), 0));
    ti.tcpi_reordering = static_cast<uint32_t>(std::max<int64_t>(digest.value("reordering"), 3));
    ti.tcpi_rcv_space = c->rcv_wnd();
    const auto& st = c->stats();
    ti.tcpi_total_retrans = static_cast<uint32_t>(st.retransmitted_segments);
    ti.tcpi_bytes_acked = st.bytes_acked;
    ti.tcpi_bytes_received = st.bytes_delivered;
    ti.tcpi_segs_out = static_cast<uint32_t>(st.segments_sent);
    ti.tcpi_segs_in = static_cast<uint32_t>(st.segments_received);
    ti.tcpi_snd_wnd = c->snd_wnd();
    ext.rcv_wnd = c->rcv_wnd();
    ext.total_rto = static_cast<uint16_t>(std::min<uint64_t>(st.timeouts, 0xffff));
  }
  const size_t n = std::min(len, sizeof ext);
  std::memcpy(out, &ext, n);
  return n;
}

}  // namespace vigil::posix
