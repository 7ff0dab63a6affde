/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Service calls in the admin API (docs/admin.md, docs/services.md):
 * /api/v1/services, /api/v1/calls, /api/v1/reports, the per-service
 * metrics, and the arbiter's ruling POST /api/v1/actions/rule. What
 * worker 0 owns is copied there through its control ring.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_admin_priv.h"
#include "kc_opdesc.h"

#define CTL_TIMEOUT_MS 2000u
#define SVCS_MAX 1024u
#define CALLS_MAX 256u

static json_t *u64(uint64_t v)
{
	char b[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	return json_string(b);
}

static json_t *hex_id(const uint8_t *id)
{
	char hex[2 * KC_CALL_ID_LEN + 1];

	kc_msg_id_format(id, hex);
	return json_string(hex);
}

/* Text from a client (a report): valid UTF-8 as it is, else escaped. */
static json_t *text(const char *p, size_t n)
{
	char esc[4 * KC_REPORT_TEXT_MAX + 1];
	json_t *s = json_stringn(p, n);

	if (s != NULL)
		return s;
	kc_text_escape((const uint8_t *)p, n, true, esc, sizeof(esc));
	return json_string(esc);
}

/* Worker 0's services, calls and reports, into msg (its arrays the
 * caller's). 0, -ENOENT (service calls are off), or another errno. */
static int fetch(struct kc_admin *a, struct kc_ctl *msg)
{
	int rc;

	pthread_mutex_lock(&a->ctl_lock);
	rc = kc_pipeline_ctl(a->c.p, 0, msg, CTL_TIMEOUT_MS);
	pthread_mutex_unlock(&a->ctl_lock);
	if (rc == 0 && msg->rc != 0)
		rc = msg->rc;
	return rc;
}

static struct kc_ctl *ctl_new(void)
{
	struct kc_ctl *msg = calloc(1, sizeof(*msg));

	if (msg == NULL)
		return NULL;
	msg->op = KC_CTL_SERVICES;
	msg->svcs = calloc(SVCS_MAX, sizeof(*msg->svcs));
	msg->calls = calloc(CALLS_MAX, sizeof(*msg->calls));
	msg->reports = calloc(KC_SVC_REPORTS_KEPT, sizeof(*msg->reports));
	msg->max_svcs = SVCS_MAX;
	msg->max_calls = CALLS_MAX;
	msg->max_reports = KC_SVC_REPORTS_KEPT;
	if (msg->svcs == NULL || msg->calls == NULL || msg->reports == NULL) {
		free(msg->svcs);
		free(msg->calls);
		free(msg->reports);
		free(msg);
		return NULL;
	}
	return msg;
}

static void ctl_free(struct kc_ctl *msg)
{
	free(msg->svcs);
	free(msg->calls);
	free(msg->reports);
	free(msg);
}

static json_t *service_json(const struct kc_svc_info *v)
{
	json_t *lat = json_array();

	for (uint32_t b = 0; b < KC_SVC_LAT_BUCKETS; b++)
		json_array_append_new(lat, u64(v->st.lat_us[b]));
	return json_pack("{s:s, s:I, s:b, s:b, s:b, s:o, s:I, s:I, s:o, s:o, "
			 "s:I, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
			 "s:o}",
			 "type", v->type.s, "account", (json_int_t)v->account,
			 "active", v->active, "lease_alive", v->lease_alive,
			 "quarantined", v->quarantined, "price", u64(v->price),
			 "max_inflight", (json_int_t)v->max_inflight,
			 "in_flight", (json_int_t)v->inflight,
			 "lease_until_ms", u64(v->lease_until_ns / 1000000u),
			 "quarantined_until_ms",
			 u64(v->quarantined_until_ns / 1000000u),
			 "quarantines", (json_int_t)v->quarantines,
			 "score", v->score_ppm / 1e6, "calls", u64(v->st.calls),
			 "ok", u64(v->st.ok), "errors", u64(v->st.errors),
			 "timeouts", u64(v->st.timeouts),
			 "problems", u64(v->st.problems),
			 "suggestions", u64(v->st.suggestions),
			 "refunds", u64(v->st.refunds),
			 "revenue", u64(v->st.revenue),
			 "latency_us_log2", lat);
}

static json_t *call_json(const struct kc_ctl_call *c)
{
	json_t *o = json_pack("{s:o, s:s, s:I, s:I, s:s, s:o, s:o, s:o, s:b}",
			      "call", hex_id(c->id),
			      "state", kc_call_state_name(c->state),
			      "caller", (json_int_t)c->caller,
			      "service", (json_int_t)c->service,
			      "type", c->type.s, "price", u64(c->price),
			      "created_ms", u64(c->created_ns / 1000000u),
			      "deadline_ms", u64(c->deadline_ns / 1000000u),
			      "problem", c->problem);

	if (o != NULL && c->completed_ns != 0) {
		json_object_set_new(o, "completed_ms",
				    u64(c->completed_ns / 1000000u));
		json_object_set_new(o, "status",
				    json_string(kc_status_name(c->status)));
	}
	return o;
}

static json_t *report_json(const struct kc_svc_report *r)
{
	return json_pack("{s:o, s:s, s:I, s:I, s:s, s:o, s:o}",
			 "call", hex_id(r->call),
			 "kind", kc_report_kind_name(r->kind),
			 "caller", (json_int_t)r->caller,
			 "service", (json_int_t)r->service, "type", r->type.s,
			 "time_ms", u64(r->time_ns / 1000000u),
			 "text", text(r->text, r->len));
}

json_t *kc_admin_services_json(struct kc_admin *a, const char *what)
{
	struct kc_ctl *msg = ctl_new();
	const struct kc_services_summary *sum;
	json_t *arr, *doc;
	int rc;

	if (msg == NULL)
		return NULL;
	rc = fetch(a, msg);
	if (rc == -ETIMEDOUT)
		return NULL; /* worker 0 still has msg: leave it */
	if (rc == -ENOENT) {
		ctl_free(msg);
		return json_pack("{s:b}", "enabled", 0);
	}
	if (rc != 0) {
		ctl_free(msg);
		return NULL;
	}
	sum = &msg->svc_sum;
	arr = json_array();
	if (strcmp(what, "services") == 0)
		for (uint32_t i = 0; i < msg->nb_svcs; i++)
			json_array_append_new(arr, service_json(&msg->svcs[i]));
	else if (strcmp(what, "calls") == 0)
		for (uint32_t i = 0; i < msg->nb_calls; i++)
			json_array_append_new(arr, call_json(&msg->calls[i]));
	else
		for (uint32_t i = 0; i < msg->nb_reports; i++)
			json_array_append_new(arr,
					      report_json(&msg->reports[i]));
	doc = json_pack("{s:b, s:o, s:{s:i, s:i, s:i, s:i, s:o, s:o, s:o, "
			"s:o, s:o, s:o}}",
			"enabled", 1, what, arr, "summary",
			"services", (int)sum->services,
			"types", (int)sum->types,
			"calls_open", (int)sum->calls_open,
			"calls_kept", (int)sum->calls_kept,
			"escrow", u64(sum->escrow), "calls", u64(sum->calls),
			"completed", u64(sum->completed),
			"timeouts", u64(sum->timeouts),
			"reports", u64(sum->reports),
			"quarantines", u64(sum->quarantines));
	if (doc != NULL)
		json_object_set_new(doc, "time_ms",
				    u64(msg->now_ns / 1000000u));
	ctl_free(msg);
	return doc;
}

/* Prometheus lines of every service, appended to out (a malloc'd
 * string, grown); the same string, or NULL when out of memory. */
char *kc_admin_services_metrics(struct kc_admin *a, char *out)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} ctr[] = {
#define C(f, h) { "kingcobra_service_" #f "_total", h, \
		  offsetof(struct kc_svc_stats, f) }
		C(calls, "calls routed to the service"),
		C(ok, "calls it answered OK"),
		C(errors, "calls it answered with an error"),
		C(timeouts, "calls it left past their deadline"),
		C(problems, "problem reports on its calls"),
		C(refunds, "payments refunded after an OK answer"),
		C(revenue, "coins' value paid to it"),
