/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A log-linear histogram of non-negative 64-bit values (latencies in ns),
 * in the manner of HdrHistogram: exact below 128, and above that 64
 * sub-buckets per power of two, so a value is known to within 1/64
 * (1.6%) of itself. Fixed size (3776 counters, 30 KiB), no allocation:
 * recording is a count-leading-zeros, a shift and an increment. Debian 12
 * packages no C HdrHistogram (only the Java and Go ones), and GSL's
 * histogram takes a binary search a sample.
 */
#ifndef KC_HIST_H
#define KC_HIST_H

#include <stdint.h>

#define KC_HIST_SUB_BITS 6u
#define KC_HIST_SUB (1u << KC_HIST_SUB_BITS)		/* 64 */
#define KC_HIST_LINEAR (2u * KC_HIST_SUB)		/* exact below 128 */
/* Buckets: 128 exact ones, then 64 for each of the exponents 1..57. */
#define KC_HIST_SIZE ((64u - KC_HIST_SUB_BITS + 1u) * KC_HIST_SUB) /* 3776 */

struct kc_hist {
	uint64_t count;
	uint64_t sum;		/* wraps only past 584 years of ns */
	uint64_t max;
	uint64_t b[KC_HIST_SIZE];
};

void kc_hist_reset(struct kc_hist *h);
void kc_hist_add(struct kc_hist *h, uint64_t v);
/* Add every count of src to dst. */
void kc_hist_merge(struct kc_hist *dst, const struct kc_hist *src);
/*
 * The value at quantile q (0..1): the highest value of the bucket that
 * holds the ceil(q * count)-th smallest value (at least the first), never
 * more than max; 0 for an empty histogram.
 */
uint64_t kc_hist_quantile(const struct kc_hist *h, double q);
double kc_hist_mean(const struct kc_hist *h);

/* The bucket of v, and the lowest and highest value a bucket holds. */
uint32_t kc_hist_bucket(uint64_t v);
uint64_t kc_hist_bucket_low(uint32_t b);
uint64_t kc_hist_bucket_high(uint32_t b);

#endif /* KC_HIST_H */
