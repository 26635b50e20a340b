/*
 * Waiting requests, in a hash table by id (chained) plus one list of all
 * of them for deadlines and client departures.  Ids are chosen by users
 * as well as by us, so one id may wait at several addressees; the pair
 * (id, addressee) is unique.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jid.h"
#include "track.h"

#define NBUCKETS 4096

static struct pending *buckets[NBUCKETS];
static struct pending *all;
static unsigned long count;

static size_t
bucket_of(const char *id)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % NBUCKETS;
}

/*
 * Does a stanza from `from` answer a request sent to `to`?  The same JID
 * does; so does a full JID under a bare `to`, because a message to
 * alice@example is received (and receipted) by one of her resources.
 */
static int
answers(const char *from, const char *to)
{
	size_t blen;

	if (from == NULL)
		return 0;
	if (jid_equal(from, to))
		return 1;
	if (strchr(to, '/') != NULL || strchr(from, '/') == NULL)
		return 0;
	blen = (size_t)(strchr(from, '/') - from);
	if (blen >= 3072)
		return 0;
	char bare[3072];
	memcpy(bare, from, blen);
	bare[blen] = '\0';
	return jid_equal(bare, to);
}

static void
unlink_pending(struct pending *p)
{
	struct pending **pp = &buckets[bucket_of(p->id)];

	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	if (p->prev)
		p->prev->next = p->next;
	else
		all = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->hnext = p->prev = p->next = NULL;
	count--;
}

int
track_add(struct client *cl, uint32_t seq, enum wait_for what, const char *id,
    const char *to, int64_t deadline)
{
	size_t b = bucket_of(id);
	struct pending *p;

	for (p = buckets[b]; p; p = p->hnext) {
		if (strcmp(p->id, id) == 0 && jid_equal(p->to, to)) {
			errno = EEXIST;
			return -1;
		}
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->id = strdup(id)) == NULL || (p->to = strdup(to)) == NULL) {
		pending_free(p);
		errno = ENOMEM;
		return -1;
	}
	p->cl = cl;
	p->seq = seq;
	p->what = what;
	p->deadline = deadline;
	p->hnext = buckets[b];
	buckets[b] = p;
	p->next = all;
	if (all)
		all->prev = p;
	all = p;
	count++;
	return 0;
}

struct pending *
track_match(enum wait_for what, const char *id, const char *from)
{
	struct pending *p;

	if (id == NULL)
		return NULL;
	for (p = buckets[bucket_of(id)]; p; p = p->hnext) {
		if (p->what == what && strcmp(p->id, id) == 0 &&
		    answers(from, p->to)) {
			unlink_pending(p);
			return p;
		}
	}
	return NULL;
}

struct pending *
track_expired(int64_t now)
{
	for (struct pending *p = all; p; p = p->next) {
		if (p->deadline <= now) {
			unlink_pending(p);
			return p;
		}
	}
	return NULL;
}

struct pending *
track_any(void)
{
	struct pending *p = all;

	if (p)
		unlink_pending(p);
	return p;
}

void
track_drop_client(const struct client *cl)
{
	struct pending *p = all, *next;

	for (; p; p = next) {
		next = p->next;
		if (p->cl == cl) {
			unlink_pending(p);
			pending_free(p);
		}
	}
}

int64_t
track_next_deadline(void)
{
	int64_t min = 0;

	for (struct pending *p = all; p; p = p->next) {
		if (min == 0 || p->deadline < min)
			min = p->deadline;
	}
	return min;
}

unsigned long
track_count(void)
{
	return count;
}

void
pending_free(struct pending *p)
{
	if (p == NULL)
		return;
	free(p->id);
	free(p->to);
	free(p);
}
