/*
 * The stanza-level rules of the HTTP contract (docs/API.md), checked on
 * the root of a tree that passed the XML-level checks: what the element
 * is, where it goes, who sends it, its type, its payload and its id.
 * One function per rule, run in a fixed order: the first rule broken is
 * the one the sender hears about.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "jid.h"
#include "ns.h"
#include "stanza_tree.h"

#define STANZA_ID_MAX 256 /* bytes; ids travel in frames, logs, replies */

/* The attribute's value as a malloc'd string (its text children joined). */
static char *
attr_dup(const xmlAttr *a)
{
	size_t len = 0, off = 0;
	char *s;

	for (const xmlNode *t = a->children; t != NULL; t = t->next) {
		if (t->content != NULL)
			len += strlen((const char *)t->content);
	}
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	for (const xmlNode *t = a->children; t != NULL; t = t->next) {
		if (t->content != NULL) {
			size_t n = strlen((const char *)t->content);
			memcpy(s + off, t->content, n);
			off += n;
		}
	}
	s[off] = '\0';
	return s;
}

static int
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strcmp(s, *list) == 0)
			return 1;
	}
	return 0;
}

static int
check_type(const char *kind, const char *type, struct stanza_error *e)
{
	static const char *const iq[] = {"get", "set", NULL};
	static const char *const msg[] = {
	    "chat", "error", "groupchat", "headline", "normal", NULL};
	static const char *const pres[] = {"error", "probe", "subscribe",
	    "subscribed", "unavailable", "unsubscribe", "unsubscribed", NULL};

	if (strcmp(kind, "iq") == 0) {
		if (type == NULL) {
			stanza_fail(e, 422, "iq needs a type (get or set)");
			return -1;
		}
		if (!in_list(type, iq)) {
			stanza_fail(e, 422,
			    "iq type must be get or set, not '%s'", type);
			return -1;
		}
	} else if (type == NULL) {
		return 0;
	} else if (strcmp(kind, "message") == 0 && !in_list(type, msg)) {
		stanza_fail(e, 422,
		    "message type must be chat, error, groupchat, headline "
		    "or normal, not '%s'",
		    type);
		return -1;
	} else if (strcmp(kind, "presence") == 0 && !in_list(type, pres)) {
		stanza_fail(e, 422,
		    "presence type must be error, probe, subscribe, "
		    "subscribed, unavailable, unsubscribe or unsubscribed, "
		    "not '%s'",
		    type);
		return -1;
	}
	return 0;
}

static unsigned long
count_child_elements(const xmlNode *n)
{
	unsigned long c = 0;

	for (const xmlNode *k = n->children; k != NULL; k = k->next) {
		if (k->type == XML_ELEMENT_NODE)
			c++;
	}
	return c;
}

static int
has_receipt_request(const xmlNode *n)
{
	for (const xmlNode *k = n->children; k != NULL; k = k->next) {
		if (k->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)k->name, "request") == 0 &&
		    k->ns != NULL && k->ns->href != NULL &&
		    strcmp((const char *)k->ns->href, NS_RECEIPTS) == 0)
			return 1;
	}
	return 0;
}

/*
 * The id travels in an HTTP header, JSON and logs: a CR or LF there would
 * start a header of the sender's choosing.  C0, DEL and C1 (U+0080 to
 * U+009F; the value is valid UTF-8, libxml2 saw to that) are refused.
 */
static int
check_id_chars(const char *id, struct stanza_error *e)
{
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		unsigned cp = *p;

		if (cp == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			cp = p[1];
		else if (cp >= 0x20 && cp != 0x7f)
			continue;
		stanza_fail(e, 422,
		    "'id' must not contain control characters (U+%04X at "
		    "byte %zu)",
		    cp, (size_t)(p - (const unsigned char *)id));
		return -1;
	}
	return 0;
}

/* The element is one of the three stanzas; its name is st->kind. */
static int
check_name(const xmlNode *root, struct stanza *st, struct stanza_error *e)
{
	const char *name = (const char *)root->name;

	if (strcmp(name, "message") != 0 && strcmp(name, "presence") != 0 &&
	    strcmp(name, "iq") != 0) {
		char buf[128];

		stanza_qname(root, buf, sizeof(buf));
		stanza_fail(e, 422,
		    "<%s> is not a stanza: expected message, presence or iq",
		    buf);
		return -1;
	}
	xr_strlcpy(st->kind, name, sizeof(st->kind));
	return 0;
}

static int
check_namespace(const xmlNode *root, struct stanza_error *e)
{
	if (root->ns == NULL ||
	    (root->ns->href != NULL &&
		strcmp((const char *)root->ns->href, NS_CLIENT) == 0))
		return 0;
	stanza_fail(e, 422,
	    "stanza namespace must be jabber:client (or none), not '%s'",
	    root->ns->href ? (const char *)root->ns->href : "");
	return -1;
}

