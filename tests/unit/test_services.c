/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Service calls (lib/services) on a real ledger: registration, escrow and
 * change, settlement by response, timeout, hold, dispute and ruling, the
 * arbiter's score and quarantine, the limits and refusals, and a property
 * test of random SERVE/CALL/RESPOND/REPORT/SETTLE sequences against a
 * simple model (value conserved, every call settled exactly once, replay
 * of the same journal giving the same state).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kc_ledger.h"
#include "kc_services.h"
#include "kc_test_eal.h"
#include "kc_test_keys.h"

#define AUTH 1u		/* mint authority */
#define S_NS 1000000000ull
#define MS_NS 1000000ull

static struct kc_keyring *keys;	/* clients 1..8 */

struct env {
	struct kc_ledger *l;
	struct kc_services *s;
	uint64_t now;
	uint64_t seq;
	uint32_t msg;		/* message id sequence */
};

static struct kc_services_limits limits(void)
{
	return (struct kc_services_limits){
		.max_services = 16, .max_types = 8, .max_calls = 64,
		.max_payload = 256, .max_deadline_ms = 60000,
		.report_window_s = 60, .settle_hold_s = 0, .keep_s = 120,
		.quarantine_below_ppm = 500000, .min_calls = 10,
		.quarantine_s = 30,
	};
}

static void env_init(struct env *e, const struct kc_services_limits *lim)
{
	static int n;
	char name[32];
	struct kc_ledger_limits ll = {
		.max_accounts = 64, .max_coins = 4096, .reap_after_s = 60,
	};

	memset(e, 0, sizeof(*e));
	snprintf(name, sizeof(name), "tsl%d", n);
	e->l = kc_ledger_create(name, &ll, 0);
	snprintf(name, sizeof(name), "tss%d", n++);
	e->s = kc_services_create(name, lim, 0);
	assert_non_null(e->l);
	assert_non_null(e->s);
	e->now = 1700000000ull * S_NS;
	e->seq = 10;
}

static void env_free(struct env *e)
{
	kc_services_free(e->s);
	kc_ledger_free(e->l);
}

struct out {
	struct kc_svc_result r;
	uint8_t p[KC_PAYLOAD_MAX];
	uint8_t hop[KC_HOPREC_MAX];
	uint8_t id[KC_MSG_ID_LEN];
};

/* One op from `who` (0: the appliance) at e->now, like the worker: the
 * REQUEST takes seq s, its hop s + 2. */
static enum kc_status svc(struct env *e, uint32_t who, uint8_t op,
			  const uint8_t *in, size_t len, struct out *o)
{
	struct kc_svc_caller c = {
		.client_id = who, .internal = who == 0,
		.ip = 0x0a000000u + who, .port = (uint16_t)(40000 + who),
		.msg_id = o->id, .req_seq = e->seq,
	};

	kc_msg_id_make(o->id, e->now / MS_NS, who, ++e->msg);
	kc_services_apply(e->s, e->l, &c, op, in, (uint32_t)len, e->seq + 2,
			  e->now, o->p, sizeof(o->p), o->hop, &o->r);
	e->seq += 3;
	return o->r.status;
}

static uint64_t mint(struct env *e, uint32_t to, uint64_t denom, uint32_t n)
{
	struct kc_ledger_caller c = {
		.client_id = AUTH, .mint_authority = true, .keys = keys,
	};
	struct kc_ledger_result r;
	uint8_t in[64], out[64], hop[KC_HOPREC_MAX];
	uint64_t first;
	uint32_t count;
	size_t len = kc_enc_mint(in, sizeof(in), to, denom, n);

	kc_ledger_apply(e->l, &c, KC_OP_MINT, in, (uint32_t)len, e->seq + 2,
			e->now, out, sizeof(out), hop, &r);
	e->seq += 3;
	assert_int_equal(r.status, KC_STATUS_OK);
	assert_true(kc_dec_coins_reply(out, r.len, &first, &count));
	return first;
}

static uint64_t balance(const struct env *e, uint32_t account)
{
	uint64_t b;
	uint32_t n;

	kc_ledger_balance(e->l, account, &b, &n);
	return b;
}

static void audits(const struct env *e)
{
	struct kc_audit a;
	const char *what;

	kc_ledger_audit(e->l, &a);
	assert_true(a.ok);
	assert_int_equal(a.minted - a.burnt, a.live_sum);
	assert_int_equal(kc_services_audit(e->s, e->l, &what), 0);
}

static enum kc_status serve(struct env *e, uint32_t who, const char *type,
			    uint64_t price, uint32_t inflight, uint32_t lease)
{
	uint8_t in[128];
	struct out o;
	size_t n = kc_enc_serve(in, sizeof(in), type, price, inflight, lease);

	return svc(e, who, KC_OP_SERVE, in, n, &o);
}

static enum kc_status call(struct env *e, uint32_t who, const char *type,
			   uint32_t deadline_ms, const char *payload,
			   const uint64_t *coins, uint16_t n, struct out *o)
{
	uint8_t in[KC_PAYLOAD_MAX];
	size_t len = kc_enc_call(in, sizeof(in), type, deadline_ms, payload,
				 strlen(payload), coins, n);

	assert_true(len > 0);
	return svc(e, who, KC_OP_CALL, in, len, o);
}

static enum kc_status respond(struct env *e, uint32_t who, const uint8_t *id,
			      uint16_t status, const char *payload,
			      struct out *o)
{
	uint8_t in[KC_PAYLOAD_MAX];
	size_t len = kc_enc_respond(in, sizeof(in), id, status, payload,
				    strlen(payload));

	return svc(e, who, KC_OP_RESPOND, in, len, o);
}

static enum kc_status report(struct env *e, uint32_t who, const uint8_t *id,
			     uint8_t kind, const char *text, struct out *o)
{
	uint8_t in[KC_PAYLOAD_MAX];
	size_t len = kc_enc_report(in, sizeof(in), id, kind, text,
				   strlen(text));

	return svc(e, who, KC_OP_REPORT, in, len, o);
}

static enum kc_status settle(struct env *e, uint32_t who, const uint8_t *id,
			     uint8_t action, struct out *o)
{
	uint8_t in[64];
	size_t len = kc_enc_settle(in, sizeof(in), id, action);

	return svc(e, who, KC_OP_SETTLE, in, len, o);
}

/* Every SETTLE due at e->now, as the worker makes them; how many. */
static uint32_t tick(struct env *e)
{
	uint32_t n = 0;
	uint8_t action;
	int32_t slot;

	while ((slot = kc_services_due(e->s, e->now, &action)) >= 0) {
		struct kc_call_view v;
		struct out o;

		assert_true(kc_services_call(e->s, slot, &v));
		assert_int_equal(settle(e, 0, v.id, action, &o), KC_STATUS_OK);
		n++;
		assert_true(n < 10000);
	}
	return n;
}

