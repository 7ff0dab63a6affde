/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ledger state machine (lib/ledger): every op and every refusal, the
 * invariants after each op, replay to the same digest, snapshots, the
 * reaper, the table limits, and the money trail walked through a real
 * journal shard.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <rte_hash.h>

#include "kc_ledger.h"
#include "kc_limits.h"
#include "kc_worker.h" /* the money-trail walk */
#include "kc_test_eal.h"
#include "kc_test_keys.h"

#define AUTH 1u	/* the mint authority in these tests */

static struct kc_keyring *keys;	/* clients 1..8 */

static struct kc_ledger *mk(uint32_t coins, uint32_t accounts, uint32_t reap_s)
{
	static int n;
	char name[32];
	struct kc_ledger_limits lim = {
		.max_accounts = accounts, .max_coins = coins,
		.reap_after_s = reap_s,
	};
	struct kc_ledger *l;

	snprintf(name, sizeof(name), "tl%d", n++);
	l = kc_ledger_create(name, &lim, 0);
	assert_non_null(l);
	return l;
}

/* One op as client `who`: the status, with the reply in out. */
struct res {
	enum kc_status status;
	uint8_t out[KC_PAYLOAD_MAX];
	uint32_t len;
	uint8_t hop[KC_HOPREC_MAX];
	uint32_t hop_len;
	const char *reason;
};

static uint64_t seq_next = 100;

static enum kc_status run(struct kc_ledger *l, uint32_t who, uint8_t op,
			  const uint8_t *in, size_t len, struct res *r)
{
	struct kc_ledger_caller c = {
		.client_id = who, .mint_authority = who == AUTH, .keys = keys,
	};
	struct kc_ledger_result lr;

	seq_next += 3;
	kc_ledger_apply(l, &c, op, in, (uint32_t)len, seq_next, 1000,
			r->out, sizeof(r->out), r->hop, &lr);
	r->status = lr.status;
	r->len = lr.len;
	r->hop_len = lr.hop_len;
	r->reason = lr.reason;
	if (lr.status != KC_STATUS_OK) {
		assert_non_null(lr.reason);
		/* A refused mutation's REPLY is kept for retries. */
		if (kc_op_mutates(op))
			assert_true(strlen(lr.reason) <= KC_IDEM_REPLY_MAX);
		assert_int_equal(lr.hop_len, 0);
	}
	return lr.status;
}

static enum kc_status mint(struct kc_ledger *l, uint32_t who, uint32_t acct,
			   uint64_t denom, uint32_t count, uint64_t *first)
{
	uint8_t p[32];
	size_t n = kc_enc_mint(p, sizeof(p), acct, denom, count);
	struct res r;
	uint32_t got;

	if (run(l, who, KC_OP_MINT, p, n, &r) == KC_STATUS_OK) {
		assert_true(kc_dec_coins_reply(r.out, r.len, first, &got));
		assert_int_equal(got, count);
	}
	return r.status;
}

static enum kc_status transfer(struct kc_ledger *l, uint32_t who,
			       uint32_t from, uint32_t to,
			       const uint64_t *coins, uint16_t n)
{
	uint8_t p[KC_PAYLOAD_MAX];
	size_t len = kc_enc_transfer(p, sizeof(p), from, to, coins, n);
	struct res r;

	return run(l, who, KC_OP_TRANSFER, p, len, &r);
}

static void balance(struct kc_ledger *l, uint32_t acct, uint64_t want,
		    uint32_t want_coins)
{
	uint8_t p[8];
	size_t n = kc_enc_account(p, sizeof(p), acct);
	struct res r;
	uint64_t b;
	uint32_t c;

	assert_int_equal(run(l, AUTH, KC_OP_BALANCE, p, n, &r), KC_STATUS_OK);
	assert_true(kc_dec_balance_reply(r.out, r.len, &b, &c));
	assert_int_equal(b, want);
	assert_int_equal(c, want_coins);
}

static void audit_ok(struct kc_ledger *l)
{
	struct kc_audit a;

	kc_ledger_audit(l, &a);
	assert_int_equal(a.violations, 0);
	assert_true(a.ok);
	assert_int_equal(a.minted - a.burnt, a.live_sum);
}

