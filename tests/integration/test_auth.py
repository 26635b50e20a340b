"""Authentication and authorization, through the stack's lighttpd (FastCGI
and plain CGI) to the real bridge and Prosody:

- Bearer tokens made with `xmpp-restd token add`, limited by --from and
  --kinds, revoked and expiring while the bridge runs (no restart);
- Basic passwords made with `xmpp-restd password add` (yescrypt);
- 401 with WWW-Authenticate, 403 with the reason, 429 with Retry-After;
- trust_remote_user, auth none, a credentials file others may read;
- the bridge's own account (it drops root) and SO_PEERCRED's allow_uids.

Tests that change the bridge's configuration restart it and put the
stack's configuration back at their end.
"""

import os
import pwd
import shutil
import subprocess
import time

from harness import (COMPONENT, CT, Ctx, Suite, ask, basic, bearer, cgi, challenges, delivered,
                     expect, expect_names, expect_status, frame, msg, post, with_bridge_conf, word)

SUITE = Suite("auth")
test = SUITE.test


def ping(frm=None):
    f = " from='%s'" % frm if frm else ""
    return "<iq type='get' to='localhost'%s><ping xmlns='urn:xmpp:ping'/></iq>" % f


# ---- 401 --------------------------------------------------------------------

@test("no Authorization: 401 with WWW-Authenticate for Bearer and Basic (FastCGI and CGI)")
def t_missing(ctx):
    for url in (ctx.stack.url_fcgi, ctx.stack.url_cgi):
        r = post(url, msg(word()), headers={"Authorization": None})
        expect_status(r, 401)
        ch = challenges(r)
        expect(any(c.startswith("Bearer realm=\"%s\"" % COMPONENT) for c in ch) and
               any(c.startswith("Basic realm=") for c in ch),
               "WWW-Authenticate should offer Bearer and Basic: %r" % ch)
        expect_names(r, "Authorization")
        expect("CGIPassAuth" not in r.text, "lighttpd is no Apache: %s" % r.text)


@test("a wrong token or an unknown scheme: 401, error=\"invalid_token\"")
def t_wrong_token(ctx):
    r = post(ctx.url, msg(word()), headers=bearer("xr_" + "A" * 43))
    expect_status(r, 401)
    expect(any('error="invalid_token"' in c for c in challenges(r)),
           "WWW-Authenticate: %r" % challenges(r))
    expect_names(r, "invalid token")
    r = post(ctx.url, msg(word()), headers={"Authorization": "Digest username=x"})
    expect_status(r, 401)
    expect_names(r, "Digest")


@test("401 as JSON with Accept: application/json (not-authorized)")
def t_json_401(ctx):
    r = post(ctx.url, msg(word()), headers={"Authorization": None, "Accept": "application/json"})
    expect_status(r, 401)
    expect(r.ctype == "application/json" and "not-authorized" in r.text, "%s" % r)


@test("a stanza id with CR LF makes no Set-Cookie header on a 401 either")
def t_crlf_id_401(ctx):
    r = post(ctx.url, "<message to='alice@localhost' id='x&#13;&#10;Set-Cookie: sid=a'>"
             "<body>%s</body></message>" % word(), headers={"Authorization": None})
    expect(r.header("Set-Cookie") is None, "a Set-Cookie header came through: %s" % r)
    expect(not any("sid=a" in v for _, v in r.headers.items()), "headers: %r" % r.headers.items())
    expect(r.status in (401, 422, 500), "%s" % r)


# ---- tokens: add, limits, revoke, expiry ------------------------------------

@test("token add --from bot@/*: its JIDs pass, spoofing another JID is 403 naming both")
def t_token_from(ctx):
    s = ctx.stack
    tok = s.add_token("bot-" + word(), "--from", "bot@%s/*" % COMPONENT)
    w = word()
    r = post(ctx.url, msg(w, "bot@%s/alerts" % COMPONENT), headers=bearer(tok))
    expect_status(r, 202)
    delivered(ctx, w)
    r = post(ctx.url, msg(w, "bot@%s" % COMPONENT), headers=bearer(tok))
    expect_status(r, 202)
    # spoofing another JID of the component, or the component itself
    r = post(ctx.url, msg(word(), "admin@%s" % COMPONENT), headers=bearer(tok))
    expect_status(r, 403)
    expect_names(r, "admin@%s" % COMPONENT)
    expect_names(r, "bot@%s/*" % COMPONENT)
    r = post(ctx.url, msg(word()), headers=bearer(tok))
    expect_status(r, 403)
    # a JID outside the component is refused before any credential counts
    r = post(ctx.url, msg(word(), "alice@localhost"), headers=bearer(tok))
    expect_status(r, 403)


