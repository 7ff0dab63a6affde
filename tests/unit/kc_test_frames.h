/* SPDX-License-Identifier: BSD-3-Clause */
/* Building request frames in mbufs for the pipeline's unit tests. */
#ifndef KC_TEST_FRAMES_H
#define KC_TEST_FRAMES_H

#include <string.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "kc_auth.h"
#include "kc_proto.h"

#define T_CLIENT_IP RTE_IPV4(10, 77, 0, 1)
#define T_APPLIANCE_IP RTE_IPV4(10, 77, 0, 2)
#define T_CLIENT_PORT 40000

static const struct rte_ether_addr t_client_mac = {
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 } };
static const struct rte_ether_addr t_appliance_mac = {
	{ 0x02, 0x4b, 0x43, 0x00, 0x00, 0x02 } };

/* Ethernet + IPv4 + UDP around udp_len bytes already at the KCP offset. */
static inline void t_wrap_udp(struct rte_mbuf *m, uint16_t udp_payload_len,
			      uint16_t dst_port)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t ip_len = (uint16_t)(sizeof(*ip) + sizeof(*udp) +
				     udp_payload_len);

	rte_ether_addr_copy(&t_appliance_mac, &eth->dst_addr);
	rte_ether_addr_copy(&t_client_mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(ip_len);
	ip->time_to_live = 64;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(T_CLIENT_IP);
	ip->dst_addr = rte_cpu_to_be_32(T_APPLIANCE_IP);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(T_CLIENT_PORT);
	udp->dst_port = rte_cpu_to_be_16(dst_port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) +
						     udp_payload_len));
	udp->dgram_cksum = 0;
	m->data_len = m->pkt_len = (uint32_t)(sizeof(*eth) + ip_len);
	m->port = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
}

static inline uint8_t *t_kcp(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, uint8_t *,
		sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
		sizeof(struct rte_udp_hdr));
}

/* A signed KCP REQUEST frame whose message id has time id_ms. */
static inline struct rte_mbuf *t_request_at(struct rte_mempool *mp,
					    const struct kc_key *key,
					    uint8_t op, uint64_t id_ms,
					    uint64_t seq, const void *payload,
					    uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct kc_hdr h = {
		.magic = KC_PROTO_MAGIC,
		.version = KC_PROTO_VERSION,
		.type = KC_TYPE_REQUEST,
		.op = op,
		.client_id = key->client_id,
		.payload_len = len,
	};
	uint8_t *kcp;

	if (m == NULL)
		return NULL;
	kc_msg_id_make(h.msg_id, id_ms, key->client_id, seq);
	kcp = t_kcp(m);
	kc_hdr_encode(kcp, &h);
	if (len != 0)
		memcpy(kcp + KC_HDR_LEN, payload, len);
	kc_auth_sign(key, kcp, KC_HDR_LEN + len);
	t_wrap_udp(m, (uint16_t)(KC_HDR_LEN + len), KC_UDP_PORT_DEFAULT);
	return m;
}

/* A signed KCP REQUEST frame, message id time 1700000000000 + seq. */
static inline struct rte_mbuf *t_request(struct rte_mempool *mp,
					 const struct kc_key *key, uint8_t op,
					 uint64_t seq, const void *payload,
					 uint32_t len)
{
	return t_request_at(mp, key, op, 1700000000000ull + seq, seq, payload,
			    len);
}

/* Sum over the pseudo header and the datagram folds to 0xffff. */
static inline int t_udp_cksum_ok(const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
		const struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);
	uint32_t sum = rte_ipv4_phdr_cksum(ip, 0) +
		       rte_raw_cksum(udp, rte_be_to_cpu_16(udp->dgram_len));

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff && rte_raw_cksum(ip, sizeof(*ip)) == 0xffff;
}

#endif /* KC_TEST_FRAMES_H */
