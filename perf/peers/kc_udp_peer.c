/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-udp-peer: a plain Linux UDP server that answers KCP PING and PUBLISH,
 * the kernel-socket baseline of perf/bench's `kernel` suite. The suite sends
 * the same request mix to it and to the appliance over the same veth pair
 * and compares CPU-seconds per request.
 *
 * One thread, one UDP socket, blocking recvmmsg (MSG_WAITFORONE) and
 * sendmmsg in batches of 32: it sleeps when idle, so the CPU time it reports
 * is the cost of the work, not of polling.
 *
 * Per datagram it does what the appliance's RX and worker stages do for a
 * request, with the project's own code (lib/proto, lib/auth) and in the
 * appliance's order (docs/protocol.md, section 7; lib/pipeline/kc_pkt.c
 * kcp_input and lib/pipeline/kc_ops.c kc_ops_execute):
 *   decode and validate the header (kc_hdr_decode), REQUEST with status 0,
 *   find the client's key (kc_keyring_find), verify the tag (the tags of
 *   a recvmmsg batch together, kc_auth_verify_burst, as the appliance
 *   verifies an RX burst's); anything failing is dropped and counted,
 *   never answered. Then the message id must carry the header's client id
 *   (BAD_REQUEST), its time must be inside the replay window
 *   (EXPIRED: older than --window-s, or more than --max-clock-skew-s ahead
 *   of CLOCK_REALTIME, read once per batch like the appliance does per
 *   burst), and the op runs: PING echoes its payload; PUBLISH decodes with
 *   kc_dec_publish and appends the message to a named in-memory queue
 *   (offsets from 0; TOO_LARGE, NO_SPACE, QUEUE_FULL at the same limits as
 *   lib/queue, whose defaults are config/default.yaml's); any other op gets
 *   UNKNOWN_OP. The REPLY is built in place over the request exactly as the
 *   appliance builds it (same header, same payload, same reason texts, so
 *   the same size), signed with the client's key (kc_auth_sign) and sent to
 *   the request's source address.
 *
 * What it does NOT do, compared with the appliance:
 *   - no journal: nothing is written anywhere, so it is compared with the
 *     appliance at `journal.durability: none`, where the appliance still
 *     appends REQUEST and REPLY records to its journal buffer;
 *   - no message-id index (idempotency): a repeated PUBLISH is appended
 *     again, and there is no per-client horizon (kcp_expired_forgotten);
 *   - no FETCH, COMMIT, OFFSET or ledger ops, hence no consumers and no
 *     trimming (a queue nobody commits on is never trimmed in the appliance
 *     either, so PUBLISH behaves the same);
 *   - no Ethernet/IPv4/UDP checks, ARP or ICMP: the kernel does those.
 * The queue store is this file's own: lib/queue is built on rte_hash and
 * rte_malloc and would need the EAL, which a plain kernel-socket server
 * should not start. It keeps lib/queue's rules for PUBLISH (a message is
 * stored whole; count and byte limits per queue; queues created by their
 * first PUBLISH), and every byte of it is allocated and touched before the
 * socket is ready, as the appliance's hugepage memory is.
 *
 * On SIGINT, SIGTERM or after --seconds it prints one JSON object on stdout:
 * the counters, and the CPU time (getrusage: user and system) and wall time
 * it spent from the moment it was ready, so a harness can compute
 * CPU-seconds per request. See usage().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kc_auth.h"
#include "kc_proto.h"

#define PEER_NAME "kc-udp-peer"
#define BATCH 32u
/* Larger than any KCP datagram, so an oversize one is seen as such. */
#define DGRAM_BUF_BYTES 2048u
/* How often a blocked recvmmsg wakes to look at the stop flag: it closes
 * the window between checking the flag and blocking. */
#define IDLE_WAKE_MS 200u
/* The reason texts must fit the buffer after the header. */
_Static_assert(KC_HDR_LEN + KC_ERROR_TEXT_MAX <= DGRAM_BUF_BYTES,
	       "an error REPLY fits the datagram buffer");
_Static_assert(KC_DATAGRAM_MAX < DGRAM_BUF_BYTES,
	       "the buffer holds a datagram one byte too large for KCP");

/*
 * Counters: group, name (the JSON key), description. Each authenticated
 * request is counted once in ANSWERED (by its op) and once in STATUS (by
 * the status of its REPLY); each other datagram once in DROPPED.
 */
