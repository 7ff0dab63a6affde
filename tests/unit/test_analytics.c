/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The money-flow graph (lib/analytics): edges from hand-made hop records
 * of every kind, and each analysis on a small graph with a known answer:
 * a maximum flow and its minimum cut, two strongly connected components,
 * a k-core, hidden money, the caps.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kc_analytics.h"
#include "kc_flow.h"
#include "kc_opinion.h"
#include "kc_proto.h"
#include "kc_test_hops.h"

static void add(struct kc_flow *f, uint8_t kind, uint32_t from, uint32_t to,
		uint64_t value)
{
	uint8_t p[KC_HOPREC_MAX];
	uint32_t n;

	if (kind == KC_HOP_MINT)
		n = kc_test_hop(p, kind, 0, to, NULL, 0, &value, 1);
	else
		n = kc_test_hop(p, kind, from, to, &value, 1, NULL, 0);
	assert_int_equal(kc_flow_add_hop(f, p, n, 1000), 0);
}

static void test_kinds_and_totals(void **state)
{
	struct kc_flow *f = kc_flow_create(16, 16);
	uint64_t coins[2] = { 30, 20 }, made[2] = { 5, 45 };
	struct kc_flow_totals t;
	uint8_t p[KC_HOPREC_MAX];
	uint32_t n, bad[4];

	(void)state;
	assert_non_null(f);
	add(f, KC_HOP_MINT, 0, 1, 100);
	add(f, KC_HOP_TRANSFER, 1, 2, 30);
	/* A SPLIT changes no hands. */
	n = kc_test_hop(p, KC_HOP_SPLIT, 2, 2, coins, 1, made, 2);
	assert_int_equal(kc_flow_add_hop(f, p, n, 1000), 0);
	/* A paid call: 2 pays 5 out of a coin of 50 (5 to escrow, 45 of
	 * change back), escrow pays the service 3; another call of 1's is
	 * refunded. */
	n = kc_test_hop(p, KC_HOP_ESCROW, 2, KC_ACCOUNT_ESCROW, &made[1], 1, made, 2);
	assert_int_equal(kc_flow_add_hop(f, p, n, 1000), 0);
	add(f, KC_HOP_PAY, KC_ACCOUNT_ESCROW, 3, 5);
	add(f, KC_HOP_ESCROW, 1, KC_ACCOUNT_ESCROW, 7);
	add(f, KC_HOP_REFUND, KC_ACCOUNT_ESCROW, 1, 7);
	add(f, KC_HOP_BURN, 1, 0, 10);
	kc_flow_totals(f, &t);
	assert_int_equal(t.vertices, 5);	/* bank, 1, 2, escrow, 3 */
	assert_int_equal(t.hops, 8);
	assert_int_equal(t.value[KC_FLOW_MINT], 100);
	assert_int_equal(t.value[KC_FLOW_TRANSFER], 30);
	assert_int_equal(t.value[KC_FLOW_ESCROW], 5 + 7);
	assert_int_equal(t.value[KC_FLOW_PAY], 5);
	assert_int_equal(t.value[KC_FLOW_REFUND], 7);
	assert_int_equal(t.value[KC_FLOW_BURN], 10);
	assert_false(t.over);
	/* Net flows: what each holds; the bank's is burnt - minted. */
	assert_int_equal(kc_flow_net(f, 1), 100 - 30 - 7 + 7 - 10);
	assert_int_equal(kc_flow_net(f, 2), 30 - 5);
	assert_int_equal(kc_flow_net(f, 3), 5);
	assert_int_equal(kc_flow_net(f, KC_ACCOUNT_ESCROW), 0);
	assert_int_equal(kc_flow_net(f, KC_FLOW_BANK), 10 - 100);
	assert_int_equal(kc_flow_hidden(f, bad, 4), 0);
	/* Account 9 pays out what never came in: hidden money. */
	add(f, KC_HOP_TRANSFER, 9, 3, 4);
	assert_int_equal(kc_flow_hidden(f, bad, 4), 1);
	assert_int_equal(bad[0], 9);
	/* Not a hop record. */
	assert_int_equal(kc_flow_add_hop(f, p, 3, 0), -EINVAL);
	kc_flow_free(f);
}

/* 1 -> 2 (10), 1 -> 3 (5), 2 -> 3 (15), 2 -> 4 (4), 3 -> 4 (8): the most
 * that can go from 1 to 4 is 12, bounded by {2 -> 4, 3 -> 4}. */
