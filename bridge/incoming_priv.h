/*
 * What incoming.c and incoming_retry.c share; not for use elsewhere.
 */
#ifndef XR_INCOMING_PRIV_H
#define XR_INCOMING_PRIV_H

#include <stdint.h>

#include "incoming.h"
#include "loop.h"
#include "util.h"

/* What incoming reads of the configuration: its own copies. */
struct in_settings {
	char *jid;
	char *callback_url; /* NULL: no webhook, for good (a restart only) */
	unsigned long stanzas, addresses; /* CONF_KIND_*, CONF_ADDR_* */
	unsigned long retry_max_age, retry_min, retry_max; /* s */
	unsigned long max_inflight, queue_max;
	unsigned long spool_max_bytes; /* a restart only */
};

struct incoming {
	struct loop *lp;
	struct stray *stray; /* the ids written, shared with outgoing */
	struct in_settings set;
	struct in_link link;
	struct in_pool pool;
	void *ud;
	struct spool *sp; /* NULL: no spooling */
	struct loop_timer spool_timer;
};

/* One delivery handed to the pool. */
struct job {
	struct incoming *in;
	xmpp_stanza_t *st;      /* for the reply rules */
	char id[XR_ID_LEN + 1]; /* X-XMPP-Rest-Delivery */
	char *url;              /* a message's first attempt: for the spool */
	uint64_t seq;           /* arrival order */
	int64_t first;          /* unix ms of the arrival */
	struct spool_msg *msg;  /* a retry: the spooled message */
	int done;               /* in_job_done ran */
};

/* incoming.c: answering the sender, and what became of a delivery. */
void in_send_error(struct incoming *in, xmpp_stanza_t *orig, const char *type,
    const char *condition, const char *text);
/* The reply rules (rules.c): what goes back to the sender. */
void in_answer(
    struct incoming *in, xmpp_stanza_t *st, const struct wh_result *r);
/* Worth another try later: the webhook could not take it now. */
int in_retryable(const struct wh_result *r);
void in_describe(const struct wh_result *r, char *buf, size_t size);
/* The result of a delivery that can never be made (why), not tried. */
struct wh_result in_refused(const char *why);
/* The {type} of a URL: RFC 6120's default when the stanza has none. */
const char *in_url_type(const char *name, const char *type);
void in_job_release(struct job *j);

/* incoming_retry.c: the spool. */
void in_arm_spool(struct incoming *in);
/* Spools j's message (attempts made so far; why it waits); when it
 * cannot be spooled, the sender gets wait/resource-constraint. */
void in_spool_job(struct job *j, unsigned attempts, unsigned long retry_after,
    const char *why);
/* The outcome of a spooled message's retry. */
void in_retried(struct job *j, const struct wh_result *r);
/* Opens spool_dir (made 0700 for the daemon's user) and loads it. */
int in_spool_start(struct incoming *in, const struct conf *c,
    const struct privs *p, char *err, size_t errlen);

#endif
