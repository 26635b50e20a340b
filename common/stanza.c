/*
 * Parsing a posted stanza, and the XML-level checks of it.
 *
 * libxml2 builds a tree with no network, no DTD and no entity expansion.
 * A DOCTYPE stops the parser as soon as its name is read, before the
 * internal subset, so XXE and entity bombs never start (RFC 6120 §11.1
 * forbids DTDs anyway).  We then walk the tree ourselves: comments, PIs
 * and entity references are refused, and depth and attribute counts are
 * capped.  The stanza-level rules are stanza_root.c's; the tree is
 * written back out by stanza_write.c.
 *
 * The tree walks are iterative: depth is bounded by the configured
 * limit, but the stack is never the thing that bounds it.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "stanza_tree.h"

/* Never NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE, HUGE or RECOVER. */
#define XR_XML_OPTS                                                  \
	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | \
	    XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC)

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
void
stanza_fail(struct stanza_error *e, int status, const char *fmt, ...)
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
		stanza_fail(e, 400, "DOCTYPE is not allowed in XMPP " RFC_DTD);
		return -1;
	}
	if (ps->have_entity) {
		stanza_fail(e, 400,
		    "entity reference &%s; is not allowed in XMPP " RFC_DTD,
		    ps->entity);
		return -1;
	}
	/* A namespace error leaves a doc and wellFormed; nsWellFormed is 0. */
	if (doc != NULL && !ps->have_err && ctxt->wellFormed &&
	    ctxt->nsWellFormed && xmlDocGetRootElement(doc) != NULL)
		return 0;
	if (ps->have_err) {
		stanza_fail(e, 400, "line %d: %s", ps->err_line, ps->err_msg);
		return -1;
	}
	last = xmlCtxtGetLastError(ctxt);
	if (last != NULL && last->message != NULL) {
		char msg[XR_ERRLEN];

		xr_strlcpy(msg, last->message, sizeof(msg));
		first_line(msg);
		stanza_fail(e, 400, "line %d: %s", last->line, msg);
	} else {
		stanza_fail(e, 400, "not well-formed XML");
	}
	return -1;
}

void
stanza_qname(const xmlNode *n, char *buf, size_t size)
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
		stanza_fail(e, 422,
		    "nesting deeper than max_stanza_depth (%lu)",
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
			stanza_fail(e, 422,
			    "namespace name '%.80s' contains '&', which is "
			    "not supported",
			    (const char *)ns->href);
			return -1;
		}
		count++;
	}
	if (count > lim->max_attrs) {
		char name[128];

		stanza_qname(n, name, sizeof(name));
		stanza_fail(e, 422,
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
			stanza_fail(e, 400,
			    "comments are not allowed in XMPP " RFC_DTD);
			return -1;
		} else if (n->type == XML_PI_NODE) {
			stanza_fail(e, 400,
			    "processing instructions are not allowed in "
			    "XMPP " RFC_DTD);
			return -1;
		} else if (n->type == XML_ENTITY_REF_NODE) {
			stanza_fail(e, 400,
			    "entity reference &%s; is not allowed in "
			    "XMPP " RFC_DTD,
			    (const char *)n->name);
			return -1;
		} else if (n->type != XML_TEXT_NODE &&
		    n->type != XML_CDATA_SECTION_NODE) {
			stanza_fail(e, 400, "unexpected XML node (type %d)",
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

const xmlAttr *
stanza_find_attr(const xmlNode *n, const char *name, const char *ns)
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

int
stanza_no_memory(struct stanza_error *e)
{
	stanza_fail(e, 500, "out of memory");
	return -1;
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
		stanza_fail(e, 413,
		    "stanza is %zu bytes; limit is %lu (max_stanza_bytes)", len,
		    limit);
		return -1;
	}
	if (body == NULL || is_blank(body, len)) {
		stanza_fail(e, 400,
		    "empty body: expected one message, presence or iq element");
		return -1;
	}
	if ((ctxt = ctxt_take()) == NULL) {
		stanza_no_memory(e);
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
	if (stanza_check_root(root, domain, st, e) == -1)
		goto fail;
	if (stanza_write(root, st) == -1) {
		stanza_no_memory(e);
		goto fail;
	}
	/* The limit is on what is written: escaping can make it grow, and
	 * past the server's own limit it closes the stream. */
	if (st->xml_len > limit) {
		stanza_fail(e, 413,
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
	stanza_fail(e, 400,
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
