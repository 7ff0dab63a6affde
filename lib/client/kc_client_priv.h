/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the files of lib/client share: the client's state, and the steps
 * of a request (kc_client.c) that the service side (kc_client_svc.c)
 * uses too. Private to lib/client.
 */
#ifndef KC_CLIENT_PRIV_H
#define KC_CLIENT_PRIV_H

#include <time.h>

#include "kc_client.h"

/* Larger than any valid datagram, so an oversize one is seen as such. */
#define KC_CLIENT_RX_BUF (KC_DATAGRAM_MAX + 1u)

/* Calls DELIVERed while the client waited for a REPLY, kept for
 * kc_client_next_call; and what a service remembers of calls it saw. */
#define KC_CLIENT_DELIVERIES 32u
/* One size: a call seen is answered again from what it was answered. */
#define KC_CLIENT_SEEN 128u
#define KC_CLIENT_ANSWERED KC_CLIENT_SEEN

struct kc_client_svc {
	/* DELIVER datagrams, verified, oldest first. */
	uint8_t dq[KC_CLIENT_DELIVERIES][KC_DATAGRAM_MAX];
	uint16_t dq_len[KC_CLIENT_DELIVERIES];
	uint32_t dq_head, dq_tail;	/* free-running */
	/* Call ids handed to the service (a ring). */
	uint8_t seen[KC_CLIENT_SEEN][KC_CALL_ID_LEN];
	uint32_t seen_head;
	/* The RESPONDs sent last, to send again for a DELIVER of a call
	 * answered already (the RESPOND was lost on its way). */
	uint8_t ans_id[KC_CLIENT_ANSWERED][KC_CALL_ID_LEN];
	uint8_t ans[KC_CLIENT_ANSWERED][KC_DATAGRAM_MAX];
	uint16_t ans_len[KC_CLIENT_ANSWERED];
	uint32_t ans_head;
};

struct kc_client {
	int fd;
	uint32_t client_id;
	uint32_t timeout_ms;
	uint32_t retries;
	uint64_t seq;
	int errno_value;
	struct kc_key key;
	uint8_t tx[KC_DATAGRAM_MAX];
	uint8_t rx[KC_CLIENT_RX_BUF];
	struct kc_client_svc *svc;	/* made at the first service call */
};

uint64_t kc_client_now_ns(clockid_t clock);
/* A datagram in c->rx of n bytes that is a DELIVER for this client, its
 * tag verified: keep it for kc_client_next_call. True if it was one. */
bool kc_client_keep_delivery(struct kc_client *c, size_t n);

#endif /* KC_CLIENT_PRIV_H */
