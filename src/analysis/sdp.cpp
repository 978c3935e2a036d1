// SAP (RFC 2974) and SDP (RFC 8866) parsing for the stream tracker. Input is hostile: every
// length is checked, numbers are parsed with std::from_chars (no exceptions, no locale), and
// anything unexpected is skipped rather than guessed at. Not on the hot path.
#include "rtcap/sdp.hpp"

#include "platform/inet.hpp"  // inet_pton: the one system call here

#include <algorithm>
#include <charconv>
#include <cstring>

namespace rtcap {

bool IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  char buf[65];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<std::uint8_t, 16> b{};
  if (inet_pton(AF_INET, buf, b.data()) == 1) {
    family = 4;
    bytes = b;
    return true;
  }
  if (inet_pton(AF_INET6, buf, b.data()) == 1) {
    family = 6;
    bytes = b;
    return true;
  }
  return false;
}

int SdpFormat::sample_bytes() const noexcept {
  // RFC 3190 (L24), RFC 3551 (L16, PCMU, PCMA, L8), AES3 over ST 2110-31 (AM824: 32-bit words).
  if (encoding == "L24") return 3;
  if (encoding == "L16") return 2;
  if (encoding == "AM824") return 4;
  if (encoding == "L8" || encoding == "PCMU" || encoding == "PCMA") return 1;
  return 0;
}

