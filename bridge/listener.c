/*
 * The responders' socket: a struct listener owns it and every client
 * connected to it, and reports frames and closes through its callbacks.
 * Each client has an input buffer that never
 * holds more than one frame's worth (header + XR_FRAME_MAX) and an output
 * queue with a hard cap; a client that breaks the protocol is told why in
 * a "rejected" outcome and dropped.  When descriptors run out, accepting
 * pauses for a second instead of spinning (as OpenBSD slowcgi does).
 *
 * Two limits keep one responder from holding more than its share: a
 * connection with nothing in flight that has neither begun nor finished a
 * frame for client_idle_timeout is closed (so idle FastCGI processes do
 * not pin max_clients), and a SUBMIT past max_pipelined answers in flight
 * on one connection is answered "busy" at once, never read into the
 * bridge.  Refusing rather than pausing the reads keeps the answer
 * definite: a frame left unread in the socket would run out its
 * responder's deadline unseen and might then be written after the
 * responder had given up on it.
 */
/* accept4(): one call instead of accept + two fcntl per responder. */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame_reader.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define OUT_FIRST 1024
#define OUT_MAX (4UL * (XR_FRAME_HDR + XR_FRAME_MAX))
#define ACCEPT_PAUSE_MS 1000

struct client {
	int fd;
	int closing;            /* close once the output queue is empty */
	unsigned long inflight; /* frames read and not yet answered */
	int64_t active_ms;      /* a frame began, ended or was answered */
	struct frame_reader in;
	struct buf out; /* answers queued; out.data[out_off..) unwritten */
	size_t out_off;
	struct listener *l;
	LIST_ENTRY(client) link;
};

struct listener {
	struct loop *lp;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned long max_clients, nclients;
	/* cppcheck sees the list's members used only through the macros. */
	/* cppcheck-suppress unusedStructMember */
	LIST_HEAD(, client) clients;
	struct listener_cbs cbs;
	void *ud;
	struct loop_timer accept_pause;
	int64_t idle_ms;            /* 0: no idle timeout */
	unsigned long max_inflight; /* 0: no limit */
	struct loop_timer idle_timer;
};

static void client_io(int fd, short revents, void *ud);
static void idle_sweep(void *ud);

/* cl went idle (or was just accepted): make sure a sweep will see it.  A
 * sweep armed earlier only finds nothing to close yet and re-arms. */
static void
client_mark_active(struct client *cl)
{
	struct listener *l = cl->l;

	cl->active_ms = loop_now(l->lp);
	if (l->idle_ms > 0 && l->idle_timer.when == 0)
		loop_timer_arm(l->lp, &l->idle_timer,
		    cl->active_ms + l->idle_ms, idle_sweep, l);
}

unsigned long
listener_nclients(const struct listener *l)
{
	return l != NULL ? l->nclients : 0;
}

static void
client_free(struct client *cl)
{
	struct listener *l = cl->l;

	if (l->cbs.on_close)
		l->cbs.on_close(cl, l->ud);
	loop_unwatch(l->lp, cl->fd);
	close(cl->fd);
	LIST_REMOVE(cl, link);
	fr_free(&cl->in);
	buf_free(&cl->out);
	free(cl);
	l->nclients--;
}

static void
client_update_events(struct client *cl)
{
	short ev = cl->closing ? 0 : POLLIN;

	if (cl->out.len > cl->out_off)
		ev |= POLLOUT;
	loop_set_events(cl->l->lp, cl->fd, ev);
}

/* Writes what the socket takes now; 0, or -1 if cl was freed. */
static int
client_flush(struct client *cl)
{
	while (cl->out_off < cl->out.len) {
		ssize_t n = send(cl->fd, cl->out.data + cl->out_off,
		    cl->out.len - cl->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			log_debug("responder socket: %s", strerror(errno));
			client_free(cl);
			return -1;
		}
		cl->out_off += (size_t)n;
	}
	if (cl->out_off == cl->out.len) {
		cl->out_off = 0;
		buf_reset(&cl->out);
		if (cl->closing) {
			client_free(cl);
			return -1;
		}
	}
	client_update_events(cl);
	return 0;
}

