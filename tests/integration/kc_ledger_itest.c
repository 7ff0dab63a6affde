/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-ledger-itest: the ledger's integration tests' client, over real kernel
 * sockets. KEYS is a keys file holding clients 1 (the mint authority) to 6.
 *
 *   kc-ledger-itest race SERVER KEYS COINS CLIENTS
 *     Account 1 gets COINS new coins; then CLIENTS threads, all signing as
 *     account 1, race to TRANSFER every coin, each to its own seller.
 *     Exactly one TRANSFER per coin succeeds, the others get NOT_OWNER;
 *     each coin belongs to the winner's seller; balances add up; AUDIT ok.
 *   kc-ledger-itest idempotent SERVER KEYS FILE
 *     One signed TRANSFER datagram sent five times: identical REPLYs, the
 *     coin moved once. The datagram is kept in FILE; when FILE exists it
 *     is sent again as it is (after a restart: the recovered index must
 *     still answer it with the first REPLY).
 *   kc-ledger-itest call-twice SERVER KEYS CLIENT TYPE COIN
 *     One signed CALL of TYPE by CLIENT paying with COIN, sent until it
 *     is answered, then three times more: four identical OK REPLYs (a
 *     completed call answers its retries from its table entry).
 *   kc-ledger-itest call-load SERVER KEYS TYPE CALLS DEADLINE_MS CLIENT...
 *     Each CLIENT gets CALLS coins of 10 minted (by client 1) and makes
 *     CALLS calls of TYPE, one coin each, from a thread of its own; an
 *     UNAVAILABLE call (no service free) is made again after 2 ms, as a
 *     client backs off. Every call must get exactly one REPLY; prints
 *     "ok N other M", the count of each final status, and the retries.
 *   kc-ledger-itest call-crash-load SERVER KEYS LOG TYPE CALLS DEADLINE_MS
 *                   CLIENT...
 *     The same while the appliance is killed and restarted: a call with
 *     no REPLY is not a failure; LOG gets "call CLIENT COIN STATUS ID"
 *     for each REPLY (ID: the call's, 32 hex digits).
 *   kc-ledger-itest call-verify SERVER KEYS LOG SERVICE
 *     Every coin (from 1 until COIN says NOT_FOUND) is LIVE, owned by the
 *     account it was minted to or by SERVICE, by SERVICE exactly when its
 *     trail's last call hop is a PAY; in its trail every ESCROW hop of a
 *     call is followed by one settlement naming the same call (PAY or
 *     REFUND, a HOLD in between), and no call is settled twice; each call
 *     of LOG stayed as its REPLY said: OK paid SERVICE (a PAY hop of that
 *     call, the coin SERVICE's), any other status paid nothing (the coin
 *     its caller's); AUDIT ok.
 *   kc-ledger-itest crash-load SERVER KEYS LOG FIRST COUNT THREADS
 *     Coins FIRST .. FIRST+COUNT-1 go back and forth between accounts 1
 *     and 2, THREADS threads each with its own coins, until the appliance
 *     stops answering. LOG gets "try COIN TO" before each TRANSFER and
 *     "ack COIN TO SEQ" after each acknowledged one.
 *   kc-ledger-itest crash-verify SERVER KEYS LOG [--no-trails]
 *     Each coin is owned by the recipient of its last acknowledged
 *     TRANSFER, or of the one tried after it (executed, never answered);
 *     the last acknowledged hop is in the coin's trail (not looked at with
 *     --no-trails: an hour's trails are long to walk); accounts 1 and 2
 *     hold what the coins say (BALANCE against COIN); AUDIT ok.
 *
 * Exit status 0 when every check held; the last line says what was checked.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "kc_auth.h"
#include "kc_client.h"
#include "kc_itest_net.h"
#include "kc_proto.h"

#define DENOM 10u
#define MAX_COINS 4096u

static const char *server, *keys;

static struct kc_client *open_as(uint32_t id, uint32_t timeout_ms,
				 uint32_t retries)
{
	struct kc_client_opts o = {
		.server = server, .timeout_ms = timeout_ms,
		.retries = retries,
	};
	struct kc_client *c;
	char err[256];

	if (kc_client_key_from_file(&o, keys, id, err, sizeof(err)) != 0) {
		fprintf(stderr, "kc-ledger-itest: %s\n", err);
		exit(2);
	}
	c = kc_client_open(&o, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "kc-ledger-itest: %s\n", err);
		exit(2);
	}
	return c;
}

static int done(const char *what)
{
	printf("%s: %d checks, %d failed\n", what, checks, failures);
	return failures == 0 ? 0 : 1;
}

static void audit_ok(struct kc_client *c, struct kc_audit *a)
{
	struct kc_reply *r = malloc(sizeof(*r));

	CHECK(kc_client_audit(c, r, a) == KC_CLIENT_OK &&
	      r->status == KC_STATUS_OK, "AUDIT: %s",
	      kc_status_name(r->status));
	CHECK(a->ok && a->violations == 0, "AUDIT: %u violation(s)",
	      a->violations);
	CHECK(a->minted - a->burnt == a->live_sum, "AUDIT: supply %llu, "
	      "live coins %llu", (unsigned long long)(a->minted - a->burnt),
	      (unsigned long long)a->live_sum);
	free(r);
}

static uint64_t mint(struct kc_client *c, uint32_t count)
{
	struct kc_reply *r = malloc(sizeof(*r));
	uint64_t first = 0;

	CHECK(kc_client_mint(c, 1, DENOM, count, r, &first) == KC_CLIENT_OK &&
	      r->status == KC_STATUS_OK, "MINT %u: %s", count,
	      kc_status_name(r->status));
	free(r);
	return first;
}

/* ---- race --------------------------------------------------------------- */

struct racer {
	uint32_t seller;
	uint64_t first;
	uint32_t coins;
	uint16_t *status;	/* per coin */
};

static void *race_one(void *arg)
{
	struct racer *a = arg;
	struct kc_client *c = open_as(1, 1000, 3);
	struct kc_reply *r = malloc(sizeof(*r));

	for (uint32_t i = 0; i < a->coins; i++) {
		uint64_t coin = a->first + i, seq;

		if (kc_client_transfer(c, 1, a->seller, &coin, 1, r, &seq) !=
		    KC_CLIENT_OK)
			a->status[i] = 0xffff;
		else
			a->status[i] = r->status;
	}
	kc_client_close(c);
	free(r);
	return NULL;
}

static int race(uint32_t coins, uint32_t clients)
{
	struct kc_client *c = open_as(1, 1000, 3);
	struct kc_reply *r = malloc(sizeof(*r));
	struct racer a[16];
	pthread_t th[16];
	uint64_t first, sum = 0, bal;
	uint32_t n;
	struct kc_audit au;

	if (coins == 0 || coins > 256 || clients == 0 || clients > 16)
		return 2;
	first = mint(c, coins);
	for (uint32_t t = 0; t < clients; t++) {
		a[t] = (struct racer){
			.seller = 2 + t % 5, .first = first, .coins = coins,
			.status = calloc(coins, sizeof(uint16_t)),
		};
		pthread_create(&th[t], NULL, race_one, &a[t]);
	}
	for (uint32_t t = 0; t < clients; t++)
		pthread_join(th[t], NULL);
	for (uint32_t i = 0; i < coins; i++) {
		uint32_t ok = 0, winner = 0;
		struct kc_coin_info ci;

		for (uint32_t t = 0; t < clients; t++) {
			if (a[t].status[i] == KC_STATUS_OK) {
				ok++;
				winner = a[t].seller;
			} else {
				CHECK(a[t].status[i] == KC_STATUS_NOT_OWNER,
				      "coin %llu, client %u: %s instead of "
				      "OK or NOT_OWNER",
				      (unsigned long long)(first + i), t,
				      kc_status_name(a[t].status[i]));
			}
		}
		CHECK(ok == 1, "coin %llu: %u TRANSFERs succeeded",
		      (unsigned long long)(first + i), ok);
		CHECK(kc_client_coin(c, first + i, r, &ci) == KC_CLIENT_OK &&
		      r->status == KC_STATUS_OK && ci.owner == winner,
		      "coin %llu owned by %u, the winner paid %u",
		      (unsigned long long)(first + i), ci.owner, winner);
	}
	CHECK(kc_client_balance(c, 1, r, &bal, &n) == KC_CLIENT_OK &&
	      r->status == KC_STATUS_OK, "BALANCE 1");
	sum += bal;
	for (uint32_t s = 2; s <= 6; s++) {
		uint64_t b = 0;

		if (kc_client_balance(c, s, r, &b, &n) == KC_CLIENT_OK &&
		    r->status == KC_STATUS_OK)
			sum += b;
	}
	audit_ok(c, &au);
	CHECK(sum == au.live_sum, "balances add up to %llu, supply %llu",
	      (unsigned long long)sum, (unsigned long long)au.live_sum);
	for (uint32_t t = 0; t < clients; t++)
		free(a[t].status);
	kc_client_close(c);
	free(r);
	return done("race");
}

/* ---- idempotent --------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int udp_to_server(void)
{
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(KC_UDP_PORT_DEFAULT) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || inet_pton(AF_INET, server, &dst.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
		perror("kc-ledger-itest: socket");
		exit(2);
	}
	return fd;
}

static int idempotent(const char *file)
{
	static uint8_t req[KC_DATAGRAM_MAX], rep[KC_DATAGRAM_MAX],
		first_rep[KC_DATAGRAM_MAX];
	struct kc_client *c = open_as(1, 1000, 3);
	struct kc_reply *r = malloc(sizeof(*r));
	FILE *f = fopen(file, "rb");
	const bool fresh = f == NULL;
	uint64_t before = 0, after = 0;
	ssize_t first_len = -1;
	uint32_t n, same = 0;
	size_t len;
	int fd = udp_to_server();

	if (f != NULL) {
		len = fread(req, 1, sizeof(req), f);
		fclose(f);
	} else {
		struct kc_client_opts o = { .server = server };
		struct kc_hdr h = {
			.magic = KC_PROTO_MAGIC, .version = KC_PROTO_VERSION,
			.type = KC_TYPE_REQUEST, .op = KC_OP_TRANSFER,
			.client_id = 1,
		};
		struct kc_key key;
		char err[256];
		uint64_t coin = mint(c, 1);

		kc_client_key_from_file(&o, keys, 1, err, sizeof(err));
		kc_key_init(&key, 1, o.key, "one");
		h.payload_len = (uint32_t)kc_enc_transfer(req + KC_HDR_LEN,
			KC_PAYLOAD_MAX, 1, 2, &coin, 1);
		kc_msg_id_make(h.msg_id, now_ms(), 1, (uint64_t)getpid());
		kc_hdr_encode(req, &h);
		len = KC_HDR_LEN + h.payload_len;
		kc_auth_sign(&key, req, len);
		f = fopen(file, "wb");
		if (f != NULL) {
			fwrite(req, 1, len, f);
			fclose(f);
		}
	}
	CHECK(kc_client_balance(c, 2, r, &before, &n) == KC_CLIENT_OK,
	      "BALANCE 2");
	for (uint32_t i = 0; i < 5; i++) {
		ssize_t got = kc_itest_exchange(fd, req, len, rep,
						sizeof(rep));

		CHECK(got > 0, "attempt %u: no REPLY", i);
		if (got <= 0)
			continue;
		if (first_len < 0) {
			first_len = got;
			memcpy(first_rep, rep, (size_t)got);
			CHECK(kc_get_u16(rep + KC_OFF_STATUS) == KC_STATUS_OK,
			      "first REPLY: %s",
			      kc_status_name(kc_get_u16(rep + KC_OFF_STATUS)));
		}
		same += got == first_len &&
			memcmp(rep, first_rep, (size_t)got) == 0;
	}
	CHECK(same == 5, "%u of 5 REPLYs identical to the first", same);
	CHECK(kc_client_balance(c, 2, r, &after, &n) == KC_CLIENT_OK,
	      "BALANCE 2");
	/* Moved once by the first send; sent again after a restart, it
	 * moves nothing. */
	CHECK(after == before + (fresh ? DENOM : 0), "account 2 went from "
	      "%llu to %llu", (unsigned long long)before,
	      (unsigned long long)after);
	close(fd);
	kc_client_close(c);
	free(r);
	return done("idempotent");
}

