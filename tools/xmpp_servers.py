"""The XMPP server of the local stack (tools/stack.py): Prosody, or
Debian's ejabberd (for the suites that prove "any XMPP server"), each
configured in the stack's directory with VirtualHost DOMAIN (the stack's
users) and Component COMPONENT with the stack's secret, no TLS, no s2s,
no HTTP, every listener on 127.0.0.1.  Only the standard library is used.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import web_base
from stack_proc import Proc, StackError
from web_base import free_port, port_open, tail

DOMAIN = "localhost"
COMPONENT = "rest.localhost"


def lua_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class XmppServer:
    """The stack's XMPP server: its configuration and accounts in
    stack.path(name), its process, its log.  The stack picks the ports;
    every listener is on 127.0.0.1.  As root it runs as its Debian
    package's system user.

    The class attributes below say where servers legitimately answer
    differently, so that a check states its expectation for the server it
    runs against instead of being skipped there.  (ejabberd also answers
    a version query as ejabberd, and a ping to a bare JID itself; no check
    run against it asks either.)"""

    name = None
    user = None                 # the system account it runs as (as root)
    remote_bounce = None        # the condition a message to a remote domain bounces with
    # a second component connection for a domain is accepted, and the
    # stanzas to the domain are split between the two (else: conflict)
    second_component_splits = False

    def __init__(self, stack):
        self.stack = stack
        self.dir = stack.path(self.name)
        self.proc = None

    def prepare(self):
        """Writes the configuration (once, before the first start)."""
        raise NotImplementedError

    def argv(self):
        raise NotImplementedError

    @property
    def log(self):
        raise NotImplementedError

    def component_auth_count(self):
        """How often the server has logged a successful component login."""
        try:
            with open(self.log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return 0
        return len(self.component_auth.findall(text))

    def ports(self):
        return [self.stack.c2s_port, self.stack.component_port]

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def start(self, timeout=20.0):
        if self.alive():
            raise StackError("%s is already running" % self.name)
        self.proc = Proc(self.name, self.argv(), os.path.join(self.dir, "console.log"),
                          cwd=self.dir, env=self.env(), **self.run_as())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise StackError("%s exited with status %s:\n%s\n%s" % (
                    self.name, self.proc.p.returncode, tail(self.proc.log_path), tail(self.log)))
            if all(port_open(p) for p in self.ports()):
                self.started()
                return
            time.sleep(0.05)
        raise StackError("%s did not open ports %s within %gs:\n%s" % (
            self.name, " and ".join(map(str, self.ports())), timeout, tail(self.log)))

    def started(self):
        """Called once its ports are open."""

    def stop(self):
        if self.proc:
            self.proc.stop()
            self._wait_gone()

    def kill(self):
        """SIGKILL, as a crash would end it."""
        if self.proc:
            self.proc.stop(timeout=0, sig=signal.SIGKILL, term_group=True)
            self._wait_gone()

    def _wait_gone(self, timeout=10.0):
        """Waits until nothing of its session runs any more (a SIGKILL is
        not instant), so that a restart finds its ports free."""
        deadline = time.monotonic() + timeout
        while web_base.session_pids(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.proc = None

    def pw(self):
        import pwd
        try:
            return pwd.getpwnam(self.user)
        except KeyError:
            raise StackError("running as root, but there is no user %r to run %s as "
                             "(install Debian's %s package)" % (self.user, self.name, self.name)) from None

    def run_as(self):
        """Popen's keywords that run a command as the server's user."""
        if not self.stack.as_root:
            return {}
        return {"user": self.user, "group": self.pw().pw_gid, "extra_groups": []}

    def env(self):
        env = dict(os.environ)
        if self.stack.as_root:
            env["HOME"] = self.pw().pw_dir
            env["USER"] = env["LOGNAME"] = self.user
        return env

    def run_tool(self, argv, what):
        """Runs one of the server's own commands as its user; fails loudly."""
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, cwd=self.dir, env=self.env(), timeout=60,
                           **self.run_as())
        if r.returncode != 0:
            raise StackError("%s failed (%d):\n%s" % (what, r.returncode, r.stdout.decode("utf-8", "replace")))
        return r

    def give_dir(self, mode=0o700):
        """The server's directory (and all in it) to its user, if we are root."""
        os.chmod(self.dir, mode)
        if self.stack.as_root:
            pw = self.pw()
            for root, dirs, files in os.walk(self.dir):
                os.chown(root, pw.pw_uid, pw.pw_gid)
                for n in files:
                    os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)


