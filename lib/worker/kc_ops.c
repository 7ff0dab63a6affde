/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Op dispatch of the worker stage: execute one authenticated request against
 * the worker's queues and rewrite its mbuf into the signed REPLY, with the
 * REQUEST and the REPLY appended to the worker's journal shard.
 *
 * kc_ops_apply is the one place an op changes state. The data path calls it
 * on the request's own mbuf; recovery calls it on each REQUEST record of the
 * journal, in journal order, and checks that it gives the REPLY the journal
 * recorded. Ledger ops become more cases of its switch.
 */
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "kc_worker.h"

uint32_t kc_ops_shard(const struct rte_mbuf *m)
{
	const uint8_t *kcp = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						     KC_KCP_OFF);
	uint32_t plen = kc_get_u32(kcp + KC_OFF_PAYLOAD_LEN);
	const uint8_t *payload = kcp + KC_HDR_LEN;

	switch (kc_op_info(kcp[KC_OFF_OP])->owner) {
	case KC_OWNER_QUEUE:
		/* Every queue op starts with the queue name: the owner. */
		if (plen >= 1u && payload[0] >= 1u && payload[0] < plen)
			return rte_hash_crc(payload + 1, payload[0], 0);
		break;
	case KC_OWNER_LEDGER:
	case KC_OWNER_SERVICES:
		/* One ledger, on worker 0: a TRANSFER touches any coins;
		 * a call's price goes into its escrow. */
		return 0;
	default:
		break;
	}
	/* Ops without a queue (and malformed ones) go to any worker. */
	return rte_hash_crc(kcp + KC_OFF_MSG_ID, KC_MSG_ID_LEN, 0);
}

static void set_error(struct kc_op_result *r, enum kc_status s,
		      const char *reason)
{
	r->status = s;
	r->reason = reason;
}

static void op_publish(struct kc_queue_store *qs, const uint8_t *in,
		       uint32_t len, uint64_t seq, uint8_t *out, uint32_t cap,
		       struct kc_op_result *r)
{
	struct kc_publish_req req;
	uint64_t offset;

	if (kc_dec_publish(in, len, &req) != KC_STATUS_OK) {
		set_error(r, KC_STATUS_BAD_REQUEST,
			  "PUBLISH wants a queue name and a message");
		return;
	}
	r->status = kc_queue_publish(qs, &req.queue, req.msg,
				     req.msg_len, seq, &offset);
	if (r->status == KC_STATUS_OK)
		r->len = (uint32_t)kc_enc_u64_reply(out, cap, offset);
	else
		r->reason = kc_publish_reason(r->status);
}

static void op_fetch(struct kc_queue_store *qs, const uint8_t *in,
		     uint32_t len, uint8_t *out, uint32_t cap,
		     struct kc_op_result *r)
{
	struct kc_fetch_req req;
	struct kc_fetch_reply fr;

	if (kc_dec_fetch(in, len, &req) != KC_STATUS_OK) {
		set_error(r, KC_STATUS_BAD_REQUEST,
			  "FETCH wants a queue name, an offset and a count");
		return;
	}
	/* The request was decoded into req: its bytes may be overwritten. */
	r->status = kc_queue_fetch(qs, &req.queue, req.offset, req.max,
				   out + KC_FETCH_REPLY_FIXED,
				   cap - KC_FETCH_REPLY_FIXED, &fr);
	if (r->status != KC_STATUS_OK) {
		r->reason = "no such queue";
		return;
	}
	kc_enc_fetch_reply_fixed(out, &fr);
	r->len = KC_FETCH_REPLY_FIXED + fr.records_len;
}

static void op_commit(struct kc_queue_store *qs, const uint8_t *in,
		      uint32_t len, uint8_t *out, uint32_t cap,
		      struct kc_op_result *r)
{
	struct kc_commit_req req;

	if (kc_dec_commit(in, len, &req) != KC_STATUS_OK) {
		set_error(r, KC_STATUS_BAD_REQUEST,
			  "COMMIT wants a queue, a consumer and an offset");
		return;
	}
	r->status = kc_queue_commit(qs, &req.queue, &req.consumer,
				    req.offset);
	/* OK carries no payload (docs/protocol.md): the client knows the
	 * offset it asked for. */
	if (r->status == KC_STATUS_NOT_FOUND)
		r->reason = "no such queue";
	else if (r->status == KC_STATUS_OUT_OF_RANGE)
		r->reason = "offset is outside what the queue holds (past its "
			    "end, or trimmed)";
	else
		r->reason = "max_consumers_per_queue reached";
}

static void op_offset(struct kc_queue_store *qs, const uint8_t *in,
		      uint32_t len, uint8_t *out, uint32_t cap,
		      struct kc_op_result *r)
{
	struct kc_offset_req req;
	uint64_t offset;

