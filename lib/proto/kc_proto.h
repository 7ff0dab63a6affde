/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * KCP, the KingCobra wire protocol: the one definition of it in code.
 * docs/protocol.md describes the same layout byte by byte, with test vectors.
 *
 * Everything here is plain C with no DPDK dependency, so the client library
 * (kcctl, tests, later the load generator) shares it with the appliance.
 * Multi-byte fields are big-endian (network order) on the wire; the encode and
 * decode helpers work byte-wise, so buffers need no particular alignment.
 */
#ifndef KC_PROTO_H
#define KC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KC_PROTO_MAGIC 0x4B43u /* "KC" */
#define KC_PROTO_VERSION 1u
#define KC_UDP_PORT_DEFAULT 60000u

#define KC_HDR_LEN 64u	      /* fixed header, tag included */
#define KC_HDR_SIGNED_LEN 32u /* header bytes covered by the tag */
#define KC_TAG_LEN 32u	      /* HMAC-SHA256 */
#define KC_MSG_ID_LEN 16u
#define KC_KEY_LEN 32u

/*
 * One KCP message is one UDP datagram in one untagged Ethernet frame with a
 * 1500-byte MTU: 1500 - 20 (IPv4, no options) - 8 (UDP) = 1472 bytes of UDP
 * payload, of which the header takes 64.
 */
#define KC_MTU 1500u
#define KC_DATAGRAM_MAX (KC_MTU - 20u - 8u)
#define KC_PAYLOAD_MAX (KC_DATAGRAM_MAX - KC_HDR_LEN)

#define KC_NAME_MAX 64u	      /* queue and consumer names */
#define KC_ERROR_TEXT_MAX 128u /* reason text in an error REPLY */

/* Header field offsets. */
#define KC_OFF_MAGIC 0u
#define KC_OFF_VERSION 2u
#define KC_OFF_TYPE 3u
#define KC_OFF_OP 4u
#define KC_OFF_FLAGS 5u
#define KC_OFF_STATUS 6u
#define KC_OFF_MSG_ID 8u
#define KC_OFF_CLIENT_ID 24u
#define KC_OFF_PAYLOAD_LEN 28u
#define KC_OFF_TAG 32u

enum kc_type {
	KC_TYPE_REQUEST = 1,
	KC_TYPE_REPLY = 2,
	KC_TYPE_DELIVER = 3,	/* the appliance to a service: a CALL to serve */
};

/* Flags: none are defined in version 1; a nonzero value is malformed. */
#define KC_FLAGS_KNOWN 0x00u

/*
 * The one table of operations. Everything the stages need to know about an
 * op is a column here or its descriptor (kc_opdesc.h); no code classifies
 * ops by ranges of their values.
 *
 *   symbol, wire value, name (kcctl, logs, metrics), owner, flags,
 *   hop kind (the LEDGER record an OK one appends; 0: none),
 *   abridged length (an OK REPLY longer than this is journaled as its
 *   first so many bytes; 0: journaled whole)
 *
 * Values are given out in blocks for readability only (1.. queues, 16..
 * the ledger, 48.. services); nothing depends on which block an op is in.
 * Adding an op: docs/architecture.md, "Adding an op".
 */
