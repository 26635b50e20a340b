/*
 * The key failed-auth strikes are counted under: an IPv6 address by its
 * /64, IPv4 by the address, an IPv4-mapped IPv6 address as the IPv4 one.
 */
#include "addrkey.h"
#include "t.h"

static const char *
key_of(const char *addr)
{
	static char key[ADDRKEY_MAX];

	addr_key(addr, key);
	return key;
}

int
main(void)
{
	char a[ADDRKEY_MAX];
	char b[ADDRKEY_MAX];

	T_EQ_STR(key_of("192.0.2.7"), "192.0.2.7", "IPv4 is its own key");
	addr_key("192.0.2.7", a);
	addr_key("192.0.2.8", b);
	T_OK(strcmp(a, b) != 0, "two IPv4 neighbours have their own keys");
	addr_key("2001:db8:1:2::1", a);
	addr_key("2001:db8:1:2:a1b2:c3d4:e5f6:789", b);
	T_EQ_STR(a, b, "two addresses of one IPv6 /64 share a key");
	T_EQ_STR(a, "2001:db8:1:2::/64", "... named as the /64");
	addr_key("2001:db8:1:3::1", b);
	T_OK(strcmp(a, b) != 0, "a neighbouring /64 has another key");
	T_EQ_STR(key_of("::ffff:1.2.3.4"), "1.2.3.4",
	    "::ffff:1.2.3.4 counts as 1.2.3.4");
	T_EQ_STR(
	    key_of("::FFFF:0102:0304"), "1.2.3.4", "... however it is spelled");
	T_EQ_STR(key_of("2001:DB8:1:2:0:0:0:9"), "2001:db8:1:2::/64",
	    "spelling does not make another key");
	T_EQ_STR(key_of("fe80::1%eth0"), "fe80::/64", "a zone is no part");
	T_EQ_STR(key_of("unix:/run/x"), "unix:/run/x",
	    "what is not an address is its own key");
	T_EQ_INT((long long)strlen(key_of(
		     "0123456789012345678901234567890123456789012345678901234"
		     "5678901234567890123456789")),
	    ADDRKEY_MAX - 1, "... cut to fit");
	return t_done();
}