	if (kc_dec_offset(in, len, &req) != KC_STATUS_OK) {
		set_error(r, KC_STATUS_BAD_REQUEST,
			  "OFFSET wants a queue and a consumer");
		return;
	}
	r->status = kc_queue_committed(qs, &req.queue, &req.consumer,
				       &offset);
	if (r->status == KC_STATUS_OK)
		r->len = (uint32_t)kc_enc_u64_reply(out, cap, offset);
	else
		r->reason = "no such queue or no offset committed by "
			    "that consumer";
}

/* The ops of the queue store. */
static void op_queue(struct kc_queue_store *qs, uint8_t op, const uint8_t *in,
		     uint32_t len, uint64_t seq, uint8_t *out, uint32_t cap,
		     struct kc_op_result *r)
{
	switch (op) {
	case KC_OP_PUBLISH:
		op_publish(qs, in, len, seq, out, cap, r);
		break;
	case KC_OP_FETCH:
		op_fetch(qs, in, len, out, cap, r);
		break;
	case KC_OP_COMMIT:
		op_commit(qs, in, len, out, cap, r);
		break;
	case KC_OP_OFFSET:
		op_offset(qs, in, len, out, cap, r);
		break;
	default:
		set_error(r, KC_STATUS_UNKNOWN_OP, "not a queue operation");
		break;
	}
}

/* The ops that read or change no state of the appliance's. */
static void op_stateless(const struct kc_op_env *env, uint8_t op,
			 const uint8_t *in, uint32_t len, uint8_t *out,
			 uint32_t cap, struct kc_op_result *r)
{
	switch (op) {
	case KC_OP_PING:
		if (out != in)
			memmove(out, in, len);
		r->len = len; /* the payload is echoed */
		break;
	case KC_OP_TIME:
		/* The worker's clock of this burst (CLOCK_REALTIME). */
		if (len != 0)
			set_error(r, KC_STATUS_BAD_REQUEST,
				  "TIME takes no arguments");
		else
			r->len = (uint32_t)kc_enc_u64_reply(out, cap,
							    env->now_ns);
		break;
	default:
		set_error(r, KC_STATUS_UNKNOWN_OP, "not a stateless operation");
		break;
	}
}

static void op_ledger(const struct kc_op_env *env, uint8_t op,
		      const uint8_t *in, uint32_t len, uint64_t seq,
		      uint8_t *out, uint32_t cap, struct kc_op_result *r)
{
	struct kc_ledger_result lr;

	if (env->ledger == NULL) {
		set_error(r, KC_STATUS_UNAVAILABLE,
			  "the ledger is off (ledger.enabled: false)");
		return;
	}
	if (kc_op_info(op)->flags & KC_OPF_DEFERRED) {
		/* kc_ops_execute hands TRAILs to the ledger's control
		 * thread; one only gets here with no journal to read. */
		set_error(r, KC_STATUS_UNAVAILABLE, "TRAIL reads the journal "
			  "and this appliance has none (journal.dir)");
		return;
	}
	kc_ledger_apply(env->ledger, &env->caller, op, in, len,
			seq != 0 ? kc_jrec_hop_seq(seq) : 0, env->now_ns, out, cap,
			env->hop, &lr);
	r->status = lr.status;
	r->len = lr.len;
	r->reason = lr.reason;
	r->hop_len = lr.hop_len;
}

/* Service calls (lib/services), beside the ledger on its worker. */
static void op_services(const struct kc_op_env *env, uint8_t op,
			const uint8_t *in, uint32_t len, uint64_t seq,
			uint8_t *out, uint32_t cap, struct kc_op_result *r)
{
	const struct kc_svc_caller c = {
		.client_id = env->caller.client_id, .internal = env->internal,
		.ip = env->src_ip, .port = env->src_port,
		.msg_id = env->msg_id, .req_seq = seq, .link = env->link,
	};
	struct kc_svc_result sr;

	if (env->svc == NULL || env->ledger == NULL) {
		set_error(r, KC_STATUS_UNAVAILABLE, "service calls are off "
			  "(services.enabled: false)");
		return;
	}
	kc_services_apply(env->svc, env->ledger, &c, op, in, len,
			  seq != 0 ? kc_jrec_hop_seq(seq) : 0, env->now_ns, out,
			  cap, env->hop, &sr);
	r->status = sr.status;
	r->len = sr.len;
	r->reason = sr.reason;
	r->hop_len = sr.hop_len;
	r->deliver = sr.deliver;
	r->done = sr.done;
}

void kc_ops_apply(const struct kc_op_env *env, uint8_t op, const uint8_t *in,
		  uint32_t len, uint64_t seq, uint8_t *out, uint32_t cap,
		  struct kc_op_result *r)
{
	const struct kc_op_info *info = kc_op_info(op);
	struct kc_queue_store *qs = env->qs;
	struct kc_lcore_stats *st = env->st;

