/*
 * Validation and serialization of a posted stanza.
 *
 * libxml2 builds a tree with no network, no DTD and no entity expansion.
 * A DOCTYPE stops the parser as soon as its name is read, before the
 * internal subset, so XXE and entity bombs never start (RFC 6120 §11.1
 * forbids DTDs anyway).  We then walk the tree ourselves: comments, PIs
 * and entity references are refused, depth and attribute counts are
 * capped, and the stanza-level rules of the HTTP contract are checked.
 *
 * The stanza is written back out by our own serializer rather than by
 * xmlNodeDump: the root keeps only from/to/id/type/xml:lang, a default
 * xmlns='jabber:client' is dropped so the stream's namespace applies,
 * and every element re-declares exactly the namespaces it declared in
 * the input, so the output parses to the same infoset on its own.
 *
 * Both tree walks are iterative: depth is bounded by the configured
 * limit, but the stack is never the thing that bounds it.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "jid.h"
#include "stanza.h"

/* Never NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE, HUGE or RECOVER. */
#define XR_XML_OPTS                                                  \
	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | \
	    XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC)

#define STANZA_ID_MAX 256 /* bytes; ids travel in frames, logs, replies */
#define NS_CLIENT "jabber:client"
#define NS_RECEIPTS "urn:xmpp:receipts" /* XEP-0184 */
#define RFC_DTD "(RFC 6120 §11.1)"

/* What the parser callbacks learn; hung on ctxt->_private. */
struct parse_state {
	int doctype;
	int have_err;
	int err_line;
	char err_msg[XR_ERRLEN];
	int have_entity;
	char entity[XR_ERRLEN];
};

/* Output of the serializer; oom is sticky so callers check once. */
struct outbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void fail_set(struct stanza_error *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Length of the valid UTF-8 sequence at p (at most left bytes), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t left)
{
	size_t need;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2, cp = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4, cp = p[0] & 0x07u;
	else
		return 0;
	if (left < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

/*
 * The text ends up in an HTTP body (charset=utf-8, JSON, XML) and a log
 * line: keep it on one line and valid UTF-8 whatever the input held (an
 * entity name libxml2 read from bad bytes, a name cut to fit): every
 * control character and every byte of a broken sequence becomes '?'.
 */
static void
fail_set(struct stanza_error *e, int status, const char *fmt, ...)
{
	va_list ap;
	size_t len, i = 0;

	e->status = status;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	len = strlen(e->text);
	while (i < len) {
		unsigned char *p = (unsigned char *)e->text + i;
		size_t n = utf8_len(p, len - i);

		if (n == 0 || *p < 0x20 || *p == 0x7f) {
			*p = '?';
			n = 1;
		}
		i += n;
	}
}

static void
quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

void
stanza_global_init(void)
{
	xmlInitParser();
	/*
	 * Errors raised without a parser context (out of memory, mostly)
	 * go to the generic handler, which prints to stderr: under a web
	 * server that is its error log.
	 */
	xmlSetGenericErrorFunc(NULL, quiet);
	/* The handler is per thread: the FastCGI workers start with this. */
	xmlThrDefSetGenericErrorFunc(NULL, quiet);
}

void
stanza_free(struct stanza *st)
{
	if (st == NULL)
		return;
	free(st->id);
	free(st->to);
	free(st->from);
	free(st->type);
	free(st->xml);
	memset(st, 0, sizeof(*st));
}

/* SAX internalSubset: called once the DOCTYPE name is read. */
static void
on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext_id,
    const xmlChar *sys_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct parse_state *ps = ctxt->_private;

	(void)name;
	(void)ext_id;
	(void)sys_id;
	if (ps != NULL)
		ps->doctype = 1;
	xmlStopParser(ctxt);
}

/*
 * Cuts s to its first line, without trailing blanks: libxml2 messages end
 * in "\n" and some go on with a "Bytes: 0xE9 ..." line.
 */
static void
first_line(char *s)
{
	size_t n;

	s[strcspn(s, "\r\n")] = '\0';
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/*
 * Keeps the first error: libxml2 carries on after a fatal error, and the
 * last one (what xmlCtxtGetLastError returns) is often a consequence,
 * e.g. a tag mismatch after an undefined entity.
 */
static void
on_error(void *ctx, xmlErrorPtr err)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct parse_state *ps;

	if (ctxt == NULL || err == NULL || (ps = ctxt->_private) == NULL)
		return;
	if ((err->code == XML_ERR_UNDECLARED_ENTITY ||
		err->code == XML_WAR_UNDECLARED_ENTITY) &&
	    err->str1 != NULL && !ps->have_entity) {
		ps->have_entity = 1;
		xr_strlcpy(ps->entity, err->str1, sizeof(ps->entity));
	}
	if (err->level < XML_ERR_ERROR || ps->have_err)
		return;
	ps->have_err = 1;
	ps->err_line = err->line;
	xr_strlcpy(ps->err_msg, err->message ? err->message : "not well-formed",
	    sizeof(ps->err_msg));
	first_line(ps->err_msg);
}

static int
is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	}
	return 1;
}

