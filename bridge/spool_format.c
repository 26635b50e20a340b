/*
 * The spool's file format: the names of the files and the header that
 * opens each (the rest of the spool, in spool.c, writes and reads them).
 *
 * One file per message, named SEQ-ID.msg (SEQ zero-padded to 20 digits,
 * ID the delivery id), mode 0600 in a 0700 directory:
 *
 *	xmpp-rest-spool 1
 *	id x3k9tqvh2m8c6nfw4brdpz7a
 *	seq 42
 *	time 1767225600123
 *	kind message
 *	type chat
 *	to bot@rest.example.org
 *	from alice@example.org/phone
 *	length 153
 *
 *	<message ...>...</message>
 *
 * The header lines come in exactly this order, each "key value" with no
 * control character; time is the arrival (first attempt) in unix ms; the
 * blank line ends the header; the body is exactly `length` bytes, the
 * stanza as first POSTed, and nothing follows it.  A file of any other
 * size is truncated or corrupt.  The URL is not recorded: it is filled in
 * again from callback_url at start, so fixing a wrong callback_url also
 * fixes where the spooled messages go.  Attempts are not recorded either
 * (that would cost an fsync per attempt): back-off restarts after a
 * restart, the age limit does not.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "spool_priv.h"

void
spool_file_name(char *buf, size_t size, uint64_t seq, const char *id, int tmp)
{
	snprintf(buf, size, "%s%020" PRIu64 "-%s%s", tmp ? "tmp-" : "", seq, id,
	    tmp ? "" : ".msg");
}

int
spool_clean(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	}
	return 1;
}

int
spool_format_head(
    char *head, size_t size, const struct spool_meta *m, size_t len)
{
	int hl = snprintf(head, size,
	    "%s\nid %s\nseq %" PRIu64 "\ntime %lld\nkind %s\ntype %s\nto "
	    "%s\nfrom %s\nlength %zu\n\n",
	    SPOOL_MAGIC, m->id, m->seq, (long long)m->first, m->kind, m->type,
	    m->to, m->from, len);

	return hl < 0 || (size_t)hl >= size ? -1 : hl;
}

/* One header line "key value": value, or NULL; *p moves past it. */
static char *
head_line(char **p, const char *end, const char *key, char *why, size_t whylen)
{
	char *line = *p, *nl = memchr(line, '\n', (size_t)(end - line));
	size_t kl = strlen(key);

	if (nl == NULL) {
		snprintf(why, whylen, "truncated in the header, at '%s'", key);
		return NULL;
	}
	for (char *c = line; c < nl; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(why, whylen,
			    "control character in the header line of '%s'",
			    key);
			return NULL;
		}
	}
	*nl = '\0';
	*p = nl + 1;
	if (kl == 0)
		return line;
	if (strncmp(line, key, kl) != 0 || line[kl] != ' ') {
		snprintf(why, whylen, "'%s' expected in the header", key);
		return NULL;
	}
	return line + kl + 1;
}

int
spool_valid_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
			(s[n] >= 'A' && s[n] <= 'Z') ||
			(s[n] >= '0' && s[n] <= '9')))
			return 0;
	}
	return n == XR_ID_LEN;
}

int
spool_parse_head(char *buf, size_t n, struct spool_meta *m, size_t *off,
    size_t *blen, char *why, size_t whylen)
{
	char *p = buf, *v[9];
	const char *end = buf + n;
	static const char *const keys[] = {
	    "", "id", "seq", "time", "kind", "type", "to", "from", "length"};
	unsigned long long seq, t, len;

	if (n < sizeof(SPOOL_MAGIC) ||
	    memcmp(buf, SPOOL_MAGIC "\n", sizeof(SPOOL_MAGIC)) != 0) {
		snprintf(why, whylen, "not a spool file (no '%s' line)",
		    SPOOL_MAGIC);
		return -1;
	}
	for (size_t i = 0; i < 9; i++) {
		if ((v[i] = head_line(&p, end, keys[i], why, whylen)) == NULL)
			return -1;
	}
	if (p >= end || *p != '\n') {
		snprintf(why, whylen, "no blank line after the header");
		return -1;
	}
	p++;
	if (!spool_valid_id(v[1]) ||
	    xr_parse_uint(v[2], 1, UINT64_MAX - 1, &seq) ||
	    xr_parse_uint(v[3], 0, INT64_MAX, &t) ||
	    strcmp(v[4], "message") != 0 ||
	    xr_parse_uint(v[8], 0, SPOOL_BODY_MAX, &len)) {
		snprintf(why, whylen, "bad id, seq, time, kind or length");
		return -1;
	}
	xr_strlcpy(m->id, v[1], sizeof(m->id));
	m->seq = seq;
	m->first = (int64_t)t;
	m->kind = v[4];
	m->type = v[5];
	m->to = v[6];
	m->from = v[7];
	*off = (size_t)(p - buf);
	*blen = (size_t)len;
	return 0;
}