	r->status = KC_STATUS_OK;
	r->len = 0;
	r->reason = NULL;
	r->hop_len = 0;
	r->deliver = r->done = -1;
	st->c[kc_op_counter(op)]++;
	/* The op table says which state machine executes it. */
	if (info->name == NULL)
		set_error(r, KC_STATUS_UNKNOWN_OP,
			  "operation not known to this appliance");
	else if (info->owner == KC_OWNER_QUEUE)
		op_queue(qs, op, in, len, seq, out, cap, r);
	else if (info->owner == KC_OWNER_LEDGER)
		op_ledger(env, op, in, len, seq, out, cap, r);
	else if (info->owner == KC_OWNER_SERVICES)
		op_services(env, op, in, len, seq, out, cap, r);
	else
		op_stateless(env, op, in, len, out, cap, r);
	if (r->status == KC_STATUS_BAD_REQUEST)
		st->c[KC_CTR_op_bad_request]++;
	kc_ops_error_text(r, out);
}

void kc_ops_error_text(struct kc_op_result *r, uint8_t *out)
{
	if (r->status == KC_STATUS_OK)
		return;
	if (r->reason == NULL)
		r->reason = kc_status_text(r->status);
	r->len = (uint32_t)RTE_MIN(strlen(r->reason), KC_ERROR_TEXT_MAX);
	memcpy(out, r->reason, r->len);
}

/*
 * The journal record of a KCP message of this mbuf. A FETCH REPLY keeps
 * only its fixed part: the messages it carries are already journaled, as
 * the PUBLISHes they came from.
 */
static uint64_t journal_kcp(struct kc_worker_state *w, enum kc_jrec_type type,
			    const uint8_t *kcp, uint32_t kcp_len, uint64_t ref,
			    uint32_t ip, uint16_t port, uint8_t flags,
			    uint8_t **open)
{
	uint8_t *rec;
	uint64_t seq;
	struct kc_jrec h = {
		.payload_len = kcp_len,
		.type = (uint8_t)type,
		.op = kcp[KC_OFF_OP],
		.status = kc_get_u16(kcp + KC_OFF_STATUS),
		.client_id = kc_get_u32(kcp + KC_OFF_CLIENT_ID),
		.time_ns = w->now_ns,
		.client_ip = ip,
		.client_port = port,
		.flags = flags,
		.ref = ref,
	};

	/* A FETCH's messages are the PUBLISHes', a TRAIL's hops the
	 * LEDGER records it read: the op table says how much to keep. */
	const uint32_t keep = kc_op_info(h.op)->abridged_len;

	if (type == KC_JREC_REPLY && keep != 0 && h.status == KC_STATUS_OK &&
	    kcp_len > KC_HDR_LEN + keep) {
		h.payload_len = KC_HDR_LEN + keep;
		h.flags |= KC_JREC_F_ABRIDGED;
	}
	memcpy(h.msg_id, kcp + KC_OFF_MSG_ID, KC_MSG_ID_LEN);
	/* A whole KCP header, and a REPLY right after its REQUEST: the
	 * reading rules recovery and kcq go by (kc_jwalk). */
	RTE_VERIFY(h.payload_len >= KC_HDR_LEN);
	w->st->c[KC_CTR_journal_records]++;
	w->req_bytes += kc_jrec_size(h.payload_len);
	seq = kc_journal_append_open(w->j, &h, kcp, &rec);
	if (open != NULL)
		*open = rec;
	else
		kc_jrec_seal(rec);
	RTE_VERIFY(type != KC_JREC_REPLY || seq == ref + 1);
	return seq;
}

uint64_t kc_ops_journal_kcp(struct kc_worker_state *w, enum kc_jrec_type type,
			    const uint8_t *kcp, uint32_t kcp_len, uint64_t ref,
			    uint32_t ip, uint16_t port, uint8_t flags)
{
	return journal_kcp(w, type, kcp, kcp_len, ref, ip, port, flags, NULL);
}

/* The record of the REQUEST or REPLY in m; a REPLY's left open at *open
 * (its tag to come) unless open is NULL. */
static uint64_t journal_msg(struct kc_worker_state *w, struct rte_mbuf *m,
			    enum kc_jrec_type type, const uint8_t *kcp,
			    uint32_t kcp_len, uint64_t ref, uint8_t **open)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
		const struct rte_ipv4_hdr *, KC_L2_LEN);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);
	const uint8_t op = kcp[KC_OFF_OP];
	/* An accepted CALL's REPLY record is not sent: the caller's REPLY
	 * is its OUTCOME, when the call completes. */
	const uint8_t flags = type == KC_JREC_REPLY &&
			      (kc_op_info(op)->flags & KC_OPF_HELD) &&
			      kc_get_u16(kcp + KC_OFF_STATUS) ==
				      KC_STATUS_OK ? KC_JREC_F_HELD : 0;

	/* The REPLY's addresses are swapped only after it is journaled:
	 * both records name the client's. */
	return journal_kcp(w, type, kcp, kcp_len, ref,
			   rte_be_to_cpu_32(ip->src_addr),
			   rte_be_to_cpu_16(udp->src_port), flags, open);
}

/* Answer without executing: the journal cannot take the request, for
 * the reason room gives. */
