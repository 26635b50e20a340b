/*
 * The webhook client (http.c, http_conn.c) against servers this test
 * forks on 127.0.0.1: answering, refusing, silent, closing, garbage,
 * keeping the connection or dropping it under a request; and one
 * connection alone (reads, writes, deadline, end of stream, quiet).  A check meant
 * for one connection per request posts through a client of its own.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "http.h"
#include "http_conn.h"
#include "util.h"
#include "t.h"

/* ---- one request per client, against servers forked here ---- */

enum srv_mode { SRV_ANSWER, SRV_SILENT, SRV_CLOSE };

struct srv {
	int lfd;
	unsigned port;
	pid_t pid;
};

static int
srv_listen(struct srv *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->pid = -1;
	if ((s->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s->lfd, 4) < 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &al) < 0) {
		perror("test server");
		return -1;
	}
	s->port = ntohs(a.sin_port);
	return 0;
}

/*
 * Reads one request and checks it carries the expected start line, Host
 * and body, and no Connection: close (the client offers to keep the
 * connection); exits 0 if so, 2 if not (after answering anyway).
 */
static void
srv_child(int fd, const char *host, const char *body, const char *reply,
    size_t reply_len)
{
	char req[8192], want[256];
	size_t n = 0, blen = strlen(body);
	char *end = NULL;
	int ok = 1;

	for (;;) {
		ssize_t r = recv(fd, req + n, sizeof(req) - 1 - n, 0);

		if (r <= 0)
			_exit(3);
		n += (size_t)r;
		req[n] = '\0';
		end = strstr(req, "\r\n\r\n");
		if (end != NULL && n >= (size_t)(end + 4 - req) + blen)
			break;
	}
	if (strncmp(req, "POST /hook?x=1 HTTP/1.1\r\n", 25) != 0)
		ok = 0;
	snprintf(want, sizeof(want), "\r\nHost: %s\r\n", host);
	if (strstr(req, want) == NULL)
		ok = 0;
	snprintf(want, sizeof(want), "\r\nContent-Length: %zu\r\n", blen);
	if (strstr(req, want) == NULL)
		ok = 0;
	if (strstr(req, "\r\nContent-Type: application/xmpp+xml\r\n") == NULL ||
	    strstr(req, "\r\nConnection: close\r\n") != NULL ||
	    strstr(req, "\r\nX-Test: 1\r\n") == NULL)
		ok = 0;
	if (strcmp(end + 4, body) != 0)
		ok = 0;
	if (reply != NULL)
		(void)xr_write_all(fd, reply, reply_len);
	shutdown(fd, SHUT_WR);
	/* Let the client read all before the close can reset it. */
	while (recv(fd, req, sizeof(req), 0) > 0)
		;
	_exit(ok ? 0 : 2);
}

static void
srv_start(struct srv *s, enum srv_mode mode, const char *host,
    const char *reply, size_t reply_len)
{
	fflush(stdout); /* or the child may print our buffer again */
	if ((s->pid = fork()) != 0) {
		close(s->lfd);
		s->lfd = -1;
		return;
	}
	alarm(10); /* never outlive a broken test */
	signal(SIGPIPE, SIG_IGN);
	int fd = accept(s->lfd, NULL, NULL);

	if (fd < 0)
		_exit(4);
	switch (mode) {
	case SRV_ANSWER:
		srv_child(fd, host, "<message to='a@b'/>", reply, reply_len);
		break;
	case SRV_SILENT:
		pause();
		break;
	case SRV_CLOSE:
		/* Read first: closing on unread bytes would send a reset. */
		srv_child(fd, host, "<message to='a@b'/>", NULL, 0);
		break;
	}
	_exit(0);
}

