/*
 * xmpp-rest.fcgi: one binary for FastCGI and plain CGI.  FCGX_IsCGI()
 * tells which (under FastCGI, fd 0 is a listening socket).  libfcgi's
 * FCGX_Accept_r does not fall back to CGI by itself, so both paths are
 * ours, sharing one handler through struct io.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "conf.h"
#include "exchange.h"
#include "io.h"
#include "log.h"
#include "request.h"
#include "respond.h"
#include "stanza.h"
#include "util.h"

/*
 * One request, in three steps that each hand the next a finished value:
 * read and check it (request.c), hand it to the bridge (exchange.c),
 * answer (respond.c).  c is NULL when the configuration could not be
 * read; conf_err says why.
 */
static void
serve(struct io *io, const struct conf *c, const char *conf_err)
{
	struct request rq;
	struct exchange ex;

	request_read(io, c, conf_err, &rq);
	exchange_run(c, &rq, &ex);
	respond(io, c, &rq, &ex);
	exchange_free(&ex);
	request_free(&rq);
}

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

/*
 * A CGI program that answers early (415, 413, ...) must still read what
 * the server sends: under Apache mod_cgid stdin and stdout are one
 * socket, and exiting with unread input resets it, losing the answer.
 * Bounded, so a huge upload cannot keep us busy.
 */
#define DRAIN_MAX (16UL * 1024 * 1024)

static void
drain_stdin(void)
{
	char buf[65536];
	unsigned long total = 0;
	size_t n;

	while (total < DRAIN_MAX && (n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		total += n;
}

struct worker_args {
	const struct conf *c;
	const char *conf_err;
};

static atomic_int live_workers;

static void
wake(int sig)
{
	(void)sig;
}

/*
 * libfcgi ends a connection with shutdown(), then waits (up to 2 s) for
 * the web server to close its side and reads what is left: the graceful
 * close for a peer that may still be sending, so that a close() with
 * unread input cannot reset the connection and lose our answer.  Once the
 * request's input has been read to its end (the body, then the empty
 * FCGI_STDIN record, which comes in the same read as the body), there is
 * nothing to lose, and that wait cost a wake-up and three system calls on
 * every request (strace).  A detached request is closed with close()
 * alone (libfcgi 2.4.2: FCGX_Free passes !detached as OS_IpcClose's
 * shutdown flag); only then is it detached.
 */
static void
close_at_once_if_drained(FCGX_Request *req)
{
	/* The body was read to its Content-Length; the end-of-stream record
	 * that follows it is normally in libfcgi's buffer already. */
	if (FCGX_HasSeenEOF(req->in) != EOF && FCGX_GetChar(req->in) != EOF)
		return;
	if (FCGX_HasSeenEOF(req->in) == EOF)
		(void)FCGX_Detach(req);
}

static void *
fcgi_worker(void *arg)
{
	const struct worker_args *wa = arg;
	FCGX_Request req;
	struct io io = {fcgi_param, fcgi_read, fcgi_write, &req};

	if (FCGX_InitRequest(&req, 0, 0) == 0) {
		while (FCGX_Accept_r(&req) >= 0) {
			serve(&io, wa->c, wa->conf_err);
			close_at_once_if_drained(&req);
			FCGX_Finish_r(&req);
		}
	} else {
		log_warnx("cannot initialise a libfcgi request");
	}
	stanza_thread_done();
	atomic_fetch_sub(&live_workers, 1);
	return NULL;
}

/*
 * Serves FastCGI with n worker threads, each blocked in its own accept()
 * (safe on Linux).  The main thread only waits for SIGTERM, SIGUSR1 or
 * SIGINT (blocked everywhere else): libfcgi's own handler only sets a
 * flag, which a thread sleeping in accept() never sees, so the process
 * ignored SIGTERM (found under Apache and spawn-fcgi).  On the signal it
 * sets libfcgi's flag and interrupts every worker with SIGUSR2; a worker
 * in a request finishes it first.
 */
static void
fcgi_serve(struct worker_args *wa, unsigned long n)
{
	pthread_t *tids = calloc(n, sizeof(*tids));
	unsigned long started = 0;
	struct sigaction sa;
	sigset_t stop;

	if (tids == NULL || FCGX_Init() != 0) {
		log_warnx("cannot initialise libfcgi");
		free(tids);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake; /* no SA_RESTART: accept() returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGUSR1);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	atomic_store(&live_workers, 0);
	while (started < n) {
		atomic_fetch_add(&live_workers, 1);
		if (pthread_create(&tids[started], NULL, fcgi_worker, wa) !=
		    0) {
			atomic_fetch_sub(&live_workers, 1);
			break;
		}
		started++;
	}
	while (atomic_load(&live_workers) > 0) {
		struct timespec second = {1, 0};

		if (sigtimedwait(&stop, NULL, &second) > 0)
			break;
	}
	FCGX_ShutdownPending();
	/* Until every worker has left accept(); a busy one ends its request. */
	while (atomic_load(&live_workers) > 0) {
		struct timespec pause = {0, 50L * 1000 * 1000};

		for (unsigned long i = 0; i < started; i++)
			pthread_kill(tids[i], SIGUSR2);
		nanosleep(&pause, NULL);
	}
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
	} else if (conf_load_for(
		       &conf, path, CONF_FOR_RESPONDER, err, sizeof(err)) < 0) {
		c = NULL;
	}
	if (c != NULL)
		log_set_level((enum log_level)conf.log_level);

	if (FCGX_IsCGI()) {
		struct io io = {cgi_param, cgi_read, cgi_write, NULL};

		serve(&io, c, err);
		stanza_thread_done();
		fflush(stdout);
		drain_stdin();
	} else {
		struct worker_args wa = {c, err};

		fcgi_serve(&wa, c ? conf.responder_threads : 1);
	}
	conf_free(&conf);
	return 0;
}