static int
parse_verdict(xmlParserCtxtPtr ctxt, xmlDocPtr doc,
    const struct parse_state *ps, struct stanza_error *e)
{
	const xmlError *last;

	/* xmlStopParser leaves wellFormed set and a doc behind: test first. */
	if (ps->doctype) {
		fail_set(e, 400, "DOCTYPE is not allowed in XMPP " RFC_DTD);
		return -1;
	}
	if (ps->have_entity) {
		fail_set(e, 400,
		    "entity reference &%s; is not allowed in XMPP " RFC_DTD,
		    ps->entity);
		return -1;
	}
	/* A namespace error leaves a doc and wellFormed; nsWellFormed is 0. */
	if (doc != NULL && !ps->have_err && ctxt->wellFormed &&
	    ctxt->nsWellFormed && xmlDocGetRootElement(doc) != NULL)
		return 0;
	if (ps->have_err) {
		fail_set(e, 400, "line %d: %s", ps->err_line, ps->err_msg);
		return -1;
	}
	last = xmlCtxtGetLastError(ctxt);
	if (last != NULL && last->message != NULL) {
		char msg[XR_ERRLEN];

		xr_strlcpy(msg, last->message, sizeof(msg));
		first_line(msg);
		fail_set(e, 400, "line %d: %s", last->line, msg);
	} else {
		fail_set(e, 400, "not well-formed XML");
	}
	return -1;
}

static void
qname(const xmlNode *n, char *buf, size_t size)
{
	if (n->ns != NULL && n->ns->prefix != NULL)
		snprintf(buf, size, "%s:%s", (const char *)n->ns->prefix,
		    (const char *)n->name);
	else
		snprintf(buf, size, "%s", (const char *)n->name);
}

static int
check_element(const xmlNode *n, unsigned long depth,
    const struct stanza_limits *lim, struct stanza_error *e)
{
	unsigned long count = 0;

	if (depth > lim->max_depth) {
		fail_set(e, 422, "nesting deeper than max_stanza_depth (%lu)",
		    lim->max_depth);
		return -1;
	}
	for (const xmlAttr *a = n->properties; a != NULL; a = a->next)
		count++;
	for (const xmlNs *ns = n->nsDef; ns != NULL; ns = ns->next) {
		/*
		 * libxml2 2.9 hands back an '&' in a namespace name still
		 * written as "&#38;", which we cannot tell from one the
		 * sender wrote so: refuse rather than send a namespace
		 * other than the one posted (found by fuzz_stanza).
		 */
		if (ns->href && strchr((const char *)ns->href, '&')) {
			fail_set(e, 422,
			    "namespace name '%.80s' contains '&', which is "
			    "not supported",
			    (const char *)ns->href);
			return -1;
		}
		count++;
	}
	if (count > lim->max_attrs) {
		char name[128];

		qname(n, name, sizeof(name));
		fail_set(e, 422,
		    "element <%s> has %lu attributes; limit is %lu "
		    "(max_stanza_attributes)",
		    name, count, lim->max_attrs);
		return -1;
	}
	return 0;
}

