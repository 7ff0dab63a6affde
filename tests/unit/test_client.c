/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/client against a fake appliance: a thread with a plain
 * UDP socket on 127.0.0.1 that parses, verifies and answers with lib/proto
 * and lib/auth, and misbehaves on request (drops, bad tags, stale replies).
 * Timeouts are kept short (50-200 ms) so the whole file runs in about a
 * second.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kc_auth.h"
#include "kc_client.h"
#include "kc_proto.h"

#define FAKE_CLIENT_ID 77u
#define FAKE_SEEN_MAX 8u

enum fake_mode {
	FAKE_NORMAL,
	FAKE_DROP_FIRST,   /* ignore the first datagram, answer the rest */
	FAKE_BAD_TAG,	   /* answer with a tag made with another key */
	FAKE_STALE_FIRST,  /* send strays and a stale reply before the real one */
	FAKE_QUEUE_FULL,   /* answer every PUBLISH with QUEUE_FULL */
	FAKE_WRONG_OP,	   /* verified reply with another op */
	FAKE_COMMIT_BODY,  /* COMMIT reply with an unexpected payload */
	FAKE_BAD_LEDGER,   /* ledger replies that do not add up */
};

/* The fake's coin trail: FAKE_TRAIL_HOPS hops, FAKE_TRAIL_PAGE a page. */
#define FAKE_TRAIL_HOPS 5u
#define FAKE_TRAIL_PAGE 2u

struct fake {
	int fd;
	uint16_t port;
	pthread_t thread;
	atomic_bool stop;
	enum fake_mode mode;
	struct kc_key key;
	struct kc_key wrong_key;

	pthread_mutex_t lock; /* guards everything below */
	uint8_t seen[FAKE_SEEN_MAX][KC_DATAGRAM_MAX];
	size_t seen_len[FAKE_SEEN_MAX];
	uint32_t nseen;
	uint32_t bad_auth;   /* requests dropped: tag did not verify */
	uint32_t bad_id;     /* requests whose msg id client != header client */
	uint64_t next_offset;
	uint64_t committed;
	struct kc_transfer_req transfer; /* the last TRANSFER */
	uint64_t transfer_coins[KC_COINS_PER_OP_MAX];
};

static const uint8_t test_key[KC_KEY_LEN] = "0123456789abcdef0123456789abcdef";

static size_t reply_msg(struct fake *f, const struct kc_hdr *req,
			const uint8_t *msg_id, uint16_t status,
			const void *payload, size_t len, uint8_t *out,
			const struct kc_key *sign_key)
{
	struct kc_hdr h = *req;

	h.type = KC_TYPE_REPLY;
	h.status = status;
	memcpy(h.msg_id, msg_id, KC_MSG_ID_LEN);
	h.payload_len = (uint32_t)len;
	memset(h.tag, 0, sizeof(h.tag));
	kc_hdr_encode(out, &h);
	if (len > 0)
		memcpy(out + KC_HDR_LEN, payload, len);
	kc_auth_sign(sign_key != NULL ? sign_key : &f->key, out,
		     KC_HDR_LEN + len);
	return KC_HDR_LEN + len;
}

static void fake_hop(struct kc_hop *h, uint64_t coin, uint32_t i)
{
	memset(h, 0, sizeof(*h));
	h->seq = 1000u + i;
	h->time_ns = 1717243200000000000ull + i;
	h->coin = coin;
	h->denomination = 50;
	h->from = i; /* 0 for the MINT */
	h->to = i + 1u;
	h->kind = (uint8_t)(i == 0 ? KC_HOP_MINT : KC_HOP_TRANSFER);
}

/* One page of the fake trail of a coin, from hop skip. */
static size_t fake_trail(const struct fake *f, const uint8_t *payload,
			 uint32_t len, uint8_t *p, uint16_t *status)
{
	struct kc_trail_req t;
	uint32_t first;
	uint16_t count;
	uint16_t i;

	if (kc_dec_trail(payload, len, &t) != KC_STATUS_OK) {
		*status = KC_STATUS_BAD_REQUEST;
		return 0;
	}
	first = t.skip < FAKE_TRAIL_HOPS ? t.skip : FAKE_TRAIL_HOPS;
	count = (uint16_t)(FAKE_TRAIL_HOPS - first < FAKE_TRAIL_PAGE
				   ? FAKE_TRAIL_HOPS - first
				   : FAKE_TRAIL_PAGE);
	/* FAKE_BAD_LEDGER: a total that the page runs past. */
	kc_enc_trail_reply_fixed(p,
				 f->mode == FAKE_BAD_LEDGER ? first
							    : FAKE_TRAIL_HOPS,
				 first, count);
	for (i = 0; i < count; i++) {
		struct kc_hop h;

		fake_hop(&h, t.coin, first + i);
		kc_enc_hop(p + KC_TRAIL_REPLY_FIXED + (size_t)i *
						       KC_HOP_WIRE_LEN,
			   &h);
	}
	return KC_TRAIL_REPLY_FIXED + (size_t)count * KC_HOP_WIRE_LEN;
}

