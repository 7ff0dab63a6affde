/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RX stage's frame handling and the worker's op execution, on mbufs from
 * a real mempool: ARP, ICMP echo, KCP accepted, every drop reason counted,
 * error REPLYs for authenticated but bad requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_mbuf.h>

#include "kc_rx.h"
#include "kc_worker.h"
#include "kc_test_eal.h"
#include "kc_test_frames.h"

static struct rte_mempool *mp;
static struct kc_keyring *keys;
static struct kc_pkt_ctx ctx;
static struct kc_lcore_stats st;
static struct kc_queue_store *qs;
static struct kc_worker_state ws;

static const char keys_text[] =
	"1 6b696e67636f6272612d6465762d6b65792d6c6f63616c2d6f6e6c792d303031\n"
	"7 0707070707070707070707070707070707070707070707070707070707070707 x\n";

static const struct kc_key *key1(void)
{
	return kc_keyring_find(keys, 1);
}

static int setup(void **state)
{
	static const struct kc_queue_limits lim = {
		.max_queues = 4, .max_bytes_per_queue = 65536,
		.max_messages_per_queue = 256, .max_consumers_per_queue = 4,
	};
	char err[256];

	keys = kc_keyring_parse(keys_text, sizeof(keys_text) - 1, "inline",
				err, sizeof(err));
	if (keys == NULL)
		return -1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.udp_port = KC_UDP_PORT_DEFAULT;
	ctx.keys = keys;
	ctx.port[0].port_id = 0;
	ctx.port[0].ip = T_APPLIANCE_IP;
	ctx.port[0].netmask = 0xffffff00u;
	ctx.port[0].mac = t_appliance_mac;
	qs = kc_queue_store_create("tp_q", &lim, 0);
	ws.pc = &ctx;
	ws.store = qs;
	ws.st = &st;
	return qs == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	kc_queue_store_free(qs);
	kc_keyring_free(keys);
	return 0;
}

/* Classify m and expect a drop counted in exactly counter c. */
static void expect_drop(struct rte_mbuf *m, enum kc_counter c)
{
	uint64_t before = st.c[c];

	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_DROP);
	assert_int_equal(st.c[c], before + 1);
	rte_pktmbuf_free(m);
}

static struct rte_mbuf *ping(void)
{
	return t_request(mp, key1(), KC_OP_PING, 1, "hello", 5);
}

/* Execute m and finish its REPLY: a burst of one. */
static enum kc_exec execute(struct rte_mbuf *m)
{
	enum kc_exec e = kc_ops_execute(&ws, m);

	kc_ops_sign_flush(&ws);
	return e;
}

/* An ARP request for the appliance's address, sent to dst. */
static struct rte_mbuf *arp_request(const struct rte_ether_addr *dst)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	eth->dst_addr = *dst;
	eth->src_addr = t_client_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = t_client_mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(T_CLIENT_IP);
	memset(&arp->arp_data.arp_tha, 0, sizeof(arp->arp_data.arp_tha));
	arp->arp_data.arp_tip = rte_cpu_to_be_32(T_APPLIANCE_IP);
	m->data_len = m->pkt_len = 60; /* padded to the Ethernet minimum */
	m->port = 0;
	return m;
}

