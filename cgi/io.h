/*
 * One request's I/O, the same for plain CGI (environment, stdin, stdout)
 * and FastCGI (libfcgi's request streams), so the handler is written once.
 */
#ifndef XR_IO_H
#define XR_IO_H

#include <fcgiapp.h>

struct io {
	/* A CGI variable (REQUEST_METHOD, HTTP_ACCEPT, ...), or NULL. */
	const char *(*param)(struct io *io, const char *name);
	/* Up to len body bytes; 0 at the end, -1 on error. */
	int (*read)(struct io *io, char *buf, int len);
	int (*write)(struct io *io, const char *buf, int len);
	FCGX_Request *req; /* FastCGI only */
};

#endif
