/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/auth: the precomputed-state HMAC-SHA256 against
 * OpenSSL's own one-shot HMAC(), RFC 4231, tag verification (one message
 * and multi-buffer bursts), and the keys
 * file parser with every error it reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "kc_auth.h"
#include "kc_proto.h"

#define DEV_KEY_HEX "6b696e67636f6272612d6465762d6b65792d6c6f63616c2d6f6e6c792d303031"
#define KEY_A_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B_HEX "FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100"

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* --- HMAC ---------------------------------------------------------------- */

static void reference_tag(const uint8_t key[KC_KEY_LEN], const uint8_t *hdr,
			  const uint8_t *payload, size_t n,
			  uint8_t out[KC_TAG_LEN])
{
	static uint8_t msg[KC_HDR_SIGNED_LEN + KC_PAYLOAD_MAX];
	unsigned int out_len = 0;

	memcpy(msg, hdr, KC_HDR_SIGNED_LEN);
	if (n > 0)
		memcpy(msg + KC_HDR_SIGNED_LEN, payload, n);
	assert_non_null(HMAC(EVP_sha256(), key, KC_KEY_LEN, msg,
			     KC_HDR_SIGNED_LEN + n, out, &out_len));
	assert_int_equal(out_len, KC_TAG_LEN);
}

static void test_tag_matches_openssl(void **state)
{
	/* Every length over the first blocks (the padding's edge cases
	 * among them), then long ones. */
	static size_t lens[300 + 3];
	uint8_t keys[4][KC_KEY_LEN];
	uint8_t hdr[KC_HDR_LEN];
	static uint8_t payload[KC_PAYLOAD_MAX];
	unsigned int ki;
	size_t li;

	(void)state;
	for (li = 0; li < 300; li++)
		lens[li] = li;
	lens[300] = 1000;
	lens[301] = 1001;
	lens[302] = KC_PAYLOAD_MAX;
	memcpy(keys[0], kc_dev_key, KC_KEY_LEN);
	memset(keys[1], 0, KC_KEY_LEN);
	memset(keys[2], 0xff, KC_KEY_LEN);
	fill(keys[3], KC_KEY_LEN, 42);
	fill(hdr, sizeof(hdr), 7);
	fill(payload, sizeof(payload), 9);

	for (ki = 0; ki < 4; ki++) {
		struct kc_key k;

		kc_key_init(&k, ki + 1, keys[ki], "t");
		for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			uint8_t mine[KC_TAG_LEN];
			uint8_t ref[KC_TAG_LEN];

			kc_auth_tag(&k, hdr, payload, lens[li], mine);
			reference_tag(keys[ki], hdr, payload, lens[li], ref);
			assert_memory_equal(mine, ref, KC_TAG_LEN);
			/* The state is reusable: same input, same tag. */
			kc_auth_tag(&k, hdr, payload, lens[li], mine);
			assert_memory_equal(mine, ref, KC_TAG_LEN);
		}
	}
}

/*
 * The burst verifier says what kc_auth_verify says of each message, leaves
 * every byte as it was, and takes bursts of any size (its chunks are 32):
 * good tags under four keys, a flipped tag bit, a flipped payload bit, a
 * flipped signed-header bit, another client's key, and a message too short
 * to hold a tag (which sends the burst down the single-message path).
 */
