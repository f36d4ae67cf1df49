// The deterministic simulated world: two hosts running vigil stacks joined
// by a duplex link, one capture point, applications, all on virtual time.
// Same scenario and seed give the same run, byte for byte.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "link/pcap_writer.hpp"
#include "sim/link.hpp"
#include "stack/stack.hpp"
#include "tcp/events.hpp"
#include "util/rng.hpp"
#include "vigil/time.hpp"

namespace vigil::sim {

class World;

// An event from a host's stack, tagged with where it happened.
struct RecordedEvent {
  tcp::Event event;  // event.detail is copied into `detail`
  std::string detail;
  size_t host = 0;
  stack::ConnId conn = 0;
};

class Host {
 public:
  Host(World& world, size_t index, std::string name, const stack::StackConfig& config,
       util::Rng rng, Instant start);
  stack::Stack& stack() { return stack_; }
  const stack::Stack& stack() const { return stack_; }
  const std::string& name() const { return name_; }
  size_t index() const { return index_; }
  wire::Ipv4Addr address() const { return stack_.config().address; }

 private:
  class Sink : public tcp::EventSink {
   public:
    Sink(World& w, size_t host) : world_(w), host_(host) {}
    void on_event(const tcp::Event& e) override;

   private:
    World& world_;
    size_t host_;
  };
  std::string name_;
  size_t index_;
  Sink sink_;
  stack::Stack stack_;
};

// Application logic on a host, polled after anything happens there.
class App {
 public:
  virtual ~App() = default;
  virtual void poll(Instant now) = 0;
  // A time at which the app wants to be polled even if nothing happens.
  virtual Instant next_wake() const { return Instant::never(); }
  virtual bool done() const = 0;
};

// Rewrites or drops packets crossing one direction of the link (a NAT or
// firewall in the middle). Return false to drop.
using PacketFilter = std::function<bool(Instant, std::vector<uint8_t>&)>;

class World {
 public:
  explicit World(uint64_t seed);
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  Host& add_host(const std::string& name, const stack::StackConfig& config);
  // The duplex link between host 0 and host 1.
  void set_link(const LinkConfig& a_to_b, const LinkConfig& b_to_a);
  Link& link(size_t from_host) { return *links_.at(from_host); }
  void set_filter(size_t from_host, PacketFilter f) { filters_.at(from_host) = std::move(f); }
  // A packet from a box in the middle (a router's ICMP) towards `to_host`:
  // it takes the link leading there, with that link's delay.
  void inject(size_t to_host, std::span<const uint8_t> packet);
  // Capture every packet as seen at `host`'s interface: sent when it leaves,
  // received when it arrives. Not owned.
  void set_capture(link::PcapWriter* writer, size_t host = 0) {
    capture_ = writer;
    capture_host_ = host;
  }
  // Called for each packet at the capture point (after the pcap write).
  void set_packet_observer(
      std::function<void(Instant, size_t from_host, std::span<const uint8_t>)> f) {
    observer_ = std::move(f);
  }
  void add_app(size_t host, std::unique_ptr<App> app);
  // Called around every packet a host receives: before (after = false) and
  // after (after = true) its stack takes it. For checkers (sim fuzz).
  using DeliveryHook =
      std::function<void(Instant, size_t to_host, std::span<const uint8_t>, bool after)>;
  void set_delivery_hook(DeliveryHook h) { delivery_hook_ = std::move(h); }
  // Hands `packet` to `to_host` now, as if it had just arrived off the link
  // (capture and hook included): an injector on the receiver's wire.
  void deliver(size_t to_host, std::span<const uint8_t> packet);

  // Runs until nothing is left to happen or virtual time passes `limit`.
  // Returns the time of the last thing that happened.
  Instant run(Instant limit);

  Instant now() const { return now_; }
  Host& host(size_t i) { return *hosts_.at(i); }
  size_t host_count() const { return hosts_.size(); }
  util::Rng& rng() { return rng_; }
  const std::vector<RecordedEvent>& events() const { return events_; }
  uint64_t iterations() const { return iterations_; }

 private:
  friend class Host;
  void record(size_t host, const tcp::Event& e);
  void flush(size_t host);
  void observe(size_t from_host, std::span<const uint8_t> pkt);

  util::Rng rng_;
  Instant now_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<Link>> links_;  // links_[h] carries packets from host h
  std::vector<PacketFilter> filters_;
  std::vector<std::pair<size_t, std::unique_ptr<App>>> apps_;
  link::PcapWriter* capture_ = nullptr;
  size_t capture_host_ = 0;
  std::function<void(Instant, size_t, std::span<const uint8_t>)> observer_;
  DeliveryHook delivery_hook_;
  std::vector<RecordedEvent> events_;
  std::vector<uint8_t> tx_buf_;
  std::vector<uint8_t> rx_buf_;
  uint64_t iterations_ = 0;
};

}  // namespace vigil::sim
