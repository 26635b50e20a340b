/*
 * One HTTP request, from CGI variables and body to the response: method
 * and media type, body limits, validation, the bridge round trip, and the
 * mapping of its outcome to HTTP.
 */
#ifndef XR_REQUEST_H
#define XR_REQUEST_H

#include "conf.h"
#include "io.h"

/* c is NULL when the configuration could not be read; conf_err says why. */
void request_serve(struct io *io, const struct conf *c, const char *conf_err);

#endif