static void test_verify_burst(void **state)
{
	enum { N = 75, CASES = 7 };
	static const uint32_t sizes[] = { 1, 2, 3, 31, 32, 33, 64, N };
	static uint8_t buf[N][KC_HDR_LEN + 1500];
	static uint8_t copy[N][KC_HDR_LEN + 1500];
	uint8_t raw[4][KC_KEY_LEN];
	struct kc_key k[4];
	const struct kc_key *keys[N];
	uint8_t *msgs[N];
	uint32_t lens[N];
	bool ok[N];
	char err[128];
	struct kc_auth_mb *mb = kc_auth_mb_create(err, sizeof(err));

	(void)state;
	assert_non_null(mb);
	for (unsigned int i = 0; i < 4; i++) {
		fill(raw[i], KC_KEY_LEN, 100 + i);
		kc_key_init(&k[i], i + 1, raw[i], "t");
	}
	for (unsigned int with_short = 0; with_short < 2; with_short++) {
		for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]);
		     si++) {
			uint32_t n = sizes[si];

			for (uint32_t i = 0; i < n; i++) {
				uint32_t plen = (i * 37u) % 1500u;

				keys[i] = &k[i % 4];
				msgs[i] = buf[i];
				lens[i] = KC_HDR_LEN + plen;
				fill(buf[i], lens[i], i * 7u + n);
				kc_auth_sign(keys[i], buf[i], lens[i]);
				switch (i % CASES) {
				case 1:
					buf[i][KC_OFF_TAG + i % 32] ^= 0x10;
					break;
				case 2:
					if (plen > 0)
						buf[i][KC_HDR_LEN + plen - 1] ^= 1;
					break;
				case 3:
					buf[i][i % KC_HDR_SIGNED_LEN] ^= 0x80;
					break;
				case 4:
					keys[i] = &k[(i + 1) % 4];
					break;
				default:
					break;
				}
				memcpy(copy[i], buf[i], lens[i]);
			}
			if (with_short)
				lens[n / 2] = KC_HDR_LEN - 1;
			kc_auth_verify_burst(mb, keys, msgs, lens, n, ok);
			for (uint32_t i = 0; i < n; i++) {
				bool expect = kc_auth_verify(keys[i], msgs[i],
							     lens[i]);
				bool changed = (i % CASES == 1) ||
					       (i % CASES == 2 &&
						lens[i] > KC_HDR_LEN) ||
					       (i % CASES == 3) ||
					       (i % CASES == 4);

				assert_int_equal(ok[i], expect);
				assert_int_equal(expect,
						 !changed && lens[i] >= KC_HDR_LEN);
				assert_memory_equal(buf[i], copy[i], lens[i]);
			}
		}
	}
	/* Without a manager: one at a time, the same answers. */
	kc_auth_verify_burst(NULL, keys, msgs, lens, N, ok);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(ok[i], kc_auth_verify(keys[i], msgs[i],
						       lens[i]));
	kc_auth_mb_free(mb);
	kc_auth_mb_free(NULL);
}

/*
 * Signing a burst gives each message the tag kc_auth_sign gives it, and
 * changes nothing else: bursts of 1 to past one library call (32 jobs),
 * several keys, payloads of 0 to 1500 bytes; and without a manager.
 */
static void test_sign_burst(void **state)
{
	enum { N = 75 };
	static const uint32_t sizes[] = { 1, 2, 3, 31, 32, 33, 64, N };
	static uint8_t buf[N][KC_HDR_LEN + 1500];
	static uint8_t want[N][KC_HDR_LEN + 1500];
	uint8_t raw[4][KC_KEY_LEN];
	struct kc_key k[4];
	const struct kc_key *keys[N];
	uint8_t *msgs[N];
	uint32_t lens[N];
	char err[128];
	struct kc_auth_mb *mb = kc_auth_mb_create(err, sizeof(err));

	(void)state;
	assert_non_null(mb);
	for (unsigned int i = 0; i < 4; i++) {
		fill(raw[i], KC_KEY_LEN, 200 + i);
		kc_key_init(&k[i], i + 1, raw[i], "t");
	}
	for (unsigned int with_mgr = 0; with_mgr < 2; with_mgr++) {
		for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]);
		     si++) {
			uint32_t n = sizes[si];

			for (uint32_t i = 0; i < n; i++) {
				keys[i] = &k[(i * 3) % 4];
				lens[i] = KC_HDR_LEN + (i * 53u + n) % 1501u;
				msgs[i] = buf[i];
				fill(buf[i], lens[i], 7 * i + n);
				memcpy(want[i], buf[i], lens[i]);
				kc_auth_sign(keys[i], want[i], lens[i]);
			}
			kc_auth_sign_burst(with_mgr ? mb : NULL, keys, msgs,
					   lens, n);
			for (uint32_t i = 0; i < n; i++) {
				assert_memory_equal(buf[i], want[i], lens[i]);
				assert_true(kc_auth_verify(keys[i], buf[i],
							   lens[i]));
			}
		}
	}
	kc_auth_mb_free(mb);
}

/*
 * RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
 * HMAC zero-pads a short key to the block size, so "Jefe" padded to our
 * 32-byte key length is the same key. The data is 28 bytes, shorter than
 * the 32 signed header bytes a tag always covers, so the RFC value itself
 * is checked through OpenSSL with the padded key, and our tag over the
 * data zero-padded to 32 bytes is checked against OpenSSL with "Jefe".
 */
