/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-auth-bench: what a request's tag costs, in TSC cycles per tag, one
 * thread, the median of 5 runs (perf/bench-auth, docs/performance.md).
 *
 *   one      kc_auth_verify, one message at a time (a REPLY's signing costs
 *            the same: kc_auth_tag)
 *   burst N  kc_auth_verify_burst over N messages (what an RX lcore does
 *            with a received burst)
 *   and, from libIPSec_MB directly, by manager (sse: SHA-NI lanes where the
 *   CPU has them; avx2; avx512), bursts of 32 of
 *   hmac     the same HMAC-SHA256 (which manager kc_auth_mb.c should pick;
 *            also one job alone)
 *   cmac     AES-128-CMAC (16-byte tag): what a cheaper, AES-NI based tag
 *            would cost; it would be a protocol change
 *
 * for KCP messages whose signed part is 32 header bytes plus 8, 200 and
 * 1000 payload bytes. Every message of a burst has its own client key, as
 * on a busy appliance. Each figure is the median of 5 rounds, and every
 * round times every figure once, so the noise of a shared machine falls
 * on all alike. One JSON object per line on stdout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <x86intrin.h>

#define NO_COMPAT_IMB_API_053
#include <intel-ipsec-mb.h>

#include "kc_auth.h"
#include "kc_proto.h"

#define BURST_MAX 32u
#define RUNS 5
#define TAGS_PER_RUN 200000u

static uint8_t msgs[BURST_MAX][KC_HDR_LEN + 1000] __attribute__((aligned(64)));
static struct kc_key keys[BURST_MAX];

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

enum what { ONE, BURST, RAW_HMAC, RAW_CMAC };

struct raw {
	IMB_MGR *mgr;
	IMB_JOB jobs[BURST_MAX];
	uint8_t out[BURST_MAX][KC_TAG_LEN];
	uint32_t enc[BURST_MAX][4 * 11] __attribute__((aligned(16)));
	uint32_t dec[4 * 11] __attribute__((aligned(16)));
	uint8_t sk1[BURST_MAX][16] __attribute__((aligned(16)));
	uint8_t sk2[BURST_MAX][16] __attribute__((aligned(16)));
};

/* Jobs for the library's general burst API (hash-only bursts take no
 * CMAC in 1.3), over the same contiguous range kc_auth_mb.c hashes. */
static void raw_jobs(struct raw *r, enum what w, uint32_t plen)
{
	memset(r->jobs, 0, sizeof(r->jobs));
	for (uint32_t i = 0; i < BURST_MAX; i++) {
		IMB_JOB *j = &r->jobs[i];

		j->cipher_mode = IMB_CIPHER_NULL;
		j->cipher_direction = IMB_DIR_ENCRYPT;
		j->chain_order = IMB_ORDER_HASH_CIPHER;
		j->src = msgs[i];
		j->hash_start_src_offset_in_bytes = KC_OFF_TAG;
		j->msg_len_to_hash_in_bytes = KC_HDR_SIGNED_LEN + plen;
		j->auth_tag_output = r->out[i];
		if (w == RAW_HMAC) {
			j->hash_alg = IMB_AUTH_HMAC_SHA_256;
			j->auth_tag_output_len_in_bytes = KC_TAG_LEN;
			j->u.HMAC._hashed_auth_key_xor_ipad =
				(const uint8_t *)keys[i].hmac.inner.h;
			j->u.HMAC._hashed_auth_key_xor_opad =
				(const uint8_t *)keys[i].hmac.outer.h;
		} else {
			IMB_AES_KEYEXP_128(r->mgr, keys[i].key, r->enc[i],
					   r->dec);
			IMB_AES_CMAC_SUBKEY_GEN_128(r->mgr, r->enc[i],
						    r->sk1[i], r->sk2[i]);
			j->hash_alg = IMB_AUTH_AES_CMAC;
			j->auth_tag_output_len_in_bytes = 16;
			j->u.CMAC._key_expanded = r->enc[i];
			j->u.CMAC._skey1 = r->sk1[i];
			j->u.CMAC._skey2 = r->sk2[i];
		}
	}
}

