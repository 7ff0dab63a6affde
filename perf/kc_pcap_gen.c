/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-pcap-gen: write a classic pcap file (microsecond timestamps, Ethernet
 * link type: what pktgen-dpdk and DPDK's pcap PMD read) of signed, fully
 * checksummed KCP REQUEST frames for a given appliance. The frames come
 * from the same builder (kc_frame.c) and protocol header (kc_proto.h) as
 * every other client of ours, so a profile never drifts from the protocol.
 *
 *   kc-pcap-gen -o FILE --dst-mac MAC --dst-ip IP [options]
 *
 * See usage() and docs/performance.md ("pcap profiles").
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>

#include "kc_frame.h"

enum gen_op { GEN_PING, GEN_PUBLISH, GEN_TRANSFER };

struct gen_opts {
	const char *out;
	const char *keys;
	uint32_t client;
	enum gen_op op;
	uint64_t count;
	const char *queue;
	uint32_t size;
	uint64_t time_ms;
	uint64_t seq0;
	uint16_t src_ports;
	uint32_t from, to;
	uint64_t coin0;
	struct kc_frame_addr a;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: kc-pcap-gen -o FILE --dst-mac MAC --dst-ip IP [options]\n"
"\n"
"Writes COUNT signed KCP REQUEST frames to FILE, a classic pcap file\n"
"(microsecond timestamps, Ethernet) for pktgen-dpdk or DPDK's pcap PMD.\n"
"\n"
"  -o, --out FILE         the pcap file to write (replaced)\n"
"      --dst-mac MAC      the appliance port's MAC\n"
"      --dst-ip IP        the appliance port's IPv4 address\n"
"      --dst-port N       its KCP UDP port (default 60000)\n"
"      --src-mac MAC      the sender's MAC (default 02:4b:43:ff:00:01)\n"
"      --src-ip IP        the sender's IPv4 address (default: the .1 of\n"
"                         the appliance's /24, .254 if that is the appliance)\n"
"      --src-port N       the first UDP source port (default 40000)\n"
"      --src-ports N      spread frames round-robin over N source ports\n"
"                         from --src-port, so RSS spreads them over queues\n"
"                         (default 1)\n"
"  -k, --keys FILE        keys file to sign with (\"CLIENT_ID HEX_KEY\")\n"
"                         (default: the built-in development keys of\n"
"                         clients 1 and 2, refused by production appliances)\n"
"  -c, --client N         the client id whose key signs (default 1)\n"
"      --op OP            ping, publish or transfer (default ping)\n"
"  -n, --count N          how many frames (default 1000)\n"
"      --queue NAME       publish: the queue (default bench)\n"
"      --size BYTES       ping: payload bytes; publish: message bytes\n"
"                         (default 0 for ping, 64 for publish)\n"
"      --from N --to N    transfer: from account N (default: the client)\n"
"                         to account N (required), one coin a frame\n"
"      --first-coin N     transfer: coin of the first frame; the next\n"
"                         frames move the coins after it (default 1)\n"
"      --time-ms MS       the time in the message ids, ms since the Unix\n"
"                         epoch (default now); the appliance answers ids\n"
"                         within idempotency.window_s of its clock only\n"
"      --first-seq N      message id sequence of the first frame (default:\n"
"                         the time's microseconds, so two files made in\n"
"                         the same millisecond still differ)\n");
}

static int parse_u64(const char *s, const char *what, uint64_t max,
		     uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || *v > max) {
		fprintf(stderr, "kc-pcap-gen: bad %s '%s' (0..%" PRIu64 ")\n",
			what, s, max);
		return -1;
	}
	return 0;
}

static int parse_ip(const char *s, const char *what, uint32_t *ip)
{
	unsigned int a, b, c, d;
	char tail;

	if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 ||
	    a > 255 || b > 255 || c > 255 || d > 255) {
		fprintf(stderr, "kc-pcap-gen: bad %s '%s' (A.B.C.D)\n", what, s);
		return -1;
	}
	*ip = RTE_IPV4(a, b, c, d);
	return 0;
}

