/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ledger state machine (kc_ledger.h, docs/ledger.md).
 *
 * Every op validates everything first and changes nothing until it knows
 * it will succeed, so an error REPLY means "nothing happened" and a
 * TRANSFER moves all its coins or none. Checks happen in a fixed order
 * (shape, permission, each coin in list order, capacity) so the status of
 * a refused request does not depend on anything but the ledger's state.
 */
#include <errno.h>
#include <string.h>

#include <openssl/sha.h>
#include <rte_debug.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "kc_ledger.h"

struct coin {
	uint64_t id;
	uint64_t denom;
	uint64_t last_hop;	/* seq of the LEDGER record of its last hop */
	uint64_t created;	/* seq of the hop that made it */
	uint64_t origin;	/* oldest seq its trail reaches */
	uint64_t died_ns;	/* DEAD: when it died */
	uint32_t owner;		/* LIVE: the account; DEAD: the last one */
	uint8_t state;		/* enum kc_coin_state */
	uint8_t refcnt;		/* 1 while LIVE, 0 once DEAD */
};

struct account {
	uint32_t id;
	uint32_t coins;		/* LIVE coins it owns */
	uint64_t balance;	/* sum of their denominations */
	uint64_t created;	/* seq of the hop that first credited it */
};

struct kc_ledger {
	struct kc_ledger_limits lim;
	struct rte_hash *coin_h;	/* coin id -> index into coins */
	struct rte_hash *acct_h;	/* account id -> index into accts */
	struct coin *coins;
	struct account *accts;
	uint64_t *acct_scratch;		/* AUDIT: per-account sums */
	uint32_t *acct_scratch_n;
	/* DEAD coins in the order they died, for the reaper. */
	uint64_t *dead;
	uint32_t dead_head;		/* free-running */
	uint32_t dead_tail;
	uint64_t live;			/* LIVE coins */
	uint32_t accounts;		/* entries of acct_h (rte_hash_count
					 * walks per-lcore caches: too slow
					 * for every poll loop) */
	uint64_t next_coin;		/* the id the next new coin gets */
	uint64_t minted;
	uint64_t burnt;
	uint64_t mutations;
	uint64_t reaped;
	uint64_t min_origin;
};

