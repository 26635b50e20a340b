"""The webhook suite, examples: examples/echo-bot.cgi as a webhook under
lighttpd's mod_cgi (and the bridge never delivering its own output back
to it), callback_secret's signature checked by
examples/check-signature.sh, both examples as README.md shows them; and,
last, the bridge back on the stack's configuration delivering nothing.
How the suites run is in webhook_suite.py.
"""

import os
import re
import shutil
import time

from harness import ALICE_FULL, COMPONENT, TestFailure, expect, one_line, post, tok
from webhook_suite import (MAIN_PATH, NS_WH, REPO, WebhookSuite, expect_error,
                           expect_nothing_from)

ECHO_BOT = os.path.join(REPO, "examples", "echo-bot.cgi")


SUITE = WebhookSuite()
test = SUITE.test
group = SUITE.group


def _echo_conf(c):
    dst = c.stack.path("www", "cgi", "echo-bot.cgi")
    shutil.copyfile(ECHO_BOT, dst)
    os.chmod(dst, 0o755)
    # The README's bot, run by a wrapper that keeps what each run got.
    c.echo_runs = c.stack.path("www", "echo-bot.runs")
    counted = c.stack.path("www", "cgi", "echo-bot-counted.cgi")
    with open(counted, "w") as f:
        f.write("#!/bin/sh\nstanza=$(cat)\nprintf '%%s\\n' \"$stanza\" | tr '\\n' ' ' >>'%s'\n"
                "echo >>'%s'\nprintf '%%s\\n' \"$stanza\" | exec '%s'\n" % (c.echo_runs, c.echo_runs, dst))
    os.chmod(counted, 0o755)
    return {"callback_url": "http://127.0.0.1:%d/cgi/echo-bot-counted.cgi" % c.stack.http_port}


def echo_runs(c, word):
    """How many times the echo bot got a stanza holding word."""
    try:
        with open(c.echo_runs) as f:
            return sum(1 for ln in f if word in ln)
    except OSError:
        return 0


group("echo-bot", _echo_conf)


SECRET = "a-test-secret-of-32-characters!!"
CHECK_SIGNATURE = os.path.join(REPO, "examples", "check-signature.sh")


group("signed", lambda c: {"callback_url": c.srv.url(MAIN_PATH), "callback_secret": SECRET})


def _run_check(req, secret, body=None, signature=None):
    import subprocess
    env = {"PATH": "/usr/bin:/bin", "XMPP_REST_SECRET": secret,
           "HTTP_X_XMPP_REST_TIMESTAMP": req.header("X-XMPP-Rest-Timestamp") or "",
           "HTTP_X_XMPP_REST_SIGNATURE": signature or req.header("X-XMPP-Rest-Signature") or ""}
    return subprocess.run(["sh", CHECK_SIGNATURE], env=env,
                          input=body if body is not None else req.body, timeout=10).returncode


@test("callback_secret: every delivery carries X-XMPP-Rest-Timestamp and "
      "X-XMPP-Rest-Signature sha256=HMAC(secret, timestamp.body); README's shell check "
      "(examples/check-signature.sh) accepts it and refuses a changed body, another secret, "
      "an old timestamp", group="signed")
def t_signed(c):
    import hashlib
    import hmac
    t = tok()
    sid = "ws-" + t
    c.send("<message to='bot@%s' id='%s' type='chat'><body>signed %s</body></message>"
           % (COMPONENT, sid, t))
    req = c.delivery(sid)
    ts = req.header("X-XMPP-Rest-Timestamp")
    sig = req.header("X-XMPP-Rest-Signature")
    expect(ts is not None and ts.isdigit(), "timestamp header %r" % ts)
    expect(abs(int(ts) - time.time()) < 120, "timestamp %s is not now" % ts)
    want = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + req.body,
                                hashlib.sha256).hexdigest()
    expect(sig == want, "signature %r, expected %r" % (sig, want))
    expect(_run_check(req, SECRET) == 0, "the README check refuses a good signature")
    expect(_run_check(req, SECRET, body=req.body + b" ") == 1, "it accepts a changed body")
    expect(_run_check(req, SECRET + "x") == 1, "it accepts another secret")
    old = int(ts) - 3600
    old_sig = "sha256=" + hmac.new(SECRET.encode(), str(old).encode() + b"." + req.body,
                                   hashlib.sha256).hexdigest()
    env_req = type("R", (), {"header": lambda self, n, d=None: str(old) if "Timestamp" in n
                             else old_sig, "body": req.body})()
    expect(_run_check(env_req, SECRET) == 1, "it accepts an hour-old (replayed) delivery")