/* ---- call-twice ---------------------------------------------------------- */

static int call_twice(uint32_t client, const char *type, uint64_t coin)
{
	static uint8_t req[KC_DATAGRAM_MAX], rep[KC_DATAGRAM_MAX],
		first_rep[KC_DATAGRAM_MAX];
	struct kc_client_opts o = { .server = server };
	struct kc_hdr h = {
		.magic = KC_PROTO_MAGIC, .version = KC_PROTO_VERSION,
		.type = KC_TYPE_REQUEST, .op = KC_OP_CALL, .client_id = client,
	};
	ssize_t first_len = -1, got = -1;
	struct kc_key key;
	char err[256];
	uint32_t same = 0;
	size_t len;
	int fd = udp_to_server();

	if (kc_client_key_from_file(&o, keys, client, err, sizeof(err)) != 0) {
		fprintf(stderr, "kc-ledger-itest: %s\n", err);
		return 2;
	}
	kc_key_init(&key, client, o.key, "caller");
	h.payload_len = (uint32_t)kc_enc_call(req + KC_HDR_LEN, KC_PAYLOAD_MAX,
					      type, 5000, "twice", 5, &coin,
					      1);
	kc_msg_id_make(h.msg_id, now_ms(), client, (uint64_t)getpid());
	kc_hdr_encode(req, &h);
	len = KC_HDR_LEN + h.payload_len;
	kc_auth_sign(&key, req, len);
	/* Until answered: a retry of a call in flight is absorbed. */
	for (uint32_t i = 0; i < 8 && got <= 0; i++)
		got = kc_itest_exchange(fd, req, len, rep, sizeof(rep));
	CHECK(got > 0, "no REPLY to the CALL");
	if (got > 0) {
		first_len = got;
		memcpy(first_rep, rep, (size_t)got);
		CHECK(kc_get_u16(rep + KC_OFF_STATUS) == KC_STATUS_OK,
		      "the CALL: %s",
		      kc_status_name(kc_get_u16(rep + KC_OFF_STATUS)));
	}
	for (uint32_t i = 0; i < 3; i++) {
		got = kc_itest_exchange(fd, req, len, rep, sizeof(rep));
		same += got == first_len &&
			memcmp(rep, first_rep, (size_t)got) == 0;
	}
	CHECK(same == 3, "%u of 3 retries answered with the first REPLY",
	      same);
	close(fd);
	return done("call-twice");
}