static void test_maxflow_min_cut(void **state)
{
	struct kc_flow *f = kc_flow_create(8, 8);
	uint32_t cut[4][2], nb;
	double v;

	(void)state;
	add(f, KC_HOP_TRANSFER, 1, 2, 10);
	add(f, KC_HOP_TRANSFER, 1, 3, 5);
	add(f, KC_HOP_TRANSFER, 2, 3, 15);
	add(f, KC_HOP_TRANSFER, 2, 4, 4);
	add(f, KC_HOP_TRANSFER, 3, 4, 8);
	assert_int_equal(kc_flow_maxflow(f, 1, 4, &v, cut, 4, &nb), 0);
	assert_true(v == 12.0);
	assert_int_equal(nb, 2);
	assert_true((cut[0][0] == 2 && cut[0][1] == 4 && cut[1][0] == 3 &&
		     cut[1][1] == 4) ||
		    (cut[0][0] == 3 && cut[0][1] == 4 && cut[1][0] == 2 &&
		     cut[1][1] == 4));
	/* Two kinds between one pair add up: a payment of 6 more. */
	add(f, KC_HOP_PAY, 2, 4, 6);
	assert_int_equal(kc_flow_maxflow(f, 1, 4, &v, cut, 4, &nb), 0);
	assert_true(v == 15.0);	/* now 1's edges (10 + 5) bound it */
	/* Nothing flows back; unknown accounts; the same account. */
	assert_int_equal(kc_flow_maxflow(f, 4, 1, &v, cut, 4, &nb), 0);
	assert_true(v == 0.0);
	assert_int_equal(kc_flow_maxflow(f, 1, 77, &v, cut, 4, &nb), -ENOENT);
	assert_int_equal(kc_flow_maxflow(f, 1, 1, &v, cut, 4, &nb), -EINVAL);
	kc_flow_free(f);
}

/* 1 <-> 2 and 3 <-> 4, joined one way by 2 -> 3: two circuits. */
static void test_two_sccs(void **state)
{
	struct kc_flow *f = kc_flow_create(8, 8);
	uint32_t comp[8], nb = 0;
	int64_t v1, v2, v3, v4;

	(void)state;
	add(f, KC_HOP_TRANSFER, 1, 2, 1);
	add(f, KC_HOP_TRANSFER, 2, 1, 1);
	add(f, KC_HOP_TRANSFER, 3, 4, 1);
	add(f, KC_HOP_TRANSFER, 4, 3, 1);
	add(f, KC_HOP_TRANSFER, 2, 3, 1);
	assert_int_equal(kc_flow_scc(f, comp, &nb), 0);
	assert_int_equal(nb, 2);
	v1 = kc_flow_vertex(f, 1);
	v2 = kc_flow_vertex(f, 2);
	v3 = kc_flow_vertex(f, 3);
	v4 = kc_flow_vertex(f, 4);
	assert_int_equal(comp[v1], comp[v2]);
	assert_int_equal(comp[v3], comp[v4]);
	assert_int_not_equal(comp[v1], comp[v3]);
	kc_flow_free(f);
}

/* A triangle 1, 2, 3 (both ways between 1 and 2: still one neighbour)
 * with 4 hanging off 1: the triangle is the 2-core, 4 only the 1-core. */
static void test_kcore(void **state)
{
	struct kc_flow *f = kc_flow_create(8, 8);
	uint32_t core[8];

	(void)state;
	add(f, KC_HOP_TRANSFER, 1, 2, 1);
	add(f, KC_HOP_TRANSFER, 2, 1, 1);
	add(f, KC_HOP_TRANSFER, 2, 3, 1);
	add(f, KC_HOP_TRANSFER, 3, 1, 1);
	add(f, KC_HOP_TRANSFER, 1, 4, 1);
	assert_int_equal(kc_flow_kcore(f, core), 0);
	assert_int_equal(core[kc_flow_vertex(f, 1)], 2);
	assert_int_equal(core[kc_flow_vertex(f, 2)], 2);
	assert_int_equal(core[kc_flow_vertex(f, 3)], 2);
	assert_int_equal(core[kc_flow_vertex(f, 4)], 1);
	kc_flow_free(f);
}

