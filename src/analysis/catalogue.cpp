// The session catalogue (catalogue.hpp): SAP and --sdp sessions, indexed by destination.
#include "analysis/catalogue.hpp"
#include "analysis/hash.hpp"
#include "analysis/saturating.hpp"
#include "analysis/wire_text.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <new>

#include <fmt/format.h>

namespace rtcap::analysis {

namespace {

std::uint64_t words_hash(const std::uint8_t* p, std::size_t n, std::uint64_t seed) noexcept {
  std::uint64_t h = fmix(seed + 0x9E3779B97F4A7C15ull);
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, std::min<std::size_t>(8, n - i));
    h = fmix(h ^ (w * 0x9E3779B97F4A7C15ull));
  }
  return h;
}

}  // namespace

bool Destination::operator==(const Destination& o) const noexcept {
  return family == o.family && port == o.port && std::memcmp(addr, o.addr, sizeof addr) == 0;
}

std::uint64_t Destination::hash() const noexcept {
  return words_hash(addr, sizeof addr, (std::uint64_t{family} << 16) | port);
}

Destination destination_of(const SdpFormat& f) noexcept {
  Destination d;
  d.family = f.group.family;
  std::memcpy(d.addr, f.group.bytes.data(), 16);
  d.port = f.port;
  return d;
}

std::size_t refused_formats(const std::vector<SdpFormat>& formats) noexcept {
  return static_cast<std::size_t>(std::count_if(
      formats.begin(), formats.end(), [](const SdpFormat& f) { return !f.refused.empty(); }));
}

std::string refused_sdp_text(const SdpFormat& f) {
  return fmt::format("SDP '{}' ({}) refused: {}", printable_text(f.session_name),
                     printable_text(f.origin), printable_text(f.refused));
}

bool SessionCatalogue::Bucket::take(std::int64_t now_ns, double burst, double per_second) noexcept {
  if (!started) {
    started = true;
    tokens = burst;
    at_ns = now_ns;
  } else if (now_ns > at_ns) {  // packet time only moves the bucket forward
    tokens =
        std::min(burst, tokens + static_cast<double>(sat_sub(now_ns, at_ns)) * 1e-9 * per_second);
    at_ns = now_ns;
  }
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}

SessionCatalogue::SessionCatalogue(std::size_t max_formats)
    : max_formats_(std::max<std::size_t>(1, max_formats)) {
  slots_.reserve(max_formats_);
}

void SessionCatalogue::release(std::int32_t slot, SlotState to, const char* why,
                               std::vector<Destination>& changed) {
  Slot& s = slots_[static_cast<std::size_t>(slot)];
  if (s.state == SlotState::kActive) {
    const Destination d = destination_of(s.format);
    auto it = by_destination_.find(d.hash());
    if (it != by_destination_.end()) {
      auto& v = it->second;
      v.erase(std::remove(v.begin(), v.end(), slot), v.end());
      if (v.empty()) by_destination_.erase(it);
    }
    changed.push_back(d);
  }
  s.state = to;
  s.ended = why;
}

std::int32_t SessionCatalogue::free_slot(std::uint64_t placing, std::vector<Destination>& changed) {
  if (slots_.size() < max_formats_) {
    slots_.emplace_back();
    return static_cast<std::int32_t>(slots_.size() - 1);
  }
  // A free slot, else the oldest ended one, else an announced one (never a file's): first one
  // no stream matched, then the one announced least often, then the oldest. A flood of new
  // sessions so pushes out its own entries before a session that describes traffic. The session
  // being placed never pushes out its own formats: what does not fit is left out.
  std::int32_t ended = -1, announced = -1;
  const auto worse = [](const Slot& a, const Slot& b) {  // a goes before b
    if (a.used != b.used) return !a.used;
    if (a.announcements != b.announcements) return a.announcements < b.announcements;
    return a.last_seen_ns < b.last_seen_ns;
  };
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    const auto n = static_cast<std::int32_t>(i);
    if (s.state == SlotState::kFree) return n;
    if (s.state == SlotState::kEnded) {
      if (ended < 0 || s.last_seen_ns < slots_[std::size_t(ended)].last_seen_ns) ended = n;
    } else if (s.announcements != 0 && s.session != placing) {
      if (announced < 0 || worse(s, slots_[std::size_t(announced)])) announced = n;
    }
  }
  if (ended >= 0) return ended;
  if (announced < 0) return -1;
  const std::uint64_t key = slots_[std::size_t(announced)].session;
  release(announced, SlotState::kFree, nullptr, changed);
  ++counters_.evicted;
  if (auto it = sessions_.find(key); it != sessions_.end()) {
    auto& v = it->second.slots;
    v.erase(std::remove(v.begin(), v.end(), announced), v.end());
    if (v.empty()) sessions_.erase(it);
  }
  return announced;
}