/* ---- call-load ---------------------------------------------------------- */

struct caller {
	uint32_t client;
	const char *type;
	uint32_t calls;
	uint32_t deadline_ms;
	uint64_t first;		/* its coins */
	uint32_t by_status[KC_STATUS_TIMEOUT + 2]; /* + no REPLY */
	uint32_t retries;
	FILE *log;		/* call-crash-load: each REPLY */
	pthread_mutex_t *lock;
};

static void *call_one(void *arg)
{
	struct caller *a = arg;
	struct kc_client *c = open_as(a->client, 1000, 1);
	struct kc_reply *r = malloc(sizeof(*r));

	for (uint32_t i = 0; i < a->calls; i++) {
		uint64_t coin = a->first + i;
		struct kc_call_reply cr;
		enum kc_client_err e;

		for (uint32_t t = 0;; t++) {
			e = kc_client_call_service(c, a->type, a->deadline_ms,
						   "work", 4, &coin, 1, r,
						   &cr);
			if (e != KC_CLIENT_OK ||
			    r->status != KC_STATUS_UNAVAILABLE || t == 2000)
				break;
			a->retries++;
			usleep(2000);
		}

		if (e != KC_CLIENT_OK)
			a->by_status[KC_STATUS_TIMEOUT + 1]++;
		else
			a->by_status[r->status <= KC_STATUS_TIMEOUT ?
				     r->status : KC_STATUS_TIMEOUT + 1u]++;
		if (e == KC_CLIENT_OK && a->log != NULL) {
			char id[2 * KC_MSG_ID_LEN + 1];

			kc_msg_id_format(r->hdr.msg_id, id);
			pthread_mutex_lock(a->lock);
			fprintf(a->log, "call %u %llu %u %s\n", a->client,
				(unsigned long long)coin, r->status, id);
			fflush(a->log);
			pthread_mutex_unlock(a->lock);
		}
	}
	free(r);
	kc_client_close(c);
	return NULL;
}

