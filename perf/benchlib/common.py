# SPDX-License-Identifier: BSD-3-Clause
"""What perf/bench's suites share: the appliance started on a config made
for the run, kc-loadgen over memif, network namespaces, CPU accounting
from /proc, and the figures' record."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYS = os.path.join(ROOT, "config", "dev.keys")
# What this invocation makes on the host is named after its PID, so that
# two test runs on one host (each with its bench-quick) do not meet.
RUN = str(os.getpid())


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ADMIN_PORT = _free_port()   # the kernel's pick: not another run's
MEMIF_SOCK = "/run/kingcobra/bench-%s.sock" % RUN
APPLIANCE_MAC = "02:4b:43:00:00:20"
APPLIANCE_IP = "10.88.2.2"


class BenchError(Exception):
    """A run that could not be made: the harness says why and stops."""


class Ctx:
    """One invocation: where the binaries are, where runs write, how long."""

    def __init__(self, build, work, quick, seconds, runs):
        self.build = build
        self.work = work
        self.quick = quick
        self.seconds = seconds
        self.runs = runs

    def bin(self, rel):
        p = os.path.join(self.build, rel)
        if not os.access(p, os.X_OK):
            raise BenchError("%s is not built (run deploy/kc-build)" % p)
        return p


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    ncpu = os.cpu_count()
    mem = next((int(l.split()[1]) // 1024 for l in open("/proc/meminfo")
                if l.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cpus": ncpu, "memory_mb": mem,
            "kernel": os.uname().release}


def figure(name, value, unit, how, peer=None, peer_value=None,
           target=None, higher_is_better=True):
    """One row of a suite's table. ratio: ours over the peer's (for
    costs, the peer's over ours, so above 1 means better than the peer);
    target: (minimum ratio or value, what it is about)."""
    f = {"name": name, "value": value, "unit": unit, "how": how}
    if peer is not None:
        f["peer"] = peer
        f["peer_value"] = peer_value
        if peer_value and value:
            f["ratio"] = round(value / peer_value if higher_is_better
                               else peer_value / value, 2)
        else:
            f["ratio"] = None
    if target is not None:
        want, about = target
        f["target"] = about
        f["want"] = want
        # A cost without a peer is met at or below its target.
        f["at_most"] = peer is None and not higher_is_better
        f["target_met"] = target_met(f)
    return f


def target_met(f):
    """Whether figure f meets its target (None: not measured)."""
    got = f.get("ratio") if "peer" in f else f["value"]
    if got is None:
        return None
    return bool(got <= f["want"] if f.get("at_most") else got >= f["want"])


# ---- the appliance --------------------------------------------------------

def appliance_yaml(name, ports, lcores="0@0,1@1", rx=(1,), workers=(1,),
                   durability="none", memory_mb=512, idle="spin",
                   journal="", extra=""):
    """A config for one run; ports is the YAML of the ports list, journal
    more lines of the journal section, extra more sections."""
    return """# perf/bench: made for one run, not kept
production: false
log_level: warning
eal:
  lcores: "%s"
  main_lcore: 0
  memory_mb: %d
  hugepages: false
  in_memory: true
  file_prefix: kc-bench-%s-%s
ports:
%s
pipeline:
  rx_lcores: [%s]
  worker_lcores: [%s]
  idle: %s
journal:
  durability: %s
%skcp:
  keys_file: %s
admin:
  port: %d
%s""" % (lcores, memory_mb, name, RUN, ports, ", ".join(map(str, rx)),
         ", ".join(map(str, workers)), idle, durability, journal, KEYS,
         ADMIN_PORT, extra)


def memif_port(extra=""):
    return """  - name: memif0
    driver: memif
    socket: %s
    role: server
    mac: "%s"
    ip: %s/24
    link_wait_ms: 0
%s""" % (MEMIF_SOCK, APPLIANCE_MAC, APPLIANCE_IP, extra)


class Appliance:
    """kingcobra on a config written for the run, its journal in
    journal_dir; stopped (SIGTERM) on leaving the with block."""

    def __init__(self, ctx, name, yaml, journal_dir):
        self.ctx, self.name, self.journal = ctx, name, journal_dir
        self.cfg = os.path.join(ctx.work, name + ".yaml")
        self.log = os.path.join(ctx.work, name + ".log")
        with open(self.cfg, "w") as f:
            f.write(yaml)
        self.proc = None
        self.final = {}

    def __enter__(self):
        shutil.rmtree(self.journal, ignore_errors=True)
        os.makedirs("/run/kingcobra", exist_ok=True)
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(
            [self.ctx.bin("app/kingcobra/kingcobra"), "--config", self.cfg,
             "--journal-dir", self.journal],
            stdout=self.logf, stderr=subprocess.STDOUT)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise BenchError("the appliance (%s) exited %d:\n%s" % (
                    self.name, self.proc.returncode, open(self.log).read()))
            if re.search(r"^kingcobra ready", open(self.log).read(), re.M):
                return self
            time.sleep(0.1)
        raise BenchError("the appliance (%s) was not ready in 30 s:\n%s" % (
            self.name, open(self.log).read()))

    def stats(self):
        """/api/v1/stats: every lcore counter summed ("counters") as the
        admin sampler copied them at "sample_ms" (once a second)."""
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/stats"
                                    % ADMIN_PORT, timeout=5) as r:
            return json.load(r)

    def counters(self):
        return self.stats()["counters"]

    def api(self, path):
        """Any document of the admin API, /api/v1/PATH."""
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/%s"
                                    % (ADMIN_PORT, path), timeout=30) as r:
            return json.load(r)

    def latency(self):
        """/api/v1/latency: the lcores' service-time histogram (RX burst
        to the REPLY's TX) since start, with its percentiles."""
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/latency"
                                    % ADMIN_PORT, timeout=5) as r:
            return json.load(r)["since_start"]

    def journal_bytes(self):
        """Bytes the journal's shards have written (the sampler's copy)."""
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/journal"
                                    % ADMIN_PORT, timeout=5) as r:
            return sum(s["bytes_written"] for s in json.load(r)["shards"])

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
        # The last words: every counter that is not zero.
        for line in open(self.log):
            f = line.split()
            if len(f) >= 2 and re.fullmatch(r"[a-z_0-9]+", f[0]) and f[1].isdigit():
                self.final[f[0]] = int(f[1])
        self.proc = None
        shutil.rmtree(self.journal, ignore_errors=True)
        shutil.rmtree("/var/run/dpdk/kc-bench-%s-%s" % (self.name, RUN),
                      ignore_errors=True)

    def __exit__(self, *exc):
        self.stop()
        return False


