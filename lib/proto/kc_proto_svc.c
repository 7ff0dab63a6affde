/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * KCP codecs of the service ops (kc_proto.h, "services"; docs/protocol.md
 * and docs/services.md): SERVE, UNSERVE, CALL, RESPOND, REPORT, SETTLE,
 * the DELIVER message and their replies. Like kc_proto.c: no allocation,
 * every read checked against the length given first.
 */
#include "kc_proto.h"

#include <string.h>

#include "kc_proto_priv.h"

_Static_assert(KC_CALL_PAYLOAD_MAX + 1u + KC_NAME_MAX + 4u + 2u + 2u +
			8u * KC_CALL_COINS_MAX <= KC_PAYLOAD_MAX,
	       "the longest CALL fits one datagram");
_Static_assert(KC_CALL_PAYLOAD_MAX + 4u + 8u + 1u + KC_NAME_MAX + 2u <=
		       KC_PAYLOAD_MAX,
	       "the DELIVER of the longest CALL fits one datagram");
_Static_assert(KC_CALL_REPLY_FIXED + KC_CALL_PAYLOAD_MAX <= KC_PAYLOAD_MAX,
	       "the REPLY of the longest response fits one datagram");

static void wr_id(struct wr *w, const uint8_t *id)
{
	if (id == NULL) {
		w->bad = true;
		return;
	}
	wr_bytes(w, id, KC_CALL_ID_LEN);
}

static const uint8_t *rd_id(struct rd *r)
{
	const uint8_t *id;

	if (!rd_have(r, KC_CALL_ID_LEN))
		return NULL;
	id = r->p + r->pos;
	r->pos += KC_CALL_ID_LEN;
	return id;
}

/* u16 length, then that many bytes (at most max). */
static void wr_blob(struct wr *w, const void *b, size_t len, size_t max)
{
	if (len > max || (b == NULL && len > 0)) {
		w->bad = true;
		return;
	}
	wr_u16(w, (uint16_t)len);
	wr_bytes(w, b, len);
}

static uint16_t rd_blob(struct rd *r, size_t max, const uint8_t **b)
{
	uint16_t n = rd_u16(r);

	*b = NULL;
	if (n > max) {
		r->bad = true;
		return 0;
	}
	if (!rd_have(r, n))
		return 0;
	*b = r->p + r->pos;
	r->pos += n;
	return n;
}

/* The rest of the payload, at most max bytes. */
static uint16_t rd_rest(struct rd *r, size_t max, const uint8_t **b)
{
	size_t n = r->bad ? 0 : r->len - r->pos;

	*b = NULL;
	if (n > max) {
		r->bad = true;
		return 0;
	}
	*b = r->p + r->pos;
	r->pos += n;
	return (uint16_t)n;
}

/* --- requests ------------------------------------------------------------ */

/* SERVE: name type, u64 price, u32 max_inflight, u32 lease_s. */
size_t kc_enc_serve(uint8_t *p, size_t cap, const char *type, uint64_t price,
		    uint32_t max_inflight, uint32_t lease_s)
{
	struct wr w = wr_start(p, cap);

	wr_name(&w, type);
	wr_u64(&w, price);
	wr_u32(&w, max_inflight);
	wr_u32(&w, lease_s);
	return wr_done(&w);
}

enum kc_status kc_dec_serve(const uint8_t *p, size_t len,
			    struct kc_serve_req *r)
{
	struct rd d = rd_start(p, len);

	rd_name(&d, &r->type);
	r->price = rd_u64(&d);
	r->max_inflight = rd_u32(&d);
	r->lease_s = rd_u32(&d);
	if (r->max_inflight == 0 || r->lease_s == 0 ||
	    r->lease_s > KC_SERVE_LEASE_MAX_S)
		return KC_STATUS_BAD_REQUEST;
	return rd_done(&d);
}

/* UNSERVE: name type. */
size_t kc_enc_unserve(uint8_t *p, size_t cap, const char *type)
{
	struct wr w = wr_start(p, cap);

	wr_name(&w, type);
	return wr_done(&w);
}

enum kc_status kc_dec_unserve(const uint8_t *p, size_t len,
			      struct kc_name *type)
{
	struct rd d = rd_start(p, len);

	rd_name(&d, type);
	return rd_done(&d);
}

/* CALL: name type, u32 deadline_ms, u16 length + payload, u16 count +
 * count x u64 coins. */