/* ---- tests -------------------------------------------------------------- */

static void test_score(void **state)
{
	uint64_t sq = 0, fq = 0;

	(void)state;
	/* A newcomer stands at one half. */
	assert_int_equal(kc_services_score(0, 0), 500000);
	assert_int_equal(kc_services_score(KC_SVC_Q, KC_SVC_Q), 500000);
	assert_int_equal(kc_services_score(2 * KC_SVC_Q, 0), 750000);
	/* Twenty successes, decayed as the services decay them. */
	for (int i = 0; i < 20; i++) {
		sq -= sq >> 5;
		sq += KC_SVC_Q;
	}
	assert_true(kc_services_score(sq, fq) > 900000);
	/* Then failures pull it under one half within sixteen: the score
	 * remembers about the last 32 outcomes. */
	for (int i = 0; i < 16; i++) {
		fq -= fq >> 5;
		sq -= sq >> 5;
		fq += KC_SVC_Q;
	}
	assert_true(kc_services_score(sq, fq) < 500000);
	assert_true(kc_services_score(UINT32_MAX, 0) <= 1000000);
}

static void test_paid_call(void **state)
{
	struct kc_services_limits lim = limits();
	struct kc_call_accept a;
	struct kc_call_reply cr;
	struct kc_call_view v;
	struct kc_hoprec h;
	struct env e;
	struct out o, c;
	uint64_t coin, amount;
	uint8_t settlement;

	(void)state;
	env_init(&e, &lim);
	coin = mint(&e, 2, 100, 1);
	assert_int_equal(serve(&e, 3, "echo", 30, 4, 60), KC_STATUS_OK);
	audits(&e);

	assert_int_equal(call(&e, 2, "echo", 500, "hello", &coin, 1, &c),
			 KC_STATUS_OK);
	assert_true(c.r.deliver >= 0);
	assert_int_equal(c.r.done, -1);
	assert_true(kc_dec_call_accept(c.p, c.r.len, &a));
	assert_int_equal(a.service, 3);
	assert_int_equal(a.price, 30);
	assert_true(a.escrow_coin != 0 && a.change_coin != 0);
	/* The ESCROW hop: the coin consumed, the price and the change made,
	 * the call named. */
	assert_true(kc_hoprec_decode(c.hop, c.r.hop_len, &h));
	assert_int_equal(h.kind, KC_HOP_ESCROW);
	assert_int_equal(h.nb_in, 1);
	assert_int_equal(h.nb_out, 2);
	assert_int_equal(h.from, 2);
	assert_int_equal(h.to, KC_ACCOUNT_ESCROW);
	assert_memory_equal(h.call, c.id, KC_CALL_ID_LEN);
	assert_int_equal(balance(&e, 2), 70);
	assert_int_equal(balance(&e, KC_ACCOUNT_ESCROW), 30);
	audits(&e);

	/* The worker's view: what to deliver, and where. */
	assert_true(kc_services_call(e.s, c.r.deliver, &v));
	assert_int_equal(v.state, KC_CALL_PENDING);
	assert_int_equal(v.service_ip, 0x0a000003u);
	assert_int_equal(v.service_port, 40003);
	assert_int_equal(v.len, 5);
	assert_memory_equal(v.data, "hello", 5);

	/* Another client may not answer it. */
	assert_int_equal(respond(&e, 4, c.id, 0, "x", &o),
			 KC_STATUS_FORBIDDEN);
	assert_int_equal(respond(&e, 3, c.id, 0, "HELLO", &o), KC_STATUS_OK);
	assert_int_equal(o.r.done, c.r.deliver);
	assert_true(kc_dec_settle_reply(o.p, o.r.len, &settlement, &amount));
	assert_int_equal(settlement, KC_SETTLED_PAID);
	assert_int_equal(amount, 30);
	assert_true(kc_hoprec_decode(o.hop, o.r.hop_len, &h));
	assert_int_equal(h.kind, KC_HOP_PAY);
	assert_int_equal(h.to, 3);
	assert_int_equal(balance(&e, 3), 30);
	assert_int_equal(balance(&e, KC_ACCOUNT_ESCROW), 0);
	{
		uint16_t st, len;
		const uint8_t *p;

		kc_services_outcome(e.s, o.r.done, &st, &p, &len);
		assert_int_equal(st, KC_STATUS_OK);
		assert_true(kc_dec_call_reply(p, len, &cr));
		assert_int_equal(cr.service, 3);
		assert_int_equal(cr.price, 30);
		assert_int_equal(cr.payload_len, 5);
		assert_memory_equal(cr.payload, "HELLO", 5);
	}
	/* Answered twice: refused, nothing moves. */
	assert_int_equal(respond(&e, 3, c.id, 0, "again", &o),
			 KC_STATUS_NOT_FOUND);
	assert_int_equal(balance(&e, 3), 30);
	audits(&e);
	env_free(&e);
}

static void test_exact_coin_and_free_call(void **state)
{
	struct kc_services_limits lim = limits();
	struct kc_call_accept a;
	struct kc_coin_info ci;
	struct kc_hoprec h;
	struct env e;
	struct out c, o;
	uint64_t coin;

	(void)state;
	env_init(&e, &lim);
	coin = mint(&e, 2, 30, 1);
	assert_int_equal(serve(&e, 3, "exact", 30, 4, 60), KC_STATUS_OK);
	assert_int_equal(serve(&e, 4, "free", 0, 4, 60), KC_STATUS_OK);
	/* One coin of the price moves into escrow as it is. */
	assert_int_equal(call(&e, 2, "exact", 500, "", &coin, 1, &c),
			 KC_STATUS_OK);
	assert_true(kc_dec_call_accept(c.p, c.r.len, &a));
	assert_int_equal(a.escrow_coin, coin);
	assert_int_equal(a.change_coin, 0);
	assert_true(kc_ledger_coin_info(e.l, coin, &ci));
	assert_int_equal(ci.owner, KC_ACCOUNT_ESCROW);
	/* A coin in escrow is nobody's to spend, even its former owner's. */
	{
		struct kc_ledger_caller lc = { .client_id = 2, .keys = keys };
		struct kc_ledger_result lr;
		uint8_t in[64], out[64], hop[KC_HOPREC_MAX];
		size_t n = kc_enc_coin_id(in, sizeof(in), coin);

		kc_ledger_apply(e.l, &lc, KC_OP_BURN, in, (uint32_t)n, 0,
				e.now, out, sizeof(out), hop, &lr);
		assert_int_equal(lr.status, KC_STATUS_NOT_OWNER);
		assert_int_equal(call(&e, 2, "free", 500, "", &coin, 1, &o),
				 KC_STATUS_NOT_OWNER);
	}
	/* A free call needs no coins and moves none. */
	assert_int_equal(call(&e, 5, "free", 500, "hi", NULL, 0, &c),
			 KC_STATUS_OK);
	assert_true(kc_hoprec_decode(c.hop, c.r.hop_len, &h));
	assert_int_equal(h.kind, KC_HOP_ESCROW);
	assert_int_equal(h.nb_in + h.nb_out, 0);
	assert_int_equal(respond(&e, 4, c.id, 0, "ok", &o), KC_STATUS_OK);
	assert_int_equal(balance(&e, 5), 0);
	audits(&e);
	env_free(&e);
}

