// Windows: Npcap. SAP membership is not written for Winsock yet: --sap says so.
#include "capture/host.hpp"
#include "capture/npcap_loader_windows.hpp"

namespace rtcap::tool {

CapturePlatform host_capture_platform() noexcept { return CapturePlatform::kNpcap; }

std::string load_capture_library() { return load_npcap(); }

bool is_pipe_or_socket(const std::string&) { return false; }

SapMembership::~SapMembership() = default;

std::expected<void, std::string> SapMembership::join(const std::vector<std::string>&) {
  return std::unexpected(
      "--sap cannot join multicast groups on Windows yet: join 239.255.255.255 with another "
      "application (a SAP browser), or give the streams' SDP with --sdp FILE");
}

std::expected<void, std::string> SapMembership::join(const std::vector<std::string>&,
                                                     const std::vector<const char*>&,
                                                     const char* option) {
  return std::unexpected(std::string(option) +
                         " cannot join multicast groups on Windows yet: run the PTP follower "
                         "(or another application) that joins them on this host");
}

}  // namespace rtcap::tool
