// Text forms of Duration and Instant. Everything is integer arithmetic on
// nanoseconds so that printing and parsing are exact and platform-independent.
#include "vigil/time.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace vigil {
namespace {

constexpr uint64_t kNsPerUs = 1000;
constexpr uint64_t kNsPerMs = 1000 * kNsPerUs;
constexpr uint64_t kNsPerSec = 1000 * kNsPerMs;

// |n| as unsigned, so INT64_MIN does not overflow on negation.
uint64_t magnitude(int64_t n) {
  return n < 0 ? uint64_t{0} - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
}

// `frac` zero-padded to `width` digits.
std::string padded(uint64_t frac, int width) {
  std::string digits = std::to_string(frac);
  if (static_cast<int>(digits.size()) < width) {
    digits.insert(0, static_cast<size_t>(width) - digits.size(), '0');
  }
  return digits;
}

// "<whole>[.<frac>]<unit>" with `frac` given in thousandths and trailing
// zeros (and a bare '.') dropped.
std::string with_millis(uint64_t whole, uint64_t thousandths, std::string_view unit) {
  std::string out = std::to_string(whole);
  if (thousandths != 0) {
    std::string frac = padded(thousandths, 3);
    while (frac.back() == '0') frac.pop_back();
    out += '.';
    out += frac;
  }
  out += unit;
  return out;
}

uint64_t gcd(uint64_t a, uint64_t b) {
  while (b != 0) {
    const uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Nanoseconds per unit, or 0 for an unknown unit.
uint64_t unit_ns(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return kNsPerUs;
  if (unit == "ms") return kNsPerMs;
  if (unit == "s") return kNsPerSec;
  if (unit == "m") return 60 * kNsPerSec;
  if (unit == "h") return 3600 * kNsPerSec;
  return 0;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

// Truncates toward zero to whole microseconds; any negative value keeps its
// sign (as printf("%.6f") does), even when the digits are all zero.
std::string format_seconds(Instant t) {
  const uint64_t m = magnitude(t.ns());
  std::string out = t.ns() < 0 ? "-" : "";
  out += std::to_string(m / kNsPerSec);
  out += '.';
  out += padded((m % kNsPerSec) / kNsPerUs, 6);
  return out;
}

// The fraction is truncated (not rounded) to three digits of the chosen
// unit, so a value never rolls over into "1000ms".
std::string format_duration(Duration d) {
  const uint64_t m = magnitude(d.ns());
  const std::string sign = d.ns() < 0 ? "-" : "";
  if (m == 0) return "0s";
  if (m < kNsPerUs) return sign + std::to_string(m) + "ns";
  if (m < kNsPerMs) return sign + with_millis(m / kNsPerUs, m % kNsPerUs, "us");
  if (m < kNsPerSec) return sign + with_millis(m / kNsPerMs, (m % kNsPerMs) / kNsPerUs, "ms");
  return sign + with_millis(m / kNsPerSec, (m % kNsPerSec) / kNsPerMs, "s");
}

// Grammar: digits [ '.' digits ] unit. Both digit runs are parsed as
// integers so "0.1s" is exactly 100000000ns rather than a rounded double.
bool parse_duration(const std::string& text, Duration* out) {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  const std::string_view s(text);
  size_t i = 0;

  uint64_t whole = 0;
  const size_t whole_begin = i;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    const uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (whole > (kMax - digit) / 10) return false;
    whole = whole * 10 + digit;
  }
  if (i == whole_begin) return false;

  std::string_view frac;
  if (i < s.size() && s[i] == '.') {
    const size_t frac_begin = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    frac = s.substr(frac_begin, i - frac_begin);
    if (frac.empty()) return false;
  }

  const uint64_t mult = unit_ns(s.substr(i));
  if (mult == 0) return false;

  // Trailing zeros carry no value; dropping them keeps the numerator small.
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  uint64_t frac_ns = 0;
  if (!frac.empty()) {
    // An exact fraction has at most 13 significant digits (the hour,
    // 3600e9 = 2^13 * 3^2 * 5^11 ns, allows the most), so past 18 digits,
    // where num and den would stop fitting in uint64, it is never exact.
    if (frac.size() > 18) return false;
    uint64_t num = 0;
    uint64_t den = 1;
    for (char c : frac) {
      num = num * 10 + static_cast<uint64_t>(c - '0');
      den *= 10;
    }
    // frac_ns = num * mult / den, reduced first so it cannot overflow:
    // the result is below mult.
    const uint64_t g = gcd(mult, den);
    const uint64_t den_left = den / g;
    if (num % den_left != 0) return false;
    frac_ns = (num / den_left) * (mult / g);
  }

  if (whole > (kMax - frac_ns) / mult) return false;
  *out = Duration::nanos(static_cast<int64_t>(whole * mult + frac_ns));
  return true;
}

}  // namespace vigil