/* One burst of n through the general API; false if a job failed. */
static bool raw_burst(struct raw *r, uint32_t n)
{
	IMB_JOB *jp[BURST_MAX];
	uint32_t got = IMB_GET_NEXT_BURST(r->mgr, n, jp);
	uint32_t done;

	for (uint32_t i = 0; i < got; i++)
		*jp[i] = r->jobs[i];
	done = IMB_SUBMIT_BURST(r->mgr, got, jp);
	if (done < got)
		done += IMB_FLUSH_BURST(r->mgr, got - done, jp + done);
	for (uint32_t i = 0; i < done; i++)
		if (jp[i]->status != IMB_STATUS_COMPLETED)
			return false;
	return done == got && got == n;
}

static const struct {
	const char *name;
	void (*init)(IMB_MGR *);
	uint64_t needs; /* the CPU features the manager's code uses */
} mgrs[] = {
	{ "sse", init_mb_mgr_sse, 0 },
	{ "avx2", init_mb_mgr_avx2, IMB_FEATURE_AVX2 },
	{ "avx512", init_mb_mgr_avx512, IMB_FEATURE_AVX512_SKX },
};

/* One figure: a kind of tag, a burst size, a message size, and the TSC
 * cycles per tag of each round. */
struct bench_case {
	enum what w;
	int mgr; /* index into mgrs, for RAW_*; -1 otherwise */
	uint32_t n;
	uint32_t plen;
	double per[RUNS];
};

/* One timed run of c (its round-th); false if a tag was wrong. */
static bool run_case(struct bench_case *c, int round, struct kc_auth_mb *mb,
		     struct raw *r)
{
	const struct kc_key *kp[BURST_MAX];
	uint8_t *mp[BURST_MAX];
	uint32_t lens[BURST_MAX];
	bool ok[BURST_MAX];
	static uint8_t tags[BURST_MAX][KC_TAG_LEN];
	uint32_t rounds = TAGS_PER_RUN / c->n;
	bool good = true;
	uint64_t t0;

	for (uint32_t i = 0; i < c->n; i++) {
		kp[i] = &keys[i];
		mp[i] = msgs[i];
		lens[i] = KC_HDR_LEN + c->plen;
		kc_auth_sign(kp[i], mp[i], lens[i]);
	}
	if (c->mgr >= 0) {
		/* The range the library hashes, laid out as kc_auth_mb.c
		 * lays it: the signed header bytes over the tag. */
		for (uint32_t i = 0; i < c->n; i++) {
			memcpy(tags[i], mp[i] + KC_OFF_TAG, KC_TAG_LEN);
			memcpy(mp[i] + KC_OFF_TAG, mp[i], KC_HDR_SIGNED_LEN);
		}
		mgrs[c->mgr].init(r->mgr);
		raw_jobs(r, c->w, c->plen);
	}
	t0 = __rdtsc();
	for (uint32_t k = 0; k < rounds; k++) {
		switch (c->w) {
		case ONE:
			for (uint32_t i = 0; i < c->n; i++)
				good &= kc_auth_verify(kp[i], mp[i], lens[i]);
			break;
		case BURST:
			kc_auth_verify_burst(mb, kp, mp, lens, c->n, ok);
			for (uint32_t i = 0; i < c->n; i++)
				good &= ok[i];
			break;
		case RAW_HMAC:
		case RAW_CMAC:
			good &= raw_burst(r, c->n);
			break;
		}
	}
	c->per[round] = (double)(__rdtsc() - t0) / (rounds * c->n);
	/* The library's HMAC is the appliance's tag, under every manager. */
	for (uint32_t i = 0; c->w == RAW_HMAC && i < c->n; i++)
		good &= memcmp(r->out[i], tags[i], KC_TAG_LEN) == 0;
	return good;
}

