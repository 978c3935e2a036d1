// The subcommands built on Linux only (cli.hpp): the lab, the generator, and the benchmark and
// demo built on them need network namespaces, veth and sendmmsg (docs/WINDOWS.md).
#include "bench/bench.hpp"
#include "cli.hpp"
#include "demo/demo.hpp"
#include "gen/gen.hpp"
#include "lab/lab.hpp"

namespace rtcap::tool {

void add_platform_commands(CLI::App& app, int& exit_code) {
  add_lab_command(app, exit_code);
  add_gen_command(app, exit_code);
  add_bench_command(app, exit_code);
  add_demo_command(app, exit_code);
}

}  // namespace rtcap::tool
