/*
 * Incoming delivery: stanzas the XMPP server routes to the bridge that
 * answer no request of ours (outgoing.h takes those first) go to the
 * webhook, as callback_url, callback_stanzas and callback_addresses say;
 * the reply rules (rules.h) turn the webhook's answer into what goes back
 * to the sender.  Iq requests nobody takes are answered here.
 *
 * A message whose delivery fails now (no connection, no answer in time,
 * 408, 429, 500, 502, 503, 504) is written to the spool (spool.h) and
 * tried again with back-off and the same delivery id until the webhook
 * takes it or retry_max_age has passed since it arrived; only then does
 * its sender get the error the reply rules give for the last failure.
 * Iqs and presences are never spooled.  Once a (URL, sender) pair has a
 * message spooled, later messages of that pair are spooled behind it and
 * tried one at a time, head first, so a dead URL holds up only its own
 * queue.  First attempts still run side by side (callback_max_inflight):
 * messages already on their way when the first one fails may overtake
 * it.  Retries wait while the XMPP session is down, as their answers and
 * bounces would have nowhere to go.
 */
#ifndef XR_INCOMING_H
#define XR_INCOMING_H

#include <stddef.h>
#include <strophe.h>

#include "conf.h"
#include "privs.h"
#include "webhook.h"

struct loop;
struct incoming;

/* The XMPP session, as delivery sees it. */
struct in_link {
	int (*is_up)(void *ud);
	/* Queues a stanza we built (an answer, a bounce); -1 when down. */
	int (*send)(xmpp_stanza_t *st, void *ud);
	xmpp_ctx_t *(*ctx)(void *ud);
};

/* The delivery workers (webhook.h's wh_submit, wh_inflight, wh_queued);
 * each submitted job is ended by in_job_done or in_job_free. */
struct in_pool {
	int (*submit)(const char *url, const char *id, char *body, size_t len,
	    void *job, void *ud);
	unsigned long (*inflight)(void *ud);
	unsigned long (*queued)(void *ud);
};

/*
 * Checks callback_url and opens the spool (spool_dir, made 0700 for p's
 * user), loading what an earlier run left.  It copies what it uses of
 * c.  sy (stray.h) is told the ids of the answers it writes.  NULL with err on failure.
 */
struct stray;

struct incoming *in_new(struct loop *lp, struct stray *sy, const struct conf *c,
    const struct privs *p, const struct in_link *link,
    const struct in_pool *pool, void *ud, char *err, size_t errlen);
/* After a reload: the values a reload may change (the callback URL, the
 * kinds and addresses delivered, the retry policy, the pool's limits);
 * -1 when out of memory, with the old URL kept. */
int in_reconfigure(struct incoming *in, const struct conf *c);
/* After the pool is shut down: the spool's memory goes, its files stay. */
void in_free(struct incoming *in);

/* A stanza for the webhook, or the iq request that nobody takes. */
void in_stanza(struct incoming *in, xmpp_stanza_t *st);

/* A delivery ended (the pool's done callback). */
void in_job_done(void *job, const struct wh_result *r);
/* A job is freed, ended or not (the pool's free callback): a first
 * attempt that never ended is spooled, to be made after a restart. */
void in_job_free(void *job);

struct in_stats {
	unsigned long in_flight; /* deliveries under way */
	size_t spool_messages, spool_queues;
	unsigned long long spool_bytes;
};
void in_stats(const struct incoming *in, struct in_stats *st);

#endif
