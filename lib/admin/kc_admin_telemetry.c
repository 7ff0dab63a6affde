/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK telemetry commands beside /kingcobra/stats and /kingcobra/lcores
 * (lib/stats): /kingcobra/status, /kingcobra/journal, /kingcobra/ledger
 * and /kingcobra/latency, rendered from the admin server's latest sample,
 * as the JSON API is. Telemetry callbacks carry no user data: the running
 * admin server is kept in one pointer (one per process).
 */
#include <stdio.h>
#include <stdlib.h>

#include <rte_telemetry.h>

#include "kc_admin_priv.h"

static struct kc_admin *tel_admin;

static struct kc_admin_sample *tel_sample(void)
{
	struct kc_admin *a = __atomic_load_n(&tel_admin, __ATOMIC_ACQUIRE);
	struct kc_admin_sample *s;

	if (a == NULL || (s = malloc(sizeof(*s))) == NULL)
		return NULL;
	pthread_mutex_lock(&a->lock);
	*s = a->cur;
	pthread_mutex_unlock(&a->lock);
	return s;
}

static int tel_status(const char *cmd, const char *params,
		      struct rte_tel_data *d)
{
	struct kc_admin_sample *s = tel_sample();

	if (s == NULL)
		return -ENODEV;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", KC_VERSION);
	rte_tel_data_add_dict_u64(d, "draining", s->draining);
	rte_tel_data_add_dict_u64(d, "in_flight", s->in_flight);
	rte_tel_data_add_dict_u64(d, "requests_per_s",
				  (uint64_t)s->requests_per_s);
	rte_tel_data_add_dict_u64(d, "drops_per_s", (uint64_t)s->drops_per_s);
	free(s);
	return 0;
}

static int tel_journal(const char *cmd, const char *params,
		       struct rte_tel_data *d)
{
	struct kc_admin_sample *s = tel_sample();

	if (s == NULL)
		return -ENODEV;
	rte_tel_data_start_dict(d);
	for (uint32_t i = 0; i < s->nb_shards; i++) {
		const struct kc_shard_info *sh = &s->shards[i];
		struct rte_tel_data *o = rte_tel_data_alloc();
		char key[16];

		if (o == NULL)
			break;
		rte_tel_data_start_dict(o);
		rte_tel_data_add_dict_u64(o, "state", sh->state);
		rte_tel_data_add_dict_u64(o, "last_seq", sh->last_seq);
		rte_tel_data_add_dict_u64(o, "durable_seq", sh->durable_seq);
		rte_tel_data_add_dict_u64(o, "held_replies", sh->held);
		rte_tel_data_add_dict_u64(o, "groups", sh->st.groups);
		rte_tel_data_add_dict_u64(o, "fsyncs", sh->st.fsyncs);
		rte_tel_data_add_dict_u64(o, "last_fsync_us",
					  sh->st.fsync_ns_last / 1000);
		rte_tel_data_add_dict_u64(o, "bytes_written",
					  sh->st.bytes_written);
		snprintf(key, sizeof(key), "shard%u", i);
		rte_tel_data_add_dict_container(d, key, o, 0);
	}
	free(s);
	return 0;
}

static int tel_ledger(const char *cmd, const char *params,
		      struct rte_tel_data *d)
{
	struct kc_admin_sample *s = tel_sample();

	if (s == NULL)
		return -ENODEV;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "enabled", s->ledger);
	if (s->ledger) {
		rte_tel_data_add_dict_u64(d, "accounts", s->ledger_sum.accounts);
		rte_tel_data_add_dict_u64(d, "live_coins",
					  s->ledger_sum.live_coins);
		rte_tel_data_add_dict_u64(d, "dead_coins",
					  s->ledger_sum.dead_coins);
		rte_tel_data_add_dict_u64(d, "supply", s->ledger_sum.supply);
		rte_tel_data_add_dict_u64(d, "mutations",
					  s->ledger_sum.mutations);
	}
	free(s);
	return 0;
}

static int tel_latency(const char *cmd, const char *params,
		       struct rte_tel_data *d)
{
	struct kc_admin_sample *s = tel_sample();

	if (s == NULL)
		return -ENODEV;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "p50_ns", (uint64_t)(1000 *
		kc_admin_lat_pct_us(s->lat_interval, 0.50)));
	rte_tel_data_add_dict_u64(d, "p99_ns", (uint64_t)(1000 *
		kc_admin_lat_pct_us(s->lat_interval, 0.99)));
	rte_tel_data_add_dict_u64(d, "p50_ns_since_start", (uint64_t)(1000 *
		kc_admin_lat_pct_us(s->lat, 0.50)));
	rte_tel_data_add_dict_u64(d, "p99_ns_since_start", (uint64_t)(1000 *
		kc_admin_lat_pct_us(s->lat, 0.99)));
	free(s);
	return 0;
}

void kc_admin_telemetry_attach(struct kc_admin *a)
{
	static bool registered;

	__atomic_store_n(&tel_admin, a, __ATOMIC_RELEASE);
	if (registered || a == NULL)
		return;
	registered = true;
	/* Failures only mean the commands are missing (no telemetry). */
	rte_telemetry_register_cmd("/kingcobra/status", tel_status,
		"Health: draining, requests in flight, request and drop "
		"rates. No parameters");
	rte_telemetry_register_cmd("/kingcobra/journal", tel_journal,
		"Per journal shard: state, last and durable seq, group "
		"commits, fsyncs. No parameters");
	rte_telemetry_register_cmd("/kingcobra/ledger", tel_ledger,
		"The ledger: accounts, LIVE and DEAD coins, supply, "
		"mutations. No parameters");
	rte_telemetry_register_cmd("/kingcobra/latency", tel_latency,
		"Request service time percentiles, last second and since "
		"start. No parameters");
}