@test("README.md contains examples/check-signature.sh verbatim", group="signed")
def t_readme_check(c):
    with open(CHECK_SIGNATURE) as f:
        script = f.read()
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    expect(script in readme, "README.md does not contain examples/check-signature.sh")


@test("examples/echo-bot.cgi under lighttpd's mod_cgi: 'hello' to echo@rest.localhost comes "
      "back as 'You said: hello' from echo@rest.localhost; a normal message gets no answer",
      group="echo-bot")
def t_echo_bot(c):
    t = tok()
    mark = c.mark()
    c.send("<message to='echo@%s' id='eb1-%s' type='chat'><body>hello</body></message>" % (COMPONENT, t))
    rec = c.gets(lambda r: r.kind == "message" and r.body == "You said: hello" and r.seq > mark)
    expect(rec.frm == "echo@" + COMPONENT and rec.to == ALICE_FULL, "reply: %s" % rec.xml)
    mark = c.mark()
    c.send("<message to='echo@%s' id='eb2-%s'><body>not chat %s</body></message>" % (COMPONENT, t, t))
    c.quiesce()
    expect_nothing_from(c, mark, lambda r: r.kind == "message" and (r.frm or "").endswith(COMPONENT),
                        "a message of type normal must get no answer (204)")


@test("README echo bot: a chat message POSTed to echo@rest.localhost (in any case) is "
      "refused 422 and reaches the bot at most once: the bridge never talks to itself "
      "(it looped 116 times in 5 s)", group="echo-bot")
def t_echo_no_loop(c):
    problems = []
    for to in ("echo@" + COMPONENT, "echo@" + COMPONENT.upper(), COMPONENT, "echo@%s/r" % COMPONENT):
        t = tok()
        r = post(c.stack.url_fcgi, "<message to='%s' id='loop-%s' type='chat'><body>loop %s</body>"
                 "</message>" % (to, t, t))
        if r.status != 422 or "own domain" not in r.text:
            problems.append("to %s: %s %s" % (to, r.status, one_line(r.text, 200)))
        c.quiesce()
        time.sleep(1)  # a loop, if any, has had time to go round
        c.quiesce()
        runs = echo_runs(c, "loop " + t)
        if runs > 1:
            problems.append("to %s: the echo bot ran %d times" % (to, runs))
    expect(not problems, "; ".join(problems))


group("no-bridge-change", None)


@test("README.md contains examples/echo-bot.cgi verbatim", group="no-bridge-change")
def t_readme(c):
    with open(ECHO_BOT) as f:
        script = f.read().strip("\n")
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    if script in readme:
        return
    squash = lambda s: re.sub(r"\s+", " ", s).strip()  # noqa: E731
    if squash(script) in squash(readme):
        raise TestFailure("README.md has examples/echo-bot.cgi only with different white space")
    raise TestFailure("README.md does not include examples/echo-bot.cgi (verbatim) yet")


group("restored", lambda c: None)


@test("back on the stack's configuration (no callback_url): nothing is delivered, an iq "
      "gets service-unavailable, a ping a result", group="restored")
def t_restored(c):
    t = tok()
    mark = c.mark()
    c.send("<message to='bot@%s' id='nd1-%s' type='chat'><body>x</body></message>" % (COMPONENT, t))
    c.send("<iq type='get' to='bot@%s' id='nd2-%s'><query xmlns='%s'/></iq>" % (COMPONENT, t, NS_WH))
    c.send("<iq type='get' to='%s' id='nd3-%s'><ping xmlns='urn:xmpp:ping'/></iq>" % (COMPONENT, t))
    expect_error(c.iq_reply("nd2-" + t), "cancel", "service-unavailable", None, "bot@" + COMPONENT)
    rec = c.iq_reply("nd3-" + t)
    expect(rec.type == "result", "ping: %s" % rec.xml)
    c.quiesce()
    expect(not c.srv.find(lambda r: t in r.text), "a stanza was delivered: %s" % (
        c.srv.find(lambda r: t in r.text)))
    expect_nothing_from(c, mark, lambda r: r.id == "nd1-" + t, "the message must get no answer")
    expect(c.stack.bridge_conf_values().get("callback_url") is None, "the stack's configuration changed")


def run_suite(runner, stack, alice, bob, only=None):
    """Runs the checks (those whose description contains one of only, if
    given); restores the stack's bridge configuration at the end."""
    return SUITE.run_suite(runner, stack, alice, bob, only)
