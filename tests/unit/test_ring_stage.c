/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The whole data path on real lcores over a ring port (net_ring made from
 * rte_rings the test feeds and drains), with mbufs from a real mempool:
 * - run-to-completion on one lcore,
 * - a pipeline of one RX lcore handing bursts to one worker through its ring,
 * - a pipeline with two workers, queues sharded by name.
 * The same request sequence must give the same REPLY for every request in
 * all three, and the pipelines must really have gone through their rings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_bus_vdev.h>

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "kc_pipeline.h"
#include "kc_rx.h"
#include "kc_test_eal.h"
#include "kc_test_frames.h"

#define NB_REQ 600
#define NB_QUEUES 5
#define NB_TXQ 3

struct reply {
	uint16_t status;
	uint32_t len;
	uint8_t payload[KC_PAYLOAD_MAX];
};

static struct rte_mempool *mp;
static struct kc_keyring *keys;
static struct rte_ring *rx_ring, *tx_ring[NB_TXQ];
static uint16_t port_id;
static struct reply results[3][NB_REQ];

static const char keys_text[] =
	"1 6b696e67636f6272612d6465762d6b65792d6c6f63616c2d6f6e6c792d303031\n";

/* Request i of the fixed sequence: mostly PUBLISH over five queues, then
 * FETCH, COMMIT and OFFSET of each queue, PINGs, an unknown op and a
 * malformed PUBLISH. */
static struct rte_mbuf *request(uint32_t i)
{
	const struct kc_key *k = kc_keyring_find(keys, 1);
	uint8_t p[KC_PAYLOAD_MAX];
	char queue[16], msg[32];
	size_t len;
	uint32_t q = i % NB_QUEUES;

	snprintf(queue, sizeof(queue), "queue-%u", q);
	if (i < 500) {
		len = kc_enc_publish(p, sizeof(p), queue, msg,
			(size_t)snprintf(msg, sizeof(msg), "message %u", i));
		return t_request(mp, k, KC_OP_PUBLISH, i, p, (uint32_t)len);
	}
	if (i < 550) {
		len = kc_enc_fetch(p, sizeof(p), queue, (i - 500) * 7, 5);
		return t_request(mp, k, KC_OP_FETCH, i, p, (uint32_t)len);
	}
	if (i < 570) {
		len = kc_enc_commit(p, sizeof(p), queue, "c", i - 550);
		return t_request(mp, k, KC_OP_COMMIT, i, p, (uint32_t)len);
	}
	if (i < 580) {
		len = kc_enc_offset(p, sizeof(p), queue, "c");
		return t_request(mp, k, KC_OP_OFFSET, i, p, (uint32_t)len);
	}
	if (i < 590)
		return t_request(mp, k, KC_OP_PING, i, msg,
			(uint32_t)snprintf(msg, sizeof(msg), "ping %u", i));
	if (i < 595)
		return t_request(mp, k, 99, i, "?", 1);
	return t_request(mp, k, KC_OP_PUBLISH, i, "\x09short", 6);
}

static int port_setup(uint16_t nb_txq)
{
	struct rte_eth_conf conf = { 0 };
	int rc;

	rte_eth_dev_stop(port_id);
	rc = rte_eth_dev_configure(port_id, 1, nb_txq, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port_id, 0, 1024, 0, NULL, mp);
	for (uint16_t q = 0; rc == 0 && q < nb_txq; q++)
		rc = rte_eth_tx_queue_setup(port_id, q, 1024, 0, NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port_id);
	return rc;
}

static void collect(struct reply *out, uint32_t *got)
{
	struct rte_mbuf *m[64];

	for (int t = 0; t < NB_TXQ; t++) {
		unsigned int n = rte_ring_dequeue_burst(tx_ring[t],
			(void **)m, 64, NULL);

		for (unsigned int i = 0; i < n; i++) {
			const uint8_t *kcp = t_kcp(m[i]);
			struct kc_hdr h;
			uint64_t seq;

			assert_true(t_udp_cksum_ok(m[i]));
			assert_int_equal(kc_hdr_decode(kcp, m[i]->data_len -
						       KC_KCP_OFF, &h),
					 KC_PARSE_OK);
			assert_true(kc_auth_verify(kc_keyring_find(keys, 1),
				kcp, KC_HDR_LEN + h.payload_len));
			seq = kc_msg_id_seq(h.msg_id);
			assert_true(seq < NB_REQ);
			assert_int_equal(out[seq].len, UINT32_MAX); /* once */
			out[seq].status = h.status;
			out[seq].len = h.payload_len;
			memcpy(out[seq].payload, kcp + KC_HDR_LEN,
			       h.payload_len);
			rte_pktmbuf_free(m[i]);
			(*got)++;
		}
	}
}

