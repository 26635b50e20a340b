#include <stdlib.h>
#include <string.h>

#include "wh_settings.h"

/* A copy of s, or NULL in *out for NULL: -1 only when out of memory. */
static int
dup_or_null(const char *s, char **out)
{
	*out = NULL;
	return s != NULL && (*out = strdup(s)) == NULL ? -1 : 0;
}

static void
free_secret(char *s)
{
	if (s == NULL)
		return;
	/* volatile: so the wipe of memory about to be freed is kept. */
	for (volatile char *p = s; *p != '\0'; p++)
		*p = '\0';
	free(s);
}

int
wh_settings_copy(struct wh_settings *s, const struct conf *c)
{
	char *secret, *ca_file;

	if (dup_or_null(c->callback_secret, &secret) < 0)
		return -1;
	if (dup_or_null(c->callback_ca_file, &ca_file) < 0) {
		free_secret(secret);
		return -1;
	}
	wh_settings_clear(s);
	s->timeout_s = c->callback_timeout;
	s->max_inflight = c->callback_max_inflight;
	s->queue_max = c->callback_queue_max;
	s->max_response_bytes = c->callback_max_response_bytes;
	s->secret = secret;
	s->ca_file = ca_file;
	return 0;
}

void
wh_settings_clear(struct wh_settings *s)
{
	free_secret(s->secret);
	free(s->ca_file);
	memset(s, 0, sizeof(*s));
}
