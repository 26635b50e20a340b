/*
 * The bridge's state for `xmpp-restd status` and the status frame: no
 * secrets, nothing about who asked.  The parts report their figures into
 * struct status_report; this file only writes the document.
 */
#ifndef XR_STATUS_H
#define XR_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "incoming.h"
#include "outgoing.h"
#include "proto.h"

struct status_report {
	int64_t uptime_s;
	const char *jid;
	int up;
	const char *down_reason; /* "" while up */
	struct out_stats out;
	unsigned long stray_answers;
	int64_t stray_last_seen; /* unix s; 0: never */
	unsigned long queue_max;
	unsigned long responders;
	int webhook;
	struct in_stats in;
	const unsigned long *answered; /* OUTCOME_COUNT counters */
};

/* The report as a JSON document (malloc'd), or NULL without memory. */
char *status_json(const struct status_report *r, size_t *len);

#endif
