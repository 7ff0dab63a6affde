/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The journal's on-disk format: records, their header, types and flags,
 * the segment header, snapshot parts (kc_jrec.c encodes and checks them).
 * Part of lib/journal's public header kc_journal.h, which includes this
 * one; docs/journal-format.md describes the same bytes.
 */
#ifndef KC_JREC_H
#define KC_JREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_limits.h"
#include "kc_proto.h"

/* ---- on-disk format ---------------------------------------------------- */

#define KC_JREC_HDR_LEN 64u
#define KC_JREC_ALIGN 8u
#define KC_JREC_PAYLOAD_MAX 16384u
#define KC_JSEG_MAGIC 0x4c4e52554f4a434bull /* "KCJOURNL" little-endian */
#define KC_JFORMAT_VERSION 1u
#define KC_JSEG_PAYLOAD_LEN 40u
#define KC_JSEG_BYTES_MIN (1u << 20)
#define KC_JSEG_BYTES_MAX (1ull << 32)
#define KC_JSHARD_MAX 64u

_Static_assert(KC_HDR_LEN + KC_PAYLOAD_MAX <= KC_JREC_PAYLOAD_MAX,
	       "a whole KCP datagram fits one REQUEST or REPLY record");
_Static_assert(KC_WORKERS_MAX <= KC_JSHARD_MAX,
	       "each worker appends to a shard of its own");

enum kc_jrec_type {
	KC_JREC_REQUEST = 1,	/* a request as accepted */
	KC_JREC_REPLY = 2,	/* the REPLY sent for it (ref = its seq) */
	KC_JREC_SEGMENT = 3,	/* first record of every segment */
	KC_JREC_SNAPSHOT = 4,	/* a part of a snapshot (ref = seq of part 0) */
	KC_JREC_LEDGER = 5,	/* a ledger hop (ref = seq of its REQUEST) */
	KC_JREC_OUTCOME = 6,	/* the REPLY a CALL's caller got when the
				 * call completed (ref = the CALL's REQUEST
				 * seq), right after the RESPOND or SETTLE
				 * that completed it */
};
#define KC_JREC_TYPE_MAX KC_JREC_OUTCOME

/*
 * A ledger mutation that succeeded is three records in a row: its REQUEST
 * (seq s), its REPLY (s + 1, ref s) and its LEDGER record (s + 2, ref s).
 * The ledger names the hop by this seq before the record is appended, and
 * recovery and kcq verify check it.
 */
static inline uint64_t kc_jrec_hop_seq(uint64_t req_seq)
{
	return req_seq + 2u;
}

/*
 * A snapshot is one object (a queue's whole state, for now) too large for
 * one record: its bytes are cut into parts, consecutive SNAPSHOT records
 * each starting with this header. A snapshot counts only once its last
 * part is read.
 */
#define KC_JSNAP_HDR_LEN 16u
#define KC_JSNAP_CHUNK_MAX (KC_JREC_PAYLOAD_MAX - KC_JSNAP_HDR_LEN)
enum kc_jsnap_kind {
	KC_JSNAP_QUEUE = 1,	/* kc_queue_snapshot's encoding */
	KC_JSNAP_LEDGER = 2,	/* kc_ledger_snapshot's encoding */
	KC_JSNAP_SERVICES = 3,	/* kc_services_snapshot's, right after a
				 * ledger snapshot: the two are one state */
};
struct kc_jsnap {
	uint32_t part;		/* 0.. */
	uint32_t parts;
	uint32_t total_len;	/* bytes of the whole snapshot */
	uint8_t kind;
};
void kc_jsnap_encode(uint8_t out[KC_JSNAP_HDR_LEN], const struct kc_jsnap *s);
/* The most journal bytes a snapshot of len bytes takes, cut into parts of
 * KC_JSNAP_CHUNK_MAX with a record and a part header each. */
static inline uint64_t kc_jsnap_bytes_max(uint64_t len)
{
	return len + (len / KC_JSNAP_CHUNK_MAX + 1) *
		     (KC_JREC_HDR_LEN + KC_JSNAP_HDR_LEN + KC_JREC_ALIGN);
}
bool kc_jsnap_decode(const uint8_t *p, uint32_t len, struct kc_jsnap *s);

/* A record header, decoded (host byte order). */
struct kc_jrec {
	uint32_t crc;
	uint32_t payload_len;
	uint64_t seq;		/* per shard, +1 per record; SEGMENT: 0 */
	uint8_t type;
	uint8_t op;
	uint16_t status;
	uint32_t client_id;
	uint8_t msg_id[KC_MSG_ID_LEN];
	uint64_t time_ns;	/* CLOCK_REALTIME when appended */
	uint32_t client_ip;	/* host byte order */
	uint16_t client_port;
	uint8_t shard;
	uint8_t flags;		/* KC_JREC_F_* */
	uint64_t ref;		/* REPLY: seq of its REQUEST */
};

