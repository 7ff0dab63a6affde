/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RX stage: what happens to a frame between rx_burst and a worker.
 * Frame checks, ARP and ICMP answered in place, KCP header and client
 * checks, request tags verified in bursts, checksums; and, on the way
 * back, turning a request's mbuf into its REPLY frame. Used by the RX
 * lcores (lib/pipeline) and by the worker for the REPLY (lib/worker).
 */
#ifndef KC_RX_H
#define KC_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include "kc_auth.h"
#include "kc_config.h"
#include "kc_limits.h"
#include "kc_stats.h"

#define KC_NO_QUEUE UINT16_MAX

/* A started port as the data path sees it. */
struct kc_rx_port {
	uint16_t port_id;
	uint16_t nb_rxq;	/* RX queues, spread over the RX lcores */
	uint32_t ip;		/* host byte order */
	uint32_t netmask;	/* host byte order */
	struct rte_ether_addr mac;
	bool tx_cksum;		/* the NIC fills in REPLYs' IPv4/UDP sums */
	bool udp_cksum_none;	/* REPLYs' UDP checksum 0 (memif) */
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
	struct kc_rx_port port[RTE_MAX_ETHPORTS];
};

/*
 * Each KCP request's mbuf carries the TSC of the RX burst that took it
 * (a dynamic field, for the service-time histogram), with the top bit set
 * when it arrived while the appliance was draining. Offset -1: not
 * registered (unit tests), neither is recorded.
 */
extern int kc_rx_tsc_off;
#define KC_RX_DRAINED (1ull << 63)

/* Register that field (once per process; the EAL must run). 0, or -1
 * with a message in err. */
int kc_rx_tsc_register(char *err, size_t err_len);

static inline uint64_t *kc_rx_tsc(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, kc_rx_tsc_off, uint64_t *);
}

enum kc_verdict {
	KC_VERDICT_DROP,	/* counted; the caller frees the mbuf */
	KC_VERDICT_TX,		/* an ARP or ICMP reply made in place */
	KC_VERDICT_KCP,		/* an authenticated KCP request */
	KC_VERDICT_EXCEPTION,	/* not ours to handle: for the kernel */
};

/*
 * Look at one received frame. ARP requests for our address and ICMP echo
 * requests are turned into their replies in place. A KCP request is checked
 * (header, client, tag); on KC_VERDICT_KCP m->hash.usr holds the index of the
 * client's key in the keyring. Drops are counted by reason in st. On a port
 * with an exception path, well-formed frames that are not for the appliance
 * (other protocols, UDP ports, addresses; ARP and ICMP it does not answer)
 * are KC_VERDICT_EXCEPTION instead, uncounted; damaged ones and bad KCP are
 * still dropped.
 */
enum kc_verdict kc_pkt_classify(const struct kc_pkt_ctx *c,
				struct rte_mbuf *m,
				struct kc_lcore_stats *st);
/*
 * kc_pkt_classify on each of n <= KC_BURST_MAX frames, v[i] the verdict of
 * pkts[i], with the tags of the burst's requests verified together by mb
 * (kc_auth_verify_burst; NULL: one at a time). Same verdicts, same counts.
 */
void kc_pkt_classify_burst(const struct kc_pkt_ctx *c,
			   struct kc_auth_mb *mb, struct rte_mbuf **pkts,
			   uint16_t n, enum kc_verdict *v,
			   struct kc_lcore_stats *st);

/*
 * Turn a request frame whose KCP part (header + payload of kcp_len bytes)
 * was rewritten in place into the REPLY frame: swap Ethernet, IPv4 and UDP
 * addresses, set lengths and checksums. False if the mbuf has no room.
 */
/* Whether a REPLY of kcp_len bytes of KCP fits m: kc_pkt_finish_reply
 * then succeeds. */
static inline bool kc_pkt_reply_fits(const struct rte_mbuf *m,
				     uint32_t kcp_len)
{
	return KC_KCP_OFF + kcp_len <= (uint32_t)(m->buf_len - m->data_off) &&
	       kcp_len <= KC_DATAGRAM_MAX;
}

bool kc_pkt_finish_reply(const struct kc_pkt_ctx *c, struct rte_mbuf *m,
			 uint32_t kcp_len);

/*
 * Address a frame the appliance sends of its own accord (a DELIVER to a
 * service, a call's REPLY to its caller): Ethernet, IPv4 and UDP headers
 * from port_id's address and kcp.udp_port to dst (MAC, host-order IPv4
 * address and UDP port), around kcp_len bytes of KCP already at
 * KC_KCP_OFF. False if the mbuf has no room or the port is not ours.
 */
bool kc_pkt_address(const struct kc_pkt_ctx *c, struct rte_mbuf *m,
		    uint16_t port_id, const struct rte_ether_addr *dst_mac,
		    uint32_t dst_ip, uint16_t dst_port, uint32_t kcp_len);

/* Rewrite the lengths and checksums of a REPLY frame whose KCP part was
 * rewritten again after kc_pkt_finish_reply (addresses stay as they are).
 * On a port with tx_cksum the NIC computes the checksums; on one with
 * udp_cksum_none the UDP checksum is 0. */
void kc_pkt_resize_reply(const struct kc_pkt_ctx *c, struct rte_mbuf *m,
			 uint32_t kcp_len);

#endif /* KC_RX_H */
