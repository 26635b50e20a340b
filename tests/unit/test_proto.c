/*
 * The frame codec: round trips, every refusal, and reassembly from
 * arbitrary splits (the way bytes arrive on a socket).
 */
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"
#include "t.h"

static struct frame_out
sample(void)
{
	struct frame_out fo = {0};

	frame_begin(&fo, FRAME_SUBMIT, 7);
	frame_put_str(&fo, FIELD_KIND, "message");
	frame_put_str(&fo, FIELD_ID, "abc");
	frame_put_str(&fo, FIELD_STANZA, "<message to='a@b'/>");
	frame_put_uint(&fo, FIELD_TIMEOUT, 60000);
	frame_put(&fo, FIELD_TYPE, "", 0);
	return fo;
}

static void
test_round_trip(void)
{
	struct frame_out fo = sample();
	struct frame f;
	char err[XR_ERRLEN];
	ssize_t n;

	T_EQ_INT(frame_finish(&fo, err, sizeof(err)), 0, "finish a frame");
	n = frame_decode(fo.b.data, fo.b.len, &f, err, sizeof(err));
	T_EQ_INT(n, (long long)fo.b.len, "decode uses the whole frame");
	T_EQ_INT(f.type, FRAME_SUBMIT, "type survives");
	T_EQ_INT(f.seq, 7, "seq survives");
	T_EQ_STR(frame_get(&f, FIELD_KIND), "message", "text field survives");
	T_EQ_STR(frame_get(&f, FIELD_TIMEOUT), "60000", "number as text");
	T_EQ_STR(frame_get(&f, FIELD_TYPE), "", "empty field is present");
	T_OK(frame_get(&f, FIELD_TO) == NULL, "absent field is NULL");
	T_OK(frame_get(&f, FIELD_MAX) == NULL, "out-of-range tag is NULL");
	frame_clear(&f);

	/* Every prefix is incomplete, never an error. */
	int all_zero = 1;
	for (size_t i = 0; i < fo.b.len; i++) {
		if (frame_decode(fo.b.data, i, &f, err, sizeof(err)) != 0)
			all_zero = 0;
	}
	T_OK(all_zero, "every strict prefix of a frame reports 'need more'");
	frame_out_free(&fo);
}

static void
test_two_frames_in_one_read(void)
{
	struct frame_out a = sample(), b = {0};
	struct frame f;
	char err[XR_ERRLEN];
	uint8_t *both;
	ssize_t n1, n2;

	frame_finish(&a, err, sizeof(err));
	frame_begin(&b, FRAME_OUTCOME, 8);
	frame_put_str(&b, FIELD_OUTCOME, "sent");
	frame_finish(&b, err, sizeof(err));
	both = malloc(a.b.len + b.b.len);
	memcpy(both, a.b.data, a.b.len);
	memcpy(both + a.b.len, b.b.data, b.b.len);
	n1 = frame_decode(both, a.b.len + b.b.len, &f, err, sizeof(err));
	T_EQ_INT(n1, (long long)a.b.len, "first of two frames");
	frame_clear(&f);
	n2 = frame_decode(
	    both + n1, a.b.len + b.b.len - (size_t)n1, &f, err, sizeof(err));
	T_EQ_INT(n2, (long long)b.b.len, "second of two frames");
	T_EQ_INT(f.seq, 8, "second frame's seq");
	T_EQ_STR(frame_get(&f, FIELD_OUTCOME), "sent", "second frame's field");
	frame_clear(&f);
	free(both);
	frame_out_free(&a);
	frame_out_free(&b);
}

static ssize_t
decode_bytes(const char *bytes, size_t len, char *err)
{
	struct frame f;
	ssize_t n =
	    frame_decode((const uint8_t *)bytes, len, &f, err, XR_ERRLEN);

	frame_clear(&f);
	return n;
}

static void
test_refusals(void)
{
	char err[XR_ERRLEN];

	T_EQ_INT(decode_bytes("GET / HTTP/1.0\r\n", 16, err), -1,
	    "garbage is refused at once");
	T_HAS(err, "magic", "the reason names the magic");
	T_EQ_INT(decode_bytes("XR\x02", 3, err), -1,
	    "another protocol version is refused");
	T_HAS(err, "version 2", "the reason names the version");
	T_EQ_INT(decode_bytes("XR\x01\x09\0\0\0\0\0\0\0\0", 12, err), -1,
	    "unknown frame type");
	T_EQ_INT(decode_bytes("XR\x01\x01\0\0\0\0\x00\x10\x00\x01", 12, err),
	    FRAME_TOO_BIG,
	    "a length over XR_FRAME_MAX is refused before reading it");
	T_HAS(err, "limit", "the reason names the limit");
	/* A field that claims more bytes than the frame holds. */
	T_EQ_INT(decode_bytes(
		     "XR\x01\x01\0\0\0\0\0\0\0\x06\x01\0\0\0\x09z", 18, err),
	    -1, "field longer than its frame");
	T_EQ_INT(decode_bytes("XR\x01\x01\0\0\0\0\0\0\0\x03\x01\0\0", 15, err),
	    -1, "truncated field header");
	T_EQ_INT(decode_bytes(
		     "XR\x01\x01\0\0\0\0\0\0\0\x06\x01\0\0\0\x01\0", 18, err),
	    -1, "NUL inside a field");
	T_EQ_INT(decode_bytes("XR\x01\x01\0\0\0\0\0\0\0\x0c"
			      "\x01\0\0\0\x01m\x01\0\0\0\x01n",
		     24, err),
	    -1, "repeated field");
	T_HAS(err, "repeated", "the reason says repeated");
	T_EQ_INT(decode_bytes(
		     "XR\x01\x01\0\0\0\0\0\0\0\x06\xc8\0\0\0\x01q", 18, err),
	    18, "an unknown tag is skipped (forward compatible)");
}

