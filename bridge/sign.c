/*
 * HMAC-SHA256 through OpenSSL 3's EVP_MAC interface (already in the
 * process: libstrophe links libcrypto), fed in pieces so the body is
 * never copied.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sign.h"

int
sign_delivery(const char *secret, const char *ts, const char *body, size_t len,
    char hex[SIGN_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	char digest_name[] = "SHA256";
	OSSL_PARAM params[2];
	unsigned char mac[32];
	size_t maclen = 0;
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
	int rc = -1;

	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, digest_name, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx == NULL ||
	    !EVP_MAC_init(
		ctx, (const unsigned char *)secret, strlen(secret), params) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)".", 1) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)body, len) ||
	    !EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) ||
	    maclen != sizeof(mac))
		goto fail;
	for (size_t i = 0; i < sizeof(mac); i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[SIGN_HEX_LEN] = '\0';
	rc = 0;
fail:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);
	return rc;
}
