/*
 * The webhook client (http.h): one POST is one request written in one
 * piece and one response read into a growing buffer that the parser
 * (http_resp.c) sees after every read, so that reading stops as soon as
 * the response is complete.  A connection (http_conn.c) is kept for the
 * next POST only when the parser says the response ended by its own
 * framing and nothing followed it.  Invariant: the receive buffer never
 * grows past HTTP_HEAD_MAX + max_response_bytes + slack.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "http_conn.h"
#include "http_priv.h"
#include "util.h"

#define RECV_FIRST 4096 /* first size of the receive buffer */
/*
 * Room for chunk framing on top of the body cap.  A body sent in tiny
 * chunks may still not fit; it is then reported as truncated.
 */
#define RECV_SLACK 16384

/* No "Connection: close": the server may keep the connection open. */
static int
format_head(char *dst, size_t size, const struct http_request *req)
{
	const struct http_url *u = req->url;
	const char *ct = req->content_type;
	const char *xh = req->headers != NULL ? req->headers : "";
	size_t xl = strlen(xh);
	int v6 = strchr(u->host, ':') != NULL;
	char port[8] = "";

	if (u->port != (u->tls ? 443U : 80U))
		snprintf(port, sizeof(port), ":%u", u->port);
	return snprintf(dst, size,
	    "POST %s HTTP/1.1\r\n"
	    "Host: %s%s%s%s\r\n"
	    "%s%s%s"
	    "Content-Length: %zu\r\n"
	    "%s%s"
	    "\r\n",
	    u->path, v6 ? "[" : "", u->host, v6 ? "]" : "", port,
	    ct != NULL ? "Content-Type: " : "", ct != NULL ? ct : "",
	    ct != NULL ? "\r\n" : "", req->body_len, xh,
	    xl > 0 && xh[xl - 1] != '\n' ? "\r\n" : "");
}

/* The request head and body in one buffer: one write, no Nagle stall. */
static char *
build_request(
    const struct http_request *req, size_t *lenp, char *err, size_t errlen)
{
	char probe[1], *out;
	int hl;

	if (req->content_type != NULL &&
	    strpbrk(req->content_type, "\r\n") != NULL) {
		http_seterr(err, errlen, "content type contains a line break");
		return NULL;
	}
	hl = format_head(probe, sizeof(probe), req);
	if (hl < 0 || req->body_len > SIZE_MAX - (size_t)hl - 1 ||
	    (out = malloc((size_t)hl + req->body_len + 1)) == NULL) {
		http_seterr(err, errlen, "out of memory for the request");
		return NULL;
	}
	(void)format_head(out, (size_t)hl + 1, req);
	if (req->body_len > 0)
		memcpy(out + hl, req->body, req->body_len);
	*lenp = (size_t)hl + req->body_len;
	return out;
}

static size_t
sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/*
 * Sends out and reads one response on c.  *started says whether any byte
 * of the response arrived; *reusable whether c may carry another request
 * (the response allows it and nothing followed it).
 */
static enum http_rc
exchange(const struct http_conn *c, const char *out, size_t outlen,
    const struct http_request *req, int64_t start, struct http_response *r,
    int *started, int *reusable, char *err, size_t errlen)
{
	struct buf in;
	size_t max = req->max_response_bytes;
	int64_t deadline = req->deadline_ms;
	enum http_rc rc;
	int p = -1;

	*started = 0;
	*reusable = 0;
	rc = http_conn_write(c, out, outlen, deadline, err, errlen);
	if (rc != HTTP_OK)
		return rc;
	buf_init(&in, RECV_FIRST,
	    sat_add(sat_add(HTTP_HEAD_MAX, max), sat_add(RECV_SLACK, max / 4)));
	for (;;) {
		size_t got;

		if (buf_reserve(&in, 1) < 0 && errno == ENOMEM) {
			http_seterr(
			    err, errlen, "out of memory for the response");
			rc = HTTP_UNREACHABLE;
			goto done;
		}
		if (buf_room(&in) == 0) {
			/* Full: what came is all we take. */
			p = http_resp_parse((const char *)in.data, in.len,
			    HTTP_FEED_CAPPED, max, r, err, errlen);
			/* The rest is still on the wire. */
			r->keep_alive = 0;
			break;
		}
		rc = http_conn_read(c, (char *)in.data + in.len, buf_room(&in),
		    &got, deadline, err, errlen);
		if (rc == HTTP_TIMEOUT) {
			if (in.len == 0)
				http_seterr(err, errlen,
				    "no response within %lld ms",
				    (long long)(deadline - start));
			else
				http_seterr(err, errlen,
				    "response incomplete after %lld ms (%zu "
				    "bytes received)",
				    (long long)(deadline - start), in.len);
		}
		if (rc != HTTP_OK)
			goto done;
		if (got == 0 && in.len == 0) {
			http_seterr(err, errlen,
			    "connection closed without a response");
			rc = HTTP_UNREACHABLE;
			goto done;
		}
		in.len += got;
		*started = 1;
		p = http_resp_parse((const char *)in.data, in.len,
		    got == 0 ? HTTP_FEED_EOF : HTTP_FEED_MORE, max, r, err,
		    errlen);
		if (p != 0)
			break;
	}
	rc = p == 1 ? HTTP_OK : HTTP_BAD_RESPONSE;
	/* Bytes past the response: the stream is out of step; drop it. */
	*reusable = p == 1 && r->keep_alive && r->used == in.len;
done:
	buf_free(&in);
	return rc;
}

