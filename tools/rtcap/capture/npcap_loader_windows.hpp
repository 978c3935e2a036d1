// Windows: finding Npcap's wpcap.dll before the first pcap call.
//
// rtcap.exe and rtcap.dll import wpcap.dll through a delay-import library (cmake/wpcap.def,
// dlltool --output-delaylib): Windows loads it at the first call of a pcap function, not at
// start-up, so rtcap starts without Npcap and can say what is missing. Npcap installs wpcap.dll
// in System32\Npcap (System32 itself only in "WinPcap API-compatible mode"), and the Npcap
// guide asks applications to load it from there.
#pragma once

#include <string>

namespace rtcap::tool {

// Loads System32\Npcap\wpcap.dll (and makes System32\Npcap the DLL directory, for its
// Packet.dll and for the delay-load helper). Call at the very start of main, before anything
// that calls pcap. Returns an empty string when Npcap is ready, otherwise the one line to print
// before exiting with kExitNoPcapLib.
std::string load_npcap();

}  // namespace rtcap::tool
