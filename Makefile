# xmpp-rest: plain GNU make.  `make` builds both programs; `make test` runs
# every test (installing what it needs first when run as root on Debian).

VERSION    = 0.1.0
PREFIX    ?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
SBINDIR   ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/lib/cgi-bin
DESTDIR   ?=
# The bridge's account and the web server's group (INSTALL): make install
# gives the secrets to the first and the configuration's group to the second.
BRIDGE_USER ?= xmpp-rest
WEB_GROUP  ?= www-data

CC        ?= cc
PKGS       = libstrophe fcgi libxml-2.0 openssl jansson
PYTHON    ?= /usr/bin/python3

# Debian packages: what the build needs, and what the tests run against.
BUILD_DEBS = gcc make pkg-config libfcgi-dev libstrophe-dev libxml2-dev libssl-dev libcrypt-dev \
  libjansson-dev
TEST_DEBS  = prosody lighttpd apache2 libapache2-mod-fcgid nginx python3-slixmpp curl openssl \
  libfcgi-bin spawn-fcgi cppcheck wrk ejabberd \
  clang-tidy clang-format bear valgrind clang-14 libclang-rt-14-dev systemd groff-base

WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
  -Wmissing-prototypes -Wmissing-declarations -Wold-style-definition \
  -Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2 -Wvla -Wundef \
  -Wimplicit-fallthrough -Wnull-dereference -Wredundant-decls \
  -Wswitch-enum -Wconversion
XR_CPPFLAGS = -D_POSIX_C_SOURCE=200809L -DXR_VERSION='"$(VERSION)"' \
  -DXR_CONF_DEFAULT='"$(SYSCONFDIR)/xmpp-rest.conf"' \
  -DXR_CREDS_DEFAULT='"$(SYSCONFDIR)/xmpp-rest.credentials"' -Icommon
# Computed on first use, not when the Makefile is read: on a fresh machine
# pkg-config and the -dev packages arrive with the first target's
# dependency check (need-build below), after this file was read.
PKG_CONFIG ?= pkg-config
pkg = $(shell $(PKG_CONFIG) $(1) 2>/dev/null)
DEP_CFLAGS = $(eval DEP_CFLAGS := $$(subst -I,-isystem ,$$(call pkg,--cflags $(PKGS))))$(DEP_CFLAGS)
CGI_LIBS   = $(eval CGI_LIBS := $$(call pkg,--libs fcgi libxml-2.0 jansson))$(CGI_LIBS)
# libcrypt (libxcrypt, part of every Debian system) hashes Basic passwords;
# libxml2 checks each submitted stanza again before the bridge writes it.
BRIDGE_LIBS = $(eval BRIDGE_LIBS := $$(call pkg,--libs libstrophe openssl libxml-2.0 jansson) -lcrypt)$(BRIDGE_LIBS)
OPT       ?= -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
XR_CFLAGS  = -std=c11 -pthread $(OPT) -fPIE $(WARN) $(if $(WERROR),-Werror) $(DEP_CFLAGS) $(CFLAGS)
XR_LDFLAGS = -pie -Wl,-z,relro,-z,now $(LDFLAGS)

# B is the build directory: build/ for the release build, build/asan for
# the sanitizer build the tests run.
B ?= build
COMMON_SRC = common/util.c common/log.c common/buf.c common/proto.c common/frame_reader.c common/conf.c common/conf_value.c common/jid.c \
  common/bridge_client.c common/outbuf.c common/json_out.c common/xmpp_error.c common/stanza.c \
  common/stanza_root.c common/stanza_write.c
CGI_SRC    = cgi/main.c cgi/request.c cgi/exchange.c cgi/respond.c cgi/reply.c
BRIDGE_SRC = bridge/main.c bridge/loop.c bridge/listener.c bridge/xmpp.c \
  bridge/track.c bridge/route.c bridge/route_links.c bridge/wire.c bridge/webhook.c bridge/wh_worker.c bridge/wh_settings.c bridge/worker_proto.c bridge/http.c \
  bridge/http_url.c bridge/http_resp.c bridge/http_conn.c \
  bridge/urltmpl.c bridge/rules.c bridge/sign.c bridge/creds.c bridge/creds_field.c bridge/creds_file.c \
  bridge/token_cmd.c bridge/token_args.c bridge/token_secret.c bridge/token_store.c \
  bridge/auth.c bridge/addrkey.c bridge/privs.c bridge/reload.c bridge/status_cmd.c bridge/spool.c \
  bridge/spool_format.c bridge/spool_queue.c bridge/spool_load.c \
  bridge/privfile.c bridge/secrets.c bridge/stray.c bridge/streamerr.c \
  bridge/claim.c bridge/rate.c bridge/deferral.c bridge/outgoing.c bridge/incoming.c \
  bridge/status.c bridge/answer.c bridge/stanza_answer.c bridge/admit.c bridge/incoming_retry.c
