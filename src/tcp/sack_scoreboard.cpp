#include "tcp/sack_scoreboard.hpp"

#include <algorithm>

#include "tcp/seq.hpp"

namespace vigil::tcp {

void SackScoreboard::trim(uint32_t snd_una) {
  size_t keep = 0;
  for (size_t i = 0; i < n_; ++i) {
    ++ops_;
    if (seq_le(r_[i].right, snd_una)) continue;  // wholly acknowledged
    Range x = r_[i];
    if (seq_lt(x.left, snd_una)) x.left = snd_una;
    r_[keep++] = x;
  }
  n_ = keep;
}

bool SackScoreboard::insert(uint32_t left, uint32_t right) {
  if (!r_) r_ = std::make_unique<Range[]>(kMaxRanges);
  const uint32_t before = sacked_bytes(left, right);
  // First range that touches or lies above [left, right).
  size_t i = 0;
  while (i < n_ && seq_lt(r_[i].right, left)) ++i, ++ops_;
  // Ranges i..j-1 overlap or abut it: merge them into one.
  size_t j = i;
  while (j < n_ && seq_le(r_[j].left, right)) ++j, ++ops_;
  if (j > i) {
    Range m{seq_min(left, r_[i].left), seq_max(right, r_[j - 1].right)};
    r_[i] = m;
    const size_t removed = j - i - 1;
    for (size_t k = i + 1; k + removed < n_; ++k, ++ops_) r_[k] = r_[k + removed];
    n_ -= removed;
  } else {
    if (n_ == kMaxRanges) {
      // Full: forget the highest range (it tells least about the holes
      // nearest SND.UNA, which are retransmitted first).
      ++dropped_;
      if (i == n_) return false;
      --n_;
    }
    for (size_t k = n_; k > i; --k, ++ops_) r_[k] = r_[k - 1];
    r_[i] = Range{left, right};
    ++n_;
  }
  return sacked_bytes(left, right) > before;
}

bool SackScoreboard::update(uint32_t snd_una, uint32_t snd_max, const wire::SackBlock* blocks,
                            size_t n) {
  trim(snd_una);
  bool fresh = false;
  for (size_t k = 0; k < n; ++k) {
    uint32_t left = blocks[k].left;
    const uint32_t right = blocks[k].right;
    if (!seq_lt(left, right)) {
      ++invalid_;  // empty or inverted (RFC 2018 §3: left < right)
      continue;
    }
    if (seq_le(right, snd_una)) {
      ++dsack_;  // RFC 2883 D-SACK below the cumulative ACK: nothing to record
      continue;
    }
    if (seq_gt(right, snd_max) || seq_lt(left, snd_una - (1u << 30))) {
      ++invalid_;  // beyond what was sent, or absurdly far below SND.UNA
      continue;
    }
    if (seq_lt(left, snd_una)) left = snd_una;  // straddles the cumulative ACK
    fresh |= insert(left, right);
  }
  return fresh;
}

bool SackScoreboard::is_sacked(uint32_t seq) const {
  for (size_t i = 0; i < n_; ++i) {
    ++ops_;
    if (seq_in(seq, r_[i].left, r_[i].right)) return true;
  }
  return false;
}

uint32_t SackScoreboard::sacked_run_end(uint32_t seq) const {
  for (size_t i = 0; i < n_; ++i) {
    ++ops_;
    if (seq_in(seq, r_[i].left, r_[i].right)) return r_[i].right;
  }
  return seq;
}

uint32_t SackScoreboard::next_sacked_start(uint32_t seq, uint32_t limit) const {
  for (size_t i = 0; i < n_; ++i) {
    ++ops_;
    if (seq_gt(r_[i].left, seq)) return seq_min(r_[i].left, limit);
  }
  return limit;
}

uint32_t SackScoreboard::sacked_bytes(uint32_t from, uint32_t to) const {
  uint32_t sum = 0;
  for (size_t i = 0; i < n_; ++i) {
    ++ops_;
    const uint32_t l = seq_max(r_[i].left, from);
    const uint32_t r = seq_min(r_[i].right, to);
    if (seq_lt(l, r)) sum += r - l;
  }
  return sum;
}

bool SackScoreboard::is_lost(uint32_t seq, uint32_t smss) const {
  uint32_t ranges = 0;
  uint32_t bytes = 0;
  for (size_t i = 0; i < n_; ++i) {
    ++ops_;
    if (seq_le(r_[i].right, seq + 1)) continue;
    if (seq_gt(r_[i].left, seq)) ++ranges;
    bytes += r_[i].right - seq_max(r_[i].left, seq + 1);
  }
  return ranges >= kDupThresh || bytes > (kDupThresh - 1) * smss;
}

uint32_t SackScoreboard::pipe(uint32_t snd_una, uint32_t high_data, uint32_t high_rxt,
                              uint32_t smss) const {
  // Every hole (unSACKed run) is uniform for IsLost(): the same ranges lie
  // above each of its bytes. Per byte: +1 unless lost, +1 if retransmitted.
  uint32_t pipe = 0;
  uint32_t cursor = snd_una;
  auto add_hole = [&](uint32_t a, uint32_t b, bool lost) {
    if (!seq_lt(a, b)) return;
    if (!lost) pipe += b - a;
    const uint32_t rb = seq_min(b, high_rxt);
    if (seq_lt(a, rb)) pipe += rb - a;
  };
  for (size_t i = 0; i < n_; ++i) {
    ++ops_;
    if (seq_lt(cursor, r_[i].left)) add_hole(cursor, r_[i].left, is_lost(cursor, smss));
    cursor = seq_max(cursor, r_[i].right);
  }
  add_hole(cursor, high_data, false);  // nothing SACKed above: not lost
  return pipe;
}

bool SackScoreboard::next_lost(uint32_t snd_una, uint32_t high_data, uint32_t high_rxt,
                               uint32_t smss, uint32_t* seq, uint32_t* len) const {
  uint32_t cursor = snd_una;
  for (size_t i = 0; i < n_; ++i) {
    ++ops_;
    const uint32_t start = seq_max(cursor, high_rxt);
    if (seq_lt(start, r_[i].left) && seq_lt(start, high_data) && is_lost(start, smss)) {
      *seq = start;
      *len = std::min(smss, seq_min(r_[i].left, high_data) - start);
      return true;
    }
    cursor = seq_max(cursor, r_[i].right);
  }
  return false;  // the hole above the highest range is never lost
}

}  // namespace vigil::tcp