#undef C
	};
	struct kc_ctl *msg = ctl_new();
	size_t len = out != NULL ? strlen(out) : 0, cap;
	char *p;
	int rc;

	if (msg == NULL)
		return out;
	rc = fetch(a, msg);
	if (rc == -ETIMEDOUT)
		return out;
	if (rc != 0 || msg->nb_svcs == 0) {
		ctl_free(msg);
		return out;
	}
	cap = len + 4096 + (size_t)msg->nb_svcs * 2048;
	p = realloc(out, cap);
	if (p == NULL) {
		ctl_free(msg);
		return out;
	}
	out = p;
#define ADD(...) len += (size_t)snprintf(out + len, cap - len, __VA_ARGS__)
	for (size_t k = 0; k < sizeof(ctr) / sizeof(ctr[0]); k++) {
		ADD("# HELP %s %s\n# TYPE %s counter\n", ctr[k].name,
		    ctr[k].help, ctr[k].name);
		for (uint32_t i = 0; i < msg->nb_svcs; i++) {
			const struct kc_svc_info *v = &msg->svcs[i];

			ADD("%s{type=\"%s\",account=\"%u\"} %llu\n",
			    ctr[k].name, v->type.s, v->account,
			    (unsigned long long)*(const uint64_t *)
				    ((const uint8_t *)&v->st + ctr[k].off));
		}
	}
	ADD("# HELP kingcobra_service_score the arbiter's score, 0..1\n"
	    "# TYPE kingcobra_service_score gauge\n");
	for (uint32_t i = 0; i < msg->nb_svcs; i++)
		ADD("kingcobra_service_score{type=\"%s\",account=\"%u\"} "
		    "%.6f\n", msg->svcs[i].type.s, msg->svcs[i].account,
		    msg->svcs[i].score_ppm / 1e6);
	ADD("# HELP kingcobra_service_quarantined 1 while the arbiter keeps "
	    "calls from the service\n"
	    "# TYPE kingcobra_service_quarantined gauge\n");
	for (uint32_t i = 0; i < msg->nb_svcs; i++)
		ADD("kingcobra_service_quarantined{type=\"%s\",account=\"%u\"}"
		    " %d\n", msg->svcs[i].type.s, msg->svcs[i].account,
		    msg->svcs[i].quarantined);
	ADD("# HELP kingcobra_escrow the price of every call open\n"
	    "# TYPE kingcobra_escrow gauge\nkingcobra_escrow %llu\n",
	    (unsigned long long)msg->svc_sum.escrow);
