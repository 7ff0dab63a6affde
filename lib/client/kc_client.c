/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * KCP client over a kernel UDP socket (kc_client.h).
 *
 * Choices written down here because the header leaves them open:
 * - opts.retries is taken as given (0 means a single send); kcctl's default
 *   is 2. opts.timeout_ms 0 means 1000 ms. Both are capped (see below) so a
 *   typo cannot make a call hang for days.
 * - Message ids: kc_msg_id_make(CLOCK_REALTIME ms, client id, seq), where
 *   seq is a 48-bit counter starting at a random value (getrandom), so two
 *   processes using the same client id in the same millisecond still differ.
 * - A datagram that is not a REPLY to our current message id is ignored
 *   (stale replies of earlier calls, strays). A REPLY with our id whose tag
 *   does not verify is remembered and ignored: if nothing valid arrives, the
 *   call returns KC_CLIENT_BAD_REPLY_AUTH rather than KC_CLIENT_TIMEOUT.
 * - ECONNREFUSED (an ICMP port unreachable for an earlier send) is handled
 *   like a lost datagram; after KC_CLIENT_TIMEOUT, kc_client_errno() returns
 *   ECONNREFUSED if one was seen during the call (0 otherwise) so the caller
 *   can say that nothing listens on that port.
 * - On every outcome but KC_CLIENT_INVALID, reply->hdr holds the header of
 *   the REQUEST (so its message id can be reported) until a REPLY replaces
 *   it, and reply->attempts counts the sends made.
 */
#include "kc_client.h"
#include "kc_client_priv.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define KC_CLIENT_TIMEOUT_DEFAULT_MS 1000u
#define KC_CLIENT_TIMEOUT_MAX_MS 600000u /* ten minutes per attempt */
#define KC_CLIENT_RETRIES_MAX 100u
#define KC_CLIENT_HOST_MAX 256u
#define KC_SEQ_MASK ((UINT64_C(1) << 48) - 1u)


/* Split "HOST", "HOST:PORT", "[V6]" or "[V6]:PORT"; a bare IPv6 literal
 * (two or more colons, no brackets) is taken as a host with no port. */
static int split_server(const char *server, char *host, size_t host_len,
			char *port, size_t port_len, char *err, size_t err_len)
{
	const char *colon;
	const char *h;
	size_t hn;
	const char *pt = NULL;

	if (server == NULL || server[0] == '\0') {
		snprintf(err, err_len, "no server address given");
		return -1;
	}
	if (server[0] == '[') {
		const char *close = strchr(server, ']');

		if (close == NULL) {
			snprintf(err, err_len, "%s: missing ']'", server);
			return -1;
		}
		h = server + 1;
		hn = (size_t)(close - h);
		if (close[1] == ':')
			pt = close + 2;
		else if (close[1] != '\0') {
			snprintf(err, err_len, "%s: expected ':PORT' after ']'",
				 server);
			return -1;
		}
	} else {
		colon = strchr(server, ':');
		h = server;
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			hn = (size_t)(colon - server);
			pt = colon + 1;
		} else {
			hn = strlen(server);
		}
	}
	if (hn == 0 || hn >= host_len) {
		snprintf(err, err_len, "%s: bad host name", server);
		return -1;
	}
	memcpy(host, h, hn);
	host[hn] = '\0';

	if (pt == NULL) {
		snprintf(port, port_len, "%u", KC_UDP_PORT_DEFAULT);
	} else {
		char *e;
		unsigned long v;

		errno = 0;
		v = strtoul(pt, &e, 10);
		if (pt[0] < '0' || pt[0] > '9' || *e != '\0' || errno != 0 ||
		    v == 0 || v > 65535) {
			snprintf(err, err_len, "%s: bad port '%s' (1..65535)",
				 server, pt);
			return -1;
		}
		snprintf(port, port_len, "%lu", v);
	}
	return 0;
}

static int connect_server(const char *server, char *err, size_t err_len)
{
	char host[KC_CLIENT_HOST_MAX];
	char port[8];
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	struct addrinfo *ai;
	int fd = -1;
	int last_errno = 0;
	int rc;

	if (split_server(server, host, sizeof(host), port, sizeof(port), err,
			 err_len) != 0)
		return -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
		/* AI_ADDRCONFIG hides loopback-only hosts; ask again. */
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc != 0) {
		snprintf(err, err_len, "%s: cannot resolve '%s': %s", server,
			 host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		last_errno = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, err_len, "%s: cannot connect a UDP socket: %s",
			 server, strerror(last_errno));
	return fd;
}

