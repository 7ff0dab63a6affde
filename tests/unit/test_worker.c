/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A worker with its journal, on mbufs from a real mempool: REPLYs held
 * until durable, retries answered from the message-id index, the replay
 * window, recovery (queues and index rebuilt, a divergence named), and a
 * failing fdatasync (wrapped with -Wl,--wrap) turning held REPLYs into
 * STORAGE_FAILED. The tests run in order on one journal.
 */
#include <errno.h>
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
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "kc_recovery.h"
#include "kc_worker.h"
#include "kc_test_eal.h"
#include "kc_test_frames.h"

/* ---- fdatasync that fails on demand ------------------------------------ */

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
static volatile int fail_fdatasync;
static volatile int stall_fdatasync; /* waits while set */

int __wrap_fdatasync(int fd)
{
	while (__atomic_load_n(&stall_fdatasync, __ATOMIC_ACQUIRE))
		usleep(100);
	if (__atomic_load_n(&fail_fdatasync, __ATOMIC_ACQUIRE)) {
		errno = EIO;
		return -1;
	}
	return __real_fdatasync(fd);
}

/* ---- the worker --------------------------------------------------------- */

/* Message ids are T0 + seq ms, T0 the time the test started, and each
 * request is executed at its own id's time (recovery uses the clock). */
static uint64_t T0_MS;

static struct rte_mempool *mp;
static struct kc_keyring *keys;
static struct kc_pkt_ctx ctx;
static struct kc_lcore_stats st;
static struct kc_worker_state ws;
static struct kc_config cfg;
static char dir[64];

static const char keys_text[] =
	"1 6b696e67636f6272612d6465762d6b65792d6c6f63616c2d6f6e6c792d303031\n"
	"2 6b696e67636f6272612d6465762d6b65792d6c6f63616c2d6f6e6c792d303032\n";

static const struct kc_key *key1(void)
{
	return kc_keyring_find(keys, 1);
}

/* A fresh store and everything recovered from the journal directory. */
static int worker_up(uint32_t max_messages, char *err, size_t err_len)
{
	struct kc_queue_limits lim = {
		.max_queues = 4, .max_bytes_per_queue = 1u << 20,
		.max_messages_per_queue = max_messages,
		.max_consumers_per_queue = 4,
	};
	struct kc_worker_state *w = &ws;
	static int gen;
	char name[32];

	/* The config's queue limits size the snapshot buffer. */
	cfg.queues.max_queues = lim.max_queues;
	cfg.queues.max_bytes_per_queue = lim.max_bytes_per_queue;
	cfg.queues.max_messages_per_queue = lim.max_messages_per_queue;
	cfg.queues.max_consumers_per_queue = lim.max_consumers_per_queue;
	memset(&ws, 0, sizeof(ws));
	ws.pc = &ctx;
	ws.st = &st;
	snprintf(name, sizeof(name), "tw_q%d", gen++);
	ws.store = kc_queue_store_create(name, &lim, 0);
	if (ws.store == NULL)
		return -1;
	if (kc_ledger_ws_create(&cfg, &ws, 0, err, err_len) != 0)
		return -1;
	/* Each incarnation's index needs a fresh name too. */
	snprintf(cfg.journal.dir, sizeof(cfg.journal.dir), "%s", dir);
	return kc_recover_workers(&cfg, &w, 1, 0, err, err_len);
}

static void worker_down(void)
{
	kc_ledger_ws_free(&ws);
	kc_journal_close(ws.j);
	kc_idem_free(ws.idem);
	for (uint32_t k = ws.pend_tail; k != ws.pend_head; k++)
		rte_pktmbuf_free(ws.pend[k & ws.pend_mask].m);
	rte_free(ws.pend);
	rte_free(ws.snap_buf);
	kc_queue_store_free(ws.store);
	memset(&ws, 0, sizeof(ws));
}