static void test_error_and_timeout_refund(void **state)
{
	struct kc_services_limits lim = limits();
	struct env e;
	struct out c1, c2, o;
	uint64_t coins[2];
	uint16_t st, len;
	const uint8_t *p;

	(void)state;
	env_init(&e, &lim);
	coins[0] = mint(&e, 2, 50, 2);
	coins[1] = coins[0] + 1;
	assert_int_equal(serve(&e, 3, "t", 40, 4, 60), KC_STATUS_OK);
	assert_int_equal(call(&e, 2, "t", 100, "a", &coins[0], 1, &c1),
			 KC_STATUS_OK);
	assert_int_equal(call(&e, 2, "t", 100, "b", &coins[1], 1, &c2),
			 KC_STATUS_OK);
	assert_int_equal(balance(&e, KC_ACCOUNT_ESCROW), 80);
	/* A service error: refunded, and the caller gets the service's
	 * status and text. */
	assert_int_equal(respond(&e, 3, c1.id, KC_STATUS_NOT_FOUND, "no such "
				 "thing", &o), KC_STATUS_OK);
	kc_services_outcome(e.s, o.r.done, &st, &p, &len);
	assert_int_equal(st, KC_STATUS_NOT_FOUND);
	assert_int_equal(len, 13);
	assert_int_equal(balance(&e, 2), 60);
	assert_int_equal(balance(&e, 3), 0);
	/* Nothing is due before the deadline. */
	assert_int_equal(tick(&e), 0);
	e.now += 100 * MS_NS;
	/* At the deadline a late answer is refused and changes nothing. */
	assert_int_equal(respond(&e, 3, c2.id, 0, "late", &o),
			 KC_STATUS_TIMEOUT);
	assert_int_equal(tick(&e), 1);
	kc_services_outcome(e.s, kc_services_find(e.s, c2.id), &st, &p, &len);
	assert_int_equal(st, KC_STATUS_TIMEOUT);
	assert_int_equal(balance(&e, 2), 100);
	assert_int_equal(balance(&e, KC_ACCOUNT_ESCROW), 0);
	/* Timed out: the answer that comes now says so. */
	assert_int_equal(respond(&e, 3, c2.id, 0, "late", &o),
			 KC_STATUS_TIMEOUT);
	/* SETTLE is the appliance's own. */
	assert_int_equal(settle(&e, 2, c2.id, KC_SETTLE_RULE_REFUND, &o),
			 KC_STATUS_FORBIDDEN);
	assert_int_equal(settle(&e, 0, c2.id, KC_SETTLE_TIMEOUT, &o),
			 KC_STATUS_BAD_REQUEST);
	audits(&e);
	env_free(&e);
}

static void test_hold_dispute_ruling(void **state)
{
	struct kc_services_limits lim = limits();
	struct env e;
	struct out c1, c2, c3, o;
	uint64_t coin, amount;
	uint8_t settlement;

	(void)state;
	lim.settle_hold_s = 10;
	env_init(&e, &lim);
	coin = mint(&e, 2, 20, 3);
	assert_int_equal(serve(&e, 3, "h", 20, 8, 600), KC_STATUS_OK);
	assert_int_equal(call(&e, 2, "h", 1000, "1", &coin, 1, &c1), 0);
	coin++;
	assert_int_equal(call(&e, 2, "h", 1000, "2", &coin, 1, &c2), 0);
	coin++;
	assert_int_equal(call(&e, 2, "h", 1000, "3", &coin, 1, &c3), 0);
	/* Answered OK: the caller is answered, the price held. */
	assert_int_equal(respond(&e, 3, c1.id, 0, "r1", &o), 0);
	assert_true(kc_dec_settle_reply(o.p, o.r.len, &settlement, &amount));
	assert_int_equal(settlement, KC_SETTLED_HELD);
	assert_true(o.r.done >= 0);
	assert_int_equal(respond(&e, 3, c2.id, 0, "r2", &o), 0);
	assert_int_equal(respond(&e, 3, c3.id, 0, "r3", &o), 0);
	assert_int_equal(balance(&e, KC_ACCOUNT_ESCROW), 60);
	/* A REPORT is the caller's only, and only once for a problem. */
	assert_int_equal(report(&e, 3, c1.id, KC_REPORT_PROBLEM, "x", &o),
			 KC_STATUS_FORBIDDEN);
	assert_int_equal(report(&e, 2, c1.id, KC_REPORT_PROBLEM, "wrong",
				&o), KC_STATUS_OK);
	assert_int_equal(o.p[0], 1); /* held for an arbiter */
	assert_int_equal(report(&e, 2, c1.id, KC_REPORT_PROBLEM, "again",
				&o), KC_STATUS_BAD_REQUEST);
	assert_int_equal(report(&e, 2, c2.id, KC_REPORT_SUGGESTION, "faster"
				" please", &o), KC_STATUS_OK);
	assert_int_equal(o.p[0], 0);
	assert_int_equal(report(&e, 2, c3.id, KC_REPORT_PROBLEM, "bad", &o),
			 KC_STATUS_OK);
	{
		struct kc_svc_report rp;

		assert_true(kc_services_report(e.s, 0, &rp));
		assert_int_equal(rp.kind, KC_REPORT_PROBLEM);
		assert_int_equal(rp.len, 3);
		assert_true(kc_services_report(e.s, 1, &rp));
		assert_int_equal(rp.kind, KC_REPORT_SUGGESTION);
		assert_false(kc_services_report(e.s, 3, &rp));
	}
	/* After the hold the undisputed one is paid; the disputed wait. */
	e.now += 10 * S_NS;
	assert_int_equal(tick(&e), 1);
	assert_int_equal(balance(&e, 3), 20);
	assert_int_equal(balance(&e, KC_ACCOUNT_ESCROW), 40);
	/* Rulings: one for each side; a second ruling finds nothing held. */
	assert_int_equal(settle(&e, 0, c1.id, KC_SETTLE_RULE_REFUND, &o), 0);
	assert_int_equal(settle(&e, 0, c3.id, KC_SETTLE_RULE_PAY, &o), 0);
	assert_int_equal(settle(&e, 0, c3.id, KC_SETTLE_RULE_REFUND, &o),
			 KC_STATUS_BAD_REQUEST);
	assert_int_equal(balance(&e, 2), 20);
	assert_int_equal(balance(&e, 3), 40);
	assert_int_equal(balance(&e, KC_ACCOUNT_ESCROW), 0);
	/* Too late to report. */
	e.now += 61 * S_NS;
	assert_int_equal(report(&e, 2, c2.id, KC_REPORT_PROBLEM, "late", &o),
			 KC_STATUS_OUT_OF_RANGE);
	audits(&e);
	env_free(&e);
}

