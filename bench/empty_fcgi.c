/*
 * empty-fcgi: the "empty FastCGI responder" ceiling of bench/run.py.
 *
 * It stands in xmpp-rest.fcgi's place (tools/web.py copies it there), so
 * lighttpd starts it the same way: the listening socket on descriptor 0,
 * max-procs processes.  Each request's body is read and thrown away and
 * the answer is a fixed 202, so what remains is the cost of the HTTP and
 * FastCGI path alone.  Like cgi/main.c it serves with a few threads, each
 * in its own FCGX_Accept_r().
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define EMPTY_THREADS 16 /* responder_threads' default */

static void *
worker(void *arg)
{
	FCGX_Request req;
	char buf[4096];

	(void)arg;
	if (FCGX_InitRequest(&req, 0, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&req) >= 0) {
		while (FCGX_GetStr(buf, (int)sizeof(buf), req.in) > 0)
			;
		FCGX_PutS("Status: 202 Accepted\r\n"
			  "Content-Type: text/plain\r\n\r\n"
			  "accepted\n",
		    req.out);
		/* As xmpp-rest.fcgi does (cgi/main.c): the input was read to
		 * its end, so close without libfcgi's drain-and-wait. */
		if (FCGX_HasSeenEOF(req.in) == EOF)
			(void)FCGX_Detach(&req);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

int
main(void)
{
	pthread_t tids[EMPTY_THREADS];
	sigset_t stop;
	int sig, n = 0;

	if (FCGX_IsCGI()) {
		fprintf(stderr, "empty-fcgi: run me as a FastCGI responder\n");
		return 1;
	}
	if (FCGX_Init() != 0)
		return 1;
	/*
	 * libfcgi's SIGTERM handler only sets a flag that a thread asleep in
	 * accept() never sees (see cgi/main.c): block the signals in every
	 * thread and wait for them here.  There is no state to save, so on
	 * SIGTERM we simply exit.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (n < EMPTY_THREADS &&
	    pthread_create(&tids[n], NULL, worker, NULL) == 0)
		n++;
	if (n == 0)
		return 1;
	sigwait(&stop, &sig);
	return 0;
}
