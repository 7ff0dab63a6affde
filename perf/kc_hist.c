/* SPDX-License-Identifier: BSD-3-Clause */
/* Log-linear histogram (kc_hist.h). */
#include <string.h>

#include "kc_hist.h"

/*
 * Below 128 a value is its own bucket. From 128 on, with e the number of
 * low bits dropped (v >> e lies in 64..127), the bucket is
 * (e + 1) * 64 + (v >> e) - 64: bucket 128 starts at 128 = 64 << 1, and
 * each power of two takes the next 64 buckets.
 */
uint32_t kc_hist_bucket(uint64_t v)
{
	uint32_t e;

	if (v < KC_HIST_LINEAR)
		return (uint32_t)v;
	e = (uint32_t)(63 - __builtin_clzll(v)) - KC_HIST_SUB_BITS;
	return (e + 1u) * KC_HIST_SUB + (uint32_t)(v >> e) - KC_HIST_SUB;
}

uint64_t kc_hist_bucket_low(uint32_t b)
{
	uint32_t e;

	if (b < KC_HIST_LINEAR)
		return b;
	e = b / KC_HIST_SUB - 1u;
	return (uint64_t)(b % KC_HIST_SUB + KC_HIST_SUB) << e;
}

uint64_t kc_hist_bucket_high(uint32_t b)
{
	uint32_t e;

	if (b < KC_HIST_LINEAR)
		return b;
	e = b / KC_HIST_SUB - 1u;
	/* The top bucket ends at UINT64_MAX: no overflow in the shift. */
	return kc_hist_bucket_low(b) + ((1ull << e) - 1u);
}

void kc_hist_reset(struct kc_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void kc_hist_add(struct kc_hist *h, uint64_t v)
{
	h->b[kc_hist_bucket(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

void kc_hist_merge(struct kc_hist *dst, const struct kc_hist *src)
{
	for (uint32_t i = 0; i < KC_HIST_SIZE; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t kc_hist_quantile(const struct kc_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->count == 0)
		return 0;
	if (q <= 0.0)
		want = 1;
	else if (q >= 1.0)
		return h->max;
	else
		want = (uint64_t)(q * (double)h->count + 0.999999999);
	if (want == 0)
		want = 1;
	for (uint32_t i = 0; i < KC_HIST_SIZE; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t hi = kc_hist_bucket_high(i);

			return hi < h->max ? hi : h->max;
		}
	}
	return h->max;
}

double kc_hist_mean(const struct kc_hist *h)
{
	return h->count == 0 ? 0.0 : (double)h->sum / (double)h->count;
}