static void test_quarantine(void **state)
{
	struct kc_services_limits lim = limits();
	struct kc_svc_info info;
	struct kc_call_accept a;
	struct env e;
	struct out c, o;

	(void)state;
	lim.min_calls = 5;
	lim.quarantine_s = 30;
	env_init(&e, &lim);
	/* Two services of one type: the bad one (3) first gets calls, as
	 * newcomers tie and it has none in flight. */
	assert_int_equal(serve(&e, 3, "q", 0, 1, 600), KC_STATUS_OK);
	assert_int_equal(serve(&e, 4, "q", 0, 1, 600), KC_STATUS_OK);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(call(&e, 2, "q", 1000, "x", NULL, 0, &c), 0);
		assert_true(kc_dec_call_accept(c.p, c.r.len, &a));
		if (a.service == 3)
			assert_int_equal(respond(&e, 3, c.id, KC_STATUS_INTERNAL,
						 "broken", &o), 0);
		else
			assert_int_equal(respond(&e, 4, c.id, 0, "ok", &o), 0);
	}
	kc_services_info(e.s, 0, e.now, &info);
	assert_int_equal(info.account, 3);
	assert_true(info.st.errors >= 1);
	/* The bad one's score fell; the good one now gets every call. */
	kc_services_info(e.s, 1, e.now, &info);
	assert_true(info.score_ppm > 500000);
	for (int i = 0; i < 20; i++) {
		struct out o2;
		enum kc_status st;

		/* The best score gets the call... */
		assert_int_equal(call(&e, 2, "q", 1000, "x", NULL, 0, &c), 0);
		assert_true(kc_dec_call_accept(c.p, c.r.len, &a));
		assert_int_equal(a.service, 4);
		/* ...and while it is busy (max_inflight 1), the bad one gets
		 * the next, until it is quarantined. */
		st = call(&e, 2, "q", 1000, "y", NULL, 0, &o);
		if (st == KC_STATUS_OK) {
			assert_true(kc_dec_call_accept(o.p, o.r.len, &a));
			assert_int_equal(a.service, 3);
			assert_int_equal(respond(&e, 3, o.id,
						 KC_STATUS_INTERNAL, "broken",
						 &o2), 0);
		}
		assert_int_equal(respond(&e, 4, c.id, 0, "ok", &o2), 0);
		if (st == KC_STATUS_UNAVAILABLE)
			break;
		assert_int_equal(st, KC_STATUS_OK);
	}
	kc_services_info(e.s, 0, e.now, &info);
	assert_true(info.quarantined);
	assert_true(info.quarantines >= 1);
	/* Quarantined: with 4 busy, nobody is available. */
	assert_int_equal(call(&e, 2, "q", 1000, "x", NULL, 0, &c), 0);
	assert_true(kc_dec_call_accept(c.p, c.r.len, &a));
	assert_int_equal(a.service, 4);
	assert_int_equal(call(&e, 2, "q", 1000, "x", NULL, 0, &o),
			 KC_STATUS_UNAVAILABLE);
	assert_int_equal(respond(&e, 4, c.id, 0, "ok", &o), 0);
	/* The quarantine ends. */
	e.now += 31 * S_NS;
	kc_services_info(e.s, 0, e.now, &info);
	assert_false(info.quarantined);
	audits(&e);
	env_free(&e);
}

static void test_quarantine_refunds_disputed(void **state)
{
	struct kc_services_limits lim = limits();
	struct kc_svc_info info;
	struct env e;
	struct out c, o;
	uint64_t coin;

	(void)state;
	lim.settle_hold_s = 3600;
	lim.min_calls = 4;
	env_init(&e, &lim);
	coin = mint(&e, 2, 10, 4);
	assert_int_equal(serve(&e, 3, "d", 10, 8, 600), KC_STATUS_OK);
	for (int i = 0; i < 4; i++, coin++) {
		assert_int_equal(call(&e, 2, "d", 1000, "x", &coin, 1, &c), 0);
		assert_int_equal(respond(&e, 3, c.id, 0, "junk", &o), 0);
		assert_int_equal(report(&e, 2, c.id, KC_REPORT_PROBLEM, "junk",
					&o), 0);
	}
	kc_services_info(e.s, 0, e.now, &info);
	assert_true(info.quarantined);
	assert_int_equal(balance(&e, KC_ACCOUNT_ESCROW), 40);
	/* Every disputed call of a quarantined service is refunded. */
	assert_int_equal(tick(&e), 4);
	assert_int_equal(balance(&e, KC_ACCOUNT_ESCROW), 0);
	assert_int_equal(balance(&e, 2), 40);
	kc_services_info(e.s, 0, e.now, &info);
	assert_int_equal(info.st.refunds, 4);
	assert_int_equal(info.st.revenue, 0);
	audits(&e);
	env_free(&e);
}