UNIT_TESTS = test_proto test_conf test_jid test_stanza test_stanza_root test_stanza_write test_track test_urltmpl \
  test_rules test_http test_http_url test_http_resp test_sign test_creds test_spool test_stray test_outbuf test_streamerr \
  test_conf_docs test_reload test_addrkey test_deferral test_rate test_senderror test_outgoing test_incoming test_status \
  test_auth test_admit test_respond test_buf test_frame_reader test_listener test_worker_proto

COMMON_OBJ = $(COMMON_SRC:%.c=$(B)/%.o)
CGI_OBJ    = $(CGI_SRC:%.c=$(B)/%.o)
BRIDGE_OBJ = $(BRIDGE_SRC:%.c=$(B)/%.o)


.PHONY: FORCE need-build need-run need-fuzz all dev asan deps test unit integration lint cppcheck tidy format run bench bench-smoke soak install fuzz-smoke fuzz-campaign \
  coverage uninstall clean check-format dist distcheck

all: cgi/xmpp-rest.fcgi bridge/xmpp-restd

cgi/xmpp-rest.fcgi: $(B)/xmpp-rest.fcgi
	cp $< $@.tmp && mv -f $@.tmp $@
bridge/xmpp-restd: $(B)/xmpp-restd
	cp $< $@.tmp && mv -f $@.tmp $@

$(B)/xmpp-rest.fcgi: $(CGI_OBJ) $(COMMON_OBJ)
	@echo "  LD  $@"; $(CC) $(XR_CFLAGS) $(XR_LDFLAGS) -pthread -o $@ $^ $(CGI_LIBS)
$(B)/xmpp-restd: $(BRIDGE_OBJ) $(COMMON_OBJ)
	@echo "  LD  $@"; $(CC) $(XR_CFLAGS) $(XR_LDFLAGS) -o $@ $^ $(BRIDGE_LIBS)

# The flags (and with them the compiled-in paths) are recorded, so that
# `make install PREFIX=/usr` after a plain `make` rebuilds what it must.
FLAGS_NOW = $(CC) $(XR_CPPFLAGS) $(XR_CFLAGS) $(XR_LDFLAGS)
$(B)/flags: FORCE | need-build
	@mkdir -p $(B)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@
FORCE:

