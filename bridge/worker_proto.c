/*
 * A delivery's result on the workers' channel (worker_proto.h): written
 * by the worker from the HTTP response, read back by the pool into the
 * struct wh_result its caller sees.  Both ends in one file, so the two
 * cannot drift apart.
 */
#include <string.h>

#include "util.h"
#include "worker_proto.h"

void
wp_put_response(struct frame_out *fo, const struct http_response *r)
{
	frame_put_str(fo, FIELD_OUTCOME, "response");
	frame_put_uint(fo, FIELD_STATUS, (unsigned long)r->status);
	frame_put_str(fo, FIELD_REASON, r->reason);
	frame_put_str(fo, FIELD_CTYPE, r->content_type);
	if (r->retry_after > 0)
		frame_put_uint(fo, FIELD_RETRY, r->retry_after);
	/* A body cut short, or with NUL bytes, is no stanza: drop it. */
	if (r->body != NULL && !r->body_truncated &&
	    memchr(r->body, '\0', r->body_len) == NULL)
		frame_put(fo, FIELD_STANZA, r->body, r->body_len);
	else if (r->body != NULL)
		frame_put_str(fo, FIELD_TRUNCATED, "1");
}

void
wp_put_failure(struct frame_out *fo, const char *outcome, const char *why)
{
	frame_put_str(fo, FIELD_OUTCOME, outcome);
	frame_put_str(fo, FIELD_TEXT, why);
}

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* The response's part of a result frame: 0, or -1 if it is none. */
static int
read_response(const struct frame *f, struct wh_result *r)
{
	unsigned long long status = 0, retry = 0;

	if (xr_parse_uint(frame_get(f, FIELD_STATUS), 100, 599, &status) < 0)
		return -1;
	r->kind = WH_RESPONSE;
	r->status = (int)status;
	r->reason = or_empty(frame_get(f, FIELD_REASON));
	r->content_type = or_empty(frame_get(f, FIELD_CTYPE));
	r->body = frame_get(f, FIELD_STANZA);
	r->body_len = r->body ? f->flen[FIELD_STANZA] : 0;
	if (frame_get(f, FIELD_RETRY) != NULL &&
	    xr_parse_uint(frame_get(f, FIELD_RETRY), 0, HTTP_RETRY_AFTER_MAX,
		&retry) == 0)
		r->retry_after = (unsigned long)retry;
	return 0;
}

int
wp_read_result(const struct frame *f, struct wh_result *r)
{
	const char *outcome = frame_get(f, FIELD_OUTCOME);

	memset(r, 0, sizeof(*r));
	if (outcome != NULL && strcmp(outcome, "response") == 0 &&
	    read_response(f, r) == 0)
		return frame_get(f, FIELD_TRUNCATED) != NULL;
	if (outcome != NULL && strcmp(outcome, "timeout") == 0)
		r->kind = WH_TIMEOUT;
	else if (outcome != NULL && strcmp(outcome, "refused") == 0)
		r->kind = WH_REFUSED;
	else
		r->kind = WH_UNREACHABLE;
	r->error = outcome != NULL ? frame_get(f, FIELD_TEXT)
				   : "delivery process sent no outcome";
	if (r->error == NULL)
		r->error = "unknown";
	return 0;
}
