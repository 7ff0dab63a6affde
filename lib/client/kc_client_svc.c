/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Service calls from the client's side (kc_client.h, docs/services.md):
 * a caller's CALL and REPORT, a service's SERVE, its deliveries (each
 * call handed over once) and RESPOND.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "kc_client.h"
#include "kc_client_priv.h"

static struct kc_client_svc *svc_of(struct kc_client *c)
{
	if (c->svc == NULL)
		c->svc = calloc(1, sizeof(*c->svc));
	return c->svc;
}

bool kc_client_keep_delivery(struct kc_client *c, size_t n)
{
	struct kc_client_svc *s;
	struct kc_hdr h;

	if (n > KC_DATAGRAM_MAX || kc_hdr_decode(c->rx, n, &h) != KC_PARSE_OK ||
	    h.type != KC_TYPE_DELIVER || h.op != KC_OP_CALL ||
	    h.client_id != c->client_id || !kc_auth_verify(&c->key, c->rx, n))
		return false;
	s = svc_of(c);
	/* Full: the oldest waits in the appliance's retries instead. */
	if (s == NULL || s->dq_head - s->dq_tail >= KC_CLIENT_DELIVERIES)
		return true;
	memcpy(s->dq[s->dq_head % KC_CLIENT_DELIVERIES], c->rx, n);
	s->dq_len[s->dq_head % KC_CLIENT_DELIVERIES] = (uint16_t)n;
	s->dq_head++;
	return true;
}

/* Sent to the service already? Then a RESPOND of it may be sent again. */
static bool seen(struct kc_client *c, const uint8_t *id)
{
	struct kc_client_svc *s = c->svc;
	uint32_t n = s->seen_head < KC_CLIENT_SEEN ? s->seen_head :
						      KC_CLIENT_SEEN;

	for (uint32_t i = 0; i < n; i++)
		if (memcmp(s->seen[i], id, KC_CALL_ID_LEN) == 0)
			goto again;
	memcpy(s->seen[s->seen_head++ % KC_CLIENT_SEEN], id, KC_CALL_ID_LEN);
	return false;
again:
	for (uint32_t i = 0; i < KC_CLIENT_ANSWERED; i++)
		if (s->ans_len[i] != 0 &&
		    memcmp(s->ans_id[i], id, KC_CALL_ID_LEN) == 0) {
			/* The same bytes: the appliance answers it from its
			 * message-id index, or it lands the first time. */
			(void)send(c->fd, s->ans[i], s->ans_len[i], 0);
			break;
		}
	return true;
}

/* Forget a call handed over whose answer could not be sent. */
static void forget(struct kc_client_svc *s, const uint8_t *id)
{
	for (uint32_t i = 0; i < KC_CLIENT_SEEN; i++)
		if (memcmp(s->seen[i], id, KC_CALL_ID_LEN) == 0)
			memset(s->seen[i], 0, KC_CALL_ID_LEN);
}

/* Where the answer to call id goes: its earlier answer's place, or the
 * oldest. */
static uint32_t answered_slot(struct kc_client_svc *s, const uint8_t *id)
{
	for (uint32_t i = 0; i < KC_CLIENT_ANSWERED; i++)
		if (s->ans_len[i] != 0 &&
		    memcmp(s->ans_id[i], id, KC_CALL_ID_LEN) == 0)
			return i;
	return s->ans_head++ % KC_CLIENT_ANSWERED;
}

/* The oldest kept DELIVER that is a new call, decoded into d. */
static bool take(struct kc_client *c, struct kc_delivery *d)
{
	struct kc_client_svc *s = c->svc;

	while (s != NULL && s->dq_tail != s->dq_head) {
		uint32_t i = s->dq_tail++ % KC_CLIENT_DELIVERIES;
		const uint8_t *p = s->dq[i];
		struct kc_deliver dv;

		if (!kc_dec_deliver(p + KC_HDR_LEN, s->dq_len[i] - KC_HDR_LEN,
				    &dv) ||
		    seen(c, p + KC_OFF_MSG_ID))
			continue;
		memcpy(d->call_id, p + KC_OFF_MSG_ID, KC_CALL_ID_LEN);
		d->caller = dv.caller;
		d->deadline_ms = dv.deadline_ms;
		d->type = dv.type;
		d->payload_len = dv.payload_len;
		memcpy(d->payload, dv.payload, dv.payload_len);
		return true;
	}
	return false;
}

int kc_client_next_call(struct kc_client *c, uint32_t timeout_ms,
			struct kc_delivery *d)
{
	uint64_t until = kc_client_now_ns(CLOCK_MONOTONIC) +
			 (uint64_t)timeout_ms * 1000000u;

	if (svc_of(c) == NULL) {
		c->errno_value = ENOMEM;
		return -1;
	}
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		uint64_t t;
		ssize_t n;
		int rc;

