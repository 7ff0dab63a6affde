/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-itest: the integration tests' client, over real kernel sockets.
 *
 *   kc-itest publish-concurrent SERVER QUEUE TOTAL CLIENTS
 *     CLIENTS threads, each with its own kc_client, publish TOTAL messages
 *     between them to QUEUE (which must be new), then everything is fetched
 *     back from offset 0: no loss, no duplicate, each client's messages in
 *     the order it sent them, offsets dense.
 *   kc-itest sequence SERVER PREFIX
 *     A fixed mix of requests; prints one normalised line per REPLY so two
 *     runs (run-to-completion, pipeline) can be compared with diff.
 *   kc-itest garbage SERVER IFACE COUNT
 *     Bad input of every class over UDP and, through an AF_PACKET socket on
 *     IFACE, malformed IPv4 frames; then COUNT datagrams of random garbage as
 *     fast as the socket takes them. Authenticated bad requests must get
 *     their error status back.
 *
 * Exit status 0 when every check held; the last line says what was checked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kc_auth.h"
#include "kc_client.h"
#include "kc_itest_net.h"
#include "kc_proto.h"

static const char *server;

static struct kc_client *open_client(uint32_t timeout_ms)
{
	struct kc_client_opts o = {
		.server = server,
		.client_id = KC_DEV_CLIENT_ID,
		.timeout_ms = timeout_ms,
		.retries = 5,
	};
	struct kc_client *c;
	char err[256];

	memcpy(o.key, kc_dev_key, KC_KEY_LEN);
	c = kc_client_open(&o, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "kc-itest: %s\n", err);
		exit(2);
	}
	return c;
}

struct pub_arg {
	const char *queue;
	uint32_t client;
	uint32_t count;
	uint32_t failed;
};

static void *publisher(void *arg)
{
	struct pub_arg *a = arg;
	struct kc_client *c = open_client(500);
	struct kc_reply *r = malloc(sizeof(*r));
	char msg[64];

	for (uint32_t i = 0; i < a->count; i++) {
		uint64_t off;
		int n = snprintf(msg, sizeof(msg), "client-%u-msg-%u",
				 a->client, i);

		if (kc_client_publish(c, a->queue, msg, (size_t)n, r, &off) !=
			    KC_CLIENT_OK ||
		    r->status != KC_STATUS_OK)
			a->failed++;
	}
	free(r);
	kc_client_close(c);
	return NULL;
}

/*
 * Every message QUEUE holds, in order, from its first retained offset
 * (*base; what every registered consumer consumed is trimmed): *n strings,
 * message i at offset *base + i. A queue that does not exist is empty.
 */
static char **fetch_all(const char *queue, uint64_t *base, uint64_t *n)
{
	struct kc_client *c = open_client(1000);
	struct kc_reply *r = malloc(sizeof(*r));
	uint64_t cap = 0, offset = 0;
	char **at = NULL;

	*base = 0;
	*n = 0;
	for (;;) {
		struct kc_fetch_reply fr;
		const uint8_t *m;
		uint32_t pos = 0, len;
		enum kc_client_err e;

		/* Patient: on a loaded machine (a long crash run beside other
		 * work) a FETCH went unanswered for its 5 tries, or was
		 * answered EXPIRED when its message id had aged past a
		 * one-second replay window (tap-retention.yaml), and every
		 * message after it counted as lost. A read is sent again with
		 * a new message id (docs/protocol.md, EXPIRED). */
		for (int again = 0; again < 6; again++) {
			e = kc_client_fetch(c, queue, offset, 0, r, &fr);
			if (e != KC_CLIENT_TIMEOUT && (e != KC_CLIENT_OK ||
			    r->status != KC_STATUS_EXPIRED))
				break;
		}
		if (e != KC_CLIENT_OK || r->status != KC_STATUS_OK) {
			CHECK(e == KC_CLIENT_OK &&
			      r->status == KC_STATUS_NOT_FOUND && offset == 0,
			      "fetch at %llu failed (%s)",
			      (unsigned long long)offset, e != KC_CLIENT_OK ?
			      "no answer" : kc_status_name(r->status));
			break;
		}
		if (*n == 0)
			*base = fr.first_offset;
		CHECK(fr.first_offset == *base + *n, "fetch at %llu started at "
		      "%llu", (unsigned long long)offset,
		      (unsigned long long)fr.first_offset);
		while (kc_fetch_reply_next(&fr, &pos, &m, &len)) {
			if (*n == cap) {
				cap = cap ? 2 * cap : 1024;
				at = realloc(at, cap * sizeof(*at));
			}
			at[(*n)++] = strndup((const char *)m, len);
		}
		if (fr.count == 0 || fr.next_offset >= fr.end_offset)
			break;
		offset = fr.next_offset;
	}
	kc_client_close(c);
	free(r);
	return at;
}

