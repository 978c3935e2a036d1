// `rtcap demo`: the first thing to run. With no arguments it builds a lab (two network
// namespaces joined by a veth pair), sends ~100,000 packets/s of tiny RTP for 10 s (12 AES67-style
// streams, L24 stereo 48 kHz, 125 µs packets) with `rtcap gen`, captures them in-process with the
// library (Engine + StreamTracker) at default settings, shows a live view once a second, prints a
// verdict (sent, captured, lost and where, delay percentiles, CPU per packet, settings) and removes
// the lab. Exit 0 = PASS (the capture lost nothing), 1 = FAIL.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace rtcap::tool {

struct DemoConfig {
  double secs = 10;       // traffic time
  std::string json_path;  // machine-readable verdict
  bool quiet = false;     // no live view (verdict only)
};

// Runs the demo; returns the exit code (0 PASS, 1 FAIL or could not run).
int run_demo(const DemoConfig& config);

CLI::App* add_demo_command(CLI::App& app, int& exit_code);

}  // namespace rtcap::tool
