/* SPDX-License-Identifier: BSD-3-Clause */
/* The DPDK client side of kc-loadgen (kc_gen.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_debug.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "kc_gen.h"

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
	/* A link (memif: the appliance end) may come up late: wait. */
	end = rte_rdtsc() + 10 * g->hz;
	do {
		rte_eth_link_get_nowait(g->port, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			return 0;
		rte_delay_ms(50);
	} while (rte_rdtsc() < end);
	fprintf(stderr, "%s: port 0 link did not come up in 10 s\n", prog);
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
	const struct kc_frame_addr a = {
		.dst_mac = g->dst_mac, .src_mac = g->src_mac,
		.dst_ip = g->dst_ip, .src_ip = g->src_ip,
		.dst_port = KC_UDP_PORT_DEFAULT, .src_port = 40000,
	};
	size_t n;

	/* A message id of now: the appliance refuses ids outside its replay
	 * window. No UDP checksum: optional in IPv4, and the generator's
	 * time is the benchmark's. */
	n = kc_frame_request(rte_pktmbuf_mtod(m, uint8_t *),
			     rte_pktmbuf_tailroom(m), &a, key, op,
			     kc_gen_wall_ms(), seq, payload, len, false);
	RTE_VERIFY(n > 0);
	m->data_len = m->pkt_len = (uint32_t)n;
}

const uint8_t *kc_gen_msg(const struct rte_mbuf *m, struct kc_hdr *h)
{
	const uint8_t *kcp = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						     KC_FRAME_KCP_OFF);

	if (m->data_len < KC_FRAME_KCP_OFF + KC_HDR_LEN ||
	    kc_hdr_decode(kcp, m->data_len - KC_FRAME_KCP_OFF, h) !=
		    KC_PARSE_OK)
		return NULL;
	return kcp;
}

const uint8_t *kc_gen_reply(const struct rte_mbuf *m, struct kc_hdr *h)
{
	const uint8_t *kcp = kc_gen_msg(m, h);

	return kcp != NULL && h->type == KC_TYPE_REPLY ? kcp : NULL;
}

int kc_gen_call(const struct kc_gen *g, const struct kc_key *key, uint8_t op,
		uint64_t seq, const uint8_t *payload, uint32_t len,
		uint8_t *out, uint32_t cap, uint32_t *out_len,
		unsigned int timeout_s)
{
	struct rte_mbuf *m, *rx[KC_GEN_BURST];
	uint64_t end;
	int status = -1;

	*out_len = 0;
	m = rte_pktmbuf_alloc(g->mp);
	if (m == NULL)
		return -1;
	kc_gen_build(g, m, key, op, seq, payload, len);
	if (rte_eth_tx_burst(g->port, 0, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		return -1;
	}
	end = rte_rdtsc() + timeout_s * g->hz;
	while (status < 0 && rte_rdtsc() < end) {
		uint16_t n = rte_eth_rx_burst(g->port, 0, rx, KC_GEN_BURST);

		for (uint16_t i = 0; i < n; i++) {
			struct kc_hdr h;
			const uint8_t *kcp = kc_gen_reply(rx[i], &h);

			if (kcp == NULL || kc_msg_id_seq(h.msg_id) != seq ||
			    h.client_id != key->client_id)
				continue;
			status = h.status;
			*out_len = RTE_MIN(h.payload_len, cap);
			memcpy(out, kcp + KC_HDR_LEN, *out_len);
		}
		rte_pktmbuf_free_bulk(rx, n);
	}
	return status;
}