static int call_load(const char *type, uint32_t calls, uint32_t deadline_ms,
		     char **clients, int n, const char *log)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	FILE *f = log != NULL ? fopen(log, "a") : NULL;
	struct kc_client *c1 = open_as(1, 1000, 3);
	struct kc_reply *r = malloc(sizeof(*r));
	struct caller *a = calloc((size_t)n, sizeof(*a));
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	uint32_t total[KC_STATUS_TIMEOUT + 2] = { 0 }, retries = 0;

	for (int i = 0; i < n; i++) {
		a[i] = (struct caller){
			.client = (uint32_t)strtoul(clients[i], NULL, 10),
			.type = type, .calls = calls,
			.deadline_ms = deadline_ms, .log = f, .lock = &lock,
		};
		CHECK(kc_client_mint(c1, a[i].client, DENOM, calls, r,
				     &a[i].first) == KC_CLIENT_OK &&
		      r->status == KC_STATUS_OK, "MINT for client %u",
		      a[i].client);
	}
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, call_one, &a[i]);
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		retries += a[i].retries;
		for (uint32_t s = 0; s < KC_STATUS_TIMEOUT + 2; s++)
			total[s] += a[i].by_status[s];
	}
	/* Killed meanwhile: a call may go unanswered (call-verify checks
	 * how it ended). */
	CHECK(log != NULL || total[KC_STATUS_TIMEOUT + 1] == 0,
	      "%u call(s) got no REPLY", total[KC_STATUS_TIMEOUT + 1]);
	printf("ok %u other %u", total[KC_STATUS_OK],
	       (uint32_t)n * calls - total[KC_STATUS_OK]);
	for (uint32_t s = 1; s <= KC_STATUS_TIMEOUT; s++)
		if (total[s] != 0)
			printf(" %s %u", kc_status_name(s), total[s]);
	printf(" (%u UNAVAILABLE made again)\n", retries);
	free(a);
	free(t);
	free(r);
	if (f != NULL)
		fclose(f);
	kc_client_close(c1);
	return done("call-load");
}

