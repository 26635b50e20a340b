/*
 * The capped growable buffer (buf.h).  len + n is checked for wrapping
 * before it is compared with the cap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t first, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->first = first > 0 ? first : 1;
	b->max = max;
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t want, cap;
	uint8_t *nb;

	if (n > SIZE_MAX - b->len || (want = b->len + n) > b->max) {
		errno = EMSGSIZE;
		return -1;
	}
	if (want <= b->cap)
		return 0;
	cap = b->cap > 0 ? b->cap : b->first > 0 ? b->first : 1;
	while (cap < want && cap <= b->max / 2)
		cap *= 2;
	/* Doubling would pass max, or the first size does: max holds want. */
	if (cap < want || cap > b->max)
		cap = b->max;
	if ((nb = realloc(b->data, cap)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	b->data = nb;
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

size_t
buf_room(const struct buf *b)
{
	return b->cap - b->len;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
