/*
 * The serialization rules: how a checked tree is written back out as the
 * stanza that goes to XMPP.
 *
 * Our own writer rather than xmlNodeDump: the root keeps only
 * from/to/id/type/xml:lang, a default xmlns='jabber:client' is dropped
 * so the stream's namespace applies, and every element re-declares
 * exactly the namespaces it declared in the input, so the output parses
 * to the same infoset on its own.  The walk is iterative, like the
 * checker's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "ns.h"
#include "stanza_tree.h"

/* The text being written; oom is sticky so callers check once. */
struct xml_out {
	char *p;
	size_t len, cap;
	int oom;
};

static void
out_bytes(struct xml_out *o, const char *s, size_t n)
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
out_str(struct xml_out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

/*
 * Escapes for character data or, with attr set, for a value quoted with
 * "'".  Raw tabs and newlines in an attribute would be normalized to
 * spaces by the next parser, and a raw CR anywhere to LF.
 */
static void
out_escaped(struct xml_out *o, const xmlChar *xs, int attr)
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
out_qname(struct xml_out *o, const xmlNs *ns, const xmlChar *name)
{
	if (ns != NULL && ns->prefix != NULL) {
		out_str(o, (const char *)ns->prefix);
		out_str(o, ":");
	}
	out_str(o, (const char *)name);
}

static void
out_attr(struct xml_out *o, const xmlAttr *a)
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
out_plain_attr(struct xml_out *o, const char *name, const char *value)
{
	out_str(o, " ");
	out_str(o, name);
	out_str(o, "='");
	out_escaped(o, (const xmlChar *)value, 1);
	out_str(o, "'");
}

/* Namespace declarations of n; skip_client drops xmlns='jabber:client'. */
static void
out_ns_decls(struct xml_out *o, const xmlNode *n, int skip_client)
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
out_descendants(struct xml_out *o, const xmlNode *root)
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
			/* Only text is left after the checks; CDATA is merged. */
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

int
stanza_write(const xmlNode *root, struct stanza *st)
{
	struct xml_out o = {NULL, 0, 0, 0};
	const xmlAttr *lang =
	    stanza_find_attr(root, "lang", (const char *)XML_XML_NAMESPACE);

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
		return -1;
	}
	st->xml = o.p;
	st->xml_len = o.len;
	return 0;
}