#define KC_OP_LIST(X)                                                       \
	X(PING, 1, "ping", KC_OWNER_NONE, 0, 0, 0)                          \
	X(PUBLISH, 2, "publish", KC_OWNER_QUEUE,                            \
	  KC_OPF_MUTATES | KC_OPF_GROWS, 0, 0)                              \
	X(FETCH, 3, "fetch", KC_OWNER_QUEUE, 0, 0, KC_FETCH_REPLY_FIXED)    \
	X(COMMIT, 4, "commit", KC_OWNER_QUEUE, KC_OPF_MUTATES, 0, 0)        \
	X(OFFSET, 5, "offset", KC_OWNER_QUEUE, 0, 0, 0)                     \
	X(TIME, 6, "time", KC_OWNER_NONE, 0, 0, 0)                          \
	X(MINT, 16, "mint", KC_OWNER_LEDGER,                                \
	  KC_OPF_MUTATES | KC_OPF_GROWS, KC_HOP_MINT, 0)                    \
	X(TRANSFER, 17, "transfer", KC_OWNER_LEDGER, KC_OPF_MUTATES,        \
	  KC_HOP_TRANSFER, 0)                                               \
	X(SPLIT, 18, "split", KC_OWNER_LEDGER,                              \
	  KC_OPF_MUTATES | KC_OPF_GROWS, KC_HOP_SPLIT, 0)                   \
	X(MERGE, 19, "merge", KC_OWNER_LEDGER, KC_OPF_MUTATES,              \
	  KC_HOP_MERGE, 0)                                                  \
	X(BURN, 20, "burn", KC_OWNER_LEDGER, KC_OPF_MUTATES, KC_HOP_BURN, 0) \
	X(BALANCE, 21, "balance", KC_OWNER_LEDGER, 0, 0, 0)                 \
	X(COIN, 22, "coin", KC_OWNER_LEDGER, 0, 0, 0)                       \
	X(TRAIL, 23, "trail", KC_OWNER_LEDGER, KC_OPF_DEFERRED, 0,          \
	  KC_TRAIL_REPLY_FIXED)                                             \
	X(AUDIT, 24, "audit", KC_OWNER_LEDGER, 0, 0, 0)                     \
	X(SERVE, 48, "serve", KC_OWNER_SERVICES,                            \
	  KC_OPF_MUTATES | KC_OPF_GROWS, 0, 0)                              \
	X(UNSERVE, 49, "unserve", KC_OWNER_SERVICES, KC_OPF_MUTATES, 0, 0)  \
	X(CALL, 50, "call", KC_OWNER_SERVICES,                              \
	  KC_OPF_MUTATES | KC_OPF_GROWS | KC_OPF_HELD, KC_HOP_ESCROW, 0)    \
	X(RESPOND, 51, "respond", KC_OWNER_SERVICES, KC_OPF_MUTATES,        \
	  KC_HOP_PAY, 0)                                                    \
	X(REPORT, 52, "report", KC_OWNER_SERVICES,                          \
	  KC_OPF_MUTATES | KC_OPF_GROWS, 0, 0)                              \
	X(SETTLE, 53, "settle", KC_OWNER_SERVICES,                          \
	  KC_OPF_MUTATES | KC_OPF_INTERNAL, KC_HOP_PAY, 0)

/* Which state machine executes an op, and so which worker gets it. */
enum kc_op_owner {
	KC_OWNER_NONE = 0,   /* no state: any worker (by message id) */
	KC_OWNER_QUEUE = 1,  /* the queue named first in the payload */
	KC_OWNER_LEDGER = 2, /* the one ledger, on worker 0 */
	KC_OWNER_SERVICES = 3, /* services and calls, beside the ledger */
};

/* What an op does, for the stages that treat ops alike. */
#define KC_OPF_MUTATES 0x01u  /* changes state: journaled with its REPLY,
			       * remembered for retries, replayed by
			       * recovery */
#define KC_OPF_GROWS 0x02u    /* may take new room: refused first when the
			       * journal is nearly full */
#define KC_OPF_DEFERRED 0x04u /* answered by the ledger's control thread
			       * (it reads the journal), not the worker */
#define KC_OPF_HELD 0x08u     /* an OK one is answered later (a CALL: when
			       * its service responds or its deadline
			       * passes); its REPLY record is not sent */
#define KC_OPF_INTERNAL 0x10u /* made by the appliance itself (client id
			       * 0), never taken from the wire */

enum kc_op {
#define KC_OP_ENUM(sym, val, ...) KC_OP_##sym = val,
	KC_OP_LIST(KC_OP_ENUM)
#undef KC_OP_ENUM
	KC_OP_MAX_VALUE = 255,
};

/* One row of the table, indexed by wire value (a zero row: not an op). */
struct kc_op_info {
	const char *name;	/* NULL: unknown op */
	uint8_t owner;		/* enum kc_op_owner */
	uint8_t flags;		/* KC_OPF_* */
	uint8_t hop_kind;	/* enum kc_hop_kind, 0: none */
	uint16_t abridged_len;	/* 0: the REPLY is journaled whole */
};
extern const struct kc_op_info kc_op_table[KC_OP_MAX_VALUE + 1];

static inline const struct kc_op_info *kc_op_info(uint8_t op)
{
	return &kc_op_table[op];
}

