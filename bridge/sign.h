/*
 * Webhook signing: with callback_secret set, every delivery carries
 *   X-XMPP-Rest-Timestamp: <unix seconds>
 *   X-XMPP-Rest-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." body)>
 * The timestamp is inside the MAC, so a receiver that refuses old
 * timestamps also refuses replays.
 */
#ifndef XR_SIGN_H
#define XR_SIGN_H

#include <stddef.h>

#define SIGN_HEX_LEN 64 /* hex digits of a SHA-256 MAC */

/* Writes the lowercase hex MAC of ts "." body into hex; 0, or -1. */
int sign_delivery(const char *secret, const char *ts, const char *body,
    size_t len, char hex[SIGN_HEX_LEN + 1]);

#endif
