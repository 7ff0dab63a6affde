/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to lib/pipeline (and its unit tests): the stage functions shared by
 * run-to-completion and pipelined lcores.
 */
#ifndef KC_PIPELINE_PRIV_H
#define KC_PIPELINE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "kc_auth.h"
#include "kc_pipeline.h"
#include "kc_queue.h"
#include "kc_stats.h"

/* Offsets of a single-segment IPv4/UDP frame without options. */
#define KC_L2_LEN ((uint16_t)sizeof(struct rte_ether_hdr))
#define KC_L3_LEN ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define KC_L4_LEN ((uint16_t)sizeof(struct rte_udp_hdr))
#define KC_KCP_OFF (KC_L2_LEN + KC_L3_LEN + KC_L4_LEN)

/* What the data path knows of the outside, read-only once built. */
struct kc_pkt_ctx {
	uint16_t udp_port;		/* host byte order */
	const struct kc_keyring *keys;
	/* Indexed by ethdev port id; ip == 0 means "not ours". */
	struct kc_pipeline_port port[RTE_MAX_ETHPORTS];
};

enum kc_verdict {
	KC_VERDICT_DROP,	/* counted; the caller frees the mbuf */
	KC_VERDICT_TX,		/* an ARP or ICMP reply made in place */
	KC_VERDICT_KCP,		/* an authenticated KCP request */
};

/*
 * Look at one received frame. ARP requests for our address and ICMP echo
 * requests are turned into their replies in place. A KCP request is checked
 * (header, client, tag); on KC_VERDICT_KCP m->hash.usr holds the index of the
 * client's key in the keyring. Drops are counted by reason in st.
 */
enum kc_verdict kc_pkt_classify(const struct kc_pkt_ctx *c,
				struct rte_mbuf *m,
				struct kc_lcore_stats *st);

/*
 * Turn a request frame whose KCP part (header + payload of kcp_len bytes)
 * was rewritten in place into the REPLY frame: swap Ethernet, IPv4 and UDP
 * addresses, set lengths and checksums. False if the mbuf has no room.
 */
bool kc_pkt_finish_reply(const struct kc_pkt_ctx *c, struct rte_mbuf *m,
			 uint32_t kcp_len);

/* A worker's state: the queues it owns. */
struct kc_worker_state {
	const struct kc_pkt_ctx *pc;
	struct kc_queue_store *store;
	struct kc_lcore_stats *st;
};

/* Which worker a request belongs to: a hash of its queue name (or of the
 * message id for ops without one). */
uint32_t kc_ops_shard(const struct rte_mbuf *m);

/*
 * Execute one request and turn its mbuf into the signed REPLY. True if the
 * mbuf is to be sent, false if the caller must free it (counted).
 */
bool kc_ops_execute(struct kc_worker_state *w, struct rte_mbuf *m);

#endif /* KC_PIPELINE_PRIV_H */