static enum kc_status refusal(struct kc_worker_state *w,
			      enum kc_journal_room room, const char **reason)
{
	if (room == KC_ROOM_FAILED) {
		w->st->c[KC_CTR_refused_storage_failed]++;
		*reason = "journal write failed: nothing is accepted until "
			  "the appliance restarts";
		return KC_STATUS_STORAGE_FAILED;
	}
	/* Out of preallocated space with no spare to be had: disk full.
	 * (With the state OK, the spare is on its way: busy.) */
	if (room == KC_ROOM_DISK &&
	    kc_journal_state(w->j) == KC_JOURNAL_FULL) {
		w->st->c[KC_CTR_refused_storage_full]++;
		*reason = "journal storage is full (or cannot grow)";
		return KC_STATUS_STORAGE_FULL;
	}
	w->st->c[KC_CTR_refused_journal_busy]++;
	*reason = "journal busy: too many requests awaiting the disk";
	return KC_STATUS_UNAVAILABLE;
}

static bool pending_full(const struct kc_worker_state *w)
{
	return w->pend_head - w->pend_tail >= w->pend_limit;
}

/*
 * A read that is not journaled (journal.reads: none) still shows only
 * what is durable: with durability batch its REPLY waits for everything
 * the shard appended before it, as a journaled REPLY would. A read of no
 * state (PING, TIME) leaves at once. False when it would have to wait
 * and the held FIFO is full.
 */
static bool read_hold(struct kc_worker_state *w, uint8_t op, uint64_t *seq)
{
	uint64_t last;

	if (kc_op_info(op)->owner == KC_OWNER_NONE ||
	    kc_journal_durability(w->j) != KC_DURABILITY_BATCH)
		return true;
	last = kc_journal_last_seq(w->j);
	if (last <= kc_journal_durable_seq(w->j))
		return true;
	if (pending_full(w))
		return false;
	*seq = last;
	return true;
}

/* The REPLY's header in place (at kcp, r->len payload bytes), but for
 * its tag. */
static void reply_header(uint8_t *kcp, const struct kc_op_result *r)
{
	kcp[KC_OFF_TYPE] = KC_TYPE_REPLY;
	kc_put_u16(kcp + KC_OFF_STATUS, (uint16_t)r->status);
	kc_put_u32(kcp + KC_OFF_PAYLOAD_LEN, r->len);
}

/* The REPLY's header and tag, now. */
static void sign_reply(const struct kc_key *key, uint8_t *kcp,
		       const struct kc_op_result *r)
{
	reply_header(kcp, r);
	kc_auth_sign(key, kcp, KC_HDR_LEN + r->len);
}

/* Its tag, into its journal record, which is then whole. */
static void seal_reply(uint8_t *rec, const uint8_t *kcp)
{
	memcpy(rec + KC_JREC_HDR_LEN + KC_OFF_TAG, kcp + KC_OFF_TAG,
	       KC_TAG_LEN);
	kc_jrec_seal(rec);
}

/*
 * The REPLYs of a burst are signed together (kc_auth_sign_burst), as the
 * RX stage verifies its requests. What a REPLY's tag is needed for waits
 * until then: its frame's addresses and checksums, and its journal
 * record, appended in its place with the tag to come and sealed here.
 * The records stay in the order the requests came; only the work moves.
 */
void kc_ops_sign_flush(struct kc_worker_state *w)
{
	struct kc_sign_batch *b = &w->sign;

	if (b->n == 0)
		return;
	kc_auth_sign_burst(w->auth_mb, b->keys, b->kcp, b->len, b->n);
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->rec[i] != NULL)
			seal_reply(b->rec[i], b->kcp[i]);
		/* It fits: finish() made sure. */
		RTE_VERIFY(kc_pkt_finish_reply(w->pc, b->m[i], b->len[i]));
	}
	b->n = 0;
}

static void sign_later(struct kc_worker_state *w, struct rte_mbuf *m,
		       const struct kc_key *key, uint8_t *kcp, uint32_t len,
		       uint8_t *rec)
{
	struct kc_sign_batch *b = &w->sign;

	if (b->n == KC_SIGN_BATCH_MAX)
		kc_ops_sign_flush(w);
	b->m[b->n] = m;
	b->keys[b->n] = key;
	b->kcp[b->n] = kcp;
	b->len[b->n] = len;
	b->rec[b->n] = rec;
	b->n++;
}

/* Answered before: the first REPLY again, held like it if not yet on
 * disk. False if it would have to be held and cannot be. */
static bool duplicate(struct kc_worker_state *w, const struct kc_idem_entry *e,
		      uint8_t *payload, struct kc_op_result *r, uint64_t *seq)
{
	if (e->seq > kc_journal_durable_seq(w->j) && pending_full(w))
		return false;
	r->status = (enum kc_status)e->status;
	r->len = e->len;
	memcpy(payload, e->reply, e->len);
	*seq = e->seq;
	w->st->c[KC_CTR_kcp_duplicates]++;
	return true;
}