@test("a *@domain token may not send as the bare domain")
def t_token_domain_pattern(ctx):
    s = ctx.stack
    tok = s.add_token("any-" + word(), "--from", "*@%s" % COMPONENT)
    r = post(ctx.url, msg(word(), "x@%s/r" % COMPONENT), headers=bearer(tok))
    expect_status(r, 202)
    r = post(ctx.url, msg(word(), COMPONENT), headers=bearer(tok))
    expect_status(r, 403)


@test("token add --kinds message: an iq is 403")
def t_token_kinds(ctx):
    tok = ctx.stack.add_token("msgonly-" + word(), "--kinds", "message")
    r = post(ctx.url, msg(word()), headers=bearer(tok))
    expect_status(r, 202)
    r = post(ctx.url, ping(), headers=bearer(tok))
    expect_status(r, 403)
    expect_names(r, "may not send iq")


@test("token revoke acts at once on the running bridge: the token gets 401")
def t_token_revoke(ctx):
    s = ctx.stack
    name = "gone-" + word()
    tok = s.add_token(name)
    r = post(ctx.url, msg(word()), headers=bearer(tok))
    expect_status(r, 202)
    s.credential_cmd("token", "revoke", name)
    r = post(ctx.url, msg(word()), headers=bearer(tok))
    expect_status(r, 401)
    expect_names(r, "invalid token")
    # and through plain CGI too
    r = post(s.url_cgi, msg(word()), headers=bearer(tok))
    expect_status(r, 401)


@test("token add --expires: 401 'expired' after the date, 'expired' in token list")
def t_token_expires(ctx):
    s = ctx.stack
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
    name = "brief-" + word()
    tok = s.add_token(name, "--expires", when)
    r = post(ctx.url, msg(word()), headers=bearer(tok))
    expect_status(r, 202)
    time.sleep(4)   # the expiry date passes: time itself is what is tested
    r = post(ctx.url, msg(word()), headers=bearer(tok))
    expect_status(r, 401)
    expect_names(r, "expired")
    listing = s.credential_cmd("token", "list").stdout
    expect(name in listing and "expired" in listing, "token list: %r" % listing)


@test("token list shows names and limits, never a token; the file is 0600")
def t_token_list(ctx):
    s = ctx.stack
    name = "listed-" + word()
    s.add_token(name, "--from", "bot@%s" % COMPONENT, "--kinds", "message,iq")
    out = s.credential_cmd("token", "list").stdout
    line = [ln for ln in out.splitlines() if ln.startswith(name)]
    expect(line, "token list lacks %s: %r" % (name, out))
    expect("bot@%s" % COMPONENT in line[0] and "message" in line[0], "line %r" % line[0])
    with open(s.credentials_path) as f:
        stored = f.read()
    expect(s.token not in stored and s.token not in out,
           "the token itself is stored or listed")
    st = os.stat(s.credentials_path)
    expect(st.st_mode & 0o777 == 0o600, "credentials mode %o" % (st.st_mode & 0o777))


@test("token add refuses a duplicate name, a foreign domain, an unknown kind")
def t_token_cli_errors(ctx):
    s = ctx.stack
    r = s.credential_cmd("token", "add", "stack", check=False)
    expect(r.returncode != 0 and "exists" in r.stderr, "duplicate name: %d %r" % (
        r.returncode, r.stderr))
    r = s.credential_cmd("token", "add", "x-" + word(), "--from", "bot@elsewhere.example",
                         check=False)
    expect(r.returncode != 0 and "elsewhere.example" in r.stderr, "other domain: %d %r" % (
        r.returncode, r.stderr))
    r = s.credential_cmd("token", "add", "x-" + word(), "--kinds", "email", check=False)
    expect(r.returncode != 0 and "email" in r.stderr, "bad kind: %d %r" % (
        r.returncode, r.stderr))
    r = s.credential_cmd("token", "revoke", "no-such-" + word(), check=False)
    expect(r.returncode != 0, "revoking an unknown name succeeded")