static void test_mint(void **state)
{
	struct kc_ledger *l = mk(64, 16, 3600);
	uint64_t first = 0;

	(void)state;
	assert_int_equal(mint(l, AUTH, 2, 50, 3, &first), KC_STATUS_OK);
	assert_int_equal(first, 1);
	balance(l, 2, 150, 3);
	assert_int_equal(mint(l, AUTH, 2, 5, 1, &first), KC_STATUS_OK);
	assert_int_equal(first, 4);
	/* Refusals: not the authority, zero, too many, unknown account,
	 * overflowing supply. */
	assert_int_equal(mint(l, 2, 2, 5, 1, &first), KC_STATUS_FORBIDDEN);
	assert_int_equal(mint(l, AUTH, 2, 0, 1, &first),
			 KC_STATUS_BAD_REQUEST);
	assert_int_equal(mint(l, AUTH, 2, 5, 0, &first),
			 KC_STATUS_BAD_REQUEST);
	assert_int_equal(mint(l, AUTH, 2, 5, KC_MINT_COUNT_MAX + 1, &first),
			 KC_STATUS_BAD_REQUEST);
	assert_int_equal(mint(l, AUTH, 99, 5, 1, &first),
			 KC_STATUS_NOT_FOUND);
	assert_int_equal(mint(l, AUTH, 0, 5, 1, &first), KC_STATUS_NOT_FOUND);
	assert_int_equal(mint(l, AUTH, 3, UINT64_MAX / 2, 2, &first),
			 KC_STATUS_OUT_OF_RANGE);
	balance(l, 2, 155, 4);
	audit_ok(l);
	kc_ledger_free(l);
}

/* AUDIT's total ever minted never wraps: minting nearly 2^64, burning it
 * and minting again is refused, not counted modulo 2^64 (it once left
 * minted below burnt with AUDIT still OK). */
static void test_minted_never_wraps(void **state)
{
	struct kc_ledger *l = mk(64, 16, 3600);
	struct kc_audit a;
	uint64_t first = 0;
	uint8_t p[16];
	size_t n;
	struct res r;

	(void)state;
	assert_int_equal(mint(l, AUTH, 2, UINT64_MAX - 5, 1, &first),
			 KC_STATUS_OK);
	n = kc_enc_coin_id(p, sizeof(p), first);
	assert_int_equal(run(l, 2, KC_OP_BURN, p, n, &r), KC_STATUS_OK);
	assert_int_equal(mint(l, AUTH, 2, 10, 1, &first),
			 KC_STATUS_OUT_OF_RANGE);
	assert_int_equal(mint(l, AUTH, 2, 5, 1, &first), KC_STATUS_OK);
	kc_ledger_audit(l, &a);
	assert_true(a.ok);
	assert_true(a.minted == UINT64_MAX);
	assert_true(a.burnt == UINT64_MAX - 5);
	assert_true(a.live_sum == 5);
	kc_ledger_free(l);
}

/* DIR/ledger.snapshot: what kc_ledger_hint_write writes reads back; any
 * other content is a damaged file, read as no hint (recovery then replays
 * from further back), not as a seq that stops the start. */
static void test_hint_file(void **state)
{
	static const struct {
		const char *text;
		uint64_t want;
	} cases[] = {
		{ "637\n", 637 }, { "637", 637 },
		{ "18446744073709551615\n", UINT64_MAX },
		{ "-1\n", 0 }, { " 12\n", 0 }, { "12abc\n", 0 },
		{ "12\n\n", 0 }, { "12 \n", 0 }, { "", 0 }, { "\n", 0 },
		{ "18446744073709551616\n", 0 }, { "+5\n", 0 },
	};
	char path[] = "/tmp/kc-test-hint-XXXXXX";
	bool present;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs(cases[i].text, f);
		fclose(f);
		assert_true(kc_ledger_hint_read(path, &present) ==
			    cases[i].want);
		assert_true(present);
	}
	assert_int_equal(kc_ledger_hint_write(path, 4242), 0);
	assert_true(kc_ledger_hint_read(path, &present) == 4242);
	unlink(path);
	assert_true(kc_ledger_hint_read(path, &present) == 0);
	assert_false(present);
}

/* A ledger of 16 coins at most, full: coins 1..16 of 2 to account 2, and
 * no room for one more. */
static struct kc_ledger *full_ledger(uint32_t reap_after_s)
{
	struct kc_ledger *l = mk(16, 16, reap_after_s);
	uint64_t first;

	assert_int_equal(mint(l, AUTH, 2, 2, 16, &first), KC_STATUS_OK);
	assert_int_equal(mint(l, AUTH, 2, 2, 1, &first), KC_STATUS_NO_SPACE);
	return l;
}

/* A ledger whose coin table is full of LIVE coins can still MERGE (one
 * LIVE coin fewer after) and BURN; it once refused MERGE with NO_SPACE. */
static void test_merge_at_the_limit(void **state)
{
	struct kc_ledger *l = full_ledger(3600);
	uint64_t first = 0, coins[3] = { 1, 2, 3 }, id;
	uint8_t p[64];
	size_t n;
	struct res r;

	(void)state;
	n = kc_enc_merge(p, sizeof(p), coins, 3);
	assert_int_equal(run(l, 2, KC_OP_MERGE, p, n, &r), KC_STATUS_OK);
	assert_true(kc_dec_u64_reply(r.out, r.len, &id));
	assert_int_equal(id, 17);
	balance(l, 2, 32, 14);
	n = kc_enc_coin_id(p, sizeof(p), id);
	assert_int_equal(run(l, 2, KC_OP_BURN, p, n, &r), KC_STATUS_OK);
	balance(l, 2, 26, 13);
	/* Room again: three coins may be minted. */
	assert_int_equal(mint(l, AUTH, 2, 2, 3, &first), KC_STATUS_OK);
	assert_int_equal(mint(l, AUTH, 2, 2, 1, &first), KC_STATUS_NO_SPACE);
	audit_ok(l);
	kc_ledger_free(l);
}