static void run(struct kc_config *cfg, struct reply *out)
{
	struct kc_rx_port port = {
		.port_id = port_id,
		.nb_rxq = 1,
		.ip = T_APPLIANCE_IP,
		.netmask = 0xffffff00u,
		.mac = t_appliance_mac,
	};
	uint16_t nb_rxq, nb_txq;
	struct kc_pipeline *p;
	char err[256];
	uint32_t sent = 0, got = 0;
	uint64_t deadline;

	for (uint32_t i = 0; i < NB_REQ; i++)
		out[i].len = UINT32_MAX;
	kc_config_queue_needs(cfg, &nb_rxq, &nb_txq);
	assert_int_equal(nb_rxq, 1);
	assert_int_equal(port_setup(nb_txq), 0);
	p = kc_pipeline_create(cfg, keys, &port, 1, err, sizeof(err));
	if (p == NULL)
		fail_msg("kc_pipeline_create: %s", err);
	assert_int_equal(kc_pipeline_launch(p), 0);

	deadline = rte_get_timer_cycles() + 20 * rte_get_timer_hz();
	while (got < NB_REQ && rte_get_timer_cycles() < deadline) {
		while (sent < NB_REQ && rte_ring_free_count(rx_ring) > 0) {
			struct rte_mbuf *m = request(sent);

			assert_non_null(m);
			assert_int_equal(rte_ring_enqueue(rx_ring, m), 0);
			sent++;
		}
		collect(out, &got);
		rte_delay_us_sleep(100);
	}
	kc_pipeline_stop(p);
	kc_pipeline_free(p);
	assert_int_equal(got, NB_REQ);
}

static void base_config(struct kc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->pipeline.burst = 32;
	cfg->pipeline.ring_size = 1024;
	cfg->pipeline.idle = KC_IDLE_ADAPTIVE;
	cfg->pipeline.idle_sleep_max_us = 50;
	cfg->kcp.udp_port = KC_UDP_PORT_DEFAULT;
	cfg->queues.max_queues = 8;
	cfg->queues.max_bytes_per_queue = 65536;
	cfg->queues.max_messages_per_queue = 1024;
	cfg->queues.max_consumers_per_queue = 4;
}

static uint64_t counter(enum kc_counter c)
{
	uint64_t sum[KC_CTR_COUNT];

	kc_stats_sum(sum);
	return sum[c];
}

static void test_run_to_completion(void **state)
{
	struct kc_config cfg;
	uint64_t enq = counter(KC_CTR_ring_enqueued);

	base_config(&cfg);
	cfg.pipeline.lcores.rx_count = 1;
	cfg.pipeline.lcores.rx[0] = 1;
	cfg.pipeline.lcores.worker_count = 1;
	cfg.pipeline.lcores.worker[0] = 1;
	run(&cfg, results[0]);
	assert_int_equal(counter(KC_CTR_ring_enqueued), enq); /* no ring */

	/* Spot checks of meaning: offsets per queue, in order. */
	for (uint32_t i = 0; i < 500; i++) {
		uint64_t off;

		assert_int_equal(results[0][i].status, KC_STATUS_OK);
		assert_true(kc_dec_u64_reply(results[0][i].payload,
					     results[0][i].len, &off));
		assert_int_equal(off, i / NB_QUEUES);
	}
	assert_int_equal(results[0][590].status, KC_STATUS_UNKNOWN_OP);
	assert_int_equal(results[0][599].status, KC_STATUS_BAD_REQUEST);
	assert_int_equal(results[0][585].len, strlen("ping 585"));
}

static void test_pipeline_one_worker(void **state)
{
	struct kc_config cfg;
	uint64_t enq = counter(KC_CTR_ring_enqueued);
	uint64_t deq = counter(KC_CTR_ring_dequeued);

	base_config(&cfg);
	cfg.pipeline.lcores.rx_count = 1;
	cfg.pipeline.lcores.rx[0] = 1;
	cfg.pipeline.lcores.worker_count = 1;
	cfg.pipeline.lcores.worker[0] = 2;
	run(&cfg, results[1]);
	assert_int_equal(counter(KC_CTR_ring_enqueued) - enq, NB_REQ);
	assert_int_equal(counter(KC_CTR_ring_dequeued) - deq, NB_REQ);
}