void
listener_send(struct client *cl, const struct frame_out *fo)
{
	if (cl->out_off > 0 && cl->out_off == cl->out.len) {
		cl->out_off = 0;
		buf_reset(&cl->out);
	}
	if (buf_append(&cl->out, fo->b.data, fo->b.len) < 0) {
		if (errno == ENOMEM) {
			log_warnx("out of memory queueing an answer");
		} else {
			log_warnx(
			    "responder does not read its answers; dropping it");
			cl->out_off = 0;
			buf_reset(&cl->out);
		}
		cl->closing = 1;
		client_update_events(cl);
		return;
	}
	/* Every frame to a responder answers one of its frames. */
	if (cl->inflight > 0 && --cl->inflight == 0)
		client_mark_active(cl);
	client_update_events(cl);
}

void
listener_send_outcome(struct client *cl, uint32_t seq, enum outcome o,
    const char *condition, const char *text)
{
	struct frame_out fo = {0};
	char err[XR_ERRLEN];

	frame_begin(&fo, FRAME_OUTCOME, seq);
	frame_put_str(&fo, FIELD_OUTCOME, outcome_name(o));
	frame_put_str(&fo, FIELD_CONDITION, condition);
	frame_put_str(&fo, FIELD_TEXT, text);
	if (frame_finish(&fo, err, sizeof(err)) == 0)
		listener_send(cl, &fo);
	frame_out_free(&fo);
}

/* Refuses cl's stream: tell it why, then close once that is written. */
static void
client_reject(struct client *cl, uint32_t seq, const char *why)
{
	log_warnx("bad frame from a responder: %s", why);
	listener_send_outcome(cl, seq, OUTCOME_REJECTED, "bad-request", why);
	cl->closing = 1;
	fr_reset(&cl->in);
	client_update_events(cl);
}

/* One SUBMIT too many in flight on cl: answered now, never routed. */
static void
refuse_pipelined(struct client *cl, uint32_t seq)
{
	char why[XR_ERRLEN];

	snprintf(why, sizeof(why),
	    "%lu requests already in flight on this connection "
	    "(max_pipelined)",
	    cl->inflight - 1);
	log_warnx("refusing a submit (seq %lu) from a responder: %s",
	    (unsigned long)seq, why);
	listener_send_outcome(
	    cl, seq, OUTCOME_BUSY, "resource-constraint", why);
}

/* Hands one decoded frame on, or answers it here. */
static void
client_frame(struct client *cl, struct frame *f)
{
	if (f->type != FRAME_SUBMIT && f->type != FRAME_STATUS) {
		client_reject(cl, f->seq, "expected a submit or status frame");
		return;
	}
	cl->active_ms = loop_now(cl->l->lp);
	cl->inflight++;
	if (f->type == FRAME_SUBMIT && cl->l->max_inflight > 0 &&
	    cl->inflight > cl->l->max_inflight)
		refuse_pipelined(cl, f->seq);
	else
		cl->l->cbs.on_frame(cl, f, cl->l->ud);
}

/* Hands on every whole frame cl's buffer holds. */
static void
client_parse(struct client *cl)
{
	char err[XR_ERRLEN];
	int took = 0;

	while (!cl->closing) {
		struct frame f;
		enum fr_rc rc = fr_next(&cl->in, &f, err, sizeof(err));

		if (rc == FR_MORE)
			break;
		if (rc != FR_FRAME) {
			client_reject(cl, 0, err);
			return;
		}
		took = 1;
		client_frame(cl, &f);
		frame_clear(&f);
	}
	/* A frame begun must end within the idle timeout too. */
	if (took && fr_pending(&cl->in) > 0)
		cl->active_ms = loop_now(cl->l->lp);
}