struct rte_hash *kc_ledger_table(const char *name, const char *what,
				 uint32_t entries, uint32_t key_len, int socket)
{
	char n[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = n,
		/* rte_hash wants at least one bucket's worth. */
		.entries = entries < 16 ? 16 : entries,
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		/* Extendable buckets: every one of entries keys fits, however
		 * they collide, so "full" means exactly max. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	snprintf(n, sizeof(n), "%s_%s", name, what);
	return rte_hash_create(&p);
}

struct kc_ledger *kc_ledger_create(const char *name,
				   const struct kc_ledger_limits *lim,
				   int socket_id)
{
	struct kc_ledger *l = rte_zmalloc_socket("kc_ledger", sizeof(*l),
						 RTE_CACHE_LINE_SIZE,
						 socket_id);
	uint32_t nc = lim->max_coins < 16 ? 16 : lim->max_coins;
	uint32_t na = lim->max_accounts < 16 ? 16 : lim->max_accounts;

	if (l == NULL)
		return NULL;
	l->lim = *lim;
	l->next_coin = 1;
	l->coin_h = kc_ledger_table(name, "c", nc, sizeof(uint64_t), socket_id);
	l->acct_h = kc_ledger_table(name, "a", na, sizeof(uint32_t), socket_id);
	l->coins = rte_zmalloc_socket("kc_coins", sizeof(*l->coins) * nc,
				      RTE_CACHE_LINE_SIZE, socket_id);
	l->accts = rte_zmalloc_socket("kc_accts", sizeof(*l->accts) * na,
				      RTE_CACHE_LINE_SIZE, socket_id);
	l->acct_scratch = rte_zmalloc_socket("kc_acct_sum", 8ull * na, 0,
					     socket_id);
	l->acct_scratch_n = rte_zmalloc_socket("kc_acct_n", 4ull * na, 0,
					       socket_id);
	l->dead = rte_zmalloc_socket("kc_dead", 8ull * nc, 0, socket_id);
	if (l->coin_h == NULL || l->acct_h == NULL || l->coins == NULL ||
	    l->accts == NULL || l->acct_scratch == NULL ||
	    l->acct_scratch_n == NULL || l->dead == NULL) {
		int e = rte_errno ? rte_errno : ENOMEM;

		kc_ledger_free(l);
		rte_errno = e;
		return NULL;
	}
	return l;
}

void kc_ledger_free(struct kc_ledger *l)
{
	if (l == NULL)
		return;
	rte_hash_free(l->coin_h);
	rte_hash_free(l->acct_h);
	rte_free(l->coins);
	rte_free(l->accts);
	rte_free(l->acct_scratch);
	rte_free(l->acct_scratch_n);
	rte_free(l->dead);
	rte_free(l);
}

uint64_t kc_ledger_bytes(const struct kc_ledger_limits *lim)
{
	/* Entries, plus rte_hash's keys and buckets (about 3x a key). */
	return (uint64_t)lim->max_coins * (sizeof(struct coin) + 8 + 8 * 4) +
	       (uint64_t)lim->max_accounts *
		       (sizeof(struct account) + 12 + 4 * 4) +
	       (2u << 20);
}

/* ---- lookups ------------------------------------------------------------ */

static struct coin *coin_get(const struct kc_ledger *l, uint64_t id)
{
	int32_t pos = rte_hash_lookup(l->coin_h, &id);

	return pos < 0 ? NULL : &l->coins[pos];
}

static struct account *acct_get(const struct kc_ledger *l, uint32_t id)
{
	int32_t pos = rte_hash_lookup(l->acct_h, &id);

	return pos < 0 ? NULL : &l->accts[pos];
}

static uint64_t coins_held(const struct kc_ledger *l)
{
	return l->live + (l->dead_head - l->dead_tail);
}

/* Reap one DEAD coin (the oldest). */
static void reap_one(struct kc_ledger *l)
{
	uint64_t id = l->dead[l->dead_tail % l->lim.max_coins];

	rte_hash_del_key(l->coin_h, &id);
	l->dead_tail++;
	l->reaped++;
}

/*
 * Room for n more coins: reaping DEAD coins early if need be (they only
 * wait in memory to answer COIN and TRAIL; the journal has their history).
 * The answer depends on LIVE coins only, so replay decides the same.
 */
static bool coin_room(struct kc_ledger *l, uint64_t n)
{
	if (l->live + n > l->lim.max_coins)
		return false;
	while (coins_held(l) + n > l->lim.max_coins)
		reap_one(l);
	return true;
}

/* ---- the hop record ----------------------------------------------------- */

struct hopw {
	uint8_t *p;
	uint32_t nb_in;
	uint32_t nb_out;
	uint32_t out_at;	/* where out entries start */
};

static void hop_begin(struct hopw *w, uint8_t *p, uint8_t kind, uint32_t from,
		      uint32_t to, uint32_t nb_in)
{
	w->p = p;
	w->nb_in = 0;
	w->nb_out = 0;
	w->out_at = KC_HOPREC_FIXED + nb_in * KC_HOPREC_IN_LEN;
	p[0] = kind;
	p[1] = KC_HOPREC_VERSION;
	kc_put_u16(p + 6, 0);
	kc_put_u32(p + 8, from);
	kc_put_u32(p + 12, to);
}

static void hop_in(struct hopw *w, const struct coin *c)
{
	uint8_t *e = w->p + KC_HOPREC_FIXED + w->nb_in * KC_HOPREC_IN_LEN;

	kc_put_u64(e, c->id);
	kc_put_u64(e + 8, c->denom);
	kc_put_u64(e + 16, c->last_hop);
	w->nb_in++;
}

static void hop_out(struct hopw *w, uint64_t id, uint64_t denom)
{
	uint8_t *e = w->p + w->out_at + w->nb_out * KC_HOPREC_OUT_LEN;

	kc_put_u64(e, id);
	kc_put_u64(e + 8, denom);
	w->nb_out++;
}

static uint32_t hop_end(struct hopw *w)
{
	kc_put_u16(w->p + 2, (uint16_t)w->nb_in);
	kc_put_u16(w->p + 4, (uint16_t)w->nb_out);
	return w->out_at + w->nb_out * KC_HOPREC_OUT_LEN;
}

/* The hop of a service call ends with the call's id. */
static uint32_t hop_end_call(struct hopw *w, const uint8_t *call_id)
{
	uint32_t n = hop_end(w);

	memcpy(w->p + n, call_id, KC_CALL_ID_LEN);
	return n + KC_CALL_ID_LEN;
}

bool kc_hoprec_decode(const uint8_t *p, uint32_t len, struct kc_hoprec *h)
{
	uint32_t n;

	if (len < KC_HOPREC_FIXED || p[1] != KC_HOPREC_VERSION)
		return false;
	h->kind = p[0];
	h->nb_in = kc_get_u16(p + 2);
	h->nb_out = kc_get_u16(p + 4);
	h->from = kc_get_u32(p + 8);
	h->to = kc_get_u32(p + 12);
	h->in = p + KC_HOPREC_FIXED;
	h->out = h->in + (size_t)h->nb_in * KC_HOPREC_IN_LEN;
	h->call = NULL;
	n = KC_HOPREC_FIXED + (uint32_t)h->nb_in * KC_HOPREC_IN_LEN +
	    (uint32_t)h->nb_out * KC_HOPREC_OUT_LEN;
	if (kc_hop_kind_names_call(h->kind)) {
		h->call = p + n;
		n += KC_CALL_ID_LEN;
	}
	return h->kind >= KC_HOP_MINT && h->kind <= KC_HOP_KIND_MAX &&
	       len == n;
}

void kc_hoprec_in(const struct kc_hoprec *h, uint32_t i, uint64_t *coin,
		  uint64_t *denomination, uint64_t *prev_seq)
{
	const uint8_t *e = h->in + (size_t)i * KC_HOPREC_IN_LEN;

	*coin = kc_get_u64(e);
	*denomination = kc_get_u64(e + 8);
	*prev_seq = kc_get_u64(e + 16);
}

void kc_hoprec_out(const struct kc_hoprec *h, uint32_t i, uint64_t *coin,
		   uint64_t *denomination)
{
	const uint8_t *e = h->out + (size_t)i * KC_HOPREC_OUT_LEN;

	*coin = kc_get_u64(e);
	*denomination = kc_get_u64(e + 8);
}

/* ---- mutations ---------------------------------------------------------- */

static enum kc_status fail(struct kc_ledger_result *r, enum kc_status s,
			   const char *reason)
{
	r->status = s;
	r->reason = reason;
	return s;
}

/* A coin the caller may spend: known, LIVE, owned by account. */
static struct coin *spendable(struct kc_ledger *l, uint64_t id,
			      uint32_t account, struct kc_ledger_result *r)
{
	struct coin *c = coin_get(l, id);

	if (c == NULL) {
		if (id != 0 && id < l->next_coin)
			fail(r, KC_STATUS_COIN_DEAD, "a coin is dead (split, "
			     "merged or burnt) and reaped");
		else
			fail(r, KC_STATUS_NOT_FOUND, "a coin id was never "
			     "minted");
		return NULL;
	}
	if (c->state != KC_COIN_LIVE) {
		fail(r, KC_STATUS_COIN_DEAD, "a coin is dead: split, merged "
		     "or burnt");
		return NULL;
	}
	if (c->owner != account) {
		fail(r, KC_STATUS_NOT_OWNER, "a coin is not owned by the "
		     "paying account (already transferred?)");
		return NULL;
	}
	return c;
}

/* Duplicates in a list of at most KC_COINS_PER_OP_MAX ids. */
static bool has_duplicate(const uint8_t *list, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t j = 0; j < i; j++)
			if (kc_list_u64(list, i) == kc_list_u64(list, j))
				return true;
	return false;
}