struct kc_client *kc_client_open(const struct kc_client_opts *o, char *err,
				 size_t err_len)
{
	struct kc_client *c;
	uint64_t seq;
	ssize_t n;

	if (o == NULL) {
		snprintf(err, err_len, "no client options");
		return NULL;
	}
	if (o->client_id == 0) {
		snprintf(err, err_len, "client id 0 is not allowed");
		return NULL;
	}
	if (o->timeout_ms > KC_CLIENT_TIMEOUT_MAX_MS) {
		snprintf(err, err_len, "timeout %u ms above the limit of %u ms",
			 o->timeout_ms, KC_CLIENT_TIMEOUT_MAX_MS);
		return NULL;
	}
	if (o->retries > KC_CLIENT_RETRIES_MAX) {
		snprintf(err, err_len, "%u retries above the limit of %u",
			 o->retries, KC_CLIENT_RETRIES_MAX);
		return NULL;
	}
	do {
		n = getrandom(&seq, sizeof(seq), 0);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(seq)) {
		snprintf(err, err_len, "getrandom: %s",
			 n < 0 ? strerror(errno) : "short read");
		return NULL;
	}

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, err_len, "out of memory for a client");
		return NULL;
	}
	c->fd = connect_server(o->server, err, err_len);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	c->client_id = o->client_id;
	c->timeout_ms = o->timeout_ms != 0 ? o->timeout_ms
					   : KC_CLIENT_TIMEOUT_DEFAULT_MS;
	c->retries = o->retries;
	c->seq = seq & KC_SEQ_MASK;
	kc_key_init(&c->key, o->client_id, o->key, NULL);
	return c;
}

void kc_client_close(struct kc_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->svc);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

int kc_client_key_from_file(struct kc_client_opts *o, const char *path,
			    uint32_t client_id, char *err, size_t err_len)
{
	struct kc_keyring *kr;
	const struct kc_key *k;

	kr = kc_keyring_load(path, err, err_len);
	if (kr == NULL)
		return -1;
	if (client_id != 0) {
		k = kc_keyring_find(kr, client_id);
		if (k == NULL) {
			snprintf(err, err_len, "%s: no key for client %u", path,
				 client_id);
			kc_keyring_free(kr);
			return -1;
		}
	} else {
		/* The keyring is sorted, so its first entry is the lowest
		 * client id; a client's own keys file holds just one. */
		k = &kr->keys[0];
	}
	o->client_id = k->client_id;
	memcpy(o->key, k->key, KC_KEY_LEN);
	kc_keyring_free(kr);
	return 0;
}

uint64_t kc_client_now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Send the datagram; a pending ECONNREFUSED from an earlier send is
 * reported by this send and the datagram not sent, so send once more. */
static int send_request(struct kc_client *c, size_t len, bool *refused)
{
	int tries;

	for (tries = 0; tries < 3; tries++) {
		ssize_t n = send(c->fd, c->tx, len, 0);

		if (n == (ssize_t)len)
			return 0;
		if (n >= 0) {
			c->errno_value = EMSGSIZE;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == ECONNREFUSED) {
			*refused = true;
			continue;
		}
		if (errno == EAGAIN || errno == ENOBUFS)
			return 0; /* like a datagram lost on the way */
		c->errno_value = errno;
		return -1;
	}
	return 0; /* refused every time: counts as a lost datagram */
}

enum rx_outcome {
	RX_NONE,     /* nothing for us; keep waiting */
	RX_REPLY,    /* our REPLY, verified */
	RX_BAD_AUTH, /* our message id, but the tag does not verify */
	RX_BAD,	     /* our REPLY, verified, but malformed */
};

static enum rx_outcome check_datagram(struct kc_client *c, size_t n,
				      const struct kc_hdr *req,
				      struct kc_hdr *h)
{
	if (n > KC_DATAGRAM_MAX)
		return RX_NONE;
	if (kc_hdr_decode(c->rx, n, h) != KC_PARSE_OK)
		return RX_NONE;
	if (h->type != KC_TYPE_REPLY ||
	    memcmp(h->msg_id, req->msg_id, KC_MSG_ID_LEN) != 0 ||
	    h->client_id != req->client_id)
		return RX_NONE;
	if (!kc_auth_verify(&c->key, c->rx, n))
		return RX_BAD_AUTH;
	if (h->op != req->op)
		return RX_BAD;
	return RX_REPLY;
}

