/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Request authentication (kc_auth.h, docs/protocol.md "Authentication").
 *
 * OpenSSL 3 deprecates the low-level SHA256_Init/Update/Final in favour of
 * EVP, but EVP HMAC (EVP_MAC_CTX_dup or HMAC_CTX) allocates on every message,
 * which the DPDK data path must not do. The SHA-256 states precomputed per
 * key make a tag two state copies and SHA256_Transform calls, with no
 * allocation, so we keep the low-level API on purpose and silence its
 * deprecation.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "kc_auth.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "kc_auth_priv.h"

#define KC_SHA256_BLOCK 64u
#define KC_KEYS_FILE_MAX (16u * 1024u * 1024u) /* bytes read from a keys file */

_Static_assert(KC_KEY_LEN <= KC_SHA256_BLOCK,
	       "a key fits one block, so HMAC uses it without hashing it");
_Static_assert(SHA256_DIGEST_LENGTH == KC_TAG_LEN, "the tag is a SHA-256");

/* "kingcobra-dev-key-local-only-001": config/dev.keys holds it in hex. */
const uint8_t kc_dev_key[KC_KEY_LEN] = {
	'k', 'i', 'n', 'g', 'c', 'o', 'b', 'r', 'a', '-', 'd',
	'e', 'v', '-', 'k', 'e', 'y', '-', 'l', 'o', 'c', 'a',
	'l', '-', 'o', 'n', 'l', 'y', '-', '0', '0', '1',
};

/* "kingcobra-dev-key-local-only-002": the second development client, so
 * the README's ledger example has an account to transfer to. */
const uint8_t kc_dev_key_2[KC_KEY_LEN] = {
	'k', 'i', 'n', 'g', 'c', 'o', 'b', 'r', 'a', '-', 'd',
	'e', 'v', '-', 'k', 'e', 'y', '-', 'l', 'o', 'c', 'a',
	'l', '-', 'o', 'n', 'l', 'y', '-', '0', '0', '2',
};

/* --- HMAC-SHA256 (RFC 2104) over precomputed pad states ------------------ */

void kc_key_init(struct kc_key *k, uint32_t client_id,
		 const uint8_t key[KC_KEY_LEN], const char *name)
{
	uint8_t pad[KC_SHA256_BLOCK];
	unsigned int i;

	memset(k, 0, sizeof(*k));
	k->client_id = client_id;
	memcpy(k->key, key, KC_KEY_LEN);
	if (name != NULL) {
		/* Truncates; the keys file parser rejects longer names. */
		size_t n = strnlen(name, KC_KEY_NAME_MAX - 1u);
		memcpy(k->name, name, n);
		k->name[n] = '\0';
	}

	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < KC_KEY_LEN; i++)
		pad[i] ^= key[i];
	SHA256_Init(&k->hmac.inner);
	SHA256_Update(&k->hmac.inner, pad, sizeof(pad));

	memset(pad, 0x5c, sizeof(pad));
	for (i = 0; i < KC_KEY_LEN; i++)
		pad[i] ^= key[i];
	SHA256_Init(&k->hmac.outer);
	SHA256_Update(&k->hmac.outer, pad, sizeof(pad));

	OPENSSL_cleanse(pad, sizeof(pad));
}

static void put_be32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

/*
 * A tag is four or more SHA-256 blocks, and on one lcore answering PINGs
 * SHA256_Update/Final's bookkeeping around them (copying into the
 * context's buffer, clearing it, cleansing) cost about half as much again
 * as the blocks (docs/performance.md, "Where the cycles go"). So the
 * message's blocks go straight to SHA256_Transform (OpenSSL's block
 * function: the SHA extensions where the CPU has them), with the padding
 * (RFC 6234: 0x80, zeros, the length in bits) written here. The signed
 * header and the payload are not contiguous (the tag lies between them),
 * so the block that joins them is assembled on the stack.
 */
