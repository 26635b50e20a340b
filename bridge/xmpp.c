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

static struct loop *lp; /* the bridge's loop (its *_start) */

#define STOP_GRACE_MS 2000

static xmpp_ctx_t *ctx;
static xmpp_conn_t *conn;
static const struct conf *cf;
static struct xsess_cbs cbs;
static void *cbs_ud;
static int xfd = -1, watched_fd = -1;
static int up, stopping;
static unsigned failures;
/* Text queued this turn, not yet given to libstrophe (see the top of the
 * file); one byte past it is always a NUL. */
static struct buf out = BUF_INIT(4096, SIZE_MAX / 2);
static char down_why[XR_ERRLEN] = "connecting to the XMPP server";
static struct loop_timer retry_timer;

static void start_connect(void *ud);

xmpp_ctx_t *
xsess_ctx(void)
{
	return ctx;
}

int
xsess_is_up(void)
{
	return up;
}

const char *
xsess_down_reason(void)
{
	return down_why;
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
static xmpp_log_t strophe_logger = {NULL, NULL};

static void
strophe_log_follow_level(void)
{
	strophe_logger.handler =
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
give_component_sm_state(void)
{
	static int given;
	xmpp_conn_t *dummy;
	xmpp_sm_state_t *sm;

	/* The connection keeps the state across reconnects: once will do. */
	if (given || (dummy = xmpp_conn_new(ctx)) == NULL)
		return;
	xmpp_conn_set_jid(dummy, "dummy@invalid");
	(void)xmpp_connect_client(dummy, "", 1, NULL, NULL);
	sm = xmpp_conn_get_sm_state(dummy);
	xmpp_conn_release(dummy);
	if (sm != NULL && xmpp_conn_set_sm_state(conn, sm) != XMPP_EOK)
		xmpp_free_sm_state(sm);
	else if (sm != NULL)
		given = 1;
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
static int spare_fd = -1;

static void
close_spare(void)
{
	if (spare_fd >= 0)
		close(spare_fd);
	spare_fd = -1;
}

/* The condition of a stream error among what the server sent and
 * libstrophe did not read, or NULL; drains the spare descriptor. */
static const char *
unread_stream_error(void)
{
	static char tail[16384];
	size_t n = 0;
	ssize_t r;

	if (spare_fd < 0)
		return NULL;
	while (n < sizeof(tail) &&
	    (r = recv(spare_fd, tail + n, sizeof(tail) - n, MSG_DONTWAIT)) > 0)
		n += (size_t)r;
	return streamerr_in_tail(tail, n);
}

static int
sockopt_cb(xmpp_conn_t *c, void *sock)
{
	int one = 1;

	xfd = *(int *)sock;
	close_spare();
	spare_fd = fcntl(xfd, F_DUPFD_CLOEXEC, 0);
	if (spare_fd >= LOOP_FD_MAX) /* it need not be select()able, but */
		close_spare(); /* must not push libstrophe's next one up */
	/* Stanzas are small and each one is waited for: no Nagle delay. */
	(void)setsockopt(xfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return xmpp_sockopt_cb_keepalive(c, sock);
}

static void xmpp_io(int fd, short revents, void *ud);

/* Keeps the loop's view of libstrophe's socket in step with libstrophe. */
static void
watch_update(void)
{
	int fd = xmpp_conn_is_disconnected(conn) ? -1 : xfd;
	short ev = POLLIN;

	if (fd != watched_fd && watched_fd >= 0)
		loop_unwatch(lp, watched_fd);
	watched_fd = fd;
	if (fd < 0)
		return;
	if (xmpp_conn_is_connecting(conn) || xmpp_conn_send_queue_len(conn) > 0)
		ev |= POLLOUT;
	if (loop_watch(lp, fd, ev, xmpp_io, NULL) < 0)
		log_warnx("XMPP socket %d is above the select() limit", fd);
}

static void
xmpp_io(int fd, short revents, void *ud)
{
	(void)fd;
	(void)revents;
	(void)ud;
	xsess_pump();
}

static void
drop_send_queue(void)
{
	/* Never let libstrophe replay, after a reconnect, a stanza whose
	 * request was already answered "unavailable". */
	while (xmpp_conn_send_queue_len(conn) > 0) {
		char *s =
		    xmpp_conn_send_queue_drop_element(conn, XMPP_QUEUE_OLDEST);
		if (s == NULL)
			break;
		xmpp_free(ctx, s);
	}
	buf_reset(&out);
}

/* Gives libstrophe xml to write, and after it the whitespace that keeps
 * the server's expat from holding its longest tag back (deferral.h). */
static void
write_text(const char *xml, size_t len)
{
	static const char spaces[] = "                                "
				     "                                ";
	size_t pad = deferral_longest_tag(xml, len);

	xmpp_send_raw(conn, xml, len);
	if (pad <= DEFERRAL_SAFE_TAG)
		return;
	while (pad > 0) {
		size_t n = pad < sizeof(spaces) - 1 ? pad : sizeof(spaces) - 1;

		xmpp_send_raw(conn, spaces, n);
		pad -= n;
	}
}

/* Hands the text queued this turn to libstrophe, in one piece. */
static void
flush_out(void)
{
	if (out.len == 0)
		return;
	if (up)
		write_text((const char *)out.data, out.len);
	buf_reset(&out);
}

static unsigned long
backoff_ms(void)
{
	unsigned long base = cf->reconnect_min * 1000UL;
	unsigned long cap = cf->reconnect_max * 1000UL;

	for (unsigned i = 0; i < failures && base < cap; i++)
		base *= 2;
	if (base > cap)
		base = cap;
	/* Jitter in [base/2, base], so restarted bridges do not stampede. */
	return base / 2 + xr_random_u32() % (base / 2 + 1);
}

static void
describe_down(int error, xmpp_stream_error_t *se, const char *unread)
{
	if (se != NULL && se->type == XMPP_SE_CONFLICT)
		snprintf(down_why, sizeof(down_why),
		    "another component is already connected as %s", cf->jid);
	else if (se != NULL && se->type == XMPP_SE_NOT_AUTHORIZED)
		snprintf(down_why, sizeof(down_why),
		    "the XMPP server refused the component secret for %s",
		    cf->jid);
	else if (se != NULL)
		snprintf(down_why, sizeof(down_why),
		    "the XMPP server closed the stream (%s%s%s)",
		    streamerr_condition(se), se->text ? ": " : "",
		    se->text ? se->text : "");
	else if (unread != NULL)
		snprintf(down_why, sizeof(down_why),
		    "the XMPP server closed the stream (%s, read after our "
		    "write to it failed)",
		    unread);
	else if (error != 0)
		snprintf(down_why, sizeof(down_why),
		    "XMPP session to %s:%lu is down: %s", cf->server, cf->port,
		    strerror(error));
	else
		snprintf(down_why, sizeof(down_why),
		    "XMPP session to %s:%lu is down (connection refused or "
		    "closed)",
		    cf->server, cf->port);
}

static void
conn_cb(xmpp_conn_t *c, xmpp_conn_event_t ev, int error,
    xmpp_stream_error_t *se, void *ud)
{
	const char *condition = NULL;

	(void)c;
	(void)ud;
	if (ev == XMPP_CONN_CONNECT) {
		up = 1;
		failures = 0;
		log_info("connected to %s:%lu as component %s", cf->server,
		    cf->port, cf->jid);
		if (cbs.on_up)
			cbs.on_up(cbs_ud);
		return;
	}
	if (ev != XMPP_CONN_DISCONNECT && ev != XMPP_CONN_FAIL)
		return;
	if (se != NULL)
		condition = streamerr_condition(se);
	else if (error == ECONNABORTED)
		condition = unread_stream_error();
	close_spare();
	describe_down(error, se, se == NULL ? condition : NULL);
	drop_send_queue();
	if (stopping)
		log_info("XMPP stream closed");
	else if (up)
		log_warnx("%s", down_why);
	else
		log_debug("%s", down_why);
	up = 0;
	/* Reconnect from the loop, not from inside libstrophe's callback. */
	loop_timer_arm(lp, &retry_timer, xr_now_ms() + (int64_t)backoff_ms(),
	    start_connect, NULL);
	failures++;
	if (cbs.on_down)
		cbs.on_down(down_why, condition,
		    condition != NULL && streamerr_blames_sent(condition),
		    cbs_ud);
}

static int
stanza_cb(xmpp_conn_t *c, xmpp_stanza_t *st, void *ud)
{
	(void)c;
	(void)ud;
	if (cbs.on_stanza)
		cbs.on_stanza(st, cbs_ud);
	return 1; /* stay registered */
}

static void
start_connect(void *ud)
{
	(void)ud;
	if (!xmpp_conn_is_disconnected(conn))
		return;
	give_component_sm_state();
	xfd = -1;
	if (xmpp_connect_component(conn, cf->server, (unsigned short)cf->port,
		conn_cb, NULL) != XMPP_EOK) {
		snprintf(down_why, sizeof(down_why), "cannot connect to %s:%lu",
		    cf->server, cf->port);
		log_debug("%s", down_why);
		failures++;
		loop_timer_arm(lp, &retry_timer,
		    xr_now_ms() + (int64_t)backoff_ms(), start_connect, NULL);
		return;
	}
	watch_update();
}

int
xsess_start(struct loop *loop, const struct conf *c,
    const struct xsess_cbs *callbacks, void *ud, char *err, size_t errlen)
{
	lp = loop;
	cf = c;
	cbs = *callbacks;
	cbs_ud = ud;
	strophe_log_follow_level();
	xmpp_initialize();
	if ((ctx = xmpp_ctx_new(NULL, &strophe_logger)) == NULL ||
	    (conn = xmpp_conn_new(ctx)) == NULL) {
		snprintf(err, errlen, "cannot create the libstrophe context");
		return -1;
	}
	xmpp_conn_set_jid(conn, c->jid);
	xmpp_conn_set_pass(conn, c->secret);
	xmpp_conn_set_sockopt_callback(conn, sockopt_cb);
	xmpp_handler_add(conn, stanza_cb, NULL, NULL, NULL, NULL);
	start_connect(NULL);
	return 0;
}

int
xsess_send_raw(const char *xml, size_t len)
{
	if (!up)
		return -1;
	/* Room for a NUL after the text as well: at log_level debug,
	 * libstrophe 0.12.2 logs what it sends with "%s", reading up to a
	 * NUL whatever length it was given (an ASan build caught it). */
	if (len == SIZE_MAX || buf_reserve(&out, len + 1) < 0) {
		/* No room to join: keep the order, write it alone. */
		flush_out();
		write_text(xml, len);
		return 0;
	}
	(void)buf_append(&out, xml, len);
	out.data[out.len] = '\0';
	return 0;
}

int
xsess_send_raw_alone(const char *xml, size_t len)
{
	if (!up)
		return -1;
	flush_out();
	write_text(xml, len);
	return 0;
}

int
xsess_send(xmpp_stanza_t *st)
{
	char *text = NULL;
	size_t len = 0;

	if (!up)
		return -1;
	flush_out();
	/* What xmpp_send does, with the padding of write_text. */
	if (xmpp_stanza_to_text(st, &text, &len) != XMPP_EOK)
		return -1;
	write_text(text, len);
	xmpp_free(ctx, text);
	return 0;
}

void
xsess_pump(void)
{
	if (ctx == NULL)
		return;
	strophe_log_follow_level();
	flush_out();
	xmpp_run_once(ctx, 0);
	if (conn == NULL)
		return;
	watch_update();
}

void
xsess_reconnect(void)
{
	if (conn != NULL && !xmpp_conn_is_disconnected(conn))
		xmpp_disconnect(conn);
}

void
xsess_stop(void)
{
	int64_t deadline = xr_now_ms() + STOP_GRACE_MS;

	if (ctx == NULL)
		return;
	loop_timer_cancel(&retry_timer);
	stopping = 1;
	flush_out();
	if (!xmpp_conn_is_disconnected(conn)) {
		xmpp_disconnect(conn);
		while (
		    !xmpp_conn_is_disconnected(conn) && xr_now_ms() < deadline)
			xmpp_run_once(ctx, 50);
	}
	if (watched_fd >= 0)
		loop_unwatch(lp, watched_fd);
	watched_fd = -1;
	up = 0;
	xmpp_conn_release(conn);
	close_spare();
	buf_free(&out);
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	conn = NULL;
	ctx = NULL;
}