static void test_rfc4231_case2(void **state)
{
	static const char data[] = "what do ya want for nothing?";
	static const uint8_t expect[KC_TAG_LEN] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
		0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
		0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
		0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
	};
	uint8_t key[KC_KEY_LEN] = { 'J', 'e', 'f', 'e' };
	uint8_t ref[KC_TAG_LEN];
	unsigned int out_len = 0;

	(void)state;
	/* First, the reference itself gives the RFC value. */
	assert_non_null(HMAC(EVP_sha256(), "Jefe", 4, (const uint8_t *)data,
			     strlen(data), ref, &out_len));
	assert_memory_equal(ref, expect, KC_TAG_LEN);
	/* Zero-padding the key to 32 bytes does not change HMAC. */
	assert_non_null(HMAC(EVP_sha256(), key, KC_KEY_LEN,
			     (const uint8_t *)data, strlen(data), ref,
			     &out_len));
	assert_memory_equal(ref, expect, KC_TAG_LEN);
	{
		uint8_t hdr[KC_HDR_SIGNED_LEN] = { 0 };
		uint8_t mine[KC_TAG_LEN];
		struct kc_key k;

		memcpy(hdr, data, strlen(data));
		kc_key_init(&k, 1, key, "jefe");
		kc_auth_tag(&k, hdr, NULL, 0, mine);
		assert_non_null(HMAC(EVP_sha256(), "Jefe", 4, hdr, sizeof(hdr),
				     ref, &out_len));
		assert_memory_equal(mine, ref, KC_TAG_LEN);
	}
}

/* A signed message of n payload bytes. */
static size_t signed_msg(const struct kc_key *k, uint8_t *buf, size_t n)
{
	struct kc_hdr h;

	memset(&h, 0, sizeof(h));
	h.magic = KC_PROTO_MAGIC;
	h.version = KC_PROTO_VERSION;
	h.type = KC_TYPE_REQUEST;
	h.op = KC_OP_PUBLISH;
	kc_msg_id_make(h.msg_id, 1717243200000ull, k->client_id, 1);
	h.client_id = k->client_id;
	h.payload_len = (uint32_t)n;
	kc_hdr_encode(buf, &h);
	fill(buf + KC_HDR_LEN, n, 3);
	kc_auth_sign(k, buf, KC_HDR_LEN + n);
	return KC_HDR_LEN + n;
}

static void test_sign_verify(void **state)
{
	uint8_t buf[KC_DATAGRAM_MAX];
	uint8_t other_key[KC_KEY_LEN];
	struct kc_key k;
	struct kc_key wrong;
	size_t n;
	size_t i;

	(void)state;
	kc_key_init(&k, 5, kc_dev_key, "five");
	fill(other_key, sizeof(other_key), 77);
	kc_key_init(&wrong, 5, other_key, "other");

	n = signed_msg(&k, buf, 100);
	assert_true(kc_auth_verify(&k, buf, n));
	assert_false(kc_auth_verify(&wrong, buf, n));

	/* A flipped bit anywhere in the signed header, the tag or the
	 * payload is caught. */
	for (i = 0; i < n; i++) {
		buf[i] ^= 0x01;
		assert_false(kc_auth_verify(&k, buf, n));
		buf[i] ^= 0x01;
	}
	buf[KC_OFF_CLIENT_ID + 3] ^= 0x80;
	assert_false(kc_auth_verify(&k, buf, n));
	buf[KC_OFF_CLIENT_ID + 3] ^= 0x80;
	buf[KC_OFF_TAG + 31] ^= 0x80;
	assert_false(kc_auth_verify(&k, buf, n));
	buf[KC_OFF_TAG + 31] ^= 0x80;
	buf[KC_HDR_LEN + 50] ^= 0x10;
	assert_false(kc_auth_verify(&k, buf, n));
	buf[KC_HDR_LEN + 50] ^= 0x10;
	assert_true(kc_auth_verify(&k, buf, n));

	/* Truncation or extension breaks it, short buffers never verify. */
	assert_false(kc_auth_verify(&k, buf, n - 1));
	assert_false(kc_auth_verify(&k, buf, KC_HDR_LEN - 1));
	assert_false(kc_auth_verify(&k, buf, 0));

	/* Empty and maximal payloads. */
	n = signed_msg(&k, buf, 0);
	assert_true(kc_auth_verify(&k, buf, n));
	n = signed_msg(&k, buf, KC_PAYLOAD_MAX);
	assert_true(kc_auth_verify(&k, buf, n));
}