static void test_arp_request_answered(void **state)
{
	static const struct rte_ether_addr bcast = {
		.addr_bytes = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	struct rte_mbuf *m = arp_request(&bcast);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	uint64_t before;

	(void)state;
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_TX);
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &t_client_mac));
	assert_true(rte_is_same_ether_addr(&eth->src_addr, &t_appliance_mac));
	assert_int_equal(rte_be_to_cpu_16(arp->arp_opcode), RTE_ARP_OP_REPLY);
	assert_true(rte_is_same_ether_addr(&arp->arp_data.arp_sha,
					   &t_appliance_mac));
	assert_int_equal(rte_be_to_cpu_32(arp->arp_data.arp_sip),
			 T_APPLIANCE_IP);
	assert_int_equal(rte_be_to_cpu_32(arp->arp_data.arp_tip), T_CLIENT_IP);

	/* The same request for another address is not ours to answer. */
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 9));
	expect_drop(m, KC_CTR_drop_arp);

	/* A request for our address sent to another host's MAC (seen by a
	 * promiscuous port) is not ours either; one sent to our MAC (a
	 * cache refresh) is answered. */
	m = arp_request(&t_client_mac);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	arp = (struct rte_arp_hdr *)(eth + 1);
	before = st.c[KC_CTR_drop_not_ours];
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_DROP);
	assert_int_equal(st.c[KC_CTR_drop_not_ours], before + 1);
	eth->dst_addr = t_appliance_mac;
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_TX);
	assert_int_equal(rte_be_to_cpu_16(arp->arp_opcode), RTE_ARP_OP_REPLY);
	rte_pktmbuf_free(m);
}

static struct rte_mbuf *icmp_echo(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;

	/* Build as UDP first for the framing, then turn it into ICMP. */
	t_wrap_udp(m, 16, 9);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, KC_L2_LEN);
	ip->next_proto_id = IPPROTO_ICMP;
	ip->total_length = rte_cpu_to_be_16(KC_L3_LEN + 8 + 16);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	memset(icmp, 0x5a, 8 + 16);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_code = 0;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8 + 16);
	m->data_len = m->pkt_len = KC_L2_LEN + KC_L3_LEN + 8 + 16;
	return m;
}

static void test_icmp_echo_answered(void **state)
{
	struct rte_mbuf *m = icmp_echo();
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
		struct rte_ipv4_hdr *, KC_L2_LEN);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);

	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_TX);
	assert_int_equal(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(rte_raw_cksum(icmp, 8 + 16), 0xffff);
	assert_int_equal(rte_raw_cksum(ip, KC_L3_LEN), 0xffff);
	assert_int_equal(rte_be_to_cpu_32(ip->dst_addr), T_CLIENT_IP);
	assert_int_equal(rte_be_to_cpu_32(ip->src_addr), T_APPLIANCE_IP);
	rte_pktmbuf_free(m);

	m = icmp_echo();
	icmp = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *,
				       KC_L2_LEN + KC_L3_LEN);
	icmp->icmp_cksum ^= 1;
	expect_drop(m, KC_CTR_drop_icmp);
}

static void test_ping_request_and_reply(void **state)
{
	struct rte_mbuf *m = ping();
	struct kc_hdr h;
	uint8_t *kcp;

	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	assert_int_equal(execute(m), KC_EXEC_SEND);
	assert_true(t_udp_cksum_ok(m));
	kcp = t_kcp(m);
	assert_int_equal(kc_hdr_decode(kcp, m->data_len - KC_KCP_OFF, &h),
			 KC_PARSE_OK);
	assert_int_equal(h.type, KC_TYPE_REPLY);
	assert_int_equal(h.status, KC_STATUS_OK);
	assert_int_equal(h.payload_len, 5);
	assert_memory_equal(kcp + KC_HDR_LEN, "hello", 5);
	assert_true(kc_auth_verify(key1(), kcp, KC_HDR_LEN + 5));
	assert_true(rte_is_same_ether_addr(
		&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr,
		&t_client_mac));
	rte_pktmbuf_free(m);
}

/*
 * The REPLYs of a burst are signed together: each frame is, byte for
 * byte, the one a burst of one gives (tag, addresses, checksums), for
 * PINGs of several sizes, some answered with an error, past one library
 * call's 32 jobs.
 */
