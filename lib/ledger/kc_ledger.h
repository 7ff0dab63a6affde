/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The message-as-currency ledger (docs/ledger.md): accounts and coins, and
 * the one function that changes them.
 *
 * A coin is a singleton: it has one owner while LIVE (reference count 1)
 * and none once DEAD (count 0: split, merged or burnt). Every mutation goes
 * through kc_ledger_apply, driven by journal order: the worker lcore that
 * owns the ledger calls it for each request, and recovery calls it again
 * for each journaled request, so the same journal always gives the same
 * ledger (kc_ledger_digest says so).
 *
 * Each successful mutation also produces a hop record, which the worker
 * appends to the journal right after the REPLY (a LEDGER record). It lists,
 * for every coin the op consumed or moved, the seq of that coin's previous
 * hop: the money trail is a chain through the journal, and memory holds
 * only the last hop of each coin (kc_trail.c walks the chain).
 *
 * Tables are rte_hash tables sized at creation, never grown. The ledger is
 * owned by one lcore: no locks, and nothing here is thread-safe.
 */
#ifndef KC_LEDGER_H
#define KC_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_auth.h"
#include "kc_proto.h"

struct kc_ledger_limits {
	uint32_t max_accounts;
	uint32_t max_coins;	/* LIVE, plus DEAD ones not reaped yet */
	uint32_t reap_after_s;	/* how long a DEAD coin stays in memory */
};

struct kc_ledger;
struct rte_hash;

/*
 * A table of the ledger's kind, also the services' (kc_services.c): an
 * rte_hash named NAME_WHAT with extendable buckets, so every one of
 * entries keys fits however they collide and "full" means exactly that
 * many. NULL with rte_errno set.
 */
struct rte_hash *kc_ledger_table(const char *name, const char *what,
				 uint32_t entries, uint32_t key_len, int socket);

/* NULL with rte_errno set. name must be unique in the process. */
struct kc_ledger *kc_ledger_create(const char *name,
				   const struct kc_ledger_limits *lim,
				   int socket_id);
void kc_ledger_free(struct kc_ledger *l);
/* Memory a ledger with these limits takes (for start-up checks). */
uint64_t kc_ledger_bytes(const struct kc_ledger_limits *lim);

/* Who is asking, as admission decided it. */
struct kc_ledger_caller {
	uint32_t client_id;	/* the request's key: its account */
	bool mint_authority;	/* the key is ledger.mint_authority's */
	/* Recipients (of MINT and TRANSFER) must be clients here, or coins
	 * would go where no key can spend them. NULL: not checked (recovery,
	 * which only replays what succeeded). */
	const struct kc_keyring *keys;
};

/* What an op did. An error leaves the ledger as it was. */
struct kc_ledger_result {
	enum kc_status status;
	uint32_t len;		/* reply payload bytes (OK only) */
	const char *reason;	/* error: why, for the reason text */
	uint32_t hop_len;	/* bytes of the hop record (0: none) */
};

/*
 * The hop record, the payload of a LEDGER journal record (big-endian like
 * KCP): u8 kind, u8 version (1), u16 nb_in, u16 nb_out, u16 reserved,
 * u32 from, u32 to; nb_in x (u64 coin, u64 denomination, u64 prev_hop_seq)
 * for the coins the op moved or consumed; nb_out x (u64 coin, u64
 * denomination) for the coins it made. MINT: from 0; BURN: to 0; SPLIT and
 * MERGE: from = to = the owner. The hops of service calls (ESCROW, PAY,
 * REFUND, HOLD) end with the call's 16-byte id; an ESCROW's first coin
 * made goes to `to` (KC_ACCOUNT_ESCROW), its second (the change) back to
 * `from`.
 */
#define KC_HOPREC_VERSION 1u
#define KC_HOPREC_FIXED 16u
#define KC_HOPREC_IN_LEN 24u
#define KC_HOPREC_OUT_LEN 16u
#define KC_HOPREC_MAX (KC_HOPREC_FIXED + \
		       KC_COINS_PER_OP_MAX * KC_HOPREC_IN_LEN + \
		       KC_MINT_COUNT_MAX * KC_HOPREC_OUT_LEN)

