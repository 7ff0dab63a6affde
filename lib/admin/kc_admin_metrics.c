/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Prometheus text exposition (format 0.0.4) of one sample: every metric
 * with its HELP and TYPE lines, names kingcobra_..., counters ending in
 * _total, durations in seconds. docs/admin.md lists them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "kc_admin_priv.h"

static void head(FILE *f, const char *name, const char *type,
		 const char *help)
{
	fprintf(f, "# HELP kingcobra_%s %s\n# TYPE kingcobra_%s %s\n", name,
		help, name, type);
}

static void one(FILE *f, const char *name, const char *type,
		const char *help, double v)
{
	head(f, name, type, help);
	fprintf(f, "kingcobra_%s %.17g\n", name, v);
}

/* Label values here are names of the config (ports, lcores): no quote
 * or backslash can be in them (the config's character sets). */
static void counters(FILE *f, const struct kc_admin_sample *s)
{
	for (unsigned int i = 0; i < KC_CTR_COUNT; i++) {
		char name[80];

		snprintf(name, sizeof(name), "%s_total", kc_counter_name(i));
		one(f, name, "counter", kc_counter_desc(i),
		    (double)s->counters[i]);
	}
}

static void lcores(FILE *f, const struct kc_admin_sample *s)
{
	static const char *const roles[] = { "rx", "worker", "rx+worker" };

	head(f, "lcore_busy_ratio", "gauge", "share of the last second's "
	     "poll-loop cycles spent on polls that found work");
	for (uint32_t i = 0; i < s->nb_lcores; i++)
		fprintf(f, "kingcobra_lcore_busy_ratio{lcore=\"%u\",role=\"%s\"} "
			"%.4f\n", s->lcores[i].info.lcore_id,
			roles[s->lcores[i].info.role],
			s->lcores[i].busy_pct / 100.0);
	head(f, "lcore_requests_per_second", "gauge", "KCP requests the "
	     "lcore took in over the last second");
	for (uint32_t i = 0; i < s->nb_lcores; i++)
		fprintf(f, "kingcobra_lcore_requests_per_second{lcore=\"%u\"} "
			"%.2f\n", s->lcores[i].info.lcore_id,
			s->lcores[i].requests_per_s);
	head(f, "ring_entries", "gauge", "requests waiting in a worker's "
	     "ring");
	for (uint32_t i = 0; i < s->nb_lcores; i++)
		if (s->lcores[i].ring_size != 0)
			fprintf(f, "kingcobra_ring_entries{worker=\"%u\"} %u\n",
				s->lcores[i].info.worker_idx,
				s->lcores[i].ring_count);
	head(f, "ring_capacity", "gauge", "entries a worker's ring holds");
	for (uint32_t i = 0; i < s->nb_lcores; i++)
		if (s->lcores[i].ring_size != 0)
			fprintf(f, "kingcobra_ring_capacity{worker=\"%u\"} %u\n",
				s->lcores[i].info.worker_idx,
				s->lcores[i].ring_size);
}

