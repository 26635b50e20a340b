/*
 * libFuzzer target for reading a stream error out of the bytes libstrophe
 * left unread (bridge/streamerr.c, streamerr_in_tail): they come from the
 * XMPP server, after a write of ours failed.  The checks: the answer is
 * NULL or a condition name of our own (lower-case letters and hyphens);
 * there is none without a "<stream:error" and its end tag in the input;
 * and bytes put before the last stream error do not change the answer.
 */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "streamerr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_name(const char *c)
{
	size_t n = strlen(c);

	if (n == 0 || n > 32)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!((c[i] >= 'a' && c[i] <= 'z') || c[i] == '-'))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char before[] =
	    "</message><stream:error><reset xmlns='"
	    "urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>";
	const char *in = (const char *)data, *c;
	char *joined;

	c = streamerr_in_tail(in, size);
	if (c == NULL)
		return 0;
	check_name(c);
	(void)streamerr_blames_sent(c);
	if (memmem(in, size, "<stream:error", 13) == NULL ||
	    memmem(in, size, "</stream:error>", 15) == NULL)
		abort();
	/* Ours is the last stream error only if the input has its own
	 * start tag after ours: it has, since c != NULL. */
	if ((joined = malloc(sizeof(before) - 1 + size)) == NULL)
		return 0;
	memcpy(joined, before, sizeof(before) - 1);
	memcpy(joined + sizeof(before) - 1, in, size);
	if (streamerr_in_tail(joined, sizeof(before) - 1 + size) != c)
		abort();
	free(joined);
	return 0;
}
