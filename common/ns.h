/*
 * The XML namespaces both programs name, in one place (RFC 6120, the
 * XEPs cited).  Only the names: what each one means to us is said where
 * it is used.
 */
#ifndef XR_NS_H
#define XR_NS_H

#define NS_CLIENT "jabber:client"
#define NS_COMPONENT "jabber:component:accept" /* XEP-0114 */
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_STREAMS "urn:ietf:params:xml:ns:xmpp-streams"
#define NS_RECEIPTS "urn:xmpp:receipts" /* XEP-0184 */
#define NS_PING "urn:xmpp:ping"         /* XEP-0199 */

#endif
