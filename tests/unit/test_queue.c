/* SPDX-License-Identifier: BSD-3-Clause */
/* Queue store semantics: offsets, fetch windows, limits, consumers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
					  (uint32_t)strlen(msg), 0, &off),
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
	assert_int_equal(kc_queue_publish(s, &q, big, KC_MSG_MAX + 1, 0, &off),
			 KC_STATUS_TOO_LARGE);
	for (uint64_t i = 0; i < small.max_messages_per_queue; i++)
		publish_ok(s, "full", "z", i);
	assert_int_equal(kc_queue_publish(s, &q, big, 1, 0, &off),
			 KC_STATUS_QUEUE_FULL);

	/* Byte limit: 4096 bytes hold three messages of 1343 but not four. */
	other = name("bytes");
	for (int i = 0; i < 3; i++)
		assert_int_equal(kc_queue_publish(s, &other, big, KC_MSG_MAX,
						  0, &off), KC_STATUS_OK);
	assert_int_equal(kc_queue_publish(s, &other, big, KC_MSG_MAX, 0, &off),
			 KC_STATUS_QUEUE_FULL);

	publish_ok(s, "third", "ok", 0);
	other = name("fourth");
	assert_int_equal(kc_queue_publish(s, &other, big, 1, 0, &off),
			 KC_STATUS_NO_SPACE);
	kc_queue_store_free(s);
}

static void test_consumers(void **state)
{
	struct kc_queue_store *s = store();
	struct kc_name q = name("q"), c1 = name("c1"), c2 = name("c2"),
		       c3 = name("c3"), none = name("none");
	struct kc_fetch_reply r;
	uint8_t out[256];
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
	/* The only consumer consumed everything: it is trimmed. */
	assert_int_equal(kc_queue_fetch(s, &q, 0, 0, out, sizeof(out), &r),
			 KC_STATUS_OK);
	assert_int_equal(r.first_offset, 2);
	assert_int_equal(r.count, 0);
	assert_int_equal(kc_queue_commit(s, &q, &c1, 0),
			 KC_STATUS_OUT_OF_RANGE);
	publish_ok(s, "q", "c", 2);
	publish_ok(s, "q", "d", 3);
	/* A second consumer, at the first offset held; then moving back
	 * within what is held is allowed (a consumer replays). */
	assert_int_equal(kc_queue_commit(s, &q, &c2, 2), KC_STATUS_OK);
	assert_int_equal(kc_queue_commit(s, &q, &c1, 4), KC_STATUS_OK);
	assert_int_equal(kc_queue_commit(s, &q, &c1, 3), KC_STATUS_OK);
	assert_int_equal(kc_queue_fetch(s, &q, 0, 0, out, sizeof(out), &r),
			 KC_STATUS_OK);
	assert_int_equal(r.first_offset, 2); /* c2 has consumed nothing */
	assert_int_equal(r.count, 2);
	assert_int_equal(kc_queue_commit(s, &q, &c3, 2), KC_STATUS_NO_SPACE);
	assert_int_equal(kc_queue_committed(s, &q, &c2, &off), KC_STATUS_OK);
	assert_int_equal(off, 2);
	kc_queue_store_free(s);
}

/* With a consumer keeping up, a queue lives far past its limits: the
 * rings wrap, and every message reads back as written. */
static void test_trim_reuses_memory(void **state)
{
	struct kc_queue_store *s = store();
	struct kc_name q = name("long"), c = name("reader");
	struct kc_fetch_reply r;
	uint8_t out[KC_PAYLOAD_MAX];
	char msg[400];

	(void)state;
	for (uint64_t i = 0; i < 2000; i++) {
		uint64_t off;
		size_t n = (size_t)snprintf(msg, sizeof(msg), "m%llu-",
					    (unsigned long long)i);

		/* Lengths from 6 to ~380: messages wrap at varied places. */
		memset(msg + n, 'a' + (char)(i % 26), (i * 37) % 373);
		n += (i * 37) % 373;
		assert_int_equal(kc_queue_publish(s, &q, (const uint8_t *)msg,
						  (uint32_t)n, i + 1, &off),
				 KC_STATUS_OK);
		assert_int_equal(off, i);
		/* Read it back through FETCH, then consume it. */
		assert_int_equal(kc_queue_fetch(s, &q, i, 1, out, sizeof(out),
						&r), KC_STATUS_OK);
		assert_int_equal(r.count, 1);
		assert_int_equal(kc_get_u32(out), n);
		assert_memory_equal(out + 4, msg, n);
		if (i % 3 == 2)
			assert_int_equal(kc_queue_commit(s, &q, &c, i + 1),
					 KC_STATUS_OK);
	}
	kc_queue_store_free(s);
}

static void fill_for_snapshot(struct kc_queue_store *s)
{
	struct kc_name q = name("snap"), a = name("a"), b = name("b");

	for (uint64_t i = 0; i < 12; i++) {
		char m[16];

		snprintf(m, sizeof(m), "msg-%llu", (unsigned long long)i);
		publish_ok(s, "snap", m, i);
	}
	assert_int_equal(kc_queue_commit(s, &q, &a, 5), KC_STATUS_OK);
	assert_int_equal(kc_queue_commit(s, &q, &b, 7), KC_STATUS_OK);
}

