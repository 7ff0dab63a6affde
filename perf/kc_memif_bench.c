/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-memif-bench: PING throughput over a memif port, for the first baseline
 * of one appliance lcore without the kernel in the way. A DPDK application:
 * EAL arguments first (they must create the memif client port), then
 *
 *   -- SECONDS WINDOW APPLIANCE_MAC APPLIANCE_IP [RATE]
 *
 * It keeps WINDOW signed PING requests in flight from its main lcore (and,
 * with RATE, sends no more than RATE a second: an offered load that does
 * not depend on how much CPU the generator gets), counts
 * the REPLYs by message id for SECONDS, and prints one JSON object. The
 * load generator of perf/ (kc-loadgen, later) does rates and latency
 * percentiles; this measures how many PINGs one lcore answers.
 */
#include <stdio.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>

#include "kc_memif_gen.h"

#define BURST KC_GEN_BURST

static struct kc_gen gen;
static struct kc_key key;

static void build(struct rte_mbuf *m, uint64_t seq)
{
	uint8_t tsc[8];

	kc_put_u64(tsc, rte_rdtsc());
	kc_gen_build(&gen, m, &key, KC_OP_PING, seq, tsc, sizeof(tsc));
}

int main(int argc, char **argv)
{
	struct rte_mbuf *tx[BURST], *rx[BURST];
	struct rte_mempool *mp;
	uint64_t sent = 0, replies = 0, bad = 0, rtt_sum = 0;
	uint64_t hz, t0, end, now, last_rx;
	unsigned int seconds, window;
	uint64_t rate = 0;
	uint16_t port;
	int rc;

	rc = kc_gen_eal_init("kc-memif-bench", argc, argv);
	if (rc < 0)
		return 1;
	argc -= rc;
	argv += rc;
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: kc-memif-bench EAL... -- SECONDS WINDOW "
			"APPLIANCE_MAC APPLIANCE_IP [RATE]\n");
		return 2;
	}
	if (argc == 6)
		rate = strtoull(argv[5], NULL, 10);
	seconds = (unsigned int)atoi(argv[1]);
	window = (unsigned int)atoi(argv[2]);
	kc_key_init(&key, KC_DEV_CLIENT_ID, kc_dev_key, "dev");
	if (kc_gen_open(&gen, "kc-memif-bench", argv[3], argv[4]) != 0)
		return 1;
	mp = gen.mp;
	hz = gen.hz;
	port = gen.port;

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
		    (rate == 0 || sent + BURST <= (now - t0) * rate / hz) &&
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
			struct kc_hdr h;
			const uint8_t *kcp = kc_gen_reply(rx[i], &h);

			if (kcp != NULL && h.payload_len == 8 &&
			    h.status == KC_STATUS_OK) {
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
	kc_gen_close(&gen);
	rte_eal_cleanup();
	return replies > 0 ? 0 : 1;
}
