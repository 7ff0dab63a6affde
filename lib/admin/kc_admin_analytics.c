/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The analytics in the admin API (docs/admin.md, docs/analytics.md):
 * GET /api/v1/analytics/{flows,maxflow,kcore,scc,rank}, each answered
 * from the graphs the kc-analytics thread keeps (kc_analytics.h) under
 * their lock: a long analysis holds up that thread, never an lcore.
 * Every document says which journal records it covers and when the
 * thread last caught up with the journal.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "kc_admin_priv.h"
#include "kc_analytics.h"

#define LOCK_MS 2000u

/* A query parameter as an account (a u32), false if absent or bad. */
static bool account_var(const char *query, const char *name, uint32_t *out,
			bool *present)
{
	char buf[16], *end;
	unsigned long v;
	int n;

	*present = false;
	if (query == NULL)
		return false;
	n = mg_get_var(query, strlen(query), name, buf, sizeof(buf));
	if (n == -1)
		return false;	/* absent */
	*present = true;
	if (n < 0)
		return false;	/* too long */
	if (buf[0] < '0' || buf[0] > '9')
		return false;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (*end != '\0' || errno != 0 || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static void sample(json_t *doc, const struct kc_analytics_info *in)
{
	json_object_set_new(doc, "sample_ms",
			    json_integer((json_int_t)(in->sample_ns /
						      1000000u)));
	json_object_set_new(doc, "caught_up", json_boolean(in->caught_up));
	json_object_set_new(doc, "records", json_integer((json_int_t)
							 in->records));
	json_object_set_new(doc, "through_seq", json_integer((json_int_t)
		(in->next_seq != 0 ? in->next_seq - 1 : 0)));
	json_object_set_new(doc, "last_record_ms", json_integer((json_int_t)
		(in->last_time_ns / 1000000u)));
}

static int status_of(int rc)
{
	switch (rc) {
	case -ENOENT:
		return 404;
	case -EINVAL:
	case -E2BIG:
		return 422;
	default:
		return 500;
	}
}

json_t *kc_admin_analytics_json(struct kc_admin *a, const char *what,
				const char *query, int *status,
				const char **why)
{
	struct kc_analytics *an = a->c.analytics;
	struct kc_analytics_info info;
	json_t *doc = NULL, *v = NULL;
	const char *key = NULL;
	uint32_t from = 0, to = 0, top = 0;
	bool present;
	int rc = 0;

	*status = 200;
	if (an == NULL) {
		*status = 404;
		*why = "analytics are off (analytics.enabled, or no ledger or "
		       "journal)";
		return NULL;
	}
	if (strcmp(what, "maxflow") == 0) {
		bool ok = account_var(query, "from", &from, &present) &&
			  account_var(query, "to", &to, &present);

		if (!ok) {
			*status = 400;
			*why = "maxflow needs ?from=ACCOUNT&to=ACCOUNT "
			       "(decimal account numbers)";
			return NULL;
		}
	} else if (strcmp(what, "flows") == 0) {
		if (!account_var(query, "top", &top, &present) && present) {
			*status = 400;
			*why = "flows?top=N: N a number of accounts (0: all)";
			return NULL;
		}
	} else if (strcmp(what, "kcore") != 0 && strcmp(what, "scc") != 0 &&
		   strcmp(what, "rank") != 0) {
		*status = 404;
		*why = "no such analysis (flows, maxflow, kcore, scc, rank)";
		return NULL;
	}
	if (kc_analytics_lock_within(an, LOCK_MS) != 0) {
		*status = 503;
		*why = "the analytics thread is busy (catching up on a busy "
		       "machine); try again";
		return NULL;
	}
	kc_analytics_info(an, &info);
	if (strcmp(what, "flows") == 0) {
		doc = kc_analytics_flows_json(an, top, &rc);
	} else {
		if (strcmp(what, "maxflow") == 0) {
			key = "maxflow";
			v = kc_analytics_maxflow_json(an, from, to, &rc);
		} else if (strcmp(what, "kcore") == 0) {
			key = "coreness";
			v = kc_analytics_kcore_json(an, &rc);
		} else if (strcmp(what, "scc") == 0) {
			key = "components";
			v = kc_analytics_scc_json(an, &rc);
		} else {
			key = "rank";
			if (kc_analytics_opinion(an) == NULL) {
				kc_analytics_unlock(an);
				*status = 404;
				*why = "no opinion graph: service calls are "
				       "off (services.enabled)";
				return NULL;
			}
			v = kc_analytics_rank_json(an, &rc);
		}
		if (v != NULL) {
			doc = json_object();
			json_object_set_new(doc, key, v);
		}
	}
	kc_analytics_unlock(an);
	if (doc == NULL) {
		*status = status_of(rc);
		*why = kc_analytics_error(rc);
		return NULL;
	}
	if (strcmp(what, "rank") == 0)
		json_object_set_new(doc, "outcomes_of_unknown_calls",
				    json_integer((json_int_t)
						 info.forgotten_calls));
	sample(doc, &info);
	return doc;
}
