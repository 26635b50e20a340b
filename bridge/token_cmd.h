/*
 * `xmpp-restd token ...` and `xmpp-restd password ...`: add, list and
 * revoke the entries of the credentials file (creds.h).
 */
#ifndef XR_TOKEN_CMD_H
#define XR_TOKEN_CMD_H

struct conf;

/*
 * Runs the command in argv (argv[0] is "token" or "password") against
 * the configured credentials file.  Returns the exit status: 0 done, 1
 * failed, 2 bad usage; messages go to stderr as "xmpp-restd: ...", and a
 * new token alone to stdout.
 */
int token_cmd(const struct conf *c, int argc, char **argv);

#endif