/* Over its caps the graph stops growing and every analysis refuses. */
static void test_caps_and_range(void **state)
{
	struct kc_flow *f = kc_flow_create(3, 8);
	struct kc_flow_totals t;
	uint32_t comp[4], core[4], cut[1][2], nb;
	uint8_t p[KC_HOPREC_MAX];
	uint64_t v = 5;
	double mf;

	(void)state;
	add(f, KC_HOP_TRANSFER, 1, 2, 1);
	add(f, KC_HOP_TRANSFER, 2, 3, 1);
	assert_int_equal(kc_flow_add_hop(f, p, kc_test_hop(p, KC_HOP_TRANSFER, 3, 4,
						   &v, 1, NULL, 0), 1000),
			 -E2BIG);
	kc_flow_totals(f, &t);
	assert_true(t.over);
	assert_int_equal(t.vertices, 3);
	assert_int_equal(kc_flow_scc(f, comp, &nb), -E2BIG);
	assert_int_equal(kc_flow_kcore(f, core), -E2BIG);
	assert_int_equal(kc_flow_maxflow(f, 1, 3, &mf, cut, 1, &nb), -E2BIG);
	kc_flow_free(f);

	/* A time range: hops outside it are counted, not added. */
	f = kc_flow_create(8, 8);
	kc_flow_range(f, 2000, 3000);
	assert_int_equal(kc_flow_add_hop(f, p, kc_test_hop(p, KC_HOP_TRANSFER, 1, 2,
						   &v, 1, NULL, 0), 1000), 0);
	assert_int_equal(kc_flow_add_hop(f, p, kc_test_hop(p, KC_HOP_TRANSFER, 1, 2,
						   &v, 1, NULL, 0), 2500), 0);
	kc_flow_totals(f, &t);
	assert_int_equal(t.hops, 2);
	assert_int_equal(t.skipped, 1);
	assert_int_equal(t.value[KC_FLOW_TRANSFER], 5);
	kc_flow_free(f);
}

static void opinions(struct kc_opinion *o, uint32_t caller, uint32_t svc,
		     uint32_t n, enum kc_opinion_kind kind)
{
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(kc_opinion_add(o, caller, svc, kind), 0);
}

/*
 * Three callers (10, 11, 12) and three services: 1 satisfies all three
 * callers; 3 satisfies only 12, but with a hundred calls; 2 fails 10
 * (one OK, three errors), draws two problem reports from 11 and one OK
 * from 12. Each caller has one vote: 1 gets 10's and 11's whole and a
 * little of 12's, 3 most of 12's, 2 almost nothing. So 1, 3, 2, though
 * the arbiter's success ratio would put 3 (100%) level with 1.
 */
static void test_opinion_rank(void **state)
{
	struct kc_opinion *o = kc_opinion_create(16);
	struct kc_merit m[4];
	uint32_t nb = 0;

	(void)state;
	opinions(o, 10, 1, 5, KC_OPINION_OK);
	opinions(o, 11, 1, 5, KC_OPINION_OK);
	opinions(o, 12, 1, 5, KC_OPINION_OK);
	opinions(o, 10, 2, 1, KC_OPINION_OK);
	opinions(o, 10, 2, 3, KC_OPINION_FAILED);
	opinions(o, 11, 2, 2, KC_OPINION_PROBLEM);
	opinions(o, 12, 2, 1, KC_OPINION_OK);
	opinions(o, 12, 3, 100, KC_OPINION_OK);
	assert_int_equal(kc_opinion_rank(o, m, 4, &nb), 0);
	assert_int_equal(nb, 3);
	assert_int_equal(m[0].service, 1);
	assert_int_equal(m[1].service, 3);
	assert_int_equal(m[2].service, 2);
	assert_true(m[0].merit > m[1].merit && m[1].merit > 2 * m[2].merit);
	assert_true(m[0].merit + m[1].merit + m[2].merit > 0.999 &&
		    m[0].merit + m[1].merit + m[2].merit < 1.001);
	assert_int_equal(m[0].callers, 3);
	assert_int_equal(m[0].ok, 15);
	assert_int_equal(m[2].callers, 3);
	assert_int_equal(m[2].ok, 2);
	assert_int_equal(m[2].failed, 3);
	assert_int_equal(m[2].problems, 2);
	assert_int_equal(m[1].ok, 100);
	kc_opinion_free(o);

	/* No calls; only dissatisfied callers: every merit 0, no error. */
	o = kc_opinion_create(4);
	assert_int_equal(kc_opinion_rank(o, m, 4, &nb), 0);
	assert_int_equal(nb, 0);
	opinions(o, 10, 2, 3, KC_OPINION_FAILED);
	opinions(o, 11, 2, 1, KC_OPINION_PROBLEM);
	assert_int_equal(kc_opinion_rank(o, m, 4, &nb), 0);
	assert_int_equal(nb, 1);
	assert_true(m[0].merit == 0.0);
	assert_int_equal(m[0].failed, 3);
	kc_opinion_free(o);

	/* Over its cap: refused. */
	o = kc_opinion_create(1);
	assert_int_equal(kc_opinion_add(o, 10, 1, KC_OPINION_OK), 0);
	assert_int_equal(kc_opinion_add(o, 11, 1, KC_OPINION_OK), -E2BIG);
	assert_int_equal(kc_opinion_rank(o, m, 4, &nb), -E2BIG);
	kc_opinion_free(o);
}

