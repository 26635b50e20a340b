/*
 * The one JSON writer of the tree, on jansson (RFC 8259, validates
 * UTF-8; its parser is the one requests will be read with later).
 */
#ifndef XR_JSON_OUT_H
#define XR_JSON_OUT_H

#include <stddef.h>

#include <jansson.h>

/* A JSON string of at most max bytes of s, cut on a character boundary;
 * bytes that are not UTF-8 become '?'.  NULL only when out of memory. */
json_t *xr_json_text(const char *s, size_t max);

/* j as one compact line ending in "\n" (malloc'd, *len its length), and
 * j released; NULL when out of memory. */
char *xr_json_dump(json_t *j, size_t *len);

#endif