static void
client_read(struct client *cl)
{
	for (;;) {
		int began = fr_pending(&cl->in) == 0, filled;
		ssize_t n = fr_read(&cl->in, cl->fd, &filled);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && (errno == ENOMEM || errno == EMSGSIZE)) {
			/* fr_next refuses an oversized frame before this */
			client_reject(cl, 0,
			    errno == ENOMEM ? "bridge out of memory"
					    : "frame too large");
			return;
		}
		if (n <= 0) {
			client_free(cl);
			return;
		}
		if (began)
			cl->active_ms =
			    loop_now(cl->l->lp); /* a frame begins */
		client_parse(cl);
		/* A short read took all there was: the loop says when there is
		 * more, which saves a recv() that would fail with EAGAIN on
		 * nearly every request. */
		if (cl->closing || !filled)
			return;
	}
}

static void
client_io(int fd, short revents, void *ud)
{
	struct client *cl = ud;

	(void)fd;
	if (revents & POLLOUT) {
		if (client_flush(cl) < 0)
			return;
	}
	if (revents & (POLLERR | POLLNVAL)) {
		client_free(cl);
		return;
	}
	if (revents & (POLLIN | POLLHUP)) {
		if (cl->closing) {
			if (revents & POLLHUP)
				client_free(cl);
			return;
		}
		client_read(cl);
	}
}

/* Closes the connections idle past client_idle_timeout; re-arms for the
 * next one due. */
static void
idle_sweep(void *ud)
{
	struct listener *l = ud;
	int64_t now = loop_now(l->lp), next = 0;
	struct client *cl, *nx;

	for (cl = LIST_FIRST(&l->clients); cl; cl = nx) {
		int64_t due = cl->active_ms + l->idle_ms;

		nx = LIST_NEXT(cl, link);
		if (cl->inflight > 0 || cl->closing)
			continue;
		if (due <= now) {
			log_info("closing a responder connection idle for %lld "
				 "s (client_idle_timeout)%s",
			    (long long)((now - cl->active_ms) / 1000),
			    fr_pending(&cl->in) > 0
				? " in the middle of a frame"
				: "");
			client_free(cl);
			continue;
		}
		if (next == 0 || due < next)
			next = due;
	}
	if (next > 0)
		loop_timer_arm(l->lp, &l->idle_timer, next, idle_sweep, l);
}

static void listener_io(int fd, short revents, void *ud);

static void
accept_resume(void *ud)
{
	struct listener *l = ud;

	loop_watch(l->lp, l->fd, POLLIN, listener_io, l);
}

/* Answers a connection we will not serve for the whole connection (seq
 * 0) and closes it; one small frame fits any socket buffer. */
static void
refuse_now(int cfd, enum outcome o, const char *condition, const char *text)
{
	struct frame_out fo = {0};
	char err[XR_ERRLEN];

	frame_begin(&fo, FRAME_OUTCOME, 0);
	frame_put_str(&fo, FIELD_OUTCOME, outcome_name(o));
	frame_put_str(&fo, FIELD_CONDITION, condition);
	frame_put_str(&fo, FIELD_TEXT, text);
	if (frame_finish(&fo, err, sizeof(err)) == 0)
		(void)send(cfd, fo.b.data, fo.b.len, MSG_NOSIGNAL);
	frame_out_free(&fo);
	close(cfd);
}

/* accept() failed: out of descriptors or memory pauses accepting. */
static void
accept_failed(struct listener *l)
{
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM) {
		log_warn("accept; pausing for %d ms", ACCEPT_PAUSE_MS);
		loop_unwatch(l->lp, l->fd);
		loop_timer_arm(l->lp, &l->accept_pause,
		    loop_now(l->lp) + ACCEPT_PAUSE_MS, accept_resume, l);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
		log_warn("accept");
	}
}

