/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * KCP codecs (kc_proto.h, docs/protocol.md). The appliance's data path calls
 * the decoders for every packet, so nothing here allocates, logs or blocks,
 * and every read is checked against the length it was given first.
 */
#include "kc_proto.h"

#include <string.h>

#include "kc_proto_priv.h"

#define KC_MSG_ID_TIME_OFF 0u
#define KC_MSG_ID_CLIENT_OFF 6u
#define KC_MSG_ID_SEQ_OFF 10u
#define KC_MASK48 ((UINT64_C(1) << 48) - 1u)

_Static_assert(KC_OFF_TAG == KC_HDR_SIGNED_LEN, "the tag follows the signed part");
_Static_assert(KC_OFF_TAG + KC_TAG_LEN == KC_HDR_LEN, "the tag ends the header");
_Static_assert(KC_PAYLOAD_MAX == 1408u, "docs/protocol.md states 1408");
_Static_assert(KC_MSG_MAX == 1343u, "docs/protocol.md states 1343");
_Static_assert(KC_NAME_MAX <= UINT8_MAX, "a name length fits its length byte");

/* --- message id ---------------------------------------------------------- */

static void put_u48(uint8_t *p, uint64_t v)
{
	kc_put_u16(p, (uint16_t)(v >> 32));
	kc_put_u32(p + 2, (uint32_t)v);
}

static uint64_t get_u48(const uint8_t *p)
{
	return (uint64_t)kc_get_u16(p) << 32 | kc_get_u32(p + 2);
}

void kc_msg_id_make(uint8_t id[KC_MSG_ID_LEN], uint64_t unix_ms,
		    uint32_t client_id, uint64_t seq)
{
	/* 48 bits of milliseconds last until the year 10889. */
	put_u48(id + KC_MSG_ID_TIME_OFF, unix_ms & KC_MASK48);
	kc_put_u32(id + KC_MSG_ID_CLIENT_OFF, client_id);
	put_u48(id + KC_MSG_ID_SEQ_OFF, seq & KC_MASK48);
}

uint64_t kc_msg_id_time_ms(const uint8_t id[KC_MSG_ID_LEN])
{
	return get_u48(id + KC_MSG_ID_TIME_OFF);
}

uint32_t kc_msg_id_client(const uint8_t id[KC_MSG_ID_LEN])
{
	return kc_get_u32(id + KC_MSG_ID_CLIENT_OFF);
}

uint64_t kc_msg_id_seq(const uint8_t id[KC_MSG_ID_LEN])
{
	return get_u48(id + KC_MSG_ID_SEQ_OFF);
}

void kc_msg_id_format(const uint8_t id[KC_MSG_ID_LEN], char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned int i;

	for (i = 0; i < KC_MSG_ID_LEN; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 0x0f];
	}
	out[2 * KC_MSG_ID_LEN] = '\0';
}

/* --- header -------------------------------------------------------------- */

void kc_hdr_encode(uint8_t *buf, const struct kc_hdr *h)
{
	kc_put_u16(buf + KC_OFF_MAGIC, h->magic);
	buf[KC_OFF_VERSION] = h->version;
	buf[KC_OFF_TYPE] = h->type;
	buf[KC_OFF_OP] = h->op;
	buf[KC_OFF_FLAGS] = h->flags;
	kc_put_u16(buf + KC_OFF_STATUS, h->status);
	memcpy(buf + KC_OFF_MSG_ID, h->msg_id, KC_MSG_ID_LEN);
	kc_put_u32(buf + KC_OFF_CLIENT_ID, h->client_id);
	kc_put_u32(buf + KC_OFF_PAYLOAD_LEN, h->payload_len);
	memcpy(buf + KC_OFF_TAG, h->tag, KC_TAG_LEN);
}

enum kc_parse kc_hdr_decode(const uint8_t *buf, size_t len, struct kc_hdr *h)
{
	if (len < KC_HDR_LEN)
		return KC_PARSE_SHORT;

	/* Fill every field first so a caller can log or count what it got. */
	h->magic = kc_get_u16(buf + KC_OFF_MAGIC);
	h->version = buf[KC_OFF_VERSION];
	h->type = buf[KC_OFF_TYPE];
	h->op = buf[KC_OFF_OP];
	h->flags = buf[KC_OFF_FLAGS];
	h->status = kc_get_u16(buf + KC_OFF_STATUS);
	memcpy(h->msg_id, buf + KC_OFF_MSG_ID, KC_MSG_ID_LEN);
	h->client_id = kc_get_u32(buf + KC_OFF_CLIENT_ID);
	h->payload_len = kc_get_u32(buf + KC_OFF_PAYLOAD_LEN);
	memcpy(h->tag, buf + KC_OFF_TAG, KC_TAG_LEN);