/* The ledger ops, with made-up but recognisable answers. */
static size_t fake_ledger(struct fake *f, const struct kc_hdr *h,
			  const uint8_t *payload, uint8_t *p, uint16_t *status)
{
	uint32_t len = h->payload_len;
	uint32_t off = f->mode == FAKE_BAD_LEDGER ? 1 : 0;

	switch (h->op) {
	case KC_OP_MINT: {
		struct kc_mint_req r;

		if (kc_dec_mint(payload, len, &r) != KC_STATUS_OK)
			break;
		return kc_enc_coins_reply(p, KC_PAYLOAD_MAX, 100,
					  r.count + off);
	}
	case KC_OP_TRANSFER: {
		struct kc_transfer_req *r = &f->transfer;
		uint16_t i;

		if (kc_dec_transfer(payload, len, r) != KC_STATUS_OK)
			break;
		for (i = 0; i < r->count; i++)
			f->transfer_coins[i] = kc_list_u64(r->coins, i);
		r->coins = NULL; /* points into a buffer that goes away */
		return kc_enc_u64_reply(p, KC_PAYLOAD_MAX, 500u + r->count);
	}
	case KC_OP_SPLIT: {
		struct kc_split_req r;

		if (kc_dec_split(payload, len, &r) != KC_STATUS_OK)
			break;
		return kc_enc_coins_reply(p, KC_PAYLOAD_MAX, 200,
					  r.count + off);
	}
	case KC_OP_BALANCE: {
		uint32_t account;

		if (kc_dec_account(payload, len, &account) != KC_STATUS_OK)
			break;
		return kc_enc_balance_reply(p, KC_PAYLOAD_MAX,
					    1000u * account, 3);
	}
	case KC_OP_COIN: {
		struct kc_coin_info c = { .denomination = 50, .owner = 2,
					  .state = KC_COIN_LIVE,
					  .created_seq = 1000,
					  .last_hop_seq = 1004 };

		if (kc_dec_coin_id(payload, len, &c.coin) != KC_STATUS_OK)
			break;
		return kc_enc_coin_reply(p, KC_PAYLOAD_MAX, &c);
	}
	case KC_OP_TRAIL:
		return fake_trail(f, payload, len, p, status);
	case KC_OP_AUDIT: {
		struct kc_audit a = { .ok = true, .minted = 150, .burnt = 50,
				      .live_sum = 100, .live_coins = 2,
				      .accounts = 2 };

		if (len != 0)
			break;
		if (f->mode == FAKE_BAD_LEDGER)
			return kc_enc_audit_reply(p, KC_PAYLOAD_MAX, &a) - 1;
		return kc_enc_audit_reply(p, KC_PAYLOAD_MAX, &a);
	}
	}
	*status = KC_STATUS_BAD_REQUEST;
	return (size_t)snprintf((char *)p, KC_PAYLOAD_MAX, "bad %s",
				kc_op_name(h->op));
}

