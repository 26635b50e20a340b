"""The bridge's files in the local stack's directory (tools/stack.py):
xmpp-rest.conf, the files of the secrets beside it, and the credentials
file, which `xmpp-restd token|password` manage.

The secrets are not in xmpp-rest.conf but in xmpp-rest.secret and
xmpp-rest.callback-secret (secret_file, callback_secret_file; mode 0600,
the bridge's user's), as `make install` lays them out: a "secret" or
"callback_secret" given in the stack's bridge_conf or an override is
written to its file.

As root, the bridge drops to its own account (BRIDGE_USER, as INSTALL
has it) and runs with the web servers' group (www-data's), so that its
socket (mode 0660) and xmpp-rest.conf (0640) are theirs to use.  Only the
standard library is used.
"""

import os
import pwd
import subprocess

import web_base
from stack_proc import StackError

BRIDGE_USER = "xmpp-rest"

# key -> (the _file key that names its file, the file's name)
SECRET_FILES = {"secret": ("secret_file", "xmpp-rest.secret"),
                "callback_secret": ("callback_secret_file", "xmpp-rest.callback-secret")}


def web_gid():
    """The group of the web servers' user (www-data), which the bridge
    runs with as root so that its socket is theirs to use."""
    try:
        return web_base.web_user().pw_gid
    except web_base.WebError as e:
        raise StackError(str(e)) from None


def ensure_bridge_user():
    """As root: the system account the bridge drops to, made once per
    machine."""
    try:
        pwd.getpwnam(BRIDGE_USER)
    except KeyError:
        r = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                            BRIDGE_USER], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise StackError("useradd %s failed: %s" % (
                BRIDGE_USER, r.stdout.decode("utf-8", "replace")))


class BridgeFiles:
    """The bridge's files in directory dir, for the component jid on
    127.0.0.1:port with the given secret.  extra_conf: the stack's own keys
    for xmpp-rest.conf, added or overriding; as_root: the bridge is started
    as root (and drops to BRIDGE_USER)."""

    def __init__(self, dir, bridge_bin, jid, port, secret, extra_conf, as_root):
        self.dir = dir
        self.bridge_bin = bridge_bin
        self.jid = jid
        self.port = port
        self.secret = secret
        self.extra_conf = extra_conf
        self.as_root = as_root
        # whether the bridge, as xmpp-rest.conf has it now, logs at info
        # or debug (and so logs its own line once connected)
        self.logs_info = True

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    @property
    def conf_path(self):
        return self.path("xmpp-rest.conf")

    @property
    def socket_path(self):
        # A directory of its own, which the bridge creates (see privs.c).
        return self.path("run", "bridge.sock")

    @property
    def credentials_path(self):
        return self.path("credentials")

    def secret_path(self, key="secret"):
        return self.path(SECRET_FILES[key][1])

    def values(self, overrides=None):
        """xmpp-rest.conf's keys and values: the stack's, then overrides
        (a value None removes the key: back to the bridge's default)."""
        conf = {
            "jid": self.jid,
            "server": "127.0.0.1",
            "port": str(self.port),
            "secret": self.secret,      # into secret_file: write_conf
            "socket": self.socket_path,
            "iq_timeout": "5",
            "iq_max_timeout": "10",
            "max_stanza_bytes": "196608",
            "log_level": "debug",
            "reconnect_min": "1",
            "reconnect_max": "2",
            "retry_after": "5",
            "queue_wait": "2",
            "credentials_file": self.credentials_path,
            "spool_dir": self.path("spool"),
        }
        if self.as_root:
            # Started as root, the bridge drops to its own account, as a
            # packaged one would; the web server's group gets the socket.
            conf["user"] = BRIDGE_USER
            conf["socket_group"] = str(web_gid())
        conf.update({k: str(v) for k, v in self.extra_conf.items()})
        for k, v in (overrides or {}).items():
            if v is None:
                conf.pop(k, None)
            else:
                conf[k] = str(v)
        return conf

    def write_secret(self, key, value):
        """Writes a secret as INSTALL has it: a file holding it alone, mode
        0600, the bridge's user's (as root).  Returns the file's path."""
        path = self.secret_path(key)
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        os.chmod(path + ".tmp", 0o600)
        if self.as_root:
            os.chown(path + ".tmp", pwd.getpwnam(BRIDGE_USER).pw_uid, -1)
        os.replace(path + ".tmp", path)
        return path

    def write_conf(self, overrides=None, path=None):
        """Writes xmpp-rest.conf (or another file, path) from values(overrides),
        each secret to its own file."""
        path = path or self.conf_path
        values = self.values(overrides)
        lines = ["# xmpp-rest.conf written by tools/stack.py"]
        for k, v in values.items():
            if k in SECRET_FILES:
                k, v = SECRET_FILES[k][0], self.write_secret(k, v)
            lines.append("%s %s" % (k, v))
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        if path == self.conf_path:
            self.logs_info = str(values.get("log_level", "info")) in ("info", "debug")
        # The responder (the web server's children) and the bridge both
        # read it; as root the responder may run as www-data.
        if self.as_root:
            # the bridge's own account reads it again on SIGHUP
            os.chown(path, pwd.getpwnam(BRIDGE_USER).pw_uid, web_gid())
            os.chmod(path, 0o640)
        else:
            os.chmod(path, 0o600)

    def credential_cmd(self, *args, stdin=None, check=True):
        """Runs `xmpp-restd -c CONF ARGS...` (token/password commands);
        returns the CompletedProcess (text)."""
        r = subprocess.run([self.bridge_bin, "-c", self.conf_path] + list(args),
                           input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60)
        if check and r.returncode != 0:
            raise StackError("xmpp-restd %s failed (%d): %s" % (
                " ".join(args), r.returncode, r.stderr.strip()))
        return r

    def add_token(self, name, *options):
        """A new Bearer token (printed once by `xmpp-restd token add`)."""
        return self.credential_cmd("token", "add", name, *options).stdout.strip()
