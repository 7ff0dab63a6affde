/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Service calls (docs/services.md): the services registered for each
 * request type, the calls in flight and recently completed, the escrow of
 * their price in the ledger, and the arbiter's score and quarantine of
 * every service.
 *
 * A deterministic state machine over the journal, like the ledger beside
 * it on the same worker: every change goes through kc_services_apply, in
 * journal order, with the request's own time; the data path calls it for
 * each SERVE, UNSERVE, CALL, RESPOND, REPORT and SETTLE, recovery calls it
 * again for each one the journal says succeeded, and both end in the same
 * state. What only moves packets (where a service or a caller is on the
 * link, when a delivery is tried again) is kept beside the state and set
 * by the worker (kc_services_set_*).
 *
 * Time-driven changes (a deadline passed, a payment's hold ended, a
 * disputed payment of a quarantined service) are never made on their own:
 * kc_services_due names the call and the SETTLE action, the worker
 * journals a SETTLE request of its own and applies it like any other.
 *
 * Tables are sized at creation and never grow; nothing here allocates
 * after kc_services_create. Owned by one lcore: not thread-safe.
 */
#ifndef KC_SERVICES_H
#define KC_SERVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "kc_ledger.h"
#include "kc_proto.h"

#define KC_SVC_PER_TYPE_MAX 32u	/* services of one type */
#define KC_SVC_LAT_BUCKETS 24u	/* log2 of microseconds: 1 us .. 8 s */
#define KC_SVC_REPORTS_KEPT 64u	/* the latest REPORTs, for people */

struct kc_services_limits {
	uint32_t max_services;	/* (type, account) pairs ever registered */
	uint32_t max_types;
	uint32_t max_calls;	/* in flight plus completed, still kept */
	uint32_t max_payload;	/* bytes of a call's or a response's payload */
	uint32_t max_deadline_ms;
	uint32_t report_window_s; /* a REPORT may follow a call this long */
	uint32_t settle_hold_s;	/* a paid call's price waits this long for
				 * problem reports; 0: paid at once */
	uint32_t keep_s;	/* a completed call stays at least this
				 * long (retried CALLs, REPORTs): the
				 * replay window's span or longer */
	/* The arbiter. */
	uint32_t quarantine_below_ppm; /* score, in millionths */
	uint32_t min_calls;	/* outcomes before a score may quarantine */
	uint32_t quarantine_s;
};

struct kc_services;

/* NULL with rte_errno set; name unique in the process. */
struct kc_services *kc_services_create(const char *name,
				       const struct kc_services_limits *lim,
				       int socket_id);
void kc_services_free(struct kc_services *s);
/* Memory these limits take (start-up messages and checks). */
uint64_t kc_services_bytes(const struct kc_services_limits *lim);

/* Who asks, and from where (the address recorded with the request: the
 * journal's, on replay). */
struct kc_svc_caller {
	uint32_t client_id;
	bool internal;		/* the appliance itself (SETTLE) */
	uint32_t ip;		/* host order */
	uint16_t port;
	const uint8_t *msg_id;	/* the request's (a CALL's id) */
	uint64_t req_seq;	/* journal seq of the REQUEST (0: none) */
	/* Where it is on the link (KC_SVC_LINK_LEN bytes, the worker's):
	 * a SERVE keeps it for deliveries. NULL on replay: unknown until
	 * the service's next SERVE. */
	const uint8_t *link;
};

struct kc_svc_result {
	enum kc_status status;
	uint32_t len;		/* reply payload bytes */
	const char *reason;	/* an error's */
	uint32_t hop_len;	/* bytes of the LEDGER record in hop */
	int32_t deliver;	/* a CALL accepted: the call to deliver (its
				 * REPLY waits); else -1 */
	int32_t done;		/* a call whose caller's REPLY is ready now
				 * (kc_services_outcome); else -1 */
};

/*
 * Execute one service op: in, len the request payload; out, cap the
 * reply payload (may be in); hop_seq the journal seq its LEDGER record
 * will get; now_ns the request's time. An error changed nothing. A CALL
 * accepted replies with its kc_call_accept (the journal's record; the
 * caller hears later).
 */
