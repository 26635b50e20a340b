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
/* 1 if a stream error with this condition blames what was sent. */
int streamerr_blames_sent(const char *condition);

#endif