class Prosody(XmppServer):
    name = "prosody"
    user = "prosody"
    remote_bounce = "not-allowed"
    may_lose_taken_on_kill = 0
    # mod_component logs this once per successful component login.
    component_auth = re.compile(
        r"^\S.*\b" + re.escape(COMPONENT) + r":component\s+info\s+External component successfully authenticated",
        re.M)

    @property
    def conf(self):
        return os.path.join(self.dir, "prosody.cfg.lua")

    @property
    def log(self):
        return os.path.join(self.dir, "prosody.log")

    def argv(self):
        return ["prosody", "--config", self.conf, "-F"]

    def prepare(self):
        st = self.stack
        d = self.dir
        os.makedirs(os.path.join(d, "data"))
        cfg = f"""-- written by tools/stack.py
pidfile = {lua_str(os.path.join(d, "prosody.pid"))}
data_path = {lua_str(os.path.join(d, "data"))}
log = {{
    {{ levels = {{ min = {lua_str(st.prosody_log_level)} }}, to = "file", filename = {lua_str(self.log)} }};
}}
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {st.c2s_port} }}
c2s_direct_tls_ports = {{ }}
component_interfaces = {{ "127.0.0.1" }}
component_ports = {{ {st.component_port} }}
s2s_ports = {{ }}
s2s_direct_tls_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
legacy_ssl_ports = {{ }}

modules_enabled = {{ "roster", "saslauth", "disco", "ping", "time", "version" }}
-- "posix" is autoloaded; it must not be listed (see LIBRARIES.md 5)
modules_disabled = {{ "s2s", "s2s_auth_certs", "dialback", "tls" }}

c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
allow_registration = false

VirtualHost {lua_str(DOMAIN)}

Component {lua_str(COMPONENT)}
    component_secret = {lua_str(st.secret)}
"""
        with open(self.conf, "w") as f:
            f.write(cfg)
        os.chmod(self.conf, 0o600)
        self.give_dir()
        for user, pw in st.users.items():
            self.run_tool(["prosodyctl", "--config", self.conf, "register", user, DOMAIN, pw],
                          "prosodyctl register %s" % user)


class Ejabberd(XmppServer):
    """Debian's ejabberd, as its own Erlang node run from self.dir
    (ejabberdctl foreground with every path given).  ERL_DIST_PORT fixes
    the distribution port, so no epmd is started (it would listen on
    0.0.0.0:4369 and outlive us); inet_dist_use_interface keeps that port
    on 127.0.0.1.  HOME is self.dir/home, so the node's Erlang cookie is
    its own.  Accounts are made with ejabberdctl register once it runs:
    that needs the node."""

    name = "ejabberd"
    user = "ejabberd"
    remote_bounce = "forbidden"
    second_component_splits = True
    # Stanzas it took (our ping came back) but had not yet passed to the
    # user's session when killed with SIGKILL: 0 to 4 of 1000 seen.
    may_lose_taken_on_kill = 16
    component_auth = re.compile(
        r"\[info\].*ejabberd_service.*\bAccepted external component (handshake )?authentication for " +
        re.escape(COMPONENT), re.M)

    def __init__(self, stack):
        super().__init__(stack)
        self.dist_port = None
        self._registered = False

    @property
    def log(self):
        return os.path.join(self.dir, "logs", "ejabberd.log")

    def ports(self):
        return super().ports() + [self.dist_port]

    def ctl(self, *args):
        d = self.dir
        return ["ejabberdctl", "--config-dir", d, "--config", os.path.join(d, "ejabberd.yml"),
                "--ctl-config", os.path.join(d, "ejabberdctl.cfg"), "--logs", os.path.join(d, "logs"),
                "--spool", os.path.join(d, "spool")] + list(args)

    def argv(self):
        return self.ctl("foreground")

    def env(self):
        env = super().env()
        env["HOME"] = os.path.join(self.dir, "home")
        return env

    def run_as(self):
        # ejabberdctl refuses any user but root and ejabberd, and as root it
        # would su to ejabberd with that user's HOME (and cookie).
        if not self.stack.as_root:
            raise StackError("ejabberd runs as the ejabberd user: run the stack as root")
        return super().run_as()

    def prepare(self):
        st = self.stack
        d = self.dir
        for sub in ("home", "logs", "spool"):
            os.makedirs(os.path.join(d, sub))
        self.dist_port = free_port()
        while self.dist_port in (st.c2s_port, st.component_port):
            self.dist_port = free_port()
        shutil.copy("/etc/ejabberd/inetrc", os.path.join(d, "inetrc"))
        with open(os.path.join(d, "ejabberdctl.cfg"), "w") as f:
            f.write("# written by tools/stack.py\n"
                    "ERLANG_NODE=xmpp-rest-test@localhost\n"
                    "ERL_DIST_PORT=%d\n"
                    "ERL_OPTIONS=\"-kernel inet_dist_use_interface {127,0,0,1}\"\n" % self.dist_port)
        level = {"warn": "warning"}.get(st.prosody_log_level, st.prosody_log_level)
        # JSON is YAML: every string quoted, nothing for YAML to reinterpret.
        q = json.dumps
        with open(os.path.join(d, "ejabberd.yml"), "w") as f:
            f.write(f"""# written by tools/stack.py
loglevel: {level}
log_rotate_count: 0
hosts: [{q(DOMAIN)}]
listen:
  -
    port: {st.c2s_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
  -
    port: {st.component_port}
    ip: "127.0.0.1"
    module: ejabberd_service
    hosts:
      {q(COMPONENT)}:
        password: {q(st.secret)}
s2s_access: none
acme:
  auto: false
auth_method: internal
auth_password_format: scram
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
modules:
  mod_disco: {{}}
  mod_ping: {{}}
  mod_roster: {{}}
  mod_time: {{}}
  mod_version: {{}}
""")
        self.give_dir()

    def started(self):
        if self._registered:
            return
        for user, pw in self.stack.users.items():
            self.run_tool(self.ctl("register", user, DOMAIN, pw), "ejabberdctl register %s" % user)
        self._registered = True

    def stop(self):
        # ejabberdctl is a shell script that waits for the Erlang VM, and
        # it ends at once on SIGTERM: the VM gets its own SIGTERM (it stops
        # cleanly on it) and time to act on it before the SIGKILL.
        if self.proc:
            self.proc.kill(signal.SIGTERM, True)
            deadline = time.monotonic() + 10
            while web_base.session_pids(self.proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            super().stop()


XMPP_SERVERS = {c.name: c for c in (Prosody, Ejabberd)}
