/*
 * Webhook deliveries, run by long-lived delivery workers: processes forked
 * on demand, each doing one delivery at a time with our HTTP client over
 * a connection it keeps alive, taking its job and reporting back over a
 * socketpair.  At most callback_max_inflight deliveries (and workers) run
 * at once; more deliveries wait in a bounded FIFO.  Workers never touch
 * libstrophe, keep no inherited descriptor but their socket, and exit
 * after a while idle.
 */
#ifndef XR_WEBHOOK_H
#define XR_WEBHOOK_H

#include <stddef.h>

#include "conf.h"
#include "util.h"

enum wh_kind {
	WH_RESPONSE,    /* the URL answered (any status) */
	WH_UNREACHABLE, /* it could not be reached or spoke no HTTP */
	WH_TIMEOUT,     /* callback_timeout passed */
	/* Never tried, and no later try can do better: a URL the client
	 * refuses, a job too large or malformed.  Permanent. */
	WH_REFUSED
};

struct wh_result {
	enum wh_kind kind;
	int status;
	const char *reason;       /* reason phrase ("" if none) */
	const char *content_type; /* "" if none */
	const char *body;         /* NULL when empty or unusable */
	size_t body_len;
	const char *error;         /* why, for every kind but WH_RESPONSE */
	unsigned long retry_after; /* s, the response's Retry-After; 0: none */
};

/* job is the caller's; done is called once per submitted delivery. */
typedef void (*wh_done_fn)(
    void *job, const char *delivery_id, const struct wh_result *r);
typedef void (*wh_free_fn)(void *job);

struct loop;
struct wh_pool;

/*
 * The pool, watching SIGCHLD through a self-pipe on loop: one per process,
 * since SIGCHLD is.  It copies the settings it reads of c.
 */
struct wh_pool *wh_new(struct loop *loop, const struct conf *c, wh_done_fn done,
    wh_free_fn free_job, char *err, size_t errlen);

/* After a reload: the callback_* values the pool reads, from c.  0, or -1
 * when out of memory (the old values stay).  p may be NULL. */
int wh_reconfigure(struct wh_pool *p, const struct conf *c);

/* Kills and reaps the workers, frees every job (free_job) without
 * calling done, and the pool. */
void wh_free(struct wh_pool *p);

/*
 * Queues a POST of body to url, with id as its X-XMPP-Rest-Delivery (NULL:
 * a new one; a retry passes the first attempt's).  Takes ownership of
 * body (malloc'd) and, on success, of job.  -1 when the queue is full:
 * body is freed, job is still the caller's.
 */
int wh_submit(struct wh_pool *p, const char *url, const char *id, char *body,
    size_t len, void *job);

/* Deliveries waiting for a free worker (at most callback_queue_max); 0
 * without a pool. */
unsigned long wh_queued(const struct wh_pool *p);

/* Deliveries running; 0 without a pool. */
unsigned long wh_inflight(const struct wh_pool *p);

#endif
