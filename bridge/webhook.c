/*
 * Delivery children.  The parent (the bridge's loop) owns every struct
 * delivery: it forks, reads the child's one result frame from a pipe,
 * reaps exits on SIGCHLD (through a self-pipe, so waitpid never blocks),
 * and kills a child that outlives its deadline.  The child inherits the
 * stanza text and URL by copy-on-write, closes every other descriptor
 * (libstrophe's socket has no FD_CLOEXEC), and leaves with _exit.
 */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
/* (for close_range and pipe2, in glibc since 2.34 and 2.9) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "sign.h"
#include "webhook.h"

#define KILL_GRACE_MS 2000 /* past callback_timeout, before SIGKILL */
#define RESULT_FD 3        /* the child's pipe, after dup2 */

struct delivery {
	char id[XR_ID_LEN + 1];
	char *url;
	char *body;
	size_t len;
	void *job;
	pid_t pid;
	int fd;
	uint8_t *buf;
	size_t blen, bcap;
	int64_t start, deadline;
	int killed;
	struct delivery *next;
};

static const struct conf *cf;
static wh_done_fn on_done;
static wh_free_fn on_free;
static struct delivery *queue_head, *queue_tail, *running;
static unsigned long nqueued, nrunning;
static int chld_pipe[2] = {-1, -1};
static struct loop_timer kill_timer;

static void start_queued(void);

unsigned long
wh_inflight(void)
{
	return nrunning;
}

static void
delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	if (d->fd >= 0) {
		loop_unwatch(d->fd);
		close(d->fd);
	}
	free(d->url);
	free(d->body);
	free(d->buf);
	free(d);
}

static void
on_sigchld(int sig)
{
	int saved = errno;

	(void)sig;
	(void)!write(chld_pipe[1], "c", 1);
	errno = saved;
}

static void
reap(int fd, short revents, void *ud)
{
	char drain[64];
	int status;

	(void)revents;
	(void)ud;
	while (read(fd, drain, sizeof(drain)) > 0)
		;
	while (waitpid(-1, &status, WNOHANG) > 0)
		;
}

/* ---- the child ---- */

static _Noreturn void
child_main(struct delivery *d)
{
	struct http_url u;
	struct http_request req;
	struct http_response r = {0};
	struct frame_out fo = {0};
	char err[XR_ERRLEN], headers[512];
	enum http_rc rc;

	frame_begin(&fo, FRAME_DELIVERY, 0);
	if (http_url_parse(d->url, &u, err, sizeof(err)) < 0) {
		frame_put_str(&fo, FIELD_OUTCOME, "unreachable");
		frame_put_str(&fo, FIELD_TEXT, err);
		goto report;
	}
	snprintf(headers, sizeof(headers),
	    "User-Agent: xmpp-rest/%s\r\nX-XMPP-Rest-Delivery: %s\r\n",
	    XR_VERSION, d->id);
	if (cf->callback_secret != NULL) {
		char ts[24], mac[SIGN_HEX_LEN + 1];
		size_t n = strlen(headers);

		snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
		if (sign_delivery(
			cf->callback_secret, ts, d->body, d->len, mac) < 0) {
			frame_put_str(&fo, FIELD_OUTCOME, "unreachable");
			frame_put_str(
			    &fo, FIELD_TEXT, "cannot sign the delivery");
			goto report;
		}
		snprintf(headers + n, sizeof(headers) - n,
		    "X-XMPP-Rest-Timestamp: %s\r\n"
		    "X-XMPP-Rest-Signature: sha256=%s\r\n",
		    ts, mac);
	}
	req.url = &u;
	req.ca_file = cf->callback_ca_file;
	req.headers = headers;
	req.content_type = "application/xmpp+xml";
	req.body = d->body;
	req.body_len = d->len;
	req.max_response_bytes = cf->callback_max_response_bytes;
	req.deadline_ms = d->start + (int64_t)cf->callback_timeout * 1000;
	rc = http_post(&req, &r, err, sizeof(err));
	if (rc == HTTP_OK) {
		frame_put_str(&fo, FIELD_OUTCOME, "response");
		frame_put_uint(&fo, FIELD_STATUS, (unsigned long)r.status);
		frame_put_str(&fo, FIELD_REASON, r.reason);
		frame_put_str(&fo, FIELD_CTYPE, r.content_type);
		if (r.retry_after > 0)
			frame_put_uint(&fo, FIELD_RETRY, r.retry_after);
		/* A body cut short, or with NUL bytes, is no stanza: drop it. */
		if (r.body != NULL && !r.body_truncated &&
		    memchr(r.body, '\0', r.body_len) == NULL)
			frame_put(&fo, FIELD_STANZA, r.body, r.body_len);
		else if (r.body != NULL)
			frame_put_str(&fo, FIELD_TRUNCATED, "1");
	} else {
		frame_put_str(&fo, FIELD_OUTCOME,
		    rc == HTTP_TIMEOUT ? "timeout" : "unreachable");
		frame_put_str(&fo, FIELD_TEXT, err);
	}
report:
	if (frame_finish(&fo, err, sizeof(err)) == 0)
		(void)xr_write_all(RESULT_FD, fo.buf, fo.len);
	_exit(0);
}

