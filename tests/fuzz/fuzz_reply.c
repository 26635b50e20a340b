/*
 * libFuzzer target for the webhook's reply (bridge/rules.c rules_answer):
 * what the bridge makes of a webhook's HTTP answer, whose body may be a
 * stanza to send back over XMPP.  The input's first byte picks the
 * stanza that was delivered (an iq get, a chat message asking for a
 * receipt, a presence, a message from the bridge's own domain), the
 * next two the HTTP status (100-599), the fourth the Content-Type; the
 * rest is the body.  Besides crashes, leaks and undefined behaviour it
 * checks what the sender may get back:
 *
 *  - at most RULES_MAX_ANSWERS stanzas, each a message, presence or iq
 *    that serialises and parses again as the same element;
 *  - each addressed to the original sender, and from the original
 *    addressee or a valid JID under the bridge's domain, so a webhook
 *    cannot make the bridge speak for others;
 *  - an iq get is answered exactly once, with its own id, by a result
 *    or an error; stanzas of type error or result are never answered.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strophe.h>

#include "jid.h"
#include "rules.h"
#include "util.h"

#define DOMAIN "rest.example"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const origs[] = {
    "<iq type='get' id='q1' from='alice@example.org/phone' "
    "to='bot@" DOMAIN "'><query xmlns='urn:x'/></iq>",
    "<message type='chat' id='m1' from='alice@example.org/phone' "
    "to='bot@" DOMAIN "'><body>hi</body><thread>t7</thread>"
    "<request xmlns='urn:xmpp:receipts'/></message>",
    "<presence from='alice@example.org/phone' to='bot@" DOMAIN "/r'/>",
    "<message id='m2' from='bot@" DOMAIN "' to='echo@" DOMAIN "'>"
    "<body>x</body></message>",
    "<iq type='result' id='q2' from='alice@example.org/phone' "
    "to='" DOMAIN "'/>",
};

static const char *const ctypes[] = {"application/xmpp+xml",
    "application/xmpp+xml; charset=utf-8", "APPLICATION/XMPP+XML ",
    "application/xmpp+xmlx", "text/plain", ""};

static xmpp_ctx_t *ctx;

static int
eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
check_answer(xmpp_stanza_t *orig, xmpp_stanza_t *a)
{
	const char *name = xmpp_stanza_get_name(a);
	const char *from = xmpp_stanza_get_from(a);
	char *t = NULL, err[XR_ERRLEN];
	size_t n = 0;
	xmpp_stanza_t *again;

	if (name == NULL ||
	    (strcmp(name, "message") != 0 && strcmp(name, "presence") != 0 &&
		strcmp(name, "iq") != 0))
		abort();
	if (!eq(xmpp_stanza_get_to(a), xmpp_stanza_get_from(orig)))
		abort();
	if (!eq(from, xmpp_stanza_get_to(orig)) &&
	    (from == NULL || jid_check(from, err, sizeof(err)) != 0 ||
		!jid_is_under(from, DOMAIN)))
		abort();
	if (xmpp_stanza_to_text(a, &t, &n) != XMPP_EOK)
		abort();
	again = xmpp_stanza_new_from_string(ctx, t);
	if (again == NULL || !eq(xmpp_stanza_get_name(again), name) ||
	    !eq(xmpp_stanza_get_to(again), xmpp_stanza_get_to(a)) ||
	    !eq(xmpp_stanza_get_from(again), from))
		abort();
	xmpp_stanza_release(again);
	xmpp_free(ctx, t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xmpp_stanza_t *orig, *out[RULES_MAX_ANSWERS] = {NULL};
	struct wh_result r = {0};
	const char *otype, *oname;
	char *body;
	int n, is_get;

	if (ctx == NULL) {
		xmpp_initialize();
		ctx = xmpp_ctx_new(NULL, NULL);
	}
	if (size < 4)
		return 0;
	orig = xmpp_stanza_new_from_string(
	    ctx, origs[data[0] % (sizeof(origs) / sizeof(origs[0]))]);
	if (orig == NULL)
		abort();
	if ((body = malloc(size - 4 + 1)) == NULL) {
		xmpp_stanza_release(orig);
		return 0;
	}
	memcpy(body, data + 4, size - 4);
	body[size - 4] = '\0';
	/* The worker sends no body with a NUL in it (webhook.c). */
	r.kind = WH_RESPONSE;
	r.status = 100 + (((int)data[1] << 8 | data[2]) % 500);
	r.reason = "Reason";
	r.content_type = ctypes[data[3] % (sizeof(ctypes) / sizeof(ctypes[0]))];
	r.body = memchr(body, '\0', size - 4) == NULL && size > 4 ? body : NULL;
	r.body_len = r.body ? size - 4 : 0;
	n = rules_answer(ctx, orig, &r, DOMAIN, out);

	otype = xmpp_stanza_get_type(orig);
	oname = xmpp_stanza_get_name(orig);
	is_get = strcmp(oname, "iq") == 0 && eq(otype, "get");
	if (n < 0 || n > RULES_MAX_ANSWERS)
		abort();
	if ((eq(otype, "result") || eq(otype, "error")) && n != 0)
		abort();
	if (is_get && n != 1)
		abort();
	for (int i = 0; i < n; i++) {
		check_answer(orig, out[i]);
		if (is_get &&
		    (!eq(xmpp_stanza_get_name(out[i]), "iq") ||
			!eq(xmpp_stanza_get_id(out[i]), "q1") ||
			!(eq(xmpp_stanza_get_type(out[i]), "result") ||
			    eq(xmpp_stanza_get_type(out[i]), "error"))))
			abort();
		xmpp_stanza_release(out[i]);
	}
	xmpp_stanza_release(orig);
	free(body);
	return 0;
}
