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

/* cppcheck sees the lists' members used only through the macros. */
/* cppcheck-suppress unusedStructMember */
LIST_HEAD(pending_list, pending);

struct track {
	struct pending_list buckets[NBUCKETS];
	struct pending_list all;
	/* cppcheck-suppress unusedStructMember */
	TAILQ_HEAD(pending_fifo, pending) fifo;
	unsigned long count, queued;
};

static size_t
bucket_of(const char *id)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % NBUCKETS;
}

struct track *
track_new(void)
{
	struct track *tr = calloc(1, sizeof(*tr));

	if (tr == NULL)
		return NULL;
	for (size_t i = 0; i < NBUCKETS; i++)
		LIST_INIT(&tr->buckets[i]);
	LIST_INIT(&tr->all);
	TAILQ_INIT(&tr->fifo);
	return tr;
}

void
track_free(struct track *tr)
{
	struct pending *p;

	if (tr == NULL)
		return;
	while ((p = track_any(tr)) != NULL)
		pending_free(p);
	free(tr);
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
fifo_unlink(struct track *tr, struct pending *p)
{
	if (!p->in_fifo)
		return;
	TAILQ_REMOVE(&tr->fifo, p, fifo);
	p->in_fifo = 0;
	tr->queued--;
}

static void
unlink_pending(struct track *tr, struct pending *p)
{
	fifo_unlink(tr, p);
	LIST_REMOVE(p, hlink);
	LIST_REMOVE(p, link);
	tr->count--;
}

int
track_add(struct track *tr, struct client *cl, uint32_t seq, enum wait_for what,
    const char *id, const char *to, const char *raw, size_t rawlen,
    int64_t deadline, int64_t hold_until)
{
	size_t b = bucket_of(id);
	struct pending *p;

	/* Plain messages may repeat an id (a client's retry): only waits
	 * for an answer must be told apart. */
	LIST_FOREACH(p, &tr->buckets[b], hlink) {
		if (what != WAIT_SENT && p->what != WAIT_SENT &&
		    strcmp(p->id, id) == 0 && jid_equal(p->to, to)) {
			errno = EEXIST;
			return -1;
		}
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->id = strdup(id)) == NULL || (p->to = strdup(to)) == NULL ||
	    (p->raw = malloc(rawlen + 1)) == NULL) {
		pending_free(p);
		errno = ENOMEM;
		return -1;
	}
	memcpy(p->raw, raw, rawlen);
	p->raw[rawlen] = '\0';
	p->rawlen = rawlen;
	p->cl = cl;
	p->seq = seq;
	p->what = what;
	p->state = P_HELD;
	p->deadline = deadline;
	p->hold_until = hold_until;
	TAILQ_INSERT_TAIL(&tr->fifo, p, fifo);
	p->in_fifo = 1;
	tr->queued++;
	LIST_INSERT_HEAD(&tr->buckets[b], p, hlink);
	LIST_INSERT_HEAD(&tr->all, p, link);
	tr->count++;
	return 0;
}

struct pending *
track_match(
    struct track *tr, enum wait_for what, const char *id, const char *from)
{
	struct pending *p;

	if (id == NULL)
		return NULL;
	LIST_FOREACH(p, &tr->buckets[bucket_of(id)], hlink) {
		/* Nothing answers a stanza that was not written yet. */
		if (p->what == what && p->state != P_HELD &&
		    strcmp(p->id, id) == 0 && answers(from, p->to)) {
			unlink_pending(tr, p);
			return p;
		}
	}
	return NULL;
}

struct pending *
track_fifo_head(const struct track *tr)
{
	return TAILQ_FIRST(&tr->fifo);
}

struct pending *
track_fifo_next(const struct pending *p)
{
	return TAILQ_NEXT(p, fifo);
}

void
track_acked(struct track *tr, struct pending *p)
{
	fifo_unlink(tr, p);
	p->state = P_ACKED;
	free(p->raw);
	p->raw = NULL;
	p->rawlen = 0;
}

void
track_requeue(struct track *tr, int64_t hold_until)
{
	struct pending *p;

	TAILQ_FOREACH(p, &tr->fifo, fifo) {
		if (p->state == P_UNACKED) {
			p->state = P_HELD;
			p->batch = 0;
			p->hold_until = hold_until;
		}
	}
}

void
track_remove(struct track *tr, struct pending *p)
{
	unlink_pending(tr, p);
}

unsigned long
track_queued(const struct track *tr)
{
	return tr->queued;
}

struct pending *
track_take_acked(struct track *tr)
{
	struct pending *p;

	LIST_FOREACH(p, &tr->all, link) {
		if (p->state == P_ACKED) {
			unlink_pending(tr, p);
			return p;
		}
	}
	return NULL;
}

/* The earlier of p's deadlines. */
static int64_t
due(const struct pending *p)
{
	if (p->state == P_HELD && p->hold_until != 0 &&
	    p->hold_until < p->deadline)
		return p->hold_until;
	return p->deadline;
}

struct pending *
track_expired(struct track *tr, int64_t now)
{
	struct pending *p;

	LIST_FOREACH(p, &tr->all, link) {
		if (due(p) <= now) {
			unlink_pending(tr, p);
			return p;
		}
	}
	return NULL;
}

struct pending *
track_any(struct track *tr)
{
	struct pending *p = LIST_FIRST(&tr->all);

	if (p)
		unlink_pending(tr, p);
	return p;
}

void
track_drop_client(struct track *tr, const struct client *cl)
{
	struct pending *p = LIST_FIRST(&tr->all), *next;

	for (; p; p = next) {
		next = LIST_NEXT(p, link);
		if (p->cl != cl)
			continue;
		if (p->state == P_UNACKED) {
			p->cl = NULL;
			continue;
		}
		unlink_pending(tr, p);
		pending_free(p);
	}
}

int64_t
track_next_deadline(const struct track *tr)
{
	int64_t min = 0;
	const struct pending *p;

	LIST_FOREACH(p, &tr->all, link) {
		if (min == 0 || due(p) < min)
			min = due(p);
	}
	return min;
}

unsigned long
track_count(const struct track *tr)
{
	return tr->count;
}

void
pending_free(struct pending *p)
{
	if (p == NULL)
		return;
	free(p->id);
	free(p->to);
	free(p->raw);
	free(p);
}