/* The account to credit: existing, or made now. NULL: table full. */
static struct account *acct_credit_target(struct kc_ledger *l, uint32_t id,
					  uint64_t seq)
{
	struct account *a = acct_get(l, id);
	int32_t pos;

	if (a != NULL)
		return a;
	pos = rte_hash_add_key(l->acct_h, &id);
	if (pos < 0)
		return NULL;
	a = &l->accts[pos];
	*a = (struct account){ .id = id, .created = seq };
	l->accounts++;
	return a;
}

static bool acct_room(const struct kc_ledger *l, uint32_t id)
{
	return acct_get(l, id) != NULL || l->accounts < l->lim.max_accounts;
}

static void coin_new(struct kc_ledger *l, struct account *a, uint64_t denom,
		     uint64_t seq, uint64_t origin)
{
	uint64_t id = l->next_coin++;
	int32_t pos = rte_hash_add_key(l->coin_h, &id);

	/* coin_room made sure of the room: EXT_TABLE holds every entry. */
	RTE_VERIFY(pos >= 0);
	l->coins[pos] = (struct coin){
		.id = id, .denom = denom, .last_hop = seq, .created = seq,
		.origin = origin, .owner = a->id, .state = KC_COIN_LIVE,
		.refcnt = 1,
	};
	a->balance += denom;
	a->coins++;
	l->live++;
}

static void coin_kill(struct kc_ledger *l, struct coin *c, uint64_t seq,
		      uint64_t now_ns)
{
	struct account *a = acct_get(l, c->owner);

	a->balance -= c->denom;
	a->coins--;
	c->state = KC_COIN_DEAD;
	c->refcnt = 0;
	c->last_hop = seq;
	c->died_ns = now_ns;
	l->live--;
	l->dead[l->dead_head % l->lim.max_coins] = c->id;
	l->dead_head++;
}

static bool recipient_known(const struct kc_ledger_caller *c, uint32_t id)
{
	return c->keys == NULL || kc_keyring_find(c->keys, id) != NULL;
}

static enum kc_status
op_mint(struct kc_ledger *l, const struct kc_ledger_caller *c,
	const uint8_t *in, uint32_t len, uint64_t seq, uint8_t *out,
	uint32_t cap, uint8_t *hop, struct kc_ledger_result *r)
{
	struct kc_mint_req q;
	struct account *a;
	struct hopw w;
	uint64_t first;

	if (kc_dec_mint(in, len, &q) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "MINT wants an account, "
			    "a denomination and a count");
	if (!c->mint_authority)
		return fail(r, KC_STATUS_FORBIDDEN, "only the mint authority's "
			    "key may MINT (ledger.mint_authority)");
	if (q.denomination == 0 || q.count == 0 ||
	    q.count > KC_MINT_COUNT_MAX)
		return fail(r, KC_STATUS_BAD_REQUEST, "MINT wants a positive "
			    "denomination and a count of 1..256");
	if (q.account == 0 || !recipient_known(c, q.account))
		return fail(r, KC_STATUS_NOT_FOUND, "no such account: the "
			    "keys file has no client with that id");
	/* Supply, and so every balance, must stay within 64 bits; so must
	 * the total ever minted that AUDIT reports (burnt never passes it):
	 * minting the whole supply, burning it and minting again would
	 * otherwise wrap it. */
	if (q.denomination > (UINT64_MAX - (l->minted - l->burnt)) / q.count)
		return fail(r, KC_STATUS_OUT_OF_RANGE, "the supply would "
			    "exceed 2^64-1");
	if (q.denomination * q.count > UINT64_MAX - l->minted)
		return fail(r, KC_STATUS_OUT_OF_RANGE, "the total ever "
			    "minted would exceed 2^64-1");
	if (!acct_room(l, q.account))
		return fail(r, KC_STATUS_NO_SPACE, "ledger.max_accounts "
			    "reached");
	if (!coin_room(l, q.count))
		return fail(r, KC_STATUS_NO_SPACE, "ledger.max_coins reached");
	a = acct_credit_target(l, q.account, seq);
	first = l->next_coin;
	hop_begin(&w, hop, KC_HOP_MINT, 0, q.account, 0);
	for (uint32_t i = 0; i < q.count; i++) {
		hop_out(&w, l->next_coin, q.denomination);
		coin_new(l, a, q.denomination, seq, seq);
	}
	l->minted += q.denomination * q.count;
	r->hop_len = hop_end(&w);
	r->len = (uint32_t)kc_enc_coins_reply(out, cap, first, q.count);
	return KC_STATUS_OK;
}

static enum kc_status
op_transfer(struct kc_ledger *l, const struct kc_ledger_caller *c,
	    const uint8_t *in, uint32_t len, uint64_t seq, uint8_t *out,
	    uint32_t cap, uint8_t *hop, struct kc_ledger_result *r)
{
	struct coin *coins[KC_COINS_PER_OP_MAX];
	struct kc_transfer_req q;
	struct account *from, *to;
	struct hopw w;

	if (kc_dec_transfer(in, len, &q) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "TRANSFER wants from, "
			    "to and 1..128 coins");
	if (q.from != c->client_id)
		return fail(r, KC_STATUS_FORBIDDEN, "TRANSFER must be signed "
			    "by the paying account's key");
	if (q.to == q.from)
		return fail(r, KC_STATUS_BAD_REQUEST, "TRANSFER to the paying "
			    "account itself");
	if (has_duplicate(q.coins, q.count))
		return fail(r, KC_STATUS_BAD_REQUEST, "a coin is listed twice");
	if (q.to == 0 || !recipient_known(c, q.to))
		return fail(r, KC_STATUS_NOT_FOUND, "no such account: the "
			    "keys file has no client with that id");
	for (uint32_t i = 0; i < q.count; i++) {
		coins[i] = spendable(l, kc_list_u64(q.coins, i), q.from, r);
		if (coins[i] == NULL)
			return r->status;
	}
	if (!acct_room(l, q.to))
		return fail(r, KC_STATUS_NO_SPACE, "ledger.max_accounts "
			    "reached");
	/* Decided: all of them move. */
	from = acct_get(l, q.from);
	to = acct_credit_target(l, q.to, seq);
	hop_begin(&w, hop, KC_HOP_TRANSFER, q.from, q.to, q.count);
	for (uint32_t i = 0; i < q.count; i++) {
		struct coin *k = coins[i];

		hop_in(&w, k);
		from->balance -= k->denom;
		from->coins--;
		to->balance += k->denom;
		to->coins++;
		k->owner = q.to;
		k->last_hop = seq;
	}
	r->hop_len = hop_end(&w);
	r->len = (uint32_t)kc_enc_u64_reply(out, cap, seq);
	return KC_STATUS_OK;
}

