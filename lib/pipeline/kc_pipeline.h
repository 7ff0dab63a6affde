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

#define KC_MAX_PORTS KC_CFG_PORTS_MAX
#define KC_MAX_WORKERS KC_CFG_WORKERS_MAX
#define KC_BURST_MAX KC_CFG_BURST_MAX

/* A started port as the data path sees it. */
struct kc_pipeline_port {
	uint16_t port_id;
	uint16_t nb_rxq;	/* RX queues, spread over the RX lcores */
	uint32_t ip;		/* host byte order */
	uint32_t netmask;	/* host byte order */
	struct rte_ether_addr mac;
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

/* One line per data-path lcore: its roles, for the start-up banner. */
void kc_pipeline_describe(const struct kc_pipeline *p, char *out, size_t len);

#endif /* KC_PIPELINE_H */
