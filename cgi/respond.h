/*
 * The responder's last step: the HTTP response for a request and its
 * exchange with the bridge, written through reply.h.  It only reads what
 * the steps before it made.
 */
#ifndef XR_RESPOND_H
#define XR_RESPOND_H

#include "conf.h"
#include "exchange.h"
#include "io.h"
#include "request.h"

/* c is NULL when the configuration could not be read. */
void respond(struct io *io, const struct conf *c, const struct request *rq,
    const struct exchange *ex);

#endif
