/*
 * A bounded writer over a caller's buffer: every response and every
 * report is built through it, so nothing fed by a peer can write past the
 * end.  What does not fit is dropped and recorded in `truncated`; a header
 * value holding a control character is refused and recorded in `refused`.
 */
#ifndef XR_OUTBUF_H
#define XR_OUTBUF_H

#include <stddef.h>

struct outbuf {
	char *buf;
	size_t cap; /* bytes of buf, the NUL included */
	size_t len; /* always < cap; buf[len] is NUL */
	int truncated;
	int refused;
};

/* cap must be at least 1. */
void ob_init(struct outbuf *ob, char *buf, size_t cap);

/* Appends what fits of n bytes. */
void ob_put(struct outbuf *ob, const char *s, size_t n);
void ob_puts(struct outbuf *ob, const char *s);

/* Appends what fits of the formatted text. */
void ob_printf(struct outbuf *ob, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends s escaped for XML character data and attributes ('"<>&). */
void ob_put_xml(struct outbuf *ob, const char *s);

/*
 * Appends "name: value\r\n" whole or not at all.  A value holding a
 * control character (CR, LF, NUL excepted as the end, DEL, ...) is
 * refused: nothing is written, `refused` is set and -1 returned.  A line
 * that does not fit sets `truncated` and returns -1.
 */
int ob_header(struct outbuf *ob, const char *name, const char *value);
int ob_headerf(struct outbuf *ob, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Bytes of s, at most max, that end on a UTF-8 character boundary. */
size_t ob_utf8_cut(const char *s, size_t max);

#endif
