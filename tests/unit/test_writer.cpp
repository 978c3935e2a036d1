// Capture-file writer: formats, read back with libpcap byte for byte, and checked with the
// independent readers (tcpdump, tshark) when installed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "wire/wire.hpp"
#include "rtcap/writer.hpp"
#include "test_writer_util.hpp"

namespace rtcap {
namespace {

using test::Expected;
using test::TempDir;

void expect_same(const std::vector<Expected>& expected, const test::ReadResult& got, bool nano) {
  ASSERT_TRUE(got.open_error.empty()) << got.open_error;
  EXPECT_EQ(got.end_status, PCAP_ERROR_BREAK) << got.end_error;
  ASSERT_EQ(got.packets.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Expected& e = expected[i];
    const test::ReadPacket& p = got.packets[i];
    SCOPED_TRACE("packet " + std::to_string(i));
    EXPECT_EQ(p.ts_sec, e.ts_ns / 1'000'000'000);
    EXPECT_EQ(p.ts_frac, nano ? e.ts_ns % 1'000'000'000 : e.ts_ns % 1'000'000'000 / 1000);
    EXPECT_EQ(p.caplen, e.bytes.size());
    EXPECT_EQ(p.len, e.wire_len);
    EXPECT_EQ(p.bytes, e.bytes);
  }
}

struct Case {
  bool pcapng;
  TimestampPrecision precision;
  bool packet_buffered;
  std::size_t buffer_bytes;
};

class WriterRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(WriterRoundTrip, LibpcapReadsEveryByteBack) {
  const Case c = GetParam();
  TempDir dir;
  const std::string path = dir.file(c.pcapng ? "out.pcapng" : "out.pcap");
  WriterOptions o = test::options_for(path, c.precision);
  o.packet_buffered = c.packet_buffered;
  o.buffer_bytes = c.buffer_bytes;
  auto w = CaptureWriter::open(o);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ((*w)->is_pcapng(), c.pcapng);

  std::vector<Expected> expected;
  Batch b(512, 1 << 20);
  for (int round = 0; round < 20; ++round) {
    b.clear();
    test::fill(b, expected, expected.size(), 1 + round * 13);
    auto r = (*w)->write(b);
    ASSERT_TRUE(r) << r.error().message;
  }
  ASSERT_TRUE((*w)->close());
  ASSERT_TRUE((*w)->close()) << "close is idempotent";
  EXPECT_EQ((*w)->packets_written(), expected.size());
  EXPECT_EQ((*w)->bytes_written(), std::filesystem::file_size(path));

  const bool nano = c.precision == TimestampPrecision::kNano;
  const auto got = test::read_back(path, nano);
  EXPECT_EQ(got.linktype, DLT_EN10MB);
  expect_same(expected, got, nano);
  if (!c.pcapng) {
    // The magic says the precision; libpcap would scale silently, so look at it ourselves.
    const auto bytes = test::slurp(path);
    std::uint32_t magic;
    std::memcpy(&magic, bytes.data(), 4);
    EXPECT_EQ(magic, nano ? 0xa1b23c4du : 0xa1b2c3d4u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Formats, WriterRoundTrip,
    ::testing::Values(Case{false, TimestampPrecision::kMicro, false, 256 * 1024},
                      Case{false, TimestampPrecision::kNano, false, 256 * 1024},
                      Case{true, TimestampPrecision::kMicro, false, 256 * 1024},
                      Case{true, TimestampPrecision::kNano, false, 256 * 1024},
                      Case{false, TimestampPrecision::kNano, true, 256 * 1024},
                      Case{true, TimestampPrecision::kNano, true, 256 * 1024},
                      // Tiny buffer: many flushes mid-batch, and 1514-byte packets still fit.
                      Case{false, TimestampPrecision::kMicro, false, 4096},
                      Case{true, TimestampPrecision::kNano, false, 4096}),
    [](const auto& info) {
      const Case& c = info.param;
      return std::string(c.pcapng ? "pcapng" : "pcap") +
             (c.precision == TimestampPrecision::kNano ? "_nano" : "_micro") +
             (c.packet_buffered ? "_U" : "") + (c.buffer_bytes < 65536 ? "_smallbuf" : "");
    });

// A record larger than the whole buffer goes out directly, without growing the buffer.
TEST(Writer, RecordLargerThanBufferIsWrittenDirectly) {
  for (bool pcapng : {false, true}) {
    TempDir dir;
    const std::string path = dir.file(pcapng ? "big.pcapng" : "big.pcap");
    WriterOptions o = test::options_for(path, TimestampPrecision::kNano);
    o.buffer_bytes = 4096;
    auto w = CaptureWriter::open(o);
    ASSERT_TRUE(w) << w.error().message;
    Batch b(8, 1 << 20);
    std::vector<Expected> expected;
    test::fill(b, expected, 0, 1);
    auto big = test::pattern(99, 10001);  // odd size: pcapng padding on the direct path
    ASSERT_TRUE(b.try_append(1'700'000'001'000'000'007, 0, big.data(), 10001, 10001));
    expected.push_back({1'700'000'001'000'000'007, 10001, 0, big});
    test::fill(b, expected, 2, 2);
    ASSERT_TRUE((*w)->write(b));
    ASSERT_TRUE((*w)->close());
    expect_same(expected, test::read_back(path, true), true);
  }
}

TEST(Writer, PcapngChosenByExtension) {
  TempDir dir;
  auto w = CaptureWriter::open(test::options_for(dir.file("x.pcapng"), TimestampPrecision::kMicro));
  ASSERT_TRUE(w);
  EXPECT_TRUE((*w)->is_pcapng());
  ASSERT_TRUE((*w)->close());
  const auto bytes = test::slurp(dir.file("x.pcapng"));
  std::uint32_t type;
  std::memcpy(&type, bytes.data(), 4);
  EXPECT_EQ(type, 0x0A0D0D0Au);
}

TEST(Writer, PcapRefusesMixedLinkTypesAndSaysPcapng) {
  TempDir dir;
  WriterOptions o = test::options_for(dir.file("x.pcap"), TimestampPrecision::kMicro, 2);
  o.interfaces[1].linktype = 276;  // DLT_LINUX_SLL2
  auto w = CaptureWriter::open(o);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kBadConfig);
  EXPECT_NE(w.error().message.find("pcapng"), std::string::npos) << w.error().message;
  EXPECT_NE(w.error().message.find("veth1"), std::string::npos) << w.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.pcap"))) << "nothing created on a config error";
}

TEST(Writer, PcapKeepsSll2AsLinktype276) {
  TempDir dir;
  WriterOptions o = test::options_for(dir.file("x.pcap"), TimestampPrecision::kMicro, 1, 276);
  auto w = CaptureWriter::open(o);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->close());
  EXPECT_EQ(test::read_back(dir.file("x.pcap"), false).linktype, 276);
}

// Our DLT -> LINKTYPE table against libpcap's own: pcap_dump_open writes LINKTYPE_* in the
// header, so every DLT that libpcap can save must map to the same number.
TEST(Writer, LinktypeMappingMatchesLibpcapDumper) {
  TempDir dir;
  int compared = 0;
  for (int dlt = 0; dlt <= 300; ++dlt) {
    pcap_t* dead = pcap_open_dead(dlt, 65535);
    ASSERT_NE(dead, nullptr);
    const std::string path = dir.file("dlt" + std::to_string(dlt) + ".pcap");
    pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
    if (d != nullptr) {
      pcap_dump_close(d);
      const auto bytes = test::slurp(path);
      ASSERT_GE(bytes.size(), 24u);
      std::uint32_t linktype;
      std::memcpy(&linktype, bytes.data() + 20, 4);
      EXPECT_EQ(static_cast<int>(linktype & 0x03FFFFFF), wire::dlt_to_linktype(dlt))
          << "DLT " << dlt;
      ++compared;
    }
    pcap_close(dead);
  }
  EXPECT_GT(compared, 100);
}

// ---- pcapng blocks, walked by hand against the spec ---------------------------------------

struct Block {
  std::uint32_t type;
  std::vector<std::uint8_t> body;  // between the leading length and the trailing length
};

std::vector<Block> walk_blocks(const std::vector<std::uint8_t>& f) {
  std::vector<Block> blocks;
  std::size_t off = 0;
  while (off < f.size()) {
    std::uint32_t type, len, trailing;
    EXPECT_LE(off + 12, f.size());
    if (off + 12 > f.size()) break;
    std::memcpy(&type, f.data() + off, 4);
    std::memcpy(&len, f.data() + off + 4, 4);
    EXPECT_EQ(len % 4, 0u) << "block at " << off;
    EXPECT_GE(len, 12u);
    EXPECT_LE(off + len, f.size());
    if (len < 12 || off + len > f.size()) break;
    std::memcpy(&trailing, f.data() + off + len - 4, 4);
    EXPECT_EQ(trailing, len) << "block at " << off;
    blocks.push_back(
        {type, std::vector<std::uint8_t>(f.begin() + off + 8, f.begin() + off + len - 4)});
    off += len;
  }
  return blocks;
}

// Options from `at` to the end of the body: code -> value. Checks padding and opt_endofopt.
std::map<std::uint16_t, std::vector<std::uint8_t>> options_of(const std::vector<std::uint8_t>& body,
                                                              std::size_t at) {
  std::map<std::uint16_t, std::vector<std::uint8_t>> opts;
  bool ended = false;
  while (at + 4 <= body.size()) {
    std::uint16_t code, len;
    std::memcpy(&code, body.data() + at, 2);
    std::memcpy(&len, body.data() + at + 2, 2);
    at += 4;
    if (code == 0) {
      EXPECT_EQ(len, 0);
      ended = true;
      break;
    }
    EXPECT_LE(at + len, body.size());
    opts[code] = std::vector<std::uint8_t>(body.begin() + at, body.begin() + at + len);
    const std::size_t padded = (len + 3u) & ~3u;
    for (std::size_t i = len; i < padded; ++i) EXPECT_EQ(body[at + i], 0) << "option padding";
    at += padded;
  }
  EXPECT_TRUE(ended) << "options end with opt_endofopt";
  EXPECT_EQ(at, body.size()) << "nothing after opt_endofopt";
  return opts;
}

std::string str(const std::vector<std::uint8_t>& v) { return {v.begin(), v.end()}; }
std::uint64_t u64(const std::vector<std::uint8_t>& v) {
  std::uint64_t x = 0;
  EXPECT_EQ(v.size(), 8u);
  std::memcpy(&x, v.data(), std::min<std::size_t>(8, v.size()));
  return x;
}
template <typename T>
T at(const std::vector<std::uint8_t>& v, std::size_t off) {
  T x;
  std::memcpy(&x, v.data() + off, sizeof x);
  return x;
}

CaptureStats sample_stats() {
  CaptureStats s;
  s.elapsed_ns = 5'000'000'000;
  s.app_dropped_packets = 3;
  s.packets_delivered = 40;
  s.interfaces.push_back({"veth0", 1000, 12, 2, 0});
  return s;
}

TEST(Pcapng, BlocksFollowTheSpec) {
  TempDir dir;
  const std::string path = dir.file("spec.pcapng");
  WriterOptions o = test::options_for(path, TimestampPrecision::kNano);
  o.filter = "udp port 5004";
  o.os = "Linux 6.1";
  o.application = "rtcap test";
  auto w = CaptureWriter::open(o);
  ASSERT_TRUE(w) << w.error().message;
  Batch b(64, 1 << 16);
  std::vector<Expected> expected;
  test::fill(b, expected, 0, 7);
  ASSERT_TRUE((*w)->write(b));
  const std::int64_t now = 1'700'000'100'000'000'000;
  ASSERT_TRUE((*w)->write_interface_stats(sample_stats(), now));
  ASSERT_TRUE((*w)->close());

  const auto blocks = walk_blocks(test::slurp(path));
  ASSERT_EQ(blocks.size(), 1u + 1u + 7u + 1u);

  const Block& shb = blocks[0];
  EXPECT_EQ(shb.type, 0x0A0D0D0Au);
  EXPECT_EQ(at<std::uint32_t>(shb.body, 0), 0x1A2B3C4Du);
  EXPECT_EQ(at<std::uint16_t>(shb.body, 4), 1);
  EXPECT_EQ(at<std::uint16_t>(shb.body, 6), 0);
  EXPECT_EQ(at<std::int64_t>(shb.body, 8), -1);
  auto so = options_of(shb.body, 16);
  EXPECT_EQ(str(so[3]), "Linux 6.1");
  EXPECT_EQ(str(so[4]), "rtcap test");

  const Block& idb = blocks[1];
  EXPECT_EQ(idb.type, 1u);
  EXPECT_EQ(at<std::uint16_t>(idb.body, 0), 1);  // LINKTYPE_ETHERNET
  EXPECT_EQ(at<std::uint16_t>(idb.body, 2), 0);
  EXPECT_EQ(at<std::uint32_t>(idb.body, 4), 262144u);
  auto io = options_of(idb.body, 8);
  EXPECT_EQ(str(io[2]), "veth0");
  EXPECT_EQ(io[9], std::vector<std::uint8_t>{9});
  EXPECT_EQ(str(io[11]), std::string(1, '\0') + "udp port 5004");

  for (std::size_t i = 0; i < 7; ++i) {
    const Block& epb = blocks[2 + i];
    const Expected& e = expected[i];
    EXPECT_EQ(epb.type, 6u);
    EXPECT_EQ(at<std::uint32_t>(epb.body, 0), 0u);
    const std::uint64_t ts =
        (std::uint64_t{at<std::uint32_t>(epb.body, 4)} << 32) | at<std::uint32_t>(epb.body, 8);
    EXPECT_EQ(ts, static_cast<std::uint64_t>(e.ts_ns));
    EXPECT_EQ(at<std::uint32_t>(epb.body, 12), e.bytes.size());
    EXPECT_EQ(at<std::uint32_t>(epb.body, 16), e.wire_len);
    const std::size_t padded = (e.bytes.size() + 3) & ~std::size_t{3};
    EXPECT_EQ(epb.body.size(), 20 + padded) << "data padded to 32 bits, no options";
    EXPECT_TRUE(std::equal(e.bytes.begin(), e.bytes.end(), epb.body.begin() + 20));
    for (std::size_t k = 20 + e.bytes.size(); k < epb.body.size(); ++k) EXPECT_EQ(epb.body[k], 0);
  }

  const Block& isb = blocks[9];
  EXPECT_EQ(isb.type, 5u);
  EXPECT_EQ(at<std::uint32_t>(isb.body, 0), 0u);
  const std::uint64_t ts =
      (std::uint64_t{at<std::uint32_t>(isb.body, 4)} << 32) | at<std::uint32_t>(isb.body, 8);
  EXPECT_EQ(ts, static_cast<std::uint64_t>(now));
  auto opts = options_of(isb.body, 12);
  EXPECT_EQ(u64(opts[2]), static_cast<std::uint64_t>(now - 5'000'000'000));  // starttime
  EXPECT_EQ(u64(opts[3]), static_cast<std::uint64_t>(now));                  // endtime
  EXPECT_EQ(opts.count(4), 0u) << "no isb_ifrecv with a filter: ps_recv counts accepted ones";
  EXPECT_EQ(u64(opts[5]), 2u);        // ifdrop = interface_dropped
  EXPECT_EQ(u64(opts[6]), 1000u);     // filteraccept = received
  EXPECT_EQ(u64(opts[7]), 12u + 3u);  // osdrop = kernel + app (one interface)
  EXPECT_EQ(u64(opts[8]), 7u);        // usrdeliv = packets written for this interface
  EXPECT_NE(str(opts[1]).find("12 kernel ring"), std::string::npos) << str(opts[1]);
}

TEST(Pcapng, MicrosecondResolutionAndIfrecvWithoutFilter) {
  TempDir dir;
  const std::string path = dir.file("us.pcapng");
  auto w = CaptureWriter::open(test::options_for(path, TimestampPrecision::kMicro));
  ASSERT_TRUE(w);
  Batch b(8, 4096);
  std::vector<Expected> expected;
  test::fill(b, expected, 0, 1);
  ASSERT_TRUE((*w)->write(b));
  ASSERT_TRUE((*w)->write_interface_stats(sample_stats(), 1'700'000'100'000'000'000));
  ASSERT_TRUE((*w)->close());
  const auto blocks = walk_blocks(test::slurp(path));
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_EQ(options_of(blocks[1].body, 8)[9], std::vector<std::uint8_t>{6});
  const std::uint64_t ts = (std::uint64_t{at<std::uint32_t>(blocks[2].body, 4)} << 32) |
                           at<std::uint32_t>(blocks[2].body, 8);
  EXPECT_EQ(ts, static_cast<std::uint64_t>(expected[0].ts_ns / 1000));
  auto opts = options_of(blocks[3].body, 12);
  EXPECT_EQ(u64(opts[4]), 1000u) << "isb_ifrecv = received when no filter is set";
  EXPECT_EQ(u64(opts[3]), 1'700'000'100'000'000u);
}

// What the file says its capture dropped, read back: ifdrop + osdrop of each interface's last
// ISB. A pcap file and a cut or garbled pcapng say nothing, and nothing breaks.
TEST(Pcapng, DropStatisticsReadBack) {
  TempDir dir;
  const std::string path = dir.file("drops.pcapng");
  WriterOptions o = test::options_for(path, TimestampPrecision::kNano);
  auto w = CaptureWriter::open(o);
  ASSERT_TRUE(w) << w.error().message;
  Batch b(64, 1 << 16);
  std::vector<Expected> expected;
  test::fill(b, expected, 0, 5);
  ASSERT_TRUE((*w)->write(b));
  CaptureStats s = sample_stats();  // kernel 12, interface 2, app 3
  ASSERT_TRUE((*w)->write_interface_stats(s, 1'700'000'100'000'000'000));
  s.interfaces[0].kernel_dropped = 20;  // a later ISB: the totals so far
  ASSERT_TRUE((*w)->write_interface_stats(s, 1'700'000'101'000'000'000));
  ASSERT_TRUE((*w)->close());
  auto f = read_file_drop_statistics(path);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_TRUE(f->has_statistics);
  EXPECT_EQ(f->interfaces_with_statistics, 1u);
  EXPECT_EQ(f->dropped, 20u + 3u + 2u);

  const auto bytes = test::slurp(path);
  const auto write_bytes = [](const std::string& p, const std::vector<std::uint8_t>& v,
                              std::size_t n) {
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(n));
  };
  for (std::size_t cut : {std::size_t{0}, std::size_t{7}, bytes.size() / 2, bytes.size() - 5}) {
    const std::string p = dir.file("cut.pcapng");
    write_bytes(p, bytes, cut);
    auto c = read_file_drop_statistics(p);
    ASSERT_TRUE(c);
    // Cut inside the second ISB: the first one's totals.
    if (cut != bytes.size() / 2) {
      EXPECT_EQ(c->dropped, cut == bytes.size() - 5 ? 17u : 0u) << cut;
    }
  }
  auto garbled = bytes;
  garbled[5] = 0xFF;  // the section header's length: past the end of the file
  const std::string g = dir.file("garbled.pcapng");
  write_bytes(g, garbled, garbled.size());
  auto gf = read_file_drop_statistics(g);
  ASSERT_TRUE(gf);
  EXPECT_FALSE(gf->has_statistics);
  EXPECT_FALSE(read_file_drop_statistics(dir.file("absent.pcapng")));

  const std::string pcap = dir.file("plain.pcap");
  WriterOptions po = test::options_for(pcap, TimestampPrecision::kNano);
  auto pw = CaptureWriter::open(po);
  ASSERT_TRUE(pw) << pw.error().message;
  ASSERT_TRUE((*pw)->write(b));
  ASSERT_TRUE((*pw)->close());
  auto pf = read_file_drop_statistics(pcap);
  ASSERT_TRUE(pf);
  EXPECT_FALSE(pf->has_statistics);
}

// Several interfaces with different link types: pcapng only, one IDB each, EPBs name theirs,
// and app drops are not pinned on one interface.
TEST(Pcapng, SeveralInterfacesWithDifferentLinkTypes) {
  TempDir dir;
  const std::string path = dir.file("multi.pcapng");
  WriterOptions o = test::options_for(path, TimestampPrecision::kNano, 2);
  o.interfaces[1].linktype = 276;
  o.interfaces[1].name = "any";
  auto w = CaptureWriter::open(o);
  ASSERT_TRUE(w) << w.error().message;
  Batch b(64, 1 << 16);
  std::vector<Expected> expected;
  test::fill(b, expected, 0, 10, 2);
  ASSERT_TRUE((*w)->write(b));
  CaptureStats s = sample_stats();
  s.interfaces.push_back({"any", 500, 4, 0, 0});
  ASSERT_TRUE((*w)->write_interface_stats(s, 1'700'000'100'000'000'000));
  ASSERT_TRUE((*w)->close());

  const auto blocks = walk_blocks(test::slurp(path));
  ASSERT_EQ(blocks.size(), 1u + 2u + 10u + 2u);
  EXPECT_EQ(at<std::uint16_t>(blocks[2].body, 0), 276);
  for (std::size_t i = 0; i < 10; ++i)
    EXPECT_EQ(at<std::uint32_t>(blocks[3 + i].body, 0), expected[i].interface_index);
  auto isb0 = options_of(blocks[13].body, 12);
  auto isb1 = options_of(blocks[14].body, 12);
  EXPECT_EQ(at<std::uint32_t>(blocks[14].body, 0), 1u);
  EXPECT_EQ(u64(isb0[7]), 12u) << "app drops not attributed with several interfaces";
  EXPECT_EQ(u64(isb1[7]), 4u);
  EXPECT_EQ(u64(isb1[6]), 500u);
  EXPECT_EQ(u64(isb0[8]) + u64(isb1[8]), 10u);
  EXPECT_EQ(u64(isb1[8]), 5u);

  if (!test::have_program("tshark"))
    GTEST_SKIP() << "tshark not installed: independent check skipped";
  const auto out = test::lines(test::run("tshark -r " + path +
                                         " -T fields -e frame.interface_id -e frame.interface_name "
                                         "-e frame.cap_len 2>/dev/null"));
  ASSERT_EQ(out.size(), 10u) << test::run("tshark -r " + path + " 2>&1");
  for (std::size_t i = 0; i < 10; ++i) {
    const std::string want = std::to_string(expected[i].interface_index) + "\t" +
                             (expected[i].interface_index == 0 ? "veth0" : "any") + "\t" +
                             std::to_string(expected[i].bytes.size());
    EXPECT_EQ(out[i], want);
  }
}

// An interface reopened as another kind of device (issue 13): pcapng takes an IDB mid-section
// and the packets after it name it; pcap refuses another link type and says pcapng.
TEST(Pcapng, InterfaceAddedMidSectionGetsAnIdbOfItsOwn) {
  TempDir dir;
  const std::string path = dir.file("added.pcapng");
  auto w = CaptureWriter::open(test::options_for(path, TimestampPrecision::kNano));
  ASSERT_TRUE(w) << w.error().message;
  Batch b(4, 4096);
  std::uint8_t byte = 0x45;
  ASSERT_TRUE(b.try_append(1, 0, &byte, 1, 1));
  ASSERT_TRUE((*w)->write(b));
  ASSERT_TRUE((*w)->add_interface({"veth0", 12 /* DLT_RAW */, 65535, TimestampPrecision::kNano}));
  b.clear();
  ASSERT_TRUE(b.try_append(2, 1, &byte, 1, 1));
  ASSERT_TRUE((*w)->write(b));
  ASSERT_TRUE((*w)->close());
  const auto blocks = walk_blocks(test::slurp(path));
  ASSERT_EQ(blocks.size(), 1u + 1u + 1u + 1u + 1u);  // SHB, IDB, EPB, IDB, EPB
  EXPECT_EQ(blocks[3].type, 1u);
  EXPECT_EQ(at<std::uint16_t>(blocks[3].body, 0), 101) << "LINKTYPE_RAW";
  EXPECT_EQ(at<std::uint32_t>(blocks[3].body, 4), 65535u);
  EXPECT_EQ(at<std::uint32_t>(blocks[4].body, 0), 1u) << "the EPB names the new IDB";

  auto p = CaptureWriter::open(test::options_for(dir.file("x.pcap"), TimestampPrecision::kNano));
  ASSERT_TRUE(p);
  EXPECT_TRUE((*p)->add_interface({"veth0", 1, 262144, TimestampPrecision::kNano}))
      << "the same link type and snaplen: nothing changes";
  auto r = (*p)->add_interface({"veth0", 12, 65535, TimestampPrecision::kNano});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("write pcapng instead (WriterOptions::pcapng"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(r.error().setting, "pcapng");
  EXPECT_EQ(r.error().message.find("--"), std::string::npos) << "no command-line option";
  auto none = CaptureWriter::open(WriterOptions{});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("WriterOptions::path"), std::string::npos)
      << none.error().message;
  EXPECT_EQ(none.error().message.find("-w"), std::string::npos) << none.error().message;
}

TEST(Writer, PacketFromUnknownInterfaceIsRefusedInPcapng) {
  TempDir dir;
  auto w = CaptureWriter::open(test::options_for(dir.file("x.pcapng"), TimestampPrecision::kNano));
  ASSERT_TRUE(w);
  Batch b(4, 4096);
  std::uint8_t byte = 0;
  ASSERT_TRUE(b.try_append(1, 3, &byte, 1, 1));
  auto r = (*w)->write(b);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("interface 3"), std::string::npos) << r.error().message;
}

// ---- independent readers ------------------------------------------------------------------

std::vector<Expected> write_sample(const std::string& path, TimestampPrecision precision,
                                   bool with_stats = false) {
  std::vector<Expected> expected;
  auto w = CaptureWriter::open(test::options_for(path, precision));
  EXPECT_TRUE(w) << w.error().message;
  if (!w) return expected;
  Batch b(128, 1 << 18);
  test::fill(b, expected, 0, 50);
  EXPECT_TRUE((*w)->write(b));
  if (with_stats) {
    EXPECT_TRUE((*w)->write_interface_stats(sample_stats(), 1'700'000'100'000'000'000));
  }
  EXPECT_TRUE((*w)->close());
  return expected;
}

TEST(IndependentReaders, TcpdumpReadsPcapMicroAndNano) {
  if (!test::have_program("tcpdump"))
    GTEST_SKIP() << "tcpdump not installed: independent check skipped";
  for (auto precision : {TimestampPrecision::kMicro, TimestampPrecision::kNano}) {
    TempDir dir;
    const std::string path = dir.file("t.pcap");
    const auto expected = write_sample(path, precision);
    const bool nano = precision == TimestampPrecision::kNano;
    int status = 0;
    // One line per packet; the continuation lines tcpdump prints for odd payloads are indented.
    const auto out = test::lines(
        test::run("tcpdump -nn -tt --time-stamp-precision=" + std::string(nano ? "nano" : "micro") +
                      " -r " + path + " 2>/dev/null | grep -v '^[[:space:]]'",
                  &status));
    EXPECT_EQ(status, 0);
    ASSERT_EQ(out.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const std::int64_t ts = expected[i].ts_ns;
      char want[64];
      if (nano)
        std::snprintf(want, sizeof want, "%lld.%09lld ", static_cast<long long>(ts / 1'000'000'000),
                      static_cast<long long>(ts % 1'000'000'000));
      else
        std::snprintf(want, sizeof want, "%lld.%06lld ", static_cast<long long>(ts / 1'000'000'000),
                      static_cast<long long>(ts % 1'000'000'000 / 1000));
      EXPECT_EQ(out[i].rfind(want, 0), 0u) << out[i] << " vs " << want;
    }
  }
}

TEST(IndependentReaders, TsharkReadsPcapAndPcapngTimestampsAndLengths) {
  if (!test::have_program("tshark"))
    GTEST_SKIP() << "tshark not installed: independent check skipped";
  for (bool pcapng : {false, true}) {
    TempDir dir;
    const std::string path = dir.file(pcapng ? "t.pcapng" : "t.pcap");
    const auto expected = write_sample(path, TimestampPrecision::kNano);
    const auto out = test::lines(
        test::run("tshark -r " + path +
                  " -T fields -e frame.time_epoch -e frame.cap_len -e frame.len 2>/dev/null"));
    ASSERT_EQ(out.size(), expected.size()) << test::run("tshark -r " + path + " 2>&1");
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const std::int64_t ts = expected[i].ts_ns;
      char want[96];
      std::snprintf(want, sizeof want, "%lld.%09lld\t%zu\t%u",
                    static_cast<long long>(ts / 1'000'000'000),
                    static_cast<long long>(ts % 1'000'000'000), expected[i].bytes.size(),
                    expected[i].wire_len);
      EXPECT_EQ(out[i], want);
    }
  }
}

TEST(IndependentReaders, TsharkShowsPcapngInterfaceStatistics) {
  if (!test::have_program("tshark"))
    GTEST_SKIP() << "tshark not installed: independent check skipped";
  TempDir dir;
  const std::string path = dir.file("isb.pcapng");
  write_sample(path, TimestampPrecision::kNano, true);
  // tshark -V does not print ISBs; its pcapng dissector does, when asked to read the file as
  // a file format (-X read_format:MIME Files Format).
  const std::string out =
      test::run("tshark -r " + path + " -X read_format:'MIME Files Format' -V 2>&1");
  EXPECT_NE(out.find("Interface Statistics Block"), std::string::npos) << out.substr(0, 2000);
  EXPECT_NE(out.find("Number of Packets Dropped by OS = 15"), std::string::npos) << out;
  EXPECT_NE(out.find("Number of Dropped Packets = 2"), std::string::npos);
  EXPECT_NE(out.find("Number of Accepted Packets = 1000"), std::string::npos);
  EXPECT_NE(out.find("Number of Packets Delivered to the User = 50"), std::string::npos);
  EXPECT_NE(out.find("Comment = rtcap: osdrop = 12 kernel ring (ps_drop) + 3 rtcap queue"),
            std::string::npos);
  if (test::have_program("capinfos")) {
    EXPECT_NE(test::run("capinfos " + path + " 2>&1").find("Number of stat entries = 1"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace rtcap