#undef ADD
	ctl_free(msg);
	return out;
}

/* POST /api/v1/actions/rule {"call": "HEX", "ruling": "pay"|"refund"}. */
json_t *kc_admin_rule(struct kc_admin *a, const char *body, size_t len,
		      int *status)
{
	json_error_t jerr;
	json_t *in = json_loadb(body, len, 0, &jerr);
	const char *id = NULL, *ruling = NULL;
	struct kc_ctl *msg;
	json_t *doc;
	int rc;

	*status = 400;
	if (in == NULL || json_unpack(in, "{s:s, s:s}", "call", &id,
				      "ruling", &ruling) != 0 ||
	    strlen(id) != 2 * KC_CALL_ID_LEN ||
	    (strcmp(ruling, "pay") != 0 && strcmp(ruling, "refund") != 0)) {
		json_decref(in);
		return json_pack("{s:s}", "error", "the body must be "
				 "{\"call\": \"32 hex digits\", \"ruling\": "
				 "\"pay\" or \"refund\"}");
	}
	msg = calloc(1, sizeof(*msg));
	if (msg == NULL) {
		json_decref(in);
		*status = 500;
		return NULL;
	}
	msg->op = KC_CTL_RULE;
	msg->pay = strcmp(ruling, "pay") == 0;
	for (unsigned int i = 0; i < KC_CALL_ID_LEN; i++) {
		unsigned int v;

		if (sscanf(id + 2 * i, "%2x", &v) != 1 ||
		    strchr("0123456789abcdefABCDEF", id[2 * i]) == NULL ||
		    strchr("0123456789abcdefABCDEF", id[2 * i + 1]) == NULL) {
			free(msg);
			json_decref(in);
			return json_pack("{s:s}", "error", "the call id is "
					 "not 32 hex digits");
		}
		msg->call_id[i] = (uint8_t)v;
	}
	json_decref(in);
	pthread_mutex_lock(&a->ctl_lock);
	rc = kc_pipeline_ctl(a->c.p, 0, msg, CTL_TIMEOUT_MS);
	pthread_mutex_unlock(&a->ctl_lock);
	if (rc == -ETIMEDOUT) {
		*status = 503;
		return json_pack("{s:s}", "error", "worker 0 did not answer");
	}
	if (rc != 0) {
		free(msg);
		*status = 503;
		return json_pack("{s:s}", "error", "worker 0 is busy");
	}
	if (msg->status == KC_STATUS_OK) {
		*status = 200;
		doc = json_pack("{s:s, s:s, s:o}", "result", "settled",
				"settlement",
				kc_settlement_name(msg->settlement),
				"amount", u64(msg->amount));
	} else {
		*status = msg->status == KC_STATUS_UNAVAILABLE ? 503 : 409;
		doc = json_pack("{s:s, s:s}", "status",
				kc_status_name(msg->status), "error",
				msg->status == KC_STATUS_UNAVAILABLE ?
				"service calls are off, or the journal is "
				"busy" : msg->reason);
	}
	free(msg);
	return doc;
}