#define PEER_COUNTERS(X)                                                      \
	X(TOP, received, "datagrams received")                                \
	X(TOP, requests, "authenticated requests; each one is answered")     \
	X(TOP, replies, "REPLYs the kernel took (sendmmsg)")                 \
	X(TOP, send_failed, "REPLYs sendmmsg refused (not sent)")            \
	X(TOP, queues, "queues created by PUBLISH")                          \
	X(ANSWERED, ping, "PING requests answered")                          \
	X(ANSWERED, publish, "PUBLISH requests answered")                    \
	X(ANSWERED, other, "requests of any other op answered (UNKNOWN_OP)")  \
	X(STATUS, ok, "REPLYs with status OK")                               \
	X(STATUS, bad_request, "BAD_REQUEST: message id of another client, " \
	  "or a malformed PUBLISH")                                          \
	X(STATUS, unknown_op, "UNKNOWN_OP: an op other than PING or PUBLISH") \
	X(STATUS, too_large, "TOO_LARGE: a message above 1343 bytes")        \
	X(STATUS, no_space, "NO_SPACE: a new queue beyond --max-queues")      \
	X(STATUS, queue_full, "QUEUE_FULL: the queue's message or byte "     \
	  "limit")                                                           \
	X(STATUS, expired_old, "EXPIRED: message id older than --window-s")  \
	X(STATUS, expired_ahead, "EXPIRED: message id ahead of the clock by " \
	  "more than --max-clock-skew-s")                                    \
	X(DROPPED, kcp_short, "fewer than 64 bytes")                         \
	X(DROPPED, kcp_magic, "bad magic")                                   \
	X(DROPPED, kcp_version, "bad version")                               \
	X(DROPPED, kcp_type, "bad type, or a REPLY")                         \
	X(DROPPED, kcp_flags, "non-zero flags, or a status in a REQUEST")    \
	X(DROPPED, kcp_length, "payload_len disagrees with the datagram")    \
	X(DROPPED, kcp_too_large, "payload_len above 1408, or a datagram "   \
	  "above 1472 bytes")                                                \
	X(DROPPED, bad_client, "client id not in the keys")                  \
	X(DROPPED, bad_auth, "tag does not verify")

enum peer_group { GRP_TOP, GRP_ANSWERED, GRP_STATUS, GRP_DROPPED };

enum peer_counter {
#define PEER_CTR_ENUM(grp, sym, desc) CTR_##sym,
	PEER_COUNTERS(PEER_CTR_ENUM)
#undef PEER_CTR_ENUM
	CTR_COUNT
};

static const struct {
	enum peer_group group;
	const char *name;
	const char *desc;
} counter_info[CTR_COUNT] = {
#define PEER_CTR_INFO(grp, sym, desc) { GRP_##grp, #sym, desc },
	PEER_COUNTERS(PEER_CTR_INFO)
#undef PEER_CTR_INFO
};

/* Limits: the ranges of config/default.yaml's keys (lib/config). */
#define WINDOW_S_MAX 86400u
#define SKEW_S_MAX 3600u
#define QUEUES_MAX 65536u
#define QUEUE_BYTES_MIN 4096u
#define QUEUE_BYTES_MAX (1u << 30)
#define QUEUE_MSGS_MAX (1u << 24)
#define SECONDS_MAX (7u * 86400u)
_Static_assert(QUEUE_BYTES_MIN >= KC_MSG_MAX,
	       "the longest message fits an empty queue");

struct peer_opts {
	const char *bind_ip;
	uint16_t port;
	const char *keys;	/* NULL: the built-in development keys */
	const char *ready_file;
	uint32_t seconds;	/* 0: until a signal */
	uint32_t window_s;
	uint32_t skew_s;
	uint32_t max_queues;
	uint32_t max_bytes_per_queue;
	uint32_t max_messages_per_queue;
};

/* ---- the queue store ---------------------------------------------------- */

struct peer_msg {
	uint64_t pos;	/* in the queue's arena */
	uint32_t len;
};

struct peer_queue {
	struct kc_name name;
	uint64_t end;	/* offset the next PUBLISH gets */
	uint64_t head;	/* arena bytes used */
	struct peer_msg *msgs;
	uint8_t *arena;
};

struct peer_store {
	uint32_t max_queues;
	uint32_t max_bytes;
	uint32_t max_msgs;
	uint32_t count;
	uint32_t slot_mask;	/* open addressing: slots is a power of 2 */
	int32_t *slots;		/* queue index, -1 when empty */
	struct peer_queue *queues;
	void *block;
	size_t block_bytes;
};

/* FNV-1a over the name; the table is at least twice the queues. */
static uint32_t name_hash(const struct kc_name *n)
{
	uint32_t h = 2166136261u;

	for (uint8_t i = 0; i < n->len; i++) {
		h ^= (uint8_t)n->s[i];
		h *= 16777619u;
	}
	return h;
}

static uint64_t store_bytes(const struct peer_opts *o, uint32_t nslots)
{
	uint64_t per_queue = (uint64_t)o->max_bytes_per_queue +
			     (uint64_t)o->max_messages_per_queue *
				     sizeof(struct peer_msg);

	return (uint64_t)o->max_queues * (per_queue + sizeof(struct peer_queue))
	       + (uint64_t)nslots * sizeof(int32_t);
}

/*
 * Everything is allocated and faulted in here (MAP_POPULATE), so the run
 * pays no page faults for the store. 0, or -1 with the reason on stderr.
 */