enum kc_client_err kc_client_call(struct kc_client *c, uint8_t op,
				  const void *payload, size_t len,
				  struct kc_reply *reply)
{
	struct kc_hdr req;
	uint32_t attempt;
	uint64_t sent_ns = 0;
	bool refused = false;
	bool bad_auth = false;
	size_t msg_len;

	if (c == NULL || reply == NULL || len > KC_PAYLOAD_MAX ||
	    (payload == NULL && len > 0))
		return KC_CLIENT_INVALID;

	memset(&req, 0, sizeof(req));
	req.magic = KC_PROTO_MAGIC;
	req.version = KC_PROTO_VERSION;
	req.type = KC_TYPE_REQUEST;
	req.op = op;
	req.flags = 0;
	req.status = 0;
	c->seq = (c->seq + 1u) & KC_SEQ_MASK;
	kc_msg_id_make(req.msg_id, kc_client_now_ns(CLOCK_REALTIME) / 1000000u,
		       c->client_id, c->seq);
	req.client_id = c->client_id;
	req.payload_len = (uint32_t)len;
	kc_hdr_encode(c->tx, &req);
	if (len > 0)
		memcpy(c->tx + KC_HDR_LEN, payload, len);
	msg_len = KC_HDR_LEN + len;
	kc_auth_sign(&c->key, c->tx, msg_len);
	memcpy(req.tag, c->tx + KC_OFF_TAG, KC_TAG_LEN);

	reply->hdr = req;
	reply->status = 0;
	reply->attempts = 0;
	reply->rtt_us = 0;
	reply->payload_len = 0;
	c->errno_value = 0;

	for (attempt = 0; attempt <= c->retries; attempt++) {
		uint64_t deadline_ns;

		/* Retransmit exactly the same bytes: same id, same tag. */
		if (send_request(c, msg_len, &refused) != 0)
			return KC_CLIENT_SYSTEM;
		reply->attempts = attempt + 1u;
		sent_ns = kc_client_now_ns(CLOCK_MONOTONIC);
		deadline_ns = sent_ns + (uint64_t)c->timeout_ms * 1000000u;

		for (;;) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
			uint64_t t = kc_client_now_ns(CLOCK_MONOTONIC);
			uint64_t left_ms;
			struct kc_hdr h;
			ssize_t n;
			int rc;

			if (t >= deadline_ns)
				break;
			/* Round up so we never spin on a sub-ms remainder. */
			left_ms = (deadline_ns - t + 999999u) / 1000000u;
			rc = poll(&pfd, 1, (int)left_ms);
			if (rc < 0) {
				if (errno == EINTR)
					continue;
				c->errno_value = errno;
				return KC_CLIENT_SYSTEM;
			}
			if (rc == 0)
				break;

			n = recv(c->fd, c->rx, sizeof(c->rx),
				 MSG_DONTWAIT | MSG_TRUNC);
			if (n < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				if (errno == ECONNREFUSED) {
					refused = true;
					continue;
				}
				c->errno_value = errno;
				return KC_CLIENT_SYSTEM;
			}

			switch (check_datagram(c, (size_t)n, &req, &h)) {
			case RX_NONE:
				/* A service's next call, come early. */
				kc_client_keep_delivery(c, (size_t)n);
				continue;
			case RX_BAD_AUTH:
				bad_auth = true;
				continue;
			case RX_BAD:
				reply->hdr = h;
				reply->status = h.status;
				return KC_CLIENT_BAD_REPLY;
			case RX_REPLY:
				break;
			}
			reply->hdr = h;
			reply->status = h.status;
			reply->rtt_us =
				(kc_client_now_ns(CLOCK_MONOTONIC) - sent_ns) / 1000u;
			reply->payload_len = h.payload_len;
			memcpy(reply->payload, c->rx + KC_HDR_LEN,
			       h.payload_len);
			return KC_CLIENT_OK;
		}
	}
	if (bad_auth)
		return KC_CLIENT_BAD_REPLY_AUTH;
	c->errno_value = refused ? ECONNREFUSED : 0;
	return KC_CLIENT_TIMEOUT;
}

enum kc_client_err kc_client_ping(struct kc_client *c, const void *data,
				  size_t len, struct kc_reply *reply)
{
	return kc_client_call(c, KC_OP_PING, data, len, reply);
}

/*
 * The common head of the wrappers: send the payload an encoder made (n == 0:
 * the encoder refused its arguments) and say whether there is an OK REPLY
 * to decode; if not, *e is what the wrapper returns.
 */