static void test_key_init_name(void **state)
{
	struct kc_key k;

	(void)state;
	kc_key_init(&k, 9, kc_dev_key, "a-name-that-is-longer-than-31-characters");
	assert_int_equal(strlen(k.name), KC_KEY_NAME_MAX - 1);
	kc_key_init(&k, 9, kc_dev_key, NULL);
	assert_string_equal(k.name, "");
	assert_int_equal(k.client_id, 9);
	assert_memory_equal(k.key, kc_dev_key, KC_KEY_LEN);
}

static void test_key_from_hex(void **state)
{
	uint8_t key[KC_KEY_LEN];
	uint8_t before[KC_KEY_LEN];
	char bad[65];

	(void)state;
	assert_true(kc_key_from_hex(DEV_KEY_HEX, 64, key));
	assert_memory_equal(key, kc_dev_key, KC_KEY_LEN);
	assert_true(kc_key_from_hex(KEY_B_HEX, 64, key));
	assert_int_equal(key[0], 0xff);
	assert_int_equal(key[31], 0x00);
	memcpy(before, key, sizeof(key));
	assert_false(kc_key_from_hex(DEV_KEY_HEX, 63, key));
	assert_false(kc_key_from_hex(DEV_KEY_HEX "00", 66, key));
	assert_false(kc_key_from_hex(NULL, 64, key));
	strcpy(bad, DEV_KEY_HEX);
	bad[40] = 'g';
	assert_false(kc_key_from_hex(bad, 64, key));
	bad[40] = ' ';
	assert_false(kc_key_from_hex(bad, 64, key));
	/* A failed parse leaves the output alone. */
	assert_memory_equal(key, before, KC_KEY_LEN);
}

/* --- keys file ----------------------------------------------------------- */

static struct kc_keyring *parse(const char *text, char *err, size_t err_len)
{
	err[0] = '\0';
	return kc_keyring_parse(text, strlen(text), "test.keys", err, err_len);
}

static void test_keys_good(void **state)
{
	static const char text[] =
		"# KingCobra keys\n"
		"\n"
		"   \t \n"
		"42 " KEY_A_HEX " alice   # trailing comment\n"
		"7\t" KEY_B_HEX "\r\n"
		"  1 " DEV_KEY_HEX " dev-local-only\n"
		"4294967294 " KEY_A_HEX " max_id";
	char err[256];
	struct kc_keyring *kr;
	const struct kc_key *k;
	uint32_t i;

	(void)state;
	kr = parse(text, err, sizeof(err));
	assert_non_null(kr);
	assert_string_equal(err, "");
	assert_int_equal(kr->count, 4);
	assert_true(kr->has_dev_key);
	for (i = 1; i < kr->count; i++)
		assert_true(kr->keys[i - 1].client_id < kr->keys[i].client_id);

	k = kc_keyring_find(kr, 42);
	assert_non_null(k);
	assert_string_equal(k->name, "alice");
	assert_int_equal(k->key[1], 0x01);
	k = kc_keyring_find(kr, 7);
	assert_non_null(k);
	assert_string_equal(k->name, "");
	assert_int_equal(k->key[0], 0xff);
	k = kc_keyring_find(kr, 1);
	assert_non_null(k);
	assert_memory_equal(k->key, kc_dev_key, KC_KEY_LEN);
	assert_string_equal(k->name, "dev-local-only");
	k = kc_keyring_find(kr, UINT32_MAX - 1);
	assert_non_null(k);
	assert_string_equal(k->name, "max_id");

	assert_null(kc_keyring_find(kr, 0));
	assert_null(kc_keyring_find(kr, 2));
	assert_null(kc_keyring_find(kr, 41));
	assert_null(kc_keyring_find(kr, 43));
	assert_null(kc_keyring_find(kr, UINT32_MAX - 2));
	assert_null(kc_keyring_find(kr, UINT32_MAX));
	assert_null(kc_keyring_find(NULL, 1));

	/* The loaded state signs like a freshly initialised key. */
	{
		struct kc_key fresh;
		uint8_t hdr[KC_HDR_SIGNED_LEN] = { 1, 2, 3 };
		uint8_t a[KC_TAG_LEN];
		uint8_t b[KC_TAG_LEN];

		kc_key_init(&fresh, 1, kc_dev_key, NULL);
		kc_auth_tag(kc_keyring_find(kr, 1), hdr, hdr, 3, a);
		kc_auth_tag(&fresh, hdr, hdr, 3, b);
		assert_memory_equal(a, b, KC_TAG_LEN);
	}
	kc_keyring_free(kr);
}