static int store_init(struct peer_store *s, const struct peer_opts *o)
{
	uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) *
			(uint64_t)sysconf(_SC_PAGESIZE);
	uint32_t nslots = 8;
	uint64_t bytes;
	uint8_t *p;

	while (nslots < 2u * o->max_queues)
		nslots *= 2u;
	bytes = store_bytes(o, nslots);
	if (bytes > phys / 2u) {
		fprintf(stderr, PEER_NAME ": the queue store would take %" PRIu64
			" bytes (--max-queues %u x (--max-bytes-per-queue %u + "
			"--max-messages-per-queue %u x %zu)), more than half "
			"of this machine's %" PRIu64 " bytes\n", bytes,
			o->max_queues, o->max_bytes_per_queue,
			o->max_messages_per_queue, sizeof(struct peer_msg),
			phys);
		return -1;
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, PEER_NAME ": cannot allocate the queue store "
			"of %" PRIu64 " bytes: %s\n", bytes, strerror(errno));
		return -1;
	}
	memset(s, 0, sizeof(*s));
	s->max_queues = o->max_queues;
	s->max_bytes = o->max_bytes_per_queue;
	s->max_msgs = o->max_messages_per_queue;
	s->slot_mask = nslots - 1u;
	s->block = p;
	s->block_bytes = bytes;
	s->queues = (struct peer_queue *)p;
	p += (uint64_t)o->max_queues * sizeof(struct peer_queue);
	s->slots = (int32_t *)p;
	p += (uint64_t)nslots * sizeof(int32_t);
	memset(s->slots, 0xff, nslots * sizeof(int32_t)); /* all -1 */
	for (uint32_t i = 0; i < o->max_queues; i++) {
		s->queues[i].msgs = (struct peer_msg *)p;
		p += (uint64_t)o->max_messages_per_queue *
		     sizeof(struct peer_msg);
		s->queues[i].arena = p;
		p += o->max_bytes_per_queue;
	}
	return 0;
}

static void store_free(struct peer_store *s)
{
	if (s->block != NULL)
		munmap(s->block, s->block_bytes);
	s->block = NULL;
}

/* The queue of that name, created if new; NULL when max_queues are made. */
static struct peer_queue *store_queue(struct peer_store *s,
				      const struct kc_name *n)
{
	uint32_t i = name_hash(n) & s->slot_mask;
	struct peer_queue *q;

	/* Bounded: the table always has empty slots (twice the queues). */
	while (s->slots[i] >= 0) {
		q = &s->queues[s->slots[i]];
		if (q->name.len == n->len && memcmp(q->name.s, n->s, n->len) == 0)
			return q;
		i = (i + 1u) & s->slot_mask;
	}
	if (s->count >= s->max_queues)
		return NULL;
	q = &s->queues[s->count];
	q->name = *n;
	q->end = 0;
	q->head = 0;
	s->slots[i] = (int32_t)s->count;
	s->count++;
	return q;
}

/* lib/queue's kc_queue_publish for a queue that is never trimmed. */
static enum kc_status store_publish(struct peer_store *s,
				    const struct kc_name *n,
				    const uint8_t *msg, uint32_t len,
				    uint64_t *offset)
{
	struct peer_queue *q;
	struct peer_msg *m;

	if (len > KC_MSG_MAX)
		return KC_STATUS_TOO_LARGE;
	q = store_queue(s, n);
	if (q == NULL)
		return KC_STATUS_NO_SPACE;
	if (q->end >= s->max_msgs || q->head + len > s->max_bytes)
		return KC_STATUS_QUEUE_FULL;
	m = &q->msgs[q->end];
	m->pos = q->head;
	m->len = len;
	memcpy(q->arena + q->head, msg, len);
	q->head += len;
	*offset = q->end++;
	return KC_STATUS_OK;
}

/* ---- requests ---------------------------------------------------------- */

struct peer {
	struct peer_opts o;
	struct kc_keyring *keys;
	struct kc_auth_mb *mb;	/* a batch's tags, checked together */
	struct peer_store store;
	uint64_t now_ms;	/* CLOCK_REALTIME, once per batch */
	uint64_t window_ms;
	uint64_t skew_ms;
	uint64_t c[CTR_COUNT];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * The REPLY's payload and status, in the appliance's words
 * (lib/pipeline/kc_ops.c): the texts are the same, so is the size.
 */
struct peer_result {
	enum kc_status status;
	uint32_t len;
	const char *reason;
};

static void set_error(struct peer_result *r, enum kc_status s,
		      const char *reason)
{
	r->status = s;
	r->reason = reason;
}

static void op_publish(struct peer *p, uint8_t *payload, uint32_t plen,
		       struct peer_result *r)
{
	struct kc_publish_req req;
	uint64_t offset;

