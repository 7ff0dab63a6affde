/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The appliance's limits that more than one library knows of, each under
 * one name, with how they relate as compile-time checks (TigerBeetle's
 * constants.zig is the model). A limit that one library alone sizes by
 * stays in that library's header; the wire format's limits are the
 * protocol's (lib/proto/kc_proto.h: KC_PAYLOAD_MAX, KC_NAME_MAX, ...) and
 * the kernel module compiles them without this header.
 *
 * Error texts print these constants rather than restate a number: with
 * %u at run time, or KC_STR(KC_BURST_MAX) in a text built at compile time
 * (the config's expected values), which is why they have no u suffix.
 */
#ifndef KC_LIMITS_H
#define KC_LIMITS_H

#include <stdint.h>

#include "kc_proto.h"

#define KC_STR_(x) #x
#define KC_STR(x) KC_STR_(x)

/* ---- the lcore map and the ports -------------------------------------- */

#define KC_PORTS_MAX 8		/* ports in one config */
#define KC_LCORE_ID_MAX 63	/* EAL lcore ids 0..63 */
#define KC_LCORES_MAX (KC_LCORE_ID_MAX + 1)
#define KC_CPUS_MAX 1024	/* CPU ids 0..1023 (glibc's CPU_SETSIZE) */
#define KC_WORKERS_MAX 16	/* worker lcores, so queue and journal shards */
#define KC_BURST_MAX 256	/* packets in one rx, ring or tx burst */

_Static_assert(KC_PORTS_MAX <= UINT8_MAX,
	       "the pipeline maps a port id to its index in a byte");
_Static_assert(KC_WORKERS_MAX <= KC_LCORES_MAX,
	       "each worker is an lcore of its own");
_Static_assert(KC_CPUS_MAX >= KC_LCORES_MAX,
	       "each lcore can have a CPU of its own");
_Static_assert(KC_BURST_MAX <= UINT16_MAX,
	       "rte_eth_rx_burst counts a burst in 16 bits");

/* ---- idempotency ------------------------------------------------------ */

/*
 * Longest REPLY payload the message-id index keeps for a retry: every
 * state-changing op's OK REPLY, and every reason text the worker, the
 * queues and the ledger give a state-changing op, are shorter (the ledger's
 * unit test checks each of its reasons).
 */
#define KC_IDEM_REPLY_MAX 80

_Static_assert(KC_IDEM_REPLY_MAX <= UINT8_MAX,
	       "an index entry counts its REPLY bytes in a byte");
_Static_assert(KC_IDEM_REPLY_MAX >= 8u,
	       "a u64 REPLY (PUBLISH, TRANSFER, BURN, MERGE) fits the index");
_Static_assert(KC_IDEM_REPLY_MAX >= KC_COINS_REPLY_LEN,
	       "a MINT or SPLIT REPLY fits the index");

#endif /* KC_LIMITS_H */