static inline bool kc_op_mutates(uint8_t op)
{
	return (kc_op_table[op].flags & KC_OPF_MUTATES) != 0;
}

static inline bool kc_op_grows(uint8_t op)
{
	return (kc_op_table[op].flags & KC_OPF_GROWS) != 0;
}

/* An OK one appends a LEDGER record (a hop of the money trail). */
static inline bool kc_op_has_hop(uint8_t op)
{
	return kc_op_table[op].hop_kind != 0;
}

static inline bool kc_op_internal(uint8_t op)
{
	return (kc_op_table[op].flags & KC_OPF_INTERNAL) != 0;
}

/*
 * Status codes of a REPLY: symbol, wire value, short description.
 * Any status but OK carries a UTF-8 reason text as its payload.
 */
#define KC_STATUS_LIST(X)                                                    \
	X(OK, 0, "ok")                                                       \
	X(BAD_REQUEST, 1, "malformed request payload")                       \
	X(UNKNOWN_OP, 2, "unknown operation")                                \
	X(NOT_FOUND, 3, "not found")                                         \
	X(QUEUE_FULL, 4, "queue is full")                                    \
	X(NO_SPACE, 5, "no room for another queue, consumer, account or coin") \
	X(TOO_LARGE, 6, "message too large")                                 \
	X(OUT_OF_RANGE, 7, "offset or amount out of range")                  \
	X(UNAVAILABLE, 8, "appliance busy, retry later")                    \
	X(INTERNAL, 9, "internal error")                                     \
	X(STORAGE_FULL, 10, "journal storage full, retry later")             \
	X(STORAGE_FAILED, 11, "journal write failed, outcome unknown")       \
	X(EXPIRED, 12, "message id outside the replay window")               \
	X(FORBIDDEN, 13, "the request's key may not do this")                \
	X(NOT_OWNER, 14, "coin is owned by another account")                 \
	X(COIN_DEAD, 15, "coin was split, merged or burnt")                  \
	X(TIMEOUT, 16, "the service did not respond before the deadline")

enum kc_status {
#define KC_STATUS_ENUM(sym, val, desc) KC_STATUS_##sym = val,
	KC_STATUS_LIST(KC_STATUS_ENUM)
#undef KC_STATUS_ENUM
};

/* Decoded fixed header (host byte order). */
struct kc_hdr {
	uint16_t magic;
	uint8_t version;
	uint8_t type;
	uint8_t op;
	uint8_t flags;
	uint16_t status;
	uint8_t msg_id[KC_MSG_ID_LEN];
	uint32_t client_id;
	uint32_t payload_len;
	uint8_t tag[KC_TAG_LEN];
};

/* Outcome of decoding a datagram's header; each maps to a drop counter. */
enum kc_parse {
	KC_PARSE_OK = 0,
	KC_PARSE_SHORT,	      /* fewer than KC_HDR_LEN bytes */
	KC_PARSE_BAD_MAGIC,
	KC_PARSE_BAD_VERSION,
	KC_PARSE_BAD_TYPE,
	KC_PARSE_BAD_FLAGS,
	KC_PARSE_BAD_LENGTH,  /* payload_len disagrees with the datagram */
	KC_PARSE_TOO_LARGE,   /* payload_len above KC_PAYLOAD_MAX */
};

/* Byte-order helpers over unaligned buffers. */
static inline void kc_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void kc_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void kc_put_u64(uint8_t *p, uint64_t v)
{
	kc_put_u32(p, (uint32_t)(v >> 32));
	kc_put_u32(p + 4, (uint32_t)v);
}

static inline uint16_t kc_get_u16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t kc_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t kc_get_u64(const uint8_t *p)
{
	return (uint64_t)kc_get_u32(p) << 32 | kc_get_u32(p + 4);
}

/*
 * Message id (128 bits, RFC 9562 UUIDv7 in spirit): bytes 0-5 milliseconds
 * since the Unix epoch, bytes 6-9 the client id, bytes 10-15 a per-client
 * sequence. Unique across a deployment, ordered by time, and the idempotency
 * key and correlation id of a request and its REPLY.
 */
void kc_msg_id_make(uint8_t id[KC_MSG_ID_LEN], uint64_t unix_ms,
		    uint32_t client_id, uint64_t seq);
