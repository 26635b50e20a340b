/*
 * For the responder's fuzz targets: a struct io whose CGI variables come
 * from the input and whose output is kept, and the check that what was
 * written is one well-formed CGI response.  Any violation is an abort().
 */
#ifndef XR_FUZZ_CGI_OUT_H
#define XR_FUZZ_CGI_OUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

#define CGI_NVARS 8

struct fio {
	struct io io;
	const char *name[CGI_NVARS], *value[CGI_NVARS];
	const char *body;
	size_t body_len, body_off;
	char *out;
	size_t len;
	int writes_after_end;
};

static const char *
fio_param(struct io *io, const char *name)
{
	struct fio *f = (struct fio *)io;

	for (int i = 0; i < CGI_NVARS && f->name[i]; i++) {
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	}
	return NULL;
}

static int
fio_read(struct io *io, char *buf, int len)
{
	struct fio *f = (struct fio *)io;
	size_t n = f->body_len - f->body_off;

	if (n > (size_t)len)
		n = (size_t)len;
	memcpy(buf, f->body + f->body_off, n);
	f->body_off += n;
	return (int)n;
}

static int
fio_write(struct io *io, const char *buf, int len)
{
	struct fio *f = (struct fio *)io;
	char *p;

	if (len < 0)
		abort();
	if ((p = realloc(f->out, f->len + (size_t)len + 1)) == NULL)
		abort();
	memcpy(p + f->len, buf, (size_t)len);
	f->out = p;
	f->len += (size_t)len;
	return len;
}

static void
fio_init(struct fio *f)
{
	memset(f, 0, sizeof(*f));
	f->io.param = fio_param;
	f->io.read = fio_read;
	f->io.write = fio_write;
}

/* Splits data at NUL bytes into up to n strings (copied, NUL-ended). */
static size_t
split_input(const uint8_t *data, size_t size, char **parts, size_t n)
{
	size_t k = 0, start = 0;

	for (size_t i = 0; i <= size && k < n; i++) {
		if (i == size || data[i] == '\0') {
			if ((parts[k] = malloc(i - start + 1)) == NULL)
				abort();
			memcpy(parts[k], data + start, i - start);
			parts[k][i - start] = '\0';
			k++;
			start = i + 1;
		}
	}
	for (size_t i = k; i < n; i++) {
		if ((parts[i] = calloc(1, 1)) == NULL)
			abort();
	}
	return k;
}

/* Exactly one response: "Status: NNN", header lines of visible text with
 * one ':', a blank line, and a body of exactly Content-Length bytes. */
static void
check_response(const struct fio *f)
{
	const char *p = f->out, *end = f->out + f->len, *eoh = NULL;
	unsigned long clen = 0;
	int has_status = 0, has_clen = 0;

	if (p == NULL)
		abort();
	for (const char *q = p; q + 3 < end; q++) {
		if (memcmp(q, "\r\n\r\n", 4) == 0) {
			eoh = q + 2;
			break;
		}
	}
	if (eoh == NULL || strncmp(p, "Status: ", 8) != 0)
		abort();
	while (p < eoh) {
		const char *nl = memchr(p, '\r', (size_t)(eoh - p));
		const char *colon;

		if (nl == NULL || nl[1] != '\n')
			abort();
		colon = memchr(p, ':', (size_t)(nl - p));
		if (colon == NULL || colon == p || colon[1] != ' ')
			abort();
		for (const char *c = p; c < nl; c++) {
			unsigned char ch = (unsigned char)*c;

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				abort();
		}
		if ((size_t)(colon - p) == 6 && memcmp(p, "Status", 6) == 0) {
			if (has_status++ || nl - colon < 5)
				abort();
			if (colon[2] < '1' || colon[2] > '5')
				abort();
		}
		if ((size_t)(colon - p) == 14 &&
		    memcmp(p, "Content-Length", 14) == 0) {
			char *e;

			if (has_clen++)
				abort();
			clen = strtoul(colon + 2, &e, 10);
			if (e != nl)
				abort();
		}
		p = nl + 2;
	}
	if (has_status != 1 || has_clen != 1)
		abort();
	if ((size_t)(end - (eoh + 2)) != clen)
		abort();
}

#endif