/*
 * The replay window: a message id far from the appliance's clock, or
 * older than what the index still remembers of its client, could be a
 * replay or a retry of something forgotten. NULL when acceptable.
 */
static const char *outside_window(const struct kc_worker_state *w,
				  const uint8_t *msg_id, bool mutates,
				  uint32_t client)
{
	uint64_t now_ms = w->now_ns / 1000000u;
	uint64_t id_ms = kc_msg_id_time_ms(msg_id);

	if (id_ms + w->window_ms < now_ms) {
		w->st->c[KC_CTR_kcp_expired_old]++;
		return "message id is older than the replay window "
		       "(idempotency.window_s)";
	}
	if (id_ms > now_ms + w->skew_ms) {
		w->st->c[KC_CTR_kcp_expired_ahead]++;
		return "message id is ahead of the appliance's clock by more "
		       "than idempotency.max_clock_skew_s";
	}
	if (mutates && id_ms <= kc_idem_horizon(w->idem, client)) {
		w->st->c[KC_CTR_kcp_expired_forgotten]++;
		return "message id no longer remembered: it may have been "
		       "executed; read the state before sending it again "
		       "with a new id";
	}
	return NULL;
}

static void remember(struct kc_worker_state *w, const uint8_t *kcp,
		     uint32_t client, uint64_t seq, uint32_t req_tag,
		     const struct kc_op_result *r)
{
	struct kc_idem_entry e = {
		.seq = seq,
		.arrival_ms = w->now_ns / 1000000u,
		.client = client,
		.req_tag = req_tag,
		.status = (uint16_t)r->status,
		.len = (uint8_t)RTE_MIN(r->len, (uint32_t)KC_IDEM_REPLY_MAX),
		.op = kcp[KC_OFF_OP],
	};
	bool evicted;

	memcpy(e.msg_id, kcp + KC_OFF_MSG_ID, KC_MSG_ID_LEN);
	memcpy(e.reply, kcp + KC_HDR_LEN, e.len);
	if (r->len > KC_IDEM_REPLY_MAX || !kc_idem_insert(w->idem, &e, &evicted))
		w->st->c[KC_CTR_idem_not_kept]++;
	else if (evicted)
		w->st->c[KC_CTR_idem_evicted_full]++;
}

/* The hop record of a ledger mutation, right after its REPLY. */
uint64_t kc_ops_journal_hop(struct kc_worker_state *w, const uint8_t *kcp,
			    uint64_t req_seq, uint32_t hop_len)
{
	struct kc_jrec h = {
		.payload_len = hop_len,
		.type = KC_JREC_LEDGER,
		.op = kcp[KC_OFF_OP],
		.client_id = kc_get_u32(kcp + KC_OFF_CLIENT_ID),
		.time_ns = w->now_ns,
		.ref = req_seq,
	};
	uint64_t seq;

	memcpy(h.msg_id, kcp + KC_OFF_MSG_ID, KC_MSG_ID_LEN);
	w->st->c[KC_CTR_journal_records]++;
	w->req_bytes += kc_jrec_size(hop_len);
	seq = kc_journal_append(w->j, &h, w->ledger->hop);
	/* The ledger named the hop by this seq before it was appended. */
	RTE_VERIFY(seq == kc_jrec_hop_seq(req_seq));
	return seq;
}

/*
 * Turn the mbuf into the REPLY frame, signed with its burst's; hold it
 * until seq is durable. rec: its REPLY record, open for the tag, or NULL.
 * drop: not to be sent (the reflection limit), its record sealed still.
 */
static enum kc_exec finish(struct kc_worker_state *w, struct rte_mbuf *m,
			   const struct kc_key *key, uint8_t *kcp,
			   const struct kc_op_result *r, uint64_t seq,
			   uint8_t *rec, bool drop)
{
	const uint32_t len = KC_HDR_LEN + r->len;

	if (r->status != KC_STATUS_OK)
		w->st->c[KC_CTR_kcp_error_replies]++;
	reply_header(kcp, r);
	if (drop || !kc_pkt_reply_fits(m, len)) {
		/* The mbuf is freed now: its record cannot wait. */
		if (rec != NULL) {
			kc_auth_sign(key, kcp, len);
			seal_reply(rec, kcp);
		}
		if (!drop)
			w->st->c[KC_CTR_drop_no_mbuf]++;
		return KC_EXEC_DROP;
	}
	sign_later(w, m, key, kcp, len, rec);
	w->st->c[KC_CTR_kcp_replies]++;
	if (seq != 0 && kc_journal_durability(w->j) == KC_DURABILITY_BATCH &&
	    seq > kc_journal_durable_seq(w->j)) {
		struct kc_pending *pe = &w->pend[w->pend_head & w->pend_mask];

		/* Room: requests were refused while the FIFO was full
		 * (pending_full), and it holds more than journal.max_pending. */
		RTE_VERIFY(w->pend_head - w->pend_tail < w->pend_size);
		pe->m = m;
		pe->seq = seq;
		pe->own = false;
		w->pend_head++;
		w->st->c[KC_CTR_kcp_held]++;
		return KC_EXEC_HELD;
	}
	return KC_EXEC_SEND;
}

