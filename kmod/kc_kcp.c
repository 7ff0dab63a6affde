// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The KCP side: request slots, signing (the kernel's hmac(sha256)), one
 * kernel UDP socket to the appliance, and matching replies to the requests in
 * flight by message id.
 *
 * A request is a work item on kc_req_wq: it parses its line, signs the
 * datagram, sends it and sleeps until its REPLY arrives or timeout_ms
 * passes, then sends the identical datagram again (same message id, same
 * tag), at most retries times. The appliance answers a repeated
 * state-changing request with its first REPLY, so a resend is safe
 * (docs/protocol.md, "Retries and replay"). replies are read by a work item
 * on kc_io_wq, queued by the UDP socket's data_ready callback.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/algapi.h>
#include <crypto/hash.h>
#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <net/sock.h>

#include "kc_gw.h"

/* Datagrams the reply work reads before it yields to other work. */
#define KC_RX_BUDGET 64

static struct crypto_shash *kc_hmac;
static struct socket *kc_udp;
static void (*kc_udp_saved_data_ready)(struct sock *sk);
static struct work_struct kc_udp_rx_work;
/* Only kc_udp_rx_work uses it, and a work item never runs twice at once. */
static u8 kc_rx_buf[KC_DATAGRAM_MAX + 1];
static atomic64_t kc_seq;

static struct kc_req *kc_slots;
static unsigned int kc_nslots;
static LIST_HEAD(kc_free);
static DEFINE_SPINLOCK(kc_free_lock);	/* kc_free, kc_inflight */
static unsigned int kc_inflight;

/* Requests waiting for their REPLY; process context only (work items). */
static LIST_HEAD(kc_pending);
static DEFINE_SPINLOCK(kc_pending_lock);	/* kc_pending, kc_stopping */
static bool kc_stopping;

unsigned int kc_kcp_inflight(void)
{
	return READ_ONCE(kc_inflight);
}

struct kc_req *kc_req_get(void)
{
	struct kc_req *r;

	spin_lock(&kc_free_lock);
	r = list_first_entry_or_null(&kc_free, struct kc_req, node);
	if (r) {
		list_del_init(&r->node);
		WRITE_ONCE(kc_inflight, kc_inflight + 1);
	}
	spin_unlock(&kc_free_lock);
	return r;
}

void kc_req_put(struct kc_req *r)
{
	r->conn = NULL;
	spin_lock(&kc_free_lock);
	list_add(&r->node, &kc_free);
	WRITE_ONCE(kc_inflight, kc_inflight - 1);
	spin_unlock(&kc_free_lock);
}

/* tag = HMAC-SHA256(key, header[0..31] || payload) (docs/protocol.md, 4). */
static int kc_tag(const u8 *msg, u32 payload_len, u8 *tag)
{
	SHASH_DESC_ON_STACK(desc, kc_hmac);
	int rc;

	desc->tfm = kc_hmac;
	rc = crypto_shash_init(desc);
	if (!rc)
		rc = crypto_shash_update(desc, msg, KC_HDR_SIGNED_LEN);
	if (!rc && payload_len)
		rc = crypto_shash_update(desc, msg + KC_HDR_LEN, payload_len);
	if (!rc)
		rc = crypto_shash_final(desc, tag);
	shash_desc_zero(desc);
	return rc;
}

/* Header and tag around the payload already at r->dgram + KC_HDR_LEN. */
static int kc_req_encode(struct kc_req *r, unsigned int payload_len)
{
	struct kc_hdr h = {
		.magic = KC_PROTO_MAGIC,
		.version = KC_PROTO_VERSION,
		.type = KC_TYPE_REQUEST,
		.op = r->op,
		.client_id = kc_cfg.client_id,
		.payload_len = payload_len,
	};
	u64 ms = div_u64(ktime_get_real_ns(), NSEC_PER_MSEC);

	kc_msg_id_make(h.msg_id, ms, kc_cfg.client_id,
		       (u64)atomic64_inc_return(&kc_seq));
	memcpy(r->msg_id, h.msg_id, KC_MSG_ID_LEN);
	kc_hdr_encode(r->dgram, &h);
	r->dgram_len = KC_HDR_LEN + payload_len;
	return kc_tag(r->dgram, payload_len, r->dgram + KC_OFF_TAG);
}

static int kc_udp_send(const u8 *buf, unsigned int len)
{
	struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = {
		.msg_name = &kc_cfg.appliance,
		.msg_namelen = sizeof(kc_cfg.appliance),
		.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL,
	};

	return kernel_sendmsg(kc_udp, &msg, &iov, 1, len);
}

