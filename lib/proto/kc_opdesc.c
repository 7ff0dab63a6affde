/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Op descriptors (kc_opdesc.h): one request reader and one REPLY reader
 * per op of KC_OP_LIST, named after the op's symbol, so an op added to the
 * list without its descriptor does not compile.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kc_opdesc.h"
#include "kc_proto.h"

/* ---- building a field list ------------------------------------------- */

static struct kc_field *add(struct kc_fields *o, const char *name,
			    uint8_t kind)
{
	struct kc_field *f;

	/* Each op adds a fixed number of fields, all well under the cap. */
	if (o->n >= KC_FIELDS_MAX)
		return NULL;
	f = &o->f[o->n++];
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->kind = kind;
	return f;
}

static void add_u64(struct kc_fields *o, const char *name, uint64_t v)
{
	struct kc_field *f = add(o, name, KC_FIELD_U64);

	if (f != NULL)
		f->v = v;
}

static void add_bool(struct kc_fields *o, const char *name, bool v)
{
	struct kc_field *f = add(o, name, KC_FIELD_BOOL);

	if (f != NULL)
		f->v = v ? 1 : 0;
}

static void add_word(struct kc_fields *o, const char *name, const char *w)
{
	struct kc_field *f = add(o, name, KC_FIELD_WORD);

	if (f != NULL)
		f->word = w;
}

static void add_bytes(struct kc_fields *o, const char *name, uint8_t kind,
		      const uint8_t *p, uint32_t len, uint32_t count)
{
	struct kc_field *f = add(o, name, kind);

	if (f != NULL) {
		f->p = p;
		f->len = len;
		f->count = count;
	}
}

/* A name of a payload: its length byte at p, the bytes after it. */
static void add_name(struct kc_fields *o, const char *name, const uint8_t *p)
{
	add_bytes(o, name, KC_FIELD_NAME, p + 1, p[0], 0);
}

/* ---- queue ops --------------------------------------------------------- */

static bool req_PING(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	add_bytes(o, "data", KC_FIELD_DATA, p, len, 0);
	return true;
}

static bool reply_PING(const uint8_t *p, uint32_t len, bool abridged,
		       struct kc_fields *o)
{
	if (len != 0)
		add_bytes(o, "echo", KC_FIELD_DATA, p, len, 0);
	return true;
}

static bool req_PUBLISH(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_publish_req r;

	if (kc_dec_publish(p, len, &r) != KC_STATUS_OK)
		return false;
	add_name(o, "queue", p);
	add_bytes(o, "message", KC_FIELD_DATA, r.msg, r.msg_len, 0);
	return true;
}

/* PUBLISH and OFFSET: the offset. */
static bool reply_offset(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	uint64_t v;

	if (!kc_dec_u64_reply(p, len, &v))
		return false;
	add_u64(o, "offset", v);
	return true;
}

static bool reply_PUBLISH(const uint8_t *p, uint32_t len, bool abridged,
			  struct kc_fields *o)
{
	return reply_offset(p, len, o);
}

static bool req_FETCH(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_fetch_req r;

	if (kc_dec_fetch(p, len, &r) != KC_STATUS_OK)
		return false;
	add_name(o, "queue", p);
	add_u64(o, "offset", r.offset);
	add_u64(o, "max", r.max);
	return true;
}

static bool reply_FETCH(const uint8_t *p, uint32_t len, bool abridged,
			struct kc_fields *o)
{
	struct kc_fetch_reply r;

	if (abridged) {
		/* The fixed part only: the records are the PUBLISHes'. */
		if (len != KC_FETCH_REPLY_FIXED)
			return false;
		r.first_offset = kc_get_u64(p);
		r.next_offset = kc_get_u64(p + 8);
		r.end_offset = kc_get_u64(p + 16);
		r.count = kc_get_u16(p + 24);
	} else if (!kc_dec_fetch_reply(p, len, &r)) {
		return false;
	}
	add_u64(o, "count", r.count);
	add_u64(o, "first_offset", r.first_offset);
	add_u64(o, "next_offset", r.next_offset);
	add_u64(o, "end_offset", r.end_offset);
	if (!abridged) {
		add_bytes(o, "messages", KC_FIELD_RECORDS, r.records,
			  r.records_len, r.count);
		o->f[o->n - 1].v = r.first_offset;
	}
	return true;
}

