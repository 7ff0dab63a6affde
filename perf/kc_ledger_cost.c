/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-ledger-cost: what the ledger's whole-table operations cost worker 0,
 * which runs them inside one poll loop: a snapshot, an AUDIT, a restore
 * (recovery) and the digest (tests). A DPDK application (the tables are
 * rte_hash tables in EAL memory):
 *
 *   kc-ledger-cost [EAL args] -- COINS [ACCOUNTS]
 *
 * fills a ledger of max_coins COINS with that many LIVE coins over
 * ACCOUNTS accounts (default 4096) through kc_ledger_apply, as MINTs of
 * 256, then times each operation (the median of 5 runs, TSC) and prints
 * one JSON object.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "kc_ledger.h"

#define RUNS 5

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_us(uint64_t *t)
{
	qsort(t, RUNS, sizeof(*t), cmp_u64);
	return (double)t[RUNS / 2] * 1e6 / (double)rte_get_tsc_hz();
}

int main(int argc, char **argv)
{
	struct kc_ledger_caller who = { .mint_authority = true };
	struct kc_ledger_limits lim = { .reap_after_s = 3600 };
	uint64_t t_snap[RUNS], t_audit[RUNS], t_restore[RUNS], t_digest[RUNS];
	uint8_t in[32], out[64], hop[KC_HOPREC_MAX];
	uint8_t digest[KC_LEDGER_DIGEST_LEN];
	struct kc_ledger *l, *r;
	struct kc_ledger_result lr;
	struct kc_audit a;
	uint64_t coins, made = 0, seq = 0;
	uint8_t *buf;
	size_t len = 0, cap;
	int n = rte_eal_init(argc, argv);

	if (n < 0) {
		fprintf(stderr, "kc-ledger-cost: EAL: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	if (argc < 2) {
		fprintf(stderr, "usage: kc-ledger-cost [EAL args] -- COINS "
			"[ACCOUNTS]\n");
		return 2;
	}
	coins = strtoull(argv[1], NULL, 10);
	lim.max_coins = (uint32_t)coins;
	lim.max_accounts = argc > 2 ? (uint32_t)atoi(argv[2]) : 4096;
	l = kc_ledger_create("cost", &lim, (int)rte_socket_id());
	r = kc_ledger_create("cost_r", &lim, (int)rte_socket_id());
	cap = kc_ledger_snapshot_max(&lim);
	buf = malloc(cap);
	if (l == NULL || r == NULL || buf == NULL) {
		fprintf(stderr, "kc-ledger-cost: cannot allocate a ledger of "
			"%" PRIu64 " coins: %s\n", coins,
			rte_strerror(rte_errno));
		return 1;
	}
	while (made < coins) {
		uint32_t count = coins - made < KC_MINT_COUNT_MAX ?
			(uint32_t)(coins - made) : KC_MINT_COUNT_MAX;
		uint32_t account = 1 + (uint32_t)(seq % lim.max_accounts);
		size_t plen = kc_enc_mint(in, sizeof(in), account, 100, count);

		seq += 3;
		kc_ledger_apply(l, &who, KC_OP_MINT, in, (uint32_t)plen, seq, 0,
				out, sizeof(out), hop, &lr);
		if (lr.status != KC_STATUS_OK) {
			fprintf(stderr, "kc-ledger-cost: MINT: %s\n",
				kc_status_name(lr.status));
			return 1;
		}
		made += count;
	}
	for (int i = 0; i < RUNS; i++) {
		uint64_t t0 = rte_rdtsc();

		len = kc_ledger_snapshot(l, buf, cap);
		t_snap[i] = rte_rdtsc() - t0;
		t0 = rte_rdtsc();
		kc_ledger_audit(l, &a);
		t_audit[i] = rte_rdtsc() - t0;
		t0 = rte_rdtsc();
		if (kc_ledger_restore(r, buf, len) != 0) {
			fprintf(stderr, "kc-ledger-cost: restore failed\n");
			return 1;
		}
		t_restore[i] = rte_rdtsc() - t0;
		t0 = rte_rdtsc();
		kc_ledger_digest(l, digest);
		t_digest[i] = rte_rdtsc() - t0;
	}
	printf("{\"coins\": %" PRIu64 ", \"accounts\": %u, "
	       "\"snapshot_bytes\": %zu, \"audit_ok\": %s, "
	       "\"snapshot_us\": %.0f, \"audit_us\": %.0f, "
	       "\"restore_us\": %.0f, \"digest_us\": %.0f}\n", coins,
	       lim.max_accounts, len, a.ok ? "true" : "false",
	       median_us(t_snap), median_us(t_audit), median_us(t_restore),
	       median_us(t_digest));
	kc_ledger_free(l);
	kc_ledger_free(r);
	free(buf);
	rte_eal_cleanup();
	return a.ok ? 0 : 1;
}
