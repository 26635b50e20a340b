/*
 * libFuzzer target for the spool file header (bridge/spool_format.c): what
 * spool_load reads back from a file at start, after a crash or from a
 * disk that lies.  The input's first byte picks the mode:
 *
 *  - even: the rest is the start of a file, as read_found reads it (at
 *    most SPOOL_HEAD_MAX bytes, NUL-terminated).  A header that parses
 *    has a well-formed id, kind message, values inside the buffer with no
 *    control character, a body offset just past the blank line and a
 *    length under the cap; written back out by the spool's own writer it
 *    parses to the same values;
 *  - odd: the rest, split at NUL bytes, is a message's type, to and from
 *    (and 16 bytes of seq and time): what spool_put accepts to write must
 *    parse back to the same values, so no message is spooled that the
 *    next start would set aside as corrupt.
 */
#include <stdlib.h>
#include <string.h>

#include "spool_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
inside(const char *p, const char *buf, size_t n)
{
	return p >= buf && p <= buf + n &&
	    memchr(p, '\0', (size_t)(buf + n + 1 - p)) != NULL;
}

static void
same(const struct spool_meta *a, const struct spool_meta *b, size_t alen,
    size_t blen)
{
	if (strcmp(a->id, b->id) != 0 || a->seq != b->seq ||
	    a->first != b->first || strcmp(a->kind, b->kind) != 0 ||
	    strcmp(a->type, b->type) != 0 || strcmp(a->to, b->to) != 0 ||
	    strcmp(a->from, b->from) != 0 || alen != blen)
		abort();
}

/* Writes m as spool_put does and parses it back: must give m. */
static void
round_trip(const struct spool_meta *m, size_t len)
{
	static char head[SPOOL_HEAD_MAX], copy[SPOOL_HEAD_MAX + 1];
	struct spool_meta back;
	char why[XR_ERRLEN];
	size_t off = 0, blen = 0;
	int hl = spool_format_head(head, sizeof(head), m, len);

	if (hl < 0)
		return; /* spool_put refuses it: "header too long" */
	memcpy(copy, head, (size_t)hl);
	copy[hl] = '\0';
	if (spool_parse_head(
		copy, (size_t)hl, &back, &off, &blen, why, sizeof(why)) != 0 ||
	    off != (size_t)hl)
		abort();
	same(m, &back, len, blen);
}

static void
parse_raw(const uint8_t *data, size_t size)
{
	static char buf[SPOOL_HEAD_MAX + 1];
	struct spool_meta m;
	char why[XR_ERRLEN];
	size_t n = size < SPOOL_HEAD_MAX ? size : SPOOL_HEAD_MAX;
	size_t off = 0, blen = 0;

	memcpy(buf, data, n);
	buf[n] = '\0';
	why[0] = '\0';
	if (spool_parse_head(buf, n, &m, &off, &blen, why, sizeof(why)) != 0) {
		if (why[0] == '\0')
			abort();
		return;
	}
	if (!spool_valid_id(m.id) || strcmp(m.kind, "message") != 0 ||
	    !inside(m.type, buf, n) || !inside(m.to, buf, n) ||
	    !inside(m.from, buf, n) || !spool_clean(m.type) ||
	    !spool_clean(m.to) || !spool_clean(m.from) || m.seq == 0 ||
	    m.first < 0 || off > n || off < 2 || buf[off - 1] != '\n' ||
	    blen > SPOOL_BODY_MAX)
		abort();
	round_trip(&m, blen);
}

static void
write_values(const uint8_t *data, size_t size)
{
	static const char alnum[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static char text[SPOOL_HEAD_MAX * 2];
	struct spool_meta m;
	const char *part[3] = {"", "", ""};
	uint64_t seq = 0, t = 0;
	size_t n = 0, tl;

	if (size < 16)
		return;
	for (int i = 0; i < 8; i++) {
		seq = seq << 8 | data[i];
		t = t << 8 | data[8 + i];
	}
	data += 16;
	size -= 16;
	tl = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, tl);
	text[tl] = '\0';
	part[0] = text;
	for (size_t i = 0; i < tl && n < 2; i++) {
		if (text[i] == '\0')
			part[++n] = text + i + 1;
	}
	/* As incoming.c fills them: a random id, seq from 1, a wall time. */
	for (size_t i = 0; i < XR_ID_LEN; i++)
		m.id[i] = alnum[(seq >> (i % 8)) % (sizeof(alnum) - 1)];
	m.id[XR_ID_LEN] = '\0';
	m.seq = seq % (UINT64_MAX - 1) + 1;
	m.first = (int64_t)(t >> 1);
	m.kind = "message";
	m.type = part[0];
	m.to = part[1];
	m.from = part[2];
	/* spool_put's own check comes first. */
	if (!spool_clean(m.kind) || !spool_clean(m.type) ||
	    !spool_clean(m.to) || !spool_clean(m.from) || !spool_clean(m.id))
		return;
	round_trip(&m, (size_t)(t % (SPOOL_BODY_MAX + 1)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		write_values(data + 1, size - 1);
	else
		parse_raw(data + 1, size - 1);
	return 0;
}