static int
srv_end(struct srv *s, int kill_it)
{
	int st = 0;

	if (s->lfd >= 0)
		close(s->lfd);
	if (s->pid <= 0)
		return -1;
	if (kill_it)
		kill(s->pid, SIGKILL);
	if (waitpid(s->pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One POST through a new client; *reused says what the client said. */
static enum http_rc
post_fresh(const char *url, size_t max, int64_t timeout_ms,
    struct http_response *r, int *reused, char *err)
{
	struct http_url u;
	struct http_request req = {0};
	struct http_client *hc;
	enum http_rc rc;

	memset(r, 0, sizeof(*r));
	*reused = -1;
	if (http_url_parse(url, &u, err, XR_ERRLEN) < 0)
		return HTTP_UNREACHABLE;
	req.url = &u;
	req.headers = "X-Test: 1\r\n";
	req.content_type = "application/xmpp+xml";
	req.body = "<message to='a@b'/>";
	req.body_len = strlen(req.body);
	req.max_response_bytes = max;
	req.deadline_ms = xr_now_ms() + timeout_ms;
	if ((hc = http_client_new()) == NULL) {
		snprintf(err, XR_ERRLEN, "http_client_new: out of memory");
		return HTTP_UNREACHABLE;
	}
	rc = http_client_post(hc, &req, r, reused, err, XR_ERRLEN);
	http_client_free(hc);
	return rc;
}

static enum http_rc
post(const char *url, size_t max, int64_t timeout_ms, struct http_response *r,
    char *err)
{
	int reused;

	return post_fresh(url, max, timeout_ms, r, &reused, err);
}

static void
answer_case(const char *what, const char *host_part, const char *reply,
    size_t reply_len, size_t max, int want_status, const char *want_body,
    int want_trunc)
{
	struct srv s;
	struct http_response r;
	char err[XR_ERRLEN] = "", url[400], host[300], msg[300];
	enum http_rc rc;
	int reused;

	if (srv_listen(&s) < 0) {
		T_OK(0, "test server");
		return;
	}
	snprintf(host, sizeof(host), "%s:%u", host_part, s.port);
	snprintf(url, sizeof(url), "http://%s/hook?x=1", host);
	srv_start(&s, SRV_ANSWER, host, reply, reply_len);
	rc = post_fresh(url, max, 5000, &r, &reused, err);
	snprintf(msg, sizeof(msg), "%s: HTTP_OK", what);
	T_EQ_INT(rc, HTTP_OK, msg);
	if (rc != HTTP_OK)
		printf("# err: %s\n", err);
	snprintf(msg, sizeof(msg), "%s: over a new connection", what);
	T_EQ_INT(reused, 0, msg);
	snprintf(msg, sizeof(msg), "%s: status", what);
	T_EQ_INT(r.status, want_status, msg);
	if (want_body != NULL) {
		snprintf(msg, sizeof(msg), "%s: body", what);
		T_EQ_STR(r.body, want_body, msg);
	}
	snprintf(msg, sizeof(msg), "%s: truncation flag", what);
	T_EQ_INT(r.body_truncated, want_trunc, msg);
	http_response_free(&r);
	snprintf(msg, sizeof(msg),
	    "%s: the server saw the Host, Content-Length and body, and no "
	    "Connection: close",
	    what);
	T_EQ_INT(srv_end(&s, 0), 0, msg);
}

static void
test_post(void)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain"
				 "\r\nContent-Length: 4\r\n\r\npong";
	static const char chunked[] =
	    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
	static const char eof_body[] = "HTTP/1.0 200 OK\r\n\r\nto the end";
	static char huge[200000], zs[1001];
	size_t n;

	answer_case("200 with a body", "127.0.0.1", ok, sizeof(ok) - 1, 1000,
	    200, "pong", 0);
	answer_case("100 Continue, then chunked", "127.0.0.1", chunked,
	    sizeof(chunked) - 1, 1000, 202, "abc", 0);
	answer_case("body to EOF", "127.0.0.1", eof_body, sizeof(eof_body) - 1,
	    1000, 200, "to the end", 0);

	/* A body far over the cap: reading stops, the start is kept. */
	n = (size_t)snprintf(huge, sizeof(huge),
	    "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
	    sizeof(huge) - 100);
	memset(huge + n, 'z', sizeof(huge) - n);
	memset(zs, 'z', sizeof(zs) - 1);
	answer_case("body over max_response_bytes", "127.0.0.1", huge,
	    sizeof(huge) - 100 + n, 1000, 200, zs, 1);
}

/* Refusals and silences: each ends in the error it should. */
static void
test_post_fails(void)
{
	struct srv s;
	struct http_response r;
	char err[XR_ERRLEN] = "", url[200];
	enum http_rc rc;

	/* A closed port. */
	if (srv_listen(&s) == 0) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", s.port);
		srv_end(&s, 0);
		rc = post(url, 1000, 2000, &r, err);
		T_EQ_INT(rc, HTTP_UNREACHABLE, "closed port: HTTP_UNREACHABLE");
		T_HAS(err, "connect 127.0.0.1:", "... err names the address");
		T_HAS(err, "Connection refused", "... and the reason");
		T_OK(r.body == NULL, "... no body");
	}

	/* A server that accepts and never answers. */
	if (srv_listen(&s) == 0) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", s.port);
		srv_start(&s, SRV_SILENT, "", NULL, 0);
		int64_t t0 = xr_now_ms(), took;

		rc = post(url, 1000, 300, &r, err);
		took = xr_now_ms() - t0;
		T_EQ_INT(rc, HTTP_TIMEOUT, "silent server: HTTP_TIMEOUT");
		T_HAS(err, "no response within 300 ms", "... err says so");
		T_OK(took >= 290 && took < 600, "... after about 300 ms");
		srv_end(&s, 1);
	}

	/* A server that accepts and closes. */
	if (srv_listen(&s) == 0) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", s.port);
		srv_start(&s, SRV_CLOSE, "", NULL, 0);
		rc = post(url, 1000, 2000, &r, err);
		T_OK(
		    rc == HTTP_UNREACHABLE, "closing server: HTTP_UNREACHABLE");
		T_HAS(err, "without a response", "... err says why");
		srv_end(&s, 1);
	}

	/* The deadline has passed already. */
	rc = post("http://127.0.0.1:9/", 1000, 0, &r, err);
	T_EQ_INT(rc, HTTP_TIMEOUT, "past deadline: HTTP_TIMEOUT");
}

