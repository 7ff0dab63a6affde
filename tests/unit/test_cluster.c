/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Three cluster nodes (lib/cluster/kc_cluster.c) in one process: libraft's
 * real disk layer in directories of this run and its TCP transport on
 * 127.0.0.1, ports of this run (from the process id), each node on its
 * Raft thread. Batches handed over from this thread are applied on every
 * node in the same order and released on the leader; the leader stopped,
 * another serves within a few election timeouts and the batches go on
 * from where the log is; the stopped node started again on its directory
 * skips what its journal had and catches up. Real time, so bounded waits
 * (10 s each), not fixed sleeps.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
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

#include "kc_cluster.h"
#include "kc_test_tmpdir.h"

#define NODES 3u
#define LOG_MAX 256u

struct applied {
	uint16_t shard;
	uint64_t first, last;
	bool own;
};

struct node {
	struct kc_cluster *c;
	pthread_mutex_t lock;
	struct applied log[LOG_MAX];
	uint32_t nb_log;
	uint32_t lost;
};

static struct node nodes[NODES];
static struct kc_cluster_cfg cfgs[NODES];
static char root[64];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int on_apply(void *arg, const struct kc_cbatch *b, bool own)
{
	struct node *n = arg;
	uint32_t sum = 0;

	/* The records arrived whole: each byte is its seq's low byte. */
	for (uint32_t i = 0; i < b->len; i++)
		sum += b->records[i] != (uint8_t)(b->first_seq + i);
	if (sum != 0)
		return -EBADMSG;
	pthread_mutex_lock(&n->lock);
	if (n->nb_log < LOG_MAX)
		n->log[n->nb_log++] = (struct applied){ b->shard, b->first_seq,
							 b->last_seq, own };
	pthread_mutex_unlock(&n->lock);
	return 0;
}

static void on_lost(void *arg, const struct kc_cbatch *b)
{
	struct node *n = arg;

	(void)b;
	__atomic_fetch_add(&n->lost, 1, __ATOMIC_RELAXED);
}

static void *on_snapshot(void *arg, size_t *len)
{
	struct node *n = arg;
	void *p;

	pthread_mutex_lock(&n->lock);
	*len = sizeof(n->nb_log) + sizeof(n->log);
	p = malloc(*len);
	if (p != NULL) {
		memcpy(p, &n->nb_log, sizeof(n->nb_log));
		memcpy((uint8_t *)p + sizeof(n->nb_log), n->log,
		       sizeof(n->log));
	}
	pthread_mutex_unlock(&n->lock);
	return p;
}

/* A snapshot only ever brings a node forward. */
static int on_restore(void *arg, const void *p, size_t len)
{
	struct node *n = arg;
	uint32_t nb;

	if (len != sizeof(n->nb_log) + sizeof(n->log))
		return -1;
	memcpy(&nb, p, sizeof(nb));
	pthread_mutex_lock(&n->lock);
	if (nb > n->nb_log) {
		n->nb_log = nb;
		memcpy(n->log, (const uint8_t *)p + sizeof(nb),
		       sizeof(n->log));
	}
	pthread_mutex_unlock(&n->lock);
	return 0;
}

static void start(unsigned i)
{
	const struct kc_cluster_hooks hooks = {
		.ops = { .apply = on_apply, .lost = on_lost,
			 .snapshot = on_snapshot, .restore = on_restore },
		.arg = &nodes[i],
	};
	char err[256];

	/* Where this node's journal is: after its last applied batch. */
	memset(cfgs[i].next_seq, 0, sizeof(cfgs[i].next_seq));
	for (uint32_t k = 0; k < nodes[i].nb_log; k++)
		cfgs[i].next_seq[nodes[i].log[k].shard] =
			nodes[i].log[k].last + 1;
	nodes[i].c = kc_cluster_start(&cfgs[i], &hooks, err, sizeof(err));
	if (nodes[i].c == NULL)
		fail_msg("node %u: %s", i + 1, err);
}

