/*
 * The configuration file, shared by the responder and the bridge: lines
 * of "key value", '#' starts a comment, blank lines are ignored.  One
 * table in conf.c names every key with its type, default and range, the
 * programs that read it and what the bridge's reload does with it; an
 * unknown key or a bad value is reported as "FILE:LINE: reason".
 */
#ifndef XR_CONF_H
#define XR_CONF_H

#include <stddef.h>
#include <stdio.h>

#ifndef XR_CONF_DEFAULT
#define XR_CONF_DEFAULT "/etc/xmpp-rest.conf"
#endif

#define XR_CONF_LINE_MAX 4096

/* Bits of callback_stanzas and callback_addresses. */
#define CONF_KIND_MESSAGE 1UL
#define CONF_KIND_PRESENCE 2UL
#define CONF_KIND_IQ 4UL
#define CONF_ADDR_BARE 1UL
#define CONF_ADDR_FULL 2UL
#define CONF_ADDR_HOST 4UL
/* Bits of auth: the schemes the bridge accepts; 0 is "auth none". */
#define CONF_AUTH_BEARER 1UL
#define CONF_AUTH_BASIC 2UL

#ifndef XR_CREDS_DEFAULT
#define XR_CREDS_DEFAULT "/etc/xmpp-rest.credentials"
#endif

/* The placeholders of callback_url: what conf.c accepts and
 * bridge/urltmpl.c fills in, in this order. */
enum url_var { URL_VAR_KIND, URL_VAR_TYPE, URL_VAR_TO, URL_VAR_FROM, URL_VARS };
extern const char *const url_var_names[URL_VARS];

struct conf {
	char *jid;    /* the component's domain; required */
	char *server; /* XMPP server to connect to */
	unsigned long port;
	char *secret;             /* component secret; required by the bridge */
	char *secret_file;        /* or: the file holding it alone */
	char *socket;             /* path of the bridge's UNIX socket */
	unsigned long iq_timeout; /* s, default wait for a reply */
	unsigned long iq_max_timeout; /* s, what X-XMPP-Rest-Timeout may ask */
	unsigned long max_stanza_bytes;
	unsigned long max_stanza_depth;
	unsigned long max_stanza_attributes;
	unsigned long max_clients; /* concurrent responder connections */
	unsigned long client_idle_timeout; /* s a connection may sit idle */
	unsigned long max_pipelined; /* requests in flight on one connection */
	unsigned long
	    responder_threads; /* requests one FastCGI process serves at once */
	unsigned long reconnect_min, reconnect_max; /* s, XMPP back-off */
	unsigned long retry_after;                  /* s, sent with 503 */
	/* Webhook delivery of incoming stanzas (bridge only). */
	char *callback_url;               /* NULL: no delivery */
	unsigned long callback_stanzas;   /* CONF_KIND_* bits */
	unsigned long callback_addresses; /* CONF_ADDR_* bits */
	unsigned long callback_timeout;   /* s */
	unsigned long callback_max_inflight;
	unsigned long callback_queue_max;
	unsigned long callback_max_response_bytes;
	char *callback_ca_file;     /* NULL: the system CA store */
	char *callback_secret;      /* NULL: deliveries are not signed */
	char *callback_secret_file; /* or: the file holding it alone */
	/* Messages the webhook could not take now wait in the spool. */
	char *spool_dir;
	unsigned long spool_max_bytes;
	unsigned long retry_max_age;      /* s a message is retried for */
	unsigned long callback_retry_min; /* s, first retry back-off */
	unsigned long callback_retry_max; /* s, longest back-off */
	/* Requests held while the XMPP session is down. */
	unsigned long queue_max;     /* stanzas */
	unsigned long queue_wait;    /* s */
	unsigned long shutdown_wait; /* s SIGTERM lets requests finish */
	/* Who may use the bridge (bridge only). */
	unsigned long auth;     /* CONF_AUTH_* bits; 0 only if "auth none" */
	char *credentials_file; /* readable by the daemon's user alone */
	int trust_remote_user;  /* REMOTE_USER names a credential */
	unsigned long auth_fail_limit;  /* failures per address per window */
	unsigned long auth_fail_window; /* s */
	char *user, *group; /* account to drop to when started as root */
	char *socket_group; /* group of the socket; NULL: the daemon's */
	char *allow_uids;   /* peers allowed by SO_PEERCRED; NULL: any */
	char *allow_gids;
	int log_level;  /* enum log_level */
	int log_syslog; /* 0 stderr, 1 syslog */
	/* Who could read the file conf_load read, for the bridge's check of
	 * inline secrets: its mode and owner (origin_known 0 when it could
	 * not tell), and the lines of secret and callback_secret (0: unset). */
	int origin_known;
	unsigned origin_mode; /* st_mode & 07777 */
	unsigned long origin_uid;
	unsigned long secret_line, callback_secret_line;
};

/* Who reads the file: the responder skips the keys that hold secrets or
 * name their files (it never stores them), the bridge reads them all.
 * As bits, the table's column of the programs that use a key. */
enum conf_reader {
	CONF_FOR_BRIDGE = 1,
	CONF_FOR_RESPONDER = 2,
	CONF_FOR_BOTH = CONF_FOR_BRIDGE | CONF_FOR_RESPONDER /* table only */
};

/* What the bridge's reload (SIGHUP) does with a key's new value.  The
 * responders read the file once, when they start. */
enum conf_reload {
	CONF_RELOAD_APPLIES,  /* the new value is used */
	CONF_RELOAD_KEEPS,    /* the running value stays until a restart */
	CONF_RELOAD_KEEPS_SET /* a new value is used, but setting or unsetting
				 the key waits for a restart */
};

/* Fills c with every default; strings are allocated (or NULL). */
int conf_defaults(struct conf *c);

/*
 * Reads path into c (which conf_defaults filled).  0, or -1 with
 * "FILE:LINE: reason" (or "FILE: reason") in err.  Checks keys the bridge
 * and the responder both need ("jid"); the bridge also calls
 * conf_check_bridge.
 */
int conf_load(struct conf *c, const char *path, char *err, size_t errlen);

/* conf_load for the given reader (conf_load is CONF_FOR_BRIDGE).  The
 * responder checks every key but keeps only those it reads: the others
 * are left unset (NULL or 0). */
int conf_load_for(struct conf *c, const char *path, enum conf_reader who,
    char *err, size_t errlen);

/* What conf_load does on an open stream (not closed); name is for err. */
int conf_load_file(
    struct conf *c, FILE *fp, const char *name, char *err, size_t errlen);

/* Parses one "key value" assignment, as conf_load does for each line. */
int conf_set(struct conf *c, const char *key, const char *value, char *err,
    size_t errlen);

/* 0 if the bridge has what it needs: exactly one of secret and
 * secret_file, at most one of callback_secret and callback_secret_file;
 * else -1 with a reason naming both keys.  Reads no file. */
int conf_check_bridge(
    const struct conf *c, const char *path, char *err, size_t errlen);

/* The name of key i of the table, or NULL past the last. */
const char *conf_key_name(size_t i);

/* What a reload does with key i; i must be below the number of keys. */
enum conf_reload conf_key_reload(size_t i);

/* Whether key i holds the same value in a and b, and whether it is set in
 * c (only a string can be unset). */
int conf_key_same(const struct conf *a, const struct conf *b, size_t i);
int conf_key_is_set(const struct conf *c, size_t i);

/* Moves key i's value from src into dst, freeing dst's; src's string, if
 * any, becomes NULL. */
void conf_key_move(struct conf *dst, struct conf *src, size_t i);

void conf_free(struct conf *c);

#endif
