#!/usr/bin/python3
"""The documented ways of deploying xmpp-rest behind a web server, each one
started for real from its snippet in etc/, used verbatim.

A snippet's placeholders (@LIBEXECDIR@, @CONF@, ...: each documented in the
snippet's own header) are filled in (web_base.fill); everything a real host
would already have (the server's own configuration: port, document root,
logs, the modules Debian enables by default) is a small private
configuration written next to it, on 127.0.0.1 and a free port, in a
directory of the stack's temporary directory.

A deployment has:

    name        lighttpd-fcgi, lighttpd-cgi, apache-fcgid, apache-proxy-fcgi,
                apache-cgi, nginx (DEPLOYMENTS); "lighttpd" is the stack's
                own server for `make run` and the webhook suite: both
                lighttpd snippets plus the test CGI directory /cgi/
    start(stack), stop(), alive()
    url         where the responder answers
    logs()      the files the responder's stderr (and so a sanitizer's
                report without log_path) can land in
    left_behind after stop(): responders that did not exit on SIGTERM

What is taken from a snippet besides its configuration lines: for Apache,
the modules its header says to `a2enmod` (loaded on top of Debian's
defaults, from /etc/apache2/mods-available, with their dependencies); for
nginx and mod_proxy_fcgi, the `env XMPP_REST_CONF=... spawn-fcgi ...`
command its header shows, run as it stands.

make(name, responder=None) builds one; responder replaces xmpp-rest.fcgi
(the tests put tools/web_probe.py there to see what the program is handed).

Servers run as the current user.  As root they run as root where they
allow it (lighttpd, nginx); Apache refuses, so its children run as
WEB_USER (www-data), and so does a responder that spawn-fcgi starts
(`spawn-fcgi -u root` is refused as well).  The stack then lets WEB_USER
in: the bridge runs with WEB_USER's group, the configuration is readable
by that group (tools/stack.py).

What every deployment shares (the snippets' placeholders, the processes,
class Deployment) is in tools/web_base.py; the servers are here, with
make().  Only the standard library is used.
"""

import os
import re
import shutil
import signal
import subprocess

from web_base import (REPO, SANITIZER_VARS, WEB_USER, Deployment, Proc, WebError, as_root, fill, free_port,
                      give_to_web_user, header, open_sanitizer_log_dirs, port_open, quote, read_snippet,
                      session_pids, tail, web_group_name, web_user)

# What the importers (tests/integration/run.py, bench/deploy.py,
# tools/stack.py) take from here, web_base's among them.
__all__ = ["DEPLOYMENTS", "PROBE", "SANITIZER_VARS", "WEB_USER", "WebError", "free_port", "make",
           "open_sanitizer_log_dirs", "port_open", "session_pids", "tail", "web_user"]

PROBE = os.path.join(REPO, "tools", "web_probe.py")
APACHE_MODS = "/etc/apache2/mods-available"
# What a fresh Debian 12 apache2 enables (mods-enabled after the install).
APACHE_DEFAULT_MODS = ("mpm_event", "authz_core", "authz_host", "authz_user",
                       "authn_core", "authn_file", "auth_basic", "access_compat",
                       "alias", "autoindex", "deflate", "dir", "env", "filter",
                       "mime", "negotiation", "reqtimeout", "setenvif", "status")


# -- lighttpd -----------------------------------------------------------------------

