#!/bin/sh
# An xmpp-rest webhook (callback_url) as a CGI script: echoes chat messages.
# The stanza comes on stdin; the answer's stanza is sent back over XMPP.
stanza=$(cat)
body=$(printf '%s\n' "$stanza" | sed -n 's|.*<body[^>]*>\([^<]*\)</body>.*|\1|p')
if printf '%s\n' "$stanza" | grep -q "<message [^>]*type=[\"']chat[\"']" && [ -n "$body" ]; then
	printf 'Content-Type: application/xmpp+xml\r\n\r\n'
	printf '<message><body>You said: %s</body></message>\n' "$body"
else
	printf 'Status: 204 No Content\r\n\r\n'
fi
