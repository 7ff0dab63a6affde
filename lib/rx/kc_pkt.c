/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame handling of the RX stage: ARP and ICMP echo answered in place, KCP
 * requests validated and authenticated, everything else dropped and counted
 * or, on a port with an exception path, handed to the kernel.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "kc_cksum.h"
#include "kc_rx.h"

int kc_rx_tsc_off = -1;

int kc_rx_tsc_register(char *err, size_t err_len)
{
	static const struct rte_mbuf_dynfield rx_tsc = {
		.name = "kc_rx_tsc",
		.size = sizeof(uint64_t),
		.align = __alignof__(uint64_t),
	};

	if (kc_rx_tsc_off >= 0)
		return 0;
	kc_rx_tsc_off = rte_mbuf_dynfield_register(&rx_tsc);
	if (kc_rx_tsc_off < 0) {
		snprintf(err, err_len, "cannot register the mbuf field of "
			 "request arrival times: %s", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

#define KC_TTL 64

/*
 * A reply made in place sets the offload flags it needs, keeping the
 * ones that say where the mbuf's buffer lives: a PMD may hand frames over
 * in buffers attached to the mbuf (RTE_MBUF_F_EXTERNAL; mlx5's multi-packet
 * RX queues), and an mbuf that forgets it is freed into the wrong place.
 */
static inline void set_tx_flags(struct rte_mbuf *m, uint64_t flags)
{
	m->ol_flags = (m->ol_flags & (RTE_MBUF_F_EXTERNAL |
				      RTE_MBUF_F_INDIRECT)) | flags;
}

static enum kc_verdict drop(struct kc_lcore_stats *st, enum kc_counter c)
{
	st->c[c]++;
	return KC_VERDICT_DROP;
}

/* A well-formed frame the appliance does not handle: the kernel's, if this
 * port has an exception path, else dropped and counted under c. */
static enum kc_verdict punt(const struct kc_rx_port *p,
			    struct kc_lcore_stats *st, enum kc_counter c)
{
	if (p->exc_in != NULL)
		return KC_VERDICT_EXCEPTION;
	return drop(st, c);
}

static void eth_reply(struct rte_ether_hdr *eth,
		      const struct kc_rx_port *p)
{
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
}

static enum kc_verdict arp_input(const struct kc_rx_port *p,
				 struct rte_mbuf *m,
				 struct kc_lcore_stats *st)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp;

	if (m->data_len < KC_L2_LEN + sizeof(*arp))
		return drop(st, KC_CTR_drop_arp);
	arp = (struct rte_arp_hdr *)(eth + 1);
	if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return drop(st, KC_CTR_drop_arp);
	/* Replies, and requests for other addresses (the host's own, when
	 * it has one on the exception interface). */
	if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    arp->arp_data.arp_tip != rte_cpu_to_be_32(p->ip))
		return punt(p, st, KC_CTR_drop_arp);
	/* A request is broadcast, or sent to us to refresh a cache; one a
	 * promiscuous port saw on its way to another host is not ours. */
	if (!rte_is_broadcast_ether_addr(&eth->dst_addr) &&
	    !rte_is_same_ether_addr(&eth->dst_addr, &p->mac))
		return punt(p, st, KC_CTR_drop_not_ours);

	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &arp->arp_data.arp_tha);
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	rte_ether_addr_copy(&p->mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = rte_cpu_to_be_32(p->ip);
	eth_reply(eth, p);
	m->data_len = m->pkt_len = KC_L2_LEN + sizeof(*arp);
	set_tx_flags(m, 0);
	st->c[KC_CTR_arp_replies]++;
	return KC_VERDICT_TX;
}

/* The reply's IPv4 header, its checksum left 0 for the caller: sum it, or
 * leave it to the NIC. */
/* What every IPv4 header the appliance sends has, from port p. */
static void ip_ours(struct rte_ipv4_hdr *ip, const struct kc_rx_port *p)
{
	ip->src_addr = rte_cpu_to_be_32(p->ip);
	ip->time_to_live = KC_TTL;
	ip->packet_id = 0;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->type_of_service = 0;
	ip->hdr_checksum = 0;
}

static void ip_reply(struct rte_ipv4_hdr *ip, const struct kc_rx_port *p,
		     uint16_t total_len)
{
	ip->dst_addr = ip->src_addr;
	ip->total_length = rte_cpu_to_be_16(total_len);
	ip_ours(ip, p);
}

static enum kc_verdict icmp_input(const struct kc_rx_port *p,
				  struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
				  uint16_t ip_len, struct kc_lcore_stats *st)
{
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	uint16_t icmp_len = ip_len - KC_L3_LEN;

	if (icmp_len < sizeof(*icmp) || kc_raw_cksum(icmp, icmp_len) != 0xffff)
		return drop(st, KC_CTR_drop_icmp);
	/* Unreachables, needs-fragmentation and the rest: the host's TCP
	 * wants them. */
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0)
		return punt(p, st, KC_CTR_drop_icmp);

	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~kc_raw_cksum(icmp, icmp_len);
	ip_reply(ip, p, ip_len);
	ip->hdr_checksum = kc_ipv4_cksum(ip);
	eth_reply(rte_pktmbuf_mtod(m, struct rte_ether_hdr *), p);
	set_tx_flags(m, 0);
	st->c[KC_CTR_icmp_echo_replies]++;
	return KC_VERDICT_TX;
}

