/*
 * HTTP responses: the status table, the map from XMPP error conditions to
 * HTTP statuses, and error bodies in the format the client's Accept asks
 * for (text/plain, JSON or XMPP XML; reply_format says which by default).
 */
#ifndef XR_REPLY_H
#define XR_REPLY_H

#include <stddef.h>

#include "io.h"
#include "outbuf.h"

/* Bytes of the status line and headers; more answers 500. */
#define REPLY_HEAD_MAX 4096
/* Bytes of an error text in a body; more is cut, marked REPLY_CUT_MARK. */
#define REPLY_TEXT_MAX 2048
#define REPLY_CUT_MARK " [cut]"

/* BODY_DEFAULT: no Accept (or none of ours): an XMPP-side error is its
 * stanza, our own error one line of text (docs/API.md, "Error bodies"). */
enum body_format { BODY_DEFAULT, BODY_TEXT, BODY_JSON, BODY_XML };

enum body_format reply_format(const char *accept);

/* The HTTP status for an XMPP stanza error condition (RFC 6120 §8.3.3). */
int reply_status_for_condition(const char *condition);

/* The XMPP error type and condition that describe one of our statuses. */
void reply_condition_for_status(
    int status, const char **type, const char **condition);

/*
 * Writes a whole response.  headers (or NULL) holds extra lines built
 * with ob_header; if they were refused or cut, or the head would pass
 * REPLY_HEAD_MAX, the answer is a bare 500.  ctype may be NULL when
 * there is no body.
 */
void reply_send(struct io *io, int status, const struct outbuf *headers,
    const char *ctype, const char *body, size_t len);

/*
 * An error response.  type and condition may be NULL (derived from the
 * status); stanza, when the XMPP side produced an error stanza, is the
 * body for BODY_XML and BODY_DEFAULT.
 */
void reply_error(struct io *io, enum body_format fmt, int status,
    const struct outbuf *headers, const char *type, const char *condition,
    const char *text, const char *stanza);

#endif
