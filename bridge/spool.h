/*
 * The webhook spool: messages the webhook could not take now, one file
 * each in spool_dir (the format is described in spool_format.c), and in
 * memory their metadata only, in one queue per (URL, sender) ordered by
 * arrival.  Bodies stay on disk until an attempt reads them, so memory
 * grows with the number of spooled messages, not their size.  A due-time
 * heap says which queue to try next.  Knows nothing of XMPP or HTTP: incoming.c
 * decides what is spooled, when it is tried and what a result means.
 */
#ifndef XR_SPOOL_H
#define XR_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "util.h"

#define SPOOL_MAGIC "xmpp-rest-spool 1"
#define SPOOL_HEAD_MAX 16384 /* bytes of a file's header, blank line included */
#define SPOOL_FULL (-2)      /* spool_put: spool_max_bytes would be passed */

/* What a file records besides the body: the URL template's values. */
struct spool_meta {
	char id[XR_ID_LEN + 1]; /* X-XMPP-Rest-Delivery, kept for every try */
	uint64_t seq;           /* arrival order across the whole spool */
	int64_t first;          /* unix ms of the arrival (first attempt) */
	const char *kind, *type, *to, *from;
};

struct spool_queue;

/* One spooled message. */
struct spool_msg {
	char id[XR_ID_LEN + 1];
	uint64_t seq;
	int64_t first;     /* unix ms */
	unsigned attempts; /* made since this run loaded or spooled it */
	size_t bytes;      /* the file's size, counted in spool_max_bytes */
	size_t body_off, body_len;
	struct spool_queue *q;
	TAILQ_ENTRY(spool_msg) link; /* in q->msgs */
};

/* Spooled messages of one sender for one URL, by seq. */
struct spool_queue {
	char *url, *from;
	TAILQ_HEAD(spool_msgs, spool_msg) msgs;
	size_t n;
	int busy;    /* incoming.c: an attempt for this queue is under way */
	int64_t due; /* CLOCK_MONOTONIC ms of its next attempt; 0: none */
	size_t slot; /* its place in the due heap, when due != 0 */
	LIST_ENTRY(spool_queue) hlink; /* in its hash bucket */
};

struct spool;

/*
 * Opens dir, creating it (and missing parents) mode 0700 if need be;
 * owner/group, unless (uid_t)-1, get what is created and must own an
 * existing dir.  max_bytes caps the files' total size.  NULL with a
 * reason in err.
 */
struct spool *spool_open(const char *dir, unsigned long max_bytes, uid_t owner,
    gid_t group, char *err, size_t errlen);

/* Frees the spool's memory; the files stay for the next start. */
void spool_close(struct spool *sp);

/* Fills url (size bytes) for a loaded message; -1 to leave it on disk. */
typedef int (*spool_url_fn)(
    const struct spool_meta *m, char *url, size_t size, void *ud);

/*
 * Reads every file of the spool into the queues, in seq order, and makes
 * each queue due at due.  A file that is not a whole spool file is
 * renamed NAME.bad (an unfinished temporary one is removed), with a log
 * line naming it.  Returns how many messages were loaded, -1 (err) when
 * the directory cannot be read.
 */
long spool_load(struct spool *sp, spool_url_fn url_of, void *ud, int64_t due,
    char *err, size_t errlen);

/* A sequence number for a message arriving now. */
uint64_t spool_next_seq(struct spool *sp);

/* The queue of (url, from), or NULL when that pair has nothing spooled. */
struct spool_queue *spool_queue_find(
    struct spool *sp, const char *url, const char *from);

/*
 * Writes a message to its file (temporary name, fsync, rename, fsync of
 * the directory) and puts it in the queue of (url, m->from) by seq, which
 * is made if need be (neither busy nor due).  0 with *out set,
 * SPOOL_FULL, or -1 with a reason in err (nothing written or kept).
 */
int spool_put(struct spool *sp, const char *url, const struct spool_meta *m,
    const char *body, size_t len, struct spool_msg **out, char *err,
    size_t errlen);

/* The body of m (malloc'd, NUL-terminated), or NULL with a reason. */
char *spool_read(struct spool *sp, const struct spool_msg *m, size_t *len,
    char *err, size_t errlen);

/*
 * Deletes m's file and forgets m.  Returns its queue, or NULL when that
 * was left empty and freed (it must not be busy then).
 */
struct spool_queue *spool_remove(struct spool *sp, struct spool_msg *m);

/* As spool_remove, but renames the file NAME.bad, with a log line. */
struct spool_queue *spool_set_aside(
    struct spool *sp, struct spool_msg *m, const char *why);

/* Makes q due at when (CLOCK_MONOTONIC ms), or moves it there. */
void spool_schedule(struct spool *sp, struct spool_queue *q, int64_t when);

/* Takes the queue due first if it is due by now (no longer due), or NULL. */
struct spool_queue *spool_due(struct spool *sp, int64_t now);

/* When the first queue is due; 0 if none is. */
int64_t spool_next_due(const struct spool *sp);

size_t spool_count(const struct spool *sp);
unsigned long long spool_bytes(const struct spool *sp);
size_t spool_nqueues(const struct spool *sp);

/*
 * The wait before try number attempts + 1, in ms: min_s doubled per
 * failed attempt up to max_s, taken at random (rnd) between half and all
 * of it but never under min_s; at least retry_after_s (capped at max_s).
 */
int64_t spool_backoff_ms(unsigned long min_s, unsigned long max_s,
    unsigned attempts, unsigned long retry_after_s, uint32_t rnd);

#endif
