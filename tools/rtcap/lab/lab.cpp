// The lab drives iproute2's `ip` through the tools' one process runner (bench_process.hpp:
// fork/exec with an argument vector, never a shell), so a name can never be interpreted as anything
// but a name; names are validated anyway.
#include "lab/lab.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <csignal>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/core.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/process.hpp"

namespace rtcap::tool {
namespace {

constexpr const char* kNetnsDir = "/var/run/netns/";
constexpr const char* kMulticastRoute = "224.0.0.0/4";
constexpr const char* kNeedRoot = "rtcap lab needs root (network namespaces): run as root";

struct RunResult {
  int status = -1;     // exit status, or -1 when the program could not be run
  std::string output;  // stdout and stderr together
};

const char* ip_binary() {
  // Root's PATH usually holds /usr/sbin, CTest's or sudo's environment may not: look first.
  static const char* const candidates[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
  for (const char* c : candidates)
    if (access(c, X_OK) == 0) return c;
  return "ip";  // fall back to PATH
}

RunResult run(const std::vector<std::string>& args) {
  RunResult result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.output = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  SpawnOptions o;
  o.argv = args;
  o.stdout_fd = fds[1];
  o.stderr_fd = fds[1];
  auto child = ChildProcess::spawn(o);
  close(fds[1]);
  if (!child) {
    close(fds[0]);
    result.output = fmt::format("cannot execute ip (iproute2): install the iproute2 package ({})\n",
                                child.error());
    return result;
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      result.output.append(buf, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  close(fds[0]);
  // Its output has ended, so it is exiting; 10 s covers a busy machine.
  if (!child->wait_for(std::chrono::seconds(10)))
    child->stop(SIGKILL, std::chrono::milliseconds(0));
  result.status = child->exited_normally() ? child->exit_status() : -1;
  return result;
}

// `ip ARGS...`, for the one-line error messages.
RunResult ip(std::vector<std::string> args) {
  args.insert(args.begin(), ip_binary());
  return run(args);
}

std::string first_line(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  return line.empty() ? "no output" : line;
}

std::string describe(const std::vector<std::string>& args, const RunResult& r) {
  std::string cmd = "ip";
  for (const auto& a : args) cmd += " " + a;
  return fmt::format("`{}` failed ({})", cmd, first_line(r.output));
}

bool netns_exists(const std::string& ns) {
  struct stat st {};
  return stat((kNetnsDir + ns).c_str(), &st) == 0;
}

// Link `ifname` in namespace `ns` ("" = the caller's namespace).
bool link_exists(const std::string& ns, const std::string& ifname) {
  if (!ns.empty() && !netns_exists(ns)) return false;
  std::vector<std::string> args;
  if (!ns.empty()) args = {"-n", ns};
  args.insert(args.end(), {"link", "show", "dev", ifname});
  return ip(args).status == 0;
}

// `ip -j ...` parsed; a null json when ip fails or prints something that is not JSON.
nlohmann::json ip_json(const std::string& ns, std::vector<std::string> args) {
  args.insert(args.begin(), {"-n", ns, "-j"});
  const RunResult r = ip(args);
  if (r.status != 0) return nullptr;
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

std::string link_mac(const std::string& ns, const std::string& ifname) {
  auto j = ip_json(ns, {"link", "show", "dev", ifname});
  if (j.is_array() && !j.empty() && j[0].contains("address") && j[0]["address"].is_string())
    return j[0]["address"].get<std::string>();
  return {};
}

// Writes "1" to net.ipv6.conf.<ifname>.disable_ipv6 inside `ns`. /proc/sys/net resolves to the
// network namespace of the task that opens the file, so a child enters the namespace and writes.
// Returns "" on success (or when the kernel has no IPv6), else the error.
std::string disable_ipv6(const std::string& ns, const std::string& ifname) {
  const std::string ns_path = kNetnsDir + ns;
  const std::string sysctl = "/proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6";
  // A thread of its own enters the namespace (setns changes only the calling thread's) and ends.
  int code = 0;
  std::thread writer([&] {
    const int nsfd = open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    const bool entered = nsfd >= 0 && setns(nsfd, CLONE_NEWNET) == 0;
    if (nsfd >= 0) close(nsfd);
    if (!entered) {
      code = 2;
    } else if (access("/proc/sys/net/ipv6", F_OK) ==
               0) {  // else no IPv6 in this kernel: nothing to do
      const int fd = open(sysctl.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) {
        code = 3;
      } else {
        code = write(fd, "1\n", 2) == 2 ? 0 : 4;
        close(fd);
      }
    }
  });
  writer.join();
  if (code == 0) return {};
  return fmt::format("cannot write {} in network namespace {} (step {})", sysctl, ns, code);
}

std::string cleanup_hint(const std::string& name) {
  return fmt::format("; run `rtcap lab down --name {}` to remove the half-made lab", name);
}

}  // namespace

bool valid_lab_name(const std::string& name) {
  if (name.empty() || name.size() > 8) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

Lab lab_names(const std::string& name) {
  Lab lab;
  lab.name = name;
  lab.tx_ns = name + "-tx";
  lab.rx_ns = name + "-rx";
  lab.tx_if = name + "-tx";
  lab.rx_if = name + "-rx";
  lab.tx_addr = "198.18.0.1";
  lab.rx_addr = "198.18.0.2";
  lab.tx_if2 = name + "-txb";
  lab.rx_if2 = name + "-rxb";
  lab.tx_addr2 = "198.18.1.1";
  lab.rx_addr2 = "198.18.1.2";
  return lab;
}

namespace {

// One veth pair of the lab between its two namespaces, and the multicast it carries.
struct VethPair {
  const std::string& tx_ns;
  const std::string& rx_ns;
  const std::string& tx_if;
  const std::string& rx_if;
  const std::string& tx_addr;
  const std::string& rx_addr;
  const char* multicast_route;
};

VethPair first_pair(const Lab& lab) {
  return {lab.tx_ns, lab.rx_ns, lab.tx_if, lab.rx_if, lab.tx_addr, lab.rx_addr, kMulticastRoute};
}
VethPair second_pair(const Lab& lab) {
  return {lab.tx_ns,    lab.rx_ns,    lab.tx_if2,       lab.rx_if2,
          lab.tx_addr2, lab.rx_addr2, kSecondPathGroups};
}

std::expected<void, std::string> make_veth_pair(const VethPair& p, const std::string& hint) {
  // Both ends must be where they belong, otherwise start the pair over.
  const bool tx_ok = link_exists(p.tx_ns, p.tx_if);
  const bool rx_ok = link_exists(p.rx_ns, p.rx_if);
  if (!(tx_ok && rx_ok)) {
    // Deleting one end of a veth deletes both; check again before each delete.
    if (link_exists(p.tx_ns, p.tx_if)) ip({"-n", p.tx_ns, "link", "del", p.tx_if});
    if (link_exists(p.rx_ns, p.rx_if)) ip({"-n", p.rx_ns, "link", "del", p.rx_if});
    if (link_exists("", p.tx_if)) ip({"link", "del", p.tx_if});
    if (link_exists("", p.rx_if)) ip({"link", "del", p.rx_if});
    std::vector<std::string> args = {"link", "add",  p.tx_if, "netns", p.tx_ns, "type",
                                     "veth", "peer", "name",  p.rx_if, "netns", p.rx_ns};
    if (auto r = ip(args); r.status != 0)
      return std::unexpected(
          fmt::format("cannot create veth pair {} <-> {}: {}; check that the "
                      "veth driver is available (modprobe veth){}",
                      p.tx_if, p.rx_if, describe(args, r), hint));
  }

  struct End {
    const std::string& ns;
    const std::string& ifname;
    const std::string& addr;
    const std::string& peer_ns;
    const std::string& peer_if;
    const std::string& peer_addr;
  };
  const End ends[] = {{p.tx_ns, p.tx_if, p.tx_addr, p.rx_ns, p.rx_if, p.rx_addr},
                      {p.rx_ns, p.rx_if, p.rx_addr, p.tx_ns, p.tx_if, p.tx_addr}};

  // Disable IPv6 before the link goes up, so no router solicitation or DAD ever leaves it.
  for (const End& e : ends)
    if (auto err = disable_ipv6(e.ns, e.ifname); !err.empty())
      return std::unexpected(fmt::format("cannot disable IPv6 on {}: {}{}", e.ifname, err, hint));

  for (const End& e : ends) {
    const std::vector<std::vector<std::string>> steps = {
        {"-n", e.ns, "addr", "replace", fmt::format("{}/{}", e.addr, kLabPrefixLength), "dev",
         e.ifname},
        {"-n", e.ns, "link", "set", "dev", "lo", "up"},
        {"-n", e.ns, "link", "set", "dev", e.ifname, "up"},
        // Multicast (AES67 streams, SAP announcements) leaves through the veth: without this
        // route a send to 239.x.y.z fails with ENETUNREACH, the namespaces having no default
        // route. The first pair routes 224.0.0.0/4, the whole IPv4 multicast range (RFC 5771),
        // the second the more specific kSecondPathGroups; the routes exist only inside the
        // lab's namespaces, so no group ever reaches a real link.
        {"-n", e.ns, "route", "replace", p.multicast_route, "dev", e.ifname},
    };
    for (const auto& args : steps)
      if (auto r = ip(args); r.status != 0)
        return std::unexpected(fmt::format("cannot configure {} in {}: {}{}", e.ifname, e.ns,
                                           describe(args, r), hint));
  }

  for (const End& e : ends) {
    const std::string peer_mac = link_mac(e.peer_ns, e.peer_if);
    if (peer_mac.empty())
      return std::unexpected(
          fmt::format("cannot read the MAC address of {} in {}{}", e.peer_if, e.peer_ns, hint));
    std::vector<std::string> args = {"-n",     e.ns,  "neigh",  "replace", e.peer_addr, "lladdr",
                                     peer_mac, "dev", e.ifname, "nud",     "permanent"};
    if (auto r = ip(args); r.status != 0)
      return std::unexpected(fmt::format("cannot add the permanent neighbour {} on {}: {}{}",
                                         e.peer_addr, e.ifname, describe(args, r), hint));
  }
  return {};
}

}  // namespace

static std::expected<void, std::string> check_name_and_root(const std::string& name) {
  if (!valid_lab_name(name))
    return std::unexpected(fmt::format(
        "invalid lab name '{}': use 1 to 8 characters from a-z and 0-9 (interface names must stay "
        "within 15 characters)",
        name));
  if (geteuid() != 0) return std::unexpected(std::string(kNeedRoot));
  return {};
}

std::expected<Lab, std::string> lab_up(const std::string& name, bool second_path) {
  if (auto ok = check_name_and_root(name); !ok) return std::unexpected(ok.error());
  Lab lab = lab_names(name);
  const std::string hint = cleanup_hint(name);

  for (const auto& ns : {lab.tx_ns, lab.rx_ns}) {
    if (netns_exists(ns)) continue;
    std::vector<std::string> args = {"netns", "add", ns};
    if (auto r = ip(args); r.status != 0)
      return std::unexpected(
          fmt::format("cannot create network namespace {}: {}; check that the "
                      "kernel has network namespaces (CONFIG_NET_NS){}",
                      ns, describe(args, r), hint));
  }
  if (auto r = make_veth_pair(first_pair(lab), hint); !r) return std::unexpected(r.error());
  if (second_path) {
    if (auto r = make_veth_pair(second_pair(lab), hint); !r) return std::unexpected(r.error());
    lab.second_path = true;
  } else {
    lab.second_path = link_exists(lab.tx_ns, lab.tx_if2) && link_exists(lab.rx_ns, lab.rx_if2);
  }
  return lab;
}

std::expected<void, std::string> lab_down(const std::string& name) {
  if (auto ok = check_name_and_root(name); !ok) return std::unexpected(ok.error());
  const Lab lab = lab_names(name);
  // Deleting a namespace destroys the veth end inside it, and with it the peer.
  for (const auto& ns : {lab.tx_ns, lab.rx_ns}) {
    if (!netns_exists(ns)) continue;
    std::vector<std::string> args = {"netns", "del", ns};
    if (auto r = ip(args); r.status != 0)
      return std::unexpected(
          fmt::format("cannot delete network namespace {}: {}; stop processes "
                      "using it (ip netns pids {}) and retry",
                      ns, describe(args, r), ns));
  }
  // Ends left in this namespace by an interrupted `up`.
  for (const auto& ifname : {lab.tx_if, lab.rx_if, lab.tx_if2, lab.rx_if2}) {
    if (!link_exists("", ifname)) continue;
    std::vector<std::string> args = {"link", "del", ifname};
    if (auto r = ip(args); r.status != 0 && link_exists("", ifname))
      return std::unexpected(fmt::format("cannot delete interface {}: {}; delete it by hand",
                                         ifname, describe(args, r)));
  }
  return {};
}

std::expected<std::string, std::string> lab_status(const std::string& name, bool& complete,
                                                   bool second_path) {
  complete = false;
  if (auto ok = check_name_and_root(name); !ok) return std::unexpected(ok.error());
  const Lab lab = lab_names(name);
  std::string out;
  bool all = true;
  for (const auto& ns : {lab.tx_ns, lab.rx_ns}) {
    const bool present = netns_exists(ns);
    out += fmt::format("netns {}: {}\n", ns, present ? "present" : "absent");
    all = all && present;
  }
  std::vector<VethPair> pairs = {first_pair(lab)};
  // The blue pair is shown when asked for or when it is there, required only when asked for.
  const bool blue_present =
      link_exists(lab.tx_ns, lab.tx_if2) || link_exists(lab.rx_ns, lab.rx_if2);
  if (second_path || blue_present) pairs.push_back(second_pair(lab));
  for (const VethPair& p : pairs) {
    const bool required = &p == &pairs.front() || second_path;
    struct End {
      const std::string& ns;
      const std::string& ifname;
      const std::string& addr;
      const std::string& peer_addr;
    };
    const End ends[] = {{p.tx_ns, p.tx_if, p.tx_addr, p.rx_addr},
                        {p.rx_ns, p.rx_if, p.rx_addr, p.tx_addr}};
    bool pair_ok = true;
    for (const End& e : ends) {
      if (!netns_exists(e.ns)) {
        pair_ok = false;
        continue;
      }
      auto link = ip_json(e.ns, {"addr", "show", "dev", e.ifname});
      if (!link.is_array() || link.empty()) {
        out += fmt::format("  link {} in {}: absent\n", e.ifname, e.ns);
        pair_ok = false;
        continue;
      }
      const auto& l = link[0];
      const std::string state = l.value("operstate", std::string("?"));
      std::string addrs;
      bool has_addr = false;
      for (const auto& a : l.value("addr_info", nlohmann::json::array())) {
        const std::string local = a.value("local", std::string());
        addrs += fmt::format(" {}/{}", local, a.value("prefixlen", 0));
        if (local == e.addr) has_addr = true;
      }
      out += fmt::format("  link {} in {}: {} mac {} addr{}\n", e.ifname, e.ns, state,
                         l.value("address", std::string("?")), addrs.empty() ? " none" : addrs);
      bool has_neigh = false;
      auto neigh = ip_json(e.ns, {"neigh", "show", "dev", e.ifname});
      if (neigh.is_array())
        for (const auto& n : neigh) {
          if (n.value("dst", std::string()) != e.peer_addr) continue;
          std::string st;
          for (const auto& s : n.value("state", nlohmann::json::array()))
            if (s.is_string()) st += s.get<std::string>();
          out += fmt::format("  neigh {} lladdr {} {}\n", e.peer_addr,
                             n.value("lladdr", std::string("?")), st);
          has_neigh = st.find("PERMANENT") != std::string::npos;
        }
      if (!has_neigh) out += fmt::format("  neigh {}: no permanent entry\n", e.peer_addr);
      bool has_mroute = false;
      auto routes = ip_json(e.ns, {"route", "show", p.multicast_route});
      if (routes.is_array())
        for (const auto& r : routes)
          if (r.value("dev", std::string()) == e.ifname) has_mroute = true;
      out += has_mroute ? fmt::format("  route {} dev {}\n", p.multicast_route, e.ifname)
                        : fmt::format("  route {} dev {}: absent (multicast cannot leave)\n",
                                      p.multicast_route, e.ifname);
      // veth reports operstate UP once both ends are up.
      if (state != "UP" || !has_addr || !has_neigh || !has_mroute) pair_ok = false;
    }
    if (&p != &pairs.front())
      out += fmt::format("second path: {}{}\n", pair_ok ? "up" : "not (fully) up",
                         required ? "" : " (not asked for)");
    if (required && !pair_ok) all = false;
  }
  for (const auto& ifname : {lab.tx_if, lab.rx_if, lab.tx_if2, lab.rx_if2})
    if (link_exists("", ifname)) {
      out += fmt::format("stray link {} in this namespace (left by an interrupted up)\n", ifname);
      all = false;
    }
  out += fmt::format("lab {}: {}\n", name, all ? "up" : "not (fully) up");
  complete = all;
  return out;
}

// One line on stderr; the root refusal is printed as is, everything else names the subcommand.
static void print_error(const char* sub, const std::string& msg) {
  if (msg == kNeedRoot)
    fmt::print(stderr, "{}\n", msg);
  else
    fmt::print(stderr, "rtcap lab {}: {}\n", sub, msg);
}

LabGuard::~LabGuard() {
  if (std::string err = release(); !err.empty()) fmt::print(stderr, "rtcap: warning: {}\n", err);
}

std::string LabGuard::release() {
  if (done_ || name_.empty()) return {};
  done_ = true;
  // A namespace whose last process just exited can be busy for a moment: retry briefly.
  std::string last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto r = lab_down(name_);
    if (r) return {};
    last = r.error();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return fmt::format("could not remove lab {}: {}", name_, last);
}

std::string unique_lab_name(const std::string& prefix) {
  return fmt::format("{}{}", prefix.substr(0, 2), static_cast<long>(getpid()) % 1000000);
}

CLI::App* add_lab_command(CLI::App& app, int& exit_code) {
  auto* lab = app.add_subcommand(
      "lab",
      "Create, remove or show the two-namespace veth test network (198.18.0.0/24; a second "
      "path 198.18.1.0/24; needs root)");
  lab->require_subcommand(1);
  auto name = std::make_shared<std::string>(kDefaultLabName);
  const auto add_name = [&](CLI::App* sub) {
    sub->add_option("--name", *name,
                    "Lab name, 1-8 of [a-z0-9]: namespaces and veth ends are <name>-tx, <name>-rx")
        ->type_name("NAME")
        ->capture_default_str();
  };

  auto second_path = std::make_shared<bool>(false);
  const auto add_second_path = [&](CLI::App* sub, const char* what) {
    sub->add_flag("--second-path", *second_path, what);
  };

  auto* up = lab->add_subcommand("up",
                                 "Create the lab (idempotent): netns+veth <name>-tx 198.18.0.1 "
                                 "<-> <name>-rx 198.18.0.2");
  add_name(up);
  add_second_path(up,
                  "Also the second (ST 2022-7 \"blue\") path: veth <name>-txb 198.18.1.1 <-> "
                  "<name>-rxb 198.18.1.2, carrying the groups 239.69.128.0/17");
  up->callback([name, second_path, &exit_code] {
    auto r = lab_up(*name, *second_path);
    if (!r) {
      print_error("up", r.error());
      exit_code = 1;
      return;
    }
    fmt::print("lab {} up: netns {} dev {} {}/{} <-> netns {} dev {} {}/{}\n", r->name, r->tx_ns,
               r->tx_if, r->tx_addr, kLabPrefixLength, r->rx_ns, r->rx_if, r->rx_addr,
               kLabPrefixLength);
    if (r->second_path)
      fmt::print("second path: dev {} {}/{} <-> dev {} {}/{}, groups {}\n", r->tx_if2, r->tx_addr2,
                 kLabPrefixLength, r->rx_if2, r->rx_addr2, kLabPrefixLength, kSecondPathGroups);
    exit_code = 0;
  });

  auto* down =
      lab->add_subcommand("down", "Remove everything `lab up` made (succeeds when absent)");
  add_name(down);
  down->callback([name, &exit_code] {
    auto r = lab_down(*name);
    if (!r) {
      print_error("down", r.error());
      exit_code = 1;
      return;
    }
    fmt::print("lab {} down\n", *name);
    exit_code = 0;
  });

  auto* status =
      lab->add_subcommand("status", "Show what exists of the lab (exit 3 if not fully up)");
  add_name(status);
  add_second_path(status, "Require the second path too (exit 3 without it)");
  status->callback([name, second_path, &exit_code] {
    bool complete = false;
    auto r = lab_status(*name, complete, *second_path);
    if (!r) {
      print_error("status", r.error());
      exit_code = 1;
      return;
    }
    fmt::print("{}", *r);
    exit_code = complete ? 0 : 3;
  });
  return lab;
}

}  // namespace rtcap::tool
