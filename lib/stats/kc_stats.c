/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <rte_telemetry.h>

#include "kc_stats.h"

struct kc_lcore_stats kc_stats[RTE_MAX_LCORE];

static const char *const counter_names[KC_CTR_COUNT] = {
#define KC_COUNTER_NAME(sym, desc) #sym,
	KC_COUNTERS(KC_COUNTER_NAME)
#undef KC_COUNTER_NAME
#define KC_COUNTER_OP_NAME(sym, val, name, ...) "op_" name,
	KC_OP_LIST(KC_COUNTER_OP_NAME)
#undef KC_COUNTER_OP_NAME
};

static const char *const counter_descs[KC_CTR_COUNT] = {
#define KC_COUNTER_DESC(sym, desc) desc,
	KC_COUNTERS(KC_COUNTER_DESC)
#undef KC_COUNTER_DESC
#define KC_COUNTER_OP_DESC(sym, ...) #sym " requests executed",
	KC_OP_LIST(KC_COUNTER_OP_DESC)
#undef KC_COUNTER_OP_DESC
};

_Static_assert(KC_CTR_rx_packets == 0,
	       "counter 0 is no op's: kc_op_counters reads 0 as 'not an op'");

const uint16_t kc_op_counters[KC_OP_MAX_VALUE + 1] = {
#define KC_COUNTER_OP_ROW(sym, val, ...) [val] = KC_CTR_op_##sym,
	KC_OP_LIST(KC_COUNTER_OP_ROW)
#undef KC_COUNTER_OP_ROW
};

const char *kc_counter_name(enum kc_counter c)
{
	return c < KC_CTR_COUNT ? counter_names[c] : "?";
}

const char *kc_counter_desc(enum kc_counter c)
{
	return c < KC_CTR_COUNT ? counter_descs[c] : "?";
}

/* Sum n counters at byte offset off of every lcore's struct. */
static void sum_lcores(uint64_t *out, size_t off, unsigned int n)
{
	memset(out, 0, sizeof(uint64_t) * n);
	for (unsigned int l = 0; l < RTE_MAX_LCORE; l++) {
		const volatile uint64_t *src = (const volatile uint64_t *)
			((const char *)&kc_stats[l] + off);

		for (unsigned int i = 0; i < n; i++)
			out[i] += src[i];
	}
}

void kc_stats_sum(uint64_t out[KC_CTR_COUNT])
{
	sum_lcores(out, offsetof(struct kc_lcore_stats, c), KC_CTR_COUNT);
}

void kc_stats_lat_sum(uint64_t out[KC_LAT_BUCKETS])
{
	sum_lcores(out, offsetof(struct kc_lcore_stats, lat), KC_LAT_BUCKETS);
}

uint64_t kc_stats_drops(const uint64_t sum[KC_CTR_COUNT])
{
	uint64_t drops = 0;

	for (unsigned int i = 0; i < KC_CTR_COUNT; i++)
		if (strncmp(counter_names[i], "drop_", 5) == 0)
			drops += sum[i];
	return drops;
}

static int telemetry_stats(const char *cmd, const char *params,
			   struct rte_tel_data *d)
{
	uint64_t sum[KC_CTR_COUNT];

	kc_stats_sum(sum);
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < KC_CTR_COUNT; i++)
		rte_tel_data_add_dict_u64(d, counter_names[i], sum[i]);
	rte_tel_data_add_dict_u64(d, "drops", kc_stats_drops(sum));
	return 0;
}

static int telemetry_lcores(const char *cmd, const char *params,
			    struct rte_tel_data *d)
{
	unsigned int lcore;

	rte_tel_data_start_dict(d);
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct rte_tel_data *l = rte_tel_data_alloc();
		char key[16];

		if (l == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(l);
		for (unsigned int i = 0; i < KC_CTR_COUNT; i++)
			rte_tel_data_add_dict_u64(l, counter_names[i],
						  kc_stats[lcore].c[i]);
		snprintf(key, sizeof(key), "%u", lcore);
		rte_tel_data_add_dict_container(d, key, l, 0);
	}
	return 0;
}

int kc_stats_telemetry_register(void)
{
	int rc;

	rc = rte_telemetry_register_cmd("/kingcobra/stats", telemetry_stats,
		"Counters of every lcore, summed. No parameters");
	if (rc != 0)
		return rc;
	return rte_telemetry_register_cmd("/kingcobra/lcores",
		telemetry_lcores, "Counters per data-path lcore. No parameters");
}