static void ports(FILE *f, struct kc_admin *a, const struct kc_admin_sample *s)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} m[] = {
#define P(n, fld, h) { n, h, offsetof(struct rte_eth_stats, fld) }
		P("port_rx_packets_total", ipackets, "frames the port received"),
		P("port_tx_packets_total", opackets, "frames the port sent"),
		P("port_rx_bytes_total", ibytes, "bytes the port received"),
		P("port_tx_bytes_total", obytes, "bytes the port sent"),
		P("port_rx_missed_total", imissed, "frames the port dropped "
		  "before an lcore saw them"),
		P("port_rx_errors_total", ierrors, "frames received with errors"),
		P("port_tx_errors_total", oerrors, "frames that failed to go"),
		P("port_rx_nombuf_total", rx_nombuf, "receives without a free "
		  "mbuf"),
#undef P
	};

	head(f, "port_link_up", "gauge", "1 when the port's link is up");
	for (uint16_t i = 0; i < s->nb_ports; i++)
		fprintf(f, "kingcobra_port_link_up{port=\"%s\"} %d\n",
			a->c.ports[i].name, s->ports[i].link_up ? 1 : 0);
	head(f, "port_mbufs_in_use", "gauge", "mbufs of the port's pool in "
	     "use (a pool serves the ports of one NUMA socket)");
	for (uint16_t i = 0; i < s->nb_ports; i++)
		fprintf(f, "kingcobra_port_mbufs_in_use{port=\"%s\"} %u\n",
			a->c.ports[i].name, s->ports[i].mbufs_in_use);
	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		head(f, m[k].name, "counter", m[k].help);
		for (uint16_t i = 0; i < s->nb_ports; i++) {
			uint64_t v;

			memcpy(&v, (const uint8_t *)&s->ports[i].st + m[k].off,
			       sizeof(v));
			fprintf(f, "kingcobra_%s{port=\"%s\"} %llu\n",
				m[k].name, a->c.ports[i].name,
				(unsigned long long)v);
		}
	}
}

static void journal(FILE *f, const struct kc_admin_sample *s)
{
	static const struct {
		const char *name, *type, *help;
	} m[] = {
		{ "journal_last_seq", "gauge", "seq of the last record appended" },
		{ "journal_durable_seq", "gauge", "seq up to which every record "
		  "is on disk" },
		{ "journal_held_replies", "gauge", "REPLYs waiting for their "
		  "records to be on disk" },
		{ "journal_groups_total", "counter", "group commits" },
		{ "journal_written_bytes_total", "counter", "bytes written to "
		  "segments" },
		{ "journal_fsyncs_total", "counter", "fdatasync calls" },
		{ "journal_last_fsync_seconds", "gauge", "how long the last "
		  "group's fdatasync took" },
		{ "journal_last_group_records", "gauge", "records in the last "
		  "group commit" },
		{ "journal_write_errors_total", "counter", "failed writes or "
		  "syncs" },
		{ "journal_full", "gauge", "1 while the shard has no "
		  "preallocated room left (disk full: PUBLISH refused "
		  "STORAGE_FULL)" },
		{ "journal_failed", "gauge", "1 once a write or sync failed: "
		  "every request is refused STORAGE_FAILED until a restart" },
	};

	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		head(f, m[k].name, m[k].type, m[k].help);
		for (uint32_t i = 0; i < s->nb_shards; i++) {
			const struct kc_shard_info *sh = &s->shards[i];
			double v[] = {
				(double)sh->last_seq, (double)sh->durable_seq,
				sh->held, (double)sh->st.groups,
				(double)sh->st.bytes_written,
				(double)sh->st.fsyncs,
				(double)sh->st.fsync_ns_last / 1e9,
				(double)sh->st.group_records_last,
				(double)sh->st.write_errors,
				sh->state == KC_JOURNAL_FULL,
				sh->state == KC_JOURNAL_FAILED,
			};

			if (sh->journal)
				fprintf(f, "kingcobra_%s{shard=\"%u\"} %.17g\n",
					m[k].name, i, v[k]);
		}
	}
}

/* The admin server's own answers, and the last ledger AUDIT. */
static void admin(FILE *f, struct kc_admin *a)
{
	static const char *const cls[] = { NULL, NULL, "2xx", "3xx", "4xx",
					   "5xx" };
	struct kc_audit au;
	uint64_t at_ns;
	bool have;

	head(f, "admin_responses_total", "counter", "responses of the admin "
	     "server's handlers, by status class");
	for (unsigned int c = 2; c < 6; c++)
		fprintf(f, "kingcobra_admin_responses_total{code=\"%s\"} %llu\n",
			cls[c], (unsigned long long)__atomic_load_n(
				&a->responses[c], __ATOMIC_RELAXED));
	pthread_mutex_lock(&a->lock);
	have = a->have_audit;
	au = a->last_audit;
	at_ns = a->last_audit_wall_ns;
	pthread_mutex_unlock(&a->lock);
	if (!have)
		return;
	one(f, "ledger_audit_ok", "gauge", "1 if the last ledger AUDIT "
	    "(POST /api/v1/actions/audit) held, 0 if it found violations",
	    au.ok && au.violations == 0);
	one(f, "ledger_audit_violations", "gauge", "violations the last "
	    "ledger AUDIT found", au.violations);
	one(f, "ledger_audit_timestamp_seconds", "gauge", "when the last "
	    "ledger AUDIT ran (Unix time)", (double)at_ns / 1e9);
}