static void test_refusals_and_limits(void **state)
{
	struct kc_services_limits lim = limits();
	struct env e;
	struct out c, o;
	uint64_t coin, other;
	char big[300];

	(void)state;
	lim.max_calls = 4;
	lim.keep_s = 5;
	env_init(&e, &lim);
	coin = mint(&e, 2, 100, 1);
	other = mint(&e, 5, 100, 1);
	/* Nobody serves it yet. */
	assert_int_equal(call(&e, 2, "x", 100, "", &coin, 1, &o),
			 KC_STATUS_UNAVAILABLE);
	assert_int_equal(serve(&e, 3, "x", 200, 8, 60), KC_STATUS_OK);
	assert_int_equal(call(&e, 2, "x", 100, "", &coin, 1, &o),
			 KC_STATUS_OUT_OF_RANGE);
	assert_int_equal(serve(&e, 3, "x", 10, 8, 60), KC_STATUS_OK);
	/* Someone else's coin. */
	assert_int_equal(call(&e, 2, "x", 100, "", &other, 1, &o),
			 KC_STATUS_NOT_OWNER);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(call(&e, 2, "x", 100, big, &coin, 1, &o),
			 KC_STATUS_TOO_LARGE);
	assert_int_equal(call(&e, 2, "x", 60001, "", &coin, 1, &o),
			 KC_STATUS_OUT_OF_RANGE);
	/* Bad shapes. */
	assert_int_equal(serve(&e, 3, "x", 10, 0, 60), KC_STATUS_BAD_REQUEST);
	assert_int_equal(serve(&e, 3, "x", 10, 1, 0), KC_STATUS_BAD_REQUEST);
	assert_int_equal(svc(&e, 3, KC_OP_CALL, (const uint8_t *)"\x01", 1,
			     &o), KC_STATUS_BAD_REQUEST);
	/* The lease lapses. */
	e.now += 60 * S_NS;
	assert_int_equal(call(&e, 2, "x", 100, "", NULL, 0, &o),
			 KC_STATUS_UNAVAILABLE);
	assert_int_equal(serve(&e, 3, "x", 0, 8, 60), KC_STATUS_OK);
	/* max_calls: four in the table, then NO_SPACE until the oldest
	 * completed one is older than keep_s. */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(call(&e, 2, "x", 100, "", NULL, 0, &c), 0);
		assert_int_equal(respond(&e, 3, c.id, 0, "", &o), 0);
	}
	assert_int_equal(call(&e, 2, "x", 100, "", NULL, 0, &o),
			 KC_STATUS_NO_SPACE);
	e.now += 5 * S_NS;
	assert_int_equal(call(&e, 2, "x", 100, "", NULL, 0, &o), 0);
	/* UNSERVE: no new calls, the one in flight still completes. */
	assert_int_equal(svc(&e, 3, KC_OP_UNSERVE,
			     (const uint8_t *)"\x01x", 2, &c), KC_STATUS_OK);
	assert_int_equal(call(&e, 2, "x", 100, "", NULL, 0, &c),
			 KC_STATUS_UNAVAILABLE);
	assert_int_equal(respond(&e, 3, o.id, 0, "", &c), KC_STATUS_OK);
	assert_int_equal(svc(&e, 3, KC_OP_UNSERVE,
			     (const uint8_t *)"\x01x", 2, &c),
			 KC_STATUS_NOT_FOUND);
	/* Unknown calls are answered, not ignored. */
	{
		uint8_t id[KC_CALL_ID_LEN] = { 9 };

		assert_int_equal(respond(&e, 3, id, 0, "", &o),
				 KC_STATUS_NOT_FOUND);
		assert_int_equal(report(&e, 2, id, KC_REPORT_PROBLEM, "",
					&o), KC_STATUS_NOT_FOUND);
	}
	audits(&e);
	env_free(&e);
}

static void test_delivery_backoff(void **state)
{
	struct kc_services_limits lim = limits();
	struct env e;
	struct out c;
	int32_t slots[8];

	(void)state;
	env_init(&e, &lim);
	assert_int_equal(serve(&e, 3, "b", 0, 8, 60), KC_STATUS_OK);
	assert_int_equal(call(&e, 2, "b", 1000, "", NULL, 0, &c), 0);
	/* The worker delivers it when it is accepted; again after 20 ms,
	 * then 40 ms, 80 ms, ... never past the deadline. */
	assert_int_equal(kc_services_to_deliver(e.s, e.now, slots, 8), 0);
	e.now += 20 * MS_NS;
	assert_int_equal(kc_services_to_deliver(e.s, e.now, slots, 8), 1);
	assert_int_equal(slots[0], c.r.deliver);
	e.now += 20 * MS_NS;
	assert_int_equal(kc_services_to_deliver(e.s, e.now, slots, 8), 0);
	e.now += 20 * MS_NS;
	assert_int_equal(kc_services_to_deliver(e.s, e.now, slots, 8), 1);
	e.now += 1000 * MS_NS;
	assert_int_equal(kc_services_to_deliver(e.s, e.now, slots, 8), 0);
	env_free(&e);
}

/* ---- the property test -------------------------------------------------- */

/*
 * The model: who owns which coin, what each call's fate is. Random ops
 * (many refused, as a real load's would be) run against the services and
 * the model; after each one, the ledger's balances must be the model's,
 * both audits hold, and a call is settled at most once. At the end, time
 * runs past every deadline and hold, the disputed calls are ruled on, and
 * nothing may be left in escrow. Every op that succeeded is recorded and
 * replayed into fresh tables, which must end in the same ledger.
 */
#define P_ACCTS 8u
#define P_COINS 4096u
#define P_CALLS 1024u

struct mcall {
	uint8_t id[KC_CALL_ID_LEN];
	uint32_t caller, service;
	uint64_t price;
	int state;		/* 0 pending, 1 held, 2 disputed, 3 done */
	int replies;		/* caller REPLYs released */
	int settlements;	/* PAID or REFUNDED */
};

struct rec {
	uint32_t who;
	uint8_t op;
	uint64_t now, seq;
	uint8_t id[KC_MSG_ID_LEN];
	uint32_t len;
	uint8_t in[320];
};

struct model {
	uint64_t owner_coin[P_COINS];	/* coin ids */
	uint32_t owner[P_COINS];	/* who owns each; 0: spent */
	uint64_t denom[P_COINS];
	uint32_t nb_coins;
	struct mcall calls[P_CALLS];
	uint32_t nb_calls;
	uint64_t paid_to[P_ACCTS + 1];
	uint64_t minted;
	struct rec *log;
	uint32_t nb_log;
};

static uint32_t rnd(uint32_t n)
{
	return (uint32_t)(random() % n);
}

static void m_add_coin(struct model *m, uint64_t id, uint64_t d, uint32_t who)
{
	assert_true(m->nb_coins < P_COINS);
	m->owner_coin[m->nb_coins] = id;
	m->owner[m->nb_coins] = who;
	m->denom[m->nb_coins++] = d;
}

static int m_coin(struct model *m, uint64_t id)
{
	for (uint32_t i = 0; i < m->nb_coins; i++)
		if (m->owner_coin[i] == id)
			return (int)i;
	return -1;
}

static struct mcall *m_call(struct model *m, const uint8_t *id)
{
	for (uint32_t i = 0; i < m->nb_calls; i++)
		if (memcmp(m->calls[i].id, id, KC_CALL_ID_LEN) == 0)
			return &m->calls[i];
	return NULL;
}