/* Send, wait, resend; true if a REPLY arrived (r->reply). */
static bool kc_req_exchange(struct kc_req *r, bool *aborted)
{
	unsigned long wait = msecs_to_jiffies(kc_cfg.timeout_ms);
	unsigned int attempt;
	bool replied;

	reinit_completion(&r->done);
	spin_lock(&kc_pending_lock);
	r->replied = false;
	r->aborted = kc_stopping;
	if (!r->aborted)
		list_add_tail(&r->node, &kc_pending);
	spin_unlock(&kc_pending_lock);

	for (attempt = 0; attempt <= kc_cfg.retries; attempt++) {
		int rc;

		if (READ_ONCE(r->aborted))
			break;
		kc_count(attempt ? KC_STAT_retries :
			 KC_STAT_requests_forwarded);
		rc = kc_udp_send(r->dgram, r->dgram_len);
		if (rc < 0) {
			kc_count(KC_STAT_send_errors);
			pr_debug("send to %pISpc: %d\n", &kc_cfg.appliance, rc);
		}
		if (wait_for_completion_timeout(&r->done, wait))
			break;
	}

	spin_lock(&kc_pending_lock);
	list_del_init(&r->node);
	replied = r->replied;
	*aborted = r->aborted;
	spin_unlock(&kc_pending_lock);
	return replied;
}

void kc_req_work(struct work_struct *work)
{
	struct kc_req *r = container_of(work, struct kc_req, work);
	struct kc_conn *c = r->conn;
	unsigned int plen;
	char err[128];
	bool aborted;
	int rc;

	rc = kc_cmd_parse(r->line, r->list, &r->op, r->dgram + KC_HDR_LEN,
			  &plen, err, sizeof(err));
	if (rc) {
		kc_count(KC_STAT_commands_bad);
		r->text_len = kc_cmd_format_error(NULL, "BAD_COMMAND", err,
						  r->text, KC_TEXT_MAX);
		goto out_reply;
	}
	rc = kc_req_encode(r, plen);
	if (rc) {
		pr_err_ratelimited("hmac(sha256) failed: %d\n", rc);
		r->text_len = kc_cmd_format_error(r->msg_id, "INTERNAL",
						  "signing the request failed",
						  r->text, KC_TEXT_MAX);
		goto out_reply;
	}
	if (kc_req_exchange(r, &aborted)) {
		r->text_len = kc_cmd_format_reply(r, r->text, KC_TEXT_MAX);
	} else if (aborted) {
		kc_count(KC_STAT_aborted);
		r->text_len = kc_cmd_format_error(r->msg_id, "SHUTDOWN",
						  "the gateway is unloading; the request may or may not have been executed",
						  r->text, KC_TEXT_MAX);
	} else {
		kc_count(KC_STAT_timeouts);
		snprintf(err, sizeof(err),
			 "no REPLY from %pISpc after %u attempts of %u ms",
			 &kc_cfg.appliance, kc_cfg.retries + 1,
			 kc_cfg.timeout_ms);
		r->text_len = kc_cmd_format_error(r->msg_id, "TIMEOUT", err,
						  r->text, KC_TEXT_MAX);
	}
out_reply:
	kc_conn_req_done(c, r->text, r->text_len);
	/* Free the slot before the connection's next line wants one. */
	kc_req_put(r);
	kc_conn_next(c);
	kc_conn_put(c);
}

/* One datagram from the appliance's address: a REPLY to a request? */
static void kc_reply_in(const u8 *buf, unsigned int len)
{
	u8 tag[KC_TAG_LEN];
	struct kc_req *r;
	struct kc_hdr h;
	bool matched = false;

	if (kc_hdr_decode(buf, len, &h) != KC_PARSE_OK ||
	    h.type != KC_TYPE_REPLY || h.client_id != kc_cfg.client_id) {
		kc_count(KC_STAT_stray_datagrams);
		return;
	}
	if (kc_tag(buf, h.payload_len, tag) ||
	    crypto_memneq(tag, h.tag, KC_TAG_LEN)) {
		kc_count(KC_STAT_auth_failures);
		return;
	}
	spin_lock(&kc_pending_lock);
	list_for_each_entry(r, &kc_pending, node) {
		if (r->replied || r->op != h.op ||
		    memcmp(r->msg_id, h.msg_id, KC_MSG_ID_LEN))
			continue;
		memcpy(r->reply, buf, len);
		r->reply_len = len;
		r->replied = true;
		complete(&r->done);
		matched = true;
		break;
	}
	spin_unlock(&kc_pending_lock);
	/* A late REPLY to a request that was already answered or gave up. */
	kc_count(matched ? KC_STAT_replies : KC_STAT_stray_datagrams);
}

static void kc_udp_rx(struct work_struct *work)
{
	int budget;

	for (budget = 0; budget < KC_RX_BUDGET; budget++) {
		struct sockaddr_in from;
		struct kvec iov = {
			.iov_base = kc_rx_buf,
			.iov_len = sizeof(kc_rx_buf),
		};
		struct msghdr msg = {
			.msg_name = &from,
			.msg_namelen = sizeof(from),
		};
		int n = kernel_recvmsg(kc_udp, &msg, &iov, 1, sizeof(kc_rx_buf),
				       MSG_DONTWAIT);

		if (n == -EAGAIN)
			return;
		if (n < 0)
			continue;	/* an ICMP error reported once */
		if (n > KC_DATAGRAM_MAX || (msg.msg_flags & MSG_TRUNC) ||
		    from.sin_addr.s_addr != kc_cfg.appliance.sin_addr.s_addr ||
		    from.sin_port != kc_cfg.appliance.sin_port) {
			kc_count(KC_STAT_stray_datagrams);
			continue;
		}
		kc_reply_in(kc_rx_buf, n);
	}
	/* More is waiting: go on later, after the work queued meanwhile. */
	queue_work(kc_io_wq, &kc_udp_rx_work);
}

