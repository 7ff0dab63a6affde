/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The part of civetweb's API lib/admin uses, in memory, for fuzz_admin:
 * the handlers kc_admin_start registers are kept, a request the harness
 * parsed is handed to the one whose URI pattern matches as civetweb
 * matches them, and what the handler writes is collected for checking.
 * No socket, no thread: the admin server's own code is what is fuzzed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

#include "kc_fake_civetweb.h"

struct mg_context {
	void *user_data;
};

static struct mg_context the_ctx;

struct handler {
	char uri[64];
	mg_request_handler fn;
	void *cbdata;
};

static struct handler handlers[8];
static unsigned int nb_handlers;

unsigned mg_init_library(unsigned features)
{
	(void)features;
	return 0;
}

struct mg_context *mg_start(const struct mg_callbacks *callbacks,
			    void *user_data, const char **configuration_options)
{
	(void)callbacks;
	(void)configuration_options;
	nb_handlers = 0;
	the_ctx.user_data = user_data;
	return &the_ctx;
}

struct mg_context *mg_get_context(const struct mg_connection *conn)
{
	(void)conn;
	return &the_ctx;
}

void *mg_get_user_data(const struct mg_context *ctx)
{
	return ctx != NULL ? ctx->user_data : NULL;
}

void mg_stop(struct mg_context *ctx)
{
	(void)ctx;
	nb_handlers = 0;
}

int mg_get_server_ports(const struct mg_context *ctx, int size,
			struct mg_server_port *ports)
{
	(void)ctx;
	if (size < 1)
		return 0;
	memset(ports, 0, sizeof(*ports));
	ports->protocol = 1;
	ports->port = 1;
	return 1;
}

void mg_set_request_handler(struct mg_context *ctx, const char *uri,
			    mg_request_handler handler, void *cbdata)
{
	(void)ctx;
	if (nb_handlers == sizeof(handlers) / sizeof(handlers[0]))
		abort();
	snprintf(handlers[nb_handlers].uri, sizeof(handlers[0].uri), "%s", uri);
	handlers[nb_handlers].fn = handler;
	handlers[nb_handlers].cbdata = cbdata;
	nb_handlers++;
}

const struct mg_request_info *mg_get_request_info(
	const struct mg_connection *conn)
{
	return &((const struct kc_fake_conn *)(const void *)conn)->ri;
}

const char *mg_get_header(const struct mg_connection *conn, const char *name)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);

	for (int i = 0; i < ri->num_headers; i++)
		if (strcasecmp(ri->http_headers[i].name, name) == 0)
			return ri->http_headers[i].value;
	return NULL;
}

/* civetweb's: the value of name in data (a query string or a form body),
 * URL-decoded ('+' a space): its length, -1 if absent, -2 if dst is too
 * small. */
int mg_get_var(const char *data, size_t data_len, const char *name,
	       char *dst, size_t dst_len)
{
	size_t nl = strlen(name);

	if (dst == NULL || dst_len == 0)
		return -2;
	dst[0] = '\0';
	for (size_t i = 0; data != NULL && i + nl < data_len; i++) {
		size_t o = 0;

		if ((i != 0 && data[i - 1] != '&') ||
		    strncasecmp(data + i, name, nl) != 0 || data[i + nl] != '=')
			continue;
		for (size_t k = i + nl + 1; k < data_len && data[k] != '&';
		     k++) {
			char c = data[k];
			unsigned int hexv;

			if (c == '%' && k + 2 < data_len &&
			    sscanf(data + k + 1, "%2x", &hexv) == 1) {
				c = (char)hexv;
				k += 2;
			} else if (c == '+') {
				c = ' ';
			}
			if (o + 1 >= dst_len) {
				dst[0] = '\0';
				return -2;
			}
			dst[o++] = c;
		}
		dst[o] = '\0';
		return (int)o;
	}
	return -1;
}

const char *mg_get_response_code_text(const struct mg_connection *conn,
				      int response_code)
{
	(void)conn;
	switch (response_code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

static void out(struct kc_fake_conn *c, const void *p, size_t n)
{
	/* Always one byte more, a NUL: the harness reads it as a string. */
	if (c->out_len + n + 1 > c->out_cap) {
		size_t cap = (c->out_len + n + 1) * 2;
		char *b = realloc(c->out, cap);

		if (b == NULL)
			abort();
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	c->out[c->out_len] = '\0';
}

int mg_read(struct mg_connection *conn, void *buf, size_t len)
{
	struct kc_fake_conn *c = (struct kc_fake_conn *)(void *)conn;
	size_t n = c->body_len - c->body_pos;

	if (n > len)
		n = len;
	if (n > 0)
		memcpy(buf, c->body + c->body_pos, n);
	c->body_pos += n;
	return (int)n;
}

int mg_write(struct mg_connection *conn, const void *buf, size_t len)
{
	out((struct kc_fake_conn *)(void *)conn, buf, len);
	return (int)len;
}

int mg_printf(struct mg_connection *conn, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	out((struct kc_fake_conn *)(void *)conn, s, (size_t)n);
	free(s);
	return n;
}

/*
 * civetweb's matching: a pattern ending in '$' matches that URI only;
 * otherwise the URI must start with the pattern, followed by the end, a
 * '/' or anything when the pattern ends in '/'. The longest pattern wins.
 */
int kc_fake_dispatch(struct kc_fake_conn *c)
{
	const char *uri = c->ri.local_uri;
	struct handler *best = NULL;
	size_t best_len = 0;

	for (unsigned int i = 0; i < nb_handlers; i++) {
		const char *pat = handlers[i].uri;
		size_t n = strlen(pat);
		bool ok;

		if (n > 0 && pat[n - 1] == '$') {
			ok = strlen(uri) == n - 1 && strncmp(uri, pat, n - 1) == 0;
		} else {
			ok = strncmp(uri, pat, n) == 0 &&
			     (uri[n] == '\0' || uri[n] == '/' ||
			      (n > 0 && pat[n - 1] == '/'));
		}
		if (ok && n > best_len) {
			best = &handlers[i];
			best_len = n;
		}
	}
	if (best == NULL)
		return 0;
	return best->fn((struct mg_connection *)(void *)c, best->cbdata);
}
