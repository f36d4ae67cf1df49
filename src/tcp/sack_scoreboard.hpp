// The sender's SACK scoreboard (RFC 6675 §3-4): which bytes above SND.UNA
// the peer reported holding, with IsLost(), SetPipe() and NextSeg().
// Memory is bounded: a fixed-size array of disjoint, merged ranges sorted by
// sequence number. A range that does not fit is dropped (the highest one)
// and counted; forgetting SACK information is always safe, it can only
// cause an unneeded retransmission.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "wire/tcp_header.hpp"

namespace vigil::tcp {

class SackScoreboard {
 public:
  static constexpr size_t kMaxRanges = 32;
  static constexpr uint32_t kDupThresh = 3;  // RFC 6675 §2 DupThresh

  struct Range {
    uint32_t left = 0, right = 0;  // [left, right)
  };

  void clear() { n_ = 0; }
  size_t size() const { return n_; }
  const Range& range(size_t i) const { return r_[i]; }

  // Forgets everything below `snd_una` (cumulatively acknowledged), then
  // adds the valid blocks of one ACK. A block counts as valid when it is not
  // inverted and lies within [snd_una, snd_max]; D-SACK blocks (RFC 2883)
  // wholly below SND.UNA are skipped silently, other invalid blocks are
  // counted in invalid_blocks(). Returns true if any byte was newly SACKed.
  bool update(uint32_t snd_una, uint32_t snd_max, const wire::SackBlock* blocks, size_t n);

  bool is_sacked(uint32_t seq) const;
  // End of the SACKed range holding `seq`, or `seq` if it is not SACKed.
  uint32_t sacked_run_end(uint32_t seq) const;
  // Start of the first SACKed range above `seq`, or `limit` if none below it.
  uint32_t next_sacked_start(uint32_t seq, uint32_t limit) const;
  // SACKed bytes in [from, to).
  uint32_t sacked_bytes(uint32_t from, uint32_t to) const;

  // RFC 6675 §4 IsLost(SeqNum): DupThresh discontiguous SACKed ranges, or
  // more than (DupThresh - 1) * SMSS SACKed bytes, above `seq`.
  bool is_lost(uint32_t seq, uint32_t smss) const;

  // RFC 6675 §4 SetPipe(): the bytes believed in the network between
  // `snd_una` and `high_data`. `high_rxt` is just past the highest byte
  // retransmitted in this recovery (HighRxt + 1), or `snd_una` if none.
  uint32_t pipe(uint32_t snd_una, uint32_t high_data, uint32_t high_rxt, uint32_t smss) const;

  // RFC 6675 §4 NextSeg() rule 1 (rule 2, new data, is the caller's): the
  // first lost unSACKed byte at or above `high_rxt`. Sets `*seq` and `*len`
  // (at most `smss`, never into a SACKed range) and returns true.
  bool next_lost(uint32_t snd_una, uint32_t high_data, uint32_t high_rxt, uint32_t smss,
                 uint32_t* seq, uint32_t* len) const;

  uint64_t invalid_blocks() const { return invalid_; }
  uint64_t dsack_blocks() const { return dsack_; }
  uint64_t dropped_ranges() const { return dropped_; }
  // Range visits by every call so far (each loop step over the table): the
  // work the scoreboard does, so a test can bound it per ACK (CVE-2019-11478
  // was CPU spent on a fragmented retransmission queue).
  uint64_t ops() const { return ops_; }

 private:
  void trim(uint32_t snd_una);
  bool insert(uint32_t left, uint32_t right);

  // kMaxRanges entries, allocated by the first insert: a connection that
  // never receives a SACK block (an idle one) holds none (issue 15).
  std::unique_ptr<Range[]> r_;
  size_t n_ = 0;
  uint64_t invalid_ = 0;
  uint64_t dsack_ = 0;
  uint64_t dropped_ = 0;
  mutable uint64_t ops_ = 0;
};

}  // namespace vigil::tcp
