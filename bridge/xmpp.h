/*
 * The bridge's one XMPP session: an XEP-0114 component connection made
 * with libstrophe, driven from our poll loop, reconnected with back-off.
 * It reports upward through callbacks and knows nothing of requests.
 */
#ifndef XR_XMPP_H
#define XR_XMPP_H

#include <strophe.h>

#include "conf.h"

struct xsess_cbs {
	void (*on_up)(void *ud);
	/* stream_error: the condition of the stream error the server closed
	 * the stream with, NULL if it gave none we could read; blames: 1 if
	 * that condition blames what we wrote (streamerr.h). */
	void (*on_down)(
	    const char *why, const char *stream_error, int blames, void *ud);
	/* Every stanza the server routes to us. */
	void (*on_stanza)(xmpp_stanza_t *st, void *ud);
};

struct loop;
struct xsess;

/* Creates the session and starts connecting; NULL with err on failure.
 * It copies what it uses of c. */
struct xsess *xsess_new(struct loop *lp, const struct conf *c,
    const struct xsess_cbs *cbs, void *ud, char *err, size_t errlen);
/* After a reload: the reconnect back-off's bounds. */
void xsess_reconfigure(struct xsess *xs, const struct conf *c);
int xsess_is_up(const struct xsess *xs);
/* Why the session is down (or "connecting"), for 503 bodies. */
const char *xsess_down_reason(const struct xsess *xs);
/*
 * Queues serialized stanza text for writing; -1 when the session is down.
 * Text queued in one turn of the loop goes out in one write (xsess_pump).
 */
int xsess_send_raw(struct xsess *xs, const char *xml, size_t len);
/*
 * Queues text to go out in a write of its own, after what was queued
 * before it (the acknowledgement ping: outgoing.c).
 */
int xsess_send_raw_alone(struct xsess *xs, const char *xml, size_t len);
/* Queues a libstrophe stanza (replies we build ourselves). */
int xsess_send(struct xsess *xs, xmpp_stanza_t *st);
xmpp_ctx_t *xsess_ctx(const struct xsess *xs);
/* Work libstrophe has to do now: call after poll and after sending. */
void xsess_pump(struct xsess *xs);
/* Drops the session (it reconnects with the usual back-off). */
void xsess_reconnect(struct xsess *xs);
/* Closes the stream gracefully (bounded in time) and frees everything;
 * NULL is a no-op. */
void xsess_free(struct xsess *xs);

#endif