/* Execute a verified request the way the appliance would. */
static size_t execute(struct fake *f, const struct kc_hdr *h,
		      const uint8_t *payload, uint8_t *out)
{
	uint8_t p[KC_PAYLOAD_MAX];
	size_t n = 0;
	uint16_t status = KC_STATUS_OK;

	switch (h->op) {
	case KC_OP_PING:
		memcpy(p, payload, h->payload_len);
		n = h->payload_len;
		break;
	case KC_OP_PUBLISH: {
		struct kc_publish_req r;

		if (kc_dec_publish(payload, h->payload_len, &r) !=
		    KC_STATUS_OK) {
			status = KC_STATUS_BAD_REQUEST;
			n = (size_t)snprintf((char *)p, sizeof(p), "bad");
		} else if (f->mode == FAKE_QUEUE_FULL) {
			status = KC_STATUS_QUEUE_FULL;
			n = (size_t)snprintf((char *)p, sizeof(p),
					     "queue %s holds 16384 messages",
					     r.queue.s);
		} else {
			n = kc_enc_u64_reply(p, sizeof(p), f->next_offset++);
		}
		break;
	}
	case KC_OP_FETCH: {
		struct kc_fetch_reply fr = { .first_offset = 41,
					     .next_offset = 43,
					     .end_offset = 44,
					     .count = 2 };
		kc_enc_fetch_reply_fixed(p, &fr);
		n = KC_FETCH_REPLY_FIXED;
		kc_put_u32(p + n, 3);
		memcpy(p + n + 4, "one", 3);
		n += 7;
		kc_put_u32(p + n, 3);
		memcpy(p + n + 4, "two", 3);
		n += 7;
		break;
	}
	case KC_OP_COMMIT: {
		struct kc_commit_req r;

		if (kc_dec_commit(payload, h->payload_len, &r) ==
		    KC_STATUS_OK)
			f->committed = r.offset;
		if (f->mode == FAKE_COMMIT_BODY)
			n = kc_enc_u64_reply(p, sizeof(p), r.offset);
		break;
	}
	case KC_OP_OFFSET:
		n = kc_enc_u64_reply(p, sizeof(p), f->committed);
		break;
	case KC_OP_MINT:
	case KC_OP_TRANSFER:
	case KC_OP_SPLIT:
	case KC_OP_BALANCE:
	case KC_OP_COIN:
	case KC_OP_TRAIL:
	case KC_OP_AUDIT:
		n = fake_ledger(f, h, payload, p, &status);
		break;
	default:
		status = KC_STATUS_UNKNOWN_OP;
		n = (size_t)snprintf((char *)p, sizeof(p), "op %u", h->op);
		break;
	}
	if (f->mode == FAKE_WRONG_OP) {
		struct kc_hdr other = *h;

		other.op = (uint8_t)(h->op == KC_OP_PING ? KC_OP_FETCH
							 : KC_OP_PING);
		return reply_msg(f, &other, h->msg_id, status, p, n, out,
				 NULL);
	}
	return reply_msg(f, h, h->msg_id, status, p, n, out,
			 f->mode == FAKE_BAD_TAG ? &f->wrong_key : NULL);
}

static void fake_handle(struct fake *f, const uint8_t *buf, size_t len,
			const struct sockaddr_in *from)
{
	uint8_t out[KC_DATAGRAM_MAX];
	struct kc_hdr h;
	uint32_t index;
	size_t n;

	pthread_mutex_lock(&f->lock);
	index = f->nseen++;
	if (index < FAKE_SEEN_MAX) {
		memcpy(f->seen[index], buf, len);
		f->seen_len[index] = len;
	}
	if (kc_hdr_decode(buf, len, &h) != KC_PARSE_OK ||
	    h.type != KC_TYPE_REQUEST)
		goto out_unlock;
	if (!kc_auth_verify(&f->key, buf, len)) {
		f->bad_auth++; /* dropped, not answered: no oracle */
		goto out_unlock;
	}
	if (kc_msg_id_client(h.msg_id) != h.client_id)
		f->bad_id++;
	if (f->mode == FAKE_DROP_FIRST && index == 0)
		goto out_unlock;

	if (f->mode == FAKE_STALE_FIRST) {
		uint8_t other_id[KC_MSG_ID_LEN];
		struct kc_hdr req_type = h;

		/* A properly signed REPLY of an earlier call. */
		kc_msg_id_make(other_id, kc_msg_id_time_ms(h.msg_id) - 5,
			       h.client_id, kc_msg_id_seq(h.msg_id) - 1);
		n = reply_msg(f, &h, other_id, KC_STATUS_OK, "\0\0\0\0\0\0\0\x09",
			      h.op == KC_OP_PUBLISH ? 8 : 0, out, NULL);
		sendto(f->fd, out, n, 0, (const struct sockaddr *)from,
		       sizeof(*from));
		/* Our id but type REQUEST (an echo), and plain garbage. */
		n = reply_msg(f, &req_type, h.msg_id, KC_STATUS_OK, NULL, 0,
			      out, NULL);
		out[KC_OFF_TYPE] = KC_TYPE_REQUEST;
		kc_auth_sign(&f->key, out, n);
		sendto(f->fd, out, n, 0, (const struct sockaddr *)from,
		       sizeof(*from));
		sendto(f->fd, "garbage", 7, 0, (const struct sockaddr *)from,
		       sizeof(*from));
	}

	n = execute(f, &h, buf + KC_HDR_LEN, out);
	sendto(f->fd, out, n, 0, (const struct sockaddr *)from,
	       sizeof(*from));
out_unlock:
	pthread_mutex_unlock(&f->lock);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	uint8_t buf[2048];

	while (!atomic_load(&f->stop)) {
		struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&pfd, 1, 10) <= 0)
			continue;
		n = recvfrom(f->fd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&from, &fl);
		if (n < 0 || (size_t)n > KC_DATAGRAM_MAX)
			continue;
		fake_handle(f, buf, (size_t)n, &from);
	}
	return NULL;
}

