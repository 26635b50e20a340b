/*
 * Requests waiting for an answer from the XMPP side: an iq's reply, or a
 * message's receipt or error bounce.  Found by stanza id and checked
 * against the addressee, so a reply from the wrong JID completes nothing.
 */
#ifndef XR_TRACK_H
#define XR_TRACK_H

#include <stdint.h>

struct client;

enum wait_for { WAIT_IQ_REPLY, WAIT_RECEIPT };

struct pending {
	struct client *cl;
	uint32_t seq;
	enum wait_for what;
	char *id, *to;
	int64_t deadline;            /* CLOCK_MONOTONIC ms */
	struct pending *hnext;       /* hash chain */
	struct pending *prev, *next; /* every pending request */
};

/* 0; -1 if id+to is already waiting (conflict) or on allocation failure
 * (errno ENOMEM). */
int track_add(struct client *cl, uint32_t seq, enum wait_for what,
    const char *id, const char *to, int64_t deadline);

/* Unlinks and returns the request a stanza answers, or NULL. */
struct pending *track_match(
    enum wait_for what, const char *id, const char *from);

/* Unlinks and returns one request whose deadline is <= now, or NULL. */
struct pending *track_expired(int64_t now);
/* Unlinks and returns any one request (for shutdown), or NULL. */
struct pending *track_any(void);
/* Forgets every request of cl, which is going away. */
void track_drop_client(const struct client *cl);
/* The earliest deadline, or 0 when nothing waits. */
int64_t track_next_deadline(void);
unsigned long track_count(void);

void pending_free(struct pending *p);

#endif