class Lighttpd(Deployment):
    program = "lighttpd"
    package = "lighttpd"

    def prepare(self):
        www = os.path.join(self.dir, "www")
        conf = [
            "# written by tools/web.py: the server's own part; the snippets follow",
            'server.modules = ( "mod_access", "mod_accesslog", "mod_setenv" )',
            'server.bind = "127.0.0.1"',
            "server.port = %d" % self.port,
            "server.document-root = %s" % quote(self.docroot(www)),
            "server.errorlog = %s" % quote(self.error_log),
            "accesslog.filename = %s" % quote(os.path.join(self.dir, "access.log")),
            "server.upload-dirs = ( %s )" % quote(os.path.join(self.dir, "tmp")),
            'index-file.names = ( "index.html" )',
            'mimetype.assign = ( ".html" => "text/html" )',
        ]
        # The tests' sanitizer settings (not part of any snippet): mod_cgi
        # passes a CGI program only the request's variables and setenv's.
        env = ", ".join('"%s" => %s' % (k, quote(os.environ[k])) for k in SANITIZER_VARS
                        if k in os.environ)
        if env:
            conf.append("setenv.add-environment = ( %s )" % env)
        conf += self.fixture()
        for fname in self.snippets:
            conf.append('include %s' % quote(self.write(fname + ".filled", fill(fname, self.values))))
        if "@CGIDIR@" in "".join(read_snippet(f) for f in self.snippets):
            # what the snippet's header says to do: the responder as xmpp-rest.cgi
            os.makedirs(self.values["CGIDIR"], exist_ok=True)
            shutil.copy(os.path.join(self.libexec, "xmpp-rest.fcgi"),
                        os.path.join(self.values["CGIDIR"], "xmpp-rest.cgi"))
        self.conf = self.write("lighttpd.conf", "\n".join(conf) + "\n")

    def docroot(self, www):
        return www

    def fixture(self):
        return []

    def launch(self):
        r = subprocess.run(["lighttpd", "-tt", "-f", self.conf], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=30)
        if r.returncode != 0:
            raise WebError("lighttpd rejects %s:\n%s" % (self.conf, r.stdout.decode("utf-8", "replace")))
        self.server = Proc("lighttpd", ["lighttpd", "-D", "-f", self.conf], self.console_log,
                           env=self.env(), cwd=self.dir)


class LighttpdFcgi(Lighttpd):
    name = "lighttpd-fcgi"
    snippets = ("lighttpd-xmpp-rest.conf",)


class LighttpdCgi(Lighttpd):
    name = "lighttpd-cgi"
    path = "/cgi-bin/xmpp-rest.cgi"
    snippets = ("lighttpd-xmpp-rest-cgi.conf",)


class LighttpdStack(Lighttpd):
    """The stack's own server (`make run`, bench/run.py, the webhook
    suite): both lighttpd snippets, FastCGI at /xmpp and CGI at
    /cgi-bin/xmpp-rest.cgi, plus the tests' CGI directory: the stack's
    www/cgi/ at /cgi/ (the webhook suite's echo bot)."""
    name = "lighttpd"
    snippets = ("lighttpd-xmpp-rest.conf", "lighttpd-xmpp-rest-cgi.conf")

    @property
    def url_cgi(self):
        return "http://127.0.0.1:%d%s" % (self.port, LighttpdCgi.path)

    def docroot(self, www):
        d = self.stack.path("www")
        os.makedirs(os.path.join(d, "cgi"), exist_ok=True)
        index = os.path.join(d, "index.html")
        if not os.path.exists(index):
            with open(index, "w") as f:
                f.write("xmpp-rest test stack\n")
        return d

    def fixture(self):
        return ['server.modules += ( "mod_cgi" )',
                '$HTTP["url"] =~ "^/cgi/" {', '    cgi.assign = ( ".cgi" => "" )', '}']


# -- Apache -------------------------------------------------------------------------

