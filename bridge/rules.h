/*
 * The reply rules: what goes back over XMPP once a webhook has answered
 * (or could not be reached) for a stanza it was given.  The same rules
 * users know from Prosody's mod_rest; docs/API.md lists them.
 */
#ifndef XR_RULES_H
#define XR_RULES_H

#include <strophe.h>

#include "webhook.h"

#define RULES_MAX_ANSWERS 2 /* a reply and a receipt */

/*
 * Builds the stanzas to send for orig, sent to us and delivered with
 * result r; domain is the bridge's JID.  Returns how many it put in out
 * (the caller sends and releases each).  orig is not changed.
 */
int rules_answer(xmpp_ctx_t *ctx, xmpp_stanza_t *orig,
    const struct wh_result *r, const char *domain,
    xmpp_stanza_t *out[RULES_MAX_ANSWERS]);

/*
 * An error reply to orig (from its addressee, to its sender), or NULL when
 * orig must not be answered (its type is error or result).
 */
xmpp_stanza_t *rules_error(xmpp_stanza_t *orig, const char *type,
    const char *condition, const char *text);

/* An empty iq result answering orig (same id, addressed back). */
xmpp_stanza_t *rules_result(xmpp_ctx_t *ctx, xmpp_stanza_t *orig);

/* The XMPP error type and condition for a webhook's HTTP status. */
void rules_status_error(int status, const char **type, const char **condition);

#endif
