// The simulator's off-path attacker (src/sim/attacker.hpp): what it forges,
// at what rate, and that the same seed forges the same bytes.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "sim/attacker.hpp"
#include "sim/link.hpp"
#include "wire/packet.hpp"

namespace vigil::sim {
namespace {

const tcp::FourTuple kTuple{{wire::Ipv4Addr::of(10, 0, 0, 2), 47001},
                            {wire::Ipv4Addr::of(10, 0, 0, 1), 40000}};

WindowGuess guess() {
  WindowGuess g;
  g.rcv_nxt = 0xfffff000u;  // the window wraps past 2^32
  g.rcv_wnd = 65535;
  g.snd_una = 5000;
  g.snd_nxt = 5000 + 14600;
  g.ts_recent = 0x7ffffff0u;
  return g;
}

struct Fixture {
  World world{1};
  Attacker attacker;
  explicit Fixture(AttackerConfig cfg, uint64_t seed = 7)
      : attacker(world, std::move(cfg), util::Rng(seed)) {}
};

AttackerConfig config() {
  AttackerConfig c;
  c.tuple = kTuple;
  return c;
}

wire::PacketView parse(std::span<const uint8_t> pkt) {
  wire::PacketView v;
  EXPECT_EQ(wire::parse_packet(pkt, &v), wire::Drop::kNone);
  return v;
}

TEST(SimAttacker, TcpKindsAreForgedFromThePeerInsideTheGuessedWindow) {
  Fixture fx(config());
  std::vector<uint8_t> buf(256);
  const WindowGuess g = guess();
  for (AttackKind k :
       {AttackKind::kRst, AttackKind::kSyn, AttackKind::kData, AttackKind::kBadAckTsval}) {
    for (int i = 0; i < 200; ++i) {
      const size_t n = fx.attacker.forge(k, g, buf);
      ASSERT_GT(n, 0u);
      const auto v = parse(std::span<const uint8_t>(buf.data(), n));
      ASSERT_EQ(v.kind, wire::PacketView::Kind::kTcp);
      EXPECT_EQ(v.ip.src(), kTuple.remote.addr);
      EXPECT_EQ(v.ip.dst(), kTuple.local.addr);
      EXPECT_EQ(v.tcp.src_port(), kTuple.remote.port);
      EXPECT_EQ(v.tcp.dst_port(), kTuple.local.port);
      // (RCV.NXT, RCV.NXT + RCV.WND), RCV.NXT itself excluded.
      const uint32_t off = v.tcp.seq() - g.rcv_nxt;
      EXPECT_GE(off, 1u) << attack_kind_name(k);
      EXPECT_LT(off, g.rcv_wnd) << attack_kind_name(k);
    }
  }
}

TEST(SimAttacker, EachKindCarriesItsFlagsAckAndTimestamp) {
  Fixture fx(config());
  std::vector<uint8_t> buf(256);
  const WindowGuess g = guess();
  auto one = [&](AttackKind k) {
    const size_t n = fx.attacker.forge(k, g, buf);
    return parse(std::span<const uint8_t>(buf.data(), n));
  };
  auto rst = one(AttackKind::kRst);
  EXPECT_EQ(rst.tcp.flags(), wire::tcp_flags::kRst);
  auto syn = one(AttackKind::kSyn);
  EXPECT_EQ(syn.tcp.flags(), wire::tcp_flags::kSyn);
  EXPECT_EQ(syn.tcp.options().mss, 1460);
  auto data = one(AttackKind::kData);
  EXPECT_TRUE(data.tcp.has(wire::tcp_flags::kAck));
  EXPECT_EQ(data.tcp.payload().size(), 64u);
  EXPECT_EQ(data.tcp.options().ts_val, g.ts_recent);  // passes PAWS: the ACK check must stop it
  // Bad ACK: SND.UNA + 2^31 with a TSval 2^30 ahead, then no ACK flag.
  auto bad1 = one(AttackKind::kBadAckTsval);
  EXPECT_EQ(bad1.tcp.flags(), wire::tcp_flags::kAck);
  EXPECT_EQ(bad1.tcp.ack(), g.snd_una + 0x80000000u);
  EXPECT_EQ(bad1.tcp.options().ts_val, g.ts_recent + 0x40000000u);
  EXPECT_TRUE(bad1.tcp.payload().empty());
  auto bad2 = one(AttackKind::kBadAckTsval);
  EXPECT_EQ(bad2.tcp.flags(), 0);
  EXPECT_EQ(bad2.tcp.options().ts_val, g.ts_recent + 0x40000000u);
}

TEST(SimAttacker, IcmpCyclesEveryUnreachableCodeAndSmallMtusQuotingTheFlight) {
  Fixture fx(config());
  std::vector<uint8_t> buf(256);
  const WindowGuess g = guess();
  std::set<int> codes;
  for (int i = 0; i < 15; ++i) {
    const size_t n = fx.attacker.forge(AttackKind::kIcmpUnreachable, g, buf);
    const auto v = parse(std::span<const uint8_t>(buf.data(), n));
    ASSERT_EQ(v.kind, wire::PacketView::Kind::kIcmpUnreachable);
    codes.insert(v.icmp.code());
    EXPECT_EQ(v.ip.dst(), kTuple.local.addr);
    EXPECT_EQ(v.icmp.quoted_src(), kTuple.local.addr);
    EXPECT_EQ(v.icmp.quoted_dst(), kTuple.remote.addr);
    EXPECT_EQ(v.icmp.quoted_src_port(), kTuple.local.port);
    EXPECT_EQ(v.icmp.quoted_dst_port(), kTuple.remote.port);
    EXPECT_LT(v.icmp.quoted_seq() - g.snd_una, g.snd_nxt - g.snd_una);
  }
  // 0..15 but 4: RFC 792, RFC 1122 §3.2.2.1 and RFC 1812 §5.2.7.1's codes.
  EXPECT_EQ(codes, (std::set<int>{0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
  std::vector<int> mtus;
  for (int i = 0; i < 11; ++i) {
    const size_t n = fx.attacker.forge(AttackKind::kIcmpFragNeeded, g, buf);
    const auto v = parse(std::span<const uint8_t>(buf.data(), n));
    EXPECT_EQ(v.icmp.code(), wire::icmp_code::kFragmentationNeeded);
    mtus.push_back(v.icmp.next_hop_mtu());
  }
  EXPECT_EQ(mtus, (std::vector<int>{0, 68, 108, 296, 508, 551, 552, 576, 1006, 1280, 1492}));
}

TEST(SimAttacker, SpoofedSourcesAreUnicastAndVary) {
  AttackerConfig c = config();
  c.spoof_source = true;
  Fixture fx(c);
  std::vector<uint8_t> buf(256);
  std::set<uint32_t> sources;
  for (int i = 0; i < 1000; ++i) {
    const size_t n = fx.attacker.forge(AttackKind::kSyn, std::nullopt, buf);
    const auto v = parse(std::span<const uint8_t>(buf.data(), n));
    const uint32_t a = v.ip.src().value >> 24;
    EXPECT_GE(a, 1u);
    EXPECT_LE(a, 223u);
    EXPECT_NE(a, 127u);
    EXPECT_NE(a, 10u);
    EXPECT_GE(v.tcp.src_port(), 1024);
    EXPECT_EQ(v.ip.dst(), kTuple.local.addr);
    sources.insert(v.ip.src().value);
  }
  EXPECT_EQ(sources.size(), 1000u);  // 2^32 addresses: 1000 draws do not collide here
}

TEST(SimAttacker, InjectsAtItsRateIntoTheLinkTowardsTheVictim) {
  World world(1);
  stack::StackConfig sc;
  sc.address = wire::Ipv4Addr::of(10, 0, 0, 1);
  world.add_host("a", sc);
  sc.address = wire::Ipv4Addr::of(10, 0, 0, 2);
  world.add_host("b", sc);
  LinkConfig lc;
  lc.delay = Duration::millis(1);
  world.set_link(lc, lc);
  AttackerConfig c = config();
  c.kinds = {AttackKind::kRst, AttackKind::kIcmpUnreachable};
  c.count = 100;
  c.start = Instant::zero() + Duration::millis(5);
  c.every = Duration::micros(100);
  auto a = std::make_unique<Attacker>(world, c, util::Rng(3));
  Attacker* at = a.get();
  world.add_app(0, std::move(a));
  // 100 injections at 5 ms + i * 100 us: the last at 14.9 ms, arriving
  // 1 ms later.
  const Instant end = world.run(Instant::zero() + Duration::seconds(1));
  EXPECT_EQ(end, Instant::zero() + Duration::micros(15900));
  EXPECT_TRUE(at->done());
  EXPECT_EQ(at->sent(), 100u);
  EXPECT_EQ(at->sent(AttackKind::kRst), 50u);
  EXPECT_EQ(at->sent(AttackKind::kIcmpUnreachable), 50u);
  EXPECT_EQ(at->guessed(), 0u);
  EXPECT_EQ(world.link(0).stats().offered, 100u);  // host 1's inbound link
  // Blind RSTs and ICMP for no connection: counted, nothing created.
  EXPECT_EQ(world.host(1).stack().stats().datagrams_in, 100u);
  EXPECT_EQ(world.host(1).stack().allocated_connections(), 0u);
}

TEST(SimAttacker, SameSeedSameBytes) {
  auto run = [](uint64_t seed) {
    Fixture fx(config(), seed);
    std::vector<uint8_t> all, buf(256);
    for (int i = 0; i < 60; ++i) {
      const auto k = static_cast<AttackKind>(i % kAttackKinds);
      const size_t n =
          fx.attacker.forge(k, i % 2 ? std::optional<WindowGuess>(guess()) : std::nullopt, buf);
      all.insert(all.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n));
    }
    return all;
  };
  EXPECT_EQ(run(9), run(9));
  EXPECT_NE(run(9), run(10));
}

}  // namespace
}  // namespace vigil::sim
