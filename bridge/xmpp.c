/*
 * The component session.  libstrophe has no public way to hand us its
 * socket, so the sockopt callback catches it; we poll it ourselves and
 * call xmpp_run_once(ctx, 0), which never blocks.  libstrophe is not
 * thread-safe: everything here runs on the loop's one thread.
 *
 * Stanzas queued in one turn of the loop are joined and handed to
 * xmpp_send_raw once, at the next xsess_pump.  libstrophe writes each
 * queued element with its own send(), and with TCP_NODELAY each became a
 * segment the server woke up for: under load one write per turn costs the
 * server (and us) a fraction of one per stanza.  Order is kept: xsess_send
 * flushes the joined text before its own stanza.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/socket.h>
#include <stdio.h>
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "deferral.h"
#include "log.h"
#include "loop.h"
#include "streamerr.h"
#include "util.h"
#include "xmpp.h"

#define STOP_GRACE_MS 2000

struct xsess {
	struct loop *lp;
	xmpp_ctx_t *ctx;
	xmpp_conn_t *conn;
	xmpp_log_t logger;
	char *jid, *server; /* what a restart alone changes: ours, copied */
	unsigned long port;
	unsigned long reconnect_min, reconnect_max; /* seconds */
	struct xsess_cbs cbs;
	void *cbs_ud;
	int xfd, watched_fd;
	int spare_fd; /* see unread_stream_error */
	int up, stopping, sm_given;
	unsigned failures;
	/* Text queued this turn, not yet given to libstrophe (see the top
	 * of the file); one byte past it is always a NUL. */
	struct buf out;
	char down_why[XR_ERRLEN];
	struct loop_timer retry_timer;
	LIST_ENTRY(xsess) live;
};

/*
 * libstrophe's sockopt callback gets the connection and no userdata, so
 * it finds its session here.
 */
static LIST_HEAD(, xsess) sessions = LIST_HEAD_INITIALIZER(sessions);

static void start_connect(void *ud);
static void xmpp_io(int fd, short revents, void *ud);

xmpp_ctx_t *
xsess_ctx(const struct xsess *xs)
{
	return xs->ctx;
}

int
xsess_is_up(const struct xsess *xs)
{
	return xs->up;
}

const char *
xsess_down_reason(const struct xsess *xs)
{
	return xs->down_why;
}

static void
strophe_log(void *ud, xmpp_log_level_t level, const char *area, const char *msg)
{
	(void)ud;
	/* libstrophe's own info is chatter at our level: keep it at debug. */
	if (level >= XMPP_LEVEL_WARN)
		log_warnx("libstrophe %s: %s", area, msg);
	else
		log_debug("libstrophe %s: %s", area, msg);
}

/*
 * libstrophe 0.12.2 formats every message, "SENT:"/"RECV:" with the
 * whole stream text among them, before the handler can drop it; only a
 * NULL handler makes it skip the work, which under load is a large share
 * of the bridge's time.  So the handler is there only while our own level is debug (checked each pump,
 * so SIGHUP changes it): libstrophe's messages are debug output, and
 * what a failed session means is logged by conn_handler.
 */
static void
strophe_log_follow_level(struct xsess *xs)
{
	xs->logger.handler =
	    log_get_level() >= LOG_LVL_DEBUG ? strophe_log : NULL;
}

/*
 * libstrophe 0.12.2 (and its master as of 2025-10) only gives a
 * connection an SM state in xmpp_connect_client; a component connection
 * then dereferences the NULL state on its first send or receive and
 * crashes.  A client connection whose connect fails at once (empty host:
 * no network traffic) does allocate one, which we hand to the component
 * connection.  Called before connecting; if the connection already owns
 * a state, the borrowed one is freed.  Every integration test that
 * sends or receives through the bridge exercises this.
 */
static void
give_component_sm_state(struct xsess *xs)
{
	xmpp_conn_t *dummy;
	xmpp_sm_state_t *sm;

	/* The connection keeps the state across reconnects: once will do. */
	if (xs->sm_given || (dummy = xmpp_conn_new(xs->ctx)) == NULL)
		return;
	xmpp_conn_set_jid(dummy, "dummy@invalid");
	(void)xmpp_connect_client(dummy, "", 1, NULL, NULL);
	sm = xmpp_conn_get_sm_state(dummy);
	xmpp_conn_release(dummy);
	if (sm != NULL && xmpp_conn_set_sm_state(xs->conn, sm) != XMPP_EOK)
		xmpp_free_sm_state(sm);
	else if (sm != NULL)
		xs->sm_given = 1;
}

