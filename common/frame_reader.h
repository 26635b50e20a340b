/*
 * Reassembles frames (proto.h) from a byte stream: bytes go in as they
 * arrive, from read() on a descriptor or fed by the caller, and whole
 * frames come out one at a time.  The buffer never holds more than one
 * largest frame: a frame whose header claims more is refused as soon as
 * the header is in, before its payload is read.
 */
#ifndef XR_FRAME_READER_H
#define XR_FRAME_READER_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "proto.h"

struct frame_reader {
	struct buf in;
	size_t off;     /* bytes of in already handed out as frames */
	unsigned types; /* the frame types taken (FRAME_TYPE_BIT) */
};

enum fr_rc {
	FR_FRAME = 1,      /* *f holds the next frame (frame_clear it) */
	FR_MORE = 0,       /* no whole frame yet */
	FR_MALFORMED = -1, /* the bytes can never become a frame */
	FR_TOO_BIG = -2    /* a frame larger than the reader takes */
};

/* Takes frames of the given types (FRAME_TYPES_SOCKET on the responders'
 * socket) with at most max_payload (<= XR_FRAME_MAX) payload bytes. */
void fr_init(struct frame_reader *fr, size_t max_payload, unsigned types);

/*
 * One read() from fd into the buffer, retrying EINTR: the bytes read,
 * 0 at the end of the stream, or -1 with errno (EMSGSIZE: the buffer is
 * full, which fr_next has reported as FR_TOO_BIG).  With filled, says
 * whether the read took all the room offered, so more may be waiting.
 */
ssize_t fr_read(struct frame_reader *fr, int fd, int *filled);

/* Appends n bytes as if read: 0, or -1 with errno as buf_reserve. */
int fr_feed(struct frame_reader *fr, const void *p, size_t n);

/* The next whole frame; err says why on FR_MALFORMED and FR_TOO_BIG. */
enum fr_rc fr_next(
    struct frame_reader *fr, struct frame *f, char *err, size_t errlen);

/* Bytes buffered that are not yet part of a frame handed out. */
size_t fr_pending(const struct frame_reader *fr);

/* Forgets what is buffered (a stream given up on). */
void fr_reset(struct frame_reader *fr);

void fr_free(struct frame_reader *fr);

#endif