static int
check_to(const xmlNode *root, const char *domain, struct stanza *st,
    struct stanza_error *e)
{
	const xmlAttr *to = stanza_find_attr(root, "to", NULL);
	char jerr[XR_ERRLEN];

	if (to == NULL) {
		stanza_fail(e, 422, "missing 'to' address");
		return -1;
	}
	if ((st->to = attr_dup(to)) == NULL)
		return stanza_no_memory(e);
	if (jid_check(st->to, jerr, sizeof(jerr)) == -1) {
		stanza_fail(e, 422, "invalid 'to' JID: %s", jerr);
		return -1;
	}
	/* The server routes the bridge's own domain back to the bridge: such
	 * a stanza would only reach our own webhook, whose answer would come
	 * back again (a loop). */
	if (jid_is_under(st->to, domain)) {
		stanza_fail(e, 422,
		    "'to' must not be the bridge's own domain %s or a JID "
		    "under it, not '%s'",
		    domain, st->to);
		return -1;
	}
	return 0;
}

/* An absent or empty from is the bridge's domain. */
static int
check_from(const xmlNode *root, const char *domain, struct stanza *st,
    struct stanza_error *e)
{
	const xmlAttr *from = stanza_find_attr(root, "from", NULL);
	char jerr[XR_ERRLEN], *norm;

	if (from != NULL && (st->from = attr_dup(from)) == NULL)
		return stanza_no_memory(e);
	if (st->from == NULL || st->from[0] == '\0') {
		free(st->from);
		if ((st->from = strdup(domain)) == NULL)
			return stanza_no_memory(e);
		return 0;
	}
	if (jid_check(st->from, jerr, sizeof(jerr)) == -1) {
		stanza_fail(e, 422, "invalid 'from' JID: %s", jerr);
		return -1;
	}
	/* A gateway must not let HTTP clients speak for others. */
	if (!jid_is_under(st->from, domain)) {
		stanza_fail(e, 403,
		    "'from' must be %s or a JID under it, not '%s'", domain,
		    st->from);
		return -1;
	}
	/* Domains compare case-insensitively, but the server checks our
	 * domain byte for byte and closes the stream. */
	if ((norm = jid_with_domain(st->from, domain)) == NULL)
		return stanza_no_memory(e);
	free(st->from);
	st->from = norm;
	return 0;
}

static int
check_type_attr(const xmlNode *root, struct stanza *st, struct stanza_error *e)
{
	const xmlAttr *type = stanza_find_attr(root, "type", NULL);

	if (type != NULL && (st->type = attr_dup(type)) == NULL)
		return stanza_no_memory(e);
	return check_type(st->kind, st->type, e);
}

/* RFC 6120 §8.2.3: an iq carries exactly one payload. */
static int
check_payload(
    const xmlNode *root, const struct stanza *st, struct stanza_error *e)
{
	unsigned long kids;

	if (strcmp(st->kind, "iq") != 0)
		return 0;
	if ((kids = count_child_elements(root)) == 1)
		return 0;
	stanza_fail(
	    e, 422, "iq must have exactly one child element, it has %lu", kids);
	return -1;
}

/* The id as given, if any: bounded, and free of control characters. */
static int
check_id(const xmlNode *root, struct stanza *st, struct stanza_error *e)
{
	const xmlAttr *id = stanza_find_attr(root, "id", NULL);

	if (id == NULL)
		return 0;
	if ((st->id = attr_dup(id)) == NULL)
		return stanza_no_memory(e);
	if (strlen(st->id) > STANZA_ID_MAX) {
		stanza_fail(e, 422, "id is %zu bytes; limit is %d",
		    strlen(st->id), STANZA_ID_MAX);
		return -1;
	}
	return check_id_chars(st->id, e);
}

/* A stanza without an id (or with an empty one) gets a random one. */
static int
assign_id(struct stanza *st, struct stanza_error *e)
{
	char rid[XR_ID_LEN + 1];

	if (st->id != NULL && st->id[0] != '\0')
		return 0;
	free(st->id);
	st->id = NULL;
	if (xr_random_id(rid) == -1) {
		stanza_fail(e, 500, "cannot generate a stanza id");
		return -1;
	}
	if ((st->id = strdup(rid)) == NULL)
		return stanza_no_memory(e);
	st->id_generated = 1;
	return 0;
}

int
stanza_check_root(const xmlNode *root, const char *domain, struct stanza *st,
    struct stanza_error *e)
{
	if (check_name(root, st, e) == -1 || check_namespace(root, e) == -1 ||
	    check_to(root, domain, st, e) == -1 ||
	    check_from(root, domain, st, e) == -1 ||
	    check_type_attr(root, st, e) == -1 ||
	    check_payload(root, st, e) == -1 || check_id(root, st, e) == -1 ||
	    assign_id(st, e) == -1)
		return -1;
	st->wants_receipt =
	    strcmp(st->kind, "message") == 0 && has_receipt_request(root);
	return 0;
}