static void free_all(char **at, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		free(at[i]);
	free(at);
}

static int publish_concurrent(const char *queue, uint32_t total,
			      uint32_t clients)
{
	pthread_t th[64];
	struct pub_arg args[64];
	uint32_t *next = calloc(clients, sizeof(uint32_t));
	uint64_t base, seen;
	char **at;

	if (clients == 0 || clients > 64 || next == NULL)
		return 2;
	for (uint32_t t = 0; t < clients; t++) {
		args[t] = (struct pub_arg){ queue, t, total / clients +
			(t < total % clients ? 1 : 0), 0 };
		pthread_create(&th[t], NULL, publisher, &args[t]);
	}
	for (uint32_t t = 0; t < clients; t++) {
		pthread_join(th[t], NULL);
		CHECK(args[t].failed == 0, "client %u: %u publishes failed", t,
		      args[t].failed);
	}

	at = fetch_all(queue, &base, &seen);
	CHECK(base == 0, "the queue starts at %llu", (unsigned long long)base);
	for (uint64_t o = 0; o < seen; o++) {
		unsigned int cl, i;

		if (sscanf(at[o], "client-%u-msg-%u", &cl, &i) != 2 ||
		    cl >= clients) {
			CHECK(0, "offset %llu: unexpected message '%s'",
			      (unsigned long long)o, at[o]);
			continue;
		}
		CHECK(i == next[cl], "offset %llu: client %u message %u, "
		      "expected %u (loss, duplicate or reorder)",
		      (unsigned long long)o, cl, i, next[cl]);
		next[cl] = i + 1;
	}
	free_all(at, seen);
	CHECK(seen == total, "fetched %llu messages, published %u",
	      (unsigned long long)seen, total);
	for (uint32_t t = 0; t < clients; t++)
		CHECK(next[t] == args[t].count, "client %u: %u of %u fetched",
		      t, next[t], args[t].count);
	free(next);
	printf("publish-concurrent: %u messages from %u clients fetched back "
	       "in order: %d checks, %d failed\n", total, clients, checks,
	       failures);
	return failures == 0 ? 0 : 1;
}

static void print_reply(const char *what, enum kc_client_err e,
			const struct kc_reply *r)
{
	printf("%s: ", what);
	if (e != KC_CLIENT_OK) {
		printf("client error %s\n", kc_client_err_text(e));
		return;
	}
	printf("%s", kc_status_name(r->status));
	for (uint32_t i = 0; i < r->payload_len; i++)
		printf("%s%02x", i == 0 ? " " : "", r->payload[i]);
	printf("\n");
}

static int sequence(const char *prefix)
{
	struct kc_client *c = open_client(1000);
	struct kc_reply *r = malloc(sizeof(*r));
	uint8_t p[KC_PAYLOAD_MAX];
	char q[64], what[96], msg[64];

	for (int i = 0; i < 120; i++) {
		size_t n;
		int k = i % 4;

		snprintf(q, sizeof(q), "%s-%d", prefix, k);
		if (i < 80) {
			n = kc_enc_publish(p, sizeof(p), q, msg,
				(size_t)snprintf(msg, sizeof(msg), "m%d", i));
			snprintf(what, sizeof(what), "%d publish %d", i, k);
			print_reply(what, kc_client_call(c, KC_OP_PUBLISH, p,
							 n, r), r);
		} else if (i < 100) {
			n = kc_enc_fetch(p, sizeof(p), q, (uint64_t)(i - 80),
					 3);
			snprintf(what, sizeof(what), "%d fetch %d", i, k);
			print_reply(what, kc_client_call(c, KC_OP_FETCH, p, n,
							 r), r);
		} else if (i < 108) {
			n = kc_enc_commit(p, sizeof(p), q, "cons",
					  (uint64_t)(i - 100) * 3);
			snprintf(what, sizeof(what), "%d commit %d", i, k);
			print_reply(what, kc_client_call(c, KC_OP_COMMIT, p,
							 n, r), r);
		} else if (i < 112) {
			n = kc_enc_offset(p, sizeof(p), q, "cons");
			snprintf(what, sizeof(what), "%d offset %d", i, k);
			print_reply(what, kc_client_call(c, KC_OP_OFFSET, p,
							 n, r), r);
		} else if (i < 116) {
			snprintf(what, sizeof(what), "%d ping", i);
			print_reply(what, kc_client_call(c, KC_OP_PING, what,
							 strlen(what), r), r);
		} else {
			snprintf(what, sizeof(what), "%d op 77", i);
			print_reply(what, kc_client_call(c, 77, "x", 1, r), r);
		}
	}
	kc_client_close(c);
	free(r);
	return 0;
}