	if (kc_dec_publish(payload, plen, &req) != KC_STATUS_OK) {
		set_error(r, KC_STATUS_BAD_REQUEST,
			  "PUBLISH wants a queue name and a message");
		return;
	}
	r->status = store_publish(&p->store, &req.queue, req.msg, req.msg_len,
				  &offset);
	if (r->status == KC_STATUS_OK)
		r->len = (uint32_t)kc_enc_u64_reply(payload, KC_PAYLOAD_MAX,
						    offset);
	else
		r->reason = kc_publish_reason(r->status);
}

/* The replay window of kc_ops.c's outside_window, without the horizon
 * (this peer keeps no message-id index). NULL when acceptable. */
static const char *outside_window(struct peer *p, const uint8_t *msg_id)
{
	uint64_t id_ms = kc_msg_id_time_ms(msg_id);

	if (id_ms + p->window_ms < p->now_ms) {
		p->c[CTR_expired_old]++;
		return "message id is older than the replay window "
		       "(idempotency.window_s)";
	}
	if (id_ms > p->now_ms + p->skew_ms) {
		p->c[CTR_expired_ahead]++;
		return "message id is ahead of the appliance's clock by more "
		       "than idempotency.max_clock_skew_s";
	}
	return NULL;
}

static void count_status(struct peer *p, enum kc_status s)
{
	switch (s) {
	case KC_STATUS_OK:
		p->c[CTR_ok]++;
		break;
	case KC_STATUS_BAD_REQUEST:
		p->c[CTR_bad_request]++;
		break;
	case KC_STATUS_UNKNOWN_OP:
		p->c[CTR_unknown_op]++;
		break;
	case KC_STATUS_TOO_LARGE:
		p->c[CTR_too_large]++;
		break;
	case KC_STATUS_NO_SPACE:
		p->c[CTR_no_space]++;
		break;
	case KC_STATUS_QUEUE_FULL:
		p->c[CTR_queue_full]++;
		break;
	default:
		/* EXPIRED is counted by outside_window, by its reason. */
		break;
	}
}

/* Drop counter of a header that does not decode. */
static enum peer_counter parse_drop(enum kc_parse res)
{
	switch (res) {
	case KC_PARSE_SHORT:
		return CTR_kcp_short;
	case KC_PARSE_BAD_MAGIC:
		return CTR_kcp_magic;
	case KC_PARSE_BAD_VERSION:
		return CTR_kcp_version;
	case KC_PARSE_BAD_TYPE:
		return CTR_kcp_type;
	case KC_PARSE_BAD_FLAGS:
		return CTR_kcp_flags;
	case KC_PARSE_BAD_LENGTH:
		return CTR_kcp_length;
	case KC_PARSE_TOO_LARGE:
	case KC_PARSE_OK:
		break;
	}
	return CTR_kcp_too_large;
}

/*
 * One datagram of len bytes in buf (truncated: it was larger than the
 * buffer): its client's key if its header is a request's and the client is
 * known, else NULL (counted, not answered). The tag is checked next, for
 * the whole batch at once, as the appliance's RX lcore checks a burst.
 */
static const struct kc_key *admit(struct peer *p, const uint8_t *buf,
				  uint32_t len, bool truncated,
				  struct kc_hdr *h)
{
	const struct kc_key *key;
	enum kc_parse res;