uint64_t kc_msg_id_time_ms(const uint8_t id[KC_MSG_ID_LEN]);
uint32_t kc_msg_id_client(const uint8_t id[KC_MSG_ID_LEN]);
uint64_t kc_msg_id_seq(const uint8_t id[KC_MSG_ID_LEN]);
/* 32 lowercase hex digits and a NUL. */
void kc_msg_id_format(const uint8_t id[KC_MSG_ID_LEN], char out[33]);

/* Header codec. Encode writes all 64 bytes, tag included as given. */
void kc_hdr_encode(uint8_t *buf, const struct kc_hdr *h);
/*
 * Decode and validate the header of a datagram of len bytes: magic, version,
 * type, flags, and payload_len exactly equal to len - KC_HDR_LEN.
 */
enum kc_parse kc_hdr_decode(const uint8_t *buf, size_t len, struct kc_hdr *h);

const char *kc_op_name(unsigned int op);	     /* NULL if unknown */
int kc_op_from_name(const char *name);		     /* -1 if unknown */
bool kc_op_known(unsigned int op);
const char *kc_status_name(unsigned int status);    /* "OK", ...; "?" */
const char *kc_status_text(unsigned int status);    /* description */
const char *kc_parse_text(enum kc_parse p);

/*
 * Names of queues and consumers: 1..KC_NAME_MAX bytes of [A-Za-z0-9._-].
 */
bool kc_name_valid(const uint8_t *name, size_t len);

/*
 * Op payloads. A name travels as one length byte and the bytes. A reader
 * keeps a cursor over a payload; any read past the end, or bytes left over
 * at the end, makes the payload malformed (KC_STATUS_BAD_REQUEST).
 */
struct kc_name {
	uint8_t len;
	char s[KC_NAME_MAX + 1]; /* NUL-terminated copy */
};

struct kc_publish_req {
	struct kc_name queue;
	const uint8_t *msg; /* points into the payload */
	uint32_t msg_len;
};

struct kc_fetch_req {
	struct kc_name queue;
	uint64_t offset;
	uint16_t max; /* 0: as many as fit in one datagram */
};

struct kc_commit_req {
	struct kc_name queue;
	struct kc_name consumer;
	uint64_t offset;
};

struct kc_offset_req {
	struct kc_name queue;
	struct kc_name consumer;
};

/* FETCH reply: fixed part, then count records of u32 length + bytes. */
#define KC_FETCH_REPLY_FIXED 28u
#define KC_FETCH_RECORD_OVERHEAD 4u
struct kc_fetch_reply {
	uint64_t first_offset; /* offset of the first record returned */
	uint64_t next_offset;  /* offset to fetch next */
	uint64_t end_offset;   /* offset the next PUBLISH will get */
	uint16_t count;
	const uint8_t *records; /* count x (u32 len, bytes) */
	uint32_t records_len;
};

/*
 * Longest message a queue accepts (1343 bytes): a PUBLISH of it fits one
 * datagram whatever the queue name, and one FETCH reply can carry it.
 * A longer message gets KC_STATUS_TOO_LARGE.
 */
#define KC_MSG_MAX (KC_PAYLOAD_MAX - 1u - KC_NAME_MAX)

/*
 * The reason text of a PUBLISH refused with TOO_LARGE, QUEUE_FULL or
 * NO_SPACE (max_queues reached): one wording for every server of the
 * protocol (the appliance, perf/peers' kc-udp-peer).
 */
const char *kc_publish_reason(unsigned int status);
_Static_assert(KC_FETCH_REPLY_FIXED + KC_FETCH_RECORD_OVERHEAD + KC_MSG_MAX <=
		       KC_PAYLOAD_MAX,
	       "the longest message fits one FETCH reply");

/* Request payload encoders: return bytes written, or 0 if cap is too small
 * or an argument is invalid (bad name). Message length is not
 * limited here so tests can send oversize messages. */
size_t kc_enc_publish(uint8_t *p, size_t cap, const char *queue,
		      const void *msg, size_t msg_len);
size_t kc_enc_fetch(uint8_t *p, size_t cap, const char *queue,
		    uint64_t offset, uint16_t max);
size_t kc_enc_commit(uint8_t *p, size_t cap, const char *queue,
		     const char *consumer, uint64_t offset);
size_t kc_enc_offset(uint8_t *p, size_t cap, const char *queue,
		     const char *consumer);

