/*
 * The responder's three steps apart: what request_read makes of CGI
 * variables and a body (and that it writes nothing), what exchange_run
 * does without a bridge, and the response respond writes for a request
 * and a made-up answer of the bridge.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "exchange.h"
#include "io.h"
#include "request.h"
#include "respond.h"
#include "t.h"

#define NVARS 10

/* CGI variables and a body in, the response kept. */
struct fake {
	struct io io;
	const char *name[NVARS], *value[NVARS];
	const char *body;
	size_t off;
	char out[16384];
	size_t len;
};

static const char *
fake_param(struct io *io, const char *name)
{
	struct fake *f = (struct fake *)io;

	for (int i = 0; i < NVARS && f->name[i] != NULL; i++) {
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	}
	return NULL;
}

static int
fake_read(struct io *io, char *buf, int len)
{
	struct fake *f = (struct fake *)io;
	size_t n = f->body ? strlen(f->body) - f->off : 0;

	if (n > (size_t)len)
		n = (size_t)len;
	memcpy(buf, f->body + f->off, n);
	f->off += n;
	return (int)n;
}

static int
fake_write(struct io *io, const char *buf, int len)
{
	struct fake *f = (struct fake *)io;

	if ((size_t)len >= sizeof(f->out) - f->len)
		return -1;
	memcpy(f->out + f->len, buf, (size_t)len);
	f->len += (size_t)len;
	f->out[f->len] = '\0';
	return len;
}

/* A fake with the NULL-ended name/value pairs of vars. */
static void
fake_init(struct fake *f, const char *const *vars, const char *body)
{
	memset(f, 0, sizeof(*f));
	f->io.param = fake_param;
	f->io.read = fake_read;
	f->io.write = fake_write;
	for (int i = 0; vars[2 * i] != NULL && i < NVARS; i++) {
		f->name[i] = vars[2 * i];
		f->value[i] = vars[2 * i + 1];
	}
	f->body = body;
}

static struct conf conf;

/* request_read over vars and body; the kind, and rq filled. */
static enum request_kind
read_req(const char *const *vars, const char *body, const struct conf *c,
    struct request *rq, struct fake *f)
{
	fake_init(f, vars, body);
	request_read(&f->io, c, "xmpp-rest.conf:3: unknown key 'x'", rq);
	return rq->kind;
}

#define POST_XMPP \
	"REQUEST_METHOD", "POST", "CONTENT_TYPE", "application/xmpp+xml"

static void
t_read_method(void)
{
	static const char *const options[] = {
	    "REQUEST_METHOD", "OPTIONS", NULL};
	static const char *const status[] = {
	    "REQUEST_METHOD", "GET", "PATH_INFO", "/status", NULL};
	static const char *const del[] = {"REQUEST_METHOD", "DELETE", NULL};
	static const char *const post[] = {POST_XMPP, NULL};
	struct request rq;
	struct fake f;

	T_EQ_INT(read_req(options, NULL, &conf, &rq, &f), REQUEST_OPTIONS,
	    "OPTIONS is answered without the bridge");
	request_free(&rq);
	T_EQ_INT(read_req(status, NULL, &conf, &rq, &f), REQUEST_STATUS,
	    "GET /status asks the bridge for its report");
	request_free(&rq);
	T_EQ_INT(read_req(status, NULL, NULL, &rq, &f), REQUEST_REFUSED,
	    "without a configuration, GET /status is refused");
	T_EQ_INT(rq.status, 405, "as a method not allowed");
	request_free(&rq);
	read_req(del, NULL, &conf, &rq, &f);
	T_EQ_STR(rq.text, "method DELETE not allowed; use POST",
	    "DELETE is refused, naming the method");
	request_free(&rq);
	read_req(post, "<message to='a@b'/>", NULL, &rq, &f);
	T_EQ_INT(rq.status, 500, "a POST without a configuration is a 500");
	T_EQ_STR(rq.text,
	    "configuration error: xmpp-rest.conf:3: unknown key 'x'",
	    "which names the configuration's error");
	request_free(&rq);
	T_EQ_INT(f.len, 0, "reading a request writes nothing");
}

