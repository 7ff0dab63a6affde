/* SPDX-License-Identifier: BSD-3-Clause */
/* Hand-made ledger hop records, for the analytics' tests and fuzz_admin. */
#ifndef KC_TEST_HOPS_H
#define KC_TEST_HOPS_H

#include <stdint.h>
#include <string.h>

#include "kc_ledger.h"
#include "kc_proto.h"

/* A hop record as the ledger writes it (kc_ledger.h): kind, version,
 * nb_in, nb_out, reserved, from, to; the coins in (coin, denomination,
 * previous hop), the coins out (coin, denomination); a call's id for the
 * call kinds. */
static inline uint32_t kc_test_hop(uint8_t *p, uint8_t kind, uint32_t from, uint32_t to,
		    const uint64_t *in, uint16_t nb_in, const uint64_t *out,
		    uint16_t nb_out)
{
	uint32_t n = KC_HOPREC_FIXED;

	memset(p, 0, KC_HOPREC_MAX);
	p[0] = kind;
	p[1] = KC_HOPREC_VERSION;
	kc_put_u16(p + 2, nb_in);
	kc_put_u16(p + 4, nb_out);
	kc_put_u32(p + 8, from);
	kc_put_u32(p + 12, to);
	for (uint16_t i = 0; i < nb_in; i++, n += KC_HOPREC_IN_LEN) {
		kc_put_u64(p + n, 100u + i);
		kc_put_u64(p + n + 8, in[i]);
		kc_put_u64(p + n + 16, 1);
	}
	for (uint16_t i = 0; i < nb_out; i++, n += KC_HOPREC_OUT_LEN) {
		kc_put_u64(p + n, 200u + i);
		kc_put_u64(p + n + 8, out[i]);
	}
	if (kc_hop_kind_names_call(kind))
		n += KC_CALL_ID_LEN; /* zeros: the call's id */
	return n;
}

#endif /* KC_TEST_HOPS_H */
