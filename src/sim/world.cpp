#include "sim/world.hpp"

#include <algorithm>

namespace vigil::sim {

Host::Host(World& world, size_t index, std::string name, const stack::StackConfig& config,
           util::Rng rng, Instant start)
    : name_(std::move(name)),
      index_(index),
      sink_(world, index),
      stack_(config, rng, &sink_, start) {}

void Host::Sink::on_event(const tcp::Event& e) { world_.record(host_, e); }

World::World(uint64_t seed) : rng_(seed), tx_buf_(65536), rx_buf_(65536) {}

Host& World::add_host(const std::string& name, const stack::StackConfig& config) {
  hosts_.push_back(std::make_unique<Host>(*this, hosts_.size(), name, config, rng_.fork(), now_));
  links_.emplace_back();
  filters_.emplace_back();
  return *hosts_.back();
}

void World::set_link(const LinkConfig& a_to_b, const LinkConfig& b_to_a) {
  links_.at(0) = std::make_unique<Link>(a_to_b, rng_.fork());
  links_.at(1) = std::make_unique<Link>(b_to_a, rng_.fork());
}

void World::inject(size_t to_host, std::span<const uint8_t> packet) {
  Link* l = links_.at(1 - to_host).get();
  if (l) l->send(now_, packet);
}

void World::deliver(size_t to_host, std::span<const uint8_t> packet) {
  if (to_host == capture_host_) observe(1 - to_host, packet);
  if (delivery_hook_) delivery_hook_(now_, to_host, packet, false);
  hosts_.at(to_host)->stack().receive(now_, packet);
  if (delivery_hook_) delivery_hook_(now_, to_host, packet, true);
}

void World::add_app(size_t host, std::unique_ptr<App> app) {
  apps_.emplace_back(host, std::move(app));
}

void World::record(size_t host, const tcp::Event& e) {
  RecordedEvent r;
  r.event = e;
  r.detail = std::string(e.detail);
  r.event.detail = {};
  r.host = host;
  r.conn = e.conn;
  events_.push_back(std::move(r));
}

void World::observe(size_t from_host, std::span<const uint8_t> pkt) {
  if (capture_) capture_->write(now_, pkt);
  if (observer_) observer_(now_, from_host, pkt);
}

void World::flush(size_t h) {
  Host& host = *hosts_[h];
  const size_t other = 1 - h;
  for (;;) {
    const size_t n = host.stack().poll_transmit(now_, tx_buf_);
    if (n == 0) break;
    const std::span<const uint8_t> pkt(tx_buf_.data(), n);
    if (h == capture_host_) observe(h, pkt);
    if (links_.size() > other && links_[h]) links_[h]->send(now_, pkt);
  }
}

Instant World::run(Instant limit) {
  Instant last = now_;
  std::vector<uint8_t> pkt;
  pkt.reserve(65536);
  for (;;) {
    Instant next = Instant::never();
    for (const auto& l : links_) {
      if (l) next = std::min(next, l->next_arrival());
    }
    for (const auto& h : hosts_) next = std::min(next, h->stack().next_deadline());
    for (const auto& [h, app] : apps_) next = std::min(next, app->next_wake());
    if (next.is_never() || next > limit) break;
    now_ = std::max(now_, next);
    last = now_;
    ++iterations_;

    // Deliveries due now, in arrival order per link.
    for (size_t from = 0; from < links_.size(); ++from) {
      if (!links_[from]) continue;
      const size_t to = 1 - from;
      Instant at;
      while (links_[from]->pop_arrival(now_, pkt, &at)) {
        if (filters_[from] && !filters_[from](now_, pkt)) continue;
        deliver(to, pkt);
      }
    }
    for (auto& h : hosts_) h->stack().on_timers(now_);
    for (auto& [h, app] : apps_) app->poll(now_);
    for (size_t h = 0; h < hosts_.size(); ++h) flush(h);
  }
  if (capture_) capture_->flush();
  return last;
}

}  // namespace vigil::sim
