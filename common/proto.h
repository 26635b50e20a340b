/*
 * The socket protocol between the responder (xmpp-rest.fcgi) and the
 * bridge (xmpp-restd).  This file and proto.c are the only places that
 * know the wire format.
 *
 * A connection carries frames.  Every frame is a 12-byte header and a
 * payload:
 *
 *	offset 0  'X' 'R'        magic
 *	offset 2  version        XR_PROTO_VERSION (1)
 *	offset 3  type           FRAME_SUBMIT or FRAME_OUTCOME
 *	offset 4  seq            u32, big-endian: chosen by the responder,
 *	                         echoed in the outcome
 *	offset 8  length         u32, big-endian: payload bytes, at most
 *	                         XR_FRAME_MAX
 *
 * The payload is a sequence of fields, each a tag byte, a u32 big-endian
 * length and that many bytes.  Field values are text without NUL bytes;
 * numbers are decimal.  A receiver ignores tags it does not know (so a
 * newer peer may add fields), and refuses a frame whose header, length or
 * field layout is wrong, or that repeats a known tag.  A version mismatch
 * is answered with an outcome "rejected" and the connection closed.
 *
 * The responder sends one FRAME_SUBMIT and waits for the FRAME_OUTCOME
 * with the same seq; it may then send the next one on the same
 * connection.  The bridge answers every SUBMIT exactly once.
 *
 * FRAME_SUBMIT fields: KIND (message|presence|iq), ID, TO (may be absent),
 * FROM, TYPE (may be absent), STANZA (the serialized stanza, sent as is),
 * TIMEOUT (ms the responder will wait), WAIT ("sent", "receipt" or
 * "reply"), and what the bridge needs to authenticate the request, each
 * only when the web server gave it: AUTHORIZATION (the header as sent),
 * REMOTE_USER and REMOTE_ADDR (its CGI variables).
 *
 * FRAME_OUTCOME fields: OUTCOME (see enum outcome), and as they apply:
 * STANZA (the reply or error stanza), ERRTYPE and CONDITION (of an error
 * stanza, or ours), TEXT (a human-readable reason), CHALLENGE (with
 * "unauthorized": WWW-Authenticate values, one per line), RETRY (with
 * "throttled": seconds until the client may try again), STATUS (with
 * "rejected": the HTTP status of the bridge's stanza check, 400-599).
 */
#ifndef XR_PROTO_H
#define XR_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define XR_PROTO_VERSION 1
#define XR_FRAME_HDR 12
#define XR_FRAME_MAX (1024UL * 1024UL) /* payload bytes; hard limit */

/*
 * Type 3 and the tags left out below belong to the bridge's own channel
 * to its webhook workers (bridge/worker_proto.h), which never crosses
 * this socket: frame_decode refuses type 3 by name, like any type it
 * does not list.
 */
enum frame_type {
	FRAME_SUBMIT = 1,
	FRAME_OUTCOME = 2,
	FRAME_STATUS = 4 /* no fields; answered with an OUTCOME whose TEXT
			    is the bridge's state as JSON */
};

/* A set of frame types, for the decoder to accept. */
#define FRAME_TYPE_BIT(t) (1U << (unsigned)(t))
#define FRAME_TYPES_SOCKET                                              \
	(FRAME_TYPE_BIT(FRAME_SUBMIT) | FRAME_TYPE_BIT(FRAME_OUTCOME) | \
	    FRAME_TYPE_BIT(FRAME_STATUS))

enum field {
	FIELD_KIND = 1,
	FIELD_ID,
	FIELD_TO,
	FIELD_FROM,
	FIELD_TYPE,
	FIELD_STANZA,
	FIELD_TIMEOUT,
	FIELD_WAIT,
	FIELD_OUTCOME,
	FIELD_ERRTYPE,
	FIELD_CONDITION,
	FIELD_TEXT,
	FIELD_STATUS, /* FRAME_OUTCOME "rejected": an HTTP status */
	/* 14 to 16: the worker channel's */
	FIELD_AUTHORIZATION = 17, /* FRAME_SUBMIT: who is asking */
	FIELD_REMOTE_USER,
	FIELD_REMOTE_ADDR,
	FIELD_CHALLENGE, /* FRAME_OUTCOME: why not */
	FIELD_RETRY,
	/* 22 to 26: the worker channel's */
	FIELD_MAX = 27 /* one past the last tag a decoded frame keeps */
};