/* ---- the parent ---- */

/* Reports r for d, which is no longer queued or running, and frees it. */
static void
complete(struct delivery *d, const struct wh_result *r)
{
	int64_t took = xr_now_ms() - d->start;

	if (r->kind == WH_RESPONSE)
		log_info("delivery %s: %d %s in %lld ms", d->id, r->status,
		    r->reason, (long long)took);
	else
		log_info("delivery %s: %s (%s) in %lld ms", d->id,
		    r->kind == WH_TIMEOUT ? "timeout" : "failed", r->error,
		    (long long)took);
	on_done(d->job, d->id, r);
	on_free(d->job);
	delivery_free(d);
}

static void
unlink_running(struct delivery *d)
{
	struct delivery **pp;

	for (pp = &running; *pp && *pp != d; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = d->next;
		nrunning--;
	}
}

/* The child closed its pipe: read its frame, or say why there is none. */
static void
child_done(struct delivery *d)
{
	struct wh_result r = {0};
	struct frame f = {0};
	char err[XR_ERRLEN];
	const char *outcome = NULL;
	unsigned long long status = 0, retry = 0;

	if (frame_decode(d->buf, d->blen, &f, err, sizeof(err)) > 0 &&
	    f.type == FRAME_DELIVERY)
		outcome = frame_get(&f, FIELD_OUTCOME);
	if (outcome != NULL && strcmp(outcome, "response") == 0 &&
	    xr_parse_uint(frame_get(&f, FIELD_STATUS), 100, 599, &status) ==
		0) {
		r.kind = WH_RESPONSE;
		r.status = (int)status;
		r.reason = frame_get(&f, FIELD_REASON)
		    ? frame_get(&f, FIELD_REASON)
		    : "";
		r.content_type = frame_get(&f, FIELD_CTYPE)
		    ? frame_get(&f, FIELD_CTYPE)
		    : "";
		r.body = frame_get(&f, FIELD_STANZA);
		r.body_len = r.body ? f.flen[FIELD_STANZA] : 0;
		if (frame_get(&f, FIELD_RETRY) != NULL &&
		    xr_parse_uint(frame_get(&f, FIELD_RETRY), 0,
			HTTP_RETRY_AFTER_MAX, &retry) == 0)
			r.retry_after = (unsigned long)retry;
		if (frame_get(&f, FIELD_TRUNCATED))
			log_warnx("delivery %s: answer body over "
				  "callback_max_response_bytes; ignored",
			    d->id);
	} else if (outcome != NULL && strcmp(outcome, "timeout") == 0) {
		r.kind = WH_TIMEOUT;
		r.error = frame_get(&f, FIELD_TEXT);
	} else if (outcome != NULL) {
		r.kind = WH_UNREACHABLE;
		r.error = frame_get(&f, FIELD_TEXT);
	} else if (d->killed) {
		r.kind = WH_TIMEOUT;
		r.error = "delivery process killed at its deadline";
	} else {
		r.kind = WH_UNREACHABLE;
		r.error = "delivery process ended without a result";
	}
	if (r.error == NULL)
		r.error = "unknown";
	unlink_running(d);
	complete(d, &r);
	frame_clear(&f);
	start_queued();
}

