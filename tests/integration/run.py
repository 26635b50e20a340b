#!/usr/bin/python3
"""Runs the xmpp-rest HTTP integration suite.

Starts Prosody and the bridge (tools/stack.py), logs in two real XMPP
clients (alice@localhost/test and bob@localhost/test), then, for each web
server deployment of tools/web.py in turn (lighttpd-fcgi, lighttpd-cgi,
apache-fcgid, apache-proxy-fcgi, apache-cgi, nginx), starts the server from
its snippet in etc/ (verbatim, placeholders filled in) and

  - checks that the server starts;
  - puts tools/web_probe.py in the responder's place for one request: an
    `Authorization: Bearer` header, XMPP_REST_CONF, the sanitizer options
    and the body must reach the program;
  - runs the HTTP suite (tests/integration/test_http_requests.py and
    test_http.py) against the real responder, with
    the deployment's name as the label of each check.

Then tests/integration/test_process.py and, once each under the stack's
own lighttpd, the authentication suite tests/integration/test_auth.py and
the webhook suites tests/integration/test_webhook.py (delivery),
test_webhook_reply.py (replies) and test_webhook_examples.py (examples/),
which share tests/integration/webhook_suite.py, and the spool suite
tests/integration/test_spool.py, and the bridge's stanza check
tests/integration/test_stanza_check.py and the connection limits
tests/integration/test_limits.py (some restart the bridge with settings of
their own and with the stack's configuration at their end), stops
everything and prints "N passed, M failed" as the last line.  Exit status 0 only if nothing failed.

    /usr/bin/python3 tests/integration/run.py [--mode NAME]... [-k WORDS]...
        [--bin-dir build/asan] [--keep] [--list]

-k WORDS runs the checks whose label ("[auth] token revoke ...") contains
WORDS, in any case; those of the HTTP suite, run once per deployment, by
their description alone (--mode chooses the deployments).  --list prints
the labels of the checks chosen and runs nothing.  The suites share
tests/integration/harness.py (the registry, the runner, the helpers).

--xmpp-server ejabberd runs the core send checks (CORE_CHECKS: message,
iq, bounce, receipt, webhook delivery and reply, reconnect after the server
is killed) against Debian's ejabberd instead of Prosody, through
lighttpd-fcgi unless --mode says otherwise, and checks that it listens on
127.0.0.1 only and leaves no process behind.

--mode takes a deployment name, or fcgi (lighttpd-fcgi), cgi (lighttpd-cgi),
both or all (every deployment, the default).  A deployment whose server is
not installed fails (its "server starts" check says what to install).

Works as root (Prosody then runs as the prosody user; Apache's children and
spawn-fcgi's responders as www-data, see tools/web.py) and as a normal user.
XR_WRAP="valgrind --error-exitcode=99 ..." runs the bridge under that prefix
and adds a check that every bridge exited with status 0.  Whatever the
binaries, the logs of the bridge and of every web server (which get the
responder's stderr) are scanned at the end for AddressSanitizer/UBSan/
valgrind reports.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import uuid

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
import web  # noqa: E402
from xmpp_client import TestClient  # noqa: E402
import harness  # noqa: E402
from harness import TestFailure, expect, fail_with  # noqa: E402
import test_http  # noqa: E402
import test_http_requests  # noqa: E402
import test_limits  # noqa: E402
import test_auth  # noqa: E402
import test_faults  # noqa: E402
import test_process  # noqa: E402
import test_secrets  # noqa: E402
import test_spool  # noqa: E402
import test_stanza_check  # noqa: E402
import test_webhook  # noqa: E402
import test_webhook_examples  # noqa: E402
import test_webhook_reply  # noqa: E402


MODE_ALIASES = {"fcgi": ("lighttpd-fcgi",), "cgi": ("lighttpd-cgi",),
                "both": web.DEPLOYMENTS, "all": web.DEPLOYMENTS}

# Checks known to fail under a deployment because of a bug in the responder
# (C code, not this suite's to fix): they print "not ok ... # TODO why" and
# count neither way; once they pass, they print a note to remove them here.
SIGTERM_IGNORED = {}
KNOWN_FAILURES = {}

# The core send checks (words of their descriptions, as -k takes them) that
# --xmpp-server runs against a server other than Prosody: "works with any
# XMPP server" is what they test.
CORE_CHECKS = (
    # test_http_requests.py, test_http.py
    "a message to alice answers 202", "an iq get echo to alice's full JID", "an iq set echo",
    "an iq ping to the server", "an iq answered with ", "an iq to an offline full JID",
    "a receipt request", "a receipt that never comes", "an unanswered iq",
    "XMPP side: the bridge answers", "50 concurrent requests", "Prosody stopped:",
    # test_faults.py
    "killed (SIGKILL) during 1000 message POSTs", "an iq posted while Prosody is down",
    "a message Prosody bounces at once", "a second bridge for the same domain",
    # test_webhook.py, test_webhook_reply.py, test_webhook_examples.py
    "a message is POSTed with", "an iq get is POSTed the same way",
    "200 with an application/xmpp+xml message", "200 with an iq:", "receipts: an accepted message",
    "examples/echo-bot.cgi under lighttpd",
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--mode", action="append", metavar="NAME",
                    choices=sorted(MODE_ALIASES) + list(web.DEPLOYMENTS),
                    help="a deployment (%s), or fcgi, cgi, both, all (repeatable; default all)"
                    % ", ".join(web.DEPLOYMENTS))
    ap.add_argument("-k", action="append", default=[], metavar="WORDS",
                    help="run only the checks whose description contains WORDS (repeatable)")
    ap.add_argument("--xmpp-server", default="prosody", choices=("prosody", "ejabberd"),
                    help="the XMPP server: prosody (every check) or ejabberd (the core checks)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--list", action="store_true",
                    help="print the suites' checks that -k and --mode choose, and run nothing")
    ap.add_argument("--bin-dir", metavar="DIR",
                    help="take xmpp-restd and xmpp-rest.fcgi from DIR (e.g. build/asan)")
    args = ap.parse_args()
    if args.bin_dir:
        os.environ["XR_BIN_DIR"] = os.path.abspath(args.bin_dir)
    core = args.xmpp_server != "prosody"
    only = args.k or (list(CORE_CHECKS) if core else [])
    deployments = []
    for m in args.mode or (["fcgi"] if core else ["all"]):
        for d in MODE_ALIASES.get(m, (m,)):
            if d not in deployments:
                deployments.append(d)

    if args.list:
        return list_checks(deployments, only)
    install_signal_handlers()
    runner = harness.Runner()
    # Responders that Apache or spawn-fcgi start run as www-data when we are
    # root: they must be able to write their sanitizer reports.
    for d in web.open_sanitizer_log_dirs():
        runner.line("# sanitizer log directory %s: group %s may write it" % (d, web.WEB_USER))
    stack = Stack(keep_tmp=True if args.keep else None, web=None, xmpp_server=args.xmpp_server)
    runner.line("# bridge %s, responder %s" % (stack.bridge_bin, stack.responder_bin))
    clients = []
    interrupted = False
    try:
        try:
            stack.start()
            harness.DEFAULT_HEADERS["Authorization"] = "Bearer " + stack.token
            runner.line("# stack in %s: %s, c2s %d, component %d" % (
                stack.tmp, stack.server.name, stack.c2s_port, stack.component_port))
            if core:
                runner.check("[%s] listens on 127.0.0.1 only (no epmd, no 0.0.0.0)" % stack.server.name,
                             _loopback_only, stack)
            for user in ("alice", "bob"):
                cl = TestClient(stack.jid(user), stack.users[user], "127.0.0.1", stack.c2s_port)
                clients.append(cl)
                cl.start()
        except StackError as e:
            runner.check("the stack starts", fail_with, e)
            return _finish(runner, stack, clients)
        except (RuntimeError, OSError) as e:
            runner.check("the XMPP test clients log in", fail_with, e)
            return _finish(runner, stack, clients)
        alice, bob = clients
        for name in deployments:
            t0 = time.monotonic()
            run_deployment(runner, stack, alice, bob, name, only)
            runner.line("# [%s] %.0f s" % (name, time.monotonic() - t0))
        test_process.run_suite(runner, stack, alice, bob, only=only)
        # once per run, not per deployment: it restarts the bridge with
        # callback settings, and with the stack's configuration again at its
        # end; its echo bot is a CGI program under the stack's lighttpd
        t0 = time.monotonic()
        try:
            stack.start_web("lighttpd")
        except StackError as e:
            runner.check("[webhook] the stack's lighttpd starts", fail_with, e)
        else:
            t1 = time.monotonic()
            test_auth.run_suite(runner, stack, alice, bob, only=only)
            runner.line("# [auth] %.0f s" % (time.monotonic() - t1))
            t1 = time.monotonic()
            test_faults.run_suite(runner, stack, alice, bob, only=only)
            test_stanza_check.run_suite(runner, stack, alice, bob, only=only)
            test_limits.run_suite(runner, stack, alice, bob, only=only)
            runner.line("# [faults] %.0f s" % (time.monotonic() - t1))
            test_secrets.run_suite(runner, stack, alice, bob, only=only)
            test_webhook.run_suite(runner, stack, alice, bob, only=only)
            test_webhook_reply.run_suite(runner, stack, alice, bob, only=only)
            test_webhook_examples.run_suite(runner, stack, alice, bob, only=only)
            t1 = time.monotonic()
            test_spool.run_suite(runner, stack, alice, bob, only=only)
            runner.line("# [spool] %.0f s" % (time.monotonic() - t1))
            for problem in stack.check_alive():
                runner.check("[webhook] the stack is still running", fail_with,
                             TestFailure(problem))
            stack.stop_web()
        runner.line("# [webhook] %.0f s" % (time.monotonic() - t0))
    except KeyboardInterrupt:
        interrupted = True
        runner.check("the suite ran to its end", fail_with, TestFailure("interrupted"))
    return _finish(runner, stack, clients, interrupted)


# The HTTP suite, run once per deployment, in two halves; then the suites
# run once per run, in the order main() runs them.
PER_DEPLOYMENT = (test_http_requests, test_http)
ONCE = (test_process, test_auth, test_faults, test_stanza_check, test_limits, test_secrets,
        test_webhook, test_webhook_reply, test_webhook_examples, test_spool)


def list_checks(deployments, only):
    """The label of every check of the suites that would run, one a line."""
    for name in deployments:
        for suite in PER_DEPLOYMENT:
            for check in suite.SUITE.chosen(only):
                print(suite.SUITE.label(check, name))
    for suite in ONCE:
        for check in suite.SUITE.chosen(only):
            print(suite.SUITE.label(check))
    return 0


def run_deployment(runner, stack, alice, bob, name, only):
    """One deployment: it starts from its snippet, the probe sees what the
    program is handed, the HTTP suite passes against the responder."""
    snippets = ", ".join("etc/" + f for f in web.make(name).snippets)
    try:
        d = stack.start_web(name)
    except StackError as e:
        runner.check("[%s] the server starts from %s" % (name, snippets), fail_with, e)
        return
    runner.check("[%s] the server starts from %s" % (name, snippets), lambda: None)
    runner.line("# [%s] %s; logs %s" % (name, d.url, " ".join(d.logs())))
    ctx = harness.Ctx(stack, alice, bob, label=name, runner=runner, url=d.url, mode=name)
    for suite in PER_DEPLOYMENT:
        suite.SUITE.run(runner, ctx, only, guard=True, known=KNOWN_FAILURES.get(name))
    for problem in stack.check_alive():
        runner.check("[%s] the stack is still running" % name, fail_with, TestFailure(problem))
    stack.stop_web()

    def stopped():
        if d.left_behind:
            raise TestFailure("; ".join(d.left_behind[:3]) + (
                " (and %d more)" % (len(d.left_behind) - 3) if len(d.left_behind) > 3 else ""))
    label = "[%s] the responders exit when the server (or spawn-fcgi's supervisor) stops them" % name
    if name in SIGTERM_IGNORED:
        runner.check_known(label, stopped, SIGTERM_IGNORED[name])
    else:
        runner.check(label, stopped)
    probe(runner, stack, name, only)


def probe(runner, stack, name, only=None):
    """tools/web_probe.py in xmpp-rest.fcgi's place, one request: what does
    the program get?"""
    token = "Bearer x-" + uuid.uuid4().hex[:8]
    body = "<message to='alice@localhost'><body>probe</body></message>"
    label = "[%s] " % name
    box = {}

    def ask():
        d = stack.start_web(name, responder=web.PROBE, label=name + "-probe")
        try:
            r = harness.post(d.url, body, headers={"Authorization": token}, timeout=30)
        finally:
            stack.stop_web()
        harness.expect_status(r, 200)
        try:
            box["j"] = json.loads(r.body)
        except ValueError:
            raise TestFailure("the probe's answer is not JSON: %s" % r)

    def authorization():
        if "j" not in box:
            raise TestFailure("no answer from the probe")
        p = box["j"]["params"]
        got = p.get("HTTP_AUTHORIZATION", p.get("REDIRECT_HTTP_AUTHORIZATION"))
        expect(got == token, "HTTP_AUTHORIZATION is %r, sent %r" % (got, token))

    def environment():
        if "j" not in box:
            raise TestFailure("no answer from the probe")
        j = box["j"]
        env, p = j["environ"], j["params"]
        expect(env.get("XMPP_REST_CONF") == stack.conf_path,
               "XMPP_REST_CONF in the environment is %r, not %r" % (
                   env.get("XMPP_REST_CONF"), stack.conf_path))
        for k in web.SANITIZER_VARS:
            if k in os.environ:
                expect(env.get(k) == os.environ[k], "%s is %r, not %r" % (
                    k, env.get(k), os.environ[k]))
        bad = [d for d, ok in j["writable"].items() if not ok]
        expect(not bad, "uid %s cannot write the sanitizer log directory %s" % (
            j["uid"], ", ".join(bad)))
        want = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": harness.CT,
                "CONTENT_LENGTH": str(len(body))}
        wrong = {k: p.get(k) for k, v in want.items() if p.get(k) != v}
        expect(not wrong, "request variables %r, expected %r" % (wrong, want))
        expect(j["body_bytes"] == len(body), "read %s bytes of the body, sent %d" % (
            j["body_bytes"], len(body)))

    checks = [
        ("the probe (tools/web_probe.py) in the responder's place answers", ask),
        ("an Authorization: Bearer header reaches the program", authorization),
        ("the program gets XMPP_REST_CONF, ASAN_OPTIONS/UBSAN_OPTIONS, a writable sanitizer log "
         "directory, REQUEST_METHOD, CONTENT_TYPE, CONTENT_LENGTH and the body", environment)]
    if only and not any(o.lower() in desc.lower() for desc, _ in checks[1:] for o in only):
        return
    for desc, fn in checks:
        runner.check(label + desc, fn)


def _finish(runner, stack, clients, interrupted=False):
    for cl in clients:
        try:
            cl.stop()
        except Exception:
            pass
    if runner.failed and stack.tmp and not interrupted:
        logs = [("bridge log", stack.bridge_log)]
        if stack.webs:
            logs += [("%s log" % stack.webs[-1].label, p) for p in stack.webs[-1].logs()]
        for title, path in logs:
            runner.line("# --- last lines of the %s (%s):" % (title, path))
            for ln in tail(path, 25).splitlines():
                runner.line("#   " + ln)
    left = stack.xmpp.pid if stack.xmpp else None
    stack.stop(cleanup=False)
    if left and stack.server.name != "prosody":
        runner.check("[%s] nothing of it is left running once stopped (no beam, no epmd)" % stack.server.name,
                     _nothing_left, left)
    if stack.tmp and os.path.isdir(stack.tmp):
        runner.check("no sanitizer or valgrind reports in the logs of the bridge and of every web server",
                     _no_memory_reports, stack)
    if stack.wrap and stack.bridge_exits:
        def exits_clean():
            bad = [rc for rc in stack.bridge_exits if rc != 0]
            if bad:
                raise TestFailure("exit statuses %s under XR_WRAP=%r" % (
                    stack.bridge_exits, " ".join(stack.wrap)))
        runner.check("every bridge run under XR_WRAP exited with status 0", exits_clean)
    elif any(rc not in (0, None) for rc in stack.bridge_exits):
        runner.line("# note: bridge exit statuses on SIGTERM: %s" % stack.bridge_exits)
    if runner.todo:
        runner.line("# %d known failure(s), marked TODO above, not counted" % runner.todo)
    if stack.keep_tmp:
        runner.line("# kept %s" % stack.tmp)
    else:
        stack.cleanup()
    runner.line(runner.summary())
    return 0 if runner.failed == 0 and runner.passed > 0 else 1


def _listeners():
    """[(address, port, pid)] of every listening TCP socket (ss -ltnp)."""
    out = subprocess.run(["ss", "-Hltnp"], stdout=subprocess.PIPE, text=True, timeout=20).stdout
    found = []
    for ln in out.splitlines():
        f = ln.split()
        if len(f) < 4:
            continue
        addr, _, port = f[3].rpartition(":")
        found += [(addr, port, int(p)) for p in re.findall(r"pid=(\d+)", ln)] or [(addr, port, None)]
    return found


def _loopback_only(stack):
    """Every socket the XMPP server (its whole session: the Erlang VM and
    whatever it started) listens on is on 127.0.0.1, and no epmd runs for it."""
    ours = set(web.session_pids(stack.xmpp.pid))
    mine = [(a, p) for a, p, pid in _listeners() if pid in ours]
    expect(mine, "no listening socket found for pids %s" % sorted(ours))
    bad = [(a, p) for a, p in mine if a != "127.0.0.1"]
    expect(not bad, "listening on %s" % ", ".join("%s:%s" % x for x in bad))
    expect(not any(a == "0.0.0.0" and p == "4369" for a, p, _ in _listeners()),
                     "an epmd listens on 0.0.0.0:4369")


def _nothing_left(sid):
    left = web.session_pids(sid)
    names = []
    for pid in left:
        try:
            with open("/proc/%d/comm" % pid) as f:
                names.append("%d %s" % (pid, f.read().strip()))
        except OSError:
            pass
    expect(not names, "still running: %s" % ", ".join(names))


_MEMORY_REPORT = re.compile(
    r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|ERROR: Can't open file|"
    r"==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|"
    r"Mismatched free|Source and destination overlap|\S.* definitely lost in)")


def _no_memory_reports(stack):
    found = []
    for path in [stack.bridge_log] + stack.web_logs():
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
        raise TestFailure("%d report(s); first: %s" % (len(found), found[0]))


if __name__ == "__main__":
    sys.exit(main())
