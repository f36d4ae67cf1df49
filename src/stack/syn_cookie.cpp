#include "stack/syn_cookie.hpp"

#include "util/siphash.hpp"
#include "wire/bytes.hpp"

namespace vigil::stack {

namespace {
constexpr uint32_t kCookieBits = 24;
constexpr uint32_t kCookieMask = (1u << kCookieBits) - 1;
constexpr uint32_t kDataMask = 0x3;  // the MSS index: 4 table entries
// A cookie is good in the period it was made and the next one.
constexpr uint32_t kMaxAge = 1;
}  // namespace

uint8_t SynCookies::mss_index(uint16_t peer_mss) {
  uint8_t i = static_cast<uint8_t>(kMssTable.size() - 1);
  while (i > 0 && peer_mss < kMssTable[i]) --i;
  return i;
}

uint32_t SynCookies::hash(const tcp::FourTuple& t, uint32_t count, uint32_t syn_seq, uint8_t data,
                          uint8_t domain) const {
  std::array<uint8_t, 22> b{};
  wire::store_be32(&b[0], t.local.addr.value);
  wire::store_be16(&b[4], t.local.port);
  wire::store_be32(&b[6], t.remote.addr.value);
  wire::store_be16(&b[10], t.remote.port);
  wire::store_be32(&b[12], count);
  wire::store_be32(&b[16], syn_seq);
  b[20] = data;
  b[21] = domain;  // distinct from the ISN (0) and timestamp-offset (1) hashes
  return static_cast<uint32_t>(util::siphash24(secret_, b));
}

uint32_t SynCookies::make(const tcp::FourTuple& t, uint32_t syn_seq, Instant now,
                          uint8_t mss_idx) const {
  const uint32_t count = counter(now);
  const uint32_t check = hash(t, count, syn_seq, mss_idx, 3) & kCookieMask & ~kDataMask;
  return hash(t, 0, 0, 0, 2) + (count << kCookieBits) + (check | mss_idx);
}

std::optional<uint8_t> SynCookies::check(const tcp::FourTuple& t, uint32_t syn_seq, uint32_t cookie,
                                         Instant now) const {
  const uint32_t count = counter(now);
  const uint32_t v = cookie - hash(t, 0, 0, 0, 2);
  // The top 8 bits hold the counter it was made with (mod 256).
  const uint32_t age = (count - (v >> kCookieBits)) & 0xff;
  if (age > kMaxAge) return std::nullopt;
  const auto idx = static_cast<uint8_t>(v & kDataMask);
  const uint32_t want = hash(t, count - age, syn_seq, idx, 3) & kCookieMask & ~kDataMask;
  if ((v & kCookieMask & ~kDataMask) != want) return std::nullopt;
  return idx;
}

uint32_t SynCookies::encode_ts(uint32_t ts_now, bool wscale, uint8_t shift, bool sack) {
  uint32_t opts = wscale ? (shift & 0xfu) : kNoWscale;
  if (sack) opts |= 1u << 4;
  uint32_t ts = (ts_now & ~kTsMask) | opts;
  if (static_cast<int32_t>(ts - ts_now) > 0) ts -= kTsMask + 1;  // never ahead of the clock
  return ts;
}

std::optional<SynCookies::TsOptions> SynCookies::decode_ts(uint32_t ts_ecr) {
  if (ts_ecr & (1u << 5)) return std::nullopt;
  TsOptions o;
  const uint32_t w = ts_ecr & 0xf;
  if (w != kNoWscale) {  // 0..14: a shift (RFC 7323 §2.3's maximum is 14)
    o.wscale = true;
    o.shift = static_cast<uint8_t>(w);
  }
  o.sack = (ts_ecr & (1u << 4)) != 0;
  return o;
}

}  // namespace vigil::stack