static bool req_COMMIT(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_commit_req r;

	if (kc_dec_commit(p, len, &r) != KC_STATUS_OK)
		return false;
	add_name(o, "queue", p);
	add_name(o, "consumer", p + 1 + r.queue.len);
	add_u64(o, "offset", r.offset);
	return true;
}

static bool reply_COMMIT(const uint8_t *p, uint32_t len, bool abridged,
			 struct kc_fields *o)
{
	if (len != 0)
		return false;
	add_word(o, NULL, "committed");
	return true;
}

static bool req_OFFSET(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_offset_req r;

	if (kc_dec_offset(p, len, &r) != KC_STATUS_OK)
		return false;
	add_name(o, "queue", p);
	add_name(o, "consumer", p + 1 + r.queue.len);
	return true;
}

static bool reply_OFFSET(const uint8_t *p, uint32_t len, bool abridged,
			 struct kc_fields *o)
{
	return reply_offset(p, len, o);
}

/* TIME: the appliance's clock; the request has no payload. */
static bool req_TIME(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	return len == 0;
}

static bool reply_TIME(const uint8_t *p, uint32_t len, bool abridged,
		       struct kc_fields *o)
{
	uint64_t v;

	if (!kc_dec_u64_reply(p, len, &v))
		return false;
	add_u64(o, "unix_ns", v);
	return true;
}

/* ---- ledger ops -------------------------------------------------------- */

static bool req_MINT(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_mint_req r;

	if (kc_dec_mint(p, len, &r) != KC_STATUS_OK)
		return false;
	add_u64(o, "account", r.account);
	add_u64(o, "denomination", r.denomination);
	add_u64(o, "count", r.count);
	return true;
}

/* MINT and SPLIT: the first new coin and how many. */
static bool reply_coins(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	uint64_t first;
	uint32_t n;

	if (!kc_dec_coins_reply(p, len, &first, &n))
		return false;
	add_u64(o, "first_coin", first);
	add_u64(o, "count", n);
	return true;
}

static bool reply_MINT(const uint8_t *p, uint32_t len, bool abridged,
		       struct kc_fields *o)
{
	return reply_coins(p, len, o);
}

static bool req_TRANSFER(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_transfer_req r;

	if (kc_dec_transfer(p, len, &r) != KC_STATUS_OK)
		return false;
	add_u64(o, "from", r.from);
	add_u64(o, "to", r.to);
	add_bytes(o, "coins", KC_FIELD_U64_LIST, r.coins, 0, r.count);
	return true;
}

/* TRANSFER and BURN: the journal seq of the hop. */
static bool reply_hop_seq(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	uint64_t v;

	if (!kc_dec_u64_reply(p, len, &v))
		return false;
	add_u64(o, "seq", v);
	return true;
}

static bool reply_TRANSFER(const uint8_t *p, uint32_t len, bool abridged,
			   struct kc_fields *o)
{
	return reply_hop_seq(p, len, o);
}

static bool req_SPLIT(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_split_req r;

	if (kc_dec_split(p, len, &r) != KC_STATUS_OK)
		return false;
	add_u64(o, "coin", r.coin);
	add_bytes(o, "parts", KC_FIELD_U64_LIST, r.parts, 0, r.count);
	return true;
}

static bool reply_SPLIT(const uint8_t *p, uint32_t len, bool abridged,
			struct kc_fields *o)
{
	return reply_coins(p, len, o);
}

