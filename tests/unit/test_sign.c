/*
 * Webhook signatures: HMAC-SHA256 of "timestamp.body", against values
 * computed with openssl(1), e.g.
 *   printf '1700000000.<message/>' | openssl dgst -sha256 -hmac s3cret
 * which is also what README's shell check does.
 */
#include "sign.h"
#include "t.h"

int
main(void)
{
	char hex[SIGN_HEX_LEN + 1];

	T_EQ_INT(sign_delivery("s3cret", "1700000000", "<message/>", 10, hex),
	    0, "sign");
	T_EQ_STR(hex,
	    "2ca1b9553bc53ca28484fc56422cd073ff5f7cbcee6a89dd3c3efd065f6402da",
	    "HMAC-SHA256 of timestamp.body, as openssl computes it");
	T_EQ_INT(
	    sign_delivery("k#y with spaces", "1", "<m>\n\xc3\xa4</m>", 10, hex),
	    0, "sign a body with a newline and UTF-8");
	T_EQ_STR(hex,
	    "4bfa3c4acc61bb522f89e9d0e1b27cc27707c18324daa125cc3ed39094099b5d",
	    "the same as openssl");
	T_EQ_INT(sign_delivery("s3cret", "1700000001", "<message/>", 10, hex),
	    0, "another timestamp");
	T_OK(strcmp(hex,
		 "2ca1b9553bc53ca28484fc56422cd073ff5f7cbcee6a89dd3c3efd065f640"
		 "2da") != 0,
	    "changes the signature");
	return t_done();
}
