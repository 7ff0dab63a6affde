/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Internet checksum (RFC 1071) of the UDP datagrams the data path
 * checks and answers, when the NIC does not do it.
 *
 * DPDK 22.11's rte_raw_cksum adds one 16-bit word per loop turn, a chain of
 * dependent additions: a profile of one lcore answering PINGs put about 10%
 * of its cycles in that loop (docs/performance.md, "Where the cycles go").
 * RFC 1071 allows the sum in wider words, folded at the end (2^32 and 2^16
 * are both 1 modulo 2^16 - 1), so this adds 32-bit halves of 64-bit loads
 * into two independent 64-bit accumulators. The result is the same value as
 * rte_raw_cksum's for any buffer, length and alignment
 * (tests/unit/test_cksum.c checks it).
 */
#ifndef KC_CKSUM_H
#define KC_CKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_ip.h>

/* rte_raw_cksum(buf, len): the folded, non-complemented sum. */
static inline uint16_t kc_raw_cksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t a = 0, b = 0, v, w;

	for (; len >= 16; len -= 16, p += 16) {
		memcpy(&v, p, 8);
		memcpy(&w, p + 8, 8);
		a += (v & 0xffffffffu) + (v >> 32);
		b += (w & 0xffffffffu) + (w >> 32);
	}
	if (len > 0) {
		/* The last 1..15 bytes, zero-padded: an odd last byte ends up
		 * first in a zeroed word, as rte_raw_cksum has it. */
		uint8_t t[16] = { 0 };

		memcpy(t, p, len);
		memcpy(&v, t, 8);
		memcpy(&w, t + 8, 8);
		a += (v & 0xffffffffu) + (v >> 32);
		b += (w & 0xffffffffu) + (w >> 32);
	}
	a += b; /* each below 2^47 for any datagram: no overflow */
	a = (a & 0xffffffffu) + (a >> 32);
	a = (a & 0xffffffffu) + (a >> 32);
	a = (a & 0xffff) + (a >> 16);
	a = (a & 0xffff) + (a >> 16);
	return (uint16_t)a;
}

/* Fold a 32-bit partial sum to 16 bits. */
static inline uint16_t kc_cksum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* rte_ipv4_cksum(ip) for a 20-byte header whose checksum field is 0. */
static inline uint16_t kc_ipv4_cksum(const struct rte_ipv4_hdr *ip)
{
	uint16_t c = kc_raw_cksum(ip, sizeof(*ip));

	return c == 0xffff ? c : (uint16_t)~c;
}

/* The pseudo header's and the UDP datagram's sum, folded. */
static inline uint16_t kc_udp_sum(const struct rte_ipv4_hdr *ip,
				  const void *udp, uint16_t udp_len)
{
	return kc_cksum_fold(rte_ipv4_phdr_cksum(ip, 0) +
			     (uint32_t)kc_raw_cksum(udp, udp_len));
}

/* True if the UDP datagram's checksum (the field included) is right:
 * pseudo header plus datagram fold to 0xffff. */
static inline int kc_udp_cksum_ok(const struct rte_ipv4_hdr *ip,
				  const void *udp, uint16_t udp_len)
{
	return kc_udp_sum(ip, udp, udp_len) == 0xffff;
}

/* rte_ipv4_udptcp_cksum(ip, udp) for a UDP datagram of udp_len bytes whose
 * checksum field is 0: the value to put there (0 sent as 0xffff). */
static inline uint16_t kc_udp_cksum(const struct rte_ipv4_hdr *ip,
				    const void *udp, uint16_t udp_len)
{
	uint16_t c = (uint16_t)~kc_udp_sum(ip, udp, udp_len);

	return c == 0 ? 0xffff : c;
}

#endif /* KC_CKSUM_H */