static bool req_MERGE(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_merge_req r;

	if (kc_dec_merge(p, len, &r) != KC_STATUS_OK)
		return false;
	add_bytes(o, "coins", KC_FIELD_U64_LIST, r.coins, 0, r.count);
	return true;
}

static bool reply_MERGE(const uint8_t *p, uint32_t len, bool abridged,
			struct kc_fields *o)
{
	uint64_t v;

	if (!kc_dec_u64_reply(p, len, &v))
		return false;
	add_u64(o, "coin", v);
	return true;
}

/* BURN and COIN: one coin id. */
static bool req_coin_id(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	uint64_t coin;

	if (kc_dec_coin_id(p, len, &coin) != KC_STATUS_OK)
		return false;
	add_u64(o, "coin", coin);
	return true;
}

static bool req_BURN(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	return req_coin_id(p, len, o);
}

static bool reply_BURN(const uint8_t *p, uint32_t len, bool abridged,
		       struct kc_fields *o)
{
	return reply_hop_seq(p, len, o);
}

static bool req_BALANCE(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	uint32_t account;

	if (kc_dec_account(p, len, &account) != KC_STATUS_OK)
		return false;
	add_u64(o, "account", account);
	return true;
}

static bool reply_BALANCE(const uint8_t *p, uint32_t len, bool abridged,
			  struct kc_fields *o)
{
	uint64_t balance;
	uint32_t coins;

	if (!kc_dec_balance_reply(p, len, &balance, &coins))
		return false;
	add_u64(o, "balance", balance);
	add_u64(o, "coins", coins);
	return true;
}

const char *kc_coin_state_name(unsigned int state)
{
	if (state == KC_COIN_LIVE)
		return "LIVE";
	if (state == KC_COIN_DEAD)
		return "DEAD";
	return "?";
}

static bool req_COIN(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	return req_coin_id(p, len, o);
}

static bool reply_COIN(const uint8_t *p, uint32_t len, bool abridged,
		       struct kc_fields *o)
{
	struct kc_coin_info c;

	if (!kc_dec_coin_reply(p, len, &c))
		return false;
	add_u64(o, "coin", c.coin);
	add_u64(o, "denomination", c.denomination);
	add_u64(o, "owner", c.owner);
	add_word(o, "state", kc_coin_state_name(c.state));
	add_u64(o, "created_seq", c.created_seq);
	add_u64(o, "last_hop_seq", c.last_hop_seq);
	return true;
}

static bool req_TRAIL(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_trail_req r;

	if (kc_dec_trail(p, len, &r) != KC_STATUS_OK)
		return false;
	add_u64(o, "coin", r.coin);
	add_u64(o, "skip", r.skip);
	return true;
}

static bool reply_TRAIL(const uint8_t *p, uint32_t len, bool abridged,
			struct kc_fields *o)
{
	struct kc_trail_reply r;

	if (abridged) {
		/* The fixed part only: the hops are the LEDGER records. */
		if (len != KC_TRAIL_REPLY_FIXED)
			return false;
		r.total = kc_get_u32(p);
		r.first = kc_get_u32(p + 4);
		r.count = kc_get_u16(p + 8);
	} else if (!kc_dec_trail_reply(p, len, &r)) {
		return false;
	}
	add_u64(o, "total", r.total);
	add_u64(o, "first", r.first);
	add_u64(o, "count", r.count);
	if (!abridged)
		add_bytes(o, "hops", KC_FIELD_HOPS, r.hops, 0, r.count);
	return true;
}

static bool req_AUDIT(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	return len == 0;
}

static bool reply_AUDIT(const uint8_t *p, uint32_t len, bool abridged,
			struct kc_fields *o)
{
	struct kc_audit a;

	if (!kc_dec_audit_reply(p, len, &a))
		return false;
	add_bool(o, "ok", a.ok);
	add_u64(o, "minted", a.minted);
	add_u64(o, "burnt", a.burnt);
	add_u64(o, "live_sum", a.live_sum);
	add_u64(o, "live_coins", a.live_coins);
	add_u64(o, "dead_coins", a.dead_coins);
	add_u64(o, "accounts", a.accounts);
	add_u64(o, "violations", a.violations);
	return true;
}

