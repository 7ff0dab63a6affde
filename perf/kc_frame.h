/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A signed KCP REQUEST in an Ethernet/IPv4/UDP frame, written into a byte
 * buffer: the one frame builder of perf/'s generators (the memif ones put
 * it in an mbuf, kc-pcap-gen in a pcap record). Header layouts come from
 * DPDK's rte_ether/rte_ip/rte_udp and lib/proto's kc_proto.h; nothing here
 * needs the EAL.
 */
#ifndef KC_FRAME_H
#define KC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "kc_auth.h"
#include "kc_proto.h"

#define KC_FRAME_KCP_OFF (sizeof(struct rte_ether_hdr) + \
			  sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr))
#define KC_FRAME_MAX (KC_FRAME_KCP_OFF + KC_DATAGRAM_MAX)

/* Who sends to whom; IPv4 addresses and UDP ports in host order. */
struct kc_frame_addr {
	struct rte_ether_addr dst_mac;
	struct rte_ether_addr src_mac;
	uint32_t dst_ip;
	uint32_t src_ip;
	uint16_t dst_port;
	uint16_t src_port;
};

/*
 * Write a REQUEST frame into buf: op, message id (unix_ms, key's client,
 * seq), the len bytes of payload, signed with key; the IPv4 header
 * checksummed and, with udp_cksum, the UDP checksum too (IPv4 makes it
 * optional; a NIC or a capture tool may still check it). Returns the
 * frame's length, or 0 if it does not fit in cap bytes or the payload is
 * longer than one datagram may carry.
 */
size_t kc_frame_request(uint8_t *buf, size_t cap, const struct kc_frame_addr *a,
			const struct kc_key *key, uint8_t op, uint64_t unix_ms,
			uint64_t seq, const uint8_t *payload, uint32_t len,
			bool udp_cksum);

#endif /* KC_FRAME_H */
