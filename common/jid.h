/*
 * JID syntax checks (RFC 7622), without stringprep: we check what a
 * gateway must, so that a bad address is refused with a reason before it
 * reaches the XMPP server.
 */
#ifndef XR_JID_H
#define XR_JID_H

#include <stddef.h>

#define XR_JID_PART_MAX 1023 /* bytes per localpart, domainpart, resource */

/* A JID cut at its first '/' and the first '@' before it (RFC 7622
 * §3.2); pointers into the string, no syntax check. */
struct jid_parts {
	const char *local, *domain, *res;
	size_t llen, dlen, rlen;
	int has_local, has_res;
};

void jid_split(const char *s, struct jid_parts *p);

/* 1 if the spans are equal, folding ASCII letters only (non-ASCII is
 * left to PRECIS); for domainparts. */
int jid_span_eq_fold(const char *a, size_t alen, const char *b, size_t blen);

/*
 * 0 if s is a syntactically valid JID ([local@]domain[/resource]); else -1
 * with a short reason in err ("empty domainpart", "localpart longer than
 * 1023 bytes", "forbidden character '<' in localpart", ...).
 */
int jid_check(const char *s, char *err, size_t errlen);

/*
 * These two only split, they do not check syntax: run jid_check first.
 *
 * 1 if jid is domain itself or an address under it (local@domain,
 * local@domain/res, domain/res); domains compare case-insensitively (ASCII).
 */
int jid_is_under(const char *jid, const char *domain);

/*
 * jid (under domain, as jid_is_under says) with its domainpart spelled
 * exactly as domain: servers compare the from of a component's stanza
 * to its domain byte for byte.  malloc'd; NULL if not under domain or out
 * of memory.
 */
char *jid_with_domain(const char *jid, const char *domain);

/*
 * 1 if a and b name the same entity: equal after lower-casing the domain
 * (ASCII) and, for the localpart, ASCII case folding; the resource is
 * compared exactly.
 */
int jid_equal(const char *a, const char *b);

#endif