/* Run an op and log it if it succeeded (for the replay). */
static uint32_t p_seen[KC_OP_MAX_VALUE + 1][KC_STATUS_TIMEOUT + 1];

static enum kc_status p_run(struct env *e, struct model *m, uint32_t who,
			    uint8_t op, const uint8_t *in, size_t len,
			    struct out *o)
{
	struct rec *r = &m->log[m->nb_log];
	uint64_t seq = e->seq, now = e->now;
	enum kc_status st = svc(e, who, op, in, len, o);

	if (st <= KC_STATUS_TIMEOUT)
		p_seen[op][st]++;

	if (st == KC_STATUS_OK) {
		assert_true(len <= sizeof(r->in));
		r->who = who;
		r->op = op;
		r->now = now;
		r->seq = seq;
		memcpy(r->id, o->id, KC_MSG_ID_LEN);
		r->len = (uint32_t)len;
		memcpy(r->in, in, len);
		m->nb_log++;
	}
	return st;
}

/* A service pays a caller back, so money keeps going round: a ledger
 * TRANSFER, logged for the replay like the service ops. */
static void p_transfer(struct env *e, struct model *m, uint32_t from,
		       uint32_t to, uint64_t coin)
{
	struct kc_ledger_caller c = { .client_id = from, .keys = keys };
	struct kc_ledger_result lr;
	struct rec *r = &m->log[m->nb_log++];
	uint8_t out[64], hop[KC_HOPREC_MAX];

	r->who = from;
	r->op = KC_OP_TRANSFER;
	r->now = e->now;
	r->seq = e->seq;
	r->len = (uint32_t)kc_enc_transfer(r->in, sizeof(r->in), from, to,
					   &coin, 1);
	kc_ledger_apply(e->l, &c, KC_OP_TRANSFER, r->in, r->len, e->seq + 2,
			e->now, out, sizeof(out), hop, &lr);
	e->seq += 3;
	assert_int_equal(lr.status, KC_STATUS_OK);
	m->owner[m_coin(m, coin)] = to;
	/* What the service keeps of its pay. */
	m->paid_to[from] -= m->denom[m_coin(m, coin)];
}

/* What a settlement reply says: apply it to the model. */
static void m_settled(struct model *m, struct mcall *k, const struct out *o)
{
	uint8_t settlement;
	uint64_t amount;

	assert_true(kc_dec_settle_reply(o->p, o->r.len, &settlement, &amount));
	assert_int_equal(amount, k->price);
	if (settlement == KC_SETTLED_HELD) {
		k->state = 1;
		return;
	}
	k->settlements++;
	assert_int_equal(k->settlements, 1);
	k->state = 3;
	if (settlement == KC_SETTLED_PAID)
		m->paid_to[k->service] += k->price;
}

static void p_check(struct env *e, struct model *m)
{
	uint64_t expect[P_ACCTS + 1] = { 0 }, escrow = 0, total = 0;

	for (uint32_t i = 0; i < m->nb_coins; i++) {
		struct kc_coin_info ci;

		if (m->owner[i] == 0)
			continue;
		assert_true(kc_ledger_coin_info(e->l, m->owner_coin[i], &ci));
		assert_int_equal(ci.state, KC_COIN_LIVE);
		assert_int_equal(ci.owner, m->owner[i]);
		if (m->owner[i] == KC_ACCOUNT_ESCROW)
			escrow += m->denom[i];
		else
			expect[m->owner[i]] += m->denom[i];
		total += m->denom[i];
	}
	assert_int_equal(total, m->minted);
	for (uint32_t a = 1; a <= P_ACCTS; a++)
		assert_int_equal(balance(e, a), expect[a]);
	assert_int_equal(balance(e, KC_ACCOUNT_ESCROW), escrow);
	audits(e);
}

/* The model's coins after an accepted CALL or a settlement: follow the
 * coins the ledger says moved (the hop record lists them). */
static void m_follow_hop(struct model *m, const struct out *o)
{
	struct kc_hoprec h;
	uint64_t coin, d, prev;

	assert_true(kc_hoprec_decode(o->hop, o->r.hop_len, &h));
	if (h.kind == KC_HOP_HOLD)
		return;
	if (h.kind == KC_HOP_ESCROW && h.nb_out == 0) {
		for (uint32_t i = 0; i < h.nb_in; i++) {
			int c;

			kc_hoprec_in(&h, i, &coin, &d, &prev);
			c = m_coin(m, coin);
			assert_true(c >= 0);
			m->owner[c] = KC_ACCOUNT_ESCROW;
		}
		return;
	}
	if (h.kind == KC_HOP_ESCROW) {
		for (uint32_t i = 0; i < h.nb_in; i++) {
			kc_hoprec_in(&h, i, &coin, &d, &prev);
			m->owner[m_coin(m, coin)] = 0;
		}
		for (uint32_t i = 0; i < h.nb_out; i++) {
			kc_hoprec_out(&h, i, &coin, &d);
			m_add_coin(m, coin, d, i == 0 ? KC_ACCOUNT_ESCROW :
							h.from);
		}
		return;
	}
	for (uint32_t i = 0; i < h.nb_in; i++) {
		kc_hoprec_in(&h, i, &coin, &d, &prev);
		m->owner[m_coin(m, coin)] = h.to;
	}
}

