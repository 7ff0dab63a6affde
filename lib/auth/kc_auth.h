/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Request authentication: per-client 256-bit keys from a keys file, and the
 * HMAC-SHA256 tag of a KCP message (docs/protocol.md, "Authentication").
 *
 * The data path must not allocate, and OpenSSL's EVP HMAC duplicates a
 * context (a heap allocation) on every message. So each key keeps the SHA-256
 * states after the inner and outer padded key blocks, computed once at load
 * time; a tag is then two copies of those states and SHA256_Transform over
 * the message's blocks and the padding we write. The result is checked
 * against OpenSSL's own HMAC() in tests/unit/test_auth.c.
 * No DPDK dependency: the client library uses this too.
 */
#ifndef KC_AUTH_H
#define KC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#include "kc_proto.h"

#define KC_KEYRING_MAX 4096u /* clients in one keys file */
#define KC_KEY_NAME_MAX 32u

/* The development key: client id 1, trusted by config/default.yaml through
 * config/dev.keys, used by kcctl when no -k is given. For local use only;
 * the appliance refuses to start with it when the config says production. */
#define KC_DEV_CLIENT_ID 1u
extern const uint8_t kc_dev_key[KC_KEY_LEN];
/* The second development key, client 2 (the receiving account of the
 * README's ledger example); refused in production like the first. */
#define KC_DEV_CLIENT_ID_2 2u
extern const uint8_t kc_dev_key_2[KC_KEY_LEN];

/* SHA-256 states after absorbing the inner and outer padded key blocks.
 * Aligned for the multi-buffer library, which reads the digests of both. */
struct kc_hmac_state {
	SHA256_CTX inner;
	SHA256_CTX outer;
} __attribute__((aligned(16)));

struct kc_key {
	uint32_t client_id;
	uint8_t key[KC_KEY_LEN];
	char name[KC_KEY_NAME_MAX];
	struct kc_hmac_state hmac;
};

/* Sorted by client id; read-only once loaded, so lcores share it freely. */
struct kc_keyring {
	uint32_t count;
	bool has_dev_key; /* some entry holds a development key */
	struct kc_key keys[];
};

/* Prepare a key's HMAC state. */
void kc_key_init(struct kc_key *k, uint32_t client_id,
		 const uint8_t key[KC_KEY_LEN], const char *name);

/*
 * Keys file: one client per line, "CLIENT_ID HEX_KEY [NAME]", where HEX_KEY
 * is 64 hex digits; '#' starts a comment; blank lines are ignored. Returns a
 * malloc'd keyring or NULL with "FILE:LINE: what is wrong" in err.
 */
struct kc_keyring *kc_keyring_load(const char *path, char *err,
				   size_t err_len);
/* Parse from a buffer; path is only used in messages. */
struct kc_keyring *kc_keyring_parse(const char *text, size_t len,
				    const char *path, char *err,
				    size_t err_len);
void kc_keyring_free(struct kc_keyring *kr);
const struct kc_key *kc_keyring_find(const struct kc_keyring *kr,
				     uint32_t client_id);

/*
 * A client's key for a tool that signs as one client: from keys_file, or
 * with keys_file NULL the built-in development key of client 1 or 2. 0, or
 * -1 with the reason in err.
 */
int kc_key_for_client(const char *keys_file, uint32_t client_id,
		      struct kc_key *out, char *err, size_t err_len);

/*
 * The tag of a message: HMAC-SHA256 over the first KC_HDR_SIGNED_LEN bytes of
 * the header followed by the payload.
 */
void kc_auth_tag(const struct kc_key *k, const uint8_t *hdr,
		 const uint8_t *payload, size_t payload_len,
		 uint8_t tag[KC_TAG_LEN]);
/* Compute the tag and write it into the header at KC_OFF_TAG. */
void kc_auth_sign(const struct kc_key *k, uint8_t *msg, size_t msg_len);
/* Constant-time check of the tag in msg (header + payload). */
bool kc_auth_verify(const struct kc_key *k, const uint8_t *msg,
		    size_t msg_len);

/*
 * Verifying a burst of messages at once (kc_auth_mb.c): the same result as
 * kc_auth_verify on each, for much less per message on a CPU whose SHA-256
 * unit would otherwise wait on one message's rounds. One per lcore: it
 * holds the library's state. Created at start-up (it allocates); NULL with
 * the reason in err.
 */
struct kc_auth_mb;
struct kc_auth_mb *kc_auth_mb_create(char *err, size_t err_len);
void kc_auth_mb_free(struct kc_auth_mb *mb);
/*
 * ok[i] = kc_auth_verify(keys[i], msgs[i], lens[i]), for i < n. The bytes
 * of each message change during the call and are as they were when it
 * returns, so no other thread may read them meanwhile. With mb NULL, one
 * message at a time.
 */
void kc_auth_verify_burst(struct kc_auth_mb *mb,
			  const struct kc_key *const keys[],
			  uint8_t *const msgs[], const uint32_t lens[],
			  uint32_t n, bool ok[]);

/*
 * kc_auth_sign(keys[i], msgs[i], lens[i]) for i < n, together: the REPLYs
 * of a burst. With mb NULL, or n 1, one message at a time.
 */
void kc_auth_sign_burst(struct kc_auth_mb *mb,
			const struct kc_key *const keys[],
			uint8_t *const msgs[], const uint32_t lens[],
			uint32_t n);

/* Parse 64 hex digits into a key; false on any other input. */
bool kc_key_from_hex(const char *hex, size_t len, uint8_t key[KC_KEY_LEN]);

#endif /* KC_AUTH_H */
