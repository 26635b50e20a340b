/*
 * xmpp-rest.fcgi: one binary for FastCGI and plain CGI.  FCGX_IsCGI()
 * tells which (under FastCGI, fd 0 is a listening socket).  libfcgi's
 * FCGX_Accept_r does not fall back to CGI by itself, so both paths are
 * ours, sharing one handler through struct io.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "conf.h"
#include "io.h"
#include "log.h"
#include "request.h"
#include "stanza.h"
#include "util.h"

static const char *
cgi_param(struct io *io, const char *name)
{
	(void)io;
	return getenv(name);
}

static int
cgi_read(struct io *io, char *buf, int len)
{
	size_t n;

	(void)io;
	n = fread(buf, 1, (size_t)len, stdin);
	if (n == 0 && ferror(stdin))
		return -1;
	return (int)n;
}

static int
cgi_write(struct io *io, const char *buf, int len)
{
	(void)io;
	return fwrite(buf, 1, (size_t)len, stdout) == (size_t)len ? len : -1;
}

static const char *
fcgi_param(struct io *io, const char *name)
{
	return FCGX_GetParam(name, io->req->envp);
}

static int
fcgi_read(struct io *io, char *buf, int len)
{
	return FCGX_GetStr(buf, len, io->req->in);
}

static int
fcgi_write(struct io *io, const char *buf, int len)
{
	return FCGX_PutStr(buf, len, io->req->out);
}

struct worker_args {
	const struct conf *c;
	const char *conf_err;
};

/* libfcgi's threaded example serialises accepts; some systems need it. */
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
fcgi_worker(void *arg)
{
	const struct worker_args *wa = arg;
	FCGX_Request req;
	struct io io = {fcgi_param, fcgi_read, fcgi_write, &req};

	if (FCGX_InitRequest(&req, 0, 0) != 0) {
		log_warnx("cannot initialise a libfcgi request");
		return NULL;
	}
	for (;;) {
		int rc;

		pthread_mutex_lock(&accept_lock);
		rc = FCGX_Accept_r(&req);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0)
			break;
		request_serve(&io, wa->c, wa->conf_err);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

/* Serves FastCGI with n threads (this one included) until shut down. */
static void
fcgi_serve(struct worker_args *wa, unsigned long n)
{
	pthread_t *tids = calloc(n, sizeof(*tids));
	unsigned long started = 0;

	if (FCGX_Init() != 0) {
		log_warnx("cannot initialise libfcgi");
		free(tids);
		return;
	}
	while (tids != NULL && started + 1 < n &&
	    pthread_create(&tids[started], NULL, fcgi_worker, wa) == 0)
		started++;
	fcgi_worker(wa);
	for (unsigned long i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
}

/*
 * systemd socket activation passes the listening socket as descriptor 3
 * (LISTEN_FDS=1, LISTEN_PID=us); libfcgi expects it as descriptor 0.
 * StandardInput=socket would do the same; this way either unit works.
 */
static void
adopt_systemd_socket(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	unsigned long long n, p;

	if (fds == NULL || pid == NULL || xr_parse_uint(fds, 1, 1, &n) < 0 ||
	    xr_parse_uint(pid, 1, ~0ULL, &p) < 0 ||
	    p != (unsigned long long)getpid())
		return;
	if (dup2(3, 0) == 0)
		close(3);
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
}

int
main(void)
{
	const char *path = getenv("XMPP_REST_CONF");
	struct conf conf, *c = &conf;
	char err[XR_ERRLEN * 2] = "";

	adopt_systemd_socket();
	if (path == NULL || *path == '\0')
		path = XR_CONF_DEFAULT;
	log_init("xmpp-rest.fcgi", 0, LOG_LVL_WARN);
	/* A bridge that vanishes mid-write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	stanza_global_init();
	/* Read once per process: FastCGI processes serve many requests. */
	if (conf_defaults(&conf) < 0) {
		snprintf(err, sizeof(err), "out of memory");
		c = NULL;
	} else if (conf_load(&conf, path, err, sizeof(err)) < 0) {
		c = NULL;
	}
	if (c != NULL)
		log_set_level((enum log_level)conf.log_level);

	if (FCGX_IsCGI()) {
		struct io io = {cgi_param, cgi_read, cgi_write, NULL};

		request_serve(&io, c, err);
		fflush(stdout);
	} else {
		struct worker_args wa = {c, err};

		fcgi_serve(&wa, c ? conf.responder_threads : 1);
	}
	conf_free(&conf);
	return 0;
}
