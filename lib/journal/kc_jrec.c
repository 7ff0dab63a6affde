/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Journal records: encode, check and decode (docs/journal-format.md).
 * Multi-byte fields are little-endian; the helpers work byte-wise so any
 * alignment reads the same on any CPU.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_hash_crc.h>
#if defined(RTE_ARCH_X86_64) && defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

#include "kc_jrec.h"

uint32_t kc_crc32c(const void *data, size_t len)
{
#if defined(RTE_ARCH_X86_64) && defined(__SSE4_2__)
	/*
	 * The SSE4.2 instruction in a loop of its own. rte_hash_crc (the
	 * same CRC without the final inversion) asks which instruction set
	 * to use before every 8 bytes; for the two records of a PING,
	 * callgrind counted 80 instructions a record fewer this way
	 * (docs/performance.md, "The op table and the split tree"). The
	 * build targets SSE4.2 already (DPDK's -march).
	 */
	const uint8_t *p = data;
	uint64_t crc = 0xffffffffu;
	uint32_t c;

	for (; len >= 8; len -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		crc = _mm_crc32_u64(crc, v);
	}
	c = (uint32_t)crc;
	if (len & 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		c = _mm_crc32_u32(c, v);
		p += 4;
	}
	if (len & 2) {
		uint16_t v;

		memcpy(&v, p, 2);
		c = _mm_crc32_u16(c, v);
		p += 2;
	}
	if (len & 1)
		c = _mm_crc32_u8(c, *p);
	return ~c;
#else
	/* rte_hash_crc is CRC32C without the final inversion; it picks the
	 * ARMv8 instruction (or a table) when the CPU has no SSE4.2. */
	return ~rte_hash_crc(data, (uint32_t)len, 0xffffffffu);
#endif
}

void kc_jrec_encode(uint8_t *buf, const struct kc_jrec *h,
		    const void *payload)
{
	kc_jrec_encode_open(buf, h, payload);
	kc_jrec_seal(buf);
}

void kc_jrec_seal(uint8_t *buf)
{
	kc_put_le32(buf, kc_crc32c(buf + 4, KC_JREC_HDR_LEN - 4 +
					 kc_get_le32(buf + 4)));
}

