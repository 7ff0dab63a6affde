/* SPDX-License-Identifier: BSD-3-Clause */
/* The memif client side of perf/'s DPDK generators (kc_memif_gen.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "kc_memif_gen.h"

int kc_gen_eal_init(const char *prog, int argc, char **argv)
{
	int rc = rte_eal_init(argc, argv);

	if (rc < 0)
		fprintf(stderr, "%s: EAL: %s\n", prog,
			rte_strerror(rte_errno));
	return rc;
}

int kc_gen_open(struct kc_gen *g, const char *prog, const char *mac,
		const char *ip)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_link link;
	unsigned int a, b, c, d;
	uint64_t end;

	memset(g, 0, sizeof(*g));
	g->prog = prog;
	if (rte_ether_unformat_addr(mac, &g->dst_mac) != 0) {
		fprintf(stderr, "%s: bad MAC %s\n", prog, mac);
		return -1;
	}
	if (sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || a > 255 ||
	    b > 255 || c > 255 || d > 255) {
		fprintf(stderr, "%s: bad IP %s\n", prog, ip);
		return -1;
	}
	g->dst_ip = RTE_IPV4(a, b, c, d);
	g->src_ip = RTE_IPV4(a, b, c, d == 1 ? 254 : 1);
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "%s: no port (give --vdev)\n", prog);
		return -1;
	}
	g->mp = rte_pktmbuf_pool_create("bench", 8191, 256, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE,
					(int)rte_socket_id());
	if (g->mp == NULL) {
		fprintf(stderr, "%s: cannot create mbuf pool of 8191: %s\n",
			prog, rte_strerror(rte_errno));
		return -1;
	}
	if (rte_eth_dev_configure(g->port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(g->port, 0, 1024, rte_socket_id(), NULL,
				   g->mp) != 0 ||
	    rte_eth_tx_queue_setup(g->port, 0, 1024, rte_socket_id(),
				   NULL) != 0 ||
	    rte_eth_dev_start(g->port) != 0) {
		fprintf(stderr, "%s: port setup failed\n", prog);
		return -1;
	}
	rte_eth_macaddr_get(g->port, &g->src_mac);
	g->hz = rte_get_tsc_hz();
	/* memif connects asynchronously: wait for the appliance. */
	end = rte_rdtsc() + 10 * g->hz;
	do {
		rte_eth_link_get_nowait(g->port, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			return 0;
		rte_delay_ms(50);
	} while (rte_rdtsc() < end);
	fprintf(stderr, "%s: memif link did not come up in 10 s\n", prog);
	return -1;
}

void kc_gen_close(struct kc_gen *g)
{
	rte_eth_dev_stop(g->port);
	rte_eth_dev_close(g->port);
}

uint64_t kc_gen_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void kc_gen_build(const struct kc_gen *g, struct rte_mbuf *m,
		  const struct kc_key *key, uint8_t op, uint64_t seq,
		  const uint8_t *payload, uint32_t len)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *kcp = (uint8_t *)(udp + 1);
	uint16_t kcp_len = (uint16_t)(KC_HDR_LEN + len);
	struct kc_hdr h = {
		.magic = KC_PROTO_MAGIC, .version = KC_PROTO_VERSION,
		.type = KC_TYPE_REQUEST, .op = op,
		.client_id = key->client_id, .payload_len = len,
	};

	eth->dst_addr = g->dst_mac;
	eth->src_addr = g->src_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) +
						       sizeof(*udp) + kcp_len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(g->src_ip);
	ip->dst_addr = rte_cpu_to_be_32(g->dst_ip);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(40000);
	udp->dst_port = rte_cpu_to_be_16(KC_UDP_PORT_DEFAULT);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + kcp_len));
	udp->dgram_cksum = 0; /* optional in IPv4: the generator saves it */
	/* A message id of now: the appliance refuses ids outside its
	 * replay window. */
	kc_msg_id_make(h.msg_id, kc_gen_wall_ms(), key->client_id, seq);
	kc_hdr_encode(kcp, &h);
	memcpy(kcp + KC_HDR_LEN, payload, len);
	kc_auth_sign(key, kcp, kcp_len);
	m->data_len = m->pkt_len = (uint32_t)(KC_GEN_KCP_OFF + kcp_len);
}

const uint8_t *kc_gen_reply(const struct rte_mbuf *m, struct kc_hdr *h)
{
	const uint8_t *kcp = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						     KC_GEN_KCP_OFF);

	if (m->data_len < KC_GEN_KCP_OFF + KC_HDR_LEN ||
	    kc_hdr_decode(kcp, m->data_len - KC_GEN_KCP_OFF, h) !=
		    KC_PARSE_OK ||
	    h->type != KC_TYPE_REPLY)
		return NULL;
	return kcp;
}