static enum kc_status
op_split(struct kc_ledger *l, const struct kc_ledger_caller *c,
	 const uint8_t *in, uint32_t len, uint64_t seq, uint64_t now_ns,
	 uint8_t *out, uint32_t cap, uint8_t *hop, struct kc_ledger_result *r)
{
	struct kc_split_req q;
	struct account *a;
	struct coin *p;
	struct hopw w;
	uint64_t sum = 0, first, origin;

	if (kc_dec_split(in, len, &q) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "SPLIT wants a coin and "
			    "2..128 denominations");
	p = spendable(l, q.coin, c->client_id, r);
	if (p == NULL)
		return r->status;
	for (uint32_t i = 0; i < q.count; i++) {
		uint64_t d = kc_list_u64(q.parts, i);

		if (d == 0)
			return fail(r, KC_STATUS_BAD_REQUEST, "a SPLIT part "
				    "of zero");
		if (d > p->denom - sum)
			return fail(r, KC_STATUS_BAD_REQUEST, "the SPLIT "
				    "parts add up to more than the coin");
		sum += d;
	}
	if (sum != p->denom)
		return fail(r, KC_STATUS_BAD_REQUEST, "the SPLIT parts add up "
			    "to less than the coin");
	/* The parent's entry stays (DEAD) until reaped. */
	if (!coin_room(l, q.count))
		return fail(r, KC_STATUS_NO_SPACE, "ledger.max_coins reached");
	a = acct_get(l, p->owner);
	origin = p->origin;
	first = l->next_coin;
	hop_begin(&w, hop, KC_HOP_SPLIT, a->id, a->id, 1);
	hop_in(&w, p);
	coin_kill(l, p, seq, now_ns);
	for (uint32_t i = 0; i < q.count; i++) {
		hop_out(&w, l->next_coin, kc_list_u64(q.parts, i));
		coin_new(l, a, kc_list_u64(q.parts, i), seq, origin);
	}
	r->hop_len = hop_end(&w);
	r->len = (uint32_t)kc_enc_coins_reply(out, cap, first, q.count);
	return KC_STATUS_OK;
}

static enum kc_status
op_merge(struct kc_ledger *l, const struct kc_ledger_caller *c,
	 const uint8_t *in, uint32_t len, uint64_t seq, uint64_t now_ns,
	 uint8_t *out, uint32_t cap, uint8_t *hop, struct kc_ledger_result *r)
{
	struct coin *coins[KC_COINS_PER_OP_MAX];
	struct kc_merge_req q;
	struct account *a;
	struct hopw w;
	uint64_t sum = 0, origin = UINT64_MAX, id;
	bool room;

	if (kc_dec_merge(in, len, &q) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "MERGE wants 2..128 "
			    "coins");
	if (has_duplicate(q.coins, q.count))
		return fail(r, KC_STATUS_BAD_REQUEST, "a coin is listed twice");
	for (uint32_t i = 0; i < q.count; i++) {
		coins[i] = spendable(l, kc_list_u64(q.coins, i), c->client_id,
				     r);
		if (coins[i] == NULL)
			return r->status;
		/* The supply fits 64 bits, so no sum of LIVE coins can
		 * overflow; checked anyway, it costs nothing. */
		if (coins[i]->denom > UINT64_MAX - sum)
			return fail(r, KC_STATUS_OUT_OF_RANGE, "the MERGE sum "
				    "exceeds 2^64-1");
		sum += coins[i]->denom;
		if (coins[i]->origin < origin)
			origin = coins[i]->origin;
	}
	a = acct_get(l, c->client_id);
	hop_begin(&w, hop, KC_HOP_MERGE, a->id, a->id, q.count);
	for (uint32_t i = 0; i < q.count; i++) {
		hop_in(&w, coins[i]);
		coin_kill(l, coins[i], seq, now_ns);
	}
	/* The two or more coins merged are DEAD now, so even a table full
	 * of LIVE coins has room for the one the merge makes: a full ledger
	 * can consolidate (it once answered NO_SPACE here). */
	room = coin_room(l, 1);
	RTE_VERIFY(room);
	id = l->next_coin;
	hop_out(&w, id, sum);
	coin_new(l, a, sum, seq, origin);
	r->hop_len = hop_end(&w);
	r->len = (uint32_t)kc_enc_u64_reply(out, cap, id);
	return KC_STATUS_OK;
}

static enum kc_status
op_burn(struct kc_ledger *l, const struct kc_ledger_caller *c,
	const uint8_t *in, uint32_t len, uint64_t seq, uint64_t now_ns,
	uint8_t *out, uint32_t cap, uint8_t *hop, struct kc_ledger_result *r)
{
	struct coin *k;
	struct hopw w;
	uint64_t id;

	if (kc_dec_coin_id(in, len, &id) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "BURN wants a coin");
	k = spendable(l, id, c->client_id, r);
	if (k == NULL)
		return r->status;
	hop_begin(&w, hop, KC_HOP_BURN, k->owner, 0, 1);
	hop_in(&w, k);
	l->burnt += k->denom;
	coin_kill(l, k, seq, now_ns);
	r->hop_len = hop_end(&w);
	r->len = (uint32_t)kc_enc_u64_reply(out, cap, seq);
	return KC_STATUS_OK;
}

/* ---- escrow of service calls ------------------------------------------- */

enum kc_status kc_ledger_escrow(struct kc_ledger *l, uint32_t caller,
				const uint8_t *coins, uint16_t count,
				uint64_t price, const uint8_t *call_id,
				uint64_t seq, uint64_t now_ns, uint8_t *hop,
				struct kc_escrow *e, const char **reason)
{
	struct coin *k[KC_CALL_COINS_MAX];
	struct kc_ledger_result r = { .status = KC_STATUS_OK };
	struct account *from, *esc;
	uint64_t sum = 0, origin = UINT64_MAX;
	uint32_t outs;
	struct hopw w;