/*
 * A listener whose queue is full: the kernel drops further SYNs, so the
 * connect hangs (on kernels that queue it instead, the request goes
 * unanswered: a timeout all the same).
 */
static void
test_post_full_queue(void)
{
	struct srv s;
	struct http_response r;
	char err[XR_ERRLEN] = "", url[200];
	enum http_rc rc;

	if (srv_listen(&s) == 0) {
		int fill[3];
		struct sockaddr_in a = {.sin_family = AF_INET};
		int64_t t0, took;

		listen(s.lfd, 0);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons((uint16_t)s.port);
		for (int i = 0; i < 3; i++) {
			fill[i] =
			    socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			(void)connect(
			    fill[i], (struct sockaddr *)&a, sizeof(a));
		}
		nanosleep(&(struct timespec){.tv_nsec = 100000000L}, NULL);
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", s.port);
		t0 = xr_now_ms();
		rc = post(url, 1000, 300, &r, err);
		took = xr_now_ms() - t0;
		T_EQ_INT(rc, HTTP_TIMEOUT, "full accept queue: HTTP_TIMEOUT");
		printf("# err: %s\n", err);
		T_OK(strstr(err, "connect 127.0.0.1:") != NULL ||
			strstr(err, "no response within") != NULL,
		    "... err says which step");
		T_OK(took >= 290 && took < 600, "... after about 300 ms");
		for (int i = 0; i < 3; i++)
			close(fill[i]);
		srv_end(&s, 0);
	}
}

/* Not HTTP at all: the parser's refusal becomes HTTP_BAD_RESPONSE. */
static void
test_post_garbage(void)
{
	static const char junk[] = "SSH-2.0-OpenSSH_9.2\r\n";
	struct srv s;
	struct http_response r;
	char err[XR_ERRLEN] = "", url[200];
	enum http_rc rc;

	if (srv_listen(&s) < 0)
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook?x=1", s.port);
	srv_start(&s, SRV_ANSWER, "x", junk, sizeof(junk) - 1);
	rc = post(url, 1000, 2000, &r, err);
	T_EQ_INT(rc, HTTP_BAD_RESPONSE, "garbage: HTTP_BAD_RESPONSE");
	T_HAS(err, "not an HTTP/1.x response", "... err says so");
	T_OK(r.body == NULL, "... no body");
	srv_end(&s, 0);
}

/* ---- one connection alone (http_conn.c) ---- */

