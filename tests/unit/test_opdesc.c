/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the op table and the op descriptors (lib/proto/kc_opdesc.c)
 * with their text and JSON renderings (lib/proto/kc_proto_json.c): every op
 * of KC_OP_LIST has a descriptor; each op's request and REPLY read back as
 * the exact words and members every tool shows; malformed payloads are
 * refused; text never carries a byte a terminal would act on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kc_opdesc.h"
#include "kc_proto.h"
#include "kc_proto_json.h"

static char text_buf[8192];

static const char *req_text(uint8_t op, const uint8_t *p, size_t len)
{
	struct kc_fields f;

	assert_true(kc_op_request_fields(op, p, (uint32_t)len, &f));
	kc_fields_text(&f, 0, text_buf, sizeof(text_buf));
	return text_buf;
}

static const char *reply_text(uint8_t op, const uint8_t *p, size_t len,
			      bool abridged)
{
	struct kc_fields f;

	assert_true(kc_op_reply_fields(op, p, (uint32_t)len, abridged, &f));
	kc_fields_text(&f, 0, text_buf, sizeof(text_buf));
	return text_buf;
}

/* The fields as one compact JSON object. */
static char *fields_json(const struct kc_fields *f)
{
	json_t *o = json_object();
	char *s;

	assert_int_equal(kc_fields_json(f, o), 0);
	s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(o);
	assert_non_null(s);
	return s;
}

static void assert_reply_json(uint8_t op, const uint8_t *p, size_t len,
			      const char *want)
{
	struct kc_fields f;
	char *s;

	assert_true(kc_op_reply_fields(op, p, (uint32_t)len, false, &f));
	s = fields_json(&f);
	assert_string_equal(s, want);
	free(s);
}

static void assert_req_json(uint8_t op, const uint8_t *p, size_t len,
			    const char *want)
{
	struct kc_fields f;
	char *s;

	assert_true(kc_op_request_fields(op, p, (uint32_t)len, &f));
	s = fields_json(&f);
	assert_string_equal(s, want);
	free(s);
}

/* --- the table ----------------------------------------------------------- */

static void test_every_op_has_a_descriptor(void **state)
{
	unsigned int ops = 0;

	(void)state;
	for (unsigned int v = 0; v <= KC_OP_MAX_VALUE; v++) {
		const struct kc_op_info *i = kc_op_info((uint8_t)v);
		const struct kc_op_desc *d = kc_op_desc((uint8_t)v);

		if (i->name == NULL) {
			assert_null(d);
			assert_false(kc_op_known(v));
			continue;
		}
		ops++;
		assert_non_null(d);
		assert_non_null(d->request);
		assert_non_null(d->reply);
		assert_int_equal(kc_op_from_name(i->name), (int)v);
		/* A hop is a state change, the ledger's or a service
		 * call's (its escrow is the ledger's). */
		if (i->hop_kind != 0) {
			assert_true(kc_op_mutates((uint8_t)v));
			assert_true(i->owner == KC_OWNER_LEDGER ||
				    i->owner == KC_OWNER_SERVICES);
		}
		/* Only the appliance makes an internal op. */
		if (kc_op_internal((uint8_t)v))
			assert_true(kc_op_mutates((uint8_t)v));
		/* Growing is changing. */
		if (kc_op_grows((uint8_t)v))
			assert_true(kc_op_mutates((uint8_t)v));
		/* A kept REPLY is whole: a mutation is never abridged. */
		if (i->abridged_len != 0)
			assert_false(kc_op_mutates((uint8_t)v));
	}
	assert_true(ops >= 14);
	assert_null(kc_op_desc(0));
	assert_null(kc_op_desc(255));
}