	if (h->magic != KC_PROTO_MAGIC)
		return KC_PARSE_BAD_MAGIC;
	if (h->version != KC_PROTO_VERSION)
		return KC_PARSE_BAD_VERSION;
	if (h->type != KC_TYPE_REQUEST && h->type != KC_TYPE_REPLY &&
	    h->type != KC_TYPE_DELIVER)
		return KC_PARSE_BAD_TYPE;
	if ((h->flags & ~KC_FLAGS_KNOWN) != 0)
		return KC_PARSE_BAD_FLAGS;
	if (h->payload_len > KC_PAYLOAD_MAX)
		return KC_PARSE_TOO_LARGE;
	if (h->payload_len != len - KC_HDR_LEN)
		return KC_PARSE_BAD_LENGTH;
	return KC_PARSE_OK;
}

/* --- names and descriptions ---------------------------------------------- */

/* Tables built from the X-macro lists, so each list stays the only source. */
const struct kc_op_info kc_op_table[KC_OP_MAX_VALUE + 1] = {
#define KC_OP_ROW(sym, val, nm, own, fl, hop, abr)                          \
	[val] = { .name = nm, .owner = own, .flags = fl, .hop_kind = hop,   \
		  .abridged_len = abr },
	KC_OP_LIST(KC_OP_ROW)
#undef KC_OP_ROW
};

static const struct {
	unsigned int value;
	const char *name;
	const char *text;
} kc_statuses[] = {
#define KC_STATUS_ROW(sym, val, desc) { val, #sym, desc },
	KC_STATUS_LIST(KC_STATUS_ROW)
#undef KC_STATUS_ROW
};

#define KC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const char *kc_op_name(unsigned int op)
{
	return op <= KC_OP_MAX_VALUE ? kc_op_table[op].name : NULL;
}

int kc_op_from_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i <= KC_OP_MAX_VALUE; i++)
		if (kc_op_table[i].name != NULL &&
		    strcmp(kc_op_table[i].name, name) == 0)
			return (int)i;
	return -1;
}

bool kc_op_known(unsigned int op)
{
	return kc_op_name(op) != NULL;
}

const char *kc_status_name(unsigned int status)
{
	size_t i;

	for (i = 0; i < KC_ARRAY_LEN(kc_statuses); i++)
		if (kc_statuses[i].value == status)
			return kc_statuses[i].name;
	return "?";
}

const char *kc_status_text(unsigned int status)
{
	size_t i;

	for (i = 0; i < KC_ARRAY_LEN(kc_statuses); i++)
		if (kc_statuses[i].value == status)
			return kc_statuses[i].text;
	return "unknown status";
}

const char *kc_parse_text(enum kc_parse p)
{
	switch (p) {
	case KC_PARSE_OK:
		return "ok";
	case KC_PARSE_SHORT:
		return "shorter than the 64-byte header";
	case KC_PARSE_BAD_MAGIC:
		return "bad magic";
	case KC_PARSE_BAD_VERSION:
		return "unsupported protocol version";
	case KC_PARSE_BAD_TYPE:
		return "type is neither REQUEST nor REPLY";
	case KC_PARSE_BAD_FLAGS:
		return "unknown flags set";
	case KC_PARSE_BAD_LENGTH:
		return "payload length disagrees with the datagram";
	case KC_PARSE_TOO_LARGE:
		return "payload length above the maximum";
	}
	return "unknown parse outcome";
}

