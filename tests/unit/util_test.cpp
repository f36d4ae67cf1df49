// Unit tests for src/util: time formatting/parsing, SHA-256, SipHash-2-4
// and JsonWriter. Hash expectations come from the published test vectors,
// never from this code's own output.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.hpp"
#include "util/sha256.hpp"
#include "util/siphash.hpp"
#include "vigil/time.hpp"

namespace vigil {
namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// ---- saturating arithmetic (issue 9 point 4) ------------------------------
// Every sum and product of durations sticks at the INT64 end it would pass,
// so a deadline built from huge knobs is "never", not a wrapped past time.

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

TEST(Saturation, DurationAddAtTheEdges) {
  EXPECT_EQ((Duration::max() + Duration::nanos(1)).ns(), kI64Max);
  EXPECT_EQ((Duration::nanos(kI64Max - 1) + Duration::nanos(1)).ns(), kI64Max);
  EXPECT_EQ((Duration::nanos(kI64Max - 1) + Duration::nanos(2)).ns(), kI64Max);
  EXPECT_EQ((Duration::nanos(kI64Min) + Duration::nanos(-1)).ns(), kI64Min);
  EXPECT_EQ((Duration::nanos(kI64Min + 1) + Duration::nanos(-1)).ns(), kI64Min);
  // Inside the range nothing changes, negatives included.
  EXPECT_EQ((Duration::seconds(2) + Duration::millis(-500)).ns(), 1'500'000'000);
  Duration d = Duration::nanos(kI64Max - 5);
  d += Duration::seconds(1);
  EXPECT_EQ(d.ns(), kI64Max);
}

TEST(Saturation, DurationSubtractAtTheEdges) {
  EXPECT_EQ((Duration::nanos(kI64Min) - Duration::nanos(1)).ns(), kI64Min);
  EXPECT_EQ((Duration::max() - Duration::nanos(-1)).ns(), kI64Max);
  EXPECT_EQ((Duration::zero() - Duration::nanos(kI64Min)).ns(), kI64Max);
  EXPECT_EQ((Duration::zero() - Duration::max()).ns(), -kI64Max);
  Duration d = Duration::nanos(kI64Min + 2);
  d -= Duration::seconds(1);
  EXPECT_EQ(d.ns(), kI64Min);
}

TEST(Saturation, DurationMultiplyAtTheEdges) {
  // keepalive.interval = 300000 h times keepalive.count = 9: 9.72e18 ns,
  // past INT64_MAX (9.22e18); it wrapped to -8.7e18 before.
  const Duration interval = Duration::seconds(300000LL * 3600);
  EXPECT_EQ((interval * 9).ns(), kI64Max);
  // msl = 2000000 h doubled for TIME-WAIT: 1.44e19 ns.
  EXPECT_EQ((Duration::seconds(2000000LL * 3600) * 2).ns(), kI64Max);
  EXPECT_EQ((Duration::max() * 2).ns(), kI64Max);
  EXPECT_EQ((Duration::max() * -2).ns(), kI64Min);
  EXPECT_EQ((Duration::nanos(kI64Min) * -1).ns(), kI64Max);
  EXPECT_EQ((Duration::nanos(-3) * kI64Max).ns(), kI64Min);
  EXPECT_EQ((Duration::max() * 1).ns(), kI64Max);
  EXPECT_EQ((Duration::max() * 0).ns(), 0);
  // 2^62 * 2 = 2^63 is one past INT64_MAX; 2^62 * -2 = INT64_MIN exactly.
  EXPECT_EQ((Duration::nanos(int64_t{1} << 62) * 2).ns(), kI64Max);
  EXPECT_EQ((Duration::nanos(int64_t{1} << 62) * -2).ns(), kI64Min);
  EXPECT_EQ((Duration::seconds(3) * 4).ns(), 12'000'000'000);
  EXPECT_EQ((Duration::nanos(kI64Min) / -1).ns(), kI64Max);
}

TEST(Saturation, DurationConstructorsSaturate) {
  // 9223372037 s is the first whole second past INT64_MAX ns.
  EXPECT_EQ(Duration::seconds(9'223'372'036).ns(), 9'223'372'036'000'000'000);
  EXPECT_EQ(Duration::seconds(9'223'372'037).ns(), kI64Max);
  EXPECT_EQ(Duration::seconds(-9'223'372'037).ns(), kI64Min);
  EXPECT_EQ(Duration::millis(kI64Max / 1000).ns(), kI64Max);
  EXPECT_EQ(Duration::micros(kI64Min).ns(), kI64Min);
}

TEST(Saturation, InstantPlusDuration) {
  const Instant t = Instant::from_ns(20'000'000);  // 0.02 s, just after a handshake
  // The keepalive deadline of issue 9: now + idle + interval * count.
  const Duration idle = Duration::seconds(7200);
  const Duration interval = Duration::seconds(300000LL * 3600);
  EXPECT_TRUE((t + (idle + interval * 9)).is_never());
  EXPECT_TRUE((t + Duration::max()).is_never());
  EXPECT_TRUE((Instant::from_ns(kI64Max - 10) + Duration::nanos(11)).is_never());
  EXPECT_TRUE((Instant::from_ns(1) + Duration::nanos(kI64Max - 1)).is_never());
  EXPECT_EQ((Instant::from_ns(1) + Duration::nanos(kI64Max - 2)).ns(), kI64Max - 1);
  EXPECT_EQ((Instant::from_ns(kI64Min + 1) + Duration::nanos(-2)).ns(), kI64Min);
  EXPECT_EQ((Instant::from_ns(5) + Duration::nanos(-7)).ns(), -2);
}

TEST(Saturation, NeverIsAbsorbing) {
  EXPECT_TRUE((Instant::never() + Duration::nanos(1)).is_never());
  EXPECT_TRUE((Instant::never() + Duration::zero()).is_never());
  EXPECT_TRUE((Instant::never() + Duration::nanos(-1)).is_never());
  EXPECT_TRUE((Instant::never() + Duration::nanos(kI64Min)).is_never());
  EXPECT_TRUE((Instant::never() - Duration::seconds(1)).is_never());
  EXPECT_TRUE((Instant::never() - Duration::max()).is_never());
}

TEST(Saturation, InstantMinus) {
  EXPECT_EQ((Instant::from_ns(kI64Min + 1) - Duration::nanos(2)).ns(), kI64Min);
  EXPECT_TRUE((Instant::zero() - Duration::nanos(kI64Min)).is_never());
  EXPECT_EQ((Instant::from_ns(10) - Duration::nanos(3)).ns(), 7);
  EXPECT_EQ((Instant::never() - Instant::from_ns(-1)).ns(), kI64Max);
  EXPECT_EQ((Instant::from_ns(kI64Min) - Instant::from_ns(1)).ns(), kI64Min);
  EXPECT_EQ((Instant::from_ns(3) - Instant::from_ns(10)).ns(), -7);
}

// ---- format_seconds -------------------------------------------------------

TEST(FormatSeconds, Zero) { EXPECT_EQ(format_seconds(Instant::zero()), "0.000000"); }

TEST(FormatSeconds, OneNanosecondTruncates) {
  EXPECT_EQ(format_seconds(Instant::from_ns(1)), "0.000000");
  EXPECT_EQ(format_seconds(Instant::from_ns(999)), "0.000000");
  EXPECT_EQ(format_seconds(Instant::from_ns(1000)), "0.000001");
  EXPECT_EQ(format_seconds(Instant::from_ns(999'999'999)), "0.999999");
}

TEST(FormatSeconds, WholeAndFractionalSeconds) {
  EXPECT_EQ(format_seconds(Instant::zero() + Duration::seconds(7875)), "7875.000000");
  EXPECT_EQ(format_seconds(Instant::from_ns(7200'500'000'000)), "7200.500000");
  EXPECT_EQ(format_seconds(Instant::from_ns(12'345'678'000)), "12.345678");
}

TEST(FormatSeconds, Negative) {
  EXPECT_EQ(format_seconds(Instant::from_ns(-1'500'000'000)), "-1.500000");
  EXPECT_EQ(format_seconds(Instant::from_ns(-7875'000'000'000)), "-7875.000000");
  EXPECT_EQ(format_seconds(Instant::from_ns(-2'000)), "-0.000002");
}

TEST(FormatSeconds, Extremes) {
  EXPECT_EQ(format_seconds(Instant::never()), "9223372036.854775");
  EXPECT_EQ(format_seconds(Instant::from_ns(std::numeric_limits<int64_t>::min())),
            "-9223372036.854775");
}

// ---- format_duration ------------------------------------------------------

TEST(FormatDuration, PicksUnit) {
  EXPECT_EQ(format_duration(Duration::zero()), "0s");
  EXPECT_EQ(format_duration(Duration::nanos(1)), "1ns");
  EXPECT_EQ(format_duration(Duration::nanos(350)), "350ns");
  EXPECT_EQ(format_duration(Duration::nanos(999)), "999ns");
  EXPECT_EQ(format_duration(Duration::micros(1)), "1us");
  EXPECT_EQ(format_duration(Duration::micros(15)), "15us");
  EXPECT_EQ(format_duration(Duration::millis(1)), "1ms");
  EXPECT_EQ(format_duration(Duration::millis(200)), "200ms");
  EXPECT_EQ(format_duration(Duration::seconds(1)), "1s");
  EXPECT_EQ(format_duration(Duration::seconds(75)), "75s");
  EXPECT_EQ(format_duration(Duration::seconds(7875)), "7875s");
}

TEST(FormatDuration, FractionTrimmed) {
  EXPECT_EQ(format_duration(Duration::nanos(1'500)), "1.5us");
  EXPECT_EQ(format_duration(Duration::nanos(1'234)), "1.234us");
  EXPECT_EQ(format_duration(Duration::nanos(1'050)), "1.05us");
  EXPECT_EQ(format_duration(Duration::micros(1'250)), "1.25ms");
  EXPECT_EQ(format_duration(Duration::micros(10'100)), "10.1ms");
  EXPECT_EQ(format_duration(Duration::millis(1'500)), "1.5s");
  EXPECT_EQ(format_duration(Duration::millis(924'600)), "924.6s");
  EXPECT_EQ(format_duration(Duration::millis(60'001)), "60.001s");
}

TEST(FormatDuration, FractionTruncatedToThreeDigits) {
  EXPECT_EQ(format_duration(Duration::nanos(1'234'567)), "1.234ms");
  EXPECT_EQ(format_duration(Duration::nanos(999'999)), "999.999us");
  EXPECT_EQ(format_duration(Duration::nanos(999'999'999)), "999.999ms");
  EXPECT_EQ(format_duration(Duration::nanos(1'000'000'001)), "1s");
  EXPECT_EQ(format_duration(Duration::max()), "9223372036.854s");
}

TEST(FormatDuration, Negative) {
  EXPECT_EQ(format_duration(Duration::nanos(-350)), "-350ns");
  EXPECT_EQ(format_duration(Duration::millis(-1'500)), "-1.5s");
}

// ---- parse_duration -------------------------------------------------------

int64_t parsed_ns(const std::string& text) {
  Duration d = Duration::nanos(-42);
  EXPECT_TRUE(parse_duration(text, &d)) << text;
  return d.ns();
}

TEST(ParseDuration, IntegerValues) {
  EXPECT_EQ(parsed_ns("10ns"), 10);
  EXPECT_EQ(parsed_ns("15us"), 15'000);
  EXPECT_EQ(parsed_ns("200ms"), 200'000'000);
  EXPECT_EQ(parsed_ns("75s"), 75'000'000'000);
  EXPECT_EQ(parsed_ns("2m"), 120'000'000'000);
  EXPECT_EQ(parsed_ns("1h"), 3'600'000'000'000);
  EXPECT_EQ(parsed_ns("0s"), 0);
  EXPECT_EQ(parsed_ns("0ns"), 0);
  EXPECT_EQ(parsed_ns("007s"), 7'000'000'000);
}

TEST(ParseDuration, FractionalValuesAreExact) {
  EXPECT_EQ(parsed_ns("1.5s"), 1'500'000'000);
  EXPECT_EQ(parsed_ns("0.25ms"), 250'000);
  EXPECT_EQ(parsed_ns("0.1s"), 100'000'000);
  EXPECT_EQ(parsed_ns("1.5us"), 1'500);
  EXPECT_EQ(parsed_ns("0.001us"), 1);
  EXPECT_EQ(parsed_ns("0.000000001s"), 1);
  EXPECT_EQ(parsed_ns("1.000000000000000000000000s"), 1'000'000'000);
  EXPECT_EQ(parsed_ns("2.0ns"), 2);
  EXPECT_EQ(parsed_ns("0.5m"), 30'000'000'000);
  EXPECT_EQ(parsed_ns("0.1m"), 6'000'000'000);
  // 1e-10 h = 0.36 us: ten fraction digits, still whole nanoseconds.
  EXPECT_EQ(parsed_ns("0.0000000001h"), 360);
  // 13 significant fraction digits is the most that can be exact (in hours).
  EXPECT_EQ(parsed_ns("0.0000000000025h"), 9);
  EXPECT_EQ(parsed_ns("924.6s"), 924'600'000'000);
}

TEST(ParseDuration, RoundTripsFormatDuration) {
  for (int64_t ns : {int64_t{1}, int64_t{350}, int64_t{1'500}, int64_t{1'250'000},
                     int64_t{200'000'000}, int64_t{924'600'000'000}}) {
    EXPECT_EQ(parsed_ns(format_duration(Duration::nanos(ns))), ns);
  }
}

TEST(ParseDuration, Int64Limits) {
  EXPECT_EQ(parsed_ns("9223372036854775807ns"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parsed_ns("9223372036.854775807s"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parsed_ns("2562047h"), 2562047 * int64_t{3'600'000'000'000});
}

void expect_rejected(const std::string& text) {
  Duration d = Duration::nanos(12345);
  EXPECT_FALSE(parse_duration(text, &d)) << '"' << text << '"';
  EXPECT_EQ(d.ns(), 12345) << "output changed for \"" << text << '"';
}

TEST(ParseDuration, RejectsEmptyAndMissingParts) {
  expect_rejected("");
  expect_rejected("s");
  expect_rejected("ms");
  expect_rejected("10");
  expect_rejected("1.5");
  expect_rejected(".5s");
  expect_rejected("1.s");
}

TEST(ParseDuration, RejectsUnknownUnit) {
  expect_rejected("10x");
  expect_rejected("10sec");
  expect_rejected("10S");
  expect_rejected("10mss");
  expect_rejected("10d");
  expect_rejected("1ms5");
  expect_rejected("1s1");
  expect_rejected(std::string("1s\0", 3));
}

TEST(ParseDuration, RejectsSignsAndSpaces) {
  expect_rejected("-1s");
  expect_rejected("+1s");
  expect_rejected(" 1s");
  expect_rejected("1s ");
  expect_rejected("1 s");
  expect_rejected("1. 5s");
}

TEST(ParseDuration, RejectsMultipleDots) {
  expect_rejected("1.2.3s");
  expect_rejected("1..5s");
  expect_rejected("..s");
}

TEST(ParseDuration, RejectsFractionalNanoseconds) {
  expect_rejected("1.5ns");
  expect_rejected("0.0001us");
  expect_rejected("0.0000000001s");
  expect_rejected("0.00000000000001h");
  expect_rejected("0.3333333333333333333333333333h");
}

TEST(ParseDuration, RejectsOverflow) {
  expect_rejected("9223372036854775808ns");
  expect_rejected("9223372036.854775808s");
  expect_rejected("9223372037s");
  expect_rejected("2562048h");
  expect_rejected("99999999999999999999999999s");
}

}  // namespace

namespace util {
namespace {

// ---- SHA-256 (FIPS 180-4; NIST example vectors) ---------------------------

TEST(Sha256, EmptyMessage) {
  EXPECT_EQ(sha256_hex({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Abc) {
  EXPECT_EQ(sha256_hex(bytes_of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TwoBlockMessage448Bits) {
  EXPECT_EQ(sha256_hex(bytes_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, Message896Bits) {
  EXPECT_EQ(sha256_hex(bytes_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                                "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, OneMillionAInUnevenChunks) {
  const std::vector<uint8_t> data(1'000'000, 'a');
  // Chunk sizes cycle through values around the 64-byte block size so that
  // every buffering path (partial top-up, exact fill, many blocks) is hit.
  const size_t sizes[] = {1, 63, 64, 65, 0, 7, 127, 128, 200, 4096, 3, 1000, 55, 56, 57};
  Sha256 h;
  size_t pos = 0;
  for (size_t i = 0; pos < data.size(); ++i) {
    const size_t n = std::min(sizes[i % std::size(sizes)], data.size() - pos);
    h.update(std::span(data).subspan(pos, n));
    pos += n;
  }
  EXPECT_EQ(Sha256::hex(h.finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, OneMillionAOneShot) {
  const std::vector<uint8_t> data(1'000'000, 'a');
  EXPECT_EQ(sha256_hex(data), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, ByteAtATimeMatchesOneShot) {
  // Lengths around the padding boundary (55/56 bytes) and block boundary.
  std::string msg;
  for (int i = 0; i < 130; ++i) msg += static_cast<char>('A' + i % 26);
  for (size_t len : {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 130}) {
    const auto data = bytes_of(msg).first(len);
    Sha256 h;
    for (size_t i = 0; i < len; ++i) h.update(data.subspan(i, 1));
    EXPECT_EQ(Sha256::hex(h.finish()), sha256_hex(data)) << len;
  }
}

// ---- SipHash-2-4 ----------------------------------------------------------

// vectors_sip64 from the SipHash reference implementation (vectors.h of
// github.com/veorq/SipHash), each 8-byte entry read little-endian: key
// 00 01 .. 0f, message 00 01 .. (len-1). Entry 15 is the paper's
// Appendix A example, a129ca6149be45e5.
constexpr std::array<uint64_t, 64> kSip64 = {
    0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a, 0x85676696d7fb7e2d,
    0xcf2794e0277187b7, 0x18765564cd99a68d, 0xcbc9466e58fee3ce, 0xab0200f58b01d137,
    0x93f5f5799a932462, 0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
    0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee, 0xa129ca6149be45e5,
    0x3f2acc7f57c29bdb, 0x699ae9f52cbe4794, 0x4bc1b3f0968dd39c, 0xbb6dc91da77961bd,
    0xbed65cf21aa2ee98, 0xd0f2cbb02e3b67c7, 0x93536795e3a33e88, 0xa80c038ccd5ccec8,
    0xb8ad50c6f649af94, 0xbce192de8a85b8ea, 0x17d835b85bbb15f3, 0x2f2e6163076bcfad,
    0xde4daaaca71dc9a5, 0xa6a2506687956571, 0xad87a3535c49ef28, 0x32d892fad841c342,
    0x7127512f72f27cce, 0xa7f32346f95978e3, 0x12e0b01abb051238, 0x15e034d40fa197ae,
    0x314dffbe0815a3b4, 0x027990f029623981, 0xcadcd4e59ef40c4d, 0x9abfd8766a33735c,
    0x0e3ea96b5304a7d0, 0xad0c42d6fc585992, 0x187306c89bc215a9, 0xd4a60abcf3792b95,
    0xf935451de4f21df2, 0xa9538f0419755787, 0xdb9acddff56ca510, 0xd06c98cd5c0975eb,
    0xe612a3cb9ecba951, 0xc766e62cfcadaf96, 0xee64435a9752fe72, 0xa192d576b245165a,
    0x0a8787bf8ecb74b2, 0x81b3e73d20b49b6f, 0x7fa8220ba3b2ecea, 0x245731c13ca42499,
    0xb78dbfaf3a8d83bd, 0xea1ad565322a1a0b, 0x60e61c23a3795013, 0x6606d7e446282b93,
    0x6ca4ecb15c5f91e1, 0x9f626da15c9625f3, 0xe51b38608ef25f57, 0x958a324ceb064572,
};

std::array<uint8_t, 16> reference_key() {
  std::array<uint8_t, 16> key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  return key;
}

std::array<uint8_t, 64> reference_message() {
  std::array<uint8_t, 64> msg;
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<uint8_t>(i);
  return msg;
}

TEST(SipHash24, PaperVectorsSelectedLengths) {
  const auto key = reference_key();
  const auto msg = reference_message();
  EXPECT_EQ(siphash24(key, std::span(msg).first(0)), 0x726fdb47dd0e0e31u);
  EXPECT_EQ(siphash24(key, std::span(msg).first(1)), 0x74f839c593dc67fdu);
  EXPECT_EQ(siphash24(key, std::span(msg).first(7)), 0xab0200f58b01d137u);
  EXPECT_EQ(siphash24(key, std::span(msg).first(8)), 0x93f5f5799a932462u);
  EXPECT_EQ(siphash24(key, std::span(msg).first(15)), 0xa129ca6149be45e5u);
  EXPECT_EQ(siphash24(key, std::span(msg).first(63)), 0x958a324ceb064572u);
}

TEST(SipHash24, AllReferenceVectors) {
  const auto key = reference_key();
  const auto msg = reference_message();
  for (size_t len = 0; len < kSip64.size(); ++len) {
    EXPECT_EQ(siphash24(key, std::span(msg).first(len)), kSip64[len]) << "length " << len;
  }
}

TEST(SipHash24, KeyMatters) {
  auto key = reference_key();
  const auto msg = reference_message();
  key[15] ^= 1;
  EXPECT_NE(siphash24(key, std::span(msg).first(15)), kSip64[15]);
}

// ---- JsonWriter -----------------------------------------------------------

TEST(JsonWriter, EmptyContainers) {
  EXPECT_EQ(JsonWriter(false).begin_object().end_object().str(), "{}");
  EXPECT_EQ(JsonWriter(true).begin_object().end_object().str(), "{}");
  EXPECT_EQ(JsonWriter(false).begin_array().end_array().str(), "[]");
  EXPECT_EQ(JsonWriter(true).begin_array().end_array().str(), "[]");
}

void write_nested(JsonWriter& w) {
  w.begin_object();
  w.key("name").value("vigil");
  w.key("port").value(8080);
  w.key("ok").value(true);
  w.key("missing").null();
  w.key("list").begin_array();
  w.value(1).value(int64_t{-2});
  w.begin_object().key("x").value(uint64_t{18446744073709551615u}).end_object();
  w.begin_array().end_array();
  w.end_array();
  w.key("empty").begin_object().end_object();
  w.key("t").raw_number("7875.000000");
  w.end_object();
}

TEST(JsonWriter, NestedCompact) {
  JsonWriter w(false);
  write_nested(w);
  EXPECT_EQ(w.str(), R"({"name":"vigil","port":8080,"ok":true,"missing":null,)"
                     R"("list":[1,-2,{"x":18446744073709551615},[]],"empty":{},"t":7875.000000})");
}

TEST(JsonWriter, NestedPretty) {
  JsonWriter w;  // pretty is the default
  write_nested(w);
  EXPECT_EQ(w.str(), R"({
  "name": "vigil",
  "port": 8080,
  "ok": true,
  "missing": null,
  "list": [
    1,
    -2,
    {
      "x": 18446744073709551615
    },
    []
  ],
  "empty": {},
  "t": 7875.000000
})");
}

TEST(JsonWriter, TopLevelScalarsAndArrays) {
  EXPECT_EQ(JsonWriter(false).value("x").str(), R"("x")");
  EXPECT_EQ(JsonWriter(false).value(false).str(), "false");
  JsonWriter w(true);
  w.begin_array().value("a").begin_array().value(1u).end_array().end_array();
  EXPECT_EQ(w.str(), "[\n  \"a\",\n  [\n    1\n  ]\n]");
}

TEST(JsonWriter, StringLiteralIsAStringNotABool) {
  JsonWriter w(false);
  w.begin_array().value("true").value(std::string("s")).end_array();
  EXPECT_EQ(w.str(), R"(["true","s"])");
}

TEST(JsonWriter, EscapesStrings) {
  JsonWriter w(false);
  w.begin_object();
  w.key("q\"k").value(
      std::string_view("a\"b\\c\nd\x01"
                       "e\x1f\t\r\b\f/\x7f"));
  w.key("nul").value(std::string_view("x\0y", 3));
  w.key("utf8").value("caf\xc3\xa9");
  w.end_object();
  EXPECT_EQ(w.str(),
            "{\"q\\\"k\":\"a\\\"b\\\\c\\nd\\u0001e\\u001f\\t\\r\\b\\f/\x7f\","
            "\"nul\":\"x\\u0000y\",\"utf8\":\"caf\xc3\xa9\"}");
}

// Issue 13 point 15: a capture named in Latin-1 ("caf\xe9.pcap") must still
// give valid JSON, which is UTF-8 (RFC 8259 §8.1). Each byte that starts no
// valid RFC 3629 sequence becomes \ufffd; valid multi-byte sequences pass.
TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacter) {
  auto str = [](std::string_view s) { return JsonWriter(false).value(s).str(); };
  EXPECT_EQ(str("caf\xe9.pcap"), "\"caf\\ufffd.pcap\"");                   // Latin-1 é
  EXPECT_EQ(str("caf\xc3\xa9.pcap"), "\"caf\xc3\xa9.pcap\"");              // UTF-8 é kept
  EXPECT_EQ(str("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");              // U+1F600 kept
  EXPECT_EQ(str("\xc0\xaf"), "\"\\ufffd\\ufffd\"");                        // overlong '/'
  EXPECT_EQ(str("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");             // surrogate D800
  EXPECT_EQ(str("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // > U+10FFFF
  EXPECT_EQ(str("a\xe2\x82"), "\"a\\ufffd\\ufffd\"");                      // truncated at the end
  EXPECT_EQ(JsonWriter(false).begin_object().key("\xff").value(1).end_object().str(),
            "{\"\\ufffd\":1}");
}

TEST(JsonWriter, Doubles) {
  JsonWriter w(false);
  w.begin_array();
  w.value(0.0).value(-0.0).value(1.0).value(0.1).value(-2.5).value(1e21).value(1.5e-7);
  w.value(123456.789).value(5e-324).value(1.7976931348623157e308);
  w.end_array();
  EXPECT_EQ(w.str(), "[0,-0,1,0.1,-2.5,1e+21,1.5e-07,123456.789,5e-324,1.7976931348623157e+308]");
}

TEST(JsonWriter, NonFiniteDoublesAreNull) {
  JsonWriter w(false);
  w.begin_array();
  w.value(std::numeric_limits<double>::quiet_NaN());
  w.value(std::numeric_limits<double>::infinity());
  w.value(-std::numeric_limits<double>::infinity());
  w.end_array();
  EXPECT_EQ(w.str(), "[null,null,null]");
}

TEST(JsonWriter, IntegerExtremes) {
  JsonWriter w(false);
  w.begin_array();
  w.value(std::numeric_limits<int64_t>::min()).value(std::numeric_limits<int64_t>::max());
  w.value(std::numeric_limits<int>::min()).value(std::numeric_limits<unsigned>::max());
  w.end_array();
  EXPECT_EQ(w.str(), "[-9223372036854775808,9223372036854775807,-2147483648,4294967295]");
}

#ifndef NDEBUG
TEST(JsonWriterDeathTest, ValueWithoutKeyAsserts) {
  EXPECT_DEATH(
      {
        JsonWriter w(false);
        w.begin_object().value(1);
      },
      "needs a key");
}

TEST(JsonWriterDeathTest, MismatchedEndAsserts) {
  EXPECT_DEATH(
      {
        JsonWriter w(false);
        w.begin_object().end_array();
      },
      "end_array");
}
#endif

}  // namespace
}  // namespace util
}  // namespace vigil
