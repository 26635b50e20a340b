"""The bridge's secrets (issue 14, finding 5): the component secret and the
webhook's signing secret live in files of their own (secret_file,
callback_secret_file), mode 0600 and the bridge's user's, as `make run`
(tools/stack.py) and INSTALL lay them out; xmpp-rest.conf, which the web
server's responders read, holds none.

- as www-data (the web server's user), the secrets cannot be read, and
  the configuration it can read holds neither;
- the bridge, `xmpp-restd -n` and a SIGHUP reload refuse a secret file
  group or others can read, and an inline secret or callback_secret in a
  configuration file group or others can read;
- secret_file works end to end: the component logs in, a POST is
  delivered.
"""

import os
import pwd
import shutil
import signal
import stat
import subprocess

from harness import COMPONENT, Ctx, Suite, delivered, expect, expect_status, msg, post, word

SUITE = Suite("secrets")
test = SUITE.test
WEB_USER = "www-data"
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"


def _as_web(argv):
    return subprocess.run([RUNUSER, "-u", WEB_USER, "--"] + argv, capture_output=True,
                          timeout=30)


@test("as www-data, the secret files of `make run` cannot be read (0600, the bridge's "
      "user's), and xmpp-rest.conf, which it reads, names them but holds no secret")
def t_web_user_cannot_read(ctx):
    s = ctx.stack
    if os.geteuid() != 0:
        return          # without root there is no other user to be
    bridge_uid = pwd.getpwnam("xmpp-rest").pw_uid
    # the webhook's secret too, as a test that signs would have it
    s.restart_bridge({"callback_secret": "a-callback-secret-" + word()})
    try:
        secrets = [s.secret]
        with open(s.secret_path("callback_secret")) as f:
            secrets.append(f.read().strip())
        for key in ("secret", "callback_secret"):
            path = s.secret_path(key)
            st = os.stat(path)
            expect(stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == bridge_uid,
                   "%s: mode %o uid %d" % (path, stat.S_IMODE(st.st_mode), st.st_uid))
            p = _as_web(["cat", path])
            expect(p.returncode != 0 and not any(x.encode() in p.stdout for x in secrets),
                   "as %s, cat %s: exit %d, %r" % (WEB_USER, path, p.returncode, p.stdout[:80]))
        # the responder's configuration is the web user's to read ...
        p = _as_web(["cat", s.conf_path])
        expect(p.returncode == 0, "as %s, cat %s: %r" % (WEB_USER, s.conf_path, p.stderr))
        text = p.stdout.decode("utf-8", "replace")
        # ... and names the files, not what is in them
        for key in ("secret_file", "callback_secret_file"):
            expect("\n%s %s\n" % (key, s.secret_path(key[:-5])) in text,
                   "%s is not in %s:\n%s" % (key, s.conf_path, text))
        for x in secrets:
            expect(x not in text, "a secret is in %s, which %s reads" % (s.conf_path, WEB_USER))
        # and the responder, as www-data, still serves
        w = word()
        r = post(ctx.url, msg(w))
        expect_status(r, 202)
        delivered(ctx, w)
    finally:
        s.restart_bridge()


def _own_conf(stack, lines, mode, name=None):
    path = os.path.join(stack.tmp, name or "secrets-%s.conf" % word())
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, mode)
    return path


def _base(stack, sock_dir):
    lines = ["jid %s" % COMPONENT, "port %d" % stack.component_port,
             "socket %s" % os.path.join(stack.tmp, sock_dir, "b.sock"),
             "credentials_file %s" % stack.credentials_path,
             "spool_dir %s" % os.path.join(stack.tmp, sock_dir + "-spool")]
    if os.geteuid() == 0:
        lines.append("user xmpp-rest")
    return lines


def _refused(stack, conf, want):
    """The bridge and `xmpp-restd -n` both exit 1 saying want."""
    for argv in ([stack.bridge_bin, "-n", "-c", conf], [stack.bridge_bin, "-c", conf]):
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        expect(p.returncode == 1 and want in p.stderr,
               "%s: exit %d, %r (wanted %r)" % (" ".join(argv[1:]), p.returncode, p.stderr, want))


