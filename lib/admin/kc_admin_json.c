/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON API's documents (docs/admin.md, "JSON API"), each built with
 * jansson from one sample the sampler thread took, so two endpoints read
 * at the same time agree.
 */
#include <math.h>
#include <stdio.h>

#include <rte_ethdev.h>

#include "kc_admin_priv.h"

static json_t *u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *num(double v)
{
	/* Two decimals are plenty for rates and percentages. */
	return json_real(round(v * 100.0) / 100.0);
}

/* Every journal shard writes (none full or failed). */
static bool healthy(const struct kc_admin_sample *s)
{
	for (uint32_t i = 0; i < s->nb_shards; i++)
		if (s->shards[i].journal && s->shards[i].state != KC_JOURNAL_OK)
			return false;
	return true;
}

json_t *kc_admin_json_status(struct kc_admin *a, const struct kc_admin_sample *s)
{
	const struct kc_config *cfg = a->c.cfg;

	return json_pack("{s:s, s:I, s:s, s:s, s:b, s:b, s:b, s:I, s:I, "
			 "s:{s:o, s:o, s:o, s:o}}",
		"version", KC_VERSION,
		"uptime_s", (json_int_t)((s->t_ns - a->start_mono_ns) /
					 1000000000ull),
		"config", cfg->source,
		"durability", cfg->journal.dir[0] == '\0' ? "off" :
			cfg->journal.durability == KC_CFG_DURABILITY_BATCH ?
			"batch" : "none",
		"production", cfg->production,
		"draining", s->draining,
		"healthy", healthy(s),
		"time_ms", (json_int_t)(s->wall_ns / 1000000ull),
		"in_flight", (json_int_t)s->in_flight,
		"memory",
		"rss_bytes", u64(s->rss_bytes),
		"heap_bytes", u64(s->heap_bytes),
		"heap_allocated_bytes", u64(s->heap_allocated_bytes),
		"heap_allocations", u64(s->heap_allocations));
}

json_t *kc_admin_json_ports(struct kc_admin *a, const struct kc_admin_sample *s)
{
	json_t *arr = json_array();

	for (uint16_t i = 0; i < s->nb_ports; i++) {
		const struct kc_admin_port *cp = &a->c.ports[i];
		const struct kc_admin_port_sample *ps = &s->ports[i];
		json_t *queues = json_array();
		json_t *o;

		for (uint16_t q = 0; q < cp->nb_rxq && q < KC_ADMIN_QUEUES_MAX &&
				     q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++)
			json_array_append_new(queues, json_pack(
				"{s:i, s:o, s:o, s:o, s:o}", "queue", q,
				"rx_packets", u64(ps->st.q_ipackets[q]),
				"rx_bytes", u64(ps->st.q_ibytes[q]),
				"tx_packets", u64(ps->st.q_opackets[q]),
				"tx_bytes", u64(ps->st.q_obytes[q])));
		o = json_pack("{s:s, s:i, s:s, s:b, s:I, s:o, s:o, s:o, s:o, "
			      "s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			"name", cp->name, "port_id", cp->port_id,
			"driver", cp->driver, "link_up", ps->link_up,
			"speed_mbps", (json_int_t)ps->speed_mbps,
			"rx_packets", u64(ps->st.ipackets),
			"tx_packets", u64(ps->st.opackets),
			"rx_bytes", u64(ps->st.ibytes),
			"tx_bytes", u64(ps->st.obytes),
			"rx_errors", u64(ps->st.ierrors),
			"tx_errors", u64(ps->st.oerrors),
			"rx_missed", u64(ps->st.imissed),
			"rx_nombuf", u64(ps->st.rx_nombuf),
			"rx_pps", num(ps->rx_pps), "tx_pps", num(ps->tx_pps),
			"rx_bps", num(ps->rx_bps), "tx_bps", num(ps->tx_bps),
			"queues", queues);
		json_object_set_new(o, "numa_socket",
				    json_integer(cp->socket_id));
		json_object_set_new(o, "mbufs", json_pack("{s:I, s:I}",
			"in_use", (json_int_t)ps->mbufs_in_use,
			"size", (json_int_t)ps->mbufs));
		json_object_set_new(o, "checksum_offload", json_pack(
			"{s:b, s:b}", "rx", cp->rx_cksum, "tx", cp->tx_cksum));
		json_object_set_new(o, "exception", cp->exception_iface[0] ?
			json_pack("{s:s, s:s}", "iface", cp->exception_iface,
				  "flow_steering", cp->flow) :
			json_null());
		json_array_append_new(arr, o);
	}
	return json_pack("{s:o}", "ports", arr);
}