	*e = (struct kc_escrow){ 0 };
	if (count > KC_CALL_COINS_MAX) {
		*reason = "a CALL attaches at most 16 coins";
		return KC_STATUS_BAD_REQUEST;
	}
	if (has_duplicate(coins, count)) {
		*reason = "a coin is listed twice";
		return KC_STATUS_BAD_REQUEST;
	}
	for (uint32_t i = 0; i < count; i++) {
		k[i] = spendable(l, kc_list_u64(coins, i), caller, &r);
		if (k[i] == NULL) {
			*reason = r.reason;
			return r.status;
		}
		sum += k[i]->denom; /* LIVE coins: the supply fits 64 bits */
		if (k[i]->origin < origin)
			origin = k[i]->origin;
	}
	if (sum < price) {
		*reason = "the coins attached are worth less than the "
			  "service's price";
		return KC_STATUS_OUT_OF_RANGE;
	}
	if (price == 0) {
		/* A free call: nothing moves; the hop names the call. */
		hop_begin(&w, hop, KC_HOP_ESCROW, caller, KC_ACCOUNT_ESCROW, 0);
		e->hop_len = hop_end_call(&w, call_id);
		l->mutations++;
		return KC_STATUS_OK;
	}
	/* One coin of the exact price moves as it is; otherwise the coins
	 * are consumed into a coin of the price and one of the change. */
	outs = count == 1 && sum == price ? 0 : (sum > price ? 2 : 1);
	if (outs != 0 && l->live + outs > (uint64_t)l->lim.max_coins + count) {
		*reason = "ledger.max_coins reached";
		return KC_STATUS_NO_SPACE;
	}
	if (!acct_room(l, KC_ACCOUNT_ESCROW)) {
		*reason = "ledger.max_accounts reached";
		return KC_STATUS_NO_SPACE;
	}
	/* Decided. */
	from = acct_get(l, caller);
	esc = acct_credit_target(l, KC_ACCOUNT_ESCROW, seq);
	hop_begin(&w, hop, KC_HOP_ESCROW, caller, KC_ACCOUNT_ESCROW, count);
	if (outs == 0) {
		hop_in(&w, k[0]);
		from->balance -= k[0]->denom;
		from->coins--;
		esc->balance += k[0]->denom;
		esc->coins++;
		k[0]->owner = KC_ACCOUNT_ESCROW;
		k[0]->last_hop = seq;
		e->escrow_coin = k[0]->id;
	} else {
		bool room;

		for (uint32_t i = 0; i < count; i++) {
			hop_in(&w, k[i]);
			coin_kill(l, k[i], seq, now_ns);
		}
		room = coin_room(l, outs);
		RTE_VERIFY(room);
		e->escrow_coin = l->next_coin;
		hop_out(&w, l->next_coin, price);
		coin_new(l, esc, price, seq, origin);
		if (outs == 2) {
			e->change_coin = l->next_coin;
			hop_out(&w, l->next_coin, sum - price);
			coin_new(l, from, sum - price, seq, origin);
		}
	}
	e->hop_len = hop_end_call(&w, call_id);
	l->mutations++;
	return KC_STATUS_OK;
}

enum kc_status kc_ledger_coins_value(const struct kc_ledger *l,
				     uint32_t caller, const uint8_t *coins,
				     uint16_t count, uint64_t *sum,
				     const char **reason)
{
	struct kc_ledger_result r = { .status = KC_STATUS_OK };

	*sum = 0;
	if (count > KC_CALL_COINS_MAX || has_duplicate(coins, count)) {
		*reason = "a coin is listed twice, or more than 16 are";
		return KC_STATUS_BAD_REQUEST;
	}
	for (uint32_t i = 0; i < count; i++) {
		const struct coin *k = spendable((struct kc_ledger *)l,
						 kc_list_u64(coins, i),
						 caller, &r);

		if (k == NULL) {
			*reason = r.reason;
			return r.status;
		}
		*sum += k->denom;
	}
	return KC_STATUS_OK;
}

uint32_t kc_ledger_release(struct kc_ledger *l, uint8_t kind, uint64_t coin,
			   uint32_t to, const uint8_t *call_id, uint64_t seq,
			   uint8_t *hop)
{
	struct coin *k = coin != 0 ? coin_get(l, coin) : NULL;
	struct account *esc, *dst;
	struct hopw w;

	RTE_VERIFY(kind == KC_HOP_PAY || kind == KC_HOP_REFUND ||
		   kind == KC_HOP_HOLD);
	RTE_VERIFY(coin == 0 || (k != NULL && k->state == KC_COIN_LIVE &&
				 k->owner == KC_ACCOUNT_ESCROW));
	hop_begin(&w, hop, kind, KC_ACCOUNT_ESCROW,
		  kind == KC_HOP_HOLD ? KC_ACCOUNT_ESCROW : to, k != NULL);
	if (k != NULL) {
		hop_in(&w, k);
		k->last_hop = seq;
		if (kind != KC_HOP_HOLD) {
			/* The service or the caller already has an account:
			 * the service's SERVE made one (below), the caller
			 * paid from one. */
			esc = acct_get(l, KC_ACCOUNT_ESCROW);
			dst = acct_credit_target(l, to, seq);
			RTE_VERIFY(dst != NULL);
			esc->balance -= k->denom;
			esc->coins--;
			dst->balance += k->denom;
			dst->coins++;
			k->owner = to;
		}
	}
	l->mutations++;
	return hop_end_call(&w, call_id);
}

bool kc_ledger_account_open(struct kc_ledger *l, uint32_t id, uint64_t seq)
{
	return acct_room(l, id) && acct_credit_target(l, id, seq) != NULL;
}

/* ---- reads -------------------------------------------------------------- */

bool kc_ledger_balance(const struct kc_ledger *l, uint32_t account,
		       uint64_t *balance, uint32_t *coins)
{
	const struct account *a = acct_get(l, account);

	*balance = a != NULL ? a->balance : 0;
	*coins = a != NULL ? a->coins : 0;
	return a != NULL;
}

