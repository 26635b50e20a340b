/*
 * The spool in memory: one queue per (URL, sender) holding its messages
 * by seq, a hash table to find a queue, and a heap of the due queues
 * saying which to try next; the spool's figures, and the back-off
 * between tries.  No file is touched here.
 */
#include <stdlib.h>
#include <string.h>

#include "spool_priv.h"

static unsigned
hash_key(const char *url, const char *from)
{
	uint32_t h = 2166136261U;

	for (const char *p = url; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619U;
	h = (h ^ 0xffU) * 16777619U;
	for (const char *p = from; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619U;
	return h % SPOOL_BUCKETS;
}

struct spool_queue *
spool_queue_find(struct spool *sp, const char *url, const char *from)
{
	struct spool_queue *q;

	LIST_FOREACH(q, &sp->bucket[hash_key(url, from)], hlink)
		if (strcmp(q->url, url) == 0 && strcmp(q->from, from) == 0)
			return q;
	return NULL;
}

static void
heap_swap(struct spool *sp, size_t a, size_t b)
{
	struct spool_queue *t = sp->heap[a];

	sp->heap[a] = sp->heap[b];
	sp->heap[b] = t;
	sp->heap[a]->slot = a;
	sp->heap[b]->slot = b;
}

static void
heap_up(struct spool *sp, size_t i)
{
	while (i > 0 && sp->heap[(i - 1) / 2]->due > sp->heap[i]->due) {
		heap_swap(sp, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct spool *sp, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < sp->nheap && sp->heap[l]->due < sp->heap[m]->due)
			m = l;
		if (r < sp->nheap && sp->heap[r]->due < sp->heap[m]->due)
			m = r;
		if (m == i)
			return;
		heap_swap(sp, i, m);
		i = m;
	}
}

static void
heap_remove(struct spool *sp, struct spool_queue *q)
{
	size_t i = q->slot;

	q->due = 0;
	if (i >= sp->nheap || sp->heap[i] != q)
		return;
	sp->nheap--;
	if (i == sp->nheap)
		return;
	sp->heap[i] = sp->heap[sp->nheap];
	sp->heap[i]->slot = i;
	heap_up(sp, i);
	heap_down(sp, i);
}

void
spool_schedule(struct spool *sp, struct spool_queue *q, int64_t when)
{
	int64_t old = q->due;

	if (when <= 0)
		when = 1;
	q->due = when;
	if (old == 0) {
		/* spool_queue_new made room: one slot per queue. */
		q->slot = sp->nheap;
		sp->heap[sp->nheap++] = q;
		heap_up(sp, q->slot);
	} else if (when < old) {
		heap_up(sp, q->slot);
	} else {
		heap_down(sp, q->slot);
	}
}

struct spool_queue *
spool_due(struct spool *sp, int64_t now)
{
	struct spool_queue *q;

	if (sp->nheap == 0 || sp->heap[0]->due > now)
		return NULL;
	q = sp->heap[0];
	heap_remove(sp, q);
	return q;
}

int64_t
spool_next_due(const struct spool *sp)
{
	return sp->nheap > 0 ? sp->heap[0]->due : 0;
}

struct spool_queue *
spool_queue_new(struct spool *sp, const char *url, const char *from)
{
	struct spool_queue *q;

	if (sp->nq + 1 > sp->capheap) {
		size_t cap = sp->capheap ? sp->capheap * 2 : 64;
		struct spool_queue **nh;

		/* An array of pointers: a pointer's size is meant. */
		/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
		nh = realloc(sp->heap, cap * sizeof(*nh));
		if (nh == NULL)
			return NULL;
		sp->heap = nh;
		sp->capheap = cap;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->url = strdup(url)) == NULL ||
	    (q->from = strdup(from)) == NULL) {
		if (q)
			free(q->url);
		free(q);
		return NULL;
	}
	TAILQ_INIT(&q->msgs);
	LIST_INSERT_HEAD(&sp->bucket[hash_key(url, from)], q, hlink);
	sp->nq++;
	return q;
}

void
spool_queue_free(struct spool *sp, struct spool_queue *q)
{
	struct spool_msg *m;

	LIST_REMOVE(q, hlink);
	if (q->due != 0)
		heap_remove(sp, q);
	while ((m = TAILQ_FIRST(&q->msgs)) != NULL) {
		TAILQ_REMOVE(&q->msgs, m, link);
		free(m);
	}
	free(q->url);
	free(q->from);
	free(q);
	sp->nq--;
}

/* Puts m in q by seq; usually at the end, so the scan starts there. */
void
spool_queue_insert(struct spool_queue *q, struct spool_msg *m)
{
	struct spool_msg *after = TAILQ_LAST(&q->msgs, spool_msgs);

	while (after && after->seq > m->seq)
		after = TAILQ_PREV(after, spool_msgs, link);
	m->q = q;
	if (after)
		TAILQ_INSERT_AFTER(&q->msgs, after, m, link);
	else
		TAILQ_INSERT_HEAD(&q->msgs, m, link);
	q->n++;
}

struct spool_queue *
spool_forget(struct spool *sp, struct spool_msg *m)
{
	struct spool_queue *q = m->q;

	TAILQ_REMOVE(&q->msgs, m, link);
	q->n--;
	sp->used -= m->bytes;
	sp->count--;
	free(m);
	if (q->n > 0)
		return q;
	spool_queue_free(sp, q);
	return NULL;
}

/* ---- figures ---- */

size_t
spool_count(const struct spool *sp)
{
	return sp->count;
}

unsigned long long
spool_bytes(const struct spool *sp)
{
	return sp->used;
}

size_t
spool_nqueues(const struct spool *sp)
{
	return sp->nq;
}

int64_t
spool_backoff_ms(unsigned long min_s, unsigned long max_s, unsigned attempts,
    unsigned long retry_after_s, uint32_t rnd)
{
	int64_t lo = (int64_t)min_s * 1000, hi = (int64_t)max_s * 1000, d = lo;

	if (hi < lo)
		hi = lo;
	for (unsigned i = 1; i < attempts && d < hi; i++)
		d *= 2;
	if (d > hi)
		d = hi;
	/* Jitter, so that queues that failed together spread out. */
	d = d / 2 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
	if (d < lo)
		d = lo;
	if (retry_after_s > 0) {
		int64_t ra =
		    (int64_t)(retry_after_s < max_s ? retry_after_s : max_s) *
		    1000;

		if (d < ra)
			d = ra;
	}
	return d;
}