static void latency(FILE *f, const struct kc_admin_sample *s)
{
	uint64_t acc = 0;

	head(f, "request_duration_seconds", "histogram", "request service "
	     "time, from the RX burst to the REPLY's TX (held REPLYs "
	     "included)");
	for (unsigned int b = 0; b < KC_LAT_BUCKETS; b++) {
		acc += s->lat[b];
		fprintf(f, "kingcobra_request_duration_seconds_bucket"
			"{le=\"%.9g\"} %llu\n", kc_admin_lat_le_s(b),
			(unsigned long long)acc);
	}
	fprintf(f, "kingcobra_request_duration_seconds_bucket{le=\"+Inf\"} "
		"%llu\n", (unsigned long long)acc);
	fprintf(f, "kingcobra_request_duration_seconds_sum %.9g\n",
		(double)s->counters[KC_CTR_service_cycles] /
		(double)rte_get_tsc_hz());
	fprintf(f, "kingcobra_request_duration_seconds_count %llu\n",
		(unsigned long long)acc);
}

char *kc_admin_metrics(struct kc_admin *a, const struct kc_admin_sample *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	head(f, "build_info", "gauge", "always 1; the version in a label");
	fprintf(f, "kingcobra_build_info{version=\"%s\"} 1\n", KC_VERSION);
	one(f, "uptime_seconds", "gauge", "seconds since the admin server "
	    "started", (double)(s->t_ns - a->start_mono_ns) / 1e9);
	one(f, "draining", "gauge", "1 while an operator drains the "
	    "appliance", s->draining);
	one(f, "in_flight_requests", "gauge", "requests taken in and not "
	    "answered yet", (double)s->in_flight);
	one(f, "resident_memory_bytes", "gauge", "the process's resident "
	    "set (without hugepages)", (double)s->rss_bytes);
	one(f, "heap_bytes", "gauge", "the EAL's heaps, every socket's",
	    (double)s->heap_bytes);
	one(f, "heap_allocated_bytes", "gauge", "allocated from the EAL's "
	    "heaps", (double)s->heap_allocated_bytes);
	one(f, "heap_allocations", "gauge", "allocations held in the "
	    "EAL's heaps", (double)s->heap_allocations);
	counters(f, s);
	lcores(f, s);
	ports(f, a, s);
	journal(f, s);
	if (s->journal_fs) {
		one(f, "journal_filesystem_free_bytes", "gauge", "bytes free "
		    "to the appliance on journal.dir's file system",
		    (double)s->journal_fs_free);
		one(f, "journal_filesystem_size_bytes", "gauge", "the size of "
		    "journal.dir's file system", (double)s->journal_fs_size);
	}
	latency(f, s);
	admin(f, a);
	if (s->ledger) {
		one(f, "ledger_accounts", "gauge", "accounts that hold or held "
		    "coins", s->ledger_sum.accounts);
		one(f, "ledger_live_coins", "gauge", "LIVE coins",
		    (double)s->ledger_sum.live_coins);
		one(f, "ledger_dead_coins", "gauge", "DEAD coins not reaped "
		    "yet", (double)s->ledger_sum.dead_coins);
		one(f, "ledger_supply", "gauge", "minted minus burnt",
		    (double)s->ledger_sum.supply);
		one(f, "ledger_mutations_total", "counter", "ledger mutations "
		    "applied since start", (double)s->ledger_sum.mutations);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
