/*
 * Frame encoding and decoding (the format is described in proto.h).  All
 * integers are written byte by byte, so neither alignment nor the host's
 * byte order matters; every length is checked against what is left of
 * the buffer and against XR_FRAME_MAX before it is used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define FIELD_HDR 5  /* tag byte + u32 length */
#define FO_FIRST 512 /* a frame_out's first size: most outcomes fit */

static const char *const outcome_names[OUTCOME_COUNT] = {
    [OUTCOME_SENT] = "sent",
    [OUTCOME_REPLY] = "reply",
    [OUTCOME_ERROR] = "error",
    [OUTCOME_TIMEOUT] = "timeout",
    [OUTCOME_UNAVAILABLE] = "unavailable",
    [OUTCOME_REJECTED] = "rejected",
    [OUTCOME_BUSY] = "busy",
    [OUTCOME_UNAUTHORIZED] = "unauthorized",
    [OUTCOME_FORBIDDEN] = "forbidden",
    [OUTCOME_THROTTLED] = "throttled",
    [OUTCOME_STREAM_CLOSED] = "stream-closed",
};

static const char *const wait_names[WAIT_COUNT] = {
    [WAIT_IQ_REPLY] = "reply",
    [WAIT_RECEIPT] = "receipt",
    [WAIT_SENT] = "sent",
};

const char *
wait_name(enum wait_for w)
{
	return (unsigned)w < WAIT_COUNT ? wait_names[w] : "unknown";
}

int
wait_parse(const char *name, enum wait_for *out)
{
	for (int i = 0; i < WAIT_COUNT; i++) {
		if (strcmp(name, wait_names[i]) == 0) {
			*out = (enum wait_for)i;
			return 0;
		}
	}
	return -1;
}

const char *
outcome_name(enum outcome o)
{
	return (unsigned)o < OUTCOME_COUNT ? outcome_names[o] : "unknown";
}