/* ---- crash -------------------------------------------------------------- */

struct loader {
	uint64_t first;
	uint32_t count;
	FILE *log;
	pthread_mutex_t *lock;
	uint32_t acked;
};

static void *crash_loader(void *arg)
{
	struct loader *a = arg;
	struct kc_client *c[3] = { NULL, open_as(1, 200, 15),
				   open_as(2, 200, 15) };
	struct kc_reply *r = malloc(sizeof(*r));
	uint32_t owner[64];

	/* Where each coin is now: an unanswered TRANSFER may have moved it. */
	for (uint32_t i = 0; i < a->count; i++) {
		struct kc_coin_info ci;

		if (kc_client_coin(c[1], a->first + i, r, &ci) != KC_CLIENT_OK ||
		    r->status != KC_STATUS_OK)
			goto out;
		owner[i] = ci.owner;
	}
	for (;;) {
		for (uint32_t i = 0; i < a->count; i++) {
			uint64_t coin = a->first + i, seq;
			uint32_t to = owner[i] == 1 ? 2 : 1;
			enum kc_client_err e;

			pthread_mutex_lock(a->lock);
			fprintf(a->log, "try %llu %u\n",
				(unsigned long long)coin, to);
			fflush(a->log);
			pthread_mutex_unlock(a->lock);
			e = kc_client_transfer(c[owner[i]], owner[i], to, &coin,
					       1, r, &seq);
			if (e != KC_CLIENT_OK || r->status != KC_STATUS_OK)
				goto out;
			pthread_mutex_lock(a->lock);
			fprintf(a->log, "ack %llu %u %llu\n",
				(unsigned long long)coin, to,
				(unsigned long long)seq);
			fflush(a->log);
			pthread_mutex_unlock(a->lock);
			owner[i] = to;
			a->acked++;
		}
	}
out:
	kc_client_close(c[1]);
	kc_client_close(c[2]);
	free(r);
	return NULL;
}

static int crash_load(const char *log, uint64_t first, uint32_t count,
		      uint32_t threads)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct loader a[8];
	pthread_t th[8];
	FILE *f = fopen(log, "a");
	uint32_t acked = 0, per;

	if (f == NULL || threads == 0 || threads > 8 || count < threads ||
	    count / threads > 64)
		return 2;
	per = count / threads;
	for (uint32_t t = 0; t < threads; t++) {
		a[t] = (struct loader){ first + t * per, per, f, &lock, 0 };
		pthread_create(&th[t], NULL, crash_loader, &a[t]);
	}
	for (uint32_t t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		acked += a[t].acked;
	}
	fclose(f);
	printf("ledger crash-load: %u transfers acknowledged\n", acked);
	return 0;
}

struct coin_log {
	uint32_t acked_to;	/* 0: none */
	uint64_t acked_seq;
	uint32_t tried_to;	/* after the last ack; 0: none */
};

static bool trail_has(struct kc_client *c, struct kc_reply *r, uint64_t coin,
		      uint64_t seq)
{
	struct kc_trail_reply tr;

	/* The newest page only: the acknowledged hop is the last one, or
	 * the one before an unanswered one. */
	if (kc_client_trail(c, coin, UINT32_MAX, r, &tr) != KC_CLIENT_OK ||
	    r->status != KC_STATUS_OK || tr.total == 0)
		return false;
	if (kc_client_trail(c, coin, tr.total > 2 ? tr.total - 2 : 0, r,
			    &tr) != KC_CLIENT_OK || r->status != KC_STATUS_OK)
		return false;
	for (uint16_t i = 0; i < tr.count; i++) {
		struct kc_hop h;

		kc_dec_hop(tr.hops + (size_t)i * KC_HOP_WIRE_LEN, &h);
		if (h.seq == seq && h.coin == coin && h.kind == KC_HOP_TRANSFER)
			return true;
	}
	return false;
}

/* COIN i: 1 when answered OK; 0 and a failed CHECK when not, except for
 * NOT_FOUND when end_ok (the first coin never minted): -1. */
static int coin_ok(struct kc_client *c, struct kc_reply *r, uint64_t i,
		   struct kc_coin_info *ci, bool end_ok)
{
	enum kc_client_err e = kc_client_coin(c, i, r, ci);

	if (end_ok && e == KC_CLIENT_OK && r->status == KC_STATUS_NOT_FOUND)
		return -1;
	CHECK(e == KC_CLIENT_OK && r->status == KC_STATUS_OK, "COIN %llu: %s",
	      (unsigned long long)i, e != KC_CLIENT_OK ? "no answer" :
	      kc_status_name(r->status));
	return e == KC_CLIENT_OK && r->status == KC_STATUS_OK;
}

