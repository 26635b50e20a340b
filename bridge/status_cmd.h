/* `xmpp-restd status`: asks the running bridge how it is. */
#ifndef XR_STATUS_CMD_H
#define XR_STATUS_CMD_H

#include "conf.h"

/* Prints the bridge's status (JSON) on stdout; the exit status. */
int status_cmd(const struct conf *c);

#endif
