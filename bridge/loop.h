/*
 * The bridge's event loop: epoll over registered descriptors, plus
 * one-shot timers, and the clock they run on.  Single-threaded, like
 * libstrophe, which it drives.  A unit test gives it a clock of its own
 * (struct loop_clock) and fires the timers with loop_run_timers, so the
 * logic above it runs in milliseconds without waiting.
 */
#ifndef XR_LOOP_H
#define XR_LOOP_H

#include <poll.h>
#include <stdint.h>
#include <sys/queue.h>

/* libstrophe select()s on its socket: keep every descriptor below this. */
#define LOOP_FD_MAX 1024

struct loop;

typedef void (*loop_io_fn)(int fd, short revents, void *ud);
typedef void (*loop_timer_fn)(void *ud);

struct loop_timer {
	int64_t when; /* on the loop's monotonic clock, ms; 0: not armed */
	loop_timer_fn fn;
	void *ud;
	struct loop *owner; /* the loop it is armed on; NULL: not on a list */
	LIST_ENTRY(loop_timer) link;
};

/* Where the loop reads the time; NULL members read the system's clocks. */
struct loop_clock {
	int64_t (*mono_ms)(void *ud); /* as xr_now_ms(): CLOCK_MONOTONIC */
	int64_t (*wall_ms)(void *ud); /* unix time */
	void *ud;
};

/* clock may be NULL (the system's); NULL on allocation failure. */
struct loop *loop_new(const struct loop_clock *clock);
/* Timers still armed are disarmed; descriptors are not closed. */
void loop_free(struct loop *lp);

int64_t loop_now(const struct loop *lp);  /* monotonic ms */
int64_t loop_wall(const struct loop *lp); /* unix ms */

/* Registers fd (or changes its events and callback); -1 if fd too high. */
int loop_watch(struct loop *lp, int fd, short events, loop_io_fn fn, void *ud);
void loop_set_events(struct loop *lp, int fd, short events);
void loop_unwatch(struct loop *lp, int fd);

/* Arms t to fire once at when (loop_now's clock); re-arming moves it. */
void loop_timer_arm(struct loop *lp, struct loop_timer *t, int64_t when,
    loop_timer_fn fn, void *ud);
/* Disarms t (a no-op if it is not armed). */
void loop_timer_cancel(struct loop_timer *t);

/*
 * One turn: wait at most max_wait_ms (less if a timer is due sooner), run
 * the ready descriptors' callbacks, then the due timers.
 */
void loop_run_once(struct loop *lp, int max_wait_ms);
/* Runs the timers due by loop_now, without waiting: for tests that move
 * their clock. */
void loop_run_timers(struct loop *lp);
/* The earliest armed timer's time, or 0 when none is armed. */
int64_t loop_next_timer(const struct loop *lp);

/* Which turn of the loop this is: work that is good for one turn (a
 * stat() of a file, say) can be shared by everything the turn handles. */
unsigned long loop_turn(const struct loop *lp);

#endif