/* ---- service ops ------------------------------------------------------- */

static void add_id(struct kc_fields *o, const char *name, const uint8_t *id)
{
	add_bytes(o, name, KC_FIELD_ID, id, KC_CALL_ID_LEN, 0);
}

static bool req_SERVE(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_serve_req r;

	if (kc_dec_serve(p, len, &r) != KC_STATUS_OK)
		return false;
	add_name(o, "type", p);
	add_u64(o, "price", r.price);
	add_u64(o, "max_inflight", r.max_inflight);
	add_u64(o, "lease_s", r.lease_s);
	return true;
}

static bool reply_SERVE(const uint8_t *p, uint32_t len, bool abridged,
			struct kc_fields *o)
{
	uint64_t v;

	if (!kc_dec_u64_reply(p, len, &v))
		return false;
	add_u64(o, "lease_until_ms", v);
	return true;
}

static bool req_UNSERVE(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_name type;

	if (kc_dec_unserve(p, len, &type) != KC_STATUS_OK)
		return false;
	add_name(o, "type", p);
	return true;
}

static bool reply_UNSERVE(const uint8_t *p, uint32_t len, bool abridged,
			  struct kc_fields *o)
{
	uint64_t v;

	if (!kc_dec_u64_reply(p, len, &v))
		return false;
	add_u64(o, "in_flight", v);
	return true;
}

static bool req_CALL(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_call_req r;

	if (kc_dec_call(p, len, &r) != KC_STATUS_OK)
		return false;
	add_name(o, "type", p);
	add_u64(o, "deadline_ms", r.deadline_ms);
	add_bytes(o, "coins", KC_FIELD_U64_LIST, r.coins, 8u * r.count,
		  r.count);
	add_bytes(o, "payload", KC_FIELD_DATA, r.payload, r.payload_len, 0);
	return true;
}

static bool reply_CALL(const uint8_t *p, uint32_t len, bool abridged,
		       struct kc_fields *o)
{
	struct kc_call_reply r;

	if (!kc_dec_call_reply(p, len, &r))
		return false;
	add_u64(o, "service", r.service);
	add_u64(o, "price", r.price);
	add_bytes(o, "payload", KC_FIELD_DATA, r.payload, r.payload_len, 0);
	return true;
}

bool kc_call_accept_fields(const uint8_t *p, uint32_t len,
			   struct kc_fields *o)
{
	struct kc_call_accept a;

	o->n = 0;
	if (!kc_dec_call_accept(p, len, &a))
		return false;
	add_word(o, NULL, "accepted");
	add_u64(o, "service", a.service);
	add_u64(o, "price", a.price);
	add_u64(o, "escrow_coin", a.escrow_coin);
	add_u64(o, "change_coin", a.change_coin);
	return true;
}

static bool req_RESPOND(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_respond_req r;

	if (kc_dec_respond(p, len, &r) != KC_STATUS_OK)
		return false;
	add_id(o, "call", r.call_id);
	add_u64(o, "status", r.status);
	add_bytes(o, "payload", KC_FIELD_DATA, r.payload, r.payload_len, 0);
	return true;
}

/* RESPOND and SETTLE: what became of the price. */
static bool reply_settlement(const uint8_t *p, uint32_t len,
			     struct kc_fields *o)
{
	uint8_t s;
	uint64_t amount;

	if (!kc_dec_settle_reply(p, len, &s, &amount))
		return false;
	add_word(o, "settlement", kc_settlement_name(s));
	add_u64(o, "amount", amount);
	return true;
}

static bool reply_RESPOND(const uint8_t *p, uint32_t len, bool abridged,
			  struct kc_fields *o)
{
	return reply_settlement(p, len, o);
}