/* BALANCE of accounts 1 and 2 against the owners and denominations COIN
 * gives for every coin, from 1 until COIN says NOT_FOUND (the coins
 * crash-load moves, tried or not: nothing else is minted on that
 * journal). */
static void balances_ok(struct kc_client *c, struct kc_reply *r)
{
	uint64_t value[3] = { 0 };
	uint32_t count[3] = { 0 };

	for (uint64_t i = 1; i < MAX_COINS; i++) {
		struct kc_coin_info ci;
		int ok = coin_ok(c, r, i, &ci, true);

		if (ok == 0)
			return; /* unanswered: the sums would say nothing */
		if (ok < 0)
			break;
		CHECK(ci.state == KC_COIN_LIVE && ci.owner >= 1 &&
		      ci.owner <= 2, "coin %llu: owner %u, state %u",
		      (unsigned long long)i, ci.owner, ci.state);
		if (ci.state == KC_COIN_LIVE && ci.owner >= 1 && ci.owner <= 2) {
			value[ci.owner] += ci.denomination;
			count[ci.owner]++;
		}
	}
	for (uint32_t a = 1; a <= 2; a++) {
		uint64_t bal = 0;
		uint32_t nb = 0;
		enum kc_client_err e = kc_client_balance(c, a, r, &bal, &nb);

		CHECK(e == KC_CLIENT_OK && r->status == KC_STATUS_OK,
		      "BALANCE %u: %s", a, e != KC_CLIENT_OK ? "no answer" :
		      kc_status_name(r->status));
		if (e != KC_CLIENT_OK || r->status != KC_STATUS_OK)
			continue;
		CHECK(bal == value[a] && nb == count[a], "account %u: BALANCE "
		      "%llu in %u coins, its coins say %llu in %u", a,
		      (unsigned long long)bal, nb,
		      (unsigned long long)value[a], count[a]);
	}
}

static int crash_verify(const char *log, bool trails)
{
	struct coin_log *coins = calloc(MAX_COINS, sizeof(*coins));
	/* 15 tries: patient on a loaded machine (reads are executed again). */
	struct kc_client *c = open_as(1, 1000, 15);
	struct kc_reply *r = malloc(sizeof(*r));
	FILE *f = fopen(log, "r");
	uint32_t acked = 0, seen = 0, walked = 0;
	char line[128];
	struct kc_audit au;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		unsigned long long coin, seq;
		unsigned int to;

		if (sscanf(line, "ack %llu %u %llu", &coin, &to, &seq) == 3 &&
		    coin < MAX_COINS) {
			coins[coin].acked_to = to;
			coins[coin].acked_seq = seq;
			coins[coin].tried_to = 0;
			acked++;
		} else if (sscanf(line, "try %llu %u", &coin, &to) == 2 &&
			   coin < MAX_COINS) {
			coins[coin].tried_to = to;
		}
	}
	if (f != NULL)
		fclose(f);
	for (uint64_t i = 1; i < MAX_COINS; i++) {
		struct kc_coin_info ci;
		uint32_t want = coins[i].acked_to;

		if (want == 0)
			continue;
		seen++;
		if (coin_ok(c, r, i, &ci, false) != 1)
			continue;
		CHECK(ci.state == KC_COIN_LIVE && (ci.owner == want ||
		      (coins[i].tried_to != 0 &&
		       ci.owner == coins[i].tried_to)),
		      "coin %llu owned by %u; acknowledged to %u, tried to %u",
		      (unsigned long long)i, ci.owner, want,
		      coins[i].tried_to);
		CHECK(ci.last_hop_seq >= coins[i].acked_seq,
		      "coin %llu: last hop %llu before the acknowledged %llu",
		      (unsigned long long)i,
		      (unsigned long long)ci.last_hop_seq,
		      (unsigned long long)coins[i].acked_seq);
		if (!trails)
			continue;
		CHECK(trail_has(c, r, i, coins[i].acked_seq),
		      "coin %llu: the acknowledged hop %llu is not in its "
		      "trail", (unsigned long long)i,
		      (unsigned long long)coins[i].acked_seq);
		walked++;
	}
	balances_ok(c, r);
	audit_ok(c, &au);
	free(coins);
	kc_client_close(c);
	free(r);
	printf("ledger crash-verify: %u acknowledged transfers of %u coins, "
	       "%u trails checked, balances; ", acked, seen, walked);
	return done("crash-verify");
}

/* ---- call-verify ---------------------------------------------------------- */

/* A call of the log, found by its coin: each call-crash-load coin pays
 * for one call. */
struct logged_call {
	char id[2 * KC_MSG_ID_LEN + 1];	/* "": none logged */
	uint32_t caller;
	uint16_t status;
	uint8_t settled;	/* the settlement hop found: PAY or REFUND */
	uint8_t settles;	/* how many */
};

