/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The analytics of a journal (docs/analytics.md): the money-flow graph
 * (kc_flow) and the opinion graph of services (kc_opinion) fed from shard
 * 0's records, and the JSON documents of their analyses, one set of code
 * for `kcq graph` (offline) and the admin API /api/v1/analytics/ (live).
 *
 * Live, a control thread of the ledger's ("kc-analytics", beside
 * "kc-ledger") follows shard 0 of the running journal as `kcq tail -f`
 * does, feeding every record that is durable (kc_journal_durable_seq)
 * into the graphs: at start it reads the journal from its first record
 * (the graphs are rebuilt at every recovery), then it reads on every 200
 * ms. It reads files only, never the ledger or anything of an lcore: the
 * data path pays nothing for it. It reads records off the lock and feeds
 * them in chunks under it; the admin's handlers take the lock to answer
 * (giving up after 2 s), which holds up only this thread.
 *
 * Not thread-safe without kc_analytics_lock; control threads and kcq only,
 * never an lcore.
 */
#ifndef KC_ANALYTICS_H
#define KC_ANALYTICS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kc_flow.h"
#include "kc_jrec.h"
#include "kc_opinion.h"

struct kc_journal;

struct kc_analytics_limits {
	uint32_t max_vertices;	/* the money-flow graph's caps */
	uint32_t max_edges;	/* (and the opinion graph's pairs) */
	uint32_t max_calls;	/* calls remembered for their outcomes and
				 * reports; the oldest are forgotten */
	uint64_t call_keep_ns;	/* and forgotten this long after they were
				 * accepted (journal time); 0: never */
	bool opinions;		/* build the opinion graph too */
};

struct kc_analytics;

/* NULL if out of memory. */
struct kc_analytics *kc_analytics_create(const struct kc_analytics_limits *lim);
/* Stops the follower first, if one runs. */
void kc_analytics_free(struct kc_analytics *a);

/* Only the hops of [from_ns, to_ns) count in the money-flow graph. */
void kc_analytics_range(struct kc_analytics *a, uint64_t from_ns,
			uint64_t to_ns);

/*
 * One record of shard 0, in journal order: a LEDGER hop goes into the
 * money-flow graph; a CALL's acceptance (its REPLY record flagged HELD),
 * an OUTCOME, a problem REPORT and its OK REPLY into the opinion graph.
 * Other records are ignored. -EINVAL: a LEDGER record that is not a hop
 * record; otherwise 0.
 */
int kc_analytics_record(struct kc_analytics *a, const struct kc_jrec *h,
			const uint8_t *payload);

/* What was fed and what the graphs hold. */
struct kc_analytics_info {
	uint64_t records;	/* records fed */
	uint64_t next_seq;	/* the seq after the last fed (0: none) */
	uint64_t last_time_ns;	/* the last fed record's time */
	uint64_t sample_ns;	/* wall clock when the follower last
				 * caught up with the durable journal */
	bool caught_up;		/* the follower has read the journal up to
				 * its durable end at least once */
	uint64_t forgotten_calls;   /* outcomes or reports of calls no
				     * longer remembered (or accepted
				     * before the journal's start) */
	struct kc_flow_totals flow;
};
void kc_analytics_info(const struct kc_analytics *a,
		       struct kc_analytics_info *info);

/* The graphs, for the unit tests and kcq's GraphML and DOT. */
const struct kc_flow *kc_analytics_flow(const struct kc_analytics *a);
const struct kc_opinion *kc_analytics_opinion(const struct kc_analytics *a);

/*
 * The documents (docs/analytics.md has their members). NULL with a
 * negative errno in *rc: -ENOENT (an account not in the graph), -EINVAL
 * (maxflow from an account to itself; rank without the opinion graph),
 * -E2BIG (the graph is over its caps), -ENOMEM. kc_analytics_error names
 * the reason for people.
 *
 * flows: every vertex with its net flow, every edge, the value by kind,
 * the accounts with hidden money, the ten top payers, payees and services
 * by revenue (of the whole graph); with top > 0 only the top accounts by
 * value moved (in plus out) and the edges between them ("top" and
 * "vertices_total", "edges_total" then say so).
 */
json_t *kc_analytics_flows_json(const struct kc_analytics *a, uint32_t top,
				int *rc);
json_t *kc_analytics_maxflow_json(const struct kc_analytics *a, uint32_t from,
				  uint32_t to, int *rc);
json_t *kc_analytics_kcore_json(const struct kc_analytics *a, int *rc);
json_t *kc_analytics_scc_json(const struct kc_analytics *a, int *rc);
json_t *kc_analytics_rank_json(const struct kc_analytics *a, int *rc);
const char *kc_analytics_error(int rc);

/*
 * Follow shard_dir (shard 0 of the running journal j) on a thread of its
 * own, from the journal's first record. 0 or a negative errno.
 */
int kc_analytics_follow(struct kc_analytics *a, const char *shard_dir,
			const struct kc_journal *j);
/* The lock the follower holds while it feeds records: hold it around
 * kc_analytics_info and the documents while a follower runs. */
void kc_analytics_lock(struct kc_analytics *a);
/* The same, giving up after ms: 0 or -ETIMEDOUT (the follower runs at
 * SCHED_IDLE: on a busy control CPU it may hold the lock a while). */
int kc_analytics_lock_within(struct kc_analytics *a, uint32_t ms);
void kc_analytics_unlock(struct kc_analytics *a);

#endif /* KC_ANALYTICS_H */
