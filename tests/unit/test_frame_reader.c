/*
 * The frame reader: frames split across reads, several in one read, a
 * frame of exactly the cap, one over it refused from its header alone,
 * an empty payload, garbage, and reading from a descriptor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame_reader.h"
#include "util.h"
#include "t.h"

/* A finished frame with one STANZA field of n bytes ('s'). */
static struct frame_out
frame_of(uint32_t seq, size_t n)
{
	struct frame_out fo = {0};
	char *v = malloc(n + 1);
	char err[XR_ERRLEN];

	memset(v, 's', n);
	frame_begin(&fo, FRAME_SUBMIT, seq);
	frame_put(&fo, FIELD_STANZA, v, n);
	frame_finish(&fo, err, sizeof(err));
	free(v);
	return fo;
}

static void
test_split(void)
{
	struct frame_out fo = frame_of(5, 300);
	struct frame_reader fr;
	struct frame f;
	char err[XR_ERRLEN];
	int more = 1;

	fr_init(&fr, XR_FRAME_MAX, FRAME_TYPES_SOCKET);
	T_EQ_INT(fr_next(&fr, &f, err, sizeof(err)), FR_MORE, "empty: more");
	for (size_t i = 0; i + 1 < fo.b.len; i++) {
		fr_feed(&fr, fo.b.data + i, 1);
		if (fr_next(&fr, &f, err, sizeof(err)) != FR_MORE)
			more = 0;
	}
	T_OK(more, "every byte but the last leaves the frame incomplete");
	T_EQ_INT(fr_pending(&fr), (long long)fo.b.len - 1, "all kept");
	fr_feed(&fr, fo.b.data + fo.b.len - 1, 1);
	T_EQ_INT(fr_next(&fr, &f, err, sizeof(err)), FR_FRAME,
	    "the last byte completes it");
	T_EQ_INT(f.seq, 5, "its seq");
	T_EQ_INT(f.flen[FIELD_STANZA], 300, "its field");
	frame_clear(&f);
	T_EQ_INT(fr_pending(&fr), 0, "nothing left over");
	fr_free(&fr);
	frame_out_free(&fo);
}

static void
test_several_in_one(void)
{
	struct frame_out a = frame_of(1, 10), b = frame_of(2, 0);
	struct frame_out c = frame_of(3, 20);
	struct frame_reader fr;
	struct frame f;
	char err[XR_ERRLEN];

	fr_init(&fr, XR_FRAME_MAX, FRAME_TYPES_SOCKET);
	fr_feed(&fr, a.b.data, a.b.len);
	fr_feed(&fr, b.b.data, b.b.len);
	fr_feed(&fr, c.b.data, 7);
	T_EQ_INT(fr_next(&fr, &f, err, sizeof(err)), FR_FRAME, "first");
	T_EQ_INT(f.seq, 1, "first seq");
	frame_clear(&f);
	T_EQ_INT(fr_next(&fr, &f, err, sizeof(err)), FR_FRAME, "second");
	T_EQ_INT(f.seq, 2, "second seq");
	T_EQ_INT(f.flen[FIELD_STANZA], 0, "a zero-length field");
	frame_clear(&f);
	T_EQ_INT(
	    fr_next(&fr, &f, err, sizeof(err)), FR_MORE, "the third begun");
	T_EQ_INT(fr_pending(&fr), 7, "its start kept");
	fr_feed(&fr, c.b.data + 7, c.b.len - 7);
	T_EQ_INT(fr_next(&fr, &f, err, sizeof(err)), FR_FRAME, "third");
	T_EQ_INT(f.seq, 3, "third seq, after the rest came");
	frame_clear(&f);
	fr_free(&fr);
	frame_out_free(&a);
	frame_out_free(&b);
	frame_out_free(&c);
}

