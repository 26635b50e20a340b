#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addrkey.h"
#include "util.h"

void
addr_key(const char *addr, char key[ADDRKEY_MAX])
{
	char buf[INET6_ADDRSTRLEN + 1];
	size_t n = strcspn(addr, "%"); /* a zone (fe80::1%eth0) is no part */

	if (n < sizeof(buf)) {
		unsigned char a[16];

		memcpy(buf, addr, n);
		buf[n] = '\0';
		if (inet_pton(AF_INET, buf, a) == 1) {
			inet_ntop(AF_INET, a, key, ADDRKEY_MAX);
			return;
		}
		if (inet_pton(AF_INET6, buf, a) == 1) {
			static const unsigned char mapped[12] = {
			    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

			if (memcmp(a, mapped, sizeof(mapped)) == 0) {
				inet_ntop(AF_INET, a + 12, key, ADDRKEY_MAX);
				return;
			}
			memset(a + 8, 0, 8);
			inet_ntop(AF_INET6, a, buf, sizeof(buf));
			snprintf(key, ADDRKEY_MAX, "%s/64", buf);
			return;
		}
	}
	xr_strlcpy(key, addr, ADDRKEY_MAX);
}