static enum kc_verdict kcp_input(const struct kc_pkt_ctx *c,
				 struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
				 uint16_t ip_len, struct kc_lcore_stats *st)
{
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	const struct kc_key *key;
	const uint8_t *kcp;
	struct kc_hdr h;
	uint16_t kcp_len;
	uint64_t l4_flags;

	if (ip_len < KC_L3_LEN + KC_L4_LEN ||
	    rte_be_to_cpu_16(udp->dgram_len) != ip_len - KC_L3_LEN)
		return drop(st, KC_CTR_drop_bad_udp);
	if (rte_be_to_cpu_16(udp->dst_port) != c->udp_port)
		return punt(&c->port[m->port], st, KC_CTR_drop_udp_port);
	l4_flags = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (l4_flags == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
	    (l4_flags != RTE_MBUF_F_RX_L4_CKSUM_GOOD && udp->dgram_cksum != 0 &&
	     !kc_udp_cksum_ok(ip, udp, ip_len - KC_L3_LEN)))
		return drop(st, KC_CTR_drop_udp_checksum);

	kcp = (const uint8_t *)(udp + 1);
	kcp_len = ip_len - KC_L3_LEN - KC_L4_LEN;
	switch (kc_hdr_decode(kcp, kcp_len, &h)) {
	case KC_PARSE_OK:
		break;
	case KC_PARSE_SHORT:
		return drop(st, KC_CTR_drop_kcp_short);
	case KC_PARSE_BAD_MAGIC:
		return drop(st, KC_CTR_drop_kcp_magic);
	case KC_PARSE_BAD_VERSION:
		return drop(st, KC_CTR_drop_kcp_version);
	case KC_PARSE_BAD_TYPE:
		return drop(st, KC_CTR_drop_kcp_type);
	case KC_PARSE_BAD_FLAGS:
		return drop(st, KC_CTR_drop_kcp_flags);
	case KC_PARSE_BAD_LENGTH:
		return drop(st, KC_CTR_drop_kcp_length);
	case KC_PARSE_TOO_LARGE:
		return drop(st, KC_CTR_drop_kcp_too_large);
	}
	if (h.type != KC_TYPE_REQUEST)
		return drop(st, KC_CTR_drop_kcp_type);
	if (h.status != 0)
		return drop(st, KC_CTR_drop_kcp_flags);
	key = kc_keyring_find(c->keys, h.client_id);
	if (key == NULL)
		return drop(st, KC_CTR_drop_bad_client);

	/* The tag is checked by the caller, a burst at a time. */
	m->l2_len = KC_L2_LEN;
	m->l3_len = KC_L3_LEN;
	m->l4_len = KC_L4_LEN;
	m->hash.usr = (uint32_t)(key - c->keys->keys);
	return KC_VERDICT_KCP;
}

