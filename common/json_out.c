/*
 * jansson refuses strings that are not UTF-8; a peer's text is cut and,
 * at worst, made ASCII-safe rather than dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "outbuf.h"

json_t *
xr_json_text(const char *s, size_t max)
{
	json_t *j;
	size_t n;
	char *copy;

	if (s == NULL)
		s = "";
	n = ob_utf8_cut(s, max);
	j = json_stringn(s, n);

	if (j != NULL)
		return j;
	if ((copy = malloc(n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		copy[i] = s[i];
		if ((unsigned char)s[i] & 0x80)
			copy[i] = '?';
	}
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

char *
xr_json_dump(json_t *j, size_t *len)
{
	char *s, *out;
	size_t n;

	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return NULL;
	n = strlen(s);
	if ((out = realloc(s, n + 2)) == NULL) {
		free(s);
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	*len = n + 1;
	return out;
}
