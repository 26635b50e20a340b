/*
 * The bridge's two secrets, the component secret and the webhook's
 * signing secret: each given inline (secret, callback_secret) or in a
 * file of its own (secret_file, callback_secret_file).  The responder
 * never reads them, and the bridge uses none that group or others can
 * read.
 */
#ifndef XR_SECRETS_H
#define XR_SECRETS_H

#include <stddef.h>

#include "conf.h"

/* The longest secret file read: one line of the configuration file. */
#define SECRETS_FILE_MAX XR_CONF_LINE_MAX

/*
 * After conf_load and conf_check_bridge of path: refuses an inline secret
 * in a file group or others can read (or that neither root nor the
 * bridge's user owns), and reads each _file key into its secret.  0, or
 * -1 with "FILE:LINE: reason" or "FILE: reason" in err.
 */
int secrets_load(struct conf *c, const char *path, char *err, size_t errlen);

#endif
