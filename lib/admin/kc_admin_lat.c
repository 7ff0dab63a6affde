/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The service-time histogram's buckets in seconds and its percentiles:
 * shared by the sampler (kc_admin.c), the JSON API, the metrics and the
 * telemetry commands, each of which calls only down into this file.
 */
#include <stdint.h>

#include <rte_cycles.h>

#include "kc_admin_priv.h"

double kc_admin_lat_le_s(unsigned int b)
{
	/* Bucket b holds [2^b, 2^(b+1)) cycles. */
	return (double)(2ull << b) / (double)rte_get_tsc_hz();
}

double kc_admin_lat_pct_us(const uint64_t lat[KC_LAT_BUCKETS], double q)
{
	uint64_t n = 0, acc = 0;

	for (unsigned int b = 0; b < KC_LAT_BUCKETS; b++)
		n += lat[b];
	if (n == 0)
		return 0;
	for (unsigned int b = 0; b < KC_LAT_BUCKETS; b++) {
		acc += lat[b];
		if ((double)acc >= q * (double)n)
			return kc_admin_lat_le_s(b) * 1e6;
	}
	return kc_admin_lat_le_s(KC_LAT_BUCKETS - 1) * 1e6;
}

