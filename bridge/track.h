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

struct client;

enum wait_for {
	WAIT_IQ_REPLY,
	WAIT_RECEIPT,
	WAIT_SENT /* only for the server to take it (or bounce it) */
};

enum pending_state { P_HELD, P_UNACKED, P_ACKED };

struct pending {
	struct client *cl; /* NULL once the responder went away */
	uint32_t seq;
	enum wait_for what;
	enum pending_state state;
	char *id, *to;
	char *raw; /* the stanza to write; NULL once ACKED */
	size_t rawlen;
	unsigned long batch;   /* UNACKED: the ping that covers it */
	unsigned breaks;       /* stream errors blaming what was in flight,
				  it among them (route.c) */
	int64_t deadline;      /* CLOCK_MONOTONIC ms: the request's wait */
	int64_t hold_until;    /* HELD: when queue_wait runs out; else 0 */
	struct pending *hnext; /* hash chain */
	struct pending *prev, *next;   /* every pending request */
	struct pending *fprev, *fnext; /* the FIFO of HELD and UNACKED */
};

/*
 * Adds a HELD request at the FIFO's tail, with a copy of raw.  0; -1 if
 * id+to is already held or waiting (errno EEXIST) or on allocation
 * failure (ENOMEM).
 */
int track_add(struct client *cl, uint32_t seq, enum wait_for what,
    const char *id, const char *to, const char *raw, size_t rawlen,
    int64_t deadline, int64_t hold_until);

/* The oldest HELD or UNACKED request; p->fnext the next one. */
struct pending *track_fifo_head(void);
/* Takes an UNACKED request out of the FIFO: it is ACKED now. */
void track_acked(struct pending *p);
/* Every UNACKED request becomes HELD again (the stream broke). */
void track_requeue(int64_t hold_until);
/* Requests in the FIFO: what queue_max bounds. */
unsigned long track_queued(void);
/* Unlinks p (found through the FIFO). */
void track_remove(struct pending *p);
/* Unlinks and returns one ACKED request, or NULL. */
struct pending *track_take_acked(void);

/* Unlinks and returns the request a stanza answers, or NULL. */
struct pending *track_match(
    enum wait_for what, const char *id, const char *from);

/* Unlinks and returns one request whose deadline or hold_until is <= now,
 * or NULL. */
struct pending *track_expired(int64_t now);
/* Unlinks and returns any one request (for shutdown), or NULL. */
struct pending *track_any(void);
/* cl is going away: its requests are forgotten, but those already
 * written stay in the FIFO, unanswered, to be written again if need be. */
void track_drop_client(const struct client *cl);
/* The earliest deadline, or 0 when nothing waits. */
int64_t track_next_deadline(void);
unsigned long track_count(void);

void pending_free(struct pending *p);

#endif