		if (take(c, d))
			return 1;
		t = kc_client_now_ns(CLOCK_MONOTONIC);
		if (t >= until)
			return 0;
		rc = poll(&pfd, 1, (int)((until - t + 999999u) / 1000000u));
		if (rc < 0 && errno != EINTR) {
			c->errno_value = errno;
			return -1;
		}
		if (rc <= 0)
			continue;
		n = recv(c->fd, c->rx, KC_CLIENT_RX_BUF,
			 MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == ECONNREFUSED)
				continue;
			c->errno_value = errno;
			return -1;
		}
		kc_client_keep_delivery(c, (size_t)n);
	}
}

/* The common head of the wrappers, as kc_client.c's. */
static bool sent_ok(struct kc_client *c, uint8_t op, const uint8_t *p,
		    size_t n, struct kc_reply *reply, enum kc_client_err *e)
{
	if (n == 0) {
		*e = KC_CLIENT_INVALID;
		return false;
	}
	*e = kc_client_call(c, op, p, n, reply);
	return *e == KC_CLIENT_OK && reply->status == KC_STATUS_OK;
}

enum kc_client_err kc_client_serve(struct kc_client *c, const char *type,
				   uint64_t price, uint32_t max_inflight,
				   uint32_t lease_s, struct kc_reply *reply,
				   uint64_t *lease_until_ms)
{
	uint8_t p[KC_PAYLOAD_MAX];
	enum kc_client_err e;

	if (!sent_ok(c, KC_OP_SERVE, p,
		     kc_enc_serve(p, sizeof(p), type, price, max_inflight,
				  lease_s), reply, &e))
		return e;
	return kc_dec_u64_reply(reply->payload, reply->payload_len,
				lease_until_ms) ? KC_CLIENT_OK :
						  KC_CLIENT_BAD_REPLY;
}

enum kc_client_err kc_client_unserve(struct kc_client *c, const char *type,
				     struct kc_reply *reply)
{
	uint8_t p[KC_PAYLOAD_MAX];
	enum kc_client_err e;

	sent_ok(c, KC_OP_UNSERVE, p, kc_enc_unserve(p, sizeof(p), type),
		reply, &e);
	return e;
}

enum kc_client_err kc_client_respond(struct kc_client *c,
				     const uint8_t *call_id, uint16_t status,
				     const void *payload, size_t len,
				     struct kc_reply *reply)
{
	uint8_t p[KC_PAYLOAD_MAX];
	struct kc_client_svc *s = svc_of(c);
	enum kc_client_err e;
	size_t n = kc_enc_respond(p, sizeof(p), call_id, status, payload, len);

	if (n == 0 || s == NULL)
		return KC_CLIENT_INVALID;
	e = kc_client_call(c, KC_OP_RESPOND, p, n, reply);
	if (e == KC_CLIENT_INVALID || e == KC_CLIENT_SYSTEM) {
		/* Not sent: the call may be handed over again. */
		forget(s, call_id);
		return e;
	}
	/* Kept, sent again should the call be delivered again; unless the
	 * appliance refused this answer for what it is (another may be
	 * sent, and replaces it). */
	if (e == KC_CLIENT_OK && (reply->status == KC_STATUS_TOO_LARGE ||
				  reply->status == KC_STATUS_BAD_REQUEST))
		return e;
	{
		uint32_t i = answered_slot(s, call_id);

		memcpy(s->ans_id[i], call_id, KC_CALL_ID_LEN);
		memcpy(s->ans[i], c->tx, KC_HDR_LEN + n);
		s->ans_len[i] = (uint16_t)(KC_HDR_LEN + n);
	}
	return e;
}

enum kc_client_err kc_client_call_service(struct kc_client *c,
					  const char *type,
					  uint32_t deadline_ms,
					  const void *payload, size_t len,
					  const uint64_t *coins,
					  uint16_t count,
					  struct kc_reply *reply,
					  struct kc_call_reply *cr)
{
	uint8_t p[KC_PAYLOAD_MAX];
	uint32_t timeout = c->timeout_ms, retries = c->retries;
	enum kc_client_err e;
	size_t n = kc_enc_call(p, sizeof(p), type, deadline_ms, payload, len,
			       coins, count);

	if (n == 0)
		return KC_CLIENT_INVALID;
	/* The REPLY comes when the service answers or the deadline passes:
	 * wait that long and two seconds more, sending again now and then
	 * (the appliance absorbs the retries of a call in flight). */
	c->retries = (uint32_t)(((uint64_t)deadline_ms + 2000u) / timeout) +
		     retries;
	e = kc_client_call(c, KC_OP_CALL, p, n, reply);
	c->retries = retries;
	if (e != KC_CLIENT_OK || reply->status != KC_STATUS_OK)
		return e;
	return kc_dec_call_reply(reply->payload, reply->payload_len, cr) ?
		       KC_CLIENT_OK : KC_CLIENT_BAD_REPLY;
}

enum kc_client_err kc_client_report(struct kc_client *c,
				    const uint8_t *call_id, uint8_t kind,
				    const void *text, size_t len,
				    struct kc_reply *reply)
{
	uint8_t p[KC_PAYLOAD_MAX];
	enum kc_client_err e;

	sent_ok(c, KC_OP_REPORT, p,
		kc_enc_report(p, sizeof(p), call_id, kind, text, len), reply,
		&e);
	return e;
}
