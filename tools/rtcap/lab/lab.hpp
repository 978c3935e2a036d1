// `rtcap lab`: a two-namespace test network joined by a veth pair, for capture tests and
// benchmarks that must never touch a real network.
//
//   netns <name>-tx: veth <name>-tx 198.18.0.1/24  <──veth──>  netns <name>-rx: <name>-rx
//   198.18.0.2/24
//
// Addresses come from 198.18.0.0/15 (RFC 2544 benchmarking) only. Both ends are up, loopback is
// up in both namespaces, permanent neighbour entries make ARP unnecessary and IPv6 is disabled on
// the veths so captures hold nothing but the traffic we send. Each namespace routes 224.0.0.0/4
// (all IPv4 multicast) to its veth end, so AES67 groups and SAP announcements cross the pair and go
// nowhere else.
//
// With the second path (`lab up --second-path`), a second veth pair joins the same namespaces:
// the "blue" network of an ST 2022-7 plant beside the first, "red", one.
//
//   netns <name>-tx: veth <name>-txb 198.18.1.1/24  <──veth──>  <name>-rxb 198.18.1.2/24
//
// Unicast to 198.18.1.0/24 and the multicast groups 239.69.128.0/17 (the upper half of the
// 239.69.0.0/16 groups AES67 devices use) leave through it; every other group stays on red. So
// `rtcap gen --dst 239.69.1.1:5004 --redundant-dst 239.69.129.1` sends one leg per link, and a
// capture on both rx ends (`-i <name>-rx -i <name>-rxb`) sees each leg on its own interface.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace CLI {
class App;
}

namespace rtcap::tool {

struct Lab {
  std::string name;     // validated lab name, [a-z0-9]{1,8}
  std::string tx_ns;    // <name>-tx
  std::string rx_ns;    // <name>-rx
  std::string tx_if;    // <name>-tx, lives in tx_ns
  std::string rx_if;    // <name>-rx, lives in rx_ns
  std::string tx_addr;  // 198.18.0.1 (no prefix length; the prefix is /24)
  std::string rx_addr;  // 198.18.0.2
  // The second ("blue") path, made by lab_up(name, true); the names are set either way.
  bool second_path = false;
  std::string tx_if2;    // <name>-txb, lives in tx_ns
  std::string rx_if2;    // <name>-rxb, lives in rx_ns
  std::string tx_addr2;  // 198.18.1.1
  std::string rx_addr2;  // 198.18.1.2
};

// The multicast groups the second path carries (routed to its veth ends in both namespaces).
inline constexpr const char* kSecondPathGroups = "239.69.128.0/17";

inline constexpr const char* kDefaultLabName = "rtcap";
inline constexpr int kLabPrefixLength = 24;

// True for [a-z0-9]{1,8}: keeps "<name>-tx" within IFNAMSIZ-1 (15) and out of any shell or path.
bool valid_lab_name(const std::string& name);

// Pure: derives every name and address from the lab name (does not validate it).
Lab lab_names(const std::string& name);

// Creates whatever is missing; calling it again on a complete lab succeeds and changes nothing.
// `second_path` adds the blue veth pair (an existing one is kept either way). On failure the lab
// may be half made; lab_down() removes it.
std::expected<Lab, std::string> lab_up(const std::string& name, bool second_path = false);

// Removes everything lab_up() makes; succeeds when nothing is there.
std::expected<void, std::string> lab_down(const std::string& name);

struct LabStatus {
  std::string text;       // human-readable description of what exists
  bool complete = false;  // fully up (with `second_path`, the blue pair too)
  bool exists = false;    // any piece of it: a namespace, or a stray veth end left by an up
};

// What exists of the lab; without `second_path` a blue pair present is shown, not required.
std::expected<LabStatus, std::string> lab_status(const std::string& name, bool second_path = false);

// Tears a lab down when it goes out of scope (every exit path, exceptions included).
class LabGuard {
 public:
  explicit LabGuard(std::string name) : name_(std::move(name)) {}
  ~LabGuard();
  LabGuard(const LabGuard&) = delete;
  LabGuard& operator=(const LabGuard&) = delete;
  // Tears down now; "" on success, else the error. Idempotent.
  std::string release();

 private:
  std::string name_;
  bool done_ = false;
};

// "bn123456": a lab name from a prefix (2 letters) and the pid, valid for lab_up().
std::string unique_lab_name(const std::string& prefix);

// Registers `lab up|down|status [--name NAME]`. The callbacks run the action, print, and set
// exit_code: 0 ok, 1 a step failed, 3 not root (one line on stderr); `status` gives 3 when the
// lab is not fully up (one line on stderr, with the command that makes it, when none of it
// exists). A bad --name is a parse error (2).
CLI::App* add_lab_command(CLI::App& app, int& exit_code);

}  // namespace rtcap::tool
