/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Op dispatch of the worker stage: execute one authenticated request against
 * the worker's queues and rewrite its mbuf into the signed REPLY.
 *
 * The later journal and ledger stages slot in around this: the journal stage
 * sits between RX and the workers (same mbufs, same ring handoff), and ledger
 * ops become more cases of the switch below, owned by their own worker.
 */
#include <string.h>

#include <rte_hash_crc.h>

#include "kc_pipeline_priv.h"

uint32_t kc_ops_shard(const struct rte_mbuf *m)
{
	const uint8_t *kcp = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						     KC_KCP_OFF);
	uint32_t plen = kc_get_u32(kcp + KC_OFF_PAYLOAD_LEN);
	const uint8_t *payload = kcp + KC_HDR_LEN;

	switch (kcp[KC_OFF_OP]) {
	case KC_OP_PUBLISH:
	case KC_OP_FETCH:
	case KC_OP_COMMIT:
	case KC_OP_OFFSET:
		/* Every queue op starts with the queue name: the owner. */
		if (plen >= 1u && payload[0] >= 1u && payload[0] < plen)
			return rte_hash_crc(payload + 1, payload[0], 0);
		break;
	default:
		break;
	}
	/* Ops without a queue (and malformed ones) go to any worker. */
	return rte_hash_crc(kcp + KC_OFF_MSG_ID, KC_MSG_ID_LEN, 0);
}

struct op_result {
	enum kc_status status;
	uint32_t len;		/* reply payload bytes */
	const char *reason;	/* for an error status */
};

static void set_error(struct op_result *r, enum kc_status s,
		      const char *reason)
{
	r->status = s;
	r->reason = reason;
}

static void op_publish(struct kc_worker_state *w, const uint8_t *in,
		       uint32_t len, uint8_t *out, uint32_t cap,
		       struct op_result *r)
{
	struct kc_publish_req req;
	uint64_t offset;

	w->st->c[KC_CTR_op_publish]++;
	if (kc_dec_publish(in, len, &req) != KC_STATUS_OK) {
		set_error(r, KC_STATUS_BAD_REQUEST,
			  "PUBLISH wants a queue name and a message");
		return;
	}
	r->status = kc_queue_publish(w->store, &req.queue, req.msg,
				     req.msg_len, &offset);
	if (r->status == KC_STATUS_OK)
		r->len = (uint32_t)kc_enc_u64_reply(out, cap, offset);
	else if (r->status == KC_STATUS_TOO_LARGE)
		r->reason = "message longer than 1343 bytes";
	else if (r->status == KC_STATUS_QUEUE_FULL)
		r->reason = "queue holds max_messages_per_queue or "
			    "max_bytes_per_queue";
	else
		r->reason = "max_queues reached";
}

static void op_fetch(struct kc_worker_state *w, const uint8_t *in,
		     uint32_t len, uint8_t *out, uint32_t cap,
		     struct op_result *r)
{
	struct kc_fetch_req req;
	struct kc_fetch_reply fr;

	w->st->c[KC_CTR_op_fetch]++;
	if (kc_dec_fetch(in, len, &req) != KC_STATUS_OK) {
		set_error(r, KC_STATUS_BAD_REQUEST,
			  "FETCH wants a queue name, an offset and a count");
		return;
	}
	/* The request was decoded into req: its bytes may be overwritten. */
	r->status = kc_queue_fetch(w->store, &req.queue, req.offset, req.max,
				   out + KC_FETCH_REPLY_FIXED,
				   cap - KC_FETCH_REPLY_FIXED, &fr);
	if (r->status != KC_STATUS_OK) {
		r->reason = "no such queue";
		return;
	}
	kc_enc_fetch_reply_fixed(out, &fr);
	r->len = KC_FETCH_REPLY_FIXED + fr.records_len;
}

static void op_commit(struct kc_worker_state *w, const uint8_t *in,
		      uint32_t len, uint8_t *out, uint32_t cap,
		      struct op_result *r)
{
	struct kc_commit_req req;

