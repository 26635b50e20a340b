/*
 * libFuzzer target for the webhook client's response parser.  Besides
 * crashes, leaks and undefined behaviour it checks the properties the
 * client relies on when it feeds the parser a growing buffer: a prefix
 * that is complete gives the same response as the whole input, a prefix
 * that is refused means the whole input is refused, and the end of the
 * connection never turns a complete response into another one.  Each
 * input runs with three body caps (0, a small one, a large one).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int rc, const struct http_response *r, size_t max)
{
	if (rc < -1 || rc > 1)
		abort();
	if (rc != 1) {
		if (r->body != NULL)
			abort();
		return;
	}
	if (r->body == NULL || r->body_len > max ||
	    r->body[r->body_len] != '\0' || r->status < 200 ||
	    r->status > 599 || (r->body_truncated && r->body_len != max) ||
	    memchr(r->reason, '\0', sizeof(r->reason)) == NULL ||
	    memchr(r->content_type, '\0', sizeof(r->content_type)) == NULL)
		abort();
}

static void
same(const struct http_response *a, const struct http_response *b)
{
	if (a->status != b->status || a->body_len != b->body_len ||
	    a->body_truncated != b->body_truncated ||
	    strcmp(a->reason, b->reason) != 0 ||
	    strcmp(a->content_type, b->content_type) != 0 ||
	    memcmp(a->body, b->body, a->body_len) != 0)
		abort();
}

static int
run(const char *buf, size_t len, int eof, size_t max, struct http_response *r)
{
	char err[XR_ERRLEN];
	int rc;

	err[0] = '\0';
	rc = http_parse_response(buf, len, eof, max, r, err, sizeof(err));
	check(rc, r, max);
	/* A response never claims bytes it was not given. */
	if (rc == 1 && (r->used > len || (r->keep_alive && r->used == 0)))
		abort();
	/* A refusal always says why. */
	if (rc == -1 && err[0] == '\0')
		abort();
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {0, 7, 1 << 16};
	const char *buf = (const char *)data;
	size_t splits[3];
	uint32_t h = 2166136261u;

	/* Split points: the middle, one short, and one the input picks. */
	for (size_t i = 0; i < size && i < 16; i++)
		h = (h ^ data[i]) * 16777619u;
	splits[0] = size / 2;
	splits[1] = size > 0 ? size - 1 : 0;
	splits[2] = size > 0 ? h % size : 0;

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct http_response whole, at_eof, part;
		int rw, re;

		rw = run(buf, size, 0, caps[c], &whole);
		re = run(buf, size, 1, caps[c], &at_eof);
		if (rw == 1 && re != 1)
			abort();
		if (rw == 1)
			same(&whole, &at_eof);
		if (rw == -1 && re != -1)
			abort();
		http_response_free(&at_eof);

		for (size_t s = 0; s < 3; s++) {
			int rp;

			if (splits[s] >= size)
				continue;
			rp = run(buf, splits[s], 0, caps[c], &part);
			if (rp == 1 && rw != 1)
				abort();
			if (rp == 1)
				same(&part, &whole);
			if (rp == -1 && rw != -1)
				abort();
			http_response_free(&part);
			/* The same prefix when the peer has closed. */
			(void)run(buf, splits[s], 1, caps[c], &part);
			http_response_free(&part);
		}
		http_response_free(&whole);
	}
	return 0;
}