static bool call_ok(struct kc_client *c, uint8_t op, const uint8_t *p,
		    size_t n, struct kc_reply *reply, enum kc_client_err *e)
{
	if (n == 0) {
		*e = KC_CLIENT_INVALID;
		return false;
	}
	*e = kc_client_call(c, op, p, n, reply);
	return *e == KC_CLIENT_OK && reply->status == KC_STATUS_OK;
}

static enum kc_client_err decoded(bool ok)
{
	return ok ? KC_CLIENT_OK : KC_CLIENT_BAD_REPLY;
}

/* For the ops whose OK REPLY is one u64 (PUBLISH, OFFSET, and the ledger's
 * TRANSFER, MERGE, BURN). */
static enum kc_client_err call_u64(struct kc_client *c, uint8_t op,
				   const uint8_t *p, size_t n,
				   struct kc_reply *reply, uint64_t *v)
{
	enum kc_client_err e;

	if (!call_ok(c, op, p, n, reply, &e))
		return e;
	return decoded(kc_dec_u64_reply(reply->payload, reply->payload_len, v));
}

enum kc_client_err kc_client_publish(struct kc_client *c, const char *queue,
				     const void *msg, size_t len,
				     struct kc_reply *reply, uint64_t *offset)
{
	uint8_t p[KC_PAYLOAD_MAX];

	return call_u64(c, KC_OP_PUBLISH, p,
			kc_enc_publish(p, sizeof(p), queue, msg, len), reply,
			offset);
}

enum kc_client_err kc_client_fetch(struct kc_client *c, const char *queue,
				   uint64_t offset, uint16_t max,
				   struct kc_reply *reply,
				   struct kc_fetch_reply *fr)
{
	uint8_t p[KC_PAYLOAD_MAX];
	enum kc_client_err e;

	if (!call_ok(c, KC_OP_FETCH, p,
		     kc_enc_fetch(p, sizeof(p), queue, offset, max), reply, &e))
		return e;
	/* fr->records points into reply->payload. */
	return decoded(kc_dec_fetch_reply(reply->payload, reply->payload_len,
					  fr));
}

enum kc_client_err kc_client_commit(struct kc_client *c, const char *queue,
				    const char *consumer, uint64_t offset,
				    struct kc_reply *reply)
{
	uint8_t p[KC_PAYLOAD_MAX];
	enum kc_client_err e;

	if (!call_ok(c, KC_OP_COMMIT, p,
		     kc_enc_commit(p, sizeof(p), queue, consumer, offset),
		     reply, &e))
		return e;
	/* A COMMIT reply with status OK has an empty payload. */
	return decoded(reply->payload_len == 0);
}

enum kc_client_err kc_client_offset(struct kc_client *c, const char *queue,
				    const char *consumer,
				    struct kc_reply *reply, uint64_t *offset)
{
	uint8_t p[KC_PAYLOAD_MAX];

	return call_u64(c, KC_OP_OFFSET, p,
			kc_enc_offset(p, sizeof(p), queue, consumer), reply,
			offset);
}

/* --- the ledger ---------------------------------------------------------- */

/* MINT and SPLIT: the first new coin, and as many as were asked for. */
static enum kc_client_err call_coins(struct kc_client *c, uint8_t op,
				     const uint8_t *p, size_t n,
				     uint32_t want, struct kc_reply *reply,
				     uint64_t *first)
{
	enum kc_client_err e;
	uint64_t f;
	uint32_t count;

	if (!call_ok(c, op, p, n, reply, &e))
		return e;
	if (!kc_dec_coins_reply(reply->payload, reply->payload_len, &f,
				&count) ||
	    count != want)
		return KC_CLIENT_BAD_REPLY;
	*first = f;
	return KC_CLIENT_OK;
}

enum kc_client_err kc_client_mint(struct kc_client *c, uint32_t account,
				  uint64_t denomination, uint32_t count,
				  struct kc_reply *reply, uint64_t *first)
{
	uint8_t p[KC_PAYLOAD_MAX];

	return call_coins(c, KC_OP_MINT, p,
			  kc_enc_mint(p, sizeof(p), account, denomination,
				      count),
			  count, reply, first);
}

enum kc_client_err kc_client_transfer(struct kc_client *c, uint32_t from,
				      uint32_t to, const uint64_t *coins,
				      uint16_t count, struct kc_reply *reply,
				      uint64_t *seq)
{
	uint8_t p[KC_PAYLOAD_MAX];

	return call_u64(c, KC_OP_TRANSFER, p,
			kc_enc_transfer(p, sizeof(p), from, to, coins, count),
			reply, seq);
}

