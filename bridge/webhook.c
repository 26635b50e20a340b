/*
 * Delivery workers.  The parent (the bridge's loop) owns every struct
 * delivery and struct worker: it forks a worker when a delivery finds no
 * idle one (at most callback_max_inflight of them), writes it one job
 * frame over a socketpair, reads its one result frame back, reaps exits
 * on SIGCHLD (through a self-pipe, so waitpid never blocks), SIGKILLs a
 * worker that outlives its delivery's deadline, and closes the socket of
 * a worker idle for WORKER_IDLE_MS, which then exits.  A worker closes
 * every other descriptor at once (libstrophe's socket has no
 * FD_CLOEXEC) and then runs wh_worker.c: one delivery at a time with a
 * kept HTTP connection, never touching libstrophe.
 *
 * Why a pool and not a fork per delivery: the fork (copying the bridge's
 * page tables), the child's exit and its reaping were most of what a
 * delivery cost the bridge, and a new TCP (or TLS) connection per
 * delivery most of what it cost the webhook.
 *
 * Configuration reloads: every setting a delivery uses (the secret, the
 * deadline, the CA file, the response cap) travels in its job frame, read
 * from the live struct conf when the delivery starts, so a SIGHUP takes
 * effect with the next delivery and no worker needs to be retired.  The
 * other way (retiring workers on reload) would throw away every kept
 * connection and race with the deliveries in flight.  A kept connection
 * is used again only for the same scheme, host, port and CA file.
 */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
/* (for close_range, in glibc since 2.34) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame_reader.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "webhook.h"
#include "wh_settings.h"
#include "wh_worker.h"
#include "worker_proto.h"

#define KILL_GRACE_MS 2000   /* past callback_timeout, before SIGKILL */
#define WORKER_IDLE_MS 30000 /* an idle worker is let go after this */
#define JOB_FD 3             /* the worker's socket, after dup2 */

struct delivery {
	char id[XR_ID_LEN + 1];
	char *url;
	char *body;
	size_t len;
	void *job;
	int64_t start, deadline;    /* deadline: when the worker is killed */
	TAILQ_ENTRY(delivery) link; /* in the pool's queue, while queued */
};

struct worker {
	pid_t pid;
	int fd;                 /* our end of the socketpair, non-blocking */
	struct delivery *d;     /* the delivery it runs; NULL when idle */
	struct frame_out fo;    /* the job frame, until written */
	size_t sent;            /* bytes of fo written */
	struct frame_reader in; /* the result frame as it comes */
	int killed;             /* SIGKILLed at d's deadline */
	int reaped;             /* waitpid returned it: its pid may be reused */
	int64_t idle_from;      /* when it last finished a delivery */
	struct wh_pool *p;
	LIST_ENTRY(worker) link; /* in workers, or exiting once let go */
};

struct wh_pool {
	struct loop *lp;
	struct wh_settings set;
	wh_done_fn on_done;
	wh_free_fn on_free;
	/* cppcheck sees the lists' members used only through the macros. */
	/* cppcheck-suppress unusedStructMember */
	TAILQ_HEAD(, delivery) queue;
	/* cppcheck-suppress unusedStructMember */
	LIST_HEAD(, worker) workers;
	/* Let go but not yet reaped: so that wh_free can reap them too. */
	/* cppcheck-suppress unusedStructMember */
	LIST_HEAD(, worker) exiting;
	unsigned long nqueued, nbusy, nworkers;
	int chld_pipe[2];
	struct loop_timer kill_timer, idle_timer, start_timer;
};

/* SIGCHLD is the process's: the write end of the one pool's self-pipe. */
static int sigchld_fd = -1;

static void start_queued(struct wh_pool *p);

unsigned long
wh_inflight(const struct wh_pool *p)
{
	return p != NULL ? p->nbusy : 0;
}

unsigned long
wh_queued(const struct wh_pool *p)
{
	return p != NULL ? p->nqueued : 0;
}

static void
delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	free(d->url);
	free(d->body);
	free(d);
}