/* Bind a UDP socket on 127.0.0.1 and an ephemeral port. */
static int bind_loopback(uint16_t *port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static struct fake *fake_start(enum fake_mode mode)
{
	static struct fake f;
	uint8_t wrong[KC_KEY_LEN];

	memset(&f, 0, sizeof(f));
	f.fd = bind_loopback(&f.port);
	f.mode = mode;
	f.next_offset = 41;
	atomic_init(&f.stop, false);
	pthread_mutex_init(&f.lock, NULL);
	kc_key_init(&f.key, FAKE_CLIENT_ID, test_key, "test");
	memset(wrong, 0x5a, sizeof(wrong));
	kc_key_init(&f.wrong_key, FAKE_CLIENT_ID, wrong, "wrong");
	assert_int_equal(pthread_create(&f.thread, NULL, fake_main, &f), 0);
	return &f;
}

static void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	close(f->fd);
	pthread_mutex_destroy(&f->lock);
}

static struct kc_client *client_for(uint16_t port, uint32_t timeout_ms,
				    uint32_t retries)
{
	struct kc_client_opts o;
	char server[64];
	char err[256];
	struct kc_client *c;

	memset(&o, 0, sizeof(o));
	snprintf(server, sizeof(server), "127.0.0.1:%u", port);
	o.server = server;
	o.client_id = FAKE_CLIENT_ID;
	memcpy(o.key, test_key, KC_KEY_LEN);
	o.timeout_ms = timeout_ms;
	o.retries = retries;
	c = kc_client_open(&o, err, sizeof(err));
	if (c == NULL)
		fail_msg("kc_client_open: %s", err);
	return c;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- tests --------------------------------------------------------------- */

static void test_ping_ok(void **state)
{
	struct fake *f = fake_start(FAKE_NORMAL);
	struct kc_client *c = client_for(f->port, 200, 2);
	static struct kc_reply r;
	uint64_t before = real_ms();

	(void)state;
	assert_int_equal(kc_client_ping(c, "hello", 5, &r), KC_CLIENT_OK);
	assert_int_equal(r.status, KC_STATUS_OK);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.hdr.type, KC_TYPE_REPLY);
	assert_int_equal(r.hdr.op, KC_OP_PING);
	assert_int_equal(r.payload_len, 5);
	assert_memory_equal(r.payload, "hello", 5);
	assert_true(r.rtt_us < 200000);
	/* Message id: our client id, the current time. */
	assert_int_equal(kc_msg_id_client(r.hdr.msg_id), FAKE_CLIENT_ID);
	assert_true(kc_msg_id_time_ms(r.hdr.msg_id) + 1000 >= before);
	assert_true(kc_msg_id_time_ms(r.hdr.msg_id) <= real_ms() + 1000);

	/* An empty ping, and the sequence advances by one per call. */
	{
		uint64_t seq = kc_msg_id_seq(r.hdr.msg_id);

		assert_int_equal(kc_client_ping(c, NULL, 0, &r),
				 KC_CLIENT_OK);
		assert_int_equal(r.payload_len, 0);
		assert_true(kc_msg_id_seq(r.hdr.msg_id) ==
			    ((seq + 1) & 0xffffffffffffull));
	}
	kc_client_close(c);
	fake_stop(f);
	assert_int_equal(f->bad_auth, 0);
	assert_int_equal(f->bad_id, 0);
}