	p->c[CTR_received]++;
	if (truncated) {
		p->c[CTR_kcp_too_large]++;
		return NULL;
	}
	res = kc_hdr_decode(buf, len, h);
	if (res != KC_PARSE_OK) {
		p->c[parse_drop(res)]++;
		return NULL;
	}
	if (h->type != KC_TYPE_REQUEST) {
		p->c[CTR_kcp_type]++;
		return NULL;
	}
	if (h->status != 0) {
		p->c[CTR_kcp_flags]++;
		return NULL;
	}
	key = kc_keyring_find(p->keys, h->client_id);
	if (key == NULL)
		p->c[CTR_bad_client]++;
	return key;
}

/* An authenticated request, turned into its REPLY in place; returns the
 * REPLY's length. */
static uint32_t answer(struct peer *p, const struct kc_key *key,
		       const struct kc_hdr *h, uint8_t *buf)
{
	uint8_t *payload = buf + KC_HDR_LEN;
	struct peer_result r = { .status = KC_STATUS_OK };

	/* Authenticated: from here on it is answered. */
	p->c[CTR_requests]++;
	p->c[h->op == KC_OP_PING ? CTR_ping :
	     h->op == KC_OP_PUBLISH ? CTR_publish : CTR_other]++;

	/* kc_ops_execute's order: the id's client, the window, the op. */
	if (kc_msg_id_client(h->msg_id) != key->client_id) {
		set_error(&r, KC_STATUS_BAD_REQUEST,
			  "message id does not carry the header's client id");
	} else if ((r.reason = outside_window(p, h->msg_id)) != NULL) {
		r.status = KC_STATUS_EXPIRED;
	} else if (h->op == KC_OP_PING) {
		r.len = h->payload_len; /* echoed where it is */
	} else if (h->op == KC_OP_PUBLISH) {
		op_publish(p, payload, h->payload_len, &r);
	} else if (kc_op_known(h->op)) {
		set_error(&r, KC_STATUS_UNKNOWN_OP, "operation not "
			  "implemented by kc-udp-peer (PING and PUBLISH only)");
	} else {
		set_error(&r, KC_STATUS_UNKNOWN_OP,
			  "operation not known to this appliance");
	}
	count_status(p, r.status);
	if (r.status != KC_STATUS_OK) {
		size_t n = strlen(r.reason);

		r.len = (uint32_t)(n < KC_ERROR_TEXT_MAX ? n :
				   KC_ERROR_TEXT_MAX);
		memcpy(payload, r.reason, r.len);
	}
	/* kc_ops.c's sign_reply: the REQUEST's header, now a REPLY. */
	buf[KC_OFF_TYPE] = KC_TYPE_REPLY;
	kc_put_u16(buf + KC_OFF_STATUS, (uint16_t)r.status);
	kc_put_u32(buf + KC_OFF_PAYLOAD_LEN, r.len);
	kc_auth_sign(key, buf, KC_HDR_LEN + r.len);
	return KC_HDR_LEN + r.len;
}

/* ---- the socket loop --------------------------------------------------- */

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Send the n REPLYs of out. sendmmsg may take fewer than asked; an error
 * stops it at the datagram that failed, which is counted and skipped, so
 * the loop ends after at most n calls.
 */
static void send_replies(struct peer *p, int fd, struct mmsghdr *out,
			 unsigned int n)
{
	unsigned int done = 0;

	while (done < n) {
		int k = sendmmsg(fd, out + done, n - done, 0);

		if (k > 0) {
			p->c[CTR_replies] += (unsigned int)k;
			done += (unsigned int)k;
		} else if (k < 0 && errno == EINTR) {
			continue;
		} else {
			p->c[CTR_send_failed]++;
			done++;
		}
	}
}

/* Serve until a signal or the deadline (0: none); -1 on a socket error. */
static int serve(struct peer *p, int fd, uint64_t deadline_ns)
{
	static uint8_t bufs[BATCH][DGRAM_BUF_BYTES];
	struct sockaddr_in from[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr in[BATCH], out[BATCH];
	const struct kc_key *keys[BATCH];
	struct kc_hdr hdr[BATCH];
	uint8_t *msgs[BATCH];
	uint32_t lens[BATCH];
	unsigned int idx[BATCH];
	bool ok[BATCH];

	while (!stop_requested) {
		unsigned int nout = 0, nb;
		int n;

		for (unsigned int i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = DGRAM_BUF_BYTES;
			in[i].msg_hdr = (struct msghdr){
				.msg_name = &from[i],
				.msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i],
				.msg_iovlen = 1,
			};
			in[i].msg_len = 0;
		}
		n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
		if (deadline_ns != 0 &&
		    clock_ns(CLOCK_MONOTONIC) >= deadline_ns)
			stop_requested = 1;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			fprintf(stderr, PEER_NAME ": recvmmsg: %s\n",
				strerror(errno));
			return -1;
		}
		p->now_ms = clock_ns(CLOCK_REALTIME) / 1000000u;
		nb = 0;
		for (int i = 0; i < n; i++) {
			const struct kc_key *key = admit(p, bufs[i],
				in[i].msg_len,
				(in[i].msg_hdr.msg_flags & MSG_TRUNC) != 0,
				&hdr[nb]);

			if (key == NULL)
				continue;
			keys[nb] = key;
			msgs[nb] = bufs[i];
			lens[nb] = in[i].msg_len;
			idx[nb++] = (unsigned int)i;
		}
		kc_auth_verify_burst(p->mb, keys, msgs, lens, nb, ok);
		for (unsigned int k = 0; k < nb; k++) {
			unsigned int i = idx[k];

			if (!ok[k]) {
				p->c[CTR_bad_auth]++;
				continue;
			}
			iov[i].iov_len = answer(p, keys[k], &hdr[k], bufs[i]);
			out[nout].msg_hdr = (struct msghdr){
				.msg_name = &from[i],
				.msg_namelen = in[i].msg_hdr.msg_namelen,
				.msg_iov = &iov[i],
				.msg_iovlen = 1,
			};
			out[nout].msg_len = 0;
			nout++;
		}
		if (nout != 0)
			send_replies(p, fd, out, nout);
	}
	return 0;
}

