/*
 * Every request the bridge holds, from the moment it is accepted until
 * it is answered.  Found by stanza id and checked against the addressee,
 * so a reply from the wrong JID completes nothing.
 *
 * A request's life: HELD (the XMPP session is down, or it is not written
 * yet), UNACKED (written; the server has not yet answered the ping that
 * follows it), then answered "sent" (WAIT_SENT) or ACKED, waiting for an
 * iq reply or a receipt.  HELD and UNACKED requests also sit, in the
 * order they came, in one FIFO: after a reconnect, UNACKED ones become
 * HELD again and are written anew, in that order.
 */
#ifndef XR_TRACK_H
#define XR_TRACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "proto.h"

struct client;
struct track;

enum pending_state { P_HELD, P_UNACKED, P_ACKED };

struct pending {
	struct client *cl; /* NULL once the responder went away */
	uint32_t seq;
	enum wait_for what;
	enum pending_state state;
	char *id, *to;
	char *raw; /* the stanza to write; NULL once ACKED */
	size_t rawlen;
	unsigned long batch; /* UNACKED: the ping that covers it */
	int alone;           /* written one at a time since a break */
	unsigned breaks;     /* stream errors blaming what was in flight,
			       it among them (outgoing.c) */
	int64_t deadline;    /* CLOCK_MONOTONIC ms: the request's wait */
	int64_t hold_until;  /* HELD: when queue_wait runs out; else 0 */
	int in_fifo;
	LIST_ENTRY(pending) hlink; /* its hash chain */
	LIST_ENTRY(pending) link;  /* every pending request */
	TAILQ_ENTRY(pending) fifo; /* the FIFO of HELD and UNACKED */
};

/* An empty tracker, or NULL when out of memory. */
struct track *track_new(void);
/* Frees the tracker and every request still in it. */
void track_free(struct track *tr);

/*
 * Adds a HELD request at the FIFO's tail, with a copy of raw.  0; -1 if
 * id+to is already held or waiting (errno EEXIST) or on allocation
 * failure (ENOMEM).
 */
int track_add(struct track *tr, struct client *cl, uint32_t seq,
    enum wait_for what, const char *id, const char *to, const char *raw,
    size_t rawlen, int64_t deadline, int64_t hold_until);

/* The oldest HELD or UNACKED request, and the one after p. */
struct pending *track_fifo_head(const struct track *tr);
struct pending *track_fifo_next(const struct pending *p);
/* Takes an UNACKED request out of the FIFO: it is ACKED now. */
void track_acked(struct track *tr, struct pending *p);
/* Every UNACKED request becomes HELD again (the stream broke). */
void track_requeue(struct track *tr, int64_t hold_until);
/* Requests in the FIFO: what queue_max bounds. */
unsigned long track_queued(const struct track *tr);
/* Unlinks p (found through the FIFO). */
void track_remove(struct track *tr, struct pending *p);
/* Unlinks and returns one ACKED request, or NULL. */
struct pending *track_take_acked(struct track *tr);

/* Unlinks and returns the request a stanza answers, or NULL. */
struct pending *track_match(
    struct track *tr, enum wait_for what, const char *id, const char *from);

/* Unlinks and returns one request whose deadline or hold_until is <= now,
 * or NULL. */
struct pending *track_expired(struct track *tr, int64_t now);
/* Unlinks and returns any one request (for shutdown), or NULL. */
struct pending *track_any(struct track *tr);
/* cl is going away: its requests are forgotten, but those already
 * written stay in the FIFO, unanswered, to be written again if need be. */
void track_drop_client(struct track *tr, const struct client *cl);
/* The earliest deadline, or 0 when nothing waits. */
int64_t track_next_deadline(const struct track *tr);
unsigned long track_count(const struct track *tr);

void pending_free(struct pending *p);

#endif
