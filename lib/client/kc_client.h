/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * KCP client library: ordinary kernel UDP sockets, no DPDK. Used by kcctl,
 * the integration tests, and later tools. One kc_client is one socket and one
 * identity (client id + key); it is not thread-safe, so use one per thread.
 *
 * Every call sends one signed REQUEST and waits for the REPLY with the same
 * message id, retransmitting the identical datagram (same message id, same
 * tag) on timeout, up to retries times. Replies are verified with the key.
 */
#ifndef KC_CLIENT_H
#define KC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_auth.h"
#include "kc_proto.h"

struct kc_client;

struct kc_client_opts {
	const char *server;	/* "HOST" or "HOST:PORT"; port defaults to 60000 */
	uint32_t client_id;
	uint8_t key[KC_KEY_LEN];
	uint32_t timeout_ms;	/* per attempt; default 1000 */
	uint32_t retries;	/* extra attempts after the first; default 2 */
};

/* Outcome of one call, beyond the REPLY's own status. */
enum kc_client_err {
	KC_CLIENT_OK = 0,	   /* a REPLY arrived (check reply.status) */
	KC_CLIENT_TIMEOUT,	   /* no REPLY after every attempt */
	KC_CLIENT_BAD_REPLY_AUTH,  /* a REPLY whose tag failed verification */
	KC_CLIENT_BAD_REPLY,	   /* a REPLY that does not decode */
	KC_CLIENT_SYSTEM,	   /* socket error: see errno_value */
	KC_CLIENT_INVALID,	   /* bad argument (name, size) */
};

struct kc_reply {
	struct kc_hdr hdr;
	uint16_t status;
	uint32_t attempts;	/* how many sends it took */
	uint64_t rtt_us;	/* last send to REPLY */
	uint32_t payload_len;
	uint8_t payload[KC_PAYLOAD_MAX];
};

/* NULL on failure with a message in err. */
struct kc_client *kc_client_open(const struct kc_client_opts *o, char *err,
				 size_t err_len);
void kc_client_close(struct kc_client *c);

/* Fill opts' id and key from a keys file (its first entry, or the entry of
 * client_id when nonzero). 0 or -1 with a message in err. */
int kc_client_key_from_file(struct kc_client_opts *o, const char *path,
			    uint32_t client_id, char *err, size_t err_len);

/* Any op: payload as encoded by the kc_enc_* helpers of kc_proto.h. */
enum kc_client_err kc_client_call(struct kc_client *c, uint8_t op,
				  const void *payload, size_t len,
				  struct kc_reply *reply);

/* Convenience wrappers; reply->status tells the appliance's answer. */
enum kc_client_err kc_client_ping(struct kc_client *c, const void *data,
				  size_t len, struct kc_reply *reply);
/* TIME: the appliance's clock, nanoseconds since the Unix epoch. */
enum kc_client_err kc_client_time(struct kc_client *c, struct kc_reply *reply,
				  uint64_t *unix_ns);
enum kc_client_err kc_client_publish(struct kc_client *c, const char *queue,
				     const void *msg, size_t len,
				     struct kc_reply *reply, uint64_t *offset);
enum kc_client_err kc_client_fetch(struct kc_client *c, const char *queue,
				   uint64_t offset, uint16_t max,
				   struct kc_reply *reply,
				   struct kc_fetch_reply *fr);
enum kc_client_err kc_client_commit(struct kc_client *c, const char *queue,
				    const char *consumer, uint64_t offset,
				    struct kc_reply *reply);
enum kc_client_err kc_client_offset(struct kc_client *c, const char *queue,
				    const char *consumer,
				    struct kc_reply *reply, uint64_t *offset);

/*
 * The ledger (kc_proto.h, docs/protocol.md section 5). Each wrapper sends one
 * request signed with the client's key and, when the REPLY's status is OK,
 * decodes its payload into the out-arguments (left untouched otherwise);
 * an OK REPLY that does not decode is KC_CLIENT_BAD_REPLY. Counts are not
 * checked here against the protocol's limits: the appliance answers
 * BAD_REQUEST, and tests need to be able to provoke that.
 *
 * MINT and SPLIT: the new coins are first .. first + count - 1; a REPLY whose
 * count is not the number asked for is KC_CLIENT_BAD_REPLY too.
 */
enum kc_client_err kc_client_mint(struct kc_client *c, uint32_t account,
				  uint64_t denomination, uint32_t count,
				  struct kc_reply *reply, uint64_t *first);