size_t kc_enc_call(uint8_t *p, size_t cap, const char *type,
		   uint32_t deadline_ms, const void *payload, size_t len,
		   const uint64_t *coins, uint16_t count)
{
	struct wr w = wr_start(p, cap);

	wr_name(&w, type);
	wr_u32(&w, deadline_ms);
	wr_blob(&w, payload, len, UINT16_MAX);
	if (coins == NULL && count > 0)
		w.bad = true;
	wr_u16(&w, count);
	for (uint16_t i = 0; i < count; i++)
		wr_u64(&w, coins[i]);
	return wr_done(&w);
}

/* Not limited to KC_CALL_PAYLOAD_MAX here: the services answer TOO_LARGE
 * with the limit the config sets. */
enum kc_status kc_dec_call(const uint8_t *p, size_t len,
			   struct kc_call_req *r)
{
	struct rd d = rd_start(p, len);

	rd_name(&d, &r->type);
	r->deadline_ms = rd_u32(&d);
	r->payload_len = rd_blob(&d, KC_PAYLOAD_MAX, &r->payload);
	r->count = rd_u16(&d);
	r->coins = NULL;
	if (r->count > KC_CALL_COINS_MAX || r->deadline_ms == 0)
		return KC_STATUS_BAD_REQUEST;
	if (rd_have(&d, 8u * r->count)) {
		r->coins = d.p + d.pos;
		d.pos += 8u * r->count;
	}
	return rd_done(&d);
}

/* RESPOND: 16-byte call id, u16 status, the rest the payload. */
size_t kc_enc_respond(uint8_t *p, size_t cap, const uint8_t *call_id,
		      uint16_t status, const void *payload, size_t len)
{
	struct wr w = wr_start(p, cap);

	wr_id(&w, call_id);
	wr_u16(&w, status);
	if (payload == NULL && len > 0)
		w.bad = true;
	wr_bytes(&w, payload, len);
	return wr_done(&w);
}

enum kc_status kc_dec_respond(const uint8_t *p, size_t len,
			      struct kc_respond_req *r)
{
	struct rd d = rd_start(p, len);

	r->call_id = rd_id(&d);
	r->status = rd_u16(&d);
	r->payload_len = rd_rest(&d, KC_PAYLOAD_MAX, &r->payload);
	return rd_done(&d);
}

/* REPORT: 16-byte call id, u8 kind, the rest the text. */
size_t kc_enc_report(uint8_t *p, size_t cap, const uint8_t *call_id,
		     uint8_t kind, const void *text, size_t len)
{
	struct wr w = wr_start(p, cap);

	wr_id(&w, call_id);
	if (wr_room(&w, 1))
		w.p[w.pos++] = kind;
	if (text == NULL && len > 0)
		w.bad = true;
	wr_bytes(&w, text, len);
	return wr_done(&w);
}

enum kc_status kc_dec_report(const uint8_t *p, size_t len,
			     struct kc_report_req *r)
{
	struct rd d = rd_start(p, len);

	r->call_id = rd_id(&d);
	r->kind = 0;
	if (rd_have(&d, 1))
		r->kind = d.p[d.pos++];
	r->text_len = rd_rest(&d, KC_REPORT_TEXT_MAX, &r->text);
	if (r->kind != KC_REPORT_PROBLEM && r->kind != KC_REPORT_SUGGESTION)
		return KC_STATUS_BAD_REQUEST;
	return rd_done(&d);
}

/* SETTLE: 16-byte call id, u8 action. */
size_t kc_enc_settle(uint8_t *p, size_t cap, const uint8_t *call_id,
		     uint8_t action)
{
	struct wr w = wr_start(p, cap);

	wr_id(&w, call_id);
	if (wr_room(&w, 1))
		w.p[w.pos++] = action;
	return wr_done(&w);
}

enum kc_status kc_dec_settle(const uint8_t *p, size_t len,
			     struct kc_settle_req *r)
{
	struct rd d = rd_start(p, len);

	r->call_id = rd_id(&d);
	r->action = 0;
	if (rd_have(&d, 1))
		r->action = d.p[d.pos++];
	if (r->action == 0 || r->action > KC_SETTLE_ACTION_MAX)
		return KC_STATUS_BAD_REQUEST;
	return rd_done(&d);
}

