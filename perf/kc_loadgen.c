/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-loadgen: the load generator. A DPDK application that sends signed KCP
 * REQUESTs (PING, PUBLISH, TRANSFER or CALL) out of port 0, whatever the EAL
 * arguments made it (a memif client, AF_XDP or AF_PACKET on a veth, a
 * NIC), matches the REPLYs by message id and reports the achieved rate,
 * the loss and the latency percentiles.
 *
 *   kc-loadgen EAL... -- --mac MAC --ip IP [options]     (--help)
 *
 * Two ways to offer load:
 * - open loop, --rate R: request i is due at start + i / R, whatever the
 *   REPLYs do. Its latency is counted from when it was due, not from when
 *   it left: a generator (or appliance) that falls behind cannot hide the
 *   wait it caused (coordinated omission). A request that cannot be sent
 *   (no mbuf, TX full, its tracking slot still busy) is counted as not
 *   sent and its time still passes.
 * - closed loop, --window W (no --rate): W requests in flight, a new one
 *   as soon as one is answered; latency from when it left.
 *
 * The result's latency_us also says when the worst request was due and
 * when the first one over a millisecond was (seconds into the measured
 * span), and how many were: where a tail sits in time.
 * Time: --warmup seconds first (sent and answered, not counted), then
 * --duration seconds measured: the figures are about the requests DUE in
 * that span. Afterwards it waits up to --drain seconds for what is in
 * flight; what is still unanswered then is lost. Progress goes to stderr
 * once a second; the result is one JSON object on stdout and, with
 * --json FILE, in FILE too.
 *
 * TRANSFER: set-up MINTs --coins coins (denomination 1) to account 1 with
 * the mint authority's key (client 1), and each TRANSFER moves one coin
 * from its owner to the other account (1 -> 2, 2 -> 1), signed with the
 * owner's key; a coin has at most one TRANSFER in flight, so a correct
 * appliance refuses none. At the end the BALANCEs of both accounts must
 * have moved as the REPLYs said (balance_check "ok").
 *
 * CALL: paid service calls through the appliance, the generator being
 * the callers and the services. Set-up SERVEs --type (price --price, as
 * many in flight as the window, a lease of an hour) as clients 1 and 2,
 * from this port's address, where the appliance then delivers, and MINTs
 * --coins coins of the price to account 1. Each CALL attaches one coin
 * and is signed by its owner; each DELIVER is answered at once with a
 * RESPOND (status OK, the call's payload back) signed by the service it
 * was delivered to; the coin is then owned by the service the CALL's
 * REPLY names (a caller may be routed to its own service: the price still
 * goes through escrow and comes back as a payment). Besides the CALL's
 * round trip the result has, per call, the time from the CALL leaving to
 * its DELIVER arriving (the appliance's way in), from the RESPOND leaving
 * to the CALL's REPLY arriving (the way out) and their sum: what the
 * appliance adds between a caller and a service that answers at once.
 * At the end the BALANCEs must have moved as the REPLYs said and nothing
 * may be left in escrow. A DELIVER that comes again (the appliance tries
 * again after 20 ms without a RESPOND) is answered again; the RESPOND
 * that arrives second is NOT_FOUND (answered already), counted apart. The
 * DELIVERs' tags are not checked (a service's work, not the appliance's).
 *
 * Exit status: 0 if the run was clean (something answered OK, no error
 * status, nothing lost, balances as tracked), 1 if not, 2 for bad
 * arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "kc_hist.h"
#include "kc_gen.h"

#define PROG "kc-loadgen"
#define BURST KC_GEN_BURST
#define SLOT_BITS 20u			/* requests tracked in flight */
#define SLOTS (1u << SLOT_BITS)
#define SLOT_MASK (SLOTS - 1u)
#define COINS_MAX 65536u
#define ACCOUNTS 2u
#define STATUS_MAX 32u
#define CALL_TIMEOUT_S 5u
#define RATE_MAX 100000000ull
#define QUEUES_MAX 65536u

enum lg_op { LG_PING, LG_PUBLISH, LG_TRANSFER, LG_CALL };

struct slot {
	uint64_t seq;		/* 0: free */
	uint64_t t_tsc;		/* due (open loop) or sent (closed) */
	uint64_t t_deliver;	/* CALL: its first DELIVER arrived */
	uint64_t t_respond;	/* CALL: the RESPOND to it left */
	uint32_t coin;		/* TRANSFER, CALL: the coin's index */
	uint8_t counted;	/* due inside the measured span */
};

struct coin {
	uint64_t id;
	uint32_t owner;		/* 1 or 2 */
	uint8_t busy;		/* a TRANSFER or CALL in flight */
	uint8_t retired;	/* refused: the appliance's word, not ours */
};

struct opts {
	const char *mac, *ip, *json, *keys, *queue, *type;
	enum lg_op op;
	uint64_t rate;		/* 0: closed loop */
	uint64_t price;		/* CALL */
	uint32_t window, size, coins, queues, deadline_ms;
	double duration, warmup, drain;
	uint32_t idle_us;
	bool quiet;
};

/* What happened to the requests due in the measured span. */
struct tally {
	uint64_t due, sent, not_sent, ok, errors, lost;
	uint64_t status[STATUS_MAX];
	char first_error[KC_ERROR_TEXT_MAX + 32];
};

static struct kc_gen gen;
static struct kc_key keys[ACCOUNTS];	/* keys[a - 1]: client a's */
static struct slot *slots;
static struct coin coins[COINS_MAX];
static uint32_t free_coins[COINS_MAX], nb_free;
static struct kc_hist lat, lat_sec;	/* whole run; the last second's */
/* CALL: CALL out to DELIVER in, RESPOND out to REPLY in, their sum. */
static struct kc_hist lat_in, lat_out, lat_added;
static struct {
	uint64_t delivered, dup_delivers, responds, respond_unsent;
	uint64_t respond_ok, respond_errors, respond_late, stray_delivers;
	char first_respond_error[KC_ERROR_TEXT_MAX + 32];
} sv;
/* Where the tail sits in time: when the worst request was due, and when
 * the first one over a millisecond was, and how many were (TSC). */
static uint64_t worst_ns, worst_due, slow_first_due, slow_n, m_start_tsc;
static struct tally t;
static uint64_t inflight, stray, late, next_seq = 1;
static uint64_t sec_sent, sec_ok;
static uint8_t body[KC_PAYLOAD_MAX];
static char (*queue_names)[KC_NAME_MAX + 1];	/* --queues > 1 */
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " EAL... -- --mac MAC --ip IP [options]\n"
"\n"
"  --mac MAC        the appliance port's MAC\n"
"  --ip IP          the appliance port's IPv4 address (this side uses the\n"
"                   .1 of its /24, or .254 if the appliance is .1)\n"
"  --op OP          ping, publish, transfer or call (default ping)\n"
"  --rate R         open loop: R requests a second, latency from when each\n"
"                   was due (default: closed loop)\n"
"  --window W       closed loop: W requests in flight (default 256)\n"
"  --duration S     seconds measured (default 10)\n"
"  --warmup S       seconds sent first and not counted (default 1)\n"
"  --drain S        seconds to wait for REPLYs at the end (default 2)\n"
"  --size B         ping, call: payload bytes (default 8); publish:\n"
"                   message bytes (default 64)\n"
"  --queue NAME     publish: the queue (default loadgen)\n"
"  --queues N       publish: spread over N queues, NAME-0 .. NAME-(N-1),\n"
"                   in turn (default 1: NAME itself); a queue nobody\n"
"                   consumes holds at most queues.max_messages_per_queue\n"
"  --coins N        transfer, call: coins minted at set-up and moved\n"
"                   (default 4096, at most %u, a multiple of 256 is used)\n"
"  --type NAME      call: the service type (default loadgen)\n"
"  --price N        call: a call's price, the coins' denomination\n"
"                   (default 1)\n"
"  --deadline-ms N  call: each CALL's deadline (default 1000)\n"
"  -k, --keys FILE  keys file with clients 1 and 2 (default: the built-in\n"
"                   development keys, refused by production appliances)\n"
"  --idle-us N      after 16 polls in a row that neither sent nor\n"
"                   received, sleep N us (default 0: spin); for a CPU\n"
"                   shared with the appliance's journal thread\n"
"  --json FILE      also write the result there\n"
"  --quiet          no progress lines\n", COINS_MAX);
}

