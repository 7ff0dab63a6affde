/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The admin server's renderers (lib/admin), on a sample made by hand:
 * latency percentiles from the log2 buckets, the Prometheus text (every
 * sample line has its HELP and TYPE, the histogram is cumulative and ends
 * in +Inf = count) and the JSON documents' fields. The HTTP side is tested
 * against a running appliance (tests/integration/test_admin.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rte_cycles.h>

#include "kc_admin_priv.h"
#include "kc_test_eal.h"

static struct kc_config cfg;
static struct kc_admin_port port = { .port_id = 0, .nb_rxq = 1,
				     .name = "kc0", .driver = "net_null" };

static struct kc_admin *fake(struct kc_admin_sample *s)
{
	struct kc_admin *a = calloc(1, sizeof(*a));

	assert_non_null(a);
	a->c.cfg = &cfg;
	a->c.ports = &port;
	a->c.nb_ports = 1;
	pthread_mutex_init(&a->lock, NULL);
	memset(s, 0, sizeof(*s));
	s->wall_ns = 5000000000ull;
	s->nb_ports = 1;
	s->ports[0].link_up = true;
	s->ports[0].st.ipackets = 42;
	s->counters[KC_CTR_kcp_replies] = 7;
	s->counters[KC_CTR_drop_runt] = 3;
	/* 10 at bucket 10, 80 at 12, 10 at 20. */
	s->lat[10] = 10;
	s->lat[12] = 80;
	s->lat[20] = 10;
	s->nb_shards = 1;
	s->shards[0].journal = true;
	s->shards[0].last_seq = 9;
	s->ledger = true;
	s->ledger_sum.live_coins = 3;
	return a;
}

static void test_percentiles(void **state)
{
	uint64_t lat[KC_LAT_BUCKETS] = { 0 };
	double hz = (double)rte_get_tsc_hz();

	(void)state;
	assert_true(kc_admin_lat_pct_us(lat, 0.5) == 0);
	lat[10] = 10;
	lat[12] = 80;
	lat[20] = 10;
	/* The upper bound of the bucket the percentile falls in. */
	assert_true(kc_admin_lat_pct_us(lat, 0.05) == (2u << 10) / hz * 1e6);
	assert_true(kc_admin_lat_pct_us(lat, 0.50) == (2u << 12) / hz * 1e6);
	assert_true(kc_admin_lat_pct_us(lat, 0.99) == (2u << 20) / hz * 1e6);
}

/* Every sample line's metric has a HELP and a TYPE line before it. */
static void test_metrics_format(void **state)
{
	struct kc_admin_sample s;
	struct kc_admin *a = fake(&s);
	char *text = kc_admin_metrics(a, &s), *save = NULL, *line;
	char typed[256] = "";
	uint64_t last = 0, inf = UINT64_MAX, count = 0;
	int samples = 0;

	(void)state;
	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[256];
		unsigned long long v;

		if (strncmp(line, "# TYPE ", 7) == 0) {
			sscanf(line + 7, "%255s", typed);
			continue;
		}
		if (line[0] == '#')
			continue;
		sscanf(line, "%255[^{ ]", name);
		assert_true(strncmp(name, "kingcobra_", 10) == 0);
		/* The family: the name, or the histogram's base name. */
		assert_true(strncmp(name, typed, strlen(typed)) == 0);
		samples++;
		if (strncmp(name, "kingcobra_request_duration_seconds_bucket",
			    41) == 0) {
			assert_int_equal(sscanf(strrchr(line, ' '), " %llu", &v),
					 1);
			assert_true(v >= last); /* cumulative */
			last = v;
			if (strstr(line, "le=\"+Inf\"") != NULL)
				inf = v;
		}
		if (strcmp(name, "kingcobra_request_duration_seconds_count") == 0)
			sscanf(strrchr(line, ' '), " %llu", (unsigned long long *)&count);
		if (strcmp(name, "kingcobra_kcp_replies_total") == 0)
			assert_non_null(strstr(line, " 7"));
	}
	assert_int_equal(inf, 100);
	assert_int_equal(count, 100);
	assert_true(samples > KC_CTR_COUNT);
	free(text);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static void test_json_documents(void **state)
{
	struct kc_admin_sample s;
	struct kc_admin *a = fake(&s);
	json_t *d;

	(void)state;
	snprintf(cfg.source, sizeof(cfg.source), "t.yaml");
	d = kc_admin_json_status(a, &s);
	assert_non_null(json_object_get(d, "uptime_s"));
	assert_string_equal(json_string_value(json_object_get(d, "config")),
			    "t.yaml");
	json_decref(d);
	d = kc_admin_json_stats(&s);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(d, "drops_by_reason"), "runt")), 3);
	assert_int_equal(json_integer_value(json_object_get(d, "drops")), 3);
	json_decref(d);
	d = kc_admin_json_ports(a, &s);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
		json_object_get(d, "ports"), 0), "rx_packets")), 42);
	json_decref(d);
	d = kc_admin_json_latency(&s);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		d, "since_start"), "count")), 100);
	json_decref(d);
	d = kc_admin_json_journal(&s);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
		json_object_get(d, "shards"), 0), "last_seq")), 9);
	json_decref(d);
	d = kc_admin_json_ledger(a, &s);
	assert_int_equal(json_integer_value(json_object_get(d, "live_coins")),
			 3);
	assert_true(json_is_null(json_object_get(d, "last_audit")));
	json_decref(d);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_metrics_format),
		cmocka_unit_test(test_json_documents),
	};

	kc_test_eal_init("test_admin");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
