/*
 * libFuzzer target for JID checking (common/jid.c).  The input is a JID
 * and, after a NUL byte, a domain.  The checks: jid_check accepts or
 * gives a one-line reason; a valid JID splits back into itself;
 * jid_equal is reflexive and symmetric; a JID under a domain, respelt
 * with jid_with_domain, is still under it, equal to the original, and
 * carries the domain byte for byte; what jid_is_under says matches the
 * split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reason(const char *err, size_t cap)
{
	size_t n = strnlen(err, cap);

	if (n == 0 || n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)err[i] < 0x20)
			abort();
}

static void
check_split(const char *s)
{
	struct jid_parts p;
	size_t n = strlen(s);

	jid_split(s, &p);
	if (p.dlen + p.llen + p.rlen + (size_t)p.has_local +
		(size_t)p.has_res !=
	    n)
		abort();
	if (p.has_local && (p.local != s || p.local[p.llen] != '@'))
		abort();
	if (p.has_res && p.domain[p.dlen] != '/')
		abort();
	if (memchr(p.domain, '/', p.dlen) != NULL ||
	    (p.has_local && memchr(p.local, '/', p.llen) != NULL))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2), *jid, *dom, *re;
	char err[256];
	size_t jl;
	struct jid_parts pd, pr;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	jid = buf;
	jl = strlen(jid);
	dom = jl < size ? buf + jl + 1 : buf + size;
	check_split(jid);
	err[0] = '\0';
	if (jid_check(jid, err, sizeof(err)) < 0) {
		check_reason(err, sizeof(err));
		free(buf);
		return 0;
	}
	if (!jid_equal(jid, jid))
		abort();
	if (jid_check(dom, err, sizeof(err)) == 0 &&
	    jid_equal(jid, dom) != jid_equal(dom, jid))
		abort();
	if (*dom == '\0' || strchr(dom, '@') || strchr(dom, '/') ||
	    jid_check(dom, err, sizeof(err)) < 0) {
		free(buf);
		return 0;
	}
	jid_split(jid, &pr);
	if (jid_is_under(jid, dom) !=
	    jid_span_eq_fold(pr.domain, pr.dlen, dom, strlen(dom)))
		abort();
	re = jid_with_domain(jid, dom);
	if (jid_is_under(jid, dom)) {
		if (re == NULL)
			abort();
		jid_split(re, &pd);
		if (pd.dlen != strlen(dom) || memcmp(pd.domain, dom, pd.dlen) ||
		    !jid_is_under(re, dom) || !jid_equal(re, jid) ||
		    jid_check(re, err, sizeof(err)) < 0 || pd.llen != pr.llen ||
		    pd.rlen != pr.rlen ||
		    (pr.llen && memcmp(pd.local, pr.local, pr.llen)) ||
		    (pr.rlen && memcmp(pd.res, pr.res, pr.rlen)))
			abort();
	} else if (re != NULL) {
		abort();
	}
	free(re);
	free(buf);
	return 0;
}