static void kc_udp_data_ready(struct sock *sk)
{
	queue_work(kc_io_wq, &kc_udp_rx_work);
}

/*
 * Every request slot and its buffers, sized from the parameters at load:
 * nothing is allocated per line.
 */
static int kc_slots_alloc(void)
{
	unsigned int i;

	kc_slots = kvcalloc(kc_cfg.max_inflight, sizeof(*kc_slots),
			    GFP_KERNEL);
	if (!kc_slots)
		return -ENOMEM;
	for (i = 0; i < kc_cfg.max_inflight; i++) {
		struct kc_req *r = &kc_slots[i];

		INIT_WORK(&r->work, kc_req_work);
		init_completion(&r->done);
		r->line = kmalloc(kc_cfg.max_line + 1, GFP_KERNEL);
		r->dgram = kmalloc(KC_DATAGRAM_MAX, GFP_KERNEL);
		r->reply = kmalloc(KC_DATAGRAM_MAX, GFP_KERNEL);
		r->text = kmalloc(KC_TEXT_MAX, GFP_KERNEL);
		kc_nslots++;
		list_add_tail(&r->node, &kc_free);
		if (!r->line || !r->dgram || !r->reply || !r->text)
			return -ENOMEM;
	}
	return 0;
}

static void kc_slots_free(void)
{
	unsigned int i;

	WARN_ON_ONCE(READ_ONCE(kc_inflight) != 0);
	for (i = 0; i < kc_nslots; i++) {
		kfree(kc_slots[i].line);
		kfree(kc_slots[i].dgram);
		kfree(kc_slots[i].reply);
		kfree(kc_slots[i].text);
	}
	kvfree(kc_slots);
	kc_slots = NULL;
	kc_nslots = 0;
	INIT_LIST_HEAD(&kc_free);
}

int kc_kcp_start(void)
{
	struct sock *sk;
	int rc;

	kc_hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(kc_hmac)) {
		rc = PTR_ERR(kc_hmac);
		pr_err("cannot allocate hmac(sha256): %d\n", rc);
		return rc;
	}
	rc = crypto_shash_setkey(kc_hmac, kc_cfg.key, KC_KEY_LEN);
	if (rc) {
		pr_err("cannot set the hmac(sha256) key: %d\n", rc);
		goto out_free_hmac;
	}
	rc = kc_slots_alloc();
	if (rc) {
		pr_err("cannot allocate %u request slots of %u-byte lines\n",
		       kc_cfg.max_inflight, kc_cfg.max_line);
		goto out_free_slots;
	}
	/*
	 * Not connected: sendmsg names the appliance each time, so loading
	 * works before there is a route to it.
	 */
	rc = sock_create_kern(&init_net, AF_INET, SOCK_DGRAM, IPPROTO_UDP,
			      &kc_udp);
	if (rc) {
		pr_err("cannot create the UDP socket: %d\n", rc);
		goto out_free_slots;
	}
	INIT_WORK(&kc_udp_rx_work, kc_udp_rx);
	kc_stopping = false;
	/*
	 * The sequence part of the message id starts at a random value, as
	 * kc_client does, so a reload in the same millisecond gives new ids.
	 */
	atomic64_set(&kc_seq, (s64)(get_random_u64() >> 16));
	sk = kc_udp->sk;
	write_lock_bh(&sk->sk_callback_lock);
	kc_udp_saved_data_ready = sk->sk_data_ready;
	sk->sk_data_ready = kc_udp_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	return 0;

out_free_slots:
	kc_slots_free();
out_free_hmac:
	crypto_free_shash(kc_hmac);
	return rc;
}

/* Wake every request waiting for a REPLY, and refuse new waits. */
void kc_kcp_abort_all(void)
{
	struct kc_req *r;

	spin_lock(&kc_pending_lock);
	kc_stopping = true;
	list_for_each_entry(r, &kc_pending, node) {
		WRITE_ONCE(r->aborted, true);
		complete(&r->done);
	}
	spin_unlock(&kc_pending_lock);
}

/* After kc_req_wq is drained: nothing uses the socket or the slots. */
void kc_kcp_stop(void)
{
	struct sock *sk = kc_udp->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_data_ready = kc_udp_saved_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	cancel_work_sync(&kc_udp_rx_work);
	sock_release(kc_udp);
	kc_udp = NULL;
	kc_slots_free();
	crypto_free_shash(kc_hmac);
}
