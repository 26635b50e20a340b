#!/usr/bin/python3
"""A bounded soak: the whole stack at a fixed, moderate rate for a while,
with the bridge's memory and descriptors sampled at the start and the end.

    /usr/bin/python3 bench/soak.py [--seconds 600] [--rate 100]   # make soak

Every second, --rate message POSTs and --rate/4 iq pings go through
lighttpd (FastCGI) and the bridge to Prosody, and alice sends --rate/4
messages to the bridge's domain, each delivered to a webhook receiver.
Prints the bridge's RSS (VmRSS) and open descriptors after a warm-up
and at the end, and the answers by status.  Not a pass/fail test: it
reports; it exits 1 only if something stopped or answered 5xx.
"""

import argparse
import collections
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from stack import Stack  # noqa: E402
from harness import post  # noqa: E402
from webhook import Receiver  # noqa: E402
from xmpp_client import TestClient  # noqa: E402


def sample(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:"))
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--rate", type=int, default=100, help="message POSTs per second")
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()

    recv = Receiver()
    stack = Stack(bridge_conf={"log_level": "warn",
                               "callback_url": "http://127.0.0.1:%d/hook" % recv.port})
    stack.start()
    alice = None
    statuses = collections.Counter()
    lock = threading.Lock()
    stop = threading.Event()
    try:
        alice = TestClient(stack.jid("alice"), stack.users["alice"], "127.0.0.1", stack.c2s_port)
        alice.start()
        alice.wait_online(15)
        auth = {"Authorization": "Bearer " + stack.token}
        msg = "<message to='alice@localhost/test'><body>soak</body></message>"
        ping = "<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"

        def paced(body, per_second):
            gap = 1.0 / per_second
            nxt = time.monotonic()
            while not stop.is_set():
                try:
                    st = post(stack.url_fcgi, body, headers=auth, timeout=30).status
                except OSError:
                    st = "error"
                with lock:
                    statuses[st] += 1
                nxt += gap
                time.sleep(max(0.0, nxt - time.monotonic()))

        def incoming(per_second):
            gap = 1.0 / per_second
            nxt = time.monotonic()
            while not stop.is_set():
                alice.send_raw("<message to='bot@%s' type='chat'><body>in</body></message>"
                               % stack.component)
                with lock:
                    statuses["incoming sent"] += 1
                nxt += gap
                time.sleep(max(0.0, nxt - time.monotonic()))

        # enough threads that one slow answer does not slow the pace
        workers = [threading.Thread(target=paced, args=(msg, args.rate / 4.0), daemon=True)
                   for _ in range(4)]
        workers += [threading.Thread(target=paced, args=(ping, args.rate / 8.0), daemon=True)
                    for _ in range(2)]
        workers.append(threading.Thread(target=incoming, args=(args.rate / 4.0,), daemon=True))
        for w in workers:
            w.start()
        time.sleep(args.warmup)
        pid = stack.bridge.pid
        rss0, fds0 = sample(pid)
        t0 = time.monotonic()
        print("soak: %d s at %d message POSTs/s, %d pings/s, %d webhook deliveries/s"
              % (args.seconds, args.rate, args.rate // 4, args.rate // 4), flush=True)
        print("  after %d s warm-up: bridge RSS %d KiB, %d descriptors" % (args.warmup, rss0, fds0),
              flush=True)
        while time.monotonic() - t0 < args.seconds:
            time.sleep(min(60, args.seconds - (time.monotonic() - t0)))
            rss, fds = sample(pid)
            print("  %4.0f s: RSS %d KiB, %d descriptors" % (time.monotonic() - t0, rss, fds),
                  flush=True)
        stop.set()
        for w in workers:
            w.join(30)
        time.sleep(2)
        rss1, fds1 = sample(pid)
        print("  end: bridge RSS %d KiB (%+d), %d descriptors (%+d)"
              % (rss1, rss1 - rss0, fds1, fds1 - fds0))
        print("  answers: %s; webhook deliveries received: %d"
              % (dict(statuses), recv.count))
        bad = stack.check_alive() + ["%d answers %s" % (n, s) for s, n in statuses.items()
                                     if s == "error" or (isinstance(s, int) and s >= 500)]
        if bad:
            print("soak: " + "; ".join(bad))
            return 1
        return 0
    finally:
        stop.set()
        if alice is not None:
            alice.stop()
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
