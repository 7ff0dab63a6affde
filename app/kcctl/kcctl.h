/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the files of kcctl share: its state and exit codes, and the
 * helpers every command words its output and failures with (kcctl.c).
 * The service commands are in kcctl_svc.c.
 */
#ifndef KCCTL_H
#define KCCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <curl/curl.h>

#include "kc_client.h"

#define KCCTL_URL_MAX 1024u

enum kcctl_exit {
	EXIT_OK = 0,	    /* a REPLY with status OK */
	EXIT_STATUS = 1,    /* a REPLY with an error status */
	EXIT_USAGE = 2,	    /* bad command line */
	EXIT_TIMEOUT = 3,   /* no REPLY after every attempt; no admin server */
	EXIT_AUTH = 4,	    /* a REPLY or admin certificate failed
			     * authentication; the admin token was refused */
	EXIT_SYSTEM = 5,    /* socket, file or protocol error */
};

struct kcctl {
	const char *server;
	char server_disp[300]; /* HOST:PORT as the messages show it */
	const char *keyfile;
	uint32_t client_id;
	bool json;
	uint32_t timeout_ms;
	uint32_t retries;
	const char *op; /* command name, for output */
	struct kc_client *client;
	struct kc_reply reply;
	/* The admin server's commands (status, action). */
	char admin_url[KCCTL_URL_MAX]; /* without a trailing '/' */
	const char *cacert;
	const char *token_file;
	CURL *curl;
	/* The service commands' options (serve, call). */
	uint64_t price;
	uint32_t max_inflight;
	uint32_t lease_s;
	uint32_t deadline_ms;
};

int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v);
int parse_list(const char *what, char **argv, int n, bool distinct,
	       uint64_t *out);
int report_failure(struct kcctl *k, enum kc_client_err e);
bool call_failed(enum kc_client_err e, const struct kcctl *k);
int print_reply(struct kcctl *k, const char *head);

/* The service commands (kcctl_svc.c). */
int cmd_serve(struct kcctl *k, int argc, char **argv);
int cmd_unserve(struct kcctl *k, int argc, char **argv);
int cmd_call(struct kcctl *k, int argc, char **argv);
int cmd_report(struct kcctl *k, int argc, char **argv);

#endif /* KCCTL_H */