void SessionCatalogue::place(std::uint64_t key, Session& s, const std::vector<SdpFormat>& formats,
                             std::int64_t now_ns, std::vector<Destination>& changed) {
  std::int64_t first_seen = now_ns;
  std::uint64_t announcements = 0;
  for (std::int32_t old : s.slots) {
    const Slot& o = slots_[static_cast<std::size_t>(old)];
    first_seen = o.first_seen_ns;
    announcements = o.announcements;
    release(old, SlotState::kFree, nullptr, changed);
  }
  s.slots.clear();
  for (const SdpFormat& f : formats) {
    const std::int32_t n = free_slot(key, changed);
    if (n < 0) break;
    Slot& slot = slots_[static_cast<std::size_t>(n)];
    slot.format = f;
    ++slot.generation;
    slot.state = SlotState::kActive;
    slot.used = false;
    slot.ended = nullptr;
    slot.session = key;
    slot.first_seen_ns = first_seen;
    slot.last_seen_ns = now_ns;
    slot.announcements = s.from_file ? 0 : announcements + 1;
    const Destination d = destination_of(f);
    by_destination_[d.hash()].push_back(n);
    changed.push_back(d);
    s.slots.push_back(n);
  }
  ++version_;
}

void SessionCatalogue::add_file(const std::vector<SdpFormat>& formats,
                                std::vector<Destination>& changed) {
  if (formats.empty()) return;
  const std::string& origin = formats.front().origin;
  const std::uint64_t key = std::hash<std::string>{}(origin) ^ 0x5D5D5D5D5D5D5D5Dull;
  Session& s = sessions_[key];
  s.origin = origin;
  s.from_file = true;
  place(key, s, formats, 0, changed);
}

void SessionCatalogue::end_session(std::uint64_t key, const char* why,
                                   std::vector<Destination>& changed) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  for (std::int32_t n : it->second.slots) {
    release(n, SlotState::kEnded, why, changed);
    if (std::strcmp(why, "deleted") == 0) slots_[static_cast<std::size_t>(n)].format.deleted = true;
  }
  sessions_.erase(it);
  ++version_;
}

void SessionCatalogue::on_sap(const std::uint8_t* p, std::size_t len, bool complete,
                              std::int64_t now_ns, std::vector<Destination>& changed) {
  ++counters_.packets;
  // A fragment's first part, or a payload the snapshot length cut: the SDP in it is not all
  // there, and half an rtpmap ("L24/48") would describe a stream wrongly.
  if (!complete) {
    ++counters_.incomplete;
    return;
  }
  // The header alone (RFC 2974 section 3) decides whether this costs a parse.
  if (p == nullptr || len < 8 || (p[0] >> 5) != 1) {
    ++counters_.malformed;
    return;
  }
  if ((p[0] & 0x03u) != 0) {  // encrypted or compressed
    ++counters_.encrypted_or_compressed;
    return;
  }
  const std::size_t alen = (p[0] & 0x10u) != 0 ? 16 : 4;
  if (4 + alen > len) {
    ++counters_.malformed;
    return;
  }
  const std::uint64_t origin_hash = words_hash(p + 4, alen, alen);
  const std::uint64_t key = fmix(origin_hash ^ ((std::uint64_t{p[2]} << 8) | p[3]));
  try {
    auto found = sessions_.find(key);
    if ((p[0] & 0x04u) != 0) {  // deletion (RFC 2974 section 4)
      ++counters_.deletions;
      if (found != sessions_.end()) end_session(key, "deleted", changed);
      return;
    }
    SapMessage m;
    if (found != sessions_.end()) {  // the same announcement again: refresh, no parse
      Session& s = found->second;
      if (parse_sap(p, len, m, nullptr) && m.sdp == s.sdp_text) {
        if (now_ns > s.last_seen_ns) s.period_ns = sat_sub(now_ns, s.last_seen_ns);
        s.last_seen_ns = now_ns;
        for (std::int32_t n : s.slots) {
          Slot& slot = slots_[static_cast<std::size_t>(n)];
          slot.last_seen_ns = now_ns;
          ++slot.announcements;
        }
        ++counters_.refreshes;
        return;
      }
    }
    if (!origin_[origin_hash % kOriginBuckets].take(now_ns, kSapOriginBurst, kSapOriginPerSecond) ||
        !overall_.take(now_ns, kSapBurst, kSapPerSecond)) {
      ++counters_.rate_limited;
      return;
    }
    if (!parse_sap(p, len, m, nullptr)) {
      ++counters_.malformed;
      return;
    }
    const std::string origin = fmt::format("sap {} #{:04x}", m.origin.to_string(), m.msg_id_hash);
    std::vector<SdpFormat> formats = parse_sdp(m.sdp, origin);
    if (formats.empty()) {
      ++counters_.malformed;
      return;
    }
    ++counters_.announcements;
    Session& s = sessions_[key];
    if (s.origin.empty()) {
      s.origin = origin;
      s.sap_origin = m.origin;
      s.msg_id_hash = m.msg_id_hash;
    } else if (now_ns > s.last_seen_ns) {
      s.period_ns = sat_sub(now_ns, s.last_seen_ns);
    }
    s.last_seen_ns = now_ns;
    s.sdp_text = std::move(m.sdp);
    place(key, s, formats, now_ns, changed);
  } catch (const std::bad_alloc&) {
    ++counters_.malformed;  // out of memory: the announcement is lost, the capture goes on
  }
}