static void test_replies_signed_in_bursts(void **state)
{
	enum { N = 45 };
	struct rte_mbuf *a[N], *b[N];
	char err[128], payload[64];

	(void)state;
	memset(payload, 'p', sizeof(payload));
	ws.auth_mb = kc_auth_mb_create(err, sizeof(err));
	assert_non_null(ws.auth_mb);
	for (uint32_t i = 0; i < N; i++) {
		/* Every fifth a TIME with an argument: BAD_REQUEST. */
		a[i] = t_request(mp, key1(), i % 5 == 4 ? KC_OP_TIME :
			KC_OP_PING, 500 + i, payload, i % 64);
		b[i] = rte_pktmbuf_copy(a[i], mp, 0, UINT32_MAX);
		assert_non_null(b[i]);
		assert_int_equal(kc_pkt_classify(&ctx, a[i], &st),
				 KC_VERDICT_KCP);
		assert_int_equal(kc_pkt_classify(&ctx, b[i], &st),
				 KC_VERDICT_KCP);
	}
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(kc_ops_execute(&ws, a[i]), KC_EXEC_SEND);
	kc_ops_sign_flush(&ws);
	kc_auth_mb_free(ws.auth_mb);
	ws.auth_mb = NULL;
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(execute(b[i]), KC_EXEC_SEND);
		assert_int_equal(a[i]->data_len, b[i]->data_len);
		assert_memory_equal(rte_pktmbuf_mtod(a[i], void *),
				    rte_pktmbuf_mtod(b[i], void *),
				    a[i]->data_len);
		assert_true(t_udp_cksum_ok(a[i]));
		assert_true(kc_auth_verify(key1(), t_kcp(a[i]),
					   a[i]->data_len - KC_KCP_OFF));
		assert_int_equal(kc_get_u16(t_kcp(a[i]) + KC_OFF_STATUS),
				 i % 5 == 4 ? KC_STATUS_BAD_REQUEST :
					      KC_STATUS_OK);
		rte_pktmbuf_free(a[i]);
		rte_pktmbuf_free(b[i]);
	}
}

/* Execute a request and return its REPLY's status and payload. */
static uint16_t call(uint8_t op, const void *payload, uint32_t len,
		     uint8_t *out, uint32_t *out_len)
{
	static uint64_t seq = 100;
	struct rte_mbuf *m = t_request(mp, key1(), op, seq++, payload, len);
	struct kc_hdr h;

	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	assert_int_equal(execute(m), KC_EXEC_SEND);
	assert_int_equal(kc_hdr_decode(t_kcp(m), m->data_len - KC_KCP_OFF,
				       &h), KC_PARSE_OK);
	assert_true(kc_auth_verify(key1(), t_kcp(m),
				   KC_HDR_LEN + h.payload_len));
	if (out != NULL) {
		memcpy(out, t_kcp(m) + KC_HDR_LEN, h.payload_len);
		*out_len = h.payload_len;
	}
	rte_pktmbuf_free(m);
	return h.status;
}

static void test_publish_fetch_commit(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX], out[KC_PAYLOAD_MAX];
	struct kc_fetch_reply fr;
	uint32_t len, out_len, pos = 0, mlen;
	const uint8_t *msg;
	uint64_t off;

	len = (uint32_t)kc_enc_publish(p, sizeof(p), "jobs", "a", 1);
	assert_int_equal(call(KC_OP_PUBLISH, p, len, out, &out_len),
			 KC_STATUS_OK);
	assert_true(kc_dec_u64_reply(out, out_len, &off));
	assert_int_equal(off, 0);
	len = (uint32_t)kc_enc_publish(p, sizeof(p), "jobs", "bb", 2);
	assert_int_equal(call(KC_OP_PUBLISH, p, len, out, &out_len),
			 KC_STATUS_OK);
	assert_true(kc_dec_u64_reply(out, out_len, &off));
	assert_int_equal(off, 1);

	len = (uint32_t)kc_enc_fetch(p, sizeof(p), "jobs", 0, 0);
	assert_int_equal(call(KC_OP_FETCH, p, len, out, &out_len),
			 KC_STATUS_OK);
	assert_true(kc_dec_fetch_reply(out, out_len, &fr));
	assert_int_equal(fr.count, 2);
	assert_int_equal(fr.next_offset, 2);
	assert_int_equal(fr.end_offset, 2);
	assert_true(kc_fetch_reply_next(&fr, &pos, &msg, &mlen));
	assert_memory_equal(msg, "a", 1);
	assert_true(kc_fetch_reply_next(&fr, &pos, &msg, &mlen));
	assert_int_equal(mlen, 2);
	assert_memory_equal(msg, "bb", 2);

	len = (uint32_t)kc_enc_commit(p, sizeof(p), "jobs", "billing", 2);
	assert_int_equal(call(KC_OP_COMMIT, p, len, NULL, NULL), KC_STATUS_OK);
	len = (uint32_t)kc_enc_offset(p, sizeof(p), "jobs", "billing");
	assert_int_equal(call(KC_OP_OFFSET, p, len, out, &out_len),
			 KC_STATUS_OK);
	assert_true(kc_dec_u64_reply(out, out_len, &off));
	assert_int_equal(off, 2);
}