/* ---- kc_analytics: journal records into the graphs and documents ---- */

static uint64_t seq;

static void rec(struct kc_analytics *a, uint8_t type, uint8_t op,
		uint16_t status, uint8_t flags, uint32_t client, uint8_t call,
		uint64_t time_s, const uint8_t *p, uint32_t len, uint64_t ref)
{
	struct kc_jrec h = {
		.payload_len = len, .seq = ++seq, .type = type, .op = op,
		.status = status, .client_id = client, .flags = flags,
		.time_ns = time_s * 1000000000ull, .ref = ref,
	};

	h.msg_id[0] = call;
	assert_int_equal(kc_analytics_record(a, &h, p), 0);
}

/* Caller's call (id byte) to service accepted: its REPLY record, held. */
static void accepted(struct kc_analytics *a, uint32_t caller, uint8_t call,
		     uint32_t service, uint64_t t)
{
	uint8_t p[KC_HDR_LEN + 4] = { 0 };

	kc_put_u32(p + KC_HDR_LEN, service);
	rec(a, KC_JREC_REPLY, KC_OP_CALL, KC_STATUS_OK, KC_JREC_F_HELD,
	    caller, call, t, p, sizeof(p), 0);
}

static void outcome(struct kc_analytics *a, uint8_t call, uint16_t status,
		    uint64_t t)
{
	rec(a, KC_JREC_OUTCOME, KC_OP_CALL, status, 0, 0, call, t, NULL, 0,
	    0);
}

/* A problem REPORT on a call, taken (OK) or refused. */
static void report(struct kc_analytics *a, uint32_t caller, uint8_t call,
		   uint16_t status, uint64_t t)
{
	uint8_t p[KC_HDR_LEN + KC_MSG_ID_LEN + 1] = { 0 };
	uint64_t req;

	p[KC_HDR_LEN] = call;
	p[KC_HDR_LEN + KC_MSG_ID_LEN] = KC_REPORT_PROBLEM;
	rec(a, KC_JREC_REQUEST, KC_OP_REPORT, 0, 0, caller, 99, t, p,
	    sizeof(p), 0);
	req = seq;
	rec(a, KC_JREC_REPLY, KC_OP_REPORT, status, 0, caller, 99, t, p,
	    KC_HDR_LEN, req);
}

static json_t *merit_of(json_t *rank, uint32_t service)
{
	for (size_t i = 0; i < json_array_size(rank); i++) {
		json_t *m = json_array_get(rank, i);

		if (json_integer_value(json_object_get(m, "service")) ==
		    service)
			return m;
	}
	fail_msg("service %u not ranked", service);
	return NULL;
}

#define FIELD(o, k) json_integer_value(json_object_get(o, k))

/*
 * Calls as the journal has them: acceptances, outcomes, problem reports
 * (a refused one counts nothing); calls forgotten by age and by the cap,
 * whose outcomes are counted as unknown instead of landing on anyone.
 */