/*
 * Hand a TRAIL to the ledger's control thread, which reads the journal.
 * False with r set when it is answered here instead (malformed, unknown
 * coin, too many in flight).
 */
static bool trail_defer(struct kc_worker_state *w, struct rte_mbuf *m,
			const uint8_t *payload, uint32_t plen, uint32_t room,
			struct kc_op_result *r)
{
	struct kc_ledger_ws *lw = w->ledger;
	struct kc_trail_req q;
	struct kc_trail_job *job;
	uint64_t last;

	w->st->c[kc_op_counter(KC_OP_TRAIL)]++;
	if (kc_dec_trail(payload, plen, &q) != KC_STATUS_OK) {
		set_error(r, KC_STATUS_BAD_REQUEST,
			  "TRAIL wants a coin and a count of hops to skip");
		w->st->c[KC_CTR_op_bad_request]++;
		return false;
	}
	r->status = kc_ledger_trail_from(lw->l, q.coin, &last, &r->reason);
	if (r->status != KC_STATUS_OK)
		return false;
	if (lw->nb_free == 0 || room < KC_TRAIL_SCRATCH_OFF +
					       KC_TRAIL_REPLY_FIXED) {
		set_error(r, KC_STATUS_UNAVAILABLE, "too many TRAILs in "
			  "progress; retry");
		w->st->c[KC_CTR_trail_busy]++;
		return false;
	}
	job = lw->free_jobs[--lw->nb_free];
	*job = (struct kc_trail_job){
		.m = m, .coin = q.coin, .last_hop = last, .skip = q.skip,
		.cap = RTE_MIN(room - KC_TRAIL_SCRATCH_OFF, KC_PAYLOAD_MAX),
	};
	if (rte_ring_enqueue(lw->to_ctl, job) != 0) {
		job->m = NULL;
		lw->free_jobs[lw->nb_free++] = job;
		set_error(r, KC_STATUS_UNAVAILABLE, "too many TRAILs in "
			  "progress; retry");
		w->st->c[KC_CTR_trail_busy]++;
		return false;
	}
	return true;
}

/*
 * A read REPLY longer than its request goes out only while its source and
 * its client have reflection budget left (kc_refl.c); otherwise it is
 * dropped, counted, and the caller frees the mbuf. Answering would be the
 * amplification a spoofed source asks for.
 */
static bool reflection_ok(struct kc_worker_state *w, struct rte_mbuf *m,
			  uint32_t client, uint32_t plen,
			  const struct kc_op_result *r)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
		const struct rte_ipv4_hdr *, KC_L2_LEN);

	if (w->refl == NULL || r->len <= plen ||
	    kc_refl_allow(w->refl, rte_be_to_cpu_32(ip->src_addr), client,
			  r->len - plen, w->now_ns))
		return true;
	w->st->c[KC_CTR_drop_reflection]++;
	return false;
}

enum kc_exec kc_ops_execute(struct kc_worker_state *w, struct rte_mbuf *m)
{
	const uint32_t client = m->hash.usr;
	const struct kc_key *key = &w->pc->keys->keys[client];
	uint8_t *kcp = rte_pktmbuf_mtod_offset(m, uint8_t *, KC_KCP_OFF);
	uint8_t *payload = kcp + KC_HDR_LEN;
	uint32_t plen = kc_get_u32(kcp + KC_OFF_PAYLOAD_LEN);
	uint32_t room = (uint32_t)(m->buf_len - m->data_off) - KC_KCP_OFF -
			KC_HDR_LEN;
	uint32_t cap = RTE_MIN(room, KC_PAYLOAD_MAX);
	const uint8_t op = kcp[KC_OFF_OP];
	const bool mutates = kc_op_mutates(op);
	struct kc_op_result r = {
		.status = KC_STATUS_OK, .deliver = -1, .done = -1,
	};
	uint64_t req_seq = 0, seq = 0;
	uint32_t req_tag = 0;
	uint8_t *rec = NULL;
	bool answered = false;

