// The one clock type of vigil (DESIGN.md principle 2): integer nanoseconds.
// The core never reads a clock; `Instant` values are passed in by the driver
// (virtual time in the simulator, CLOCK_MONOTONIC on real links).
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <string>

namespace vigil {

// Saturating int64 arithmetic: a result past either end sticks at
// INT64_MAX / INT64_MIN instead of wrapping. Timer deadlines are sums and
// products of user-supplied durations (keepalive.interval * count,
// 2 * msl), and a wrapped sum is a deadline in the past: the connection
// would die at once instead of never (issue 9 point 4).
namespace time_detail {
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t sat_add(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kMax : kMin;
  return r;
}
constexpr int64_t sat_sub(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? kMax : kMin;
  return r;
}
constexpr int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return (a < 0) != (b < 0) ? kMin : kMax;
  return r;
}
}  // namespace time_detail

// Every operator saturates (see time_detail); Duration::max() is the
// largest duration and adding it to an Instant gives Instant::never().
class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration nanos(int64_t n) { return Duration(n); }
  static constexpr Duration micros(int64_t n) { return Duration(time_detail::sat_mul(n, 1000)); }
  static constexpr Duration millis(int64_t n) {
    return Duration(time_detail::sat_mul(n, 1000 * 1000));
  }
  static constexpr Duration seconds(int64_t n) {
    return Duration(time_detail::sat_mul(n, 1000 * 1000 * 1000));
  }
  static constexpr Duration zero() { return Duration(0); }
  static constexpr Duration max() { return Duration(std::numeric_limits<int64_t>::max()); }

  constexpr int64_t ns() const { return ns_; }
  constexpr int64_t us() const { return ns_ / 1000; }
  constexpr int64_t ms() const { return ns_ / (1000 * 1000); }
  constexpr double secs() const { return static_cast<double>(ns_) / 1e9; }

  constexpr Duration operator+(Duration o) const {
    return Duration(time_detail::sat_add(ns_, o.ns_));
  }
  constexpr Duration operator-(Duration o) const {
    return Duration(time_detail::sat_sub(ns_, o.ns_));
  }
  constexpr Duration operator*(int64_t k) const { return Duration(time_detail::sat_mul(ns_, k)); }
  // INT64_MIN / -1 is the one quotient that overflows.
  constexpr Duration operator/(int64_t k) const {
    return k == -1 ? Duration(time_detail::sat_mul(ns_, -1)) : Duration(ns_ / k);
  }
  constexpr Duration& operator+=(Duration o) { return *this = *this + o; }
  constexpr Duration& operator-=(Duration o) { return *this = *this - o; }
  constexpr auto operator<=>(const Duration&) const = default;

 private:
  constexpr explicit Duration(int64_t n) : ns_(n) {}
  int64_t ns_ = 0;
};

// A point on a monotonic time line; zero is wherever the driver's clock
// started (simulation start, or the CLOCK_MONOTONIC origin).
class Instant {
 public:
  constexpr Instant() = default;
  static constexpr Instant from_ns(int64_t n) { return Instant(n); }
  static constexpr Instant zero() { return Instant(0); }
  // "Never": used for disarmed deadlines so min() works without optionals.
  static constexpr Instant never() { return Instant(std::numeric_limits<int64_t>::max()); }

  constexpr int64_t ns() const { return ns_; }
  constexpr double secs() const { return static_cast<double>(ns_) / 1e9; }
  constexpr bool is_never() const { return ns_ == std::numeric_limits<int64_t>::max(); }

  // never() is absorbing: a disarmed deadline moved by any amount stays
  // disarmed. A sum past the end of the time line is never() too.
  constexpr Instant operator+(Duration d) const {
    if (is_never() || d == Duration::max()) return never();
    return Instant(time_detail::sat_add(ns_, d.ns()));
  }
  constexpr Instant operator-(Duration d) const {
    if (is_never()) return never();
    return Instant(time_detail::sat_sub(ns_, d.ns()));
  }
  constexpr Duration operator-(Instant o) const {
    return Duration::nanos(time_detail::sat_sub(ns_, o.ns_));
  }
  constexpr auto operator<=>(const Instant&) const = default;

 private:
  constexpr explicit Instant(int64_t n) : ns_(n) {}
  int64_t ns_ = 0;
};

// "12.345678" seconds with microsecond precision, for timelines.
std::string format_seconds(Instant t);
std::string format_duration(Duration d);

// Parses "75s", "200ms", "15us", "10ns", "2m", "1h", "1.5s". Returns false
// (and leaves *out untouched) on a malformed value.
bool parse_duration(const std::string& text, Duration* out);

}  // namespace vigil