/* The worker channel's type is refused on the socket, by name, and taken
 * where it belongs. */
static void
test_worker_type(void)
{
	struct frame_out fo = {0};
	struct frame f;
	char err[XR_ERRLEN];

	frame_begin(&fo, (enum frame_type)3, 0);
	frame_put_str(&fo, FIELD_ID, "d1");
	frame_finish(&fo, err, sizeof(err));
	T_EQ_INT(frame_decode(fo.b.data, fo.b.len, &f, err, sizeof(err)), -1,
	    "a delivery frame is refused on the socket");
	T_HAS(err, "delivery", "naming it");
	T_EQ_INT(frame_decode_types(fo.b.data, fo.b.len, FRAME_TYPE_BIT(3), &f,
		     err, sizeof(err)),
	    (long long)fo.b.len, "and taken by a channel that lists it");
	T_EQ_STR(frame_get(&f, FIELD_ID), "d1", "with its fields");
	frame_clear(&f);
	frame_begin(&fo, FRAME_SUBMIT, 1);
	frame_finish(&fo, err, sizeof(err));
	T_EQ_INT(frame_decode_types(fo.b.data, fo.b.len, FRAME_TYPE_BIT(3), &f,
		     err, sizeof(err)),
	    -1, "which refuses a submit frame");
	T_HAS(err, "submit", "naming it too");
	frame_out_free(&fo);
	T_EQ_INT(decode_bytes("XR\x01\x09\0\0\0\0\0\0\0\0", 12, err), -1,
	    "a type nobody uses");
	T_HAS(err, "unknown frame type 9", "is unknown, by number");
	T_EQ_INT(decode_bytes("XR\x01\xff\0\0\0\0\0\0\0\0", 12, err), -1,
	    "and so is the highest type byte");
}

static void
test_encoder_limit(void)
{
	struct frame_out fo = {0};
	char err[XR_ERRLEN];
	char *big = malloc(XR_FRAME_MAX);

	memset(big, 'a', XR_FRAME_MAX);
	frame_begin(&fo, FRAME_SUBMIT, 1);
	frame_put(&fo, FIELD_STANZA, big, XR_FRAME_MAX);
	T_EQ_INT(frame_finish(&fo, err, sizeof(err)), -1,
	    "the encoder refuses a frame over the limit");
	T_HAS(err, "limit", "and says so");
	frame_begin(&fo, FRAME_SUBMIT, 1);
	frame_put(&fo, FIELD_STANZA, big, XR_FRAME_MAX - 5);
	T_EQ_INT(frame_finish(&fo, err, sizeof(err)), 0,
	    "a frame of exactly the limit is fine");
	free(big);
	frame_out_free(&fo);
}

static void
test_outcome_names(void)
{
	enum outcome o;

	T_EQ_INT(outcome_parse("timeout", &o), 0, "outcome name parses");
	T_EQ_INT(o, OUTCOME_TIMEOUT, "to the right value");
	T_EQ_INT(outcome_parse("nope", &o), -1, "unknown outcome refused");
	T_EQ_STR(
	    outcome_name(OUTCOME_UNAVAILABLE), "unavailable", "outcome name");
}

static void
test_wait_words(void)
{
	enum wait_for w = WAIT_SENT;

	for (int i = 0; i < WAIT_COUNT; i++)
		T_OK(wait_parse(wait_name((enum wait_for)i), &w) == 0 &&
			w == (enum wait_for)i,
		    "each WAIT word parses back to itself");
	T_EQ_STR(wait_name(WAIT_IQ_REPLY), "reply", "an iq waits for 'reply'");
	T_EQ_INT(wait_parse("iq", &w), -1, "an unknown WAIT word is refused");
	T_EQ_INT(wait_parse("", &w), -1, "so is an empty one");
}

int
main(void)
{
	test_round_trip();
	test_two_frames_in_one_read();
	test_refusals();
	test_worker_type();
	test_encoder_limit();
	test_outcome_names();
	test_wait_words();
	return t_done();
}