/* A signed request datagram, for tampering. */
/* A signed REQUEST datagram of the dev client, its message id of time
 * id_ms and sequence seq. */
static size_t make_request(uint8_t *buf, uint8_t op, const void *payload,
			   size_t len, uint64_t id_ms, uint64_t seq)
{
	struct kc_key key;
	struct kc_hdr h = {
		.magic = KC_PROTO_MAGIC, .version = KC_PROTO_VERSION,
		.type = KC_TYPE_REQUEST, .op = op,
		.client_id = KC_DEV_CLIENT_ID, .payload_len = (uint32_t)len,
	};

	kc_key_init(&key, KC_DEV_CLIENT_ID, kc_dev_key, "dev");
	kc_msg_id_make(h.msg_id, id_ms, KC_DEV_CLIENT_ID, seq);
	kc_hdr_encode(buf, &h);
	memcpy(buf + KC_HDR_LEN, payload, len);
	kc_auth_sign(&key, buf, KC_HDR_LEN + len);
	return KC_HDR_LEN + len;
}

static int udp_socket(struct sockaddr_in *dst)
{
	char host[64];
	char *colon;
	int fd;

	snprintf(host, sizeof(host), "%s", server);
	colon = strchr(host, ':');
	memset(dst, 0, sizeof(*dst));
	dst->sin_family = AF_INET;
	dst->sin_port = htons(colon ? (uint16_t)atoi(colon + 1) :
			      KC_UDP_PORT_DEFAULT);
	if (colon)
		*colon = '\0';
	if (inet_pton(AF_INET, host, &dst->sin_addr) != 1) {
		fprintf(stderr, "kc-itest: bad address %s\n", host);
		exit(2);
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)dst, sizeof(*dst)) < 0) {
		perror("kc-itest: udp socket");
		exit(2);
	}
	return fd;
}

static void send_udp(int fd, const void *buf, size_t len)
{
	/* ECONNREFUSED from an earlier ICMP error is expected noise. */
	if (send(fd, buf, len, 0) < 0 && errno != ECONNREFUSED)
		perror("kc-itest: send");
}

/* Malformed IPv4 frames through AF_PACKET: the kernel would not build them. */
static void raw_frames(const char *iface, const struct sockaddr_in *dst)
{
	struct sockaddr_ll sll = { 0 };
	uint8_t frame[128];
	uint8_t dmac[6];
	unsigned int b[6];
	char line[256], ip[32];
	FILE *arp;
	int fd, found = 0;

	/* The appliance's MAC, as the kernel learnt it by ARP. */
	inet_ntop(AF_INET, &dst->sin_addr, ip, sizeof(ip));
	arp = fopen("/proc/net/arp", "r");
	while (arp != NULL && fgets(line, sizeof(line), arp) != NULL) {
		char a[32], mac[32];

		if (sscanf(line, "%31s %*s %*s %31s", a, mac) == 2 &&
		    strcmp(a, ip) == 0 &&
		    sscanf(mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2],
			   &b[3], &b[4], &b[5]) == 6) {
			for (int i = 0; i < 6; i++)
				dmac[i] = (uint8_t)b[i];
			found = 1;
		}
	}
	if (arp != NULL)
		fclose(arp);
	CHECK(found, "no ARP entry for %s: the appliance never answered ARP",
	      ip);
	if (!found)
		return;
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("kc-itest: AF_PACKET");
		failures++;
		return;
	}
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(iface);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, dmac, 6);

	/* No runt here: the kernel refuses to send a frame shorter than an
	 * Ethernet header (EINVAL); tests/unit/test_pkt.c covers runts. */
	for (int kind = 0; kind < 3; kind++) {
		memset(frame, 0, sizeof(frame));
		memcpy(frame, dmac, 6);
		frame[6] = 0x02;
		frame[12] = 0x08; /* IPv4 */
		frame[14] = 0x45;
		frame[16] = 0; frame[17] = 60;	/* total length 60 */
		frame[22] = 64; frame[23] = 17;	/* TTL, UDP */
		memcpy(frame + 30, &dst->sin_addr, 4);
		switch (kind) {
		case 0: /* total length larger than the frame */
			frame[16] = 0x05;
			break;
		case 1: /* header checksum left zero: wrong */
			break;
		case 2: /* IPv4 with options */
			frame[14] = 0x47;
			break;
		}
		if (sendto(fd, frame, 74, 0,
			   (struct sockaddr *)&sll, sizeof(sll)) < 0)
			perror("kc-itest: sendto raw");
	}
	close(fd);
}

