/* SPDX-License-Identifier: BSD-3-Clause */
/* Queue store semantics: offsets, fetch windows, limits, consumers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>

#include "kc_queue.h"
#include "kc_test_eal.h"

static const struct kc_queue_limits small = {
	.max_queues = 3,
	.max_bytes_per_queue = 4096,
	.max_messages_per_queue = 16,
	.max_consumers_per_queue = 2,
};

static struct kc_name name(const char *s)
{
	struct kc_name n;

	n.len = (uint8_t)strlen(s);
	memcpy(n.s, s, n.len + 1u);
	return n;
}

static struct kc_queue_store *store(void)
{
	static unsigned int seq;
	char nm[32];
	struct kc_queue_store *s;

	snprintf(nm, sizeof(nm), "tq_%u", seq++);
	s = kc_queue_store_create(nm, &small, 0);
	assert_non_null(s);
	return s;
}

static void publish_ok(struct kc_queue_store *s, const char *q,
		       const char *msg, uint64_t want)
{
	struct kc_name n = name(q);
	uint64_t off = ~0ull;

	assert_int_equal(kc_queue_publish(s, &n, (const uint8_t *)msg,
					  (uint32_t)strlen(msg), &off),
			 KC_STATUS_OK);
	assert_int_equal(off, want);
}

static void test_offsets_are_per_queue_and_dense(void **state)
{
	struct kc_queue_store *s = store();

	publish_ok(s, "a", "one", 0);
	publish_ok(s, "a", "two", 1);
	publish_ok(s, "b", "uno", 0);
	publish_ok(s, "a", "three", 2);
	assert_int_equal(kc_queue_count(s), 2);
	kc_queue_store_free(s);
}

static void test_fetch_in_order_with_window(void **state)
{
	struct kc_queue_store *s = store();
	struct kc_name q = name("orders");
	struct kc_fetch_reply r;
	uint8_t out[256];
	const uint8_t *m;
	uint32_t pos = 0, len;

	publish_ok(s, "orders", "m0", 0);
	publish_ok(s, "orders", "m1", 1);
	publish_ok(s, "orders", "", 2); /* empty messages are messages */
	publish_ok(s, "orders", "m3", 3);

	assert_int_equal(kc_queue_fetch(s, &q, 1, 2, out, sizeof(out), &r),
			 KC_STATUS_OK);
	assert_int_equal(r.first_offset, 1);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.next_offset, 3);
	assert_int_equal(r.end_offset, 4);
	assert_true(kc_fetch_reply_next(&r, &pos, &m, &len));
	assert_int_equal(len, 2);
	assert_memory_equal(m, "m1", 2);
	assert_true(kc_fetch_reply_next(&r, &pos, &m, &len));
	assert_int_equal(len, 0);
	assert_false(kc_fetch_reply_next(&r, &pos, &m, &len));

	/* max 0: everything that fits. */
	assert_int_equal(kc_queue_fetch(s, &q, 0, 0, out, sizeof(out), &r),
			 KC_STATUS_OK);
	assert_int_equal(r.count, 4);
	assert_int_equal(r.next_offset, 4);

	/* At or past the end: nothing, next stays where it was asked. */
	assert_int_equal(kc_queue_fetch(s, &q, 4, 0, out, sizeof(out), &r),
			 KC_STATUS_OK);
	assert_int_equal(r.count, 0);
	assert_int_equal(r.next_offset, 4);
	assert_int_equal(kc_queue_fetch(s, &q, 99, 0, out, sizeof(out), &r),
			 KC_STATUS_OK);
	assert_int_equal(r.count, 0);
	assert_int_equal(r.next_offset, 99);
	kc_queue_store_free(s);
}

static void test_fetch_stops_at_buffer_room(void **state)
{
	struct kc_queue_store *s = store();
	struct kc_name q = name("big");
	struct kc_fetch_reply r;
	char msg[100];
	uint8_t out[250];

	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	for (uint64_t i = 0; i < 5; i++)
		publish_ok(s, "big", msg, i);
	/* Each record is 4 + 99 bytes: two fit in 250. */
	assert_int_equal(kc_queue_fetch(s, &q, 0, 0, out, sizeof(out), &r),
			 KC_STATUS_OK);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.next_offset, 2);
	assert_int_equal(r.records_len, 2 * 103);
	kc_queue_store_free(s);
}