	w->st->c[KC_CTR_op_commit]++;
	if (kc_dec_commit(in, len, &req) != KC_STATUS_OK) {
		set_error(r, KC_STATUS_BAD_REQUEST,
			  "COMMIT wants a queue, a consumer and an offset");
		return;
	}
	r->status = kc_queue_commit(w->store, &req.queue, &req.consumer,
				    req.offset);
	/* OK carries no payload (docs/protocol.md): the client knows the
	 * offset it asked for. */
	if (r->status == KC_STATUS_NOT_FOUND)
		r->reason = "no such queue";
	else if (r->status == KC_STATUS_OUT_OF_RANGE)
		r->reason = "offset is past the end of the queue";
	else
		r->reason = "max_consumers_per_queue reached";
}

static void op_offset(struct kc_worker_state *w, const uint8_t *in,
		      uint32_t len, uint8_t *out, uint32_t cap,
		      struct op_result *r)
{
	struct kc_offset_req req;
	uint64_t offset;

	w->st->c[KC_CTR_op_offset]++;
	if (kc_dec_offset(in, len, &req) != KC_STATUS_OK) {
		set_error(r, KC_STATUS_BAD_REQUEST,
			  "OFFSET wants a queue and a consumer");
		return;
	}
	r->status = kc_queue_committed(w->store, &req.queue, &req.consumer,
				       &offset);
	if (r->status == KC_STATUS_OK)
		r->len = (uint32_t)kc_enc_u64_reply(out, cap, offset);
	else
		r->reason = "no such queue or no offset committed by "
			    "that consumer";
}

bool kc_ops_execute(struct kc_worker_state *w, struct rte_mbuf *m)
{
	const struct kc_key *key = &w->pc->keys->keys[m->hash.usr];
	uint8_t *kcp = rte_pktmbuf_mtod_offset(m, uint8_t *, KC_KCP_OFF);
	uint8_t *payload = kcp + KC_HDR_LEN;
	uint32_t plen = kc_get_u32(kcp + KC_OFF_PAYLOAD_LEN);
	uint32_t room = (uint32_t)(m->buf_len - m->data_off) - KC_KCP_OFF -
			KC_HDR_LEN;
	uint32_t cap = RTE_MIN(room, KC_PAYLOAD_MAX);
	struct op_result r = { .status = KC_STATUS_OK };
	uint8_t op = kcp[KC_OFF_OP];

	if (kc_msg_id_client(kcp + KC_OFF_MSG_ID) != key->client_id) {
		set_error(&r, KC_STATUS_BAD_REQUEST,
			  "message id does not carry the header's client id");
		w->st->c[KC_CTR_op_bad_request]++;
		goto reply;
	}
	switch (op) {
	case KC_OP_PING:
		/* The payload is echoed: it is already in place. */
		w->st->c[KC_CTR_op_ping]++;
		r.len = plen;
		break;
	case KC_OP_PUBLISH:
		op_publish(w, payload, plen, payload, cap, &r);
		break;
	case KC_OP_FETCH:
		op_fetch(w, payload, plen, payload, cap, &r);
		break;
	case KC_OP_COMMIT:
		op_commit(w, payload, plen, payload, cap, &r);
		break;
	case KC_OP_OFFSET:
		op_offset(w, payload, plen, payload, cap, &r);
		break;
	default:
		w->st->c[KC_CTR_op_unknown]++;
		set_error(&r, KC_STATUS_UNKNOWN_OP,
			  "operation not known to this appliance");
		break;
	}
	if (r.status == KC_STATUS_BAD_REQUEST)
		w->st->c[KC_CTR_op_bad_request]++;
reply:
	if (r.status != KC_STATUS_OK) {
		if (r.reason == NULL)
			r.reason = kc_status_text(r.status);
		r.len = (uint32_t)RTE_MIN(strlen(r.reason), KC_ERROR_TEXT_MAX);
		memcpy(payload, r.reason, r.len);
		w->st->c[KC_CTR_kcp_error_replies]++;
	}
	kcp[KC_OFF_TYPE] = KC_TYPE_REPLY;
	kc_put_u16(kcp + KC_OFF_STATUS, (uint16_t)r.status);
	kc_put_u32(kcp + KC_OFF_PAYLOAD_LEN, r.len);
	kc_auth_sign(key, kcp, KC_HDR_LEN + r.len);
	if (!kc_pkt_finish_reply(w->pc, m, KC_HDR_LEN + r.len)) {
		w->st->c[KC_CTR_drop_no_mbuf]++;
		return false;
	}
	w->st->c[KC_CTR_kcp_replies]++;
	return true;
}