def _secret_copy(stack, name, mode):
    path = os.path.join(stack.tmp, name)
    with open(path, "w") as f:
        f.write(stack.secret + "\n")
    os.chmod(path, mode)
    if os.geteuid() == 0:
        os.chown(path, pwd.getpwnam("xmpp-rest").pw_uid, -1)
    return path


@test("a secret file group or others may read (or of another owner) stops the bridge and "
      "xmpp-restd -n, naming the file and the key")
def t_open_secret_file(ctx):
    s = ctx.stack
    path = _secret_copy(s, "open-secret-" + word(), 0o640)
    conf = _own_conf(s, _base(s, "open-run") + ["secret_file %s" % path], 0o640)
    _refused(s, conf, "secret_file: %s is readable or writable by group or others "
             "(mode 0640); chmod 600 it" % path)
    cb = _secret_copy(s, "open-cb-" + word(), 0o604)
    ok = _secret_copy(s, "ok-secret-" + word(), 0o600)
    conf = _own_conf(s, _base(s, "open-run") + ["secret_file %s" % ok,
                                                 "callback_secret_file %s" % cb], 0o640)
    _refused(s, conf, "callback_secret_file: %s is readable or writable by group or "
             "others (mode 0604)" % cb)
    if os.geteuid() == 0:
        os.chown(ok, 65534, -1)     # nobody's: neither root nor the bridge's user
        conf = _own_conf(s, _base(s, "open-run") + ["secret_file %s" % ok], 0o640)
        _refused(s, conf, "%s belongs to uid 65534, neither root nor the bridge's user" % ok)


@test("an inline secret or callback_secret in a configuration file others can read stops "
      "the bridge and xmpp-restd -n: FILE:LINE: ... put it in a file of its own ...")
def t_inline_secret(ctx):
    s = ctx.stack
    lines = _base(s, "inline-run")
    name = "inline-%s.conf" % word()
    conf = _own_conf(s, lines + ["secret %s" % s.secret], 0o640, name)
    _refused(s, conf, "%s:%d: 'secret' is in a file others can read (mode 0640); put it "
             "in a file of its own and name that with secret_file" % (conf, len(lines) + 1))
    conf = _own_conf(s, lines + ["secret_file %s" % s.secret_path(),
                                 "callback_secret 0123456789abcdef-" + word()], 0o644)
    _refused(s, conf, ":%d: 'callback_secret' is in a file others can read (mode 0644); "
             "put it in a file of its own and name that with callback_secret_file"
             % (len(lines) + 2))
    # both ways at once is a mistake too
    conf = _own_conf(s, lines + ["secret_file %s" % s.secret_path(), "secret x"], 0o600)
    _refused(s, conf, "both 'secret' and 'secret_file' are set")


@test("SIGHUP with a secret file others can read: refused, logged, the running "
      "configuration stays and serves")
def t_reload_refused(ctx):
    s = ctx.stack
    off = os.path.getsize(s.bridge_log)
    path = s.secret_path()
    os.chmod(path, 0o640)
    try:
        os.kill(s.bridge.pid, signal.SIGHUP)
        want = "is readable or writable by group or others (mode 0640)"
        line = ctx.wait_log(lambda ln: "SIGHUP" in ln and want in ln, off, 10)
        expect(line is not None and "the running configuration stays" in line,
               "the bridge did not refuse the reload: %r" % line)
    finally:
        os.chmod(path, 0o600)
    expect(s.bridge.alive(), "the bridge stopped")
    w = word()
    r = post(ctx.url, msg(w))
    expect_status(r, 202)
    delivered(ctx, w)


@test("secret_file end to end: the component logs in with the secret from its file; a "
      "POST is delivered")
def t_secret_file_end_to_end(ctx):
    s = ctx.stack
    with open(s.conf_path) as f:
        text = f.read()
    expect("\nsecret_file %s\n" % s.secret_path() in text and "\nsecret " not in text,
           "the stack's configuration: %r" % text)
    with open(s.secret_path()) as f:
        expect(f.read() == s.secret + "\n", "the secret file holds more than the secret")
    s.restart_bridge()          # logs in with the secret from its file, or fails
    w = word()
    r = post(ctx.url, msg(w))
    expect_status(r, 202)
    delivered(ctx, w)


def run_suite(runner, stack, alice, bob, only=None):
    SUITE.run(runner, Ctx(stack, alice, bob, label=SUITE.name, runner=runner), only)
