/*
 * The frame reader (frame_reader.h).  Frames handed out are only marked
 * as used; the bytes after them move to the front before the next read,
 * so a read of several frames costs one move, not one per frame.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frame_reader.h"

#define FR_FIRST 4096 /* the buffer's first size: most frames fit */

void
fr_init(struct frame_reader *fr, size_t max_payload, unsigned types)
{
	if (max_payload > XR_FRAME_MAX)
		max_payload = XR_FRAME_MAX;
	buf_init(&fr->in, FR_FIRST, XR_FRAME_HDR + max_payload);
	fr->off = 0;
	fr->types = types;
}

static void
compact(struct frame_reader *fr)
{
	if (fr->off > 0) {
		buf_consume(&fr->in, fr->off);
		fr->off = 0;
	}
}

ssize_t
fr_read(struct frame_reader *fr, int fd, int *filled)
{
	size_t room;
	ssize_t n;

	if (filled != NULL)
		*filled = 0;
	compact(fr);
	if (buf_reserve(&fr->in, 1) < 0)
		return -1;
	room = buf_room(&fr->in);
	do
		n = read(fd, fr->in.data + fr->in.len, room);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		fr->in.len += (size_t)n;
		if (filled != NULL)
			*filled = (size_t)n == room;
	}
	return n;
}

int
fr_feed(struct frame_reader *fr, const void *p, size_t n)
{
	compact(fr);
	return buf_append(&fr->in, p, n);
}

enum fr_rc
fr_next(struct frame_reader *fr, struct frame *f, char *err, size_t errlen)
{
	size_t len = fr->in.len - fr->off, want;
	const uint8_t *p;
	ssize_t n;

	if (len == 0) {
		memset(f, 0, sizeof(*f));
		return FR_MORE;
	}
	p = fr->in.data + fr->off;
	n = frame_decode_types(p, len, fr->types, f, err, errlen);
	if (n > 0) {
		fr->off += (size_t)n;
		if (fr->off == fr->in.len) {
			fr->off = 0;
			buf_reset(&fr->in);
		}
		return FR_FRAME;
	}
	if (n == FRAME_TOO_BIG)
		return FR_TOO_BIG;
	if (n < 0)
		return FR_MALFORMED;
	if ((want = frame_size(p, len)) > fr->in.max) {
		snprintf(err, errlen, "frame of %zu bytes; limit is %zu",
		    want - XR_FRAME_HDR, fr->in.max - XR_FRAME_HDR);
		return FR_TOO_BIG;
	}
	return FR_MORE;
}

size_t
fr_pending(const struct frame_reader *fr)
{
	return fr->in.len - fr->off;
}

void
fr_reset(struct frame_reader *fr)
{
	buf_reset(&fr->in);
	fr->off = 0;
}

void
fr_free(struct frame_reader *fr)
{
	buf_free(&fr->in);
	fr->off = 0;
}
