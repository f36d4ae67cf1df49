// vigil::TunDriver (include/vigil/tun.hpp): link::TunDevice and
// link::EventLoop under the public Stack.
#include "vigil/tun.hpp"

#include <cerrno>

#include "api/core.hpp"
#include "link/event_loop.hpp"
#include "link/netns.hpp"
#include "link/tun_device.hpp"

namespace vigil {

namespace {

wire::Ipv4Addr to_wire(Ipv4 a) {
  return wire::Ipv4Addr::of(a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]);
}

bool ended(const tcp::Connection* c) {
  return !c || c->state() == tcp::State::kClosed || c->state() == tcp::State::kTimeWait;
}

// The loop's application: the public callbacks, run after every batch of
// datagrams and every timer.
class Adapter : public link::LoopApp {
 public:
  Adapter(api_detail::Core& core, const bool& stop) : core_(core), stop_(stop) {}
  void poll(stack::Stack&, Instant now) override {
    core_.now = std::max(core_.now, now);
    core_.dispatch();
  }
  bool done(const stack::Stack&) const override { return stop_; }
  void stop(stack::Stack& s, Instant now) override {
    core_.now = std::max(core_.now, now);
    for (auto& [id, rec] : core_.sockets) {
      if (!ended(s.connection(id)) && !rec.write_shut) {
        rec.write_shut = true;
        s.close(now, id);
      }
    }
  }
  bool quiesced(const stack::Stack& s) const override {
    for (const auto& [id, rec] : core_.sockets)
      if (!ended(s.connection(id))) return false;
    return true;
  }

 private:
  api_detail::Core& core_;
  const bool& stop_;
};

}  // namespace

struct TunDriver::Impl {
  link::TunDevice dev;
  std::string why;
  bool stop = false;
};

TunDriver::TunDriver() : impl_(std::make_unique<Impl>()) {}
TunDriver::~TunDriver() = default;

const std::string& TunDriver::why() const { return impl_->why; }
std::string TunDriver::device() const { return impl_->dev.name(); }
void TunDriver::stop() { impl_->stop = true; }
TimePoint TunDriver::now() { return api_detail::to_time_point(link::EventLoop::now()); }

std::error_code TunDriver::open(const TunOptions& o) {
  if (!o.netns.empty()) {
    // The namespace first: the device made afterwards lives there.
    const link::NetnsResult r = link::enter_netns(o.netns);
    if (!r.error.empty()) {
      impl_->why = r.error;
      return std::make_error_code(r.no_such ? std::errc::no_such_file_or_directory
                                            : std::errc::operation_not_permitted);
    }
  }
  link::TunConfig tc;
  tc.name = o.device;
  tc.vigil_addr = to_wire(o.local);
  tc.kernel_addr = to_wire(o.peer);
  tc.mtu = o.mtu;
  const int saved = errno;
  errno = 0;
  if (std::string err = impl_->dev.open(tc); !err.empty()) {
    impl_->why = err;
    const int e = errno ? errno : EINVAL;  // no call failed: the options are bad
    errno = saved;
    return {e, std::generic_category()};
  }
  impl_->why.clear();
  return {};
}

std::error_code TunDriver::run(Stack& stack, Nanos grace) {
  if (impl_->dev.fd() < 0) {
    impl_->why = "the device is not open: call open() first";
    return std::make_error_code(std::errc::bad_file_descriptor);
  }
  api_detail::Core& core = *stack.core_;
  link::EventLoop loop(impl_->dev, core.st);
  if (std::string err = loop.init(); !err.empty()) {
    impl_->why = err;
    return std::make_error_code(std::errc::io_error);
  }
  impl_->stop = false;
  Adapter app(core, impl_->stop);
  if (loop.run(app, Duration::nanos(grace.count())) == link::LoopExit::kError) {
    impl_->why = loop.error();
    return std::make_error_code(std::errc::io_error);
  }
  return {};
}

}  // namespace vigil
