/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The journal replicated (docs/cluster.md): three cluster nodes in one
 * process (libraft's disk layer in directories of this run, its TCP
 * transport on loopback ports of this run), each with a journal shard in
 * cluster mode tied to it (kc_cjournal). Records appended on the leader's
 * journal, as its lcore would, become durable there only once the log
 * has committed them; every node's journal file then holds the same
 * records, byte for byte, in the same order.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_cycles.h>

#include "kc_cjournal.h"
#include "kc_test_eal.h"
#include "kc_test_tmpdir.h"

#define NODES 3u
#define RECORDS 3000u

static struct kc_cjournal links[NODES];
static struct kc_journal *journals[NODES];
static char root[64];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *no_state(void *arg, size_t *len)
{
	(void)arg;
	*len = 1;
	return calloc(1, 1);
}

static int no_restore(void *arg, const void *p, size_t len)
{
	(void)arg;
	(void)p;
	(void)len;
	return 0;
}

static void journal_dir(char *out, size_t len, unsigned i)
{
	snprintf(out, len, "%s/journal%u", root, i + 1);
}

static void test_journal_replicated(void **state)
{
	unsigned base = 21000u + (unsigned)(getpid() % 2000) * 10u;
	struct kc_cluster_cfg cfg;
	uint8_t payload[400];
	int leader = -1;
	char err[256];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/kc-test-cjournal.XXXXXX");
	assert_non_null(mkdtemp(root));
	for (unsigned i = 0; i < NODES; i++) {
		const struct kc_cluster_hooks hooks = {
			.ops = { .apply = kc_cjournal_apply,
				 .snapshot = no_state, .restore = no_restore },
			.arg = &links[i],
		};
		struct kc_journal_repl repl = kc_cjournal_repl(&links[i]);
		char jd[128];
		struct kc_journal_cfg jc = {
			.dir = jd, .shard = 0,
			.durability = KC_DURABILITY_BATCH,
			.segment_bytes = 1u << 20, .buffer_bytes = 1u << 20,
			.group_max = 64, .group_wait_us = 50, .socket_id = 0,
			.repl = &repl,
		};
		struct kc_jreader_end end = { .how = KC_JEND_CLEAN };

		memset(&cfg, 0, sizeof(cfg));
		cfg.self = i + 1u;
		snprintf(cfg.dir, sizeof(cfg.dir), "%s/raft%u", root, i + 1);
		cfg.nb_nodes = NODES;
		for (unsigned k = 0; k < NODES; k++) {
			cfg.nodes[k].id = k + 1u;
			snprintf(cfg.nodes[k].address,
				 sizeof(cfg.nodes[k].address),
				 "127.0.0.1:%u", base + k);
		}
		cfg.election_timeout_ms = 300;
		cfg.heartbeat_ms = 50;
		cfg.max_inflight = 16;
		cfg.max_queued = 64;
		links[i].wait_ms = 5000;
		journal_dir(jd, sizeof(jd), i);
		journals[i] = kc_journal_open(&jc, &end, err, sizeof(err));
		if (journals[i] == NULL)
			fail_msg("journal %u: %s", i + 1, err);
		links[i].j[0] = journals[i];
		links[i].node = kc_cluster_start(&cfg, &hooks, err,
						 sizeof(err));
		if (links[i].node == NULL)
			fail_msg("node %u: %s", i + 1, err);
		assert_int_equal(kc_journal_start(journals[i]), 0);
	}
	for (uint64_t end = now_ms() + 10000; leader < 0 && now_ms() < end;
	     usleep(2000))
		for (unsigned i = 0; i < NODES; i++) {
			struct kc_cluster_status st;

			kc_cluster_status(links[i].node, &st);
			if (st.serving)
				leader = (int)i;
		}
	assert_true(leader >= 0);
	/* The leader's lcore: records, published now and then. */
	{
		struct kc_journal *j = journals[leader];
		uint64_t end = now_ms() + 20000;

		for (uint64_t n = 1; n <= RECORDS; n++) {
			struct kc_jrec h = {
				.type = n % 2 ? KC_JREC_REQUEST : KC_JREC_REPLY,
				.op = KC_OP_PUBLISH, .client_id = 1,
			};
			int len = snprintf((char *)payload, sizeof(payload),
					   "record %" PRIu64, n);

			memset(payload + len, 'x', n % 300);
			h.payload_len = (uint32_t)len + (uint32_t)(n % 300);
			while (!kc_journal_room(j, kc_jrec_size(h.payload_len),
						false)) {
				kc_journal_publish(j);
				assert_true(now_ms() < end);
				usleep(100);
			}
			assert_int_equal(kc_journal_append(j, &h, payload), n);
			if (n % 16 == 0)
				kc_journal_publish(j);
			/* Nothing is durable that the log has not got. */
			assert_true(kc_journal_durable_seq(j) < n);
		}
		kc_journal_publish(j);
	}
	/* Durable on the leader once committed; on every node once
	 * applied. */
	for (unsigned i = 0; i < NODES; i++) {
		uint64_t end = now_ms() + 20000;

		while (kc_journal_durable_seq(journals[i]) < RECORDS) {
			assert_true(now_ms() < end);
			assert_int_equal(kc_journal_state(journals[i]),
					 KC_JOURNAL_OK);
			usleep(1000);
		}
	}
	for (unsigned i = 0; i < NODES; i++)
		kc_journal_stop(journals[i]);
	for (unsigned i = 0; i < NODES; i++)
		kc_cluster_stop(links[i].node);
	for (unsigned i = 0; i < NODES; i++)
		kc_journal_close(journals[i]);
	/* Every node's file: the same records, byte for byte. */
	{
		struct kc_jreader *r[NODES];
		struct kc_jrec h[NODES];
		const uint8_t *p[NODES];
		struct kc_jpos pos;
		uint64_t n = 0;

		for (unsigned i = 0; i < NODES; i++) {
			char jd[128], sd[160];

			journal_dir(jd, sizeof(jd), i);
			assert_int_equal(kc_jshard_path(sd, sizeof(sd), jd, 0),
					 0);
			r[i] = kc_jreader_open(sd, err, sizeof(err));
			assert_non_null(r[i]);
		}
		while (kc_jreader_next(r[0], &h[0], &p[0], &pos)) {
			n++;
			assert_int_equal(h[0].seq, n);
			for (unsigned i = 1; i < NODES; i++) {
				assert_true(kc_jreader_next(r[i], &h[i], &p[i],
							    &pos));
				assert_memory_equal(&h[i], &h[0], sizeof(h[0]));
				assert_memory_equal(p[i], p[0],
						    h[0].payload_len);
			}
		}
		assert_int_equal(n, RECORDS);
		for (unsigned i = 0; i < NODES; i++) {
			assert_int_equal(kc_jreader_end(r[i])->how,
					 KC_JEND_CLEAN);
			kc_jreader_close(r[i]);
		}
		print_message("%" PRIu64 " records from node %d's lcore in "
			      "all three journals\n", n, leader + 1);
	}
	kc_test_rm_tree(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_replicated),
	};

	kc_test_eal_init("test_cluster_journal");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