bool kc_ledger_coin_info(const struct kc_ledger *l, uint64_t coin,
			 struct kc_coin_info *ci)
{
	const struct coin *k = coin_get(l, coin);

	if (k == NULL)
		return false;
	*ci = (struct kc_coin_info){
		.coin = k->id, .denomination = k->denom, .owner = k->owner,
		.state = k->state, .created_seq = k->created,
		.last_hop_seq = k->last_hop,
	};
	return true;
}


static enum kc_status
op_balance(struct kc_ledger *l, const struct kc_ledger_caller *c,
	   const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap,
	   struct kc_ledger_result *r)
{
	const struct account *a;
	uint32_t id;

	if (kc_dec_account(in, len, &id) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "BALANCE wants an "
			    "account");
	a = acct_get(l, id);
	/* The escrow account is no client's, and always there to read. */
	if (a == NULL && (id == 0 || (id != KC_ACCOUNT_ESCROW &&
				      !recipient_known(c, id))))
		return fail(r, KC_STATUS_NOT_FOUND, "no such account");
	r->len = (uint32_t)kc_enc_balance_reply(out, cap,
						a ? a->balance : 0,
						a ? a->coins : 0);
	return KC_STATUS_OK;
}

static enum kc_status
op_coin(struct kc_ledger *l, const uint8_t *in, uint32_t len, uint8_t *out,
	uint32_t cap, struct kc_ledger_result *r)
{
	struct kc_coin_info ci;
	const struct coin *k;
	uint64_t id;

	if (kc_dec_coin_id(in, len, &id) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "COIN wants a coin");
	k = coin_get(l, id);
	if (k == NULL) {
		if (id != 0 && id < l->next_coin)
			return fail(r, KC_STATUS_COIN_DEAD, "the coin is dead "
				    "and reaped from memory; kcq trail reads "
				    "its history from the journal");
		return fail(r, KC_STATUS_NOT_FOUND, "the coin id was never "
			    "minted");
	}
	ci = (struct kc_coin_info){
		.coin = k->id, .denomination = k->denom, .owner = k->owner,
		.state = k->state, .created_seq = k->created,
		.last_hop_seq = k->last_hop,
	};
	r->len = (uint32_t)kc_enc_coin_reply(out, cap, &ci);
	return KC_STATUS_OK;
}

enum kc_status kc_ledger_trail_from(const struct kc_ledger *l, uint64_t coin,
				    uint64_t *last_hop_seq,
				    const char **reason)
{
	const struct coin *k = coin_get(l, coin);

	if (k != NULL) {
		*last_hop_seq = k->last_hop;
		return KC_STATUS_OK;
	}
	if (coin != 0 && coin < l->next_coin) {
		*reason = "the coin is dead and reaped from memory; kcq trail "
			  "reads its history from the journal";
		return KC_STATUS_COIN_DEAD;
	}
	*reason = "the coin id was never minted";
	return KC_STATUS_NOT_FOUND;
}

void kc_ledger_audit(struct kc_ledger *l, struct kc_audit *a)
{
	const void *key;
	void *data;
	uint32_t next = 0;
	int32_t pos;

	memset(a, 0, sizeof(*a));
	a->minted = l->minted;
	a->burnt = l->burnt;
	a->accounts = l->accounts;
	memset(l->acct_scratch, 0, 8ull * l->lim.max_accounts);
	memset(l->acct_scratch_n, 0, 4ull * l->lim.max_accounts);
	while ((pos = rte_hash_iterate(l->coin_h, &key, &data, &next)) >= 0) {
		const struct coin *k = &l->coins[pos];
		int32_t ap;

		if (k->state != KC_COIN_LIVE) {
			a->dead_coins++;
			if (k->refcnt != 0)
				a->violations++;
			continue;
		}
		a->live_coins++;
		a->live_sum += k->denom;
		/* Exactly one owner: a known account, counting it once. */
		ap = rte_hash_lookup(l->acct_h, &k->owner);
		if (k->refcnt != 1 || ap < 0) {
			a->violations++;
			continue;
		}
		l->acct_scratch[ap] += k->denom;
		l->acct_scratch_n[ap]++;
	}
	next = 0;
	while ((pos = rte_hash_iterate(l->acct_h, &key, &data, &next)) >= 0)
		if (l->accts[pos].balance != l->acct_scratch[pos] ||
		    l->accts[pos].coins != l->acct_scratch_n[pos])
			a->violations++;
	if (a->live_coins != l->live)
		a->violations++;
	if ((uint32_t)rte_hash_count(l->acct_h) != l->accounts)
		a->violations++;
	if (a->minted - a->burnt != a->live_sum)
		a->violations++;
	a->ok = a->violations == 0;
}

static enum kc_status
op_audit(struct kc_ledger *l, const uint8_t *in, uint32_t len, uint8_t *out,
	 uint32_t cap, struct kc_ledger_result *r)
{
	struct kc_audit a;

	(void)in;
	if (len != 0)
		return fail(r, KC_STATUS_BAD_REQUEST, "AUDIT takes no "
			    "arguments");
	kc_ledger_audit(l, &a);
	r->len = (uint32_t)kc_enc_audit_reply(out, cap, &a);
	return KC_STATUS_OK;
}

