/*
 * The delivery worker (wh_worker.h).  It runs in a process forked from
 * the bridge, so it never touches libstrophe or the bridge's loop, and it
 * leaves with _exit.  Every setting a job needs comes in its frame, read
 * from the live configuration when the delivery started.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame_reader.h"
#include "http.h"
#include "sign.h"
#include "util.h"
#include "wh_worker.h"
#include "worker_proto.h"

/* The delivery's own headers, signed when the job carries a secret:
 * 0, or -1 when it cannot be signed. */
static int
job_headers(const struct frame *f, char *headers, size_t size)
{
	const char *id = frame_get(f, FIELD_ID);
	const char *secret = frame_get(f, FIELD_SECRET);
	const char *body = frame_get(f, FIELD_STANZA);
	char ts[24], mac[SIGN_HEX_LEN + 1];
	size_t n;

	snprintf(headers, size,
	    "User-Agent: xmpp-rest/%s\r\nX-XMPP-Rest-Delivery: %s\r\n",
	    XR_VERSION, id);
	if (secret == NULL)
		return 0;
	n = strlen(headers);
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	if (sign_delivery(secret, ts, body, f->flen[FIELD_STANZA], mac) < 0)
		return -1;
	snprintf(headers + n, size - n,
	    "X-XMPP-Rest-Timestamp: %s\r\n"
	    "X-XMPP-Rest-Signature: sha256=%s\r\n",
	    ts, mac);
	return 0;
}

/* Performs the job in f and builds its result frame in fo. */
static void
deliver(const struct frame *f, struct http_client *hc, struct frame_out *fo)
{
	unsigned long long deadline = 0, max = 0;
	struct http_url u;
	struct http_request req = {0};
	struct http_response r = {0};
	char err[XR_ERRLEN], headers[512];
	enum http_rc rc;
	int reused;

	frame_begin(fo, FRAME_DELIVERY, 0);
	if (frame_get(f, FIELD_ID) == NULL ||
	    frame_get(f, FIELD_STANZA) == NULL ||
	    xr_parse_uint(
		frame_get(f, FIELD_DEADLINE), 1, INT64_MAX, &deadline) < 0 ||
	    xr_parse_uint(frame_get(f, FIELD_MAX_BYTES), 0, SIZE_MAX, &max) <
		0) {
		wp_put_failure(fo, "refused", "malformed delivery job");
		return;
	}
	/* The bridge checked it before queuing: this is a backstop, and
	 * a URL the parser refuses stays refused, so it is no retry. */
	if (http_url_parse(frame_get(f, FIELD_URL), &u, err, sizeof(err)) < 0) {
		wp_put_failure(fo, "refused", err);
		return;
	}
	if (job_headers(f, headers, sizeof(headers)) < 0) {
		wp_put_failure(fo, "unreachable", "cannot sign the delivery");
		return;
	}
	req.url = &u;
	req.ca_file = frame_get(f, FIELD_CA_FILE);
	req.headers = headers;
	req.content_type = "application/xmpp+xml";
	req.body = frame_get(f, FIELD_STANZA);
	req.body_len = f->flen[FIELD_STANZA];
	req.max_response_bytes = (size_t)max;
	req.deadline_ms = (int64_t)deadline;
	rc = http_client_post(hc, &req, &r, &reused, err, sizeof(err));
	if (rc == HTTP_OK)
		wp_put_response(fo, &r);
	else
		wp_put_failure(
		    fo, rc == HTTP_TIMEOUT ? "timeout" : "unreachable", err);
	http_response_free(&r);
}

/*
 * Reads the next job frame from fd into *f, blocking: 1, or 0 when the
 * bridge closed the socket (idle too long, or gone) or sent what is not
 * one whole frame.  The bridge writes one job and waits for its result,
 * so a read never holds the start of the next job.
 */
static int
read_job(struct frame_reader *fr, int fd, struct frame *f)
{
	char err[XR_ERRLEN];
	enum fr_rc rc;

	while ((rc = fr_next(fr, f, err, sizeof(err))) == FR_MORE) {
		if (fr_read(fr, fd, NULL) <= 0)
			return 0;
	}
	if (rc != FR_FRAME)
		return 0;
	if (fr_pending(fr) != 0 || f->type != FRAME_DELIVERY) {
		frame_clear(f);
		return 0;
	}
	return 1;
}

/* A backstop: http_client_post keeps the deadline by itself. */
static void
alarm_past(const struct frame *f)
{
	unsigned long long deadline = 0;
	int64_t now = xr_now_ms();

	if (xr_parse_uint(
		frame_get(f, FIELD_DEADLINE), 1, INT64_MAX, &deadline) == 0 &&
	    (int64_t)deadline > now)
		alarm((unsigned)(((int64_t)deadline - now) / 1000 + 2));
}

_Noreturn void
wh_worker_run(int fd)
{
	struct http_client *hc = http_client_new();
	struct frame_reader fr;
	struct frame f = {0};

	if (hc == NULL)
		_exit(1);
	fr_init(&fr, XR_FRAME_MAX, WORKER_FRAME_TYPES);
	while (read_job(&fr, fd, &f)) {
		struct frame_out fo = {0};
		char err[XR_ERRLEN];
		int ok;

		alarm_past(&f);
		deliver(&f, hc, &fo);
		alarm(0);
		ok = frame_finish(&fo, err, sizeof(err)) == 0 &&
		    xr_write_all(fd, fo.b.data, fo.b.len) == 0;
		frame_out_free(&fo);
		frame_clear(&f);
		if (!ok)
			break;
	}
	http_client_free(hc);
	fr_free(&fr);
	_exit(0);
}