void kc_services_apply(struct kc_services *s, struct kc_ledger *l,
		       const struct kc_svc_caller *c, uint8_t op,
		       const uint8_t *in, uint32_t len, uint64_t hop_seq,
		       uint64_t now_ns, uint8_t *out, uint32_t cap,
		       uint8_t *hop, struct kc_svc_result *r);

/* ---- calls, for the worker ---------------------------------------------- */

enum kc_call_state {
	KC_CALL_FREE = 0,
	KC_CALL_PENDING = 1,	/* delivered, waiting for the response */
	KC_CALL_HELD = 2,	/* answered OK, the price held for reports */
	KC_CALL_DISPUTED = 3,	/* held, a problem reported: an arbiter rules */
	KC_CALL_DONE = 4,	/* settled; kept for retries and REPORTs */
};
const char *kc_call_state_name(unsigned int state);

/* A call as the worker sees it (pointers into the services' memory,
 * valid until the next kc_services_apply). */
struct kc_call_view {
	const uint8_t *id;	/* KC_CALL_ID_LEN */
	uint8_t state;
	uint32_t caller;
	uint32_t service;	/* the service's account */
	struct kc_name type;
	uint64_t price;
	uint64_t deadline_ns;
	uint64_t req_seq;	/* of the CALL's REQUEST record */
	uint32_t caller_ip, service_ip;
	uint16_t caller_port, service_port;
	/* PENDING: the call's payload; after: the caller's REPLY payload. */
	uint16_t status;	/* the REPLY's (after PENDING) */
	uint16_t len;
	const uint8_t *data;
	uint64_t outcome_seq;	/* of its OUTCOME record (0: none yet) */
	uint64_t created_ns;	/* the CALL's time */
	uint64_t completed_ns;	/* the caller's REPLY's (0: not yet) */
	bool problem;		/* a problem was reported */
};
bool kc_services_call(const struct kc_services *s, int32_t slot,
		      struct kc_call_view *v);
/* The i-th most recently completed call still kept (0: the newest of
 * the last KC_SVC_RECENT), or -1. */
#define KC_SVC_RECENT 64u
int32_t kc_services_recent(const struct kc_services *s, uint32_t i);
/* The open calls (PENDING, HELD, DISPUTED), newest first: the one after
 * prev (-1: the first); -1 after the last. */
int32_t kc_services_open(const struct kc_services *s, int32_t prev);
/* Slots are 0 .. kc_services_slots - 1 (most are free). */
uint32_t kc_services_slots(const struct kc_services *s);
/* The slot of a call by its id, or -1. */
int32_t kc_services_find(const struct kc_services *s, const uint8_t *call_id);
/* The caller's REPLY of a completed call: status, payload (len bytes). */
void kc_services_outcome(const struct kc_services *s, int32_t slot,
			 uint16_t *status, const uint8_t **p, uint16_t *len);

/*
 * The next call a time-driven SETTLE is due for at now_ns: its slot
 * (*action set), or -1 when none. Cheap when nothing is due: it keeps the
 * earliest time anything falls due.
 */
int32_t kc_services_due(struct kc_services *s, uint64_t now_ns,
			uint8_t *action);
/* PENDING calls whose delivery should be sent again at now_ns: up to
 * max slots into out; each gets its next try after a backoff (20 ms,
 * doubling to 1 s). The first delivery is the worker's, when the CALL
 * is accepted: a call is due 20 ms after it. */
uint32_t kc_services_to_deliver(struct kc_services *s, uint64_t now_ns,
				int32_t *out, uint32_t max);

/* The journal seq of a completed call's OUTCOME record (the worker's and
 * recovery's to set: a retried CALL gets that REPLY once it is durable). */
void kc_services_set_outcome_seq(struct kc_services *s, int32_t slot,
				 uint64_t seq);

/* Transport beside the state: opaque bytes the worker keeps per service
 * (from each SERVE, kc_svc_caller.link) and per call (at each CALL and
 * retry). */
#define KC_SVC_LINK_LEN 16u
const uint8_t *kc_services_service_link(const struct kc_services *s,
					int32_t call_slot);
void kc_services_set_caller_link(struct kc_services *s, int32_t slot,
				 const uint8_t *link);
const uint8_t *kc_services_caller_link(const struct kc_services *s,
				       int32_t slot);

/* ---- the arbiter, and what the admin API shows ------------------------- */