/* ---- start-up and report ----------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PEER_NAME " [options]\n"
"\n"
"A plain Linux UDP server that answers KCP PING and PUBLISH requests the\n"
"way the appliance does (same decode, authentication, replay window and\n"
"REPLY), without a journal: the kernel-socket baseline of perf/bench's\n"
"`kernel` suite. One thread, recvmmsg/sendmmsg in batches of %u.\n"
"\n"
"  -b, --bind IP                   IPv4 address to bind (default 0.0.0.0)\n"
"  -p, --port N                    UDP port (default %u; 0: any free port,\n"
"                                  see --ready-file)\n"
"  -k, --keys FILE                 keys file (\"CLIENT_ID HEX_KEY [NAME]\");\n"
"                                  default: the built-in development keys\n"
"                                  of clients %u and %u\n"
"  -t, --seconds N                 stop after N seconds (default: run until\n"
"                                  SIGINT or SIGTERM)\n"
"      --ready-file PATH           once the socket is bound, write\n"
"                                  \"pid=PID port=PORT\" to PATH\n"
"      --window-s N                replay window, 1..%u (default 60)\n"
"      --max-clock-skew-s N        1..%u (default 30)\n"
"      --max-queues N              1..%u (default 32)\n"
"      --max-bytes-per-queue N     %u..%u (default 1048576)\n"
"      --max-messages-per-queue N  1..%u (default 16384)\n"
"  -h, --help                      this text\n"
"\n"
"The defaults of the last five are config/default.yaml's\n"
"(idempotency.*, queues.*); give the appliance's values to compare.\n"
"\n"
"On exit it prints one JSON object on stdout: wall_s, cpu_user_s and\n"
"cpu_system_s (getrusage, from ready to exit), cpu_s_per_request, and the\n"
"counters, grouped as below (each authenticated request is in one\n"
"\"answered\" and one \"status\" counter, every other datagram in one\n"
"\"dropped\" counter):\n",
		BATCH, KC_UDP_PORT_DEFAULT, KC_DEV_CLIENT_ID,
		KC_DEV_CLIENT_ID_2, WINDOW_S_MAX, SKEW_S_MAX, QUEUES_MAX,
		QUEUE_BYTES_MIN, QUEUE_BYTES_MAX, QUEUE_MSGS_MAX);
	for (unsigned int i = 0; i < CTR_COUNT; i++) {
		static const char *const grp[] = {
			[GRP_TOP] = "",
			[GRP_ANSWERED] = "answered.",
			[GRP_STATUS] = "status.",
			[GRP_DROPPED] = "dropped.",
		};
		char key[64];

		snprintf(key, sizeof(key), "%s%s", grp[counter_info[i].group],
			 counter_info[i].name);
		fprintf(f, "  %-24s %s\n", key, counter_info[i].desc);
	}
	fprintf(f, "\nExit status: 0 after a clean stop, 1 on a runtime "
		"error (cannot bind, ...), 2 on bad arguments.\n");
}

static int parse_u32(const char *s, const char *what, uint32_t min,
		     uint32_t max, uint32_t *v)
{
	unsigned long long x;
	char *end;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    x < min || x > max) {
		fprintf(stderr, PEER_NAME ": bad %s '%s' (%u..%u)\n", what, s,
			min, max);
		return -1;
	}
	*v = (uint32_t)x;
	return 0;
}

enum {
	OPT_READY_FILE = 256, OPT_WINDOW_S, OPT_SKEW_S, OPT_MAX_QUEUES,
	OPT_QUEUE_BYTES, OPT_QUEUE_MSGS,
};

/* 0, 1 after --help, or -1 with the reason on stderr. */
static int parse_args(int argc, char **argv, struct peer_opts *o)
{
	static const struct option longopts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "keys", required_argument, NULL, 'k' },
		{ "seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "ready-file", required_argument, NULL, OPT_READY_FILE },
		{ "window-s", required_argument, NULL, OPT_WINDOW_S },
		{ "max-clock-skew-s", required_argument, NULL, OPT_SKEW_S },
		{ "max-queues", required_argument, NULL, OPT_MAX_QUEUES },
		{ "max-bytes-per-queue", required_argument, NULL,
		  OPT_QUEUE_BYTES },
		{ "max-messages-per-queue", required_argument, NULL,
		  OPT_QUEUE_MSGS },
		{ NULL, 0, NULL, 0 },
	};
	struct in_addr addr;
	uint32_t v;
	int c;

	*o = (struct peer_opts){
		.bind_ip = "0.0.0.0",
		.port = KC_UDP_PORT_DEFAULT,
		.window_s = 60,
		.skew_s = 30,
		.max_queues = 32,
		.max_bytes_per_queue = 1u << 20,
		.max_messages_per_queue = 16384,
	};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":b:p:k:t:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'b':
			if (inet_pton(AF_INET, optarg, &addr) != 1) {
				fprintf(stderr, PEER_NAME ": bad --bind '%s' "
					"(an IPv4 address, A.B.C.D)\n", optarg);
				return -1;
			}
			o->bind_ip = optarg;
			break;
		case 'p':
			if (parse_u32(optarg, "--port", 0, UINT16_MAX, &v) != 0)
				return -1;
			o->port = (uint16_t)v;
			break;
		case 'k':
			o->keys = optarg;
			break;
		case 't':
			if (parse_u32(optarg, "--seconds", 1, SECONDS_MAX,
				      &o->seconds) != 0)
				return -1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case OPT_READY_FILE:
			if (optarg[0] == '\0') {
				fprintf(stderr, PEER_NAME ": --ready-file "
					"wants a path\n");
				return -1;
			}
			o->ready_file = optarg;
			break;
		case OPT_WINDOW_S:
			if (parse_u32(optarg, "--window-s", 1, WINDOW_S_MAX,
				      &o->window_s) != 0)
				return -1;
			break;
		case OPT_SKEW_S:
			if (parse_u32(optarg, "--max-clock-skew-s", 1,
				      SKEW_S_MAX, &o->skew_s) != 0)
				return -1;
			break;
		case OPT_MAX_QUEUES:
			if (parse_u32(optarg, "--max-queues", 1, QUEUES_MAX,
				      &o->max_queues) != 0)
				return -1;
			break;
		case OPT_QUEUE_BYTES:
			if (parse_u32(optarg, "--max-bytes-per-queue",
				      QUEUE_BYTES_MIN, QUEUE_BYTES_MAX,
				      &o->max_bytes_per_queue) != 0)
				return -1;
			break;
		case OPT_QUEUE_MSGS:
			if (parse_u32(optarg, "--max-messages-per-queue", 1,
				      QUEUE_MSGS_MAX,
				      &o->max_messages_per_queue) != 0)
				return -1;
			break;
		case ':':
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				fprintf(stderr, PEER_NAME ": %s wants a "
					"value (--help)\n", argv[optind - 1]);
			else
				fprintf(stderr, PEER_NAME ": -%c wants a "
					"value (--help)\n", optopt);
			return -1;
		default:
			if (optopt != 0)
				fprintf(stderr, PEER_NAME ": unknown option "
					"'-%c' (--help)\n", optopt);
			else
				fprintf(stderr, PEER_NAME ": unknown option "
					"'%s' (--help)\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PEER_NAME ": unexpected argument '%s' "
			"(--help)\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* The keys file, or the two development keys as kcctl and kc-pcap-gen
 * use them without -k. NULL with the reason on stderr. */
static struct kc_keyring *load_keys(const char *path)
{
	struct kc_keyring *kr;
	char err[256];

	if (path != NULL) {
		kr = kc_keyring_load(path, err, sizeof(err));
		if (kr == NULL)
			fprintf(stderr, PEER_NAME ": %s\n", err);
		return kr;
	}
	kr = calloc(1, sizeof(*kr) + 2u * sizeof(struct kc_key));
	if (kr == NULL) {
		fprintf(stderr, PEER_NAME ": cannot allocate the keyring\n");
		return NULL;
	}
	/* Sorted by client id, as kc_keyring_find wants. */
	_Static_assert(KC_DEV_CLIENT_ID < KC_DEV_CLIENT_ID_2,
		       "development keys in client id order");
	kc_key_init(&kr->keys[0], KC_DEV_CLIENT_ID, kc_dev_key, "dev");
	kc_key_init(&kr->keys[1], KC_DEV_CLIENT_ID_2, kc_dev_key_2, "dev2");
	kr->count = 2;
	kr->has_dev_key = true;
	return kr;
}

/* A bound socket, or -1 with the reason on stderr. */
static int open_socket(const struct peer_opts *o, uint16_t *bound_port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(o->port),
	};
	struct timeval tv = {
		.tv_sec = IDLE_WAKE_MS / 1000u,
		.tv_usec = (IDLE_WAKE_MS % 1000u) * 1000u,
	};
	socklen_t len = sizeof(sa);
	int fd;

	(void)inet_pton(AF_INET, o->bind_ip, &sa.sin_addr); /* checked */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, PEER_NAME ": socket: %s\n", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, PEER_NAME ": cannot bind %s:%u: %s\n",
			o->bind_ip, o->port, strerror(errno));
		close(fd);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		fprintf(stderr, PEER_NAME ": socket options: %s\n",
			strerror(errno));
		close(fd);
		return -1;
	}
	*bound_port = ntohs(sa.sin_port);
	return fd;
}