static void p_step(struct env *e, struct model *m)
{
	static const char *const types[] = { "alpha", "beta" };
	uint8_t in[512];
	struct out o;
	size_t len;
	uint32_t who = 2 + rnd(P_ACCTS - 1);
	struct mcall *k;

	switch (rnd(11)) {
	case 0: /* SERVE (services are 6..8) */
		len = kc_enc_serve(in, sizeof(in), types[rnd(2)], rnd(4) * 5,
				   2 + rnd(5), 1 + rnd(20));
		p_run(e, m, 6 + rnd(3), KC_OP_SERVE, in, len, &o);
		break;
	case 1: /* UNSERVE, rarely */
		if (rnd(4) == 0) {
			len = kc_enc_unserve(in, sizeof(in), types[rnd(2)]);
			p_run(e, m, 6 + rnd(3), KC_OP_UNSERVE, in, len, &o);
		}
		break;
	case 2:
	case 3: { /* CALL by 2..5 with some of its coins */
		uint64_t coins[4];
		uint16_t n = 0;

		who = 2 + rnd(4);
		for (uint32_t i = 0; i < m->nb_coins && n < 1 + rnd(3); i++) {
			uint32_t j = rnd(m->nb_coins);

			if (m->owner[j] == who) {
				bool dup = false;

				for (uint16_t x = 0; x < n; x++)
					dup |= coins[x] == m->owner_coin[j];
				if (!dup)
					coins[n++] = m->owner_coin[j];
			}
		}
		len = kc_enc_call(in, sizeof(in), types[rnd(2)],
				  100 + rnd(1000), "p", 1, coins, n);
		if (p_run(e, m, who, KC_OP_CALL, in, len, &o) ==
		    KC_STATUS_OK) {
			struct kc_call_accept a;

			assert_true(m->nb_calls < P_CALLS);
			assert_true(kc_dec_call_accept(o.p, o.r.len, &a));
			k = &m->calls[m->nb_calls++];
			memset(k, 0, sizeof(*k));
			memcpy(k->id, o.id, KC_CALL_ID_LEN);
			k->caller = who;
			k->service = a.service;
			k->price = a.price;
			m_follow_hop(m, &o);
		}
		break;
	}
	case 4:
	case 5: /* RESPOND, mostly to a pending call, sometimes by the wrong
		 * service */
		if (m->nb_calls == 0)
			break;
		k = &m->calls[rnd(m->nb_calls)];
		for (uint32_t i = 0, look = rnd(8) != 0;
		     look && i < m->nb_calls; i++) {
			struct mcall *x = &m->calls[(uint32_t)(k - m->calls +
							       i) %
						    m->nb_calls];

			if (x->state == 0) {
				k = x;
				break;
			}
		}
		who = rnd(5) == 0 ? 6 + rnd(3) : k->service;
		len = kc_enc_respond(in, sizeof(in), k->id,
				     rnd(6) == 0 ? KC_STATUS_INTERNAL : 0,
				     "r", 1);
		if (p_run(e, m, who, KC_OP_RESPOND, in, len, &o) ==
		    KC_STATUS_OK) {
			assert_int_equal(who, k->service);
			assert_int_equal(k->state, 0);
			assert_true(o.r.done >= 0);
			k->replies++;
			assert_int_equal(k->replies, 1);
			m_settled(m, k, &o);
			m_follow_hop(m, &o);
		}
		break;
	case 6: /* REPORT */
		if (m->nb_calls == 0)
			break;
		k = &m->calls[rnd(m->nb_calls)];
		len = kc_enc_report(in, sizeof(in), k->id, 1 + rnd(2), "t", 1);
		if (p_run(e, m, rnd(4) == 0 ? who : k->caller, KC_OP_REPORT,
			  in, len, &o) == KC_STATUS_OK && o.p[0] == 1) {
			assert_int_equal(k->state, 1);
			k->state = 2;
		}
		break;
	case 7: /* a ruling on a random call */
		if (m->nb_calls == 0)
			break;
		k = &m->calls[rnd(m->nb_calls)];
		len = kc_enc_settle(in, sizeof(in), k->id, 3 + rnd(2));
		if (p_run(e, m, 0, KC_OP_SETTLE, in, len, &o) ==
		    KC_STATUS_OK) {
			assert_true(k->state == 1 || k->state == 2);
			m_settled(m, k, &o);
			m_follow_hop(m, &o);
		}
		break;
	case 8: { /* a service pays a caller back */
		uint32_t j = rnd(m->nb_coins);

		if (m->owner[j] >= 6 && m->owner[j] <= 8)
			p_transfer(e, m, m->owner[j], 2 + rnd(4),
				   m->owner_coin[j]);
		break;
	}
	default: { /* time passes; what is due is settled */
		uint8_t action;
		int32_t slot;

		e->now += rnd(100) * MS_NS;
		while ((slot = kc_services_due(e->s, e->now, &action)) >= 0) {
			struct kc_call_view v;

			assert_true(kc_services_call(e->s, slot, &v));
			k = m_call(m, v.id);
			assert_non_null(k);
			len = kc_enc_settle(in, sizeof(in), v.id, action);
			assert_int_equal(p_run(e, m, 0, KC_OP_SETTLE, in, len,
					       &o), KC_STATUS_OK);
			if (action == KC_SETTLE_TIMEOUT) {
				assert_int_equal(k->state, 0);
				k->replies++;
				assert_int_equal(k->replies, 1);
			}
			m_settled(m, k, &o);
			m_follow_hop(m, &o);
		}
		break;
	}
	}
	p_check(e, m);
}

/* One logged op (a service op or a ledger TRANSFER) into e. */
static void replay_one(struct env *e, const struct rec *r)
{
	struct kc_svc_caller c = {
		.client_id = r->who, .internal = r->who == 0,
		.ip = 0x0a000000u + r->who, .port = (uint16_t)(40000 + r->who),
		.msg_id = r->id, .req_seq = r->seq,
	};
	struct out o;

	if (r->op == KC_OP_TRANSFER) {
		struct kc_ledger_caller lc = { .client_id = r->who,
					       .keys = keys };
		struct kc_ledger_result lr;

		kc_ledger_apply(e->l, &lc, r->op, r->in, r->len, r->seq + 2,
				r->now, o.p, sizeof(o.p), o.hop, &lr);
		assert_int_equal(lr.status, KC_STATUS_OK);
		return;
	}
	kc_services_apply(e->s, e->l, &c, r->op, r->in, r->len, r->seq + 2,
			  r->now, o.p, sizeof(o.p), o.hop, &o.r);
	assert_int_equal(o.r.status, KC_STATUS_OK);
}

/* The same ledger and the same services, byte for byte. */
static void same_state(const struct env *a, const struct env *b)
{
	static uint8_t x[1u << 22], y[1u << 22];
	uint8_t da[KC_LEDGER_DIGEST_LEN], db[KC_LEDGER_DIGEST_LEN];
	size_t nx, ny;

	kc_ledger_digest(a->l, da);
	kc_ledger_digest(b->l, db);
	assert_memory_equal(da, db, sizeof(da));
	nx = kc_services_snapshot(a->s, x, sizeof(x));
	ny = kc_services_snapshot(b->s, y, sizeof(y));
	assert_true(nx > 0);
	assert_int_equal(nx, ny);
	assert_memory_equal(x, y, nx);
}

/*
 * Replay, as recovery does: every op that succeeded, with its time, seq
 * and message id, into fresh tables: the same state. Then from a
 * snapshot taken halfway (the ledger's and the services', restored into
 * fresh tables) and the rest of the ops: the same state again.
 */