static void
t_read_body(void)
{
	static const char *const plain[] = {
	    "REQUEST_METHOD", "POST", "CONTENT_TYPE", "text/plain", NULL};
	static const char *const big[] = {
	    POST_XMPP, "CONTENT_LENGTH", "5000", NULL};
	static const char *const short_body[] = {
	    POST_XMPP, "CONTENT_LENGTH", "30", NULL};
	static const char *const post[] = {POST_XMPP, NULL};
	struct request rq;
	struct fake f;

	read_req(plain, "x", &conf, &rq, &f);
	T_EQ_INT(rq.status, 415, "text/plain is refused");
	T_EQ_STR(rq.text,
	    "Content-Type must be application/xmpp+xml, not 'text/plain'",
	    "naming the media type");
	request_free(&rq);
	read_req(big, "<message to='a@b'/>", &conf, &rq, &f);
	T_EQ_INT(rq.status, 413, "a Content-Length over the limit is refused");
	T_EQ_INT(f.off, 0, "before any of the body is read");
	request_free(&rq);
	read_req(short_body, "<message to='a@b'/>", &conf, &rq, &f);
	T_EQ_STR(rq.text, "body ended after 19 of 30 bytes",
	    "a body shorter than its Content-Length is refused");
	request_free(&rq);
	read_req(post, "<message/>", &conf, &rq, &f);
	T_EQ_INT(
	    rq.status, 422, "a stanza the checker refuses keeps its status");
	T_EQ_STR(rq.text, "missing 'to' address", "and its text");
	request_free(&rq);
}

static void
t_read_submit(void)
{
	static const char *const bad_timeout[] = {
	    POST_XMPP, "HTTP_X_XMPP_REST_TIMEOUT", "0", NULL};
	static const char *const long_timeout[] = {POST_XMPP,
	    "HTTP_X_XMPP_REST_TIMEOUT", "100000", "REDIRECT_HTTP_AUTHORIZATION",
	    "Basic eDp5", "HTTP_AUTHORIZATION", "", NULL};
	struct request rq;
	struct fake f;

	read_req(bad_timeout, "<message to='a@b'/>", &conf, &rq, &f);
	T_EQ_INT(rq.status, 400, "a timeout of 0 s is refused");
	request_free(&rq);
	T_EQ_INT(read_req(long_timeout, "<message to='a@b' id='m1'/>", &conf,
		     &rq, &f),
	    REQUEST_SUBMIT, "a good stanza is for the bridge");
	T_EQ_INT(rq.timeout_ms, conf.iq_max_timeout * 1000UL,
	    "a timeout past iq_max_timeout is cut to it");
	T_EQ_STR(rq.st.id, "m1", "the stanza is checked and kept");
	T_EQ_STR(rq.authorization, "Basic eDp5",
	    "an empty Authorization gives way to Apache's redirect copy");
	request_free(&rq);
	T_EQ_INT(f.len, 0, "and nothing is written");
}

static void
t_exchange(void)
{
	static const char *const post[] = {POST_XMPP, NULL};
	static const char *const del[] = {"REQUEST_METHOD", "DELETE", NULL};
	struct request rq;
	struct exchange ex;
	struct fake f;

	read_req(del, NULL, &conf, &rq, &f);
	exchange_run(&conf, &rq, &ex);
	T_EQ_INT(ex.state, EXCHANGE_NONE, "a refused request is not sent");
	exchange_free(&ex);
	request_free(&rq);
	read_req(post, "<message to='a@b'/>", &conf, &rq, &f);
	exchange_run(&conf, &rq, &ex);
	T_EQ_INT(ex.state, EXCHANGE_DONE, "a stanza is sent");
	T_EQ_INT(ex.rc, BRIDGE_UNREACHABLE, "to no bridge, unreachable");
	exchange_free(&ex);
	request_free(&rq);
}

/* One field of a made-up OUTCOME frame; a NULL value ends a list. */
struct fv {
	enum field tag;
	const char *v;
};

/* The response to a SUBMIT of a message with id m1, sent without
 * credentials through Apache, whose answer is the outcome frame of
 * fields. */
static const char *
answer(struct fake *f, const char *accept, const struct fv *fields)
{
	static char id[] = "m1";
	struct request rq;
	struct exchange ex;

	memset(&rq, 0, sizeof(rq));
	memset(&ex, 0, sizeof(ex));
	rq.kind = REQUEST_SUBMIT;
	rq.accept = accept;
	rq.server_software = "Apache/2.4.57 (Debian)";
	strcpy(rq.st.kind, "message");
	rq.st.id = id;
	rq.timeout_ms = 9500;
	ex.state = EXCHANGE_DONE;
	ex.rc = BRIDGE_OK;
	for (; fields->v != NULL; fields++) {
		ex.f.field[fields->tag] = fields->v;
		ex.f.flen[fields->tag] = strlen(fields->v);
	}
	fake_init(f, (const char *const[]){NULL}, NULL);
	respond(&f->io, &conf, &rq, &ex);
	return f->out;
}

