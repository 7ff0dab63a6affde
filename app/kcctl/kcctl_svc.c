/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kcctl's service commands (docs/services.md): call a service, report on
 * a call, and serve a type with a command run once per call.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "kc_client.h"
#include "kc_opdesc.h"
#include "kc_proto.h"
#include "kc_proto_json.h"
#include "kcctl.h"

#define SERVE_POLL_MS 200u

/* A call id: 32 hex digits (as kcctl and kcq print it). */
static bool parse_call_id(const char *s, uint8_t id[KC_CALL_ID_LEN])
{
	if (strlen(s) != 2 * KC_CALL_ID_LEN)
		return false;
	for (unsigned int i = 0; i < KC_CALL_ID_LEN; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
		    strchr("0123456789abcdefABCDEF", s[2 * i]) == NULL ||
		    strchr("0123456789abcdefABCDEF", s[2 * i + 1]) == NULL)
			return false;
		id[i] = (uint8_t)v;
	}
	return true;
}

/* PAYLOAD, or stdin for "-": at most max bytes. */
static int read_payload(const char *arg, uint8_t *buf, size_t max,
			size_t *len)
{
	size_t n;

	if (strcmp(arg, "-") != 0) {
		n = strlen(arg);
		if (n > max)
			return usage_error("the payload is %zu bytes, more "
					   "than %zu", n, max);
		memcpy(buf, arg, n);
		*len = n;
		return 0;
	}
	n = fread(buf, 1, max, stdin);
	if (ferror(stdin))
		return usage_error("reading the payload from stdin: %s",
				   strerror(errno));
	if (n == max && fgetc(stdin) != EOF)
		return usage_error("the payload on stdin is more than %zu "
				   "bytes", max);
	*len = n;
	return 0;
}

int cmd_call(struct kcctl *k, int argc, char **argv)
{
	uint64_t coins[KC_CALL_COINS_MAX];
	uint8_t payload[KC_CALL_PAYLOAD_MAX];
	struct kc_call_reply cr;
	char head[64], hex[33];
	enum kc_client_err e;
	size_t len = 0;
	int n = argc - 2;
	int rc;

	if (argc < 2 || n > (int)KC_CALL_COINS_MAX)
		return usage_error("usage: call TYPE PAYLOAD [COIN...] (0..%u "
				   "coins; PAYLOAD - reads stdin)",
				   KC_CALL_COINS_MAX);
	rc = read_payload(argv[1], payload, sizeof(payload), &len);
	if (rc == 0)
		rc = parse_list("coin id", argv + 2, n, true, coins);
	if (rc != 0)
		return rc;
	e = kc_client_call_service(k->client, argv[0], k->deadline_ms, payload,
				   len, coins, (uint16_t)n, &k->reply, &cr);
	if (e == KC_CLIENT_INVALID)
		return usage_error("bad type '%s' (1..64 characters of A-Z "
				   "a-z 0-9 . _ -)", argv[0]);
	if (call_failed(e, k))
		return report_failure(k, e);
	/* The call's id is its CALL's message id: REPORT names it. */
	kc_msg_id_format(k->reply.hdr.msg_id, hex);
	snprintf(head, sizeof(head), "OK call=%s", hex);
	return print_reply(k, head);
}

