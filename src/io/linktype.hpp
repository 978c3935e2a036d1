// DLT_* (what a pcap handle reports) to LINKTYPE_* (what files store).
//
// They are the same number for almost every type. The exceptions are the early BSD-era values
// that operating systems numbered differently, which tcpdump.org moved to unique LINKTYPE values
// (libpcap's dlt_to_linktype() in pcap-common.c does the same; it is not public API, so we keep
// the short list here and test it against libpcap's own pcap_dump_open output for every DLT).
// DLT_LINUX_SLL2 (276), DLT_EN10MB (1), DLT_LINUX_SLL (113) and the rest pass through unchanged.
#pragma once

#include <pcap/dlt.h>

namespace rtcap::io {

constexpr int kLinktypeAtmRfc1483 = 100;
constexpr int kLinktypeRaw = 101;
constexpr int kLinktypeSlipBsdos = 102;
constexpr int kLinktypePppBsdos = 103;
constexpr int kLinktypeAtmClip = 106;
constexpr int kLinktypeLoop = 108;
constexpr int kLinktypeEnc = 109;
constexpr int kLinktypePfsync = 246;
constexpr int kLinktypePktap = 258;

// An if-chain rather than a switch: on some systems two of these DLT macros share a value
// (OpenBSD: DLT_LOOP 12), and the first match is the one libpcap picks there too.
constexpr int dlt_to_linktype(int dlt) noexcept {
  if (dlt == DLT_ATM_RFC1483) return kLinktypeAtmRfc1483;
  if (dlt == DLT_RAW) return kLinktypeRaw;
  if (dlt == DLT_SLIP_BSDOS) return kLinktypeSlipBsdos;
  if (dlt == DLT_PPP_BSDOS) return kLinktypePppBsdos;
#ifdef DLT_ATM_CLIP
  if (dlt == DLT_ATM_CLIP) return kLinktypeAtmClip;
#endif
  if (dlt == DLT_LOOP) return kLinktypeLoop;
  if (dlt == DLT_ENC) return kLinktypeEnc;
#ifdef DLT_PFSYNC
  if (dlt == DLT_PFSYNC) return kLinktypePfsync;
#endif
#ifdef DLT_PKTAP
  if (dlt == DLT_PKTAP) return kLinktypePktap;
#endif
  return dlt;
}

}  // namespace rtcap::io