static void test_publish_fetch_commit_offset(void **state)
{
	struct fake *f = fake_start(FAKE_NORMAL);
	struct kc_client *c = client_for(f->port, 200, 2);
	static struct kc_reply r;
	struct kc_fetch_reply fr;
	const uint8_t *m;
	uint32_t ml;
	uint32_t pos = 0;
	uint64_t off = 0;

	(void)state;
	assert_int_equal(kc_client_publish(c, "orders", "m1", 2, &r, &off),
			 KC_CLIENT_OK);
	assert_int_equal(r.status, KC_STATUS_OK);
	assert_true(off == 41);
	assert_int_equal(kc_client_publish(c, "orders", "m2", 2, &r, &off),
			 KC_CLIENT_OK);
	assert_true(off == 42);

	assert_int_equal(kc_client_fetch(c, "orders", 41, 0, &r, &fr),
			 KC_CLIENT_OK);
	assert_int_equal(fr.count, 2);
	assert_true(fr.first_offset == 41);
	assert_true(fr.next_offset == 43);
	assert_true(fr.end_offset == 44);
	assert_true(kc_fetch_reply_next(&fr, &pos, &m, &ml));
	assert_memory_equal(m, "one", 3);
	assert_true(kc_fetch_reply_next(&fr, &pos, &m, &ml));
	assert_memory_equal(m, "two", 3);
	assert_false(kc_fetch_reply_next(&fr, &pos, &m, &ml));

	assert_int_equal(kc_client_commit(c, "orders", "billing", 43, &r),
			 KC_CLIENT_OK);
	assert_int_equal(r.status, KC_STATUS_OK);
	off = 0;
	assert_int_equal(kc_client_offset(c, "orders", "billing", &r, &off),
			 KC_CLIENT_OK);
	assert_true(off == 43);

	/* Bad names never reach the wire. */
	assert_int_equal(kc_client_publish(c, "bad name", "x", 1, &r, &off),
			 KC_CLIENT_INVALID);
	assert_int_equal(kc_client_fetch(c, "", 0, 0, &r, &fr),
			 KC_CLIENT_INVALID);
	assert_int_equal(kc_client_commit(c, "q", "a/b", 0, &r),
			 KC_CLIENT_INVALID);
	assert_int_equal(kc_client_offset(c, "q", NULL, &r, &off),
			 KC_CLIENT_INVALID);
	assert_int_equal(kc_client_call(c, KC_OP_PING, NULL, 1, &r),
			 KC_CLIENT_INVALID);
	assert_int_equal(kc_client_call(c, KC_OP_PING, "x",
					KC_PAYLOAD_MAX + 1, &r),
			 KC_CLIENT_INVALID);

	/* An unknown op comes back as a REPLY with UNKNOWN_OP. */
	assert_int_equal(kc_client_call(c, 99, NULL, 0, &r), KC_CLIENT_OK);
	assert_int_equal(r.status, KC_STATUS_UNKNOWN_OP);
	kc_client_close(c);
	fake_stop(f);
	assert_int_equal(f->nseen, 6);
}

static void test_retry_resends_identical_bytes(void **state)
{
	struct fake *f = fake_start(FAKE_DROP_FIRST);
	struct kc_client *c = client_for(f->port, 100, 2);
	static struct kc_reply r;
	uint64_t off = 0;
	struct kc_hdr h0;

	(void)state;
	assert_int_equal(kc_client_publish(c, "orders", "once", 4, &r, &off),
			 KC_CLIENT_OK);
	assert_int_equal(r.attempts, 2);
	assert_true(off == 41);
	kc_client_close(c);
	fake_stop(f);

	assert_int_equal(f->nseen, 2);
	assert_int_equal(f->seen_len[0], f->seen_len[1]);
	assert_memory_equal(f->seen[0], f->seen[1], f->seen_len[0]);
	assert_int_equal(kc_hdr_decode(f->seen[0], f->seen_len[0], &h0),
			 KC_PARSE_OK);
	assert_memory_equal(h0.msg_id, r.hdr.msg_id, KC_MSG_ID_LEN);
}

static void test_bad_reply_tag(void **state)
{
	struct fake *f = fake_start(FAKE_BAD_TAG);
	struct kc_client *c = client_for(f->port, 50, 1);
	static struct kc_reply r;
	uint64_t off = 0;

	(void)state;
	assert_int_equal(kc_client_publish(c, "orders", "x", 1, &r, &off),
			 KC_CLIENT_BAD_REPLY_AUTH);
	assert_int_equal(r.attempts, 2);
	kc_client_close(c);
	fake_stop(f);
	assert_int_equal(f->nseen, 2);
}

static void test_timeout_silent_server(void **state)
{
	uint16_t port;
	int fd = bind_loopback(&port); /* bound, never read */
	struct kc_client *c = client_for(port, 50, 2);
	static struct kc_reply r;
	uint64_t t0;
	uint64_t dt;

	(void)state;
	t0 = mono_ms();
	assert_int_equal(kc_client_ping(c, "x", 1, &r), KC_CLIENT_TIMEOUT);
	dt = mono_ms() - t0;
	assert_int_equal(r.attempts, 3);
	assert_true(dt >= 150);
	/* An upper bound only against waiting for ever: the attempts say
	 * how many there were; a busy machine may be slow to wake us. */
	assert_true(dt < 5000);
	assert_int_equal(kc_client_errno(c), 0);
	/* The request's id is still reported. */
	assert_int_equal(kc_msg_id_client(r.hdr.msg_id), FAKE_CLIENT_ID);
	kc_client_close(c);
	close(fd);
}