static void
child_io(int fd, short revents, void *ud)
{
	struct delivery *d = ud;

	(void)revents;
	for (;;) {
		ssize_t n;

		if (d->blen == d->bcap) {
			size_t cap = d->bcap ? d->bcap * 2 : 4096;
			uint8_t *nb;

			if (cap > XR_FRAME_HDR + XR_FRAME_MAX ||
			    (nb = realloc(d->buf, cap)) == NULL) {
				/* Not a frame we can take: end the child. */
				kill(d->pid, SIGKILL);
				d->blen = 0;
				child_done(d);
				return;
			}
			d->buf = nb;
			d->bcap = cap;
		}
		n = read(fd, d->buf + d->blen, d->bcap - d->blen);
		if (n > 0) {
			d->blen += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		child_done(d);
		return;
	}
}

static void kill_overdue(void *ud);

static void
arm_kill_timer(void)
{
	int64_t next = 0;

	for (struct delivery *d = running; d; d = d->next) {
		if (!d->killed && (next == 0 || d->deadline < next))
			next = d->deadline;
	}
	if (next > 0)
		loop_timer_arm(&kill_timer, next, kill_overdue, NULL);
}

static void
kill_overdue(void *ud)
{
	int64_t now = xr_now_ms();

	(void)ud;
	for (struct delivery *d = running; d; d = d->next) {
		if (!d->killed && d->deadline <= now) {
			log_warnx("delivery %s: child %d past its deadline; "
				  "killing it",
			    d->id, (int)d->pid);
			kill(d->pid, SIGKILL);
			d->killed = 1;
		}
	}
	arm_kill_timer();
}

static int
spawn(struct delivery *d)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_warn("delivery %s: pipe", d->id);
		return -1;
	}
	if (p[0] >= LOOP_FD_MAX) {
		log_warnx("delivery %s: descriptor %d too high", d->id, p[0]);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	d->start = xr_now_ms();
	d->deadline =
	    d->start + (int64_t)cf->callback_timeout * 1000 + KILL_GRACE_MS;
	if ((d->pid = fork()) < 0) {
		log_warn("delivery %s: fork", d->id);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (d->pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		/* A backstop: http_post keeps the deadline by itself. */
		alarm((unsigned)cf->callback_timeout + 1);
		if (p[1] != RESULT_FD) {
			if (dup2(p[1], RESULT_FD) < 0)
				_exit(1);
		} else {
			(void)fcntl(RESULT_FD, F_SETFD, 0);
		}
		close_range(RESULT_FD + 1, ~0U, 0);
		child_main(d);
	}
	close(p[1]);
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	d->fd = p[0];
	loop_watch(d->fd, POLLIN, child_io, d);
	d->next = running;
	running = d;
	nrunning++;
	return 0;
}

static void
start_queued(void)
{
	while (queue_head != NULL && nrunning < cf->callback_max_inflight) {
		struct delivery *d = queue_head;

		queue_head = d->next;
		if (queue_head == NULL)
			queue_tail = NULL;
		nqueued--;
		d->next = NULL;
		if (spawn(d) < 0) {
			struct wh_result r = {WH_UNREACHABLE, 0, "", "", NULL,
			    0, "could not start a delivery process", 0};

			d->start = xr_now_ms();
			complete(d, &r);
		}
	}
	arm_kill_timer();
}

unsigned long
wh_queued(void)
{
	return nqueued;
}

int
wh_submit(const char *url, const char *id, char *body, size_t len, void *job)
{
	struct delivery *d;

	if (nrunning >= cf->callback_max_inflight &&
	    nqueued >= cf->callback_queue_max) {
		free(body);
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->url = strdup(url)) == NULL ||
	    (id != NULL ? xr_strlcpy(d->id, id, sizeof(d->id)) >= sizeof(d->id)
			: xr_random_id(d->id) < 0)) {
		if (d)
			free(d->url);
		free(d);
		free(body);
		return -1;
	}
	d->fd = -1;
	d->body = body;
	d->len = len;
	d->job = job;
	if (queue_tail)
		queue_tail->next = d;
	else
		queue_head = d;
	queue_tail = d;
	nqueued++;
	start_queued();
	return 0;
}

int
wh_init(const struct conf *c, wh_done_fn done, wh_free_fn free_job, char *err,
    size_t errlen)
{
	struct sigaction sa;

	cf = c;
	on_done = done;
	on_free = free_job;
	if (pipe2(chld_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) < 0) {
		snprintf(err, errlen, "sigaction: %s", strerror(errno));
		return -1;
	}
	loop_watch(chld_pipe[0], POLLIN, reap, NULL);
	return 0;
}

void
wh_shutdown(void)
{
	struct delivery *d;

	while ((d = running) != NULL) {
		running = d->next;
		kill(d->pid, SIGKILL);
		(void)waitpid(d->pid, NULL, 0);
		on_free(d->job);
		delivery_free(d);
	}
	while ((d = queue_head) != NULL) {
		queue_head = d->next;
		on_free(d->job);
		delivery_free(d);
	}
	queue_tail = NULL;
	nrunning = nqueued = 0;
	loop_timer_cancel(&kill_timer);
	if (chld_pipe[0] >= 0) {
		loop_unwatch(chld_pipe[0]);
		close(chld_pipe[0]);
		close(chld_pipe[1]);
		chld_pipe[0] = chld_pipe[1] = -1;
	}
}