static void report(struct bench_case *c)
{
	static const char *const what[] = {
		[ONE] = "one", [BURST] = "burst",
		[RAW_HMAC] = "hmac", [RAW_CMAC] = "cmac",
	};

	qsort(c->per, RUNS, sizeof(c->per[0]), cmp_double);
	printf("{\"what\":\"%s\",\"manager\":\"%s\",\"burst\":%u,"
	       "\"signed_bytes\":%u,\"cycles_per_tag\":%.1f}\n",
	       what[c->w], c->mgr >= 0 ? mgrs[c->mgr].name :
	       c->w == BURST ? "kc_auth_mb" : "-", c->n,
	       KC_HDR_SIGNED_LEN + c->plen, c->per[RUNS / 2]);
}

int main(void)
{
	static const uint32_t plens[] = { 8, 200, 1000 };
	static const uint32_t bursts[] = { 1, 2, 8, 32 };
	static struct bench_case cases[64];
	static struct raw r;
	uint32_t nc = 0;
	char err[256];
	struct kc_auth_mb *mb = kc_auth_mb_create(err, sizeof(err));

	if (mb == NULL) {
		fprintf(stderr, "kc-auth-bench: %s\n", err);
		return 1;
	}
	r.mgr = alloc_mb_mgr(0);
	if (r.mgr == NULL) {
		fprintf(stderr, "kc-auth-bench: cannot allocate a manager\n");
		return 1;
	}
	for (uint32_t i = 0; i < BURST_MAX; i++) {
		uint8_t raw_key[KC_KEY_LEN];

		fill(raw_key, sizeof(raw_key), 1000 + i);
		kc_key_init(&keys[i], i + 1, raw_key, "bench");
		fill(msgs[i], sizeof(msgs[i]), 2000 + i);
	}
	for (size_t p = 0; p < sizeof(plens) / sizeof(plens[0]); p++) {
		cases[nc++] = (struct bench_case){ ONE, -1, 1, plens[p], { 0 } };
		for (size_t b = 0; b < sizeof(bursts) / sizeof(bursts[0]); b++)
			cases[nc++] = (struct bench_case){
				BURST, -1, bursts[b], plens[p], { 0 } };
	}
	for (int m = 0; m < (int)(sizeof(mgrs) / sizeof(mgrs[0])); m++) {
		/* A CPU without the manager's instructions is skipped. */
		if ((r.mgr->features & mgrs[m].needs) != mgrs[m].needs)
			continue;
		for (size_t p = 0; p < sizeof(plens) / sizeof(plens[0]); p++) {
			/* One job alone: what the library costs a burst of
			 * one (kc_auth_mb.c sends that down the single path). */
			cases[nc++] = (struct bench_case){
				RAW_HMAC, m, 1, plens[p], { 0 } };
			cases[nc++] = (struct bench_case){
				RAW_HMAC, m, BURST_MAX, plens[p], { 0 } };
			cases[nc++] = (struct bench_case){
				RAW_CMAC, m, BURST_MAX, plens[p], { 0 } };
		}
	}
	/* Rounds outermost: every figure is taken across the same stretch
	 * of time, so a noisy moment of a shared machine lands on all. */
	for (int round = 0; round < RUNS; round++) {
		for (uint32_t i = 0; i < nc; i++) {
			if (!run_case(&cases[i], round, mb, &r)) {
				fprintf(stderr, "kc-auth-bench: wrong tags "
					"(case %u, burst %u, %u payload "
					"bytes)\n", i, cases[i].n,
					cases[i].plen);
				return 1;
			}
		}
	}
	for (uint32_t i = 0; i < nc; i++)
		report(&cases[i]);
	free_mb_mgr(r.mgr);
	kc_auth_mb_free(mb);
	return 0;
}