	/* Arrived while an operator drains the appliance: not taken in. */
	if (kc_rx_tsc_off >= 0 && (*kc_rx_tsc(m) & KC_RX_DRAINED) != 0) {
		set_error(&r, KC_STATUS_UNAVAILABLE, "appliance draining: an "
			  "operator stopped new requests; retry later");
		w->st->c[KC_CTR_refused_draining]++;
		kc_ops_error_text(&r, payload);
		goto reply;
	}
	/* A message id names its client: no one answers for another's. */
	if (kc_msg_id_client(kcp + KC_OFF_MSG_ID) != key->client_id) {
		set_error(&r, KC_STATUS_BAD_REQUEST,
			  "message id does not carry the header's client id");
		w->st->c[KC_CTR_op_bad_request]++;
		kc_ops_error_text(&r, payload);
		goto reply;
	}
	if (w->j != NULL) {
		/* A service op may complete a call: its OUTCOME too. */
		uint64_t need = kc_jrec_size(KC_HDR_LEN + plen) +
				kc_jrec_size(KC_DATAGRAM_MAX) +
				(kc_op_has_hop(op) ?
				 kc_jrec_size(KC_HOPREC_MAX) : 0) +
				(kc_op_info(op)->owner == KC_OWNER_SERVICES ?
				 kc_jrec_size(KC_DATAGRAM_MAX) : 0);
		enum kc_journal_room jroom;
		const struct kc_idem_entry *e;
		enum kc_exec ex;

		/* A CALL sent again: the call it made answers it. */
		if (op == KC_OP_CALL && w->ledger != NULL &&
		    w->ledger->svc != NULL &&
		    kc_calls_retry(w, m, &r, payload, &seq, &ex)) {
			if (ex == KC_EXEC_DROP)
				return KC_EXEC_DROP;
			goto reply;
		}
		e = mutates ? kc_idem_find(w->idem, kcp + KC_OFF_MSG_ID) :
			      NULL;

		if (e != NULL && (e->op != op ||
				  e->req_tag != kc_idem_req_tag(kcp))) {
			/* The id is the client's promise of one request. */
			set_error(&r, KC_STATUS_BAD_REQUEST,
				  "message id already used for another "
				  "request");
			w->st->c[KC_CTR_op_bad_request]++;
			kc_ops_error_text(&r, payload);
			goto reply;
		}
		if (e != NULL && duplicate(w, e, payload, &r, &seq))
			goto reply;
		r.reason = e != NULL ? NULL :
			outside_window(w, kcp + KC_OFF_MSG_ID, mutates, client);
		if (r.reason != NULL) {
			r.status = KC_STATUS_EXPIRED;
			kc_ops_error_text(&r, payload);
			goto reply;
		}
		if ((kc_op_info(op)->flags & KC_OPF_DEFERRED) &&
		    w->ledger != NULL) {
			if (trail_defer(w, m, payload, plen, room, &r))
				return KC_EXEC_DEFERRED;
			answered = true; /* with an error, journaled below */
		}
		if (!mutates && !w->reads_all) {
			/* A read, not journaled (journal.reads: none). */
			if (!read_hold(w, op, &seq)) {
				r.status = refusal(w, KC_ROOM_BUFFER,
						   &r.reason);
				kc_ops_error_text(&r, payload);
				goto reply;
			}
		} else {
			jroom = kc_journal_room_why(w->j, need,
						    kc_op_grows(op));
			if (jroom == KC_ROOM_OK &&
			    (e != NULL || pending_full(w)))
				jroom = KC_ROOM_BUFFER;
			if (jroom != KC_ROOM_OK) {
				r.status = refusal(w, jroom, &r.reason);
				kc_ops_error_text(&r, payload);
				goto reply;
			}
			req_seq = journal_msg(w, m, KC_JREC_REQUEST, kcp,
					      KC_HDR_LEN + plen, 0, NULL);
			if (mutates)
				req_tag = kc_idem_req_tag(kcp);
		}
	}
	if (answered) {
		kc_ops_error_text(&r, payload);
	} else {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
			const struct rte_ipv4_hdr *, KC_L2_LEN);
		const struct rte_udp_hdr *udp =
			(const struct rte_udp_hdr *)(ip + 1);
		uint8_t link[KC_SVC_LINK_LEN];
		const bool svc_op = kc_op_info(op)->owner == KC_OWNER_SERVICES;

		if (svc_op)
			kc_calls_link_of(m, link);
		const struct kc_op_env env = {
			.qs = w->store,
			.ledger = w->ledger != NULL ? w->ledger->l : NULL,
			.st = w->st,
			.caller = {
				.client_id = key->client_id,
				.mint_authority = w->ledger != NULL &&
					key->client_id ==
						w->ledger->mint_authority,
				.keys = w->pc->keys,
			},
			.now_ns = w->now_ns,
			.hop = w->ledger != NULL ? w->ledger->hop : NULL,
			.svc = w->ledger != NULL ? w->ledger->svc : NULL,
			.msg_id = kcp + KC_OFF_MSG_ID,
			.src_ip = rte_be_to_cpu_32(ip->src_addr),
			.src_port = rte_be_to_cpu_16(udp->src_port),
			.link = svc_op ? link : NULL,
		};

