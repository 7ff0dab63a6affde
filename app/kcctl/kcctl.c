/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kcctl: command-line client of a KingCobra appliance (lib/client).
 *
 * One command per run; human-readable output by default, one JSON object
 * with --json. The exit code says what happened (see usage()), so scripts
 * can tell "the appliance said no" (1) from "nobody answered" (3).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "kc_auth.h"
#include "kc_client.h"
#include "kc_opdesc.h"
#include "kc_proto.h"
#include "kc_proto_json.h"
#include "kcctl.h"

#ifndef KC_VERSION
#define KC_VERSION "unknown"
#endif

#define KCCTL_SERVER_DEFAULT "10.77.0.2:60000" /* the default TAP set-up */
#define KCCTL_TIMEOUT_DEFAULT_MS 1000u
#define KCCTL_TIMEOUT_MAX_MS 600000u
#define KCCTL_RETRIES_DEFAULT 2u
#define KCCTL_RETRIES_MAX 100u
#define KCCTL_ADMIN_DEFAULT "http://127.0.0.1:8080" /* admin: defaults */
#define KCCTL_ERR_MAX (2 * KCCTL_URL_MAX + 512u) /* a message with a URL */

static void usage(FILE *out)
{
	fprintf(out,
"usage: kcctl [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Talk to a KingCobra appliance over KCP (UDP), or to its admin server over\n"
"HTTP(S).\n"
"\n"
"Commands:\n"
"  ping [TEXT]                        round trip; the appliance echoes TEXT\n"
"  time                               the appliance's clock (ns since 1970)\n"
"  publish QUEUE MESSAGE              append MESSAGE to QUEUE, print its offset\n"
"  publish QUEUE -                    read the message from stdin (bytes as is)\n"
"  fetch QUEUE OFFSET [MAX]           print messages from OFFSET, each with its\n"
"                                     offset (MAX 0: as many as fit one reply)\n"
"  commit QUEUE CONSUMER OFFSET       record CONSUMER's position in QUEUE\n"
"  offset QUEUE CONSUMER              print CONSUMER's committed offset\n"
"\n"
"Ledger commands (an account is a client id; a coin is spent with its owner's\n"
"key, so run them as that client with -k/-c):\n"
"  mint ACCOUNT DENOMINATION [COUNT]  make COUNT coins of DENOMINATION for\n"
"                                     ACCOUNT (default 1, at most %u); mint\n"
"                                     authority only\n"
"  transfer FROM TO COIN...           move 1..%u coins of FROM (the signer)\n"
"                                     to TO, all or none\n"
"  split COIN D1 D2...                split COIN into 2..%u coins of D1, D2,\n"
"                                     ..., which add up to its denomination\n"
"  merge COIN COIN...                 merge 2..%u coins into one new coin\n"
"  burn COIN                          destroy COIN\n"
"  balance ACCOUNT                    print ACCOUNT's balance and coin count\n"
"  coin COIN                          print COIN's denomination, owner and state\n"
"  trail COIN                         print every hop COIN took, oldest first\n"
"  audit                              check the ledger's invariants\n"
"\n"
"Service commands (docs/services.md):\n"
"  call TYPE PAYLOAD [COIN...]        call a service of TYPE with PAYLOAD (- reads\n"
"                                     stdin), paying with 0..%u of your coins;\n"
"                                     waits up to --deadline-ms (default 5000)\n"
"                                     and prints the service's answer and the\n"
"                                     call id\n"
"  report CALL_ID problem|suggestion [TEXT]\n"
"                                     report on a call you made\n"
"  serve TYPE -- CMD [ARGS...]        serve TYPE (--price N, --max-inflight N,\n"
"                                     --lease S): run CMD once per call with the\n"
"                                     payload on stdin; its stdout is the answer,\n"
"                                     exit status 0 OK (paid), else an error\n"
"                                     (refunded); until SIGINT or SIGTERM\n"
"  unserve TYPE                       stop serving TYPE\n"
"\n"
"Admin server commands (HTTP or HTTPS, see --admin):\n"
"  status                             health, uptime, ports, lcores, requests\n"
"                                     and latency, journal, ledger and queues;\n"
"                                     with --json every document of /api/v1/\n"
"                                     in one object, keyed by its name\n"
"  action audit|snapshot|drain|resume run an action (needs --token-file) and\n"
"                                     print the server's JSON answer\n"
"\n"
"Options:\n"
"  -s, --server HOST[:PORT]   appliance address (default " KCCTL_SERVER_DEFAULT ");\n"
"                             IPv6 as [ADDR]:PORT\n"
"  -k, --keys KEYFILE         keys file (\"CLIENT_ID HEX_KEY [NAME]\" lines); without\n"
"                             it the built-in development key of client 1 (of\n"
"                             client 2 with -c 2) is used, which a production\n"
"                             appliance refuses\n"
"  -c, --client CLIENT_ID     which entry of KEYFILE to use (default: the lowest id)\n"
"      --json                 print one JSON object instead of text\n"
"      --timeout MS           wait per attempt, 1..%u (default %u)\n"
"      --retries N            resends after the first attempt, 0..%u (default %u);\n"
"                             a resend repeats the identical datagram\n"
"      --admin URL            the admin server, http://HOST:PORT or\n"
"                             https://HOST:PORT (default " KCCTL_ADMIN_DEFAULT ")\n"
"      --cacert FILE          PEM CA certificate(s) to verify an https server\n"
"                             with (default: the system's CAs); the host name or\n"
"                             IP address of URL must match the certificate\n"
"      --token-file FILE      the admin token, first line of FILE (action)\n"
"  -h, --help                 this text\n"
"  -V, --version              print the version\n"
"\n"
"Queue and consumer names: 1..64 characters of A-Z a-z 0-9 . _ -\n"
"Use -- before a MESSAGE or TEXT that starts with '-'.\n"
"\n"
"Accounts are 1..4294967295, coin ids and amounts 1..18446744073709551615.\n"
"With --json, an amount or coin id above 9223372036854775807 is a string.\n"
"\n"
"Exit codes: 0 reply OK; 1 reply with an error status (admin server: HTTP 4xx\n"
"or 5xx but 401), or an audit that found the ledger inconsistent; 2 usage\n"
"error; 3 no reply (timeout; nothing listens at the admin URL); 4 reply failed\n"
"authentication (admin server: its certificate failed verification, or it\n"
"refused the token: HTTP 401); 5 system or protocol error.\n",
		KC_MINT_COUNT_MAX, KC_COINS_PER_OP_MAX, KC_SPLIT_PARTS_MAX,
		KC_COINS_PER_OP_MAX, KC_CALL_COINS_MAX, KCCTL_TIMEOUT_MAX_MS, KCCTL_TIMEOUT_DEFAULT_MS,
		KCCTL_RETRIES_MAX, KCCTL_RETRIES_DEFAULT);
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("kcctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(kcctl --help for usage)\n", stderr);
	return EXIT_USAGE;
}

/* Strict unsigned decimal in [min, max]. */
bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		return false;
	*v = x;
	return true;
}

/* HOST:PORT for messages, with the default port filled in. */
static void server_display(struct kcctl *k)
{
	const char *s = k->server;
	const char *colon = strchr(s, ':');

	if (s[0] == '[') {
		if (strstr(s, "]:") != NULL)
			snprintf(k->server_disp, sizeof(k->server_disp), "%s", s);
		else
			snprintf(k->server_disp, sizeof(k->server_disp),
				 "%s:%u", s, KC_UDP_PORT_DEFAULT);
	} else if (colon != NULL && strchr(colon + 1, ':') != NULL) {
		snprintf(k->server_disp, sizeof(k->server_disp), "[%s]:%u", s,
			 KC_UDP_PORT_DEFAULT);
	} else if (colon != NULL) {
		snprintf(k->server_disp, sizeof(k->server_disp), "%s", s);
	} else {
		snprintf(k->server_disp, sizeof(k->server_disp), "%s:%u", s,
			 KC_UDP_PORT_DEFAULT);
	}
}

