/*
 * libstrophe 0.12.2 writes its send queue before it reads the socket, and
 * a failed write closes the connection without reading what is already
 * there (bridge/xmpp.c, spare_fd).  A server that closes the stream for
 * a stanza writes its stream error, then resets the connection: with a
 * stanza of ours waiting to go out, or one it is still taking in, the
 * session must still report that stream error, or the bridge cannot tell
 * which stanza was to blame.
 *
 * The server end here is this test's own socket, scripted to the byte
 * (the XEP-0114 handshake, then the error, then a reset with SO_LINGER 0),
 * because only a script can put the reset exactly before our write.  The
 * same sequence with a real Prosody is the fault check "a stanza the XMPP
 * server closes the stream for"; there the timing decides whether a run
 * meets it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "loop.h"
#include "t.h"
#include "util.h"
#include "xmpp.h"

#define DOMAIN "rest.localhost"

static int went_up, went_down, down_blames;
static char down_error[64];
static char seen[8192]; /* what the server's end has read */
static size_t seen_len;
static struct loop *lp;
static struct xsess *xs;

static void
on_up(void *ud)
{
	(void)ud;
	went_up = 1;
}

static void
on_down(const char *why, const char *stream_error, int blames, void *ud)
{
	(void)why;
	(void)ud;
	went_down = 1;
	down_blames = blames;
	snprintf(down_error, sizeof(down_error), "%s",
	    stream_error ? stream_error : "(none)");
}

static void
on_stanza(xmpp_stanza_t *st, void *ud)
{
	(void)st;
	(void)ud;
}

/* Turns the bridge's side until done is set or 5 s have passed. */
static void
turn_until(const int *done)
{
	int64_t deadline = xr_now_ms() + 5000;

	while (!*done && xr_now_ms() < deadline) {
		loop_run_once(lp, 10);
		xsess_pump(xs);
	}
}

/* Turns the bridge's side until the peer has read needle (5 s at most);
 * 1 if it did.  What was read is kept across calls in seen (up to its
 * size: the big stanza's tail is not needed). */
static int
peer_reads(int peer, const char *needle)
{
	int64_t deadline = xr_now_ms() + 5000;

	while (xr_now_ms() < deadline) {
		struct pollfd p = {.fd = peer, .events = POLLIN};
		ssize_t r;

		if (strstr(seen, needle) != NULL)
			return 1;
		loop_run_once(lp, 10);
		xsess_pump(xs);
		if (poll(&p, 1, 0) != 1 ||
		    (r = recv(peer, seen + seen_len,
			 sizeof(seen) - 1 - seen_len, 0)) <= 0)
			continue;
		seen_len += (size_t)r;
		seen[seen_len] = '\0';
	}
	return 0;
}

/* The scripted server's part; a failure is the test's own, not a check. */
static void
peer_says(int peer, const char *text)
{
	if (send(peer, text, strlen(text), 0) != (ssize_t)strlen(text)) {
		perror("the scripted server's send");
		exit(1);
	}
}

/* Accepts the session's connection and answers the XEP-0114 handshake;
 * the server's end, or -1. */
static int
handshake(int lfd)
{
	int peer;

	went_up = 0;
	seen_len = 0;
	seen[0] = '\0';
	for (int64_t t = xr_now_ms() + 5000; xr_now_ms() < t;) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};

		if (poll(&p, 1, 0) == 1)
			break;
		/* the session connects, after its back-off */
		loop_run_once(lp, 10);
		xsess_pump(xs);
	}
	if ((peer = accept(lfd, NULL, NULL)) < 0)
		return -1;
	T_OK(peer_reads(peer, "jabber:component:accept"),
	    "the session opens a component stream");
	peer_says(peer,
	    "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:component:accept' "
	    "xmlns:stream='http://etherx.jabber.org/streams' from='" DOMAIN
	    "' id='rf1'>");
	T_OK(peer_reads(peer, "</handshake>"), "it sends its handshake");
	peer_says(peer, "<handshake/>");
	turn_until(&went_up);
	T_OK(went_up, "the session is up after the handshake");
	return peer;
}

/* The server blames what it read: its stream error, then a reset. */
static void
blame_and_reset(int peer)
{
	struct linger reset = {.l_onoff = 1, .l_linger = 0};
	struct timespec settle = {0, 50 * 1000 * 1000};

	went_down = 0;
	peer_says(peer,
	    "<stream:error><not-well-formed "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
	nanosleep(&settle, NULL); /* the error in our buffer before the reset */
	(void)setsockopt(peer, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
	close(peer);
	nanosleep(&settle, NULL);
}

static void
expect_blamed(const char *when)
{
	char what[200];

	turn_until(&went_down);
	snprintf(what, sizeof(what), "%s: the session reports the break", when);
	T_OK(went_down, what);
	snprintf(what, sizeof(what),
	    "%s: the break names the stream error sent before the reset", when);
	T_EQ_STR(down_error, "not-well-formed", what);
	snprintf(
	    what, sizeof(what), "%s: that error blames what was written", when);
	T_EQ_INT(down_blames, 1, what);
}

int
main(void)
{
	static const struct xsess_cbs cbs = {on_up, on_down, on_stanza};
	static const char one[] = "<message to='a@localhost' id='one'/>";
	static const char two[] = "<message to='a@localhost' id='two'/>";
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	struct conf c;
	char err[256], jid[] = DOMAIN, server[] = "127.0.0.1", secret[] = "s";
	int lfd, peer;
	size_t biglen = 8u << 20;
	char *big = malloc(biglen);

	log_init("test_senderror", 0, LOG_LVL_ERROR);
	memset(&c, 0, sizeof(c));
	c.jid = jid;
	c.server = server;
	c.secret = secret;
	c.reconnect_min = c.reconnect_max = 1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (big == NULL || lfd < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
		perror("listen on 127.0.0.1");
		return 1;
	}
	c.port = ntohs(a.sin_port);
	if ((lp = loop_new(NULL)) == NULL ||
	    (xs = xsess_new(lp, &c, &cbs, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}

	/* A stanza queued after the reset came in: written before the read. */
	if ((peer = handshake(lfd)) < 0)
		return 1;
	T_EQ_INT(
	    xsess_send_raw(xs, one, sizeof(one) - 1), 0, "a stanza is queued");
	T_OK(peer_reads(peer, "id='one'"), "the server reads it");
	blame_and_reset(peer);
	T_EQ_INT(xsess_send_raw(xs, two, sizeof(two) - 1), 0,
	    "a second stanza is queued before the break is read");
	expect_blamed("a write after the reset");

	/* A stanza too big for the socket's buffers: the server stops
	 * reading it, blames it and resets while we still write it. */
	if ((peer = handshake(lfd)) < 0)
		return 1;
	memset(big, ' ', biglen);
	memcpy(big, "<message id='big'>", 18);
	memcpy(big + biglen - 10, "</message>", 10);
	T_EQ_INT(xsess_send_raw(xs, big, biglen), 0, "a big stanza is queued");
	T_OK(peer_reads(peer, "id='big'"), "the server reads its start");
	blame_and_reset(peer);
	expect_blamed("a write cut short by the reset");

	xsess_free(xs);
	loop_free(lp);
	free(big);
	close(lfd);
	return t_done();
}