		/* The request is decoded before its bytes are overwritten:
		 * the REPLY is built in place. */
		kc_ops_apply(&env, op, payload, plen, req_seq, payload, cap,
			     &r);
	}
	if (req_seq != 0) {
		/* An accepted CALL's mbuf becomes its DELIVER: its REPLY
		 * record is whole at once. The others get their tag with
		 * the burst's (kc_ops_sign_flush). */
		const bool now = r.deliver >= 0;

		if (now)
			sign_reply(key, kcp, &r);
		else
			reply_header(kcp, &r);
		seq = journal_msg(w, m, KC_JREC_REPLY, kcp, KC_HDR_LEN + r.len,
				  req_seq, now ? NULL : &rec);
		/* The REPLY leaves once the hop is durable too. */
		if (r.hop_len != 0)
			seq = kc_ops_journal_hop(w, kcp, req_seq, r.hop_len);
		/* A CALL is remembered by its call (kc_calls_retry). */
		if (mutates && !(kc_op_info(op)->flags & KC_OPF_HELD))
			remember(w, kcp, client, seq, req_tag, &r);
		if (r.done >= 0)
			kc_calls_completed(w, r.done);
		if (r.deliver >= 0)
			return kc_calls_accepted(w, m, r.deliver, seq);
	}
reply:
	return finish(w, m, key, kcp, &r, seq, rec,
		      !mutates && !reflection_ok(w, m, client, plen, &r));
}

enum kc_exec kc_ops_trail_done(struct kc_worker_state *w,
			       struct kc_trail_job *job)
{
	struct rte_mbuf *m = job->m;
	const struct kc_key *key = &w->pc->keys->keys[m->hash.usr];
	uint8_t *kcp = rte_pktmbuf_mtod_offset(m, uint8_t *, KC_KCP_OFF);
	uint8_t *payload = kcp + KC_HDR_LEN;
	uint32_t plen = kc_get_u32(kcp + KC_OFF_PAYLOAD_LEN);
	struct kc_op_result r = {
		.status = job->status, .len = job->len, .reason = job->reason,
	};
	uint64_t req_seq = 0, seq = 0;
	uint8_t *rec = NULL;
	enum kc_journal_room jroom;

	job->m = NULL;
	w->ledger->free_jobs[w->ledger->nb_free++] = job;
	/* Journaled now, REQUEST and REPLY together, as recovery wants;
	 * or not at all (journal.reads: none). */
	if (!w->reads_all) {
		if (!read_hold(w, KC_OP_TRAIL, &seq))
			r.status = refusal(w, KC_ROOM_BUFFER, &r.reason);
	} else {
		jroom = kc_journal_room_why(w->j,
			kc_jrec_size(KC_HDR_LEN + plen) +
			kc_jrec_size(KC_HDR_LEN + KC_TRAIL_REPLY_FIXED),
			false);
		if (jroom == KC_ROOM_OK && pending_full(w))
			jroom = KC_ROOM_BUFFER;
		if (jroom != KC_ROOM_OK)
			r.status = refusal(w, jroom, &r.reason);
		else
			req_seq = journal_msg(w, m, KC_JREC_REQUEST, kcp,
					      KC_HDR_LEN + plen, 0, NULL);
	}
	if (r.status == KC_STATUS_OK)
		memmove(payload, payload + KC_TRAIL_SCRATCH_OFF, r.len);
	else
		kc_ops_error_text(&r, payload);
	if (req_seq != 0) {
		reply_header(kcp, &r);
		seq = journal_msg(w, m, KC_JREC_REPLY, kcp, KC_HDR_LEN + r.len,
				  req_seq, &rec);
	}
	return finish(w, m, key, kcp, &r, seq, rec,
		      !reflection_ok(w, m, m->hash.usr, plen, &r));
}

bool kc_ops_hold_own(struct kc_worker_state *w, struct rte_mbuf *m,
		     uint64_t seq, bool own)
{
	struct kc_pending *pe;

	/* Requests stop at journal.max_pending; what the worker sends of
	 * its own accord has the rest of the FIFO. */
	if (w->pend_head - w->pend_tail >= w->pend_size)
		return false;
	pe = &w->pend[w->pend_head & w->pend_mask];
	pe->m = m;
	/* Only durability batch waits for the disk; otherwise it goes with
	 * the next release, as a REPLY goes at once. */
	pe->seq = kc_journal_durability(w->j) == KC_DURABILITY_BATCH ? seq : 0;
	pe->own = own;
	w->pend_head++;
	return true;
}

void kc_ops_fail_pending(struct kc_worker_state *w, struct rte_mbuf *m)
{
	const struct kc_key *key = &w->pc->keys->keys[m->hash.usr];
	uint8_t *kcp = rte_pktmbuf_mtod_offset(m, uint8_t *, KC_KCP_OFF);
	struct kc_op_result r = {
		.status = KC_STATUS_STORAGE_FAILED,
		.reason = "journal write failed: outcome unknown; retry the "
			  "same message id after the appliance restarts",
	};

	kc_ops_error_text(&r, kcp + KC_HDR_LEN);
	sign_reply(key, kcp, &r);
	kc_pkt_resize_reply(w->pc, m, KC_HDR_LEN + r.len);
	w->st->c[KC_CTR_kcp_error_replies]++;
	w->st->c[KC_CTR_replies_failed_unsynced]++;
}