static void test_limits_give_statuses(void **state)
{
	struct kc_queue_store *s = store();
	struct kc_name q = name("full"), other;
	uint8_t big[KC_MSG_MAX + 1];
	uint64_t off;

	memset(big, 'y', sizeof(big));
	assert_int_equal(kc_queue_publish(s, &q, big, KC_MSG_MAX + 1, &off),
			 KC_STATUS_TOO_LARGE);
	for (uint64_t i = 0; i < small.max_messages_per_queue; i++)
		publish_ok(s, "full", "z", i);
	assert_int_equal(kc_queue_publish(s, &q, big, 1, &off),
			 KC_STATUS_QUEUE_FULL);

	/* Byte limit: 4096 bytes hold three messages of 1343 but not four. */
	other = name("bytes");
	for (int i = 0; i < 3; i++)
		assert_int_equal(kc_queue_publish(s, &other, big, KC_MSG_MAX,
						  &off), KC_STATUS_OK);
	assert_int_equal(kc_queue_publish(s, &other, big, KC_MSG_MAX, &off),
			 KC_STATUS_QUEUE_FULL);

	publish_ok(s, "third", "ok", 0);
	other = name("fourth");
	assert_int_equal(kc_queue_publish(s, &other, big, 1, &off),
			 KC_STATUS_NO_SPACE);
	kc_queue_store_free(s);
}

static void test_consumers(void **state)
{
	struct kc_queue_store *s = store();
	struct kc_name q = name("q"), c1 = name("c1"), c2 = name("c2"),
		       c3 = name("c3"), none = name("none");
	uint64_t off;

	assert_int_equal(kc_queue_commit(s, &none, &c1, 0),
			 KC_STATUS_NOT_FOUND);
	publish_ok(s, "q", "a", 0);
	publish_ok(s, "q", "b", 1);
	assert_int_equal(kc_queue_committed(s, &q, &c1, &off),
			 KC_STATUS_NOT_FOUND);
	assert_int_equal(kc_queue_commit(s, &q, &c1, 1), KC_STATUS_OK);
	assert_int_equal(kc_queue_committed(s, &q, &c1, &off), KC_STATUS_OK);
	assert_int_equal(off, 1);
	/* The end itself is a valid position: everything consumed. */
	assert_int_equal(kc_queue_commit(s, &q, &c1, 2), KC_STATUS_OK);
	assert_int_equal(kc_queue_commit(s, &q, &c1, 3),
			 KC_STATUS_OUT_OF_RANGE);
	assert_int_equal(kc_queue_committed(s, &q, &c1, &off), KC_STATUS_OK);
	assert_int_equal(off, 2);
	/* Moving back is allowed (a consumer replays). */
	assert_int_equal(kc_queue_commit(s, &q, &c1, 0), KC_STATUS_OK);
	assert_int_equal(kc_queue_commit(s, &q, &c2, 1), KC_STATUS_OK);
	assert_int_equal(kc_queue_commit(s, &q, &c3, 1), KC_STATUS_NO_SPACE);
	assert_int_equal(kc_queue_committed(s, &q, &c2, &off), KC_STATUS_OK);
	assert_int_equal(off, 1);
	kc_queue_store_free(s);
}

static void test_fetch_unknown_queue(void **state)
{
	struct kc_queue_store *s = store();
	struct kc_name q = name("nope");
	struct kc_fetch_reply r;
	uint8_t out[64];

	assert_int_equal(kc_queue_fetch(s, &q, 0, 0, out, sizeof(out), &r),
			 KC_STATUS_NOT_FOUND);
	kc_queue_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets_are_per_queue_and_dense),
		cmocka_unit_test(test_fetch_in_order_with_window),
		cmocka_unit_test(test_fetch_stops_at_buffer_room),
		cmocka_unit_test(test_limits_give_statuses),
		cmocka_unit_test(test_consumers),
		cmocka_unit_test(test_fetch_unknown_queue),
	};

	kc_test_eal_init("test_queue");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