# ---- Basic --------------------------------------------------------------------

@test("password add (yescrypt): Basic passes; wrong password and unknown user read the same")
def t_basic(ctx):
    s = ctx.stack
    user = "ops-" + word()
    password = "correct horse " + word()
    s.credential_cmd("password", "add", user, "--from", "ops@%s" % COMPONENT,
                     stdin=password + "\n")
    with open(s.credentials_path) as f:
        line = [ln for ln in f if ln.startswith(user + " ")][0]
    expect(" $y$" in line and password not in line, "stored as %r" % line)
    w = word()
    r = post(ctx.url, msg(w, "ops@%s" % COMPONENT), headers=basic(user, password))
    expect_status(r, 202)
    delivered(ctx, w)
    # again: the verified header is remembered, the answer is the same
    r = post(ctx.url, msg(word(), "ops@%s" % COMPONENT), headers=basic(user, password))
    expect_status(r, 202)
    r = post(ctx.url, msg(word(), "ops@%s" % COMPONENT), headers=basic(user, password + "x"))
    expect_status(r, 401)
    expect_names(r, "wrong user name or password")
    wrong_user = post(ctx.url, msg(word()), headers=basic("nobody-" + word(), password))
    expect_status(wrong_user, 401)
    expect(wrong_user.text == r.text, "unknown and known names answer differently: %r vs %r"
           % (wrong_user.text, r.text))
    r = post(ctx.url, msg(word()), headers={"Authorization": "Basic !!!"})
    expect_status(r, 401)
    expect_names(r, "malformed")
    r = post(ctx.url, msg(word(), "other@%s" % COMPONENT), headers=basic(user, password))
    expect_status(r, 403)


# ---- 429 ----------------------------------------------------------------------

@test("failed attempts from one address: 429 with Retry-After, even for a good token; "
      "served again after the window")
def t_throttle(ctx):
    def body():
        for _ in range(3):
            r = post(ctx.url, msg(word()), headers=bearer("xr_wrong" + word()))
            expect_status(r, 401)
        r = post(ctx.url, msg(word()), headers=bearer("xr_wrong" + word()))
        expect_status(r, 429)
        retry = r.header("Retry-After")
        expect(retry is not None and 1 <= int(retry) <= 4, "Retry-After %r" % retry)
        expect_names(r, "too many failed")
        # while throttled, even the right token waits
        r = post(ctx.url, msg(word()), headers=bearer(ctx.stack.token))
        expect_status(r, 429)
        # a missing header is not a guess: it does not count
        time.sleep(int(retry) + 1)  # the window passes: time itself is what is tested
        w = word()
        r = post(ctx.url, msg(w), headers=bearer(ctx.stack.token))
        expect_status(r, 202)
        delivered(ctx, w)
    with_bridge_conf(ctx, {"auth_fail_limit": 3, "auth_fail_window": 4}, body)


def sock_submit(stack, authorization, remote_addr, frm="rest.localhost"):
    """One message SUBMIT straight over the bridge's socket, as a responder
    behind a web server that passes REMOTE_ADDR would send it."""
    w = word()
    st = ("<message to='alice@localhost/test' id='%s'><body>%s</body></message>"
          % (w, w)).encode()
    fields = [(1, b"message"), (2, w.encode()), (3, b"alice@localhost/test"),
              (4, frm.encode()), (6, st), (7, b"5000"), (8, b"sent"),
              (17, authorization.encode()), (19, remote_addr.encode())]
    _, f = ask(stack, frame(1, fields))
    return f


@test("failed attempts count per IPv6 /64 and per IPv4 address (::ffff:a.b.c.d is IPv4), "
      "over the socket with REMOTE_ADDR")