def delta(c0, c1):
    return {k: c1.get(k, 0) - c0.get(k, 0) for k in c1}


# ---- kc-loadgen -----------------------------------------------------------

def loadgen(ctx, args, name="loadgen", lcore=0, timeout=None, during=None,
            busy_ok=False, unsent_ok=False):
    """kc-loadgen as the memif client of the appliance, on CPU lcore: its
    JSON result; a run that did not get every REPLY it expected raises
    BenchError. during(), if given, runs while kc-loadgen does; what it
    returns is the result's "during". busy_ok: REPLYs refused UNAVAILABLE
    (the journal's buffer full: the appliance pushing back on more load
    than its journal writes) are the figure's business, not a failure;
    unsent_ok: so are requests an open loop could not send when due (the
    figure reports them)."""
    eal = ["--lcores=0@%d" % lcore, "--no-huge", "-m", "256", "--no-pci",
           "--file-prefix=kc-bench-gen-" + RUN, "--log-level=lib.*:error",
           "--vdev=net_memif0,role=client,id=0,socket=%s,socket-abstract=no,"
           "rsize=12" % MEMIF_SOCK]
    cmd = [ctx.bin("perf/kc-loadgen")] + eal + ["--", "--mac", APPLIANCE_MAC,
                                                 "--ip", APPLIANCE_IP, "--quiet"] + args
    errf = os.path.join(ctx.work, name + ".err")
    with open(errf, "w") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        seen = during() if during is not None else None
        try:
            out, _ = p.communicate(timeout=timeout or 300)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
    shutil.rmtree("/var/run/dpdk/kc-bench-gen-" + RUN, ignore_errors=True)
    try:
        r = json.loads(out)
    except ValueError:
        raise BenchError("kc-loadgen (%s) exited %d without a result:\n%s" % (
            name, p.returncode, open(errf).read()))
    r["clean"] = p.returncode == 0
    r["during"] = seen
    busy = r["errors_by_status"].get("UNAVAILABLE", 0)
    if r["ok"] > 0 and r["lost"] == 0 and \
            (r["not_sent"] == 0 or unsent_ok) and \
            (r["errors"] == 0 or (busy_ok and r["errors"] == busy)):
        r["clean"] = True
    if not r["clean"]:
        raise BenchError("kc-loadgen (%s) did not get every REPLY it "
                         "expected: ok %d of %d sent, lost %d, errors %d "
                         "(first: %s), not sent %d" % (
                             name, r["ok"], r["sent"], r["lost"], r["errors"],
                             r["first_error"] or "-", r["not_sent"]))
    return r