static int garbage(const char *iface, uint32_t count)
{
	struct kc_client *c = open_client(1000);
	struct kc_reply *r = malloc(sizeof(*r));
	uint8_t buf[2048], big[KC_MSG_MAX + 1];
	struct sockaddr_in dst;
	enum kc_client_err e;
	size_t n;
	int fd = udp_socket(&dst);

	/* Unauthenticated or malformed: dropped and counted, no reply. */
	send_udp(fd, "KC", 2);					/* short */
	n = make_request(buf, KC_OP_PING, "x", 1, 1, 1);
	buf[0] = 'X';
	send_udp(fd, buf, n);					/* magic */
	n = make_request(buf, KC_OP_PING, "x", 1, 1, 2);
	buf[KC_OFF_VERSION] = 9;
	send_udp(fd, buf, n);					/* version */
	n = make_request(buf, KC_OP_PING, "x", 1, 1, 3);
	kc_put_u32(buf + KC_OFF_PAYLOAD_LEN, 1000);
	send_udp(fd, buf, n);				/* length > datagram */
	n = make_request(buf, KC_OP_PING, "x", 1, 1, 4);
	buf[KC_OFF_TAG] ^= 1;
	send_udp(fd, buf, n);					/* bad tag */
	n = make_request(buf, KC_OP_PING, "x", 1, 1, 5);
	kc_put_u32(buf + KC_OFF_CLIENT_ID, 4242);
	send_udp(fd, buf, n);				/* unknown client */
	/* No IP fragments here: DPDK's AF_PACKET PMD asks the kernel to
	 * reassemble them (PACKET_FANOUT_FLAG_DEFRAG); test_tap.sh sends
	 * fragments over TAP, which delivers them as they are. */

	/* Authenticated but bad: answered with an error status. */
	e = kc_client_call(c, 123, "x", 1, r);
	CHECK(e == KC_CLIENT_OK && r->status == KC_STATUS_UNKNOWN_OP,
	      "unknown op: %s / %s", kc_client_err_text(e),
	      kc_status_name(r->status));
	e = kc_client_call(c, KC_OP_FETCH, "\x40q", 2, r);
	CHECK(e == KC_CLIENT_OK && r->status == KC_STATUS_BAD_REQUEST,
	      "malformed fetch: %s / %s", kc_client_err_text(e),
	      kc_status_name(r->status));
	memset(big, 'g', sizeof(big));
	n = kc_enc_publish(buf, sizeof(buf), "garbage-q", big, sizeof(big));
	e = kc_client_call(c, KC_OP_PUBLISH, buf, n, r);
	CHECK(e == KC_CLIENT_OK && r->status == KC_STATUS_TOO_LARGE,
	      "oversize message: %s / %s", kc_client_err_text(e),
	      kc_status_name(r->status));

	if (iface != NULL && strcmp(iface, "-") != 0)
		raw_frames(iface, &dst);

	/* Random garbage as fast as the socket takes it, in bursts of 256:
	 * a pause of 1 ms between them keeps the kernel's own per-CPU
	 * backlog (1000 frames) from overflowing on the way to the
	 * appliance, so every datagram sent reaches it and must be counted. */
	for (uint32_t i = 0; i < count; i++) {
		size_t len = 1 + (i * 7919u) % 1400u;

		if (i % 256 == 255)
			usleep(1000);

		if (getrandom(buf, len, 0) != (ssize_t)len)
			break;
		/* Half of them look like KCP at first glance. */
		if (i & 1) {
			buf[0] = 0x4b;
			buf[1] = 0x43;
			buf[2] = KC_PROTO_VERSION;
		}
		send_udp(fd, buf, len);
	}

	/* The good client is still served. */
	e = kc_client_ping(c, "still-there", 11, r);
	CHECK(e == KC_CLIENT_OK && r->status == KC_STATUS_OK,
	      "ping after garbage: %s", kc_client_err_text(e));
	close(fd);
	kc_client_close(c);
	free(r);
	printf("garbage: bad input of every class sent, %u random datagrams: "
	       "%d checks, %d failed\n", count, checks, failures);
	return failures == 0 ? 0 : 1;
}