static int parse_num(const char *s, const char *what, double max, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(*v >= 0) || *v > max) {
		fprintf(stderr, PROG ": bad %s '%s' (0..%g)\n", what, s, max);
		return -1;
	}
	return 0;
}

enum { O_MAC = 256, O_IP, O_OP, O_RATE, O_WINDOW, O_DURATION, O_WARMUP,
	O_DRAIN, O_SIZE, O_QUEUE, O_QUEUES, O_COINS, O_JSON, O_QUIET,
	O_IDLE_US, O_TYPE, O_PRICE, O_DEADLINE_MS };

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "mac", required_argument, NULL, O_MAC },
		{ "ip", required_argument, NULL, O_IP },
		{ "op", required_argument, NULL, O_OP },
		{ "rate", required_argument, NULL, O_RATE },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "drain", required_argument, NULL, O_DRAIN },
		{ "size", required_argument, NULL, O_SIZE },
		{ "queue", required_argument, NULL, O_QUEUE },
		{ "queues", required_argument, NULL, O_QUEUES },
		{ "coins", required_argument, NULL, O_COINS },
		{ "json", required_argument, NULL, O_JSON },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "idle-us", required_argument, NULL, O_IDLE_US },
		{ "type", required_argument, NULL, O_TYPE },
		{ "price", required_argument, NULL, O_PRICE },
		{ "deadline-ms", required_argument, NULL, O_DEADLINE_MS },
		{ "keys", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_size = false;
	double v;
	int c;

	memset(o, 0, sizeof(*o));
	o->window = 256;
	o->duration = 10;
	o->warmup = 1;
	o->drain = 2;
	o->queue = "loadgen";
	o->coins = 4096;
	o->queues = 1;
	o->type = "loadgen";
	o->price = 1;
	o->deadline_ms = 1000;
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:h", lo, NULL)) != -1) {
		switch (c) {
		case O_MAC:
			o->mac = optarg;
			break;
		case O_IP:
			o->ip = optarg;
			break;
		case O_OP:
			if (strcmp(optarg, "ping") == 0) {
				o->op = LG_PING;
			} else if (strcmp(optarg, "publish") == 0) {
				o->op = LG_PUBLISH;
			} else if (strcmp(optarg, "transfer") == 0) {
				o->op = LG_TRANSFER;
			} else if (strcmp(optarg, "call") == 0) {
				o->op = LG_CALL;
			} else {
				fprintf(stderr, PROG ": bad --op '%s' (ping, "
					"publish, transfer, call)\n", optarg);
				return -1;
			}
			break;
		case O_RATE:
			if (parse_num(optarg, "--rate", RATE_MAX, &v) != 0)
				return -1;
			o->rate = (uint64_t)v;
			break;
		case O_WINDOW:
			if (parse_num(optarg, "--window", SLOTS / 2, &v) != 0 ||
			    v < 1)
				return -1;
			o->window = (uint32_t)v;
			break;
		case O_DURATION:
			if (parse_num(optarg, "--duration", 86400, &v) != 0 ||
			    v <= 0)
				return -1;
			o->duration = v;
			break;
		case O_WARMUP:
			if (parse_num(optarg, "--warmup", 3600, &o->warmup) != 0)
				return -1;
			break;
		case O_DRAIN:
			if (parse_num(optarg, "--drain", 600, &o->drain) != 0)
				return -1;
			break;
		case O_SIZE:
			if (parse_num(optarg, "--size", KC_PAYLOAD_MAX, &v) != 0)
				return -1;
			o->size = (uint32_t)v;
			have_size = true;
			break;
		case O_QUEUE:
			o->queue = optarg;
			break;
		case O_QUEUES:
			if (parse_num(optarg, "--queues", QUEUES_MAX, &v) != 0 ||
			    v < 1)
				return -1;
			o->queues = (uint32_t)v;
			break;
		case O_COINS:
			if (parse_num(optarg, "--coins", COINS_MAX, &v) != 0 ||
			    v < 1)
				return -1;
			o->coins = (uint32_t)v;
			break;
		case O_JSON:
			o->json = optarg;
			break;
		case O_QUIET:
			o->quiet = true;
			break;
		case O_IDLE_US:
			if (parse_num(optarg, "--idle-us", 1000, &v) != 0)
				return -1;
			o->idle_us = (uint32_t)v;
			break;
		case O_TYPE:
			o->type = optarg;
			break;
		case O_PRICE:
			if (parse_num(optarg, "--price", 1e15, &v) != 0 ||
			    v < 1)
				return -1;
			o->price = (uint64_t)v;
			break;
		case O_DEADLINE_MS:
			if (parse_num(optarg, "--deadline-ms", 3600000, &v) != 0 ||
			    v < 1)
				return -1;
			o->deadline_ms = (uint32_t)v;
			break;
		case 'k':
			o->keys = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (o->mac == NULL || o->ip == NULL) {
		fprintf(stderr, PROG ": --mac and --ip are required (--help)\n");
		return -1;
	}
	if (!have_size)
		o->size = o->op == LG_PUBLISH ? 64 : 8;
	if (o->op == LG_CALL && o->size > KC_CALL_PAYLOAD_MAX) {
		fprintf(stderr, PROG ": --size %u: a call's payload is at most "
			"%u bytes\n", o->size, KC_CALL_PAYLOAD_MAX);
		return -1;
	}
	if (o->op == LG_CALL &&
	    !kc_name_valid((const uint8_t *)o->type, strlen(o->type))) {
		fprintf(stderr, PROG ": bad --type '%s'\n", o->type);
		return -1;
	}
	o->coins = RTE_ALIGN_CEIL(o->coins, KC_MINT_COUNT_MAX);
	if (o->coins > COINS_MAX)
		o->coins = COINS_MAX;
	return 0;
}

/* Clients 1 (the mint authority) and 2: the accounts of TRANSFER and
 * CALL, and CALL's two services. */
static int load_keys(const struct opts *o)
{
	char err[256];

	for (uint32_t a = 1; a <= ACCOUNTS; a++) {
		if (kc_key_for_client(o->keys, a, &keys[a - 1], err,
				      sizeof(err)) != 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return -1;
		}
	}
	return 0;
}

/* A set-up request (MINT, BALANCE) that must succeed. */
static bool setup_call(const char *what, const struct kc_key *key,
		       uint8_t op, const uint8_t *req, uint32_t len,
		       uint8_t *out, uint32_t *out_len)
{
	int st = kc_gen_call(&gen, key, op, next_seq++, req, len, out,
			     KC_PAYLOAD_MAX, out_len, CALL_TIMEOUT_S);

	if (st == KC_STATUS_OK)
		return true;
	if (st < 0)
		fprintf(stderr, PROG ": %s: no REPLY in %u s\n", what,
			CALL_TIMEOUT_S);
	else
		fprintf(stderr, PROG ": %s: %s: %.*s\n", what,
			kc_status_name((unsigned int)st), (int)*out_len,
			(const char *)out);
	return false;
}

/* Any client may ask any account's BALANCE: client 1 asks escrow's. */
static bool balance(uint32_t account, uint64_t *bal, uint32_t *nb)
{
	uint8_t req[8], out[KC_PAYLOAD_MAX];
	uint32_t len = (uint32_t)kc_enc_account(req, sizeof(req), account);
	uint32_t out_len;

	return setup_call("BALANCE", &keys[account <= ACCOUNTS ?
					   account - 1 : 0], KC_OP_BALANCE, req,
			  len, out, &out_len) &&
	       kc_dec_balance_reply(out, out_len, bal, nb);
}

/* MINT n coins of denomination denom to account 1, 256 a MINT. */
static bool mint(uint32_t n, uint64_t denom)
{
	uint8_t req[32], out[KC_PAYLOAD_MAX];
	uint32_t made = 0;

	while (made < n) {
		uint32_t count = RTE_MIN(n - made, KC_MINT_COUNT_MAX);
		uint32_t len = (uint32_t)kc_enc_mint(req, sizeof(req), 1,
						     denom, count);
		uint32_t out_len, got;
		uint64_t first;

		if (!setup_call("MINT", &keys[0], KC_OP_MINT, req, len, out,
				&out_len))
			return false;
		if (!kc_dec_coins_reply(out, out_len, &first, &got) ||
		    got != count) {
			fprintf(stderr, PROG ": MINT: a reply of %u bytes, "
				"not %u coins\n", out_len, count);
			return false;
		}
		for (uint32_t i = 0; i < got; i++) {
			coins[made] = (struct coin){ .id = first + i,
						     .owner = 1 };
			free_coins[nb_free++] = made++;
		}
	}
	return true;
}

/* CALL: clients 1 and 2 SERVE o->type from this port's address (lease_s
 * 3600), or UNSERVE it (lease_s 0). */
static bool serve(const struct opts *o, uint32_t lease_s)
{
	uint8_t req[KC_NAME_MAX + 32], out[KC_PAYLOAD_MAX];
	uint32_t out_len;

	for (uint32_t a = 1; a <= ACCOUNTS; a++) {
		uint32_t len = lease_s != 0 ?
			(uint32_t)kc_enc_serve(req, sizeof(req), o->type,
					       o->price, o->window, lease_s) :
			(uint32_t)kc_enc_unserve(req, sizeof(req), o->type);

		if (len == 0 ||
		    !setup_call(lease_s != 0 ? "SERVE" : "UNSERVE",
				&keys[a - 1], lease_s != 0 ? KC_OP_SERVE :
				KC_OP_UNSERVE, req, len, out, &out_len))
			return false;
	}
	return true;
}

/* A coin nobody uses: its index, or -1. */
static int64_t take_coin(void)
{
	uint32_t ci;

	if (nb_free == 0)
		return -1;
	ci = free_coins[--nb_free];
	coins[ci].busy = 1;
	return ci;
}

/*
 * Make m the next request, tracked in its slot: its message seq, or 0 if
 * there is nothing to send (no free coin, or the slot still busy).
 */
static uint64_t build(const struct opts *o, struct rte_mbuf *m,
		      uint64_t t_tsc, bool counted)
{
	uint64_t seq = next_seq;
	struct slot *s = &slots[seq & SLOT_MASK];
	uint8_t req[KC_PAYLOAD_MAX];
	const struct kc_key *key = &keys[0];
	uint32_t len = 0, ci = 0;
	uint8_t op = KC_OP_PING;

	if (s->seq != 0)
		return 0;
	switch (o->op) {
	case LG_PING:
		memcpy(req, body, o->size);
		len = o->size;
		break;
	case LG_PUBLISH:
		op = KC_OP_PUBLISH;
		len = (uint32_t)kc_enc_publish(req, sizeof(req),
			o->queues == 1 ? o->queue :
			queue_names[seq % o->queues], body, o->size);
		break;
	case LG_TRANSFER:
	case LG_CALL: {
		int64_t i = take_coin();
		struct coin *c;

		if (i < 0)
			return 0;
		ci = (uint32_t)i;
		c = &coins[ci];
		key = &keys[c->owner - 1];
		if (o->op == LG_TRANSFER) {
			op = KC_OP_TRANSFER;
			len = (uint32_t)kc_enc_transfer(req, sizeof(req),
				c->owner, c->owner == 1 ? 2 : 1, &c->id, 1);
		} else {
			op = KC_OP_CALL;
			len = (uint32_t)kc_enc_call(req, sizeof(req), o->type,
						    o->deadline_ms, body,
						    o->size, &c->id, 1);
		}
		break;
	}
	}
	next_seq++;
	*s = (struct slot){ .seq = seq, .t_tsc = t_tsc, .coin = ci,
			    .counted = counted };
	kc_gen_build(&gen, m, key, op, seq, req, len);
	return seq;
}

/* Give back what build() took for a request that did not leave. */
static void unbuild(const struct opts *o, uint64_t seq)
{
	struct slot *s = &slots[seq & SLOT_MASK];

	if (o->op == LG_TRANSFER || o->op == LG_CALL) {
		coins[s->coin].busy = 0;
		free_coins[nb_free++] = s->coin;
	}
	s->seq = 0;
}

static void count_error(const struct kc_hdr *h, const uint8_t *kcp)
{
	t.errors++;
	t.status[RTE_MIN(h->status, STATUS_MAX - 1u)]++;
	if (t.first_error[0] == '\0')
		snprintf(t.first_error, sizeof(t.first_error), "%s: %.*s",
			 kc_status_name(h->status),
			 (int)RTE_MIN(h->payload_len, KC_ERROR_TEXT_MAX),
			 (const char *)(kcp + KC_HDR_LEN));
}

/*
 * CALL: a DELIVER to one of our services. The call is ours (its id is the
 * CALL's message id, so its seq finds the slot); answer at once, OK with
 * the call's payload, signed by the service it was delivered to, into
 * tx; seqs[] gets the call's seq for when the RESPOND leaves.
 */
static void on_deliver(const struct kc_hdr *h, const uint8_t *kcp,
		       uint64_t now, struct rte_mbuf **tx, uint64_t *seqs,
		       uint16_t *nb_tx)
{
	uint64_t seq = kc_msg_id_seq(h->msg_id);
	struct slot *s = &slots[seq & SLOT_MASK];
	uint8_t req[KC_PAYLOAD_MAX];
	struct kc_deliver d;
	struct rte_mbuf *m;
	size_t len;

	if (h->client_id < 1 || h->client_id > ACCOUNTS || s->seq != seq ||
	    !kc_dec_deliver(kcp + KC_HDR_LEN, h->payload_len, &d)) {
		sv.stray_delivers++; /* not a call in flight of ours */
		return;
	}
	if (s->t_deliver == 0) {
		s->t_deliver = now;
		sv.delivered++;
	} else {
		sv.dup_delivers++; /* answered again, as a service must */
	}
	len = kc_enc_respond(req, sizeof(req), h->msg_id, KC_STATUS_OK,
			     d.payload, d.payload_len);
	m = rte_pktmbuf_alloc(gen.mp);
	if (len == 0 || m == NULL) {
		rte_pktmbuf_free(m);
		sv.respond_unsent++; /* the appliance delivers it again */
		return;
	}
	kc_gen_build(&gen, m, &keys[h->client_id - 1], KC_OP_RESPOND,
		     next_seq++, req, (uint32_t)len);
	seqs[*nb_tx] = seq;
	tx[(*nb_tx)++] = m;
}

static void on_respond_reply(const struct kc_hdr *h, const uint8_t *kcp)
{
	if (h->status == KC_STATUS_OK) {
		sv.respond_ok++;
		return;
	}
	/* The answer to a DELIVER sent again before the first RESPOND
	 * arrived: the call was settled by the first. */
	if (h->status == KC_STATUS_NOT_FOUND) {
		sv.respond_late++;
		return;
	}
	if (sv.respond_errors++ == 0)
		snprintf(sv.first_respond_error,
			 sizeof(sv.first_respond_error), "%s: %.*s",
			 kc_status_name(h->status),
			 (int)RTE_MIN(h->payload_len, KC_ERROR_TEXT_MAX),
			 (const char *)(kcp + KC_HDR_LEN));
}

/* CALL: the coin of a call answered; an OK one paid its service. */
static void call_settled(struct slot *s, const struct kc_hdr *h,
			 const uint8_t *kcp, uint64_t now)
{
	struct coin *c = &coins[s->coin];
	struct kc_call_reply cr;
	uint64_t in, out;

	c->busy = 0;
	if (h->status != KC_STATUS_OK) { /* charged nothing */
		free_coins[nb_free++] = s->coin;
		return;
	}
	if (!kc_dec_call_reply(kcp + KC_HDR_LEN, h->payload_len, &cr) ||
	    cr.service < 1 || cr.service > ACCOUNTS) {
		c->retired = 1; /* whose it is now is not ours to know */
		return;
	}
	c->owner = cr.service;
	free_coins[nb_free++] = s->coin;
	if (!s->counted || s->t_deliver == 0 || s->t_respond == 0)
		return;
	in = s->t_deliver > s->t_tsc ? s->t_deliver - s->t_tsc : 0;
	out = now > s->t_respond ? now - s->t_respond : 0;

	kc_hist_add(&lat_in, in * 1000000000ull / gen.hz);
	kc_hist_add(&lat_out, out * 1000000000ull / gen.hz);
	kc_hist_add(&lat_added, (in + out) * 1000000000ull / gen.hz);
}

static void on_frame(const struct opts *o, const struct rte_mbuf *m,
		     uint64_t now, struct rte_mbuf **tx, uint64_t *seqs,
		     uint16_t *nb_tx)
{
	struct kc_hdr h;
	const uint8_t *kcp = kc_gen_msg(m, &h);
	struct slot *s;
	uint64_t seq, ns;

	if (kcp != NULL && o->op == LG_CALL) {
		if (h.type == KC_TYPE_DELIVER) {
			on_deliver(&h, kcp, now, tx, seqs, nb_tx);
			return;
		}
		if (h.type == KC_TYPE_REPLY && h.op == KC_OP_RESPOND) {
			on_respond_reply(&h, kcp);
			return;
		}
	}
	if (kcp == NULL || h.type != KC_TYPE_REPLY) {
		stray++;
		return;
	}
	seq = kc_msg_id_seq(h.msg_id);
	s = &slots[seq & SLOT_MASK];
	if (s->seq != seq || h.client_id != kc_msg_id_client(h.msg_id)) {
		late++; /* a duplicate, or after it was given up */
		return;
	}
	s->seq = 0;
	inflight--;
	if (o->op == LG_CALL)
		call_settled(s, &h, kcp, now);
	if (o->op == LG_TRANSFER) {
		struct coin *c = &coins[s->coin];

		c->busy = 0;
		if (h.status == KC_STATUS_OK) {
			c->owner = c->owner == 1 ? 2 : 1;
			free_coins[nb_free++] = s->coin;
		} else {
			c->retired = 1;
		}
	}
	if (h.status == KC_STATUS_OK)
		sec_ok++;
	if (!s->counted)
		return;
	if (h.status != KC_STATUS_OK) {
		count_error(&h, kcp);
		return;
	}
	t.ok++;
	ns = now > s->t_tsc ? (now - s->t_tsc) * 1000000000ull / gen.hz : 0;
	if (ns > worst_ns) {
		worst_ns = ns;
		worst_due = s->t_tsc;
	}
	if (ns > 1000000u) {
		if (slow_n == 0 || s->t_tsc < slow_first_due)
			slow_first_due = s->t_tsc;
		slow_n++;
	}
	kc_hist_add(&lat, ns);
	kc_hist_add(&lat_sec, ns);
}

static uint16_t poll_rx(const struct opts *o)
{
	struct rte_mbuf *rx[BURST], *tx[BURST];
	uint64_t seqs[BURST];
	uint16_t n = rte_eth_rx_burst(gen.port, 0, rx, BURST), nb_tx = 0, k;
	uint64_t now = rte_rdtsc();

	for (uint16_t i = 0; i < n; i++)
		on_frame(o, rx[i], now, tx, seqs, &nb_tx);
	rte_pktmbuf_free_bulk(rx, n);
	if (nb_tx == 0)
		return n;
	/* CALL: the RESPONDs to this burst's DELIVERs. */
	k = rte_eth_tx_burst(gen.port, 0, tx, nb_tx);
	now = rte_rdtsc();
	for (uint16_t i = 0; i < k; i++)
		slots[seqs[i] & SLOT_MASK].t_respond = now;
	sv.responds += k;
	sv.respond_unsent += (uint64_t)(nb_tx - k);
	if (k < nb_tx)
		rte_pktmbuf_free_bulk(tx + k, nb_tx - k);
	return n;
}

/* A request due in the measured span that could not be sent. */
static void not_sent(void)
{
	t.due++;
	t.not_sent++;
}

/*
 * Send up to a burst: in open loop the requests due by now (each stamped
 * with when it was due), in closed loop as many as the window allows
 * (stamped when the burst leaves). The measured span is [m_start, m_end).
 */
static uint16_t send_burst(const struct opts *o, uint64_t now,
			   uint64_t *due_n, uint64_t t0, uint64_t m_start,
			   uint64_t m_end)
{
	struct rte_mbuf *tx[BURST];
	uint64_t due[BURST], seqs[BURST];
	uint16_t want = 0, built = 0, k;

	if (o->rate != 0) {
		while (want < BURST) {
			uint64_t d = t0 + (uint64_t)((double)*due_n *
					(double)gen.hz / (double)o->rate);

			if (d > now || d >= m_end)
				break;
			due[want++] = d;
			(*due_n)++;
		}
	} else if (now < m_end) {
		uint64_t room = inflight < o->window ? o->window - inflight : 0;

		want = (uint16_t)RTE_MIN(room, (uint64_t)BURST);
		for (k = 0; k < want; k++)
			due[k] = now;
	}
	if (want == 0)
		return 0;
	if (rte_pktmbuf_alloc_bulk(gen.mp, tx, want) != 0) {
		for (k = 0; k < want && o->rate != 0; k++)
			if (due[k] >= m_start)
				not_sent();
		return 0;
	}
	for (k = 0; k < want; k++) {
		bool counted = due[k] >= m_start && due[k] < m_end;
		uint64_t seq = build(o, tx[built], due[k], counted);

		if (seq == 0) {
			/* Closed loop: nothing to send is not a loss. */
			if (o->rate != 0 && counted)
				not_sent();
			continue;
		}
		seqs[built++] = seq;
	}
	if (o->rate == 0) {
		uint64_t ts = rte_rdtsc();

		for (k = 0; k < built; k++)
			slots[seqs[k] & SLOT_MASK].t_tsc = ts;
	}
	k = rte_eth_tx_burst(gen.port, 0, tx, built);
	inflight += k;
	sec_sent += k;
	for (uint16_t i = 0; i < built; i++) {
		if (!slots[seqs[i] & SLOT_MASK].counted)
			continue;
		if (i < k) {
			t.due++;
			t.sent++;
		} else {
			not_sent();
		}
	}
	for (uint16_t i = k; i < built; i++)
		unbuild(o, seqs[i]);
	if (k < built)
		rte_pktmbuf_free_bulk(tx + k, built - k);
	if (built < want)
		rte_pktmbuf_free_bulk(tx + built, want - built);
	return k;
}

/* Both accounts' BALANCEs moved by what the REPLYs said; a CALL's run
 * left escrow as it found it. */
static const char *check_balances(const struct opts *o,
				  const uint64_t bal0[ACCOUNTS + 1],
				  const uint32_t nb0[ACCOUNTS + 1])
{
	uint64_t denom = o->op == LG_CALL ? o->price : 1;
	uint32_t mine[ACCOUNTS] = { 0 };

	if (inflight != 0)
		return o->op == LG_CALL ? "skipped: CALLs unanswered" :
		       "skipped: TRANSFERs unanswered";
	if (o->op == LG_CALL) {
		uint64_t bal;
		uint32_t nb;

		if (!balance(KC_ACCOUNT_ESCROW, &bal, &nb))
			return "failed: BALANCE refused";
		if (bal != bal0[ACCOUNTS] || nb != nb0[ACCOUNTS])
			return "mismatch: coins left in escrow";
	}
	for (uint32_t i = 0; i < o->coins; i++)
		mine[coins[i].owner - 1]++;
	for (uint32_t a = 1; a <= ACCOUNTS; a++) {
		uint64_t bal;
		uint32_t nb;

		if (!balance(a, &bal, &nb))
			return "failed: BALANCE refused";
		if (nb - nb0[a - 1] != mine[a - 1] ||
		    bal - bal0[a - 1] != mine[a - 1] * denom)
			return "mismatch";
	}
	return "ok";
}

static void progress(double at_s, double secs)
{
	fprintf(stderr, PROG ": %6.1f s  sent %9.0f/s  ok %9.0f/s  in flight "
		"%7" PRIu64 "  p50 %7.1f us  p99 %7.1f us  max %7.1f us\n",
		at_s, (double)sec_sent / secs, (double)sec_ok / secs, inflight,
		(double)kc_hist_quantile(&lat_sec, 0.5) / 1e3,
		(double)kc_hist_quantile(&lat_sec, 0.99) / 1e3,
		(double)lat_sec.max / 1e3);
	sec_sent = sec_ok = 0;
	kc_hist_reset(&lat_sec);
}

/* p50 .. max of h, in us. */
static json_t *hist_json(const struct kc_hist *h)
{
	json_t *l = json_object();

	json_object_set_new(l, "count", json_integer((json_int_t)h->count));
	json_object_set_new(l, "p50", json_real(
		(double)kc_hist_quantile(h, 0.5) / 1e3));
	json_object_set_new(l, "p99", json_real(
		(double)kc_hist_quantile(h, 0.99) / 1e3));
	json_object_set_new(l, "p99.9", json_real(
		(double)kc_hist_quantile(h, 0.999) / 1e3));
	json_object_set_new(l, "max", json_real((double)h->max / 1e3));
	return l;
}

static json_t *call_json(const struct opts *o)
{
	json_t *c = json_object();

	json_object_set_new(c, "type", json_string(o->type));
	json_object_set_new(c, "price", json_integer((json_int_t)o->price));
	json_object_set_new(c, "deadline_ms", json_integer(o->deadline_ms));
	json_object_set_new(c, "delivered",
			    json_integer((json_int_t)sv.delivered));
	json_object_set_new(c, "delivered_again",
			    json_integer((json_int_t)sv.dup_delivers));
	json_object_set_new(c, "delivers_not_ours",
			    json_integer((json_int_t)sv.stray_delivers));
	json_object_set_new(c, "responds", json_integer((json_int_t)sv.responds));
	json_object_set_new(c, "responds_unsent",
			    json_integer((json_int_t)sv.respond_unsent));
	json_object_set_new(c, "responds_ok",
			    json_integer((json_int_t)sv.respond_ok));
	json_object_set_new(c, "responds_refused",
			    json_integer((json_int_t)sv.respond_errors));
	json_object_set_new(c, "responds_to_answered",
			    json_integer((json_int_t)sv.respond_late));
	json_object_set_new(c, "first_respond_error",
			    json_string(sv.first_respond_error));
	/* Per counted OK call: CALL out -> DELIVER in, RESPOND out -> REPLY
	 * in, and the two together. */
	json_object_set_new(c, "appliance_in_us", hist_json(&lat_in));
	json_object_set_new(c, "appliance_out_us", hist_json(&lat_out));
	json_object_set_new(c, "appliance_added_us", hist_json(&lat_added));
	return c;
}

static json_t *result(const struct opts *o, const char *check)
{
	static const char *const op_names[] = { "ping", "publish",
						"transfer", "call" };
	json_t *r = json_object(), *l = json_object(), *e = json_object();

	for (uint32_t s = 0; s < STATUS_MAX; s++)
		if (t.status[s] != 0)
			json_object_set_new(e, s == STATUS_MAX - 1 ? "other" :
					    kc_status_name(s),
					    json_integer((json_int_t)t.status[s]));
	json_object_set_new(l, "from", json_string(o->rate != 0 ?
		"due time (open loop)" : "send time (closed loop)"));
	json_object_set_new(l, "count", json_integer((json_int_t)lat.count));
	json_object_set_new(l, "mean", json_real(kc_hist_mean(&lat) / 1e3));
	json_object_set_new(l, "p50", json_real(
		(double)kc_hist_quantile(&lat, 0.5) / 1e3));
	json_object_set_new(l, "p90", json_real(
		(double)kc_hist_quantile(&lat, 0.9) / 1e3));
	json_object_set_new(l, "p99", json_real(
		(double)kc_hist_quantile(&lat, 0.99) / 1e3));
	json_object_set_new(l, "p99.9", json_real(
		(double)kc_hist_quantile(&lat, 0.999) / 1e3));
	json_object_set_new(l, "max", json_real((double)lat.max / 1e3));
	/* Seconds into the measured span. */
	json_object_set_new(l, "max_due_s", json_real(
		worst_ns == 0 ? 0 : (double)(worst_due - m_start_tsc) /
				    (double)gen.hz));
	json_object_set_new(l, "over_1ms", json_integer((json_int_t)slow_n));
	json_object_set_new(l, "first_over_1ms_due_s", json_real(
		slow_n == 0 ? 0 : (double)(slow_first_due - m_start_tsc) /
				  (double)gen.hz));
	json_object_set_new(r, "op", json_string(op_names[o->op]));
	json_object_set_new(r, "mode", json_string(o->rate != 0 ? "open" :
						   "closed"));
	if (o->rate != 0)
		json_object_set_new(r, "offered_per_s",
				    json_integer((json_int_t)o->rate));
	else
		json_object_set_new(r, "window", json_integer(o->window));
	json_object_set_new(r, "size", json_integer(o->size));
	if (o->op == LG_PUBLISH)
		json_object_set_new(r, "queues", json_integer(o->queues));
	json_object_set_new(r, "seconds", json_real(o->duration));
	json_object_set_new(r, "due", json_integer((json_int_t)t.due));
	json_object_set_new(r, "sent", json_integer((json_int_t)t.sent));
	json_object_set_new(r, "not_sent",
			    json_integer((json_int_t)t.not_sent));
	json_object_set_new(r, "ok", json_integer((json_int_t)t.ok));
	json_object_set_new(r, "errors", json_integer((json_int_t)t.errors));
	json_object_set_new(r, "errors_by_status", e);
	json_object_set_new(r, "first_error", json_string(t.first_error));
	json_object_set_new(r, "lost", json_integer((json_int_t)t.lost));
	json_object_set_new(r, "achieved_per_s",
			    json_real((double)t.ok / o->duration));
	json_object_set_new(r, "latency_us", l);
	json_object_set_new(r, "late_replies", json_integer((json_int_t)late));
	json_object_set_new(r, "other_frames",
			    json_integer((json_int_t)stray));
	if (o->op == LG_TRANSFER || o->op == LG_CALL) {
		json_object_set_new(r, "coins", json_integer(o->coins));
		json_object_set_new(r, "balance_check", json_string(check));
	}
	if (o->op == LG_CALL)
		json_object_set_new(r, "call", call_json(o));
	return r;
}

int main(int argc, char **argv)
{
	uint64_t bal0[ACCOUNTS + 1] = { 0 }, t0, m_start, m_end, now, next_tick;
	uint64_t due_n = 0, hz, drain_end;
	uint32_t nb0[ACCOUNTS + 1] = { 0 }, idle_polls = 0;
	bool coined;
	const char *check = "";
	struct opts o;
	json_t *res;
	bool clean;
	int rc;

	rc = kc_gen_eal_init(PROG, argc, argv);
	if (rc < 0)
		return 1;
	argc -= rc;
	argv += rc;
	if (parse_args(argc, argv, &o) != 0)
		return 2;
	if (load_keys(&o) != 0)
		return 1;
	for (uint32_t i = 0; i < o.size; i++)
		body[i] = (uint8_t)('a' + i % 26);
	slots = rte_zmalloc("loadgen_slots", sizeof(*slots) * SLOTS, 64);
	if (slots == NULL) {
		fprintf(stderr, PROG ": cannot allocate %u tracking slots\n",
			SLOTS);
		return 1;
	}
	if (o.op == LG_PUBLISH && o.queues > 1) {
		queue_names = calloc(o.queues, sizeof(*queue_names));
		if (queue_names == NULL)
			return 1;
		/* The index takes at most 5 digits (QUEUES_MAX). */
		for (uint32_t i = 0; i < o.queues; i++)
			snprintf(queue_names[i], sizeof(queue_names[i]),
				 "%.*s-%u", (int)KC_NAME_MAX - 6, o.queue,
				 i % QUEUES_MAX);
	}
	if (o.op == LG_PUBLISH &&
	    !kc_name_valid((const uint8_t *)(o.queues == 1 ? o.queue :
					    queue_names[0]),
			   strlen(o.queues == 1 ? o.queue : queue_names[0]))) {
		fprintf(stderr, PROG ": bad queue name '%s'\n", o.queue);
		return 2;
	}
	if (kc_gen_open(&gen, PROG, o.mac, o.ip) != 0)
		return 1;
	hz = gen.hz;
	coined = o.op == LG_TRANSFER || o.op == LG_CALL;
	if (coined &&
	    (!balance(1, &bal0[0], &nb0[0]) || !balance(2, &bal0[1], &nb0[1]) ||
	     (o.op == LG_CALL &&
	      (!balance(KC_ACCOUNT_ESCROW, &bal0[2], &nb0[2]) ||
	       !serve(&o, 3600))) ||
	     !mint(o.coins, o.op == LG_CALL ? o.price : 1)))
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	t0 = rte_rdtsc();
	m_start = t0 + (uint64_t)(o.warmup * (double)hz);
	m_start_tsc = m_start;
	m_end = m_start + (uint64_t)(o.duration * (double)hz);
	next_tick = t0 + hz;
	if (o.idle_us != 0) /* a sleep of a few us, not 50 us of slack */
		prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	while ((now = rte_rdtsc()) < m_end && !stop) {
		uint16_t n = send_burst(&o, now, &due_n, t0, m_start, m_end);

		n += poll_rx(&o);
		if (n != 0) {
			idle_polls = 0;
		} else if (o.idle_us != 0 && ++idle_polls >= 16) {
			struct timespec ts = { .tv_nsec = (long)o.idle_us * 1000 };

			nanosleep(&ts, NULL);
		}
		if (now >= next_tick) {
			if (!o.quiet)
				progress((double)(now - t0) / (double)hz, 1.0);
			next_tick += hz;
		}
	}
	if (stop) /* the measured span ends here */
		o.duration = RTE_MAX(0.001, (double)(now - m_start) /
						    (double)hz);
	drain_end = rte_rdtsc() + (uint64_t)(o.drain * (double)hz);
	while (inflight != 0 && rte_rdtsc() < drain_end)
		poll_rx(&o);
	t.lost = t.sent - t.ok - t.errors;
	if (coined)
		check = check_balances(&o, bal0, nb0);
	if (o.op == LG_CALL && !serve(&o, 0))
		check = "failed: UNSERVE refused";
	res = result(&o, check);
	json_dumpf(res, stdout, JSON_INDENT(2));
	putchar('\n');
	if (o.json != NULL && json_dump_file(res, o.json, JSON_INDENT(2)) != 0)
		fprintf(stderr, PROG ": cannot write %s\n", o.json);
	json_decref(res);
	clean = t.ok > 0 && t.errors == 0 && t.lost == 0 && t.not_sent == 0 &&
		(!coined || strcmp(check, "ok") == 0) &&
		sv.respond_errors == 0 && sv.respond_late <= sv.dup_delivers;
	kc_gen_close(&gen);
	rte_free(slots);
	free(queue_names);
	rte_eal_cleanup();
	return clean ? 0 : 1;
}