static void replay(const struct kc_services_limits *lim, struct model *m,
		   const struct env *live)
{
	static uint8_t lsnap[1u << 22], ssnap[1u << 22];
	struct kc_services_summary x, y;
	struct env e, f;
	uint32_t half = m->nb_log / 2;
	size_t ln, sn;

	env_init(&e, lim);
	for (uint32_t a2 = 2; a2 <= 5; a2++)
		mint(&e, a2, 5 + a2, 8);
	for (uint32_t i = 0; i < half; i++)
		replay_one(&e, &m->log[i]);
	ln = kc_ledger_snapshot(e.l, lsnap, sizeof(lsnap));
	sn = kc_services_snapshot(e.s, ssnap, sizeof(ssnap));
	assert_true(ln > 0 && sn > 0);
	assert_true(sn <= kc_services_snapshot_max(lim));
	env_init(&f, lim);
	assert_int_equal(kc_ledger_restore(f.l, lsnap, ln), 0);
	assert_int_equal(kc_services_restore(f.s, ssnap, sn), 0);
	/* A snapshot restores only into empty tables, and a damaged one
	 * is refused. */
	assert_int_equal(kc_services_restore(f.s, ssnap, sn), -EINVAL);
	same_state(&e, &f);
	for (uint32_t i = half; i < m->nb_log; i++) {
		replay_one(&e, &m->log[i]);
		replay_one(&f, &m->log[i]);
	}
	same_state(live, &e);
	same_state(live, &f);
	kc_services_summary(live->s, &x);
	kc_services_summary(e.s, &y);
	assert_memory_equal(&x, &y, sizeof(x));
	env_free(&f);
	{
		struct env g;

		env_init(&g, lim);
		ssnap[sn - 1] ^= 1;
		assert_int_not_equal(kc_services_restore(g.s, ssnap, sn - 1),
				     0);
		env_free(&g);
	}
	env_free(&e);
}

static void test_property(void **state)
{
	struct kc_services_limits lim = limits();
	struct model *m = calloc(1, sizeof(*m));
	struct env e;

	(void)state;
	assert_non_null(m);
	m->log = calloc(20000, sizeof(*m->log));
	assert_non_null(m->log);
	srandom(20261206);
	lim.max_calls = P_CALLS;
	lim.settle_hold_s = 1;
	lim.min_calls = 8;
	lim.quarantine_s = 2;
	env_init(&e, &lim);
	for (uint32_t a = 2; a <= 5; a++) {
		uint64_t first = mint(&e, a, 5 + a, 8);

		for (uint32_t i = 0; i < 8; i++)
			m_add_coin(m, first + i, 5 + a, a);
		m->minted += 8 * (5 + a);
	}
	for (int i = 0; i < 6000 && m->nb_calls < P_CALLS - 8 &&
			m->nb_log < 19000; i++)
		p_step(&e, m);
	/* The end: every deadline and hold passes, disputes are ruled. */
	e.now += 3600 * S_NS;
	for (int round = 0; round < 3; round++) {
		uint8_t in[64], action;
		int32_t slot;
		struct out o;

		while ((slot = kc_services_due(e.s, e.now, &action)) >= 0) {
			struct kc_call_view v;
			struct mcall *k;

			assert_true(kc_services_call(e.s, slot, &v));
			k = m_call(m, v.id);
			assert_int_equal(p_run(&e, m, 0, KC_OP_SETTLE, in,
					       kc_enc_settle(in, sizeof(in),
							     v.id, action),
					       &o), KC_STATUS_OK);
			if (action == KC_SETTLE_TIMEOUT)
				k->replies++;
			m_settled(m, k, &o);
			m_follow_hop(m, &o);
		}
		for (uint32_t i = 0; i < m->nb_calls; i++) {
			struct mcall *k = &m->calls[i];

			if (k->state != 2)
				continue;
			assert_int_equal(p_run(&e, m, 0, KC_OP_SETTLE, in,
					       kc_enc_settle(in, sizeof(in),
							     k->id,
							     KC_SETTLE_RULE_PAY),
					       &o), KC_STATUS_OK);
			m_settled(m, k, &o);
			m_follow_hop(m, &o);
		}
	}
	p_check(&e, m);
	assert_int_equal(balance(&e, KC_ACCOUNT_ESCROW), 0);
	{
		struct kc_services_summary sum;
		uint32_t settled = 0;

		kc_services_summary(e.s, &sum);
		assert_int_equal(sum.calls_open, 0);
		assert_int_equal(sum.escrow, 0);
		for (uint32_t i = 0; i < m->nb_calls; i++) {
			/* Every call: one REPLY, one settlement. */
			assert_int_equal(m->calls[i].replies, 1);
			assert_int_equal(m->calls[i].settlements, 1);
			settled++;
		}
		assert_int_equal(sum.completed, settled);
		/* Enough happened to mean something. */
		if (getenv("KC_TEST_VERBOSE") != NULL)
			printf("calls %u ops %u\n", m->nb_calls, m->nb_log);
		assert_true(m->nb_calls > 300);
	}
	/* Each service's balance is what the model says it was paid, less
	 * what it paid back. */
	for (uint32_t a = 6; a <= 8; a++)
		assert_int_equal(balance(&e, a), m->paid_to[a]);
	/* The sequence reached what it is meant to: every op succeeded
	 * and was refused, the arbiter quarantined, calls timed out. */
	for (uint8_t op = KC_OP_SERVE; op <= KC_OP_SETTLE; op++) {
		if (getenv("KC_TEST_VERBOSE") != NULL)
			for (int st = 0; st <= KC_STATUS_TIMEOUT; st++)
				if (p_seen[op][st] != 0)
					printf("%s %s %u\n", kc_op_name(op),
					       kc_status_name(st),
					       p_seen[op][st]);
		assert_true(p_seen[op][KC_STATUS_OK] > 0);
	}
	assert_true(p_seen[KC_OP_CALL][KC_STATUS_UNAVAILABLE] > 0);
	assert_true(p_seen[KC_OP_RESPOND][KC_STATUS_FORBIDDEN] > 0);
	assert_true(p_seen[KC_OP_RESPOND][KC_STATUS_OK] > 100);
	{
		struct kc_services_summary sum;

		kc_services_summary(e.s, &sum);
		assert_true(sum.quarantines > 0);
		assert_true(sum.timeouts > 0);
	}
	replay(&lim, m, &e);
	env_free(&e);
	free(m->log);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_score),
		cmocka_unit_test(test_paid_call),
		cmocka_unit_test(test_exact_coin_and_free_call),
		cmocka_unit_test(test_error_and_timeout_refund),
		cmocka_unit_test(test_hold_dispute_ruling),
		cmocka_unit_test(test_quarantine),
		cmocka_unit_test(test_quarantine_refunds_disputed),
		cmocka_unit_test(test_refusals_and_limits),
		cmocka_unit_test(test_delivery_backoff),
		cmocka_unit_test(test_property),
	};
	kc_test_eal_init("test_services");
	keys = kc_test_keys(8);
	if (keys == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
