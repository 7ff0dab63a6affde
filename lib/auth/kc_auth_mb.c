/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Verifying the tags of a burst of requests together, and signing the
 * burst's REPLYs together (kc_ops_sign_flush), with the
 * multi-buffer HMAC-SHA256 of Intel's IPsec library (libIPSec_MB, Debian's
 * libipsec-mb; DPDK's aesni_mb crypto driver is built on it). SHA-256 with
 * the SHA extensions is bound by the latency of its round instructions, so
 * one message at a time leaves the unit idle most of the time; the
 * library's SSE manager interleaves messages, and without the extensions
 * its AVX2/AVX-512 managers hash 8 or 16 messages side by side.
 *
 * perf/bench-auth measures it against the single-message path (the table
 * in docs/performance.md, "Request tags"): from bursts of two on, a
 * PING-sized tag costs about a third less, a kilobyte's about half; a
 * burst of one costs a little more through the library, so one message
 * alone takes the single-message path. Where the CPU has SHA-NI the SSE
 * manager is chosen: on the AMD EPYC measured there the AVX-512 manager's
 * 16 lanes are slower than its SHA-NI lanes. Without SHA-NI the library
 * picks the widest manager the CPU has.
 *
 * The signed bytes are the header's first 32 and the payload, with the tag
 * between them; the library hashes one contiguous range. So the header's
 * signed bytes are copied over the tag for the call, which makes the range
 * [32, len) exactly what is signed, and the tag is put back before
 * returning (the journal keeps the request as it arrived), or, when
 * signing, the new tag is written there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The library's pre-0.53 names (SHA1, SHA256, ...) clash with OpenSSL's. */
#define NO_COMPAT_IMB_API_053
#include <intel-ipsec-mb.h>

#include "kc_auth.h"
#include "kc_auth_priv.h"

/* Jobs per library call: past a few lanes' worth there is nothing more to
 * gain, and longer bursts are verified in chunks of this. */
#define KC_AUTH_MB_JOBS 32u

struct kc_auth_mb {
	IMB_MGR *mgr;
	IMB_JOB jobs[KC_AUTH_MB_JOBS];
	uint8_t saved[KC_AUTH_MB_JOBS][KC_TAG_LEN];
	uint8_t out[KC_AUTH_MB_JOBS][KC_TAG_LEN];
};

_Static_assert(KC_HDR_SIGNED_LEN == KC_OFF_TAG,
	       "the tag follows the signed header");
_Static_assert(KC_OFF_TAG + KC_TAG_LEN == KC_HDR_LEN,
	       "the payload follows the tag");
_Static_assert(KC_TAG_LEN == KC_HDR_SIGNED_LEN,
	       "the signed header fits exactly where the tag is");

struct kc_auth_mb *kc_auth_mb_create(char *err, size_t err_len)
{
	struct kc_auth_mb *mb = calloc(1, sizeof(*mb));

	if (mb == NULL) {
		snprintf(err, err_len, "cannot allocate %zu bytes for the "
			 "multi-buffer HMAC", sizeof(*mb));
		return NULL;
	}
	mb->mgr = alloc_mb_mgr(0);
	if (mb->mgr == NULL) {
		snprintf(err, err_len, "libIPSec_MB: cannot allocate a "
			 "manager (%zu bytes)", imb_get_mb_mgr_size());
		free(mb);
		return NULL;
	}
	if (mb->mgr->features & IMB_FEATURE_SHANI)
		init_mb_mgr_sse(mb->mgr);
	else
		init_mb_mgr_auto(mb->mgr, NULL);
	if (imb_get_errno(mb->mgr) != 0) {
		snprintf(err, err_len, "libIPSec_MB: cannot set up a manager: "
			 "%s", imb_get_strerror(imb_get_errno(mb->mgr)));
		kc_auth_mb_free(mb);
		return NULL;
	}
	for (unsigned int i = 0; i < KC_AUTH_MB_JOBS; i++) {
		IMB_JOB *j = &mb->jobs[i];

		j->cipher_mode = IMB_CIPHER_NULL;
		j->cipher_direction = IMB_DIR_ENCRYPT;
		j->chain_order = IMB_ORDER_HASH_CIPHER;
		j->hash_alg = IMB_AUTH_HMAC_SHA_256;
		j->hash_start_src_offset_in_bytes = KC_OFF_TAG;
		j->auth_tag_output = mb->out[i];
		j->auth_tag_output_len_in_bytes = KC_TAG_LEN;
	}
	return mb;
}