/* Every node of the document in document order, prolog included. */
static int
walk(xmlDocPtr doc, const struct stanza_limits *lim, struct stanza_error *e)
{
	xmlNodePtr n = doc->children;
	unsigned long depth = 0; /* element ancestors of n */

	while (n != NULL) {
		if (n->type == XML_ELEMENT_NODE) {
			if (check_element(n, depth + 1, lim, e) == -1)
				return -1;
			if (n->children != NULL) {
				n = n->children;
				depth++;
				continue;
			}
		} else if (n->type == XML_COMMENT_NODE) {
			fail_set(e, 400,
			    "comments are not allowed in XMPP " RFC_DTD);
			return -1;
		} else if (n->type == XML_PI_NODE) {
			fail_set(e, 400,
			    "processing instructions are not allowed in "
			    "XMPP " RFC_DTD);
			return -1;
		} else if (n->type == XML_ENTITY_REF_NODE) {
			fail_set(e, 400,
			    "entity reference &%s; is not allowed in "
			    "XMPP " RFC_DTD,
			    (const char *)n->name);
			return -1;
		} else if (n->type != XML_TEXT_NODE &&
		    n->type != XML_CDATA_SECTION_NODE) {
			fail_set(e, 400, "unexpected XML node (type %d)",
			    (int)n->type);
			return -1;
		}
		while (n->next == NULL) {
			if (depth == 0)
				return 0;
			n = n->parent;
			depth--;
		}
		n = n->next;
	}
	return 0;
}

