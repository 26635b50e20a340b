#!/usr/bin/python3
"""Benchmark the whole path: wrk -> lighttpd -> xmpp-rest.fcgi -> xmpp-restd
-> Prosody -> an online XMPP client (messages) or Prosody itself (iq ping).

    /usr/bin/python3 bench/run.py [--seconds 10] [--runs 3] [--clients 1,64]

Prints one row per scenario and concurrency: requests/s and p50/p99 latency,
the median of --runs runs, and how many answers were not 2xx (must be 0).
Everything runs on 127.0.0.1 (tools/stack.py).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from stack import Stack  # noqa: E402
from xmpp_client import TestClient  # noqa: E402

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
    env = dict(os.environ, XR_BODY=body)
    out = subprocess.run(
        ["wrk", "-t1", "-c%d" % clients, "-d%ds" % seconds, "--latency",
         "-s", lua, url], env=env, capture_output=True, text=True,
        check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict((p, to_ms(v, u)) for p, v, u in re.findall(
        r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors:.*", out)
    return rps, lat.get("50"), lat.get("99"), int(bad.group(1)) if bad else 0, \
        errs.group(0) if errs else ""


def drain(client, quiet=1.0, limit=120.0):
    """Waits until the client has stopped receiving: a backlog in Prosody
    would slow down the next scenario."""
    deadline = time.monotonic() + limit
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(client.records())
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(0.1)
    client.clear()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clients", default="1,64")
    ap.add_argument("--scenarios", default="message,ping")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]

    stack = Stack(bridge_conf={"log_level": "warn"})
    stack.start()
    os.environ["XR_AUTH"] = "Bearer " + stack.token   # read by LUA
    alice = None
    try:
        alice = TestClient(stack.jid("alice"), stack.users["alice"],
                           "127.0.0.1", stack.c2s_port, resource="bench")
        alice.start()
        with tempfile.NamedTemporaryFile("w", suffix=".lua",
                                         delete=False) as f:
            f.write(LUA)
            lua = f.name
        bodies = {"message": MESSAGE, "ping": PING}
        print("%-10s %7s %10s %9s %9s %7s" % (
            "scenario", "clients", "req/s", "p50 ms", "p99 ms", "non-2xx"))
        for name in args.scenarios.split(","):
            for c in clients:
                runs = []
                for _ in range(args.runs):
                    runs.append(wrk(stack.url_fcgi, bodies[name], c,
                                    args.seconds, lua))
                    drain(alice)
                rps = statistics.median(r[0] for r in runs)
                p50 = statistics.median(r[1] for r in runs)
                p99 = statistics.median(r[2] for r in runs)
                bad = sum(r[3] for r in runs)
                print("%-10s %7d %10.0f %9.2f %9.2f %7d %s" % (
                    name, c, rps, p50, p99, bad,
                    " ".join(r[4] for r in runs if r[4])), flush=True)
        os.unlink(lua)
    finally:
        if alice:
            alice.stop()
        stack.stop()


if __name__ == "__main__":
    main()
