// One direction of a simulated link: packets offered at the sending end come
// out at the receiving end later, after propagation delay, serialisation at a
// finite rate behind a drop-tail queue, and random impairments (loss,
// duplication, reordering, corruption) plus scheduled blackholes.
//
// Deterministic: every random decision comes from the Rng the link owns, and
// arrivals with equal times come out in the order they were scheduled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "util/rng.hpp"
#include "vigil/time.hpp"

namespace vigil::sim {

struct LinkConfig {
  Duration delay = Duration::millis(10);  // one-way propagation delay
  uint64_t rate_bps = 0;                  // serialisation rate in bit/s; 0 = infinite
  // Drop-tail limit on bytes not yet fully serialised (the packet on the wire
  // counts until its last bit is out); 0 = unlimited. Only bites if rate_bps > 0.
  size_t queue_limit_bytes = 0;
  double loss = 0;       // probability each packet is dropped
  double duplicate = 0;  // probability a packet is delivered twice
  double reorder = 0;    // probability a packet is held back by reorder_extra
  Duration reorder_extra = Duration::millis(5);
  double corrupt = 0;  // probability one random bit of a delivered copy is flipped
};

struct LinkStats {
  uint64_t offered = 0;    // send() calls
  uint64_t delivered = 0;  // copies handed out by pop_arrival (duplicates count twice)
  uint64_t dropped_loss = 0;
  uint64_t dropped_queue = 0;
  uint64_t dropped_blackhole = 0;
  uint64_t duplicated = 0;  // extra copies scheduled
  uint64_t reordered = 0;
  uint64_t corrupted = 0;  // copies with a flipped bit
};

class Link {
 public:
  Link(LinkConfig cfg, util::Rng rng);

  // Every packet offered at t with from <= t < until is silently dropped.
  // Windows may overlap; until = Instant::never() means forever.
  void add_blackhole(Instant from, Instant until);
  bool blackholed(Instant t) const;

  // Decides the packet's fate now: blackhole, loss, queue limit, then
  // serialisation from max(now, busy_until); arrival = end of serialisation
  // (rounded up to whole ns) + delay (+ reorder_extra if reordered). A
  // duplicate arrives 1 ns after the original. Corruption is decided per copy.
  void send(Instant now, std::span<const uint8_t> packet);

  // Earliest pending arrival, or Instant::never().
  Instant next_arrival() const;
  // Copies the earliest packet with arrival <= now into `out` (reusing its
  // capacity) and returns true; false if none is due. `arrival_time` may be null.
  bool pop_arrival(Instant now, std::vector<uint8_t>& out, Instant* arrival_time);

  const LinkStats& stats() const { return stats_; }
  const LinkConfig& config() const { return cfg_; }
  // Applies to packets offered from now on; packets in flight keep their times.
  void set_config(const LinkConfig& cfg);
  // Called with each packet the drop-tail queue refuses, when it is offered
  // (vigil conform's capture keeps what the target sent, drops included).
  void set_queue_drop_observer(std::function<void(Instant, std::span<const uint8_t>)> f) {
    on_queue_drop_ = std::move(f);
  }

 private:
  struct Pending {
    int64_t arrival_ns;
    uint64_t seq;  // tie-break: scheduling order
    uint32_t buf;  // index into pool_
  };
  struct Blackhole {
    Instant from, until;
  };
  struct InService {
    int64_t end_ns;  // when its last bit has been serialised
    size_t bytes;
  };

  void schedule(int64_t arrival_ns, std::span<const uint8_t> packet);
  void drain_service(int64_t now_ns);
  static bool later(const Pending& a, const Pending& b);

  LinkConfig cfg_;
  std::function<void(Instant, std::span<const uint8_t>)> on_queue_drop_;
  util::Rng rng_;
  LinkStats stats_;
  std::vector<Blackhole> blackholes_;

  // Serialisation clock: the link is busy until busy_ns_ + rem_/rate_bps ns.
  // Carrying the remainder keeps the long-run rate exact despite integer ns.
  int64_t busy_ns_ = 0;
  uint64_t rem_ = 0;
  // Packets not yet fully serialised, FIFO from service_head_ (for the queue limit).
  std::vector<InService> service_;
  size_t service_head_ = 0;
  size_t backlog_bytes_ = 0;

  // Min-heap of scheduled arrivals whose bytes live in pool_; buffers are
  // recycled through free_ so steady state does no heap allocation.
  std::vector<Pending> heap_;
  std::vector<std::vector<uint8_t>> pool_;
  std::vector<uint32_t> free_;
  uint64_t next_seq_ = 0;
};

}  // namespace vigil::sim