/* Data as text if it is, else as "hex:..." (a listed message). */
static int print_data(FILE *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	if (kc_bytes_are_text(p, n, false)) {
		fwrite(p, 1, n, out);
		return 0;
	}
	fputs("hex:", out);
	for (size_t i = 0; i < n; i++) {
		fputc(digits[p[i] >> 4], out);
		fputc(digits[p[i] & 0x0f], out);
	}
	return 0;
}

/* The reason text of an error REPLY, made printable. */
static void reason_text(const struct kc_reply *r, char *out, size_t out_len)
{
	size_t n = r->payload_len;
	size_t i;

	if (n > KC_ERROR_TEXT_MAX)
		n = KC_ERROR_TEXT_MAX;
	if (n >= out_len)
		n = out_len - 1;
	if (kc_bytes_are_text(r->payload, n, false)) {
		memcpy(out, r->payload, n);
	} else {
		for (i = 0; i < n; i++) {
			uint8_t c = r->payload[i];

			out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
	}
	out[n] = '\0';
}

static json_t *json_base(const struct kcctl *k, const char *status)
{
	json_t *o = json_object();
	char id[33];

	if (o == NULL)
		return NULL;
	kc_msg_id_format(k->reply.hdr.msg_id, id);
	json_object_set_new(o, "status", json_string(status));
	json_object_set_new(o, "op", json_string(k->op));
	json_object_set_new(o, "msg_id", json_string(id));
	json_object_set_new(o, "attempts", json_integer(k->reply.attempts));
	return o;
}

static int json_print(json_t *o)
{
	int rc;

	if (o == NULL) {
		fprintf(stderr, "kcctl: out of memory building JSON\n");
		return -1;
	}
	rc = json_dumpf(o, stdout, JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER |
				   JSON_COMPACT);
	json_decref(o);
	if (rc != 0) {
		fprintf(stderr, "kcctl: cannot write JSON output\n");
		return -1;
	}
	fputc('\n', stdout);
	return 0;
}

static void print_timing(const struct kcctl *k)
{
	printf(" (%u attempt%s, %.2f ms)\n", k->reply.attempts,
	       k->reply.attempts == 1 ? "" : "s",
	       (double)k->reply.rtt_us / 1000.0);
}

/*
 * Report a call that did not end in a REPLY with status OK; returns the exit
 * code. One place, so every command words failures the same way.
 */
int report_failure(struct kcctl *k, enum kc_client_err e)
{
	char msg[1024];
	const char *status;
	int code;

	switch (e) {
	case KC_CLIENT_OK: {
		char reason[KC_ERROR_TEXT_MAX + 1];

		reason_text(&k->reply, reason, sizeof(reason));
		if (k->json) {
			json_t *o = json_base(k, kc_status_name(k->reply.status));

			if (o != NULL) {
				json_object_set_new(o, "rtt_us",
						    json_integer((json_int_t)k->reply.rtt_us));
				json_object_set_new(o, "status_code",
						    json_integer(k->reply.status));
				json_object_set_new(o, "error",
						    json_string(kc_status_text(k->reply.status)));
				json_object_set_new(o, "reason",
						    json_string(reason));
			}
			return json_print(o) == 0 ? EXIT_STATUS : EXIT_SYSTEM;
		}
		if (reason[0] != '\0')
			fprintf(stderr, "ERR %s: %s: %s\n",
				kc_status_name(k->reply.status),
				kc_status_text(k->reply.status), reason);
		else
			fprintf(stderr, "ERR %s: %s\n",
				kc_status_name(k->reply.status),
				kc_status_text(k->reply.status));
		return EXIT_STATUS;
	}
	case KC_CLIENT_TIMEOUT: {
		int n = snprintf(msg, sizeof(msg),
				 "no reply from %s after %u attempt%s (timeout "
				 "%u ms each); ",
				 k->server_disp, k->reply.attempts,
				 k->reply.attempts == 1 ? "" : "s",
				 k->timeout_ms);

		if (n < 0 || (size_t)n >= sizeof(msg))
			n = 0;
		if (kc_client_errno(k->client) == ECONNREFUSED) {
			/* The host said nothing listens there: the key is
			 * not the problem, so do not send people after it. */
			snprintf(msg + n, sizeof(msg) - (size_t)n,
				 "%s answered 'port unreachable': is the "
				 "appliance running and listening on that "
				 "address?",
				 k->server_disp);
		} else if (k->keyfile == NULL) {
			snprintf(msg + n, sizeof(msg) - (size_t)n,
				 "the appliance drops requests it cannot "
				 "authenticate: check -k and the client id "
				 "(without -k kcctl uses the built-in "
				 "development key of client %u, which a "
				 "production appliance refuses)",
				 k->client_id);
		} else {
			snprintf(msg + n, sizeof(msg) - (size_t)n,
				 "the appliance drops requests it cannot "
				 "authenticate: check -k and the client id");
		}
		status = "TIMEOUT";
		code = EXIT_TIMEOUT;
		break;
	}
	case KC_CLIENT_BAD_REPLY_AUTH:
		snprintf(msg, sizeof(msg),
			 "reply from %s failed authentication: wrong key for "
			 "client %u?",
			 k->server_disp, k->client_id);
		status = "BAD_REPLY_AUTH";
		code = EXIT_AUTH;
		break;
	case KC_CLIENT_BAD_REPLY:
		snprintf(msg, sizeof(msg),
			 "malformed %s reply from %s (status %s): is it a "
			 "KingCobra appliance of a compatible version?",
			 k->op, k->server_disp,
			 kc_status_name(k->reply.status));
		status = "BAD_REPLY";
		code = EXIT_SYSTEM;
		break;
	case KC_CLIENT_SYSTEM:
		snprintf(msg, sizeof(msg), "talking to %s: %s",
			 k->server_disp, strerror(kc_client_errno(k->client)));
		status = "SYSTEM_ERROR";
		code = EXIT_SYSTEM;
		break;
	case KC_CLIENT_INVALID:
	default:
		/* Arguments are checked before the call; this is a bug. */
		snprintf(msg, sizeof(msg), "invalid %s request", k->op);
		status = "INVALID";
		code = EXIT_USAGE;
		break;
	}
	if (k->json) {
		json_t *o = json_base(k, status);

		if (o != NULL)
			json_object_set_new(o, "error", json_string(msg));
		if (json_print(o) != 0)
			return EXIT_SYSTEM;
	} else {
		fprintf(stderr, "kcctl: %s\n", msg);
	}
	return code;
}

/* Common tail of a command: failure, or OK output in JSON or text. */
bool call_failed(enum kc_client_err e, const struct kcctl *k)
{
	return e != KC_CLIENT_OK || k->reply.status != KC_STATUS_OK;
}

static json_t *json_ok(const struct kcctl *k)
{
	json_t *o = json_base(k, "OK");

	if (o != NULL)
		json_object_set_new(o, "rtt_us",
				    json_integer((json_int_t)k->reply.rtt_us));
	return o;
}

static int ok_exit(int print_rc)
{
	if (print_rc != 0)
		return EXIT_SYSTEM;
	if (fflush(stdout) != 0) {
		fprintf(stderr, "kcctl: writing output: %s\n", strerror(errno));
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

/*
 * The OK REPLY of k->op as the op's descriptor reads it (kc_opdesc.h): with
 * --json every field a member of the object; as text, a FETCH's messages
 * one per line ("OFFSET DATA"), then head and the other fields as lib/proto
 * words them for every tool ("OK offset=3"), then the timing.
 */
int print_reply(struct kcctl *k, const char *head)
{
	static char text[4 * KC_PAYLOAD_MAX + 1];
	int op = kc_op_from_name(k->op);
	struct kc_fields f;

	if (op < 0 || !kc_op_reply_fields((uint8_t)op, k->reply.payload,
					  k->reply.payload_len, false, &f))
		return report_failure(k, KC_CLIENT_BAD_REPLY);
	if (k->json) {
		json_t *o = json_ok(k);

		if (o != NULL && kc_fields_json(&f, o) != 0) {
			json_decref(o);
			o = NULL;
		}
		return ok_exit(json_print(o));
	}
	for (uint32_t i = 0; i < f.n; i++) {
		struct kc_record_walk w;
		const uint8_t *m;
		uint32_t ml;
		uint64_t off;

		kc_record_walk_start(&w, &f.f[i]);
		while (kc_record_walk_next(&w, &off, &m, &ml)) {
			printf("%" PRIu64 " ", off);
			print_data(stdout, m, ml);
			putchar('\n');
		}
	}
	kc_fields_text(&f, KC_TEXT_NO_LISTS, text, sizeof(text));
	printf("%s%s%s", head, text[0] != '\0' ? " " : "", text);
	print_timing(k);
	return ok_exit(0);
}

/* --- commands ------------------------------------------------------------ */

static int cmd_ping(struct kcctl *k, int argc, char **argv)
{
	const char *text = argc >= 1 ? argv[0] : "";
	size_t len = strlen(text);
	enum kc_client_err e;

	if (argc > 1)
		return usage_error("ping takes at most one argument");
	if (len > KC_PAYLOAD_MAX)
		return usage_error("ping text is %zu bytes; at most %u fit",
				   len, KC_PAYLOAD_MAX);
	e = kc_client_ping(k->client, text, len, &k->reply);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

static int cmd_time(struct kcctl *k, int argc, char **argv)
{
	uint64_t unix_ns;
	enum kc_client_err e;

	if (argc != 0)
		return usage_error("usage: time (no arguments)");
	e = kc_client_time(k->client, &k->reply, &unix_ns);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

/* Read all of stdin into buf (cap bytes); -1 if it holds more. */
static ssize_t read_stdin(uint8_t *buf, size_t cap)
{
	size_t n = 0;

	for (;;) {
		ssize_t r;

		if (n == cap) {
			uint8_t extra;

			do {
				r = read(STDIN_FILENO, &extra, 1);
			} while (r < 0 && errno == EINTR);
			if (r < 0)
				return -2;
			return r == 0 ? (ssize_t)n : -1;
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -2;
		}
		if (r == 0)
			return (ssize_t)n;
		n += (size_t)r;
	}
}

static bool name_ok(const char *s)
{
	return kc_name_valid((const uint8_t *)s, strnlen(s, KC_NAME_MAX + 1));
}

static int bad_name(const char *what, const char *s)
{
	return usage_error("bad %s name '%s': 1..%u characters of A-Z a-z "
			   "0-9 . _ -",
			   what, s, KC_NAME_MAX);
}

static int cmd_publish(struct kcctl *k, int argc, char **argv)
{
	static uint8_t stdin_buf[KC_PAYLOAD_MAX];
	const uint8_t *msg;
	size_t len;
	size_t fit;
	uint64_t offset = 0;
	enum kc_client_err e;

	if (argc != 2)
		return usage_error("usage: publish QUEUE MESSAGE (or - for "
				   "stdin)");
	if (!name_ok(argv[0]))
		return bad_name("queue", argv[0]);
	fit = KC_PAYLOAD_MAX - 1u - strlen(argv[0]);
	if (strcmp(argv[1], "-") == 0) {
		ssize_t n = read_stdin(stdin_buf, fit);

		if (n == -2) {
			fprintf(stderr, "kcctl: reading stdin: %s\n",
				strerror(errno));
			return EXIT_SYSTEM;
		}
		if (n < 0)
			return usage_error("message on stdin is longer than "
					   "the %zu bytes that fit one "
					   "datagram with queue '%s'",
					   fit, argv[0]);
		msg = stdin_buf;
		len = (size_t)n;
	} else {
		msg = (const uint8_t *)argv[1];
		len = strlen(argv[1]);
		if (len > fit)
			return usage_error("message is %zu bytes; at most %zu "
					   "fit one datagram with queue '%s'",
					   len, fit, argv[0]);
	}
	e = kc_client_publish(k->client, argv[0], msg, len, &k->reply,
			      &offset);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

static int cmd_fetch(struct kcctl *k, int argc, char **argv)
{
	struct kc_fetch_reply fr;
	uint64_t offset;
	uint64_t max = 0;
	enum kc_client_err e;

	if (argc < 2 || argc > 3)
		return usage_error("usage: fetch QUEUE OFFSET [MAX]");
	if (!name_ok(argv[0]))
		return bad_name("queue", argv[0]);
	if (!parse_u64(argv[1], 0, UINT64_MAX, &offset))
		return usage_error("bad offset '%s'", argv[1]);
	if (argc == 3 && !parse_u64(argv[2], 0, UINT16_MAX, &max))
		return usage_error("bad MAX '%s' (0..%u, 0: as many as fit)",
				   argv[2], UINT16_MAX);
	e = kc_client_fetch(k->client, argv[0], offset, (uint16_t)max,
			    &k->reply, &fr);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

static int cmd_commit(struct kcctl *k, int argc, char **argv)
{
	uint64_t offset;
	enum kc_client_err e;

	if (argc != 3)
		return usage_error("usage: commit QUEUE CONSUMER OFFSET");
	if (!name_ok(argv[0]))
		return bad_name("queue", argv[0]);
	if (!name_ok(argv[1]))
		return bad_name("consumer", argv[1]);
	if (!parse_u64(argv[2], 0, UINT64_MAX, &offset))
		return usage_error("bad offset '%s'", argv[2]);
	e = kc_client_commit(k->client, argv[0], argv[1], offset, &k->reply);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

static int cmd_offset(struct kcctl *k, int argc, char **argv)
{
	uint64_t offset = 0;
	enum kc_client_err e;

	if (argc != 2)
		return usage_error("usage: offset QUEUE CONSUMER");
	if (!name_ok(argv[0]))
		return bad_name("queue", argv[0]);
	if (!name_ok(argv[1]))
		return bad_name("consumer", argv[1]);
	e = kc_client_offset(k->client, argv[0], argv[1], &k->reply, &offset);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

/* --- ledger commands ----------------------------------------------------- */

/* An account is a client id of the keys file: 1..UINT32_MAX. */
static bool parse_account(const char *s, uint32_t *account)
{
	uint64_t v;

	if (!parse_u64(s, 1, UINT32_MAX, &v))
		return false;
	*account = (uint32_t)v;
	return true;
}

static int bad_account(const char *s)
{
	return usage_error("bad account '%s' (a client id, 1..%u)", s,
			   UINT32_MAX);
}

/*
 * n coin ids or amounts, each 1..UINT64_MAX (coin ids start at 1, amounts
 * are positive). With distinct, no value may repeat: a coin listed twice is
 * BAD_REQUEST at the appliance, so say so here. 0 or a usage exit code.
 */
int parse_list(const char *what, char **argv, int n, bool distinct,
	       uint64_t *out)
{
	int i;
	int j;

	for (i = 0; i < n; i++) {
		if (!parse_u64(argv[i], 1, UINT64_MAX, &out[i]))
			return usage_error("bad %s '%s' (1..%" PRIu64 ")", what,
					   argv[i], UINT64_MAX);
		for (j = 0; distinct && j < i; j++)
			if (out[j] == out[i])
				return usage_error("%s %" PRIu64 " is listed "
						   "twice", what, out[i]);
	}
	return 0;
}

static int parse_coin(const char *s, uint64_t *coin)
{
	char *argv[1] = { (char *)s };

	return parse_list("coin id", argv, 1, false, coin);
}

/* The one COIN argument of burn, coin and trail. */
static int one_coin(const char *cmd, int argc, char **argv, uint64_t *coin)
{
	if (argc != 1)
		return usage_error("usage: %s COIN", cmd);
	return parse_coin(argv[0], coin);
}

static int cmd_mint(struct kcctl *k, int argc, char **argv)
{
	uint32_t account;
	uint64_t denomination;
	uint64_t count = 1;
	uint64_t first = 0;
	enum kc_client_err e;
	int rc;

	if (argc < 2 || argc > 3)
		return usage_error("usage: mint ACCOUNT DENOMINATION [COUNT]");
	if (!parse_account(argv[0], &account))
		return bad_account(argv[0]);
	rc = parse_list("denomination", argv + 1, 1, false, &denomination);
	if (rc != 0)
		return rc;
	if (argc == 3 && !parse_u64(argv[2], 1, KC_MINT_COUNT_MAX, &count))
		return usage_error("bad COUNT '%s' (1..%u)", argv[2],
				   KC_MINT_COUNT_MAX);
	e = kc_client_mint(k->client, account, denomination, (uint32_t)count,
			   &k->reply, &first);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

static int cmd_transfer(struct kcctl *k, int argc, char **argv)
{
	uint64_t coins[KC_COINS_PER_OP_MAX];
	uint32_t from;
	uint32_t to;
	uint64_t seq = 0;
	enum kc_client_err e;
	int n = argc - 2;
	int rc;

	if (n < 1 || n > (int)KC_COINS_PER_OP_MAX)
		return usage_error("usage: transfer FROM TO COIN... (1..%u "
				   "coins)",
				   KC_COINS_PER_OP_MAX);
	if (!parse_account(argv[0], &from))
		return bad_account(argv[0]);
	if (!parse_account(argv[1], &to))
		return bad_account(argv[1]);
	if (from == to)
		return usage_error("transfer from account %u to itself", from);
	rc = parse_list("coin id", argv + 2, n, true, coins);
	if (rc != 0)
		return rc;
	e = kc_client_transfer(k->client, from, to, coins, (uint16_t)n,
			       &k->reply, &seq);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

static int cmd_split(struct kcctl *k, int argc, char **argv)
{
	uint64_t parts[KC_SPLIT_PARTS_MAX];
	uint64_t coin;
	uint64_t sum = 0;
	uint64_t first = 0;
	enum kc_client_err e;
	int n = argc - 1;
	int rc;
	int i;

	if (n < 2 || n > (int)KC_SPLIT_PARTS_MAX)
		return usage_error("usage: split COIN D1 D2... (2..%u parts)",
				   KC_SPLIT_PARTS_MAX);
	rc = parse_coin(argv[0], &coin);
	if (rc == 0)
		rc = parse_list("denomination", argv + 1, n, false, parts);
	if (rc != 0)
		return rc;
	/* No coin is worth more than UINT64_MAX, so such parts never fit. */
	for (i = 0; i < n; i++) {
		if (parts[i] > UINT64_MAX - sum)
			return usage_error("the parts add up to more than "
					   "%" PRIu64,
					   UINT64_MAX);
		sum += parts[i];
	}
	e = kc_client_split(k->client, coin, parts, (uint16_t)n, &k->reply,
			    &first);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

static int cmd_merge(struct kcctl *k, int argc, char **argv)
{
	uint64_t coins[KC_COINS_PER_OP_MAX];
	uint64_t coin = 0;
	enum kc_client_err e;
	int rc;

	if (argc < 2 || argc > (int)KC_COINS_PER_OP_MAX)
		return usage_error("usage: merge COIN COIN... (2..%u coins)",
				   KC_COINS_PER_OP_MAX);
	rc = parse_list("coin id", argv, argc, true, coins);
	if (rc != 0)
		return rc;
	e = kc_client_merge(k->client, coins, (uint16_t)argc, &k->reply,
			    &coin);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

static int cmd_burn(struct kcctl *k, int argc, char **argv)
{
	uint64_t coin;
	uint64_t seq = 0;
	enum kc_client_err e;
	int rc;

	rc = one_coin("burn", argc, argv, &coin);
	if (rc != 0)
		return rc;
	e = kc_client_burn(k->client, coin, &k->reply, &seq);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

static int cmd_balance(struct kcctl *k, int argc, char **argv)
{
	uint32_t account;
	uint64_t balance = 0;
	uint32_t coins = 0;
	enum kc_client_err e;

	if (argc != 1)
		return usage_error("usage: balance ACCOUNT");
	if (!parse_account(argv[0], &account))
		return bad_account(argv[0]);
	e = kc_client_balance(k->client, account, &k->reply, &balance, &coins);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

static int cmd_coin(struct kcctl *k, int argc, char **argv)
{
	struct kc_coin_info c;
	uint64_t coin;
	enum kc_client_err e;
	int rc;

	rc = one_coin("coin", argc, argv, &coin);
	if (rc != 0)
		return rc;
	e = kc_client_coin(k->client, coin, &k->reply, &c);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

/* One hop: a line of text, or an object appended to the JSON array. */
static int output_hop(const struct kcctl *k, json_t *hops,
		      const struct kc_hop *h)
{
	char line[256];

	if (!k->json) {
		kc_hop_line(h, line, sizeof(line));
		puts(line);
		return 0;
	}
	return json_array_append_new(hops, kc_hop_json(h));
}

/*
 * Every page of the trail, oldest hop first. Each page must start where the
 * last one ended (the hops are numbered from the coin's first, and a trail
 * only grows at its end) and hold at least one hop until the total is
 * reached, else the reply is malformed: this keeps the loop finite and the
 * output free of gaps.
 */
static int cmd_trail(struct kcctl *k, int argc, char **argv)
{
	struct kc_trail_reply tr;
	json_t *hops = NULL;
	uint64_t coin;
	uint64_t rtt_us = 0;
	uint32_t attempts = 0;
	uint32_t pages = 0;
	uint32_t skip = 0;
	enum kc_client_err e;
	int rc;

	rc = one_coin("trail", argc, argv, &coin);
	if (rc != 0)
		return rc;
	if (k->json) {
		hops = json_array();
		if (hops == NULL)
			return ok_exit(json_print(NULL));
	}
	do {
		uint16_t i;

		e = kc_client_trail(k->client, coin, skip, &k->reply, &tr);
		if (e == KC_CLIENT_OK && k->reply.status == KC_STATUS_OK &&
		    (tr.first != skip || (tr.count == 0 && skip < tr.total)))
			e = KC_CLIENT_BAD_REPLY;
		if (call_failed(e, k)) {
			json_decref(hops);
			return report_failure(k, e);
		}
		pages++;
		attempts += k->reply.attempts;
		rtt_us += k->reply.rtt_us;
		for (i = 0; i < tr.count; i++) {
			struct kc_hop h;

			kc_dec_hop(tr.hops + (size_t)i * KC_HOP_WIRE_LEN, &h);
			if (output_hop(k, hops, &h) != 0) {
				json_decref(hops);
				return ok_exit(json_print(NULL));
			}
		}
		skip = tr.first + tr.count;
	} while (skip < tr.total);

	/* The timing shown is that of every page together. */
	k->reply.attempts = attempts;
	k->reply.rtt_us = rtt_us;
	if (k->json) {
		json_t *o = json_ok(k);

		if (o != NULL) {
			json_object_set_new(o, "coin", kc_json_u64(coin));
			json_object_set_new(o, "total", json_integer(tr.total));
			json_object_set_new(o, "pages", json_integer(pages));
			json_object_set_new(o, "hops", hops);
		} else {
			json_decref(hops);
		}
		return ok_exit(json_print(o));
	}
	printf("OK coin=%" PRIu64 " hops=%u pages=%u", coin, tr.total, pages);
	print_timing(k);
	return ok_exit(0);
}

static int cmd_audit(struct kcctl *k, int argc, char **argv)
{
	struct kc_audit a;
	enum kc_client_err e;
	int rc;

	if (argc != 0)
		return usage_error("usage: audit (no arguments)");
	e = kc_client_audit(k->client, &k->reply, &a);
	if (call_failed(e, k))
		return report_failure(k, e);
	rc = print_reply(k, a.ok ? "OK" : "AUDIT_FAILED");
	/* The REPLY is OK, but the ledger it describes is not. */
	if (rc == EXIT_OK && !a.ok)
		return EXIT_STATUS;
	return rc;
}

/* --- the admin server (HTTP or HTTPS, libcurl) ---------------------------- */

/*
 * libcurl rather than civetweb's client: civetweb 1.15 (Debian 12) checks
 * the server's chain only when given a CA file, never its host name (it
 * calls no X509_check_host or SSL_set1_host), and skips verification
 * altogether without one; libcurl checks both, against --cacert or the
 * system's CAs. It also links libssl.so.3 as usual, where civetweb
 * dlopens "libssl.so", which only libssl-dev installs.
 */

/* Whatever the reply, the body stops here: the largest document (queues,
 * every consumer of every queue) is far smaller. */
#define KCCTL_HTTP_BODY_MAX (16u << 20)
/* A drain waits up to 10 s for requests in flight before it answers. */
#define KCCTL_HTTP_TIMEOUT_MS 15000u
#define KCCTL_TOKEN_MAX 255u /* the admin server reads no longer one */

/* One HTTP exchange: status and body, the body parsed when it is JSON. */
struct http_answer {
	long status; /* HTTP status */
	char *body;
	size_t len;
	bool too_large;
	json_t *doc; /* NULL: the body is not JSON */
};

static void http_answer_free(struct http_answer *a)
{
	free(a->body);
	json_decref(a->doc);
	memset(a, 0, sizeof(*a));
}

static size_t http_body(char *p, size_t size, size_t n, void *arg)
{
	struct http_answer *a = arg;
	size_t len = size * n;
	char *body;

	if (len > KCCTL_HTTP_BODY_MAX - a->len) {
		a->too_large = true;
		return 0; /* libcurl ends the transfer: CURLE_WRITE_ERROR */
	}
	body = realloc(a->body, a->len + len + 1);
	if (body == NULL)
		return 0;
	memcpy(body + a->len, p, len);
	a->body = body;
	a->len += len;
	a->body[a->len] = '\0';
	return len;
}

/* The exit code of a transfer that got no HTTP answer. */
static int curl_exit(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
		return EXIT_TIMEOUT; /* nobody answered */
	case CURLE_PEER_FAILED_VERIFICATION:
		return EXIT_AUTH; /* the server failed authentication */
	default:
		return EXIT_SYSTEM;
	}
}

/*
 * METHOD base URL + path, with the token as a Bearer header if given.
 * EXIT_OK when an HTTP answer came (whatever its status: the caller
 * judges it), else the exit code with the reason in err.
 */
static int http_call(struct kcctl *k, const char *method, const char *path,
		     const char *token, struct http_answer *a, char *err,
		     size_t err_len)
{
	char url[KCCTL_URL_MAX + 64];
	char curl_err[CURL_ERROR_SIZE] = "";
	char auth[KCCTL_TOKEN_MAX + 32];
	struct curl_slist *headers = NULL;
	CURLcode c;

	memset(a, 0, sizeof(*a));
	snprintf(url, sizeof(url), "%s%s", k->admin_url, path);
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			 token);
		headers = curl_slist_append(NULL, auth);
		explicit_bzero(auth, sizeof(auth));
		if (headers == NULL) {
			snprintf(err, err_len, "out of memory");
			return EXIT_SYSTEM;
		}
	}
	curl_easy_setopt(k->curl, CURLOPT_URL, url);
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(k->curl, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(k->curl, CURLOPT_WRITEFUNCTION, http_body);
	curl_easy_setopt(k->curl, CURLOPT_WRITEDATA, a);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(k->curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(k->curl, CURLOPT_POSTFIELDSIZE, 0L);
	} else {
		curl_easy_setopt(k->curl, CURLOPT_HTTPGET, 1L);
	}
	c = curl_easy_perform(k->curl);
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, NULL);
	/* curl_slist_free_all does not wipe: do it for the token's copy. */
	if (headers != NULL)
		explicit_bzero(headers->data, strlen(headers->data));
	curl_slist_free_all(headers);
	if (c != CURLE_OK) {
		snprintf(err, err_len, "%s %s: %s", method, url,
			 a->too_large ? "the answer is larger than 16 MiB" :
			 curl_err[0] != '\0' ? curl_err :
			 curl_easy_strerror(c));
		http_answer_free(a);
		return curl_exit(c);
	}
	curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &a->status);
	a->doc = json_loadb(a->body != NULL ? a->body : "", a->len, 0, NULL);
	return EXIT_OK;
}

/*
 * Judge an answer: EXIT_OK for a 200 with a JSON object, else the exit
 * code with the reason in err (the server's "error" text when it gave
 * one).
 */
static int http_judge(const char *method, const char *url, const char *path,
		      const struct http_answer *a, char *err, size_t err_len)
{
	const char *why = json_string_value(json_object_get(a->doc, "error"));

	if (a->status == 200 && json_is_object(a->doc))
		return EXIT_OK;
	if (a->status == 200) {
		snprintf(err, err_len, "%s %s%s: the answer is not a JSON "
			 "object: is that a KingCobra admin server?", method,
			 url, path);
		return EXIT_SYSTEM;
	}
	snprintf(err, err_len, "%s %s%s: HTTP %ld%s%s", method, url, path,
		 a->status, why != NULL ? ": " : "", why != NULL ? why : "");
	if (a->status == 401)
		return EXIT_AUTH;
	/* 4xx other than 401, 5xx: the appliance said no. Anything else
	 * (a redirect, a page) is not an admin server of ours. */
	return a->status >= 400 && a->status < 600 && a->doc != NULL ?
		       EXIT_STATUS : EXIT_SYSTEM;
}

/* A failed admin command: its reason on stderr, or as JSON. */
static int admin_failure(const struct kcctl *k, int code, long http_status,
			 const char *msg)
{
	json_t *o;

	if (!k->json) {
		fprintf(stderr, "kcctl: %s\n", msg);
		return code;
	}
	o = json_pack("{s:s, s:s, s:i, s:s}", "status",
		      code == EXIT_AUTH ? "AUTH" : code == EXIT_TIMEOUT ?
		      "TIMEOUT" : code == EXIT_STATUS ? "REFUSED" :
		      "SYSTEM_ERROR", "op", k->op, "http_status",
		      (int)http_status, "error", msg);
	return json_print(o) == 0 ? code : EXIT_SYSTEM;
}

/* The token: the first line of the file, without its line end; token
 * holds KCCTL_TOKEN_MAX + 2 bytes, so a longer line is seen as such. */
static int read_token(const char *path, char *token, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "kcctl: token file %s: %s\n", path,
			strerror(errno));
		return EXIT_SYSTEM;
	}
	if (fgets(token, (int)len, f) == NULL)
		token[0] = '\0';
	fclose(f);
	n = strcspn(token, "\r\n");
	if (n > KCCTL_TOKEN_MAX) {
		explicit_bzero(token, len);
		fprintf(stderr, "kcctl: token file %s: the first line is "
			"longer than %u characters\n", path, KCCTL_TOKEN_MAX);
		return EXIT_SYSTEM;
	}
	while (n > 0 && token[n - 1] == ' ')
		n--;
	token[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "kcctl: token file %s: the first line is "
			"empty\n", path);
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

static int cmd_action(struct kcctl *k, int argc, char **argv)
{
	static const char *const names[] = { "audit", "snapshot", "drain",
					     "resume" };
	char token[KCCTL_TOKEN_MAX + 2];
	char path[64];
	char err[KCCTL_ERR_MAX];
	struct http_answer a;
	size_t i;
	int rc;

	if (argc != 1)
		return usage_error("usage: action audit|snapshot|drain|resume");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(argv[0], names[i]) == 0)
			break;
	if (i == sizeof(names) / sizeof(names[0]))
		return usage_error("unknown action '%s' (audit, snapshot, "
				   "drain, resume)", argv[0]);
	if (k->token_file == NULL)
		return usage_error("action needs --token-file FILE (the "
				   "appliance's admin.token_file)");
	rc = read_token(k->token_file, token, sizeof(token));
	if (rc != EXIT_OK)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/actions/%s", names[i]);
	rc = http_call(k, "POST", path, token, &a, err, sizeof(err));
	explicit_bzero(token, sizeof(token));
	if (rc != EXIT_OK)
		return admin_failure(k, rc, 0, err);
	rc = http_judge("POST", k->admin_url, path, &a, err, sizeof(err));
	if (rc != EXIT_OK) {
		rc = admin_failure(k, rc, a.status, err);
	} else {
		/* The server's answer as it is: indented for people. */
		if (json_dumpf(a.doc, stdout, JSON_ENSURE_ASCII |
			       JSON_PRESERVE_ORDER |
			       (k->json ? JSON_COMPACT : JSON_INDENT(2))) != 0)
			rc = EXIT_SYSTEM;
		fputc('\n', stdout);
		rc = ok_exit(rc);
		/* The answer is OK, but the ledger it describes is not. */
		if (rc == EXIT_OK && strcmp(names[i], "audit") == 0 &&
		    !json_is_true(json_object_get(a.doc, "ok")))
			rc = EXIT_STATUS;
	}
	http_answer_free(&a);
	return rc;
}

/* The documents `kcctl status` reads, in the order --json gives them. */
static const char *const status_docs[] = {
	"status", "ports", "lcores", "rings", "stats", "latency",
	"journal", "ledger", "queues", "events",
};

/* A document of the set, NULL if it could not be had. */
static json_t *doc_of(json_t *all, const char *name)
{
	json_t *d = json_object_get(all, name);

	return json_object_get(d, "error") != NULL ? NULL : d;
}

/* 1234567 -> "1.23 M" (SI), for packet and bit rates. */
static void si(double v, char *out, size_t len)
{
	static const char *const units[] = { "", "k", "M", "G", "T" };
	unsigned int u = 0;

	while (v >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000;
		u++;
	}
	snprintf(out, len, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
}

static int show_status(json_t *d, json_t *all, json_error_t *e)
{
	const char *version, *config, *durability;
	json_int_t up, in_flight, rss, heap, alloc, allocs;
	int production, draining, healthy;

	if (json_unpack_ex(d, e, 0, "{s:s, s:I, s:s, s:s, s:b, s:b, s:b, "
			   "s:I}", "version", &version, "uptime_s", &up,
			   "config", &config, "durability", &durability,
			   "production", &production, "draining", &draining,
			   "healthy", &healthy, "in_flight", &in_flight) != 0)
		return -1;
	printf("kingcobra %s: %s%s, up %" JSON_INTEGER_FORMAT "d %02d:%02d:%02d,"
	       " durability %s, %s, %" JSON_INTEGER_FORMAT " in flight"
	       " (config %s)\n", version, healthy ? "healthy" : "UNHEALTHY",
	       draining ? ", DRAINING" : "", up / 86400, (int)(up / 3600 % 24),
	       (int)(up / 60 % 60), (int)(up % 60), durability,
	       production ? "production" : "development", in_flight, config);
	/* memory: since the soak's work (an older appliance has none). */
	if (json_unpack(d, "{s:{s:I, s:I, s:I, s:I}}", "memory", "rss_bytes",
			&rss, "heap_bytes", &heap, "heap_allocated_bytes",
			&alloc, "heap_allocations", &allocs) == 0)
		printf("memory: resident %.1f MiB (hugepages not counted), EAL "
		       "heap %.1f of %.1f MiB allocated in %"
		       JSON_INTEGER_FORMAT " allocations\n",
		       (double)rss / 1048576, (double)alloc / 1048576,
		       (double)heap / 1048576, allocs);
	return 0;
}

static int show_port(json_t *p, json_t *all, json_error_t *e)
{
	const char *name, *driver;
	int up;
	json_int_t speed, rx_err, tx_err, missed;
	double rx_pps, tx_pps, rx_bps, tx_bps;
	char a[4][32];

	if (json_unpack_ex(p, e, 0, "{s:s, s:s, s:b, s:I, s:I, s:I, s:I, "
			   "s:F, s:F, s:F, s:F}", "name", &name, "driver",
			   &driver, "link_up", &up, "speed_mbps", &speed,
			   "rx_errors", &rx_err, "tx_errors", &tx_err,
			   "rx_missed", &missed, "rx_pps", &rx_pps, "tx_pps",
			   &tx_pps, "rx_bps", &rx_bps, "tx_bps", &tx_bps) != 0)
		return -1;
	si(rx_pps, a[0], sizeof(a[0]));
	si(rx_bps, a[1], sizeof(a[1]));
	si(tx_pps, a[2], sizeof(a[2]));
	si(tx_bps, a[3], sizeof(a[3]));
	printf("port %s (%s): link %s %" JSON_INTEGER_FORMAT " Mb/s; rx %spkt/s"
	       " %sbit/s, tx %spkt/s %sbit/s; errors rx %" JSON_INTEGER_FORMAT
	       " tx %" JSON_INTEGER_FORMAT ", missed %" JSON_INTEGER_FORMAT
	       "\n", name, driver, up ? "up" : "DOWN", speed, a[0], a[1], a[2],
	       a[3], rx_err, tx_err, missed);
	return 0;
}

static int show_lcore(json_t *l, json_t *all, json_error_t *e)
{
	const char *role;
	int lcore;
	json_t *worker;
	double busy, rps;

	if (json_unpack_ex(l, e, 0, "{s:i, s:s, s:o, s:F, s:F}", "lcore",
			   &lcore, "role", &role, "worker", &worker,
			   "busy_pct", &busy, "requests_per_s", &rps) != 0)
		return -1;
	printf("lcore %d (%s", lcore, role);
	if (json_is_integer(worker))
		printf(" %" JSON_INTEGER_FORMAT, json_integer_value(worker));
	printf("): busy %.2f%%, %.2f requests/s\n", busy, rps);
	return 0;
}

static int show_ring(json_t *r, json_t *all, json_error_t *e)
{
	const char *name;
	json_int_t count, size;
	double fill;

	if (json_unpack_ex(r, e, 0, "{s:s, s:I, s:I, s:F}", "name", &name,
			   "count", &count, "size", &size, "fill_pct",
			   &fill) != 0)
		return -1;
	printf("ring %s: %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
	       " (%.2f%%)\n", name, count, size, fill);
	return 0;
}

/* Requests from stats, their latency from latency: one line. */
static int show_requests(json_t *st, json_t *all, json_error_t *e)
{
	json_t *lat = doc_of(all, "latency");
	double rps, drops_ps, p50, p99, all50, all99;
	json_int_t n, all_n, drops;

	if (lat == NULL)
		return 0;
	if (json_unpack_ex(st, e, 0, "{s:F, s:F, s:I}", "requests_per_s",
			   &rps, "drops_per_s", &drops_ps, "drops",
			   &drops) != 0 ||
	    json_unpack_ex(lat, e, 0, "{s:{s:I, s:{s:F, s:F}}, "
			   "s:{s:I, s:{s:F, s:F}}}", "last_interval", "count",
			   &n, "percentiles", "p50_us", &p50, "p99_us", &p99,
			   "since_start", "count", &all_n, "percentiles",
			   "p50_us", &all50, "p99_us", &all99) != 0)
		return -1;
	printf("requests: %.2f/s, latency p50 %.1f us p99 %.1f us over the "
	       "last second (%" JSON_INTEGER_FORMAT "), p50 %.1f us p99 "
	       "%.1f us since start (%" JSON_INTEGER_FORMAT "); drops %.2f/s, "
	       "%" JSON_INTEGER_FORMAT " in all\n", rps, p50, p99, n, all50,
	       all99, all_n, drops_ps, drops);
	return 0;
}

static int show_shard(json_t *s, json_t *all, json_error_t *e)
{
	const char *state;
	int shard, held;
	json_int_t last, durable, fsync_us;

	if (json_unpack_ex(s, e, 0, "{s:i, s:s, s:I, s:I, s:i, s:I}", "shard",
			   &shard, "state", &state, "last_seq", &last,
			   "durable_seq", &durable, "held_replies", &held,
			   "last_fsync_us", &fsync_us) != 0)
		return -1;
	printf("journal shard %d: %s, durable seq %" JSON_INTEGER_FORMAT " of %"
	       JSON_INTEGER_FORMAT ", last fsync %" JSON_INTEGER_FORMAT " us, "
	       "%d replies held\n", shard, state, durable, last, fsync_us,
	       held);
	return 0;
}

static int show_ledger(json_t *d, json_t *all, json_error_t *e)
{
	json_t *audit;
	json_int_t accounts, live, supply;
	int enabled;

	if (json_unpack_ex(d, e, 0, "{s:b}", "enabled", &enabled) != 0)
		return -1;
	if (!enabled) {
		printf("ledger: off\n");
		return 0;
	}
	if (json_unpack_ex(d, e, 0, "{s:I, s:I, s:I, s:o}", "accounts",
			   &accounts, "live_coins", &live, "supply", &supply,
			   "last_audit", &audit) != 0)
		return -1;
	printf("ledger: %" JSON_INTEGER_FORMAT " live coins, supply %"
	       JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT " accounts, last "
	       "audit %s\n", live, supply, accounts, json_is_null(audit) ?
	       "none since start" : json_is_true(json_object_get(audit,
	       "ok")) ? "ok" : "FOUND VIOLATIONS");
	return 0;
}

static int show_queue(json_t *q, json_t *all, json_error_t *e)
{
	const char *name;
	int worker;
	json_int_t depth, bytes, lag, max_lag = 0;
	json_t *consumers, *c;
	size_t i;

	if (json_unpack_ex(q, e, 0, "{s:s, s:i, s:I, s:I, s:o}", "name",
			   &name, "worker", &worker, "depth", &depth, "bytes",
			   &bytes, "consumers", &consumers) != 0)
		return -1;
	json_array_foreach(consumers, i, c) {
		if (json_unpack_ex(c, e, 0, "{s:I}", "lag", &lag) != 0)
			return -1;
		if (lag > max_lag)
			max_lag = lag;
	}
	printf("queue %s (worker %d): depth %" JSON_INTEGER_FORMAT ", %"
	       JSON_INTEGER_FORMAT " bytes, %zu consumer%s, max lag %"
	       JSON_INTEGER_FORMAT "\n", name, worker, depth, bytes,
	       json_array_size(consumers),
	       json_array_size(consumers) == 1 ? "" : "s", max_lag);
	return 0;
}

/*
 * A line of the summary or a line for each item of an array: a document,
 * the array in it (NULL: the document is shown whole), the line for an
 * empty array (or none), and the function that shows the document or an
 * item (with every document at hand, for a line that needs two).
 */
struct status_part {
	const char *doc;
	const char *array;
	const char *none;
	int (*show)(json_t *x, json_t *all, json_error_t *e);
};

static const struct status_part status_parts[] = {
	{ "status", NULL, NULL, show_status },
	{ "ports", "ports", NULL, show_port },
	{ "lcores", "lcores", NULL, show_lcore },
	{ "rings", "rings", NULL, show_ring },
	{ "stats", NULL, NULL, show_requests },
	{ "journal", "shards", "journal: off", show_shard },
	{ "ledger", NULL, NULL, show_ledger },
	{ "queues", "queues", "queues: none", show_queue },
};

/* 0, or -1 with e saying what in the document is not as expected. A
 * document that could not be had is skipped: its error is told already. */
static int show_part(const struct status_part *p, json_t *all,
		     json_error_t *e)
{
	json_t *d = doc_of(all, p->doc), *arr, *x;
	size_t i;

	if (d == NULL)
		return 0;
	if (p->array == NULL)
		return p->show(d, all, e);
	if (json_unpack_ex(d, e, 0, "{s:o}", p->array, &arr) != 0)
		return -1;
	if (!json_is_array(arr)) {
		snprintf(e->text, sizeof(e->text), "%s is not an array",
			 p->array);
		return -1;
	}
	if (json_array_size(arr) == 0 && p->none != NULL)
		printf("%s\n", p->none);
	json_array_foreach(arr, i, x)
		if (p->show(x, all, e) != 0)
			return -1;
	return 0;
}

/*
 * Every document of the admin API in one object keyed by name (a document
 * that could not be had is {"error": ..., "http_status": ...} there), or a
 * compact summary of them for people.
 */
static int cmd_status(struct kcctl *k, int argc, char **argv)
{
	char err[KCCTL_ERR_MAX];
	json_t *all = json_object();
	json_error_t je;
	int rc = EXIT_OK;
	size_t i;

	if (argc != 0)
		return usage_error("usage: status (no arguments)");
	if (all == NULL)
		return ok_exit(json_print(NULL));
	json_object_set_new(all, "admin", json_string(k->admin_url));
	for (i = 0; i < sizeof(status_docs) / sizeof(status_docs[0]); i++) {
		struct http_answer a;
		char path[64];
		int r;

		snprintf(path, sizeof(path), "/api/v1/%s", status_docs[i]);
		r = http_call(k, "GET", path, NULL, &a, err, sizeof(err));
		if (r != EXIT_OK) {
			/* Nobody answering the first is nobody at all. */
			json_decref(all);
			return admin_failure(k, r, 0, err);
		}
		r = http_judge("GET", k->admin_url, path, &a, err,
			       sizeof(err));
		if (r == EXIT_OK) {
			json_object_set(all, status_docs[i], a.doc);
		} else {
			json_object_set_new(all, status_docs[i], json_pack(
				"{s:s, s:i}", "error", err, "http_status",
				(int)a.status));
			if (!k->json)
				fprintf(stderr, "kcctl: %s\n", err);
			if (rc == EXIT_OK)
				rc = r;
		}
		http_answer_free(&a);
	}
	if (k->json)
		return json_print(all) != 0 ? EXIT_SYSTEM : rc;
	for (i = 0; i < sizeof(status_parts) / sizeof(status_parts[0]); i++) {
		if (show_part(&status_parts[i], all, &je) == 0)
			continue;
		fprintf(stderr, "kcctl: the %s document from %s is not as "
			"expected (%s): is the appliance of a compatible "
			"version?\n", status_parts[i].doc, k->admin_url,
			je.text);
		rc = EXIT_SYSTEM;
	}
	json_decref(all);
	return fflush(stdout) != 0 ? EXIT_SYSTEM : rc;
}

static const struct {
	const char *name;
	int (*fn)(struct kcctl *k, int argc, char **argv);
	bool admin; /* talks to the admin server, not KCP */
} commands[] = {
	{ "ping", cmd_ping, false },	    { "publish", cmd_publish, false },
	{ "fetch", cmd_fetch, false },	    { "commit", cmd_commit, false },
	{ "offset", cmd_offset, false },    { "mint", cmd_mint, false },
	{ "transfer", cmd_transfer, false }, { "split", cmd_split, false },
	{ "merge", cmd_merge, false },	    { "burn", cmd_burn, false },
	{ "balance", cmd_balance, false },  { "coin", cmd_coin, false },
	{ "trail", cmd_trail, false },	    { "audit", cmd_audit, false },
	{ "time", cmd_time, false },
	{ "call", cmd_call, false },	    { "report", cmd_report, false },
	{ "serve", cmd_serve, false },	    { "unserve", cmd_unserve, false },
	{ "status", cmd_status, true },	    { "action", cmd_action, true },
};

/* --admin URL: http:// or https://, kept without a trailing '/'. */
static int admin_url(struct kcctl *k, const char *url)
{
	size_t n = strlen(url);

	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0)
		return usage_error("bad --admin '%s' (http://HOST:PORT or "
				   "https://HOST:PORT)", url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n >= sizeof(k->admin_url))
		return usage_error("--admin URL is longer than %zu characters",
				   sizeof(k->admin_url) - 1);
	memcpy(k->admin_url, url, n);
	k->admin_url[n] = '\0';
	return EXIT_OK;
}

/* An admin command: one libcurl handle for all its requests (one
 * connection, kept alive), verifying an https server's certificate and
 * name, and never through a proxy (the token would travel there). */
static int run_admin(struct kcctl *k,
		     int (*fn)(struct kcctl *k, int argc, char **argv),
		     int argc, char **argv)
{
	long total_ms = k->timeout_ms > KCCTL_HTTP_TIMEOUT_MS ?
			(long)k->timeout_ms : (long)KCCTL_HTTP_TIMEOUT_MS;
	int rc;

	if (k->cacert != NULL && strncmp(k->admin_url, "https://", 8) != 0)
		return usage_error("--cacert is for an https:// admin URL");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "kcctl: cannot initialise libcurl\n");
		return EXIT_SYSTEM;
	}
	k->curl = curl_easy_init();
	if (k->curl == NULL) {
		fprintf(stderr, "kcctl: cannot initialise libcurl\n");
		curl_global_cleanup();
		return EXIT_SYSTEM;
	}
	curl_easy_setopt(k->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(k->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(k->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)k->timeout_ms);
	curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, total_ms);
	curl_easy_setopt(k->curl, CURLOPT_USERAGENT, "kcctl/" KC_VERSION);
	curl_easy_setopt(k->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(k->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(k->curl, CURLOPT_SSLVERSION,
			 (long)CURL_SSLVERSION_TLSv1_2);
	if (k->cacert != NULL)
		curl_easy_setopt(k->curl, CURLOPT_CAINFO, k->cacert);
	rc = fn(k, argc, argv);
	curl_easy_cleanup(k->curl);
	curl_global_cleanup();
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "keys", required_argument, NULL, 'k' },
		{ "client", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retries", required_argument, NULL, 'r' },
		{ "admin", required_argument, NULL, 'A' },
		{ "cacert", required_argument, NULL, 'C' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "price", required_argument, NULL, 'P' },
		{ "max-inflight", required_argument, NULL, 'I' },
		{ "lease", required_argument, NULL, 'L' },
		{ "deadline-ms", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct kcctl k;
	struct kc_client_opts o;
	char err[512];
	uint64_t v;
	size_t i;
	int opt;
	int rc;

	k.server = KCCTL_SERVER_DEFAULT;
	k.timeout_ms = KCCTL_TIMEOUT_DEFAULT_MS;
	k.retries = KCCTL_RETRIES_DEFAULT;
	k.max_inflight = 1;
	k.lease_s = 30;
	k.deadline_ms = 5000;
	snprintf(k.admin_url, sizeof(k.admin_url), "%s", KCCTL_ADMIN_DEFAULT);

	while ((opt = getopt_long(argc, argv, "s:k:c:hV", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 's':
			k.server = optarg;
			break;
		case 'k':
			k.keyfile = optarg;
			break;
		case 'c':
			if (!parse_u64(optarg, 1, UINT32_MAX, &v))
				return usage_error("bad client id '%s' "
						   "(1..%u)",
						   optarg, UINT32_MAX);
			k.client_id = (uint32_t)v;
			break;
		case 'j':
			k.json = true;
			break;
		case 't':
			if (!parse_u64(optarg, 1, KCCTL_TIMEOUT_MAX_MS, &v))
				return usage_error("bad timeout '%s' (1..%u ms)",
						   optarg,
						   KCCTL_TIMEOUT_MAX_MS);
			k.timeout_ms = (uint32_t)v;
			break;
		case 'r':
			if (!parse_u64(optarg, 0, KCCTL_RETRIES_MAX, &v))
				return usage_error("bad retries '%s' (0..%u)",
						   optarg, KCCTL_RETRIES_MAX);
			k.retries = (uint32_t)v;
			break;
		case 'A':
			rc = admin_url(&k, optarg);
			if (rc != EXIT_OK)
				return rc;
			break;
		case 'C':
			k.cacert = optarg;
			break;
		case 'T':
			k.token_file = optarg;
			break;
		case 'P':
			if (!parse_u64(optarg, 0, UINT64_MAX, &k.price))
				return usage_error("bad price '%s'", optarg);
			break;
		case 'I':
			if (!parse_u64(optarg, 1, UINT32_MAX, &v))
				return usage_error("bad max-inflight '%s' "
						   "(1..%u)", optarg,
						   UINT32_MAX);
			k.max_inflight = (uint32_t)v;
			break;
		case 'L':
			if (!parse_u64(optarg, 3, KC_SERVE_LEASE_MAX_S, &v))
				return usage_error("bad lease '%s' (3..%u s)",
						   optarg,
						   KC_SERVE_LEASE_MAX_S);
			k.lease_s = (uint32_t)v;
			break;
		case 'D':
			if (!parse_u64(optarg, 1, 3600000, &v))
				return usage_error("bad deadline-ms '%s' "
						   "(1..3600000)", optarg);
			k.deadline_ms = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("kcctl %s (KCP version %u)\n", KC_VERSION,
			       KC_PROTO_VERSION);
			return EXIT_OK;
		default:
			fputs("(kcctl --help for usage)\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		return usage_error("unknown command '%s'", argv[optind]);
	k.op = commands[i].name;
	if (commands[i].admin)
		return run_admin(&k, commands[i].fn, argc - optind - 1,
				 argv + optind + 1);

	memset(&o, 0, sizeof(o));
	if (k.keyfile != NULL) {
		if (kc_client_key_from_file(&o, k.keyfile, k.client_id, err,
					    sizeof(err)) != 0) {
			fprintf(stderr, "kcctl: %s\n", err);
			return EXIT_SYSTEM;
		}
	} else {
		/* The built-in development keys: client 1 by default, and
		 * client 2 (-c 2) as a second ledger account. */
		if (k.client_id == 0 || k.client_id == KC_DEV_CLIENT_ID) {
			o.client_id = KC_DEV_CLIENT_ID;
			memcpy(o.key, kc_dev_key, KC_KEY_LEN);
		} else if (k.client_id == KC_DEV_CLIENT_ID_2) {
			o.client_id = KC_DEV_CLIENT_ID_2;
			memcpy(o.key, kc_dev_key_2, KC_KEY_LEN);
		} else {
			return usage_error("-c %u needs -k KEYFILE (the "
					   "built-in development keys belong "
					   "to clients %u and %u)",
					   k.client_id, KC_DEV_CLIENT_ID,
					   KC_DEV_CLIENT_ID_2);
		}
	}
	k.client_id = o.client_id;
	o.server = k.server;
	o.timeout_ms = k.timeout_ms;
	o.retries = k.retries;
	server_display(&k);

	k.client = kc_client_open(&o, err, sizeof(err));
	memset(o.key, 0, sizeof(o.key));
	if (k.client == NULL) {
		fprintf(stderr, "kcctl: %s\n", err);
		return EXIT_SYSTEM;
	}
	rc = commands[i].fn(&k, argc - optind - 1, argv + optind + 1);
	kc_client_close(k.client);
	return rc;
}