static void test_timeout_zero_retries(void **state)
{
	uint16_t port;
	int fd = bind_loopback(&port);
	struct kc_client *c = client_for(port, 50, 0);
	static struct kc_reply r;
	uint64_t t0 = mono_ms();

	(void)state;
	assert_int_equal(kc_client_ping(c, NULL, 0, &r), KC_CLIENT_TIMEOUT);
	assert_int_equal(r.attempts, 1);
	assert_true(mono_ms() - t0 < 5000); /* see test_timeout_silent_server */
	kc_client_close(c);
	close(fd);
}

static void test_timeout_port_unreachable(void **state)
{
	uint16_t port;
	int fd = bind_loopback(&port);
	struct kc_client *c;
	static struct kc_reply r;
	uint64_t t0;
	uint64_t dt;

	(void)state;
	close(fd); /* nothing listens: ICMP port unreachable on loopback */
	c = client_for(port, 50, 2);
	t0 = mono_ms();
	assert_int_equal(kc_client_ping(c, NULL, 0, &r), KC_CLIENT_TIMEOUT);
	dt = mono_ms() - t0;
	assert_int_equal(r.attempts, 3);
	assert_true(dt >= 150);
	/* An upper bound only against waiting for ever: the attempts say
	 * how many there were; a busy machine may be slow to wake us. */
	assert_true(dt < 5000);
	assert_int_equal(kc_client_errno(c), ECONNREFUSED);
	kc_client_close(c);
}

static void test_stale_reply_ignored(void **state)
{
	struct fake *f = fake_start(FAKE_STALE_FIRST);
	struct kc_client *c = client_for(f->port, 200, 0);
	static struct kc_reply r;
	uint64_t off = 0;

	(void)state;
	assert_int_equal(kc_client_publish(c, "orders", "x", 1, &r, &off),
			 KC_CLIENT_OK);
	assert_int_equal(r.attempts, 1);
	assert_true(off == 41); /* not the stale reply's 9 */
	kc_client_close(c);
	fake_stop(f);
}

static void test_error_status_passed_through(void **state)
{
	struct fake *f = fake_start(FAKE_QUEUE_FULL);
	struct kc_client *c = client_for(f->port, 200, 2);
	static struct kc_reply r;
	static const char reason[] = "queue orders holds 16384 messages";
	uint64_t off = 12345;

	(void)state;
	assert_int_equal(kc_client_publish(c, "orders", "x", 1, &r, &off),
			 KC_CLIENT_OK);
	assert_int_equal(r.status, KC_STATUS_QUEUE_FULL);
	assert_int_equal(r.payload_len, strlen(reason));
	assert_memory_equal(r.payload, reason, strlen(reason));
	assert_true(off == 12345); /* untouched */
	kc_client_close(c);
	fake_stop(f);
}

static void test_malformed_replies(void **state)
{
	struct fake *f = fake_start(FAKE_WRONG_OP);
	struct kc_client *c = client_for(f->port, 200, 0);
	static struct kc_reply r;

	(void)state;
	assert_int_equal(kc_client_ping(c, NULL, 0, &r), KC_CLIENT_BAD_REPLY);
	kc_client_close(c);
	fake_stop(f);

	f = fake_start(FAKE_COMMIT_BODY);
	c = client_for(f->port, 200, 0);
	assert_int_equal(kc_client_commit(c, "q", "c", 1, &r),
			 KC_CLIENT_BAD_REPLY);
	kc_client_close(c);
	fake_stop(f);
}

static void test_open_errors(void **state)
{
	struct kc_client_opts o;
	char err[256];

	(void)state;
	memset(&o, 0, sizeof(o));
	o.client_id = 1;
	o.server = "127.0.0.1:0";
	assert_null(kc_client_open(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "bad port"));
	o.server = "127.0.0.1:65536";
	assert_null(kc_client_open(&o, err, sizeof(err)));
	o.server = "127.0.0.1:x";
	assert_null(kc_client_open(&o, err, sizeof(err)));
	o.server = "[::1";
	assert_null(kc_client_open(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "]"));
	o.server = ":60000";
	assert_null(kc_client_open(&o, err, sizeof(err)));
	o.server = "";
	assert_null(kc_client_open(&o, err, sizeof(err)));
	o.server = "127.0.0.1";
	o.client_id = 0;
	assert_null(kc_client_open(&o, err, sizeof(err)));
	o.client_id = 1;
	o.retries = 1000;
	assert_null(kc_client_open(&o, err, sizeof(err)));
	o.retries = 0;
	o.timeout_ms = 3600000;
	assert_null(kc_client_open(&o, err, sizeof(err)));
	o.timeout_ms = 0; /* default 1000 */
	{
		struct kc_client *c = kc_client_open(&o, err, sizeof(err));

		assert_non_null(c); /* port defaults to 60000 */
		kc_client_close(c);
	}
	kc_client_close(NULL);
	assert_string_equal(kc_client_err_text(KC_CLIENT_TIMEOUT), "no reply");
}

