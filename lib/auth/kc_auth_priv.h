/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to lib/auth: what the single-message and burst paths share. */
#ifndef KC_AUTH_PRIV_H
#define KC_AUTH_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kc_proto.h"

/* Constant time: a timing difference would let an attacker guess a valid
 * tag byte by byte. Four word compares, no branch on the data. */
static inline bool kc_tag_equal(const uint8_t *a, const uint8_t *b)
{
	uint64_t d = 0;

	for (unsigned int i = 0; i < KC_TAG_LEN; i += 8) {
		uint64_t x, y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		d |= x ^ y;
		/* Opaque to the compiler: no early exit on a difference. */
		__asm__ volatile("" : "+r"(d));
	}
	return d == 0;
}

#endif /* KC_AUTH_PRIV_H */
