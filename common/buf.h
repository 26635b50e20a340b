/*
 * A growable byte buffer with a hard cap.  It grows by doubling, from a
 * first size the owner picks, and never past its cap: whatever a peer
 * sends, the memory it can make us hold is bounded before it is
 * allocated.  The struct's owner frees it with buf_free; the bytes are
 * data[0..len).
 */
#ifndef XR_BUF_H
#define XR_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;   /* bytes held */
	size_t cap;   /* bytes allocated */
	size_t first; /* the first allocation's size */
	size_t max;   /* cap never passes this */
};

/* An empty buffer; nothing is allocated until the first byte. */
void buf_init(struct buf *b, size_t first, size_t max);
/* The same, as an initializer for a static struct buf. */
#define BUF_INIT(first, max)               \
	{                                  \
		NULL, 0, 0, (first), (max) \
	}

/*
 * Makes room for n more bytes: 0, or -1 with errno EMSGSIZE (len + n
 * would pass max) or ENOMEM.  The buffer is unchanged on -1.
 */
int buf_reserve(struct buf *b, size_t n);

/* Appends n bytes: 0, or -1 as buf_reserve (nothing appended). */
int buf_append(struct buf *b, const void *p, size_t n);

/* Room after the bytes held (cap - len); buf_reserve first to get any. */
size_t buf_room(const struct buf *b);

/* Drops the first n bytes (at most len), keeping the rest in order. */
void buf_consume(struct buf *b, size_t n);

/* Forgets the bytes held, keeping the allocation. */
void buf_reset(struct buf *b);

/* Frees the bytes; b is empty and may be used again. */
void buf_free(struct buf *b);

#endif