static int setup(void **state)
{
	/* Ports of this run: two runs on one host do not meet. */
	unsigned base = 20000u + (unsigned)(getpid() % 2000) * 10u;

	(void)state;
	snprintf(root, sizeof(root), "/tmp/kc-test-cluster.XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	memset(nodes, 0, sizeof(nodes));
	memset(cfgs, 0, sizeof(cfgs));
	for (unsigned i = 0; i < NODES; i++) {
		pthread_mutex_init(&nodes[i].lock, NULL);
		cfgs[i].self = i + 1u;
		snprintf(cfgs[i].dir, sizeof(cfgs[i].dir), "%s/node%u", root,
			 i + 1);
		cfgs[i].nb_nodes = NODES;
		for (unsigned k = 0; k < NODES; k++) {
			cfgs[i].nodes[k].id = k + 1u;
			snprintf(cfgs[i].nodes[k].address,
				 sizeof(cfgs[i].nodes[k].address),
				 "127.0.0.1:%u", base + k);
		}
		cfgs[i].election_timeout_ms = 300;
		cfgs[i].heartbeat_ms = 50;
		cfgs[i].snapshot_threshold = 16;
		cfgs[i].snapshot_trailing = 8;
		/* The stopped node's snapshot, sent while it was down, is
		 * sent again after 1 s instead of libraft's 30. */
		cfgs[i].install_snapshot_timeout_ms = 1000;
		cfgs[i].max_inflight = 8;
		cfgs[i].max_queued = 64;
	}
	for (unsigned i = 0; i < NODES; i++)
		start(i);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NODES; i++) {
		kc_cluster_stop(nodes[i].c);
		pthread_mutex_destroy(&nodes[i].lock);
	}
	kc_test_rm_tree(root);
	return 0;
}

/* The node serving as leader (-1 after 10 s without one). */
static int leader(int except)
{
	for (uint64_t end = now_ms() + 10000; now_ms() < end;) {
		for (unsigned i = 0; i < NODES; i++) {
			struct kc_cluster_status st;

			if ((int)i == except || nodes[i].c == NULL)
				continue;
			kc_cluster_status(nodes[i].c, &st);
			if (st.serving)
				return (int)i;
		}
		usleep(2000);
	}
	return -1;
}

static void submit(unsigned l, uint16_t shard, uint64_t first, uint64_t last)
{
	uint8_t rec[64];
	struct kc_cbatch b = { .shard = shard, .first_seq = first,
			       .last_seq = last, .len = sizeof(rec),
			       .records = rec };
	int rc;

	for (uint32_t i = 0; i < sizeof(rec); i++)
		rec[i] = (uint8_t)(first + i);
	for (uint64_t end = now_ms() + 10000;
	     (rc = kc_cluster_submit(nodes[l].c, &b)) == -EAGAIN &&
	     now_ms() < end;)
		usleep(1000);
	assert_int_equal(rc, 0);
}

/* Until every running node applied want batches: the same ones. */
static void same_logs(uint32_t want)
{
	uint64_t t0 = now_ms();

	for (uint64_t end = now_ms() + 10000; now_ms() < end;) {
		bool all = true;

		for (unsigned i = 0; i < NODES; i++)
			if (nodes[i].c != NULL &&
			    __atomic_load_n(&nodes[i].nb_log,
					    __ATOMIC_ACQUIRE) < want)
				all = false;
		if (all)
			break;
		usleep(2000);
	}
	print_message("same_logs(%u): %" PRIu64 " ms\n", want, now_ms() - t0);
	for (unsigned i = 0; i < NODES; i++) {
		struct kc_cluster_status st;

		if (nodes[i].c == NULL || nodes[i].nb_log >= want)
			continue;
		kc_cluster_status(nodes[i].c, &st);
		print_message("node %u: %u of %u batches applied; %s, term %"
			      PRIu64 ", leader %" PRIu64 ", commit %" PRIu64
			      ", applied %" PRIu64 ", failed %d, stale %d\n",
			      i + 1, nodes[i].nb_log, want,
			      kc_cluster_role_name(st.role), st.term,
			      st.leader_id, st.commit_index, st.last_applied,
			      st.failed, st.stale);
	}
	for (unsigned i = 0, ref = NODES; i < NODES; i++) {
		if (nodes[i].c == NULL)
			continue;
		if (ref == NODES)
			ref = i;	/* the first running node */
		pthread_mutex_lock(&nodes[i].lock);
		assert_true(nodes[i].nb_log >= want);
		for (uint32_t k = 0; k < want; k++) {
			assert_int_equal(nodes[i].log[k].shard,
					 nodes[ref].log[k].shard);
			assert_int_equal(nodes[i].log[k].first,
					 nodes[ref].log[k].first);
			assert_int_equal(nodes[i].log[k].last,
					 nodes[ref].log[k].last);
		}
		pthread_mutex_unlock(&nodes[i].lock);
	}
}