/* Request payload decoders: KC_STATUS_OK or KC_STATUS_BAD_REQUEST. */
enum kc_status kc_dec_publish(const uint8_t *p, size_t len,
			      struct kc_publish_req *r);
enum kc_status kc_dec_fetch(const uint8_t *p, size_t len,
			    struct kc_fetch_req *r);
enum kc_status kc_dec_commit(const uint8_t *p, size_t len,
			     struct kc_commit_req *r);
enum kc_status kc_dec_offset(const uint8_t *p, size_t len,
			     struct kc_offset_req *r);

/* Reply payloads. */
size_t kc_enc_u64_reply(uint8_t *p, size_t cap, uint64_t v);
bool kc_dec_u64_reply(const uint8_t *p, size_t len, uint64_t *v);
/* Writes the fixed part; records are appended by the caller after it. */
void kc_enc_fetch_reply_fixed(uint8_t *p, const struct kc_fetch_reply *r);
bool kc_dec_fetch_reply(const uint8_t *p, size_t len,
			struct kc_fetch_reply *r);
/* Walk the records of a decoded FETCH reply: *pos starts at 0. Returns
 * false at the end or on a malformed record. */
bool kc_fetch_reply_next(const struct kc_fetch_reply *r, uint32_t *pos,
			 const uint8_t **msg, uint32_t *msg_len);

/* ---- the ledger (message-as-currency) --------------------------------- */

/*
 * An account is a client of the keys file: account N may be spent from
 * only by requests signed with client N's key (docs/ledger.md). Coins have
 * 64-bit ids the ledger hands out in order, from 1; a denomination is a
 * positive 64-bit amount.
 */
#define KC_COINS_PER_OP_MAX 128u   /* coins in one TRANSFER or MERGE */
#define KC_SPLIT_PARTS_MAX 128u    /* children of one SPLIT */
#define KC_MINT_COUNT_MAX 256u     /* coins made by one MINT */

/* The kinds of hop in a money trail (and of LEDGER journal records). */
enum kc_hop_kind {
	KC_HOP_MINT = 1,
	KC_HOP_TRANSFER = 2,
	KC_HOP_SPLIT = 3,
	KC_HOP_MERGE = 4,
	KC_HOP_BURN = 5,
	/* Service calls (docs/services.md): the hop record names the call. */
	KC_HOP_ESCROW = 6,	/* a CALL's coins into escrow, change back */
	KC_HOP_PAY = 7,		/* the escrowed price to the service */
	KC_HOP_REFUND = 8,	/* the escrowed price back to the caller */
	KC_HOP_HOLD = 9,	/* answered, the price held for problem reports */
};
#define KC_HOP_KIND_MAX KC_HOP_HOLD
/* Hops of service calls name the call: its CALL's message id. */
static inline bool kc_hop_kind_names_call(unsigned int kind)
{
	return kind >= KC_HOP_ESCROW && kind <= KC_HOP_HOLD;
}

/* May a LEDGER record of this kind follow an OK op? The op table names
 * one kind; a settlement (KC_HOP_PAY) may also be a refund or a hold. */
static inline bool kc_op_hop_fits(uint8_t op, unsigned int kind)
{
	unsigned int k = kc_op_table[op].hop_kind;

	if (k == KC_HOP_PAY)
		return kind == KC_HOP_PAY || kind == KC_HOP_REFUND ||
		       kind == KC_HOP_HOLD;
	return k != 0 && kind == k;
}
const char *kc_hop_kind_name(unsigned int kind); /* "mint", ...; "?" */

enum kc_coin_state {
	KC_COIN_LIVE = 1,
	KC_COIN_DEAD = 2,
};

struct kc_mint_req {
	uint32_t account;
	uint64_t denomination;
	uint32_t count;
};

/* TRANSFER and MERGE carry a list of coin ids; SPLIT a list of amounts. */
struct kc_transfer_req {
	uint32_t from;
	uint32_t to;
	uint16_t count;
	const uint8_t *coins;	/* count x u64, points into the payload */
};

struct kc_split_req {
	uint64_t coin;
	uint16_t count;
	const uint8_t *parts;	/* count x u64 denominations */
};

struct kc_merge_req {
	uint16_t count;
	const uint8_t *coins;	/* count x u64 */
};