/* Waits for a byte, answers "x", waits for another, then closes. */
static void
conn_srv_child(int lfd)
{
	char b;
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		_exit(4);
	if (recv(fd, &b, 1, 0) != 1)
		_exit(5);
	(void)xr_write_all(fd, "x", 1);
	if (recv(fd, &b, 1, 0) != 1)
		_exit(5);
	close(fd);
	_exit(0);
}

/* Whether c stops being quiet within about two seconds. */
static int
conn_wakes(const struct http_conn *c)
{
	for (int i = 0; i < 200 && http_conn_quiet(c); i++)
		nanosleep(&(struct timespec){.tv_nsec = 10000000L}, NULL);
	return !http_conn_quiet(c);
}

static void
test_conn(void)
{
	struct http_url u;
	struct http_request req = {0};
	struct http_conn c = {.fd = -1};
	struct srv s;
	char err[XR_ERRLEN] = "", url[100], buf[8];
	size_t got = 0;

	T_OK(!http_conn_quiet(&c), "conn: one not open is not quiet");
	if (srv_listen(&s) < 0)
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
	(void)http_url_parse(url, &u, err, sizeof(err));
	req.url = &u;
	req.deadline_ms = xr_now_ms() + 3000;
	fflush(stdout);
	if ((s.pid = fork()) == 0) {
		alarm(10);
		conn_srv_child(s.lfd);
	}
	T_EQ_INT(http_conn_open(&c, &req, err, sizeof(err)), HTTP_OK,
	    "conn: open to 127.0.0.1");
	T_OK(http_conn_quiet(&c), "conn: quiet while the server says nothing");
	T_EQ_INT(http_conn_read(&c, buf, sizeof(buf), &got, xr_now_ms() + 100,
		     err, sizeof(err)),
	    HTTP_TIMEOUT, "conn: nothing to read by the deadline");
	T_EQ_INT(http_conn_write(&c, "a", 1, req.deadline_ms, err, sizeof(err)),
	    HTTP_OK, "conn: write");
	T_OK(conn_wakes(&c), "conn: not quiet once the server sent unasked");
	T_EQ_INT(http_conn_read(&c, buf, sizeof(buf), &got, req.deadline_ms,
		     err, sizeof(err)),
	    HTTP_OK, "conn: read");
	T_OK(got == 1 && buf[0] == 'x', "... what the server sent");
	(void)http_conn_write(&c, "b", 1, req.deadline_ms, err, sizeof(err));
	T_EQ_INT(http_conn_read(&c, buf, sizeof(buf), &got, req.deadline_ms,
		     err, sizeof(err)),
	    HTTP_OK, "conn: read at the end of the stream");
	T_EQ_INT(got, 0, "... gives 0 bytes");
	T_OK(!http_conn_quiet(&c), "conn: not quiet once the server closed");
	http_conn_close(&c);
	T_OK(c.fd == -1 && c.ssl == NULL, "conn: close leaves it not open");
	T_EQ_INT(srv_end(&s, 0), 0, "conn: the server saw both bytes");
}

/* ---- kept connections against servers forked here ---- */

/* Reads one request (head and Content-Length body): 1, or 0 at EOF. */
static int
read_request(int fd, char *req, size_t size)
{
	size_t n = 0;

	for (;;) {
		char *end, *cl;
		ssize_t r;

		req[n] = '\0';
		if ((end = strstr(req, "\r\n\r\n")) != NULL &&
		    (cl = strstr(req, "Content-Length: ")) != NULL &&
		    n >= (size_t)(end + 4 - req) + strtoul(cl + 16, NULL, 10))
			return strstr(req, "Connection: close") == NULL ? 1 : 2;
		if (n + 1 >= size)
			return -1;
		if ((r = recv(fd, req + n, size - 1 - n, 0)) <= 0)
			return 0;
		n += (size_t)r;
	}
}

/*
 * plan[i] is what the i-th connection does: answer that many requests
 * (reply), or, when negative, answer -plan[i] - 1 and close on reading
 * the next.  Exits 0 when every request came as planned, without
 * Connection: close, and the client closed or kept the last connection.
 */
