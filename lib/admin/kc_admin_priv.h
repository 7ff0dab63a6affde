/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to lib/admin: the sample every page, endpoint and metric is
 * rendered from, so the API and /metrics never compute a figure twice. */
#ifndef KC_ADMIN_PRIV_H
#define KC_ADMIN_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <rte_ethdev.h>

#include "kc_admin.h"
#include "kc_stats.h"

#define KC_ADMIN_QUEUES_MAX 16u	/* per port, shown one by one */

struct kc_admin_lcore {
	struct kc_lcore_info info;
	uint64_t busy_cycles;
	uint64_t total_cycles;
	uint64_t rx_packets;
	uint64_t kcp_requests;
	uint64_t kcp_replies;
	uint32_t ring_size;		/* 0: no ring */
	uint32_t ring_count;
	/* Over the last sampling interval. */
	double busy_pct;
	double rx_pps;
	double requests_per_s;
};

struct kc_admin_port_sample {
	bool link_up;
	uint32_t speed_mbps;
	uint32_t mbufs_in_use;		/* of its pool (shared by the ports
					 * of one NUMA socket) */
	uint32_t mbufs;
	struct rte_eth_stats st;
	double rx_pps, tx_pps, rx_bps, tx_bps;
};

/* What the sampler thread takes once a second. */
struct kc_admin_sample {
	uint64_t t_ns;			/* CLOCK_MONOTONIC */
	uint64_t wall_ns;
	uint64_t counters[KC_CTR_COUNT];
	uint64_t lat[KC_LAT_BUCKETS];
	uint32_t nb_lcores;
	struct kc_admin_lcore lcores[KC_LCORES_MAX];
	uint16_t nb_ports;
	struct kc_admin_port_sample ports[KC_PORTS_MAX];
	uint32_t nb_shards;
	struct kc_shard_info shards[KC_WORKERS_MAX];
	bool ledger;
	struct kc_ledger_summary ledger_sum;
	bool draining;
	uint64_t in_flight;
	/* Memory: the process's resident set, and the EAL's heaps (every
	 * socket's; with hugepages the RSS does not count them). */
	uint64_t rss_bytes;
	uint64_t heap_bytes, heap_allocated_bytes, heap_allocations;
	/* Over the last interval. */
	double requests_per_s;
	double replies_per_s;
	double drops_per_s;
	uint64_t lat_interval[KC_LAT_BUCKETS];	/* this interval's only */
	/* The file system of journal.dir (statvfs): bytes free to the
	 * appliance and its size. */
	bool journal_fs;
	uint64_t journal_fs_free, journal_fs_size;
};

/* A line of the recent-errors list (the page shows them). */
#define KC_ADMIN_EVENTS 32u
struct kc_admin_event {
	uint64_t wall_ns;
	char text[160];
};

struct kc_admin {
	struct kc_admin_ctx c;
	struct mg_context *mg;
	uint64_t start_wall_ns;
	uint64_t start_mono_ns;		/* uptime: immune to clock steps */
	struct kc_tls_front *tls_front;	/* HTTPS: TLS in front of civetweb */
	char token[256];
	size_t token_len;
	bool tls;
	/* The sampler. */
	pthread_t sampler;
	int quit;
	pthread_mutex_t lock;		/* the samples and events below */
	struct kc_admin_sample cur, prev;
	bool have_sample;
	struct kc_admin_event events[KC_ADMIN_EVENTS];
	uint32_t nb_events;		/* free-running */
	bool have_audit;
	struct kc_audit last_audit;
	uint64_t last_audit_wall_ns;
	/* Responses the handlers sent, by class: [2] 2xx .. [5] 5xx. */
	uint64_t responses[6];
	/* Control requests to workers go one at a time. */
	pthread_mutex_t ctl_lock;
};

/* Percentile q (0..1) of a latency histogram, in microseconds: the upper
 * bound of the bucket it falls in. 0 when empty. */
double kc_admin_lat_pct_us(const uint64_t lat[KC_LAT_BUCKETS], double q);
/* The upper bound of latency bucket b, in seconds. */
double kc_admin_lat_le_s(unsigned int b);

/* JSON of the endpoints (kc_admin_json.c), from a copy of the sample. */
json_t *kc_admin_json_status(struct kc_admin *a, const struct kc_admin_sample *s);
json_t *kc_admin_json_ports(struct kc_admin *a, const struct kc_admin_sample *s);
json_t *kc_admin_json_lcores(const struct kc_admin_sample *s);
json_t *kc_admin_json_rings(const struct kc_admin_sample *s);
json_t *kc_admin_json_stats(const struct kc_admin_sample *s);
json_t *kc_admin_json_latency(const struct kc_admin_sample *s);
json_t *kc_admin_json_journal(const struct kc_admin_sample *s);
json_t *kc_admin_json_ledger(struct kc_admin *a, const struct kc_admin_sample *s);
json_t *kc_admin_json_events(struct kc_admin *a);
json_t *kc_admin_json_audit(const struct kc_audit *au);

/* Prometheus text exposition of a sample (kc_admin_metrics.c); a malloc'd
 * string. */
char *kc_admin_metrics(struct kc_admin *a, const struct kc_admin_sample *s);

/* Service calls (kc_admin_services.c): the documents services, calls
 * and reports (NULL: worker 0 did not answer); their metrics appended to
 * out; the arbiter's ruling (a JSON body). */
json_t *kc_admin_services_json(struct kc_admin *a, const char *what);
/* /api/v1/analytics/WHAT?QUERY (kc_admin_analytics.c): NULL with the HTTP
 * status and its reason when there is no document. */
json_t *kc_admin_analytics_json(struct kc_admin *a, const char *what,
				const char *query, int *status,
				const char **why);
char *kc_admin_services_metrics(struct kc_admin *a, char *out);
json_t *kc_admin_rule(struct kc_admin *a, const char *body, size_t len,
		      int *status);

/* Point the telemetry commands at a (NULL: detach); registers them once. */
void kc_admin_telemetry_attach(struct kc_admin *a);

/* The status page, embedded (kc_status_page.c, from kc_status.html). */
extern const char kc_status_page_html[];
extern const size_t kc_status_page_html_len;

#endif /* KC_ADMIN_PRIV_H */
