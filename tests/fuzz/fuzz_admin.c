/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The admin server's request handling (lib/admin) on any request: paths,
 * methods, headers, tokens; the documents it renders, with queue names
 * from the input. The server's own code runs unchanged between an
 * in-memory civetweb (kc_fake_civetweb.c: the handlers it registers, the
 * request the harness parsed, the bytes they write) and an in-memory
 * pipeline (kc_fake_pipeline.c). The input is
 *
 *   byte 0    bits 0-1: how many queues the pipeline reports; bit 2: the
 *             client's address is not loopback
 *   byte 1..  queue names (a length byte, then the bytes), then the
 *             request: "METHOD URI VERSION", header lines, an empty line
 *
 * Checked: every answer is one well-formed HTTP/1.1 response (a status the
 * server uses, printable header lines, Content-Length equal to the body);
 * a JSON answer parses; an action answers anything but 401 only to a
 * request carrying the token.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "kc_admin.h"
#include "kc_analytics.h"
#include "kc_config.h"
#include "kc_fake_civetweb.h"
#include "kc_fake_pipeline.h"
#include "kc_test_eal.h"
#include "kc_test_hops.h"

#include "kc_fuzz.h"

#define TOKEN "fuzz-admin-token-0123456789"

static struct kc_config cfg;
static struct kc_admin *admin;
static struct kc_analytics *analytics;
static char token_path[192];

static void stop(void)
{
	kc_admin_stop(admin);
	kc_analytics_free(analytics);
	unlink(token_path);
}

/* A small economy for /api/v1/analytics/: mints, a circle of transfers,
 * a burn, a paid call (no follower: the graphs stay as fed). */
static struct kc_analytics *economy(void)
{
	static const struct kc_analytics_limits lim = {
		.max_vertices = 16, .max_edges = 64, .max_calls = 16,
		.opinions = true,
	};
	static const struct { uint8_t kind; uint32_t from, to; } hops[] = {
		{ KC_HOP_MINT, 0, 2 }, { KC_HOP_MINT, 0, 3 },
		{ KC_HOP_TRANSFER, 2, 3 }, { KC_HOP_TRANSFER, 3, 4 },
		{ KC_HOP_TRANSFER, 4, 2 }, { KC_HOP_BURN, 4, 0 },
		{ KC_HOP_ESCROW, 3, KC_ACCOUNT_ESCROW },
		{ KC_HOP_PAY, KC_ACCOUNT_ESCROW, 5 },
	};
	struct kc_analytics *a = kc_analytics_create(&lim);
	uint8_t p[KC_HOPREC_MAX];
	struct kc_jrec h = { .type = KC_JREC_LEDGER };
	uint64_t v = 10;

	for (uint32_t i = 0; a != NULL && i < sizeof(hops) / sizeof(hops[0]);
	     i++) {
		h.seq = i + 1;
		h.payload_len = hops[i].kind == KC_HOP_MINT ?
			kc_test_hop(p, hops[i].kind, 0, hops[i].to, NULL, 0,
				    &v, 1) :
			kc_test_hop(p, hops[i].kind, hops[i].from, hops[i].to,
				    &v, 1, NULL, 0);
		kc_analytics_record(a, &h, p);
	}
	return a;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct kc_admin_port port = {
		.port_id = 0, .nb_rxq = 1, .name = "kc0", .driver = "net_null",
	};
	const char *work = getenv("KC_FUZZ_WORK");
	struct kc_admin_ctx c = { .cfg = &cfg, .ports = &port, .nb_ports = 1 };
	char err[512];
	int fd;

	(void)argc;
	(void)argv;
	kc_test_eal_init_lcores("fuzz_admin", "0");
	if (kc_config_load_default(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_admin: %s\n", err);
		abort();
	}
	snprintf(token_path, sizeof(token_path), "%s/kc-fuzz-admin-%d.token",
		 work != NULL ? work : "/dev/shm", (int)getpid());
	fd = open(token_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, TOKEN "\n", sizeof(TOKEN)) != sizeof(TOKEN)) {
		fprintf(stderr, "fuzz_admin: %s: %s\n", token_path,
			strerror(errno));
		abort();
	}
	close(fd);
	cfg.admin.enabled = true;
	cfg.admin.tls_certificate[0] = '\0';
	snprintf(cfg.admin.token_file, sizeof(cfg.admin.token_file), "%s",
		 token_path);
	analytics = economy();
	if (analytics == NULL)
		abort();
	c.analytics = analytics;
	admin = kc_admin_start(&c, err, sizeof(err));
	if (admin == NULL) {
		fprintf(stderr, "fuzz_admin: %s\n", err);
		abort();
	}
	atexit(stop);
	return 0;
}

/* ---- the request -------------------------------------------------------- */