class Apache(Deployment):
    program = "/usr/sbin/apache2"
    package = "apache2"
    stop_signal = signal.SIGTERM
    modules_package = {"fcgid": "libapache2-mod-fcgid"}

    def modules(self, text):
        """The modules to load: Debian's defaults plus what the snippet's
        header says to `a2enmod`, with what those depend on."""
        wanted = []
        for m in re.findall(r"a2enmod ([a-z_0-9 ]+)`", header(text)):
            wanted += m.split()
        if not wanted:
            raise WebError("etc/%s does not say which modules to enable (`a2enmod ...`)" %
                           self.snippets[0])
        order = []

        def add(m):
            if m in order:
                return
            load = os.path.join(APACHE_MODS, m + ".load")
            try:
                with open(load) as f:
                    txt = f.read()
            except OSError:
                raise WebError("%s: Apache module %s is not installed (%s)" % (
                    self.name, m, "Debian: apt-get install " + self.modules_package.get(m, "apache2"))) \
                    from None
            for dep in re.findall(r"^# Depends: (.*)$", txt, re.M):
                for d in dep.split():
                    add(d)
            order.append(m)
        for m in APACHE_DEFAULT_MODS + tuple(wanted):
            add(m)
        return order

    def prepare(self):
        fname = self.snippets[0]
        filled = fill(fname, self.values)
        www = os.path.join(self.dir, "www")
        run = os.path.join(self.dir, "run")
        os.makedirs(os.path.join(run, "socks"), exist_ok=True)
        fcgid = os.path.join(self.dir, "fcgid")
        os.makedirs(fcgid, exist_ok=True)
        give_to_web_user(fcgid)
        mods = self.modules(filled)
        conf = [
            "# written by tools/web.py: the server's own part, as Debian's",
            "# apache2.conf has it; the snippet is included at the end",
            "ServerRoot /etc/apache2",
            "Define APACHE_RUN_DIR %s" % quote(run),
            "Define APACHE_LOCK_DIR %s" % quote(run),
            "Define APACHE_LOG_DIR %s" % quote(self.dir),
            "PidFile %s" % quote(os.path.join(run, "apache2.pid")),
            "Mutex file:%s default" % run,
            "Timeout 300",
            "KeepAlive On",
            "Listen 127.0.0.1:%d" % self.port,
            "ServerName 127.0.0.1",
            "ErrorLog %s" % quote(self.error_log),
            "LogLevel warn",
            'LogFormat "%h %l %u %t \\"%r\\" %>s %O" common',
            "CustomLog %s common" % quote(os.path.join(self.dir, "access.log")),
            "DefaultRuntimeDir %s" % quote(run),
            "HostnameLookups Off",
            "AccessFileName .htaccess",
        ]
        if as_root():
            conf += ["User %s" % WEB_USER, "Group %s" % web_group_name()]
        for m in mods:
            conf.append("Include %s" % os.path.join(APACHE_MODS, m + ".load"))
            if os.path.exists(os.path.join(APACHE_MODS, m + ".conf")):
                conf.append("Include %s" % os.path.join(APACHE_MODS, m + ".conf"))
        if "fcgid" in mods:
            conf += ["FcgidIPCDir %s" % quote(fcgid),
                     "FcgidProcessTableFile %s" % quote(os.path.join(run, "fcgid_shm"))]
        conf += [
            "<Directory />", "    Options FollowSymLinks", "    AllowOverride None",
            "    Require all denied", "</Directory>",
            '<FilesMatch "^\\.ht">', "    Require all denied", "</FilesMatch>",
            "DocumentRoot %s" % quote(www),
            "<Directory %s>" % quote(www),
            "    Options Indexes FollowSymLinks",
            "    AllowOverride %s" % self.allow_override,
            "    Require all granted",
            "</Directory>",
        ]
        # The tests' sanitizer settings (not part of any snippet): CGI
        # programs get PassEnv's variables, mod_fcgid's processes only
        # FcgidInitialEnv's.
        present = [k for k in SANITIZER_VARS if k in os.environ]
        if present:
            conf.append("PassEnv %s" % " ".join(present))
            if "fcgid" in mods:
                conf += ["FcgidInitialEnv %s %s" % (k, quote(os.environ[k])) for k in present]
        conf += self.extra(filled, www)
        if self.in_server_conf:
            conf.append("Include %s" % quote(self.write(fname + ".filled", filled)))
        self.conf = self.write("apache2.conf", "\n".join(conf) + "\n")

    allow_override = "None"
    in_server_conf = True       # the snippet goes into the server's configuration

    def extra(self, filled, www):
        return []

    def launch(self):
        env = self.env()
        env.setdefault("LANG", "C")
        r = subprocess.run([self.program, "-f", self.conf, "-t"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=30, env=env)
        if r.returncode != 0:
            raise WebError("apache2 rejects %s:\n%s" % (self.conf, r.stdout.decode("utf-8", "replace")))
        self.server = Proc("apache2", [self.program, "-f", self.conf, "-DFOREGROUND"],
                           self.console_log, env=env, cwd=self.dir)


class ApacheFcgid(Apache):
    name = "apache-fcgid"
    snippets = ("apache-xmpp-rest-fcgid.conf",)


class ApacheProxyFcgi(Apache):
    name = "apache-proxy-fcgi"
    snippets = ("apache-xmpp-rest-proxy-fcgi.conf",)

    def launch(self):
        self.start_spawn_fcgi(fill(self.snippets[0], self.values), self.snippets[0])
        super().launch()


class ApacheCgi(Apache):
    """Shared hosting: etc/htaccess next to xmpp-rest.cgi in a directory of
    the web space, which allows what the htaccess header asks for."""
    name = "apache-cgi"
    path = "/xmpp/xmpp-rest.cgi"
    snippets = ("htaccess",)
    allow_override = "Options=ExecCGI FileInfo AuthConfig"
    in_server_conf = False      # it is the .htaccess

    def extra(self, filled, www):
        d = os.path.join(www, "xmpp")
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(self.libexec, "xmpp-rest.fcgi"), os.path.join(d, "xmpp-rest.cgi"))
        with open(os.path.join(d, ".htaccess"), "w") as f:
            f.write(filled)
        return []


