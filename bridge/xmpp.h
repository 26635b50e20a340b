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

/* Creates the session and starts connecting; NULL with err on failure. */
struct loop;

int xsess_start(struct loop *loop, const struct conf *c,
    const struct xsess_cbs *cbs, void *ud, char *err, size_t errlen);
int xsess_is_up(void);
/* Why the session is down (or "connecting"), for 503 bodies. */
const char *xsess_down_reason(void);
/*
 * Queues serialized stanza text for writing; -1 when the session is down.
 * Text queued in one turn of the loop goes out in one write (xsess_pump).
 */
int xsess_send_raw(const char *xml, size_t len);
/*
 * Queues text to go out in a write of its own, after what was queued
 * before it (the acknowledgement ping: see route.c's send_ping).
 */
int xsess_send_raw_alone(const char *xml, size_t len);
/* Queues a libstrophe stanza (replies we build ourselves). */
int xsess_send(xmpp_stanza_t *st);
xmpp_ctx_t *xsess_ctx(void);
/* Work libstrophe has to do now: call after poll and after sending. */
void xsess_pump(void);
/* Drops the session (it reconnects with the usual back-off). */
void xsess_reconnect(void);
/* Closes the stream gracefully (bounded in time) and frees everything. */
void xsess_stop(void);

#endif