/* *seq: the journal seq of the hop. */
enum kc_client_err kc_client_transfer(struct kc_client *c, uint32_t from,
				      uint32_t to, const uint64_t *coins,
				      uint16_t count, struct kc_reply *reply,
				      uint64_t *seq);
enum kc_client_err kc_client_split(struct kc_client *c, uint64_t coin,
				   const uint64_t *parts, uint16_t count,
				   struct kc_reply *reply, uint64_t *first);
/* *coin: the new coin, worth the sum of the merged ones. */
enum kc_client_err kc_client_merge(struct kc_client *c, const uint64_t *coins,
				   uint16_t count, struct kc_reply *reply,
				   uint64_t *coin);
enum kc_client_err kc_client_burn(struct kc_client *c, uint64_t coin,
				  struct kc_reply *reply, uint64_t *seq);
enum kc_client_err kc_client_balance(struct kc_client *c, uint32_t account,
				     struct kc_reply *reply,
				     uint64_t *balance, uint32_t *coins);
enum kc_client_err kc_client_coin(struct kc_client *c, uint64_t coin,
				  struct kc_reply *reply,
				  struct kc_coin_info *info);
/* One page of a coin's trail, from hop index skip (oldest first); tr->hops
 * points into reply->payload (walk it with kc_dec_hop). Page on with
 * skip = tr->first + tr->count until that reaches tr->total. */
enum kc_client_err kc_client_trail(struct kc_client *c, uint64_t coin,
				   uint32_t skip, struct kc_reply *reply,
				   struct kc_trail_reply *tr);
enum kc_client_err kc_client_audit(struct kc_client *c,
				   struct kc_reply *reply,
				   struct kc_audit *audit);

const char *kc_client_err_text(enum kc_client_err e);
/* errno of the last KC_CLIENT_SYSTEM. */
int kc_client_errno(const struct kc_client *c);

/* ---- service calls (docs/services.md) ------------------------------------
 *
 * A caller: kc_client_call_service sends a CALL and waits for the service's
 * answer, up to the deadline and a margin (its retries are absorbed by the
 * appliance while the call is in flight). OK with *cr: the service
 * answered OK and was paid cr->price; any other status: nothing was
 * charged (TIMEOUT, UNAVAILABLE, or the service's own error and text).
 *
 * A service: kc_client_serve registers this client (its address, as the
 * appliance sees it, is where deliveries go) for a type; renew it before
 * the lease ends. kc_client_next_call waits for the next call delivered:
 * each call is handed over once, however often the appliance delivers it,
 * and a call answered already is answered again with the same RESPOND.
 * kc_client_respond answers it.
 */
struct kc_delivery {
	uint8_t call_id[KC_CALL_ID_LEN];
	uint32_t caller;
	uint64_t deadline_ms;	/* wall clock, ms since the epoch */
	struct kc_name type;
	uint16_t payload_len;
	uint8_t payload[KC_CALL_PAYLOAD_MAX];
};

enum kc_client_err kc_client_serve(struct kc_client *c, const char *type,
				   uint64_t price, uint32_t max_inflight,
				   uint32_t lease_s, struct kc_reply *reply,
				   uint64_t *lease_until_ms);
enum kc_client_err kc_client_unserve(struct kc_client *c, const char *type,
				     struct kc_reply *reply);
/* 1: a new call in *d; 0: none within timeout_ms; -1: a socket error
 * (KC_CLIENT_SYSTEM's errno in kc_client_errno). */
int kc_client_next_call(struct kc_client *c, uint32_t timeout_ms,
			struct kc_delivery *d);
enum kc_client_err kc_client_respond(struct kc_client *c,
				     const uint8_t *call_id, uint16_t status,
				     const void *payload, size_t len,
				     struct kc_reply *reply);
enum kc_client_err kc_client_call_service(struct kc_client *c,
					  const char *type,
					  uint32_t deadline_ms,
					  const void *payload, size_t len,
					  const uint64_t *coins,
					  uint16_t count,
					  struct kc_reply *reply,
					  struct kc_call_reply *cr);
enum kc_client_err kc_client_report(struct kc_client *c,
				    const uint8_t *call_id, uint8_t kind,
				    const void *text, size_t len,
				    struct kc_reply *reply);

#endif /* KC_CLIENT_H */