static void test_op_table_rows(void **state)
{
	(void)state;
	assert_string_equal(kc_op_name(KC_OP_PUBLISH), "publish");
	assert_int_equal(kc_op_info(KC_OP_PUBLISH)->owner, KC_OWNER_QUEUE);
	assert_true(kc_op_mutates(KC_OP_PUBLISH));
	assert_true(kc_op_grows(KC_OP_PUBLISH));
	assert_false(kc_op_mutates(KC_OP_FETCH));
	assert_int_equal(kc_op_info(KC_OP_FETCH)->abridged_len,
			 KC_FETCH_REPLY_FIXED);
	assert_true(kc_op_mutates(KC_OP_COMMIT));
	assert_false(kc_op_grows(KC_OP_COMMIT));
	assert_int_equal(kc_op_info(KC_OP_PING)->owner, KC_OWNER_NONE);
	assert_int_equal(kc_op_info(KC_OP_TRANSFER)->hop_kind,
			 KC_HOP_TRANSFER);
	assert_int_equal(kc_op_info(KC_OP_BURN)->hop_kind, KC_HOP_BURN);
	assert_false(kc_op_has_hop(KC_OP_BALANCE));
	assert_int_equal(kc_op_info(KC_OP_BALANCE)->owner, KC_OWNER_LEDGER);
	assert_true(kc_op_info(KC_OP_TRAIL)->flags & KC_OPF_DEFERRED);
	assert_false(kc_op_mutates(KC_OP_TRAIL));
	assert_false(kc_op_mutates(KC_OP_TIME));
	assert_int_equal(kc_op_info(KC_OP_TIME)->owner, KC_OWNER_NONE);
	assert_false(kc_op_mutates(0));
	assert_false(kc_op_has_hop(200));
}

/* --- queue ops ----------------------------------------------------------- */

static void test_queue_ops(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX], r[KC_PAYLOAD_MAX];
	struct kc_fetch_reply fr = {
		.first_offset = 0, .next_offset = 2, .end_offset = 2,
		.count = 2,
	};
	size_t n, m;

	(void)state;
	assert_string_equal(req_text(KC_OP_PING, (const uint8_t *)"hi there",
				     8), "data=hi there");
	assert_string_equal(reply_text(KC_OP_PING, (const uint8_t *)"hello",
				       5, false), "echo=hello");
	assert_string_equal(reply_text(KC_OP_PING, p, 0, false), "");

	n = kc_enc_publish(p, sizeof(p), "orders", "a b\n", 4);
	assert_string_equal(req_text(KC_OP_PUBLISH, p, n),
			    "queue=orders message=a b\\x0a");
	assert_req_json(KC_OP_PUBLISH, p, n,
			"{\"queue\":\"orders\",\"message\":\"a b\\n\"}");
	n = kc_enc_u64_reply(r, sizeof(r), 41);
	assert_string_equal(reply_text(KC_OP_PUBLISH, r, n, false),
			    "offset=41");
	assert_reply_json(KC_OP_PUBLISH, r, n, "{\"offset\":41}");

	n = kc_enc_fetch(p, sizeof(p), "orders", 7, 10);
	assert_string_equal(req_text(KC_OP_FETCH, p, n),
			    "queue=orders offset=7 max=10");
	/* Two records: "hello kingcobra" and "second". */
	m = KC_FETCH_REPLY_FIXED;
	kc_put_u32(r + m, 15);
	memcpy(r + m + 4, "hello kingcobra", 15);
	m += 19;
	kc_put_u32(r + m, 6);
	memcpy(r + m + 4, "second", 6);
	m += 10;
	kc_enc_fetch_reply_fixed(r, &fr);
	assert_string_equal(reply_text(KC_OP_FETCH, r, m, false),
			    "count=2 first_offset=0 next_offset=2 end_offset=2 "
			    "0:hello\\x20kingcobra 1:second");
	assert_reply_json(KC_OP_FETCH, r, m,
			  "{\"count\":2,\"first_offset\":0,\"next_offset\":2,"
			  "\"end_offset\":2,\"messages\":[{\"offset\":0,"
			  "\"data\":\"hello kingcobra\"},{\"offset\":1,"
			  "\"data\":\"second\"}]}");
	/* As the journal keeps it: the fixed part. */
	assert_string_equal(reply_text(KC_OP_FETCH, r, KC_FETCH_REPLY_FIXED,
				       true),
			    "count=2 first_offset=0 next_offset=2 end_offset=2");
	{
		struct kc_fields f;

		/* The fixed part is not a whole REPLY... */
		assert_false(kc_op_reply_fields(KC_OP_FETCH, r,
						KC_FETCH_REPLY_FIXED, false,
						&f));
		/* ... and an abridged one is only the fixed part. */
		assert_false(kc_op_reply_fields(KC_OP_FETCH, r, m, true, &f));
	}

	n = kc_enc_commit(p, sizeof(p), "orders", "billing", 120);
	assert_string_equal(req_text(KC_OP_COMMIT, p, n),
			    "queue=orders consumer=billing offset=120");
	assert_string_equal(reply_text(KC_OP_COMMIT, r, 0, false),
			    "committed");
	assert_reply_json(KC_OP_COMMIT, r, 0, "{}");

	n = kc_enc_offset(p, sizeof(p), "orders", "billing");
	assert_string_equal(req_text(KC_OP_OFFSET, p, n),
			    "queue=orders consumer=billing");
	n = kc_enc_u64_reply(r, sizeof(r), 2);
	assert_string_equal(reply_text(KC_OP_OFFSET, r, n, false), "offset=2");
}

