/*
 * The bridge's event loop: epoll over registered descriptors, plus
 * one-shot timers.  Single-threaded, like libstrophe, which it drives.
 */
#ifndef XR_LOOP_H
#define XR_LOOP_H

#include <poll.h>
#include <stdint.h>

/* libstrophe select()s on its socket: keep every descriptor below this. */
#define LOOP_FD_MAX 1024

typedef void (*loop_io_fn)(int fd, short revents, void *ud);
typedef void (*loop_timer_fn)(void *ud);

struct loop_timer {
	int64_t when; /* CLOCK_MONOTONIC ms; 0 when not armed */
	loop_timer_fn fn;
	void *ud;
	struct loop_timer *next;
};

/* Registers fd (or changes its events and callback); -1 if fd too high. */
int loop_watch(int fd, short events, loop_io_fn fn, void *ud);
void loop_set_events(int fd, short events);
void loop_unwatch(int fd);

/* Arms t to fire once at when (ms, CLOCK_MONOTONIC); re-arming moves it. */
void loop_timer_arm(
    struct loop_timer *t, int64_t when, loop_timer_fn fn, void *ud);
void loop_timer_cancel(struct loop_timer *t);

/*
 * One turn: poll at most max_wait_ms (less if a timer is due sooner), run
 * the ready descriptors' callbacks, then the due timers.
 */
void loop_run_once(int max_wait_ms);

/* Which turn of the loop this is: work that is good for one turn (a
 * stat() of a file, say) can be shared by everything the turn handles. */
unsigned long loop_turn(void);

#endif