int cmd_report(struct kcctl *k, int argc, char **argv)
{
	uint8_t id[KC_CALL_ID_LEN];
	enum kc_client_err e;
	uint8_t kind;

	if (argc < 2 || argc > 3)
		return usage_error("usage: report CALL_ID problem|suggestion "
				   "[TEXT]");
	if (!parse_call_id(argv[0], id))
		return usage_error("bad call id '%s' (32 hex digits, as call "
				   "prints it)", argv[0]);
	if (strcmp(argv[1], "problem") == 0)
		kind = KC_REPORT_PROBLEM;
	else if (strcmp(argv[1], "suggestion") == 0)
		kind = KC_REPORT_SUGGESTION;
	else
		return usage_error("bad report kind '%s' (problem or "
				   "suggestion)", argv[1]);
	if (argc == 3 && strlen(argv[2]) > KC_REPORT_TEXT_MAX)
		return usage_error("the text is more than %u bytes",
				   KC_REPORT_TEXT_MAX);
	e = kc_client_report(k->client, id, kind, argc == 3 ? argv[2] : "",
			     argc == 3 ? strlen(argv[2]) : 0, &k->reply);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

int cmd_unserve(struct kcctl *k, int argc, char **argv)
{
	enum kc_client_err e;

	if (argc != 1)
		return usage_error("usage: unserve TYPE");
	e = kc_client_unserve(k->client, argv[0], &k->reply);
	if (e == KC_CLIENT_INVALID)
		return usage_error("bad type '%s'", argv[0]);
	if (call_failed(e, k))
		return report_failure(k, e);
	return print_reply(k, "OK");
}

/* ---- serve -------------------------------------------------------------- */

static volatile sig_atomic_t serve_stop;

static void on_signal(int sig)
{
	(void)sig;
	serve_stop = 1;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Run argv with in on its stdin; its stdout (at most cap bytes; the rest
 * is read and dropped) into out. Returns its exit status (128 + signal
 * when killed), or -1 if it could not run.
 */
static int run(char **argv, const uint8_t *in, size_t in_len, uint8_t *out,
	       size_t cap, size_t *out_len)
{
	int to[2], from[2], st = 0;
	uint8_t sink[4096];
	pid_t pid;
	ssize_t n;

	*out_len = 0;
	if (pipe(to) != 0)
		return -1;
	if (pipe(from) != 0) {
		close(to[0]);
		close(to[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(to[0], STDIN_FILENO);
		dup2(from[1], STDOUT_FILENO);
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "kcctl serve: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	/* A payload fits the pipe's buffer: no deadlock with its output. */
	if (in_len != 0 && write(to[1], in, in_len) < 0 && errno != EPIPE)
		st = -1;
	close(to[1]);
	while ((n = read(from[0], *out_len < cap ? out + *out_len : sink,
			 *out_len < cap ? cap - *out_len : sizeof(sink))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (*out_len < cap)
			*out_len += (size_t)n;
	}
	close(from[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* One line per call served: text or JSON. */
static void served(const struct kcctl *k, const struct kc_delivery *d,
		   int code, size_t out_len, const struct kc_reply *r,
		   enum kc_client_err e)
{
	const char *answer = e != KC_CLIENT_OK ? "no reply" :
			     kc_status_name(r->status);
	char hex[33];

	kc_msg_id_format(d->call_id, hex);
	if (k->json) {
		json_t *o = json_pack("{s:s, s:I, s:i, s:I, s:s}", "call", hex,
				      (json_int_t)d->caller, "exit", code,
				      "bytes", (json_int_t)out_len,
				      "respond", answer);

		if (o != NULL) {
			json_dumpf(o, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(o);
		}
	} else {
		printf("call %s from %u: exit %d, %zu bytes; RESPOND %s\n",
		       hex, d->caller, code, out_len, answer);
	}
	fflush(stdout);
}

int cmd_serve(struct kcctl *k, int argc, char **argv)
{
	static struct kc_delivery d;
	static uint8_t out[KC_CALL_PAYLOAD_MAX];
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t renew_at = 0, lease_until;
	enum kc_client_err e;

	if (argc < 2)
		return usage_error("usage: serve TYPE [--price N] "
				   "[--max-inflight N] [--lease S] -- CMD "
				   "[ARGS...]");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!serve_stop) {
		size_t out_len = 0;
		int code, got;

		if (mono_ms() >= renew_at) {
			/* The lease, renewed at a third of its length. */
			e = kc_client_serve(k->client, argv[0], k->price,
					    k->max_inflight, k->lease_s,
					    &k->reply, &lease_until);
			if (e == KC_CLIENT_INVALID)
				return usage_error("bad type '%s'", argv[0]);
			/* No answer, or no route for now (the appliance's
			 * TAP is made again when it restarts): a service
			 * outlives that, and tries again in a second. */
			if (e == KC_CLIENT_TIMEOUT || e == KC_CLIENT_SYSTEM) {
				if (e == KC_CLIENT_SYSTEM && !k->json)
					fprintf(stderr, "kcctl: serving %s: %s; "
						"trying again\n", argv[0],
						strerror(kc_client_errno(
							k->client)));
				renew_at = mono_ms() + 1000u;
				usleep(e == KC_CLIENT_SYSTEM ? 200000 : 0);
				continue;
			}
			if (call_failed(e, k))
				return report_failure(k, e);
			if (renew_at == 0 && !k->json)
				fprintf(stderr, "kcctl: serving %s at price %"
					PRIu64 " (lease %u s)\n", argv[0],
					k->price, k->lease_s);
			renew_at = mono_ms() + k->lease_s * 1000u / 3u;
		}
		got = kc_client_next_call(k->client, SERVE_POLL_MS, &d);
		if (got < 0) {
			/* Transient too (a route gone for a moment). */
			usleep(200000);
			continue;
		}
		if (got == 0)
			continue;
		code = run(argv + 1, d.payload, d.payload_len, out,
			   sizeof(out), &out_len);
		if (code < 0) {
			out_len = (size_t)snprintf((char *)out, sizeof(out),
						   "cannot run %s: %s",
						   argv[1], strerror(errno));
		} else if (code != 0 && out_len == 0) {
			out_len = (size_t)snprintf((char *)out, sizeof(out),
						   "%s exited with status %d",
						   argv[1], code);
		}
		/* Exit status 0: OK, paid; anything else: an error, the
		 * caller refunded. */
		e = kc_client_respond(k->client, d.call_id,
				      code == 0 ? KC_STATUS_OK :
						  KC_STATUS_INTERNAL,
				      out, out_len, &k->reply);
		if (e == KC_CLIENT_OK &&
		    k->reply.status == KC_STATUS_TOO_LARGE) {
			/* Longer than services.max_payload: say so instead. */
			static const char tl[] = "the answer is longer than "
						 "the appliance takes "
						 "(services.max_payload)";

			e = kc_client_respond(k->client, d.call_id,
					      KC_STATUS_INTERNAL, tl,
					      sizeof(tl) - 1, &k->reply);
		}
		served(k, &d, code, out_len, &k->reply, e);
	}
	kc_client_unserve(k->client, argv[0], &k->reply);
	return EXIT_OK;
}
