/*
 * The responder's first step: one HTTP request read and checked into a
 * struct request.  The steps after it (exchange.h, respond.h) only read
 * it; nothing here writes a response.
 */
#ifndef XR_REQUEST_H
#define XR_REQUEST_H

#include "conf.h"
#include "io.h"
#include "stanza.h"
#include "util.h"

enum request_kind {
	REQUEST_REFUSED, /* status and text say why; the bridge is not asked */
	REQUEST_OPTIONS, /* OPTIONS: the methods we allow */
	REQUEST_STATUS,  /* GET .../status: the bridge's own report */
	REQUEST_SUBMIT   /* a checked stanza for the bridge to send */
};

/*
 * The CGI variables point into the io's environment: they live as long
 * as the request, and are NULL when absent (authorization also when
 * empty).
 */
struct request {
	enum request_kind kind;
	const char *accept;          /* HTTP_ACCEPT: the error body's format */
	int status;                  /* REQUEST_REFUSED: 400, 405, 413, ... */
	char text[XR_ERRLEN * 2];    /* REQUEST_REFUSED: one line, why */
	struct stanza st;            /* REQUEST_SUBMIT: owned, checked */
	unsigned long timeout_ms;    /* REQUEST_SUBMIT: the reply's wait */
	const char *authorization;   /* wherever the web server put it */
	const char *remote_user;     /* REMOTE_USER */
	const char *remote_addr;     /* REMOTE_ADDR */
	const char *server_software; /* SERVER_SOFTWARE */
};

/*
 * Reads the request from io and checks it against c.  c is NULL when the
 * configuration could not be read; conf_err says why.  Free rq with
 * request_free whatever its kind.
 */
void request_read(struct io *io, const struct conf *c, const char *conf_err,
    struct request *rq);

void request_free(struct request *rq);

#endif