/* What became of a submitted stanza; carried as its name. */
/* The WAIT word of a SUBMIT frame: what its answer waits for. */
enum wait_for {
	WAIT_IQ_REPLY, /* "reply": an iq result or error */
	WAIT_RECEIPT,  /* "receipt": a XEP-0184 receipt, or a bounce */
	WAIT_SENT, /* "sent": only for the server to take it (or bounce it) */
	WAIT_COUNT
};

const char *wait_name(enum wait_for w);
/* 0 with *out, or -1 for a word that is none of them. */
int wait_parse(const char *name, enum wait_for *out);

enum outcome {
	OUTCOME_SENT,          /* written to the XMPP stream */
	OUTCOME_REPLY,         /* the awaited reply (iq result, receipt) */
	OUTCOME_ERROR,         /* an XMPP error stanza came back */
	OUTCOME_TIMEOUT,       /* nothing came back in time */
	OUTCOME_UNAVAILABLE,   /* the XMPP session is down */
	OUTCOME_REJECTED,      /* the bridge refused the frame */
	OUTCOME_BUSY,          /* the bridge is at a configured limit */
	OUTCOME_UNAUTHORIZED,  /* no valid credentials */
	OUTCOME_FORBIDDEN,     /* valid credentials, not allowed this */
	OUTCOME_THROTTLED,     /* too many failed attempts from the address */
	OUTCOME_STREAM_CLOSED, /* the server closed the stream after it twice */
	OUTCOME_COUNT
};

const char *outcome_name(enum outcome o);
int outcome_parse(const char *name, enum outcome *out);

/* A frame being built: b.data[0..b.len) once finished, never larger
 * than a header and XR_FRAME_MAX. */
struct frame_out {
	struct buf b;
	int failed; /* a put ran out of memory or past XR_FRAME_MAX */
};

void frame_begin(struct frame_out *fo, enum frame_type type, uint32_t seq);
void frame_put(struct frame_out *fo, enum field tag, const char *v, size_t n);
void frame_put_str(struct frame_out *fo, enum field tag, const char *s);
void frame_put_uint(struct frame_out *fo, enum field tag, unsigned long v);
/* Patches the length in; 0, or -1 if any put failed (err says why). */
int frame_finish(struct frame_out *fo, char *err, size_t errlen);
void frame_out_free(struct frame_out *fo);

/* A decoded frame; owns one allocation holding every field, NUL-ended. */
struct frame {
	uint8_t type;
	uint32_t seq;
	char *data;
	const char *field[FIELD_MAX];
	size_t flen[FIELD_MAX];
};

#define FRAME_MALFORMED (-1)
#define FRAME_TOO_BIG (-2) /* the header claims more than XR_FRAME_MAX */

/*
 * Decodes the frame at the start of buf.  Returns the bytes it used (> 0)
 * and fills f, 0 if buf holds only part of a frame, or FRAME_MALFORMED or
 * FRAME_TOO_BIG with a reason in err if the bytes can never become a
 * valid frame.  On 0 and below, f is left empty.
 */
ssize_t frame_decode(
    const uint8_t *buf, size_t len, struct frame *f, char *err, size_t errlen);
/* The same for a channel whose frames are of the given set of types. */
ssize_t frame_decode_types(const uint8_t *buf, size_t len, unsigned types,
    struct frame *f, char *err, size_t errlen);
/* Header and payload bytes of the frame at buf as its header claims,
 * whether or not it is valid; 0 while the header is incomplete. */
size_t frame_size(const uint8_t *buf, size_t len);
/* The field's text, or NULL when the frame does not carry it. */
const char *frame_get(const struct frame *f, enum field tag);
void frame_clear(struct frame *f);

#endif
