/*
 * SIGHUP: read the configuration again and apply it without dropping the
 * XMPP session.  What only a restart can change (the session's identity,
 * the socket, the privileges) keeps its running value, and the log says
 * so; a file that does not load changes nothing.
 */
#ifndef XR_RELOAD_H
#define XR_RELOAD_H

#include <stddef.h>

#include "conf.h"

/* 0 when live now holds path's settings, -1 with why in err. */
int conf_reload(struct conf *live, const char *path, char *err, size_t errlen);

#endif