static int parse_mac(const char *s, const char *what,
		     struct rte_ether_addr *mac)
{
	if (rte_ether_unformat_addr(s, mac) != 0) {
		fprintf(stderr, "kc-pcap-gen: bad %s '%s' (six hex bytes "
			"separated by ':')\n", what, s);
		return -1;
	}
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

enum {
	OPT_DST_MAC = 256, OPT_DST_IP, OPT_DST_PORT, OPT_SRC_MAC, OPT_SRC_IP,
	OPT_SRC_PORT, OPT_SRC_PORTS, OPT_OP, OPT_QUEUE, OPT_SIZE, OPT_FROM,
	OPT_TO, OPT_FIRST_COIN, OPT_TIME_MS, OPT_FIRST_SEQ,
};

static int parse_args(int argc, char **argv, struct gen_opts *o)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "keys", required_argument, NULL, 'k' },
		{ "client", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "dst-mac", required_argument, NULL, OPT_DST_MAC },
		{ "dst-ip", required_argument, NULL, OPT_DST_IP },
		{ "dst-port", required_argument, NULL, OPT_DST_PORT },
		{ "src-mac", required_argument, NULL, OPT_SRC_MAC },
		{ "src-ip", required_argument, NULL, OPT_SRC_IP },
		{ "src-port", required_argument, NULL, OPT_SRC_PORT },
		{ "src-ports", required_argument, NULL, OPT_SRC_PORTS },
		{ "op", required_argument, NULL, OPT_OP },
		{ "queue", required_argument, NULL, OPT_QUEUE },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "first-coin", required_argument, NULL, OPT_FIRST_COIN },
		{ "time-ms", required_argument, NULL, OPT_TIME_MS },
		{ "first-seq", required_argument, NULL, OPT_FIRST_SEQ },
		{ NULL, 0, NULL, 0 },
	};
	bool have_dst_mac = false, have_dst_ip = false, have_src_ip = false;
	bool have_size = false, have_seq = false, have_time = false;
	uint64_t v, us = now_us();
	int c;

	memset(o, 0, sizeof(*o));
	o->client = KC_DEV_CLIENT_ID;
	o->count = 1000;
	o->queue = "bench";
	o->src_ports = 1;
	o->coin0 = 1;
	o->a.dst_port = KC_UDP_PORT_DEFAULT;
	o->a.src_port = 40000;
	o->a.src_mac = (struct rte_ether_addr){
		{ 0x02, 0x4b, 0x43, 0xff, 0x00, 0x01 } };
	while ((c = getopt_long(argc, argv, "o:k:c:n:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case 'k':
			o->keys = optarg;
			break;
		case 'c':
			if (parse_u64(optarg, "client id", UINT32_MAX, &v) != 0 ||
			    v == 0)
				return -1;
			o->client = (uint32_t)v;
			break;
		case 'n':
			if (parse_u64(optarg, "count", 100000000, &v) != 0 ||
			    v == 0)
				return -1;
			o->count = v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_DST_MAC:
			if (parse_mac(optarg, "--dst-mac", &o->a.dst_mac) != 0)
				return -1;
			have_dst_mac = true;
			break;
		case OPT_SRC_MAC:
			if (parse_mac(optarg, "--src-mac", &o->a.src_mac) != 0)
				return -1;
			break;
		case OPT_DST_IP:
			if (parse_ip(optarg, "--dst-ip", &o->a.dst_ip) != 0)
				return -1;
			have_dst_ip = true;
			break;
		case OPT_SRC_IP:
			if (parse_ip(optarg, "--src-ip", &o->a.src_ip) != 0)
				return -1;
			have_src_ip = true;
			break;
		case OPT_DST_PORT:
		case OPT_SRC_PORT:
			if (parse_u64(optarg, "UDP port", UINT16_MAX, &v) != 0 ||
			    v == 0)
				return -1;
			if (c == OPT_DST_PORT)
				o->a.dst_port = (uint16_t)v;
			else
				o->a.src_port = (uint16_t)v;
			break;
		case OPT_SRC_PORTS:
			if (parse_u64(optarg, "--src-ports", 4096, &v) != 0 ||
			    v == 0)
				return -1;
			o->src_ports = (uint16_t)v;
			break;
		case OPT_OP:
			if (strcmp(optarg, "ping") == 0) {
				o->op = GEN_PING;
			} else if (strcmp(optarg, "publish") == 0) {
				o->op = GEN_PUBLISH;
			} else if (strcmp(optarg, "transfer") == 0) {
				o->op = GEN_TRANSFER;
			} else {
				fprintf(stderr, "kc-pcap-gen: bad --op '%s' "
					"(ping, publish, transfer)\n", optarg);
				return -1;
			}
			break;
		case OPT_QUEUE:
			o->queue = optarg;
			break;
		case OPT_SIZE:
			if (parse_u64(optarg, "--size", KC_PAYLOAD_MAX, &v) != 0)
				return -1;
			o->size = (uint32_t)v;
			have_size = true;
			break;
		case OPT_FROM:
		case OPT_TO:
			if (parse_u64(optarg, "account", UINT32_MAX, &v) != 0 ||
			    v == 0)
				return -1;
			if (c == OPT_FROM)
				o->from = (uint32_t)v;
			else
				o->to = (uint32_t)v;
			break;
		case OPT_FIRST_COIN:
			if (parse_u64(optarg, "--first-coin", UINT64_MAX, &v) !=
				    0 || v == 0)
				return -1;
			o->coin0 = v;
			break;
		case OPT_TIME_MS:
			/* The message id keeps 48 bits of milliseconds. */
			if (parse_u64(optarg, "--time-ms", (1ull << 48) - 1,
				      &o->time_ms) != 0)
				return -1;
			have_time = true;
			break;
		case OPT_FIRST_SEQ:
			/* 48 bits of sequence in the message id. */
			if (parse_u64(optarg, "--first-seq", (1ull << 48) - 1,
				      &o->seq0) != 0)
				return -1;
			have_seq = true;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "kc-pcap-gen: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (o->out == NULL || !have_dst_mac || !have_dst_ip) {
		fprintf(stderr, "kc-pcap-gen: -o, --dst-mac and --dst-ip are "
			"required (--help)\n");
		return -1;
	}
	if (!have_src_ip)
		o->a.src_ip = (o->a.dst_ip & 0xffffff00u) |
			      ((o->a.dst_ip & 0xffu) == 1 ? 254u : 1u);
	if (!have_time)
		o->time_ms = us / 1000u;
	if (!have_seq)
		o->seq0 = us % 1000000u * 1000000u;
	if (!have_size)
		o->size = o->op == GEN_PUBLISH ? 64 : 0;
	if (o->op == GEN_TRANSFER) {
		if (o->to == 0) {
			fprintf(stderr, "kc-pcap-gen: --op transfer needs "
				"--to ACCOUNT\n");
			return -1;
		}
		if (o->from == 0)
			o->from = o->client;
		if (o->coin0 + o->count - 1 < o->coin0) {
			fprintf(stderr, "kc-pcap-gen: coins past 2^64\n");
			return -1;
		}
	}
	if (o->seq0 + o->count - 1 >= 1ull << 48) {
		fprintf(stderr, "kc-pcap-gen: --first-seq + --count passes the "
			"48-bit sequence of a message id\n");
		return -1;
	}
	return 0;
}

/* The payload of frame i; its length, or 0 with the reason on stderr. */
static size_t payload(const struct gen_opts *o, uint64_t i, uint8_t *p,
		      size_t cap, const uint8_t *body)
{
	uint64_t coin;
	size_t n;

	switch (o->op) {
	case GEN_PING:
		memcpy(p, body, o->size);
		return o->size;
	case GEN_PUBLISH:
		n = kc_enc_publish(p, cap, o->queue, body, o->size);
		if (n == 0)
			fprintf(stderr, "kc-pcap-gen: bad queue name '%s' or "
				"message too long\n", o->queue);
		return n;
	case GEN_TRANSFER:
		coin = o->coin0 + i;
		return kc_enc_transfer(p, cap, o->from, o->to, &coin, 1);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t frame[KC_FRAME_MAX], pl[KC_PAYLOAD_MAX], body[KC_PAYLOAD_MAX];
	struct pcap_pkthdr ph = { 0 };
	pcap_dumper_t *dump;
	struct gen_opts o;
	struct kc_key key;
	char err[256];
	uint8_t op;
	pcap_t *pc;
	uint64_t i;
	size_t n = 0, len;

	if (parse_args(argc, argv, &o) != 0)
		return 2;
	if (kc_key_for_client(o.keys, o.client, &key, err, sizeof(err)) != 0) {
		fprintf(stderr, "kc-pcap-gen: %s\n", err);
		return 1;
	}
	op = o.op == GEN_PING ? KC_OP_PING :
	     o.op == GEN_PUBLISH ? KC_OP_PUBLISH : KC_OP_TRANSFER;
	for (i = 0; i < o.size; i++)
		body[i] = (uint8_t)('a' + i % 26);
	pc = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
						  PCAP_TSTAMP_PRECISION_MICRO);
	if (pc == NULL) {
		fprintf(stderr, "kc-pcap-gen: pcap_open_dead failed\n");
		return 1;
	}
	dump = pcap_dump_open(pc, o.out);
	if (dump == NULL) {
		fprintf(stderr, "kc-pcap-gen: %s: %s\n", o.out, pcap_geterr(pc));
		pcap_close(pc);
		return 1;
	}
	for (i = 0; i < o.count; i++) {
		struct kc_frame_addr a = o.a;

		len = payload(&o, i, pl, sizeof(pl), body);
		if (len == 0 && o.op != GEN_PING)
			goto fail;
		a.src_port = (uint16_t)(o.a.src_port + i % o.src_ports);
		n = kc_frame_request(frame, sizeof(frame), &a, &key, op,
				     o.time_ms, o.seq0 + i, pl, (uint32_t)len,
				     true);
		if (n == 0) {
			fprintf(stderr, "kc-pcap-gen: a frame of %zu payload "
				"bytes does not fit one datagram\n", len);
			goto fail;
		}
		/* One microsecond apart: pktgen replays at its own rate. */
		ph.ts.tv_sec = (time_t)((o.time_ms * 1000u + i) / 1000000u);
		ph.ts.tv_usec = (suseconds_t)((o.time_ms * 1000u + i) %
					      1000000u);
		ph.caplen = ph.len = (bpf_u_int32)n;
		pcap_dump((u_char *)dump, &ph, frame);
	}
	if (pcap_dump_flush(dump) != 0) {
		fprintf(stderr, "kc-pcap-gen: %s: write failed: %s\n", o.out,
			strerror(errno));
		goto fail;
	}
	pcap_dump_close(dump);
	pcap_close(pc);
	printf("kc-pcap-gen: %" PRIu64 " %s frames of %zu bytes to %s, "
	       "message ids at %" PRIu64 " ms, client %u, sequence %" PRIu64
	       "..%" PRIu64 "\n", o.count,
	       kc_op_name(op), n, o.out, o.time_ms, o.client, o.seq0,
	       o.seq0 + o.count - 1);
	return 0;
fail:
	pcap_dump_close(dump);
	pcap_close(pc);
	remove(o.out);
	return 1;
}