def t_throttle_v6(ctx):
    def outcome(token, addr):
        return sock_submit(ctx.stack, "Bearer " + token, addr).get(9)

    def body():
        for _ in range(3):
            o = outcome("xr_wrong" + word(), "2001:db8:1:2::1")
            expect(o == "unauthorized", "a wrong token: %r" % o)
        f = sock_submit(ctx.stack, "Bearer " + ctx.stack.token, "2001:db8:1:2:abcd::9")
        expect(f.get(9) == "throttled", "another address of the /64: %r" % f)
        expect("2001:db8:1:2::/64" in f.get(12, ""), "the text names the /64: %r" % f)
        f = sock_submit(ctx.stack, "Bearer " + ctx.stack.token, "::ffff:192.0.2.9")
        expect(f.get(9) == "sent", "an IPv4-mapped address is IPv4, not the /64: %r" % f)
        o = outcome(ctx.stack.token, "2001:db8:1:3::1")
        expect(o == "sent", "the next /64 is served: %r" % o)
        for _ in range(3):
            outcome("xr_wrong" + word(), "192.0.2.9")
        o = outcome(ctx.stack.token, "::ffff:192.0.2.9")
        expect(o == "throttled", "::ffff:192.0.2.9 counts as 192.0.2.9: %r" % o)
        o = outcome(ctx.stack.token, "192.0.2.10")
        expect(o == "sent", "IPv4 stays per address: %r" % o)
    with_bridge_conf(ctx, {"auth_fail_limit": 3, "auth_fail_window": 60}, body)


# ---- configuration ------------------------------------------------------------

@test("trust_remote_user: REMOTE_USER names the credential; unknown is 403; off by default")
def t_remote_user(ctx):
    s = ctx.stack
    name = "webuser-" + word()
    s.add_token(name, "--from", "web@%s" % COMPONENT)

    def body():
        w = word()
        status, _, text = cgi(
            s, msg(w, "web@%s" % COMPONENT),
            {"REMOTE_USER": name, "HTTP_AUTHORIZATION": "Basic d2ViOnNlY3JldA=="})
        expect(status == 202, "REMOTE_USER %s: %d %r" % (name, status, text))
        delivered(ctx, w)
        status, _, text = cgi(s, msg(word()), {"REMOTE_USER": "stranger"})
        expect(status == 403 and "stranger" in text, "unknown REMOTE_USER: %d %r" % (status, text))
    with_bridge_conf(ctx, {"trust_remote_user": "yes"}, body)
    # without trust_remote_user, REMOTE_USER alone is nothing
    status, _, text = cgi(
        s, msg(word()), {"REMOTE_USER": name, "HTTP_AUTHORIZATION": ""})
    expect(status == 401, "REMOTE_USER without trust_remote_user: %d %r" % (status, text))


@test("auth none: accepted without credentials, with a warning in the log")
def t_auth_none(ctx):
    def body():
        w = word()
        r = post(ctx.url, msg(w), headers={"Authorization": None})
        expect_status(r, 202)
        delivered(ctx, w)
        with open(ctx.stack.bridge_log, errors="replace") as f:
            expect("auth none" in f.read(), "the bridge did not warn about auth none")
    with_bridge_conf(ctx, {"auth": "none"}, body)


@test("auth bearer: only Bearer is offered and accepted")
def t_only_bearer(ctx):
    def body():
        r = post(ctx.url, msg(word()), headers={"Authorization": None})
        expect_status(r, 401)
        ch = challenges(r)
        expect(len(ch) == 1 and ch[0].startswith("Bearer"), "WWW-Authenticate %r" % ch)
        r = post(ctx.url, msg(word()), headers=basic("a", "b"))
        expect_status(r, 401)
        expect_names(r, "Basic")
    with_bridge_conf(ctx, {"auth": "bearer"}, body)


def run_bridge_once(stack, conf_lines, user=None):
    """Starts a bridge on a configuration of its own and returns
    (exit status, stderr) once it stops (it is expected to refuse)."""
    path = os.path.join(stack.tmp, "once-%s.conf" % word())
    with open(path, "w") as f:
        f.write("\n".join(conf_lines) + "\n")
    os.chmod(path, 0o644)
    argv = [stack.bridge_bin, "-c", path]
    if user:
        argv = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", user, "--"] + argv
    p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    return p.returncode, p.stderr