static void test_keys_no_dev_key(void **state)
{
	char err[256];
	struct kc_keyring *kr;

	(void)state;
	kr = parse("3 " KEY_A_HEX "\n", err, sizeof(err));
	assert_non_null(kr);
	assert_int_equal(kr->count, 1);
	assert_false(kr->has_dev_key);
	kc_keyring_free(kr);
	kc_keyring_free(NULL);
}

/* The parse fails and the message starts with want_prefix. */
static void expect_error(const char *text, const char *want_prefix,
			 const char *want_sub)
{
	char err[256];
	struct kc_keyring *kr;

	kr = parse(text, err, sizeof(err));
	if (kr != NULL) {
		kc_keyring_free(kr);
		fail_msg("parse of \"%s\" succeeded", text);
	}
	if (strncmp(err, want_prefix, strlen(want_prefix)) != 0 ||
	    strstr(err, want_sub) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" ... \"%s\"", err,
			 want_prefix, want_sub);
}

static void test_keys_errors(void **state)
{
	(void)state;
	expect_error("# comment\nabc " KEY_A_HEX "\n", "test.keys:2: ",
		     "bad client id");
	expect_error("-1 " KEY_A_HEX "\n", "test.keys:1: ", "bad client id");
	expect_error("4294967296 " KEY_A_HEX "\n", "test.keys:1: ",
		     "bad client id");
	expect_error("12x " KEY_A_HEX "\n", "test.keys:1: ", "bad client id");
	expect_error("\n\n0 " KEY_A_HEX "\n", "test.keys:3: ",
		     "client id 0 not allowed");
	expect_error("4294967295 " KEY_A_HEX "\n", "test.keys:1: ",
		     "client id 4294967295 is the escrow account's");
	expect_error("5\n", "test.keys:1: ", "key not 64 hex digits");
	expect_error("5 " KEY_A_HEX "0\n", "test.keys:1: ",
		     "key not 64 hex digits");
	expect_error("5 abcd\n", "test.keys:1: ", "key not 64 hex digits");
	expect_error("5 zz02030405060708090a0b0c0d0e0f101112131415161718191a1b1c"
		     "1d1e1f\n",
		     "test.keys:1: ", "key not 64 hex digits");
	expect_error("5 " KEY_A_HEX "\n6 " KEY_B_HEX "\n5 " KEY_B_HEX "\n",
		     "test.keys:3: ", "duplicate client id 5 (first on line 1)");
	expect_error("5 " KEY_A_HEX " 0123456789012345678901234567890123\n",
		     "test.keys:1: ", "name too long");
	expect_error("5 " KEY_A_HEX " name extra\n", "test.keys:1: ",
		     "unexpected text");
	expect_error("5 " KEY_A_HEX " na\001me\n", "test.keys:1: ",
		     "non-printable");
	expect_error("", "test.keys: ", "no keys");
	expect_error("# only comments\n\n", "test.keys: ", "no keys");
}

static void test_keys_name_limit(void **state)
{
	char err[256];
	struct kc_keyring *kr;

	(void)state;
	/* 31 bytes is the longest name (KC_KEY_NAME_MAX with its NUL). */
	kr = parse("5 " KEY_A_HEX " 0123456789012345678901234567890\n", err,
		   sizeof(err));
	assert_non_null(kr);
	assert_int_equal(strlen(kr->keys[0].name), KC_KEY_NAME_MAX - 1);
	kc_keyring_free(kr);
	expect_error("5 " KEY_A_HEX " 01234567890123456789012345678901\n",
		     "test.keys:1: ", "name too long");
}

