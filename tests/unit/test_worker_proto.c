/*
 * The workers' channel (bridge/worker_proto.c): a result written by the
 * worker reads back as the pool's struct wh_result, through the frame
 * codec as it crosses the socketpair.
 */
#include <stdlib.h>
#include <string.h>

#include "worker_proto.h"
#include "t.h"

/* Finishes fo and decodes it as the pool does; r points into *f. */
static int
round_trip(struct frame_out *fo, struct frame *f, struct wh_result *r)
{
	char err[XR_ERRLEN];
	int truncated;

	if (frame_finish(fo, err, sizeof(err)) < 0 ||
	    frame_decode_types(fo->b.data, fo->b.len, WORKER_FRAME_TYPES, f,
		err, sizeof(err)) != (ssize_t)fo->b.len)
		abort();
	truncated = wp_read_result(f, r);
	frame_out_free(fo);
	return truncated;
}

static void
test_response(void)
{
	struct http_response hr = {0};
	struct frame_out fo = {0};
	struct frame f;
	struct wh_result r;
	char body[] = "<message/>";

	hr.status = 503;
	strcpy(hr.reason, "Service Unavailable");
	strcpy(hr.content_type, "application/xmpp+xml");
	hr.body = body;
	hr.body_len = strlen(body);
	hr.retry_after = 30;
	frame_begin(&fo, FRAME_DELIVERY, 0);
	wp_put_response(&fo, &hr);
	T_EQ_INT(round_trip(&fo, &f, &r), 0, "a whole body is not truncated");
	T_EQ_INT(r.kind, WH_RESPONSE, "a response");
	T_EQ_INT(r.status, 503, "its status");
	T_EQ_STR(r.reason, "Service Unavailable", "its reason");
	T_EQ_STR(r.content_type, "application/xmpp+xml", "its type");
	T_EQ_INT(r.body_len, strlen(body), "its body's length");
	T_OK(r.body != NULL && memcmp(r.body, body, r.body_len) == 0,
	    "its body");
	T_EQ_INT(r.retry_after, 30, "its Retry-After");
	frame_clear(&f);

	hr.body_truncated = 1;
	hr.retry_after = 0;
	hr.reason[0] = '\0';
	frame_begin(&fo, FRAME_DELIVERY, 0);
	wp_put_response(&fo, &hr);
	T_EQ_INT(round_trip(&fo, &f, &r), 1, "a body over the cap is said");
	T_OK(r.body == NULL && r.body_len == 0, "and dropped");
	T_EQ_STR(r.reason, "", "an empty reason reads as empty");
	T_EQ_INT(r.retry_after, 0, "no Retry-After");
	frame_clear(&f);

	hr.body_truncated = 0;
	hr.body_len = sizeof(body); /* the NUL too: no text */
	frame_begin(&fo, FRAME_DELIVERY, 0);
	wp_put_response(&fo, &hr);
	T_EQ_INT(round_trip(&fo, &f, &r), 1, "a body with a NUL is dropped");
	frame_clear(&f);
}

static void
test_failures(void)
{
	struct frame_out fo = {0};
	struct frame f;
	struct wh_result r;

	frame_begin(&fo, FRAME_DELIVERY, 0);
	wp_put_failure(&fo, "timeout", "no response within 5000 ms");
	round_trip(&fo, &f, &r);
	T_EQ_INT(r.kind, WH_TIMEOUT, "a timeout");
	T_EQ_STR(r.error, "no response within 5000 ms", "with its reason");
	frame_clear(&f);

	frame_begin(&fo, FRAME_DELIVERY, 0);
	wp_put_failure(&fo, "refused", "malformed delivery job");
	round_trip(&fo, &f, &r);
	T_EQ_INT(r.kind, WH_REFUSED, "a refusal is permanent");
	frame_clear(&f);

	frame_begin(&fo, FRAME_DELIVERY, 0);
	wp_put_failure(&fo, "unreachable", NULL);
	round_trip(&fo, &f, &r);
	T_EQ_INT(r.kind, WH_UNREACHABLE, "unreachable");
	T_EQ_STR(r.error, "unknown", "without a reason: unknown");
	frame_clear(&f);

	frame_begin(&fo, FRAME_DELIVERY, 0);
	round_trip(&fo, &f, &r);
	T_EQ_INT(r.kind, WH_UNREACHABLE, "no outcome at all");
	T_HAS(r.error, "no outcome", "says so");
	frame_clear(&f);

	frame_begin(&fo, FRAME_DELIVERY, 0);
	frame_put_str(&fo, FIELD_OUTCOME, "response");
	frame_put_str(&fo, FIELD_STATUS, "99");
	round_trip(&fo, &f, &r);
	T_EQ_INT(r.kind, WH_UNREACHABLE, "a response with no valid status");
	frame_clear(&f);
}

int
main(void)
{
	test_response();
	test_failures();
	return t_done();
}