/* The bytes a name may hold: one load a byte, no branch on its value. */
static const uint8_t name_byte[256] = {
	['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['0' ... '9'] = 1,
	['.'] = 1, ['_'] = 1, ['-'] = 1,
};

bool kc_name_valid(const uint8_t *name, size_t len)
{
	uint8_t ok = 1;

	if (len == 0 || len > KC_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		ok &= name_byte[name[i]];
	return ok != 0;
}

/* --- request payloads ---------------------------------------------------- */

/*
 * PUBLISH: name, then the message as the rest of the payload (its length is
 * the payload's). Not limited to KC_MSG_MAX here: the appliance answers
 * TOO_LARGE, and tests need to be able to provoke that.
 */
size_t kc_enc_publish(uint8_t *p, size_t cap, const char *queue,
		      const void *msg, size_t msg_len)
{
	struct wr w = wr_start(p, cap);

	if (msg == NULL && msg_len > 0)
		return 0;
	wr_name(&w, queue);
	wr_bytes(&w, msg, msg_len);
	return wr_done(&w);
}

enum kc_status kc_dec_publish(const uint8_t *p, size_t len,
			      struct kc_publish_req *r)
{
	struct rd d = rd_start(p, len);

	rd_name(&d, &r->queue);
	if (d.bad)
		return KC_STATUS_BAD_REQUEST;
	r->msg = p + d.pos;
	r->msg_len = (uint32_t)(len - d.pos);
	return KC_STATUS_OK;
}

/* FETCH: name, u64 offset, u16 max. */
size_t kc_enc_fetch(uint8_t *p, size_t cap, const char *queue,
		    uint64_t offset, uint16_t max)
{
	struct wr w = wr_start(p, cap);

	wr_name(&w, queue);
	wr_u64(&w, offset);
	wr_u16(&w, max);
	return wr_done(&w);
}

enum kc_status kc_dec_fetch(const uint8_t *p, size_t len,
			    struct kc_fetch_req *r)
{
	struct rd d = rd_start(p, len);

	rd_name(&d, &r->queue);
	r->offset = rd_u64(&d);
	r->max = rd_u16(&d);
	return rd_done(&d);
}

/* COMMIT: queue name, consumer name, u64 offset. */
size_t kc_enc_commit(uint8_t *p, size_t cap, const char *queue,
		     const char *consumer, uint64_t offset)
{
	struct wr w = wr_start(p, cap);

	wr_name(&w, queue);
	wr_name(&w, consumer);
	wr_u64(&w, offset);
	return wr_done(&w);
}

enum kc_status kc_dec_commit(const uint8_t *p, size_t len,
			     struct kc_commit_req *r)
{
	struct rd d = rd_start(p, len);

	rd_name(&d, &r->queue);
	rd_name(&d, &r->consumer);
	r->offset = rd_u64(&d);
	return rd_done(&d);
}

/* OFFSET: queue name, consumer name. */
size_t kc_enc_offset(uint8_t *p, size_t cap, const char *queue,
		     const char *consumer)
{
	struct wr w = wr_start(p, cap);

	wr_name(&w, queue);
	wr_name(&w, consumer);
	return wr_done(&w);
}

enum kc_status kc_dec_offset(const uint8_t *p, size_t len,
			     struct kc_offset_req *r)
{
	struct rd d = rd_start(p, len);

	rd_name(&d, &r->queue);
	rd_name(&d, &r->consumer);
	return rd_done(&d);
}

/* --- reply payloads ------------------------------------------------------ */

size_t kc_enc_u64_reply(uint8_t *p, size_t cap, uint64_t v)
{
	struct wr w = wr_start(p, cap);

	wr_u64(&w, v);
	return wr_done(&w);
}

bool kc_dec_u64_reply(const uint8_t *p, size_t len, uint64_t *v)
{
	struct rd d = rd_start(p, len);

	*v = rd_u64(&d);
	return rd_done(&d) == KC_STATUS_OK;
}

/*
 * FETCH reply fixed part: u64 first_offset, u64 next_offset, u64 end_offset,
 * u16 count, u16 reserved (zero in version 1).
 */
#define KC_FETCH_OFF_FIRST 0u
#define KC_FETCH_OFF_NEXT 8u
#define KC_FETCH_OFF_END 16u
#define KC_FETCH_OFF_COUNT 24u
#define KC_FETCH_OFF_RESERVED 26u
_Static_assert(KC_FETCH_OFF_RESERVED + 2u == KC_FETCH_REPLY_FIXED,
	       "the fixed part of a FETCH reply is 28 bytes");

void kc_enc_fetch_reply_fixed(uint8_t *p, const struct kc_fetch_reply *r)
{
	kc_put_u64(p + KC_FETCH_OFF_FIRST, r->first_offset);
	kc_put_u64(p + KC_FETCH_OFF_NEXT, r->next_offset);
	kc_put_u64(p + KC_FETCH_OFF_END, r->end_offset);
	kc_put_u16(p + KC_FETCH_OFF_COUNT, r->count);
	kc_put_u16(p + KC_FETCH_OFF_RESERVED, 0);
}

/*
 * Validates the whole record area up front (count records, each inside the
 * payload, nothing after the last), so kc_fetch_reply_next cannot fail on a
 * reply that decoded.
 */
bool kc_dec_fetch_reply(const uint8_t *p, size_t len,
			struct kc_fetch_reply *r)
{
	struct rd d = rd_start(p, len);
	uint16_t i;

	r->first_offset = rd_u64(&d);
	r->next_offset = rd_u64(&d);
	r->end_offset = rd_u64(&d);
	r->count = rd_u16(&d);
	if (rd_u16(&d) != 0 || d.bad)
		return false;
	r->records = p + d.pos;
	r->records_len = (uint32_t)(len - d.pos);
	for (i = 0; i < r->count; i++) {
		uint32_t n = rd_u32(&d);

		if (!rd_have(&d, n))
			return false;
		d.pos += n;
	}
	return rd_done(&d) == KC_STATUS_OK;
}

bool kc_fetch_reply_next(const struct kc_fetch_reply *r, uint32_t *pos,
			 const uint8_t **msg, uint32_t *msg_len)
{
	struct rd d = rd_start(r->records, r->records_len);
	uint32_t n;

	if (*pos > r->records_len)
		return false;
	d.pos = *pos;
	if (d.pos == d.len)
		return false;
	n = rd_u32(&d);
	if (!rd_have(&d, n))
		return false;
	*msg = r->records + d.pos;
	*msg_len = n;
	*pos = (uint32_t)(d.pos + n);
	return true;
}

/* --- the ledger ---------------------------------------------------------- */

const char *kc_hop_kind_name(unsigned int kind)
{
	static const char *const names[] = {
		[KC_HOP_MINT] = "mint", [KC_HOP_TRANSFER] = "transfer",
		[KC_HOP_SPLIT] = "split", [KC_HOP_MERGE] = "merge",
		[KC_HOP_BURN] = "burn", [KC_HOP_ESCROW] = "escrow",
		[KC_HOP_PAY] = "pay", [KC_HOP_REFUND] = "refund",
		[KC_HOP_HOLD] = "hold",
	};

	if (kind >= sizeof(names) / sizeof(names[0]) || names[kind] == NULL)
		return "?";
	return names[kind];
}

static void wr_list(struct wr *w, const uint64_t *v, uint16_t count)
{
	if (v == NULL && count > 0) {
		w->bad = true;
		return;
	}
	wr_u16(w, count);
	for (uint16_t i = 0; i < count; i++)
		wr_u64(w, v[i]);
}

/* A u16 count in min..max, then that many u64s; *list points at them. */
static uint16_t rd_list(struct rd *r, uint16_t min, uint16_t max,
			const uint8_t **list)
{
	uint16_t n = rd_u16(r);

	if (n < min || n > max) {
		r->bad = true;
		return 0;
	}
	if (!rd_have(r, 8u * n))
		return 0;
	*list = r->p + r->pos;
	r->pos += 8u * n;
	return n;
}

/* MINT: u32 account, u64 denomination, u32 count. */
size_t kc_enc_mint(uint8_t *p, size_t cap, uint32_t account,
		   uint64_t denomination, uint32_t count)
{
	struct wr w = wr_start(p, cap);

	wr_u32(&w, account);
	wr_u64(&w, denomination);
	wr_u32(&w, count);
	return wr_done(&w);
}

enum kc_status kc_dec_mint(const uint8_t *p, size_t len, struct kc_mint_req *r)
{
	struct rd d = rd_start(p, len);

	r->account = rd_u32(&d);
	r->denomination = rd_u64(&d);
	r->count = rd_u32(&d);
	return rd_done(&d);
}

/* TRANSFER: u32 from, u32 to, u16 count, count x u64 coin ids. */
size_t kc_enc_transfer(uint8_t *p, size_t cap, uint32_t from, uint32_t to,
		       const uint64_t *coins, uint16_t count)
{
	struct wr w = wr_start(p, cap);

	wr_u32(&w, from);
	wr_u32(&w, to);
	wr_list(&w, coins, count);
	return wr_done(&w);
}

enum kc_status kc_dec_transfer(const uint8_t *p, size_t len,
			       struct kc_transfer_req *r)
{
	struct rd d = rd_start(p, len);

	r->from = rd_u32(&d);
	r->to = rd_u32(&d);
	r->coins = NULL;
	r->count = rd_list(&d, 1, KC_COINS_PER_OP_MAX, &r->coins);
	return rd_done(&d);
}

/* SPLIT: u64 coin, u16 count, count x u64 denominations. */
size_t kc_enc_split(uint8_t *p, size_t cap, uint64_t coin,
		    const uint64_t *parts, uint16_t count)
{
	struct wr w = wr_start(p, cap);

	wr_u64(&w, coin);
	wr_list(&w, parts, count);
	return wr_done(&w);
}

enum kc_status kc_dec_split(const uint8_t *p, size_t len,
			    struct kc_split_req *r)
{
	struct rd d = rd_start(p, len);

	r->coin = rd_u64(&d);
	r->parts = NULL;
	r->count = rd_list(&d, 2, KC_SPLIT_PARTS_MAX, &r->parts);
	return rd_done(&d);
}

/* MERGE: u16 count, count x u64 coin ids. */
size_t kc_enc_merge(uint8_t *p, size_t cap, const uint64_t *coins,
		    uint16_t count)
{
	struct wr w = wr_start(p, cap);

	wr_list(&w, coins, count);
	return wr_done(&w);
}

enum kc_status kc_dec_merge(const uint8_t *p, size_t len,
			    struct kc_merge_req *r)
{
	struct rd d = rd_start(p, len);

	r->coins = NULL;
	r->count = rd_list(&d, 2, KC_COINS_PER_OP_MAX, &r->coins);
	return rd_done(&d);
}

/* BURN and COIN: u64 coin id. */
size_t kc_enc_coin_id(uint8_t *p, size_t cap, uint64_t coin)
{
	return kc_enc_u64_reply(p, cap, coin);
}

enum kc_status kc_dec_coin_id(const uint8_t *p, size_t len, uint64_t *coin)
{
	struct rd d = rd_start(p, len);

	*coin = rd_u64(&d);
	return rd_done(&d);
}

/* BALANCE: u32 account. */
size_t kc_enc_account(uint8_t *p, size_t cap, uint32_t account)
{
	struct wr w = wr_start(p, cap);

	wr_u32(&w, account);
	return wr_done(&w);
}

enum kc_status kc_dec_account(const uint8_t *p, size_t len,
			      uint32_t *account)
{
	struct rd d = rd_start(p, len);

	*account = rd_u32(&d);
	return rd_done(&d);
}

/* TRAIL: u64 coin, u32 skip. */
size_t kc_enc_trail(uint8_t *p, size_t cap, uint64_t coin, uint32_t skip)
{
	struct wr w = wr_start(p, cap);

	wr_u64(&w, coin);
	wr_u32(&w, skip);
	return wr_done(&w);
}

enum kc_status kc_dec_trail(const uint8_t *p, size_t len,
			    struct kc_trail_req *r)
{
	struct rd d = rd_start(p, len);

	r->coin = rd_u64(&d);
	r->skip = rd_u32(&d);
	return rd_done(&d);
}

/* MINT and SPLIT replies: u64 first coin, u32 count. */
size_t kc_enc_coins_reply(uint8_t *p, size_t cap, uint64_t first,
			  uint32_t count)
{
	struct wr w = wr_start(p, cap);

	wr_u64(&w, first);
	wr_u32(&w, count);
	return wr_done(&w);
}

bool kc_dec_coins_reply(const uint8_t *p, size_t len, uint64_t *first,
			uint32_t *count)
{
	struct rd d = rd_start(p, len);

	*first = rd_u64(&d);
	*count = rd_u32(&d);
	return rd_done(&d) == KC_STATUS_OK;
}

/* BALANCE reply: u64 balance, u32 coins. */
size_t kc_enc_balance_reply(uint8_t *p, size_t cap, uint64_t balance,
			    uint32_t coins)
{
	return kc_enc_coins_reply(p, cap, balance, coins);
}

bool kc_dec_balance_reply(const uint8_t *p, size_t len, uint64_t *balance,
			  uint32_t *coins)
{
	return kc_dec_coins_reply(p, len, balance, coins);
}

/* COIN reply: u64 coin, u64 denomination, u32 owner, u8 state,
 * u64 created_seq, u64 last_hop_seq. */
size_t kc_enc_coin_reply(uint8_t *p, size_t cap, const struct kc_coin_info *c)
{
	struct wr w = wr_start(p, cap);

	wr_u64(&w, c->coin);
	wr_u64(&w, c->denomination);
	wr_u32(&w, c->owner);
	wr_bytes(&w, &c->state, 1);
	wr_u64(&w, c->created_seq);
	wr_u64(&w, c->last_hop_seq);
	return wr_done(&w);
}

bool kc_dec_coin_reply(const uint8_t *p, size_t len, struct kc_coin_info *c)
{
	struct rd d = rd_start(p, len);

	c->coin = rd_u64(&d);
	c->denomination = rd_u64(&d);
	c->owner = rd_u32(&d);
	c->state = rd_have(&d, 1) ? d.p[d.pos++] : 0;
	c->created_seq = rd_u64(&d);
	c->last_hop_seq = rd_u64(&d);
	return rd_done(&d) == KC_STATUS_OK;
}

/* TRAIL reply: u32 total, u32 first, u16 count, then count hops of
 * u64 seq, u64 time_ns, u64 coin, u64 denomination, u32 from, u32 to,
 * u8 kind. */
void kc_enc_trail_reply_fixed(uint8_t *p, uint32_t total, uint32_t first,
			      uint16_t count)
{
	kc_put_u32(p, total);
	kc_put_u32(p + 4, first);
	kc_put_u16(p + 8, count);
}

void kc_enc_hop(uint8_t *p, const struct kc_hop *h)
{
	kc_put_u64(p, h->seq);
	kc_put_u64(p + 8, h->time_ns);
	kc_put_u64(p + 16, h->coin);
	kc_put_u64(p + 24, h->denomination);
	kc_put_u32(p + 32, h->from);
	kc_put_u32(p + 36, h->to);
	p[40] = h->kind;
	memcpy(p + 41, h->call, KC_MSG_ID_LEN);
}

void kc_dec_hop(const uint8_t *p, struct kc_hop *h)
{
	h->seq = kc_get_u64(p);
	h->time_ns = kc_get_u64(p + 8);
	h->coin = kc_get_u64(p + 16);
	h->denomination = kc_get_u64(p + 24);
	h->from = kc_get_u32(p + 32);
	h->to = kc_get_u32(p + 36);
	h->kind = p[40];
	memcpy(h->call, p + 41, KC_MSG_ID_LEN);
}

bool kc_dec_trail_reply(const uint8_t *p, size_t len,
			struct kc_trail_reply *r)
{
	if (len < KC_TRAIL_REPLY_FIXED)
		return false;
	r->total = kc_get_u32(p);
	r->first = kc_get_u32(p + 4);
	r->count = kc_get_u16(p + 8);
	r->hops = p + KC_TRAIL_REPLY_FIXED;
	return len == KC_TRAIL_REPLY_FIXED +
		      (size_t)r->count * KC_HOP_WIRE_LEN &&
	       (uint64_t)r->first + r->count <= r->total;
}

/* AUDIT reply: u8 ok, u64 minted, u64 burnt, u64 live_sum, u64 live_coins,
 * u64 dead_coins, u32 accounts, u32 violations. */
size_t kc_enc_audit_reply(uint8_t *p, size_t cap, const struct kc_audit *a)
{
	struct wr w = wr_start(p, cap);
	uint8_t ok = a->ok ? 1 : 0;

	wr_bytes(&w, &ok, 1);
	wr_u64(&w, a->minted);
	wr_u64(&w, a->burnt);
	wr_u64(&w, a->live_sum);
	wr_u64(&w, a->live_coins);
	wr_u64(&w, a->dead_coins);
	wr_u32(&w, a->accounts);
	wr_u32(&w, a->violations);
	return wr_done(&w);
}

bool kc_dec_audit_reply(const uint8_t *p, size_t len, struct kc_audit *a)
{
	struct rd d = rd_start(p, len);
	uint8_t ok = rd_have(&d, 1) ? d.p[d.pos++] : 2;

	a->ok = ok == 1;
	a->minted = rd_u64(&d);
	a->burnt = rd_u64(&d);
	a->live_sum = rd_u64(&d);
	a->live_coins = rd_u64(&d);
	a->dead_coins = rd_u64(&d);
	a->accounts = rd_u32(&d);
	a->violations = rd_u32(&d);
	return ok <= 1 && rd_done(&d) == KC_STATUS_OK;
}

_Static_assert(KC_MSG_MAX == 1343, "the TOO_LARGE reason text names it");

const char *kc_publish_reason(unsigned int status)
{
	switch (status) {
	case KC_STATUS_TOO_LARGE:
		return "message longer than 1343 bytes";
	case KC_STATUS_QUEUE_FULL:
		return "queue holds max_messages_per_queue or "
		       "max_bytes_per_queue";
	default:
		return "max_queues reached";
	}
}