/* DELIVER: u32 caller, u64 deadline_ms, name type, u16 length + payload. */
size_t kc_enc_deliver(uint8_t *p, size_t cap, const struct kc_deliver *dv)
{
	struct wr w = wr_start(p, cap);

	wr_u32(&w, dv->caller);
	wr_u64(&w, dv->deadline_ms);
	wr_name(&w, dv->type.s);
	wr_blob(&w, dv->payload, dv->payload_len, KC_CALL_PAYLOAD_MAX);
	return wr_done(&w);
}

bool kc_dec_deliver(const uint8_t *p, size_t len, struct kc_deliver *dv)
{
	struct rd d = rd_start(p, len);

	dv->caller = rd_u32(&d);
	dv->deadline_ms = rd_u64(&d);
	rd_name(&d, &dv->type);
	dv->payload_len = rd_blob(&d, KC_CALL_PAYLOAD_MAX, &dv->payload);
	return rd_done(&d) == KC_STATUS_OK;
}

/* --- replies ------------------------------------------------------------- */

size_t kc_enc_call_reply(uint8_t *p, size_t cap, uint32_t service,
			 uint64_t price, const void *payload, size_t len)
{
	struct wr w = wr_start(p, cap);

	wr_u32(&w, service);
	wr_u64(&w, price);
	if (payload == NULL && len > 0)
		w.bad = true;
	wr_bytes(&w, payload, len);
	return wr_done(&w);
}

bool kc_dec_call_reply(const uint8_t *p, size_t len, struct kc_call_reply *r)
{
	struct rd d = rd_start(p, len);

	r->service = rd_u32(&d);
	r->price = rd_u64(&d);
	r->payload_len = rd_rest(&d, KC_PAYLOAD_MAX, &r->payload);
	return rd_done(&d) == KC_STATUS_OK;
}

size_t kc_enc_call_accept(uint8_t *p, size_t cap,
			  const struct kc_call_accept *a)
{
	struct wr w = wr_start(p, cap);

	wr_u32(&w, a->service);
	wr_u64(&w, a->price);
	wr_u64(&w, a->escrow_coin);
	wr_u64(&w, a->change_coin);
	return wr_done(&w);
}

bool kc_dec_call_accept(const uint8_t *p, size_t len,
			struct kc_call_accept *a)
{
	struct rd d = rd_start(p, len);

	a->service = rd_u32(&d);
	a->price = rd_u64(&d);
	a->escrow_coin = rd_u64(&d);
	a->change_coin = rd_u64(&d);
	return rd_done(&d) == KC_STATUS_OK;
}

size_t kc_enc_settle_reply(uint8_t *p, size_t cap, uint8_t settlement,
			   uint64_t amount)
{
	struct wr w = wr_start(p, cap);

	if (wr_room(&w, 1))
		w.p[w.pos++] = settlement;
	wr_u64(&w, amount);
	return wr_done(&w);
}

bool kc_dec_settle_reply(const uint8_t *p, size_t len, uint8_t *settlement,
			 uint64_t *amount)
{
	struct rd d = rd_start(p, len);

	*settlement = 0;
	if (rd_have(&d, 1))
		*settlement = d.p[d.pos++];
	*amount = rd_u64(&d);
	return rd_done(&d) == KC_STATUS_OK && *settlement >= KC_SETTLED_PAID &&
	       *settlement <= KC_SETTLED_REFUNDED;
}

/* --- names --------------------------------------------------------------- */

const char *kc_settlement_name(unsigned int s)
{
	static const char *const names[] = {
		[KC_SETTLED_PAID] = "paid", [KC_SETTLED_HELD] = "held",
		[KC_SETTLED_REFUNDED] = "refunded",
	};

	if (s >= sizeof(names) / sizeof(names[0]) || names[s] == NULL)
		return "?";
	return names[s];
}

const char *kc_settle_action_name(unsigned int a)
{
	static const char *const names[] = {
		[KC_SETTLE_TIMEOUT] = "timeout",
		[KC_SETTLE_RELEASE] = "release",
		[KC_SETTLE_RULE_PAY] = "rule-pay",
		[KC_SETTLE_RULE_REFUND] = "rule-refund",
		[KC_SETTLE_QUARANTINE] = "quarantine",
	};

	if (a >= sizeof(names) / sizeof(names[0]) || names[a] == NULL)
		return "?";
	return names[a];
}

const char *kc_report_kind_name(unsigned int k)
{
	if (k == KC_REPORT_PROBLEM)
		return "problem";
	if (k == KC_REPORT_SUGGESTION)
		return "suggestion";
	return "?";
}
