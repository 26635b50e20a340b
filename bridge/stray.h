/*
 * Stray answers: an acknowledgement, iq reply or receipt for an id this
 * bridge never wrote.  ejabberd accepts a second component connection for
 * a domain and splits the stanzas addressed to it between the two, so
 * each bridge gets some of the other's answers and loses as many of its
 * own (their requests end in 504).  Such answers are the only sign of it
 * a bridge can see: they are counted, logged and shown in the status.
 *
 * "Never written" is told apart from "written, and already answered or
 * timed out" by a ring of the last STRAY_RING ids written.
 */
#ifndef XR_STRAY_H
#define XR_STRAY_H

#include <stdint.h>

#define STRAY_RING 16384
/* At most one warning in this many ms; the count goes on meanwhile. */
#define STRAY_WARN_INTERVAL_MS 60000

struct stray;

/* NULL when out of memory. */
struct stray *stray_new(void);
void stray_free(struct stray *sy);

/* id was written to the XMPP stream. */
void stray_sent(struct stray *sy, const char *id);

/* Whether id is one of the last STRAY_RING written. */
int stray_was_sent(const struct stray *sy, const char *id);

/* An answer (what: "iq reply", "receipt", ...) for id from from came in,
 * and this bridge never wrote id: count it, and warn (rate-limited) that
 * another bridge is probably connected for domain. */
void stray_seen(struct stray *sy, const char *what, const char *id,
    const char *from, const char *domain);

/* How many were seen, and when the last one was (Unix seconds; 0: never). */
unsigned long stray_count(const struct stray *sy);
int64_t stray_last_unix(const struct stray *sy);

#endif