# ---- CPU accounting -------------------------------------------------------

def cpu_busy_s():
    """Busy CPU-seconds of the whole machine so far (user, nice, system,
    irq, softirq: the kernel's network work included; not idle, iowait or
    steal)."""
    f = open("/proc/stat").readline().split()
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq = map(int, f[1:8])
    return (user + nice + system + irq + softirq) / hz


def run_measured(cmd, **kw):
    """Run cmd to its end; (returncode, stdout, its own CPU-seconds,
    the whole machine's busy CPU-seconds meanwhile, wall seconds)."""
    b0, t0 = cpu_busy_s(), time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, **kw)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    return (p.returncode, out, ru.ru_utime + ru.ru_stime,
            cpu_busy_s() - b0, time.monotonic() - t0)


# ---- hardware counters ----------------------------------------------------

HW_EVENTS = ("instructions:u", "cycles:u")


def cpu_counters(cpu, seconds):
    """User-space instructions and cycles retired on one CPU over a window
    of seconds (perf stat, hardware counters); None where there are none
    (a VM without a virtual PMU) or perf is missing."""
    try:
        p = subprocess.run(["perf", "stat", "-x,", "-C", str(cpu), "-e",
                            ",".join(HW_EVENTS), "--", "sleep", str(seconds)],
                           capture_output=True, text=True, timeout=seconds + 30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    got = {}
    for line in p.stderr.splitlines():
        f = line.split(",")
        if len(f) > 3 and f[2] in HW_EVENTS:
            try:
                got[f[2].split(":")[0]] = float(f[0])
            except ValueError:  # "<not supported>", "<not counted>"
                return None
    return got if len(got) == len(HW_EVENTS) else None


def lcore_cost(a, cpu, seconds):
    """What each request costs the data-path lcore on CPU cpu, from its
    hardware counters over a window of seconds while load runs:
    {"instructions": ..., "cycles": ...} per request taken in, or None
    without counters. The requests are the appliance's own count over the
    sampler's copies around the window, scaled to it. Unlike time,
    instructions per request hardly move with whatever else a shared
    machine is doing, so they show a change in the code's cost."""
    s0 = a.stats()
    hw = cpu_counters(cpu, seconds)
    s1 = a.stats()
    span = (s1["sample_ms"] - s0["sample_ms"]) / 1000.0
    n = delta(s0["counters"], s1["counters"]).get("kcp_requests", 0)
    if hw is None or span <= 0 or n <= 0:
        return None
    per_window = n / span * seconds
    return {k: v / per_window for k, v in hw.items()}


def perf_text(ctx, record, report, seconds):
    """perf RECORD... -o DATA -- sleep seconds, then perf REPORT... -i
    DATA: the report's text, or None without perf (or what it records)."""
    data = os.path.join(ctx.work, "perf.data")
    try:
        subprocess.run(["perf"] + record + ["-o", data, "--", "sleep",
                                            str(seconds)],
                       capture_output=True, check=True, timeout=seconds + 60)
        return subprocess.run(["perf"] + report + ["-i", data],
                              capture_output=True, text=True, check=True,
                              timeout=300).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        if os.path.exists(data):
            os.unlink(data)


def cpu_profile(ctx, cpu, seconds):
    """Where one CPU's time goes: perf record (timer samples) over a window
    of seconds, as [(percent, dso, symbol)], largest first; None without
    perf."""
    rep = perf_text(ctx, ["record", "-q", "-F", "1999", "-C", str(cpu)],
                    ["report", "--no-children", "--sort", "dso,sym",
                     "--stdio", "-g", "none"], seconds)
    if rep is None:
        return None
    rows = []
    for line in rep.splitlines():
        m = re.match(r"\s*([0-9.]+)%\s+(\S+)\s+\[.\]\s+(.*\S)", line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3)))
    return rows or None


