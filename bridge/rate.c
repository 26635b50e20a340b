/*
 * Token buckets in integer arithmetic: a bucket counts thousandths of a
 * send, so a rate of N/s refills N of them each millisecond and no
 * rounding drifts.  The table is a chained hash keyed by credential name;
 * it grows (doubling) so a lookup stays short whatever the number of
 * credentials.  Entries of credentials revoked since stay until the
 * bridge restarts: a few bytes each, at most one per name ever used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rate.h"
#include "util.h"

#define MILLI 1000U

struct rate_entry {
	SLIST_ENTRY(rate_entry) link; /* in its slot's chain */
	struct rate_bucket b;
	char name[]; /* NUL-ended */
};

int
rate_parse(const char *s, unsigned long *per_s, char *err, size_t errlen)
{
	const char *slash = strchr(s, '/');
	char num[16];
	size_t n = slash ? (size_t)(slash - s) : 0;
	unsigned long long v;

	if (slash == NULL || strcmp(slash, "/s") != 0 || n == 0 ||
	    n >= sizeof(num)) {
		/* Not echoed: the value may hold any byte of a file, and
		 * errors reach logs (fuzz_creds found it). */
		snprintf(err, errlen, "a rate is N/s (sends per second)");
		return -1;
	}
	memcpy(num, s, n);
	num[n] = '\0';
	if (xr_parse_uint(num, 1, RATE_MAX, &v) < 0) {
		snprintf(
		    err, errlen, "in a rate N/s, N must be 1 to %lu", RATE_MAX);
		return -1;
	}
	*per_s = (unsigned long)v;
	return 0;
}

unsigned long
rate_take(struct rate_bucket *b, unsigned long per_s, int64_t now_ms)
{
	uint64_t cap = (uint64_t)per_s * MILLI, need, wait_ms;

	if (b->per_s != per_s) {
		b->per_s = per_s;
		b->milli = cap;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		uint64_t add = (uint64_t)(now_ms - b->last_ms) * per_s;

		b->milli = add >= cap - b->milli ? cap : b->milli + add;
		b->last_ms = now_ms;
	}
	if (b->milli >= MILLI) {
		b->milli -= MILLI;
		return 0;
	}
	need = MILLI - b->milli;
	wait_ms = (need + per_s - 1) / per_s;
	return wait_ms < 1000 ? 1 : (unsigned long)((wait_ms + 999) / 1000);
}

static size_t
hash_name(const char *s, size_t nslots)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h & (nslots - 1);
}

/* Doubles the slots (a power of two); -1 when out of memory. */
static int
grow(struct rate_table *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 64;
	struct rate_chain *slot = calloc(ns, sizeof(*slot));
	struct rate_entry *e;

	if (slot == NULL)
		return -1;
	for (size_t i = 0; i < ns; i++)
		SLIST_INIT(&slot[i]);
	for (size_t i = 0; i < t->nslots; i++) {
		while ((e = SLIST_FIRST(&t->slot[i])) != NULL) {
			SLIST_REMOVE_HEAD(&t->slot[i], link);
			SLIST_INSERT_HEAD(
			    &slot[hash_name(e->name, ns)], e, link);
		}
	}
	free(t->slot);
	t->slot = slot;
	t->nslots = ns;
	return 0;
}

struct rate_bucket *
rate_table_get(struct rate_table *t, const char *name)
{
	struct rate_entry *e;
	size_t len = strlen(name);

	if (t->nslots > 0) {
		SLIST_FOREACH(e, &t->slot[hash_name(name, t->nslots)], link)
			if (strcmp(e->name, name) == 0)
				return &e->b;
	}
	if (t->n >= t->nslots && grow(t) < 0)
		return NULL;
	if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL)
		return NULL;
	memcpy(e->name, name, len + 1);
	SLIST_INSERT_HEAD(&t->slot[hash_name(name, t->nslots)], e, link);
	t->n++;
	return &e->b;
}

void
rate_table_free(struct rate_table *t)
{
	for (size_t i = 0; i < t->nslots; i++) {
		struct rate_entry *e;

		while ((e = SLIST_FIRST(&t->slot[i])) != NULL) {
			SLIST_REMOVE_HEAD(&t->slot[i], link);
			free(e);
		}
	}
	free(t->slot);
	memset(t, 0, sizeof(*t));
}
