/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The glue between the journal's batches and the Raft log (lib/cluster,
 * docs/cluster.md), on three nodes of libraft's fixture: an in-memory
 * network and disk, simulated time, deterministic elections. Checked: the
 * entry's encoding; batches submitted on the leader are applied on every
 * node in the same order and released on the leader only once committed;
 * a new leader serves only after its barrier, and a leader deposed with
 * batches in flight reports them lost, never released, whatever the next
 * leader does with them, and stops applying until it restarts; a gap or
 * a failed apply stops a node; a restarted node skips the batches its
 * journal has; a node that missed entries catches up from a snapshot.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <raft.h>
#include <raft/fixture.h>

#include "kc_cglue.h"
#include "kc_jrec.h"

#define NODES 3u
#define LOG_MAX 512u

struct applied {
	uint16_t shard;
	uint64_t first, last;
	uint64_t origin;
	uint32_t sum;		/* of the records' bytes */
	bool own;
};

/* What one node's appliance would see. */
struct node {
	struct kc_cglue *g;
	struct applied log[LOG_MAX];
	uint32_t nb_log;
	uint64_t released[KC_CGLUE_SHARDS_MAX];	/* last seq released */
	uint32_t nb_released, nb_lost;
	struct kc_cbatch lost[LOG_MAX];
	bool serving;
	uint64_t serving_term;
	uint32_t applied_when_serving;
	uint32_t restores;
	int fail_apply;		/* non-zero: apply answers it */
};

static struct raft_fixture f;
static struct node nodes[NODES];

static uint32_t sum(const uint8_t *p, uint32_t n)
{
	uint32_t s = 0;

	for (uint32_t i = 0; i < n; i++)
		s = s * 31u + p[i];
	return s;
}

static int on_apply(void *arg, const struct kc_cbatch *b, bool own)
{
	struct node *n = arg;

	if (n->fail_apply)
		return n->fail_apply;
	assert_true(n->nb_log < LOG_MAX);
	n->log[n->nb_log++] = (struct applied){ b->shard, b->first_seq,
		b->last_seq, b->origin, sum(b->records, b->len), own };
	return 0;
}

static void on_released(void *arg, uint16_t shard, uint64_t last_seq)
{
	struct node *n = arg;

	/* In order, per shard. */
	assert_true(last_seq > n->released[shard]);
	n->released[shard] = last_seq;
	n->nb_released++;
}

static void on_lost(void *arg, const struct kc_cbatch *b)
{
	struct node *n = arg;

	n->lost[n->nb_lost++] = *b;
}

static void on_serving(void *arg, bool on, uint64_t term)
{
	struct node *n = arg;

	n->serving = on;
	n->serving_term = term;
	if (on)
		n->applied_when_serving = n->nb_log;
}

/* The state a snapshot carries: what was applied. */
static void *on_snapshot(void *arg, size_t *len)
{
	struct node *n = arg;
	void *p = malloc(sizeof(n->log) + sizeof(n->nb_log));

	if (p != NULL) {
		memcpy(p, &n->nb_log, sizeof(n->nb_log));
		memcpy((uint8_t *)p + sizeof(n->nb_log), n->log,
		       sizeof(n->log));
		*len = sizeof(n->log) + sizeof(n->nb_log);
	}
	return p;
}

static int on_restore(void *arg, const void *p, size_t len)
{
	struct node *n = arg;

	if (len != sizeof(n->log) + sizeof(n->nb_log))
		return -1;
	memcpy(&n->nb_log, p, sizeof(n->nb_log));
	memcpy(n->log, (const uint8_t *)p + sizeof(n->nb_log),
	       sizeof(n->log));
	n->restores++;
	return 0;
}

static const struct kc_cglue_ops ops = {
	.apply = on_apply, .released = on_released, .lost = on_lost,
	.serving = on_serving, .snapshot = on_snapshot,
	.restore = on_restore,
};