/* Written whole under a temporary name, then renamed: a reader never sees
 * half of it. */
static int write_ready_file(const char *path, uint16_t port)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		fprintf(stderr, PEER_NAME ": --ready-file path too long\n");
		return -1;
	}
	f = fopen(tmp, "w");
	if (f == NULL) {
		fprintf(stderr, PEER_NAME ": cannot write %s: %s\n", tmp,
			strerror(errno));
		return -1;
	}
	fprintf(f, "pid=%ld port=%u\n", (long)getpid(), port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, PEER_NAME ": cannot write %s: %s\n", path,
			strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * The kernel's count of datagrams dropped at this socket (its receive
 * buffer was full): the "drops" column of /proc/net/udp for the socket's
 * inode. -1 when it cannot be read.
 */
static long long socket_drops(int fd)
{
	unsigned long long drops, inode;
	char line[512];
	struct stat st;
	long long found = -1;
	FILE *f;

	if (fstat(fd, &st) != 0)
		return -1;
	f = fopen("/proc/net/udp", "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode
		 * ref pointer drops */
		if (sscanf(line, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu "
			   "%*s %*s %llu", &inode, &drops) == 2 &&
		    inode == (unsigned long long)st.st_ino) {
			found = (long long)drops;
			break;
		}
	}
	fclose(f);
	return found;
}

/* b - a in seconds, exact to the microsecond getrusage counts in. */
static double rusage_diff(struct timeval a, struct timeval b)
{
	int64_t us = ((int64_t)b.tv_sec - (int64_t)a.tv_sec) * 1000000 +
		     ((int64_t)b.tv_usec - (int64_t)a.tv_usec);

	return (double)us / 1e6;
}

