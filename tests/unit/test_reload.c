/*
 * The bridge's reload (SIGHUP): what it applies, what keeps its running
 * value (conf.c's reload column), the log line naming those that changed,
 * and a file that does not load changing nothing.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "reload.h"
#include "secrets.h"
#include "util.h"
#include "t.h"

static char path[64];

/* The file the reload reads (mode 0600: it holds an inline secret). */
static void
put_conf(const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || chmod(path, 0600) < 0) {
		perror(path);
		exit(1);
	}
	fputs(text, fp);
	fclose(fp);
}

/* What the bridge does at start: the running configuration. */
static int
start(struct conf *c, const char *text)
{
	char err[XR_ERRLEN];

	put_conf(text);
	if (conf_defaults(c) < 0)
		return -1;
	if (conf_load(c, path, err, sizeof(err)) < 0 ||
	    conf_check_bridge(c, path, err, sizeof(err)) < 0 ||
	    secrets_load(c, path, err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		return -1;
	}
	return 0;
}

/* Reloads text into live; the log it wrote goes to out. */
static int
reload(struct conf *live, const char *text, char *out, size_t outlen, char *err)
{
	char logname[] = "/tmp/xr-reload-log-XXXXXX";
	int fd = mkstemp(logname), saved = dup(2), rc;
	ssize_t n;

	put_conf(text);
	fflush(stderr);
	dup2(fd, 2);
	rc = conf_reload(live, path, err, XR_ERRLEN);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(logname);
	return rc;
}

static const char base[] = "jid a.example\nsecret first\nauth_fail_limit 5\n";

/* Every key the table keeps, changed at once: the log names each. */
static void
test_every_kept_key(const char *me)
{
	struct conf live;
	char text[2048], log[2048], want[1024], err[XR_ERRLEN];
	const char *jid;

	T_EQ_INT(start(&live, base), 0, "the bridge starts");
	jid = live.jid;
	snprintf(text, sizeof(text),
	    "jid b.example\nserver 127.0.0.2\nport 5348\nsecret second\n"
	    "socket /tmp/other.sock\nmax_clients 7\nclient_idle_timeout 9\n"
	    "max_pipelined 3\nuser %s\ngroup g\nsocket_group sg\n"
	    "allow_uids 1\nallow_gids 2\nspool_dir /tmp/spool2\n"
	    "spool_max_bytes 1000\nauth basic\n"
	    "callback_url http://127.0.0.1:9/{kind}\nauth_fail_limit 2\n"
	    "log_level info\n",
	    me);
	T_EQ_INT(reload(&live, text, log, sizeof(log), err), 0,
	    "a file changing every kept key reloads");
	snprintf(want, sizeof(want),
	    "xmpp-restd: warning: %s reloaded; these keep their running "
	    "values until a restart: jid, server, port, secret, socket, "
	    "max_clients, client_idle_timeout, max_pipelined, user, group, "
	    "socket_group, allow_uids, allow_gids, spool_dir, "
	    "spool_max_bytes, auth, callback_url (set or unset)\n",
	    path);
	T_EQ_STR(log, want, "the log names every kept key, in order");
	T_OK(live.jid == jid, "the running jid is moved, not copied");
	T_EQ_STR(live.jid, "a.example", "jid keeps its value");
	T_EQ_STR(live.secret, "first", "secret keeps its value");
	T_EQ_INT(live.port, 5347, "port keeps its value");
	T_OK(live.user == NULL && live.allow_uids == NULL,
	    "unset keys stay unset");
	T_OK(live.callback_url == NULL, "callback_url stays unset");
	T_EQ_INT(live.auth, CONF_AUTH_BEARER | CONF_AUTH_BASIC,
	    "auth keeps its value");
	T_EQ_INT(live.auth_fail_limit, 2, "auth_fail_limit is applied");
	conf_free(&live);
}

/* A set callback_url may change; only unsetting it waits. */
static void
test_callback_url(void)
{
	struct conf live;
	char text[512], log[1024], err[XR_ERRLEN];

	snprintf(text, sizeof(text), "%scallback_url http://h/a\n", base);
	T_EQ_INT(start(&live, text), 0, "a bridge with a webhook starts");
	snprintf(text, sizeof(text), "%scallback_url http://h/b\n", base);
	T_EQ_INT(reload(&live, text, log, sizeof(log), err), 0,
	    "a new callback_url reloads");
	T_EQ_STR(live.callback_url, "http://h/b", "and is applied");
	T_OK(strstr(log, "reloaded") != NULL && strstr(log, "keep") == NULL,
	    "with nothing kept");
	T_EQ_INT(reload(&live, base, log, sizeof(log), err), 0,
	    "unsetting it reloads");
	T_EQ_STR(live.callback_url, "http://h/b", "but keeps it");
	T_HAS(log, "restart: callback_url (set or unset)\n", "and says so");
	conf_free(&live);
}

static void
test_same_and_broken(void)
{
	struct conf live;
	char log[1024], want[256], err[XR_ERRLEN];

	T_EQ_INT(start(&live, base), 0, "the bridge starts");
	T_EQ_INT(reload(&live, base, log, sizeof(log), err), 0,
	    "the same file reloads");
	snprintf(want, sizeof(want), "xmpp-restd: info: %s reloaded\n", path);
	T_EQ_STR(log, want, "naming nothing kept");
	T_EQ_INT(reload(&live,
		     "jid a.example\nsecret first\nauth_fail_limit 9\n"
		     "no_such_key 1\n",
		     log, sizeof(log), err),
	    -1, "a file with an unknown key");
	T_HAS(err, ":4: unknown key 'no_such_key'", "is refused");
	T_EQ_INT(live.auth_fail_limit, 5, "and changes nothing");
	T_EQ_STR(live.secret, "first", "the secret stays");
	conf_free(&live);
}

int
main(void)
{
	const struct passwd *pw = getpwuid(geteuid());
	int fd;

	snprintf(path, sizeof(path), "/tmp/xr-reload-XXXXXX");
	if ((fd = mkstemp(path)) < 0 || pw == NULL) {
		perror("setup");
		return 1;
	}
	close(fd);
	log_init("xmpp-restd", 0, LOG_LVL_INFO);
	test_every_kept_key(pw->pw_name);
	test_callback_url();
	test_same_and_broken();
	unlink(path);
	return t_done();
}
