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
static struct pending *fifo_head, *fifo_tail;
static unsigned long count, queued;

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
fifo_unlink(struct pending *p)
{
	if (p->fprev)
		p->fprev->fnext = p->fnext;
	else if (fifo_head == p)
		fifo_head = p->fnext;
	else
		return; /* not in the FIFO */
	if (p->fnext)
		p->fnext->fprev = p->fprev;
	else
		fifo_tail = p->fprev;
	p->fprev = p->fnext = NULL;
	queued--;
}

static void
unlink_pending(struct pending *p)
{
	fifo_unlink(p);
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
    const char *to, const char *raw, size_t rawlen, int64_t deadline,
    int64_t hold_until)
{
	size_t b = bucket_of(id);
	struct pending *p;

	/* Plain messages may repeat an id (a client's retry): only waits
	 * for an answer must be told apart. */
	for (p = buckets[b]; what != WAIT_SENT && p; p = p->hnext) {
		if (p->what != WAIT_SENT && strcmp(p->id, id) == 0 &&
		    jid_equal(p->to, to)) {
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
	p->fprev = fifo_tail;
	if (fifo_tail)
		fifo_tail->fnext = p;
	else
		fifo_head = p;
	fifo_tail = p;
	queued++;
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
		/* Nothing answers a stanza that was not written yet. */
		if (p->what == what && p->state != P_HELD &&
		    strcmp(p->id, id) == 0 && answers(from, p->to)) {
			unlink_pending(p);
			return p;
		}
	}
	return NULL;
}

struct pending *
track_fifo_head(void)
{
	return fifo_head;
}

void
track_acked(struct pending *p)
{
	fifo_unlink(p);
	p->state = P_ACKED;
	free(p->raw);
	p->raw = NULL;
	p->rawlen = 0;
}

void
track_requeue(int64_t hold_until)
{
	for (struct pending *p = fifo_head; p; p = p->fnext) {
		if (p->state == P_UNACKED) {
			p->state = P_HELD;
			p->batch = 0;
			p->hold_until = hold_until;
		}
	}
}

void
track_remove(struct pending *p)
{
	unlink_pending(p);
}

unsigned long
track_queued(void)
{
	return queued;
}

struct pending *
track_take_acked(void)
{
	for (struct pending *p = all; p; p = p->next) {
		if (p->state == P_ACKED) {
			unlink_pending(p);
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
track_expired(int64_t now)
{
	for (struct pending *p = all; p; p = p->next) {
		if (due(p) <= now) {
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
		if (p->cl != cl)
			continue;
		if (p->state == P_UNACKED) {
			p->cl = NULL;
			continue;
		}
		unlink_pending(p);
		pending_free(p);
	}
}

int64_t
track_next_deadline(void)
{
	int64_t min = 0;

	for (struct pending *p = all; p; p = p->next) {
		if (min == 0 || due(p) < min)
			min = due(p);
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
	free(p->raw);
	free(p);
}
