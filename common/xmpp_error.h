/*
 * The shape of an XMPP stanza error as the frames carry it (RFC 6120
 * §8.3): what a peer may put in type, condition and text is bounded where
 * the bridge reads it, and checked again where the responder writes it.
 */
#ifndef XR_XMPP_ERROR_H
#define XR_XMPP_ERROR_H

#include <stddef.h>

#define XR_CONDITION_MAX 64    /* bytes of a condition's element name */
#define XR_ERROR_TEXT_MAX 1024 /* bytes of an error's <text/> kept */

/* type if it is one of RFC 6120's five error types, else "cancel". */
const char *xr_error_type(const char *type);

/* condition if it is a plausible name (a-z, digits, '-', at most
 * XR_CONDITION_MAX bytes), else "undefined-condition". */
const char *xr_error_condition(const char *condition);

#endif