#define OUTCOME(name, ...)                          \
	(const struct fv[])                         \
	{                                           \
		{FIELD_OUTCOME, name}, __VA_ARGS__, \
		{                                   \
			0, NULL                     \
		}                                   \
	}

static void
t_respond_outcomes(void)
{
	struct fake f;

	T_EQ_STR(answer(&f, NULL, OUTCOME("sent", {FIELD_TEXT, ""})),
	    "Status: 202 Accepted\r\nX-Stanza-Id: m1\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 20\r\n\r\nmessage sent, id m1\n",
	    "sent: 202 with the id, in a header and the body");
	T_HAS(answer(&f, "application/json", OUTCOME("sent", {FIELD_TEXT, ""})),
	    "\r\n\r\n{\"type\":\"sent\",\"id\":\"m1\"}",
	    "sent, as JSON when asked");
	T_HAS(answer(&f, NULL, OUTCOME("throttled", {FIELD_RETRY, "7"})),
	    "Status: 429 Too Many Requests\r\nX-Stanza-Id: m1\r\n"
	    "Retry-After: 7\r\n",
	    "throttled: 429 with the bridge's Retry-After");
	T_HAS(answer(&f, NULL, OUTCOME("timeout", {FIELD_RETRY, "1"})),
	    "\r\n\r\nno reply within 10 s\n",
	    "timeout: the wait in whole seconds, rounded up");
	T_HAS(answer(&f, NULL,
		  OUTCOME("error", {FIELD_CONDITION, "item-not-found"},
		      {FIELD_TEXT, "no such user"})),
	    "Status: 404 Not Found\r\n",
	    "an XMPP error: the status of its condition");
	T_HAS(f.out, "\r\n\r\nitem-not-found (cancel): no such user\n",
	    "with its condition, type and text on one line");
	T_HAS(answer(&f, NULL,
		  OUTCOME("unauthorized",
		      {FIELD_CHALLENGE, "Basic realm=\"x\"\r\nBearer"})),
	    "WWW-Authenticate: Basic realm=\"x\"\r\n"
	    "WWW-Authenticate: Bearer\r\n",
	    "unauthorized: one WWW-Authenticate per scheme");
	T_HAS(f.out, "add 'CGIPassAuth On'",
	    "and, through Apache without an Authorization, the hint");
	T_HAS(answer(&f, NULL, OUTCOME("made-up", {FIELD_TEXT, "x"})),
	    "Status: 502 Bad Gateway\r\nX-Stanza-Id: m1\r\n",
	    "an outcome we do not know is a 502");
}

static void
t_respond_refusals(void)
{
	struct request rq;
	struct exchange ex;
	struct fake f;

	memset(&rq, 0, sizeof(rq));
	memset(&ex, 0, sizeof(ex));
	rq.kind = REQUEST_REFUSED;
	rq.status = 405;
	strcpy(rq.text, "method GET not allowed; use POST");
	fake_init(&f, (const char *const[]){NULL}, NULL);
	respond(&f.io, &conf, &rq, &ex);
	T_EQ_STR(f.out,
	    "Status: 405 Method Not Allowed\r\nAllow: POST, OPTIONS\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 33\r\n\r\nmethod GET not allowed; use POST\n",
	    "a refusal is answered with its status and text, a 405 with "
	    "one Allow");
	rq.kind = REQUEST_SUBMIT;
	ex.state = EXCHANGE_DONE;
	ex.rc = BRIDGE_UNREACHABLE;
	strcpy(ex.err, "connect /x: No such file or directory");
	fake_init(&f, (const char *const[]){NULL}, NULL);
	respond(&f.io, &conf, &rq, &ex);
	T_HAS(f.out, "Status: 503 Service Unavailable\r\nRetry-After: 5\r\n",
	    "no bridge: 503 with retry_after");
	T_HAS(f.out, "bridge not running (connect /x: No such file",
	    "naming why");
	ex.state = EXCHANGE_UNSENT;
	strcpy(ex.err, "frame too large");
	fake_init(&f, (const char *const[]){NULL}, NULL);
	respond(&f.io, &conf, &rq, &ex);
	T_HAS(f.out, "Status: 500 ", "a frame that cannot be made is a 500");
}

int
main(void)
{
	if (conf_defaults(&conf) < 0)
		return 1;
	free(conf.socket);
	free(conf.jid);
	conf.socket = strdup("/nonexistent/xmpp-rest.sock");
	conf.jid = strdup("rest.example");
	conf.max_stanza_bytes = 4096;
	stanza_global_init();
	t_read_method();
	t_read_body();
	t_read_submit();
	t_exchange();
	t_respond_outcomes();
	t_respond_refusals();
	stanza_thread_done();
	conf_free(&conf);
	return t_done();
}
