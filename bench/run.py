#!/usr/bin/python3
"""Benchmark the whole path: wrk -> lighttpd -> xmpp-rest.fcgi -> xmpp-restd
-> Prosody -> an online XMPP client (messages) or Prosody itself (iq ping),
beside the ceilings of the HTTP path on this machine.  `make bench`.

    /usr/bin/python3 bench/run.py [--seconds 10] [--runs 3] [--clients 1,8,64]
        [--messages 2000] [--flood 20000]
        [--scenarios static,empty,prosody,message,ping,cgi,webhook] [--strict]

Prints one table.  Rows: the ceilings (lighttpd serving a static file;
build/empty-fcgi, an empty FastCGI responder, in xmpp-rest.fcgi's place;
Prosody routing --flood messages from a bare component, bench/flood.py,
to the online user, with the bridge stopped meanwhile), then ours
(message POSTs and iq pings through FastCGI, message POSTs through plain
CGI at 8 clients), webhook deliveries/s for --messages incoming messages,
the bridge's memory when idle (RSS, and PSS and private beside it) beside
the floor any libstrophe program has (build/strophe-floor), and the peak
RSS (VmHWM) of the bridge and of the responders, sampled after the runs.  Every figure is the median of --runs
runs of --seconds each (wrk -t1); non-2xx must be 0; "ours/ceil" is our
req/s over the empty responder's at the same clients; "mod_rest" holds the
figures of issue 7 (Prosody's mod_rest on a 2-core machine) where known.
A second table splits each row's CPU time per request between wrk, the
web server, the responders, the bridge (with its delivery children),
Prosody and the receiving client (bench/sink.py), from /proc: where the
time goes on this machine, and so what bounds the whole path.
With --strict (make bench-smoke) the exit status is 1 if a scenario gave
no figures or any answer was not 2xx.  Everything runs on 127.0.0.1
(tools/stack.py).
"""

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)   # bench/webhook.py, also when deploy.py loads us

from stack import COMPONENT, Stack  # noqa: E402
import webhook  # noqa: E402
from xmpp_client import TestClient  # noqa: E402
from sink import Sink  # noqa: E402
import flood  # noqa: E402

EMPTY_FCGI = os.path.join(REPO, "build", "empty-fcgi")
STROPHE_FLOOR = os.path.join(REPO, "build", "strophe-floor")
STATIC = "bench.txt"    # put in lighttpd's docroot for the static row

# A 150-byte chat message to an online client, as in the mod_rest figures.
MESSAGE = ("<message to='alice@localhost/bench' type='chat'><body>"
           + "x" * 74 + "</body></message>")
PING = "<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"

LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/xmpp+xml"
wrk.body = os.getenv("XR_BODY")
wrk.headers["Authorization"] = os.getenv("XR_AUTH")
"""


def to_ms(value, unit):
    v = float(value)
    return {"us": v / 1000, "ms": v, "s": v * 1000, "m": v * 60000}[unit]


def wrk(url, body, clients, seconds, lua):
    """One wrk run; lua None: plain GETs.  Returns (req/s, p50 ms, p99 ms,
    non-2xx, wrk's socket errors line or "")."""
    env = dict(os.environ, XR_BODY=body or "")
    out = subprocess.run(
        ["wrk", "-t1", "-c%d" % clients, "-d%ds" % seconds, "--latency"]
        + (["-s", lua] if lua else []) + [url], env=env,
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict((p, to_ms(v, u)) for p, v, u in re.findall(
        r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors:.*", out)
    return rps, lat.get("50"), lat.get("99"), int(bad.group(1)) if bad else 0, \
        errs.group(0) if errs else ""


def drain(count, quiet=1.0, limit=120.0):
    """Waits until count() (messages a client received) stops growing: a
    backlog in Prosody would slow down the next scenario."""
    deadline = time.monotonic() + limit
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = count()
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(0.1)


# The mod_rest figures of issue 7, by (scenario, clients).
MOD_REST = {("message", 64): "4900, p99 29 ms", ("ping", 64): "3200, p99 41 ms",
            ("webhook", None): "1700/s"}


def vmhwm(pid):
    """Peak resident set of a process in KiB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


CLK_TCK = os.sysconf("SC_CLK_TCK")
RESPONDERS = ("xmpp-rest.fcgi", "empty-fcgi")


def proc_table():
    """Every process: pid -> (comm, ppid, session, CPU s of itself and of
    its reaped children).  Children that end during a run (webhook
    deliveries, CGI requests) show up in their parent's reaped time."""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        f = raw[raw.rindex(")") + 2:].split()
        # fields from 3 on: state ppid pgrp session ... utime(14) stime
        # cutime cstime, counted from 1
        cpu = sum(int(x) for x in f[11:15]) / CLK_TCK
        table[int(d)] = (comm, int(f[1]), int(f[3]), cpu)
    return table


class CpuMeter:
    """CPU seconds spent by each part of the path between two samples,
    so that a row can say where a request's CPU goes."""

    PARTS = ("wrk", "web server", "responders", "xmpp-restd", "prosody", "sink")

    def __init__(self, stack):
        self.stack = stack

    def _split(self):
        parts = dict.fromkeys(self.PARTS, 0.0)
        web = self.stack.web.server.p.pid if self.stack.web else None
        bridge = self.stack.bridge.pid if self.stack.bridge else None
        for pid, (comm, ppid, sid, cpu) in proc_table().items():
            if sid == web and comm in RESPONDERS:
                parts["responders"] += cpu
            elif sid == web:
                parts["web server"] += cpu
            elif bridge is not None and bridge in (pid, ppid):
                parts["xmpp-restd"] += cpu
            elif sid == self.stack.xmpp.pid:
                parts["prosody"] += cpu
        parts["sink"] = _self_cpu()
        # wrk has ended by the second sample: count it from our reaped
        # children (the stack's own processes are not reaped mid-run).
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        parts["wrk"] = kids.ru_utime + kids.ru_stime
        return parts

    def start(self):
        self.before = self._split()
        self.t0 = time.monotonic()

    def stop(self):
        """CPU seconds by part since start(); "wall" holds the seconds
        that passed."""
        after = self._split()
        spent = dict((k, after[k] - self.before[k]) for k in self.PARTS)
        spent["wall"] = time.monotonic() - self.t0
        return spent


def _self_cpu():
    """This process's CPU time (the sink's reader thread; the test client
    sits idle during the HTTP rows)."""
    with open("/proc/self/stat") as f:
        raw = f.read()
    f = raw[raw.rindex(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / CLK_TCK


def print_cpu(rows):
    """The second table: CPU microseconds per request by part of the
    path, and how busy the machine's cores were (100 % = all of them)."""
    if not rows:
        return
    print()
    print("%-30s" % "CPU us per request" + "".join("%11s" % p for p in CpuMeter.PARTS)
          + "%8s %6s" % ("total", "busy"))
    for name, spent, served in rows:
        total = sum(spent[p] for p in CpuMeter.PARTS)
        print("%-30s" % name[:30] + "".join("%11.1f" % (spent[p] / served * 1e6)
                                            for p in CpuMeter.PARTS)
              + "%8.1f %5.0f%%" % (total / served * 1e6,
                                   100 * total / (spent["wall"] * os.cpu_count())))


def strophe_floor():
    """RSS in KiB of build/strophe-floor: libstrophe initialised, nothing
    else; None if it is not built."""
    try:
        out = subprocess.run([STROPHE_FLOOR], capture_output=True, text=True,
                             check=True).stdout
        return int(out.split()[0])
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return None


def memory(pid):
    """(RSS, PSS, private) of a process now, in KiB; None where unknown.
    RSS counts every shared library page the process has touched; PSS
    shares them out between the processes that map them; private is what
    the process alone holds."""
    out = {}
    for path, keys in (("/proc/%d/status" % pid, ("VmRSS",)),
                       ("/proc/%d/smaps_rollup" % pid,
                        ("Pss", "Private_Clean", "Private_Dirty"))):
        try:
            with open(path) as f:
                for line in f:
                    k = line.split(":")[0]
                    if k in keys:
                        out[k] = int(line.split()[1])
        except OSError:
            pass
    private = None
    if "Private_Clean" in out and "Private_Dirty" in out:
        private = out["Private_Clean"] + out["Private_Dirty"]
    return out.get("VmRSS"), out.get("Pss"), private


def pids_of(exe):
    """The processes running the program at path exe (by /proc/PID/exe,
    or the first word of the command line where exe is not readable)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            path = os.readlink("/proc/%s/exe" % d)
        except OSError:
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    path = f.read().split(b"\0")[0].decode("utf-8", "replace")
            except OSError:
                continue
        if path == exe:
            found.append(int(d))
    return found


class Table:
    """Rows are printed as they come (a long run shows progress); what
    went wrong is collected for --strict."""

    def __init__(self):
        self.problems = []
        self.notes = []
        print("%-26s %7s %9s %8s %8s %7s %9s  %s" % (
            "scenario", "clients", "req/s", "p50 ms", "p99 ms", "non-2xx",
            "ours/ceil", "mod_rest"), flush=True)

    def row(self, name, clients, rps, p50=None, p99=None, bad=0, ratio=None,
            ref="", rps_fmt="%.0f"):
        def num(v, fmt):
            return "-" if v is None else fmt % v
        print("%-26s %7s %9s %8s %8s %7s %9s  %s" % (
            name, num(clients, "%d"), num(rps, rps_fmt), num(p50, "%.2f"),
            num(p99, "%.2f"), num(bad, "%d"), num(ratio, "%.2f"), ref),
            flush=True)

    def fail(self, what):
        self.problems.append(what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clients", default="1,8,64")
    ap.add_argument("--messages", type=int, default=2000,
                    help="incoming messages per webhook run")
    ap.add_argument("--flood", type=int, default=20000,
                    help="messages per run of the Prosody routing ceiling")
    ap.add_argument("--scenarios",
                    default="static,empty,prosody,message,ping,cgi,webhook")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 if a scenario gave no figures or a non-2xx answer")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    wanted = args.scenarios.split(",")
    if ("empty" in wanted or "static" in wanted) and not os.access(EMPTY_FCGI, os.X_OK):
        print("bench/run.py needs %s (make build/empty-fcgi)" % EMPTY_FCGI, file=sys.stderr)
        return 1

    # One stack for everything: the webhook settings do not touch the
    # HTTP rows (those messages go to alice, not to the component).
    rx = webhook.Receiver()
    conf = webhook.bridge_conf(rx, args.messages)
    conf["log_level"] = "warn"
    # Prosody logs at info, as a production server would: the tests'
    # debug log writes several lines per stanza and would be measured too.
    stack = Stack(bridge_conf=conf, prosody_log_level="info")
    stack.start()
    time.sleep(1)
    idle = memory(stack.bridge.pid)     # before any request
    os.environ["XR_AUTH"] = "Bearer " + stack.token   # read by LUA
    alice = sink = None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA)
        lua = f.name
    with open(stack.path("www", STATIC), "w") as f:
        f.write("x" * 149 + "\n")
    table = Table()
    empty = {}      # the empty responder's req/s by clients: the ceiling
    meter = CpuMeter(stack)
    cpu_rows = []   # (row, CPU s by part, requests) for the second table

    def measure(name, label, url, body, c, script, ceiling=None, drained=False):
        runs, errs = [], []
        spent, served = dict.fromkeys(CpuMeter.PARTS + ("wall",), 0.0), 0.0
        for _ in range(args.runs):
            meter.start()
            try:
                r = wrk(url, body, c, args.seconds, script)
            except (subprocess.CalledProcessError, AttributeError) as e:
                # no "Requests/sec" (AttributeError) or wrk failed
                errs.append(str(e))
                continue
            if r[1] is None or r[2] is None:
                errs.append("wrk printed no latency")
                continue
            runs.append(r)
            if r[4]:
                table.notes.append("%s at %d: %s" % (label, c, r[4]))
            if drained:
                drain(lambda: sink.count)
            for part, secs in meter.stop().items():
                spent[part] += secs
            served += r[0] * args.seconds
        if served:
            cpu_rows.append(("%s, %d" % (label, c), spent, served))
        if errs or not runs:
            table.fail("%s at %d clients: %s" % (label, c, "; ".join(errs) or "no runs"))
        if not runs:
            table.row(label, c, None, bad=None)
            return None
        rps = statistics.median(r[0] for r in runs)
        bad = sum(r[3] for r in runs)
        if rps <= 0:
            table.fail("%s at %d clients: no requests" % (label, c))
        if bad:
            table.fail("%s at %d clients: %d non-2xx answers" % (label, c, bad))
        ratio = rps / ceiling if ceiling else None
        table.row(label, c, rps, statistics.median(r[1] for r in runs),
                  statistics.median(r[2] for r in runs), bad, ratio,
                  MOD_REST.get((name, c), ""))
        return rps

    try:
        # The receiving user of the message rows (bench/sink.py: why not
        # the tests' client); alice/sender sends the webhook's messages.
        sink = Sink(stack.jid("alice"), stack.users["alice"], "127.0.0.1",
                    stack.c2s_port, resource="bench")
        sink.start()
        alice = TestClient(stack.jid("alice"), stack.users["alice"],
                           "127.0.0.1", stack.c2s_port, resource="sender")
        alice.start()

        # The ceilings: the stack's lighttpd with the empty responder in
        # xmpp-rest.fcgi's place (started by the same snippet).
        if "static" in wanted or "empty" in wanted:
            d = stack.start_web("lighttpd", responder=EMPTY_FCGI, label="lighttpd-empty")
            static_url = "http://127.0.0.1:%d/%s" % (d.port, STATIC)
            if "static" in wanted:
                for c in clients:
                    measure("static", "ceiling: static file GET", static_url, None, c, None)
            if "empty" in wanted:
                for c in clients:
                    empty[c] = measure("empty", "ceiling: empty FastCGI", d.url,
                                       MESSAGE, c, lua)
            stack.start_web("lighttpd")

        # The XMPP server's own ceiling: a bare component (bench/flood.py)
        # in the bridge's place writes to the same online user.
        if "prosody" in wanted:
            stack.stop_bridge()
            rates, served, lost = [], 0, 0
            spent = dict.fromkeys(CpuMeter.PARTS + ("wall",), 0.0)
            for _ in range(args.runs):
                meter.start()
                rate, got = flood.flood("127.0.0.1", stack.component_port, COMPONENT,
                                        stack.secret, "alice@localhost/bench",
                                        args.flood, lambda: sink.count)
                for part, secs in meter.stop().items():
                    spent[part] += secs
                rates.append(rate)
                served += got
                lost += args.flood - got
                drain(lambda: sink.count)
            table.row("ceiling: Prosody routing", None, statistics.median(rates), bad=lost,
                      ref="(%d messages, component -> online user)" % args.flood)
            if served:
                cpu_rows.append(("ceiling: Prosody routing", spent, served))
            if lost:
                table.fail("Prosody routing: %d messages not delivered" % lost)
            stack.start_bridge()

        # Ours.
        for name, label, body in (("message", "ours: message POST", MESSAGE),
                                  ("ping", "ours: iq ping", PING)):
            if name in wanted:
                for c in clients:
                    measure(name, label, stack.url_fcgi, body, c, lua,
                            ceiling=empty.get(c), drained=True)
        if "cgi" in wanted:
            measure("cgi", "ours: plain CGI message", stack.url_cgi, MESSAGE, 8, lua,
                    ceiling=empty.get(8), drained=True)
        if "webhook" in wanted:
            drain(lambda: sink.count)
            rates, lost = webhook.measure(rx, alice, args.messages, args.runs)
            rate = statistics.median(rates)
            table.row("webhook deliveries/s", None, rate, bad=lost,
                      ref=MOD_REST[("webhook", None)])
            if lost or rate <= 0:
                table.fail("webhook: %d of %d messages not delivered"
                           % (lost, args.messages * args.runs))

        if idle[0] is not None:
            table.row("idle RSS MiB: xmpp-restd", None, idle[0] / 1024, bad=None,
                      rps_fmt="%.1f", ref="(PSS %s, private %s MiB)" % tuple(
                          "-" if v is None else "%.1f" % (v / 1024) for v in idle[1:]))
        floor = strophe_floor()
        if floor is not None:
            table.row("floor RSS MiB: libstrophe", None, floor / 1024, bad=None, rps_fmt="%.1f",
                      ref="(a program that only calls xmpp_initialize)")
        # Peak RSS, after the runs: the bridge, and the FastCGI responders
        # lighttpd started (the copy in the deployment's libexec/).
        hwm = vmhwm(stack.bridge.pid)
        table.row("peak RSS MiB: xmpp-restd", None, None if hwm is None else hwm / 1024,
                  bad=None, rps_fmt="%.1f")
        exe = os.path.join(stack.web.libexec, "xmpp-rest.fcgi")
        hwms = [h for h in (vmhwm(p) for p in pids_of(exe)) if h is not None]
        table.row("peak RSS MiB: responders", None, max(hwms) / 1024 if hwms else None,
                  bad=None, rps_fmt="%.1f", ref="(largest of %d processes)" % len(hwms))
        if hwm is None or not hwms:
            table.fail("no peak RSS for the bridge or the responders")
    finally:
        os.unlink(lua)
        if alice:
            alice.stop()
        if sink:
            sink.stop()
        stack.stop()
    print_cpu(cpu_rows)
    for n in table.notes:
        print("# socket errors:", n)
    for p in table.problems:
        print("# FAILED:", p)
    return 1 if args.strict and table.problems else 0


if __name__ == "__main__":
    sys.exit(main())