/* Serves the new connection cfd, or refuses it with the reason. */
static void
client_add(struct listener *l, int cfd)
{
	char why[XR_ERRLEN];
	struct client *cl;

	if (l->cbs.on_accept != NULL &&
	    l->cbs.on_accept(cfd, why, sizeof(why), l->ud) < 0) {
		log_warnx("refusing a responder: %s", why);
		refuse_now(cfd, OUTCOME_REJECTED, "internal-server-error", why);
		return;
	}
	if (l->nclients >= l->max_clients || cfd >= LOOP_FD_MAX ||
	    (cl = calloc(1, sizeof(*cl))) == NULL) {
		log_warnx("refusing a responder: %lu connected (max_clients)",
		    l->nclients);
		refuse_now(cfd, OUTCOME_BUSY, NULL,
		    "bridge at max_clients concurrent requests");
		return;
	}
	cl->fd = cfd;
	cl->l = l;
	fr_init(&cl->in, XR_FRAME_MAX, FRAME_TYPES_SOCKET);
	buf_init(&cl->out, OUT_FIRST, OUT_MAX);
	LIST_INSERT_HEAD(&l->clients, cl, link);
	l->nclients++;
	loop_watch(l->lp, cfd, POLLIN, client_io, cl);
	client_mark_active(cl);
}

static void
listener_io(int fd, short revents, void *ud)
{
	(void)revents;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (cfd < 0) {
			accept_failed(ud);
			return;
		}
		client_add(ud, cfd);
	}
}

/* 0 if path is free to bind (absent, or a socket nobody listens on). */
static int
claim_path(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(
		    err, errlen, "%s exists and is not a socket", sa->sun_path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen,
		    "%s: another bridge is already listening there",
		    sa->sun_path);
		return -1;
	}
	if (unlink(sa->sun_path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "removing stale %s: %s", sa->sun_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Binds and listens on l->path: 0, or -1 with err. */
static int
listener_bind(struct listener *l, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	mode_t old;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	xr_strlcpy(sa.sun_path, l->path, sizeof(sa.sun_path));
	if (claim_path(&sa, err, errlen) < 0)
		return -1;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Owner and group may connect (the web server joins the group). */
	old = umask(0117);
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		snprintf(err, errlen, "bind %s: %s", l->path, strerror(errno));
		goto fail;
	}
	umask(old);
	if (listen(l->fd, 128) < 0) {
		snprintf(
		    err, errlen, "listen %s: %s", l->path, strerror(errno));
		unlink(l->path);
		goto fail;
	}
	return 0;
fail:
	close(l->fd);
	l->fd = -1;
	return -1;
}

struct listener *
listener_new(struct loop *loop, const struct listener_settings *set,
    const struct listener_cbs *cbs, void *ud, char *err, size_t errlen)
{
	struct listener *l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->lp = loop;
	l->fd = -1;
	LIST_INIT(&l->clients);
	l->max_clients = set->max_clients;
	l->idle_ms = (int64_t)set->idle_timeout_s * 1000;
	l->max_inflight = set->max_pipelined;
	l->cbs = *cbs;
	l->ud = ud;
	if (xr_strlcpy(l->path, set->path, sizeof(l->path)) >=
	    sizeof(l->path)) {
		snprintf(err, errlen, "socket path too long: %s", set->path);
		free(l);
		return NULL;
	}
	if (listener_bind(l, err, errlen) < 0) {
		free(l);
		return NULL;
	}
	loop_watch(l->lp, l->fd, POLLIN, listener_io, l);
	return l;
}

void
listener_free(struct listener *l)
{
	struct client *cl, *next;

	if (l == NULL)
		return;
	for (cl = LIST_FIRST(&l->clients); cl != NULL; cl = next) {
		next = LIST_NEXT(cl, link);
		client_free(cl);
	}
	loop_unwatch(l->lp, l->fd);
	loop_timer_cancel(&l->accept_pause);
	loop_timer_cancel(&l->idle_timer);
	close(l->fd);
	unlink(l->path);
	free(l);
}