static void test_authenticated_errors_are_answered(void **state)
{
	uint8_t p[KC_PAYLOAD_MAX], out[KC_PAYLOAD_MAX];
	uint8_t big[KC_MSG_MAX + 1];
	uint64_t unknown = st.c[KC_CTR_op_unknown];
	uint32_t len, out_len;

	assert_int_equal(call(200, "x", 1, out, &out_len),
			 KC_STATUS_UNKNOWN_OP);
	assert_true(out_len > 0); /* a reason text */
	assert_int_equal(st.c[KC_CTR_op_unknown], unknown + 1);
	assert_int_equal(call(KC_OP_PUBLISH, "\x05jo", 3, NULL, NULL),
			 KC_STATUS_BAD_REQUEST);
	memset(big, 'b', sizeof(big));
	len = (uint32_t)kc_enc_publish(p, sizeof(p), "q", big, sizeof(big));
	assert_true(len > 0);
	assert_int_equal(call(KC_OP_PUBLISH, p, len, NULL, NULL),
			 KC_STATUS_TOO_LARGE);
	len = (uint32_t)kc_enc_fetch(p, sizeof(p), "never", 0, 0);
	assert_int_equal(call(KC_OP_FETCH, p, len, NULL, NULL),
			 KC_STATUS_NOT_FOUND);
}

static void test_msg_id_of_another_client(void **state)
{
	struct rte_mbuf *m = ping();
	uint8_t *kcp = t_kcp(m);
	struct kc_hdr h;

	/* Client 1's request carrying a message id minted for client 7. */
	kc_msg_id_make(kcp + KC_OFF_MSG_ID, 1, 7, 1);
	kc_auth_sign(key1(), kcp, KC_HDR_LEN + 5);
	t_wrap_udp(m, KC_HDR_LEN + 5, KC_UDP_PORT_DEFAULT);
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	assert_int_equal(execute(m), KC_EXEC_SEND);
	assert_int_equal(kc_hdr_decode(t_kcp(m), m->data_len - KC_KCP_OFF,
				       &h), KC_PARSE_OK);
	assert_int_equal(h.status, KC_STATUS_BAD_REQUEST);
	rte_pktmbuf_free(m);
}

static void test_l2_l3_drops(void **state)
{
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip;

	m = ping();
	m->data_len = m->pkt_len = 10;
	expect_drop(m, KC_CTR_drop_runt);

	m = ping();
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type =
		rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	expect_drop(m, KC_CTR_drop_ethertype);

	m = ping();
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr.addr_bytes[5]++;
	expect_drop(m, KC_CTR_drop_not_ours);

	m = ping(); /* IP says longer than the frame: truncated */
	m->data_len = m->pkt_len = m->data_len - 10;
	expect_drop(m, KC_CTR_drop_bad_ip);

	m = ping();
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, KC_L2_LEN);
	ip->hdr_checksum ^= 0x0101;
	expect_drop(m, KC_CTR_drop_ip_checksum);

	m = ping();
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, KC_L2_LEN);
	ip->version_ihl = 0x46;
	expect_drop(m, KC_CTR_drop_ip_options);

	m = ping();
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, KC_L2_LEN);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	expect_drop(m, KC_CTR_drop_ip_fragment);

	m = ping();
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, KC_L2_LEN);
	ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 3));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	expect_drop(m, KC_CTR_drop_not_ours);

	m = ping();
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, KC_L2_LEN);
	ip->next_proto_id = IPPROTO_TCP;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	expect_drop(m, KC_CTR_drop_ip_proto);
}

