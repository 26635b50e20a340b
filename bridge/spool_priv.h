/*
 * What the files of the spool (spool.c, spool_format.c, spool_queue.c,
 * spool_load.c) share and nobody else uses: the spool's struct, the file
 * format's reader and writer, and the queue operations the writer and
 * the loader both need.
 */
#ifndef XR_SPOOL_PRIV_H
#define XR_SPOOL_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "spool.h"

#define SPOOL_BUCKETS 1024
#define SPOOL_NAME_LEN 64 /* "tmp-" + 20 digits + "-" + id + ".msg", and more */
#define SPOOL_BODY_MAX (1UL << 30)

struct spool {
	char *path;
	int dfd;
	unsigned long long max, used;
	size_t count, nq;
	uint64_t next_seq;
	LIST_HEAD(, spool_queue) bucket[SPOOL_BUCKETS];
	struct spool_queue **heap;
	size_t nheap, capheap;
};

/* spool_format.c: names and headers of the files. */

/* SEQ-ID.msg, or tmp-SEQ-ID while it is being written. */
void spool_file_name(
    char *buf, size_t size, uint64_t seq, const char *id, int tmp);

/* 1 if s can be a header value: no control character (so no line break). */
int spool_clean(const char *s);

/* 1 if s is a delivery id: XR_ID_LEN letters and digits. */
int spool_valid_id(const char *s);

/* The header of m's file, as spool_parse_head reads it: its length, or
 * -1 when it does not fit. */
int spool_format_head(
    char *head, size_t size, const struct spool_meta *m, size_t len);

/*
 * Parses the header in buf[0..n) (NUL-terminated, changed in place):
 * 0 with m (pointing into buf), the body's offset and length, or -1
 * with the reason in why.
 */
int spool_parse_head(char *buf, size_t n, struct spool_meta *m, size_t *off,
    size_t *blen, char *why, size_t whylen);

/* spool_queue.c: the queues in memory. */

/* A new queue of (url, from), neither busy nor due, with a slot in the
 * due heap made ready; NULL when out of memory. */
struct spool_queue *spool_queue_new(
    struct spool *sp, const char *url, const char *from);

/* Frees q and the messages in it (not their files). */
void spool_queue_free(struct spool *sp, struct spool_queue *q);

/* Puts m in q by seq (not counted in the spool's figures: the caller
 * does that). */
void spool_queue_insert(struct spool_queue *q, struct spool_msg *m);

/* Takes m out of memory and the figures; returns its queue unless that
 * is now freed. */
struct spool_queue *spool_forget(struct spool *sp, struct spool_msg *m);

/* spool.c */

/* Renames a file NAME.bad, so that it is kept for a look but not loaded. */
void spool_rename_aside(struct spool *sp, const char *name, const char *why);

#endif
