/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-memif-bench: PING throughput over a memif port, for the first baseline
 * of one appliance lcore without the kernel in the way. A DPDK application:
 * EAL arguments first (they must create the memif client port), then
 *
 *   -- SECONDS WINDOW APPLIANCE_MAC APPLIANCE_IP
 *
 * It keeps WINDOW signed PING requests in flight from its main lcore, counts
 * the REPLYs by message id for SECONDS, and prints one JSON object. The
 * load generator of perf/ (kc-loadgen, later) does rates and latency
 * percentiles; this measures how many PINGs one lcore answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "kc_auth.h"
#include "kc_proto.h"

#define BURST 32
#define SRC_IP RTE_IPV4(10, 88, 0, 1)
#define KCP_OFF (sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + \
		 sizeof(struct rte_udp_hdr))

static struct rte_ether_addr dst_mac, src_mac;
static uint32_t dst_ip;
static struct kc_key key;

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void build(struct rte_mbuf *m, uint64_t seq)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *kcp = (uint8_t *)(udp + 1);
	struct kc_hdr h = {
		.magic = KC_PROTO_MAGIC, .version = KC_PROTO_VERSION,
		.type = KC_TYPE_REQUEST, .op = KC_OP_PING,
		.client_id = key.client_id, .payload_len = 8,
	};
	uint16_t len = KC_HDR_LEN + 8;

	eth->dst_addr = dst_mac;
	eth->src_addr = src_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) +
						       sizeof(*udp) + len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(SRC_IP);
	ip->dst_addr = rte_cpu_to_be_32(dst_ip);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(40000);
	udp->dst_port = rte_cpu_to_be_16(KC_UDP_PORT_DEFAULT);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + len));
	udp->dgram_cksum = 0; /* optional in IPv4: the generator saves it */
	/* A message id of now: the appliance refuses ids outside its
	 * replay window. */
	kc_msg_id_make(h.msg_id, wall_ms(), key.client_id, seq);
	kc_hdr_encode(kcp, &h);
	kc_put_u64(kcp + KC_HDR_LEN, rte_rdtsc());
	kc_auth_sign(&key, kcp, len);
	m->data_len = m->pkt_len = (uint32_t)(KCP_OFF + len);
}

int main(int argc, char **argv)
{
	struct rte_mbuf *tx[BURST], *rx[BURST];
	struct rte_mempool *mp;
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_link link;
	uint64_t sent = 0, replies = 0, bad = 0, rtt_sum = 0;
	uint64_t hz, t0, end, now, last_rx;
	unsigned int seconds, window;
	uint16_t port = 0;
	int rc;

	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "kc-memif-bench: EAL: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	if (argc != 5 || rte_ether_unformat_addr(argv[3], &dst_mac) != 0) {
		fprintf(stderr, "usage: kc-memif-bench EAL... -- SECONDS WINDOW "
			"APPLIANCE_MAC APPLIANCE_IP\n");
		return 2;
	}
	seconds = (unsigned int)atoi(argv[1]);
	window = (unsigned int)atoi(argv[2]);
	{
		unsigned int a, b, c, d;

		if (sscanf(argv[4], "%u.%u.%u.%u", &a, &b, &c, &d) != 4) {
			fprintf(stderr, "kc-memif-bench: bad IP %s\n", argv[4]);
			return 2;
		}
		dst_ip = RTE_IPV4(a, b, c, d);
	}
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "kc-memif-bench: no port (give --vdev)\n");
		return 1;
	}
	kc_key_init(&key, KC_DEV_CLIENT_ID, kc_dev_key, "dev");
	mp = rte_pktmbuf_pool_create("bench", 8191, 256, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE,
				     (int)rte_socket_id());
	if (mp == NULL ||
	    rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 1024, rte_socket_id(), NULL,
				   mp) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 1024, rte_socket_id(),
				   NULL) != 0 ||
	    rte_eth_dev_start(port) != 0) {
		fprintf(stderr, "kc-memif-bench: port setup failed\n");
		return 1;
	}
	rte_eth_macaddr_get(port, &src_mac);
	hz = rte_get_tsc_hz();
	/* memif connects asynchronously: wait for the appliance. */
	end = rte_rdtsc() + 10 * hz;
	do {
		rte_eth_link_get_nowait(port, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			break;
		rte_delay_ms(50);
	} while (rte_rdtsc() < end);
	if (link.link_status != RTE_ETH_LINK_UP) {
		fprintf(stderr, "kc-memif-bench: memif link did not come up\n");
		return 1;
	}

	t0 = last_rx = rte_rdtsc();
	end = t0 + seconds * hz;
	while ((now = rte_rdtsc()) < end) {
		uint64_t inflight = sent > replies ? sent - replies : 0;
		uint16_t n;

		/* A lost frame would shrink the window for good: after 50 ms
		 * without a reply, count what is in flight as lost. */
		if (now - last_rx > hz / 20) {
			sent = replies;
			inflight = 0;
			last_rx = now;
		}
		if (inflight + BURST <= window &&
		    rte_pktmbuf_alloc_bulk(mp, tx, BURST) == 0) {
			uint16_t k;

			for (k = 0; k < BURST; k++)
				build(tx[k], sent + k);
			k = rte_eth_tx_burst(port, 0, tx, BURST);
			sent += k;
			if (k < BURST)
				rte_pktmbuf_free_bulk(tx + k, BURST - k);
		}
		n = rte_eth_rx_burst(port, 0, rx, BURST);
		if (n != 0)
			last_rx = now;
		for (uint16_t i = 0; i < n; i++) {
			const uint8_t *kcp = rte_pktmbuf_mtod_offset(rx[i],
				const uint8_t *, KCP_OFF);
			struct kc_hdr h;

			if (rx[i]->data_len >= KCP_OFF + KC_HDR_LEN + 8 &&
			    kc_hdr_decode(kcp, rx[i]->data_len - KCP_OFF, &h) ==
				    KC_PARSE_OK &&
			    h.type == KC_TYPE_REPLY && h.status == 0) {
				replies++;
				rtt_sum += rte_rdtsc() -
					   kc_get_u64(kcp + KC_HDR_LEN);
			} else {
				bad++;
			}
		}
		rte_pktmbuf_free_bulk(rx, n);
	}
	now = rte_rdtsc();
	printf("{\"transport\":\"memif\",\"op\":\"ping\",\"seconds\":%.3f,"
	       "\"window\":%u,\"replies\":%llu,\"other_frames\":%llu,"
	       "\"requests_per_s\":%.0f,\"mean_rtt_us\":%.1f}\n",
	       (double)(now - t0) / (double)hz, window,
	       (unsigned long long)replies, (unsigned long long)bad,
	       (double)replies * (double)hz / (double)(now - t0),
	       replies ? (double)rtt_sum * 1e6 / (double)hz /
				 (double)replies : 0.0);
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_eal_cleanup();
	return replies > 0 ? 0 : 1;
}
