// What the machine rtcap runs on offers: its capture platform (for the advisor and the latency
// budget planner) and SAP group membership (--sap). One file per platform: host_posix.cpp,
// host_windows.cpp.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "rtcap/latency_budget.hpp"

namespace rtcap::tool {

// Linux (and other libpcap platforms): kLinuxLibpcap; Windows: kNpcap.
[[nodiscard]] CapturePlatform host_capture_platform() noexcept;

// Called first in main(), before anything calls pcap (the --version text does): on Windows it
// loads Npcap's wpcap.dll, which is delay-loaded, and returns the line to print when Npcap is
// missing (npcap_loader_windows.cpp); on Linux libpcap is linked: "".
[[nodiscard]] std::string load_capture_library();

// Whether `path` is a FIFO or a socket (so pcap_open_offline reads a stream, not a file).
// Windows: false (the C runtime's stat does not tell a named pipe).
[[nodiscard]] bool is_pipe_or_socket(const std::string& path);

// Joins the SAP groups (RFC 2974: 239.255.255.255, the AES67 one, and 224.2.127.254) on each
// interface, so that a switch with IGMP snooping (or the kernel's own filter) forwards the
// announcements to the capture. The memberships last as long as the object (one UDP socket per
// interface, in the network namespace the process is in when join() runs; never read: the
// datagrams reach rtcap through the capture).
class SapMembership {
 public:
  SapMembership() = default;
  ~SapMembership();
  SapMembership(const SapMembership&) = delete;
  SapMembership& operator=(const SapMembership&) = delete;
  // One line naming the interface and the fix on failure.
  std::expected<void, std::string> join(const std::vector<std::string>& interfaces);
  // The same for other IPv4 groups (--ptp: 224.0.1.129, 224.0.0.107); `option` names the
  // option in messages.
  std::expected<void, std::string> join(const std::vector<std::string>& interfaces,
                                        const std::vector<const char*>& groups, const char* option);
  [[nodiscard]] std::size_t groups_joined() const noexcept { return joined_; }

 private:
  std::vector<int> sockets_;
  std::size_t joined_ = 0;
};

}  // namespace rtcap::tool
