// Opening paths the stack's listener needs beyond RFC 9293's LISTEN: a
// connection created ESTABLISHED from a SYN cookie (RFC 4987 §3.6), the
// TIME-WAIT test for a new SYN (RFC 6191), and releasing buffer memory.
#include "tcp/connection.hpp"
#include "tcp/seq.hpp"

namespace vigil::tcp {

namespace flags = wire::tcp_flags;

void Connection::open_from_cookie(Instant now, const CookieOpen& c, const wire::TcpView& ack) {
  // The SYN-RECEIVED state the cookie stood in for, now confirmed by the
  // ACK of ISS+1: everything the SYN negotiated comes from the cookie.
  passive_ = true;
  state_ = State::kListen;
  state_since_ = now;
  irs_ = c.irs;
  rcv_nxt_ = irs_ + 1;
  last_ack_sent_ = rcv_nxt_;
  rcv_adv_ = rcv_nxt_ + c.window_sent;
  snd_una_ = iss_ + 1;
  snd_nxt_ = iss_ + 1;
  snd_max_ = iss_ + 1;
  peer_mss_ = c.mss;
  wscale_ok_ = cfg_->window_scaling && c.wscale_ok;
  snd_wscale_ = wscale_ok_ ? std::min<uint8_t>(c.snd_wscale, 14) : 0;
  if (!wscale_ok_) rcv_wscale_ = 0;
  ts_enabled_ = cfg_->timestamps && c.timestamps && ack.options().has_timestamps;
  if (ts_enabled_) {
    ts_recent_ = ack.options().ts_val;
    ts_recent_valid_ = true;
  }
  sack_enabled_ = cfg_->sack && c.sack;
  update_mss();
  select_loss_recovery();
  // The ACK's window is scaled: it is not a SYN (RFC 7323 §2.2).
  snd_wnd_ = static_cast<uint32_t>(ack.window()) << snd_wscale_;
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = ack.seq();
  snd_wl2_ = ack.ack();
  set_state(now, State::kEstablished);
}

bool Connection::time_wait_accepts_syn(const wire::TcpView& syn) const {
  if (state_ != State::kTimeWait) return false;
  if (!syn.has(flags::kSyn) || syn.has(flags::kAck) || syn.has(flags::kRst) ||
      syn.has(flags::kFin)) {
    return false;
  }
  const auto& o = syn.options();
  const bool ts = ts_enabled_ && ts_recent_valid_ && o.has_timestamps;
  // PAWS (RFC 7323 §5.3) first: an older TSval is an old duplicate.
  if (ts && seq_lt(o.ts_val, ts_recent_)) return false;
  // RFC 6191 §2 accepts on a newer TSval; RFC 9293 §3.10.7.4 / RFC 1122
  // §4.2.2.13 on a sequence number above the old RCV.NXT. Linux takes
  // either (tcp_timewait_state_process).
  return seq_gt(syn.seq(), rcv_nxt_) || (ts && seq_gt(o.ts_val, ts_recent_));
}

void Connection::release_buffers() {
  // Nothing more can be sent from CLOSED or TIME-WAIT; unread received bytes
  // stay readable until the application takes them (recv() releases then).
  snd_buf_.release();
  sent_segs_.release();
  rcv_buf_.release();
}

}  // namespace vigil::tcp
