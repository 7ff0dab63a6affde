/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/pipeline/kc_cksum.h against DPDK's own checksum code:
 * the same raw sum as rte_raw_cksum for every length from 0 to 1600 bytes
 * at every alignment of 0 to 7, on random bytes and on the worst cases
 * (all 0x00, all 0xff); and the UDP checksum written and checked the way
 * rte_ipv4_udptcp_cksum does it, and the IPv4 header's as rte_ipv4_cksum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_ip.h>
#include <rte_udp.h>

#include "kc_cksum.h"

#define MAXLEN 1600

static uint8_t buf[MAXLEN + 8];

static void check_all_lengths(void)
{
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= MAXLEN; len++)
			assert_int_equal(kc_raw_cksum(buf + off, len),
					 rte_raw_cksum(buf + off, len));
}

static void test_raw_random(void **state)
{
	(void)state;
	srand(7);
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)rand();
		check_all_lengths();
	}
}

static void test_raw_extremes(void **state)
{
	(void)state;
	memset(buf, 0, sizeof(buf));
	check_all_lengths();
	assert_int_equal(kc_raw_cksum(buf, 64), 0);
	memset(buf, 0xff, sizeof(buf));
	check_all_lengths();
	assert_int_equal(kc_raw_cksum(buf, 64), 0xffff);
	/* The largest datagram: no accumulator overflows. */
	static uint8_t big[65535];
	memset(big, 0xff, sizeof(big));
	assert_int_equal(kc_raw_cksum(big, sizeof(big)),
			 rte_raw_cksum(big, sizeof(big)));
}

static void test_udp(void **state)
{
	struct {
		struct rte_ipv4_hdr ip;
		struct rte_udp_hdr udp;
		uint8_t payload[200];
	} __attribute__((packed)) f;

	(void)state;
	srand(11);
	for (uint16_t plen = 0; plen <= sizeof(f.payload); plen++) {
		uint16_t ulen = (uint16_t)(sizeof(f.udp) + plen);

		memset(&f, 0, sizeof(f));
		f.ip.version_ihl = RTE_IPV4_VHL_DEF;
		f.ip.next_proto_id = IPPROTO_UDP;
		f.ip.total_length = rte_cpu_to_be_16(
			(uint16_t)(sizeof(f.ip) + ulen));
		f.ip.src_addr = (uint32_t)rand();
		f.ip.dst_addr = (uint32_t)rand();
		f.udp.src_port = (uint16_t)rand();
		f.udp.dst_port = (uint16_t)rand();
		f.udp.dgram_len = rte_cpu_to_be_16(ulen);
		for (uint16_t i = 0; i < plen; i++)
			f.payload[i] = (uint8_t)rand();

		f.ip.hdr_checksum = 0;
		assert_int_equal(kc_ipv4_cksum(&f.ip), rte_ipv4_cksum(&f.ip));
		f.udp.dgram_cksum = kc_udp_cksum(&f.ip, &f.udp, ulen);
		assert_int_not_equal(f.udp.dgram_cksum, 0);
		f.udp.dgram_cksum = 0;
		assert_int_equal(kc_udp_cksum(&f.ip, &f.udp, ulen),
				 rte_ipv4_udptcp_cksum(&f.ip, &f.udp));
		f.udp.dgram_cksum = rte_ipv4_udptcp_cksum(&f.ip, &f.udp);
		assert_true(kc_udp_cksum_ok(&f.ip, &f.udp, ulen));
		/* Any flipped bit is caught. */
		f.payload[plen / 2] ^= plen == 0 ? 0 : 0x10;
		f.udp.src_port ^= plen == 0 ? 0x0100 : 0;
		assert_false(kc_udp_cksum_ok(&f.ip, &f.udp, ulen));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_random),
		cmocka_unit_test(test_raw_extremes),
		cmocka_unit_test(test_udp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
