/*
 * The bounded writer.  Appends never fail loudly: they keep what fits and
 * say so in the flags, and the caller decides (cut with a marker, or 500).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "outbuf.h"

void
ob_init(struct outbuf *ob, char *buf, size_t cap)
{
	ob->buf = buf;
	ob->cap = cap;
	ob->len = 0;
	ob->truncated = 0;
	ob->refused = 0;
	buf[0] = '\0';
}

void
ob_put(struct outbuf *ob, const char *s, size_t n)
{
	size_t room = ob->cap - 1 - ob->len;

	if (n > room) {
		n = room;
		ob->truncated = 1;
	}
	memcpy(ob->buf + ob->len, s, n);
	ob->len += n;
	ob->buf[ob->len] = '\0';
}

void
ob_puts(struct outbuf *ob, const char *s)
{
	if (s != NULL)
		ob_put(ob, s, strlen(s));
}

static void
ob_vprintf(struct outbuf *ob, const char *fmt, va_list ap)
{
	size_t room = ob->cap - ob->len;
	int n = vsnprintf(ob->buf + ob->len, room, fmt, ap);

	if (n < 0) {
		ob->buf[ob->len] = '\0';
		ob->truncated = 1;
		return;
	}
	if ((size_t)n >= room) {
		ob->len = ob->cap - 1;
		ob->truncated = 1;
		return;
	}
	ob->len += (size_t)n;
}

void
ob_printf(struct outbuf *ob, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ob_vprintf(ob, fmt, ap);
	va_end(ap);
}

void
ob_put_xml(struct outbuf *ob, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '<':
			ob_puts(ob, "&lt;");
			break;
		case '>':
			ob_puts(ob, "&gt;");
			break;
		case '&':
			ob_puts(ob, "&amp;");
			break;
		case '\'':
			ob_puts(ob, "&apos;");
			break;
		case '"':
			ob_puts(ob, "&quot;");
			break;
		default:
			ob_put(ob, s, 1);
			break;
		}
	}
}

/* RFC 9110 §5.5: field values are visible characters, SP and HTAB. */
static int
value_ok(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	}
	return 1;
}

int
ob_header(struct outbuf *ob, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	if (!value_ok(name) || strchr(name, ':') != NULL || !value_ok(value)) {
		ob->refused = 1;
		return -1;
	}
	if (nl + 2 + vl + 2 > ob->cap - 1 - ob->len) {
		ob->truncated = 1;
		return -1;
	}
	ob_put(ob, name, nl);
	ob_put(ob, ": ", 2);
	ob_put(ob, value, vl);
	ob_put(ob, "\r\n", 2);
	return 0;
}

int
ob_headerf(struct outbuf *ob, const char *name, const char *fmt, ...)
{
	char value[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(value)) {
		ob->truncated = 1;
		return -1;
	}
	return ob_header(ob, name, value);
}

size_t
ob_utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	/* Back off continuation bytes (10xxxxxx) to a lead byte. */
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}