enum kc_client_err kc_client_split(struct kc_client *c, uint64_t coin,
				   const uint64_t *parts, uint16_t count,
				   struct kc_reply *reply, uint64_t *first)
{
	uint8_t p[KC_PAYLOAD_MAX];

	return call_coins(c, KC_OP_SPLIT, p,
			  kc_enc_split(p, sizeof(p), coin, parts, count),
			  count, reply, first);
}

enum kc_client_err kc_client_merge(struct kc_client *c, const uint64_t *coins,
				   uint16_t count, struct kc_reply *reply,
				   uint64_t *coin)
{
	uint8_t p[KC_PAYLOAD_MAX];

	return call_u64(c, KC_OP_MERGE, p,
			kc_enc_merge(p, sizeof(p), coins, count), reply, coin);
}

enum kc_client_err kc_client_burn(struct kc_client *c, uint64_t coin,
				  struct kc_reply *reply, uint64_t *seq)
{
	uint8_t p[KC_PAYLOAD_MAX];

	return call_u64(c, KC_OP_BURN, p, kc_enc_coin_id(p, sizeof(p), coin),
			reply, seq);
}

enum kc_client_err kc_client_balance(struct kc_client *c, uint32_t account,
				     struct kc_reply *reply,
				     uint64_t *balance, uint32_t *coins)
{
	uint8_t p[KC_PAYLOAD_MAX];
	enum kc_client_err e;

	if (!call_ok(c, KC_OP_BALANCE, p,
		     kc_enc_account(p, sizeof(p), account), reply, &e))
		return e;
	return decoded(kc_dec_balance_reply(reply->payload, reply->payload_len,
					    balance, coins));
}

enum kc_client_err kc_client_coin(struct kc_client *c, uint64_t coin,
				  struct kc_reply *reply,
				  struct kc_coin_info *info)
{
	uint8_t p[KC_PAYLOAD_MAX];
	enum kc_client_err e;

	if (!call_ok(c, KC_OP_COIN, p, kc_enc_coin_id(p, sizeof(p), coin),
		     reply, &e))
		return e;
	return decoded(kc_dec_coin_reply(reply->payload, reply->payload_len,
					 info));
}

enum kc_client_err kc_client_trail(struct kc_client *c, uint64_t coin,
				   uint32_t skip, struct kc_reply *reply,
				   struct kc_trail_reply *tr)
{
	uint8_t p[KC_PAYLOAD_MAX];
	enum kc_client_err e;

	if (!call_ok(c, KC_OP_TRAIL, p, kc_enc_trail(p, sizeof(p), coin, skip),
		     reply, &e))
		return e;
	/* tr->hops points into reply->payload. */
	return decoded(kc_dec_trail_reply(reply->payload, reply->payload_len,
					  tr));
}

enum kc_client_err kc_client_audit(struct kc_client *c,
				   struct kc_reply *reply,
				   struct kc_audit *audit)
{
	enum kc_client_err e;

	/* AUDIT has an empty request payload. */
	e = kc_client_call(c, KC_OP_AUDIT, NULL, 0, reply);
	if (e != KC_CLIENT_OK || reply->status != KC_STATUS_OK)
		return e;
	return decoded(kc_dec_audit_reply(reply->payload, reply->payload_len,
					  audit));
}

enum kc_client_err kc_client_time(struct kc_client *c, struct kc_reply *reply,
				  uint64_t *unix_ns)
{
	enum kc_client_err e;

	/* TIME has an empty request payload. */
	e = kc_client_call(c, KC_OP_TIME, NULL, 0, reply);
	if (e != KC_CLIENT_OK || reply->status != KC_STATUS_OK)
		return e;
	return decoded(kc_dec_u64_reply(reply->payload, reply->payload_len,
					unix_ns));
}

const char *kc_client_err_text(enum kc_client_err e)
{
	switch (e) {
	case KC_CLIENT_OK:
		return "ok";
	case KC_CLIENT_TIMEOUT:
		return "no reply";
	case KC_CLIENT_BAD_REPLY_AUTH:
		return "reply failed authentication";
	case KC_CLIENT_BAD_REPLY:
		return "malformed reply";
	case KC_CLIENT_SYSTEM:
		return "system error";
	case KC_CLIENT_INVALID:
		return "invalid argument";
	}
	return "unknown error";
}

int kc_client_errno(const struct kc_client *c)
{
	return c != NULL ? c->errno_value : 0;
}