static int setup(void **state)
{
	char err[256];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kc-test-worker-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	keys = kc_keyring_parse(keys_text, sizeof(keys_text) - 1, "inline",
				err, sizeof(err));
	if (keys == NULL)
		return -1;
	ctx.udp_port = KC_UDP_PORT_DEFAULT;
	ctx.keys = keys;
	ctx.port[0].port_id = 0;
	ctx.port[0].ip = T_APPLIANCE_IP;
	ctx.port[0].netmask = 0xffffff00u;
	ctx.port[0].mac = t_appliance_mac;
	cfg.journal.durability = KC_CFG_DURABILITY_BATCH;
	cfg.journal.segment_bytes = 1u << 20;
	cfg.journal.buffer_bytes = 1u << 20;
	cfg.journal.group_max = 64;
	cfg.journal.group_wait_us = 0;
	cfg.journal.max_pending = 2048;
	cfg.journal.reserve_bytes = 0;
	cfg.journal.snapshot_bytes = 1ull << 40; /* no queue snapshots */
	cfg.idempotency.window_s = 60;
	cfg.idempotency.entries = 1024;
	cfg.idempotency.max_clock_skew_s = 30;
	cfg.ledger.enabled = true;
	cfg.ledger.mint_authority = 1;
	cfg.ledger.max_accounts = 16;
	cfg.ledger.max_coins = 1024;
	cfg.ledger.reap_after_s = 3600;
	cfg.ledger.snapshot_every_ops = 2;
	cfg.ledger.trail_max_hops = 64;
	snprintf(cfg.kcp.keys_file, sizeof(cfg.kcp.keys_file), "inline");
	if (worker_up(256, err, sizeof(err)) != 0) {
		fprintf(stderr, "worker_up: %s\n", err);
		return -1;
	}
	return kc_journal_start(ws.j);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	worker_down();
	kc_keyring_free(keys);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Execute m and finish its REPLY: a burst of one. */
static enum kc_exec execute(struct rte_mbuf *m)
{
	enum kc_exec e = kc_ops_execute(&ws, m);

	kc_ops_sign_flush(&ws);
	return e;
}

/* The request with message id time id_ms and sequence seq, executed as at
 * now_ns. */
static struct rte_mbuf *request_at(uint8_t op, uint64_t id_ms, uint64_t seq,
				   const void *p, uint32_t len, uint64_t now_ns,
				   enum kc_exec *how)
{
	struct rte_mbuf *m = t_request_at(mp, key1(), op, id_ms, seq, p, len);

	assert_non_null(m);
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	ws.now_ns = now_ns;
	*how = kc_ops_execute(&ws, m);
	kc_ops_sign_flush(&ws);
	kc_journal_publish(ws.j);
	return m;
}

/* The request with message id T0 + seq, executed as at time T0 + seq. */
static struct rte_mbuf *request(uint8_t op, uint64_t seq, const void *p,
				uint32_t len, enum kc_exec *how)
{
	return request_at(op, T0_MS + seq, seq, p, len,
			  (T0_MS + seq) * 1000000ull, how);
}

static uint64_t wait_durable(uint64_t seq)
{
	uint64_t deadline = rte_get_timer_cycles() + 10 * rte_get_timer_hz();

	while (kc_journal_durable_seq(ws.j) < seq &&
	       kc_journal_state(ws.j) != KC_JOURNAL_FAILED)
		assert_true(rte_get_timer_cycles() < deadline);
	return kc_journal_durable_seq(ws.j);
}

static uint16_t status_of(struct rte_mbuf *m)
{
	return kc_get_u16(t_kcp(m) + KC_OFF_STATUS);
}

/* The held REPLYs, oldest first, as the pipeline releases them. */
static struct rte_mbuf *take_held(void)
{
	struct kc_pending *pe;

	assert_int_not_equal(ws.pend_head, ws.pend_tail);
	pe = &ws.pend[ws.pend_tail & ws.pend_mask];
	wait_durable(pe->seq);
	ws.pend_tail++;
	return pe->m;
}

static void publish_expect(uint64_t seq, const char *msg, uint64_t offset)
{
	uint8_t p[KC_PAYLOAD_MAX];
	size_t n = kc_enc_publish(p, sizeof(p), "q", msg, strlen(msg));
	enum kc_exec how;
	struct rte_mbuf *m = request(KC_OP_PUBLISH, seq, p, (uint32_t)n, &how);
	uint64_t off;

	assert_int_equal(how, KC_EXEC_HELD);
	assert_ptr_equal(take_held(), m);
	assert_int_equal(status_of(m), KC_STATUS_OK);
	assert_true(kc_dec_u64_reply(t_kcp(m) + KC_HDR_LEN, 8, &off));
	assert_int_equal(off, offset);
	rte_pktmbuf_free(m);
}

static void test_reply_held_until_durable(void **state)
{
	uint64_t before = kc_journal_last_seq(ws.j);

	(void)state;
	publish_expect(1, "first", 0);
	publish_expect(2, "second", 1);
	/* A REQUEST and a REPLY record each. */
	assert_int_equal(kc_journal_last_seq(ws.j), before + 4);
	assert_true(st.c[KC_CTR_kcp_held] >= 2);
}

static void test_retry_gets_the_first_reply(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX], first[KC_DATAGRAM_MAX];
	size_t n = kc_enc_publish(p, sizeof(p), "q", "third", 5);
	uint64_t dups = st.c[KC_CTR_kcp_duplicates], last;
	uint32_t len;
	enum kc_exec how;
	struct rte_mbuf *m = request(KC_OP_PUBLISH, 3, p, (uint32_t)n, &how);

	(void)state;
	assert_int_equal(how, KC_EXEC_HELD);
	m = take_held();
	len = m->data_len - KC_KCP_OFF;
	memcpy(first, t_kcp(m), len);
	rte_pktmbuf_free(m);
	last = kc_journal_last_seq(ws.j);
	for (int i = 0; i < 100; i++) {
		m = request(KC_OP_PUBLISH, 3, p, (uint32_t)n, &how);
		/* Durable already: no need to hold it. */
		assert_int_equal(how, KC_EXEC_SEND);
		assert_int_equal(m->data_len - KC_KCP_OFF, len);
		assert_memory_equal(t_kcp(m), first, len);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(st.c[KC_CTR_kcp_duplicates], dups + 100);
	assert_int_equal(kc_journal_last_seq(ws.j), last); /* not journaled */

	/* The same message id for another request: refused, not answered
	 * with the first one's REPLY. */
	n = kc_enc_publish(p, sizeof(p), "q", "other", 5);
	m = request(KC_OP_PUBLISH, 3, p, (uint32_t)n, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_BAD_REQUEST);
	assert_non_null(memmem(t_kcp(m) + KC_HDR_LEN, 40, "already used", 12));
	rte_pktmbuf_free(m);
	n = kc_enc_commit(p, sizeof(p), "q", "c", 1);
	m = request(KC_OP_COMMIT, 3, p, (uint32_t)n, &how);
	assert_int_equal(status_of(m), KC_STATUS_BAD_REQUEST);
	rte_pktmbuf_free(m);
	assert_int_equal(kc_journal_last_seq(ws.j), last);
}

/* TIME answers the worker's clock; a read: a retry is executed again. */
static void test_time(void **state)
{
	uint64_t ops = st.c[KC_CTR_op_TIME], dups = st.c[KC_CTR_kcp_duplicates];
	uint64_t unix_ns;
	enum kc_exec how;
	struct rte_mbuf *m;

	(void)state;
	for (int i = 0; i < 2; i++) {
		m = request(KC_OP_TIME, 60, NULL, 0, &how);
		if (how == KC_EXEC_HELD)
			assert_ptr_equal(take_held(), m);
		assert_int_equal(status_of(m), KC_STATUS_OK);
		assert_true(kc_dec_u64_reply(t_kcp(m) + KC_HDR_LEN,
					     kc_get_u32(t_kcp(m) +
							KC_OFF_PAYLOAD_LEN),
					     &unix_ns));
		assert_true(unix_ns == (T0_MS + 60) * 1000000ull);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(st.c[KC_CTR_op_TIME], ops + 2);
	assert_int_equal(st.c[KC_CTR_kcp_duplicates], dups);
	m = request(KC_OP_TIME, 61, "x", 1, &how);
	if (how == KC_EXEC_HELD)
		assert_ptr_equal(take_held(), m);
	assert_int_equal(status_of(m), KC_STATUS_BAD_REQUEST);
	rte_pktmbuf_free(m);
}

/*
 * journal.reads: none (the default) journals no read, and a read still
 * shows only what is durable: its REPLY waits for what the shard appended
 * before it. A read of no state leaves at once. With all, a read is
 * journaled, REQUEST and REPLY, as a mutation is.
 */
static void test_reads_not_journaled(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX], f[KC_PAYLOAD_MAX];
	size_t n = kc_enc_publish(p, sizeof(p), "rd", "undurable", 9);
	size_t fn = kc_enc_fetch(f, sizeof(f), "rd", 0, 0);
	struct rte_mbuf *pub, *fetch, *ping;
	struct kc_fetch_reply fr;
	uint64_t last;
	enum kc_exec how;

	(void)state;
	assert_false(ws.reads_all);
	/* The PUBLISH cannot reach the disk while fdatasync stalls. */
	__atomic_store_n(&stall_fdatasync, 1, __ATOMIC_RELEASE);
	pub = request(KC_OP_PUBLISH, 70, p, (uint32_t)n, &how);
	assert_int_equal(how, KC_EXEC_HELD);
	last = kc_journal_last_seq(ws.j);
	fetch = request(KC_OP_FETCH, 71, f, (uint32_t)fn, &how);
	assert_int_equal(how, KC_EXEC_HELD);
	ping = request(KC_OP_PING, 72, "hi", 2, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(status_of(ping), KC_STATUS_OK);
	rte_pktmbuf_free(ping);
	assert_int_equal(kc_journal_last_seq(ws.j), last);
	__atomic_store_n(&stall_fdatasync, 0, __ATOMIC_RELEASE);
	assert_ptr_equal(take_held(), pub);
	rte_pktmbuf_free(pub);
	assert_ptr_equal(take_held(), fetch);
	assert_int_equal(status_of(fetch), KC_STATUS_OK);
	assert_true(kc_dec_fetch_reply(t_kcp(fetch) + KC_HDR_LEN,
				       fetch->data_len - KC_KCP_OFF -
					       KC_HDR_LEN, &fr));
	assert_int_equal(fr.end_offset, 1);
	rte_pktmbuf_free(fetch);
	/* The same FETCH again (a retry): answered again, journaled not. */
	fetch = request(KC_OP_FETCH, 71, f, (uint32_t)fn, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(status_of(fetch), KC_STATUS_OK);
	rte_pktmbuf_free(fetch);
	assert_int_equal(kc_journal_last_seq(ws.j), last);

	ws.reads_all = true;
	for (int i = 0; i < 2; i++) { /* and its retry */
		fetch = request(KC_OP_FETCH, 73, f, (uint32_t)fn, &how);
		assert_int_equal(how, KC_EXEC_HELD);
		assert_ptr_equal(take_held(), fetch);
		assert_int_equal(status_of(fetch), KC_STATUS_OK);
		rte_pktmbuf_free(fetch);
		assert_int_equal(kc_journal_last_seq(ws.j),
				 last + 2 * (uint64_t)(i + 1));
	}
	ws.reads_all = false;
}

static void test_replay_window(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX];
	size_t n = kc_enc_publish(p, sizeof(p), "q", "late", 4);
	struct rte_mbuf *m;
	uint64_t old = st.c[KC_CTR_kcp_expired_old];
	uint64_t ahead = st.c[KC_CTR_kcp_expired_ahead];

	(void)state;
	/* Executed 61 s after its message id was made. */
	m = t_request_at(mp, key1(), KC_OP_PUBLISH, T0_MS + 10, 10, p,
			 (uint32_t)n);
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	ws.now_ns = (T0_MS + 10 + 61000) * 1000000ull;
	assert_int_equal(execute(m), KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_EXPIRED);
	rte_pktmbuf_free(m);
	/* 31 s ahead of the clock. */
	m = t_request_at(mp, key1(), KC_OP_PUBLISH, T0_MS + 11 + 31000, 11, p,
			 (uint32_t)n);
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	ws.now_ns = (T0_MS + 11) * 1000000ull;
	assert_int_equal(execute(m), KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_EXPIRED);
	rte_pktmbuf_free(m);
	assert_int_equal(st.c[KC_CTR_kcp_expired_old], old + 1);
	assert_int_equal(st.c[KC_CTR_kcp_expired_ahead], ahead + 1);
}

/* What leaves the index raises its client's horizon: a retry of it is
 * refused, not executed twice. */
static void test_forgotten_retry_refused(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX];
	size_t n = kc_enc_publish(p, sizeof(p), "h", "x", 1);
	enum kc_exec how;
	struct rte_mbuf *m;

	(void)state;
	/* 1024 entries: 1100 commits push the first ones out. */
	for (uint64_t s = 100; s < 1200; s++) {
		uint8_t c[KC_PAYLOAD_MAX];
		size_t cn = kc_enc_commit(c, sizeof(c), "q", "r", 1);

		m = request(KC_OP_COMMIT, s, c, (uint32_t)cn, &how);
		assert_int_equal(how, KC_EXEC_HELD);
	}
	while (ws.pend_tail != ws.pend_head) {
		m = take_held();
		assert_int_equal(status_of(m), KC_STATUS_OK);
		rte_pktmbuf_free(m);
	}
	assert_true(kc_idem_horizon(ws.idem, 0) >= T0_MS + 100);
	m = request(KC_OP_PUBLISH, 100, p, (uint32_t)n, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_EXPIRED);
	assert_non_null(memmem(t_kcp(m) + KC_HDR_LEN, 40, "no longer", 9));
	rte_pktmbuf_free(m);
}

static void test_recovery_rebuilds_queues_and_index(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX], f[KC_PAYLOAD_MAX];
	size_t n = kc_enc_publish(p, sizeof(p), "q", "third", 5);
	size_t fn = kc_enc_fetch(f, sizeof(f), "q", 0, 0);
	struct kc_fetch_reply fr;
	char err[256];
	enum kc_exec how;
	struct rte_mbuf *m;

	(void)state;
	worker_down();
	/* Queue limits smaller than what was journaled: the replay tells. */
	assert_int_not_equal(worker_up(2, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "replaying it gives QUEUE_FULL, the "
				    "journal recorded OK"));
	worker_down();
	if (worker_up(256, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(kc_journal_start(ws.j), 0);
	/* The retry of seq 3, executed at its own time, after the restart. */
	m = request(KC_OP_PUBLISH, 3, p, (uint32_t)n, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_OK);
	rte_pktmbuf_free(m);
	/* Nothing appended since: the read leaves at once. */
	m = request(KC_OP_FETCH, 2000, f, (uint32_t)fn, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_true(kc_dec_fetch_reply(t_kcp(m) + KC_HDR_LEN,
				       m->data_len - KC_KCP_OFF - KC_HDR_LEN,
				       &fr));
	assert_int_equal(fr.end_offset, 3); /* first, second, third */
	rte_pktmbuf_free(m);
}

/* Three records per ledger mutation; the REPLY waits for the third. */
static uint64_t ledger_expect(uint8_t op, uint64_t seq, const uint8_t *p,
			      size_t n, enum kc_status want)
{
	uint64_t before = kc_journal_last_seq(ws.j), v = 0;
	enum kc_exec how;
	struct rte_mbuf *m = request(op, seq, p, (uint32_t)n, &how);

	assert_int_equal(how, KC_EXEC_HELD);
	if (want == KC_STATUS_OK) {
		assert_int_equal(kc_journal_last_seq(ws.j), before + 3);
		assert_int_equal(ws.pend[(ws.pend_head - 1) & ws.pend_mask].seq,
				 before + 3);
	} else {
		assert_int_equal(kc_journal_last_seq(ws.j), before + 2);
	}
	assert_ptr_equal(take_held(), m);
	assert_int_equal(status_of(m), want);
	if (want == KC_STATUS_OK)
		v = kc_get_u64(t_kcp(m) + KC_HDR_LEN);
	rte_pktmbuf_free(m);
	return v;
}

static void test_ledger_journaled_and_recovered(void **state)
{
	uint8_t p[64], d1[KC_LEDGER_DIGEST_LEN], d2[KC_LEDGER_DIGEST_LEN];
	size_t n;
	uint64_t coin, seq0;
	char err[256], path[128];
	enum kc_exec how;
	struct rte_mbuf *m;
	FILE *f;

	(void)state;
	n = kc_enc_mint(p, sizeof(p), 1, 10, 2);
	coin = ledger_expect(KC_OP_MINT, 5000, p, n, KC_STATUS_OK);
	n = kc_enc_transfer(p, sizeof(p), 1, 2, &coin, 1);
	/* The REPLY names the hop: the last record. */
	seq0 = ledger_expect(KC_OP_TRANSFER, 5001, p, n, KC_STATUS_OK);
	assert_int_equal(seq0, kc_journal_last_seq(ws.j));
	/* The retry: the first REPLY, not a second transfer. */
	m = request(KC_OP_TRANSFER, 5001, p, (uint32_t)n, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_OK);
	rte_pktmbuf_free(m);
	/* Spent: refused, two records. */
	n = kc_enc_transfer(p, sizeof(p), 1, 2, &coin, 1);
	ledger_expect(KC_OP_TRANSFER, 5002, p, n, KC_STATUS_NOT_OWNER);
	/* Two mutations: a ledger snapshot is due, and once durable it is
	 * the one recovery starts from. */
	kc_snapshot_poll(&ws);
	assert_int_equal(st.c[KC_CTR_ledger_snapshots], 1);
	seq0 = ws.ledger->snap_seq0;
	assert_true(seq0 != 0);
	wait_durable(ws.ledger->snap_last);
	kc_snapshot_poll(&ws);
	assert_int_equal(ws.ledger->hint_seq0, seq0);
	n = kc_enc_mint(p, sizeof(p), 2, 5, 1);
	ledger_expect(KC_OP_MINT, 5003, p, n, KC_STATUS_OK);
	kc_ledger_digest(ws.ledger->l, d1);

	/* What the control thread would write: recovery starts there and
	 * replays one mutation. */
	snprintf(path, sizeof(path), "%s/ledger.snapshot", dir);
	f = fopen(path, "w");
	fprintf(f, "%llu\n", (unsigned long long)seq0);
	fclose(f);
	worker_down();
	if (worker_up(256, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	kc_ledger_digest(ws.ledger->l, d2);
	assert_memory_equal(d1, d2, sizeof(d1));
	assert_int_equal(ws.ledger->recovered_ops, 1);
	assert_int_equal(ws.ledger->durable_seq0, seq0);
	/* Without it: from the start, the snapshot checked on the way. */
	unlink(path);
	worker_down();
	if (worker_up(256, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	kc_ledger_digest(ws.ledger->l, d2);
	assert_memory_equal(d1, d2, sizeof(d1));
	assert_int_equal(ws.ledger->recovered_ops, 3);
	/* A hint naming no snapshot stops the start. */
	f = fopen(path, "w");
	fprintf(f, "%llu\n", (unsigned long long)seq0 + 1);
	fclose(f);
	worker_down();
	assert_int_not_equal(worker_up(256, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "the ledger cannot be rebuilt"));
	unlink(path);
	worker_down();
	if (worker_up(256, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(kc_journal_start(ws.j), 0);
}

/*
 * The reflection limit (issue 23): a read REPLY's bytes beyond its
 * request's are charged to its source's and its client's budgets; one
 * that cannot be paid is dropped and counted, and the budget comes back
 * with time. A REPLY no longer than its request (PING) is never charged.
 */
static void refl_round(uint64_t src, uint64_t cli)
{
	uint8_t p[KC_PAYLOAD_MAX];
	size_t n;
	uint64_t drops = st.c[KC_CTR_drop_reflection];
	const uint64_t t = (T0_MS + 30000) * 1000000ull;
	enum kc_exec how;
	struct rte_mbuf *m;
	uint64_t seq = 30000;

	ws.refl = kc_refl_create(src, cli, keys->count, 0);
	assert_non_null(ws.refl);
	n = kc_enc_fetch(p, sizeof(p), "refl", 0, 1);
	for (int i = 0; i < 4; i++) {
		/* 3,000 bytes a second: two REPLYs of ~1,030 extra bytes,
		 * then none until the budget has come back. */
		m = request_at(KC_OP_FETCH, T0_MS + 30000, seq++, p,
			       (uint32_t)n, t + (i == 3 ? 1000000000ull : 0),
			       &how);
		if (i == 2) {
			assert_int_equal(how, KC_EXEC_DROP);
			rte_pktmbuf_free(m);
			continue;
		}
		if (how == KC_EXEC_HELD)
			assert_ptr_equal(take_held(), m);
		assert_int_equal(status_of(m), KC_STATUS_OK);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(st.c[KC_CTR_drop_reflection], drops + 1);
	/* A PING costs nothing, however many. */
	for (int i = 0; i < 10; i++) {
		m = request_at(KC_OP_PING, T0_MS + 30000, seq++, "x", 1,
			       t + 1000000000ull, &how);
		if (how == KC_EXEC_HELD)
			assert_ptr_equal(take_held(), m);
		assert_int_equal(status_of(m), KC_STATUS_OK);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(st.c[KC_CTR_drop_reflection], drops + 1);
	kc_refl_free(ws.refl);
	ws.refl = NULL;
}

static void test_reflection_limit(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX], big[1000];
	size_t n;
	enum kc_exec how;
	struct rte_mbuf *m;

	(void)state;
	memset(big, 'b', sizeof(big));
	n = kc_enc_publish(p, sizeof(p), "refl", (const char *)big,
			   sizeof(big));
	m = request(KC_OP_PUBLISH, 29999, p, (uint32_t)n, &how);
	if (how == KC_EXEC_HELD)
		assert_ptr_equal(take_held(), m);
	assert_int_equal(status_of(m), KC_STATUS_OK);
	rte_pktmbuf_free(m);
	refl_round(3000, 0);	/* per source */
	refl_round(0, 3000);	/* per client */
}

/*
 * The order of the checks (docs/protocol.md, section 7): a request that
 * breaks several rules gets the first one's answer. Another client's
 * message id, old enough to be outside the window too: BAD_REQUEST, not
 * EXPIRED; outside the window and malformed: EXPIRED, not BAD_REQUEST
 * (the window comes before the payload is decoded).
 */
static void test_first_rule_decides(void **state)
{
	const struct kc_key *k2 = kc_keyring_find(keys, 2);
	const uint64_t id_ms = T0_MS + 40000;
	struct rte_mbuf *m;
	enum kc_exec how;

	(void)state;
	/* Client 1's header and tag, a message id naming client 2. */
	m = t_request_at(mp, key1(), KC_OP_PING, id_ms, 40000, "x", 1);
	kc_msg_id_make(t_kcp(m) + KC_OFF_MSG_ID, id_ms, k2->client_id, 40000);
	kc_auth_sign(key1(), t_kcp(m), KC_HDR_LEN + 1);
	t_wrap_udp(m, KC_HDR_LEN + 1, KC_UDP_PORT_DEFAULT);
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	ws.now_ns = (id_ms + 120000) * 1000000ull;
	assert_int_equal(execute(m), KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_BAD_REQUEST);
	rte_pktmbuf_free(m);
	/* A malformed PUBLISH two minutes old. */
	m = request_at(KC_OP_PUBLISH, id_ms, 40001, "\x09short", 6,
		       (id_ms + 120000) * 1000000ull, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_EXPIRED);
	rte_pktmbuf_free(m);
}

/*
 * Which rule first (docs/journal-format.md, section 11): the index is
 * looked up before the window is checked. A PUBLISH taken 59 s after its
 * message id was made is still remembered 11 s later, when that id is 70 s
 * old: its retry gets the first REPLY, not EXPIRED.
 */
static void test_index_before_window(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX], first[KC_DATAGRAM_MAX];
	size_t n = kc_enc_publish(p, sizeof(p), "w", "late but taken", 14);
	const uint64_t id_ms = T0_MS + 20000; /* after every id before */
	uint64_t dups = st.c[KC_CTR_kcp_duplicates];
	struct rte_mbuf *m;
	uint32_t len;

	(void)state;
	m = t_request_at(mp, key1(), KC_OP_PUBLISH, id_ms, 20000, p,
			 (uint32_t)n);
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	ws.now_ns = (id_ms + 59000) * 1000000ull;
	assert_int_equal(execute(m), KC_EXEC_HELD);
	kc_journal_publish(ws.j);
	assert_ptr_equal(take_held(), m);
	assert_int_equal(status_of(m), KC_STATUS_OK);
	len = m->data_len - KC_KCP_OFF;
	memcpy(first, t_kcp(m), len);
	rte_pktmbuf_free(m);

	m = t_request_at(mp, key1(), KC_OP_PUBLISH, id_ms, 20000, p,
			 (uint32_t)n);
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	ws.now_ns = (id_ms + 70000) * 1000000ull;
	assert_int_equal(execute(m), KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_OK);
	assert_int_equal(m->data_len - KC_KCP_OFF, len);
	assert_memory_equal(t_kcp(m), first, len);
	assert_int_equal(st.c[KC_CTR_kcp_duplicates], dups + 1);
	rte_pktmbuf_free(m);
}

/* The worker count is part of the journal (DIR/shards). */
static void test_worker_count_recorded(void **state)
{
	char path[128], err[256];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/shards", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fgetc(f), '1');
	fclose(f);
	f = fopen(path, "w");
	fputs("3\n", f);
	fclose(f);
	worker_down();
	assert_int_not_equal(worker_up(256, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "was written by 3 worker lcore(s)"));
	worker_down();
	f = fopen(path, "w");
	fputs("1\n", f);
	fclose(f);
	if (worker_up(256, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(kc_journal_start(ws.j), 0);
}

/*
 * Under durability none nothing the worker sends waits for the journal's
 * writer: a call's DELIVER and its caller's REPLY (made when the service
 * responds) go with the next release, as every REPLY goes at once. (The
 * caller's REPLY waited for the writer's next write: 200 us a call with one
 * in flight, perf/bench service.) The writer is not running here, so
 * nothing becomes durable while the test looks.
 */
static struct rte_mbuf *request_as(uint32_t client, uint8_t op, uint64_t seq,
				   const void *p, size_t len,
				   enum kc_exec *how)
{
	struct rte_mbuf *m = t_request_at(mp, kc_keyring_find(keys, client),
					  op, T0_MS + seq, seq, p,
					  (uint32_t)len);

	assert_non_null(m);
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	ws.now_ns = (T0_MS + seq) * 1000000ull;
	*how = kc_ops_execute(&ws, m);
	kc_ops_sign_flush(&ws);
	kc_journal_publish(ws.j);
	return m;
}

static void test_calls_never_wait_without_batch(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX], call_id[KC_CALL_ID_LEN];
	struct kc_call_reply cr;
	struct kc_pending *pe;
	struct rte_mbuf *m;
	enum kc_exec how;
	struct kc_hdr h;
	uint64_t coin;
	char err[256];
	size_t n;

	(void)state;
	worker_down();
	cfg.journal.durability = KC_CFG_DURABILITY_NONE;
	cfg.services = (typeof(cfg.services)){
		.enabled = true, .max_services = 8, .max_types = 4,
		.max_calls = 64, .max_payload = 64, .max_deadline_ms = 60000,
		.report_window_s = 60,
	};
	if (worker_up(256, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	n = kc_enc_serve(p, sizeof(p), "echo", 1, 4, 60);
	m = request_as(2, KC_OP_SERVE, 40000, p, n, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_OK);
	rte_pktmbuf_free(m);
	n = kc_enc_mint(p, sizeof(p), 1, 1, 1);
	m = request_as(1, KC_OP_MINT, 40001, p, n, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_OK);
	coin = kc_get_u64(t_kcp(m) + KC_HDR_LEN);
	rte_pktmbuf_free(m);

	/* The CALL's mbuf is its DELIVER, sent at once. */
	n = kc_enc_call(p, sizeof(p), "echo", 5000, "hi", 2, &coin, 1);
	m = request_as(1, KC_OP_CALL, 40002, p, n, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(kc_hdr_decode(t_kcp(m), m->data_len - KC_KCP_OFF, &h),
			 KC_PARSE_OK);
	assert_int_equal(h.type, KC_TYPE_DELIVER);
	assert_int_equal(h.client_id, 2);
	memcpy(call_id, h.msg_id, sizeof(call_id));
	rte_pktmbuf_free(m);

	/* The RESPOND is answered, and the caller's REPLY made from it is
	 * held no longer than the next release. */
	n = kc_enc_respond(p, sizeof(p), call_id, KC_STATUS_OK, "yo", 2);
	m = request_as(2, KC_OP_RESPOND, 40003, p, n, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_OK);
	rte_pktmbuf_free(m);
	assert_int_equal(ws.pend_head - ws.pend_tail, 1);
	pe = &ws.pend[ws.pend_tail & ws.pend_mask];
	assert_true(kc_journal_last_seq(ws.j) > kc_journal_durable_seq(ws.j));
	assert_true(pe->seq <= kc_journal_durable_seq(ws.j));
	m = pe->m;
	ws.pend_tail++;
	assert_int_equal(kc_hdr_decode(t_kcp(m), m->data_len - KC_KCP_OFF, &h),
			 KC_PARSE_OK);
	assert_int_equal(h.type, KC_TYPE_REPLY);
	assert_int_equal(h.op, KC_OP_CALL);
	assert_int_equal(h.status, KC_STATUS_OK);
	assert_memory_equal(h.msg_id, call_id, sizeof(call_id));
	assert_true(kc_dec_call_reply(t_kcp(m) + KC_HDR_LEN, h.payload_len,
				      &cr));
	assert_int_equal(cr.service, 2);
	assert_int_equal(cr.payload_len, 2);
	assert_memory_equal(cr.payload, "yo", 2);
	rte_pktmbuf_free(m);

	/* Back to batch, the services kept (the journal has their
	 * records now), for the tests after. */
	worker_down();
	cfg.journal.durability = KC_CFG_DURABILITY_BATCH;
	if (worker_up(256, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(kc_journal_start(ws.j), 0);
}

static void test_failed_write_fails_held_replies(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX];
	size_t n = kc_enc_publish(p, sizeof(p), "q", "lost?", 5);
	enum kc_exec how;
	struct rte_mbuf *m;

	(void)state;
	__atomic_store_n(&fail_fdatasync, 1, __ATOMIC_RELEASE);
	m = request(KC_OP_PUBLISH, 3000, p, (uint32_t)n, &how);
	assert_int_equal(how, KC_EXEC_HELD);
	wait_durable(UINT64_MAX);
	assert_int_equal(kc_journal_state(ws.j), KC_JOURNAL_FAILED);
	/* Never acknowledged as OK: what the pipeline does with it. */
	assert_true(kc_journal_durable_seq(ws.j) <
		    ws.pend[ws.pend_tail & ws.pend_mask].seq);
	kc_ops_fail_pending(&ws, m);
	ws.pend_tail++;
	assert_int_equal(status_of(m), KC_STATUS_STORAGE_FAILED);
	assert_true(t_udp_cksum_ok(m));
	assert_true(kc_auth_verify(key1(), t_kcp(m),
				   m->data_len - KC_KCP_OFF));
	rte_pktmbuf_free(m);
	/* Then every request is refused before it executes. */
	m = request(KC_OP_PUBLISH, 3001, p, (uint32_t)n, &how);
	assert_int_equal(how, KC_EXEC_SEND);
	assert_int_equal(status_of(m), KC_STATUS_STORAGE_FAILED);
	rte_pktmbuf_free(m);
	__atomic_store_n(&fail_fdatasync, 0, __ATOMIC_RELEASE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_held_until_durable),
		cmocka_unit_test(test_retry_gets_the_first_reply),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_reads_not_journaled),
		cmocka_unit_test(test_replay_window),
		cmocka_unit_test(test_recovery_rebuilds_queues_and_index),
		cmocka_unit_test(test_forgotten_retry_refused),
		cmocka_unit_test(test_ledger_journaled_and_recovered),
		cmocka_unit_test(test_worker_count_recorded),
		cmocka_unit_test(test_first_rule_decides),
		cmocka_unit_test(test_index_before_window),
		cmocka_unit_test(test_reflection_limit),
		cmocka_unit_test(test_calls_never_wait_without_batch),
		cmocka_unit_test(test_failed_write_fails_held_replies),
	};

	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	T0_MS = (uint64_t)now.tv_sec * 1000u +
		(uint64_t)now.tv_nsec / 1000000u;
	kc_test_eal_init("test_worker");
	/* The ports' name: service calls take their mbufs from it. */
	mp = rte_pktmbuf_pool_create("kc_mbufs_s0", 4095, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (mp == NULL)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