/* The whole trail of coin into *hops (malloc'd); its length, or -1. */
static int whole_trail(struct kc_client *c, struct kc_reply *r, uint64_t coin,
		       struct kc_hop **hops)
{
	struct kc_trail_reply tr;
	uint32_t skip = 0, n = 0;

	*hops = NULL;
	do {
		struct kc_hop *more;

		if (kc_client_trail(c, coin, skip, r, &tr) != KC_CLIENT_OK ||
		    r->status != KC_STATUS_OK || tr.first != skip ||
		    (tr.count == 0 && skip < tr.total))
			return -1;
		more = realloc(*hops, sizeof(**hops) * (n + tr.count + 1u));
		if (more == NULL)
			return -1;
		*hops = more;
		for (uint16_t i = 0; i < tr.count; i++)
			kc_dec_hop(tr.hops + (size_t)i * KC_HOP_WIRE_LEN,
				   &(*hops)[n++]);
		skip = tr.first + tr.count;
	} while (skip < tr.total);
	return (int)n;
}

/* One coin's trail: its escrows each settled once, naming their call; the
 * call logged for the coin gets what it settled to. Returns the kind of
 * its last settlement (0: none). */
static uint8_t check_call_hops(uint64_t coin, const struct kc_hop *h, int n,
			       struct logged_call *lc)
{
	uint8_t last = 0;

	for (int i = 0; i < n; i++) {
		char id[2 * KC_MSG_ID_LEN + 1];
		int j = i + 1;

		if (h[i].coin != coin || h[i].kind != KC_HOP_ESCROW)
			continue;
		kc_msg_id_format(h[i].call, id);
		/* Then its settlement (a HOLD first if the price waited). */
		while (j < n && (h[j].coin != coin || h[j].kind == KC_HOP_HOLD))
			j++;
		if (j == n) {
			CHECK(false, "coin %llu: call %s escrowed, never "
			      "settled", (unsigned long long)coin, id);
			continue;
		}
		CHECK((h[j].kind == KC_HOP_PAY || h[j].kind == KC_HOP_REFUND) &&
		      memcmp(h[j].call, h[i].call, KC_MSG_ID_LEN) == 0,
		      "coin %llu: call %s escrowed, then a %s hop",
		      (unsigned long long)coin, id,
		      kc_hop_kind_name(h[j].kind));
		last = h[j].kind;
		if (lc != NULL && strcmp(lc->id, id) == 0) {
			lc->settled = h[j].kind;
			lc->settles++;
		}
	}
	/* No settlement without its escrow, none twice. */
	for (int i = 0; i < n; i++) {
		int escrows = 0, settles = 0;

		if (h[i].coin != coin || (h[i].kind != KC_HOP_PAY &&
					  h[i].kind != KC_HOP_REFUND))
			continue;
		for (int k = 0; k < n; k++) {
			if (h[k].coin != coin ||
			    memcmp(h[k].call, h[i].call, KC_MSG_ID_LEN) != 0)
				continue;
			escrows += h[k].kind == KC_HOP_ESCROW;
			settles += h[k].kind == KC_HOP_PAY ||
				   h[k].kind == KC_HOP_REFUND;
		}
		CHECK(escrows == 1 && settles == 1, "coin %llu: a call "
		      "escrowed %d time(s), settled %d time(s)",
		      (unsigned long long)coin, escrows, settles);
	}
	return last;
}