void kc_ledger_apply(struct kc_ledger *l, const struct kc_ledger_caller *c,
		     uint8_t op, const uint8_t *in, uint32_t len,
		     uint64_t hop_seq, uint64_t now_ns, uint8_t *out,
		     uint32_t cap, uint8_t *hop, struct kc_ledger_result *r)
{
	*r = (struct kc_ledger_result){ .status = KC_STATUS_OK };
	switch (op) {
	case KC_OP_MINT:
		op_mint(l, c, in, len, hop_seq, out, cap, hop, r);
		break;
	case KC_OP_TRANSFER:
		op_transfer(l, c, in, len, hop_seq, out, cap, hop, r);
		break;
	case KC_OP_SPLIT:
		op_split(l, c, in, len, hop_seq, now_ns, out, cap, hop, r);
		break;
	case KC_OP_MERGE:
		op_merge(l, c, in, len, hop_seq, now_ns, out, cap, hop, r);
		break;
	case KC_OP_BURN:
		op_burn(l, c, in, len, hop_seq, now_ns, out, cap, hop, r);
		break;
	case KC_OP_BALANCE:
		op_balance(l, c, in, len, out, cap, r);
		break;
	case KC_OP_COIN:
		op_coin(l, in, len, out, cap, r);
		break;
	case KC_OP_AUDIT:
		op_audit(l, in, len, out, cap, r);
		break;
	default:
		fail(r, KC_STATUS_UNKNOWN_OP, "not a ledger operation");
		break;
	}
	if (r->status != KC_STATUS_OK) {
		r->len = 0;
		r->hop_len = 0;
	} else if (kc_op_mutates(op)) {
		l->mutations++;
		/* A mutation leaves a hop record no larger than one can be. */
		RTE_VERIFY(r->hop_len <= KC_HOPREC_MAX);
#ifdef KC_DEBUG_ASSERTS
		/* Debug builds (meson -Ddebug_asserts=true, and the ledger's
		 * unit test): the whole ledger audited after every mutation,
		 * O(coins), too slow for a release's data path. */
		{
			struct kc_audit a;

			kc_ledger_audit(l, &a);
			RTE_VERIFY(a.ok);
			RTE_VERIFY(a.minted - a.burnt == a.live_sum);
		}
#endif
	}
}

uint32_t kc_ledger_reap(struct kc_ledger *l, uint64_t now_ns, uint32_t max)
{
	uint64_t after_ns = (uint64_t)l->lim.reap_after_s * 1000000000ull;
	uint32_t n = 0;

	while (n < max && l->dead_tail != l->dead_head) {
		uint64_t id = l->dead[l->dead_tail % l->lim.max_coins];
		const struct coin *k = coin_get(l, id);

		if (k != NULL && k->died_ns + after_ns > now_ns)
			break;
		reap_one(l);
		n++;
	}
	return n;
}

/* ---- digest, summary, snapshots ------------------------------------------ */

/* Add a SHA-256 of an entry into the sum, lane by lane: the order entries
 * are visited in does not matter. */
static void digest_add(uint64_t sum[4], const void *entry, size_t len)
{
	uint8_t h[SHA256_DIGEST_LENGTH];

	SHA256(entry, len, h);
	for (int i = 0; i < 4; i++)
		sum[i] += kc_get_u64(h + 8 * i);
}

/* An entry's bytes as they go into the digest and snapshot. */
#define ACCT_LEN 24u
#define COIN_LEN 44u

static void acct_encode(uint8_t *p, const struct account *a)
{
	kc_put_u32(p, a->id);
	kc_put_u32(p + 4, a->coins);
	kc_put_u64(p + 8, a->balance);
	kc_put_u64(p + 16, a->created);
}

static void coin_encode(uint8_t *p, const struct coin *k)
{
	kc_put_u64(p, k->id);
	kc_put_u64(p + 8, k->denom);
	kc_put_u32(p + 16, k->owner);
	kc_put_u64(p + 20, k->last_hop);
	kc_put_u64(p + 28, k->created);
	kc_put_u64(p + 36, k->origin);
}

static void digest_counters(uint64_t sum[4], uint64_t next_coin,
			    uint64_t minted, uint64_t burnt, uint64_t live)
{
	uint8_t e[32];

	kc_put_u64(e, next_coin);
	kc_put_u64(e + 8, minted);
	kc_put_u64(e + 16, burnt);
	kc_put_u64(e + 24, live);
	digest_add(sum, e, 32);
}

static void digest_out(const uint64_t sum[4],
		       uint8_t digest[KC_LEDGER_DIGEST_LEN])
{
	for (int i = 0; i < 4; i++)
		kc_put_u64(digest + 8 * i, sum[i]);
}

void kc_ledger_digest(const struct kc_ledger *l,
		      uint8_t digest[KC_LEDGER_DIGEST_LEN])
{
	uint64_t sum[4] = { 0 };
	uint8_t e[COIN_LEN];
	const void *key;
	void *data;
	uint32_t next = 0;
	int32_t pos;

	digest_counters(sum, l->next_coin, l->minted, l->burnt, l->live);
	while ((pos = rte_hash_iterate(l->acct_h, &key, &data, &next)) >= 0) {
		acct_encode(e, &l->accts[pos]);
		digest_add(sum, e, ACCT_LEN);
	}
	next = 0;
	while ((pos = rte_hash_iterate(l->coin_h, &key, &data, &next)) >= 0) {
		if (l->coins[pos].state != KC_COIN_LIVE)
			continue;
		coin_encode(e, &l->coins[pos]);
		digest_add(sum, e, COIN_LEN);
	}
	digest_out(sum, digest);
}

void kc_ledger_summary(const struct kc_ledger *l, struct kc_ledger_summary *s)
{
	*s = (struct kc_ledger_summary){
		.accounts = l->accounts,
		.live_coins = l->live,
		.dead_coins = l->dead_head - l->dead_tail,
		.supply = l->minted - l->burnt,
		.next_coin = l->next_coin,
		.mutations = l->mutations,
		.reaped = l->reaped,
		.min_origin = l->min_origin,
	};
}

/*
 * Snapshot: "KCLEDGR1", u64 next_coin, u64 minted, u64 burnt, u32 accounts,
 * u32 coins (LIVE), then the accounts (24 bytes each) and the LIVE coins
 * (44 bytes each). DEAD coins are left out: they are history, which the
 * journal has.
 */
#define SNAP_MAGIC "KCLEDGR1"
#define SNAP_FIXED 40u

uint64_t kc_ledger_snapshot_max(const struct kc_ledger_limits *lim)
{
	return SNAP_FIXED + (uint64_t)lim->max_accounts * ACCT_LEN +
	       (uint64_t)lim->max_coins * COIN_LEN;
}

size_t kc_ledger_snapshot_len(const struct kc_ledger *l)
{
	return SNAP_FIXED + (size_t)l->accounts * ACCT_LEN +
	       (size_t)l->live * COIN_LEN;
}