static void
on_sigchld(int sig)
{
	int saved = errno;

	(void)sig;
	(void)!write(sigchld_fd, "c", 1);
	errno = saved;
}

/* Notes that pid was reaped, and frees it if it was already let go. */
static void
reaped(struct wh_pool *p, pid_t pid)
{
	struct worker *w;

	LIST_FOREACH(w, &p->workers, link) {
		if (w->pid == pid) {
			w->reaped = 1;
			return;
		}
	}
	LIST_FOREACH(w, &p->exiting, link) {
		if (w->pid == pid) {
			LIST_REMOVE(w, link);
			free(w);
			return;
		}
	}
}

static void
reap(int fd, short revents, void *ud)
{
	char drain[64];
	int status;
	pid_t pid;

	(void)revents;
	while (read(fd, drain, sizeof(drain)) > 0)
		;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		reaped(ud, pid);
}

/* Reports r for d, which is no longer queued or running, and frees it. */
static void
complete(struct wh_pool *p, struct delivery *d, const struct wh_result *r)
{
	int64_t took = xr_now_ms() - d->start;

	if (r->kind == WH_RESPONSE)
		log_info("delivery %s: %d %s in %lld ms", d->id, r->status,
		    r->reason, (long long)took);
	else
		log_info("delivery %s: %s (%s) in %lld ms", d->id,
		    r->kind == WH_TIMEOUT       ? "timeout"
			: r->kind == WH_REFUSED ? "refused"
						: "failed",
		    r->error, (long long)took);
	p->on_done(d->job, d->id, r);
	p->on_free(d->job);
	delivery_free(d);
}

static void
complete_error(
    struct wh_pool *p, struct delivery *d, enum wh_kind kind, const char *why)
{
	struct wh_result r = {kind, 0, "", "", NULL, 0, why, 0};

	complete(p, d, &r);
}

/*
 * Unlinks w and closes its socket, which tells a live worker to exit;
 * w itself waits in the p->exiting list until it is reaped.
 */
static void
worker_release(struct worker *w)
{
	struct wh_pool *p = w->p;

	LIST_REMOVE(w, link);
	p->nworkers--;
	if (w->fd >= 0) {
		loop_unwatch(p->lp, w->fd);
		close(w->fd);
		w->fd = -1;
	}
	frame_out_free(&w->fo);
	fr_free(&w->in);
	w->d = NULL;
	if (w->reaped) {
		free(w);
		return;
	}
	LIST_INSERT_HEAD(&p->exiting, w, link);
}

/*
 * The worker is gone or no longer to be trusted: kill it (a no-op when it
 * has exited), report its delivery if it had one, and let it go.  The
 * caller then starts what waits.
 */
static void
worker_lost(struct worker *w, const char *why)
{
	struct wh_pool *p = w->p;
	struct delivery *d = w->d;
	int killed = w->killed;

	/* Not reaped, so the pid is still the worker's (or its zombie's). */
	if (!w->reaped)
		kill(w->pid, SIGKILL);
	if (d != NULL)
		p->nbusy--;
	worker_release(w);
	if (d != NULL) {
		if (killed)
			complete_error(p, d, WH_TIMEOUT,
			    "delivery process killed at its deadline");
		else
			complete_error(p, d, WH_UNREACHABLE, why);
	}
}

/* The decoded result frame f for w's delivery. */
static void
worker_result(struct worker *w, const struct frame *f)
{
	struct wh_pool *p = w->p;
	struct delivery *d = w->d;
	struct wh_result r;

	if (wp_read_result(f, &r))
		log_warnx("delivery %s: answer body over "
			  "callback_max_response_bytes; ignored",
		    d->id);
	/* w is idle again before done runs: done may submit at once. */
	w->d = NULL;
	w->idle_from = xr_now_ms();
	p->nbusy--;
	/* After a reload that lowered callback_max_inflight. */
	if (p->nworkers > p->set.max_inflight)
		worker_release(w);
	complete(p, d, &r);
}

static void arm_idle_timer(struct wh_pool *p);