static void test_pipeline_two_workers(void **state)
{
	struct kc_config cfg;
	uint64_t enq = counter(KC_CTR_ring_enqueued);

	base_config(&cfg);
	cfg.pipeline.lcores.rx_count = 1;
	cfg.pipeline.lcores.rx[0] = 1;
	cfg.pipeline.lcores.worker_count = 2;
	cfg.pipeline.lcores.worker[0] = 2;
	cfg.pipeline.lcores.worker[1] = 3;
	run(&cfg, results[2]);
	assert_int_equal(counter(KC_CTR_ring_enqueued) - enq, NB_REQ);
	/* Both workers executed something. */
	assert_true(kc_stats[2].c[KC_CTR_kcp_replies] > 0);
	assert_true(kc_stats[3].c[KC_CTR_kcp_replies] > 0);
}

/*
 * A worker ring that is full: what does not fit is dropped and counted
 * (drop_ring_full), everything that fitted is answered, nothing is lost
 * without a count. A 4-entry ring (3 requests) behind bursts of 32.
 */
static void test_worker_ring_full(void **state)
{
	struct kc_rx_port port = {
		.port_id = port_id, .nb_rxq = 1, .ip = T_APPLIANCE_IP,
		.netmask = 0xffffff00u, .mac = t_appliance_mac,
	};
	uint64_t drops0 = counter(KC_CTR_drop_ring_full), drops = 0;
	struct reply *out = calloc(NB_REQ, sizeof(*out));
	uint16_t nb_rxq, nb_txq;
	struct kc_pipeline *p;
	struct kc_config cfg;
	uint32_t got = 0;
	uint64_t deadline;
	char err[256];

	(void)state;
	assert_non_null(out);
	base_config(&cfg);
	cfg.pipeline.ring_size = 4;
	cfg.pipeline.lcores.rx_count = 1;
	cfg.pipeline.lcores.rx[0] = 1;
	cfg.pipeline.lcores.worker_count = 1;
	cfg.pipeline.lcores.worker[0] = 2;
	for (uint32_t i = 0; i < NB_REQ; i++)
		out[i].len = UINT32_MAX;
	kc_config_queue_needs(&cfg, &nb_rxq, &nb_txq);
	assert_int_equal(port_setup(nb_txq), 0);
	/* Every request waits at the port before the lcores start. */
	for (uint32_t i = 0; i < NB_REQ; i++)
		assert_int_equal(rte_ring_enqueue(rx_ring, request(i)), 0);
	p = kc_pipeline_create(&cfg, keys, &port, 1, err, sizeof(err));
	if (p == NULL)
		fail_msg("kc_pipeline_create: %s", err);
	assert_int_equal(kc_pipeline_launch(p), 0);
	deadline = rte_get_timer_cycles() + 20 * rte_get_timer_hz();
	while (got + drops < NB_REQ && rte_get_timer_cycles() < deadline) {
		collect(out, &got);
		drops = counter(KC_CTR_drop_ring_full) - drops0;
		rte_delay_us_sleep(100);
	}
	kc_pipeline_stop(p);
	kc_pipeline_free(p);
	assert_true(drops > 0);
	assert_true(got > 0);
	assert_int_equal(got + drops, NB_REQ);
	free(out);
}

static void test_same_results_in_every_shape(void **state)
{
	for (int mode = 1; mode < 3; mode++)
		for (uint32_t i = 0; i < NB_REQ; i++) {
			assert_int_equal(results[mode][i].status,
					 results[0][i].status);
			assert_int_equal(results[mode][i].len,
					 results[0][i].len);
			assert_memory_equal(results[mode][i].payload,
					    results[0][i].payload,
					    results[0][i].len);
		}
}

/*
 * An mbuf pool that runs dry (issue 23, fault injection): a null port
 * receives from a pool of its own; while every mbuf of it is held, the
 * port delivers nothing and the RX lcore goes on polling (no crash, no
 * hang); once they are back, frames arrive again. The appliance allocates
 * no mbuf of its own on the data path: REPLYs are made in the request's.
 */
static uint64_t sum_of(enum kc_counter c)
{
	return counter(c);
}

