/*
 * HTTP responses: the status table, the map from XMPP error conditions to
 * HTTP statuses, and error bodies in the format the client's Accept asks
 * for (text/plain by default, JSON, or XMPP XML).
 */
#ifndef XR_REPLY_H
#define XR_REPLY_H

#include <stddef.h>

#include "io.h"

enum body_format { BODY_TEXT, BODY_JSON, BODY_XML };

enum body_format reply_format(const char *accept);

/* The HTTP status for an XMPP stanza error condition (RFC 6120 §8.3.3). */
int reply_status_for_condition(const char *condition);

/* The XMPP error type and condition that describe one of our statuses. */
void reply_condition_for_status(
    int status, const char **type, const char **condition);

/*
 * Writes a whole response.  headers holds extra "Name: value\r\n" lines
 * (or is NULL); ctype may be NULL when there is no body.
 */
void reply_send(struct io *io, int status, const char *headers,
    const char *ctype, const char *body, size_t len);

/*
 * An error response.  type and condition may be NULL (derived from the
 * status); stanza, when the XMPP side produced an error stanza, is the
 * body for BODY_XML.
 */
void reply_error(struct io *io, enum body_format fmt, int status,
    const char *headers, const char *type, const char *condition,
    const char *text, const char *stanza);

#endif