static void test_snapshot_round_trip(void **state)
{
	struct kc_queue_store *s = store(), *t = store();
	size_t cap = (size_t)kc_queue_snapshot_max(&small);
	uint8_t *snap = malloc(cap), *again = malloc(cap);
	struct kc_name q = name("snap"), b = name("b"), got;
	struct kc_fetch_reply r;
	uint8_t out[KC_PAYLOAD_MAX];
	uint64_t off, low, end;
	size_t n, m;

	(void)state;
	fill_for_snapshot(s);
	kc_queue_bounds(s, (uint32_t)kc_queue_slot(s, &q), &low, &end);
	assert_int_equal(low, 5);
	assert_int_equal(end, 12);
	assert_int_equal(kc_queue_snapshot(s, 0, snap, cap - 1), 0);
	n = kc_queue_snapshot(s, 0, snap, cap);
	assert_true(n > 0);
	assert_int_equal(kc_queue_snapshot_len(s, 0), n);
	assert_true(kc_queue_snapshot_name(snap, n, &got));
	assert_string_equal(got.s, "snap");
	assert_int_equal(kc_queue_restore(t, snap, n), KC_STATUS_OK);
	/* The same queue: bounds, consumers, messages, and snapshot bytes. */
	kc_queue_bounds(t, (uint32_t)kc_queue_slot(t, &q), &low, &end);
	assert_int_equal(low, 5);
	assert_int_equal(end, 12);
	assert_int_equal(kc_queue_committed(t, &q, &b, &off), KC_STATUS_OK);
	assert_int_equal(off, 7);
	assert_int_equal(kc_queue_fetch(t, &q, 0, 0, out, sizeof(out), &r),
			 KC_STATUS_OK);
	assert_int_equal(r.first_offset, 5);
	assert_int_equal(r.count, 7);
	assert_memory_equal(out + 4, "msg-5", 5);
	m = kc_queue_snapshot(t, 0, again, cap);
	assert_int_equal(m, n);
	assert_memory_equal(again, snap, n);
	/* And it goes on alike. */
	publish_ok(t, "snap", "next", 12);
	/* Restoring over an existing queue replaces it. */
	assert_int_equal(kc_queue_restore(t, snap, n), KC_STATUS_OK);
	kc_queue_bounds(t, 0, &low, &end);
	assert_int_equal(end, 12);
	/* Malformed: cut short, or one byte too many. */
	assert_int_equal(kc_queue_restore(t, snap, n - 1),
			 KC_STATUS_BAD_REQUEST);
	assert_int_equal(kc_queue_restore(t, snap, 10), KC_STATUS_BAD_REQUEST);
	snap[0] ^= 1;
	assert_int_equal(kc_queue_restore(t, snap, n), KC_STATUS_BAD_REQUEST);
	free(snap);
	free(again);
	kc_queue_store_free(s);
	kc_queue_store_free(t);
}

/* A restored queue fills up at exactly the PUBLISH the original does:
 * the arena's layout (where messages sit, what wrapping skipped) is part
 * of the snapshot. */
static void test_restore_keeps_the_layout(void **state)
{
	struct kc_queue_store *s = store(), *t = store();
	size_t cap = (size_t)kc_queue_snapshot_max(&small);
	uint8_t *snap = malloc(cap), big[1300];
	struct kc_name q = name("lay"), c = name("c");
	uint64_t off;
	size_t n;

	(void)state;
	memset(big, 'L', sizeof(big));
	/* 3 x 1300 fill the 4096-byte arena near its end; consuming two and
	 * publishing again wraps and leaves a gap at the end. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(kc_queue_publish(s, &q, big, 1300, 0, &off),
				 KC_STATUS_OK);
	assert_int_equal(kc_queue_commit(s, &q, &c, 2), KC_STATUS_OK);
	assert_int_equal(kc_queue_publish(s, &q, big, 1300, 0, &off),
			 KC_STATUS_OK);
	n = kc_queue_snapshot(s, 0, snap, cap);
	assert_int_equal(kc_queue_restore(t, snap, n), KC_STATUS_OK);
	for (uint32_t len = 100; len < 2000; len += 150) {
		enum kc_status a = kc_queue_publish(s, &q, big, len % 1300, 0,
						    &off);
		enum kc_status b = kc_queue_publish(t, &q, big, len % 1300, 0,
						    &off);

		assert_int_equal(a, b);
	}
	free(snap);
	kc_queue_store_free(s);
	kc_queue_store_free(t);
}

/* What the journal must keep for a queue. */
static void test_needed_from(void **state)
{
	struct kc_queue_store *s = store();
	struct kc_name q = name("r"), c = name("c");
	uint64_t off;

	(void)state;
	assert_int_equal(kc_queue_publish(s, &q, (const uint8_t *)"a", 1, 100,
					  &off), KC_STATUS_OK);
	assert_int_equal(kc_queue_publish(s, &q, (const uint8_t *)"b", 1, 102,
					  &off), KC_STATUS_OK);
	/* No snapshot, no consumer: from its creation. */
	assert_int_equal(kc_queue_needed_from(s, 0, 1000), 100);
	kc_queue_snapshot_taken(s, 0, 200, 203);
	/* The snapshot is not durable yet: its last part is seq 203. */
	assert_int_equal(kc_queue_needed_from(s, 0, 150), 100);
	assert_int_equal(kc_queue_needed_from(s, 0, 202), 100);
	assert_int_equal(kc_queue_needed_from(s, 0, 203), 200);
	/* A consumer has not consumed offset 1 (PUBLISH seq 102) yet. */
	assert_int_equal(kc_queue_commit(s, &q, &c, 1), KC_STATUS_OK);
	assert_int_equal(kc_queue_needed_from(s, 0, 203), 102);
	assert_int_equal(kc_queue_commit(s, &q, &c, 2), KC_STATUS_OK);
	assert_int_equal(kc_queue_needed_from(s, 0, 203), 200);
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
		cmocka_unit_test(test_trim_reuses_memory),
		cmocka_unit_test(test_snapshot_round_trip),
		cmocka_unit_test(test_restore_keeps_the_layout),
		cmocka_unit_test(test_needed_from),
	};

	kc_test_eal_init("test_queue");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