void kc_jrec_encode_open(uint8_t *buf, const struct kc_jrec *h,
			 const void *payload)
{
	uint32_t size = kc_jrec_size(h->payload_len);

	kc_put_le32(buf + 4, h->payload_len);
	kc_put_le64(buf + 8, h->seq);
	buf[16] = h->type;
	buf[17] = h->op;
	kc_put_le16(buf + 18, h->status);
	kc_put_le32(buf + 20, h->client_id);
	memcpy(buf + 24, h->msg_id, KC_MSG_ID_LEN);
	kc_put_le64(buf + 40, h->time_ns);
	kc_put_le32(buf + 48, h->client_ip);
	kc_put_le16(buf + 52, h->client_port);
	buf[54] = h->shard;
	buf[55] = h->flags;
	kc_put_le64(buf + 56, h->ref);
	if (h->payload_len != 0)
		memcpy(buf + KC_JREC_HDR_LEN, payload, h->payload_len);
	memset(buf + KC_JREC_HDR_LEN + h->payload_len, 0,
	       size - KC_JREC_HDR_LEN - h->payload_len);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

enum kc_jrec_check kc_jrec_decode(const uint8_t *buf, size_t avail,
				  struct kc_jrec *h)
{
	if (avail < KC_JREC_HDR_LEN)
		return avail == 0 || all_zero(buf, avail) ? KC_JREC_ZERO :
							    KC_JREC_SHORT;
	if (all_zero(buf, KC_JREC_HDR_LEN))
		return KC_JREC_ZERO;
	h->crc = kc_get_le32(buf);
	h->payload_len = kc_get_le32(buf + 4);
	h->seq = kc_get_le64(buf + 8);
	h->type = buf[16];
	h->op = buf[17];
	h->status = kc_get_le16(buf + 18);
	h->client_id = kc_get_le32(buf + 20);
	memcpy(h->msg_id, buf + 24, KC_MSG_ID_LEN);
	h->time_ns = kc_get_le64(buf + 40);
	h->client_ip = kc_get_le32(buf + 48);
	h->client_port = kc_get_le16(buf + 52);
	h->shard = buf[54];
	h->flags = buf[55];
	h->ref = kc_get_le64(buf + 56);
	if (h->payload_len > KC_JREC_PAYLOAD_MAX)
		return KC_JREC_BAD_LENGTH;
	if (kc_jrec_size(h->payload_len) > avail)
		return KC_JREC_SHORT;
	if (h->type < KC_JREC_REQUEST || h->type > KC_JREC_TYPE_MAX)
		return KC_JREC_BAD_TYPE;
	if (kc_crc32c(buf + 4, KC_JREC_HDR_LEN - 4 + h->payload_len) != h->crc)
		return KC_JREC_BAD_CRC;
	if ((h->flags & ~KC_JREC_F_KNOWN) != 0)
		return KC_JREC_BAD_FLAGS;
	return KC_JREC_OK;
}

const char *kc_jrec_check_text(enum kc_jrec_check c)
{
	switch (c) {
	case KC_JREC_OK:
		return "valid";
	case KC_JREC_ZERO:
		return "never written (zeros)";
	case KC_JREC_SHORT:
		return "record runs past the end of the segment";
	case KC_JREC_BAD_LENGTH:
		return "payload length above the maximum";
	case KC_JREC_BAD_TYPE:
		return "unknown record type";
	case KC_JREC_BAD_CRC:
		return "CRC32C mismatch";
	case KC_JREC_BAD_SEQ:
		return "sequence number out of order";
	case KC_JREC_BAD_FLAGS:
		return "flags unknown to this version";
	}
	return "?";
}

const char *kc_jrec_type_name(unsigned int type)
{
	switch (type) {
	case KC_JREC_REQUEST:
		return "REQUEST";
	case KC_JREC_REPLY:
		return "REPLY";
	case KC_JREC_SEGMENT:
		return "SEGMENT";
	case KC_JREC_SNAPSHOT:
		return "SNAPSHOT";
	case KC_JREC_LEDGER:
		return "LEDGER";
	case KC_JREC_OUTCOME:
		return "OUTCOME";
	}
	return "?";
}

void kc_jseg_encode(uint8_t out[KC_JSEG_PAYLOAD_LEN], const struct kc_jseg *s)
{
	kc_put_le64(out, s->magic);
	kc_put_le16(out + 8, s->version);
	kc_put_le16(out + 10, s->shard);
	kc_put_le32(out + 12, 0);
	kc_put_le64(out + 16, s->index);
	kc_put_le64(out + 24, s->segment_bytes);
	kc_put_le64(out + 32, s->created_ns);
}

bool kc_jseg_decode(const uint8_t *p, uint32_t len, struct kc_jseg *s)
{
	if (len != KC_JSEG_PAYLOAD_LEN)
		return false;
	s->magic = kc_get_le64(p);
	s->version = kc_get_le16(p + 8);
	s->shard = kc_get_le16(p + 10);
	s->index = kc_get_le64(p + 16);
	s->segment_bytes = kc_get_le64(p + 24);
	s->created_ns = kc_get_le64(p + 32);
	return s->magic == KC_JSEG_MAGIC;
}

int kc_jshard_path(char *out, size_t len, const char *dir, uint16_t shard)
{
	int n = snprintf(out, len, "%s/shard-%02u", dir, shard);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int kc_jseg_path(char *out, size_t len, const char *shard_dir,
		 uint64_t index)
{
	int n = snprintf(out, len, "%s/%016" PRIx64 ".kcj", shard_dir, index);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool kc_jseg_name_parse(const char *name, uint64_t *index)
{
	uint64_t v = 0;

	if (strlen(name) != 20 || strcmp(name + 16, ".kcj") != 0)
		return false;
	for (int i = 0; i < 16; i++) {
		char c = name[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	*index = v;
	return true;
}

enum kc_parse kc_jrec_kcp_decode(const struct kc_jrec *h,
				 const uint8_t *payload, struct kc_hdr *kh)
{
	uint32_t sent;

	if (h->payload_len < KC_HDR_LEN)
		return KC_PARSE_SHORT;
	if ((h->flags & KC_JREC_F_ABRIDGED) == 0)
		return kc_hdr_decode(payload, h->payload_len, kh);
	/* Decode as the datagram it was: the length it says, no more. */
	sent = kc_get_u32(payload + KC_OFF_PAYLOAD_LEN);
	if (sent < h->payload_len - KC_HDR_LEN || sent > KC_PAYLOAD_MAX)
		return KC_PARSE_BAD_LENGTH;
	return kc_hdr_decode(payload, KC_HDR_LEN + sent, kh);
}

void kc_jsnap_encode(uint8_t out[KC_JSNAP_HDR_LEN], const struct kc_jsnap *s)
{
	kc_put_le32(out, s->part);
	kc_put_le32(out + 4, s->parts);
	kc_put_le32(out + 8, s->total_len);
	out[12] = s->kind;
	out[13] = out[14] = out[15] = 0;
}

bool kc_jsnap_decode(const uint8_t *p, uint32_t len, struct kc_jsnap *s)
{
	if (len < KC_JSNAP_HDR_LEN)
		return false;
	s->part = kc_get_le32(p);
	s->parts = kc_get_le32(p + 4);
	s->total_len = kc_get_le32(p + 8);
	s->kind = p[12];
	return s->parts != 0 && s->part < s->parts &&
	       len - KC_JSNAP_HDR_LEN <= s->total_len;
}
