/*
 * The outgoing pipeline: requests from responders on their way to the
 * XMPP server, from acceptance to their answer.  Every accepted request
 * gets exactly one answer (struct out_link's answer), unless its
 * responder went away first.
 *
 * "sent" is a promise that the XMPP server has taken the stanza.  XEP-0114
 * has no acknowledgements, so after writing stanzas the pipeline writes
 * an iq ping addressed to its own domain: the server handles the stream
 * in order and routes the ping back, so its return covers everything
 * written before it.  A few pings are in flight at once, each covering
 * what was written in one turn of the loop.  A bounce that comes back
 * before the ping answers its request instead.  When the stream breaks,
 * what was written but not covered is written again after the reconnect
 * (at least once, same id); while the session is down, requests wait in
 * order, up to queue_max of them and queue_wait seconds each.
 *
 * A stream error that blames what was written (streamerr.h) makes every
 * stanza in flight a suspect: after the reconnect the suspects are written
 * one at a time, each behind its own ping, so the one in flight at the
 * next such error is the culprit.  A stanza in flight at two of them, or
 * alone at one after a break, is not written again but answered
 * "stream-closed": one bad stanza costs at most two sessions, and the
 * others are still written.  A break with no stream error we could read
 * (a reset discards the one the server sent) blames no stanza, but what
 * was in flight is written one at a time too.  A stream error that blames
 * nothing (a server shutdown) changes nothing.
 */
#ifndef XR_OUTGOING_H
#define XR_OUTGOING_H

#include <stddef.h>
#include <stdint.h>
#include <strophe.h>

#include "answer.h"
#include "track.h"

struct loop;
struct outgoing;

/* The XMPP session and the responders, as the pipeline sees them. */
struct out_link {
	int (*is_up)(void *ud);
	/* Why the session is down, for the answers that say so. */
	const char *(*down_reason)(void *ud);
	/* Queues stanza text; text queued in one turn of the loop goes out
	 * in one write.  -1 when the session is down. */
	int (*write)(const char *xml, size_t len, void *ud);
	/* Queues text for a write of its own, after what came before. */
	int (*write_alone)(const char *xml, size_t len, void *ud);
	/* Drops the session: it cannot be trusted any more. */
	void (*reconnect)(void *ud);
	/* The one answer to the request seq of responder cl. */
	void (*answer)(
	    struct client *cl, uint32_t seq, const struct answer *a, void *ud);
};

struct out_settings {
	const char *jid;          /* the component's: the pings' from and to */
	unsigned long queue_max;  /* requests waiting to be written */
	unsigned long queue_wait; /* s a request waits for the session */
};

struct stray;

/* NULL when out of memory.  sy (stray.h) records the ids written and
 * counts the answers to others; it must outlive o. */
struct outgoing *out_new(struct loop *lp, struct stray *sy,
    const struct out_link *link, void *ud, const struct out_settings *s);
/* Frees every request still held without answering it (out_give_up
 * answers them). */
void out_free(struct outgoing *o);
/* The settings a reload may change (jid is not one of them). */
void out_set_limits(
    struct outgoing *o, unsigned long queue_max, unsigned long queue_wait);

struct out_request {
	struct client *cl;
	uint32_t seq;
	enum wait_for what;
	const char *kind;    /* message, presence or iq: for the log */
	const char *id, *to; /* the stanza's */
	const char *xml;     /* what is written, as it is written */
	size_t len;
	int64_t timeout_ms; /* the whole wait, from now */
};

/* Takes a request, written now or held; or answers it at once when it
 * cannot be held (draining, queue_max, session down without queue_wait,
 * an id+to already waiting, out of memory). */
void out_submit(struct outgoing *o, const struct out_request *rq);

/*
 * A stanza from the server: 1 if it was ours to take (an acknowledgement
 * ping coming back, or the answer to a request, which is answered now),
 * 0 if it is for someone else (incoming delivery).
 */
int out_take_stanza(struct outgoing *o, xmpp_stanza_t *st);

/* The session came up, or went down (xsess_cbs' on_up and on_down). */
void out_session_up(struct outgoing *o);
void out_session_down(
    struct outgoing *o, const char *why, const char *stream_error, int blames);

/* The responder cl went away: its answers have nowhere to go. */
void out_drop_client(struct outgoing *o, const struct client *cl);
/* SIGTERM: new requests are refused; those held go on. */
void out_drain(struct outgoing *o);
/* Answers every request still held "unavailable" (why). */
void out_give_up(struct outgoing *o, const char *why);

struct out_stats {
	unsigned long in_bridge; /* requests held, any state */
	unsigned long queued;    /* of those, waiting to be written or acked */
	unsigned long sessions_lost;
	unsigned long pings_sent;
};
void out_stats(const struct outgoing *o, struct out_stats *st);

#endif