/* Writes what is left of w's job frame; -1 when the worker is lost. */
static int
worker_flush(struct worker *w)
{
	while (w->sent < w->fo.b.len) {
		ssize_t n = send(w->fd, w->fo.b.data + w->sent,
		    w->fo.b.len - w->sent, MSG_NOSIGNAL);

		if (n > 0) {
			w->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			loop_set_events(w->p->lp, w->fd, POLLIN | POLLOUT);
			return 0;
		}
		return -1;
	}
	frame_out_free(&w->fo);
	memset(&w->fo, 0, sizeof(w->fo));
	w->sent = 0;
	loop_set_events(w->p->lp, w->fd, POLLIN);
	return 0;
}

/* Reads what w sent: NULL, or why w is to be dropped. */
static const char *
worker_read(struct worker *w)
{
	for (;;) {
		ssize_t n = fr_read(&w->in, w->fd, NULL);

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return NULL;
		/* Not a frame we can take: end the worker. */
		if (n < 0 && (errno == EMSGSIZE || errno == ENOMEM))
			return "delivery process sent an oversized result";
		/* The end, or an error: whatever came is all there is. */
		return "delivery process ended without a result";
	}
}

static void
worker_io(int fd, short revents, void *ud)
{
	struct worker *w = ud;
	struct wh_pool *p = w->p; /* w may be gone by the end */
	struct frame f = {0};
	char err[XR_ERRLEN];
	const char *lost = NULL;
	enum fr_rc rc = FR_MORE;

	(void)fd;
	if ((revents & POLLOUT) && w->fo.b.len > 0 && worker_flush(w) < 0)
		lost = "delivery process ended without a result";
	else if (revents & (POLLIN | POLLHUP | POLLERR))
		lost = worker_read(w);
	if (lost == NULL &&
	    (rc = fr_next(&w->in, &f, err, sizeof(err))) != FR_MORE) {
		/* One frame per job, nothing unasked: else it is broken. */
		if (rc != FR_FRAME || fr_pending(&w->in) != 0 || w->d == NULL ||
		    f.type != FRAME_DELIVERY)
			lost = "delivery process sent a bad result";
		else
			worker_result(w, &f);
		frame_clear(&f);
	}
	if (lost != NULL)
		worker_lost(w, lost);
	start_queued(p);
}

static void kill_overdue(void *ud);

static void
arm_kill_timer(struct wh_pool *p)
{
	const struct worker *w;
	int64_t next = 0;

	LIST_FOREACH(w, &p->workers, link) {
		if (w->d != NULL && !w->killed &&
		    (next == 0 || w->d->deadline < next))
			next = w->d->deadline;
	}
	if (next > 0)
		loop_timer_arm(p->lp, &p->kill_timer, next, kill_overdue, p);
	else
		loop_timer_cancel(&p->kill_timer);
}

static void
kill_overdue(void *ud)
{
	struct worker *w;
	struct wh_pool *p = ud;
	int64_t now = xr_now_ms();

	LIST_FOREACH(w, &p->workers, link) {
		if (w->d != NULL && !w->killed && !w->reaped &&
		    w->d->deadline <= now) {
			log_warnx("delivery %s: worker %d past its deadline; "
				  "killing it",
			    w->d->id, (int)w->pid);
			kill(w->pid, SIGKILL);
			w->killed = 1;
		}
	}
	arm_kill_timer(p);
}

static void
retire_idle(void *ud)
{
	struct wh_pool *p = ud;
	int64_t now = xr_now_ms();
	struct worker *w, *next;

	for (w = LIST_FIRST(&p->workers); w != NULL; w = next) {
		next = LIST_NEXT(w, link);
		/* Closing its socket is what tells it to exit. */
		if (w->d == NULL && now - w->idle_from >= WORKER_IDLE_MS)
			worker_release(w);
	}
	arm_idle_timer(p);
}

static void
arm_idle_timer(struct wh_pool *p)
{
	const struct worker *w;
	int64_t next = 0;

	LIST_FOREACH(w, &p->workers, link) {
		if (w->d == NULL && (next == 0 || w->idle_from < next))
			next = w->idle_from;
	}
	if (next > 0)
		loop_timer_arm(p->lp, &p->idle_timer, next + WORKER_IDLE_MS,
		    retire_idle, p);
	else
		loop_timer_cancel(&p->idle_timer);
}