/* ---- idempotency ------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A signed PUBLISH whose message id has the time given. */
static size_t make_publish(uint8_t *buf, const char *queue, const char *msg,
			   uint64_t id_ms, uint64_t seq)
{
	uint8_t p[KC_PAYLOAD_MAX];
	size_t n = kc_enc_publish(p, sizeof(p), queue, msg, strlen(msg));

	return make_request(buf, KC_OP_PUBLISH, p, n, id_ms, seq);
}

static uint16_t reply_status(const uint8_t *rep)
{
	return kc_get_u16(rep + KC_OFF_STATUS);
}

/*
 * The same PUBLISH datagram sent COUNT times: every REPLY byte-identical,
 * status OK, the queue holding it once. With FILE, the datagram is kept
 * there, and a FILE that exists is sent again as it is (after a restart:
 * the recovered index must still know it). Then message ids outside the
 * window, old and ahead of the clock, are refused with EXPIRED.
 */
static int idempotent(const char *queue, uint32_t count, const char *file)
{
	static uint8_t req[KC_DATAGRAM_MAX], first[KC_DATAGRAM_MAX],
		rep[KC_DATAGRAM_MAX];
	struct sockaddr_in dst;
	struct kc_client *c = open_client(1000);
	struct kc_reply *r = malloc(sizeof(*r));
	struct kc_fetch_reply fr;
	ssize_t first_len = -1;
	size_t len = 0;
	uint32_t same = 0;
	FILE *f = file ? fopen(file, "rb") : NULL;
	int fd = udp_socket(&dst);

	if (f != NULL) {
		len = fread(req, 1, sizeof(req), f);
		fclose(f);
	} else {
		len = make_publish(req, queue, "exactly once", now_ms(),
				   (uint64_t)getpid());
		f = file ? fopen(file, "wb") : NULL;
		if (f != NULL) {
			fwrite(req, 1, len, f);
			fclose(f);
		}
	}
	for (uint32_t i = 0; i < count; i++) {
		ssize_t n = kc_itest_exchange(fd, req, len, rep, sizeof(rep));

		CHECK(n > 0, "attempt %u: no REPLY", i);
		if (n <= 0)
			continue;
		if (first_len < 0) {
			first_len = n;
			memcpy(first, rep, (size_t)n);
			CHECK(reply_status(rep) == KC_STATUS_OK,
			      "first REPLY: %s", kc_status_name(reply_status(rep)));
		}
		if (n == first_len && memcmp(rep, first, (size_t)n) == 0)
			same++;
	}
	CHECK(same == count, "%u of %u REPLYs identical to the first", same,
	      count);
	CHECK(kc_client_fetch(c, queue, 0, 0, r, &fr) == KC_CLIENT_OK &&
	      r->status == KC_STATUS_OK && fr.end_offset == 1,
	      "queue %s should hold the message once, holds %llu", queue,
	      (unsigned long long)fr.end_offset);

	/* Outside the window: refused, not executed. */
	len = make_publish(req, queue, "too old", now_ms() - 3600 * 1000, 1);
	CHECK(kc_itest_exchange(fd, req, len, rep, sizeof(rep)) > 0 &&
	      reply_status(rep) == KC_STATUS_EXPIRED,
	      "an hour-old message id: %s", kc_status_name(reply_status(rep)));
	len = make_publish(req, queue, "from the future",
			   now_ms() + 3600 * 1000, 2);
	CHECK(kc_itest_exchange(fd, req, len, rep, sizeof(rep)) > 0 &&
	      reply_status(rep) == KC_STATUS_EXPIRED,
	      "a message id an hour ahead: %s",
	      kc_status_name(reply_status(rep)));
	CHECK(kc_client_fetch(c, queue, 0, 0, r, &fr) == KC_CLIENT_OK &&
	      fr.end_offset == 1, "refused requests were executed");
	close(fd);
	kc_client_close(c);
	free(r);
	printf("idempotent: one PUBLISH sent %u times: %d checks, %d failed\n",
	       count, checks, failures);
	return failures == 0 ? 0 : 1;
}