static void test_opinions_from_records(void **state)
{
	const struct kc_analytics_limits lim = {
		.max_vertices = 16, .max_edges = 16, .max_calls = 3,
		.call_keep_ns = 10ull * 1000000000ull, .opinions = true,
	};
	struct kc_analytics *a = kc_analytics_create(&lim);
	struct kc_analytics_info info;
	json_t *r, *m;
	int rc;

	(void)state;
	accepted(a, 10, 1, 100, 1);
	accepted(a, 11, 2, 100, 2);
	accepted(a, 10, 3, 200, 3);
	outcome(a, 1, KC_STATUS_OK, 4);
	outcome(a, 2, KC_STATUS_OK, 4);
	outcome(a, 3, KC_STATUS_TIMEOUT, 5);
	report(a, 10, 3, KC_STATUS_OK, 6);
	report(a, 10, 1, KC_STATUS_NOT_FOUND, 6);	/* refused */
	r = kc_analytics_rank_json(a, &rc);
	assert_int_equal(rc, 0);
	m = merit_of(r, 100);
	assert_int_equal(FIELD(m, "ok"), 2);
	assert_int_equal(FIELD(m, "callers"), 2);
	assert_int_equal(FIELD(m, "problems"), 0);
	m = merit_of(r, 200);
	assert_int_equal(FIELD(m, "failed"), 1);
	assert_int_equal(FIELD(m, "problems"), 1);
	assert_true(json_real_value(json_object_get(merit_of(r, 100),
						    "merit")) > 0.99);
	json_decref(r);
	kc_analytics_info(a, &info);
	assert_int_equal(info.forgotten_calls, 0);
	assert_int_equal(info.records, seq);
	assert_int_equal(info.next_seq, seq + 1);

	/* The cap (3): a fourth call forgets the first. */
	accepted(a, 12, 4, 100, 7);
	outcome(a, 1, KC_STATUS_OK, 8);
	kc_analytics_info(a, &info);
	assert_int_equal(info.forgotten_calls, 1);
	/* Age (10 s): a call accepted at 30 s forgets those before 20 s,
	 * and a report on one of them lands on nobody. */
	accepted(a, 12, 5, 100, 30);
	outcome(a, 4, KC_STATUS_OK, 30);
	report(a, 10, 3, KC_STATUS_OK, 30);
	outcome(a, 5, KC_STATUS_OK, 31);
	kc_analytics_info(a, &info);
	assert_int_equal(info.forgotten_calls, 3);
	r = kc_analytics_rank_json(a, &rc);
	assert_int_equal(FIELD(merit_of(r, 100), "ok"), 3);
	assert_int_equal(FIELD(merit_of(r, 100), "callers"), 3);
	assert_int_equal(FIELD(merit_of(r, 200), "problems"), 1);
	json_decref(r);
	kc_analytics_free(a);

	/* Without the opinion graph: no ranking. */
	a = kc_analytics_create(&(struct kc_analytics_limits){
		.max_vertices = 4, .max_edges = 4, .max_calls = 1 });
	accepted(a, 10, 1, 100, 1);
	assert_null(kc_analytics_rank_json(a, &rc));
	assert_int_equal(rc, -EINVAL);
	kc_analytics_free(a);
}

static void ledger_hop(struct kc_analytics *a, uint8_t kind, uint32_t from,
		       uint32_t to, uint64_t value)
{
	uint8_t p[KC_HOPREC_MAX];
	uint32_t n = kind == KC_HOP_MINT ?
		kc_test_hop(p, kind, 0, to, NULL, 0, &value, 1) :
		kc_test_hop(p, kind, from, to, &value, 1, NULL, 0);

	rec(a, KC_JREC_LEDGER, 0, 0, 0, 0, 0, 1, p, n, 0);
}

/* The flows document whole and its top accounts; maxflow, kcore and scc
 * as documents, and their errors. */