/*
 * libstrophe 0.12.2's xmpp_run_once writes its send queue before it reads
 * the socket, and a failed write closes the socket at once (error
 * ECONNABORTED) without reading what is already there.  A server that
 * closes the stream for a stanza writes its stream error and resets the
 * connection (our bytes were unread), so the write that follows fails
 * and the stream error that said why, waiting in our receive buffer, is
 * never parsed: the break looked like a plain disconnect, and the stanza
 * to blame was written again (under valgrind, in every run of the fault
 * check).  We keep a second descriptor of the socket, so that after such
 * a write the bytes the server sent are still ours to read.
 * tests/unit/test_senderror pins it.
 */
static void
close_spare(struct xsess *xs)
{
	if (xs->spare_fd >= 0)
		close(xs->spare_fd);
	xs->spare_fd = -1;
}

/* The condition of a stream error among what the server sent and
 * libstrophe did not read, or NULL; drains the spare descriptor. */
static const char *
unread_stream_error(struct xsess *xs)
{
	static char tail[16384]; /* the condition returned points into it */
	size_t n = 0;
	ssize_t r;

	if (xs->spare_fd < 0)
		return NULL;
	while (n < sizeof(tail) &&
	    (r = recv(xs->spare_fd, tail + n, sizeof(tail) - n, MSG_DONTWAIT)) >
		0)
		n += (size_t)r;
	return streamerr_in_tail(tail, n);
}