static void test_transfer(void **state)
{
	struct kc_ledger *l = mk(64, 16, 3600);
	uint64_t first, c[4], dup[2];
	uint8_t p[64];
	size_t n;
	struct res r;

	(void)state;
	assert_int_equal(mint(l, AUTH, 2, 10, 4, &first), KC_STATUS_OK);
	for (int i = 0; i < 4; i++)
		c[i] = first + (uint64_t)i;
	/* Signed by someone else than the payer. */
	assert_int_equal(transfer(l, 3, 2, 3, c, 2), KC_STATUS_FORBIDDEN);
	/* To self, duplicates, unknown recipient, unknown coin. */
	assert_int_equal(transfer(l, 2, 2, 2, c, 2), KC_STATUS_BAD_REQUEST);
	dup[0] = dup[1] = c[0];
	assert_int_equal(transfer(l, 2, 2, 3, dup, 2), KC_STATUS_BAD_REQUEST);
	assert_int_equal(transfer(l, 2, 2, 77, c, 2), KC_STATUS_NOT_FOUND);
	dup[0] = c[0];
	dup[1] = 999;
	assert_int_equal(transfer(l, 2, 2, 3, dup, 2), KC_STATUS_NOT_FOUND);
	balance(l, 2, 40, 4); /* nothing moved */
	/* All or nothing: the second coin is not the payer's. */
	assert_int_equal(transfer(l, 2, 2, 3, c + 1, 1), KC_STATUS_OK);
	assert_int_equal(transfer(l, 2, 2, 4, c, 2), KC_STATUS_NOT_OWNER);
	balance(l, 2, 30, 3);
	balance(l, 3, 10, 1);
	balance(l, 4, 0, 0);
	/* The reply is the hop's seq. */
	n = kc_enc_transfer(p, sizeof(p), 2, 4, c + 2, 2);
	assert_int_equal(run(l, 2, KC_OP_TRANSFER, p, n, &r), KC_STATUS_OK);
	assert_int_equal(r.len, 8);
	assert_int_equal(kc_get_u64(r.out), seq_next);
	assert_true(r.hop_len == KC_HOPREC_FIXED + 2 * KC_HOPREC_IN_LEN);
	/* Double spend: the same coins again, to another seller. */
	assert_int_equal(transfer(l, 2, 2, 3, c + 2, 2), KC_STATUS_NOT_OWNER);
	balance(l, 4, 20, 2);
	/* Malformed payloads. */
	assert_int_equal(run(l, 2, KC_OP_TRANSFER, p, n - 1, &r),
			 KC_STATUS_BAD_REQUEST);
	audit_ok(l);
	kc_ledger_free(l);
}