struct kc_hoprec {
	uint8_t kind;
	uint16_t nb_in;
	uint16_t nb_out;
	uint32_t from;
	uint32_t to;
	const uint8_t *in;	/* nb_in x KC_HOPREC_IN_LEN */
	const uint8_t *out;	/* nb_out x KC_HOPREC_OUT_LEN */
	const uint8_t *call;	/* the call's id (kc_hop_kind_names_call),
				 * else NULL */
};
bool kc_hoprec_decode(const uint8_t *p, uint32_t len, struct kc_hoprec *h);
void kc_hoprec_in(const struct kc_hoprec *h, uint32_t i, uint64_t *coin,
		  uint64_t *denomination, uint64_t *prev_seq);
void kc_hoprec_out(const struct kc_hoprec *h, uint32_t i, uint64_t *coin,
		   uint64_t *denomination);

/*
 * Execute one ledger op. in: the request payload (len bytes); out: the
 * reply payload (cap bytes; may be in: the request is decoded first).
 * hop_seq: the journal seq the hop record will get (0 without a journal);
 * now_ns: the time of the request (a DEAD coin's reaping starts then).
 * A successful mutation writes its hop record to hop (KC_HOPREC_MAX bytes).
 */
void kc_ledger_apply(struct kc_ledger *l, const struct kc_ledger_caller *c,
		     uint8_t op, const uint8_t *in, uint32_t len,
		     uint64_t hop_seq, uint64_t now_ns, uint8_t *out,
		     uint32_t cap, uint8_t *hop, struct kc_ledger_result *r);

/*
 * Service calls (docs/services.md), for lib/services on the ledger's
 * worker. kc_ledger_escrow: the caller's coins (LIVE, its own, no
 * duplicates, worth at least price) into escrow for call_id. One coin of
 * exactly the price moves to KC_ACCOUNT_ESCROW as it is; otherwise they
 * are consumed into a coin of the price (to escrow) and one of the rest
 * (back to the caller, as SPLIT would). price 0: nothing moves. Writes the
 * ESCROW hop (seq: its journal seq) to hop. An error (with *reason)
 * changed nothing.
 */
struct kc_escrow {
	uint64_t escrow_coin;	/* 0: a free call */
	uint64_t change_coin;	/* 0: none */
	uint32_t hop_len;
};
enum kc_status kc_ledger_escrow(struct kc_ledger *l, uint32_t caller,
				const uint8_t *coins, uint16_t count,
				uint64_t price, const uint8_t *call_id,
				uint64_t seq, uint64_t now_ns, uint8_t *hop,
				struct kc_escrow *e, const char **reason);
/* What coins are worth, checked as escrow would check them (LIVE, the
 * caller's, no duplicates): KC_STATUS_OK with *sum, or the error escrow
 * would give, with *reason. Changes nothing. */
enum kc_status kc_ledger_coins_value(const struct kc_ledger *l,
				     uint32_t caller, const uint8_t *coins,
				     uint16_t count, uint64_t *sum,
				     const char **reason);
/*
 * Settle a call's escrowed coin (0: a free call, nothing moves): kind
 * KC_HOP_PAY or KC_HOP_REFUND moves it to `to`; KC_HOP_HOLD leaves it in
 * escrow and only marks the hop. Cannot fail (the coin is in escrow by
 * construction: it aborts otherwise). Returns the hop record's length.
 */
uint32_t kc_ledger_release(struct kc_ledger *l, uint8_t kind, uint64_t coin,
			   uint32_t to, const uint8_t *call_id, uint64_t seq,
			   uint8_t *hop);
/* Make sure account id exists (a service's, so its pay always has
 * somewhere to go). False: ledger.max_accounts reached. */
bool kc_ledger_account_open(struct kc_ledger *l, uint32_t id, uint64_t seq);

/* Reads for other state machines on the ledger's worker (lib/services):
 * an account's balance and coin count (false: no such account, both 0),
 * a coin as COIN shows it (false: unknown or reaped). */
bool kc_ledger_balance(const struct kc_ledger *l, uint32_t account,
		       uint64_t *balance, uint32_t *coins);
