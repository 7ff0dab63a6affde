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

#define KC_MAX_PORTS KC_CFG_PORTS_MAX
#define KC_MAX_WORKERS KC_CFG_WORKERS_MAX
#define KC_BURST_MAX KC_CFG_BURST_MAX

#define KC_NO_QUEUE UINT16_MAX

/* A started port as the data path sees it. */
struct kc_pipeline_port {
	uint16_t port_id;
	uint16_t nb_rxq;	/* RX queues, spread over the RX lcores */
	uint32_t ip;		/* host byte order */
	uint32_t netmask;	/* host byte order */
	struct rte_ether_addr mac;
	bool tx_cksum;		/* the NIC fills in REPLYs' IPv4/UDP sums */
	/*
	 * Exception path (NULL rings: off). Frames the appliance does not
	 * handle go to exc_in (any RX lcore enqueues); the first RX lcore
	 * sends what the kernel wrote, from exc_out, on its TX queue. With
	 * flow steering, non-KCP frames arrive on RX queue exc_rxq, which
	 * the first RX lcore also polls and hands to exc_in unread.
	 */
	struct rte_ring *exc_in;
	struct rte_ring *exc_out;
	uint16_t exc_rxq;	/* KC_NO_QUEUE: no steering */
};

struct kc_pipeline;

/*
 * Build the pipeline: per-lcore state, worker rings and queue stores, all
 * allocated here and never again. NULL with a message in err.
 */
struct kc_pipeline *kc_pipeline_create(const struct kc_config *cfg,
				       const struct kc_keyring *keys,
				       const struct kc_pipeline_port *ports,
				       uint16_t nb_ports, char *err,
				       size_t err_len);

/* Start every data-path lcore. 0 or a negative errno. */
int kc_pipeline_launch(struct kc_pipeline *p);

/* Ask the lcores to stop and wait for them; mbufs still in rings are freed. */
void kc_pipeline_stop(struct kc_pipeline *p);

void kc_pipeline_free(struct kc_pipeline *p);

/* The journal I/O threads' figures, summed over the workers' shards. */
void kc_pipeline_journal_stats(const struct kc_pipeline *p,
			       struct kc_journal_stats *sum);

/*
 * The ledger's counts as worker 0 last published them (at most a few
 * milliseconds old), read without a lock the data path takes. False when
 * the ledger is off. Balances, coins and AUDIT are read through KCP ops
 * (or the worker's ring, for the admin server): the worker owns them.
 */
bool kc_pipeline_ledger_summary(const struct kc_pipeline *p,
				struct kc_ledger_summary *s);

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
/* The data-path lcores, at most max; how many there are. */
uint32_t kc_pipeline_lcores(const struct kc_pipeline *p,
			    struct kc_lcore_info *out, uint32_t max);

/* Each worker's journal shard, as its lcore and I/O thread publish it. */
struct kc_shard_info {
	bool journal;			/* false: none configured */
	enum kc_journal_state state;
	uint64_t last_seq;
	uint64_t durable_seq;
	uint32_t held;			/* REPLYs waiting for the disk */
	struct kc_journal_stats st;
};
uint32_t kc_pipeline_shards(const struct kc_pipeline *p,
			    struct kc_shard_info *out, uint32_t max);

/*
 * Control requests, carried out by the worker lcore that owns the state
 * in its poll loop (the admin thread never touches the data path's
 * tables): its queues with their consumers, a ledger AUDIT, snapshots now.
 */
enum kc_ctl_op {
	KC_CTL_QUEUES,
	KC_CTL_AUDIT,		/* worker 0 only */
	KC_CTL_SNAPSHOT,	/* ledger (worker 0) and a queue cycle now */
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
uint32_t kc_pipeline_workers(const struct kc_pipeline *p);

/*
 * Drain: while on, requests that arrive are answered UNAVAILABLE (counter
 * refused_draining); those already taken in are carried out. in_flight
 * says how many are still on their way (in worker rings, REPLYs held for
 * the disk, TRAILs at the control thread).
 */
void kc_pipeline_drain(struct kc_pipeline *p, bool on);
bool kc_pipeline_draining(const struct kc_pipeline *p);
uint64_t kc_pipeline_in_flight(const struct kc_pipeline *p);

/* One line per data-path lcore: its roles, for the start-up banner. */
void kc_pipeline_describe(const struct kc_pipeline *p, char *out, size_t len);

#endif /* KC_PIPELINE_H */