/*
 * Reads sent again (journal.reads, docs/protocol.md): the same PING, FETCH
 * of QUEUE from offset 0 and OFFSET of QUEUE's consumer "reader", each
 * datagram COUNT times: every one answered OK, every answer to a datagram
 * byte-identical to its first (nothing changed the queue in between).
 */
static int read_retry(const char *queue, uint32_t count)
{
	static uint8_t req[KC_DATAGRAM_MAX], first[KC_DATAGRAM_MAX],
		rep[KC_DATAGRAM_MAX];
	uint8_t p[KC_PAYLOAD_MAX];
	const uint8_t ops[] = { KC_OP_PING, KC_OP_FETCH, KC_OP_OFFSET };
	struct sockaddr_in dst;
	int fd = udp_socket(&dst);

	for (size_t k = 0; k < sizeof(ops); k++) {
		size_t n = ops[k] == KC_OP_PING ?
				   (size_t)snprintf((char *)p, sizeof(p), "again") :
			   ops[k] == KC_OP_FETCH ?
				   kc_enc_fetch(p, sizeof(p), queue, 0, 0) :
				   kc_enc_offset(p, sizeof(p), queue, "reader");
		size_t len = make_request(req, ops[k], p, n, now_ms(),
					  (uint64_t)getpid() + k);
		ssize_t first_len = -1;
		uint32_t same = 0;

		for (uint32_t i = 0; i < count; i++) {
			ssize_t got = kc_itest_exchange(fd, req, len, rep,
							sizeof(rep));

			CHECK(got > 0 && reply_status(rep) == KC_STATUS_OK,
			      "%s, try %u: %s", kc_op_name(ops[k]), i,
			      got > 0 ? kc_status_name(reply_status(rep)) :
					"no REPLY");
			if (got <= 0)
				continue;
			if (first_len < 0) {
				first_len = got;
				memcpy(first, rep, (size_t)got);
			}
			if (got == first_len &&
			    memcmp(rep, first, (size_t)got) == 0)
				same++;
		}
		CHECK(same == count, "%s: %u of %u REPLYs identical to the "
		      "first", kc_op_name(ops[k]), same, count);
	}
	close(fd);
	printf("read-retry: PING, FETCH and OFFSET each sent %u times: %d "
	       "checks, %d failed\n", count, checks, failures);
	return failures == 0 ? 0 : 1;
}

/* ---- crash test -------------------------------------------------------- */

struct crash_arg {
	const char *queue;
	uint32_t client;
	FILE *log;
	pthread_mutex_t *lock;
	uint32_t acked;
};

/* Publish "RUN-cCLIENT-N" until the appliance stops answering; log each
 * acknowledged one as "OFFSET MESSAGE". Retries (the same message id) go
 * on for 3 s, so some cross the appliance's restart. */
static void *crash_publisher(void *arg)
{
	struct crash_arg *a = arg;
	struct kc_client_opts o = {
		.server = server, .client_id = KC_DEV_CLIENT_ID,
		.timeout_ms = 200, .retries = 15,
	};
	struct kc_reply *r = malloc(sizeof(*r));
	struct kc_client *c;
	char err[256], msg[64];

	memcpy(o.key, kc_dev_key, KC_KEY_LEN);
	c = kc_client_open(&o, err, sizeof(err));
	for (uint32_t i = 0; c != NULL && r != NULL; i++) {
		uint64_t off;
		int n = snprintf(msg, sizeof(msg), "%d-c%u-%u", (int)getpid(),
				 a->client, i);
		enum kc_client_err e = kc_client_publish(c, a->queue, msg,
							 (size_t)n, r, &off);

		/* Nobody answers: the appliance is gone. An error status
		 * (a full queue) ends the run too. */
		if (e != KC_CLIENT_OK || r->status != KC_STATUS_OK)
			break;
		pthread_mutex_lock(a->lock);
		fprintf(a->log, "%llu %s\n", (unsigned long long)off, msg);
		fflush(a->log);
		pthread_mutex_unlock(a->lock);
		a->acked++;
	}
	kc_client_close(c);
	free(r);
	return NULL;
}