/* Forks a new idle worker; NULL when that fails (logged). */
static struct worker *
worker_spawn(struct wh_pool *p)
{
	struct worker *w;
	int sp[2];

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warnx("delivery worker: out of memory");
		return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		log_warn("delivery worker: socketpair");
		free(w);
		return NULL;
	}
	if (sp[0] >= LOOP_FD_MAX) {
		log_warnx("delivery worker: descriptor %d too high", sp[0]);
		goto fail;
	}
	if ((w->pid = fork()) < 0) {
		log_warn("delivery worker: fork");
		goto fail;
	}
	if (w->pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		/* A reload is the bridge's business. */
		signal(SIGHUP, SIG_IGN);
		if (sp[1] != JOB_FD) {
			if (dup2(sp[1], JOB_FD) < 0)
				_exit(1);
		} else {
			(void)fcntl(JOB_FD, F_SETFD, 0);
		}
		close_range(JOB_FD + 1, ~0U, 0);
		wh_worker_run(JOB_FD);
	}
	close(sp[1]);
	(void)fcntl(sp[0], F_SETFL, O_NONBLOCK);
	w->fd = sp[0];
	w->p = p;
	fr_init(&w->in, XR_FRAME_MAX, WORKER_FRAME_TYPES);
	w->idle_from = xr_now_ms();
	loop_watch(p->lp, w->fd, POLLIN, worker_io, w);
	LIST_INSERT_HEAD(&p->workers, w, link);
	p->nworkers++;
	return w;
fail:
	close(sp[0]);
	close(sp[1]);
	free(w);
	return NULL;
}

/*
 * Hands d to the idle worker w: 0, or -1 (d not taken) when its job frame
 * cannot be built (err says why).
 */
static int
worker_assign(struct worker *w, struct delivery *d, char *err, size_t errlen)
{
	struct wh_pool *p = w->p;

	d->start = xr_now_ms();
	d->deadline =
	    d->start + (int64_t)p->set.timeout_s * 1000 + KILL_GRACE_MS;
	frame_begin(&w->fo, FRAME_DELIVERY, 0);
	frame_put_str(&w->fo, FIELD_URL, d->url);
	frame_put_str(&w->fo, FIELD_ID, d->id);
	frame_put(&w->fo, FIELD_STANZA, d->body, d->len);
	frame_put_uint(&w->fo, FIELD_DEADLINE,
	    (unsigned long)(d->start + (int64_t)p->set.timeout_s * 1000));
	frame_put_uint(&w->fo, FIELD_MAX_BYTES, p->set.max_response_bytes);
	if (p->set.secret != NULL)
		frame_put_str(&w->fo, FIELD_SECRET, p->set.secret);
	if (p->set.ca_file != NULL)
		frame_put_str(&w->fo, FIELD_CA_FILE, p->set.ca_file);
	if (frame_finish(&w->fo, err, errlen) < 0) {
		frame_out_free(&w->fo);
		memset(&w->fo, 0, sizeof(w->fo));
		return -1;
	}
	w->sent = 0;
	w->d = d;
	w->killed = 0;
	fr_reset(&w->in);
	p->nbusy++;
	return 0;
}

static struct worker *
idle_worker(const struct wh_pool *p)
{
	struct worker *w;

	LIST_FOREACH(w, &p->workers, link) {
		if (w->d == NULL)
			return w;
	}
	return NULL;
}

