/*
 * expat's reparse deferral, and how we live with it.
 *
 * expat 2.6 (and Debian 12's libexpat1 since 2.5.0-1+deb12u2, a backport
 * for CVE-2023-52425) does not parse a token again until the bytes
 * waiting for it have doubled.  A start tag longer than one read of the
 * peer (an attribute of a few KiB) then waits, with the stream behind it,
 * until twice its length has arrived, which on a quiet stream is never:
 * Prosody held such a stanza of ours until our acknowledgement timed out
 * (tests/integration: "an iq error with a 4 KB error type").
 *
 * Both ends use expat.  What we send: after text whose longest tag may
 * wait, xmpp.c writes as much whitespace (legal between stanzas, RFC 6120
 * 4.6.1), which lets the server's parser go on.  What we receive:
 * deferral.c turns it off in libstrophe's own parsers.
 */
#ifndef XR_DEFERRAL_H
#define XR_DEFERRAL_H

#include <stddef.h>

/* Tags this long never wait on the server: what follows them (at least
 * our acknowledgement ping) is longer. */
#define DEFERRAL_SAFE_TAG 64

/* The length of the longest tag ('<' to its '>', quotes respected) in
 * the serialized XML xml[0..len); a tag cut off at the end counts up to
 * the end. */
size_t deferral_longest_tag(const char *xml, size_t len);

#endif