def steal_ms():
    """Each CPU's steal time so far, in ms (/proc/stat): time the
    hypervisor ran something else while this machine's CPU was ready."""
    hz = os.sysconf("SC_CLK_TCK")
    out = {}
    for line in open("/proc/stat"):
        f = line.split()
        if f[0].startswith("cpu") and f[0] != "cpu":
            out[f[0]] = int(f[8]) * 1000.0 / hz
    return out


def sched_waits(ctx, cpu, seconds):
    """Who waited for CPU cpu, and how long: perf sched record over a
    window of seconds, then perf sched latency. [{"task", "runtime_ms",
    "switches", "avg_delay_ms", "max_delay_ms"}], longest wait first;
    None without perf or its scheduler tracepoints."""
    rep = perf_text(ctx, ["sched", "record", "-C", str(cpu)],
                    ["sched", "latency", "--sort", "max"], seconds)
    if rep is None:
        return None
    rows = []
    for line in rep.splitlines():
        m = re.match(r"\s*(\S.*?)\s*\|\s*([0-9.]+) ms\s*\|\s*(\d+)\s*\|"
                     r"\s*avg:\s*([0-9.]+) ms\s*\|\s*max:\s*([0-9.]+) ms", line)
        if m:
            rows.append({"task": m.group(1), "runtime_ms": float(m.group(2)),
                         "switches": int(m.group(3)),
                         "avg_delay_ms": float(m.group(4)),
                         "max_delay_ms": float(m.group(5))})
    return rows or None


# ---- network namespaces ---------------------------------------------------

class VethPair:
    """A veth pair: `host` in this namespace (no address of the kernel's
    unless given), `peer` in a namespace of its own with peer_ip."""

    def __init__(self, ns, host, peer, peer_ip):
        self.ns, self.host, self.peer, self.peer_ip = ns, host, peer, peer_ip

    def sh(self, *cmd, check=True):
        return subprocess.run(list(cmd), check=check, capture_output=True)

    def __enter__(self):
        self.sh("ip", "netns", "del", self.ns, check=False)
        self.sh("ip", "link", "del", self.host, check=False)
        self.sh("ip", "netns", "add", self.ns)
        self.sh("ip", "link", "add", self.host, "type", "veth", "peer",
                "name", self.peer)
        self.sh("ip", "link", "set", self.peer, "netns", self.ns)
        self.sh("ip", "link", "set", self.host, "up")
        self.sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % self.host)
        self.sh("ip", "netns", "exec", self.ns, "ip", "addr", "add",
                self.peer_ip, "dev", self.peer)
        self.sh("ip", "netns", "exec", self.ns, "ip", "link", "set",
                self.peer, "up")
        self.sh("ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up")
        # veth leaves UDP checksums to "hardware"; AF_PACKET would see
        # them unfinished (tests/integration/test_afpacket.sh).
        self.sh("ip", "netns", "exec", self.ns, "ethtool", "-K", self.peer,
                "tx", "off")
        return self

    def in_ns(self, cmd):
        return ["ip", "netns", "exec", self.ns] + cmd

    def __exit__(self, *exc):
        self.sh("ip", "netns", "del", self.ns, check=False)
        self.sh("ip", "link", "del", self.host, check=False)
        return False
