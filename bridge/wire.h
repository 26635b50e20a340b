/*
 * Stanzas on their way out of the bridge to the world (HTTP responses,
 * webhook bodies), and replies on their way in from a webhook: the
 * namespace and xml:lang repairs libstrophe's parser makes necessary.
 */
#ifndef XR_WIRE_H
#define XR_WIRE_H

#include <stddef.h>
#include <strophe.h>

#include "ns.h"

/* libstrophe's parser reports xml:lang as "lang": put the prefix back. */
void wire_restore_lang(xmpp_stanza_t *st);

/*
 * The text of st as the world should see it: in jabber:client (not the
 * component stream's namespace), with xml:lang.  st itself is not
 * changed.  Returns malloc'd text (free it), or NULL without memory.
 */
char *wire_text(xmpp_stanza_t *st, size_t *len);

#endif