static const char *role_name(enum kc_lcore_role r)
{
	return r == KC_ROLE_RTC ? "rx+worker" :
	       r == KC_ROLE_WORKER ? "worker" : "rx";
}

json_t *kc_admin_json_lcores(const struct kc_admin_sample *s)
{
	json_t *arr = json_array();

	for (uint32_t i = 0; i < s->nb_lcores; i++) {
		const struct kc_admin_lcore *l = &s->lcores[i];

		json_array_append_new(arr, json_pack(
			"{s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
			"lcore", (int)l->info.lcore_id,
			"role", role_name(l->info.role),
			"worker", l->info.role == KC_ROLE_RX ? json_null() :
				json_integer(l->info.worker_idx),
			"busy_pct", num(l->busy_pct),
			"rx_pps", num(l->rx_pps),
			"requests_per_s", num(l->requests_per_s),
			"busy_cycles", u64(l->busy_cycles),
			"total_cycles", u64(l->total_cycles)));
	}
	return json_pack("{s:o}", "lcores", arr);
}

json_t *kc_admin_json_rings(const struct kc_admin_sample *s)
{
	json_t *arr = json_array();

	for (uint32_t i = 0; i < s->nb_lcores; i++) {
		const struct kc_admin_lcore *l = &s->lcores[i];

		if (l->ring_size == 0)
			continue;
		json_array_append_new(arr, json_pack(
			"{s:s, s:i, s:i, s:I, s:I, s:o}",
			"name", l->info.ring->name, "worker",
			(int)l->info.worker_idx, "lcore", (int)l->info.lcore_id,
			"size", (json_int_t)l->ring_size,
			"count", (json_int_t)l->ring_count,
			"fill_pct", num(100.0 * l->ring_count / l->ring_size)));
	}
	/* Enqueue failures are counted by the RX lcores, not per ring. */
	return json_pack("{s:o, s:o}", "rings", arr, "enqueue_failures",
			 u64(s->counters[KC_CTR_drop_ring_full]));
}

json_t *kc_admin_json_stats(const struct kc_admin_sample *s)
{
	json_t *c = json_object(), *d = json_object();

	for (unsigned int i = 0; i < KC_CTR_COUNT; i++) {
		const char *n = kc_counter_name(i);

		json_object_set_new(c, n, u64(s->counters[i]));
		if (strncmp(n, "drop_", 5) == 0)
			json_object_set_new(d, n + 5, u64(s->counters[i]));
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "counters", c,
			 "drops_by_reason", d,
			 "drops", u64(kc_stats_drops(s->counters)),
			 "requests_per_s", num(s->requests_per_s),
			 "replies_per_s", num(s->replies_per_s),
			 "drops_per_s", num(s->drops_per_s));
}

/* Buckets up to the last non-empty one, with their upper bounds. */
static json_t *histogram(const uint64_t lat[KC_LAT_BUCKETS])
{
	json_t *arr = json_array();
	int last = -1;

	for (unsigned int b = 0; b < KC_LAT_BUCKETS; b++)
		if (lat[b] != 0)
			last = (int)b;
	for (int b = 0; b <= last; b++)
		json_array_append_new(arr, json_pack("{s:o, s:o}",
			"le_us", json_real(kc_admin_lat_le_s((unsigned int)b) *
					   1e6),
			"count", u64(lat[b])));
	return arr;
}

static json_t *percentiles(const uint64_t lat[KC_LAT_BUCKETS])
{
	return json_pack("{s:o, s:o, s:o, s:o}",
			 "p50_us", num(kc_admin_lat_pct_us(lat, 0.50)),
			 "p90_us", num(kc_admin_lat_pct_us(lat, 0.90)),
			 "p99_us", num(kc_admin_lat_pct_us(lat, 0.99)),
			 "p999_us", num(kc_admin_lat_pct_us(lat, 0.999)));
}