/*
 * The record holds the KCP header and only the fixed part of the payload
 * (a FETCH REPLY: its offsets and count); the messages it carried are the
 * PUBLISH records they came from. The KCP header still says how long the
 * payload sent was.
 */
#define KC_JREC_F_ABRIDGED 0x01u
/*
 * A REPLY record that was not sent: a CALL accepted (its payload is the
 * kc_call_accept); the caller's REPLY is the call's OUTCOME record.
 */
#define KC_JREC_F_HELD 0x02u
#define KC_JREC_F_KNOWN 0x03u

/* The payload of a SEGMENT record. */
struct kc_jseg {
	uint64_t magic;
	uint16_t version;
	uint16_t shard;
	uint64_t index;		/* the segment's number, as in its file name */
	uint64_t segment_bytes;
	uint64_t created_ns;
};

/* Why a record at some offset is not a valid record. */
enum kc_jrec_check {
	KC_JREC_OK = 0,
	KC_JREC_ZERO,		/* all-zero header: never written */
	KC_JREC_SHORT,		/* fewer bytes left than the record says */
	KC_JREC_BAD_LENGTH,	/* payload_len above the maximum */
	KC_JREC_BAD_TYPE,
	KC_JREC_BAD_CRC,
	KC_JREC_BAD_SEQ,	/* valid, but not the sequence number expected */
	KC_JREC_BAD_FLAGS,	/* flags this version does not know */
};

/* Bytes a record with this payload takes, padding included. */
static inline uint32_t kc_jrec_size(uint32_t payload_len)
{
	return (KC_JREC_HDR_LEN + payload_len + KC_JREC_ALIGN - 1) &
	       ~(KC_JREC_ALIGN - 1);
}

#define KC_JREC_MAX_SIZE (KC_JREC_HDR_LEN + KC_JREC_PAYLOAD_MAX)

/* The journal's own fields are little-endian (docs/journal-format.md). */
static inline void kc_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void kc_put_le32(uint8_t *p, uint32_t v)
{
	kc_put_le16(p, (uint16_t)v);
	kc_put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void kc_put_le64(uint8_t *p, uint64_t v)
{
	kc_put_le32(p, (uint32_t)v);
	kc_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t kc_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t kc_get_le32(const uint8_t *p)
{
	return kc_get_le16(p) | (uint32_t)kc_get_le16(p + 2) << 16;
}

static inline uint64_t kc_get_le64(const uint8_t *p)
{
	return kc_get_le32(p) | (uint64_t)kc_get_le32(p + 4) << 32;
}

/* CRC32C (Castagnoli) as usually defined: initial ~0, final inversion. */
uint32_t kc_crc32c(const void *data, size_t len);

/* Write header and payload at buf (kc_jrec_size bytes), CRC computed. */
void kc_jrec_encode(uint8_t *buf, const struct kc_jrec *h,
		    const void *payload);
/* The same without the CRC, for a payload finished later in place (a
 * REPLY whose tag is computed with its burst's); kc_jrec_seal adds it. */
void kc_jrec_encode_open(uint8_t *buf, const struct kc_jrec *h,
			 const void *payload);
void kc_jrec_seal(uint8_t *buf);
/*
 * Check the record at buf with avail bytes after it, and decode its
 * header. A record is valid if and only if it is not all zeros, its
 * length fits, its type is known, its CRC matches and it sets no flag
 * this version does not know; the caller checks the sequence.
 */
enum kc_jrec_check kc_jrec_decode(const uint8_t *buf, size_t avail,
				  struct kc_jrec *h);
const char *kc_jrec_check_text(enum kc_jrec_check c);
const char *kc_jrec_type_name(unsigned int type);

/* Decode the KCP header a REQUEST or REPLY record holds, abridged or not. */
enum kc_parse kc_jrec_kcp_decode(const struct kc_jrec *h,
				 const uint8_t *payload, struct kc_hdr *kh);

void kc_jseg_encode(uint8_t out[KC_JSEG_PAYLOAD_LEN], const struct kc_jseg *s);
bool kc_jseg_decode(const uint8_t *p, uint32_t len, struct kc_jseg *s);

/* mkdir -p, mode 0750. 0 or a negative errno. */
int kc_jdir_make(const char *path);

/* "DIR/shard-NN" and "DIR/shard-NN/%016llx.kcj". */
int kc_jshard_path(char *out, size_t len, const char *dir, uint16_t shard);
int kc_jseg_path(char *out, size_t len, const char *shard_dir,
		 uint64_t index);
/* The index of a segment file name ("%016llx.kcj"); false for others. */
bool kc_jseg_name_parse(const char *name, uint64_t *index);

#endif /* KC_JREC_H */
