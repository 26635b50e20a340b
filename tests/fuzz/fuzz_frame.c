/*
 * libFuzzer target for the frame decoder (common/proto.c) and the frame
 * reader (common/frame_reader.c).  The input is a byte stream as a
 * responder might send it.  It is decoded four ways:
 *
 *  - whole: frame after frame from the complete input;
 *  - byte by byte, the way the bridge's listener reassembles (decode from
 *    a growing buffer, consume whole frames, keep the rest), so every
 *    split point is a buffer end at least once;
 *  - in chunks of input-chosen sizes, and as two chunks split at an
 *    input-chosen point;
 *  - through the frame reader, in chunks of input-chosen sizes.
 *
 * The streams must agree frame for frame.  Bytes not received yet and
 * bytes already consumed are poisoned, so the decoder reading past the
 * end of what it was given (or before it) is an ASan report even though
 * the memory exists.  Every result is checked against the contract in
 * proto.h and against a small reference walk of the payload, and every
 * decoded frame is re-encoded with frame_begin/frame_put/frame_finish
 * and decoded again.  Any violation is an abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "frame_reader.h"
#include "proto.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the whole-input pass found, for the streams to agree with. */
struct whole {
	struct frame *frames;
	size_t *offs; /* where each frame starts */
	size_t *lens; /* and its length */
	size_t count;
	size_t end;  /* offset of the first byte not in a frame */
	int refused; /* frame_decode returned -1 at end */
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * An independent walk of a complete payload: 0 and the known fields if
 * the layout is valid (no truncation, no NUL, no repeated known tag),
 * else -1.
 */
static int
ref_walk(const uint8_t *p, size_t len, const uint8_t *field[FIELD_MAX],
    size_t flen[FIELD_MAX])
{
	size_t off = 0;

	memset(field, 0, sizeof(field[0]) * FIELD_MAX);
	memset(flen, 0, sizeof(flen[0]) * FIELD_MAX);
	while (off < len) {
		size_t n;
		uint8_t tag;

		if (len - off < 5)
			return -1;
		tag = p[off];
		n = be32(p + off + 1);
		off += 5;
		if (n > len - off || memchr(p + off, '\0', n) != NULL)
			return -1;
		if (tag > 0 && tag < FIELD_MAX) {
			if (field[tag] != NULL)
				return -1;
			field[tag] = p + off;
			flen[tag] = n;
		}
		off += n;
	}
	return 0;
}

/* What frame_decode must return for buf[0..len), by the rules of proto.h. */
static ssize_t
ref_verdict(const uint8_t *buf, size_t len)
{
	const uint8_t *rf[FIELD_MAX];
	size_t rl[FIELD_MAX], plen;

	if ((len > 0 && buf[0] != 'X') || (len > 1 && buf[1] != 'R') ||
	    (len > 2 && buf[2] != XR_PROTO_VERSION))
		return -1;
	if (len < XR_FRAME_HDR)
		return 0;
	if (buf[3] != FRAME_SUBMIT && buf[3] != FRAME_OUTCOME &&
	    buf[3] != FRAME_STATUS)
		return -1;
	if ((plen = be32(buf + 8)) > XR_FRAME_MAX)
		return FRAME_TOO_BIG;
	if (len - XR_FRAME_HDR < plen)
		return 0;
	if (ref_walk(buf + XR_FRAME_HDR, plen, rf, rl) < 0)
		return -1;
	return (ssize_t)(XR_FRAME_HDR + plen);
}

static void
check_empty(const struct frame *f)
{
	if (f->data != NULL || f->type != 0 || f->seq != 0)
		abort();
	for (int t = 0; t < FIELD_MAX; t++) {
		if (f->field[t] != NULL || f->flen[t] != 0)
			abort();
	}
}

/*
 * Checks one frame_decode result on buf[0..len) against the contract:
 * the count, an emptied f on 0 and -1, a reason on -1, and on success
 * fields that are exactly what the payload holds.
 */
static void
check_result(const uint8_t *buf, size_t len, ssize_t n, const struct frame *f,
    const char *err)
{
	const uint8_t *rf[FIELD_MAX];
	size_t rl[FIELD_MAX], sum = 0;

	if (n < FRAME_TOO_BIG || (n > 0 && (size_t)n > len))
		abort();
	/* Incomplete, refused or used: as the rules say, never otherwise. */
	if (n != ref_verdict(buf, len))
		abort();
	if (n <= 0) {
		check_empty(f);
		if (n < 0 && (err[0] == '\0' || strlen(err) >= XR_ERRLEN))
			abort();
		return;
	}
	if ((size_t)n < XR_FRAME_HDR ||
	    (size_t)n - XR_FRAME_HDR > XR_FRAME_MAX ||
	    be32(buf + 8) != (size_t)n - XR_FRAME_HDR || f->data == NULL)
		abort();
	if (buf[0] != 'X' || buf[1] != 'R' || buf[2] != XR_PROTO_VERSION ||
	    f->type != buf[3] || f->seq != be32(buf + 4))
		abort();
	if (f->type != FRAME_SUBMIT && f->type != FRAME_OUTCOME &&
	    f->type != FRAME_STATUS)
		abort();
	if (ref_walk(buf + XR_FRAME_HDR, (size_t)n - XR_FRAME_HDR, rf, rl) < 0)
		abort();
	if (f->field[0] != NULL || frame_get(f, FIELD_MAX) != NULL)
		abort();
	for (int t = 1; t < FIELD_MAX; t++) {
		const char *v = f->field[t];

		if (frame_get(f, (enum field)t) != v)
			abort();
		if (v == NULL) {
			if (rf[t] != NULL || f->flen[t] != 0)
				abort();
			continue;
		}
		if (rf[t] == NULL || rl[t] != f->flen[t] ||
		    f->flen[t] > XR_FRAME_MAX || v[f->flen[t]] != '\0' ||
		    memchr(v, '\0', f->flen[t]) != NULL ||
		    memcmp(v, rf[t], f->flen[t]) != 0)
			abort();
		sum += f->flen[t] + 5;
	}
	if (sum > (size_t)n - XR_FRAME_HDR)
		abort();
	/* The OUTCOME field is a name; a known name round-trips. */
	if (f->field[FIELD_OUTCOME] != NULL) {
		enum outcome o;

		if (outcome_parse(f->field[FIELD_OUTCOME], &o) == 0 &&
		    strcmp(outcome_name(o), f->field[FIELD_OUTCOME]) != 0)
			abort();
	}
}

static void
same_frame(const struct frame *a, const struct frame *b)
{
	if (a->type != b->type || a->seq != b->seq)
		abort();
	for (int t = 0; t < FIELD_MAX; t++) {
		if ((a->field[t] == NULL) != (b->field[t] == NULL) ||
		    a->flen[t] != b->flen[t])
			abort();
		if (a->field[t] != NULL &&
		    memcmp(a->field[t], b->field[t], a->flen[t] + 1) != 0)
			abort();
	}
}

static ssize_t
decode(const uint8_t *buf, size_t len, struct frame *f)
{
	char err[XR_ERRLEN];
	ssize_t n;

	err[0] = '\0';
	n = frame_decode(buf, len, f, err, sizeof(err));
	check_result(buf, len, n, f, err);
	return n;
}

/* Encodes f's known fields again; the result must decode to f. */
static void
reencode(const struct frame *f, size_t used)
{
	struct frame_out fo = {0};
	struct frame g;
	char err[XR_ERRLEN];
	ssize_t n;

	frame_begin(&fo, (enum frame_type)f->type, f->seq);
	for (int t = 1; t < FIELD_MAX; t++) {
		if (f->field[t] != NULL)
			frame_put(&fo, (enum field)t, f->field[t], f->flen[t]);
	}
	err[0] = '\0';
	if (frame_finish(&fo, err, sizeof(err)) != 0 || fo.b.len > used)
		abort();
	/* The spare capacity is not part of the frame. */
	ASAN_POISON_MEMORY_REGION(fo.b.data + fo.b.len, fo.b.cap - fo.b.len);
	n = decode(fo.b.data, fo.b.len, &g);
	if (n != (ssize_t)fo.b.len)
		abort();
	same_frame(f, &g);
	frame_clear(&g);
	/* A strict prefix of a valid frame is never refused. */
	if (decode(fo.b.data, fo.b.len / 2, &g) != 0)
		abort();
	ASAN_UNPOISON_MEMORY_REGION(fo.b.data + fo.b.len, fo.b.cap - fo.b.len);
	frame_out_free(&fo);
}

static void
whole_pass(const uint8_t *data, size_t size, struct whole *w)
{
	size_t off = 0;

	memset(w, 0, sizeof(*w));
	/* Every frame is at least a header long. */
	w->frames = calloc(size / XR_FRAME_HDR + 1, sizeof(*w->frames));
	w->offs = calloc(size / XR_FRAME_HDR + 1, sizeof(*w->offs));
	w->lens = calloc(size / XR_FRAME_HDR + 1, sizeof(*w->lens));
	if (w->frames == NULL || w->offs == NULL || w->lens == NULL)
		abort();
	while (off < size) {
		struct frame *f = &w->frames[w->count];
		ssize_t n = decode(data + off, size - off, f);

		if (n == 0)
			break;
		if (n < 0) {
			w->refused = 1;
			break;
		}
		reencode(f, (size_t)n);
		w->lens[w->count] = (size_t)n;
		w->offs[w->count++] = off;
		off += (size_t)n;
	}
	w->end = off;
}

static void
whole_free(struct whole *w)
{
	for (size_t i = 0; i < w->count; i++)
		frame_clear(&w->frames[i]);
	free(w->frames);
	free(w->offs);
	free(w->lens);
}

/*
 * Feeds data into a buffer in steps, decoding after each step the way
 * the listener does, and checks every frame and the final state against
 * the whole pass.  step 0 means byte by byte; otherwise chunk sizes come
 * from a generator seeded with step; a split > 0 feeds two chunks.
 */
static void
stream(const uint8_t *data, size_t size, const struct whole *w, uint32_t seed,
    size_t split)
{
	uint8_t *buf = malloc(size ? size : 1);
	size_t fed = 0, start = 0, idx = 0;
	int refused = 0;

	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	ASAN_POISON_MEMORY_REGION(buf, size);
	while (fed < size && !refused) {
		size_t step;

		if (split > 0)
			step = fed < split ? split : size - fed;
		else if (seed == 0)
			step = 1;
		else {
			seed = seed * 1103515245u + 12345u;
			step = (seed >> 16) % 97 + 1;
		}
		if (step > size - fed)
			step = size - fed;
		ASAN_UNPOISON_MEMORY_REGION(buf + fed, step);
		fed += step;
		while (start < fed) {
			struct frame f;
			ssize_t n = decode(buf + start, fed - start, &f);

			if (n == 0) {
				/* Only ever short of the frame the whole
				 * pass found here, or of the end. */
				if (idx < w->count &&
				    start + w->lens[idx] <= fed)
					abort();
				break;
			}
			if (n < 0) {
				/* Refused where the whole pass refuses. */
				if (!w->refused || start != w->end)
					abort();
				refused = 1;
				break;
			}
			if (idx >= w->count || w->offs[idx] != start)
				abort();
			same_frame(&f, &w->frames[idx]);
			frame_clear(&f);
			idx++;
			/* Consumed bytes are gone (the listener memmoves). */
			ASAN_POISON_MEMORY_REGION(buf + start, (size_t)n);
			start += (size_t)n;
		}
	}
	if (idx != w->count || start != w->end || refused != w->refused)
		abort();
	ASAN_UNPOISON_MEMORY_REGION(buf, size);
	free(buf);
}

/*
 * The same stream through the frame reader (common/frame_reader.c), in
 * chunks of generated sizes: it must hand out the whole pass's frames in
 * order and refuse where the whole pass refuses, as too big exactly when
 * the header claims more than XR_FRAME_MAX.
 */
static void
stream_reader(
    const uint8_t *data, size_t size, const struct whole *w, uint32_t seed)
{
	struct frame_reader fr;
	size_t fed = 0, used = 0, idx = 0;
	int refused = 0;

	fr_init(&fr, XR_FRAME_MAX, FRAME_TYPES_SOCKET);
	while (fed < size && !refused) {
		size_t step;

		seed = seed * 1103515245u + 12345u;
		step = (seed >> 16) % 61 + 1;
		if (step > size - fed)
			step = size - fed;
		if (fr_feed(&fr, data + fed, step) < 0)
			abort();
		fed += step;
		for (;;) {
			struct frame f;
			char err[XR_ERRLEN];
			enum fr_rc rc = fr_next(&fr, &f, err, sizeof(err));

			if (rc == FR_MORE)
				break;
			if (rc != FR_FRAME) {
				if (!w->refused || used != w->end ||
				    (rc == FR_TOO_BIG) !=
					(ref_verdict(data + used, fed - used) ==
					    FRAME_TOO_BIG))
					abort();
				refused = 1;
				break;
			}
			if (idx >= w->count || w->offs[idx] != used)
				abort();
			same_frame(&f, &w->frames[idx]);
			frame_clear(&f);
			used += w->lens[idx++];
			if (fr_pending(&fr) != fed - used)
				abort();
		}
	}
	if (idx != w->count || refused != w->refused)
		abort();
	fr_free(&fr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct whole w;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < size && i < 32; i++)
		h = (h ^ data[i]) * 16777619u;
	whole_pass(data, size, &w);
	stream(data, size, &w, 0, 0);
	stream(data, size, &w, h | 1u, 0);
	if (size > 1)
		stream(data, size, &w, 0, h % (size - 1) + 1);
	if (size < XR_FRAME_MAX)
		stream_reader(data, size, &w, h);
	whole_free(&w);
	return 0;
}
