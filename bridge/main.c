/*
 * xmpp-restd: holds one XMPP component session and serves the responders
 * on a UNIX socket.  Runs in the foreground (systemd style); -n checks
 * the configuration and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "loop.h"
#include "privs.h"
#include "reload.h"
#include "route.h"
#include "secrets.h"
#include "status_cmd.h"
#include "token_cmd.h"
#include "util.h"

/* libstrophe may hold TLS bytes the loop cannot see; never sleep longer. */
#define MAX_POLL_MS 200

static volatile sig_atomic_t stop_signal, reload_signal;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_signal = 1;
	else
		stop_signal = sig;
}

/* SIGTERM: the requests in the bridge get shutdown_wait to finish; new
 * ones are refused; a second signal cuts it short. */
static void
drain(struct loop *lp, struct route *rt, const struct conf *c)
{
	int64_t deadline = xr_now_ms() + (int64_t)c->shutdown_wait * 1000;
	int first = stop_signal;

	route_drain(rt);
	stop_signal = 0;
	while (route_busy(rt) && !stop_signal && xr_now_ms() < deadline) {
		loop_run_once(lp, MAX_POLL_MS / 4);
		route_pump(rt);
	}
	if (route_busy(rt))
		log_warnx("signal %d: requests still unanswered after %lu s "
			  "(shutdown_wait)",
		    first, c->shutdown_wait);
}

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: xmpp-restd [-n] [-c file]\n"
	    "       xmpp-restd [-c file] token add NAME [--from JID-PATTERN] "
	    "[--kinds message,presence,iq] [--expires DATE]\n"
	    "       xmpp-restd [-c file] password add NAME [options as for "
	    "token add]\n"
	    "       xmpp-restd [-c file] token list | token revoke NAME\n"
	    "       xmpp-restd [-c file] status\n");
	exit(1);
}

/* Makes sure fds 0-2 are open, so no socket we open can become one. */
static void
sanitize_stdio(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/* `xmpp-restd token|password|status …`: a command, not the daemon. */
static int
run_command(const char *path, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct conf conf;
	char err[XR_ERRLEN * 2];
	int rc;

	if ((strcmp(cmd, "token") != 0 && strcmp(cmd, "password") != 0 &&
		strcmp(cmd, "status") != 0) ||
	    (strcmp(cmd, "status") == 0 && argc != 1))
		usage();
	if (conf_defaults(&conf) < 0)
		fatalx("out of memory");
	if (conf_load(&conf, path, err, sizeof(err)) < 0)
		fatalx("%s", err);
	rc = strcmp(cmd, "status") == 0 ? status_cmd(&conf)
					: token_cmd(&conf, argc, argv);
	conf_free(&conf);
	return rc;
}

static void
catch_signals(void)
{
	struct sigaction sa;

	/* A write to a vanished peer must fail, not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* The daemon, once its configuration is checked: until a signal. */
static int
run_daemon(struct conf *conf, struct privs *privs, const char *path)
{
	struct loop *lp;
	struct route *rt;
	char err[XR_ERRLEN * 2];

	log_init(
	    "xmpp-restd", conf->log_syslog, (enum log_level)conf->log_level);
	catch_signals();
	if ((lp = loop_new(NULL)) == NULL)
		fatalx("out of memory");
	if ((rt = route_new(lp, conf, privs, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (privs_drop(privs, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (privs->drop)
		log_info("running as %s (uid %lu, gid %lu)", privs->user,
		    (unsigned long)privs->uid, (unsigned long)privs->gid);
	if (route_start_auth(rt, err, sizeof(err)) < 0)
		fatalx("%s", err);
	log_info("listening on %s", conf->socket);
	while (!stop_signal) {
		loop_run_once(lp, MAX_POLL_MS);
		route_pump(rt);
		if (!reload_signal)
			continue;
		reload_signal = 0;
		if (conf_reload(conf, path, err, sizeof(err)) < 0)
			log_warnx(
			    "SIGHUP: %s; the running configuration stays", err);
		else
			route_reconfigure(rt);
	}
	log_info("signal %d: finishing the requests in hand, then stopping",
	    (int)stop_signal);
	drain(lp, rt, conf);
	route_free(rt);
	loop_free(lp);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = getenv("XMPP_REST_CONF");
	struct conf conf;
	struct privs privs;
	char err[XR_ERRLEN * 2];
	int ch, check_only = 0, rc;

	sanitize_stdio();
	if (path == NULL || *path == '\0')
		path = XR_CONF_DEFAULT;
	while ((ch = getopt(argc, argv, "+c:nhV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'V':
			printf("xmpp-restd %s\n", XR_VERSION);
			return 0;
		default:
			usage();
		}
	}
	log_init("xmpp-restd", 0, LOG_LVL_INFO);
	if (optind != argc) {
		if (check_only)
			usage();
		return run_command(path, argc - optind, argv + optind);
	}
	if (conf_defaults(&conf) < 0)
		fatalx("out of memory");
	if (conf_load(&conf, path, err, sizeof(err)) < 0 ||
	    conf_check_bridge(&conf, path, err, sizeof(err)) < 0)
		fatalx("%s", err);
	/* Who the bridge will be decides whose secret files it may trust;
	 * "refusing to run as root" says more than a file's owner would. */
	if (!check_only && privs_resolve(&conf, &privs, err, sizeof(err)) < 0)
		fatalx("%s: %s", path, err);
	if (secrets_load(&conf, path, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (check_only) {
		printf("configuration OK\n");
		conf_free(&conf);
		return 0;
	}
	rc = run_daemon(&conf, &privs, path);
	conf_free(&conf);
	return rc;
}