static void test_udp_drops(void **state)
{
	struct rte_mbuf *m;
	struct rte_udp_hdr *udp;

	m = ping();
	t_wrap_udp(m, KC_HDR_LEN + 5, 60001);
	expect_drop(m, KC_CTR_drop_udp_port);

	m = ping();
	udp = rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *,
				      KC_L2_LEN + KC_L3_LEN);
	udp->dgram_len = rte_cpu_to_be_16(rte_be_to_cpu_16(udp->dgram_len) +
					  4);
	expect_drop(m, KC_CTR_drop_bad_udp);

	m = ping();
	t_kcp(m)[KC_HDR_LEN] ^= 0xff; /* payload changed, checksum not */
	expect_drop(m, KC_CTR_drop_udp_checksum);
}

static struct rte_mbuf *ping_with(size_t off, uint8_t v, bool resign);

/* Expect m handed to the kernel, with no drop counter moved. */
static void expect_exception(struct rte_mbuf *m)
{
	struct kc_lcore_stats before = st;

	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_EXCEPTION);
	for (int c = 0; c < KC_CTR_COUNT; c++)
		if (c != KC_CTR_rx_packets && c != KC_CTR_rx_bytes)
			assert_int_equal(st.c[c], before.c[c]);
	rte_pktmbuf_free(m);
}

static struct rte_mbuf *ping_proto(uint8_t proto, uint32_t dst)
{
	struct rte_mbuf *m = ping();
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
		struct rte_ipv4_hdr *, KC_L2_LEN);

	ip->next_proto_id = proto;
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return m;
}

/* With an exception path, what is not the appliance's goes to the kernel;
 * damaged frames and bad KCP are still dropped. */
static void test_exception_path(void **state)
{
	struct rte_ring *r = (struct rte_ring *)(uintptr_t)1; /* not used */
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip;

	(void)state;
	ctx.port[0].exc_in = r;
	expect_exception(ping_proto(IPPROTO_TCP, T_APPLIANCE_IP));
	expect_exception(ping_proto(IPPROTO_UDP, RTE_IPV4(10, 77, 0, 3)));
	m = ping();
	t_wrap_udp(m, KC_HDR_LEN + 5, 22);
	expect_exception(m);
	m = ping();
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type =
		rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	expect_exception(m);
	m = ping();
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr.addr_bytes[5]++;
	expect_exception(m);

	m = ping();
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, KC_L2_LEN);
	ip->hdr_checksum ^= 0x0101;
	expect_drop(m, KC_CTR_drop_ip_checksum);
	m = ping();
	t_kcp(m)[KC_HDR_LEN] ^= 0xff;
	expect_drop(m, KC_CTR_drop_udp_checksum);
	m = ping_with(0, 0x00, false); /* magic */
	expect_drop(m, KC_CTR_drop_kcp_magic);
	assert_int_equal(kc_pkt_classify(&ctx, ping(), &st), KC_VERDICT_KCP);
	ctx.port[0].exc_in = NULL;
}

/* A NIC with checksum offload gets the pseudo-header sum and the flags;
 * without, the frame carries both sums. */