size_t kc_ledger_snapshot(struct kc_ledger *l, uint8_t *buf, size_t cap)
{
	uint32_t na = l->accounts;
	size_t need = kc_ledger_snapshot_len(l);
	uint64_t min_origin = UINT64_MAX;
	uint8_t *p = buf + SNAP_FIXED;
	const void *key;
	void *data;
	uint32_t next = 0;
	int32_t pos;

	if (need > cap)
		return 0;
	memcpy(buf, SNAP_MAGIC, 8);
	kc_put_u64(buf + 8, l->next_coin);
	kc_put_u64(buf + 16, l->minted);
	kc_put_u64(buf + 24, l->burnt);
	kc_put_u32(buf + 32, na);
	kc_put_u32(buf + 36, (uint32_t)l->live);
	while ((pos = rte_hash_iterate(l->acct_h, &key, &data, &next)) >= 0) {
		acct_encode(p, &l->accts[pos]);
		p += ACCT_LEN;
	}
	next = 0;
	while ((pos = rte_hash_iterate(l->coin_h, &key, &data, &next)) >= 0) {
		const struct coin *k = &l->coins[pos];

		if (k->state != KC_COIN_LIVE)
			continue;
		coin_encode(p, k);
		p += COIN_LEN;
		if (k->origin < min_origin)
			min_origin = k->origin;
	}
	l->min_origin = min_origin == UINT64_MAX ? 0 : min_origin;
	return (size_t)(p - buf);
}

int kc_ledger_restore(struct kc_ledger *l, const uint8_t *buf, size_t len)
{
	uint32_t na, nc;
	const uint8_t *p = buf + SNAP_FIXED;

	if (len < SNAP_FIXED || memcmp(buf, SNAP_MAGIC, 8) != 0)
		return -EINVAL;
	na = kc_get_u32(buf + 32);
	nc = kc_get_u32(buf + 36);
	if (len != SNAP_FIXED + (size_t)na * ACCT_LEN + (size_t)nc * COIN_LEN)
		return -EINVAL;
	if (na > l->lim.max_accounts || nc > l->lim.max_coins)
		return -ENOSPC;
	rte_hash_reset(l->coin_h);
	rte_hash_reset(l->acct_h);
	l->dead_head = l->dead_tail = 0;
	l->live = 0;
	l->accounts = 0;
	l->next_coin = kc_get_u64(buf + 8);
	l->minted = kc_get_u64(buf + 16);
	l->burnt = kc_get_u64(buf + 24);
	for (uint32_t i = 0; i < na; i++, p += ACCT_LEN) {
		uint32_t id = kc_get_u32(p);
		int32_t pos;

		/* Each account once: adding a key again would return its
		 * slot, and the entry would be silently replaced. */
		if (rte_hash_lookup(l->acct_h, &id) >= 0)
			return -EINVAL;
		pos = rte_hash_add_key(l->acct_h, &id);
		if (pos < 0)
			return -EINVAL;
		l->accts[pos] = (struct account){
			.id = id, .coins = kc_get_u32(p + 4),
			.balance = kc_get_u64(p + 8),
			.created = kc_get_u64(p + 16),
		};
		l->accounts++;
	}
	l->min_origin = 0;
	for (uint32_t i = 0; i < nc; i++, p += COIN_LEN) {
		uint64_t id = kc_get_u64(p);
		int32_t pos;

		if (id == 0 || id >= l->next_coin ||
		    rte_hash_lookup(l->coin_h, &id) >= 0)
			return -EINVAL;
		pos = rte_hash_add_key(l->coin_h, &id);
		if (pos < 0)
			return -EINVAL;
		l->coins[pos] = (struct coin){
			.id = id, .denom = kc_get_u64(p + 8),
			.owner = kc_get_u32(p + 16),
			.last_hop = kc_get_u64(p + 20),
			.created = kc_get_u64(p + 28),
			.origin = kc_get_u64(p + 36),
			.state = KC_COIN_LIVE, .refcnt = 1,
		};
		if (l->min_origin == 0 || l->coins[pos].origin < l->min_origin)
			l->min_origin = l->coins[pos].origin;
		l->live++;
	}
	/* A snapshot whose checksums hold can still say what no ledger
	 * could be (balances that do not add up): refuse it. */
	{
		struct kc_audit a;

		kc_ledger_audit(l, &a);
		if (!a.ok)
			return -EINVAL;
	}
	return 0;
}

bool kc_ledger_snapshot_digest(const uint8_t *buf, size_t len,
			       uint8_t digest[KC_LEDGER_DIGEST_LEN])
{
	uint64_t sum[4] = { 0 };
	const uint8_t *p = buf + SNAP_FIXED;
	uint32_t na, nc;

	if (len < SNAP_FIXED || memcmp(buf, SNAP_MAGIC, 8) != 0)
		return false;
	na = kc_get_u32(buf + 32);
	nc = kc_get_u32(buf + 36);
	if (len != SNAP_FIXED + (size_t)na * ACCT_LEN + (size_t)nc * COIN_LEN)
		return false;
	digest_counters(sum, kc_get_u64(buf + 8), kc_get_u64(buf + 16),
			kc_get_u64(buf + 24), nc);
	for (uint32_t i = 0; i < na; i++, p += ACCT_LEN)
		digest_add(sum, p, ACCT_LEN);
	for (uint32_t i = 0; i < nc; i++, p += COIN_LEN)
		digest_add(sum, p, COIN_LEN);
	digest_out(sum, digest);
	return true;
}

bool kc_ledger_snapshot_info(const uint8_t *buf, size_t len,
			     struct kc_ledger_snap_info *i)
{
	if (len < SNAP_FIXED || memcmp(buf, SNAP_MAGIC, 8) != 0)
		return false;
	i->next_coin = kc_get_u64(buf + 8);
	i->minted = kc_get_u64(buf + 16);
	i->burnt = kc_get_u64(buf + 24);
	i->accounts = kc_get_u32(buf + 32);
	i->live_coins = kc_get_u32(buf + 36);
	return true;
}
