/* SPDX-License-Identifier: BSD-3-Clause */
/* The frame builder of perf/'s generators (kc_frame.h). */
#include <string.h>

#include "kc_frame.h"

size_t kc_frame_request(uint8_t *buf, size_t cap, const struct kc_frame_addr *a,
			const struct kc_key *key, uint8_t op, uint64_t unix_ms,
			uint64_t seq, const uint8_t *payload, uint32_t len,
			bool udp_cksum)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)buf;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *kcp = (uint8_t *)(udp + 1);
	struct kc_hdr h = {
		.magic = KC_PROTO_MAGIC, .version = KC_PROTO_VERSION,
		.type = KC_TYPE_REQUEST, .op = op,
		.client_id = key->client_id, .payload_len = len,
	};
	uint16_t kcp_len;

	if (len > KC_PAYLOAD_MAX || cap < KC_FRAME_KCP_OFF + KC_HDR_LEN + len)
		return 0;
	kcp_len = (uint16_t)(KC_HDR_LEN + len);
	eth->dst_addr = a->dst_mac;
	eth->src_addr = a->src_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) +
						       sizeof(*udp) + kcp_len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(a->src_ip);
	ip->dst_addr = rte_cpu_to_be_32(a->dst_ip);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(a->src_port);
	udp->dst_port = rte_cpu_to_be_16(a->dst_port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + kcp_len));
	udp->dgram_cksum = 0;
	kc_msg_id_make(h.msg_id, unix_ms, key->client_id, seq);
	kc_hdr_encode(kcp, &h);
	if (len > 0)
		memcpy(kcp + KC_HDR_LEN, payload, len);
	kc_auth_sign(key, kcp, kcp_len);
	/* After the tag: the checksum covers the whole datagram. */
	if (udp_cksum)
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	return KC_FRAME_KCP_OFF + kcp_len;
}