static int call_verify(const char *log, uint32_t service)
{
	struct kc_client *c = open_as(1, 1000, 15);
	struct kc_reply *r = malloc(sizeof(*r));
	struct logged_call *calls = NULL;	/* by coin */
	FILE *f = fopen(log, "r");
	uint64_t cap = 0;
	uint32_t nb = 0, coins = 0, paid = 0, refunded = 0;
	char line[160];
	struct kc_audit au;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		unsigned int who, st;
		unsigned long long coin;
		char id[2 * KC_MSG_ID_LEN + 1];

		if (sscanf(line, "call %u %llu %u %32s", &who, &coin, &st,
			   id) != 4 || coin == 0 || coin > (1u << 24))
			continue;
		if (coin >= cap) {
			uint64_t more = (coin + 1) * 2;
			struct logged_call *n = realloc(calls,
							sizeof(*n) * more);

			if (n == NULL)
				break;
			memset(n + cap, 0, sizeof(*n) * (more - cap));
			calls = n;
			cap = more;
		}
		CHECK(calls[coin].id[0] == '\0', "coin %llu paid for two "
		      "calls", coin);
		calls[coin] = (struct logged_call){ .caller = who,
						    .status = (uint16_t)st };
		memcpy(calls[coin].id, id, sizeof(id));
		nb++;
	}
	if (f != NULL)
		fclose(f);
	/* Every coin, until COIN says it was never minted. */
	for (uint64_t i = 1;; i++) {
		struct kc_coin_info ci;
		struct kc_hop *h;
		int ok = coin_ok(c, r, i, &ci, true), n;
		uint8_t last;

		if (ok <= 0)
			break; /* the end, or no answer (a failed check) */
		coins++;
		n = whole_trail(c, r, i, &h);
		CHECK(n > 0 && h[0].kind == KC_HOP_MINT, "coin %llu: no "
		      "trail from its MINT", (unsigned long long)i);
		if (n <= 0 || h[0].kind != KC_HOP_MINT) {
			free(h);
			continue;
		}
		last = check_call_hops(i, h, n, i < cap && calls[i].id[0] != 0 ?
						   &calls[i] : NULL);
		paid += last == KC_HOP_PAY;
		refunded += last == KC_HOP_REFUND;
		CHECK(ci.state == KC_COIN_LIVE &&
		      (ci.owner == h[0].to || ci.owner == service),
		      "coin %llu: owned by %u, minted to %u, the service is "
		      "%u", (unsigned long long)i, ci.owner, h[0].to, service);
		CHECK((ci.owner == service) == (last == KC_HOP_PAY),
		      "coin %llu: owned by %u, its last settlement %s",
		      (unsigned long long)i, ci.owner,
		      last != 0 ? kc_hop_kind_name(last) : "none");
		free(h);
	}
	for (uint64_t k = 0; k < cap; k++) {
		const struct logged_call *lc = &calls[k];

		if (lc->id[0] == '\0')
			continue;
		CHECK(lc->settles <= 1, "call %s settled %u times", lc->id,
		      lc->settles);
		if (lc->status == KC_STATUS_OK)
			CHECK(lc->settled == KC_HOP_PAY, "call %s: REPLY OK, "
			      "its settlement %s", lc->id, lc->settled != 0 ?
			      kc_hop_kind_name(lc->settled) : "missing");
		else
			CHECK(lc->settled != KC_HOP_PAY, "call %s: REPLY %s, "
			      "the service paid", lc->id,
			      kc_status_name(lc->status));
	}
	audit_ok(c, &au);
	printf("call-verify: %u calls answered, %u coins (%u paid, %u "
	       "refunded last); ", nb, coins, paid, refunded);
	free(calls);
	free(r);
	kc_client_close(c);
	return done("call-verify");
}

int main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "race") == 0) {
		server = argv[2];
		keys = argv[3];
		return race((uint32_t)atoi(argv[4]), (uint32_t)atoi(argv[5]));
	}
	if (argc >= 5 && strcmp(argv[1], "idempotent") == 0) {
		server = argv[2];
		keys = argv[3];
		return idempotent(argv[4]);
	}
	if (argc >= 8 && strcmp(argv[1], "call-load") == 0) {
		server = argv[2];
		keys = argv[3];
		return call_load(argv[4], (uint32_t)atoi(argv[5]),
				 (uint32_t)atoi(argv[6]), argv + 7, argc - 7,
				 NULL);
	}
	if (argc >= 9 && strcmp(argv[1], "call-crash-load") == 0) {
		server = argv[2];
		keys = argv[3];
		return call_load(argv[5], (uint32_t)atoi(argv[6]),
				 (uint32_t)atoi(argv[7]), argv + 8, argc - 8,
				 argv[4]);
	}
	if (argc == 6 && strcmp(argv[1], "call-verify") == 0) {
		server = argv[2];
		keys = argv[3];
		return call_verify(argv[4], (uint32_t)atoi(argv[5]));
	}
	if (argc >= 7 && strcmp(argv[1], "call-twice") == 0) {
		server = argv[2];
		keys = argv[3];
		return call_twice((uint32_t)strtoul(argv[4], NULL, 10),
				  argv[5], strtoull(argv[6], NULL, 10));
	}
	if (argc >= 8 && strcmp(argv[1], "crash-load") == 0) {
		server = argv[2];
		keys = argv[3];
		return crash_load(argv[4], strtoull(argv[5], NULL, 10),
				  (uint32_t)atoi(argv[6]),
				  (uint32_t)atoi(argv[7]));
	}
	if (argc >= 5 && strcmp(argv[1], "crash-verify") == 0) {
		server = argv[2];
		keys = argv[3];
		return crash_verify(argv[4], !(argc >= 6 && strcmp(argv[5],
						     "--no-trails") == 0));
	}
	fprintf(stderr, "usage: kc-ledger-itest race|idempotent|call-twice|crash-load|"
		"crash-verify SERVER KEYS ... (see the source)\n");
	return 2;
}