static void test_documents(void **state)
{
	const struct kc_analytics_limits lim = {
		.max_vertices = 16, .max_edges = 16, .max_calls = 1,
	};
	struct kc_analytics *a = kc_analytics_create(&lim);
	json_t *d, *v;
	int rc;

	(void)state;
	ledger_hop(a, KC_HOP_MINT, 0, 1, 100);
	ledger_hop(a, KC_HOP_TRANSFER, 1, 2, 60);
	ledger_hop(a, KC_HOP_TRANSFER, 2, 3, 50);
	ledger_hop(a, KC_HOP_TRANSFER, 3, 2, 5);
	ledger_hop(a, KC_HOP_TRANSFER, 1, 4, 1);
	ledger_hop(a, KC_HOP_BURN, 3, 0, 10);
	d = kc_analytics_flows_json(a, 0, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(json_array_size(json_object_get(d, "vertices")), 5);
	assert_int_equal(json_array_size(json_object_get(d, "edges")), 6);
	assert_int_equal(json_array_size(json_object_get(d, "hidden_money")),
			 0);
	assert_int_equal(FIELD(json_object_get(d, "value_by_kind"),
			       "transfer"), 116);
	assert_null(json_object_get(d, "top"));
	/* Paid to others: 1 61, 2 50, 3 5; received: 2 65, 3 50, 4 1; no
	 * service earned anything. */
	v = json_object_get(d, "top_payers");
	assert_int_equal(json_array_size(v), 3);
	assert_int_equal(FIELD(json_array_get(v, 0), "account"), 1);
	assert_int_equal(FIELD(json_array_get(v, 0), "value"), 61);
	assert_int_equal(FIELD(json_array_get(v, 2), "account"), 3);
	v = json_object_get(d, "top_payees");
	assert_int_equal(json_array_size(v), 3);
	assert_int_equal(FIELD(json_array_get(v, 0), "account"), 2);
	assert_int_equal(FIELD(json_array_get(v, 0), "value"), 65);
	assert_int_equal(FIELD(json_array_get(v, 2), "value"), 1);
	assert_int_equal(json_array_size(json_object_get(d, "top_services")),
			 0);
	json_decref(d);
	/* The 3 accounts that moved most (2: 115, 1: 161, 3: 65; the bank
	 * 110, 4 only 1): 1, 2 and the bank, and the edges between them. */
	d = kc_analytics_flows_json(a, 3, &rc);
	v = json_object_get(d, "vertices");
	assert_int_equal(json_array_size(v), 3);
	for (size_t i = 0; i < 3; i++) {
		json_int_t acc = FIELD(json_array_get(v, i), "account");

		assert_true(acc == 0 || acc == 1 || acc == 2);
	}
	assert_int_equal(json_array_size(json_object_get(d, "edges")), 2);
	assert_int_equal(FIELD(d, "vertices_total"), 5);
	assert_int_equal(FIELD(d, "edges_total"), 6);
	json_decref(d);

	d = kc_analytics_maxflow_json(a, 1, 3, &rc);
	assert_int_equal(rc, 0);
	assert_true(json_real_value(json_object_get(d, "value")) == 50.0);
	assert_int_equal(json_array_size(json_object_get(d, "min_cut")), 1);
	json_decref(d);
	assert_null(kc_analytics_maxflow_json(a, 1, 9, &rc));
	assert_int_equal(rc, -ENOENT);
	assert_null(kc_analytics_maxflow_json(a, 2, 2, &rc));
	assert_int_equal(rc, -EINVAL);
	d = kc_analytics_kcore_json(a, &rc);
	assert_int_equal(FIELD(d, "4"), 1);
	assert_int_equal(FIELD(d, "2"), 2);
	json_decref(d);
	/* The bank, 1, 2 and 3 are a circuit (mint, transfers, the burn
	 * back to the bank); 4 only received. */
	d = kc_analytics_scc_json(a, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(json_array_size(d), 2);
	assert_int_equal(json_array_size(json_array_get(d, 0)) +
			 json_array_size(json_array_get(d, 1)), 5);
	assert_true(json_array_size(json_array_get(d, 0)) == 4 ||
		    json_array_size(json_array_get(d, 1)) == 4);
	json_decref(d);
	kc_analytics_free(a);

	/* Over its caps: every analysis refuses, with a reason. */
	a = kc_analytics_create(&(struct kc_analytics_limits){
		.max_vertices = 2, .max_edges = 4, .max_calls = 1 });
	ledger_hop(a, KC_HOP_MINT, 0, 1, 100);
	ledger_hop(a, KC_HOP_TRANSFER, 1, 2, 60);
	assert_null(kc_analytics_maxflow_json(a, 0, 1, &rc));
	assert_int_equal(rc, -E2BIG);
	assert_null(kc_analytics_kcore_json(a, &rc));
	assert_int_equal(rc, -E2BIG);
	assert_null(kc_analytics_scc_json(a, &rc));
	assert_int_equal(rc, -E2BIG);
	assert_non_null(strstr(kc_analytics_error(rc), "caps"));
	d = kc_analytics_flows_json(a, 0, &rc);
	assert_true(json_is_true(json_object_get(d, "over_caps")));
	json_decref(d);
	kc_analytics_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds_and_totals),
		cmocka_unit_test(test_maxflow_min_cut),
		cmocka_unit_test(test_two_sccs),
		cmocka_unit_test(test_kcore),
		cmocka_unit_test(test_caps_and_range),
		cmocka_unit_test(test_opinion_rank),
		cmocka_unit_test(test_opinions_from_records),
		cmocka_unit_test(test_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
