/*
 * libFuzzer target for the bridge's reading of the Authorization header
 * (bridge/auth.c, included to reach its static parts): the scheme, the
 * Bearer token, Basic's base64 and name:password.  The input is the
 * header's value.  The checks: base64 decodes what OpenSSL encodes, with
 * or without padding, and never writes past its buffer; a verdict is one
 * of the four; the reason is one line of printable text (it goes to the
 * log and to the HTTP body); only the known token and the known password
 * are let in, and then under their own names.
 */
#include "../../bridge/auth.c"

#include <crypt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "xr_fuzz-token-0123456789"
#define PASSWORD "secret"

static struct loop *lp;
static struct auth *au;

static void
setup(void)
{
	static struct conf c;
	static char text[512];
	char hash[CREDS_HASH_HEX + 1], err[XR_ERRLEN];
	struct crypt_data cd;
	struct creds fresh = {0};
	const char *h;

	if (conf_defaults(&c) < 0)
		abort();
	free(c.jid);
	free(c.credentials_file);
	c.jid = strdup("rest.localhost");
	c.credentials_file = strdup("/nonexistent/xmpp-rest.credentials");
	c.auth = CONF_AUTH_BEARER | CONF_AUTH_BASIC;
	if ((lp = loop_new(NULL)) == NULL ||
	    (au = auth_new(lp, &c, err, sizeof(err))) == NULL)
		abort();
	if (creds_hash_token(TOKEN, strlen(TOKEN), hash) < 0)
		abort();
	/* The cheapest sha512-crypt there is: one password check per input
	 * that reaches it, which would otherwise be most of the time. */
	memset(&cd, 0, sizeof(cd));
	h = crypt_r(PASSWORD, "$6$rounds=1000$fuzzsalt$", &cd);
	if (h == NULL || h[0] != '$')
		abort();
	snprintf(text, sizeof(text),
	    "tok bearer %s\nusr basic %s rate=1000000/s\n", hash, h);
	if (creds_parse(text, strlen(text), c.jid, &fresh, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "fuzz_auth: %s\n", err);
		abort();
	}
	au->creds = fresh;
}

static void
check_b64(const uint8_t *data, size_t size, const char *s)
{
	char out[96], enc[132];
	size_t n = size > 64 ? 64 : size, len = 0;
	int elen = EVP_EncodeBlock((unsigned char *)enc, data, (int)n);

	/* What OpenSSL encodes decodes back, with and without padding. */
	if (b64_decode(enc, out, sizeof(out), &len) < 0 || len != n ||
	    memcmp(out, data, n) != 0)
		abort();
	while (elen > 0 && enc[elen - 1] == '=')
		enc[--elen] = '\0';
	if (b64_decode(enc, out, sizeof(out), &len) < 0 || len != n ||
	    memcmp(out, data, n) != 0)
		abort();
	/* Anything at all: within the buffer, NUL-ended, 3 bytes per 4. */
	if (b64_decode(s, out, sizeof(out), &len) == 0 &&
	    (len >= sizeof(out) || out[len] != '\0' || len > strlen(s) * 3 / 4))
		abort();
}

static void
check_line(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char *h = malloc(size + 1);
	struct auth_request rq = {0};
	struct auth_result res;

	if (h == NULL)
		return 0;
	if (!ready) {
		setup();
		ready = 1;
	}
	memcpy(h, data, size);
	h[size] = '\0';
	check_b64(data, size, h);
	rq.authorization = h;
	rq.kind = "message";
	rq.from = "rest.localhost";
	auth_check(au, &rq, &res);
	if ((unsigned)res.verdict > AUTH_THROTTLED)
		abort();
	check_line(res.text, sizeof(res.text));
	check_line(res.name, sizeof(res.name));
	if (res.verdict == AUTH_OK) {
		/* The token and the password are the only ways in. */
		if (strcmp(res.name, "tok") != 0 &&
		    strcmp(res.name, "usr") != 0)
			abort();
		if (strcmp(res.name, "tok") == 0 && strstr(h, TOKEN) == NULL)
			abort();
	}
	free(h);
	return 0;
}