struct kc_trail_req {
	uint64_t coin;
	uint32_t skip;		/* hops (oldest first) to leave out: paging */
};

/* The i-th u64 of a coin or amount list. */
static inline uint64_t kc_list_u64(const uint8_t *list, uint32_t i)
{
	return kc_get_u64(list + 8u * i);
}

size_t kc_enc_mint(uint8_t *p, size_t cap, uint32_t account,
		   uint64_t denomination, uint32_t count);
size_t kc_enc_transfer(uint8_t *p, size_t cap, uint32_t from, uint32_t to,
		       const uint64_t *coins, uint16_t count);
size_t kc_enc_split(uint8_t *p, size_t cap, uint64_t coin,
		    const uint64_t *parts, uint16_t count);
size_t kc_enc_merge(uint8_t *p, size_t cap, const uint64_t *coins,
		    uint16_t count);
size_t kc_enc_coin_id(uint8_t *p, size_t cap, uint64_t coin); /* BURN, COIN */
size_t kc_enc_account(uint8_t *p, size_t cap, uint32_t account); /* BALANCE */
size_t kc_enc_trail(uint8_t *p, size_t cap, uint64_t coin, uint32_t skip);

/* Decoders check the shape only (lengths, counts within the limits); the
 * ledger checks the values. */
enum kc_status kc_dec_mint(const uint8_t *p, size_t len, struct kc_mint_req *r);
enum kc_status kc_dec_transfer(const uint8_t *p, size_t len,
			       struct kc_transfer_req *r);
enum kc_status kc_dec_split(const uint8_t *p, size_t len,
			    struct kc_split_req *r);
enum kc_status kc_dec_merge(const uint8_t *p, size_t len,
			    struct kc_merge_req *r);
enum kc_status kc_dec_coin_id(const uint8_t *p, size_t len, uint64_t *coin);
enum kc_status kc_dec_account(const uint8_t *p, size_t len,
			      uint32_t *account);
enum kc_status kc_dec_trail(const uint8_t *p, size_t len,
			    struct kc_trail_req *r);

/* Replies. MINT and SPLIT: the first new coin id and how many (the ids
 * are consecutive). MERGE: the new coin (a u64 reply). TRANSFER and BURN:
 * the journal seq of the hop (a u64 reply). */
#define KC_COINS_REPLY_LEN 12u
size_t kc_enc_coins_reply(uint8_t *p, size_t cap, uint64_t first,
			  uint32_t count);
bool kc_dec_coins_reply(const uint8_t *p, size_t len, uint64_t *first,
			uint32_t *count);

#define KC_BALANCE_REPLY_LEN 12u
size_t kc_enc_balance_reply(uint8_t *p, size_t cap, uint64_t balance,
			    uint32_t coins);
bool kc_dec_balance_reply(const uint8_t *p, size_t len, uint64_t *balance,
			  uint32_t *coins);

struct kc_coin_info {
	uint64_t coin;
	uint64_t denomination;
	uint32_t owner;
	uint8_t state;		/* enum kc_coin_state */
	uint64_t created_seq;	/* the hop that made it */
	uint64_t last_hop_seq;
};
#define KC_COIN_REPLY_LEN 37u
size_t kc_enc_coin_reply(uint8_t *p, size_t cap, const struct kc_coin_info *c);
bool kc_dec_coin_reply(const uint8_t *p, size_t len, struct kc_coin_info *c);

/* One hop of a money trail. */
struct kc_hop {
	uint64_t seq;		/* journal seq of the hop's LEDGER record */
	uint64_t time_ns;	/* when it was applied (CLOCK_REALTIME) */
	uint64_t coin;		/* the coin that moved or was made */
	uint64_t denomination;
	uint32_t from;
	uint32_t to;
	uint8_t kind;		/* enum kc_hop_kind */
	/* The call a hop of a service call is part of (its CALL's message
	 * id; kc_hop_kind_names_call); zeros for the other kinds. */
	uint8_t call[KC_MSG_ID_LEN];
};
#define KC_HOP_WIRE_LEN 57u
#define KC_TRAIL_REPLY_FIXED 10u
#define KC_TRAIL_HOPS_MAX ((KC_PAYLOAD_MAX - KC_TRAIL_REPLY_FIXED) / \
			   KC_HOP_WIRE_LEN)
