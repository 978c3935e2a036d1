// The PTP parser (src/analysis/ptp_wire.hpp) against messages built from IEEE 1588-2008 section 13,
// over both transports, and against truncated, oversized and contradictory ones.
#include <gtest/gtest.h>

#include "analysis/packet_parser.hpp"
#include "analysis/ptp_wire.hpp"
#include "ptp_frames.hpp"

namespace rtcap {
namespace {

namespace ptpw = analysis::ptp;

TEST(PtpWire, AnnounceFieldsAsPublished) {
  Ptp a;
  a.type = 0xB;
  a.domain = 127;
  a.seq = 4242;
  a.log_interval = -2;
  a.utc_offset = 37;
  a.priority1 = 100;
  a.clock_class = 6;
  a.accuracy = 0x21;
  a.variance = 0x4E5D;
  a.priority2 = 99;
  const std::uint8_t gm[8] = {0x39, 0xA7, 0x94, 0xFF, 0xFE, 0x07, 0xCB, 0xD0};
  std::copy(gm, gm + 8, a.gm);
  a.steps_removed = 1;
  a.time_source = 0x20;  // GPS
  const Bytes b = ptp(a);
  ASSERT_EQ(b.size(), 64u);
  ptpw::Message m;
  ASSERT_EQ(ptpw::parse_ptp(b.data(), b.size(), m), ptpw::ParseResult::kOk);
  EXPECT_EQ(m.type, 0xB);
  EXPECT_EQ(m.length, 64);
  EXPECT_EQ(m.domain, 127);
  EXPECT_EQ(m.sequence_id, 4242);
  EXPECT_EQ(m.log_interval, -2);
  EXPECT_EQ(m.announce.current_utc_offset, 37);
  EXPECT_EQ(m.announce.priority1, 100);
  EXPECT_EQ(m.announce.clock_class, 6);
  EXPECT_EQ(m.announce.clock_accuracy, 0x21);
  EXPECT_EQ(m.announce.offset_scaled_log_variance, 0x4E5D);
  EXPECT_EQ(m.announce.priority2, 99);
  EXPECT_EQ(0, std::memcmp(m.announce.grandmaster, gm, 8));
  EXPECT_EQ(m.announce.steps_removed, 1);
  EXPECT_EQ(m.announce.time_source, 0x20);
  EXPECT_EQ(0, std::memcmp(m.source.clock, a.clock, 8));
  EXPECT_EQ(m.source.port, 1);
}

TEST(PtpWire, SyncAndFollowUpTimestampsTwoStep) {
  Ptp s;
  s.type = 0;
  s.flags = 0x0200;
  s.seq = 7;
  s.log_interval = -3;
  const Bytes sync = ptp(s);
  ASSERT_EQ(sync.size(), 44u);
  ptpw::Message m;
  ASSERT_EQ(ptpw::parse_ptp(sync.data(), sync.size(), m), ptpw::ParseResult::kOk);
  EXPECT_TRUE(m.two_step());
  EXPECT_EQ(m.log_interval, -3);
  Ptp f = s;
  f.type = 8;
  f.flags = 0;
  f.ts_s = 0x0001'2345'6789ull;  // needs all 48 bits
  f.ts_ns = 999'999'999;
  f.correction_ns = 1500;
  const Bytes fu = ptp(f);
  ASSERT_EQ(ptpw::parse_ptp(fu.data(), fu.size(), m), ptpw::ParseResult::kOk);
  EXPECT_EQ(m.type, 8);
  EXPECT_EQ(m.sequence_id, 7);
  EXPECT_EQ(m.timestamp.seconds, 0x0001'2345'6789ull);
  EXPECT_EQ(m.timestamp.nanoseconds, 999'999'999u);
  EXPECT_TRUE(m.timestamp.valid());
  EXPECT_EQ(m.correction, 1500 * 65536);
}

TEST(PtpWire, DelayRespCarriesTheRequester) {
  Ptp d;
  d.type = 9;
  const Bytes b = ptp(d);
  ASSERT_EQ(b.size(), 54u);
  ptpw::Message m;
  ASSERT_EQ(ptpw::parse_ptp(b.data(), b.size(), m), ptpw::ParseResult::kOk);
  EXPECT_EQ(m.requesting.clock[0], 0x44);
  EXPECT_EQ(m.requesting.port, 0x4444);
}

TEST(PtpWire, OverUdpAndOverEthernetBehindVlan) {
  Ptp a;
  a.type = 0xB;
  const Bytes msg = ptp(a);
  const Bytes f4 = ptp_udp4(msg);
  auto pk = analysis::parse_packet(f4.data(), f4.size(), f4.size(), kDltEn10mb);
  ASSERT_EQ(pk.cls, analysis::ParseClass::kUdp);
  EXPECT_EQ(pk.dst_port, ptpw::kGeneralPort);
  EXPECT_FALSE(pk.ptp_l2);
  for (const auto& tags : {std::vector<std::uint16_t>{}, std::vector<std::uint16_t>{0x8100},
                           std::vector<std::uint16_t>{0x88A8, 0x8100}}) {
    const Bytes f2 = ptp_l2(msg, tags);
    pk = analysis::parse_packet(f2.data(), f2.size(), f2.size(), kDltEn10mb);
    EXPECT_EQ(pk.cls, analysis::ParseClass::kOther);
    ASSERT_TRUE(pk.ptp_l2);
    ptpw::Message m;
    EXPECT_EQ(ptpw::parse_ptp(pk.payload, pk.payload_len, m), ptpw::ParseResult::kOk);
    EXPECT_EQ(m.type, 0xB);
  }
  // A padded L2 Sync (44 bytes in a 60-byte frame): the padding is not part of the message.
  Ptp s;
  const Bytes f2 = ptp_l2(ptp(s));
  pk = analysis::parse_packet(f2.data(), f2.size(), f2.size(), kDltEn10mb);
  ASSERT_TRUE(pk.ptp_l2);
  EXPECT_EQ(pk.payload_len, 46u);
  ptpw::Message m;
  EXPECT_EQ(ptpw::parse_ptp(pk.payload, pk.payload_len, m), ptpw::ParseResult::kOk);
  EXPECT_EQ(m.length, 44);
}

TEST(PtpWire, HostileMessagesAreRefusedNeverOverread) {
  Ptp a;
  a.type = 0xB;
  const Bytes full = ptp(a);
  ptpw::Message m;
  // Truncated: every prefix of an Announce.
  for (std::size_t n = 0; n < full.size(); ++n) {
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(ptpw::parse_ptp(cut.data(), cut.size(), m), ptpw::ParseResult::kOk) << n;
  }
  // messageLength beyond the captured bytes (oversized claim).
  a.length_override = 1400;
  Bytes b = ptp(a);
  EXPECT_EQ(ptpw::parse_ptp(b.data(), b.size(), m), ptpw::ParseResult::kTruncated);
  // messageLength shorter than the type's body (an Announce of 44 bytes).
  a.length_override = 44;
  b = ptp(a);
  EXPECT_EQ(ptpw::parse_ptp(b.data(), b.size(), m), ptpw::ParseResult::kBadLength);
  // Reserved message type, PTPv1.
  Ptp r;
  r.type = 5;
  b = ptp(r);
  EXPECT_EQ(ptpw::parse_ptp(b.data(), b.size(), m), ptpw::ParseResult::kUnknownType);
  r.type = 0;
  r.version = 1;
  b = ptp(r);
  EXPECT_EQ(ptpw::parse_ptp(b.data(), b.size(), m), ptpw::ParseResult::kBadVersion);
  // A nanoseconds field of 1e9 or more parses but is not a valid time.
  Ptp f;
  f.type = 8;
  f.ts_ns = 1'000'000'000;
  b = ptp(f);
  ASSERT_EQ(ptpw::parse_ptp(b.data(), b.size(), m), ptpw::ParseResult::kOk);
  EXPECT_FALSE(m.timestamp.valid());
  // An L2 frame cut right after the EtherType.
  Bytes l2 = ether(0x88F7, {});
  auto pk = analysis::parse_packet(l2.data(), l2.size(), l2.size(), kDltEn10mb);
  ASSERT_TRUE(pk.ptp_l2);
  EXPECT_EQ(pk.payload_len, 0u);
  EXPECT_EQ(ptpw::parse_ptp(pk.payload, pk.payload_len, m), ptpw::ParseResult::kTruncated);
}

}  // namespace
}  // namespace rtcap