static void test_tx_checksum_offload(void **state)
{
	struct rte_mbuf *m = ping();
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	(void)state;
	ctx.port[0].tx_cksum = true;
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	assert_int_equal(execute(m), KC_EXEC_SEND);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, KC_L2_LEN);
	udp = (struct rte_udp_hdr *)(ip + 1);
	assert_int_equal(m->ol_flags, RTE_MBUF_F_TX_IPV4 |
			 RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM);
	assert_int_equal(m->l2_len, KC_L2_LEN);
	assert_int_equal(m->l3_len, KC_L3_LEN);
	assert_int_equal(ip->hdr_checksum, 0);
	assert_int_equal(udp->dgram_cksum,
			 rte_ipv4_phdr_cksum(ip, m->ol_flags));
	/* What the NIC would do: then the frame checks. */
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->dgram_cksum = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	assert_true(t_udp_cksum_ok(m));
	rte_pktmbuf_free(m);
	ctx.port[0].tx_cksum = false;

	m = ping();
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	assert_int_equal(execute(m), KC_EXEC_SEND);
	assert_int_equal(m->ol_flags, 0);
	assert_true(t_udp_cksum_ok(m));
	rte_pktmbuf_free(m);

	/* A memif port: UDP checksum 0 (none), the IPv4 header summed. */
	ctx.port[0].udp_cksum_none = true;
	m = ping();
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	assert_int_equal(execute(m), KC_EXEC_SEND);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, KC_L2_LEN);
	udp = (struct rte_udp_hdr *)(ip + 1);
	assert_int_equal(m->ol_flags, 0);
	assert_int_equal(udp->dgram_cksum, 0);
	assert_int_equal(rte_ipv4_cksum(ip), 0);
	assert_true(kc_auth_verify(key1(), t_kcp(m),
				   m->data_len - KC_KCP_OFF));
	rte_pktmbuf_free(m);
	ctx.port[0].udp_cksum_none = false;
}

/* Bytes after the IPv4 packet (Ethernet pads short frames) are not part
 * of it: the request is taken, and its REPLY carries none of them
 * (docs/protocol.md, section 1). */
static void test_trailing_bytes_ignored(void **state)
{
	struct rte_mbuf *m = ping();
	uint32_t ip_end = m->data_len;

	(void)state;
	memset(rte_pktmbuf_mtod_offset(m, uint8_t *, ip_end), 0xee, 10);
	m->data_len += 10;
	m->pkt_len += 10;
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
	assert_int_equal(m->data_len, ip_end);
	assert_int_equal(execute(m), KC_EXEC_SEND);
	assert_int_equal(kc_get_u16(t_kcp(m) + KC_OFF_STATUS), KC_STATUS_OK);
	assert_true(t_udp_cksum_ok(m));
	rte_pktmbuf_free(m);
}

/* ---- frames in external buffers ------------------------------------------
 * Some PMDs hand frames over in buffers attached to the mbuf (mlx5's
 * multi-packet RX queues); the mbuf says so in ol_flags. A reply made in
 * place must keep that flag, or freeing it returns the buffer to the wrong
 * place (found by tests/fuzz/fuzz_kcp: ol_flags was overwritten). */
static unsigned int ext_freed;

static void ext_free(void *addr, void *opaque)
{
	(void)addr;
	(void)opaque;
	ext_freed++;
}

static uint8_t ext_buf[2048];
static struct rte_mbuf_ext_shared_info ext_shinfo = { .free_cb = ext_free };

/* A copy of m's frame in ext_buf, in an mbuf that points at it. */
static struct rte_mbuf *external_copy(struct rte_mbuf *m)
{
	struct rte_mbuf *x = rte_pktmbuf_alloc(mp);

	assert_non_null(x);
	memcpy(ext_buf + RTE_PKTMBUF_HEADROOM, rte_pktmbuf_mtod(m, void *),
	       m->data_len);
	rte_mbuf_ext_refcnt_set(&ext_shinfo, 1);
	rte_pktmbuf_attach_extbuf(x, ext_buf, (rte_iova_t)(uintptr_t)ext_buf,
				  sizeof(ext_buf), &ext_shinfo);
	x->data_off = RTE_PKTMBUF_HEADROOM;
	x->data_len = m->data_len;
	x->pkt_len = m->pkt_len;
	x->port = m->port;
	rte_pktmbuf_free(m);
	return x;
}

