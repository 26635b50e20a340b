/*
 * libFuzzer target for the request headers cgi/request.c reads itself:
 * Accept, Content-Type, Content-Length and X-XMPP-Rest-Timeout, with a
 * body, through the responder's three steps (the bridge socket does not
 * exist, so an accepted stanza answers 503).  The checks: the response is
 * one well-formed CGI response (cgi_out.h); a timeout is within 1 s and
 * iq_max_timeout; the body read never passes Content-Length or
 * max_stanza_bytes.
 */
#include "../../cgi/request.c"

#include "exchange.h"
#include "respond.h"

#include "cgi_out.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { P_ACCEPT, P_CTYPE, P_CLEN, P_TIMEOUT, P_BODY, P_COUNT };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c;
	static int ready;
	char *part[P_COUNT], *body = NULL;
	struct fio f;
	struct request rq;
	struct exchange ex;
	size_t len = 0;

	if (!ready) {
		if (conf_defaults(&c) < 0)
			abort();
		ready = 1;
		free(c.socket);
		free(c.jid);
		c.socket = strdup("/nonexistent/xmpp-rest.sock");
		c.max_stanza_bytes = 4096;
		c.jid = strdup("rest.localhost");
	}
	split_input(data, size, part, P_COUNT);
	fio_init(&f);
	f.name[0] = "HTTP_ACCEPT";
	f.value[0] = part[P_ACCEPT];
	f.name[1] = "CONTENT_TYPE";
	f.value[1] = part[P_CTYPE];
	f.name[2] = "CONTENT_LENGTH";
	f.value[2] = part[P_CLEN];
	f.name[3] = "HTTP_X_XMPP_REST_TIMEOUT";
	f.value[3] = part[P_TIMEOUT][0] ? part[P_TIMEOUT] : NULL;
	f.name[4] = "REQUEST_METHOD";
	f.value[4] = "POST";
	f.body = part[P_BODY];
	f.body_len = strlen(part[P_BODY]);

	/* The pieces on their own, with what they promise; they write
	 * nothing, a refusal is for respond.c. */
	memset(&rq, 0, sizeof(rq));
	if (read_timeout(&f.io, &c, &rq) == 0) {
		if (rq.timeout_ms < 1000 ||
		    rq.timeout_ms > c.iq_max_timeout * 1000UL)
			abort();
	} else if (rq.kind != REQUEST_REFUSED || rq.status != 400) {
		abort();
	}
	memset(&rq, 0, sizeof(rq));
	if (read_body(&f.io, &c, &rq, &body, &len) == 0) {
		if (len > c.max_stanza_bytes || len > f.body_len ||
		    body[len] != '\0')
			abort();
		free(body);
	} else if (rq.status != 400 && rq.status != 413 && rq.status != 500) {
		abort();
	}
	if (f.out != NULL)
		abort();
	f.body_off = 0;

	request_read(&f.io, &c, NULL, &rq);
	exchange_run(&c, &rq, &ex);
	respond(&f.io, &c, &rq, &ex);
	exchange_free(&ex);
	request_free(&rq);
	check_response(&f);
	free(f.out);
	for (int i = 0; i < P_COUNT; i++)
		free(part[i]);
	return 0;
}