static bool req_REPORT(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_report_req r;

	if (kc_dec_report(p, len, &r) != KC_STATUS_OK)
		return false;
	add_id(o, "call", r.call_id);
	add_word(o, "kind", kc_report_kind_name(r.kind));
	add_bytes(o, "text", KC_FIELD_DATA, r.text, r.text_len, 0);
	return true;
}

static bool reply_REPORT(const uint8_t *p, uint32_t len, bool abridged,
			 struct kc_fields *o)
{
	if (len != KC_REPORT_REPLY_LEN || p[0] > 1)
		return false;
	add_bool(o, "held", p[0] != 0);
	return true;
}

static bool req_SETTLE(const uint8_t *p, uint32_t len, struct kc_fields *o)
{
	struct kc_settle_req r;

	if (kc_dec_settle(p, len, &r) != KC_STATUS_OK)
		return false;
	add_id(o, "call", r.call_id);
	add_word(o, "action", kc_settle_action_name(r.action));
	return true;
}

static bool reply_SETTLE(const uint8_t *p, uint32_t len, bool abridged,
			 struct kc_fields *o)
{
	return reply_settlement(p, len, o);
}

/* ---- the table --------------------------------------------------------- */

static const struct kc_op_desc kc_op_descs[KC_OP_MAX_VALUE + 1] = {
#define KC_DESC_ROW(sym, val, ...) [val] = { req_##sym, reply_##sym },
	KC_OP_LIST(KC_DESC_ROW)
#undef KC_DESC_ROW
};

const struct kc_op_desc *kc_op_desc(uint8_t op)
{
	return kc_op_descs[op].request != NULL ? &kc_op_descs[op] : NULL;
}

bool kc_op_request_fields(uint8_t op, const uint8_t *p, uint32_t len,
			  struct kc_fields *out)
{
	const struct kc_op_desc *d = kc_op_desc(op);

	out->n = 0;
	return d != NULL && d->request(p, len, out);
}

bool kc_op_reply_fields(uint8_t op, const uint8_t *p, uint32_t len,
			bool abridged, struct kc_fields *out)
{
	const struct kc_op_desc *d = kc_op_desc(op);

	out->n = 0;
	return d != NULL && d->reply(p, len, abridged, out);
}

/* ---- text -------------------------------------------------------------- */

struct txt {
	char *p;
	size_t cap; /* room for text, the NUL not counted */
	size_t pos;
};

static void put_c(struct txt *t, char c)
{
	if (t->pos < t->cap)
		t->p[t->pos++] = c;
}

static void put_s(struct txt *t, const char *s)
{
	while (*s != '\0')
		put_c(t, *s++);
}

static void put_u64(struct txt *t, uint64_t v)
{
	char d[20];
	int n = 0;

	do {
		d[n++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v != 0);
	while (n > 0)
		put_c(t, d[--n]);
}

static void put_escaped(struct txt *t, const uint8_t *p, size_t n,
			bool keep_space)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		if ((c > 0x20 && c < 0x7f && c != '\\') ||
		    (c == ' ' && keep_space)) {
			put_c(t, (char)c);
		} else {
			put_c(t, '\\');
			put_c(t, 'x');
			put_c(t, hex[c >> 4]);
			put_c(t, hex[c & 0x0f]);
		}
	}
}

void kc_record_walk_start(struct kc_record_walk *w, const struct kc_field *f)
{
	memset(w, 0, sizeof(*w));
	if (f->kind != KC_FIELD_RECORDS)
		return;
	w->r.count = (uint16_t)f->count;
	w->r.records = f->p;
	w->r.records_len = f->len;
	w->offset = f->v;
}

bool kc_record_walk_next(struct kc_record_walk *w, uint64_t *offset,
			 const uint8_t **msg, uint32_t *msg_len)
{
	if (!kc_fetch_reply_next(&w->r, &w->pos, msg, msg_len))
		return false;
	*offset = w->offset++;
	return true;
}