static void test_replies_keep_external_buffers(void **state)
{
	static const struct rte_ether_addr bcast = {
		.addr_bytes = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	struct rte_mbuf *m;

	(void)state;
	ext_freed = 0;
	m = external_copy(arp_request(&bcast));
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_TX);
	assert_true(m->ol_flags & RTE_MBUF_F_EXTERNAL);
	rte_pktmbuf_free(m);
	assert_int_equal(ext_freed, 1);
	m = external_copy(icmp_echo());
	assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_TX);
	assert_true(m->ol_flags & RTE_MBUF_F_EXTERNAL);
	rte_pktmbuf_free(m);
	assert_int_equal(ext_freed, 2);

	for (int offload = 0; offload < 2; offload++) {
		ctx.port[0].tx_cksum = offload != 0;
		m = external_copy(ping());
		assert_int_equal(kc_pkt_classify(&ctx, m, &st), KC_VERDICT_KCP);
		assert_int_equal(execute(m), KC_EXEC_SEND);
		assert_true(m->ol_flags & RTE_MBUF_F_EXTERNAL);
		if (offload)
			assert_true(m->ol_flags & RTE_MBUF_F_TX_UDP_CKSUM);
		else
			assert_true(t_udp_cksum_ok(m));
		rte_pktmbuf_free(m);
		assert_int_equal(ext_freed, 3 + offload);
	}
	ctx.port[0].tx_cksum = false;
}

/* Rewrite a PING's KCP bytes (then fix the UDP checksum). */
static struct rte_mbuf *ping_with(size_t off, uint8_t v, bool resign)
{
	struct rte_mbuf *m = ping();
	uint8_t *kcp = t_kcp(m);

	kcp[off] = v;
	if (resign)
		kc_auth_sign(key1(), kcp, KC_HDR_LEN + 5);
	t_wrap_udp(m, KC_HDR_LEN + 5, KC_UDP_PORT_DEFAULT);
	return m;
}

static void test_kcp_drops(void **state)
{
	struct rte_mbuf *m;

	m = ping(); /* 20 bytes of KCP */
	t_wrap_udp(m, 20, KC_UDP_PORT_DEFAULT);
	expect_drop(m, KC_CTR_drop_kcp_short);

	expect_drop(ping_with(KC_OFF_MAGIC, 0x00, true), KC_CTR_drop_kcp_magic);
	expect_drop(ping_with(KC_OFF_VERSION, 9, true),
		    KC_CTR_drop_kcp_version);
	expect_drop(ping_with(KC_OFF_TYPE, KC_TYPE_REPLY, true),
		    KC_CTR_drop_kcp_type);
	expect_drop(ping_with(KC_OFF_FLAGS, 0x80, true),
		    KC_CTR_drop_kcp_flags);
	expect_drop(ping_with(KC_OFF_STATUS + 1, 1, true),
		    KC_CTR_drop_kcp_flags);
	/* payload_len larger than the datagram */
	expect_drop(ping_with(KC_OFF_PAYLOAD_LEN + 3, 200, true),
		    KC_CTR_drop_kcp_length);
	expect_drop(ping_with(KC_OFF_PAYLOAD_LEN + 2, 0x10, true),
		    KC_CTR_drop_kcp_too_large);
	expect_drop(ping_with(KC_OFF_CLIENT_ID + 3, 99, false),
		    KC_CTR_drop_bad_client);
	/* client 7 exists, but the tag was made with client 1's key */
	expect_drop(ping_with(KC_OFF_CLIENT_ID + 3, 7, false),
		    KC_CTR_drop_bad_auth);
	m = ping();
	t_kcp(m)[KC_OFF_TAG + 5] ^= 0x01;
	t_wrap_udp(m, KC_HDR_LEN + 5, KC_UDP_PORT_DEFAULT);
	expect_drop(m, KC_CTR_drop_bad_auth);
	expect_drop(ping_with(KC_HDR_LEN, 'j', false), KC_CTR_drop_bad_auth);
}

