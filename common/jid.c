/*
 * JID syntax (RFC 7622 §3) without stringprep/PRECIS: split into
 * [local@]domain[/resource] the way §3.2 says (the resource starts at the
 * first '/', the localpart ends at the first '@' before it), then check
 * each part's length and characters.  The XMPP server does the full
 * PRECIS work; we only refuse what is certainly wrong, with a reason an
 * HTTP client can act on.  Errors never echo raw bytes of the input
 * except one printable ASCII character.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jid.h"

void
jid_split(const char *s, struct jid_parts *p)
{
	const char *slash = strchr(s, '/');
	size_t head = slash ? (size_t)(slash - s) : strlen(s);
	const char *at = memchr(s, '@', head);

	memset(p, 0, sizeof(*p));
	if (slash) {
		p->has_res = 1;
		p->res = slash + 1;
		p->rlen = strlen(slash + 1);
	}
	if (at) {
		p->has_local = 1;
		p->local = s;
		p->llen = (size_t)(at - s);
		p->domain = at + 1;
		p->dlen = head - p->llen - 1;
	} else {
		p->domain = s;
		p->dlen = head;
	}
}

/*
 * Length of the well-formed UTF-8 sequence at s (at most n bytes), with
 * its code point in *cp; 0 if malformed, overlong, a surrogate or above
 * U+10FFFF (RFC 3629 §4).
 */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1fu;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0fu;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* C0, DEL and C1: Unicode general category Cc, refused by RFC 7622. */
static int
is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/*
 * Checks one part: length, UTF-8, controls and the ASCII characters in
 * forbidden.  what names the part in the error.
 */
static int
part_check(const char *s, size_t len, int present, const char *what,
    const char *forbidden, char *err, size_t errlen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (!present)
		return 0;
	if (len == 0) {
		snprintf(err, errlen, "empty %s", what);
		return -1;
	}
	if (len > XR_JID_PART_MAX) {
		snprintf(err, errlen, "%s longer than %d bytes", what,
		    XR_JID_PART_MAX);
		return -1;
	}
	while (i < len) {
		uint32_t c;
		size_t n = utf8_next(u + i, len - i, &c);

		if (n == 0) {
			snprintf(err, errlen, "invalid UTF-8 in %s", what);
			return -1;
		}
		if (is_control(c)) {
			snprintf(err, errlen, "control character U+%04X in %s",
			    (unsigned)c, what);
			return -1;
		}
		if (c < 0x80 && c != 0 && strchr(forbidden, (int)c) != NULL) {
			snprintf(err, errlen, "forbidden character '%c' in %s",
			    (int)c, what);
			return -1;
		}
		i += n;
	}
	return 0;
}

/* An IP-literal domainpart (RFC 7622 §3.2 via RFC 3986): "[" IPv6 "]". */
static int
ip_literal_check(const char *d, size_t len, char *err, size_t errlen)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;

	if (len < 3 || d[len - 1] != ']' || len - 2 >= sizeof(tmp) ||
	    memchr(d + 1, ']', len - 2) != NULL) {
		snprintf(err, errlen, "malformed IP literal in domainpart");
		return -1;
	}
	memcpy(tmp, d + 1, len - 2);
	tmp[len - 2] = '\0';
	if (inet_pton(AF_INET6, tmp, &a) != 1) {
		snprintf(err, errlen, "malformed IP literal in domainpart");
		return -1;
	}
	return 0;
}

static int
domain_check(const char *d, size_t len, char *err, size_t errlen)
{
	if (len > 0 && d[0] == '[')
		return ip_literal_check(d, len, err, errlen);
	/* '[' and ']' only make sense around an IPv6 literal. */
	if (part_check(d, len, 1, "domainpart", " @/<>\"'&[]", err, errlen) ==
	    -1)
		return -1;
	if (d[0] == '.') {
		snprintf(err, errlen, "domainpart starts with a dot");
		return -1;
	}
	if (d[len - 1] == '.') {
		snprintf(err, errlen, "domainpart ends with a dot");
		return -1;
	}
	for (size_t i = 1; i < len; i++) {
		if (d[i] == '.' && d[i - 1] == '.') {
			snprintf(err, errlen, "empty label in domainpart");
			return -1;
		}
	}
	return 0;
}

int
jid_check(const char *s, char *err, size_t errlen)
{
	struct jid_parts p;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty JID");
		return -1;
	}
	jid_split(s, &p);
	if (part_check(p.local, p.llen, p.has_local, "localpart", " \"&'/:<>@",
		err, errlen) == -1)
		return -1;
	if (domain_check(p.domain, p.dlen, err, errlen) == -1)
		return -1;
	/* RFC 7622 §3.4: any character but controls, "/" included. */
	return part_check(
	    p.res, p.rlen, p.has_res, "resourcepart", "", err, errlen);
}

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
jid_span_eq_fold(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++) {
		if (ascii_lower((unsigned char)a[i]) !=
		    ascii_lower((unsigned char)b[i]))
			return 0;
	}
	return 1;
}

int
jid_is_under(const char *jid, const char *domain)
{
	struct jid_parts p;

	if (jid == NULL || domain == NULL || *domain == '\0')
		return 0;
	jid_split(jid, &p);
	return jid_span_eq_fold(p.domain, p.dlen, domain, strlen(domain));
}

char *
jid_with_domain(const char *jid, const char *domain)
{
	struct jid_parts p;
	size_t dlen, len;
	char *s;

	if (!jid_is_under(jid, domain))
		return NULL;
	jid_split(jid, &p);
	dlen = strlen(domain);
	len = (p.has_local ? p.llen + 1 : 0) + dlen +
	    (p.has_res ? p.rlen + 1 : 0);
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	snprintf(s, len + 1, "%.*s%s%s%s%.*s", (int)p.llen,
	    p.has_local ? p.local : "", p.has_local ? "@" : "", domain,
	    p.has_res ? "/" : "", (int)p.rlen, p.has_res ? p.res : "");
	return s;
}

int
jid_equal(const char *a, const char *b)
{
	struct jid_parts pa, pb;

	if (a == NULL || b == NULL)
		return 0;
	jid_split(a, &pa);
	jid_split(b, &pb);
	if (pa.has_local != pb.has_local || pa.has_res != pb.has_res)
		return 0;
	if (!jid_span_eq_fold(pa.local, pa.llen, pb.local, pb.llen) ||
	    !jid_span_eq_fold(pa.domain, pa.dlen, pb.domain, pb.dlen))
		return 0;
	return pa.rlen == pb.rlen &&
	    (pa.rlen == 0 || memcmp(pa.res, pb.res, pa.rlen) == 0);
}