/* The next line of *p (CRLF or LF ended), NUL-terminated in place. */
static char *line(char **p)
{
	char *s = *p, *e;

	if (s == NULL || *s == '\0')
		return NULL;
	e = strchr(s, '\n');
	if (e != NULL) {
		*p = e + 1;
		if (e > s && e[-1] == '\r')
			e--;
		*e = '\0';
	} else {
		*p = s + strlen(s);
	}
	return s;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* civetweb's URL decoding of the path, in place. */
static void url_decode(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '%' && hex(s[1]) >= 0 && hex(s[2]) >= 0) {
			*o++ = (char)(hex(s[1]) << 4 | hex(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Fill c->ri from text (modified); false if civetweb would not hand it to
 * a handler (no request line, not an absolute path). */
static bool parse(char *text, struct kc_fake_conn *c, bool local)
{
	char *p = text, *first = line(&p), *sp, *q;
	char *method, *uri, *version;

	if (first == NULL)
		return false;
	method = first;
	sp = strchr(method, ' ');
	if (sp == NULL)
		return false;
	*sp = '\0';
	uri = sp + 1;
	sp = strchr(uri, ' ');
	if (sp == NULL)
		return false;
	*sp = '\0';
	version = sp + 1;
	if (strncmp(version, "HTTP/", 5) != 0 || uri[0] != '/' ||
	    method[0] == '\0')
		return false;
	c->ri.request_method = method;
	c->ri.request_uri = uri;
	c->ri.http_version = version + 5;
	q = strchr(uri, '?');
	if (q != NULL) {
		*q = '\0';
		c->ri.query_string = q + 1;
	}
	url_decode(uri);
	c->ri.local_uri = c->ri.local_uri_raw = uri;
	snprintf(c->ri.remote_addr, sizeof(c->ri.remote_addr), "%s",
		 local ? "127.0.0.1" : "192.0.2.7");
	c->ri.remote_port = 40000;
	c->ri.content_length = -1;
	for (char *h; (h = line(&p)) != NULL && h[0] != '\0';) {
		char *colon = strchr(h, ':');

		if (colon == NULL || c->ri.num_headers == MG_MAX_HEADERS)
			return false;
		*colon = '\0';
		for (colon++; *colon == ' '; colon++)
			;
		c->ri.http_headers[c->ri.num_headers].name = h;
		c->ri.http_headers[c->ri.num_headers].value = colon;
		c->ri.num_headers++;
	}
	/* What follows the headers is the body (an action's). */
	if (p != NULL) {
		c->body = p;
		c->body_len = strlen(p);
	}
	return true;
}

/* ---- the answer ---------------------------------------------------------- */

static bool has_token(const struct kc_fake_conn *c)
{
	for (int i = 0; i < c->ri.num_headers; i++)
		if (strcasecmp(c->ri.http_headers[i].name,
			       "Authorization") == 0 &&
		    strncasecmp(c->ri.http_headers[i].value, "Bearer ", 7) == 0 &&
		    strcmp(c->ri.http_headers[i].value + 7, TOKEN) == 0)
			return true;
	return false;
}

static void check_answer(const struct kc_fake_conn *c, int rc)
{
	const char *out = c->out, *end, *body, *cl, *ct;
	size_t hlen, blen;
	unsigned long len;
	int status;

	KC_FUZZ_CHECK(c->out_len > 12 && strncmp(out, "HTTP/1.1 ", 9) == 0,
		      "no status line: %.*s", (int)c->out_len, out);
	status = atoi(out + 9);
	KC_FUZZ_CHECK(status == rc, "status %d, handler said %d", status, rc);
	KC_FUZZ_CHECK(strstr("200 400 401 403 404 405 409 422 500 503 504",
			     (char[4]){ out[9], out[10], out[11], 0 }) != NULL,
		      "status %d", status);
	end = memmem(out, c->out_len, "\r\n\r\n", 4);
	KC_FUZZ_CHECK(end != NULL, "no end of headers");
	hlen = (size_t)(end - out);
	for (size_t i = 0; i < hlen; i++)
		KC_FUZZ_CHECK((out[i] >= 0x20 && out[i] < 0x7f) ||
			      (out[i] == '\r' && out[i + 1] == '\n') ||
			      (out[i] == '\n' && out[i - 1] == '\r'),
			      "header byte 0x%02x", (unsigned char)out[i]);
	body = end + 4;
	blen = c->out_len - hlen - 4;
	cl = memmem(out, hlen, "\r\nContent-Length: ", 18);
	KC_FUZZ_CHECK(cl != NULL && sscanf(cl + 18, "%lu", &len) == 1 &&
		      len == blen, "Content-Length vs a body of %zu", blen);
	ct = memmem(out, hlen, "\r\nContent-Type: application/json", 32);
	if (ct != NULL) {
		json_error_t e;
		json_t *doc = json_loadb(body, blen, 0, &e);

		KC_FUZZ_CHECK(json_is_object(doc), "JSON: %s: %.*s", e.text,
			      (int)blen, body);
		json_decref(doc);
	}
	if (strncmp(c->ri.local_uri, "/api/v1/actions/", 16) == 0 &&
	    strcmp(c->ri.request_method, "POST") == 0)
		KC_FUZZ_CHECK(status == 401 || status == 404 || has_token(c),
			      "action answered %d without the token", status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kc_fuzz_in in = { data, size };
	const uint8_t flags = kc_fuzz_u8(&in);
	struct kc_fake_conn c = { 0 };
	size_t n;
	char *text;
	int rc;

	kc_fake_nb_queues = flags & 3;
	for (uint32_t i = 0; i < kc_fake_nb_queues; i++) {
		uint8_t len = kc_fuzz_u8(&in) % (KC_NAME_MAX + 1);
		size_t got;
		uint8_t *b = kc_fuzz_bytes(&in, len, &got);

		kc_fake_queue_names[i].len = (uint8_t)got;
		memcpy(kc_fake_queue_names[i].s, b, got);
		kc_fake_queue_names[i].s[got] = '\0';
		free(b);
	}
	text = malloc(in.n + 1);
	if (text == NULL)
		abort();
	memcpy(text, in.p, in.n);
	text[in.n] = '\0';
	n = in.n;
	(void)n;
	if (parse(text, &c, !(flags & 4))) {
		rc = kc_fake_dispatch(&c);
		if (rc != 0)
			check_answer(&c, rc);
	}
	free(c.out);
	free(text);
	return 0;
}
