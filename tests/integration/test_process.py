"""Checks that run the programs themselves, with no web server in between.

- the responder as plain CGI the way Apache mod_cgid runs it for a chunked
  upload: no CONTENT_LENGTH, the body on stdin until EOF;
- the responder with an unreadable configuration;
- the bridge's socket fed garbage and a wrong protocol version;
- the bridge's start-up refusals: a bad configuration, a socket another
  bridge already serves.

Each check is run once (they do not depend on the web server's mode).
"""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid

from harness import (CT, FIELD_OUTCOME, FIELD_TEXT, FRAME_OUTCOME, Ctx, Suite, ask, cgi, expect,
                     frame, read_frame)

SUITE = Suite("process")
test = SUITE.test

@test("shared hosting without root, as INSTALL says: bridge from the home directory under "
      "xmpp-restd-supervise, the responder as the user's CGI program")
def t_shared_hosting(ctx):
    """INSTALL, "Shared hosting without root", step by step as an ordinary
    user: the programs and the configuration in the home directory, the
    bridge kept running by xmpp-restd-supervise (the crontab @reboot
    line), the responder run as a CGI program of that user (as suEXEC
    runs it) with XMPP_REST_CONF from .htaccess's SetEnv."""
    import pwd
    stack = ctx.stack
    if os.geteuid() == 0:
        user = SHARED_USER
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            subprocess.run(["useradd", "--system", "--create-home", "--home-dir",
                            "/var/tmp/" + user, "--shell", "/bin/sh", user], check=True)
            pw = pwd.getpwnam(user)
        home = pw.pw_dir
    else:
        user = pwd.getpwuid(os.getuid()).pw_name
        home = os.path.join(stack.tmp, "home")
        os.makedirs(home, exist_ok=True)
    base = os.path.join(home, "xmpp-rest")
    shutil.rmtree(base, ignore_errors=True)
    # step 1: programs and configuration in the home directory
    for d in ("bin", "etc", "run"):
        os.makedirs(os.path.join(base, d))
    shutil.copy(stack.bridge_bin, os.path.join(base, "bin", "xmpp-restd"))
    shutil.copy(os.path.join(stack.repo, "etc", "xmpp-restd-supervise"),
                os.path.join(base, "bin"))
    shutil.copy(stack.responder_bin, os.path.join(base, "bin", "xmpp-rest.cgi"))
    conf = os.path.join(base, "etc", "xmpp-rest.conf")
    sock = os.path.join(base, "run", "bridge.sock")
    creds = os.path.join(base, "etc", "credentials")
    # the secret in a file of its own (umask 077), named by secret_file
    secret = os.path.join(base, "etc", "secret")
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(stack.secret + "\n")
    with open(conf, "w") as f:
        f.write("jid rest.localhost\nserver 127.0.0.1\nport %d\nsecret_file %s\n"
                "socket %s\ncredentials_file %s\nlog_level info\n" % (
                    stack.component_port, secret, sock, creds))
    if os.geteuid() == 0:
        for root, dirs, files in os.walk(base):
            for n in [root] + [os.path.join(root, x) for x in files]:
                os.chown(n, pw.pw_uid, pw.pw_gid)
    # step 1b: a token for the user's bot, made by the user
    env0, argv0 = as_user(user, [os.path.join(base, "bin", "xmpp-restd"), "-c", conf,
                                 "token", "add", "mybot"], home=home)
    r = subprocess.run(argv0, env=env0, capture_output=True, text=True, timeout=30)
    expect(r.returncode == 0 and r.stdout.startswith("xr_"),
           "token add as %s: exit %d, %r %r" % (user, r.returncode, r.stdout, r.stderr))
    token = r.stdout.strip()
    expect(os.stat(creds).st_mode & 0o777 == 0o600, "credentials mode %o" % (
        os.stat(creds).st_mode & 0o777))
    # step 2: the crontab line's command (the stack's bridge makes way: a
    # component name is served by one connection at a time)
    stack.stop_bridge()
    cron = [os.path.join(base, "bin", "xmpp-restd-supervise"), conf]
    sup = None
    try:
        env, argv = as_user(user, cron, home=home)
        sup = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 15
        log = os.path.join(base, "etc", "xmpp-restd.log")
        while time.monotonic() < deadline:
            if os.path.exists(sock) and os.path.exists(log) and \
                    "connected to" in open(log).read():
                break
            time.sleep(0.1)
        expect(os.path.exists(sock), "no socket at %s; log: %r" % (
            sock, open(log).read()[-500:] if os.path.exists(log) else None))
        st = os.stat(sock)
        expect(st.st_mode & 0o777 == 0o660, "socket mode %o" % (st.st_mode & 0o777))
        # a second start (cron every few minutes) leaves the first alone
        env2, argv2 = as_user(user, cron, home=home)
        r = subprocess.run(argv2, env=env2, timeout=10)
        expect(r.returncode == 0, "a second supervisor exited %d" % r.returncode)
        # step 3: the responder as the user's CGI program
        word = uuid.uuid4().hex[:10]
        body = "<message to='alice@localhost/test'><body>%s</body></message>" % word
        cgi_env = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": CT,
                   "CONTENT_LENGTH": str(len(body)), "GATEWAY_INTERFACE": "CGI/1.1",
                   "XMPP_REST_CONF": conf, "HTTP_AUTHORIZATION": "Bearer " + token}
        env3, argv3 = as_user(user, [os.path.join(base, "bin", "xmpp-rest.cgi")],
                              home=home, env=cgi_env)
        p = subprocess.run(argv3, env=env3, input=body.encode(), capture_output=True,
                           timeout=30)
        expect(b"Status: 202" in p.stdout, "the CGI answered %r %r" % (p.stdout[:200], p.stderr[:200]))
        ctx.alice.wait_for(lambda r: r.kind == "message" and r.body == word, 10)
        # the supervisor restarts a bridge that died
        pids = [int(x) for x in subprocess.run(["pgrep", "-f", "-x", "%s -c %s" % (
            os.path.join(base, "bin", "xmpp-restd"), conf)], capture_output=True,
            text=True).stdout.split()]
        expect(len(pids) == 1, "bridges running: %r" % pids)
        os.kill(pids[0], 9)
        deadline = time.monotonic() + 15
        again = []
        while time.monotonic() < deadline and not again:
            time.sleep(0.2)
            again = [int(x) for x in subprocess.run(["pgrep", "-f", "-x", "%s -c %s" % (
                os.path.join(base, "bin", "xmpp-restd"), conf)], capture_output=True,
                text=True).stdout.split() if int(x) != pids[0]]
        expect(again, "the supervisor did not start the bridge again")
        if os.geteuid() == 0:
            owner = os.stat("/proc/%d" % again[0]).st_uid
            expect(owner == pw.pw_uid, "the bridge runs as uid %d" % owner)
    finally:
        if sup is not None:
            os.killpg(sup.pid, 15)
            try:
                sup.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(sup.pid, 9)
                sup.wait()
        # the supervisor's TERM trap ends its bridge; make sure of it
        subprocess.run(["pkill", "-f", os.path.join(base, "bin", "xmpp-restd") + " "])
        deadline = time.monotonic() + 10
        while os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.1)
        stack.start_bridge()


