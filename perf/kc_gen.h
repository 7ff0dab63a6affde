/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK client side of kc-loadgen: port 0 (whatever the EAL arguments
 * made it: a memif client, AF_XDP or AF_PACKET on a veth, a NIC) set up
 * and waited for, KCP requests built into Ethernet/IPv4/UDP frames and
 * signed (kc_frame.c), and set-up calls that wait for their REPLY. Not a
 * library: a generator owns one struct kc_gen on its main lcore.
 */
#ifndef KC_GEN_H
#define KC_GEN_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "kc_auth.h"
#include "kc_frame.h"
#include "kc_proto.h"

#define KC_GEN_BURST 32

struct kc_gen {
	const char *prog;		/* for messages */
	uint16_t port;
	struct rte_mempool *mp;
	struct rte_ether_addr dst_mac;
	struct rte_ether_addr src_mac;
	uint32_t dst_ip;		/* host order */
	uint32_t src_ip;		/* host order: .1 of the appliance's /24 */
	uint64_t hz;			/* TSC */
};

/*
 * rte_eal_init: how many arguments it took, or -1 with the reason on
 * stderr.
 */
int kc_gen_eal_init(const char *prog, int argc, char **argv);

/*
 * After rte_eal_init: parse the appliance's MAC and IPv4 address, create
 * the mbuf pool, start port 0 (the one the EAL arguments made)
 * and wait up to 10 s for its link. 0, or -1 with the reason on stderr.
 */
int kc_gen_open(struct kc_gen *g, const char *prog, const char *mac,
		const char *ip);
void kc_gen_close(struct kc_gen *g);

/* CLOCK_REALTIME in ms: a message id of now, inside the replay window. */
uint64_t kc_gen_wall_ms(void);

/*
 * Make m a signed REQUEST frame from key's client: op, message id (now,
 * key's client, seq) and the len bytes of payload.
 */
void kc_gen_build(const struct kc_gen *g, struct rte_mbuf *m,
		  const struct kc_key *key, uint8_t op, uint64_t seq,
		  const uint8_t *payload, uint32_t len);

/*
 * Send one request (a set-up step: MINT, BALANCE) and wait up to
 * timeout_s for its REPLY, dropping other frames: the REPLY's status, with
 * up to cap bytes of its payload in out and their count in out_len; -1 if
 * it could not be sent or no REPLY came.
 */
int kc_gen_call(const struct kc_gen *g, const struct kc_key *key, uint8_t op,
		uint64_t seq, const uint8_t *payload, uint32_t len,
		uint8_t *out, uint32_t cap, uint32_t *out_len,
		unsigned int timeout_s);

/*
 * The KCP message of a received frame, its header decoded into h; NULL
 * if the frame is not a well-formed KCP message (kc_gen_msg: of any type,
 * a DELIVER too; kc_gen_reply: a REPLY). The tag is not checked.
 */
const uint8_t *kc_gen_msg(const struct rte_mbuf *m, struct kc_hdr *h);
const uint8_t *kc_gen_reply(const struct rte_mbuf *m, struct kc_hdr *h);

#endif /* KC_GEN_H */
