/*
 * The secrets of the add subcommands: a password read from the terminal
 * (unechoed, twice) or from stdin and hashed with yescrypt, and a new
 * Bearer token drawn from the CSPRNG.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "creds.h"
#include "token_priv.h"

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

/*
 * One line from fd 0 into buf (NUL-ended, no newline): its length, -1 on
 * a read error or signal, -2 if longer than size - 1 bytes.  Read a byte
 * at a time, so that nothing after the line is consumed.
 */
static ssize_t
read_line(char *buf, size_t size)
{
	size_t n = 0;

	for (;;) {
		char ch;
		ssize_t r = read(STDIN_FILENO, &ch, 1);

		if (r < 0 && errno == EINTR && !got_signal)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || ch == '\n')
			break;
		if (n + 1 >= size)
			return -2;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

/*
 * Prompts on stderr and reads a line with echo off.  A signal while echo
 * is off restores the terminal first, then is raised again, as
 * readpassphrase(3) does.
 */
static ssize_t
read_hidden(const char *prompt, char *buf, size_t size)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	struct sigaction sa, old[4];
	struct termios term, quiet;
	ssize_t n;

	if (tcgetattr(STDIN_FILENO, &term) < 0)
		return read_line(buf, size);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: read() must return */
	sigemptyset(&sa.sa_mask);
	got_signal = 0;
	/* A signal ignored at start (nohup) stays ignored. */
	for (size_t i = 0; i < 4; i++) {
		sigaction(sigs[i], NULL, &old[i]);
		if (old[i].sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
	quiet = term;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	fputs(prompt, stderr);
	fflush(stderr);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	n = read_line(buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &term);
	for (size_t i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (got_signal) {
		OPENSSL_cleanse(buf, size);
		raise(got_signal);
		return -1;
	}
	return n;
}

static int
check_read(ssize_t n, const char *buf)
{
	if (n == -2) {
		token_say("password longer than %d bytes", CREDS_PASSWORD_MAX);
		return -1;
	}
	if (n < 0) {
		token_say("reading the password: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		token_say("empty password");
		return -1;
	}
	/* crypt(3) would stop at the NUL and ignore the rest. */
	if (strlen(buf) != (size_t)n) {
		token_say("password contains a NUL byte");
		return -1;
	}
	return 0;
}

int
token_get_password(const char *name, char *pw, char *again, size_t size)
{
	char prompt[CREDS_NAME_MAX + 32];
	ssize_t n;

	if (!isatty(STDIN_FILENO))
		return check_read(read_line(pw, size), pw);
	snprintf(prompt, sizeof(prompt), "Password for %s: ", name);
	if (check_read(read_hidden(prompt, pw, size), pw) < 0)
		return -1;
	n = read_hidden("Again: ", again, size);
	if (n == -1) {
		token_say("reading the password: %s", strerror(errno));
		return -1;
	}
	if (n < 0 || strlen(pw) != (size_t)n ||
	    memcmp(pw, again, (size_t)n) != 0) {
		token_say("the passwords do not match");
		return -1;
	}
	return 0;
}

char *
token_hash_password(const char *pw)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;
	char *out = NULL;

	if (cd == NULL) {
		token_say("out of memory");
		return NULL;
	}
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) ==
	    NULL) {
		token_say("crypt_gensalt_rn: %s", strerror(errno));
		goto done;
	}
	h = crypt_rn(pw, setting, cd, (int)sizeof(*cd));
	if (h == NULL || h[0] == '*') {
		token_say("crypt_rn failed");
		goto done;
	}
	if ((out = strdup(h)) == NULL)
		token_say("out of memory");
done:
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return out;
}

/* base64url without padding (RFC 4648 §5) of n bytes; out has room. */
static void
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"abcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i = 0, o = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];

		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		out[o++] = a[v & 63];
	}
	if (n - i == 1) {
		out[o++] = a[in[i] >> 2];
		out[o++] = a[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = a[v >> 10 & 63];
		out[o++] = a[v >> 4 & 63];
		out[o++] = a[(v & 15) << 2];
	}
	out[o] = '\0';
}

int
token_make(char token[TOKEN_LEN + 1])
{
	unsigned char raw[TOKEN_BYTES];

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		token_say("RAND_bytes failed");
		return -1;
	}
	memcpy(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
	b64url(raw, sizeof(raw), token + sizeof(TOKEN_PREFIX) - 1);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}