/*
 * A burst classified together, tags checked by the multi-buffer verifier:
 * the verdicts, counts and bytes of the same frames classified one at a
 * time. Good PINGs, a flipped tag, an unknown client, client 7 under client
 * 1's tag, a bad magic and a PUBLISH with a longer payload, interleaved.
 */
static void test_classify_burst(void **state)
{
	enum { N = 45, KINDS = 6 };
	static struct kc_lcore_stats sa, sb;
	struct rte_mbuf *a[N], *b[N];
	enum kc_verdict va[N], vb[N];
	uint32_t good = 0, bad_auth = 0;
	char err[128];
	struct kc_auth_mb *mb = kc_auth_mb_create(err, sizeof(err));

	(void)state;
	assert_non_null(mb);
	for (unsigned int i = 0; i < N; i++) {
		static const char body[] = "a queue name and a body long "
			"enough to take the payload past one hash block";

		switch (i % KINDS) {
		case 1:
			a[i] = ping();
			t_kcp(a[i])[KC_OFF_TAG + i % KC_TAG_LEN] ^= 0x04;
			t_wrap_udp(a[i], KC_HDR_LEN + 5, KC_UDP_PORT_DEFAULT);
			bad_auth++;
			break;
		case 2:
			a[i] = ping_with(KC_OFF_CLIENT_ID + 3, 99, false);
			break;
		case 3:
			a[i] = ping_with(KC_OFF_CLIENT_ID + 3, 7, false);
			bad_auth++;
			break;
		case 4:
			a[i] = ping_with(KC_OFF_MAGIC, 0x00, true);
			break;
		case 5:
			a[i] = t_request(mp, key1(), KC_OP_PUBLISH, i, body,
					 sizeof(body) - 1);
			good++;
			break;
		default:
			a[i] = ping();
			good++;
			break;
		}
		b[i] = rte_pktmbuf_copy(a[i], mp, 0, UINT32_MAX);
		assert_non_null(b[i]);
	}
	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	kc_pkt_classify_burst(&ctx, mb, a, N, va, &sa);
	for (unsigned int i = 0; i < N; i++)
		vb[i] = kc_pkt_classify(&ctx, b[i], &sb);
	for (unsigned int i = 0; i < N; i++) {
		assert_int_equal(va[i], vb[i]);
		assert_int_equal(a[i]->data_len, b[i]->data_len);
		assert_memory_equal(rte_pktmbuf_mtod(a[i], void *),
				    rte_pktmbuf_mtod(b[i], void *),
				    a[i]->data_len);
		if (va[i] == KC_VERDICT_KCP)
			assert_int_equal(a[i]->hash.usr, b[i]->hash.usr);
		rte_pktmbuf_free(a[i]);
		rte_pktmbuf_free(b[i]);
	}
	assert_memory_equal(sa.c, sb.c, sizeof(sa.c));
	assert_int_equal(sa.c[KC_CTR_kcp_requests], good);
	assert_int_equal(sa.c[KC_CTR_drop_bad_auth], bad_auth);
	kc_auth_mb_free(mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_request_answered),
		cmocka_unit_test(test_icmp_echo_answered),
		cmocka_unit_test(test_ping_request_and_reply),
		cmocka_unit_test(test_publish_fetch_commit),
		cmocka_unit_test(test_authenticated_errors_are_answered),
		cmocka_unit_test(test_msg_id_of_another_client),
		cmocka_unit_test(test_l2_l3_drops),
		cmocka_unit_test(test_udp_drops),
		cmocka_unit_test(test_kcp_drops),
		cmocka_unit_test(test_classify_burst),
		cmocka_unit_test(test_exception_path),
		cmocka_unit_test(test_tx_checksum_offload),
		cmocka_unit_test(test_replies_signed_in_bursts),
		cmocka_unit_test(test_replies_keep_external_buffers),
		cmocka_unit_test(test_trailing_bytes_ignored),
	};

	kc_test_eal_init("test_pkt");
	mp = rte_pktmbuf_pool_create("tp_mbufs", 1023, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (mp == NULL)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