static void test_split_merge_burn(void **state)
{
	struct kc_ledger *l = mk(64, 16, 3600);
	uint64_t first, parts[3] = { 3, 3, 4 }, bad[2] = { 5, 6 }, zero[2] =
		{ 0, 10 }, kids, merged, list[3];
	uint8_t p[64];
	size_t n;
	struct res r;
	uint32_t cnt;

	(void)state;
	assert_int_equal(mint(l, AUTH, 2, 10, 2, &first), KC_STATUS_OK);
	/* Sum mismatch, zero part, not the owner. */
	n = kc_enc_split(p, sizeof(p), first, bad, 2);
	assert_int_equal(run(l, 2, KC_OP_SPLIT, p, n, &r),
			 KC_STATUS_BAD_REQUEST);
	n = kc_enc_split(p, sizeof(p), first, zero, 2);
	assert_int_equal(run(l, 2, KC_OP_SPLIT, p, n, &r),
			 KC_STATUS_BAD_REQUEST);
	n = kc_enc_split(p, sizeof(p), first, parts, 3);
	assert_int_equal(run(l, 3, KC_OP_SPLIT, p, n, &r),
			 KC_STATUS_NOT_OWNER);
	assert_int_equal(run(l, 2, KC_OP_SPLIT, p, n, &r), KC_STATUS_OK);
	assert_true(kc_dec_coins_reply(r.out, r.len, &kids, &cnt));
	assert_int_equal(cnt, 3);
	balance(l, 2, 20, 4);
	/* The parent is DEAD now. */
	assert_int_equal(transfer(l, 2, 2, 3, &first, 1), KC_STATUS_COIN_DEAD);
	assert_int_equal(run(l, 2, KC_OP_SPLIT, p, n, &r),
			 KC_STATUS_COIN_DEAD);
	/* Merge across owners is refused. */
	assert_int_equal(transfer(l, 2, 2, 3, &kids, 1), KC_STATUS_OK);
	list[0] = kids;
	list[1] = kids + 1;
	n = kc_enc_merge(p, sizeof(p), list, 2);
	assert_int_equal(run(l, 2, KC_OP_MERGE, p, n, &r),
			 KC_STATUS_NOT_OWNER);
	list[0] = kids + 1;
	list[1] = kids + 2;
	list[2] = first + 1;
	n = kc_enc_merge(p, sizeof(p), list, 3);
	assert_int_equal(run(l, 2, KC_OP_MERGE, p, n, &r), KC_STATUS_OK);
	assert_true(kc_dec_u64_reply(r.out, r.len, &merged));
	balance(l, 2, 17, 1);
	/* Burn: owner only, then it is gone from the supply. */
	n = kc_enc_coin_id(p, sizeof(p), merged);
	assert_int_equal(run(l, 3, KC_OP_BURN, p, n, &r), KC_STATUS_NOT_OWNER);
	assert_int_equal(run(l, 2, KC_OP_BURN, p, n, &r), KC_STATUS_OK);
	assert_int_equal(run(l, 2, KC_OP_BURN, p, n, &r), KC_STATUS_COIN_DEAD);
	balance(l, 2, 0, 0);
	audit_ok(l);
	{
		struct kc_audit a;

		kc_ledger_audit(l, &a);
		assert_int_equal(a.minted, 20);
		assert_int_equal(a.burnt, 17);
		assert_int_equal(a.live_coins, 1);
	}
	kc_ledger_free(l);
}

static void test_capacity_and_reaper(void **state)
{
	struct kc_ledger *l = full_ledger(10);
	struct kc_ledger_summary s;
	uint64_t first, parts[2] = { 1, 1 };
	uint8_t p[64];
	size_t n;
	struct res r;

	(void)state;
	/* A split needs room for its children: refused, nothing changed. */
	n = kc_enc_split(p, sizeof(p), 1, parts, 2);
	assert_int_equal(run(l, 2, KC_OP_SPLIT, p, n, &r), KC_STATUS_NO_SPACE);
	n = kc_enc_coin_id(p, sizeof(p), 1);
	assert_int_equal(run(l, 2, KC_OP_BURN, p, n, &r), KC_STATUS_OK);
	kc_ledger_summary(l, &s);
	assert_int_equal(s.dead_coins, 1);
	/* The reaper waits reap_after_s (the burn was at t=1000 ns). */
	assert_int_equal(kc_ledger_reap(l, 1000 + 9000000000ull, 10), 0);
	assert_int_equal(kc_ledger_reap(l, 1000 + 10000000000ull, 10), 1);
	kc_ledger_summary(l, &s);
	assert_int_equal(s.dead_coins, 0);
	assert_int_equal(s.reaped, 1);
	/* A reaped coin is still known to be DEAD. */
	assert_int_equal(run(l, 2, KC_OP_COIN, p, n, &r), KC_STATUS_COIN_DEAD);
	assert_int_equal(transfer(l, 2, 2, 3, &(uint64_t){ 1 }, 1),
			 KC_STATUS_COIN_DEAD);
	/* Room again for one; a DEAD coin not yet reaped gives way. */
	assert_int_equal(mint(l, AUTH, 2, 2, 1, &first), KC_STATUS_OK);
	n = kc_enc_coin_id(p, sizeof(p), 2);
	assert_int_equal(run(l, 2, KC_OP_BURN, p, n, &r), KC_STATUS_OK);
	assert_int_equal(mint(l, AUTH, 2, 2, 1, &first), KC_STATUS_OK);
	audit_ok(l);
	kc_ledger_free(l);
}

static void test_accounts_full(void **state)
{
	struct kc_ledger *l = mk(64, 4, 10);
	uint64_t first;

	(void)state;
	for (uint32_t a = 1; a <= 4; a++)
		assert_int_equal(mint(l, AUTH, a, 1, 1, &first), KC_STATUS_OK);
	assert_int_equal(mint(l, AUTH, 5, 1, 1, &first), KC_STATUS_NO_SPACE);
	assert_int_equal(transfer(l, 2, 2, 5, &(uint64_t){ 2 }, 1),
			 KC_STATUS_NO_SPACE);
	/* Existing accounts still receive. */
	assert_int_equal(transfer(l, 2, 2, 3, &(uint64_t){ 2 }, 1),
			 KC_STATUS_OK);
	audit_ok(l);
	kc_ledger_free(l);
}