void SessionCatalogue::expire(std::int64_t now_ns, std::vector<Destination>& changed) {
  if (now_ns < next_expiry_check_ns_) return;
  next_expiry_check_ns_ = sat_add(now_ns, 1'000'000'000);
  std::vector<std::uint64_t> gone;
  for (const auto& [key, s] : sessions_) {
    if (s.from_file) continue;
    const std::int64_t timeout =
        std::max(sat_mul(kSapTimeoutPeriods, s.period_ns), kSapMinTimeoutNs);
    if (sat_sub(now_ns, s.last_seen_ns) > timeout) gone.push_back(key);
  }
  for (std::uint64_t key : gone) {
    end_session(key, "expired", changed);
    ++counters_.expired;
  }
}

std::int32_t SessionCatalogue::match(const Destination& d, std::uint8_t family,
                                     const std::uint8_t* src, int payload_type) const noexcept {
  auto it = by_destination_.find(d.hash());
  if (it == by_destination_.end()) return -1;
  std::int32_t best = -1;
  int best_score = -1;
  for (std::int32_t n : it->second) {
    const Slot& s = slots_[static_cast<std::size_t>(n)];
    const SdpFormat& f = s.format;
    if (!(destination_of(f) == d)) continue;
    if (f.source.family != 0 &&
        (f.source.family != family ||
         std::memcmp(f.source.bytes.data(), src, family == 4 ? 4 : 16) != 0))
      continue;  // a=source-filter names another sender
    // The payload type's own format first, then one the user gave (--sdp: the user knows best),
    // then the latest announced.
    const int score = (f.payload_type == payload_type ? 2 : 0) + (s.announcements == 0 ? 1 : 0);
    if (score > best_score ||
        (score == best_score && s.last_seen_ns > slots_[std::size_t(best)].last_seen_ns)) {
      best = n;
      best_score = score;
    }
  }
  return best;
}

std::vector<SessionCatalogue::FormatEntry> SessionCatalogue::entries() const {
  std::vector<FormatEntry> out;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.state == SlotState::kFree) continue;
    out.push_back(FormatEntry{&s.format, static_cast<std::int32_t>(i), s.first_seen_ns,
                              s.last_seen_ns, s.announcements, s.ended});
  }
  return out;
}

std::vector<SdpFormat> SessionCatalogue::active_formats() const {
  std::vector<SdpFormat> out;
  for (const Slot& s : slots_)
    if (s.state == SlotState::kActive) out.push_back(s.format);
  return out;
}

std::size_t SessionCatalogue::memory_bytes() const noexcept {
  std::size_t bytes = sizeof *this + slots_.capacity() * sizeof(Slot);
  for (const auto& [key, s] : sessions_) bytes += sizeof s + s.sdp_text.capacity();
  return bytes;
}

}  // namespace rtcap::analysis