/* The final report; 0, or -1 if it could not be written. */
static int report(const struct peer *p, uint16_t port, double wall_s,
		  const struct rusage *r0, const struct rusage *r1,
		  long long drops)
{
	static const char *const groups[] = {
		[GRP_ANSWERED] = "answered",
		[GRP_STATUS] = "status",
		[GRP_DROPPED] = "dropped",
	};
	double user_s = rusage_diff(r0->ru_utime, r1->ru_utime);
	double sys_s = rusage_diff(r0->ru_stime, r1->ru_stime);
	uint64_t requests = p->c[CTR_requests], dropped = 0;
	json_t *o = json_object();
	json_t *sub[GRP_DROPPED + 1] = { NULL };
	int rc;

	if (o == NULL)
		return -1;
	json_object_set_new(o, "tool", json_string(PEER_NAME));
	json_object_set_new(o, "version", json_string(KC_VERSION));
	json_object_set_new(o, "bind", json_string(p->o.bind_ip));
	json_object_set_new(o, "port", json_integer(port));
	json_object_set_new(o, "journal", json_string("none"));
	json_object_set_new(o, "wall_s", json_real(wall_s));
	json_object_set_new(o, "cpu_user_s", json_real(user_s));
	json_object_set_new(o, "cpu_system_s", json_real(sys_s));
	json_object_set_new(o, "cpu_s", json_real(user_s + sys_s));
	json_object_set_new(o, "cpu_s_per_request", requests == 0 ?
			    json_null() :
			    json_real((user_s + sys_s) / (double)requests));
	json_object_set_new(o, "max_rss_kib", json_integer(r1->ru_maxrss));
	/* In the list's order: the top counters, then one object a group. */
	for (unsigned int i = 0; i < CTR_COUNT; i++) {
		enum peer_group g = counter_info[i].group;
		json_t *to = o;

		if (g != GRP_TOP) {
			if (sub[g] == NULL) {
				sub[g] = json_object();
				json_object_set_new(o, groups[g], sub[g]);
			}
			to = sub[g];
		}
		json_object_set_new(to, counter_info[i].name,
				    json_integer((json_int_t)p->c[i]));
		if (g == GRP_DROPPED)
			dropped += p->c[i];
	}
	json_object_set_new(o, "dropped_total",
			    json_integer((json_int_t)dropped));
	json_object_set_new(o, "socket_drops", drops < 0 ? json_null() :
			    json_integer(drops));
	rc = json_dumpf(o, stdout, JSON_PRESERVE_ORDER | JSON_COMPACT |
			    JSON_REAL_PRECISION(9));
	json_decref(o);
	if (rc != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		return -1;
	return 0;
}

/* What the counters promise each other; a failure is a bug here. */
static bool counters_consistent(const struct peer *p)
{
	uint64_t answered = 0, status = 0, dropped = 0;

	for (unsigned int i = 0; i < CTR_COUNT; i++) {
		if (counter_info[i].group == GRP_ANSWERED)
			answered += p->c[i];
		else if (counter_info[i].group == GRP_STATUS)
			status += p->c[i];
		else if (counter_info[i].group == GRP_DROPPED)
			dropped += p->c[i];
	}
	if (answered != p->c[CTR_requests]) {
		fprintf(stderr, PEER_NAME ": BUG: answered %" PRIu64 " != "
			"requests %" PRIu64 "\n", answered, p->c[CTR_requests]);
		return false;
	}
	if (status != p->c[CTR_requests]) {
		fprintf(stderr, PEER_NAME ": BUG: statuses %" PRIu64 " != "
			"requests %" PRIu64 "\n", status, p->c[CTR_requests]);
		return false;
	}
	if (p->c[CTR_requests] + dropped != p->c[CTR_received]) {
		fprintf(stderr, PEER_NAME ": BUG: requests + dropped %" PRIu64
			" != received %" PRIu64 "\n",
			p->c[CTR_requests] + dropped, p->c[CTR_received]);
		return false;
	}
	return true;
}

/* What main set up, in any state of it (each part is NULL until made). */
static void peer_free(struct peer *p)
{
	store_free(&p->store);
	kc_auth_mb_free(p->mb);
	kc_keyring_free(p->keys);
}

int main(int argc, char **argv)
{
	static struct peer p;
	char err[256];
	struct sigaction sa = { .sa_handler = on_signal };
	struct rusage r0, r1;
	uint64_t t0, t1, deadline = 0;
	uint16_t port = 0;
	long long drops;
	int fd, rc;

	rc = parse_args(argc, argv, &p.o);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	p.window_ms = (uint64_t)p.o.window_s * 1000u;
	p.skew_ms = (uint64_t)p.o.skew_s * 1000u;
	p.keys = load_keys(p.o.keys);
	if (p.keys == NULL)
		return 2;
	p.mb = kc_auth_mb_create(err, sizeof(err));
	if (p.mb == NULL) {
		fprintf(stderr, PEER_NAME ": %s\n", err);
		peer_free(&p);
		return 1;
	}
	if (store_init(&p.store, &p.o) != 0) {
		peer_free(&p);
		return 1;
	}
	/* No SA_RESTART: a signal ends a blocked recvmmsg with EINTR. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0) {
		fprintf(stderr, PEER_NAME ": sigaction: %s\n", strerror(errno));
		return 1;
	}
	fd = open_socket(&p.o, &port);
	if (fd < 0) {
		peer_free(&p);
		return 1;
	}
	if (p.o.ready_file != NULL && write_ready_file(p.o.ready_file,
						       port) != 0) {
		close(fd);
		peer_free(&p);
		return 1;
	}
	fprintf(stderr, PEER_NAME ": serving %s:%u (keys: %s, %u clients; "
		"no journal)\n", p.o.bind_ip, port,
		p.o.keys != NULL ? p.o.keys : "built-in development keys",
		p.keys->count);

	getrusage(RUSAGE_SELF, &r0);
	t0 = clock_ns(CLOCK_MONOTONIC);
	if (p.o.seconds != 0)
		deadline = t0 + (uint64_t)p.o.seconds * 1000000000u;
	rc = serve(&p, fd, deadline);
	t1 = clock_ns(CLOCK_MONOTONIC);
	getrusage(RUSAGE_SELF, &r1);
	p.c[CTR_queues] = p.store.count;

	drops = socket_drops(fd);
	close(fd);
	if (report(&p, port, (double)(t1 - t0) / 1e9, &r0, &r1, drops) != 0) {
		fprintf(stderr, PEER_NAME ": cannot write the report\n");
		rc = -1;
	}
	if (!counters_consistent(&p))
		rc = -1;
	peer_free(&p);
	return rc == 0 ? 0 : 1;
}
