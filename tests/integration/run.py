#!/usr/bin/python3
"""Runs the xmpp-rest HTTP integration suite.

Starts the whole stack once (tools/stack.py: Prosody, bridge/xmpp-restd,
lighttpd with cgi/xmpp-rest.fcgi as FastCGI and as plain CGI), logs in two
real XMPP clients (alice@localhost/test and bob@localhost/test), runs
tests/integration/test_http.py against /xmpp (fcgi) and the plain CGI URL
(cgi), then tests/integration/test_process.py and, once, the webhook suite
tests/integration/test_webhook.py (which restarts the bridge with callback
settings and with the stack's configuration at its end), stops everything
and prints "N passed, M failed" as the last line.
Exit status 0 only if nothing failed.

    /usr/bin/python3 tests/integration/run.py [--mode fcgi|cgi] [-k WORDS]...
        [--bin-dir build/asan] [--keep]

Works as root (Prosody then runs as the prosody user) and as a normal user.
XR_WRAP="valgrind --error-exitcode=99 ..." runs the bridge under that prefix
and adds a check that every bridge exited with status 0.  Whatever the
binaries, the logs of the bridge and of lighttpd (which gets the responder's
stderr) are scanned at the end for AddressSanitizer/UBSan/valgrind reports.
"""

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tools"))

try:
    import slixmpp  # noqa: F401
except ImportError:
    sys.stderr.write(
        "run.py: the Python module slixmpp is missing for %s.\n"
        "Install Debian's python3-slixmpp and run this with /usr/bin/python3\n"
        "(a python3 from pyenv or a venv does not see Debian's packages).\n" % sys.executable)
    print("0 passed, 1 failed")
    sys.exit(2)

from stack import Stack, StackError, install_signal_handlers, tail  # noqa: E402
from xmpp_client import TestClient  # noqa: E402
import test_http  # noqa: E402
import test_process  # noqa: E402
import test_webhook  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--mode", choices=("fcgi", "cgi", "both"), default="both")
    ap.add_argument("-k", action="append", default=[], metavar="WORDS",
                    help="run only the checks whose description contains WORDS (repeatable)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--bin-dir", metavar="DIR",
                    help="take xmpp-restd and xmpp-rest.fcgi from DIR (e.g. build/asan)")
    args = ap.parse_args()
    if args.bin_dir:
        os.environ["XR_BIN_DIR"] = os.path.abspath(args.bin_dir)

    install_signal_handlers()
    runner = test_http.Runner()
    stack = Stack(keep_tmp=True if args.keep else None)
    runner.line("# bridge %s, responder %s" % (stack.bridge_bin, stack.responder_bin))
    clients = []
    interrupted = False
    try:
        try:
            stack.start()
            runner.line("# stack in %s: http %d, c2s %d, component %d" % (
                stack.tmp, stack.http_port, stack.c2s_port, stack.component_port))
            for user in ("alice", "bob"):
                cl = TestClient(stack.jid(user), stack.users[user], "127.0.0.1", stack.c2s_port)
                clients.append(cl)
                cl.start()
        except StackError as e:
            runner.check("the stack starts", _raise, e)
            return _finish(runner, stack, clients)
        except (RuntimeError, OSError) as e:
            runner.check("the XMPP test clients log in", _raise, e)
            return _finish(runner, stack, clients)
        alice, bob = clients
        modes = ("fcgi", "cgi") if args.mode == "both" else (args.mode,)
        for mode in modes:
            url = stack.url_fcgi if mode == "fcgi" else stack.url_cgi
            test_http.run_suite(runner, stack, alice, bob, mode, url, only=args.k)
            for problem in stack.check_alive():
                runner.check("[%s] the stack is still running" % mode, _raise,
                             test_http.TestFailure(problem))
        if not args.k:
            test_process.run_suite(runner, stack, alice)
        # once per run, not per mode: it restarts the bridge with callback
        # settings, and with the stack's configuration again at its end
        test_webhook.run_suite(runner, stack, alice, bob, only=args.k)
        for problem in stack.check_alive():
            runner.check("[webhook] the stack is still running", _raise,
                         test_http.TestFailure(problem))
    except KeyboardInterrupt:
        interrupted = True
        runner.check("the suite ran to its end", _raise, test_http.TestFailure("interrupted"))
    return _finish(runner, stack, clients, interrupted)


def _raise(e):
    raise e


def _finish(runner, stack, clients, interrupted=False):
    for cl in clients:
        try:
            cl.stop()
        except Exception:
            pass
    if runner.failed and stack.tmp and not interrupted:
        for title, path in (("bridge log", stack.bridge_log), ("lighttpd error log", stack.lighttpd_log)):
            runner.line("# --- last lines of the %s (%s):" % (title, path))
            for ln in tail(path, 25).splitlines():
                runner.line("#   " + ln)
    stack.stop(cleanup=False)
    if stack.tmp and os.path.isdir(stack.tmp):
        runner.check("no sanitizer or valgrind reports in the bridge and lighttpd logs",
                     _no_memory_reports, stack)
    if stack.wrap and stack.bridge_exits:
        def exits_clean():
            bad = [rc for rc in stack.bridge_exits if rc != 0]
            if bad:
                raise test_http.TestFailure("exit statuses %s under XR_WRAP=%r" % (
                    stack.bridge_exits, " ".join(stack.wrap)))
        runner.check("every bridge run under XR_WRAP exited with status 0", exits_clean)
    elif any(rc not in (0, None) for rc in stack.bridge_exits):
        runner.line("# note: bridge exit statuses on SIGTERM: %s" % stack.bridge_exits)
    if stack.keep_tmp:
        runner.line("# kept %s" % stack.tmp)
    else:
        stack.cleanup()
    runner.line(runner.summary())
    return 0 if runner.failed == 0 and runner.passed > 0 else 1


_MEMORY_REPORT = re.compile(
    r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|"
    r"==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|"
    r"Mismatched free|Source and destination overlap|\S.* definitely lost in)")


def _no_memory_reports(stack):
    found = []
    for path in (stack.bridge_log, stack.lighttpd_log):
        try:
            with open(path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            continue
        for i, ln in enumerate(lines):
            if _MEMORY_REPORT.search(ln):
                # the report line and its first frames, in short
                ctx = " | ".join(x.strip() for x in lines[i:i + 4])
                found.append("%s: %s" % (os.path.basename(path), ctx))
    if found:
        raise test_http.TestFailure("%d report(s); first: %s" % (len(found), found[0]))


if __name__ == "__main__":
    sys.exit(main())