static int setup(void **state)
{
	struct raft_configuration conf;

	(void)state;
	/* libraft 0.15's initializer leaves the server count alone. */
	memset(&f, 0, sizeof(f));
	memset(nodes, 0, sizeof(nodes));
	assert_int_equal(raft_fixture_initialize(&f), 0);
	for (unsigned i = 0; i < NODES; i++) {
		nodes[i].g = kc_cglue_create(&ops, &nodes[i], i + 1u, 8);
		assert_non_null(nodes[i].g);
		assert_int_equal(raft_fixture_grow(&f,
					kc_cglue_fsm(nodes[i].g)), 0);
		kc_cglue_attach(nodes[i].g, raft_fixture_get(&f, i));
	}
	assert_int_equal(raft_fixture_configuration(&f, NODES, &conf), 0);
	assert_int_equal(raft_fixture_bootstrap(&f, &conf), 0);
	raft_configuration_close(&conf);
	assert_int_equal(raft_fixture_start(&f), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	raft_fixture_close(&f);
	for (unsigned i = 0; i < NODES; i++)
		kc_cglue_free(nodes[i].g);
	return 0;
}

/* Step the cluster for ms of its time, every node's glue polled after
 * every step (as the appliance does after every turn of its loop). */
static void run(unsigned ms)
{
	raft_time end = raft_fixture_time(&f) + ms;

	while (raft_fixture_time(&f) < end) {
		raft_fixture_step(&f);
		for (unsigned i = 0; i < NODES; i++)
			if (raft_fixture_alive(&f, i))
				kc_cglue_poll(nodes[i].g);
	}
}

static bool serving(unsigned i)
{
	struct kc_cglue_info in;

	kc_cglue_info(nodes[i].g, &in);
	return in.serving;
}

/* Until node i serves (elected, barrier applied). */
static void until_serving(unsigned i)
{
	for (unsigned t = 0; t < 200 && !serving(i); t++)
		run(10);
	assert_true(serving(i));
	assert_true(nodes[i].serving);
}

static int submit(unsigned i, uint16_t shard, uint64_t first, uint64_t last)
{
	uint8_t rec[100];
	struct kc_cbatch b = { .shard = shard, .first_seq = first,
			       .last_seq = last, .len = (uint32_t)(last - first) + 3u,
			       .records = rec };

	for (unsigned k = 0; k < sizeof(rec); k++)
		rec[k] = (uint8_t)(first * 7u + k + shard);
	return kc_cglue_submit(nodes[i].g, &b);
}

/* Every alive node applied the same batches in the same order, at least
 * want of them. */
static void same_logs(uint32_t want)
{
	for (unsigned t = 0; t < 500; t++) {
		bool all = true;

		for (unsigned i = 0; i < NODES; i++)
			if (raft_fixture_alive(&f, i) && nodes[i].nb_log < want)
				all = false;
		if (all)
			break;
		run(10);
	}
	for (unsigned i = 0; i < NODES; i++) {
		if (!raft_fixture_alive(&f, i))
			continue;
		assert_true(nodes[i].nb_log >= want);
		for (uint32_t k = 0; k < want; k++) {
			const struct applied *a = &nodes[0].log[k];
			const struct applied *b = &nodes[i].log[k];

			if (!raft_fixture_alive(&f, 0))
				a = &nodes[i == 1 ? 2 : 1].log[k];
			assert_int_equal(a->shard, b->shard);
			assert_int_equal(a->first, b->first);
			assert_int_equal(a->last, b->last);
			assert_int_equal(a->sum, b->sum);
			assert_int_equal(a->origin, b->origin);
		}
	}
}

static void test_entry_codec(void **state)
{
	uint8_t rec[13] = "thirteen byte", out[128];
	struct kc_cbatch b = { .shard = 3, .first_seq = 10, .last_seq = 12,
			       .origin = 2, .len = sizeof(rec), .records = rec };
	struct kc_cbatch d;
	size_t n = kc_centry_size(b.len);

	(void)state;
	assert_int_equal(n % 8u, 0);
	assert_int_equal(n, 56);
	kc_centry_encode(&b, out);
	assert_int_equal(kc_centry_decode(out, n, &d), 0);
	assert_int_equal(d.shard, 3);
	assert_int_equal(d.first_seq, 10);
	assert_int_equal(d.last_seq, 12);
	assert_int_equal(d.origin, 2);
	assert_int_equal(d.len, sizeof(rec));
	assert_memory_equal(d.records, rec, sizeof(rec));
	/* Every byte counts: a flipped bit anywhere, a padding byte, a
	 * length that does not fit. */
	for (size_t i = 0; i < n; i++) {
		out[i] ^= 0x10;
		assert_int_equal(kc_centry_decode(out, n, &d), -EBADMSG);
		out[i] ^= 0x10;
	}
	assert_int_equal(kc_centry_decode(out, n - 8, &d), -EBADMSG);
	assert_int_equal(kc_centry_decode(out, 39, &d), -EBADMSG);
	b.last_seq = 9;
	kc_centry_encode(&b, out);
	assert_int_equal(kc_centry_decode(out, n, &d), -EBADMSG);
}

/* Batches on the leader: applied everywhere in order, released on the
 * leader once committed, and submissions that cannot be taken refused. */
static void test_commit_and_release(void **state)
{
	struct kc_cglue_info in;

	(void)state;
	raft_fixture_elect(&f, 0);
	until_serving(0);
	assert_false(serving(1));
	assert_int_equal(nodes[0].applied_when_serving, 0);
	assert_int_equal(submit(1, 0, 1, 10), -ENOTCONN);
	assert_int_equal(submit(0, 0, 1, 10), 0);
	assert_int_equal(submit(0, 0, 11, 25), 0);
	assert_int_equal(submit(0, 1, 1, 5), 0);
	assert_int_equal(submit(0, 0, 27, 30), -EINVAL);	/* a gap */
	assert_int_equal(submit(0, 0, 20, 30), -EINVAL);	/* overlap */
	/* Not released before it is committed. */
	assert_int_equal(nodes[0].nb_released, 0);
	same_logs(3);
	assert_int_equal(nodes[0].nb_released, 3);
	assert_int_equal(nodes[0].released[0], 25);
	assert_int_equal(nodes[0].released[1], 5);
	assert_int_equal(nodes[1].nb_released, 0);
	for (uint32_t k = 0; k < 3; k++) {
		assert_true(nodes[0].log[k].own);
		assert_false(nodes[1].log[k].own);
		assert_false(nodes[2].log[k].own);
	}
	kc_cglue_info(nodes[2].g, &in);
	assert_int_equal(in.next_seq[0], 26);
	assert_int_equal(in.next_seq[1], 6);
	assert_int_equal(in.applied, 3);
	/* At most max_inflight (8) in flight. */
	for (uint64_t s = 26, k = 0; k < 8; k++, s += 2)
		assert_int_equal(submit(0, 0, s, s + 1), 0);
	assert_int_equal(submit(0, 0, 42, 43), -EAGAIN);
	same_logs(11);
	assert_int_equal(nodes[0].nb_released, 11);
	assert_int_equal(nodes[0].nb_lost, 0);
}

/*
 * The leader is deposed with batches in flight: each is reported lost to
 * it, none released; the next leader serves only once it has applied
 * every entry committed before its term (it may include some of the lost
 * batches: they are in the log), and numbers its batches on from there.
 */
static void test_leader_change_in_flight(void **state)
{
	unsigned l;
	uint32_t before;

	(void)state;
	raft_fixture_elect(&f, 0);
	until_serving(0);
	assert_int_equal(submit(0, 0, 1, 10), 0);
	same_logs(1);
	before = nodes[0].nb_released;
	assert_int_equal(before, 1);
	for (uint64_t s = 11, k = 0; k < 4; k++, s += 10)
		assert_int_equal(submit(0, 0, s, s + 9), 0);
	/* Its followers' answers dropped until it steps down. */
	raft_fixture_depose(&f);
	run(50);
	assert_false(serving(0));
	assert_false(nodes[0].serving);
	assert_int_equal(nodes[0].nb_released + nodes[0].nb_lost, 5);
	assert_true(nodes[0].nb_lost >= 1);
	for (uint32_t k = 0; k < nodes[0].nb_lost; k++)
		/* Lost ones are never also released. */
		assert_true(nodes[0].lost[k].last_seq > nodes[0].released[0]);
	assert_int_equal(submit(0, 0, 51, 60), -ENOTCONN);
	{
		struct kc_cglue_info in;
		uint32_t applied = nodes[0].nb_log;

		/* It executed what it lost: it applies nothing more and
		 * never serves again until it restarts. */
		kc_cglue_info(nodes[0].g, &in);
		assert_true(in.stale);
		run(3000);
		assert_int_equal(nodes[0].nb_log, applied);
		assert_false(serving(0));
	}
	/* It exits to restart: a new leader among the others, serving
	 * after its barrier. */
	raft_fixture_kill(&f, 0);
	for (unsigned t = 0; t < 300; t++) {
		l = raft_fixture_leader_index(&f);
		if (l < NODES && l != 0 && serving(l))
			break;
		run(10);
	}
	l = raft_fixture_leader_index(&f);
	assert_true(l == 1 || l == 2);
	until_serving(l);
	{
		struct kc_cglue_info in;
		uint64_t next;

		kc_cglue_info(nodes[l].g, &in);
		next = in.next_seq[0];
		/* Everything committed is applied before it serves: at least
		 * what the old leader was told was committed. */
		assert_true(nodes[l].applied_when_serving >=
			    nodes[0].nb_released);
		assert_true(next >= nodes[0].released[0] + 1);
		/* The old leader's numbering is stale for it. */
		if (next != 51)
			assert_int_equal(submit(l, 0, 51, 60), -EINVAL);
		print_message("deposed leader: %u released, %u lost; node %u "
			      "leads, serving after applying %u batches\n",
			      nodes[0].nb_released, nodes[0].nb_lost, l,
			      nodes[l].applied_when_serving);
		assert_int_equal(submit(l, 0, next, next + 4), 0);
		same_logs(nodes[l].applied_when_serving + 1);
		assert_true(nodes[l].released[0] == next + 4);
	}
	/* Every node agrees on every shard's seqs, without gaps. */
	for (unsigned i = 1; i < NODES; i++) {
		uint64_t want = 1;

		for (uint32_t k = 0; k < nodes[i].nb_log; k++) {
			assert_int_equal(nodes[i].log[k].first, want);
			want = nodes[i].log[k].last + 1;
		}
	}
}

/* A gap in a shard's seqs, or an apply the node cannot do, stops it. */
static void test_failures_stop_the_node(void **state)
{
	struct raft_fsm *fsm = kc_cglue_fsm(nodes[2].g);
	uint8_t rec[8] = { 0 }, out[64];
	struct kc_cbatch b = { .shard = 0, .first_seq = 1, .last_seq = 5,
			       .origin = 9, .len = sizeof(rec), .records = rec };
	struct raft_buffer buf = { .base = out, .len = kc_centry_size(8) };
	struct kc_cglue_info in;
	void *result;

	(void)state;
	/* Straight into node 2's FSM, as libraft would. */
	kc_centry_encode(&b, out);
	assert_int_equal(fsm->apply(fsm, &buf, &result), 0);
	b.first_seq = 7;
	b.last_seq = 9;
	kc_centry_encode(&b, out);
	assert_int_not_equal(fsm->apply(fsm, &buf, &result), 0);
	kc_cglue_info(nodes[2].g, &in);
	assert_true(in.failed);
	assert_int_equal(in.next_seq[0], 6);
	/* Node 1's appliance cannot apply: it stops too. */
	nodes[1].fail_apply = -EIO;
	fsm = kc_cglue_fsm(nodes[1].g);
	b.first_seq = 1;
	b.last_seq = 2;
	kc_centry_encode(&b, out);
	assert_int_not_equal(fsm->apply(fsm, &buf, &result), 0);
	kc_cglue_info(nodes[1].g, &in);
	assert_true(in.failed);
	assert_int_equal(in.applied, 0);
}

/* A node that restarts with its journal ahead of the snapshot skips the
 * batches its journal has, and applies on from there. */
static void test_restart_skips_what_the_journal_has(void **state)
{
	struct raft_fsm *fsm = kc_cglue_fsm(nodes[2].g);
	uint8_t rec[8] = { 0 }, out[64];
	struct kc_cbatch b = { .shard = 0, .first_seq = 1, .last_seq = 5,
			       .origin = 1, .len = sizeof(rec), .records = rec };
	struct raft_buffer buf = { .base = out, .len = kc_centry_size(8) };
	struct kc_cglue_info in;
	void *result;

	(void)state;
	kc_cglue_start_at(nodes[2].g, 0, 11);
	kc_centry_encode(&b, out);
	assert_int_equal(fsm->apply(fsm, &buf, &result), 0);	/* 1..5 */
	b.first_seq = 6;
	b.last_seq = 10;
	kc_centry_encode(&b, out);
	assert_int_equal(fsm->apply(fsm, &buf, &result), 0);	/* 6..10 */
	assert_int_equal(nodes[2].nb_log, 0);
	b.first_seq = 11;
	b.last_seq = 12;
	kc_centry_encode(&b, out);
	assert_int_equal(fsm->apply(fsm, &buf, &result), 0);
	assert_int_equal(nodes[2].nb_log, 1);
	kc_cglue_info(nodes[2].g, &in);
	assert_int_equal(in.skipped, 2);
	assert_int_equal(in.applied, 1);
	assert_int_equal(in.next_seq[0], 13);
	/* A batch across the journal's end (its tail torn in a crash):
	 * the records it lacks, from its records' own seqs. */
	{
		uint8_t recs[4 * KC_JREC_HDR_LEN] = { 0 }, big[512];
		struct raft_buffer bb = { .base = big };

		for (uint32_t k = 0; k < 4; k++)
			kc_put_le64(recs + k * KC_JREC_HDR_LEN + 8, 9 + k);
		kc_cglue_start_at(nodes[0].g, 0, 11);
		fsm = kc_cglue_fsm(nodes[0].g);
		b = (struct kc_cbatch){ .shard = 0, .first_seq = 9,
			.last_seq = 12, .origin = 2, .len = sizeof(recs),
			.records = recs };
		bb.len = kc_centry_size(b.len);
		kc_centry_encode(&b, big);
		assert_int_equal(fsm->apply(fsm, &bb, &result), 0);
		assert_int_equal(nodes[0].nb_log, 1);
		assert_int_equal(nodes[0].log[0].first, 11);
		assert_int_equal(nodes[0].log[0].last, 12);
		assert_int_equal(nodes[0].log[0].sum,
				 sum(recs + 2 * KC_JREC_HDR_LEN,
				     2 * KC_JREC_HDR_LEN));
	}
	/* One whose records do not say where the journal ends: the logs
	 * disagree. */
	kc_cglue_start_at(nodes[1].g, 0, 11);
	fsm = kc_cglue_fsm(nodes[1].g);
	b = (struct kc_cbatch){ .shard = 0, .first_seq = 9, .last_seq = 12,
				.origin = 1, .len = sizeof(rec), .records = rec };
	kc_centry_encode(&b, out);
	assert_int_not_equal(fsm->apply(fsm, &buf, &result), 0);
	kc_cglue_info(nodes[1].g, &in);
	assert_true(in.failed);
}

/* A node down while the log moves on past a snapshot catches up from
 * the snapshot, then from the log. */
static void test_catch_up_from_snapshot(void **state)
{
	uint64_t s = 1;

	(void)state;
	for (unsigned i = 0; i < NODES; i++) {
		raft_set_snapshot_threshold(raft_fixture_get(&f, i), 4);
		raft_set_snapshot_trailing(raft_fixture_get(&f, i), 2);
	}
	raft_fixture_elect(&f, 0);
	until_serving(0);
	raft_fixture_kill(&f, 2);
	for (unsigned k = 0; k < 30; k++, s += 3) {
		while (submit(0, 0, s, s + 2) == -EAGAIN)
			run(5);
	}
	same_logs(30);
	raft_fixture_revive(&f, 2);
	same_logs(30);
	assert_true(nodes[2].restores >= 1);
	print_message("node 2 caught up with %u snapshot restore(s)\n",
		      nodes[2].restores);
	{
		struct kc_cglue_info a, b;

		kc_cglue_info(nodes[0].g, &a);
		kc_cglue_info(nodes[2].g, &b);
		assert_int_equal(a.next_seq[0], s);
		assert_int_equal(b.next_seq[0], s);
	}
	/* And on with batches after it. */
	assert_int_equal(submit(0, 0, s, s + 1), 0);
	same_logs(31);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_codec),
		cmocka_unit_test_setup_teardown(test_commit_and_release,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_leader_change_in_flight,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_stop_the_node,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_restart_skips_what_the_journal_has, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_catch_up_from_snapshot,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