static enum kc_verdict ipv4_input(const struct kc_pkt_ctx *c,
				  const struct kc_rx_port *p,
				  struct rte_mbuf *m,
				  struct kc_lcore_stats *st)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint64_t ip_flags = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	uint16_t ip_len;

	if (!rte_is_same_ether_addr(&eth->dst_addr, &p->mac))
		return punt(p, st, KC_CTR_drop_not_ours);
	if (m->data_len < KC_L2_LEN + KC_L3_LEN ||
	    (ip->version_ihl >> 4) != 4 || (ip->version_ihl & 0xf) < 5)
		return drop(st, KC_CTR_drop_bad_ip);
	if ((ip->version_ihl & 0xf) != 5)
		return punt(p, st, KC_CTR_drop_ip_options);
	ip_len = rte_be_to_cpu_16(ip->total_length);
	if (ip_len < KC_L3_LEN || ip_len > m->data_len - KC_L2_LEN)
		return drop(st, KC_CTR_drop_bad_ip);
	if (ip_flags == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
	    (ip_flags != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	     kc_raw_cksum(ip, KC_L3_LEN) != 0xffff))
		return drop(st, KC_CTR_drop_ip_checksum);
	if (ip->dst_addr != rte_cpu_to_be_32(p->ip))
		return punt(p, st, KC_CTR_drop_not_ours);
	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
						   RTE_IPV4_HDR_OFFSET_MASK))
		return punt(p, st, KC_CTR_drop_ip_fragment);
	/* Ethernet pads short frames: keep only the IP datagram. */
	m->data_len = m->pkt_len = KC_L2_LEN + ip_len;

	switch (ip->next_proto_id) {
	case IPPROTO_UDP:
		return kcp_input(c, m, ip, ip_len, st);
	case IPPROTO_ICMP:
		return icmp_input(p, m, ip, ip_len, st);
	default:
		return punt(p, st, KC_CTR_drop_ip_proto);
	}
}

/* All of kc_pkt_classify but the tag: KC_VERDICT_KCP here is a request
 * whose header and client are good. */
static enum kc_verdict classify_untagged(const struct kc_pkt_ctx *c,
					 struct rte_mbuf *m,
					 struct kc_lcore_stats *st)
{
	const struct kc_rx_port *p = &c->port[m->port];
	const struct rte_ether_hdr *eth;

	st->c[KC_CTR_rx_packets]++;
	st->c[KC_CTR_rx_bytes] += m->pkt_len;
	if (m->nb_segs != 1)
		return drop(st, KC_CTR_drop_segmented);
	if (m->data_len < KC_L2_LEN)
		return drop(st, KC_CTR_drop_runt);
	if (p->ip == 0)
		return drop(st, KC_CTR_drop_not_ours);
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	switch (rte_be_to_cpu_16(eth->ether_type)) {
	case RTE_ETHER_TYPE_IPV4:
		return ipv4_input(c, p, m, st);
	case RTE_ETHER_TYPE_ARP:
		return arp_input(p, m, st);
	default:
		return punt(p, st, KC_CTR_drop_ethertype);
	}
}

void kc_pkt_classify_burst(const struct kc_pkt_ctx *c,
			   struct kc_auth_mb *mb, struct rte_mbuf **pkts,
			   uint16_t n, enum kc_verdict *v,
			   struct kc_lcore_stats *st)
{
	const struct kc_key *keys[KC_BURST_MAX];
	uint8_t *msgs[KC_BURST_MAX];
	uint32_t lens[KC_BURST_MAX];
	uint16_t idx[KC_BURST_MAX];
	bool ok[KC_BURST_MAX];
	uint16_t nb = 0;

