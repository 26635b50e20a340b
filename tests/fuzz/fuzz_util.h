/* Small helpers the fuzz targets share. */
#ifndef XR_FUZZ_UTIL_H
#define XR_FUZZ_UTIL_H

#include <string.h>

/* Two optional strings are the same: both absent, or equal bytes. */
static inline int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

#endif
