/*
 * Small helpers shared by the responder and the bridge: bounded string
 * copies, strict number parsing, unguessable ids, whole-buffer I/O.
 */
#ifndef XR_UTIL_H
#define XR_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define XR_ERRLEN 256
#define XR_ID_LEN 24 /* characters of a generated stanza id, without NUL */

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t xr_strlcpy(char *dst, const char *src, size_t size);

/* Parses a whole decimal string into [min, max]; -1 on anything else. */
int xr_parse_uint(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out);

/* Fills out with XR_ID_LEN unguessable characters and a NUL (getrandom). */
int xr_random_id(char out[XR_ID_LEN + 1]);

/* A random number from getrandom (0 if that fails: callers use it for
 * jitter, not secrets). */
uint32_t xr_random_u32(void);

/* write() until done, retrying EINTR; -1 on error. */
int xr_write_all(int fd, const void *buf, size_t len);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t xr_now_ms(void);

#endif
