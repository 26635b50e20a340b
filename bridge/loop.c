/*
 * The poll loop.  Descriptors live in an array indexed by fd, as in redis'
 * ae.c; timers in a short unsorted list (a handful: reconnect, accept
 * back-off, the request sweep), so finding the nearest is a plain scan.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "util.h"

struct watch {
	short events;
	loop_io_fn fn;
	void *ud;
};

static struct watch watches[LOOP_FD_MAX];
static int max_fd = -1;
static struct loop_timer *timers;
static unsigned long turns;

unsigned long
loop_turn(void)
{
	return turns;
}

int
loop_watch(int fd, short events, loop_io_fn fn, void *ud)
{
	if (fd < 0 || fd >= LOOP_FD_MAX)
		return -1;
	watches[fd].events = events;
	watches[fd].fn = fn;
	watches[fd].ud = ud;
	if (fd > max_fd)
		max_fd = fd;
	return 0;
}

void
loop_set_events(int fd, short events)
{
	if (fd >= 0 && fd < LOOP_FD_MAX)
		watches[fd].events = events;
}

void
loop_unwatch(int fd)
{
	if (fd < 0 || fd >= LOOP_FD_MAX)
		return;
	memset(&watches[fd], 0, sizeof(watches[fd]));
	while (max_fd >= 0 && watches[max_fd].fn == NULL)
		max_fd--;
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
	static struct pollfd pfd[LOOP_FD_MAX];
	int64_t now = xr_now_ms(), wait = max_wait_ms;
	nfds_t n = 0;
	int rc;

	turns++;
	for (struct loop_timer *t = timers; t; t = t->next) {
		if (t->when - now < wait)
			wait = t->when - now;
	}
	if (wait < 0)
		wait = 0;
	for (int fd = 0; fd <= max_fd; fd++) {
		if (watches[fd].fn == NULL)
			continue;
		pfd[n].fd = fd;
		pfd[n].events = watches[fd].events;
		pfd[n].revents = 0;
		n++;
	}
	rc = poll(pfd, n, (int)wait);
	if (rc < 0 && errno != EINTR)
		log_warn("poll");
	for (nfds_t i = 0; rc > 0 && i < n; i++) {
		struct watch *w = &watches[pfd[i].fd];

		if (pfd[i].revents == 0)
			continue;
		/* A callback may have closed this fd meanwhile. */
		if (w->fn != NULL)
			w->fn(pfd[i].fd, pfd[i].revents, w->ud);
	}
	run_timers(xr_now_ms());
}