void kc_auth_mb_free(struct kc_auth_mb *mb)
{
	if (mb == NULL)
		return;
	free_mb_mgr(mb->mgr);
	free(mb);
}

/* Jobs for n messages, each with its signed header copied over its tag
 * (the tag saved first); false if the library refused one, with every
 * tag put back. */
static bool hash_chunk(struct kc_auth_mb *mb,
		       const struct kc_key *const keys[],
		       uint8_t *const msgs[], const uint32_t lens[],
		       uint32_t n)
{
	uint32_t done;

	for (uint32_t i = 0; i < n; i++) {
		IMB_JOB *j = &mb->jobs[i];

		/* The key's SHA-256 states are in the library's own
		 * digest layout (host-order words): checked by test_auth. */
		j->u.HMAC._hashed_auth_key_xor_ipad =
			(const uint8_t *)keys[i]->hmac.inner.h;
		j->u.HMAC._hashed_auth_key_xor_opad =
			(const uint8_t *)keys[i]->hmac.outer.h;
		j->src = msgs[i];
		j->msg_len_to_hash_in_bytes = lens[i] - KC_OFF_TAG;
		memcpy(mb->saved[i], msgs[i] + KC_OFF_TAG, KC_TAG_LEN);
		memcpy(msgs[i] + KC_OFF_TAG, msgs[i], KC_HDR_SIGNED_LEN);
	}
	done = IMB_SUBMIT_HASH_BURST(mb->mgr, mb->jobs, n,
				     IMB_AUTH_HMAC_SHA_256);
	for (uint32_t i = 0; i < n; i++)
		memcpy(msgs[i] + KC_OFF_TAG, mb->saved[i], KC_TAG_LEN);
	return done == n;
}

static void verify_chunk(struct kc_auth_mb *mb,
			 const struct kc_key *const keys[],
			 uint8_t *const msgs[], const uint32_t lens[],
			 uint32_t n, bool ok[])
{
	if (!hash_chunk(mb, keys, msgs, lens, n)) {
		/* The library refused a job it should not have: answer from
		 * the single-message path rather than drop good requests. */
		for (uint32_t i = 0; i < n; i++)
			ok[i] = kc_auth_verify(keys[i], msgs[i], lens[i]);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		ok[i] = kc_tag_equal(mb->out[i], mb->saved[i]);
}

void kc_auth_verify_burst(struct kc_auth_mb *mb,
			  const struct kc_key *const keys[],
			  uint8_t *const msgs[], const uint32_t lens[],
			  uint32_t n, bool ok[])
{
	bool one_by_one = n == 1 || mb == NULL;

	/* A message shorter than a header has no tag: the single-message
	 * path says so, without a job reading before its start. */
	for (uint32_t i = 0; i < n; i++)
		one_by_one |= lens[i] < KC_HDR_LEN;
	if (one_by_one) {
		for (uint32_t i = 0; i < n; i++)
			ok[i] = kc_auth_verify(keys[i], msgs[i], lens[i]);
		return;
	}
	for (uint32_t i = 0; i < n; i += KC_AUTH_MB_JOBS)
		verify_chunk(mb, keys + i, msgs + i, lens + i,
			     n - i < KC_AUTH_MB_JOBS ? n - i : KC_AUTH_MB_JOBS,
			     ok + i);
}

static void sign_chunk(struct kc_auth_mb *mb,
		       const struct kc_key *const keys[],
		       uint8_t *const msgs[], const uint32_t lens[],
		       uint32_t n)
{
	if (!hash_chunk(mb, keys, msgs, lens, n)) {
		/* As in verify_chunk: the single-message path instead. */
		for (uint32_t i = 0; i < n; i++)
			kc_auth_sign(keys[i], msgs[i], lens[i]);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		memcpy(msgs[i] + KC_OFF_TAG, mb->out[i], KC_TAG_LEN);
}

void kc_auth_sign_burst(struct kc_auth_mb *mb,
			const struct kc_key *const keys[],
			uint8_t *const msgs[], const uint32_t lens[],
			uint32_t n)
{
	if (n == 1 || mb == NULL) {
		for (uint32_t i = 0; i < n; i++)
			kc_auth_sign(keys[i], msgs[i], lens[i]);
		return;
	}
	for (uint32_t i = 0; i < n; i += KC_AUTH_MB_JOBS)
		sign_chunk(mb, keys + i, msgs + i, lens + i,
			   n - i < KC_AUTH_MB_JOBS ? n - i : KC_AUTH_MB_JOBS);
}