static void
test_caps(void)
{
	struct frame_out fo = frame_of(9, 95), big = frame_of(9, 96);
	struct frame_out empty = {0};
	struct frame_reader fr;
	struct frame f;
	char err[XR_ERRLEN];

	/* 95 bytes of field and 5 of its header: a payload of 100. */
	fr_init(&fr, 100, FRAME_TYPES_SOCKET);
	T_EQ_INT(fr_feed(&fr, fo.b.data, fo.b.len), 0, "the cap exactly");
	T_EQ_INT(fr_next(&fr, &f, err, sizeof(err)), FR_FRAME,
	    "a frame of exactly the cap is taken");
	frame_clear(&f);
	fr_feed(&fr, big.b.data, XR_FRAME_HDR);
	T_EQ_INT(fr_next(&fr, &f, err, sizeof(err)), FR_TOO_BIG,
	    "one byte over is refused from its header alone");
	T_HAS(err, "limit is 100", "naming the limit");
	fr_reset(&fr);
	T_EQ_INT(fr_pending(&fr), 0, "reset forgets it");
	errno = 0;
	T_EQ_INT(fr_feed(&fr, big.b.data, big.b.len), -1,
	    "feeding past the cap is refused");
	T_EQ_INT(errno, EMSGSIZE, "as too big");

	fr_reset(&fr);
	frame_begin(&empty, FRAME_STATUS, 4);
	frame_finish(&empty, err, sizeof(err));
	fr_feed(&fr, empty.b.data, empty.b.len);
	T_EQ_INT(fr_next(&fr, &f, err, sizeof(err)), FR_FRAME,
	    "a frame with no payload");
	T_EQ_INT(f.type, FRAME_STATUS, "its type");
	frame_clear(&f);

	fr_feed(&fr, "XR\x01\x01\0\0\0\0\x00\x10\x00\x01", 12);
	T_EQ_INT(fr_next(&fr, &f, err, sizeof(err)), FR_TOO_BIG,
	    "over XR_FRAME_MAX is too big too");
	fr_free(&fr);
	fr_init(&fr, XR_FRAME_MAX, FRAME_TYPES_SOCKET);
	fr_feed(&fr, "GET / HTTP/1.1", 14);
	T_EQ_INT(fr_next(&fr, &f, err, sizeof(err)), FR_MALFORMED,
	    "garbage is malformed, not too big");
	T_HAS(err, "magic", "and says why");
	fr_free(&fr);
	frame_out_free(&fo);
	frame_out_free(&big);
	frame_out_free(&empty);
}

static void
test_read(void)
{
	struct frame_out a = frame_of(11, 5000), b = frame_of(12, 1);
	struct frame_reader fr;
	struct frame f;
	char err[XR_ERRLEN];
	int sp[2], filled = 0, got = 0;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		abort();
	fr_init(&fr, XR_FRAME_MAX, FRAME_TYPES_SOCKET);
	xr_write_all(sp[1], a.b.data, a.b.len);
	xr_write_all(sp[1], b.b.data, b.b.len);
	close(sp[1]);
	/* The first read fills the first 4096 bytes the buffer offers. */
	n = fr_read(&fr, sp[0], &filled);
	T_EQ_INT(n, 4096, "a read takes the room offered");
	T_OK(filled, "and says it filled it");
	while ((n = fr_read(&fr, sp[0], &filled)) > 0) {
		while (fr_next(&fr, &f, err, sizeof(err)) == FR_FRAME) {
			got += (int)f.seq;
			frame_clear(&f);
		}
	}
	T_EQ_INT(n, 0, "the end of the stream reads 0");
	T_EQ_INT(got, 23, "both frames came out of the reads");
	T_EQ_INT(fr_pending(&fr), 0, "and nothing else");
	close(sp[0]);
	fr_free(&fr);
	frame_out_free(&a);
	frame_out_free(&b);
}

int
main(void)
{
	test_split();
	test_several_in_one();
	test_caps();
	test_read();
	return t_done();
}
