/*
 * The event loop: epoll over the descriptors, which live in an array
 * indexed by fd, as in redis' ae.c; timers in a short unsorted list (a
 * handful: reconnect, accept back-off, the request sweep, the pings), so
 * finding the nearest is a plain scan.
 *
 * epoll rather than poll(): the set stays in the kernel, so a turn costs
 * what is ready, not what is open (under 64 responders, registering every
 * socket on every turn was a fifth of the bridge's time).  Level-triggered;
 * callers speak POLLIN/POLLOUT/POLLHUP/POLLERR.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "util.h"

#define EVENTS_PER_TURN 256

struct watch {
	short events;
	int registered; /* in the epoll set */
	loop_io_fn fn;
	void *ud;
};

struct loop {
	struct watch watches[LOOP_FD_MAX];
	int epfd;
	/* cppcheck sees the list's members used only through the macros. */
	/* cppcheck-suppress unusedStructMember */
	LIST_HEAD(, loop_timer) timers;
	unsigned long turns;
	struct loop_clock clock;
};

static int64_t
system_wall_ms(void *ud)
{
	struct timespec ts;

	(void)ud;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
system_mono_ms(void *ud)
{
	(void)ud;
	return xr_now_ms();
}

struct loop *
loop_new(const struct loop_clock *clock)
{
	struct loop *lp = calloc(1, sizeof(*lp));

	if (lp == NULL)
		return NULL;
	lp->epfd = -1;
	LIST_INIT(&lp->timers);
	if (clock != NULL)
		lp->clock = *clock;
	if (lp->clock.mono_ms == NULL)
		lp->clock.mono_ms = system_mono_ms;
	if (lp->clock.wall_ms == NULL)
		lp->clock.wall_ms = system_wall_ms;
	return lp;
}

void
loop_free(struct loop *lp)
{
	if (lp == NULL)
		return;
	while (!LIST_EMPTY(&lp->timers))
		loop_timer_cancel(LIST_FIRST(&lp->timers));
	if (lp->epfd >= 0)
		close(lp->epfd);
	free(lp);
}

int64_t
loop_now(const struct loop *lp)
{
	return lp->clock.mono_ms(lp->clock.ud);
}

int64_t
loop_wall(const struct loop *lp)
{
	return lp->clock.wall_ms(lp->clock.ud);
}

unsigned long
loop_turn(const struct loop *lp)
{
	return lp->turns;
}

static uint32_t
to_epoll(short events)
{
	return ((events & POLLIN) ? EPOLLIN : 0) |
	    ((events & POLLOUT) ? EPOLLOUT : 0);
}

static short
from_epoll(uint32_t ev)
{
	return (short)(((ev & EPOLLIN) ? POLLIN : 0) |
	    ((ev & EPOLLOUT) ? POLLOUT : 0) | ((ev & EPOLLHUP) ? POLLHUP : 0) |
	    ((ev & EPOLLERR) ? POLLERR : 0));
}

/* Brings the kernel's set in line with watches[fd]. */
static int
sync_fd(struct loop *lp, int fd)
{
	struct watch *w = &lp->watches[fd];
	struct epoll_event ev;

	if (lp->epfd < 0 && (lp->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_warn("epoll_create1");
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = to_epoll(w->events);
	ev.data.fd = fd;
	/* The fd may have been closed (and its number reused) without an
	 * unwatch, which drops it from the set: try the other operation. */
	if (w->registered && epoll_ctl(lp->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 &&
	    errno == ENOENT)
		w->registered = 0;
	if (!w->registered) {
		if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
		    (errno != EEXIST ||
			epoll_ctl(lp->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)) {
			log_warn("epoll_ctl %d", fd);
			return -1;
		}
		w->registered = 1;
	}
	return 0;
}

int
loop_watch(struct loop *lp, int fd, short events, loop_io_fn fn, void *ud)
{
	if (fd < 0 || fd >= LOOP_FD_MAX)
		return -1;
	lp->watches[fd].events = events;
	lp->watches[fd].fn = fn;
	lp->watches[fd].ud = ud;
	return sync_fd(lp, fd);
}

void
loop_set_events(struct loop *lp, int fd, short events)
{
	if (fd < 0 || fd >= LOOP_FD_MAX || lp->watches[fd].fn == NULL ||
	    lp->watches[fd].events == events)
		return;
	lp->watches[fd].events = events;
	(void)sync_fd(lp, fd);
}

void
loop_unwatch(struct loop *lp, int fd)
{
	if (fd < 0 || fd >= LOOP_FD_MAX)
		return;
	if (lp->watches[fd].registered && lp->epfd >= 0)
		(void)epoll_ctl(lp->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&lp->watches[fd], 0, sizeof(lp->watches[fd]));
}

void
loop_timer_cancel(struct loop_timer *t)
{
	if (t->owner != NULL)
		LIST_REMOVE(t, link);
	t->when = 0;
	t->owner = NULL;
}

void
loop_timer_arm(struct loop *lp, struct loop_timer *t, int64_t when,
    loop_timer_fn fn, void *ud)
{
	loop_timer_cancel(t);
	t->when = when > 0 ? when : 1;
	t->fn = fn;
	t->ud = ud;
	t->owner = lp;
	LIST_INSERT_HEAD(&lp->timers, t, link);
}

int64_t
loop_next_timer(const struct loop *lp)
{
	int64_t first = 0;

	const struct loop_timer *t;

	LIST_FOREACH(t, &lp->timers, link)
		if (first == 0 || t->when < first)
			first = t->when;
	return first;
}

void
loop_run_timers(struct loop *lp)
{
	struct loop_timer *t;
	int64_t now = loop_now(lp);

	/* Restart the scan after each call: a callback may arm or cancel. */
	for (;;) {
		LIST_FOREACH(t, &lp->timers, link) {
			if (t->when <= now)
				break;
		}
		if (t == NULL)
			return;
		loop_timer_cancel(t);
		t->fn(t->ud);
	}
}

void
loop_run_once(struct loop *lp, int max_wait_ms)
{
	struct epoll_event ev[EVENTS_PER_TURN];
	int64_t now = loop_now(lp), wait = max_wait_ms;
	const struct loop_timer *t;
	int n;

	lp->turns++;
	LIST_FOREACH(t, &lp->timers, link) {
		if (t->when - now < wait)
			wait = t->when - now;
	}
	if (wait < 0)
		wait = 0;
	if (lp->epfd < 0) {
		/* Nothing watched yet: just the timers. */
		struct timespec ts = {
		    (time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};

		nanosleep(&ts, NULL);
		n = 0;
	} else {
		n = epoll_wait(lp->epfd, ev, EVENTS_PER_TURN, (int)wait);
		if (n < 0 && errno != EINTR)
			log_warn("epoll_wait");
	}
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd;
		struct watch *w = &lp->watches[fd];

		/* A callback may have closed this fd meanwhile. */
		if (w->fn != NULL)
			w->fn(fd, from_epoll(ev[i].events), w->ud);
	}
	loop_run_timers(lp);
}