static void
keep_srv_child(int lfd, const int *plan, int nconn, const char *reply)
{
	char req[8192];

	for (int i = 0; i < nconn; i++) {
		int fd = accept(lfd, NULL, NULL);
		int n = plan[i] < 0 ? -plan[i] : plan[i];

		if (fd < 0)
			_exit(4);
		for (int k = 0; k < n; k++) {
			if (read_request(fd, req, sizeof(req)) != 1)
				_exit(5);
			if (plan[i] < 0 && k == n - 1)
				break;
			(void)xr_write_all(fd, reply, strlen(reply));
		}
		close(fd);
	}
	_exit(0);
}

static void
keep_srv_start(struct srv *s, const int *plan, int nconn, const char *reply)
{
	fflush(stdout);
	if ((s->pid = fork()) != 0)
		return;
	alarm(10);
	signal(SIGPIPE, SIG_IGN);
	keep_srv_child(s->lfd, plan, nconn, reply);
}

static enum http_rc
client_post(struct http_client *hc, unsigned port, struct http_response *r,
    int *reused, char *err)
{
	struct http_url u;
	struct http_request req = {0};
	char url[100];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", port);
	if (http_url_parse(url, &u, err, XR_ERRLEN) < 0)
		return HTTP_UNREACHABLE;
	req.url = &u;
	req.content_type = "application/xmpp+xml";
	req.body = "<message to='a@b'/>";
	req.body_len = strlen(req.body);
	req.max_response_bytes = 1000;
	req.deadline_ms = xr_now_ms() + 3000;
	return http_client_post(hc, &req, r, reused, err, XR_ERRLEN);
}

/* Posts n times through one client; the reused flags into reused[]. */
static int
client_run(const char *what, const int *plan, int nconn, const char *reply,
    int n, int *reused)
{
	struct http_client *hc = http_client_new();
	struct http_response r;
	struct srv s;
	char err[XR_ERRLEN] = "", msg[300];
	int ok = 1;

	if (hc == NULL || srv_listen(&s) < 0) {
		http_client_free(hc);
		return -1;
	}
	keep_srv_start(&s, plan, nconn, reply);
	for (int i = 0; i < n; i++) {
		enum http_rc rc = client_post(hc, s.port, &r, &reused[i], err);

		if (rc != HTTP_OK || r.status != 200) {
			printf("# %s: post %d: %d %s\n", what, i, (int)rc, err);
			ok = 0;
		}
		http_response_free(&r);
	}
	http_client_free(hc);
	snprintf(msg, sizeof(msg), "%s: every post answered 200", what);
	T_OK(ok, msg);
	snprintf(msg, sizeof(msg), "%s: the server saw what it planned", what);
	T_EQ_INT(srv_end(&s, 0), 0, msg);
	return 0;
}

static void
test_client(void)
{
	static const char ka[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	static const char cl[] = "HTTP/1.1 200 OK\r\nConnection: "
				 "close\r\nContent-Length: 2\r\n\r\nok";
	const int one_conn[] = {3}, closes[] = {1, 1, 1}, drops[] = {-2, 1};
	int reused[3];
	struct http_client *hc;

	if (client_run(
		"three posts, one connection", one_conn, 1, ka, 3, reused) == 0)
		T_OK(!reused[0] && reused[1] && reused[2],
		    "... the second and third reused it");
	if (client_run(
		"Connection: close each time", closes, 3, cl, 3, reused) == 0)
		T_OK(
		    !reused[0] && !reused[1] && !reused[2], "... never reused");
	/* The server reads the second request and closes without a word. */
	if (client_run("kept connection closed under the request", drops, 2, ka,
		2, reused) == 0)
		T_OK(!reused[0] && !reused[1],
		    "... sent again on a new connection");
	if ((hc = http_client_new()) != NULL) {
		T_OK(!http_client_connected(hc), "a new client holds nothing");
		http_client_free(hc);
	}
	http_client_free(NULL);
}

/*
 * Last, because a name is looked up by glibc's resolver threads, which
 * live on for a while; servers forked after that inherit their memory
 * (valgrind would report it in those children).
 */
static void
test_post_by_name(void)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain"
				 "\r\nContent-Length: 4\r\n\r\npong";

	answer_case("by name (localhost)", "localhost", ok, sizeof(ok) - 1,
	    1000, 200, "pong", 0);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_post();
	test_post_fails();
	test_post_full_queue();
	test_post_garbage();
	test_conn();
	test_client();
	test_post_by_name();
	return t_done();
}