namespace {

// Text from the wire goes to a terminal and into JSON: control characters (an ANSI escape in a
// session name) become '?'. Bytes >= 0x80 stay (UTF-8 names are normal); JSON output replaces
// invalid UTF-8.
std::string printable(std::string_view s, std::size_t max_bytes) {
  std::string out(s.substr(0, max_bytes));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Next space-separated token of `s`, consumed.
std::string_view token(std::string_view& s) {
  s = trim(s);
  const std::size_t end = std::min(s.find(' '), s.size());
  std::string_view t = s.substr(0, end);
  s.remove_prefix(end);
  return t;
}

template <typename T>
bool number(std::string_view s, T& out, int base = 10) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

// "1", "0.125", "0.333": a decimal without exponent, as a=ptime writes it.
bool decimal(std::string_view s, double& out) {
  if (s.empty() || s.size() > 32) return false;
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || !(v >= 0) || v > 1e6) return false;
  out = v;
  return true;
}

struct Level {  // lines that may stand at session or media level
  IpAddress group;
  int ttl = -1;
  IpAddress source;
  IpAddress source_for;  // the destination the source-filter names (unset: "*")
  std::string ts_refclk;
  bool has_mediaclk = false;
  std::uint32_t mediaclk = 0;
  double ptime_ms = 0;
  std::string_view mid;  // media level only
};

// a=group:DUP <mid> <mid> (RFC 7104 section 3, RFC 5888 section 5), session level.
struct DupGroup {
  std::string_view mids[2];
};

// A mid is an RFC 8866 token: visible ASCII, no space; a bounded length.
bool valid_mid(std::string_view m) {
  if (m.empty() || m.size() > kMaxMidBytes) return false;
  return std::all_of(m.begin(), m.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

void parse_group(std::string_view v, std::vector<DupGroup>& groups) {
  if (token(v) != "DUP") return;  // LS, FID, BUNDLE...: other semantics
  DupGroup g;
  g.mids[0] = token(v);
  g.mids[1] = token(v);
  if (!token(v).empty() || !valid_mid(g.mids[0]) || !valid_mid(g.mids[1]) ||
      g.mids[0] == g.mids[1] || groups.size() >= static_cast<std::size_t>(kMaxDupGroups))
    return;
  groups.push_back(g);
}

// c=IN IP4 239.69.1.1/32[/n]  or  c=IN IP6 ff0e::1[/n]
void parse_connection(std::string_view v, Level& l) {
  if (token(v) != "IN") return;
  const std::string_view type = token(v);
  std::string_view addr = token(v);
  const std::size_t slash = addr.find('/');
  std::string_view rest =
      slash == std::string_view::npos ? std::string_view{} : addr.substr(slash + 1);
  addr = addr.substr(0, slash);
  IpAddress a;
  if (!a.parse(addr)) return;
  if ((type == "IP4") != (a.family == 4)) return;
  l.group = a;
  l.ttl = -1;
  if (a.family == 4 && !rest.empty()) {
    int ttl = -1;
    if (number(rest.substr(0, rest.find('/')), ttl) && ttl >= 0 && ttl <= 255) l.ttl = ttl;
  }
}

void parse_attribute(std::string_view v, Level& l, std::vector<std::string_view>* rtpmaps) {
  const std::size_t colon = v.find(':');
  const std::string_view name = v.substr(0, colon);
  const std::string_view value =
      colon == std::string_view::npos ? std::string_view{} : trim(v.substr(colon + 1));
  if (name == "rtpmap") {
    if (rtpmaps) rtpmaps->push_back(value);
  } else if (name == "ptime") {
    double ms = 0;
    if (decimal(value, ms) && ms > 0 && ms <= kMaxPtimeMs) l.ptime_ms = ms;
  } else if (name == "source-filter") {
    // a=source-filter: incl IN IP4 <dest> <src> [<src>...]  (RFC 4570)
    std::string_view s = value;
    if (token(s) != "incl" || token(s) != "IN") return;
    (void)token(s);  // IP4 / IP6 / *
    const std::string_view dest = token(s);
    IpAddress d, src;
    if (dest != "*" && !d.parse(dest)) return;
    if (!src.parse(token(s))) return;
    l.source = src;
    l.source_for = d;
  } else if (name == "mid") {
    if (rtpmaps && valid_mid(value)) l.mid = value;
  } else if (name == "ts-refclk") {
    l.ts_refclk = printable(value, 256);
  } else if (name == "mediaclk") {
    // a=mediaclk:direct=<offset>[ rate=<n>/<d>] (RFC 7273 section 5)
    if (value.substr(0, 7) != "direct=") return;
    std::string_view n = value.substr(7);
    n = n.substr(0, n.find(' '));
    std::uint32_t off = 0;
    if (number(n, off)) {
      l.has_mediaclk = true;
      l.mediaclk = off;
    }
  }
}

// ptp=IEEE1588-2008:<EUI-64 with dashes>[:<domain>] or ptp=IEEE1588-2008:traceable (RFC 7273
// section 4.8; 1588-2019 is written the same way). Anything else leaves has_ptp_refclk false.
void parse_ptp_refclk(std::string_view v, SdpFormat& f) {
  std::string_view rest;
  for (std::string_view version : {"ptp=IEEE1588-2008:", "ptp=IEEE1588-2019:"})
    if (v.substr(0, version.size()) == version) rest = v.substr(version.size());
  if (rest.empty()) return;
  if (rest == "traceable") {
    f.has_ptp_refclk = f.ptp_traceable = true;
    return;
  }
  if (rest.size() < 23) return;
  std::array<std::uint8_t, 8> gm{};
  for (std::size_t i = 0; i < 8; ++i) {
    if (i > 0 && rest[3 * i - 1] != '-') return;
    if (!number(rest.substr(3 * i, 2), gm[i], 16)) return;
  }
  rest.remove_prefix(23);
  int domain = 0;
  if (!rest.empty() &&
      (rest[0] != ':' || !number(rest.substr(1), domain) || domain < 0 || domain > 255))
    return;
  f.ptp_grandmaster = gm;
  f.ptp_domain = domain;
  f.has_ptp_refclk = true;
}

void finish_media(SdpFormat& f, const Level& session, const Level& media,
                  const std::vector<std::string_view>& rtpmaps) {
  const Level& c = media.group.family ? media : session;
  f.group = c.group;
  f.ttl = c.ttl;
  const Level& sf = media.source.family ? media : session;
  if (sf.source.family && (sf.source_for.family == 0 || sf.source_for == f.group))
    f.source = sf.source;
  f.ts_refclk = !media.ts_refclk.empty() ? media.ts_refclk : session.ts_refclk;
  parse_ptp_refclk(f.ts_refclk, f);
  f.mid = std::string(media.mid);
  const Level& mc = media.has_mediaclk ? media : session;
  f.has_mediaclk_offset = mc.has_mediaclk;
  f.mediaclk_offset = mc.mediaclk;
  f.ptime_ms = media.ptime_ms > 0 ? media.ptime_ms : session.ptime_ms;
  for (std::string_view m : rtpmaps) {
    // <pt> <encoding>/<rate>[/<channels>]
    int pt = -1;
    if (!number(token(m), pt) || pt != f.payload_type) continue;
    std::string_view enc = token(m);
    const std::size_t s1 = enc.find('/');
    if (s1 == std::string_view::npos) continue;
    std::string_view rate = enc.substr(s1 + 1);
    const std::size_t s2 = rate.find('/');
    std::string_view ch = s2 == std::string_view::npos ? std::string_view{} : rate.substr(s2 + 1);
    rate = rate.substr(0, s2);
    std::uint64_t hz = 0;
    std::int64_t channels = 1;
    // Out of range: the rtpmap is not used (an absurd rate or channel count never enters), and
    // the format keeps why.
    const std::string said = "rtpmap " + printable(enc, 64) + ": ";
    if (!number(rate, hz) || hz < kMinClockRateHz || hz > kMaxClockRateHz) {
      f.refused = said +
                  (number(rate, hz) ? "clock rate " + std::to_string(hz) + " Hz"
                                    : "clock rate '" + printable(rate, 32) + "'") +
                  " out of range " + std::to_string(kMinClockRateHz) + ".." +
                  std::to_string(kMaxClockRateHz);
      continue;
    }
    if (!ch.empty() && (!number(ch, channels) || channels < 1 || channels > kMaxChannels)) {
      f.refused = said + "channel count '" + printable(ch, 32) + "' out of range 1.." +
                  std::to_string(kMaxChannels);
      continue;
    }
    f.encoding = printable(enc.substr(0, s1), 32);
    f.clock_rate = static_cast<std::uint32_t>(hz);
    f.channels = static_cast<int>(channels);
    f.refused.clear();
    break;
  }
}

}  // namespace

std::vector<SdpFormat> parse_sdp(std::string_view text, std::string_view origin) {
  std::vector<SdpFormat> out;
  Level session, media;
  std::string session_name;
  std::vector<std::string_view> rtpmaps;
  std::vector<DupGroup> groups;
  bool in_media = false;
  SdpFormat current;
  auto flush = [&] {
    if (!in_media) return;
    finish_media(current, session, media, rtpmaps);
    out.push_back(std::move(current));
  };
  constexpr std::size_t kMaxMedia = 64;  // an SDP with more media sections is not a real sender's
  while (!text.empty()) {
    const std::size_t nl = std::min(text.find('\n'), text.size());
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(std::min(nl + 1, text.size()));
    if (line.size() < 2 || line[1] != '=') continue;
    const char type = line[0];
    const std::string_view v = line.substr(2);
    if (type == 'm') {
      flush();
      if (out.size() >= kMaxMedia) {
        in_media = false;  // the rest is not read
        break;
      }
      in_media = true;
      current = SdpFormat{};
      current.session_name = session_name;
      current.origin = printable(origin, 256);
      media = Level{};
      rtpmaps.clear();
      std::string_view m = v;
      current.media = printable(token(m), 16);
      std::string_view port = token(m);
      port = port.substr(0, port.find('/'));
      std::uint16_t p = 0;
      if (number(port, p)) current.port = p;
      (void)token(m);  // RTP/AVP
      int pt = -1;
      if (number(token(m), pt) && pt >= 0 && pt < 128) current.payload_type = pt;
    } else if (type == 's' && !in_media) {
      session_name = printable(trim(v), 256);
    } else if (type == 'c') {
      parse_connection(v, in_media ? media : session);
    } else if (type == 'a') {
      if (!in_media && v.substr(0, 6) == "group:") parse_group(v.substr(6), groups);
      parse_attribute(v, in_media ? media : session, in_media ? &rtpmaps : nullptr);
    }
  }
  flush();
  // Each group's two legs: the first m= line carrying each mid, used by one group only.
  for (std::size_t g = 0; g < groups.size(); ++g) {
    SdpFormat* legs[2] = {nullptr, nullptr};
    for (int i = 0; i < 2; ++i)
      for (SdpFormat& f : out)
        if (f.mid == groups[g].mids[i] && f.dup_group < 0) {
          legs[i] = &f;
          break;
        }
    if (legs[0] == nullptr || legs[1] == nullptr) continue;
    for (int i = 0; i < 2; ++i) {
      legs[i]->dup_group = static_cast<int>(g);
      legs[i]->dup_leg = i;
    }
  }
  return out;
}

std::string parse_pcm_encoding(std::string_view text, std::string& encoding, std::uint32_t& rate,
                               int& channels) {
  const auto bad = [&] {
    return "'" + printable(text, 64) + "' is not ENCODING/RATE[/CHANNELS] with L16 or L24, rate " +
           std::to_string(kMinClockRateHz) + ".." + std::to_string(kMaxClockRateHz) +
           " Hz and 1.." + std::to_string(kMaxChannels) + " channels, for example L24/48000/2";
  };
  const std::size_t s1 = text.find('/');
  if (s1 == std::string_view::npos) return bad();
  const std::string_view enc = text.substr(0, s1);
  if (enc != "L16" && enc != "L24") return bad();
  std::string_view rest = text.substr(s1 + 1);
  const std::size_t s2 = rest.find('/');
  const std::string_view r = rest.substr(0, s2);
  const std::string_view c =
      s2 == std::string_view::npos ? std::string_view("1") : rest.substr(s2 + 1);
  std::uint32_t hz = 0;
  int ch = 0;
  if (!number(r, hz) || hz < kMinClockRateHz || hz > kMaxClockRateHz) return bad();
  if (!number(c, ch) || ch < 1 || ch > kMaxChannels) return bad();
  encoding = std::string(enc);
  rate = hz;
  channels = ch;
  return {};
}

std::string parse_format_option(std::string_view text, FormatOption& out) {
  FormatOption f;
  f.text = printable(text, 128);
  const std::size_t eq = text.find('=');
  const auto bad = [&] {
    return "'" + f.text +
           "' must be SELECTOR=ENC/RATE/CH, the selector a payload type (97), a destination "
           "(239.69.1.1:5004, [ff0e::1]:5004), an SSRC (0x1a2b3c4d) or several joined by '/' "
           "(239.69.1.1:5004/97)";
  };
  if (eq == std::string_view::npos || eq == 0) return bad();
  std::string_view sel = text.substr(0, eq);
  while (!sel.empty()) {
    // Split at '/' outside brackets (an IPv6 address has none, but keep the rule simple).
    const std::size_t slash = sel.find('/');
    const std::string_view part = sel.substr(0, slash);
    sel = slash == std::string_view::npos ? std::string_view{} : sel.substr(slash + 1);
    if (part.size() > 2 && (part.substr(0, 2) == "0x" || part.substr(0, 2) == "0X")) {
      std::uint32_t v = 0;
      const auto r = std::from_chars(part.data() + 2, part.data() + part.size(), v, 16);
      if (r.ec != std::errc{} || r.ptr != part.data() + part.size() || f.has_ssrc) return bad();
      f.has_ssrc = true;
      f.ssrc = v;
    } else if (part.find_first_of(".:[") != std::string_view::npos) {
      // ADDR:PORT, [V6]:PORT
      std::string_view addr = part, port;
      if (part.front() == '[') {
        const std::size_t close = part.find(']');
        if (close == std::string_view::npos || close + 1 >= part.size() || part[close + 1] != ':')
          return bad();
        addr = part.substr(1, close - 1);
        port = part.substr(close + 2);
      } else {
        const std::size_t colon = part.rfind(':');
        if (colon == std::string_view::npos) return bad();
        addr = part.substr(0, colon);
        port = part.substr(colon + 1);
      }
      std::uint16_t p = 0;
      if (f.dst.family != 0 || !f.dst.parse(addr) || !number(port, p)) return bad();
      f.port = p;
    } else {
      int pt = -1;
      if (!number(part, pt) || pt < 0 || pt > 127 || f.payload_type >= 0) return bad();
      f.payload_type = pt;
    }
  }
  if (std::string e = parse_pcm_encoding(text.substr(eq + 1), f.encoding, f.clock_rate, f.channels);
      !e.empty())
    return e;
  out = std::move(f);
  return {};
}

bool parse_sap(const std::uint8_t* p, std::size_t len, SapMessage& out, std::string* error) {
  auto fail = [&](const char* why) {
    if (error) *error = why;
    return false;
  };
  out = SapMessage{};
  if (p == nullptr || len < 8) return fail("SAP packet shorter than its 8-byte minimum header");
  // RFC 2974 section 3: V(3) A(1) R(1) T(1) E(1) C(1), auth len (32-bit words), msg id hash.
  out.version = p[0] >> 5;
  if (out.version != 1) return fail("SAP version is not 1");
  out.ipv6_origin = (p[0] & 0x10u) != 0;
  out.deletion = (p[0] & 0x04u) != 0;
  out.encrypted = (p[0] & 0x02u) != 0;
  out.compressed = (p[0] & 0x01u) != 0;
  const std::size_t auth_len = std::size_t{p[1]} * 4;
  out.msg_id_hash = static_cast<std::uint16_t>((p[2] << 8) | p[3]);
  std::size_t off = 4;
  const std::size_t alen = out.ipv6_origin ? 16 : 4;
  if (off + alen > len) return fail("SAP packet cut inside its originating source");
  out.origin.family = out.ipv6_origin ? 6 : 4;
  std::memcpy(out.origin.bytes.data(), p + off, alen);
  off += alen;
  if (off + auth_len > len) return fail("SAP authentication data runs past the packet");
  off += auth_len;                                   // skipped by its length (RFC 2974 section 7)
  if (out.encrypted || out.compressed) return true;  // counted by the caller, left alone
  std::string_view rest(reinterpret_cast<const char*>(p + off), len - off);
  // Optional payload type: a MIME type and a NUL. Absent when the payload starts with "v=0"
  // (RFC 2974 section 3: receivers must accept SDP without it).
  if (rest.substr(0, 3) != "v=0") {
    const std::size_t nul = rest.find('\0');
    if (nul == std::string_view::npos || nul > 128) return fail("SAP payload type has no NUL");
    out.payload_type = std::string(rest.substr(0, nul));
    rest.remove_prefix(nul + 1);
    if (out.payload_type != "application/sdp") return fail("SAP payload is not application/sdp");
  }
  // The SDP may be followed by padding NULs; stop at the first one.
  rest = rest.substr(0, rest.find('\0'));
  out.sdp = std::string(rest);
  return true;
}

std::string parse_sdp_streams(std::string_view text, std::string_view origin,
                              std::vector<SdpFormat>& out) {
  out = parse_sdp(text, origin);
  return out.empty() ? "holds no media description (m=)" : "";
}

}  // namespace rtcap