static int
sockopt_cb(xmpp_conn_t *c, void *sock)
{
	int one = 1, fd = *(int *)sock;
	struct xsess *xs;

	LIST_FOREACH(xs, &sessions, live) {
		if (xs->conn != c)
			continue;
		xs->xfd = fd;
		close_spare(xs);
		xs->spare_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		/* It need not be select()able, but must not push
		 * libstrophe's next descriptor up. */
		if (xs->spare_fd >= LOOP_FD_MAX)
			close_spare(xs);
	}
	/* Stanzas are small and each one is waited for: no Nagle delay. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return xmpp_sockopt_cb_keepalive(c, sock);
}

/* Keeps the loop's view of libstrophe's socket in step with libstrophe. */
static void
watch_update(struct xsess *xs)
{
	int fd = xmpp_conn_is_disconnected(xs->conn) ? -1 : xs->xfd;
	short ev = POLLIN;

	if (fd != xs->watched_fd && xs->watched_fd >= 0)
		loop_unwatch(xs->lp, xs->watched_fd);
	xs->watched_fd = fd;
	if (fd < 0)
		return;
	if (xmpp_conn_is_connecting(xs->conn) ||
	    xmpp_conn_send_queue_len(xs->conn) > 0)
		ev |= POLLOUT;
	if (loop_watch(xs->lp, fd, ev, xmpp_io, xs) < 0)
		log_warnx("XMPP socket %d is above the select() limit", fd);
}

static void
xmpp_io(int fd, short revents, void *ud)
{
	(void)fd;
	(void)revents;
	xsess_pump(ud);
}

static void
drop_send_queue(struct xsess *xs)
{
	/* Never let libstrophe replay, after a reconnect, a stanza whose
	 * request was already answered "unavailable". */
	while (xmpp_conn_send_queue_len(xs->conn) > 0) {
		char *s = xmpp_conn_send_queue_drop_element(
		    xs->conn, XMPP_QUEUE_OLDEST);
		if (s == NULL)
			break;
		xmpp_free(xs->ctx, s);
	}
	buf_reset(&xs->out);
}

/* Gives libstrophe xml to write, and after it the whitespace that keeps
 * the server's expat from holding its longest tag back (deferral.h). */
static void
write_text(struct xsess *xs, const char *xml, size_t len)
{
	static const char spaces[] = "                                "
				     "                                ";
	size_t pad = deferral_longest_tag(xml, len);

	xmpp_send_raw(xs->conn, xml, len);
	if (pad <= DEFERRAL_SAFE_TAG)
		return;
	while (pad > 0) {
		size_t n = pad < sizeof(spaces) - 1 ? pad : sizeof(spaces) - 1;

		xmpp_send_raw(xs->conn, spaces, n);
		pad -= n;
	}
}

/* Hands the text queued this turn to libstrophe, in one piece. */
static void
flush_out(struct xsess *xs)
{
	if (xs->out.len == 0)
		return;
	if (xs->up)
		write_text(xs, (const char *)xs->out.data, xs->out.len);
	buf_reset(&xs->out);
}

static unsigned long
backoff_ms(const struct xsess *xs)
{
	unsigned long base = xs->reconnect_min * 1000UL;
	unsigned long cap = xs->reconnect_max * 1000UL;

	for (unsigned i = 0; i < xs->failures && base < cap; i++)
		base *= 2;
	if (base > cap)
		base = cap;
	/* Jitter in [base/2, base], so restarted bridges do not stampede. */
	return base / 2 + xr_random_u32() % (base / 2 + 1);
}

static void
describe_down(
    struct xsess *xs, int error, xmpp_stream_error_t *se, const char *unread)
{
	if (se != NULL && se->type == XMPP_SE_CONFLICT)
		snprintf(xs->down_why, sizeof(xs->down_why),
		    "another component is already connected as %s", xs->jid);
	else if (se != NULL && se->type == XMPP_SE_NOT_AUTHORIZED)
		snprintf(xs->down_why, sizeof(xs->down_why),
		    "the XMPP server refused the component secret for %s",
		    xs->jid);
	else if (se != NULL)
		snprintf(xs->down_why, sizeof(xs->down_why),
		    "the XMPP server closed the stream (%s%s%s)",
		    streamerr_condition(se), se->text ? ": " : "",
		    se->text ? se->text : "");
	else if (unread != NULL)
		snprintf(xs->down_why, sizeof(xs->down_why),
		    "the XMPP server closed the stream (%s, read after our "
		    "write to it failed)",
		    unread);
	else if (error != 0)
		snprintf(xs->down_why, sizeof(xs->down_why),
		    "XMPP session to %s:%lu is down: %s", xs->server, xs->port,
		    strerror(error));
	else
		snprintf(xs->down_why, sizeof(xs->down_why),
		    "XMPP session to %s:%lu is down (connection refused or "
		    "closed)",
		    xs->server, xs->port);
}

static void
conn_cb(xmpp_conn_t *c, xmpp_conn_event_t ev, int error,
    xmpp_stream_error_t *se, void *ud)
{
	struct xsess *xs = ud;
	const char *condition = NULL;

	(void)c;
	if (ev == XMPP_CONN_CONNECT) {
		xs->up = 1;
		xs->failures = 0;
		log_info("connected to %s:%lu as component %s", xs->server,
		    xs->port, xs->jid);
		if (xs->cbs.on_up)
			xs->cbs.on_up(xs->cbs_ud);
		return;
	}
	if (ev != XMPP_CONN_DISCONNECT && ev != XMPP_CONN_FAIL)
		return;
	if (se != NULL)
		condition = streamerr_condition(se);
	else if (error == ECONNABORTED)
		condition = unread_stream_error(xs);
	close_spare(xs);
	describe_down(xs, error, se, se == NULL ? condition : NULL);
	drop_send_queue(xs);
	if (xs->stopping)
		log_info("XMPP stream closed");
	else if (xs->up)
		log_warnx("%s", xs->down_why);
	else
		log_debug("%s", xs->down_why);
	xs->up = 0;
	/* Reconnect from the loop, not from inside libstrophe's callback. */
	if (!xs->stopping)
		loop_timer_arm(xs->lp, &xs->retry_timer,
		    loop_now(xs->lp) + (int64_t)backoff_ms(xs), start_connect,
		    xs);
	xs->failures++;
	if (xs->cbs.on_down)
		xs->cbs.on_down(xs->down_why, condition,
		    condition != NULL && streamerr_blames_sent(condition),
		    xs->cbs_ud);
}

static int
stanza_cb(xmpp_conn_t *c, xmpp_stanza_t *st, void *ud)
{
	struct xsess *xs = ud;

	(void)c;
	if (xs->cbs.on_stanza)
		xs->cbs.on_stanza(st, xs->cbs_ud);
	return 1; /* stay registered */
}

static void
start_connect(void *ud)
{
	struct xsess *xs = ud;

	if (!xmpp_conn_is_disconnected(xs->conn))
		return;
	give_component_sm_state(xs);
	xs->xfd = -1;
	if (xmpp_connect_component(xs->conn, xs->server,
		(unsigned short)xs->port, conn_cb, xs) != XMPP_EOK) {
		snprintf(xs->down_why, sizeof(xs->down_why),
		    "cannot connect to %s:%lu", xs->server, xs->port);
		log_debug("%s", xs->down_why);
		xs->failures++;
		loop_timer_arm(xs->lp, &xs->retry_timer,
		    loop_now(xs->lp) + (int64_t)backoff_ms(xs), start_connect,
		    xs);
		return;
	}
	watch_update(xs);
}

/* Takes the session's settings; the identity only at the start. */
static int
copy_settings(struct xsess *xs, const struct conf *c)
{
	xsess_reconfigure(xs, c);
	xs->port = c->port;
	return (xs->jid = strdup(c->jid)) == NULL ||
		(xs->server = strdup(c->server)) == NULL
	    ? -1
	    : 0;
}

struct xsess *
xsess_new(struct loop *lp, const struct conf *c,
    const struct xsess_cbs *callbacks, void *ud, char *err, size_t errlen)
{
	struct xsess *xs = calloc(1, sizeof(*xs));

	if (xs == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	xs->lp = lp;
	xs->cbs = *callbacks;
	xs->cbs_ud = ud;
	xs->xfd = xs->watched_fd = xs->spare_fd = -1;
	buf_init(&xs->out, 4096, SIZE_MAX / 2);
	snprintf(xs->down_why, sizeof(xs->down_why),
	    "connecting to the XMPP server");
	LIST_INSERT_HEAD(&sessions, xs, live);
	strophe_log_follow_level(xs);
	xmpp_initialize();
	if (copy_settings(xs, c) < 0 ||
	    (xs->ctx = xmpp_ctx_new(NULL, &xs->logger)) == NULL ||
	    (xs->conn = xmpp_conn_new(xs->ctx)) == NULL) {
		snprintf(err, errlen, "cannot create the libstrophe context");
		xsess_free(xs);
		return NULL;
	}
	xmpp_conn_set_jid(xs->conn, c->jid);
	xmpp_conn_set_pass(xs->conn, c->secret);
	xmpp_conn_set_sockopt_callback(xs->conn, sockopt_cb);
	xmpp_handler_add(xs->conn, stanza_cb, NULL, NULL, NULL, xs);
	start_connect(xs);
	return xs;
}

void
xsess_reconfigure(struct xsess *xs, const struct conf *c)
{
	xs->reconnect_min = c->reconnect_min;
	xs->reconnect_max = c->reconnect_max;
}

int
xsess_send_raw(struct xsess *xs, const char *xml, size_t len)
{
	if (!xs->up)
		return -1;
	/* Room for a NUL after the text as well: at log_level debug,
	 * libstrophe 0.12.2 logs what it sends with "%s", reading up to a
	 * NUL whatever length it was given (an ASan build caught it). */
	if (len == SIZE_MAX || buf_reserve(&xs->out, len + 1) < 0) {
		/* No room to join: keep the order, write it alone. */
		flush_out(xs);
		write_text(xs, xml, len);
		return 0;
	}
	(void)buf_append(&xs->out, xml, len);
	xs->out.data[xs->out.len] = '\0';
	return 0;
}

int
xsess_send_raw_alone(struct xsess *xs, const char *xml, size_t len)
{
	if (!xs->up)
		return -1;
	flush_out(xs);
	write_text(xs, xml, len);
	return 0;
}

int
xsess_send(struct xsess *xs, xmpp_stanza_t *st)
{
	char *text = NULL;
	size_t len = 0;

	if (!xs->up)
		return -1;
	flush_out(xs);
	/* What xmpp_send does, with the padding of write_text. */
	if (xmpp_stanza_to_text(st, &text, &len) != XMPP_EOK)
		return -1;
	write_text(xs, text, len);
	xmpp_free(xs->ctx, text);
	return 0;
}

void
xsess_pump(struct xsess *xs)
{
	strophe_log_follow_level(xs);
	flush_out(xs);
	xmpp_run_once(xs->ctx, 0);
	watch_update(xs);
}

void
xsess_reconnect(struct xsess *xs)
{
	if (!xmpp_conn_is_disconnected(xs->conn))
		xmpp_disconnect(xs->conn);
}

/* Closes the stream, giving the server STOP_GRACE_MS to see it closed. */
static void
close_stream(struct xsess *xs)
{
	int64_t deadline = xr_now_ms() + STOP_GRACE_MS;

	xs->stopping = 1;
	flush_out(xs);
	if (xmpp_conn_is_disconnected(xs->conn))
		return;
	xmpp_disconnect(xs->conn);
	while (!xmpp_conn_is_disconnected(xs->conn) && xr_now_ms() < deadline)
		xmpp_run_once(xs->ctx, 50);
}

void
xsess_free(struct xsess *xs)
{
	if (xs == NULL)
		return;
	if (xs->conn != NULL) {
		close_stream(xs);
		xmpp_conn_release(xs->conn);
	}
	loop_timer_cancel(&xs->retry_timer);
	if (xs->watched_fd >= 0)
		loop_unwatch(xs->lp, xs->watched_fd);
	close_spare(xs);
	if (xs->ctx != NULL)
		xmpp_ctx_free(xs->ctx);
	xmpp_shutdown();
	LIST_REMOVE(xs, live);
	buf_free(&xs->out);
	free(xs->jid);
	free(xs->server);
	free(xs);
}