struct kc_trail_reply {
	uint32_t total;		/* hops in the whole trail */
	uint32_t first;		/* index of the first hop here */
	uint16_t count;
	const uint8_t *hops;	/* count x KC_HOP_WIRE_LEN */
};
void kc_enc_trail_reply_fixed(uint8_t *p, uint32_t total, uint32_t first,
			      uint16_t count);
void kc_enc_hop(uint8_t *p, const struct kc_hop *h);
bool kc_dec_trail_reply(const uint8_t *p, size_t len,
			struct kc_trail_reply *r);
void kc_dec_hop(const uint8_t *p, struct kc_hop *h);

/* AUDIT: the invariants checked over the whole ledger. */
struct kc_audit {
	bool ok;
	uint64_t minted;	/* every denomination ever minted */
	uint64_t burnt;		/* every denomination ever burnt */
	uint64_t live_sum;	/* sum of LIVE coins */
	uint64_t live_coins;
	uint64_t dead_coins;	/* DEAD coins not reaped yet */
	uint32_t accounts;
	uint32_t violations;
};
#define KC_AUDIT_REPLY_LEN 49u
size_t kc_enc_audit_reply(uint8_t *p, size_t cap, const struct kc_audit *a);
bool kc_dec_audit_reply(const uint8_t *p, size_t len, struct kc_audit *a);

/* ---- services (docs/services.md) ---------------------------------------- */

/*
 * Services register for a type (SERVE), callers CALL a type with coins,
 * the appliance DELIVERs each call to one service and holds the caller's
 * REPLY until the service RESPONDs or the deadline passes. A call's id is
 * its CALL's message id. Codecs in kc_proto_svc.c.
 */
#define KC_ACCOUNT_ESCROW UINT32_MAX	/* owns coins of calls in flight;
					 * no key may be its client id */
#define KC_CALL_ID_LEN KC_MSG_ID_LEN
#define KC_CALL_COINS_MAX 16u		/* coins one CALL attaches */
#define KC_CALL_PAYLOAD_MAX 1024u	/* a call's payload, a response's */
#define KC_REPORT_TEXT_MAX 256u
#define KC_SERVE_LEASE_MAX_S 86400u

struct kc_serve_req {
	struct kc_name type;
	uint64_t price;		/* per call; 0: free */
	uint32_t max_inflight;	/* 1.. */
	uint32_t lease_s;	/* 1..KC_SERVE_LEASE_MAX_S */
};

struct kc_call_req {
	struct kc_name type;
	uint32_t deadline_ms;	/* from arrival; 1.. */
	uint16_t payload_len;
	uint16_t count;		/* coins attached, 0..KC_CALL_COINS_MAX */
	const uint8_t *payload;	/* points into the request */
	const uint8_t *coins;	/* count x u64 */
};

struct kc_respond_req {
	const uint8_t *call_id;	/* KC_CALL_ID_LEN bytes */
	uint16_t status;	/* the service's: a KCP status, 0 = OK */
	uint16_t payload_len;
	const uint8_t *payload;
};

enum kc_report_kind {
	KC_REPORT_PROBLEM = 1,
	KC_REPORT_SUGGESTION = 2,
};

struct kc_report_req {
	const uint8_t *call_id;
	uint8_t kind;		/* enum kc_report_kind */
	uint16_t text_len;
	const uint8_t *text;
};

/* SETTLE: made by the appliance (client id 0), never sent by a client. */
enum kc_settle_action {
	KC_SETTLE_TIMEOUT = 1,		/* the deadline passed unanswered */
	KC_SETTLE_RELEASE = 2,		/* the hold passed without dispute */
	KC_SETTLE_RULE_PAY = 3,		/* an arbiter ruled for the service */
	KC_SETTLE_RULE_REFUND = 4,	/* ... for the caller */
	KC_SETTLE_QUARANTINE = 5,	/* a disputed call of a quarantined
					 * service: refunded */
};
#define KC_SETTLE_ACTION_MAX KC_SETTLE_QUARANTINE

struct kc_settle_req {
	const uint8_t *call_id;
	uint8_t action;		/* enum kc_settle_action */
};

/* A DELIVER message's payload (the header: type DELIVER, op CALL, the
 * call id as message id, the service's client id, signed with its key). */
