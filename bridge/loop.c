/*
 * The event loop: epoll over the descriptors, which live in an array
 * indexed by fd, as in redis' ae.c; timers in a short unsorted list (a
 * handful: reconnect, accept back-off, the request sweep), so finding the
 * nearest is a plain scan.
 *
 * It was poll(): under 64 clients the bridge spent a fifth of its time
 * (perf, kernel side) registering and unregistering every responder's
 * socket on every turn.  epoll keeps the set in the kernel, so a turn
 * costs what is ready, not what is open.  Level-triggered, as poll was;
 * callers still speak POLLIN/POLLOUT/POLLHUP/POLLERR.
 */
#include <errno.h>
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

static struct watch watches[LOOP_FD_MAX];
static int epfd = -1;
static struct loop_timer *timers;
static unsigned long turns;

unsigned long
loop_turn(void)
{
	return turns;
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
sync_fd(int fd)
{
	struct watch *w = &watches[fd];
	struct epoll_event ev;

	if (epfd < 0 && (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_warn("epoll_create1");
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = to_epoll(w->events);
	ev.data.fd = fd;
	/* The fd may have been closed (and its number reused) without an
	 * unwatch, which drops it from the set: try the other operation. */
	if (w->registered && epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0 &&
	    errno == ENOENT)
		w->registered = 0;
	if (!w->registered) {
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
		    (errno != EEXIST ||
			epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0)) {
			log_warn("epoll_ctl %d", fd);
			return -1;
		}
		w->registered = 1;
	}
	return 0;
}

int
loop_watch(int fd, short events, loop_io_fn fn, void *ud)
{
	if (fd < 0 || fd >= LOOP_FD_MAX)
		return -1;
	watches[fd].events = events;
	watches[fd].fn = fn;
	watches[fd].ud = ud;
	return sync_fd(fd);
}

void
loop_set_events(int fd, short events)
{
	if (fd < 0 || fd >= LOOP_FD_MAX || watches[fd].fn == NULL ||
	    watches[fd].events == events)
		return;
	watches[fd].events = events;
	(void)sync_fd(fd);
}

void
loop_unwatch(int fd)
{
	if (fd < 0 || fd >= LOOP_FD_MAX)
		return;
	if (watches[fd].registered && epfd >= 0)
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&watches[fd], 0, sizeof(watches[fd]));
}

void
loop_timer_cancel(struct loop_timer *t)
{
	struct loop_timer **pp;

	for (pp = &timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->when = 0;
	t->next = NULL;
}

void
loop_timer_arm(struct loop_timer *t, int64_t when, loop_timer_fn fn, void *ud)
{
	loop_timer_cancel(t);
	t->when = when > 0 ? when : 1;
	t->fn = fn;
	t->ud = ud;
	t->next = timers;
	timers = t;
}

static void
run_timers(int64_t now)
{
	struct loop_timer *t;

	/* Restart the scan after each call: a callback may arm or cancel. */
	for (;;) {
		for (t = timers; t; t = t->next) {
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
loop_run_once(int max_wait_ms)
{
	struct epoll_event ev[EVENTS_PER_TURN];
	int64_t now = xr_now_ms(), wait = max_wait_ms;
	int n;

	turns++;
	for (struct loop_timer *t = timers; t; t = t->next) {
		if (t->when - now < wait)
			wait = t->when - now;
	}
	if (wait < 0)
		wait = 0;
	if (epfd < 0) {
		/* Nothing watched yet: just the timers. */
		struct timespec ts = {
		    (time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};

		nanosleep(&ts, NULL);
		n = 0;
	} else {
		n = epoll_wait(epfd, ev, EVENTS_PER_TURN, (int)wait);
		if (n < 0 && errno != EINTR)
			log_warn("epoll_wait");
	}
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd;
		struct watch *w = &watches[fd];

		/* A callback may have closed this fd meanwhile. */
		if (w->fn != NULL)
			w->fn(fd, from_epoll(ev[i].events), w->ud);
	}
	run_timers(xr_now_ms());
}
