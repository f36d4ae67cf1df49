#include "sim/link.hpp"

#include <algorithm>
#include <cstring>

namespace vigil::sim {

namespace {
constexpr uint64_t kNanosPerSecond = 1'000'000'000;
constexpr size_t kInitialBufferCapacity = 2048;
}  // namespace

Link::Link(LinkConfig cfg, util::Rng rng) : cfg_(cfg), rng_(rng) {}

void Link::add_blackhole(Instant from, Instant until) { blackholes_.push_back({from, until}); }

bool Link::blackholed(Instant t) const {
  return std::any_of(blackholes_.begin(), blackholes_.end(),
                     [t](const Blackhole& b) { return b.from <= t && t < b.until; });
}

void Link::set_config(const LinkConfig& cfg) {
  if (cfg.rate_bps != cfg_.rate_bps && rem_ > 0) {
    // The fractional ns only makes sense for the old rate: round it up.
    ++busy_ns_;
    rem_ = 0;
  }
  cfg_ = cfg;
}

bool Link::later(const Pending& a, const Pending& b) {
  if (a.arrival_ns != b.arrival_ns) return a.arrival_ns > b.arrival_ns;
  return a.seq > b.seq;
}

void Link::drain_service(int64_t now_ns) {
  while (service_head_ < service_.size() && service_[service_head_].end_ns <= now_ns) {
    backlog_bytes_ -= service_[service_head_].bytes;
    ++service_head_;
  }
  if (service_head_ == service_.size()) {
    service_.clear();
    service_head_ = 0;
  } else if (service_head_ >= 1024 && service_head_ * 2 >= service_.size()) {
    // Compact in place instead of letting the vector grow without bound.
    service_.erase(service_.begin(), service_.begin() + static_cast<ptrdiff_t>(service_head_));
    service_head_ = 0;
  }
}

void Link::schedule(int64_t arrival_ns, std::span<const uint8_t> packet) {
  uint32_t idx;
  if (!free_.empty()) {
    idx = free_.back();
    free_.pop_back();
  } else {
    idx = static_cast<uint32_t>(pool_.size());
    pool_.emplace_back();
    // MTU-sized from the start, so mixed packet sizes do not keep regrowing
    // recycled buffers.
    pool_.back().reserve(kInitialBufferCapacity);
  }
  std::vector<uint8_t>& buf = pool_[idx];
  buf.assign(packet.begin(), packet.end());  // reuses the buffer's capacity

  if (!buf.empty() && rng_.chance(cfg_.corrupt)) {
    const uint64_t bit = rng_.uniform(buf.size() * 8);
    buf[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ++stats_.corrupted;
  }
  heap_.push_back({arrival_ns, next_seq_++, idx});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

void Link::send(Instant now, std::span<const uint8_t> packet) {
  ++stats_.offered;
  if (blackholed(now)) {
    ++stats_.dropped_blackhole;
    return;
  }
  if (rng_.chance(cfg_.loss)) {
    ++stats_.dropped_loss;
    return;
  }
  const int64_t now_ns = now.ns();
  drain_service(now_ns);
  const size_t bytes = packet.size();
  if (cfg_.queue_limit_bytes > 0 && cfg_.rate_bps > 0 &&
      backlog_bytes_ + bytes > cfg_.queue_limit_bytes) {
    ++stats_.dropped_queue;
    if (on_queue_drop_) on_queue_drop_(now, packet);
    return;
  }

  // Serialisation starts when the link is free (an idle link drops the
  // fractional remainder: the new packet starts on a whole ns).
  if (now_ns > busy_ns_) {
    busy_ns_ = now_ns;
    rem_ = 0;
  }
  if (cfg_.rate_bps > 0) {
    // bits * 1e9 <= 2^19 * 1e9 for 64 KiB packets, so this cannot overflow;
    // the remainder is added without overflow even for huge rates.
    const uint64_t rate = cfg_.rate_bps;
    const uint64_t x = static_cast<uint64_t>(bytes) * 8 * kNanosPerSecond;
    uint64_t q = x / rate;
    const uint64_t r = x % rate;
    if (r >= rate - rem_) {
      rem_ = r - (rate - rem_);
      ++q;
    } else {
      rem_ += r;
    }
    busy_ns_ += static_cast<int64_t>(q);
  }
  // A packet cannot arrive before its last bit left: round the end up.
  const int64_t end_ns = busy_ns_ + (rem_ > 0 ? 1 : 0);
  if (end_ns > now_ns) {
    service_.push_back({end_ns, bytes});
    backlog_bytes_ += bytes;
  }

  int64_t arrival_ns = end_ns + cfg_.delay.ns();
  if (rng_.chance(cfg_.reorder)) {
    arrival_ns += cfg_.reorder_extra.ns();
    ++stats_.reordered;
  }
  const bool dup = rng_.chance(cfg_.duplicate);
  schedule(arrival_ns, packet);
  if (dup) {
    ++stats_.duplicated;
    schedule(arrival_ns + 1, packet);
  }
}

Instant Link::next_arrival() const {
  return heap_.empty() ? Instant::never() : Instant::from_ns(heap_.front().arrival_ns);
}

bool Link::pop_arrival(Instant now, std::vector<uint8_t>& out, Instant* arrival_time) {
  if (heap_.empty() || heap_.front().arrival_ns > now.ns()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  const Pending p = heap_.back();
  heap_.pop_back();
  const std::vector<uint8_t>& buf = pool_[p.buf];
  out.resize(buf.size());
  if (!buf.empty()) std::memcpy(out.data(), buf.data(), buf.size());
  free_.push_back(p.buf);
  if (arrival_time != nullptr) *arrival_time = Instant::from_ns(p.arrival_ns);
  ++stats_.delivered;
  return true;
}

}  // namespace vigil::sim