static enum http_rc
check_request(const struct http_request *req, struct http_response *r,
    int64_t start, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	http_seterr(err, errlen, "no error");
	if (req == NULL || req->url == NULL || req->url->host[0] == '\0' ||
	    req->url->port == 0 || req->url->path[0] != '/') {
		http_seterr(err, errlen, "no callback URL");
		return HTTP_UNREACHABLE;
	}
	if (start >= req->deadline_ms) {
		http_seterr(
		    err, errlen, "the deadline passed before connecting");
		return HTTP_TIMEOUT;
	}
	return HTTP_OK;
}

struct http_client {
	struct http_conn c; /* fd -1: none kept */
	int tls;
	char host[sizeof(((struct http_url *)0)->host)];
	unsigned port;
	char *ca_file; /* what c's certificate was checked against */
};

struct http_client *
http_client_new(void)
{
	struct http_client *hc = calloc(1, sizeof(*hc));

	if (hc != NULL)
		hc->c.fd = -1;
	return hc;
}

static void
client_drop(struct http_client *hc)
{
	http_conn_close(&hc->c);
	free(hc->ca_file);
	hc->ca_file = NULL;
}

void
http_client_free(struct http_client *hc)
{
	if (hc == NULL)
		return;
	client_drop(hc);
	free(hc);
}

int
http_client_connected(const struct http_client *hc)
{
	return hc != NULL && hc->c.fd >= 0;
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Whether the kept connection can take req: same peer and trust anchors,
 * and nothing readable on it.  Between our requests the server has
 * nothing to say; readable means it closed (or is closing) the
 * connection, or sent what we never asked for.  Either way a fresh
 * connection costs less than a failed attempt.
 */
static int
client_usable(const struct http_client *hc, const struct http_request *req)
{
	if (hc->c.fd < 0 || hc->tls != req->url->tls ||
	    hc->port != req->url->port ||
	    strcmp(hc->host, req->url->host) != 0 ||
	    (hc->tls && !same_str(hc->ca_file, req->ca_file)))
		return 0;
	return http_conn_quiet(&hc->c);
}

/* Remembers where hc's new connection leads; -1 when out of memory. */
static int
client_note_peer(struct http_client *hc, const struct http_request *req)
{
	hc->tls = req->url->tls;
	hc->port = req->url->port;
	xr_strlcpy(hc->host, req->url->host, sizeof(hc->host));
	free(hc->ca_file);
	hc->ca_file = NULL;
	if (req->ca_file != NULL &&
	    (hc->ca_file = strdup(req->ca_file)) == NULL)
		return -1;
	return 0;
}

/*
 * A kept connection can be closed by the server at any moment (its idle
 * timeout), and the close can cross our request on the wire: the write
 * succeeds or fails with EPIPE/ECONNRESET, the read sees a reset or the
 * end of the stream.  When that happens before any byte of the answer
 * came, the request is sent once more on a new connection, as RFC 9112
 * §9.3.1 allows for a client that knows the request can be repeated.
 * A POST is not idempotent in general, but deliveries are at-least-once
 * by design: every attempt carries the same X-XMPP-Rest-Delivery id for
 * the receiver to drop repeats (docs/API.md).  A server that processed
 * the request and then dropped the connection without a byte of answer
 * is the one case that sees the delivery twice; without the retry it
 * would see it twice all the same, from the bridge's own retry later.
 * A timeout is never repeated: the deadline is the delivery's.
 */
enum http_rc
http_client_post(struct http_client *hc, const struct http_request *req,
    struct http_response *r, int *reused, char *err, size_t errlen)
{
	char *out = NULL;
	size_t outlen = 0;
	int64_t start = xr_now_ms();
	enum http_rc rc;
	int started = 0, reusable = 0;

	*reused = 0;
	if ((rc = check_request(req, r, start, err, errlen)) != HTTP_OK)
		return rc;
	if ((out = build_request(req, &outlen, err, errlen)) == NULL)
		return HTTP_UNREACHABLE;
	*reused = client_usable(hc, req);
	if (!*reused)
		client_drop(hc);
	for (;;) {
		if (!*reused) {
			if ((rc = http_conn_open(&hc->c, req, err, errlen)) !=
			    HTTP_OK)
				break;
			if (client_note_peer(hc, req) < 0) {
				http_seterr(err, errlen, "out of memory");
				rc = HTTP_UNREACHABLE;
				break;
			}
		}
		rc = exchange(&hc->c, out, outlen, req, start, r, &started,
		    &reusable, err, errlen);
		if (rc != HTTP_UNREACHABLE || !*reused || started)
			break;
		/* The kept connection was gone: once more, on a new one. */
		client_drop(hc);
		*reused = 0;
	}
	if (!reusable)
		client_drop(hc);
	free(out);
	return rc;
}
