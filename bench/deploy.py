#!/usr/bin/python3
"""Message POSTs per second through each web server deployment: wrk ->
the web server (started from its snippet in etc/, tools/web.py) ->
xmpp-rest.fcgi -> xmpp-restd -> Prosody -> an online XMPP client.

    /usr/bin/python3 bench/deploy.py [--seconds 5] [--clients 16]
        [--deployments lighttpd-fcgi,nginx,...]

Takes the release build (cgi/xmpp-rest.fcgi, bridge/xmpp-restd; XR_BIN_DIR
picks others) and prints one row per deployment: requests/s, p50/p99
latency and the answers that were not 2xx (must be 0).  Each deployment
first gets a warm-up of --warmup seconds at the same concurrency (mod_fcgid
starts its processes on demand), not counted.  Everything runs on 127.0.0.1.
"""

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

# bench/run.py: wrk(), drain(), MESSAGE, LUA
_spec = importlib.util.spec_from_file_location("bench_run", os.path.join(HERE, "run.py"))
bench_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_run)

import web  # noqa: E402
from stack import Stack, StackError  # noqa: E402
from sink import Sink  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--deployments", default=",".join(web.DEPLOYMENTS))
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        print("bench/deploy.py needs wrk (apt-get install wrk)", file=sys.stderr)
        return 1

    stack = Stack(bridge_conf={"log_level": "warn"}, web=None, prosody_log_level="info")
    stack.start()
    os.environ["XR_AUTH"] = "Bearer " + stack.token   # read by bench/run.py's LUA
    alice = None
    failed = False
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(bench_run.LUA)
        lua = f.name
    try:
        alice = Sink(stack.jid("alice"), stack.users["alice"],
                     "127.0.0.1", stack.c2s_port, resource="bench")
        alice.start()
        print("message POSTs, %d connections, %d s (wrk -t1), responder %s" % (
            args.clients, args.seconds, stack.responder_bin))
        print("%-18s %10s %9s %9s %7s" % ("deployment", "req/s", "p50 ms", "p99 ms", "non-2xx"))
        for name in args.deployments.split(","):
            try:
                d = stack.start_web(name)
            except StackError as e:
                print("%-18s does not start: %s" % (name, str(e).splitlines()[0]), flush=True)
                failed = True
                continue
            try:
                bench_run.wrk(d.url, bench_run.MESSAGE, args.clients, args.warmup, lua)
                bench_run.drain(lambda: alice.count)
                rps, p50, p99, bad, errs = bench_run.wrk(
                    d.url, bench_run.MESSAGE, args.clients, args.seconds, lua)
                bench_run.drain(lambda: alice.count)
            finally:
                stack.stop_web()
            print("%-18s %10.0f %9.2f %9.2f %7d %s" % (name, rps, p50 or 0, p99 or 0, bad, errs),
                  flush=True)
            failed = failed or bad > 0
    finally:
        os.unlink(lua)
        if alice:
            alice.stop()
        stack.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