struct kc_svc_stats {
	uint64_t calls;		/* accepted */
	uint64_t ok;
	uint64_t errors;	/* answered with an error status */
	uint64_t timeouts;
	uint64_t problems;	/* problem reports */
	uint64_t suggestions;
	uint64_t refunds;	/* after an OK: ruled or quarantine refunds */
	uint64_t revenue;	/* paid to it */
	uint64_t lat_us[KC_SVC_LAT_BUCKETS]; /* delivery to response */
};

struct kc_svc_info {
	struct kc_name type;
	uint32_t account;
	bool active;		/* registered and not UNSERVEd */
	bool lease_alive;	/* at the time asked */
	bool quarantined;
	uint64_t price;
	uint32_t max_inflight;
	uint32_t inflight;
	uint64_t lease_until_ns;
	uint64_t quarantined_until_ns;
	uint32_t quarantines;
	uint32_t score_ppm;	/* [0, 1e6] */
	uint32_t ip;
	uint16_t port;
	struct kc_svc_stats st;
};
/* Service i (0 <= i < kc_services_count) as of now_ns. */
uint32_t kc_services_count(const struct kc_services *s);
void kc_services_info(const struct kc_services *s, uint32_t i, uint64_t now_ns,
		      struct kc_svc_info *out);

struct kc_services_summary {
	uint32_t services, types;
	uint32_t calls_open;	/* PENDING, HELD or DISPUTED */
	uint32_t calls_kept;	/* every call in the table */
	uint64_t escrow;	/* the price of every open call */
	uint64_t calls, completed, timeouts, reports, quarantines;
};
void kc_services_summary(const struct kc_services *s,
			 struct kc_services_summary *out);

/* The i-th newest REPORT kept (0: the newest); false past the last. */
struct kc_svc_report {
	uint8_t call[KC_CALL_ID_LEN];
	uint8_t kind;		/* enum kc_report_kind */
	uint32_t caller, service;
	struct kc_name type;
	uint64_t time_ns;
	uint16_t len;
	char text[KC_REPORT_TEXT_MAX];
};
bool kc_services_report(const struct kc_services *s, uint32_t i,
			struct kc_svc_report *out);

/*
 * The arbiter's score of outcome weights (fixed point, exposed for the
 * unit test): successes and failures, each decayed by 1/32 per outcome.
 * (s + 1) / (s + f + 2) in millionths.
 */
#define KC_SVC_Q 65536u
uint32_t kc_services_score(uint64_t succ_q, uint64_t fail_q);

/*
 * Snapshots, written with the ledger's (a SNAPSHOT of kind SERVICES right
 * after the ledger's): services with their scores, the calls open and
 * kept (with their payloads and REPLYs) and the counters; not the
 * transport (links, delivery tries) nor the reports kept for people.
 * The encoding is deterministic: the same state gives the same bytes, so
 * recovery compares a snapshot with the state it replayed byte for byte.
 * kc_services_snapshot: bytes written, 0 if cap is too small.
 * kc_services_restore: into empty tables; 0, -EINVAL (does not decode,
 * or inconsistent), -ENOSPC (larger than these limits).
 */
uint64_t kc_services_snapshot_max(const struct kc_services_limits *lim);
/* The counts a snapshot's first bytes give (kcq): false if they are not
 * a services snapshot's. */
struct kc_services_snap_info {
	uint64_t calls, escrow;
	uint32_t services, calls_open, calls_done;
};
bool kc_services_snapshot_info(const uint8_t *buf, size_t len,
			       struct kc_services_snap_info *i);
/* At least the bytes kc_services_snapshot would write now (each call
 * counted with the longest payload), without writing them. */
uint64_t kc_services_snapshot_bound(const struct kc_services *s);
size_t kc_services_snapshot(const struct kc_services *s, uint8_t *buf,
			    size_t cap);
int kc_services_restore(struct kc_services *s, const uint8_t *buf,
			size_t len);

/*
 * Check every invariant of the services against the ledger: every open
 * call's escrow coin LIVE in KC_ACCOUNT_ESCROW with its price, the escrow
 * account's balance the sum of open calls' prices, in-flight counts equal
 * to the PENDING calls. 0, or the number of violations (*what says the
 * first).
 */
uint32_t kc_services_audit(const struct kc_services *s,
			   const struct kc_ledger *l, const char **what);

#endif /* KC_SERVICES_H */