static void until_released(unsigned l, uint16_t shard, uint64_t seq)
{
	for (uint64_t end = now_ms() + 10000;
	     kc_cluster_released(nodes[l].c, shard) < seq && now_ms() < end;)
		usleep(1000);
	assert_int_equal(kc_cluster_released(nodes[l].c, shard), seq);
}

static void test_three_nodes(void **state)
{
	struct kc_cluster_status st;
	uint64_t seq[2] = { 1, 1 }, t0;
	int l, l2;

	(void)state;
	l = leader(-1);
	assert_true(l >= 0);
	for (unsigned i = 0; i < NODES; i++)
		if ((int)i != l)
			assert_int_equal(kc_cluster_submit(nodes[i].c,
				&(struct kc_cbatch){ .shard = 0,
					.first_seq = 1, .last_seq = 1 }),
				-ENOTCONN);
	/* 40 batches, two shards: past two snapshots. */
	for (unsigned k = 0; k < 40; k++) {
		uint16_t s = k % 2;

		submit((unsigned)l, s, seq[s], seq[s] + 2);
		seq[s] += 3;
	}
	until_released((unsigned)l, 0, seq[0] - 1);
	until_released((unsigned)l, 1, seq[1] - 1);
	same_logs(40);
	for (unsigned i = 0; i < NODES; i++) {
		/* The status is published after the loop's turn. */
		for (uint64_t end = now_ms() + 2000; now_ms() < end; usleep(1000)) {
			kc_cluster_status(nodes[i].c, &st);
			if (st.batches_applied == 40)
				break;
		}
		assert_int_equal(st.role, (int)i == l ? KC_ROLE_LEADER :
				 KC_ROLE_FOLLOWER);
		assert_int_equal(st.leader_id, (uint64_t)l + 1);
		assert_false(st.failed);
		assert_int_equal(st.batches_applied, 40);
		assert_int_equal(kc_cluster_released(nodes[i].c, 0),
				 (int)i == l ? seq[0] - 1 : 0);
		assert_true(nodes[i].log[0].own == ((int)i == l));
	}
	/* The leader goes: another serves, and the batches go on. */
	t0 = now_ms();
	kc_cluster_stop(nodes[l].c);
	nodes[l].c = NULL;
	l2 = leader(l);
	assert_true(l2 >= 0 && l2 != l);
	print_message("node %d led; node %d serves %" PRIu64 " ms after it "
		      "stopped\n", l + 1, l2 + 1, now_ms() - t0);
	for (unsigned k = 0; k < 10; k++) {
		submit((unsigned)l2, 0, seq[0], seq[0] + 1);
		seq[0] += 2;
	}
	until_released((unsigned)l2, 0, seq[0] - 1);
	same_logs(50);
	/* The old leader again, on its directory: it skips the 40 batches
	 * its "journal" has and applies the 10 it missed. */
	start((unsigned)l);
	same_logs(50);
	kc_cluster_status(nodes[l].c, &st);
	assert_false(st.failed);
	assert_int_equal(nodes[l].nb_log, 50);
	assert_int_equal(nodes[l].lost, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_three_nodes, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
