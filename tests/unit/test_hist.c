/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of perf/kc_hist: the bucket layout (every value in the
 * bucket it names, buckets in order and without gaps, within 1/64 of its
 * value), quantiles against a sorted copy of the same samples, max,
 * merge, and the empty histogram.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "kc_hist.h"

static struct kc_hist h, h2;

static void test_buckets(void **state)
{
	uint64_t prev_high = 0;

	(void)state;
	/* Exact below 128. */
	for (uint64_t v = 0; v < 128; v++) {
		assert_int_equal(kc_hist_bucket(v), v);
		assert_int_equal(kc_hist_bucket_low((uint32_t)v), v);
		assert_int_equal(kc_hist_bucket_high((uint32_t)v), v);
	}
	/* Contiguous and ordered: each bucket starts right after the last. */
	for (uint32_t b = 1; b < KC_HIST_SIZE; b++) {
		assert_int_equal(kc_hist_bucket_low(b), prev_high + 1);
		assert_true(kc_hist_bucket_high(b) >= kc_hist_bucket_low(b));
		assert_int_equal(kc_hist_bucket(kc_hist_bucket_low(b)), b);
		assert_int_equal(kc_hist_bucket(kc_hist_bucket_high(b)), b);
		/* A bucket's width is at most 1/64 of its lowest value. */
		if (b >= 128)
			assert_true(kc_hist_bucket_high(b) -
					    kc_hist_bucket_low(b) <
				    kc_hist_bucket_low(b) / 64 + 1);
		prev_high = kc_hist_bucket_high(b);
	}
	assert_int_equal(prev_high, UINT64_MAX);
	assert_int_equal(kc_hist_bucket(UINT64_MAX), KC_HIST_SIZE - 1);
	assert_int_equal(kc_hist_bucket(128), 128);
	assert_int_equal(kc_hist_bucket(255), 191);
	assert_int_equal(kc_hist_bucket(256), 192);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Quantiles within 1/64 above the exact ones, never below. */
static void test_quantiles(void **state)
{
	enum { N = 100000 };
	static uint64_t v[N];
	static const double qs[] = { 0.0, 0.5, 0.9, 0.99, 0.999, 1.0 };
	uint64_t seed = 42, sum = 0;

	(void)state;
	kc_hist_reset(&h);
	for (int i = 0; i < N; i++) {
		/* Spread over 7 decades: ns from 1 to ~10 ms. */
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		v[i] = (seed >> 33) % 10000000u >> ((seed >> 20) % 20u);
		sum += v[i];
		kc_hist_add(&h, v[i]);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	assert_int_equal(h.count, N);
	assert_int_equal(h.sum, sum);
	assert_int_equal(h.max, v[N - 1]);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		size_t rank = qs[i] <= 0 ? 0 :
			      (size_t)(qs[i] * N + 0.999999999) - 1;
		uint64_t exact = v[rank], got = kc_hist_quantile(&h, qs[i]);

		assert_true(got >= exact);
		assert_true(got <= exact + exact / 64);
	}
	assert_true(kc_hist_mean(&h) > 0);
}

static void test_merge_and_empty(void **state)
{
	(void)state;
	kc_hist_reset(&h);
	kc_hist_reset(&h2);
	assert_int_equal(kc_hist_quantile(&h, 0.99), 0);
	assert_true(kc_hist_mean(&h) == 0.0);
	kc_hist_add(&h, 1000);
	kc_hist_add(&h2, 5);
	kc_hist_add(&h2, 1u << 30);
	kc_hist_merge(&h, &h2);
	assert_int_equal(h.count, 3);
	assert_int_equal(h.max, 1u << 30);
	assert_int_equal(kc_hist_quantile(&h, 0.0), 5);
	assert_int_equal(kc_hist_quantile(&h, 1.0), 1u << 30);
	/* The median's bucket holds 1000 (width 8 there: 1000..1007). */
	assert_true(kc_hist_quantile(&h, 0.5) >= 1000 &&
		    kc_hist_quantile(&h, 0.5) <= 1007);
	/* Never above max, even when max is low in its bucket. */
	kc_hist_reset(&h);
	kc_hist_add(&h, 1000);
	assert_int_equal(kc_hist_quantile(&h, 0.5), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_merge_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