struct kc_deliver {
	uint32_t caller;
	uint64_t deadline_ms;	/* wall clock, ms since the epoch */
	struct kc_name type;
	uint16_t payload_len;
	const uint8_t *payload;
};

size_t kc_enc_serve(uint8_t *p, size_t cap, const char *type, uint64_t price,
		    uint32_t max_inflight, uint32_t lease_s);
size_t kc_enc_unserve(uint8_t *p, size_t cap, const char *type);
size_t kc_enc_call(uint8_t *p, size_t cap, const char *type,
		   uint32_t deadline_ms, const void *payload, size_t len,
		   const uint64_t *coins, uint16_t count);
size_t kc_enc_respond(uint8_t *p, size_t cap, const uint8_t *call_id,
		      uint16_t status, const void *payload, size_t len);
size_t kc_enc_report(uint8_t *p, size_t cap, const uint8_t *call_id,
		     uint8_t kind, const void *text, size_t len);
size_t kc_enc_settle(uint8_t *p, size_t cap, const uint8_t *call_id,
		     uint8_t action);
size_t kc_enc_deliver(uint8_t *p, size_t cap, const struct kc_deliver *d);

/* Decoders check the shape (lengths, ranges); the services the rest. */
enum kc_status kc_dec_serve(const uint8_t *p, size_t len,
			    struct kc_serve_req *r);
enum kc_status kc_dec_unserve(const uint8_t *p, size_t len,
			      struct kc_name *type);
enum kc_status kc_dec_call(const uint8_t *p, size_t len,
			   struct kc_call_req *r);
enum kc_status kc_dec_respond(const uint8_t *p, size_t len,
			      struct kc_respond_req *r);
enum kc_status kc_dec_report(const uint8_t *p, size_t len,
			     struct kc_report_req *r);
enum kc_status kc_dec_settle(const uint8_t *p, size_t len,
			     struct kc_settle_req *r);
bool kc_dec_deliver(const uint8_t *p, size_t len, struct kc_deliver *d);

/*
 * Replies. SERVE: the lease's end (u64 ms since the epoch); UNSERVE: the
 * calls still in flight (u64); both u64 replies.
 * CALL, OK: the service's account, the price paid, the service's payload.
 * (A CALL that is not OK charged nothing; its payload is a reason text,
 * the service's own when the service answered an error.)
 */
#define KC_CALL_REPLY_FIXED 12u
struct kc_call_reply {
	uint32_t service;
	uint64_t price;
	uint16_t payload_len;
	const uint8_t *payload;
};
size_t kc_enc_call_reply(uint8_t *p, size_t cap, uint32_t service,
			 uint64_t price, const void *payload, size_t len);
bool kc_dec_call_reply(const uint8_t *p, size_t len, struct kc_call_reply *r);

/* The journal's REPLY record of an accepted CALL (never sent): whom it
 * went to, the price, the coin in escrow and the change (0: none). */
#define KC_CALL_ACCEPT_LEN 28u
struct kc_call_accept {
	uint32_t service;
	uint64_t price;
	uint64_t escrow_coin;
	uint64_t change_coin;
};
size_t kc_enc_call_accept(uint8_t *p, size_t cap,
			  const struct kc_call_accept *a);
bool kc_dec_call_accept(const uint8_t *p, size_t len,
			struct kc_call_accept *a);

/* RESPOND and SETTLE: what became of the escrowed price. */
enum kc_settlement {
	KC_SETTLED_PAID = 1,
	KC_SETTLED_HELD = 2,
	KC_SETTLED_REFUNDED = 3,
};
#define KC_SETTLE_REPLY_LEN 9u
size_t kc_enc_settle_reply(uint8_t *p, size_t cap, uint8_t settlement,
			   uint64_t amount);
bool kc_dec_settle_reply(const uint8_t *p, size_t len, uint8_t *settlement,
			 uint64_t *amount);
/* REPORT: 1 when it holds the payment for an arbiter, else 0 (one byte). */
#define KC_REPORT_REPLY_LEN 1u

const char *kc_settlement_name(unsigned int s);	/* "paid", ...; "?" */
const char *kc_settle_action_name(unsigned int a); /* "timeout", ...; "?" */
const char *kc_report_kind_name(unsigned int k);   /* "problem", ...; "?" */

#endif /* KC_PROTO_H */
