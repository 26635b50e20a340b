/*
 * Which client a failed-auth strike is counted against.  One IPv6 host
 * usually holds a whole /64 (SLAAC, privacy addresses), so an IPv6
 * address counts as its /64; an IPv4 address, and an IPv4-mapped IPv6
 * one (::ffff:a.b.c.d), counts as the IPv4 address itself.
 */
#ifndef XR_ADDRKEY_H
#define XR_ADDRKEY_H

#include <stddef.h>

#define ADDRKEY_MAX 64 /* bytes of a key, NUL included */

/*
 * Writes addr's key to key ("192.0.2.7", "2001:db8:1:2::/64").  What is
 * not an IP address (a web server may pass anything) is its own key, cut
 * to fit.
 */
void addr_key(const char *addr, char key[ADDRKEY_MAX]);

#endif