static void
start_queued(struct wh_pool *p)
{
	struct delivery *d;

	while ((d = TAILQ_FIRST(&p->queue)) != NULL &&
	    p->nbusy < p->set.max_inflight) {
		struct worker *w = idle_worker(p);
		char err[XR_ERRLEN];

		TAILQ_REMOVE(&p->queue, d, link);
		p->nqueued--;
		if (w == NULL && (w = worker_spawn(p)) == NULL) {
			d->start = xr_now_ms();
			complete_error(p, d, WH_UNREACHABLE,
			    "could not start a delivery process");
			continue;
		}
		if (worker_assign(w, d, err, sizeof(err)) < 0) {
			log_warnx("delivery %s: %s", d->id, err);
			d->start = xr_now_ms();
			/* The same job would be as large next time. */
			complete_error(p, d, WH_REFUSED,
			    "delivery too large for a delivery process");
			continue;
		}
		if (worker_flush(w) < 0)
			worker_lost(
			    w, "delivery process ended without a result");
	}
	arm_kill_timer(p);
	arm_idle_timer(p);
}

static void
start_queued_cb(void *ud)
{
	start_queued(ud);
}

int
wh_submit(struct wh_pool *p, const char *url, const char *id, char *body,
    size_t len, void *job)
{
	struct delivery *d;

	if (p->nbusy >= p->set.max_inflight && p->nqueued >= p->set.queue_max) {
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
	d->body = body;
	d->len = len;
	d->job = job;
	TAILQ_INSERT_TAIL(&p->queue, d, link);
	p->nqueued++;
	start_queued(p);
	return 0;
}

struct wh_pool *
wh_new(struct loop *loop, const struct conf *c, wh_done_fn done,
    wh_free_fn free_job, char *err, size_t errlen)
{
	struct wh_pool *p;
	struct sigaction sa;

	if (sigchld_fd >= 0) {
		snprintf(err, errlen, "a delivery pool is already running");
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->lp = loop;
	TAILQ_INIT(&p->queue);
	LIST_INIT(&p->workers);
	LIST_INIT(&p->exiting);
	if (wh_settings_copy(&p->set, c) < 0) {
		snprintf(err, errlen, "out of memory");
		free(p);
		return NULL;
	}
	p->on_done = done;
	p->on_free = free_job;
	if (pipe2(p->chld_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		wh_settings_clear(&p->set);
		free(p);
		return NULL;
	}
	sigchld_fd = p->chld_pipe[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) < 0) {
		snprintf(err, errlen, "sigaction: %s", strerror(errno));
		wh_free(p);
		return NULL;
	}
	loop_watch(p->lp, p->chld_pipe[0], POLLIN, reap, p);
	return p;
}

void
wh_free(struct wh_pool *p)
{
	struct delivery *d;
	struct worker *w, *next;

	if (p == NULL)
		return;
	/* next is read before w goes: the lists are walked, not popped, so
	 * that clang's analyzer can follow them. */
	for (w = LIST_FIRST(&p->workers); w != NULL; w = next) {
		next = LIST_NEXT(w, link);
		if ((d = w->d) != NULL) {
			p->on_free(d->job);
			delivery_free(d);
		}
		worker_release(w); /* to exiting, or freed if reaped */
	}
	for (w = LIST_FIRST(&p->exiting); w != NULL; w = next) {
		next = LIST_NEXT(w, link);
		if (!w->reaped) {
			kill(w->pid, SIGKILL);
			(void)waitpid(w->pid, NULL, 0);
		}
		free(w);
	}
	while ((d = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, d, link);
		p->on_free(d->job);
		delivery_free(d);
	}
	loop_timer_cancel(&p->kill_timer);
	loop_timer_cancel(&p->idle_timer);
	loop_timer_cancel(&p->start_timer);
	loop_unwatch(p->lp, p->chld_pipe[0]);
	signal(SIGCHLD, SIG_DFL);
	sigchld_fd = -1;
	close(p->chld_pipe[0]);
	close(p->chld_pipe[1]);
	wh_settings_clear(&p->set);
	free(p);
}

int
wh_reconfigure(struct wh_pool *p, const struct conf *c)
{
	if (p == NULL)
		return 0;
	if (wh_settings_copy(&p->set, c) < 0)
		return -1;
	/* A higher callback_max_inflight lets queued deliveries start: on
	 * the loop's next turn, not inside the reload. */
	if (p->nqueued > 0)
		loop_timer_arm(
		    p->lp, &p->start_timer, xr_now_ms(), start_queued_cb, p);
	return 0;
}