static void test_mbuf_pool_empty(void **state)
{
	struct rte_mempool *small = rte_pktmbuf_pool_create("trs_small", 511,
		0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	struct rte_eth_conf conf = { 0 };
	struct rte_mbuf *held[512];
	struct kc_rx_port port = {
		.nb_rxq = 1, .ip = T_APPLIANCE_IP, .netmask = 0xffffff00u,
		.mac = t_appliance_mac,
	};
	uint16_t nb_rxq, nb_txq, pid;
	struct kc_pipeline *p;
	struct kc_config cfg;
	uint64_t polls, rx;
	unsigned int n = 0;
	char err[256];

	(void)state;
	assert_non_null(small);
	assert_int_equal(rte_vdev_init("net_null_trs", "size=64"), 0);
	assert_int_equal(rte_eth_dev_get_port_by_name("net_null_trs", &pid), 0);
	base_config(&cfg);
	cfg.pipeline.lcores.rx_count = 1;
	cfg.pipeline.lcores.rx[0] = 1;
	cfg.pipeline.lcores.worker_count = 1;
	cfg.pipeline.lcores.worker[0] = 1;
	kc_config_queue_needs(&cfg, &nb_rxq, &nb_txq);
	assert_int_equal(rte_eth_dev_configure(pid, 1, nb_txq, &conf), 0);
	assert_int_equal(rte_eth_rx_queue_setup(pid, 0, 64, 0, NULL, small), 0);
	for (uint16_t q = 0; q < nb_txq; q++)
		assert_int_equal(rte_eth_tx_queue_setup(pid, q, 64, 0, NULL), 0);
	assert_int_equal(rte_eth_dev_start(pid), 0);
	port.port_id = pid;
	p = kc_pipeline_create(&cfg, keys, &port, 1, err, sizeof(err));
	if (p == NULL)
		fail_msg("kc_pipeline_create: %s", err);
	assert_int_equal(kc_pipeline_launch(p), 0);
	rte_delay_us_sleep(50000);
	assert_true(sum_of(KC_CTR_rx_packets) > 0); /* frames, dropped */
	/* Take every mbuf the pool will give, also those the lcore had in
	 * flight and frees meanwhile (it takes them back when it wins). Up
	 * to 2 s: on a loaded machine the lcore's thread can be off its CPU
	 * with a burst in hand for a while (CI once saw 100 ms not enough). */
	for (int round = 0; round < 1000 && n < 511; round++) {
		while (n < RTE_DIM(held) &&
		       (held[n] = rte_pktmbuf_alloc(small)) != NULL)
			n++;
		if (n < 511)
			rte_delay_us_sleep(2000);
	}
	if (n != 511) {
		/* Stop the lcores first: a failed check must not leave them
		 * running for the test's exit to wait on. */
		rte_pktmbuf_free_bulk(held, n);
		kc_pipeline_stop(p);
		kc_pipeline_free(p);
	}
	assert_int_equal(n, 511);
	polls = sum_of(KC_CTR_rx_polls);
	rx = sum_of(KC_CTR_rx_packets);
	rte_delay_us_sleep(100000);
	assert_true(sum_of(KC_CTR_rx_polls) > polls); /* still polling */
	assert_int_equal(sum_of(KC_CTR_rx_packets), rx); /* nothing came */
	rte_pktmbuf_free_bulk(held, n);
	rte_delay_us_sleep(50000);
	assert_true(sum_of(KC_CTR_rx_packets) > rx); /* and again */
	kc_pipeline_stop(p);
	kc_pipeline_free(p);
	rte_eth_dev_stop(pid);
	rte_eth_dev_close(pid);
	rte_vdev_uninit("net_null_trs");
	rte_mempool_free(small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_to_completion),
		cmocka_unit_test(test_pipeline_one_worker),
		cmocka_unit_test(test_pipeline_two_workers),
		cmocka_unit_test(test_same_results_in_every_shape),
		cmocka_unit_test(test_worker_ring_full),
		cmocka_unit_test(test_mbuf_pool_empty),
	};
	char err[256];
	int rc;

	/* Four lcores on CPU 0: correct anywhere, adaptive idle shares it. */
	kc_test_eal_init_lcores("test_ring_stage", "(0-3)@0");
	mp = rte_pktmbuf_pool_create("trs_mbufs", 4095, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	keys = kc_keyring_parse(keys_text, sizeof(keys_text) - 1, "inline",
				err, sizeof(err));
	rx_ring = rte_ring_create("trs_rx", 1024, 0, 0);
	for (int t = 0; t < NB_TXQ; t++) {
		char name[16];

		snprintf(name, sizeof(name), "trs_tx%d", t);
		tx_ring[t] = rte_ring_create(name, 1024, 0, 0);
	}
	if (mp == NULL || keys == NULL || rx_ring == NULL)
		return 1;
	rc = rte_eth_from_rings("trs_port", &rx_ring, 1, tx_ring, NB_TXQ, 0);
	if (rc < 0)
		return 1;
	port_id = (uint16_t)rc;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