static void put_records(struct txt *t, const struct kc_field *f)
{
	struct kc_record_walk w;
	const uint8_t *m;
	uint32_t ml;
	uint64_t off;
	bool first = true;

	kc_record_walk_start(&w, f);
	while (kc_record_walk_next(&w, &off, &m, &ml)) {
		if (!first)
			put_c(t, ' ');
		first = false;
		put_u64(t, off);
		put_c(t, ':');
		put_escaped(t, m, ml, false);
	}
}

static void put_hops(struct txt *t, const struct kc_field *f)
{
	uint32_t i;

	for (i = 0; i < f->count; i++) {
		struct kc_hop h;

		kc_dec_hop(f->p + (size_t)i * KC_HOP_WIRE_LEN, &h);
		if (i != 0)
			put_c(t, ' ');
		put_u64(t, h.seq);
		put_c(t, ':');
		put_s(t, kc_hop_kind_name(h.kind));
		put_c(t, ':');
		put_u64(t, h.coin);
		put_c(t, ':');
		put_u64(t, h.denomination);
		put_c(t, ':');
		put_u64(t, h.from);
		put_c(t, ':');
		put_u64(t, h.to);
		put_c(t, ':');
		put_u64(t, h.time_ns);
		if (kc_hop_kind_names_call(h.kind)) {
			char call[2 * KC_MSG_ID_LEN + 1];

			kc_msg_id_format(h.call, call);
			put_c(t, ':');
			put_s(t, call);
		}
	}
}

static bool is_list(const struct kc_field *f)
{
	return f->kind == KC_FIELD_RECORDS || f->kind == KC_FIELD_HOPS;
}

size_t kc_fields_text(const struct kc_fields *fs, unsigned int flags,
		      char *out, size_t cap)
{
	struct txt t = { .p = out, .cap = cap > 0 ? cap - 1 : 0 };
	bool first = true;
	uint32_t i, j;

	for (i = 0; i < fs->n; i++) {
		const struct kc_field *f = &fs->f[i];

		if (is_list(f) && ((flags & KC_TEXT_NO_LISTS) || f->count == 0))
			continue;
		if (!first)
			put_c(&t, ' ');
		first = false;
		if (f->name != NULL && !is_list(f)) {
			put_s(&t, f->name);
			put_c(&t, '=');
		}
		switch (f->kind) {
		case KC_FIELD_U64:
			put_u64(&t, f->v);
			break;
		case KC_FIELD_BOOL:
			put_s(&t, f->v ? "true" : "false");
			break;
		case KC_FIELD_WORD:
			put_s(&t, f->word);
			break;
		case KC_FIELD_NAME:
			put_escaped(&t, f->p, f->len, false);
			break;
		case KC_FIELD_DATA:
			put_escaped(&t, f->p, f->len, i + 1 == fs->n);
			break;
		case KC_FIELD_U64_LIST:
			for (j = 0; j < f->count; j++) {
				if (j != 0)
					put_c(&t, ',');
				put_u64(&t, kc_list_u64(f->p, j));
			}
			break;
		case KC_FIELD_RECORDS:
			put_records(&t, f);
			break;
		case KC_FIELD_HOPS:
			put_hops(&t, f);
			break;
		case KC_FIELD_ID: {
			char hex[2 * KC_MSG_ID_LEN + 1];

			kc_msg_id_format(f->p, hex);
			put_s(&t, hex);
			break;
		}
		}
	}
	if (cap > 0)
		out[t.pos] = '\0';
	return t.pos;
}

size_t kc_text_escape(const uint8_t *p, size_t n, bool keep_space, char *out,
		      size_t cap)
{
	struct txt t = { .p = out, .cap = cap > 0 ? cap - 1 : 0 };

	put_escaped(&t, p, n, keep_space);
	if (cap > 0)
		out[t.pos] = '\0';
	return t.pos;
}