int
outcome_parse(const char *name, enum outcome *out)
{
	for (int i = 0; i < OUTCOME_COUNT; i++) {
		if (strcmp(name, outcome_names[i]) == 0) {
			*out = (enum outcome)i;
			return 0;
		}
	}
	return -1;
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Makes room for n more bytes; a frame never grows past the limit. */
static int
fo_reserve(struct frame_out *fo, size_t n)
{
	if (fo->failed)
		return -1;
	if (buf_reserve(&fo->b, n) < 0) {
		fo->failed = errno == ENOMEM ? 1 : 2;
		return -1;
	}
	return 0;
}

void
frame_begin(struct frame_out *fo, enum frame_type type, uint32_t seq)
{
	uint8_t hdr[XR_FRAME_HDR] = {'X', 'R', XR_PROTO_VERSION, (uint8_t)type};

	/* A struct frame_out = {0} is new; one used before keeps its
	 * allocation. */
	if (fo->b.max == 0)
		buf_init(&fo->b, FO_FIRST, XR_FRAME_HDR + XR_FRAME_MAX);
	buf_reset(&fo->b);
	fo->failed = 0;
	put_u32(hdr + 4, seq);
	if (fo_reserve(fo, XR_FRAME_HDR) == 0)
		(void)buf_append(&fo->b, hdr, sizeof(hdr));
}

void
frame_put(struct frame_out *fo, enum field tag, const char *v, size_t n)
{
	uint8_t hdr[FIELD_HDR] = {(uint8_t)tag};

	if (n > XR_FRAME_MAX || fo_reserve(fo, FIELD_HDR + n) < 0) {
		fo->failed = fo->failed ? fo->failed : 2;
		return;
	}
	put_u32(hdr + 1, (uint32_t)n);
	(void)buf_append(&fo->b, hdr, sizeof(hdr));
	(void)buf_append(&fo->b, v, n);
}

void
frame_put_str(struct frame_out *fo, enum field tag, const char *s)
{
	if (s != NULL)
		frame_put(fo, tag, s, strlen(s));
}

void
frame_put_uint(struct frame_out *fo, enum field tag, unsigned long v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lu", v);

	frame_put(fo, tag, num, (size_t)n);
}

int
frame_finish(struct frame_out *fo, char *err, size_t errlen)
{
	if (fo->failed || fo->b.len < XR_FRAME_HDR) {
		snprintf(err, errlen, "%s",
		    fo->failed == 1 ? "out of memory"
				    : "frame larger than the protocol limit");
		return -1;
	}
	put_u32(fo->b.data + 8, (uint32_t)(fo->b.len - XR_FRAME_HDR));
	return 0;
}

void
frame_out_free(struct frame_out *fo)
{
	buf_free(&fo->b);
	memset(fo, 0, sizeof(*fo));
}

/* Checks the field layout of a payload; fills f's pointers when f->data. */
static int
fields_walk(
    const uint8_t *p, size_t len, struct frame *f, char *err, size_t errlen)
{
	size_t off = 0, out = 0;

	while (off < len) {
		uint8_t tag;
		uint32_t flen;

		if (len - off < FIELD_HDR) {
			snprintf(err, errlen, "truncated field header");
			return -1;
		}
		tag = p[off];
		flen = get_u32(p + off + 1);
		off += FIELD_HDR;
		if (flen > len - off) {
			snprintf(err, errlen,
			    "field %u claims %u bytes; %zu remain", tag,
			    (unsigned)flen, len - off);
			return -1;
		}
		if (memchr(p + off, '\0', flen) != NULL) {
			snprintf(
			    err, errlen, "field %u contains a NUL byte", tag);
			return -1;
		}
		if (tag > 0 && tag < FIELD_MAX) {
			if (f->field[tag] != NULL) {
				snprintf(err, errlen, "field %u repeated", tag);
				return -1;
			}
			memcpy(f->data + out, p + off, flen);
			f->data[out + flen] = '\0';
			f->field[tag] = f->data + out;
			f->flen[tag] = flen;
			out += flen + 1;
		}
		off += flen;
	}
	return 0;
}

/*
 * Why a frame of type t is refused here.  The worker channel's type is
 * named, so that a peer who sends one learns it is not for this socket.
 */
static void
type_refused(unsigned t, char *err, size_t errlen)
{
	static const char *const names[] = {[FRAME_SUBMIT] = "submit",
	    [FRAME_OUTCOME] = "outcome",
	    [3] = "delivery",
	    [FRAME_STATUS] = "status"};

	if (t < sizeof(names) / sizeof(names[0]) && names[t] != NULL)
		snprintf(err, errlen, "a %s frame (type %u) is not taken here",
		    names[t], t);
	else
		snprintf(err, errlen, "unknown frame type %u", t);
}

ssize_t
frame_decode(
    const uint8_t *buf, size_t len, struct frame *f, char *err, size_t errlen)
{
	return frame_decode_types(buf, len, FRAME_TYPES_SOCKET, f, err, errlen);
}

ssize_t
frame_decode_types(const uint8_t *buf, size_t len, unsigned types,
    struct frame *f, char *err, size_t errlen)
{
	uint32_t plen;

	memset(f, 0, sizeof(*f));
	/* Refuse garbage as soon as the first bytes show it. */
	if ((len > 0 && buf[0] != 'X') || (len > 1 && buf[1] != 'R')) {
		snprintf(err, errlen, "bad frame magic");
		return -1;
	}
	if (len > 2 && buf[2] != XR_PROTO_VERSION) {
		snprintf(err, errlen,
		    "protocol version %u; this side speaks %u",
		    (unsigned)buf[2], (unsigned)XR_PROTO_VERSION);
		return -1;
	}
	if (len < XR_FRAME_HDR)
		return 0;
	if (buf[3] >= 32 || !(types & FRAME_TYPE_BIT(buf[3]))) {
		type_refused(buf[3], err, errlen);
		return -1;
	}
	plen = get_u32(buf + 8);
	if (plen > XR_FRAME_MAX) {
		snprintf(err, errlen, "frame of %u bytes; limit is %u",
		    (unsigned)plen, (unsigned)XR_FRAME_MAX);
		return FRAME_TOO_BIG;
	}
	if (len - XR_FRAME_HDR < plen)
		return 0;
	/* Each field keeps its bytes plus a NUL: never more than plen + 1. */
	if ((f->data = malloc((size_t)plen + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (fields_walk(buf + XR_FRAME_HDR, plen, f, err, errlen) < 0) {
		frame_clear(f);
		return -1;
	}
	f->type = buf[3];
	f->seq = get_u32(buf + 4);
	return (ssize_t)(XR_FRAME_HDR + plen);
}

size_t
frame_size(const uint8_t *buf, size_t len)
{
	if (len < XR_FRAME_HDR)
		return 0;
	return XR_FRAME_HDR + (size_t)get_u32(buf + 8);
}

const char *
frame_get(const struct frame *f, enum field tag)
{
	if ((unsigned)tag >= FIELD_MAX)
		return NULL;
	return f->field[tag];
}

void
frame_clear(struct frame *f)
{
	free(f->data);
	memset(f, 0, sizeof(*f));
}