@test("systemd socket activation (LISTEN_FDS): one responder process serves FastCGI "
      "requests on the socket it was given")
def t_socket_activation(ctx):
    """systemd passes the listening socket as descriptor 3 (LISTEN_FDS);
    systemd-socket-activate does exactly that without systemd running."""
    sock = os.path.join(ctx.stack.tmp, "activated.sock")
    env = dict(os.environ, XMPP_REST_CONF=ctx.stack.conf_path)
    proc = subprocess.Popen(["systemd-socket-activate", "-l", sock,
                             "-E", "XMPP_REST_CONF", "-E", "ASAN_OPTIONS",
                             "-E", "UBSAN_OPTIONS", ctx.stack.responder_bin],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        words = [uuid.uuid4().hex[:10] for _ in range(2)]
        for word in words:
            status, headers, body = fcgi_request(
                sock, "<message to='alice@localhost/test'><body>%s</body></message>" % word,
                ctx.stack.token)
            expect(status == 202, "status %d, body %r" % (status, body))
            rec = ctx.alice.wait_for(lambda r, w=word: r.kind == "message" and r.body == w, 10)
            expect(rec.id == headers.get("x-stanza-id"), "ids differ")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@test("plain CGI without CONTENT_LENGTH (mod_cgid chunked): body read to EOF, 202, delivered")
def t_cgi_no_length(ctx):
    word = uuid.uuid4().hex[:10]
    status, headers, body = cgi(ctx.stack, "<message to='alice@localhost/test'>"
                                "<body>%s</body></message>" % word)
    expect(status == 202, "status %d, body %r" % (status, body))
    rec = ctx.alice.wait_for(lambda r: r.kind == "message" and r.body == word, 10)
    expect(rec is not None, "alice did not receive the message")
    expect(rec.id == headers.get("x-stanza-id"), "id %r vs header %r" % (
        rec.id, headers.get("x-stanza-id")))


@test("plain CGI without CONTENT_LENGTH over max_stanza_bytes: 413 naming the limit")
def t_cgi_no_length_too_big(ctx):
    big = "<message to='alice@localhost'><body>%s</body></message>" % ("x" * 200000)
    status, _, body = cgi(ctx.stack, big)
    expect(status == 413, "status %d, body %r" % (status, body[:200]))
    expect("196608" in body, "the body does not name the limit: %r" % body)


@test("responder with a missing configuration file: 500 naming the file")
def t_cgi_bad_conf(ctx):
    missing = os.path.join(ctx.stack.tmp, "no-such.conf")
    status, _, body = cgi(ctx.stack, "<message to='alice@localhost'/>", conf=missing)
    expect(status == 500, "status %d" % status)
    expect("no-such.conf" in body and "configuration" in body,
           "the body does not say which file: %r" % body)


def _fake_bridge(path, fields_for):
    """A bridge of our own on path that answers one SUBMIT with an OUTCOME
    frame (type 2) made of fields_for(submit_fields); returns the thread."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(20)

    def serve():
        try:
            conn, _ = srv.accept()
            with conn:
                seq, f = read_frame(conn)
                conn.sendall(frame(seq, fields_for(f), ftype=FRAME_OUTCOME))
                conn.settimeout(10)
                conn.recv(1)    # until the responder has read it and closed
        except OSError:
            pass
        finally:
            srv.close()
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return th


def _check_cgi_response(raw):
    """One CGI response: header lines without stray CR/LF or controls, and
    a body of exactly Content-Length bytes; returns (status, headers, body)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    expect(sep, "no end of headers: %r" % raw[:200])
    lines = head.split(b"\r\n")
    headers = {}
    for ln in lines:
        expect(b":" in ln and not any(c < 32 and c != 9 for c in ln),
               "bad header line %r" % ln[:120])
        k, _, v = ln.partition(b":")
        headers.setdefault(k.strip().lower().decode(), []).append(v.strip().decode())
    cl = headers.get("content-length", ["-1"])
    expect(len(cl) == 1 and int(cl[0]) == len(body), "Content-Length %r for %d bytes" % (cl, len(body)))
    return int(headers["status"][0].split()[0]), headers, body


@test("long answers from the bridge (a 921-byte challenge, a 4 KB error type) make one "
      "well-formed response; a challenge with CR LF makes no header")
def t_cgi_long_bridge_answer(ctx):
    conf = os.path.join(ctx.stack.tmp, "fake-bridge.conf")
    sock = os.path.join(ctx.stack.tmp, "fake-bridge.sock")
    with open(ctx.stack.conf_path) as f:
        lines = [ln for ln in f.read().splitlines() if not ln.startswith("socket ")]
    with open(conf, "w") as f:
        f.write("\n".join(lines + ["socket " + sock]) + "\n")
    cases = [
        # headers that end just short of the old head[1024], then the
        # Content-Type and Content-Length lines on top
        ("a 921-byte challenge", lambda f: [(9, b"unauthorized"), (12, b"no token"),
                                            (20, b"Bearer realm=\"" + b"B" * 906 + b"\"")], 401),
        ("a 4 KB error type and a 6 KB text", lambda f: [
            (9, b"error"), (10, b"A" * 4096), (11, b"item-not-found"), (12, b"t" * 6000),
            (6, b"<iq type='error' id='%s'/>" % f.get(2, "x").encode())], 404),
        ("a challenge with CR LF and a cookie", lambda f: [
            (9, b"unauthorized"), (20, b"Bearer realm=\"x\"\r\nSet-Cookie: sid=a")], 401),
    ]
    for what, fields_for, want in cases:
        if os.path.exists(sock):
            os.unlink(sock)
        th = _fake_bridge(sock, fields_for)
        env = {"PATH": "/usr/bin:/bin", "REQUEST_METHOD": "POST", "CONTENT_TYPE": CT,
               "GATEWAY_INTERFACE": "CGI/1.1", "XMPP_REST_CONF": conf,
               "HTTP_ACCEPT": "application/json"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        p = subprocess.run([ctx.stack.responder_bin],
                           input=b"<iq type='get' to='alice@localhost/test'><q xmlns='urn:x'/></iq>",
                           env=env, capture_output=True, timeout=30)
        th.join(5)
        expect(p.returncode == 0, "%s: the responder exited %d: %s" % (
            what, p.returncode, p.stderr.decode("utf-8", "replace")[-600:]))
        status, headers, body = _check_cgi_response(p.stdout)
        expect(status == want, "%s: status %d, expected %d" % (what, status, want))
        expect("set-cookie" not in headers, "%s: a Set-Cookie header: %r" % (what, headers))
        if status != 500:
            json.loads(body)


@test("bridge socket: garbage, wrong version, oversized and incomplete frames are "
      "rejected with a reason; the bridge keeps serving")
def t_socket_garbage(ctx):
    _, f = ask(ctx.stack, b"GET / HTTP/1.0\r\n\r\n")
    expect(f.get(FIELD_OUTCOME) == "rejected", "outcome %r" % f)
    expect("magic" in f.get(FIELD_TEXT, ""), "reason %r" % f.get(FIELD_TEXT))
    _, f = ask(ctx.stack, frame(5, [], version=9))
    expect(f.get(FIELD_OUTCOME) == "rejected" and "version 9" in f.get(FIELD_TEXT, ""),
           "a wrong version: %r" % f)
    _, f = ask(ctx.stack, b"XR\x01\x01\0\0\0\x07\x7f\xff\xff\xff")
    expect(f.get(FIELD_OUTCOME) == "rejected" and "limit" in f.get(FIELD_TEXT, ""),
           "an oversized length: %r" % f)
    # a submit without its fields is refused, but answered with its seq
    seq, f = ask(ctx.stack, frame(77, [(1, b"iq")]))
    expect(seq == 77 and f.get(FIELD_OUTCOME) == "rejected", "incomplete submit: %r" % f)
    # and the bridge still serves a real request afterwards
    iq = b"<iq type='get' to='localhost' id='sock1'><ping xmlns='urn:xmpp:ping'/></iq>"
    seq, f = ask(ctx.stack, frame(78, [(1, b"iq"), (2, b"sock1"), (3, b"localhost"),
                                       (4, b"rest.localhost"), (5, b"get"), (6, iq), (7, b"5000"),
                                       (8, b"reply"), (17, bearer(ctx))]))
    expect(seq == 78 and f.get(FIELD_OUTCOME) == "reply", "after garbage: %r" % f)


@test("bridge socket: a delivery frame (the bridge's own worker channel) is rejected, "
      "naming it; the bridge keeps serving")
def t_socket_delivery_frame(ctx):
    _, f = ask(ctx.stack, frame(6, [(2, b"d1"), (22, b"http://127.0.0.1:1/")], ftype=3))
    expect(f.get(FIELD_OUTCOME) == "rejected" and "delivery" in f.get(FIELD_TEXT, ""),
           "a delivery frame: %r" % f)
    iq = b"<iq type='get' to='localhost' id='sock3'><ping xmlns='urn:xmpp:ping'/></iq>"
    seq, f = ask(ctx.stack, frame(79, [(1, b"iq"), (2, b"sock3"), (3, b"localhost"),
                                       (4, b"rest.localhost"), (5, b"get"), (6, iq), (7, b"5000"),
                                       (8, b"reply"), (17, bearer(ctx))]))
    expect(seq == 79 and f.get(FIELD_OUTCOME) == "reply", "after a delivery frame: %r" % f)


@test("xmpp-restd -n with an unknown key: exit 1 with FILE:LINE: reason")
def t_bridge_bad_conf(ctx):
    path = os.path.join(ctx.stack.tmp, "bad.conf")
    with open(path, "w") as f:
        f.write("jid rest.localhost\nsecret x\nstanza_max 5\n")
    p = subprocess.run([ctx.stack.bridge_bin, "-n", "-c", path], capture_output=True,
                       text=True, timeout=10)
    expect(p.returncode == 1, "exit status %d" % p.returncode)
    expect("bad.conf:3: unknown key 'stanza_max'" in p.stderr, "stderr %r" % p.stderr)


@test("a second bridge on the same socket refuses to start; the first keeps serving")
def t_bridge_socket_taken(ctx):
    p = subprocess.run([ctx.stack.bridge_bin, "-c", ctx.stack.conf_path],
                       capture_output=True, text=True, timeout=10)
    expect(p.returncode == 1, "a second bridge exited %d" % p.returncode)
    expect("another bridge is already listening" in p.stderr, "stderr %r" % p.stderr)
    # the first one is unharmed
    _, f = ask(ctx.stack, frame(3, [(1, b"iq"), (2, b"sock2"), (3, b"localhost"),
                                    (4, b"rest.localhost"), (5, b"get"),
                                    (6, b"<iq type='get' to='localhost' id='sock2'>"
                                        b"<ping xmlns='urn:xmpp:ping'/></iq>"),
                                    (7, b"5000"), (8, b"reply"), (17, bearer(ctx))]))
    expect(f.get(FIELD_OUTCOME) == "reply", "the first bridge: %r" % f)


def bearer(ctx):
    """The submit frame's AUTHORIZATION field (tag 17) for the stack's token."""
    return ("Bearer " + ctx.stack.token).encode()


def fcgi_request(sock_path, body, token):
    """One FastCGI request through cgi-fcgi (libfcgi-bin), as a web server
    would send it; returns (status, headers, body)."""
    env = {"PATH": "/usr/bin:/bin", "REQUEST_METHOD": "POST", "CONTENT_TYPE": CT,
           "CONTENT_LENGTH": str(len(body.encode())), "HTTP_AUTHORIZATION": "Bearer " + token}
    p = subprocess.run(["cgi-fcgi", "-bind", "-connect", sock_path], input=body.encode(),
                       env=env, capture_output=True, timeout=30)
    head, _, rest = p.stdout.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode().split("\r\n"):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(headers.get("status", "0").split()[0] or 0), headers, rest.decode()


SHARED_USER = "xrshared"


def as_user(user, argv, **kw):
    """argv as user (with runuser when we are root), in a clean
    environment: what a shell of that user on a shared host would have."""
    env = {"PATH": "/usr/bin:/bin", "HOME": kw.pop("home")}
    env.update(kw.pop("env", {}))
    if os.geteuid() == 0:
        argv = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", user, "--"] + argv
    return env, argv


def run_suite(runner, stack, alice, bob, only=None):
    SUITE.run(runner, Ctx(stack, alice, bob, label=SUITE.name, runner=runner), only)
