#!/usr/bin/python3
"""Webhook deliveries per second: one XMPP client sends N messages to the
bridge, the bridge POSTs each to a receiver that answers 204 at once.

    /usr/bin/python3 bench/webhook.py [--messages 2000] [--runs 3] [--inflight 32]

The receiver is a minimal asyncio HTTP/1.1 server that keeps each
connection open for further requests, as real webhook servers do (the
bridge's delivery workers keep theirs), and is minimal so that it is not
what is measured.  Prints the median of --runs runs; everything on 127.0.0.1.
"""

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from stack import Stack  # noqa: E402
from xmpp_client import TestClient  # noqa: E402


class Receiver:
    """Counts POSTs (and connections); answers each with 204 and keeps
    the connection for the next request unless the client asked to close."""

    def __init__(self):
        self.count = 0
        self.connections = 0
        self.last = 0.0
        self.cond = threading.Condition()
        self.port = None
        ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        srv = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024))
        self.port = srv.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _serve(self, reader, writer):
        with self.cond:
            self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, close = 0, False
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and b"close" in value.lower():
                        close = True
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 204 No Content\r\n%s\r\n"
                             % (b"Connection: close\r\n" if close else b""))
                await writer.drain()
                with self.cond:
                    self.count += 1
                    self.last = time.monotonic()
                    self.cond.notify_all()
                if close:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def wait(self, n, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.count < n and time.monotonic() < deadline:
                self.cond.wait(0.5)
            return self.count


def bridge_conf(rx, messages, inflight=32):
    """The bridge's settings for the benchmark: every message to the
    component is POSTed to rx, and the queue holds a whole run."""
    return {"callback_url": "http://127.0.0.1:%d/hook" % rx.port,
            "callback_max_inflight": str(inflight),
            "callback_queue_max": str(messages + 100)}


def measure(rx, alice, messages, runs, log=None):
    """alice sends `messages` messages to the component, `runs` times;
    returns (deliveries/s of each run, messages not delivered in all).
    log, if given, gets a line per run."""
    rates, lost = [], 0
    for run in range(runs):
        start_count = rx.count
        t0 = time.monotonic()
        for i in range(messages):
            alice.send_raw("<message to='bot@rest.localhost' type='chat' "
                           "id='b%d-%d'><body>message %d</body></message>"
                           % (run, i, i))
        got = rx.wait(start_count + messages, 120) - start_count
        took = rx.last - t0
        rate = got / took if took > 0 else 0.0
        rates.append(rate)
        lost += messages - got
        if log:
            log("run %d: %d of %d delivered in %.2f s: %.0f deliveries/s"
                % (run + 1, got, messages, took, rate))
    return rates, lost


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--inflight", type=int, default=32)
    args = ap.parse_args()

    rx = Receiver()
    conf = bridge_conf(rx, args.messages, args.inflight)
    conf["log_level"] = "warn"
    stack = Stack(bridge_conf=conf)
    stack.start()
    alice = None
    try:
        alice = TestClient(stack.jid("alice"), stack.users["alice"],
                           "127.0.0.1", stack.c2s_port, resource="bench")
        alice.start()
        rates, _ = measure(rx, alice, args.messages, args.runs,
                           log=lambda line: print(line, flush=True))
        print("median: %.0f deliveries/s (%d messages, callback_max_inflight %d, "
              "%d connections)"
              % (statistics.median(rates), args.messages, args.inflight,
                 rx.connections))
    finally:
        if alice:
            alice.stop()
        stack.stop()


if __name__ == "__main__":
    main()
