/*
 * Per-credential send rates: a token bucket for each credential that has
 * one (`token add … --rate N/s`), in memory only.  The bucket holds N
 * sends (the burst) and refills at N per second, so a steady sender gets
 * N/s and an idle one may send N at once.
 */
#ifndef XR_RATE_H
#define XR_RATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#define RATE_MAX 1000000UL /* sends per second a credential may be given */

struct rate_bucket {
	unsigned long per_s; /* the rate it was filled for */
	uint64_t milli;      /* thousandths of a send in the bucket */
	int64_t last_ms;     /* when it was last refilled */
};

/* "N/s" (N from 1 to RATE_MAX) into *per_s: 0, or -1 with why in err. */
int rate_parse(const char *s, unsigned long *per_s, char *err, size_t errlen);

/*
 * Takes one send from b at now_ms for a rate of per_s: 0 if allowed,
 * else the whole seconds (at least 1) until one is there.  A bucket seen
 * for the first time, or with another rate, starts full.
 */
unsigned long rate_take(
    struct rate_bucket *b, unsigned long per_s, int64_t now_ms);

/* One slot of the table: the entries whose names hash to it. */
SLIST_HEAD(rate_chain, rate_entry);

/* Buckets by credential name; created on first use, freed together. */
struct rate_table {
	struct rate_chain *slot; /* nslots of them, a power of two */
	size_t nslots, n;
};

/* The bucket for name (created empty-state), or NULL when out of memory. */
struct rate_bucket *rate_table_get(struct rate_table *t, const char *name);
void rate_table_free(struct rate_table *t);

#endif
