/*
 * A tiny TAP-like harness in the spirit of libstrophe's test.h: each check
 * prints "ok N - what" or "not ok N - what: detail"; t_done() prints the
 * summary line "N passed, M failed" and returns the exit status.
 */
#ifndef XR_T_H
#define XR_T_H

#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;

#define T_OK(cond, what)                                                 \
	do {                                                             \
		if (cond) {                                              \
			t_pass++;                                        \
			printf("ok %d - %s\n", t_pass + t_fail, (what)); \
		} else {                                                 \
			t_fail++;                                        \
			printf("not ok %d - %s (%s:%d: %s)\n",           \
			    t_pass + t_fail, (what), __FILE__, __LINE__, \
			    #cond);                                      \
		}                                                        \
	} while (0)

#define T_EQ_INT(got, want, what)                                            \
	do {                                                                 \
		long long t_g_ = (long long)(got), t_w_ = (long long)(want); \
		if (t_g_ == t_w_) {                                          \
			t_pass++;                                            \
			printf("ok %d - %s\n", t_pass + t_fail, (what));     \
		} else {                                                     \
			t_fail++;                                            \
			printf("not ok %d - %s: expected %lld, got %lld "    \
			       "(%s:%d)\n",                                  \
			    t_pass + t_fail, (what), t_w_, t_g_, __FILE__,   \
			    __LINE__);                                       \
		}                                                            \
	} while (0)

#define T_EQ_STR(got, want, what)                                            \
	do {                                                                 \
		const char *t_g_ = (got), *t_w_ = (want);                    \
		if (t_g_ && t_w_ && strcmp(t_g_, t_w_) == 0) {               \
			t_pass++;                                            \
			printf("ok %d - %s\n", t_pass + t_fail, (what));     \
		} else {                                                     \
			t_fail++;                                            \
			printf("not ok %d - %s: expected \"%s\", got "       \
			       "\"%s\" (%s:%d)\n",                           \
			    t_pass + t_fail, (what), t_w_ ? t_w_ : "(null)", \
			    t_g_ ? t_g_ : "(null)", __FILE__, __LINE__);     \
		}                                                            \
	} while (0)

/* Substring check, for error texts that must name the problem. */
#define T_HAS(got, needle, what)                                             \
	do {                                                                 \
		const char *t_g_ = (got);                                    \
		if (t_g_ && strstr(t_g_, (needle))) {                        \
			t_pass++;                                            \
			printf("ok %d - %s\n", t_pass + t_fail, (what));     \
		} else {                                                     \
			t_fail++;                                            \
			printf("not ok %d - %s: \"%s\" does not contain "    \
			       "\"%s\" (%s:%d)\n",                           \
			    t_pass + t_fail, (what), t_g_ ? t_g_ : "(null)", \
			    (needle), __FILE__, __LINE__);                   \
		}                                                            \
	} while (0)

static inline int
t_done(void)
{
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}

#endif
