#!/bin/sh
# Checks an xmpp-rest webhook signature (callback_secret): reads the body on stdin, exits 1
# if it was not signed with XMPP_REST_SECRET or is older than 5 minutes (a replay).
body=$(cat)
ts=$HTTP_X_XMPP_REST_TIMESTAMP
mac=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$XMPP_REST_SECRET" | sed 's/^.*= //')
[ "sha256=$mac" = "$HTTP_X_XMPP_REST_SIGNATURE" ] || exit 1
[ "$(( $(date +%s) - ts ))" -le 300 ] || exit 1