/* An unprefixed (ns == NULL) or namespaced attribute of n, or NULL. */
static const xmlAttr *
find_attr(const xmlNode *n, const char *name, const char *ns)
{
	for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
		if (strcmp((const char *)a->name, name) != 0)
			continue;
		if (ns == NULL && a->ns == NULL)
			return a;
		if (ns != NULL && a->ns != NULL && a->ns->href != NULL &&
		    strcmp((const char *)a->ns->href, ns) == 0)
			return a;
	}
	return NULL;
}

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
			fail_set(e, 422, "iq needs a type (get or set)");
			return -1;
		}
		if (!in_list(type, iq)) {
			fail_set(e, 422, "iq type must be get or set, not '%s'",
			    type);
			return -1;
		}
	} else if (type == NULL) {
		return 0;
	} else if (strcmp(kind, "message") == 0 && !in_list(type, msg)) {
		fail_set(e, 422,
		    "message type must be chat, error, groupchat, headline "
		    "or normal, not '%s'",
		    type);
		return -1;
	} else if (strcmp(kind, "presence") == 0 && !in_list(type, pres)) {
		fail_set(e, 422,
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

static int
no_memory(struct stanza_error *e)
{
	fail_set(e, 500, "out of memory");
	return -1;
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
		fail_set(e, 422,
		    "'id' must not contain control characters (U+%04X at "
		    "byte %zu)",
		    cp, (size_t)(p - (const unsigned char *)id));
		return -1;
	}
	return 0;
}

/*
 * Root name, namespace, addresses, type and id: everything that is about
 * the stanza rather than about XML.  Fills st except xml.
 */
static int
check_root(const xmlNode *root, const char *domain, struct stanza *st,
    struct stanza_error *e)
{
	const char *name = (const char *)root->name;
	const xmlAttr *to, *from, *id, *type;
	char jerr[XR_ERRLEN], *norm;
	unsigned long kids;

	if (strcmp(name, "message") != 0 && strcmp(name, "presence") != 0 &&
	    strcmp(name, "iq") != 0) {
		char buf[128];

		qname(root, buf, sizeof(buf));
		fail_set(e, 422,
		    "<%s> is not a stanza: expected message, presence or iq",
		    buf);
		return -1;
	}
	if (root->ns != NULL &&
	    (root->ns->href == NULL ||
		strcmp((const char *)root->ns->href, NS_CLIENT) != 0)) {
		fail_set(e, 422,
		    "stanza namespace must be jabber:client (or none), not "
		    "'%s'",
		    root->ns->href ? (const char *)root->ns->href : "");
		return -1;
	}
	xr_strlcpy(st->kind, name, sizeof(st->kind));

	to = find_attr(root, "to", NULL);
	from = find_attr(root, "from", NULL);
	id = find_attr(root, "id", NULL);
	type = find_attr(root, "type", NULL);
	if (to == NULL) {
		fail_set(e, 422, "missing 'to' address");
		return -1;
	}
	if ((st->to = attr_dup(to)) == NULL)
		return no_memory(e);
	if (jid_check(st->to, jerr, sizeof(jerr)) == -1) {
		fail_set(e, 422, "invalid 'to' JID: %s", jerr);
		return -1;
	}
	/* The server routes the bridge's own domain back to the bridge: such
	 * a stanza would only reach our own webhook, whose answer would come
	 * back again (a loop). */
	if (jid_is_under(st->to, domain)) {
		fail_set(e, 422,
		    "'to' must not be the bridge's own domain %s or a JID "
		    "under it, not '%s'",
		    domain, st->to);
		return -1;
	}
	if (from != NULL && (st->from = attr_dup(from)) == NULL)
		return no_memory(e);
	if (st->from != NULL && st->from[0] == '\0') {
		free(st->from);
		st->from = NULL;
	}
	if (st->from != NULL) {
		if (jid_check(st->from, jerr, sizeof(jerr)) == -1) {
			fail_set(e, 422, "invalid 'from' JID: %s", jerr);
			return -1;
		}
		/* A gateway must not let HTTP clients speak for others. */
		if (!jid_is_under(st->from, domain)) {
			fail_set(e, 403,
			    "'from' must be %s or a JID under it, not '%s'",
			    domain, st->from);
			return -1;
		}
		/* Domains compare case-insensitively, but the server checks
		 * our domain byte for byte and closes the stream. */
		if ((norm = jid_with_domain(st->from, domain)) == NULL)
			return no_memory(e);
		free(st->from);
		st->from = norm;
	} else if ((st->from = strdup(domain)) == NULL) {
		return no_memory(e);
	}

	if (type != NULL && (st->type = attr_dup(type)) == NULL)
		return no_memory(e);
	if (check_type(st->kind, st->type, e) == -1)
		return -1;
	/* RFC 6120 §8.2.3: an iq carries exactly one payload. */
	if (strcmp(st->kind, "iq") == 0 &&
	    (kids = count_child_elements(root)) != 1) {
		fail_set(e, 422,
		    "iq must have exactly one child element, it has %lu", kids);
		return -1;
	}

	if (id != NULL && (st->id = attr_dup(id)) == NULL)
		return no_memory(e);
	if (st->id != NULL && strlen(st->id) > STANZA_ID_MAX) {
		fail_set(e, 422, "id is %zu bytes; limit is %d", strlen(st->id),
		    STANZA_ID_MAX);
		return -1;
	}
	if (st->id != NULL && check_id_chars(st->id, e) == -1)
		return -1;
	if (st->id == NULL || st->id[0] == '\0') {
		char rid[XR_ID_LEN + 1];

		free(st->id);
		st->id = NULL;
		if (xr_random_id(rid) == -1) {
			fail_set(e, 500, "cannot generate a stanza id");
			return -1;
		}
		if ((st->id = strdup(rid)) == NULL)
			return no_memory(e);
		st->id_generated = 1;
	}
	st->wants_receipt =
	    strcmp(st->kind, "message") == 0 && has_receipt_request(root);
	return 0;
}

static void
out_bytes(struct outbuf *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (n >= SIZE_MAX / 2 - o->len) {
		o->oom = 1;
		return;
	}
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 512;
		char *p;

		while (cap < o->len + n + 1)
			cap *= 2;
		if ((p = realloc(o->p, cap)) == NULL) {
			o->oom = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
out_str(struct outbuf *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

/*
 * Escapes for character data or, with attr set, for a value quoted with
 * "'".  Raw tabs and newlines in an attribute would be normalized to
 * spaces by the next parser, and a raw CR anywhere to LF.
 */
static void
out_escaped(struct outbuf *o, const xmlChar *xs, int attr)
{
	const char *s = (const char *)xs, *run = s;

	for (; *s != '\0'; s++) {
		const char *rep = NULL;

		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = attr ? NULL : "&gt;";
			break;
		case '\'':
			rep = attr ? "&apos;" : NULL;
			break;
		case '\t':
			rep = attr ? "&#9;" : NULL;
			break;
		case '\n':
			rep = attr ? "&#10;" : NULL;
			break;
		case '\r':
			rep = "&#13;";
			break;
		default:
			break;
		}
		if (rep != NULL) {
			out_bytes(o, run, (size_t)(s - run));
			out_str(o, rep);
			run = s + 1;
		}
	}
	out_bytes(o, run, (size_t)(s - run));
}

static void
out_qname(struct outbuf *o, const xmlNs *ns, const xmlChar *name)
{
	if (ns != NULL && ns->prefix != NULL) {
		out_str(o, (const char *)ns->prefix);
		out_str(o, ":");
	}
	out_str(o, (const char *)name);
}

static void
out_attr(struct outbuf *o, const xmlAttr *a)
{
	out_str(o, " ");
	out_qname(o, a->ns, a->name);
	out_str(o, "='");
	for (const xmlNode *t = a->children; t != NULL; t = t->next) {
		if (t->content != NULL)
			out_escaped(o, t->content, 1);
	}
	out_str(o, "'");
}

static void
out_plain_attr(struct outbuf *o, const char *name, const char *value)
{
	out_str(o, " ");
	out_str(o, name);
	out_str(o, "='");
	out_escaped(o, (const xmlChar *)value, 1);
	out_str(o, "'");
}

/* Namespace declarations of n; skip_client drops xmlns='jabber:client'. */
static void
out_ns_decls(struct outbuf *o, const xmlNode *n, int skip_client)
{
	for (const xmlNs *ns = n->nsDef; ns != NULL; ns = ns->next) {
		const char *href = ns->href ? (const char *)ns->href : "";

		if (skip_client && ns->prefix == NULL &&
		    strcmp(href, NS_CLIENT) == 0)
			continue;
		out_str(o, " xmlns");
		if (ns->prefix != NULL) {
			out_str(o, ":");
			out_str(o, (const char *)ns->prefix);
		}
		out_str(o, "='");
		out_escaped(o, (const xmlChar *)href, 1);
		out_str(o, "'");
	}
}

/* Everything under root, iteratively, in document order. */
static void
out_descendants(struct outbuf *o, const xmlNode *root)
{
	const xmlNode *n = root->children;

	while (n != NULL) {
		if (n->type == XML_ELEMENT_NODE) {
			out_str(o, "<");
			out_qname(o, n->ns, n->name);
			out_ns_decls(o, n, 0);
			for (const xmlAttr *a = n->properties; a != NULL;
			     a = a->next)
				out_attr(o, a);
			if (n->children != NULL) {
				out_str(o, ">");
				n = n->children;
				continue;
			}
			out_str(o, "/>");
		} else if (n->content != NULL) {
			/* Only text is left after walk(); CDATA is merged. */
			out_escaped(o, n->content, 0);
		}
		while (n->next == NULL) {
			n = n->parent;
			if (n == root || n == NULL)
				return;
			out_str(o, "</");
			out_qname(o, n->ns, n->name);
			out_str(o, ">");
		}
		n = n->next;
	}
}

static int
serialize(const xmlNode *root, struct stanza *st, struct stanza_error *e)
{
	struct outbuf o = {NULL, 0, 0, 0};
	const xmlAttr *lang =
	    find_attr(root, "lang", (const char *)XML_XML_NAMESPACE);

	out_str(&o, "<");
	out_qname(&o, root->ns, root->name);
	out_ns_decls(&o, root, 1);
	out_plain_attr(&o, "from", st->from);
	out_plain_attr(&o, "to", st->to);
	out_plain_attr(&o, "id", st->id);
	if (st->type != NULL)
		out_plain_attr(&o, "type", st->type);
	if (lang != NULL)
		out_attr(&o, lang);
	if (root->children != NULL) {
		out_str(&o, ">");
		out_descendants(&o, root);
		out_str(&o, "</");
		out_qname(&o, root->ns, root->name);
		out_str(&o, ">");
	} else {
		out_str(&o, "/>");
	}
	if (o.oom) {
		free(o.p);
		return no_memory(e);
	}
	st->xml = o.p;
	st->xml_len = o.len;
	return 0;
}

/*
 * One parser context per thread, kept between requests: making and
 * freeing one (dictionary, input and node stacks) for each document
 * costs more than parsing a short stanza with it.  xmlCtxtReadMemory
 * resets a context before each document.
 * Its dictionary keeps every name it has seen, so a context whose
 * dictionary grew past DICT_KEEP names is freed rather than kept: a run
 * of stanzas with made-up names cannot make it grow without bound.
 */
#define DICT_KEEP 256

static _Thread_local xmlParserCtxtPtr kept;

static xmlParserCtxtPtr
ctxt_take(void)
{
	if (kept == NULL) {
		if ((kept = xmlNewParserCtxt()) == NULL)
			return NULL;
		kept->sax->internalSubset = on_doctype;
		kept->sax->serror = on_error;
	}
	return kept;
}

static void
ctxt_give_back(void)
{
	if (kept != NULL && xmlDictSize(kept->dict) > DICT_KEEP)
		stanza_thread_done();
	else if (kept != NULL)
		kept->_private = NULL;
}

void
stanza_thread_done(void)
{
	if (kept != NULL)
		xmlFreeParserCtxt(kept);
	kept = NULL;
}

int
stanza_parse(const char *body, size_t len, const struct stanza_limits *lim,
    const char *domain, struct stanza *st, struct stanza_error *e)
{
	struct parse_state ps;
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	/* xmlCtxtReadMemory takes an int length. */
	unsigned long limit =
	    lim->max_bytes < INT_MAX ? lim->max_bytes : (unsigned long)INT_MAX;

	memset(st, 0, sizeof(*st));
	memset(e, 0, sizeof(*e));
	memset(&ps, 0, sizeof(ps));
	if (len > limit) {
		fail_set(e, 413,
		    "stanza is %zu bytes; limit is %lu (max_stanza_bytes)", len,
		    limit);
		return -1;
	}
	if (body == NULL || is_blank(body, len)) {
		fail_set(e, 400,
		    "empty body: expected one message, presence or iq element");
		return -1;
	}
	if ((ctxt = ctxt_take()) == NULL) {
		no_memory(e);
		goto fail;
	}
	ctxt->_private = &ps;
	doc =
	    xmlCtxtReadMemory(ctxt, body, (int)len, NULL, "UTF-8", XR_XML_OPTS);
	if (parse_verdict(ctxt, doc, &ps, e) == -1)
		goto fail;
	if (walk(doc, lim, e) == -1)
		goto fail;
	root = xmlDocGetRootElement(doc);
	if (check_root(root, domain, st, e) == -1)
		goto fail;
	if (serialize(root, st, e) == -1)
		goto fail;
	/* The limit is on what is written: escaping can make it grow, and
	 * past the server's own limit it closes the stream. */
	if (st->xml_len > limit) {
		fail_set(e, 413,
		    "stanza is %zu bytes once serialized for XMPP; limit is "
		    "%lu (max_stanza_bytes)",
		    st->xml_len, limit);
		goto fail;
	}
	xmlFreeDoc(doc);
	ctxt_give_back();
	xmlResetLastError();
	return 0;
fail:
	stanza_free(st);
	xmlFreeDoc(doc);
	ctxt_give_back();
	/* libxml2 keeps a copy of the last error in a global: drop it. */
	xmlResetLastError();
	return -1;
}

/* 0 if got and want are both absent or equal; else -1 with why in e. */
static int
claim_eq(
    const char *what, const char *got, const char *want, struct stanza_error *e)
{
	if (got == NULL ? want == NULL : want != NULL && strcmp(got, want) == 0)
		return 0;
	fail_set(e, 400,
	    "the stanza's %s is %s%.100s%s, the frame's is %s%.100s%s", what,
	    got ? "'" : "", got ? got : "absent", got ? "'" : "",
	    want ? "'" : "", want ? want : "absent", want ? "'" : "");
	return -1;
}

int
stanza_check_claim(const char *xml, size_t len, const struct stanza_limits *lim,
    const char *domain, const struct stanza_claim *claim, struct stanza *st,
    struct stanza_error *e)
{
	if (stanza_parse(xml, len, lim, domain, st, e) == -1)
		return -1;
	if (claim_eq("name", st->kind, claim->kind, e) == -1 ||
	    claim_eq("from", st->from, claim->from, e) == -1 ||
	    claim_eq("to", st->to, claim->to, e) == -1 ||
	    claim_eq("id", st->id_generated ? NULL : st->id, claim->id, e) ==
		-1 ||
	    claim_eq("type", st->type, claim->type, e) == -1) {
		stanza_free(st);
		return -1;
	}
	return 0;
}