static void test_coin_and_audit_reads(void **state)
{
	struct kc_ledger *l = mk(64, 16, 10);
	struct kc_coin_info ci;
	struct kc_audit a;
	uint64_t first;
	uint8_t p[16];
	size_t n;
	struct res r;

	(void)state;
	assert_int_equal(mint(l, AUTH, 2, 7, 1, &first), KC_STATUS_OK);
	n = kc_enc_coin_id(p, sizeof(p), first);
	assert_int_equal(run(l, 5, KC_OP_COIN, p, n, &r), KC_STATUS_OK);
	assert_true(kc_dec_coin_reply(r.out, r.len, &ci));
	assert_int_equal(ci.owner, 2);
	assert_int_equal(ci.denomination, 7);
	assert_int_equal(ci.state, KC_COIN_LIVE);
	assert_int_equal(ci.created_seq, ci.last_hop_seq);
	n = kc_enc_coin_id(p, sizeof(p), 12345);
	assert_int_equal(run(l, 5, KC_OP_COIN, p, n, &r), KC_STATUS_NOT_FOUND);
	assert_int_equal(run(l, 5, KC_OP_AUDIT, p, 0, &r), KC_STATUS_OK);
	assert_true(kc_dec_audit_reply(r.out, r.len, &a));
	assert_true(a.ok);
	assert_int_equal(a.live_sum, 7);
	assert_int_equal(run(l, 5, KC_OP_AUDIT, p, 1, &r),
			 KC_STATUS_BAD_REQUEST);
	n = kc_enc_account(p, sizeof(p), 50);
	assert_int_equal(run(l, 5, KC_OP_BALANCE, p, n, &r),
			 KC_STATUS_NOT_FOUND);
	kc_ledger_free(l);
}

/* A snapshot whose checksums would hold but whose content cannot be. */
static void test_restore_rejects(void **state)
{
	struct kc_ledger *l = mk(64, 16, 10), *r = mk(64, 16, 10);
	uint8_t snap[4096], bad[4096];
	uint64_t first;
	size_t len;

	(void)state;
	assert_int_equal(mint(l, AUTH, 2, 7, 2, &first), KC_STATUS_OK);
	len = kc_ledger_snapshot(l, snap, sizeof(snap));
	/* 40 fixed bytes, one 24-byte account, two 44-byte coins. */
	assert_int_equal(len, 40 + 24 + 2 * 44);
	assert_int_equal(kc_ledger_restore(r, snap, len), 0);
	/* The same coin twice. */
	memcpy(bad, snap, len);
	memcpy(bad + 64 + 44, bad + 64, 44);
	assert_int_equal(kc_ledger_restore(r, bad, len), -EINVAL);
	/* A balance that does not add up. */
	memcpy(bad, snap, len);
	kc_put_u64(bad + 40 + 8, 15);
	assert_int_equal(kc_ledger_restore(r, bad, len), -EINVAL);
	/* A coin of an account that is not there. */
	memcpy(bad, snap, len);
	kc_put_u32(bad + 64 + 16, 5);
	assert_int_equal(kc_ledger_restore(r, bad, len), -EINVAL);
	kc_ledger_free(l);
	kc_ledger_free(r);
}

/* ---- property test: random ops, replay, snapshots ---------------------- */

