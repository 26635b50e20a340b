/*
 * What the bridge tells a responder about one request.  Every OUTCOME
 * frame the bridge sends is built here, from one struct, and counted,
 * whoever decided the answer (admission, auth, the outgoing pipeline).
 */
#ifndef XR_ANSWER_H
#define XR_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct answer {
	enum outcome outcome;
	const char *condition; /* an XMPP condition name; NULL: none */
	const char *text;      /* for the HTTP body; NULL: none */
	const char *errtype;   /* OUTCOME_ERROR: the error's type */
	const char *stanza;    /* REPLY, ERROR: the stanza that answered */
	size_t stanza_len;
	const char *challenge;     /* UNAUTHORIZED: WWW-Authenticate */
	unsigned long status;      /* a refused stanza's HTTP status; 0: none */
	unsigned long retry_after; /* THROTTLED: seconds */
};

struct client;

/* Encodes a as the OUTCOME frame for seq; 0, or -1 with err (fo is the
 * caller's to free either way). */
int answer_frame(struct frame_out *fo, uint32_t seq, const struct answer *a,
    char *err, size_t errlen);

/* Answers sent, by outcome. */
struct answer_tally {
	unsigned long n[OUTCOME_COUNT];
};

/* Counts a in t (unless t is NULL: the status report is not counted)
 * and queues it for cl (listener.h); cl NULL (its responder went away)
 * is only counted.  An answer too large for a frame becomes busy. */
void answer_send(struct client *cl, uint32_t seq, const struct answer *a,
    struct answer_tally *t);

#endif
