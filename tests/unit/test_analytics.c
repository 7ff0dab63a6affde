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

#include "kc_flow.h"
#include "kc_opinion.h"
#include "kc_proto.h"

/* A hop record as the ledger writes it (kc_ledger.h): kind, version,
 * nb_in, nb_out, reserved, from, to; the coins in (coin, denomination,
 * previous hop), the coins out (coin, denomination); a call's id for the
 * call kinds. */
static uint32_t hop(uint8_t *p, uint8_t kind, uint32_t from, uint32_t to,
		    const uint64_t *in, uint16_t nb_in, const uint64_t *out,
		    uint16_t nb_out)
{
	uint32_t n = KC_HOPREC_FIXED;

	memset(p, 0, KC_HOPREC_MAX);
	p[0] = kind;
	p[1] = KC_HOPREC_VERSION;
	kc_put_u16(p + 2, nb_in);
	kc_put_u16(p + 4, nb_out);
	kc_put_u32(p + 8, from);
	kc_put_u32(p + 12, to);
	for (uint16_t i = 0; i < nb_in; i++, n += KC_HOPREC_IN_LEN) {
		kc_put_u64(p + n, 100u + i);
		kc_put_u64(p + n + 8, in[i]);
		kc_put_u64(p + n + 16, 1);
	}
	for (uint16_t i = 0; i < nb_out; i++, n += KC_HOPREC_OUT_LEN) {
		kc_put_u64(p + n, 200u + i);
		kc_put_u64(p + n + 8, out[i]);
	}
	if (kc_hop_kind_names_call(kind))
		n += KC_CALL_ID_LEN; /* zeros: the call's id */
	return n;
}

static void add(struct kc_flow *f, uint8_t kind, uint32_t from, uint32_t to,
		uint64_t value)
{
	uint8_t p[KC_HOPREC_MAX];
	uint32_t n;

	if (kind == KC_HOP_MINT)
		n = hop(p, kind, 0, to, NULL, 0, &value, 1);
	else
		n = hop(p, kind, from, to, &value, 1, NULL, 0);
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
	n = hop(p, KC_HOP_SPLIT, 2, 2, coins, 1, made, 2);
	assert_int_equal(kc_flow_add_hop(f, p, n, 1000), 0);
	/* A paid call: 2 pays 5 out of a coin of 50 (5 to escrow, 45 of
	 * change back), escrow pays the service 3; another call of 1's is
	 * refunded. */
	n = hop(p, KC_HOP_ESCROW, 2, KC_ACCOUNT_ESCROW, &made[1], 1, made, 2);
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
	assert_int_equal(kc_flow_add_hop(f, p, hop(p, KC_HOP_TRANSFER, 3, 4,
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
	assert_int_equal(kc_flow_add_hop(f, p, hop(p, KC_HOP_TRANSFER, 1, 2,
						   &v, 1, NULL, 0), 1000), 0);
	assert_int_equal(kc_flow_add_hop(f, p, hop(p, KC_HOP_TRANSFER, 1, 2,
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds_and_totals),
		cmocka_unit_test(test_maxflow_min_cut),
		cmocka_unit_test(test_two_sccs),
		cmocka_unit_test(test_kcore),
		cmocka_unit_test(test_caps_and_range),
		cmocka_unit_test(test_opinion_rank),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