/* --- ledger ops ---------------------------------------------------------- */

static void test_ledger_ops(void **state)
{
	static const uint64_t coins[] = { 1, 2, UINT64_MAX };
	uint8_t p[KC_PAYLOAD_MAX], r[KC_PAYLOAD_MAX];
	struct kc_coin_info ci = {
		.coin = 3, .denomination = 100, .owner = 1,
		.state = KC_COIN_LIVE, .created_seq = 21, .last_hop_seq = 29,
	};
	struct kc_audit a = {
		.ok = true, .minted = 300, .burnt = 100, .live_sum = 200,
		.live_coins = 2, .dead_coins = 1, .accounts = 3,
	};
	size_t n;

	(void)state;
	n = kc_enc_mint(p, sizeof(p), 1, 100, 3);
	assert_string_equal(req_text(KC_OP_MINT, p, n),
			    "account=1 denomination=100 count=3");
	n = kc_enc_coins_reply(r, sizeof(r), 1, 3);
	assert_string_equal(reply_text(KC_OP_MINT, r, n, false),
			    "first_coin=1 count=3");
	assert_string_equal(reply_text(KC_OP_SPLIT, r, n, false),
			    "first_coin=1 count=3");

	n = kc_enc_transfer(p, sizeof(p), 1, 2, coins, 3);
	assert_string_equal(req_text(KC_OP_TRANSFER, p, n),
			    "from=1 to=2 coins=1,2,18446744073709551615");
	/* A u64 past INT64_MAX is a string in JSON, not a wrong number. */
	assert_req_json(KC_OP_TRANSFER, p, n,
			"{\"from\":1,\"to\":2,\"coins\":[1,2,"
			"\"18446744073709551615\"]}");
	n = kc_enc_u64_reply(r, sizeof(r), 618);
	assert_string_equal(reply_text(KC_OP_TRANSFER, r, n, false),
			    "seq=618");
	assert_string_equal(reply_text(KC_OP_BURN, r, n, false), "seq=618");
	assert_string_equal(reply_text(KC_OP_MERGE, r, n, false), "coin=618");

	n = kc_enc_split(p, sizeof(p), 1, coins, 2);
	assert_string_equal(req_text(KC_OP_SPLIT, p, n), "coin=1 parts=1,2");
	n = kc_enc_merge(p, sizeof(p), coins, 2);
	assert_string_equal(req_text(KC_OP_MERGE, p, n), "coins=1,2");
	n = kc_enc_coin_id(p, sizeof(p), 3);
	assert_string_equal(req_text(KC_OP_BURN, p, n), "coin=3");
	assert_string_equal(req_text(KC_OP_COIN, p, n), "coin=3");
	n = kc_enc_account(p, sizeof(p), 2);
	assert_string_equal(req_text(KC_OP_BALANCE, p, n), "account=2");
	n = kc_enc_balance_reply(r, sizeof(r), 200, 2);
	assert_string_equal(reply_text(KC_OP_BALANCE, r, n, false),
			    "balance=200 coins=2");

	n = kc_enc_coin_reply(r, sizeof(r), &ci);
	assert_string_equal(reply_text(KC_OP_COIN, r, n, false),
			    "coin=3 denomination=100 owner=1 state=LIVE "
			    "created_seq=21 last_hop_seq=29");
	assert_reply_json(KC_OP_COIN, r, n,
			  "{\"coin\":3,\"denomination\":100,\"owner\":1,"
			  "\"state\":\"LIVE\",\"created_seq\":21,"
			  "\"last_hop_seq\":29}");

	n = kc_enc_trail(p, sizeof(p), 7, 2);
	assert_string_equal(req_text(KC_OP_TRAIL, p, n), "coin=7 skip=2");
	{
		struct kc_hop h = {
			.seq = 615, .time_ns = 1000000000123ull, .coin = 1,
			.denomination = 100, .from = 0, .to = 1,
			.kind = KC_HOP_MINT,
		};

		kc_enc_trail_reply_fixed(r, 1, 0, 1);
		kc_enc_hop(r + KC_TRAIL_REPLY_FIXED, &h);
		n = KC_TRAIL_REPLY_FIXED + KC_HOP_WIRE_LEN;
		assert_string_equal(reply_text(KC_OP_TRAIL, r, n, false),
				    "total=1 first=0 count=1 "
				    "615:mint:1:100:0:1:1000000000123");
		assert_reply_json(KC_OP_TRAIL, r, n,
				  "{\"total\":1,\"first\":0,\"count\":1,"
				  "\"hops\":[{\"seq\":615,\"time\":"
				  "\"1970-01-01T00:16:40.000000123Z\","
				  "\"time_ns\":1000000000123,\"kind\":\"mint\","
				  "\"coin\":1,\"denomination\":100,\"from\":0,"
				  "\"to\":1}]}");
		assert_string_equal(reply_text(KC_OP_TRAIL, r,
					       KC_TRAIL_REPLY_FIXED, true),
				    "total=1 first=0 count=1");
		kc_hop_line(&h, text_buf, sizeof(text_buf));
		assert_string_equal(text_buf, "seq=615 "
				    "1970-01-01T00:16:40.000000123Z mint "
				    "coin=1 denomination=100 0 -> 1");
		/* A hop of a service call names the call. */
		h.kind = KC_HOP_PAY;
		h.from = KC_ACCOUNT_ESCROW;
		h.to = 3;
		for (uint32_t b = 0; b < KC_MSG_ID_LEN; b++)
			h.call[b] = (uint8_t)(0xa0 + b);
		kc_enc_hop(r + KC_TRAIL_REPLY_FIXED, &h);
		assert_string_equal(reply_text(KC_OP_TRAIL, r, n, false),
				    "total=1 first=0 count=1 "
				    "615:pay:1:100:4294967295:3:1000000000123:"
				    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
		assert_reply_json(KC_OP_TRAIL, r, n,
				  "{\"total\":1,\"first\":0,\"count\":1,"
				  "\"hops\":[{\"seq\":615,\"time\":"
				  "\"1970-01-01T00:16:40.000000123Z\","
				  "\"time_ns\":1000000000123,\"kind\":\"pay\","
				  "\"coin\":1,\"denomination\":100,"
				  "\"from\":4294967295,\"to\":3,\"call\":"
				  "\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\"}]}");
		kc_hop_line(&h, text_buf, sizeof(text_buf));
		assert_string_equal(text_buf, "seq=615 "
				    "1970-01-01T00:16:40.000000123Z pay "
				    "coin=1 denomination=100 4294967295 -> 3 "
				    "call=a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	}

	assert_string_equal(req_text(KC_OP_AUDIT, p, 0), "");
	n = kc_enc_audit_reply(r, sizeof(r), &a);
	assert_string_equal(reply_text(KC_OP_AUDIT, r, n, false),
			    "ok=true minted=300 burnt=100 live_sum=200 "
			    "live_coins=2 dead_coins=1 accounts=3 "
			    "violations=0");
}

static void test_time_op(void **state)
{
	uint8_t r[KC_PAYLOAD_MAX];
	size_t n;

	(void)state;
	memset(r, 0, sizeof(r));
	assert_string_equal(req_text(KC_OP_TIME, r, 0), "");
	n = kc_enc_u64_reply(r, sizeof(r), 1000000000123ull);
	assert_int_equal(n, 8);
	assert_string_equal(reply_text(KC_OP_TIME, r, n, false),
			    "unix_ns=1000000000123");
	assert_reply_json(KC_OP_TIME, r, n, "{\"unix_ns\":1000000000123}");
}

/* --- bad input ----------------------------------------------------------- */

static void test_malformed_payloads_refused(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX];
	struct kc_fields f;
	size_t n;

	(void)state;
	n = kc_enc_publish(p, sizeof(p), "orders", "x", 1);
	assert_false(kc_op_request_fields(KC_OP_PUBLISH, p, 3, &f));
	assert_false(kc_op_request_fields(KC_OP_FETCH, p, (uint32_t)n, &f));
	assert_false(kc_op_request_fields(KC_OP_AUDIT, p, 1, &f));
	assert_false(kc_op_request_fields(KC_OP_TIME, p, 1, &f));
	assert_false(kc_op_reply_fields(KC_OP_COMMIT, p, 1, false, &f));
	assert_false(kc_op_reply_fields(KC_OP_BALANCE, p, 11, false, &f));
	assert_false(kc_op_reply_fields(KC_OP_TIME, p, 7, false, &f));
	/* Not an op: no descriptor, no fields. */
	assert_false(kc_op_request_fields(99, p, 0, &f));
	assert_int_equal(f.n, 0);
	assert_false(kc_op_reply_fields(99, p, 0, false, &f));
}

static void test_text_is_terminal_safe(void **state)
{
	static const uint8_t evil[] = "\x1b[2J\r\nshard=0 seq=1 \\ \x7f\xff";
	uint8_t p[KC_PAYLOAD_MAX];
	struct kc_fields f;
	size_t n;

	(void)state;
	n = kc_enc_publish(p, sizeof(p), "q", evil, sizeof(evil) - 1);
	assert_true(kc_op_request_fields(KC_OP_PUBLISH, p, (uint32_t)n, &f));
	kc_fields_text(&f, 0, text_buf, sizeof(text_buf));
	assert_string_equal(text_buf,
			    "queue=q message=\\x1b[2J\\x0d\\x0ashard=0 seq=1 "
			    "\\x5c \\x7f\\xff");
	/* Cut to the room given, NUL included, never past it. */
	memset(text_buf, 'Z', sizeof(text_buf));
	assert_int_equal(kc_fields_text(&f, 0, text_buf, 10), 9);
	assert_string_equal(text_buf, "queue=q m");
	assert_int_equal(text_buf[10], 'Z');
	assert_int_equal(kc_text_escape(evil, 2, true, text_buf, 64), 5);
	assert_string_equal(text_buf, "\\x1b[");
	/* Binary data is hex in JSON. */
	{
		char *s = fields_json(&f);

		assert_non_null(strstr(s, "\"message_hex\":\"1b5b324a0d0a"));
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op_has_a_descriptor),
		cmocka_unit_test(test_op_table_rows),
		cmocka_unit_test(test_queue_ops),
		cmocka_unit_test(test_ledger_ops),
		cmocka_unit_test(test_time_op),
		cmocka_unit_test(test_malformed_payloads_refused),
		cmocka_unit_test(test_text_is_terminal_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