static int crash_load(const char *queue, uint32_t clients, const char *log)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct crash_arg args[16];
	pthread_t th[16];
	FILE *f = fopen(log, "a");
	uint32_t acked = 0;

	if (f == NULL || clients == 0 || clients > 16)
		return 2;
	for (uint32_t t = 0; t < clients; t++) {
		args[t] = (struct crash_arg){ queue, t, f, &lock, 0 };
		pthread_create(&th[t], NULL, crash_publisher, &args[t]);
	}
	for (uint32_t t = 0; t < clients; t++) {
		pthread_join(th[t], NULL);
		acked += args[t].acked;
	}
	fclose(f);
	printf("crash-load: %u publishes acknowledged\n", acked);
	return 0;
}

/*
 * A producer and a consumer that keeps up: COUNT messages published to
 * QUEUE, the consumer "reader" committing every 100, so the queue is
 * trimmed as it goes and the journal's old segments become deletable.
 */
static int churn(const char *queue, uint32_t count)
{
	struct kc_client *c = open_client(1000);
	struct kc_reply *r = malloc(sizeof(*r));
	uint64_t off = 0;
	char msg[128];

	for (uint32_t i = 0; i < count; i++) {
		int n = snprintf(msg, sizeof(msg), "churn-%u-", i);

		memset(msg + n, 'c', 100 - (size_t)n);
		if (kc_client_publish(c, queue, msg, 100, r, &off) !=
			    KC_CLIENT_OK || r->status != KC_STATUS_OK) {
			CHECK(0, "publish %u: %s", i, kc_status_name(r->status));
			break;
		}
		if (i % 100 == 99 &&
		    (kc_client_commit(c, queue, "reader", off + 1, r) !=
			     KC_CLIENT_OK || r->status != KC_STATUS_OK)) {
			CHECK(0, "commit %llu: %s", (unsigned long long)off + 1,
			      kc_status_name(r->status));
			break;
		}
	}
	kc_client_close(c);
	free(r);
	printf("churn: %u messages through %s, last offset %llu: %d checks, "
	       "%d failed\n", count, queue, (unsigned long long)off, checks,
	       failures);
	return failures == 0 ? 0 : 1;
}

struct tag {
	int pid;
	int cl;
	unsigned int k;
	uint64_t off;
};

static int tag_cmp(const void *x, const void *y)
{
	const struct tag *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->cl != b->cl)
		return a->cl < b->cl ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

/*
 * Publish 90-byte messages "PID-c0-N-xxx..." to QUEUE until a REPLY is not
 * OK (or 200,000 of them); log the acknowledged ones like crash-load, and
 * say what stopped it: "stopped by STORAGE_FULL".
 */
static int fill(const char *queue, const char *log)
{
	struct kc_client *c = open_client(1000);
	struct kc_reply *r = malloc(sizeof(*r));
	FILE *f = fopen(log, "a");
	const char *why = "the count";
	uint32_t acked = 0;
	char msg[96];

	if (f == NULL || r == NULL)
		return 2;
	for (uint32_t i = 0; i < 200000; i++) {
		uint64_t off;
		int n = snprintf(msg, sizeof(msg), "%d-c0-%u-", (int)getpid(),
				 i);
		enum kc_client_err e;

		memset(msg + n, 'x', 90 - (size_t)n);
		msg[90] = '\0';
		e = kc_client_publish(c, queue, msg, 90, r, &off);
		if (e != KC_CLIENT_OK) {
			why = kc_client_err_text(e);
			break;
		}
		if (r->status != KC_STATUS_OK) {
			why = kc_status_name(r->status);
			break;
		}
		fprintf(f, "%llu %s\n", (unsigned long long)off, msg);
		acked++;
	}
	fclose(f);
	kc_client_close(c);
	free(r);
	printf("fill: %u acknowledged, stopped by %s\n", acked, why);
	return 0;
}

/*
 * Every acknowledged message is at its offset; no message is in the queue
 * twice; each load run's messages of one client are in the order sent.
 */
