/*
 * libFuzzer target for the stanza checker and serializer (common/stanza*.c)
 * with the default limits and the domain "rest.example".  Besides
 * crashes, leaks and undefined behaviour it checks:
 *
 *  - a refusal carries one of the documented statuses and a one-line
 *    reason, and leaves the stanza empty;
 *  - an accepted stanza has every field the bridge relies on, and its
 *    serialized form (what goes to the XMPP server) is accepted again,
 *    with the same kind, id, to, from, type and receipt request, and
 *    serializes to exactly the same bytes: the serializer is a fixed
 *    point.
 *
 * The second parse gets a little slack in the size and attribute limits:
 * the root may gain from and id, and escaping may grow the text,
 * which the limits (about what a client posts) may then refuse.
 * libxml2 itself is not instrumented.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stanza.h"
#include "fuzz_util.h"
#include "util.h"

#define DOMAIN "rest.example"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The defaults of max_stanza_bytes, _depth and _attributes. */
static const struct stanza_limits deflim = {196608, 32, 64};

/*
 * Inputs that once broke these rules stay in corpus/stanza as crash-*:
 * refusal texts that were not UTF-8 (an entity name echoed from bad
 * bytes, an element name cut inside a character), and a namespace name
 * with '&' that came out escaped twice.
 */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	stanza_global_init();
	return 0;
}

/* Well-formed UTF-8 (RFC 3629): no stray, missing or overlong bytes. */
static int
utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t need;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1fu;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0fu;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07u;
		} else {
			return 0;
		}
		if (len - i - 1 < need)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3fu);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

static void
check_refusal(const struct stanza *st, const struct stanza_error *e)
{
	size_t len = strnlen(e->text, sizeof(e->text));

	if (e->status != 400 && e->status != 403 && e->status != 413 &&
	    e->status != 422 && e->status != 500)
		abort();
	/*
	 * NUL-terminated, not empty, one line without control bytes, and
	 * UTF-8: it goes into text/plain, JSON and XML bodies and a log.
	 */
	if (len == 0 || len == sizeof(e->text) ||
	    !utf8_ok((const unsigned char *)e->text, len))
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)e->text[i];

		if (c < 0x20 || c == 0x7f)
			abort();
	}
	if (st->id != NULL || st->to != NULL || st->from != NULL ||
	    st->type != NULL || st->xml != NULL || st->xml_len != 0 ||
	    st->kind[0] != '\0')
		abort();
}

static void
check_accepted(const struct stanza *st)
{
	if (strcmp(st->kind, "message") != 0 &&
	    strcmp(st->kind, "presence") != 0 && strcmp(st->kind, "iq") != 0)
		abort();
	if (st->id == NULL || st->id[0] == '\0' || st->to == NULL ||
	    st->to[0] == '\0' || st->from == NULL || st->xml == NULL)
		abort();
	if (strlen(st->xml) != st->xml_len || st->xml_len == 0 ||
	    !utf8_ok((const unsigned char *)st->xml, st->xml_len))
		abort();
	if (strcmp(st->kind, "iq") == 0 && st->type == NULL)
		abort();
	if (st->wants_receipt && strcmp(st->kind, "message") != 0)
		abort();
	/* The serialized stanza starts with its own element. */
	if (st->xml[0] != '<' || st->xml[st->xml_len - 1] != '>')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stanza st, again;
	struct stanza_error e;
	struct stanza_limits lim2 = deflim;

	if (stanza_parse((const char *)data, size, &deflim, DOMAIN, &st, &e) <
	    0) {
		check_refusal(&st, &e);
		return 0;
	}
	check_accepted(&st);

	if (lim2.max_bytes < st.xml_len)
		lim2.max_bytes = st.xml_len;
	lim2.max_attrs += 2;
	if (stanza_parse(st.xml, st.xml_len, &lim2, DOMAIN, &again, &e) < 0)
		abort();
	check_accepted(&again);
	if (strcmp(st.kind, again.kind) != 0 || !str_eq(st.id, again.id) ||
	    !str_eq(st.to, again.to) || !str_eq(st.from, again.from) ||
	    !str_eq(st.type, again.type) ||
	    st.wants_receipt != again.wants_receipt || again.id_generated)
		abort();
	if (st.xml_len != again.xml_len ||
	    memcmp(st.xml, again.xml, st.xml_len) != 0)
		abort();
	stanza_free(&again);
	stanza_free(&st);
	return 0;
}