static void test_key_from_file(void **state)
{
	struct kc_client_opts o;
	char err[256];

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(kc_client_key_from_file(&o, KC_SOURCE_DIR
						 "/config/dev.keys",
						 0, err, sizeof(err)),
			 0);
	assert_int_equal(o.client_id, KC_DEV_CLIENT_ID);
	assert_memory_equal(o.key, kc_dev_key, KC_KEY_LEN);
	memset(&o, 0, sizeof(o));
	assert_int_equal(kc_client_key_from_file(&o, KC_SOURCE_DIR
						 "/config/dev.keys",
						 1, err, sizeof(err)),
			 0);
	assert_int_equal(o.client_id, 1);
	/* The second development client (kcctl -c 2). */
	assert_int_equal(kc_client_key_from_file(&o, KC_SOURCE_DIR
						 "/config/dev.keys",
						 KC_DEV_CLIENT_ID_2, err,
						 sizeof(err)),
			 0);
	assert_int_equal(o.client_id, KC_DEV_CLIENT_ID_2);
	assert_memory_equal(o.key, kc_dev_key_2, KC_KEY_LEN);
	assert_int_equal(kc_client_key_from_file(&o, KC_SOURCE_DIR
						 "/config/dev.keys",
						 3, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "no key for client 3"));
	assert_int_equal(kc_client_key_from_file(&o, "/nonexistent.keys", 0,
						 err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "cannot open"));
}

static void test_ledger_wrappers(void **state)
{
	static const uint64_t coins[] = { 7, 9, 11 };
	static const uint64_t parts[] = { 20, 30 };
	struct fake *f = fake_start(FAKE_NORMAL);
	struct kc_client *c = client_for(f->port, 200, 2);
	static struct kc_reply r;
	struct kc_coin_info info;
	struct kc_audit a;
	uint64_t v = 0;
	uint32_t n = 0;

	(void)state;
	/* TRANSFER: the coins reach the wire in order; the hop seq back. */
	assert_int_equal(kc_client_transfer(c, 77, 2, coins, 3, &r, &v),
			 KC_CLIENT_OK);
	assert_int_equal(r.status, KC_STATUS_OK);
	assert_int_equal(r.hdr.op, KC_OP_TRANSFER);
	assert_true(v == 503);
	assert_int_equal(f->transfer.from, 77);
	assert_int_equal(f->transfer.to, 2);
	assert_int_equal(f->transfer.count, 3);
	assert_memory_equal(f->transfer_coins, coins, sizeof(coins));

	assert_int_equal(kc_client_mint(c, 2, 50, 4, &r, &v), KC_CLIENT_OK);
	assert_true(v == 100);
	assert_int_equal(kc_client_split(c, 7, parts, 2, &r, &v),
			 KC_CLIENT_OK);
	assert_true(v == 200);
	assert_int_equal(kc_client_balance(c, 2, &r, &v, &n), KC_CLIENT_OK);
	assert_true(v == 2000);
	assert_int_equal(n, 3);
	assert_int_equal(kc_client_coin(c, 9, &r, &info), KC_CLIENT_OK);
	assert_true(info.coin == 9);
	assert_int_equal(info.owner, 2);
	assert_int_equal(info.state, KC_COIN_LIVE);
	assert_true(info.last_hop_seq == 1004);
	assert_int_equal(kc_client_audit(c, &r, &a), KC_CLIENT_OK);
	assert_true(a.ok);
	assert_true(a.live_sum == 100);

	/* The fake answers MERGE and BURN with UNKNOWN_OP: passed through,
	 * and the out-argument untouched. */
	v = 12345;
	assert_int_equal(kc_client_merge(c, coins, 2, &r, &v), KC_CLIENT_OK);
	assert_int_equal(r.status, KC_STATUS_UNKNOWN_OP);
	assert_int_equal(kc_client_burn(c, 7, &r, &v), KC_CLIENT_OK);
	assert_int_equal(r.status, KC_STATUS_UNKNOWN_OP);
	assert_true(v == 12345);

	/* A list the encoder cannot take never reaches the wire. */
	assert_int_equal(kc_client_transfer(c, 77, 2, NULL, 1, &r, &v),
			 KC_CLIENT_INVALID);
	assert_int_equal(kc_client_merge(c, NULL, 2, &r, &v),
			 KC_CLIENT_INVALID);
	kc_client_close(c);
	fake_stop(f);
	assert_int_equal(f->nseen, 8);
	assert_int_equal(f->bad_auth, 0);
}