static int crash_verify(const char *queue, const char *log)
{
	char **at, line[128];
	struct tag *tags = NULL;
	uint64_t n, acked = 0, base, trimmed = 0;
	FILE *f = fopen(log, "r");

	at = fetch_all(queue, &base, &n);
	/* Acknowledged ones are where the REPLY said. */
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		unsigned long long off;
		char msg[96];

		if (sscanf(line, "%llu %95s", &off, msg) != 2)
			continue;
		acked++;
		if (off < base) {
			trimmed++; /* consumed by every consumer: gone */
			continue;
		}
		off -= base;
		CHECK(off < n && strcmp(at[off], msg) == 0,
		      "acknowledged '%s' at offset %llu: %s", msg, off,
		      off < n ? at[off] : "past the end");
	}
	if (f != NULL)
		fclose(f);
	/* No duplicate, no reorder within a run and client: sorted by run,
	 * client and offset, the message numbers must rise. */
	for (uint64_t i = 0; i < n; i++) {
		if (i == 0)
			tags = calloc(n, sizeof(*tags));
		tags[i].off = i;
		if (sscanf(at[i], "%d-c%d-%u", &tags[i].pid, &tags[i].cl,
			   &tags[i].k) != 3)
			CHECK(0, "offset %llu: unexpected '%s'",
			      (unsigned long long)i, at[i]);
	}
	if (n != 0)
		qsort(tags, n, sizeof(*tags), tag_cmp);
	for (uint64_t i = 1; i < n; i++)
		if (tags[i].pid == tags[i - 1].pid &&
		    tags[i].cl == tags[i - 1].cl)
			CHECK(tags[i].k > tags[i - 1].k, "offsets %llu and %llu:"
			      " '%s' then '%s' (duplicate or reorder)",
			      (unsigned long long)tags[i - 1].off,
			      (unsigned long long)tags[i].off,
			      at[tags[i - 1].off], at[tags[i].off]);
	free(tags);
	free_all(at, n);
	printf("crash-verify: %llu messages in %s from offset %llu, %llu "
	       "acknowledged (%llu of them consumed and trimmed): %d checks, "
	       "%d failed\n", (unsigned long long)n, queue,
	       (unsigned long long)base, (unsigned long long)acked,
	       (unsigned long long)trimmed, checks, failures);
	return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "publish-concurrent") == 0) {
		server = argv[2];
		return publish_concurrent(argv[3],
			(uint32_t)strtoul(argv[4], NULL, 0),
			(uint32_t)strtoul(argv[5], NULL, 0));
	}
	if (argc >= 4 && strcmp(argv[1], "sequence") == 0) {
		server = argv[2];
		return sequence(argv[3]);
	}
	if (argc >= 5 && strcmp(argv[1], "garbage") == 0) {
		server = argv[2];
		return garbage(argv[3], (uint32_t)strtoul(argv[4], NULL, 0));
	}
	if (argc >= 5 && strcmp(argv[1], "idempotent") == 0) {
		server = argv[2];
		return idempotent(argv[3], (uint32_t)strtoul(argv[4], NULL, 0),
				  argc >= 6 ? argv[5] : NULL);
	}
	if (argc >= 5 && strcmp(argv[1], "read-retry") == 0) {
		server = argv[2];
		return read_retry(argv[3], (uint32_t)strtoul(argv[4], NULL, 0));
	}
	if (argc >= 6 && strcmp(argv[1], "crash-load") == 0) {
		server = argv[2];
		return crash_load(argv[3], (uint32_t)strtoul(argv[4], NULL, 0),
				  argv[5]);
	}
	if (argc >= 5 && strcmp(argv[1], "churn") == 0) {
		server = argv[2];
		return churn(argv[3], (uint32_t)strtoul(argv[4], NULL, 0));
	}
	if (argc >= 5 && strcmp(argv[1], "fill") == 0) {
		server = argv[2];
		return fill(argv[3], argv[4]);
	}
	if (argc >= 5 && strcmp(argv[1], "crash-verify") == 0) {
		server = argv[2];
		return crash_verify(argv[3], argv[4]);
	}
	fprintf(stderr,
		"usage: kc-itest publish-concurrent SERVER QUEUE TOTAL CLIENTS\n"
		"       kc-itest idempotent SERVER QUEUE COUNT [FILE]\n"
		"       kc-itest read-retry SERVER QUEUE COUNT\n"
		"       kc-itest crash-load SERVER QUEUE CLIENTS LOGFILE\n"
		"       kc-itest crash-verify SERVER QUEUE LOGFILE\n"
		"       kc-itest fill SERVER QUEUE LOGFILE\n"
		"       kc-itest churn SERVER QUEUE COUNT\n"
		"       kc-itest sequence SERVER PREFIX\n"
		"       kc-itest garbage SERVER IFACE|- COUNT\n");
	return 2;
}
