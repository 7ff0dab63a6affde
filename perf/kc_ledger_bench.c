/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-ledger-bench: durable TRANSFER throughput and latency over a memif
 * port (perf/bench-ledger). A DPDK application: EAL arguments first (they
 * must create the memif client port), then
 *
 *   -- SECONDS WINDOW APPLIANCE_MAC APPLIANCE_IP [IDLE_US]
 *
 * Set-up: MINTs WINDOW coins (rounded up to 256, 256 a MINT, denomination
 * 1) to account 1 with the mint authority's key (client 1 of
 * config/dev.keys) and reads the BALANCE of accounts 1 and 2.
 *
 * Run: for SECONDS, keeps WINDOW TRANSFERs in flight, each of one coin
 * from its current owner to the other account (1 -> 2, 2 -> 1), signed
 * with the owner's key (kc_dev_key, kc_dev_key_2). A coin has at most one
 * TRANSFER in flight, so a correct appliance refuses none; the bench
 * tracks every coin's owner from the REPLYs. REPLYs are matched by message
 * id (the coin's index is in the low bits of the message seq), and each
 * one's latency is from the TSC just before its burst left to the TSC just
 * after the burst it came back in.
 *
 * End: waits up to 5 s for the TRANSFERs still in flight, then reads both
 * BALANCEs again: their change must match the owners the bench tracked.
 *
 * Prints one JSON object: transfers_per_s (OK REPLYs received during the
 * SECONDS), p50/p99/p99.9/max latency in µs, ok, errors by status name
 * with the first error's reason text, unanswered TRANSFERs, and the
 * balance check. Exits 0 only for a clean run: something OK, no error
 * status, nothing unanswered, balances as tracked.
 *
 * IDLE_US (default 0: spin): after 16 polls in a row that neither sent nor
 * received, sleep that long. The generator shares a CPU with the
 * appliance's journal thread on a 2-core machine; a spinning generator
 * delays that thread's wake-up after each fdatasync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>

#include "kc_memif_gen.h"

#define BURST KC_GEN_BURST
#define ACCOUNTS 2u
/* A message seq is (sequence << COIN_BITS | coin index). */
#define COIN_BITS 20u
#define COIN_MASK ((1u << COIN_BITS) - 1u)
#define SEQ_SETUP COIN_MASK		/* MINT and BALANCE */
#define COINS_MAX 65536u
_Static_assert(COINS_MAX <= COIN_MASK, "a coin index fits beside SEQ_SETUP");
#define LAT_BUCKETS (1u << 20)		/* 1 µs each; the last: longer */
#define STATUS_MAX 32u			/* statuses counted by value */
#define CALL_TIMEOUT_S 5u
#define DRAIN_TIMEOUT_S 5u
#define IDLE_POLLS 16u

enum coin_state { COIN_FREE, COIN_INFLIGHT, COIN_RETIRED };

struct coin {
	uint64_t id;
	uint64_t seq;		/* message seq of its TRANSFER in flight */
	uint64_t sent_tsc;
	uint32_t owner;		/* 1 or 2 */
	enum coin_state state;
};

static struct kc_gen gen;
static struct kc_key keys[ACCOUNTS];	/* keys[a - 1]: account a's */
static struct coin coins[COINS_MAX];
static uint32_t free_coins[COINS_MAX];
static uint32_t nb_coins, nb_free;
static uint32_t lat_hist[LAT_BUCKETS];
static uint64_t next_seq = 1;

static struct {
	uint64_t sent, inflight, ok, ok_counted, other_frames;
	uint64_t errors[STATUS_MAX], errors_other, error_total;
	uint64_t lat_max_tsc, lat_sum_tsc;
	char first_error[KC_ERROR_TEXT_MAX + 32];
} r;

static uint64_t seq_make(uint32_t coin)
{
	return next_seq++ << COIN_BITS | coin;
}

/*
 * Send one set-up request and wait for its REPLY: its status, with the
 * payload in out (cap bytes); -1 if none came.
 */
static int call(const struct kc_key *key, uint8_t op, const uint8_t *payload,
		uint32_t len, uint8_t *out, uint32_t cap, uint32_t *out_len)
{
	return kc_gen_call(&gen, key, op, seq_make(SEQ_SETUP), payload, len,
			   out, cap, out_len, CALL_TIMEOUT_S);
}

/* A set-up request that must succeed; false with the reason on stderr. */
static bool call_ok(const char *what, const struct kc_key *key, uint8_t op,
		    const uint8_t *payload, uint32_t len, uint8_t *out,
		    uint32_t cap, uint32_t *out_len)
{
	int st = call(key, op, payload, len, out, cap, out_len);

	if (st == KC_STATUS_OK)
		return true;
	if (st < 0)
		fprintf(stderr, "kc-ledger-bench: %s: no REPLY in %u s\n",
			what, CALL_TIMEOUT_S);
	else
		fprintf(stderr, "kc-ledger-bench: %s: %s: %.*s\n", what,
			kc_status_name((unsigned int)st), (int)*out_len,
			(const char *)out);
	return false;
}

static bool balance(uint32_t account, uint64_t *bal, uint32_t *nb)
{
	uint8_t req[8], out[KC_PAYLOAD_MAX];
	uint32_t len = (uint32_t)kc_enc_account(req, sizeof(req), account);
	uint32_t out_len;

	return call_ok("BALANCE", &keys[account - 1], KC_OP_BALANCE, req, len,
		       out, sizeof(out), &out_len) &&
	       kc_dec_balance_reply(out, out_len, bal, nb);
}

/* MINT coins (denomination 1) to account 1, 256 at a time. */
static bool mint(uint32_t want)
{
	uint8_t req[32], out[KC_PAYLOAD_MAX];

	while (nb_coins < want) {
		uint32_t count = RTE_MIN(want - nb_coins, KC_MINT_COUNT_MAX);
		uint32_t len = (uint32_t)kc_enc_mint(req, sizeof(req), 1, 1,
						     count);
		uint32_t out_len, got;
		uint64_t first;

		if (!call_ok("MINT", &keys[0], KC_OP_MINT, req, len, out,
			     sizeof(out), &out_len))
			return false;
		if (!kc_dec_coins_reply(out, out_len, &first, &got) ||
		    got != count) {
			fprintf(stderr, "kc-ledger-bench: MINT: a reply of "
				"%u bytes, not %u coins\n", out_len, count);
			return false;
		}
		for (uint32_t i = 0; i < got; i++) {
			coins[nb_coins] = (struct coin){
				.id = first + i, .owner = 1,
				.state = COIN_FREE,
			};
			free_coins[nb_free++] = nb_coins++;
		}
	}
	return true;
}

static void build_transfer(struct rte_mbuf *m, uint32_t idx)
{
	struct coin *c = &coins[idx];
	uint8_t req[32];
	uint32_t to = c->owner == 1 ? 2 : 1;
	uint32_t len = (uint32_t)kc_enc_transfer(req, sizeof(req), c->owner,
						 to, &c->id, 1);

	c->seq = seq_make(idx);
	c->state = COIN_INFLIGHT;
	kc_gen_build(&gen, m, &keys[c->owner - 1], KC_OP_TRANSFER, c->seq,
		     req, len);
}

static void count_error(const struct kc_hdr *h, const uint8_t *kcp)
{
	if (h->status < STATUS_MAX)
		r.errors[h->status]++;
	else
		r.errors_other++;
	if (r.error_total++ == 0)
		snprintf(r.first_error, sizeof(r.first_error), "%s: %.*s",
			 kc_status_name(h->status),
			 (int)RTE_MIN(h->payload_len, KC_ERROR_TEXT_MAX),
			 (const char *)(kcp + KC_HDR_LEN));
}

/* One received frame; counted: it came back within the SECONDS. */
static void on_frame(const struct rte_mbuf *m, uint64_t now, bool counted)
{
	struct kc_hdr h;
	const uint8_t *kcp = kc_gen_reply(m, &h);
	struct coin *c;
	uint64_t seq, lat;

	if (kcp == NULL || h.op != KC_OP_TRANSFER) {
		r.other_frames++;
		return;
	}
	seq = kc_msg_id_seq(h.msg_id);
	if ((seq & COIN_MASK) >= nb_coins) {
		r.other_frames++;
		return;
	}
	c = &coins[seq & COIN_MASK];
	if (c->state != COIN_INFLIGHT || c->seq != seq) {
		r.other_frames++; /* a duplicate or a stray REPLY */
		return;
	}
	r.inflight--;
	if (h.status != KC_STATUS_OK || h.payload_len != 8) {
		/* Its outcome is the appliance's word, not ours to guess:
		 * the coin is not used again. */
		c->state = COIN_RETIRED;
		count_error(&h, kcp);
		return;
	}
	c->owner = c->owner == 1 ? 2 : 1;
	c->state = COIN_FREE;
	free_coins[nb_free++] = (uint32_t)(c - coins);
	r.ok++;
	if (!counted)
		return;
	lat = now - c->sent_tsc;
	r.ok_counted++;
	r.lat_sum_tsc += lat;
	if (lat > r.lat_max_tsc)
		r.lat_max_tsc = lat;
	lat_hist[RTE_MIN(lat * 1000000u / gen.hz, LAT_BUCKETS - 1u)]++;
}

static uint16_t poll_rx(bool counted)
{
	struct rte_mbuf *rx[BURST];
	uint16_t n = rte_eth_rx_burst(gen.port, 0, rx, BURST);
	uint64_t now = rte_rdtsc();

	for (uint16_t i = 0; i < n; i++)
		on_frame(rx[i], now, counted);
	rte_pktmbuf_free_bulk(rx, n);
	return n;
}

/* Up to a burst of TRANSFERs, as the window and the free coins allow. */
static uint16_t send_burst(uint32_t window)
{
	struct rte_mbuf *tx[BURST];
	uint32_t idx[BURST];
	uint64_t tsc, room = window - r.inflight;
	uint16_t want, k;

	if (room > nb_free)
		room = nb_free;
	want = (uint16_t)RTE_MIN(room, (uint64_t)BURST);
	if (want == 0 || rte_pktmbuf_alloc_bulk(gen.mp, tx, want) != 0)
		return 0;
	for (k = 0; k < want; k++) {
		idx[k] = free_coins[--nb_free];
		build_transfer(tx[k], idx[k]);
	}
	tsc = rte_rdtsc();
	for (k = 0; k < want; k++)
		coins[idx[k]].sent_tsc = tsc;
	k = rte_eth_tx_burst(gen.port, 0, tx, want);
	r.sent += k;
	r.inflight += k;
	for (uint16_t i = k; i < want; i++) {
		coins[idx[i]].state = COIN_FREE;
		free_coins[nb_free++] = idx[i];
	}
	if (k < want)
		rte_pktmbuf_free_bulk(tx + k, want - k);
	return k;
}

/* The latency below which a fraction q of the counted REPLYs came. */
static uint32_t percentile_us(double q)
{
	uint64_t want = (uint64_t)((double)r.ok_counted * q), seen = 0;

	if (r.ok_counted == 0)
		return 0;
	if (want == 0)
		want = 1;
	for (uint32_t b = 0; b < LAT_BUCKETS; b++) {
		seen += lat_hist[b];
		if (seen >= want)
			return b + 1; /* the bucket's upper edge */
	}
	return LAT_BUCKETS;
}

static void idle_sleep(unsigned int idle_us)
{
	struct timespec ts = { .tv_nsec = (long)idle_us * 1000 };

	nanosleep(&ts, NULL);
}

/* Account a's BALANCE now minus before must be what the bench tracked. */
static const char *check_balances(const uint64_t bal0[ACCOUNTS],
				  const uint32_t nb0[ACCOUNTS])
{
	uint32_t mine[ACCOUNTS] = { 0 };

	if (r.inflight != 0)
		return "skipped: TRANSFERs unanswered";
	for (uint32_t i = 0; i < nb_coins; i++)
		mine[coins[i].owner - 1]++;
	for (uint32_t a = 1; a <= ACCOUNTS; a++) {
		uint64_t bal;
		uint32_t nb;

		if (!balance(a, &bal, &nb))
			return "failed: BALANCE refused";
		/* Denomination 1: a balance counts coins. */
		if (nb - nb0[a - 1] != mine[a - 1] ||
		    bal - bal0[a - 1] != mine[a - 1])
			return "mismatch";
	}
	return "ok";
}

static void print_json(double secs, uint32_t window, const char *check)
{
	printf("{\"transport\":\"memif\",\"op\":\"transfer\","
	       "\"seconds\":%.3f,\"window\":%u,\"coins\":%u,\"sent\":%llu,"
	       "\"ok\":%llu,\"ok_total\":%llu,\"transfers_per_s\":%.0f,"
	       "\"mean_us\":%.1f,\"p50_us\":%u,\"p99_us\":%u,"
	       "\"p999_us\":%u,\"max_us\":%.1f,\"errors\":{",
	       secs, window, nb_coins, (unsigned long long)r.sent,
	       (unsigned long long)r.ok_counted, (unsigned long long)r.ok,
	       (double)r.ok_counted / secs,
	       r.ok_counted ? (double)r.lat_sum_tsc * 1e6 / (double)gen.hz /
				      (double)r.ok_counted : 0.0,
	       percentile_us(0.50), percentile_us(0.99), percentile_us(0.999),
	       (double)r.lat_max_tsc * 1e6 / (double)gen.hz);
	for (uint32_t s = 0, n = 0; s < STATUS_MAX; s++)
		if (r.errors[s] != 0)
			printf("%s\"%s\":%llu", n++ ? "," : "",
			       kc_status_name(s),
			       (unsigned long long)r.errors[s]);
	if (r.errors_other != 0)
		printf("%s\"other\":%llu", r.error_total > r.errors_other ?
		       "," : "", (unsigned long long)r.errors_other);
	printf("},\"error_total\":%llu,\"first_error\":\"",
	       (unsigned long long)r.error_total);
	/* The reason text is the appliance's: keep it valid JSON. */
	for (const char *p = r.first_error; *p != '\0'; p++)
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			putchar(*p);
	printf("\",\"unanswered\":%llu,\"other_frames\":%llu,"
	       "\"balance_check\":\"%s\"}\n",
	       (unsigned long long)r.inflight,
	       (unsigned long long)r.other_frames, check);
}

int main(int argc, char **argv)
{
	uint64_t bal0[ACCOUNTS], t0, end, now;
	uint32_t nb0[ACCOUNTS], idle_polls = 0;
	unsigned int seconds, window, idle_us = 0;
	const char *check;
	int rc;

	rc = kc_gen_eal_init("kc-ledger-bench", argc, argv);
	if (rc < 0)
		return 1;
	argc -= rc;
	argv += rc;
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: kc-ledger-bench EAL... -- SECONDS "
			"WINDOW APPLIANCE_MAC APPLIANCE_IP [IDLE_US]\n");
		return 2;
	}
	seconds = (unsigned int)atoi(argv[1]);
	window = (unsigned int)atoi(argv[2]);
	if (argc == 6)
		idle_us = (unsigned int)atoi(argv[5]);
	if (seconds == 0 || window == 0 || window > COINS_MAX ||
	    idle_us > 1000) {
		fprintf(stderr, "kc-ledger-bench: SECONDS 1.., WINDOW 1..%u, "
			"IDLE_US 0..1000\n", COINS_MAX);
		return 2;
	}
	/* A sleep of a few µs, not the default 50 µs of timer slack. */
	if (idle_us != 0)
		prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	kc_key_init(&keys[0], KC_DEV_CLIENT_ID, kc_dev_key, "dev");
	kc_key_init(&keys[1], KC_DEV_CLIENT_ID_2, kc_dev_key_2, "dev-2");
	if (kc_gen_open(&gen, "kc-ledger-bench", argv[3], argv[4]) != 0)
		return 1;
	if (!balance(1, &bal0[0], &nb0[0]) || !balance(2, &bal0[1], &nb0[1]) ||
	    !mint(RTE_ALIGN_CEIL(window, KC_MINT_COUNT_MAX)))
		return 1;

	t0 = rte_rdtsc();
	end = t0 + seconds * gen.hz;
	while ((now = rte_rdtsc()) < end) {
		uint16_t n = send_burst(window);

		n += poll_rx(true);
		if (n != 0) {
			idle_polls = 0;
		} else if (idle_us != 0 && ++idle_polls >= IDLE_POLLS) {
			idle_sleep(idle_us);
		}
	}
	now = rte_rdtsc();
	/* What is in flight is answered once durable: wait for it. */
	end = now + DRAIN_TIMEOUT_S * gen.hz;
	while (r.inflight != 0 && rte_rdtsc() < end)
		poll_rx(false);
	check = check_balances(bal0, nb0);
	print_json((double)(now - t0) / (double)gen.hz, window, check);
	kc_gen_close(&gen);
	rte_eal_cleanup();
	return r.ok_counted > 0 && r.error_total == 0 && r.inflight == 0 &&
	       strcmp(check, "ok") == 0 ? 0 : 1;
}
