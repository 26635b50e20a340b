/*
 * The channel between the bridge and its webhook delivery workers
 * (webhook.c), over a socketpair: frames of proto.h's format, of a type
 * and with tags of their own, which the responders' socket refuses.
 *
 * The bridge sends a FRAME_DELIVERY job: URL, ID (the X-XMPP-Rest-Delivery
 * id), STANZA (the body), DEADLINE (CLOCK_MONOTONIC ms, the same clock in
 * both processes), MAX_BYTES (callback_max_response_bytes), and when set
 * SECRET (callback_secret) and CA_FILE (callback_ca_file).  The worker
 * answers with a FRAME_DELIVERY whose OUTCOME is "response", "timeout",
 * "unreachable", or "refused" (a job no later try can do better with)
 * and, as they apply, STATUS (the HTTP status), REASON, CTYPE (its
 * content type), RETRY, STANZA (its body), TRUNCATED or TEXT.
 */
#ifndef XR_WORKER_PROTO_H
#define XR_WORKER_PROTO_H

#include "http.h"
#include "proto.h"
#include "webhook.h"

#define FRAME_DELIVERY ((enum frame_type)3)
#define WORKER_FRAME_TYPES FRAME_TYPE_BIT(FRAME_DELIVERY)

/* The tags proto.h leaves to this channel. */
#define FIELD_REASON ((enum field)14)
#define FIELD_CTYPE ((enum field)15)
#define FIELD_TRUNCATED ((enum field)16)
#define FIELD_URL ((enum field)22)
#define FIELD_DEADLINE ((enum field)23)
#define FIELD_MAX_BYTES ((enum field)24)
#define FIELD_SECRET ((enum field)25)
#define FIELD_CA_FILE ((enum field)26)

/* A worker's result frame, in fo begun as FRAME_DELIVERY: the response
 * r, or a failure (outcome "timeout", "unreachable" or "refused"). */
void wp_put_response(struct frame_out *fo, const struct http_response *r);
void wp_put_failure(struct frame_out *fo, const char *outcome, const char *why);

/*
 * Reads the result frame f into r, whose strings point into f.  Returns
 * 1 when the response's body was dropped as over the cap or no text, so
 * the pool can say so, else 0.
 */
int wp_read_result(const struct frame *f, struct wh_result *r);

#endif
