/*
 * The values of a credential's fields, each checked alone: its name, its
 * JID patterns, its kinds, the shape of its hash.  The file's parser
 * (creds_file.c) and the command line (token_cmd.c) both use them.
 */
#include <string.h>

#include <crypt.h>

#include "creds.h"
#include "creds_priv.h"
#include "jid.h"
#include "util.h"

const char *const creds_kind_names[CREDS_NKINDS] = {
    "message", "presence", "iq"};
const unsigned long creds_kind_bits[CREDS_NKINDS] = {
    CONF_KIND_MESSAGE, CONF_KIND_PRESENCE, CONF_KIND_IQ};

void
creds_quote(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t n = 0, i;

	if (dstlen == 0)
		return;
	for (i = 0; i < len && i < CREDS_QUOTE_MAX && n + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			dst[n++] = s[i];
		else
			dst[n++] = '?';
	}
	if (i < len && n + 4 < dstlen) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}

int
creds_name_ok(const char *name)
{
	size_t len;

	if (name == NULL)
		return 0;
	len = strnlen(name, CREDS_NAME_MAX + 1);
	if (len == 0 || len > CREDS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == '-'))
			return 0;
	}
	return 1;
}

static int
star_error(const char *q, const char *domain, char *err, size_t errlen)
{
	snprintf(err, errlen,
	    "pattern '%s': '*' may only be the whole localpart (*@%s) or "
	    "the whole resource (LOCAL@%s/*)",
	    q, domain, domain);
	return 0;
}

int
creds_pattern_ok(
    const char *pattern, const char *domain, char *err, size_t errlen)
{
	char q[CREDS_QUOTE_MAX + 4], jerr[XR_ERRLEN];
	char head[CREDS_LINE_MAX + 1];
	struct jid_parts p;
	size_t len;

	if (pattern == NULL || *pattern == '\0') {
		snprintf(err, errlen, "empty pattern");
		return 0;
	}
	len = strlen(pattern);
	creds_quote(q, sizeof(q), pattern, len);
	if (domain == NULL || *domain == '\0') {
		snprintf(err, errlen,
		    "pattern '%s': no domain to check it against (set jid)", q);
		return 0;
	}
	/* They could not be written back: the file splits on them. */
	if (strpbrk(pattern, " \t,") != NULL) {
		snprintf(err, errlen,
		    "pattern '%s': a space, tab or comma cannot be in a "
		    "pattern",
		    q);
		return 0;
	}
	if (strncmp(pattern, "*@", 2) == 0) {
		const char *rest = pattern + 2;

		if (strchr(rest, '*') != NULL)
			return star_error(q, domain, err, errlen);
		if (strchr(rest, '/') != NULL) {
			snprintf(err, errlen,
			    "pattern '%s': *@%s covers every resource; "
			    "it takes none",
			    q, domain);
			return 0;
		}
		if (!jid_span_eq_fold(
			rest, strlen(rest), domain, strlen(domain))) {
			snprintf(err, errlen, "pattern '%s': not under %s", q,
			    domain);
			return 0;
		}
		return 1;
	}
	if (len >= 2 && strcmp(pattern + len - 2, "/*") == 0) {
		if (len - 2 >= sizeof(head)) {
			snprintf(err, errlen, "pattern '%s': too long", q);
			return 0;
		}
		memcpy(head, pattern, len - 2);
		head[len - 2] = '\0';
		if (strpbrk(head, "*/") != NULL)
			return star_error(q, domain, err, errlen);
		if (strchr(head, '@') == NULL) {
			snprintf(err, errlen,
			    "pattern '%s': LOCAL@%s/* needs a localpart", q,
			    domain);
			return 0;
		}
		pattern = head;
	} else if (strchr(pattern, '*') != NULL) {
		return star_error(q, domain, err, errlen);
	}
	if (jid_check(pattern, jerr, sizeof(jerr)) < 0) {
		snprintf(err, errlen, "pattern '%s': %s", q, jerr);
		return 0;
	}
	jid_split(pattern, &p);
	if (!jid_span_eq_fold(p.domain, p.dlen, domain, strlen(domain))) {
		snprintf(err, errlen, "pattern '%s': not under %s", q, domain);
		return 0;
	}
	return 1;
}

int
creds_kinds_parse(const char *s, unsigned long *kinds, char *err, size_t errlen)
{
	unsigned long bits = 0;
	const char *p = s;

	for (;;) {
		size_t n = strcspn(p, ",");
		size_t i;

		if (n == 0) {
			snprintf(err, errlen, "empty kind in kinds=");
			return -1;
		}
		for (i = 0; i < CREDS_NKINDS; i++) {
			if (strlen(creds_kind_names[i]) == n &&
			    memcmp(creds_kind_names[i], p, n) == 0)
				break;
		}
		if (i == CREDS_NKINDS) {
			char q[CREDS_QUOTE_MAX + 4];

			creds_quote(q, sizeof(q), p, n);
			snprintf(err, errlen,
			    "unknown kind '%s' (message, presence or iq)", q);
			return -1;
		}
		bits |= creds_kind_bits[i];
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	*kinds = bits;
	return 0;
}
int
creds_bearer_hash_ok(const char *h)
{
	size_t i;

	for (i = 0; h[i] != '\0'; i++) {
		if (!((h[i] >= '0' && h[i] <= '9') ||
			(h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	}
	return i == CREDS_HASH_HEX;
}

/*
 * A yescrypt ("$y$PARAMS$SALT$HASH") or sha512-crypt
 * ("$6$[rounds=N$]SALT$HASH") string, in crypt(3)'s alphabet.  Only the
 * shape is checked; crypt_rn refuses a malformed one at login (no match).
 */
int
creds_basic_hash_ok(const char *h, char *err, size_t errlen)
{
	size_t len = strlen(h), dollars = 0;
	int yes = strncmp(h, "$y$", 3) == 0;

	if (!yes && strncmp(h, "$6$", 3) != 0) {
		snprintf(err, errlen,
		    "basic hash must be yescrypt ($y$...) or sha512-crypt "
		    "($6$...); make one with `xmpp-restd password add`");
		return 0;
	}
	if (len >= CRYPT_OUTPUT_SIZE)
		goto bad;
	for (size_t i = 3; i < len; i++) {
		char c = h[i];

		if (c == '$') {
			if (h[i - 1] == '$' || i + 1 == len)
				goto bad;
			dollars++;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			       (c >= '0' && c <= '9') || c == '.' || c == '/' ||
			       (c == '=' && !yes))) {
			goto bad;
		}
	}
	if (yes ? dollars != 2 : (dollars < 1 || dollars > 2))
		goto bad;
	/* sha512-crypt's only '=' is in its "rounds=N" field. */
	if (!yes && strchr(h, '=') != NULL &&
	    (dollars != 2 || strncmp(h + 3, "rounds=", 7) != 0 ||
		strchr(h + 10, '=') != NULL))
		goto bad;
	return 1;
bad:
	snprintf(err, errlen, "basic hash is not a well-formed %s string",
	    yes ? "yescrypt" : "sha512-crypt");
	return 0;
}
