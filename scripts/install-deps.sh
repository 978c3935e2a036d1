#!/usr/bin/env bash
# Installs what rtcap needs to build and test on Debian 12, only what is missing.
#   scripts/install-deps.sh            # the project's packages
#   scripts/install-deps.sh PKG...     # these packages instead (a CI step's own tools)
set -euo pipefail
packages=(cmake g++ make pkg-config libpcap-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libbenchmark-dev libcpp-httplib-dev iproute2 tcpdump tshark procps curl python3 sox
  libxml2-utils tmux chromium faketime linuxptp
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good python3-numpy nftables)
if [ $# -gt 0 ]; then packages=("$@"); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