void kc_auth_tag(const struct kc_key *k, const uint8_t *hdr,
		 const uint8_t *payload, size_t payload_len,
		 uint8_t tag[KC_TAG_LEN])
{
	/* The inner message is the padded key block, then ours. */
	const uint64_t bits = (KC_SHA256_BLOCK + KC_HDR_SIGNED_LEN +
			       (uint64_t)payload_len) * 8u;
	uint8_t blk[KC_SHA256_BLOCK];
	SHA256_CTX ctx;
	size_t fill = KC_HDR_SIGNED_LEN;
	unsigned int i;

	_Static_assert(KC_HDR_SIGNED_LEN < KC_SHA256_BLOCK, "one block");
	memcpy(ctx.h, k->hmac.inner.h, sizeof(ctx.h));
	memcpy(blk, hdr, KC_HDR_SIGNED_LEN);
	while (fill + payload_len >= KC_SHA256_BLOCK) {
		size_t n = KC_SHA256_BLOCK - fill;

		if (fill == 0) {
			SHA256_Transform(&ctx, payload);
		} else {
			memcpy(blk + fill, payload, n);
			SHA256_Transform(&ctx, blk);
			fill = 0;
		}
		payload += n;
		payload_len -= n;
	}
	if (payload_len > 0)
		memcpy(blk + fill, payload, payload_len);
	fill += payload_len;
	blk[fill++] = 0x80;
	if (fill > KC_SHA256_BLOCK - 8) {
		memset(blk + fill, 0, KC_SHA256_BLOCK - fill);
		SHA256_Transform(&ctx, blk);
		fill = 0;
	}
	memset(blk + fill, 0, KC_SHA256_BLOCK - 8 - fill);
	put_be32(blk + 56, (uint32_t)(bits >> 32));
	put_be32(blk + 60, (uint32_t)bits);
	SHA256_Transform(&ctx, blk);

	/* Outer: the padded key block, then the 32-byte inner digest. */
	for (i = 0; i < 8; i++)
		put_be32(blk + 4 * i, ctx.h[i]);
	memcpy(ctx.h, k->hmac.outer.h, sizeof(ctx.h));
	blk[32] = 0x80;
	memset(blk + 33, 0, KC_SHA256_BLOCK - 8 - 33);
	put_be32(blk + 56, 0);
	put_be32(blk + 60, (KC_SHA256_BLOCK + SHA256_DIGEST_LENGTH) * 8u);
	SHA256_Transform(&ctx, blk);
	for (i = 0; i < 8; i++)
		put_be32(tag + 4 * i, ctx.h[i]);
}

void kc_auth_sign(const struct kc_key *k, uint8_t *msg, size_t msg_len)
{
	uint8_t tag[KC_TAG_LEN];

	if (msg_len < KC_HDR_LEN)
		return; /* not a message; nothing to sign */
	kc_auth_tag(k, msg, msg + KC_HDR_LEN, msg_len - KC_HDR_LEN, tag);
	memcpy(msg + KC_OFF_TAG, tag, KC_TAG_LEN);
}

bool kc_auth_verify(const struct kc_key *k, const uint8_t *msg,
		    size_t msg_len)
{
	uint8_t tag[KC_TAG_LEN];

	if (msg_len < KC_HDR_LEN)
		return false;
	kc_auth_tag(k, msg, msg + KC_HDR_LEN, msg_len - KC_HDR_LEN, tag);
	return kc_tag_equal(tag, msg + KC_OFF_TAG);
}

/* --- keys ---------------------------------------------------------------- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool kc_key_from_hex(const char *hex, size_t len, uint8_t key[KC_KEY_LEN])
{
	uint8_t out[KC_KEY_LEN];
	size_t i;

	if (hex == NULL || len != 2u * KC_KEY_LEN)
		return false;
	for (i = 0; i < KC_KEY_LEN; i++) {
		int hi = hex_value(hex[2 * i]);
		int lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(out, sizeof(out));
			return false;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(key, out, KC_KEY_LEN);
	OPENSSL_cleanse(out, sizeof(out));
	return true;
}

/* --- keys file ----------------------------------------------------------- */

