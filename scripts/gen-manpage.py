#!/usr/bin/env python3
"""Generates docs/rtcap.1 from `rtcap --help` and each subcommand's --help, so the man page
cannot drift from the option table (tests/unit/test_cli.cpp checks it names every option).

  scripts/gen-manpage.py build/tools/rtcap/rtcap > docs/rtcap.1
"""
import re
import subprocess
import sys


# Where the rtcap-doc package installs the guides and examples (cmake/packaging.cmake).
DOC_DIR = "/usr/share/doc/rtcap\\-doc"


def esc(text):
    return text.replace("\\", "\\\\").replace("-", "\\-")


def help_of(binary, *args):
    return subprocess.run([binary, *args, "--help"], capture_output=True, text=True, check=True).stdout


def options(text):
    """Yields (flags, description) from CLI11's help layout."""
    lines = text.splitlines()
    in_opts = False
    flags, desc = None, []
    for line in lines:
        if line.startswith("Options:"):
            in_opts = True
            continue
        if line.startswith("Subcommands:") or line.startswith("Positionals:"):
            in_opts = False
        if not in_opts or not line.strip():
            continue
        m = re.match(r"^  (\S.*?)(?:\s{2,}(.*))?$", line)
        if m and line.startswith("  ") and not line.startswith("    "):
            if flags:
                yield flags, " ".join(desc)
            flags, desc = m.group(1), [m.group(2)] if m.group(2) else []
        else:
            desc.append(line.strip())
    if flags:
        yield flags, " ".join(desc)


def main():
    binary = sys.argv[1]
    top = help_of(binary)
    subs = re.findall(r"^  (\w[\w-]*)\s{2,}", top.split("Subcommands:")[1], re.M) if "Subcommands:" in top else []
    out = [
        '.TH RTCAP 1 "" "rtcap" "User Commands"',
        ".SH NAME",
        "rtcap \\- capture high rates of tiny packets with low, bounded delay",
        ".SH SYNOPSIS",
        ".B rtcap",
        "[\\fIoptions\\fR] [\\fIfilter\\fR...]",
        ".br",
        ".B rtcap",
        "\\fIsubcommand\\fR [\\fIoptions\\fR]",
        ".SH DESCRIPTION",
        "With no subcommand rtcap captures like tcpdump, using the options below; the filter is "
        "the trailing arguments (pcap\\-filter(7)). The guides are listed under FILES.",
        ".SH OPTIONS",
    ]
    for flags, desc in options(top):
        out += [".TP", f".B {esc(flags)}", esc(desc)]
    out.append(".SH SUBCOMMANDS")
    for sub in subs:
        text = help_of(binary, sub)
        out += [".SS", f".B {sub}", esc(text.splitlines()[0])]
        for flags, desc in options(text):
            out += [".TP", f".B {esc(flags)}", esc(desc)]
    out += [".SH SIGNALS",
            "SIGINT and SIGTERM stop the capture: rtcap is gone within 2 s, also when the reader "
            "of \\-w \\- stalls, the \\-r FIFO's writer stalls or \\-\\-timeout\\-ms is long; "
            "what it could not write in that time is counted on the line "
            "`N packets written before the output stopped; M captured packets not written'. "
            "SIGUSR1 prints the counters (pcap_stats read at that moment); SIGUSR2 flushes "
            "the \\-w output.",
            ".SH EXIT STATUS",
            "0 done; 1 capture or output failed after it started; 2 bad option or filter; "
            "3 cannot open the interface or file; 4 Npcap missing (Windows).",
            ".SH FILES",
            ".TP", f".I {DOC_DIR}/",
            "README.md (start here), OPERATIONS.md (running it as a service, metrics, alert rules), "
            "TUNING.md (settings and the measurements behind them), EMBEDDING.md (the library "
            "from C++, C and Python), ARCHITECTURE.md, WINDOWS.md; package rtcap\\-doc.",
            ".TP", f".I {DOC_DIR}/examples/",
            "programs to copy: C++ (inline, threaded), C, pkg\\-config, Python.",
            ".TP", ".I /usr/lib/systemd/system/rtcap@.service",
            "the capture service: systemctl enable \\-\\-now rtcap@IFACE (see OPERATIONS.md).",
            ".SH SEE ALSO", "tcpdump(1), pcap(3PCAP), pcap\\-filter(7), pcap\\-tstamp(7)"]
    print("\n".join(out))


main()