def base_conf(stack, **kw):
    lines = ["jid %s" % COMPONENT, "port %d" % stack.component_port,
             "secret_file %s" % stack.secret_path()]
    lines += ["%s %s" % kv for kv in kw.items()]
    return lines


@test("a credentials file others may read stops the bridge at start")
def t_creds_file_mode(ctx):
    s = ctx.stack
    path = os.path.join(s.tmp, "open-credentials")
    with open(path, "w") as f:
        f.write("# nothing\n")
    os.chmod(path, 0o644)
    user = ["user xmpp-rest"] if os.geteuid() == 0 else []
    rc, err = run_bridge_once(s, base_conf(
        s, socket=os.path.join(s.tmp, "mode-run", "b.sock"), credentials_file=path) + user)
    expect(rc == 1 and "chmod 600" in err, "exit %d: %r" % (rc, err))


@test("root without 'user' is refused; the stack's bridge dropped to xmpp-rest; socket 0660 "
      "in a 0750 directory")
def t_root_refused(ctx):
    if os.geteuid() != 0:
        return
    s = ctx.stack
    rc, err = run_bridge_once(s, base_conf(s, socket=os.path.join(s.tmp, "root-run", "b.sock")))
    expect(rc == 1 and "refusing to run as root" in err, "exit %d: %r" % (rc, err))
    # the stack's bridge was started as root and runs as its own account
    uid = os.stat("/proc/%d" % s.bridge.pid).st_uid
    expect(uid == pwd.getpwnam("xmpp-rest").pw_uid, "the bridge runs as uid %d" % uid)
    st = os.stat(s.socket_path)
    expect(st.st_uid == pwd.getpwnam("xmpp-rest").pw_uid and st.st_mode & 0o777 == 0o660,
           "socket uid %d mode %o" % (st.st_uid, st.st_mode & 0o777))
    d = os.stat(os.path.dirname(s.socket_path))
    expect(d.st_mode & 0o777 == 0o750 and d.st_gid == st.st_gid,
           "socket directory mode %o gid %d" % (d.st_mode & 0o777, d.st_gid))


@test("allow_uids/allow_gids (SO_PEERCRED): a responder of another user gets 500 naming "
      "them; allow_gids lets its group in")
def t_allow_uids(ctx):
    if os.geteuid() != 0:
        return
    s = ctx.stack
    web_user = "www-data"
    # The checkout may be in root's home (0700 on Debian), which www-data
    # cannot reach: it runs a copy in the stack's directory (0711).
    responder = os.path.join(s.tmp, "allow-uids-responder")
    if not os.path.exists(responder):
        shutil.copy(s.responder_bin, responder)
        os.chmod(responder, 0o755)

    def as_web(body):
        env = {"XMPP_REST_CONF": s.conf_path, "PATH": "/usr/bin:/bin",
               "REQUEST_METHOD": "POST", "CONTENT_TYPE": CT,
               "GATEWAY_INTERFACE": "CGI/1.1", "HTTP_AUTHORIZATION": "Bearer " + s.token}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        argv = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", web_user, "--",
                "env"] + ["%s=%s" % kv for kv in env.items()] + [responder]
        p = subprocess.run(argv, input=body.encode(), capture_output=True, timeout=30)
        out = p.stdout.decode("utf-8", "replace")
        return out.split("\r\n", 1)[0], out

    def refused():
        status, out = as_web(msg(word()))
        expect("500" in status and "allow_uids" in out, "as %s: %r" % (web_user, out[:300]))
        with open(s.bridge_log, errors="replace") as f:
            expect("refusing a responder" in f.read(), "the bridge did not log the refusal")

    def allowed():
        w = word()
        status, out = as_web(msg(w))
        expect("202" in status, "as %s with allow_gids: %r" % (web_user, out[:300]))
        delivered(ctx, w)
    with_bridge_conf(ctx, {"allow_uids": "nobody"}, refused)
    with_bridge_conf(ctx, {"allow_uids": "nobody", "allow_gids": web_user}, allowed)


def run_suite(runner, stack, alice, bob, only=None):
    SUITE.run(runner, Ctx(stack, alice, bob, label=SUITE.name, runner=runner), only)