static void test_trail_pages(void **state)
{
	struct fake *f = fake_start(FAKE_NORMAL);
	struct kc_client *c = client_for(f->port, 200, 2);
	static struct kc_reply r;
	struct kc_trail_reply tr;
	uint32_t skip = 0;
	uint32_t seen = 0;
	uint32_t pages = 0;

	(void)state;
	/* Page through the way kcctl does, oldest hop first. */
	do {
		uint16_t i;

		assert_int_equal(kc_client_trail(c, 42, skip, &r, &tr),
				 KC_CLIENT_OK);
		assert_int_equal(r.status, KC_STATUS_OK);
		assert_int_equal(tr.total, FAKE_TRAIL_HOPS);
		assert_int_equal(tr.first, skip);
		assert_true(tr.count > 0);
		assert_ptr_equal(tr.hops, r.payload + KC_TRAIL_REPLY_FIXED);
		for (i = 0; i < tr.count; i++) {
			struct kc_hop h;
			struct kc_hop want;

			kc_dec_hop(tr.hops + (size_t)i * KC_HOP_WIRE_LEN, &h);
			fake_hop(&want, 42, seen);
			assert_true(h.seq == want.seq);
			assert_true(h.time_ns == want.time_ns);
			assert_true(h.coin == 42);
			assert_true(h.denomination == want.denomination);
			assert_int_equal(h.from, want.from);
			assert_int_equal(h.to, want.to);
			assert_int_equal(h.kind, want.kind);
			seen++;
		}
		skip = tr.first + tr.count;
		pages++;
	} while (skip < tr.total);
	assert_int_equal(seen, FAKE_TRAIL_HOPS);
	assert_int_equal(pages, 3);

	/* Past the end: an empty page. */
	assert_int_equal(kc_client_trail(c, 42, 99, &r, &tr), KC_CLIENT_OK);
	assert_int_equal(tr.first, FAKE_TRAIL_HOPS);
	assert_int_equal(tr.count, 0);
	kc_client_close(c);
	fake_stop(f);
}

static void test_ledger_malformed_replies(void **state)
{
	static const uint64_t parts[] = { 20, 30 };
	struct fake *f = fake_start(FAKE_BAD_LEDGER);
	struct kc_client *c = client_for(f->port, 200, 0);
	static struct kc_reply r;
	struct kc_trail_reply tr;
	struct kc_audit a;
	uint64_t v = 0;

	(void)state;
	/* A page running past its total, a short AUDIT, and MINT and SPLIT
	 * replies with one coin more than asked for. */
	assert_int_equal(kc_client_trail(c, 42, 0, &r, &tr),
			 KC_CLIENT_BAD_REPLY);
	assert_int_equal(r.status, KC_STATUS_OK);
	assert_int_equal(kc_client_audit(c, &r, &a), KC_CLIENT_BAD_REPLY);
	assert_int_equal(kc_client_mint(c, 2, 50, 4, &r, &v),
			 KC_CLIENT_BAD_REPLY);
	assert_int_equal(kc_client_split(c, 7, parts, 2, &r, &v),
			 KC_CLIENT_BAD_REPLY);
	assert_true(v == 0);
	kc_client_close(c);
	fake_stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_ok),
		cmocka_unit_test(test_publish_fetch_commit_offset),
		cmocka_unit_test(test_retry_resends_identical_bytes),
		cmocka_unit_test(test_bad_reply_tag),
		cmocka_unit_test(test_timeout_silent_server),
		cmocka_unit_test(test_timeout_zero_retries),
		cmocka_unit_test(test_timeout_port_unreachable),
		cmocka_unit_test(test_stale_reply_ignored),
		cmocka_unit_test(test_error_status_passed_through),
		cmocka_unit_test(test_malformed_replies),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_key_from_file),
		cmocka_unit_test(test_ledger_wrappers),
		cmocka_unit_test(test_trail_pages),
		cmocka_unit_test(test_ledger_malformed_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