struct logged {
	uint32_t who;
	uint8_t op;
	uint64_t seq;
	uint32_t len;
	uint8_t in[KC_PAYLOAD_MAX];
	uint32_t out_len;
	uint8_t out[64];
	uint32_t hop_len;
	uint8_t hop[KC_HOPREC_MAX];
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static uint64_t pick_coin(struct kc_ledger *l)
{
	struct kc_ledger_summary s;

	kc_ledger_summary(l, &s);
	return s.next_coin > 1 ? 1 + rnd() % (s.next_coin - 1 + 2) : 1;
}

/* A random request: mostly sensible, sometimes wrong. */
static size_t random_op(struct kc_ledger *l, uint8_t *op, uint32_t *who,
			uint8_t *p)
{
	uint64_t v[8];
	uint16_t n = (uint16_t)(1 + rnd() % 4);

	*who = 1 + (uint32_t)(rnd() % 5);
	switch (rnd() % 10) {
	case 0:
		*op = KC_OP_MINT;
		*who = rnd() % 8 ? AUTH : *who;
		return kc_enc_mint(p, KC_PAYLOAD_MAX, 1 + (uint32_t)(rnd() % 6),
				   1 + rnd() % 1000, 1 + (uint32_t)(rnd() % 5));
	case 1:
	case 2:
	case 3:
	case 4: {
		struct kc_coin_info ci = { 0 };
		uint8_t q[8], out[64];
		struct kc_ledger_result lr;
		struct kc_ledger_caller c = { .client_id = 1 };

		for (int i = 0; i < n; i++)
			v[i] = pick_coin(l);
		/* Pay from the first coin's owner, usually. */
		kc_ledger_apply(l, &c, KC_OP_COIN, q,
				(uint32_t)kc_enc_coin_id(q, 8, v[0]), 0, 0,
				out, sizeof(out), NULL, &lr);
		if (lr.status == KC_STATUS_OK)
			kc_dec_coin_reply(out, lr.len, &ci);
		if (ci.owner != 0 && rnd() % 6)
			*who = ci.owner;
		*op = KC_OP_TRANSFER;
		return kc_enc_transfer(p, KC_PAYLOAD_MAX, *who,
				       1 + (uint32_t)(rnd() % 6), v, n);
	}
	case 5:
	case 6: {
		struct kc_coin_info ci = { 0 };
		uint8_t q[8], out[64];
		struct kc_ledger_result lr;
		struct kc_ledger_caller c = { .client_id = 1 };
		uint64_t coin = pick_coin(l), d;

		kc_ledger_apply(l, &c, KC_OP_COIN, q,
				(uint32_t)kc_enc_coin_id(q, 8, coin), 0, 0,
				out, sizeof(out), NULL, &lr);
		if (lr.status == KC_STATUS_OK)
			kc_dec_coin_reply(out, lr.len, &ci);
		d = ci.denomination > 1 ? ci.denomination : 2;
		v[0] = 1 + rnd() % (d - 1);
		v[1] = d - v[0] + (rnd() % 10 == 0);
		*who = ci.owner ? ci.owner : *who;
		*op = KC_OP_SPLIT;
		return kc_enc_split(p, KC_PAYLOAD_MAX, coin, v, 2);
	}
	case 7:
	case 8:
		for (int i = 0; i < n + 1; i++)
			v[i] = pick_coin(l);
		*op = KC_OP_MERGE;
		return kc_enc_merge(p, KC_PAYLOAD_MAX, v, (uint16_t)(n + 1));
	default:
		*op = KC_OP_BURN;
		return kc_enc_coin_id(p, KC_PAYLOAD_MAX, pick_coin(l));
	}
}

static void replay_into(struct kc_ledger *l, const struct logged *log,
			uint32_t from, uint32_t to)
{
	struct kc_ledger_caller c = { .mint_authority = true };

	for (uint32_t i = from; i < to; i++) {
		struct kc_ledger_result lr;
		uint8_t out[KC_PAYLOAD_MAX], hop[KC_HOPREC_MAX];

		c.client_id = log[i].who;
		kc_ledger_apply(l, &c, log[i].op, log[i].in, log[i].len,
				log[i].seq, 1000 + log[i].seq, out,
				sizeof(out), hop, &lr);
		assert_int_equal(lr.status, KC_STATUS_OK);
		assert_int_equal(lr.len, log[i].out_len);
		assert_memory_equal(out, log[i].out, lr.len);
		assert_int_equal(lr.hop_len, log[i].hop_len);
		assert_memory_equal(hop, log[i].hop, lr.hop_len);
	}
}

static void test_property_replay(void **state)
{
	const uint32_t nb_ops = 6000;
	struct logged *log = calloc(nb_ops, sizeof(*log));
	struct kc_ledger *live = mk(4096, 64, 1);
	struct kc_ledger *snap_l = mk(4096, 64, 1);
	struct kc_ledger *replay = mk(4096, 64, 1);
	uint8_t d1[KC_LEDGER_DIGEST_LEN], d2[KC_LEDGER_DIGEST_LEN];
	uint64_t snap_cap = 1 << 20;
	uint8_t *snap = malloc(snap_cap);
	uint32_t nb = 0, snap_at = 0, ok = 0;
	size_t snap_len = 0;
	uint64_t seq = 1;

	(void)state;
	assert_non_null(log);
	assert_non_null(snap);
	rng_state = 0x4b43u; /* fixed: the run is reproducible */
	for (uint32_t i = 0; i < nb_ops; i++) {
		struct kc_ledger_caller c = { .keys = keys };
		struct kc_ledger_result lr;
		struct logged *e = &log[nb];
		uint8_t out[KC_PAYLOAD_MAX];

		e->len = (uint32_t)random_op(live, &e->op, &e->who, e->in);
		assert_true(e->len > 0);
		c.client_id = e->who;
		c.mint_authority = e->who == AUTH;
		seq += 3;
		/* Time moves 1 ns a seq: the reaper works now and then. */
		kc_ledger_apply(live, &c, e->op, e->in, e->len, seq,
				1000 + seq, out, sizeof(out), e->hop, &lr);
		kc_ledger_reap(live, 1000 + seq, 4);
		audit_ok(live);
		if (lr.status != KC_STATUS_OK)
			continue;
		ok++;
		e->seq = seq;
		e->out_len = lr.len;
		memcpy(e->out, out, lr.len);
		e->hop_len = lr.hop_len;
		nb++;
		if (snap_len == 0 && i >= nb_ops / 3) {
			snap_len = kc_ledger_snapshot(live, snap, snap_cap);
			assert_true(snap_len > 0);
			snap_at = nb;
		}
	}
	/* Most ops did something. */
	assert_true(ok > nb_ops / 4);
	/* The whole log replayed gives the same ledger... */
	replay_into(replay, log, 0, nb);
	audit_ok(replay);
	kc_ledger_digest(live, d1);
	kc_ledger_digest(replay, d2);
	assert_memory_equal(d1, d2, sizeof(d1));
	/* ...and so does the snapshot plus what came after it. */
	{
		int rc = kc_ledger_restore(snap_l, snap, snap_len);

		if (rc != 0)
			fprintf(stderr, "restore %d len %zu na %u nc %u\n", rc,
				snap_len, kc_get_u32(snap + 32),
				kc_get_u32(snap + 36));
		assert_int_equal(rc, 0);
	}
	kc_ledger_snapshot_digest(snap, snap_len, d2);
	kc_ledger_digest(snap_l, d1);
	assert_memory_equal(d1, d2, sizeof(d1));
	replay_into(snap_l, log, snap_at, nb);
	kc_ledger_digest(snap_l, d2);
	kc_ledger_digest(live, d1);
	assert_memory_equal(d1, d2, sizeof(d1));
	audit_ok(snap_l);
	/* A snapshot too large for the limits is refused. */
	{
		struct kc_ledger *tiny = mk(16, 16, 1);

		assert_int_equal(kc_ledger_restore(tiny, snap, snap_len),
				 -ENOSPC);
		assert_int_equal(kc_ledger_restore(tiny, snap, 10), -EINVAL);
		kc_ledger_free(tiny);
	}
	kc_ledger_free(live);
	kc_ledger_free(snap_l);
	kc_ledger_free(replay);
	free(snap);
	free(log);
}

/* ---- the trail through a real journal shard -------------------------- */

static void append(struct kc_journal *j, uint8_t type, uint64_t ref,
		   const void *payload, uint32_t len, uint64_t want_seq)
{
	struct kc_jrec h = {
		.type = type, .payload_len = len, .ref = ref,
		.time_ns = want_seq * 1000,
	};

	assert_int_equal(kc_journal_append(j, &h, payload), want_seq);
}

static void test_trail(void **state)
{
	char dir[] = "/tmp/kc-test-trail-XXXXXX", sd[256];
	struct kc_journal_cfg jc = {
		.shard = 0, .durability = KC_DURABILITY_BATCH,
		.segment_bytes = 1 << 20, .buffer_bytes = 1 << 20,
		.group_max = 64, .group_wait_us = 0, .socket_id = 0,
	};
	struct kc_jreader_end end = { .how = KC_JEND_CLEAN };
	struct kc_ledger *l = mk(64, 16, 10);
	static struct kc_hop hops[16], big[256];
	struct kc_jlookup *x;
	struct kc_journal *j;
	uint8_t dummy[KC_HDR_LEN] = { 0 }, p[64];
	uint64_t seq = 0, first, kids, parts[2] = { 4, 6 }, last;
	uint32_t nb;
	char err[256];
	struct res r;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	jc.dir = dir;
	j = kc_journal_open(&jc, &end, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(kc_journal_start(j), 0);
	/* As the worker journals them: REQUEST, REPLY, LEDGER. */
#define STEP(who, op_, len_)                                                 \
	do {                                                                 \
		seq_next = seq;                                              \
		assert_int_equal(run(l, who, op_, p, len_, &r), KC_STATUS_OK); \
		append(j, KC_JREC_REQUEST, 0, dummy, KC_HDR_LEN, seq + 1);   \
		append(j, KC_JREC_REPLY, seq + 1, dummy, KC_HDR_LEN, seq + 2); \
		append(j, KC_JREC_LEDGER, seq + 1, r.hop, r.hop_len, seq + 3); \
		seq += 3;                                                    \
	} while (0)
	/* run() adds 3 to seq_next: the hop seq is seq + 3. */
	n = kc_enc_mint(p, sizeof(p), 2, 10, 1);
	STEP(AUTH, KC_OP_MINT, n);
	first = 1;
	n = kc_enc_transfer(p, sizeof(p), 2, 3, &first, 1);
	STEP(2, KC_OP_TRANSFER, n);
	n = kc_enc_split(p, sizeof(p), first, parts, 2);
	STEP(3, KC_OP_SPLIT, n);
	kids = 2;
	n = kc_enc_transfer(p, sizeof(p), 3, 4, &kids, 1);
	STEP(3, KC_OP_TRANSFER, n);
	kc_journal_publish(j);
	while (kc_journal_durable_seq(j) < seq)
		usleep(100);
	kc_jshard_path(sd, sizeof(sd), dir, 0);
	x = kc_jlookup_open(sd);
	assert_non_null(x);
	assert_int_equal(kc_ledger_trail_from(l, kids, &last, &(const char *){
				NULL }), KC_STATUS_OK);
	assert_int_equal(kc_trail_walk(x, kids, last, hops, 16, &nb, NULL,
				       err, sizeof(err)), 0);
	/* mint (coin 1) -> transfer (1) -> split (made 2) -> transfer (2) */
	assert_int_equal(nb, 4);
	assert_int_equal(hops[0].kind, KC_HOP_MINT);
	assert_int_equal(hops[0].coin, 1);
	assert_int_equal(hops[0].to, 2);
	assert_int_equal(hops[1].kind, KC_HOP_TRANSFER);
	assert_int_equal(hops[1].from, 2);
	assert_int_equal(hops[1].to, 3);
	assert_int_equal(hops[2].kind, KC_HOP_SPLIT);
	assert_int_equal(hops[2].coin, kids);
	assert_int_equal(hops[2].denomination, 4);
	assert_int_equal(hops[3].kind, KC_HOP_TRANSFER);
	assert_int_equal(hops[3].to, 4);
	for (uint32_t i = 1; i < nb; i++)
		assert_true(hops[i - 1].seq < hops[i].seq);
	assert_int_equal(hops[3].time_ns, hops[3].seq * 1000);
	/* Too long for the limit. */
	assert_int_equal(kc_trail_walk(x, kids, last, hops, 2, &nb, NULL,
				       err, sizeof(err)), -E2BIG);
	/* A shutdown stops a walk (kc_ledger_ctl_stop sets the flag). */
	{
		int stop = 1;

		assert_int_equal(kc_trail_walk(x, kids, last, hops, 16, &nb,
					       &stop, err, sizeof(err)),
				 -ECANCELED);
		assert_non_null(strstr(err, "shutting down"));
		stop = 0;
		assert_int_equal(kc_trail_walk(x, kids, last, hops, 16, &nb,
					       &stop, err, sizeof(err)), 0);
		assert_int_equal(nb, 4);
	}
	/* A seq that is not this coin's hop. */
	assert_int_equal(kc_trail_walk(x, 3, 2, hops, 16, &nb, NULL, err,
				       sizeof(err)), -EILSEQ);
	/* Not written. */
	assert_int_equal(kc_trail_walk(x, kids, 500, hops, 16, &nb, NULL,
				       err, sizeof(err)), -ENOENT);
	/* Twenty rounds of splitting a coin in two and merging it back:
	 * both halves lead to the same parent, which is walked once (the
	 * walk used to double with each round). */
	kc_jlookup_close(x);
	{
		uint64_t c = 3, halves[2] = { 3, 3 }, ab[2];
		uint32_t cnt;

		for (int round = 0; round < 20; round++) {
			n = kc_enc_split(p, sizeof(p), c, halves, 2);
			STEP(3, KC_OP_SPLIT, n);
			assert_true(kc_dec_coins_reply(r.out, r.len, &ab[0],
						       &cnt));
			ab[1] = ab[0] + 1;
			n = kc_enc_merge(p, sizeof(p), ab, 2);
			STEP(3, KC_OP_MERGE, n);
			assert_true(kc_dec_u64_reply(r.out, r.len, &c));
		}
		kc_journal_publish(j);
		while (kc_journal_durable_seq(j) < seq)
			usleep(100);
		x = kc_jlookup_open(sd);
		assert_int_equal(kc_ledger_trail_from(l, c, &last,
			&(const char *){ NULL }), KC_STATUS_OK);
		assert_int_equal(kc_trail_walk(x, c, last, big, 256, &nb,
					       NULL, err, sizeof(err)), 0);
		/* 3 a round, and coin 3's making, coin 1's transfer and
		 * mint. */
		assert_int_equal(nb, 63);
		assert_int_equal(big[0].kind, KC_HOP_MINT);
		assert_int_equal(big[62].kind, KC_HOP_MERGE);
		assert_int_equal(big[62].coin, c);
	}
	kc_jlookup_close(x);
	kc_journal_close(j);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
	kc_ledger_free(l);
#undef STEP
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mint),
		cmocka_unit_test(test_minted_never_wraps),
		cmocka_unit_test(test_merge_at_the_limit),
		cmocka_unit_test(test_hint_file),
		cmocka_unit_test(test_transfer),
		cmocka_unit_test(test_split_merge_burn),
		cmocka_unit_test(test_capacity_and_reaper),
		cmocka_unit_test(test_accounts_full),
		cmocka_unit_test(test_coin_and_audit_reads),
		cmocka_unit_test(test_restore_rejects),
		cmocka_unit_test(test_property_replay),
		cmocka_unit_test(test_trail),
	};
	kc_test_eal_init("test_ledger");
	keys = kc_test_keys(8);
	if (keys == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
