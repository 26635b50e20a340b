/*
 * The webhook client's connections (http_conn.h): getaddrinfo_a for names
 * (so that a lookup has a deadline too), a non-blocking connect to each
 * address in turn, an OpenSSL handshake for https, and reads and writes
 * that wait in poll() until the deadline.
 */
/* getaddrinfo_a(): glibc's only resolver call that can be given a timeout. */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "http_conn.h"
#include "http_priv.h"
#include "util.h"

static int
ms_left(int64_t deadline)
{
	int64_t left = deadline - xr_now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits for events on fd: 1 ready, 0 deadline passed, -1 with errno. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		int left = ms_left(deadline), n;

		if (left == 0)
			return 0;
		n = poll(&pfd, 1, left);
		/* POLLERR/POLLHUP count as ready: the next call says why. */
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int
ip_literal(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* The resolver's request; on the heap, since a thread may outlive us. */
struct lookup {
	struct gaicb cb;
	struct addrinfo hints;
	char host[sizeof(((struct http_url *)0)->host)];
	char port[8];
};

/* An IP literal needs no lookup: no thread, no waiting.  Frees lk. */
static enum http_rc
resolve_literal(
    struct lookup *lk, struct addrinfo **res, char *err, size_t errlen)
{
	int rc;

	lk->hints.ai_flags |= AI_NUMERICHOST;
	rc = getaddrinfo(lk->host, lk->port, &lk->hints, res);
	if (rc != 0)
		http_seterr(
		    err, errlen, "resolve %s: %s", lk->host, gai_strerror(rc));
	free(lk);
	return rc != 0 ? HTTP_UNREACHABLE : HTTP_OK;
}

/* Gives up a lookup that is still running; frees lk when it can. */
static void
resolve_abandon(struct lookup *lk)
{
	switch (gai_cancel(&lk->cb)) {
	case EAI_CANCELED:
		free(lk);
		break;
	case EAI_ALLDONE:
		if (lk->cb.ar_result != NULL)
			freeaddrinfo(lk->cb.ar_result);
		free(lk);
		break;
	default:
		/*
		 * EAI_NOTCANCELED: a resolver thread still writes into lk,
		 * so it must stay allocated.  A known limit: a delivery
		 * worker keeps these few hundred bytes (once per such
		 * lookup) until it exits, at the latest when it has been
		 * idle a while.
		 */
		break;
	}
}

static enum http_rc
resolve(const struct http_url *u, int64_t deadline, struct addrinfo **res,
    char *err, size_t errlen)
{
	struct lookup *lk;
	struct gaicb *list[1];
	const struct gaicb *wait_list[1];
	int rc;

	if ((lk = calloc(1, sizeof(*lk))) == NULL) {
		http_seterr(err, errlen, "resolve %s: out of memory", u->host);
		return HTTP_UNREACHABLE;
	}
	lk->hints.ai_family = AF_UNSPEC;
	lk->hints.ai_socktype = SOCK_STREAM;
	lk->hints.ai_flags = AI_NUMERICSERV;
	xr_strlcpy(lk->host, u->host, sizeof(lk->host));
	snprintf(lk->port, sizeof(lk->port), "%u", u->port);
	if (ip_literal(lk->host))
		return resolve_literal(lk, res, err, errlen);

	lk->cb.ar_name = lk->host;
	lk->cb.ar_service = lk->port;
	lk->cb.ar_request = &lk->hints;
	list[0] = &lk->cb;
	wait_list[0] = &lk->cb;
	if ((rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		free(lk);
		http_seterr(
		    err, errlen, "resolve %s: %s", u->host, gai_strerror(rc));
		return HTTP_UNREACHABLE;
	}
	while ((rc = gai_error(&lk->cb)) == EAI_INPROGRESS) {
		int left = ms_left(deadline);
		struct timespec ts = {.tv_sec = left / 1000,
		    .tv_nsec = (long)(left % 1000) * 1000000L};

		if (left == 0)
			break;
		(void)gai_suspend(wait_list, 1, &ts);
	}
	if (rc == EAI_INPROGRESS) {
		http_seterr(err, errlen, "resolve %s timed out", u->host);
		resolve_abandon(lk);
		return HTTP_TIMEOUT;
	}
	if (rc != 0) {
		http_seterr(
		    err, errlen, "resolve %s: %s", u->host, gai_strerror(rc));
		free(lk);
		return HTTP_UNREACHABLE;
	}
	*res = lk->cb.ar_result;
	free(lk);
	return HTTP_OK;
}

static void
addr_text(const struct addrinfo *ai, char *buf, size_t size)
{
	char h[NI_MAXHOST], s[NI_MAXSERV];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof(h), s, sizeof(s),
		NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		xr_strlcpy(buf, "?", size);
	else if (ai->ai_family == AF_INET6)
		snprintf(buf, size, "[%s]:%s", h, s);
	else
		snprintf(buf, size, "%s:%s", h, s);
}

static enum http_rc
connect_one(const struct addrinfo *ai, int64_t deadline, int *fdp, char *err,
    size_t errlen)
{
	char addr[NI_MAXHOST + NI_MAXSERV + 4];
	int fd, soerr = 0, w;
	socklen_t sl = sizeof(soerr);

	addr_text(ai, addr, sizeof(addr));
	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		http_seterr(
		    err, errlen, "socket for %s: %s", addr, strerror(errno));
		return HTTP_UNREACHABLE;
	}
	/* EINTR leaves the connection going on, as EINPROGRESS does. */
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS && errno != EINTR) {
		http_seterr(
		    err, errlen, "connect %s: %s", addr, strerror(errno));
		goto fail;
	}
	if ((w = wait_fd(fd, POLLOUT, deadline)) == 0) {
		http_seterr(err, errlen, "connect %s timed out", addr);
		close(fd);
		return HTTP_TIMEOUT;
	}
	if (w < 0) {
		http_seterr(
		    err, errlen, "connect %s: poll: %s", addr, strerror(errno));
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr != 0) {
		http_seterr(
		    err, errlen, "connect %s: %s", addr, strerror(soerr));
		goto fail;
	}
	*fdp = fd;
	return HTTP_OK;
fail:
	close(fd);
	return HTTP_UNREACHABLE;
}

/*
 * Tries each address in turn.  All but the last get an equal share of
 * the time left, so that one address that drops packets (an IPv6 route
 * that goes nowhere) does not use up the whole deadline.
 */
static enum http_rc
connect_any(const struct addrinfo *res, int64_t deadline, int *fdp, char *err,
    size_t errlen)
{
	const struct addrinfo *ai;
	enum http_rc rc = HTTP_UNREACHABLE;
	int n = 0;

	for (ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	if (n == 0)
		http_seterr(err, errlen, "resolve: no address");
	for (ai = res; ai != NULL; ai = ai->ai_next, n--) {
		int64_t now = xr_now_ms(), until = deadline;

		if (now >= deadline) {
			if (rc != HTTP_TIMEOUT)
				http_seterr(err, errlen, "connect timed out");
			return HTTP_TIMEOUT;
		}
		if (ai->ai_next != NULL)
			until = now + (deadline - now) / n;
		rc = connect_one(ai, until, fdp, err, errlen);
		if (rc == HTTP_OK)
			return rc;
	}
	return rc;
}

/*
 * Writes "TLS: what: reason" and empties OpenSSL's error queue.  A system
 * error (a CA file that is not there) says more than the library errors
 * stacked on it ("system lib"), so it wins; otherwise the last one does.
 */
static void
tls_err(const char *what, const char *fallback, char *err, size_t errlen)
{
	const char *reason = NULL;
	unsigned long e, last = 0;
	int sys = 0;

	while ((e = ERR_get_error()) != 0) {
		if (!ERR_SYSTEM_ERROR(e))
			last = e;
		else if (sys == 0)
			sys = ERR_GET_REASON(e);
	}
	if (sys != 0)
		reason = strerror(sys);
	else if (last != 0)
		reason = ERR_reason_error_string(last);
	http_seterr(err, errlen, "TLS: %s: %s", what,
	    reason != NULL ? reason : fallback);
}

/*
 * Turns an SSL_ERROR_WANT_* into a wait: 1 to call again, 2 when rc was
 * a real failure (see tls_fail), else HTTP_TIMEOUT or HTTP_UNREACHABLE.
 */
static int
tls_wait(const struct http_conn *c, int rc, const char *what, int64_t deadline,
    char *err, size_t errlen)
{
	int e = SSL_get_error(c->ssl, rc), w;

	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		return 2;
	w = wait_fd(
	    c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
	if (w == 0) {
		http_seterr(err, errlen, "%s timed out", what);
		return HTTP_TIMEOUT;
	}
	if (w < 0) {
		http_seterr(err, errlen, "%s: poll: %s", what, strerror(errno));
		return HTTP_UNREACHABLE;
	}
	return 1;
}

/* The error of a failed SSL_* call that was not a WANT_*. */
static void
tls_fail(const struct http_conn *c, int rc, const char *what, char *err,
    size_t errlen)
{
	int e = SSL_get_error(c->ssl, rc);

	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		http_seterr(err, errlen, "TLS: %s: %s", what,
		    errno != 0 ? strerror(errno) : "connection closed");
		return;
	}
	tls_err(what, "failed", err, errlen);
}

/* c->ctx for req: TLS 1.2 or later, peers verified against req's CAs. */
static enum http_rc
tls_context(struct http_conn *c, const struct http_request *req, char *err,
    size_t errlen)
{
	ERR_clear_error();
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_err("SSL_CTX_new", "failed", err, errlen);
		return HTTP_UNREACHABLE;
	}
	if (SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1) {
		tls_err("minimum version", "failed", err, errlen);
		return HTTP_UNREACHABLE;
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	/*
	 * Many servers close without close_notify.  Treating that as the end
	 * is safe for bodies framed by Content-Length or chunks (the parser
	 * sees a short body); only a body read to the end could be cut, as
	 * with any HTTP/1.0 server over TLS.
	 */
	SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (req->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(c->ctx, req->ca_file, NULL) !=
		    1) {
			char what[300];

			snprintf(
			    what, sizeof(what), "CA file %s", req->ca_file);
			tls_err(what, "cannot load", err, errlen);
			return HTTP_UNREACHABLE;
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		tls_err("system CA store", "cannot load", err, errlen);
		return HTTP_UNREACHABLE;
	}
	return HTTP_OK;
}

/* c->ssl on c->fd, set to verify the name or address of host. */
static enum http_rc
tls_session(struct http_conn *c, const char *host, char *err, size_t errlen)
{
	/* The SNI macro casts its argument to void *: give it no const. */
	char sni[sizeof(((struct http_url *)0)->host)];

	if ((c->ssl = SSL_new(c->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_err("SSL_new", "failed", err, errlen);
		return HTTP_UNREACHABLE;
	}
	xr_strlcpy(sni, host, sizeof(sni));
	/* SNI is for names only (RFC 6066 §3); literals are checked as IPs. */
	if (ip_literal(host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(
			SSL_get0_param(c->ssl), host) != 1) {
			tls_err("IP check", "failed", err, errlen);
			return HTTP_UNREACHABLE;
		}
	} else if (SSL_set_tlsext_host_name(c->ssl, sni) != 1 ||
	    SSL_set1_host(c->ssl, host) != 1) {
		tls_err("host name", "failed", err, errlen);
		return HTTP_UNREACHABLE;
	}
	return HTTP_OK;
}

static enum http_rc
tls_start(struct http_conn *c, const struct http_request *req, int64_t deadline,
    char *err, size_t errlen)
{
	enum http_rc hrc;
	long v;
	int rc;

	if ((hrc = tls_context(c, req, err, errlen)) != HTTP_OK ||
	    (hrc = tls_session(c, req->url->host, err, errlen)) != HTTP_OK)
		return hrc;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int w;

		if ((rc = SSL_connect(c->ssl)) == 1)
			return HTTP_OK;
		w = tls_wait(c, rc, "TLS handshake", deadline, err, errlen);
		if (w == 1)
			continue;
		if (w != 2)
			return (enum http_rc)w;
		break;
	}
	if ((v = SSL_get_verify_result(c->ssl)) != X509_V_OK) {
		http_seterr(err, errlen, "TLS: certificate verify failed: %s",
		    X509_verify_cert_error_string(v));
		ERR_clear_error();
	} else {
		tls_fail(c, rc, "handshake", err, errlen);
	}
	return HTTP_UNREACHABLE;
}

/*
 * After send() or recv() failed on a plain socket: HTTP_OK to call again
 * (EINTR, or fd became ready), else the failure.  timed_out says what
 * timed out, or is NULL to leave err to the caller.
 */
static enum http_rc
sock_retry(int fd, short events, const char *call, const char *timed_out,
    int64_t deadline, char *err, size_t errlen)
{
	int r;

	if (errno == EINTR)
		return HTTP_OK;
	if (errno != EAGAIN && errno != EWOULDBLOCK) {
		http_seterr(err, errlen, "%s: %s", call, strerror(errno));
		return HTTP_UNREACHABLE;
	}
	if ((r = wait_fd(fd, events, deadline)) == 0) {
		if (timed_out != NULL)
			http_seterr(err, errlen, "%s", timed_out);
		return HTTP_TIMEOUT;
	}
	if (r < 0) {
		http_seterr(err, errlen, "poll: %s", strerror(errno));
		return HTTP_UNREACHABLE;
	}
	return HTTP_OK;
}

enum http_rc
http_conn_write(const struct http_conn *c, const char *p, size_t n,
    int64_t deadline, char *err, size_t errlen)
{
	/*
	 * send() gets MSG_NOSIGNAL; SSL_write() goes through write(), so for
	 * https the caller must ignore SIGPIPE (the bridge does, and its
	 * webhook children inherit that).
	 */
	while (n > 0) {
		size_t chunk = n > INT_MAX ? INT_MAX : n;

		if (c->ssl != NULL) {
			int rc, w;

			ERR_clear_error();
			errno = 0;
			rc = SSL_write(c->ssl, p, (int)chunk);
			if (rc > 0) {
				p += rc;
				n -= (size_t)rc;
				continue;
			}
			w = tls_wait(c, rc, "sending the request", deadline,
			    err, errlen);
			if (w == 1)
				continue;
			if (w == 2)
				tls_fail(c, rc, "write", err, errlen);
			return w == HTTP_TIMEOUT ? HTTP_TIMEOUT
						 : HTTP_UNREACHABLE;
		} else {
			ssize_t w = send(c->fd, p, chunk, MSG_NOSIGNAL);
			enum http_rc rc;

			if (w >= 0) {
				p += w;
				n -= (size_t)w;
				continue;
			}
			rc = sock_retry(c->fd, POLLOUT, "send",
			    "sending the request timed out", deadline, err,
			    errlen);
			if (rc != HTTP_OK)
				return rc;
		}
	}
	return HTTP_OK;
}

enum http_rc
http_conn_read(const struct http_conn *c, char *p, size_t n, size_t *got,
    int64_t deadline, char *err, size_t errlen)
{
	size_t chunk = n > INT_MAX ? INT_MAX : n;

	for (;;) {
		if (c->ssl != NULL) {
			int rc, w;

			ERR_clear_error();
			errno = 0;
			rc = SSL_read(c->ssl, p, (int)chunk);
			if (rc > 0) {
				*got = (size_t)rc;
				return HTTP_OK;
			}
			if (SSL_get_error(c->ssl, rc) ==
			    SSL_ERROR_ZERO_RETURN) {
				*got = 0;
				return HTTP_OK;
			}
			w = tls_wait(c, rc, "reading", deadline, err, errlen);
			if (w == 1)
				continue;
			if (w == 2) {
				tls_fail(c, rc, "read", err, errlen);
				return HTTP_UNREACHABLE;
			}
			return (enum http_rc)w;
		} else {
			ssize_t r = recv(c->fd, p, chunk, 0);
			enum http_rc rc;

			if (r >= 0) {
				*got = (size_t)r;
				return HTTP_OK;
			}
			rc = sock_retry(
			    c->fd, POLLIN, "recv", NULL, deadline, err, errlen);
			if (rc != HTTP_OK)
				return rc;
		}
	}
}

void
http_conn_close(struct http_conn *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->ctx = NULL;
	c->fd = -1;
}

enum http_rc
http_conn_open(struct http_conn *c, const struct http_request *req, char *err,
    size_t errlen)
{
	struct addrinfo *res = NULL;
	enum http_rc rc;

	if ((rc = resolve(req->url, req->deadline_ms, &res, err, errlen)) !=
	    HTTP_OK)
		return rc;
	rc = connect_any(res, req->deadline_ms, &c->fd, err, errlen);
	freeaddrinfo(res);
	if (rc == HTTP_OK && req->url->tls)
		rc = tls_start(c, req, req->deadline_ms, err, errlen);
	if (rc != HTTP_OK)
		http_conn_close(c);
	return rc;
}

int
http_conn_quiet(const struct http_conn *c)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

	if (c->fd < 0)
		return 0;
	if (c->ssl != NULL && SSL_pending(c->ssl) > 0)
		return 0;
	return poll(&pfd, 1, 0) == 0;
}