struct kc_key_line {
	uint32_t client_id;
	uint32_t line;
	uint32_t index; /* in file order */
};

static int key_line_cmp(const void *a, const void *b)
{
	const struct kc_key_line *x = a;
	const struct kc_key_line *y = b;

	if (x->client_id != y->client_id)
		return x->client_id < y->client_id ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* A token on one line: start and length inside the text. */
struct tok {
	const char *s;
	size_t n;
};

static const char *next_tok(const char *p, const char *end, struct tok *t)
{
	while (p < end && is_blank(*p))
		p++;
	t->s = p;
	while (p < end && !is_blank(*p))
		p++;
	t->n = (size_t)(p - t->s);
	return p;
}

static bool parse_client_id(const struct tok *t, uint32_t *id)
{
	uint64_t v = 0;
	size_t i;

	if (t->n == 0 || t->n > 10)
		return false;
	for (i = 0; i < t->n; i++) {
		if (t->s[i] < '0' || t->s[i] > '9')
			return false;
		v = v * 10u + (uint64_t)(t->s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*id = (uint32_t)v;
	return true;
}

static bool name_char_ok(char c)
{
	return c > ' ' && c < 0x7f;
}

/* Count the lines that could hold a key: an upper bound for the arrays. */
static size_t count_candidate_lines(const char *text, size_t len)
{
	size_t n = 0;
	size_t i = 0;

	while (i < len) {
		bool content = false;
		bool comment = false;

		for (; i < len && text[i] != '\n'; i++) {
			if (text[i] == '#')
				comment = true;
			else if (!comment && !is_blank(text[i]))
				content = true;
		}
		i++; /* the newline */
		if (content)
			n++;
	}
	return n;
}

struct kc_keyring *kc_keyring_parse(const char *text, size_t len,
				    const char *path, char *err,
				    size_t err_len)
{
	struct kc_keyring *kr = NULL;
	struct kc_key *keys = NULL;
	struct kc_key_line *lines = NULL;
	size_t cap;
	uint32_t count = 0;
	uint32_t line_no = 0;
	const char *p = text;
	const char *end = text + len;
	uint32_t i;

	if (path == NULL)
		path = "(keys)";
	if (text == NULL && len > 0) {
		snprintf(err, err_len, "%s: no text", path);
		return NULL;
	}

	cap = count_candidate_lines(text, len);
	if (cap > KC_KEYRING_MAX)
		cap = KC_KEYRING_MAX; /* the line past the limit reports it */
	if (cap == 0) {
		snprintf(err, err_len, "%s: no keys (expected lines of "
			 "\"CLIENT_ID HEX_KEY [NAME]\")", path);
		return NULL;
	}
	keys = calloc(cap, sizeof(*keys));
	lines = calloc(cap, sizeof(*lines));
	if (keys == NULL || lines == NULL) {
		snprintf(err, err_len, "%s: out of memory for %zu keys", path,
			 cap);
		goto out_free;
	}

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *hash;
		const char *q;
		struct tok t_id, t_key, t_name, t_extra;
		uint32_t id;

		if (eol == NULL)
			eol = end;
		line_no++;
		hash = memchr(p, '#', (size_t)(eol - p));
		q = hash != NULL ? hash : eol;

		{
			const char *c = p;

			c = next_tok(c, q, &t_id);
			c = next_tok(c, q, &t_key);
			c = next_tok(c, q, &t_name);
			next_tok(c, q, &t_extra);
		}
		p = eol < end ? eol + 1 : end;
		if (t_id.n == 0)
			continue; /* blank or comment line */

		if (memchr(t_id.s, '\0', (size_t)(q - t_id.s)) != NULL) {
			snprintf(err, err_len, "%s:%u: NUL byte in line", path,
				 line_no);
			goto out_free;
		}
		if (!parse_client_id(&t_id, &id)) {
			snprintf(err, err_len,
				 "%s:%u: bad client id '%.*s' (expected a "
				 "decimal number 1..%u)",
				 path, line_no, (int)(t_id.n > 20 ? 20 : t_id.n),
				 t_id.s, KC_ACCOUNT_ESCROW - 1u);
			goto out_free;
		}
		if (id == 0) {
			snprintf(err, err_len,
				 "%s:%u: client id 0 not allowed", path,
				 line_no);
			goto out_free;
		}
		if (id == KC_ACCOUNT_ESCROW) {
			/* No key may spend what calls hold in escrow. */
			snprintf(err, err_len, "%s:%u: client id %u is the "
				 "escrow account's, not a client's", path,
				 line_no, id);
			goto out_free;
		}
		if (t_key.n != 2u * KC_KEY_LEN) {
			snprintf(err, err_len,
				 "%s:%u: key not 64 hex digits (got %zu "
				 "characters)",
				 path, line_no, t_key.n);
			goto out_free;
		}
		if (count == KC_KEYRING_MAX) {
			snprintf(err, err_len,
				 "%s:%u: too many keys (at most %u)", path,
				 line_no, KC_KEYRING_MAX);
			goto out_free;
		}
		if (t_name.n >= KC_KEY_NAME_MAX) {
			snprintf(err, err_len,
				 "%s:%u: name too long (%zu bytes, at most %u)",
				 path, line_no, t_name.n, KC_KEY_NAME_MAX - 1u);
			goto out_free;
		}
		for (i = 0; i < t_name.n; i++) {
			if (!name_char_ok(t_name.s[i])) {
				snprintf(err, err_len,
					 "%s:%u: name has a non-printable "
					 "character",
					 path, line_no);
				goto out_free;
			}
		}
		if (t_extra.n != 0) {
			snprintf(err, err_len,
				 "%s:%u: unexpected text after the name "
				 "(expected \"CLIENT_ID HEX_KEY [NAME]\")",
				 path, line_no);
			goto out_free;
		}

		{
			uint8_t key[KC_KEY_LEN];
			char name[KC_KEY_NAME_MAX];

			if (!kc_key_from_hex(t_key.s, t_key.n, key)) {
				snprintf(err, err_len,
					 "%s:%u: key not 64 hex digits (a "
					 "character is not 0-9a-fA-F)",
					 path, line_no);
				goto out_free;
			}
			memcpy(name, t_name.s, t_name.n);
			name[t_name.n] = '\0';
			kc_key_init(&keys[count], id, key, name);
			OPENSSL_cleanse(key, sizeof(key));
		}
		lines[count].client_id = id;
		lines[count].line = line_no;
		lines[count].index = count;
		count++;
	}

	if (count == 0) {
		snprintf(err, err_len, "%s: no keys", path);
		goto out_free;
	}

	qsort(lines, count, sizeof(*lines), key_line_cmp);
	for (i = 1; i < count; i++) {
		if (lines[i].client_id == lines[i - 1].client_id) {
			snprintf(err, err_len,
				 "%s:%u: duplicate client id %u (first on "
				 "line %u)",
				 path, lines[i].line, lines[i].client_id,
				 lines[i - 1].line);
			goto out_free;
		}
	}

	kr = malloc(sizeof(*kr) + (size_t)count * sizeof(kr->keys[0]));
	if (kr == NULL) {
		snprintf(err, err_len, "%s: out of memory for %u keys", path,
			 count);
		goto out_free;
	}
	kr->count = count;
	kr->has_dev_key = false;
	for (i = 0; i < count; i++) {
		kr->keys[i] = keys[lines[i].index];
		if (memcmp(kr->keys[i].key, kc_dev_key, KC_KEY_LEN) == 0 ||
		    memcmp(kr->keys[i].key, kc_dev_key_2, KC_KEY_LEN) == 0)
			kr->has_dev_key = true;
	}

out_free:
	if (keys != NULL)
		OPENSSL_cleanse(keys, cap * sizeof(*keys));
	free(keys);
	free(lines);
	return kr;
}

struct kc_keyring *kc_keyring_load(const char *path, char *err,
				   size_t err_len)
{
	struct kc_keyring *kr = NULL;
	struct stat st;
	char *text = NULL;
	size_t len;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, err_len, "%s: cannot open: %s", path,
			 strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0) {
		snprintf(err, err_len, "%s: cannot stat: %s", path,
			 strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "%s: not a regular file", path);
		goto out_close;
	}
	if (st.st_size > (off_t)KC_KEYS_FILE_MAX) {
		snprintf(err, err_len, "%s: %lld bytes, above the %u-byte limit "
			 "of a keys file", path, (long long)st.st_size,
			 KC_KEYS_FILE_MAX);
		goto out_close;
	}
	/* One byte more than the size, to notice a file that grew. */
	text = malloc((size_t)st.st_size + 1u);
	if (text == NULL) {
		snprintf(err, err_len, "%s: out of memory for %lld bytes", path,
			 (long long)st.st_size);
		goto out_close;
	}
	len = fread(text, 1, (size_t)st.st_size + 1u, f);
	if (ferror(f)) {
		snprintf(err, err_len, "%s: read error: %s", path,
			 strerror(errno));
		goto out_free;
	}
	if (len > (size_t)st.st_size) {
		snprintf(err, err_len, "%s: file changed while being read",
			 path);
		goto out_free;
	}
	kr = kc_keyring_parse(text, len, path, err, err_len);

out_free:
	OPENSSL_cleanse(text, (size_t)st.st_size + 1u);
	free(text);
out_close:
	fclose(f);
	return kr;
}

void kc_keyring_free(struct kc_keyring *kr)
{
	if (kr == NULL)
		return;
	OPENSSL_cleanse(kr, sizeof(*kr) + (size_t)kr->count *
					     sizeof(kr->keys[0]));
	free(kr);
}

const struct kc_key *kc_keyring_find(const struct kc_keyring *kr,
				     uint32_t client_id)
{
	uint32_t lo = 0;
	uint32_t hi;

	if (kr == NULL)
		return NULL;
	hi = kr->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2u;
		uint32_t id = kr->keys[mid].client_id;

		if (id == client_id)
			return &kr->keys[mid];
		if (id < client_id)
			lo = mid + 1u;
		else
			hi = mid;
	}
	return NULL;
}

int kc_key_for_client(const char *keys_file, uint32_t client_id,
		      struct kc_key *out, char *err, size_t err_len)
{
	struct kc_keyring *kr;
	const struct kc_key *k;

	if (keys_file == NULL) {
		if (client_id == KC_DEV_CLIENT_ID) {
			kc_key_init(out, client_id, kc_dev_key, "dev");
			return 0;
		}
		if (client_id == KC_DEV_CLIENT_ID_2) {
			kc_key_init(out, client_id, kc_dev_key_2, "dev-2");
			return 0;
		}
		snprintf(err, err_len, "built-in development keys belong to "
			 "clients %u and %u only; give a keys file",
			 KC_DEV_CLIENT_ID, KC_DEV_CLIENT_ID_2);
		return -1;
	}
	kr = kc_keyring_load(keys_file, err, err_len);
	if (kr == NULL)
		return -1;
	k = kc_keyring_find(kr, client_id);
	if (k == NULL) {
		snprintf(err, err_len, "%s has no key for client %u",
			 keys_file, client_id);
		kc_keyring_free(kr);
		return -1;
	}
	kc_key_init(out, k->client_id, k->key, k->name);
	kc_keyring_free(kr);
	return 0;
}