bool kc_ledger_coin_info(const struct kc_ledger *l, uint64_t coin,
			 struct kc_coin_info *ci);

/*
 * TRAIL, first step: the last hop of a coin (its trail ends there). OK, or
 * NOT_FOUND / COIN_DEAD (reaped from memory) with a reason.
 */
enum kc_status kc_ledger_trail_from(const struct kc_ledger *l, uint64_t coin,
				    uint64_t *last_hop_seq,
				    const char **reason);

/* Reap DEAD coins older than reap_after_s, at most max; how many went. */
uint32_t kc_ledger_reap(struct kc_ledger *l, uint64_t now_ns, uint32_t max);

/* Check every invariant (AUDIT). Walks every coin: O(coins). */
void kc_ledger_audit(struct kc_ledger *l, struct kc_audit *a);

/*
 * A digest of the ledger's state: accounts, LIVE coins and the counters,
 * independent of table layout and of which DEAD coins were reaped. Two
 * ledgers with the same digest are the same ledger.
 */
#define KC_LEDGER_DIGEST_LEN 32u
void kc_ledger_digest(const struct kc_ledger *l,
		      uint8_t digest[KC_LEDGER_DIGEST_LEN]);

/* The digest of the ledger a snapshot holds (as kc_ledger_digest would
 * give once restored). False if it does not decode. */
bool kc_ledger_snapshot_digest(const uint8_t *buf, size_t len,
			       uint8_t digest[KC_LEDGER_DIGEST_LEN]);

/* Counts for the admin API and start-up messages. */
struct kc_ledger_summary {
	uint32_t accounts;
	uint64_t live_coins;
	uint64_t dead_coins;	/* in memory, not reaped yet */
	uint64_t supply;	/* minted - burnt */
	uint64_t next_coin;
	uint64_t mutations;	/* applied since start */
	uint64_t reaped;
	uint64_t min_origin;	/* oldest seq a LIVE coin's trail reaches
				 * (as of the last snapshot; 0: none) */
};
void kc_ledger_summary(const struct kc_ledger *l,
		       struct kc_ledger_summary *s);

/*
 * Snapshots: the whole state (accounts, LIVE coins, counters) in one
 * buffer. kc_ledger_snapshot_max is the most bytes it can take with these
 * limits. kc_ledger_snapshot returns bytes written (0 if cap is too
 * small) and computes min_origin for retention. kc_ledger_restore replaces
 * the state with a snapshot: 0 or -EINVAL (does not decode, lists an id
 * twice, or fails the audit) / -ENOSPC (larger than these limits); the
 * ledger is left empty or partial on error (recovery then stops).
 */
uint64_t kc_ledger_snapshot_max(const struct kc_ledger_limits *lim);
/* The bytes kc_ledger_snapshot would write now, without writing them. */
size_t kc_ledger_snapshot_len(const struct kc_ledger *l);
size_t kc_ledger_snapshot(struct kc_ledger *l, uint8_t *buf, size_t cap);
int kc_ledger_restore(struct kc_ledger *l, const uint8_t *buf, size_t len);

/* The fixed part of a snapshot, from its first bytes (the rest of it need
 * not be there): false if they are not a ledger snapshot's. */
struct kc_ledger_snap_info {
	uint64_t next_coin;
	uint64_t minted;
	uint64_t burnt;
	uint32_t accounts;
	uint32_t live_coins;
};
bool kc_ledger_snapshot_info(const uint8_t *buf, size_t len,
			     struct kc_ledger_snap_info *i);

/*
 * JOURNAL_DIR/ledger.snapshot: the seq of the first part of the newest
 * durable ledger snapshot, one decimal line (kc_ledger_hint.c). read:
 * 0 when absent (*present false) or holding no seq (*present true).
 * write: durably (a temporary file, fsync, rename, the directory's
 * fsync); 0 or a negative errno.
 */
#define KC_LEDGER_HINT_NAME "ledger.snapshot"
int kc_ledger_hint_path(char *out, size_t len, const char *journal_dir);
uint64_t kc_ledger_hint_read(const char *path, bool *present);
int kc_ledger_hint_write(const char *path, uint64_t seq0);

#endif /* KC_LEDGER_H */
