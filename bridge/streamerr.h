/*
 * What a stream error says: its condition, and whether it blames what
 * we wrote (so the stanzas in flight are suspects) or not (the server
 * went away; they are written again as they were).
 */
#ifndef XR_STREAMERR_H
#define XR_STREAMERR_H

#include <strophe.h>

/* The condition's element name ("undefined-condition" if none); its
 * storage belongs to se. */
const char *streamerr_condition(const xmpp_stream_error_t *se);
/*
 * The condition of the last stream error in buf[0..len), bytes of a
 * stream that libstrophe did not parse (xmpp.c), or NULL.  Only RFC 6120's
 * conditions (and the servers' stanza-too-large) are recognized, in an
 * element of the streams namespace inside <stream:error>...</stream:error>;
 * the name returned is our own static string.
 */
const char *streamerr_in_tail(const char *buf, size_t len);
/* 1 if a stream error with this condition blames what was sent. */
int streamerr_blames_sent(const char *condition);

#endif