json_t *kc_admin_json_latency(const struct kc_admin_sample *s)
{
	uint64_t n = 0, ni = 0;

	for (unsigned int b = 0; b < KC_LAT_BUCKETS; b++) {
		n += s->lat[b];
		ni += s->lat_interval[b];
	}
	return json_pack("{s:s, s:{s:o, s:o, s:o}, s:{s:o, s:o, s:o}}",
		"what", "request service time: RX burst to the REPLY's TX, "
			"held REPLYs included; log2 buckets of TSC cycles",
		"since_start", "count", u64(n), "percentiles", percentiles(s->lat),
		"histogram", histogram(s->lat),
		"last_interval", "count", u64(ni),
		"percentiles", percentiles(s->lat_interval),
		"histogram", histogram(s->lat_interval));
}

json_t *kc_admin_json_journal(const struct kc_admin_sample *s)
{
	json_t *arr = json_array();

	for (uint32_t i = 0; i < s->nb_shards; i++) {
		const struct kc_shard_info *sh = &s->shards[i];
		static const char *const states[] = { "ok", "full", "failed" };

		if (!sh->journal)
			continue;
		json_array_append_new(arr, json_pack(
			"{s:i, s:s, s:o, s:o, s:i, s:o, s:o, s:o, s:o, s:o, "
			"s:o, s:o, s:o, s:o, s:o, s:o}",
			"shard", (int)i, "state", states[sh->state],
			"last_seq", u64(sh->last_seq),
			"durable_seq", u64(sh->durable_seq),
			"held_replies", (int)sh->held,
			"groups", u64(sh->st.groups),
			"last_group_records", u64(sh->st.group_records_last),
			"max_group_records", u64(sh->st.group_records_max),
			"bytes_written", u64(sh->st.bytes_written),
			"fsyncs", u64(sh->st.fsyncs),
			"last_fsync_us", u64(sh->st.fsync_ns_last / 1000),
			"max_fsync_us", u64(sh->st.fsync_ns_max / 1000),
			"current_segment", u64(sh->st.current_segment),
			"segments_created", u64(sh->st.segments_created),
			"segments_deleted", u64(sh->st.segments_deleted),
			"write_errors", u64(sh->st.write_errors)));
	}
	return json_pack("{s:o}", "shards", arr);
}

json_t *kc_admin_json_audit(const struct kc_audit *au)
{
	return json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:i, s:i}",
			 "ok", au->ok, "minted", u64(au->minted),
			 "burnt", u64(au->burnt), "live_sum", u64(au->live_sum),
			 "live_coins", u64(au->live_coins),
			 "dead_coins", u64(au->dead_coins),
			 "accounts", (int)au->accounts,
			 "violations", (int)au->violations);
}

json_t *kc_admin_json_ledger(struct kc_admin *a, const struct kc_admin_sample *s)
{
	const struct kc_ledger_summary *l = &s->ledger_sum;
	json_t *audit = json_null();

	if (!s->ledger)
		return json_pack("{s:b}", "enabled", 0);
	pthread_mutex_lock(&a->lock);
	if (a->have_audit) {
		audit = kc_admin_json_audit(&a->last_audit);
		json_object_set_new(audit, "time_ms",
				    u64(a->last_audit_wall_ns / 1000000u));
	}
	pthread_mutex_unlock(&a->lock);
	return json_pack("{s:b, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "enabled", 1, "accounts", (int)l->accounts,
			 "live_coins", u64(l->live_coins),
			 "dead_coins", u64(l->dead_coins),
			 "supply", u64(l->supply),
			 "next_coin", u64(l->next_coin),
			 "mutations", u64(l->mutations),
			 "reaped", u64(l->reaped),
			 "last_audit", audit);
}

json_t *kc_admin_json_events(struct kc_admin *a)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&a->lock);
	for (uint32_t i = a->nb_events > KC_ADMIN_EVENTS ?
			  a->nb_events - KC_ADMIN_EVENTS : 0;
	     i < a->nb_events; i++) {
		const struct kc_admin_event *e = &a->events[i % KC_ADMIN_EVENTS];

		json_array_append_new(arr, json_pack("{s:o, s:s}", "time_ms",
			u64(e->wall_ns / 1000000u), "text", e->text));
	}
	pthread_mutex_unlock(&a->lock);
	return json_pack("{s:o}", "events", arr);
}