$(B)/%.o: %.c $(wildcard common/*.h cgi/*.h bridge/*.h) Makefile $(B)/flags
	@mkdir -p $(dir $@)
	@echo "  CC  $@"; $(CC) $(XR_CPPFLAGS) -I$(dir $<) $(XR_CFLAGS) -c -o $@ $<

# Unit tests link the common code plus the one module they test.
UNIT_OBJ = $(COMMON_OBJ) $(B)/cgi/reply.o $(B)/cgi/request.o $(B)/cgi/exchange.o $(B)/cgi/respond.o \
  $(B)/bridge/track.o $(B)/bridge/urltmpl.o \
  $(B)/bridge/rules.o $(B)/bridge/wire.o $(B)/bridge/http.o $(B)/bridge/sign.o \
  $(B)/bridge/http_url.o $(B)/bridge/http_resp.o $(B)/bridge/http_conn.o \
  $(B)/bridge/creds.o $(B)/bridge/creds_field.o $(B)/bridge/creds_file.o \
  $(B)/bridge/spool.o $(B)/bridge/spool_format.o $(B)/bridge/spool_queue.o \
  $(B)/bridge/spool_load.o $(B)/bridge/privfile.o $(B)/bridge/secrets.o $(B)/bridge/reload.o \
  $(B)/bridge/privs.o $(B)/bridge/stray.o $(B)/bridge/streamerr.o $(B)/bridge/claim.o $(B)/bridge/deferral.o \
  $(B)/bridge/addrkey.o $(B)/bridge/rate.o $(B)/bridge/xmpp.o $(B)/bridge/loop.o \
  $(B)/bridge/outgoing.o $(B)/bridge/incoming.o $(B)/bridge/incoming_retry.o $(B)/bridge/status.o $(B)/bridge/answer.o \
  $(B)/bridge/stanza_answer.o $(B)/bridge/admit.o $(B)/bridge/listener.o $(B)/bridge/auth.o \
  $(B)/bridge/worker_proto.o
$(B)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(UNIT_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC  $@"; $(CC) $(XR_CPPFLAGS) -Icgi -Ibridge -Itests/unit $(XR_CFLAGS) $(XR_LDFLAGS) -o $@ $< \
	  $(UNIT_OBJ) $(CGI_LIBS) $(BRIDGE_LIBS)

SAN = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=undefined

# The sanitizer build the tests use; binaries stay in build/asan.
asan:
	$(MAKE) B=build/asan OPT='$(SAN)' WERROR=1 build/asan/xmpp-rest.fcgi \
	  build/asan/xmpp-restd $(UNIT_TESTS:%=build/asan/tests/%)

dev:
	$(MAKE) WERROR=1 all

# Lines of each C file that the unit tests alone run (gcov, from gcc).
# Both programs are built too, so that files no unit test links count.
coverage: need-build
	@rm -rf build/cov
	@$(MAKE) --no-print-directory B=build/cov OPT='-O0 -g --coverage' build/cov/xmpp-rest.fcgi \
	  build/cov/xmpp-restd $(UNIT_TESTS:%=build/cov/tests/%) >/dev/null
	@for t in $(UNIT_TESTS); do build/cov/tests/$$t >/dev/null || { echo "$$t failed"; exit 1; }; done
	@$(PYTHON) tools/coverage.py build/cov bridge common cgi

# libFuzzer targets (clang 14 from Debian).  fuzz-smoke runs each for
# FUZZ_SECONDS with its seed corpus; new inputs go to build/fuzz only.
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_FLAGS    = -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 \
  -D_POSIX_C_SOURCE=200809L -DXR_VERSION='"$(VERSION)"' -Icommon -Ibridge -Icgi
FUZZ_TARGETS  = fuzz_http_resp fuzz_frame fuzz_stanza fuzz_conf fuzz_creds fuzz_outcome \
  fuzz_headers fuzz_claim fuzz_auth fuzz_jid fuzz_urltmpl fuzz_spool fuzz_reply fuzz_streamerr
# The responder's targets include cgi/request.c or cgi/respond.c to reach
# their static parts.
FUZZ_CGI_SRC  = common/stanza.c cgi/reply.c common/util.c common/log.c common/buf.c common/proto.c \
  common/frame_reader.c \
  common/conf.c common/conf_value.c common/jid.c common/bridge_client.c common/outbuf.c common/json_out.c \
  common/xmpp_error.c common/stanza_root.c common/stanza_write.c
build/fuzz/fuzz_headers: FUZZ_CGI_STEPS = cgi/exchange.c cgi/respond.c
build/fuzz/fuzz_outcome build/fuzz/fuzz_headers: build/fuzz/%: tests/fuzz/%.c tests/fuzz/cgi_out.h \
  cgi/request.c cgi/exchange.c cgi/respond.c $(FUZZ_CGI_SRC) | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags libxml-2.0 jansson) \
	  -o $@ $< $(FUZZ_CGI_STEPS) $(FUZZ_CGI_SRC) -lxml2 -ljansson
build/fuzz/fuzz_claim: tests/fuzz/fuzz_claim.c tests/fuzz/fuzz_util.h bridge/claim.c common/stanza.c common/jid.c \
  common/stanza_root.c common/stanza_write.c common/buf.c common/proto.c common/conf.c common/conf_value.c common/outbuf.c common/log.c common/util.c | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags libxml-2.0) \
	  -o $@ $(filter %.c,$^) -lxml2
build/fuzz/fuzz_http_resp: tests/fuzz/fuzz_http_resp.c bridge/http_resp.c common/util.c | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^
build/fuzz/fuzz_frame: tests/fuzz/fuzz_frame.c common/buf.c common/proto.c common/frame_reader.c \
  common/util.c | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^
build/fuzz/fuzz_stanza: tests/fuzz/fuzz_stanza.c tests/fuzz/fuzz_util.h common/stanza.c \
  common/stanza_root.c common/stanza_write.c common/jid.c common/util.c | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags libxml-2.0) \
	  -o $@ $(filter %.c,$^) -lxml2
build/fuzz/fuzz_conf: tests/fuzz/fuzz_conf.c common/conf.c common/conf_value.c common/outbuf.c common/jid.c common/util.c common/log.c | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

build/fuzz/fuzz_creds: tests/fuzz/fuzz_creds.c bridge/creds.c bridge/creds_field.c bridge/creds_file.c \
  bridge/rate.c bridge/privfile.c common/jid.c common/util.c common/log.c | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ -lcrypt -lssl -lcrypto

build/fuzz/fuzz_urltmpl: tests/fuzz/fuzz_urltmpl.c bridge/urltmpl.c bridge/http_url.c common/conf.c common/conf_value.c common/outbuf.c \
  common/jid.c common/util.c common/log.c | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^
build/fuzz/fuzz_spool: tests/fuzz/fuzz_spool.c bridge/spool_format.c common/util.c | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^
build/fuzz/fuzz_reply: tests/fuzz/fuzz_reply.c bridge/rules.c bridge/wire.c common/jid.c \
  common/util.c | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags libstrophe) \
	  -o $@ $^ $(shell pkg-config --libs libstrophe)

# auth.c is included to reach its static parts (b64_decode, identify).
FUZZ_AUTH_SRC = bridge/creds.c bridge/creds_field.c bridge/creds_file.c \
  bridge/rate.c bridge/privfile.c bridge/addrkey.c bridge/loop.c \
  common/conf.c common/conf_value.c common/jid.c common/util.c common/log.c common/outbuf.c
build/fuzz/fuzz_auth: tests/fuzz/fuzz_auth.c bridge/auth.c $(FUZZ_AUTH_SRC) | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_AUTH_SRC) -lcrypt -lssl -lcrypto
build/fuzz/fuzz_jid: tests/fuzz/fuzz_jid.c common/jid.c common/util.c | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^
build/fuzz/fuzz_streamerr: tests/fuzz/fuzz_streamerr.c bridge/streamerr.c | need-fuzz
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"; $(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags libstrophe) \
	  -o $@ $^ $(shell pkg-config --libs libstrophe)

# A target's sanitizer output belongs in its own log, not in the report
# files the test run collects (tests/run-all exports log_path): libFuzzer
# symbolizes the functions it reaches, and without llvm-symbolizer in
# PATH (Debian's clang-14 has it as llvm-symbolizer-14 only) that writes
# warnings there.
FUZZ_ENV = ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ASAN_SYMBOLIZER_PATH=$$(command -v llvm-symbolizer || command -v llvm-symbolizer-14)
fuzz-smoke: $(FUZZ_TARGETS:%=build/fuzz/%)
	@export $(FUZZ_ENV); for t in $(FUZZ_TARGETS); do \
	  c=$${t#fuzz_}; rm -rf build/fuzz/new-$$c; mkdir -p build/fuzz/new-$$c; \
	  echo "$$t: $(FUZZ_SECONDS) s"; \
	  d=; [ -f tests/fuzz/$$c.dict ] && d=-dict=tests/fuzz/$$c.dict; \
	  build/fuzz/$$t $$d -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/$$t- build/fuzz/new-$$c tests/fuzz/corpus/$$c \
	    >build/fuzz/$$t.log 2>&1 || { tail -n 60 build/fuzz/$$t.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|stat::peak_rss' build/fuzz/$$t.log; \
	done

# The long runs whose figures go into issue notes: every target for
# FUZZ_CAMPAIGN_SECONDS, FUZZ_JOBS at a time (one per core).
FUZZ_CAMPAIGN_SECONDS ?= 600
FUZZ_JOBS             ?= 2
fuzz-campaign: $(FUZZ_TARGETS:%=build/fuzz/%)
	@export $(FUZZ_ENV); tools/fuzz-campaign $(FUZZ_CAMPAIGN_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

# What a target needs before it starts (tools/need): as root, the missing
# Debian packages are installed; otherwise they are named and make stops.
# Every object waits for need-build, so the pkg-config flags above are
# computed after it; `make deps` is everything the tests use.
RUN_DEBS  = prosody lighttpd curl python3
FUZZ_DEBS = clang-14 libclang-rt-14-dev
NEED      = PKG_CONFIG='$(PKG_CONFIG)' tools/need
need-build:
	@$(NEED) --pc "$(PKGS)" $(BUILD_DEBS)
need-run:
	@$(NEED) --pc "$(PKGS)" $(BUILD_DEBS) $(RUN_DEBS)
need-fuzz:
	@$(NEED) --pc libxml-2.0 $(BUILD_DEBS) $(FUZZ_DEBS)
deps:
	@$(NEED) --pc "$(PKGS)" $(BUILD_DEBS) $(TEST_DEBS)

unit: asan
	@for t in $(UNIT_TESTS); do build/asan/tests/$$t || exit 1; done

test: deps
	@mkdir -p build; $(MAKE) --no-print-directory dev asan >build/test-build.log 2>&1 \
	  || { cat build/test-build.log; echo "0 passed, 1 failed"; exit 1; }
	@UNIT_TESTS="$(UNIT_TESTS)" tests/run-all

TIDY_CHECKS = -*,bugprone-*,cert-*,clang-analyzer-*,misc-*,performance-*,portability-*,$\
  -bugprone-easily-swappable-parameters,-cert-err33-c,-misc-unused-parameters,$\
  -clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling

lint: cppcheck tidy check-format

# cppcheck reads no system header, so it is given <sys/queue.h>'s list
# macros: without them it takes a list's head for a syntax error.
QUEUE_H = $(firstword $(wildcard /usr/include/$(shell $(CC) -dumpmachine)/sys/queue.h /usr/include/sys/queue.h))
cppcheck:
	@$(NEED) cppcheck
	cppcheck --std=c11 --enable=warning,style,performance,portability \
	  --inline-suppr --error-exitcode=1 --suppress=missingIncludeSystem \
	  $(if $(QUEUE_H),--include=$(QUEUE_H)) \
	  --quiet -I common -I cgi -I bridge common cgi bridge

# clang-tidy over the compile commands of a throwaway build (bear records them).
tidy:
	@$(NEED) bear clang-tidy
	@rm -rf build/tidy && mkdir -p build/tidy
	@bear --output build/tidy/compile_commands.json -- \
	  $(MAKE) --no-print-directory B=build/tidy build/tidy/xmpp-rest.fcgi build/tidy/xmpp-restd >/dev/null
	@run-clang-tidy -quiet -p build/tidy -checks='$(TIDY_CHECKS)' 2>/dev/null \
	  | grep -E 'warning:|error:' && exit 1 || echo "clang-tidy: no warnings"

check-format:
	@$(NEED) clang-format
	clang-format --dry-run --Werror common/*.[ch] cgi/*.[ch] bridge/*.[ch] tests/unit/*.[ch]

format:
	@$(NEED) clang-format
	clang-format -i common/*.[ch] cgi/*.[ch] bridge/*.[ch] tests/unit/*.[ch]

run: need-run all
	@$(PYTHON) tools/stack.py run

# The empty FastCGI responder: the ceiling rows of the bench table.
build/empty-fcgi: bench/empty_fcgi.c Makefile | need-build
	@mkdir -p build
	@echo "  LD  $@"; $(CC) -D_POSIX_C_SOURCE=200809L $(XR_CFLAGS) $(XR_LDFLAGS) -o $@ $< \
	  $(shell pkg-config --libs fcgi 2>/dev/null)

# What any program that initialises libstrophe holds: the floor of the
# bridge's memory row.
build/strophe-floor: bench/strophe_floor.c Makefile | need-build
	@mkdir -p build
	@echo "  LD  $@"; $(CC) $(XR_CFLAGS) $(XR_LDFLAGS) -o $@ $< \
	  $(shell pkg-config --cflags --libs libstrophe 2>/dev/null)

# What the bridge's second check of a stanza costs (bench/claim_cost.c).
build/claim-cost: bench/claim_cost.c bridge/claim.c $(COMMON_OBJ) | need-build
	@mkdir -p build
	@echo "  LD  $@"; $(CC) $(XR_CPPFLAGS) -Ibridge $(XR_CFLAGS) $(XR_LDFLAGS) -o $@ \
	  bench/claim_cost.c bridge/claim.c $(COMMON_OBJ) $(CGI_LIBS)

# One table: ours beside the ceilings (bench/run.py).  bench-smoke runs
# every scenario for one second and fails on a missing figure or a
# non-2xx answer, so that the harness does not rot (tests/run-all).
bench: deps all build/empty-fcgi build/strophe-floor build/claim-cost
	@command -v wrk >/dev/null || { echo "bench needs wrk (apt-get install wrk)"; exit 1; }
	@$(PYTHON) bench/run.py
	@build/claim-cost

bench-smoke: all build/empty-fcgi build/strophe-floor build/claim-cost
	@command -v wrk >/dev/null || { echo "bench-smoke needs wrk (apt-get install wrk)"; exit 1; }
	@$(PYTHON) bench/run.py --seconds 1 --runs 1 --messages 200 --strict
	@build/claim-cost 20

# Ten minutes at a fixed rate; the bridge's RSS and descriptors at the
# start and the end (not in make test).
SOAK_SECONDS ?= 600
soak: deps all
	@$(PYTHON) bench/soak.py --seconds $(SOAK_SECONDS)

MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/xmpp-rest
UNITDIR    ?= $(PREFIX)/lib/systemd/system
MANPAGES    = man/xmpp-restd.8 man/xmpp-rest.fcgi.8 man/xmpp-rest.conf.5
UNITS       = etc/xmpp-restd.service etc/xmpp-rest-fcgi.socket etc/xmpp-rest-fcgi.service
# The units and snippets name /usr/local paths; installed, they name ours.
FIX_PATHS   = sed -e 's|/usr/local/sbin|$(SBINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
  -e 's|@CONF@|$(SYSCONFDIR)/xmpp-rest.conf|g' \
  -e 's|/usr/local/lib/cgi-bin|$(LIBEXECDIR)|g' -e 's|/usr/local/etc|$(SYSCONFDIR)|g'

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SYSCONFDIR) \
	  $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)/examples \
	  $(DESTDIR)$(UNITDIR)
	install -m 0755 bridge/xmpp-restd $(DESTDIR)$(SBINDIR)/xmpp-restd
	install -m 0755 etc/xmpp-restd-supervise $(DESTDIR)$(SBINDIR)/xmpp-restd-supervise
	install -m 0755 cgi/xmpp-rest.fcgi $(DESTDIR)$(LIBEXECDIR)/xmpp-rest.fcgi
	@# The configuration holds no secret: the web server's group reads it.
	@# The secrets, made at random, are the bridge's user's alone (a
	@# package makes them in its postinst instead).  All three are kept if
	@# present; files are given away only in a real install, not a DESTDIR.
	set -e; c=$(DESTDIR)$(SYSCONFDIR)/xmpp-rest.conf; new=; cnew=; \
	if ! test -e $$c; then $(FIX_PATHS) etc/xmpp-rest.conf > $$c.tmp; \
	  chmod 0640 $$c.tmp; mv $$c.tmp $$c; new=$$c; cnew=$$c; fi; \
	for f in xmpp-rest.secret xmpp-rest.callback-secret; do \
	  s=$(DESTDIR)$(SYSCONFDIR)/$$f; test -e $$s && continue; \
	  (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > $$s.tmp; echo >> $$s.tmp); \
	  mv $$s.tmp $$s; new="$$new $$s"; done; \
	if [ -n "$$new" ] && [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	  if id -u $(BRIDGE_USER) >/dev/null 2>&1; then \
	    chown $(BRIDGE_USER) $$new; \
	    if [ -n "$$cnew" ]; then chgrp $(WEB_GROUP) $$c; fi; \
	  else echo "make install: no user $(BRIDGE_USER) yet; after useradd (INSTALL), chown it:$$new"; fi; \
	fi
	install -m 0644 man/xmpp-restd.8 man/xmpp-rest.fcgi.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/xmpp-rest.conf.5 $(DESTDIR)$(MANDIR)/man5/
	for u in $(UNITS); do $(FIX_PATHS) $$u > $(DESTDIR)$(UNITDIR)/$${u#etc/}; \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$${u#etc/}; done
	install -m 0644 README.md INSTALL docs/API.md $(DESTDIR)$(DOCDIR)/
	install -m 0755 examples/echo-bot.cgi $(DESTDIR)$(DOCDIR)/examples/
	for f in etc/*; do case $$f in *.service|*.socket|*/xmpp-rest.conf|*-supervise) ;; \
	  *) $(FIX_PATHS) $$f > $(DESTDIR)$(DOCDIR)/examples/$${f#etc/};; esac; done

# The configuration and the secrets are the administrator's: uninstall
# leaves them.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/xmpp-restd $(DESTDIR)$(SBINDIR)/xmpp-restd-supervise \
	  $(DESTDIR)$(LIBEXECDIR)/xmpp-rest.fcgi $(DESTDIR)$(MANDIR)/man8/xmpp-restd.8 $(DESTDIR)$(MANDIR)/man8/xmpp-rest.fcgi.8 \
	  $(DESTDIR)$(MANDIR)/man5/xmpp-rest.conf.5
	for u in $(UNITS); do rm -f $(DESTDIR)$(UNITDIR)/$${u#etc/}; done
	rm -rf $(DESTDIR)$(DOCDIR)

# A release tarball of what git tracks; distcheck proves it builds,
# installs into a DESTDIR, uninstalls cleanly and passes its unit tests
# and static checks (the integration suites run from the work tree).
DIST = xmpp-rest-$(VERSION)
dist:
	@mkdir -p build
	@# what is committed plus tracked changes (git stash create), never untracked files
	git archive --format=tar.gz --prefix=$(DIST)/ -o build/$(DIST).tar.gz \
	  $$(git stash create 2>/dev/null | grep . || echo HEAD)
	@echo "build/$(DIST).tar.gz"

distcheck: dist
	rm -rf build/distcheck && mkdir -p build/distcheck
	tar -xzf build/$(DIST).tar.gz -C build/distcheck
	cd build/distcheck/$(DIST) && $(MAKE) --no-print-directory WERROR=1 all >/dev/null
	cd build/distcheck/$(DIST) && $(MAKE) --no-print-directory install \
	  DESTDIR=$(CURDIR)/build/distcheck/root PREFIX=/usr >/dev/null
	test -x build/distcheck/root/usr/sbin/xmpp-restd
	test -x build/distcheck/root/usr/lib/cgi-bin/xmpp-rest.fcgi
	test -f build/distcheck/root/etc/xmpp-rest.conf
	test -f build/distcheck/root/usr/share/man/man5/xmpp-rest.conf.5
	grep -q 'ExecStart=/usr/sbin/xmpp-restd' build/distcheck/root/usr/lib/systemd/system/xmpp-restd.service
	test "$$(stat -c %a build/distcheck/root/etc/xmpp-rest.conf)" = 640
	test "$$(stat -c %a build/distcheck/root/etc/xmpp-rest.secret)" = 600
	test "$$(stat -c %a build/distcheck/root/etc/xmpp-rest.callback-secret)" = 600
	grep -qx 'secret_file /etc/xmpp-rest.secret' build/distcheck/root/etc/xmpp-rest.conf
	sed 's|^secret_file /etc/|secret_file $(CURDIR)/build/distcheck/root/etc/|' \
	  build/distcheck/root/etc/xmpp-rest.conf > build/distcheck/staged.conf
	build/distcheck/root/usr/sbin/xmpp-restd -n -c build/distcheck/staged.conf
	strings build/distcheck/root/usr/sbin/xmpp-restd | grep -qx /etc/xmpp-rest.conf
	cd build/distcheck/$(DIST) && $(MAKE) --no-print-directory uninstall \
	  DESTDIR=$(CURDIR)/build/distcheck/root PREFIX=/usr >/dev/null
	test -z "$$(find build/distcheck/root -type f ! -name xmpp-rest.conf ! -name 'xmpp-rest.*secret')"
	cd build/distcheck/$(DIST) && $(MAKE) --no-print-directory unit cppcheck check-format
	@echo "$(DIST).tar.gz: builds, installs, uninstalls, passes its unit tests"

clean:
	rm -rf build cgi/xmpp-rest.fcgi bridge/xmpp-restd
