/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data path: poll-mode lcores that take bursts off the ports, answer ARP
 * and ICMP echo, validate and authenticate KCP requests, and hand them to the
 * worker that owns the request's queue, which executes the op and sends the
 * REPLY on its own TX queue (docs/architecture.md).
 *
 * Two shapes, chosen by the lcore map of the config:
 * - run-to-completion: one lcore polls, executes and replies, no ring;
 * - pipeline: RX lcores enqueue bursts into one rte_ring per worker lcore
 *   (multi-producer, single-consumer); queues are sharded over workers by a
 *   hash of their name, so each queue has exactly one owner.
 * Both call the same classify and execute functions, so they give the same
 * results for the same request sequence.
 */
#ifndef KC_PIPELINE_H
#define KC_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "kc_auth.h"
#include "kc_config.h"
#include "kc_journal.h"
#include "kc_ledger.h"
#include "kc_queue.h"
#include "kc_rx.h"
#include "kc_services.h"

struct kc_pipeline;
struct kc_worker_state;

/*
 * Build the pipeline: per-lcore state, worker rings and queue stores, all
 * allocated here and never again. NULL with a message in err. The workers'
 * state starts empty: recovery (lib/recovery) fills it from the journal
 * before kc_pipeline_launch.
 */
struct kc_pipeline *kc_pipeline_create(const struct kc_config *cfg,
				       const struct kc_keyring *keys,
				       const struct kc_rx_port *ports,
				       uint16_t nb_ports, char *err,
				       size_t err_len);

/* The workers' states, in worker order, for recovery: at most max, and
 * how many there are. */
uint32_t kc_pipeline_worker_states(struct kc_pipeline *p,
				   struct kc_worker_state **ws, uint32_t max);

/* Start every data-path lcore. 0 or a negative errno. */
int kc_pipeline_launch(struct kc_pipeline *p);

/* Ask the lcores to stop and wait for them; mbufs still in rings are freed. */
void kc_pipeline_stop(struct kc_pipeline *p);

void kc_pipeline_free(struct kc_pipeline *p);

/* ---- for the admin server: control threads, never the data path ---- */

enum kc_lcore_role {
	KC_ROLE_RX,		/* polls, hands requests to workers */
	KC_ROLE_WORKER,		/* executes what its ring brings */
	KC_ROLE_RTC,		/* both, run-to-completion */
};

struct kc_lcore_info {
	unsigned int lcore_id;
	enum kc_lcore_role role;
	uint32_t worker_idx;		/* workers and rtc */
	const struct rte_ring *ring;	/* a pipeline worker's input, or NULL */
};

/* Each worker's journal shard, as its lcore and I/O thread publish it. */
struct kc_shard_info {
	bool journal;			/* false: none configured */
	enum kc_journal_state state;
	uint64_t last_seq;
	uint64_t durable_seq;
	uint32_t held;			/* REPLYs waiting for the disk */
	struct kc_journal_stats st;
};

/*
 * What the data path publishes, read at once by a control thread (the
 * admin server's sampler, the main lcore's counters), without a lock the
 * data path takes: each value a little old, none torn.
 */
struct kc_pipeline_sample {
	uint32_t nb_lcores;
	struct kc_lcore_info lcores[KC_LCORES_MAX];
	uint32_t nb_workers;
	struct kc_shard_info shards[KC_WORKERS_MAX]; /* one per worker */
	struct kc_journal_stats journal;   /* the shards' I/O threads, summed */
	/* The ledger's counts as worker 0 last published them (at most a
	 * few milliseconds old); ledger false when it is off. Balances,
	 * coins and AUDIT go through KCP ops or kc_pipeline_ctl: the
	 * worker owns them. */
	bool ledger;
	struct kc_ledger_summary ledger_sum;
	/* kc_pipeline_drain's state, and the requests still on their way
	 * (in worker rings, REPLYs held for the disk, TRAILs at the
	 * ledger's control thread). */
	bool draining;
	uint64_t in_flight;
};
void kc_pipeline_sample(const struct kc_pipeline *p,
			struct kc_pipeline_sample *s);

/*
 * Control requests, carried out by the worker lcore that owns the state
 * in its poll loop (the admin thread never touches the data path's
 * tables): its queues with their consumers, a ledger AUDIT, snapshots now.
 */
enum kc_ctl_op {
	KC_CTL_QUEUES,
	KC_CTL_AUDIT,		/* worker 0 only */
	KC_CTL_SNAPSHOT,	/* ledger (worker 0) and a queue cycle now */
	KC_CTL_SERVICES,	/* worker 0 only: services, calls, reports */
	KC_CTL_RULE,		/* worker 0 only: rule on a call's held price */
};
/* A call as the admin API shows it. */
struct kc_ctl_call {
	uint8_t id[KC_CALL_ID_LEN];
	uint8_t state;		/* enum kc_call_state */
	bool problem;
	uint16_t status;	/* the caller's REPLY's, once answered */
	uint32_t caller, service;
	struct kc_name type;
	uint64_t price;
	uint64_t created_ns, completed_ns, deadline_ns;
};
struct kc_ctl_consumer {
	char name[KC_NAME_MAX + 1];
	uint64_t offset;
};
struct kc_ctl_queue {
	struct kc_queue_info info;
	struct kc_ctl_consumer *consumers;	/* max_consumers of them */
};
struct kc_ctl {
	enum kc_ctl_op op;
	/* KC_CTL_QUEUES: the caller's arrays, filled by the worker. */
	struct kc_ctl_queue *queues;
	uint32_t max_queues;
	uint32_t max_consumers;
	uint32_t nb_queues;
	/* KC_CTL_AUDIT */
	struct kc_audit audit;
	/* KC_CTL_SERVICES: the caller's arrays, filled by worker 0: the
	 * open calls, then the ones completed last. */
	struct kc_svc_info *svcs;
	uint32_t max_svcs, nb_svcs;
	struct kc_ctl_call *calls;
	uint32_t max_calls, nb_calls;
	struct kc_svc_report *reports;
	uint32_t max_reports, nb_reports;
	struct kc_services_summary svc_sum;
	uint64_t now_ns;		/* the worker's clock then */
	/* KC_CTL_RULE: in, the call and the ruling; out, SETTLE's REPLY. */
	uint8_t call_id[KC_CALL_ID_LEN];
	bool pay;
	uint16_t status;
	uint8_t settlement;
	uint64_t amount;
	char reason[KC_ERROR_TEXT_MAX + 1];
	int rc;				/* 0, or a negative errno */
	int done;			/* set by the worker, release */
};
/*
 * Hand msg to worker w and wait up to timeout_ms for it to be done. 0,
 * -ETIMEDOUT (msg then belongs to the worker: the caller must not free
 * it), -ENOBUFS (its ring is full) or -EINVAL. Callers serialise.
 */
int kc_pipeline_ctl(struct kc_pipeline *p, uint32_t w, struct kc_ctl *msg,
		    uint32_t timeout_ms);

/*
 * Drain: while on, requests that arrive are answered UNAVAILABLE (counter
 * refused_draining); those already taken in are carried out (the sample's
 * in_flight says how many are still on their way).
 */
void kc_pipeline_drain(struct kc_pipeline *p, bool on);

/* One line per data-path lcore: its roles, for the start-up banner. */
void kc_pipeline_describe(const struct kc_pipeline *p, char *out, size_t len);

#endif /* KC_PIPELINE_H */