	RTE_ASSERT(n <= KC_BURST_MAX);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		v[i] = classify_untagged(c, m, st);
		if (v[i] != KC_VERDICT_KCP)
			continue;
		keys[nb] = &c->keys->keys[m->hash.usr];
		msgs[nb] = rte_pktmbuf_mtod_offset(m, uint8_t *, KC_KCP_OFF);
		lens[nb] = m->data_len - KC_KCP_OFF;
		idx[nb++] = i;
	}
	if (nb == 0)
		return;
	kc_auth_verify_burst(mb, keys, msgs, lens, nb, ok);
	for (uint16_t k = 0; k < nb; k++) {
		if (ok[k])
			st->c[KC_CTR_kcp_requests]++;
		else
			v[idx[k]] = drop(st, KC_CTR_drop_bad_auth);
	}
}

enum kc_verdict kc_pkt_classify(const struct kc_pkt_ctx *c,
				struct rte_mbuf *m,
				struct kc_lcore_stats *st)
{
	enum kc_verdict v;

	kc_pkt_classify_burst(c, NULL, &m, 1, &v, st);
	return v;
}

bool kc_pkt_finish_reply(const struct kc_pkt_ctx *c, struct rte_mbuf *m,
			 uint32_t kcp_len)
{
	const struct kc_rx_port *p = &c->port[m->port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t port;

	if (!kc_pkt_reply_fits(m, kcp_len))
		return false;
	eth_reply(eth, p);
	ip_reply(ip, p, (uint16_t)(KC_L3_LEN + KC_L4_LEN + kcp_len));
	port = udp->src_port;
	udp->src_port = udp->dst_port;
	udp->dst_port = port;
	kc_pkt_resize_reply(c, m, kcp_len);
	return true;
}

bool kc_pkt_address(const struct kc_pkt_ctx *c, struct rte_mbuf *m,
		    uint16_t port_id, const struct rte_ether_addr *dst_mac,
		    uint32_t dst_ip, uint16_t dst_port, uint32_t kcp_len)
{
	const struct kc_rx_port *p;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	if (port_id >= RTE_MAX_ETHPORTS || c->port[port_id].ip == 0 ||
	    KC_KCP_OFF + kcp_len > (uint32_t)(m->buf_len - m->data_off) ||
	    kcp_len > KC_DATAGRAM_MAX)
		return false;
	p = &c->port[port_id];
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	udp = (struct rte_udp_hdr *)(ip + 1);
	rte_ether_addr_copy(dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->next_proto_id = IPPROTO_UDP;
	ip->dst_addr = rte_cpu_to_be_32(dst_ip);
	ip_ours(ip, p);
	udp->src_port = rte_cpu_to_be_16(c->udp_port);
	udp->dst_port = rte_cpu_to_be_16(dst_port);
	m->port = port_id;
	m->nb_segs = 1;
	m->next = NULL;
	kc_pkt_resize_reply(c, m, kcp_len);
	return true;
}

void kc_pkt_resize_reply(const struct kc_pkt_ctx *c, struct rte_mbuf *m,
			 uint32_t kcp_len)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
		struct rte_ipv4_hdr *, KC_L2_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	ip->total_length = rte_cpu_to_be_16((uint16_t)(KC_L3_LEN + KC_L4_LEN +
							kcp_len));
	ip->hdr_checksum = 0;
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(KC_L4_LEN + kcp_len));
	udp->dgram_cksum = 0;
	m->data_len = m->pkt_len = KC_KCP_OFF + kcp_len;
	if (c->port[m->port].tx_cksum) {
		/* The NIC sums the IPv4 header and the datagram; it wants the
		 * pseudo-header's sum in the UDP field to start from. */
		m->l2_len = KC_L2_LEN;
		m->l3_len = KC_L3_LEN;
		set_tx_flags(m, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
				RTE_MBUF_F_TX_UDP_CKSUM);
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		return;
	}
	ip->hdr_checksum = kc_ipv4_cksum(ip);
	if (!c->port[m->port].udp_cksum_none)
		udp->dgram_cksum = kc_udp_cksum(ip, udp, KC_L4_LEN + kcp_len);
	set_tx_flags(m, 0);
}