static void test_keys_too_many(void **state)
{
	size_t line_len = 11 + 1 + 64 + 1;
	size_t cap = (KC_KEYRING_MAX + 2) * line_len + 1;
	char *text = malloc(cap);
	char err[256];
	struct kc_keyring *kr;
	size_t pos = 0;
	uint32_t i;

	(void)state;
	assert_non_null(text);
	/* Written in descending order, so sorting has work to do. */
	for (i = KC_KEYRING_MAX; i >= 1; i--)
		pos += (size_t)snprintf(text + pos, cap - pos, "%u %s\n", i,
					KEY_A_HEX);
	kr = kc_keyring_parse(text, pos, "many.keys", err, sizeof(err));
	assert_non_null(kr);
	assert_int_equal(kr->count, KC_KEYRING_MAX);
	for (i = 1; i <= KC_KEYRING_MAX; i++) {
		const struct kc_key *k = kc_keyring_find(kr, i);

		assert_non_null(k);
		assert_int_equal(k->client_id, i);
	}
	assert_null(kc_keyring_find(kr, KC_KEYRING_MAX + 1));
	kc_keyring_free(kr);

	pos += (size_t)snprintf(text + pos, cap - pos, "%u %s\n",
				KC_KEYRING_MAX + 1, KEY_A_HEX);
	kr = kc_keyring_parse(text, pos, "many.keys", err, sizeof(err));
	assert_null(kr);
	assert_string_equal(err, "many.keys:4097: too many keys (at most 4096)");
	free(text);
}

static void test_keys_load_files(void **state)
{
	static const char dup_text[] = "9 " KEY_A_HEX "\n9 " KEY_A_HEX "\n";
	char path[] = "/tmp/kc_test_auth_XXXXXX";
	char err[256];
	struct kc_keyring *kr;
	const struct kc_key *k;
	int fd;

	(void)state;
	kr = kc_keyring_load(KC_SOURCE_DIR "/config/dev.keys", err,
			     sizeof(err));
	if (kr == NULL)
		fail_msg("%s", err);
	assert_true(kr->has_dev_key);
	k = kc_keyring_find(kr, KC_DEV_CLIENT_ID);
	assert_non_null(k);
	assert_memory_equal(k->key, kc_dev_key, KC_KEY_LEN);
	assert_memory_equal(kc_dev_key, "kingcobra-dev-key-local-only-001",
			    KC_KEY_LEN);
	kc_keyring_free(kr);

	kr = kc_keyring_load("/nonexistent/kc.keys", err, sizeof(err));
	assert_null(kr);
	assert_non_null(strstr(err, "/nonexistent/kc.keys: cannot open"));

	kr = kc_keyring_load("/tmp", err, sizeof(err));
	assert_null(kr);
	assert_non_null(strstr(err, "not a regular file"));

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, dup_text, strlen(dup_text)),
			 (ssize_t)strlen(dup_text));
	close(fd);
	kr = kc_keyring_load(path, err, sizeof(err));
	assert_null(kr);
	assert_true(strncmp(err, path, strlen(path)) == 0);
	assert_non_null(strstr(err, ":2: duplicate client id 9"));
	unlink(path);
}

/* kc_key_for_client: the built-in keys of clients 1 and 2, or a file's. */
static void test_key_for_client(void **state)
{
	struct kc_key k;
	char err[256];

	(void)state;
	assert_int_equal(kc_key_for_client(NULL, 1, &k, err, sizeof(err)), 0);
	assert_int_equal(k.client_id, 1);
	assert_memory_equal(k.key, kc_dev_key, KC_KEY_LEN);
	assert_int_equal(kc_key_for_client(NULL, 2, &k, err, sizeof(err)), 0);
	assert_memory_equal(k.key, kc_dev_key_2, KC_KEY_LEN);
	assert_int_equal(kc_key_for_client(NULL, 3, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "clients 1 and 2 only"));
	assert_int_equal(kc_key_for_client(KC_SOURCE_DIR "/config/dev.keys", 2,
					   &k, err, sizeof(err)), 0);
	assert_int_equal(k.client_id, 2);
	assert_memory_equal(k.key, kc_dev_key_2, KC_KEY_LEN);
	assert_int_equal(kc_key_for_client(KC_SOURCE_DIR "/config/dev.keys", 7,
					   &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "has no key for client 7"));
	assert_int_equal(kc_key_for_client("/nonexistent/kc.keys", 1, &k, err,
					   sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag_matches_openssl),
		cmocka_unit_test(test_rfc4231_case2),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_verify_burst),
		cmocka_unit_test(test_sign_burst),
		cmocka_unit_test(test_key_init_name),
		cmocka_unit_test(test_key_from_hex),
		cmocka_unit_test(test_keys_good),
		cmocka_unit_test(test_keys_no_dev_key),
		cmocka_unit_test(test_keys_errors),
		cmocka_unit_test(test_keys_name_limit),
		cmocka_unit_test(test_keys_too_many),
		cmocka_unit_test(test_keys_load_files),
		cmocka_unit_test(test_key_for_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