# -- nginx ---------------------------------------------------------------------------

class Nginx(Deployment):
    name = "nginx"
    program = "/usr/sbin/nginx"
    package = "nginx"
    snippets = ("nginx-xmpp-rest.conf",)
    stop_signal = signal.SIGQUIT

    def prepare(self):
        fname = self.snippets[0]
        filled = fill(fname, self.values)
        self.filled = filled
        tmp = os.path.join(self.dir, "tmp")
        # nginx resolves a relative include (the snippet's fastcgi_params)
        # against the directory of its configuration: /etc/nginx on Debian
        for f in ("fastcgi_params", "mime.types"):
            os.symlink(os.path.join("/etc/nginx", f), os.path.join(self.dir, f))
        conf = [
            "# written by tools/web.py: the server's own part, as Debian's",
            "# nginx.conf has it; the snippet is included in the server block",
        ]
        if as_root():
            conf.append("user root root;")
        conf += [
            "worker_processes 2;",
            "daemon off;",
            "pid %s;" % quote(os.path.join(self.dir, "run", "nginx.pid")),
            "error_log %s warn;" % quote(self.error_log),
            "events { worker_connections 768; }",
            "http {",
            "    include mime.types;",
            "    default_type application/octet-stream;",
            "    access_log %s;" % quote(os.path.join(self.dir, "access.log")),
            "    client_body_temp_path %s;" % quote(os.path.join(tmp, "body")),
            "    fastcgi_temp_path %s;" % quote(os.path.join(tmp, "fastcgi")),
            "    proxy_temp_path %s;" % quote(os.path.join(tmp, "proxy")),
            "    uwsgi_temp_path %s;" % quote(os.path.join(tmp, "uwsgi")),
            "    scgi_temp_path %s;" % quote(os.path.join(tmp, "scgi")),
            "    server {",
            "        listen 127.0.0.1:%d;" % self.port,
            "        server_name localhost;",
            "        root %s;" % quote(os.path.join(self.dir, "www")),
            "        include %s;" % quote(self.write(fname + ".filled", filled)),
            "    }",
            "}",
        ]
        self.conf = self.write("nginx.conf", "\n".join(conf) + "\n")

    def launch(self):
        self.start_spawn_fcgi(self.filled, self.snippets[0])
        argv = [self.program, "-e", self.error_log, "-p", self.dir + "/", "-c", self.conf]
        r = subprocess.run(argv + ["-t"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=30)
        if r.returncode != 0:
            raise WebError("nginx rejects %s:\n%s" % (self.conf, r.stdout.decode("utf-8", "replace")))
        self.server = Proc("nginx", argv, self.console_log, env=self.env(), cwd=self.dir)


DEPLOYMENTS = ("lighttpd-fcgi", "lighttpd-cgi", "apache-fcgid", "apache-proxy-fcgi",
               "apache-cgi", "nginx")
_CLASSES = {c.name: c for c in (LighttpdFcgi, LighttpdCgi, LighttpdStack, ApacheFcgid,
                                ApacheProxyFcgi, ApacheCgi, Nginx)}


def make(name, responder=None, label=None):
    try:
        cls = _CLASSES[name]
    except KeyError:
        raise WebError("no deployment %r (there are: %s)" % (name, ", ".join(sorted(_CLASSES)))) from None
    return cls(responder=responder, label=label)
