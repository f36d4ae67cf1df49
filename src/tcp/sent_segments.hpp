// The data segments a connection sent that were large enough to be "too
// big" for some path: where each starts, how long it was on the wire. Path
// MTU discovery checks a frag-needed against them (RFC 5927 §7; see
// Connection::on_icmp), so a blind attacker has to guess the exact first
// byte of such a segment, not just any sequence number in flight.
//
// A ring of the most recent sends, allocated on the first record (a
// connection that never sends a large segment holds nothing). It grows
// (doubling, up to the capacity the send buffer needs) only when its oldest
// entry is still unacknowledged, so it is as large as the most segments a
// connection has had in flight, and a steady flight never allocates;
// release() frees it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vigil::tcp {

class SentSegments {
 public:
  // Segments of `min_wire_bytes` or fewer are never recorded: no accepted
  // report can call them too big. The ring holds enough of the rest to cover
  // `send_buffer` bytes of payload (each has more than min_wire_bytes - 80
  // bytes of payload: 80 is the largest IPv4 + TCP header without IP
  // options), so a segment still in flight has not been overwritten by
  // later first transmissions.
  SentSegments(size_t send_buffer, uint32_t min_wire_bytes);
  // A larger send buffer needs more entries; a smaller one keeps them.
  void set_send_buffer(size_t send_buffer);

  // A datagram carrying [seq, seq+len) with `header_bytes` of IP and TCP
  // headers. A datagram longer than `cut` payload bytes (opt-in TSO) reaches
  // the wire as pieces of `cut` bytes, each with the same headers.
  // `snd_una`: entries wholly below it are acknowledged and may be reused.
  void record(uint32_t seq, uint32_t len, uint32_t cut, uint32_t header_bytes, uint32_t snd_una);

  // The wire size of the recorded segment (or TSO piece) whose first byte is
  // `seq`, the most recent if it was sent more than once; 0 if none.
  uint32_t wire_bytes_at(uint32_t seq) const;

  size_t allocated_bytes() const { return ring_.capacity() * sizeof(Entry); }
  void release();

 private:
  struct Entry {
    uint32_t seq;
    uint16_t len;  // payload bytes (at most 65535 - 80 with TSO)
    uint16_t cut;  // payload bytes per wire piece
    uint16_t hdr;  // IP + TCP header bytes of each piece
  };
  void grow();

  std::vector<Entry> ring_;
  size_t capacity_;  // the most entries ever needed
  uint32_t min_wire_bytes_;
  size_t next_ = 0;   // where the next record goes
  size_t count_ = 0;  // valid entries, at most capacity_
};

}  // namespace vigil::tcp
