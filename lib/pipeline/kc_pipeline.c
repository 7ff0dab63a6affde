/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Data-path lcores: the poll loop, the ring handoff between the RX and worker
 * stages, TX buffering and the idle policy. Nothing here allocates, locks or
 * logs once the lcores run; the adaptive idle policy's short sleeps are the
 * only system calls, and only while there is no work.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "kc_pipeline.h"
#include "kc_rx.h"
#include "kc_worker.h"

_Static_assert(KC_CFG_MBUF_HEADROOM == RTE_PKTMBUF_HEADROOM,
	       "the config checks mempool.data_room with DPDK's headroom");
_Static_assert(KC_PORTS_MAX <= UINT8_MAX, "port_idx holds a port index");

/* Adaptive idle: empty loops spun before pausing, then before sleeping. */
#define KC_IDLE_SPIN_LOOPS 256u
#define KC_IDLE_PAUSE_LOOPS 4096u

struct kc_txbuf {
	uint16_t n;
	struct rte_mbuf *pkts[KC_BURST_MAX];
};

struct kc_lcore_ctx {
	struct kc_pipeline *p;
	unsigned int lcore_id;
	bool rx;		/* polls an RX queue of every port */
	bool worker;		/* executes ops */
	bool rtc;		/* both, with no ring in between */
	bool exc;		/* serves the ports' exception paths */
	uint16_t rxq;
	uint16_t txq;
	uint32_t worker_idx;
	struct rte_ring *ring;	/* a worker's input (pipeline mode) */
	struct rte_ring *ctl;	/* a worker's control requests */
	struct kc_worker_state ws;
	struct kc_auth_mb *auth_mb;	/* burst tag checks and signing */
	struct kc_lcore_stats *st;
	uint32_t idle_loops;
	uint32_t sleep_us;
	struct kc_txbuf tx[KC_PORTS_MAX];
} __rte_cache_aligned;

struct kc_pipeline {
	struct kc_pkt_ctx pc;
	uint32_t burst;
	enum kc_idle_policy idle;
	uint32_t idle_sleep_max_us;
	uint16_t nb_ports;
	uint16_t port_id[KC_PORTS_MAX];
	uint16_t nb_rxq[KC_PORTS_MAX];		/* of each port */
	uint32_t nb_rx_lcores;
	uint8_t port_idx[RTE_MAX_ETHPORTS];	/* port id -> index */
	uint32_t nb_workers;
	struct kc_lcore_ctx *workers[KC_WORKERS_MAX];
	uint32_t nb_lcores;
	struct kc_lcore_ctx *lc;		/* nb_lcores of them */
	char journal_dir[KC_CFG_PATH_MAX];
	int draining;
	volatile int quit;
};

/* Bucket of a service time of t cycles: floor(log2(t)). */
static void latency(struct kc_lcore_ctx *lc, struct rte_mbuf *m,
		    uint64_t now)
{
	uint64_t t;
	unsigned int b;

	if (kc_rx_tsc_off < 0 || (*kc_rx_tsc(m) & KC_RX_DRAINED) != 0)
		return;
	t = now - *kc_rx_tsc(m);
	KC_ADD(lc->st, service_cycles, t);
	b = t < 2 ? 0 : 63u - (unsigned int)__builtin_clzll(t);
	lc->st->lat[b < KC_LAT_BUCKETS ? b : KC_LAT_BUCKETS - 1]++;
}

static void tx_flush(struct kc_lcore_ctx *lc, uint32_t pi)
{
	struct kc_txbuf *b = &lc->tx[pi];
	uint16_t port = lc->p->port_id[pi];
	uint64_t bytes = 0;
	uint16_t sent;

	if (b->n == 0)
		return;
	for (uint16_t i = 0; i < b->n; i++)
		bytes += b->pkts[i]->pkt_len;
	sent = rte_eth_tx_burst(port, lc->txq, b->pkts, b->n);
	/* One more try for a full TX ring, then drop: never spin here. */
	if (sent < b->n)
		sent += rte_eth_tx_burst(port, lc->txq, b->pkts + sent,
					 b->n - sent);
	for (uint16_t i = sent; i < b->n; i++) {
		bytes -= b->pkts[i]->pkt_len;
		rte_pktmbuf_free(b->pkts[i]);
	}
	KC_ADD(lc->st, tx_packets, sent);
	KC_ADD(lc->st, tx_bytes, bytes);
	KC_ADD(lc->st, drop_tx_full, b->n - sent);
	b->n = 0;
}

static void tx_add(struct kc_lcore_ctx *lc, struct rte_mbuf *m)
{
	uint32_t pi = lc->p->port_idx[m->port];
	struct kc_txbuf *b = &lc->tx[pi];

	/* Room: the buffer is flushed whenever it reaches a burst. */
	RTE_VERIFY(b->n < lc->p->burst);
	b->pkts[b->n++] = m;
	if (b->n >= lc->p->burst)
		tx_flush(lc, pi);
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	/* CLOCK_REALTIME through the vDSO: no system call. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The end of a burst: its REPLYs signed together; then the ones to send
 * may go, and its records to the disk. */
static void burst_done(struct kc_lcore_ctx *lc, struct rte_mbuf **send,
		       unsigned int n, uint64_t now)
{
	kc_ops_sign_flush(&lc->ws);
	for (unsigned int i = 0; i < n; i++) {
		latency(lc, send[i], now);
		tx_add(lc, send[i]);
	}
	if (lc->ws.j != NULL)
		kc_journal_publish(lc->ws.j);
}

static void execute_burst(struct kc_lcore_ctx *lc, struct rte_mbuf **pkts,
			  uint16_t n)
{
	struct rte_mbuf *send[KC_BURST_MAX];
	uint64_t now = rte_rdtsc();
	uint16_t nb_send = 0;

	lc->ws.now_ns = wall_ns();
	/* Forget what left the window, a bounded number per burst. */
	if (lc->ws.idem != NULL)
		kc_idem_expire(lc->ws.idem, lc->ws.now_ns / 1000000u -
			       lc->ws.window_ms, 2u * KC_BURST_MAX);
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		switch (kc_ops_execute(&lc->ws, pkts[i])) {
		case KC_EXEC_SEND:
			send[nb_send++] = pkts[i];
			break;
		case KC_EXEC_HELD:
		case KC_EXEC_DEFERRED:
			break;
		case KC_EXEC_DROP:
			rte_pktmbuf_free(pkts[i]);
			break;
		}
	}
	burst_done(lc, send, nb_send, now);
}

/*
 * Send the held REPLYs whose journal group is on disk. When a journal
 * write failed, every held REPLY becomes STORAGE_FAILED: what it answers
 * is not known to be durable. Returns how many are still held.
 */
static uint32_t release_held(struct kc_lcore_ctx *lc)
{
	struct kc_worker_state *w = &lc->ws;
	uint64_t durable, now;
	bool failed;

	if (w->j == NULL || w->pend_head == w->pend_tail)
		return 0;
	now = rte_rdtsc();
	durable = kc_journal_durable_seq(w->j);
	failed = kc_journal_state(w->j) == KC_JOURNAL_FAILED;
	while (w->pend_tail != w->pend_head) {
		struct kc_pending *pe = &w->pend[w->pend_tail & w->pend_mask];

		if (pe->seq > durable) {
			if (!failed)
				break;
			/* A DELIVER whose call is not durable: not sent. */
			if (pe->own) {
				rte_pktmbuf_free(pe->m);
				w->pend_tail++;
				continue;
			}
			kc_ops_fail_pending(w, pe->m);
		}
		latency(lc, pe->m, now);
		tx_add(lc, pe->m);
		w->pend_tail++;
	}
	return w->pend_head - w->pend_tail;
}

/* Frames for the kernel, to the exception thread's ring: never waits. */
static void to_kernel(struct kc_lcore_ctx *lc, struct rte_ring *r,
		      struct rte_mbuf **pkts, uint16_t n)
{
	unsigned int done = rte_ring_enqueue_burst(r, (void **)pkts, n, NULL);

	KC_ADD(lc->st, exception_to_kernel, done);
	if (done < n) {
		KC_ADD(lc->st, drop_exception_in_ring, n - done);
		rte_pktmbuf_free_bulk(pkts + done, n - done);
	}
}

/*
 * The exception paths, on the first RX lcore: what flow steering put on a
 * port's exception queue goes to the kernel as it is; what the kernel
 * wrote goes out on this lcore's TX queue.
 */
static unsigned int exception_poll(struct kc_lcore_ctx *lc)
{
	struct kc_pipeline *p = lc->p;
	struct rte_mbuf *pkts[KC_BURST_MAX];
	unsigned int work = 0;

	for (uint32_t pi = 0; pi < p->nb_ports; pi++) {
		const struct kc_rx_port *pp =
			&p->pc.port[p->port_id[pi]];
		uint16_t n;

		if (pp->exc_in == NULL)
			continue;
		if (pp->exc_rxq != KC_NO_QUEUE) {
			n = rte_eth_rx_burst(pp->port_id, pp->exc_rxq, pkts,
					     (uint16_t)p->burst);
			if (n != 0) {
				KC_ADD(lc->st, rx_packets, n);
				KC_ADD(lc->st, exception_steered, n);
				for (uint16_t i = 0; i < n; i++)
					KC_ADD(lc->st, rx_bytes,
					       pkts[i]->pkt_len);
				to_kernel(lc, pp->exc_in, pkts, n);
				work += n;
			}
		}
		n = (uint16_t)rte_ring_dequeue_burst(pp->exc_out,
						     (void **)pkts, p->burst,
						     NULL);
		KC_ADD(lc->st, exception_from_kernel, n);
		for (uint16_t i = 0; i < n; i++)
			tx_add(lc, pkts[i]);
		work += n;
	}
	return work;
}

static uint16_t rx_poll_queue(struct kc_lcore_ctx *lc, uint32_t pi,
			      uint16_t q)
{
	struct kc_pipeline *p = lc->p;
	struct rte_mbuf *pkts[KC_BURST_MAX];
	struct rte_mbuf *kcp[KC_BURST_MAX];
	struct rte_mbuf *drops[KC_BURST_MAX];
	struct rte_mbuf *exc[KC_BURST_MAX];
	struct rte_mbuf *bucket[KC_WORKERS_MAX][KC_BURST_MAX];
	enum kc_verdict v[KC_BURST_MAX];
	uint16_t nb_bucket[KC_WORKERS_MAX];
	uint16_t n, nb_kcp = 0, nb_drop = 0, nb_exc = 0;
	uint64_t mark;

	n = rte_eth_rx_burst(p->port_id[pi], q, pkts,
			     (uint16_t)p->burst);
	KC_COUNT(lc->st, rx_polls);
	if (n == 0) {
		KC_COUNT(lc->st, rx_idle_polls);
		return 0;
	}
	mark = rte_rdtsc() |
	       (__atomic_load_n(&p->draining, __ATOMIC_RELAXED) ?
		KC_RX_DRAINED : 0);
	/* Not every PMD sets it (net_ring does not); the REPLY path and the
	 * port table rely on it. */
	for (uint16_t i = 0; i < n; i++)
		pkts[i]->port = p->port_id[pi];
	kc_pkt_classify_burst(&p->pc, lc->auth_mb, pkts, n, v, lc->st);
	for (uint16_t i = 0; i < n; i++) {
		switch (v[i]) {
		case KC_VERDICT_TX:
			tx_add(lc, pkts[i]);
			break;
		case KC_VERDICT_KCP:
			if (kc_rx_tsc_off >= 0)
				*kc_rx_tsc(pkts[i]) = mark;
			kcp[nb_kcp++] = pkts[i];
			break;
		case KC_VERDICT_DROP:
			drops[nb_drop++] = pkts[i];
			break;
		case KC_VERDICT_EXCEPTION:
			exc[nb_exc++] = pkts[i];
			break;
		}
	}
	if (nb_drop != 0)
		rte_pktmbuf_free_bulk(drops, nb_drop);
	if (nb_exc != 0)
		to_kernel(lc, p->pc.port[p->port_id[pi]].exc_in, exc, nb_exc);
	if (nb_kcp == 0)
		return n;
	if (lc->rtc) {
		execute_burst(lc, kcp, nb_kcp);
		return n;
	}

	/* Pipeline: one enqueue burst per worker that gets anything. */
	memset(nb_bucket, 0, sizeof(uint16_t) * p->nb_workers);
	for (uint16_t i = 0; i < nb_kcp; i++) {
		uint32_t w = kc_ops_shard(kcp[i]) % p->nb_workers;

		bucket[w][nb_bucket[w]++] = kcp[i];
	}
	for (uint32_t w = 0; w < p->nb_workers; w++) {
		unsigned int done;

		if (nb_bucket[w] == 0)
			continue;
		done = rte_ring_enqueue_burst(p->workers[w]->ring,
					      (void **)bucket[w], nb_bucket[w],
					      NULL);
		KC_ADD(lc->st, ring_enqueued, done);
		if (done < nb_bucket[w]) {
			KC_ADD(lc->st, drop_ring_full, nb_bucket[w] - done);
			rte_pktmbuf_free_bulk(bucket[w] + done,
					      nb_bucket[w] - done);
		}
	}
	return n;
}

static unsigned int worker_poll(struct kc_lcore_ctx *lc)
{
	struct rte_mbuf *pkts[KC_BURST_MAX];
	unsigned int n;

	n = rte_ring_dequeue_burst(lc->ring, (void **)pkts, lc->p->burst,
				   NULL);
	if (n == 0)
		return 0;
	KC_ADD(lc->st, ring_dequeued, n);
	execute_burst(lc, pkts, (uint16_t)n);
	return n;
}

/* TRAILs back from the ledger's control thread. */
static unsigned int trail_poll(struct kc_lcore_ctx *lc)
{
	struct kc_trail_job *jobs[KC_TRAIL_JOBS];
	struct rte_mbuf *send[KC_TRAIL_JOBS];
	unsigned int n, nb_send = 0;
	uint64_t now;

	n = rte_ring_dequeue_burst(lc->ws.ledger->from_ctl, (void **)jobs,
				   KC_TRAIL_JOBS, NULL);
	if (n == 0)
		return 0;
	now = rte_rdtsc();

	lc->ws.now_ns = wall_ns();
	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m = jobs[i]->m;

		switch (kc_ops_trail_done(&lc->ws, jobs[i])) {
		case KC_EXEC_SEND:
			send[nb_send++] = m;
			break;
		case KC_EXEC_DROP:
			rte_pktmbuf_free(m);
			break;
		case KC_EXEC_HELD:
		case KC_EXEC_DEFERRED:
			break;
		}
	}
	burst_done(lc, send, nb_send, now);
	return n;
}

/* A control request from the admin server (kc_pipeline_ctl). */
static void ctl_call(const struct kc_services *s, int32_t slot,
		     struct kc_ctl_call *c)
{
	struct kc_call_view v;

	kc_services_call(s, slot, &v);
	*c = (struct kc_ctl_call){
		.state = v.state, .problem = v.problem, .status = v.status,
		.caller = v.caller, .service = v.service, .type = v.type,
		.price = v.price, .created_ns = v.created_ns,
		.completed_ns = v.completed_ns, .deadline_ns = v.deadline_ns,
	};
	memcpy(c->id, v.id, KC_CALL_ID_LEN);
}

/* What the admin API shows of the services: copied on worker 0, which
 * owns them (a few thousand entries at most). */
static void services_info(const struct kc_services *s, struct kc_ctl *msg)
{
	int32_t slot = -1;

	msg->now_ns = wall_ns();
	kc_services_summary(s, &msg->svc_sum);
	msg->nb_svcs = RTE_MIN(kc_services_count(s), msg->max_svcs);
	for (uint32_t i = 0; i < msg->nb_svcs; i++)
		kc_services_info(s, i, msg->now_ns, &msg->svcs[i]);
	msg->nb_calls = 0;
	while (msg->nb_calls < msg->max_calls &&
	       (slot = kc_services_open(s, slot)) >= 0)
		ctl_call(s, slot, &msg->calls[msg->nb_calls++]);
	for (uint32_t i = 0; msg->nb_calls < msg->max_calls &&
			     i < KC_SVC_RECENT; i++) {
		slot = kc_services_recent(s, i);
		if (slot >= 0)
			ctl_call(s, slot, &msg->calls[msg->nb_calls++]);
	}
	msg->nb_reports = 0;
	while (msg->nb_reports < msg->max_reports &&
	       kc_services_report(s, msg->nb_reports,
				  &msg->reports[msg->nb_reports]))
		msg->nb_reports++;
}

static void ctl_poll(struct kc_lcore_ctx *lc)
{
	struct kc_worker_state *w = &lc->ws;
	struct kc_ctl *msg;

	if (rte_ring_dequeue(lc->ctl, (void **)&msg) != 0)
		return;
	msg->rc = 0;
	switch (msg->op) {
	case KC_CTL_QUEUES:
		msg->nb_queues = RTE_MIN(kc_queue_count(w->store),
					 msg->max_queues);
		for (uint32_t i = 0; i < msg->nb_queues; i++) {
			struct kc_ctl_queue *q = &msg->queues[i];

			kc_queue_info(w->store, i, &q->info);
			q->info.consumers = RTE_MIN(q->info.consumers,
						    msg->max_consumers);
			for (uint32_t c = 0; c < q->info.consumers; c++) {
				struct kc_name n;

				kc_queue_consumer(w->store, i, c, &n,
						  &q->consumers[c].offset);
				memcpy(q->consumers[c].name, n.s, n.len + 1u);
			}
		}
		break;
	case KC_CTL_AUDIT:
		if (w->ledger == NULL) {
			msg->rc = -ENOENT;
			break;
		}
		kc_ledger_audit(w->ledger->l, &msg->audit);
		w->st->c[kc_op_counter(KC_OP_AUDIT)]++;
		break;
	case KC_CTL_SNAPSHOT:
		if (w->j == NULL) {
			msg->rc = -ENOENT;
			break;
		}
		/* Due now: the next polls write them. */
		if (w->ledger != NULL)
			w->ledger->snap_due = 0;
		w->snap_next_at = w->req_bytes;
		break;
	case KC_CTL_SERVICES:
		if (w->ledger == NULL || w->ledger->svc == NULL) {
			msg->rc = -ENOENT;
			break;
		}
		services_info(w->ledger->svc, msg);
		break;
	case KC_CTL_RULE: {
		struct kc_op_result r;
		uint8_t reply[KC_PAYLOAD_MAX];

		msg->status = kc_calls_rule(w, msg->call_id, msg->pay, &r,
					    reply);
		if (msg->status == KC_STATUS_OK)
			kc_dec_settle_reply(reply, r.len, &msg->settlement,
					    &msg->amount);
		else if (msg->status != KC_STATUS_UNAVAILABLE)
			snprintf(msg->reason, sizeof(msg->reason), "%.*s",
				 (int)r.len, (const char *)reply);
		break;
	}
	default:
		msg->rc = -EINVAL;
		break;
	}
	__atomic_store_n(&msg->done, 1, __ATOMIC_RELEASE);
}

static void idle(struct kc_lcore_ctx *lc, bool held)
{
	if (lc->p->idle == KC_IDLE_SPIN)
		return;
	/* Replies wait for the disk: keep an eye on it, do not sleep. */
	if (held) {
		rte_pause();
		return;
	}
	lc->idle_loops++;
	if (lc->idle_loops < KC_IDLE_SPIN_LOOPS)
		return;
	if (lc->idle_loops < KC_IDLE_PAUSE_LOOPS) {
		rte_pause();
		return;
	}
	lc->sleep_us = lc->sleep_us == 0 ? 1 : lc->sleep_us * 2;
	if (lc->sleep_us > lc->p->idle_sleep_max_us)
		lc->sleep_us = lc->p->idle_sleep_max_us;
	rte_delay_us_sleep(lc->sleep_us);
}

static int lcore_main(void *arg)
{
	struct kc_lcore_ctx *lc = arg;
	struct kc_pipeline *p = lc->p;

	while (!__atomic_load_n(&p->quit, __ATOMIC_RELAXED)) {
		uint64_t t0 = rte_rdtsc();
		uint64_t dt;
		unsigned int work = 0;
		uint32_t held = 0;

		/* RX lcore r polls queues r, r + nb_rx_lcores, ... of each
		 * port: a port may have more RX queues than RX lcores. */
		if (lc->rx)
			for (uint32_t pi = 0; pi < p->nb_ports; pi++)
				for (uint16_t q = lc->rxq; q < p->nb_rxq[pi];
				     q = (uint16_t)(q + p->nb_rx_lcores))
					work += rx_poll_queue(lc, pi, q);
		if (lc->exc)
			work += exception_poll(lc);
		if (lc->worker && !lc->rtc)
			work += worker_poll(lc);
		if (lc->ws.ledger != NULL)
			work += trail_poll(lc);
		if (lc->ws.ledger != NULL && lc->ws.ledger->svc != NULL)
			work += kc_calls_poll(&lc->ws);
		if (lc->ctl != NULL)
			ctl_poll(lc);
		if (lc->worker) {
			held = release_held(lc);
			kc_snapshot_poll(&lc->ws);
		}
		for (uint32_t pi = 0; pi < p->nb_ports; pi++)
			tx_flush(lc, pi);
		if (work == 0) {
			idle(lc, held != 0);
		} else {
			lc->idle_loops = 0;
			lc->sleep_us = 0;
		}
		dt = rte_rdtsc() - t0;
		KC_ADD(lc->st, total_cycles, dt);
		if (work != 0)
			KC_ADD(lc->st, busy_cycles, dt);
	}
	return 0;
}

static struct kc_lcore_ctx *lcore_get(struct kc_pipeline *p, uint32_t id)
{
	for (uint32_t i = 0; i < p->nb_lcores; i++)
		if (p->lc[i].lcore_id == id)
			return &p->lc[i];
	p->lc[p->nb_lcores].lcore_id = id;
	p->lc[p->nb_lcores].p = p;
	p->lc[p->nb_lcores].st = &kc_stats[id];
	p->lc[p->nb_lcores].txq = (uint16_t)p->nb_lcores;
	return &p->lc[p->nb_lcores++];
}

struct kc_pipeline *kc_pipeline_create(const struct kc_config *cfg,
				       const struct kc_keyring *keys,
				       const struct kc_rx_port *ports,
				       uint16_t nb_ports, char *err,
				       size_t err_len)
{
	const struct kc_lcore_map *map = &cfg->pipeline.lcores;
	struct kc_queue_limits lim = {
		.max_queues = cfg->queues.max_queues,
		.max_bytes_per_queue = cfg->queues.max_bytes_per_queue,
		.max_messages_per_queue = cfg->queues.max_messages_per_queue,
		.max_consumers_per_queue =
			cfg->queues.max_consumers_per_queue,
	};
	struct kc_pipeline *p;

	if (nb_ports == 0 || nb_ports > KC_PORTS_MAX) {
		snprintf(err, err_len, "%u ports configured (expected 1..%u)",
			 nb_ports, KC_PORTS_MAX);
		return NULL;
	}
	if (kc_rx_tsc_register(err, err_len) != 0)
		return NULL;
	if (map->worker_count == 0 || map->worker_count > KC_WORKERS_MAX ||
	    map->rx_count == 0) {
		snprintf(err, err_len,
			 "%u rx and %u worker lcores (expected at least one "
			 "rx and 1..%u workers)",
			 map->rx_count, map->worker_count, KC_WORKERS_MAX);
		return NULL;
	}
	if (cfg->pipeline.burst == 0 || cfg->pipeline.burst > KC_BURST_MAX) {
		snprintf(err, err_len, "burst %u (expected 1..%u)",
			 cfg->pipeline.burst, KC_BURST_MAX);
		return NULL;
	}
	p = rte_zmalloc("kc_pipeline", sizeof(*p), RTE_CACHE_LINE_SIZE);
	if (p == NULL) {
		snprintf(err, err_len, "cannot allocate the pipeline");
		return NULL;
	}
	p->lc = rte_zmalloc("kc_lcores", sizeof(struct kc_lcore_ctx) *
			    (map->rx_count + map->worker_count),
			    RTE_CACHE_LINE_SIZE);
	if (p->lc == NULL) {
		snprintf(err, err_len, "cannot allocate %u lcore contexts",
			 map->rx_count + map->worker_count);
		goto fail;
	}
	p->burst = cfg->pipeline.burst;
	p->idle = cfg->pipeline.idle;
	p->idle_sleep_max_us = cfg->pipeline.idle_sleep_max_us;
	p->pc.udp_port = cfg->kcp.udp_port;
	p->pc.keys = keys;
	p->nb_ports = nb_ports;
	for (uint16_t i = 0; i < nb_ports; i++) {
		if (ports[i].nb_rxq < map->rx_count) {
			snprintf(err, err_len, "port %u has %u RX queues for "
				 "%u RX lcores (expected one or more each)",
				 ports[i].port_id, ports[i].nb_rxq,
				 map->rx_count);
			goto fail;
		}
		p->port_id[i] = ports[i].port_id;
		p->nb_rxq[i] = ports[i].nb_rxq;
		p->port_idx[ports[i].port_id] = (uint8_t)i;
		p->pc.port[ports[i].port_id] = ports[i];
	}

	p->nb_rx_lcores = map->rx_count;
	for (uint32_t i = 0; i < map->rx_count; i++) {
		struct kc_lcore_ctx *lc = lcore_get(p, map->rx[i]);

		lc->rx = true;
		lc->rxq = (uint16_t)i;
		lc->auth_mb = kc_auth_mb_create(err, err_len);
		if (lc->auth_mb == NULL)
			goto fail;
	}
	for (uint16_t i = 0; i < nb_ports; i++)
		p->lc[0].exc |= ports[i].exc_in != NULL;
	for (uint32_t i = 0; i < map->worker_count; i++) {
		struct kc_lcore_ctx *lc = lcore_get(p, map->worker[i]);
		int socket = (int)rte_lcore_to_socket_id(lc->lcore_id);
		char name[RTE_RING_NAMESIZE];

		lc->worker = true;
		lc->rtc = lc->rx;
		lc->worker_idx = i;
		if (lc->auth_mb == NULL)
			lc->auth_mb = kc_auth_mb_create(err, err_len);
		if (lc->auth_mb == NULL)
			goto fail;
		lc->ws.auth_mb = lc->auth_mb;
		p->workers[p->nb_workers++] = lc;
		snprintf(name, sizeof(name), "kc_queues_%u", i);
		lc->ws.pc = &p->pc;
		lc->ws.st = lc->st;
		lc->ws.refl = kc_refl_create(cfg->kcp.reflection_limit_source,
					     cfg->kcp.reflection_limit_client,
					     keys->count, socket);
		if (lc->ws.refl == NULL &&
		    (cfg->kcp.reflection_limit_source != 0 ||
		     cfg->kcp.reflection_limit_client != 0)) {
			snprintf(err, err_len, "cannot allocate the reflection "
				 "limit of worker lcore %u", lc->lcore_id);
			goto fail;
		}
		lc->ws.store = kc_queue_store_create(name, &lim, socket);
		if (lc->ws.store == NULL) {
			snprintf(err, err_len,
				 "cannot allocate the queues of worker lcore "
				 "%u: %llu bytes on socket %d: %s",
				 lc->lcore_id,
				 (unsigned long long)kc_queue_store_bytes(&lim),
				 socket, rte_strerror(rte_errno));
			goto fail;
		}
		snprintf(name, sizeof(name), "kc_ctl_%u", i);
		lc->ctl = rte_ring_create(name, 16, socket, RING_F_SC_DEQ);
		if (lc->ctl == NULL) {
			snprintf(err, err_len, "cannot create ring %s: %s",
				 name, rte_strerror(rte_errno));
			goto fail;
		}
		/* The ledger is one state machine: worker 0 owns it. */
		if (i == 0 && cfg->ledger.enabled &&
		    kc_ledger_ws_create(cfg, &lc->ws, socket, err,
					err_len) != 0)
			goto fail;
		if (lc->rtc)
			continue;
		snprintf(name, sizeof(name), "kc_worker_%u", i);
		lc->ring = rte_ring_create(name, cfg->pipeline.ring_size,
			socket, RING_F_SC_DEQ |
			(map->rx_count == 1 ? RING_F_SP_ENQ : 0));
		if (lc->ring == NULL) {
			snprintf(err, err_len,
				 "cannot create ring %s of %u entries on "
				 "socket %d: %s", name,
				 cfg->pipeline.ring_size, socket,
				 rte_strerror(rte_errno));
			goto fail;
		}
	}
	for (uint32_t i = 0; i < p->nb_workers; i++)
		if (p->workers[i]->rtc && p->nb_workers != 1) {
			snprintf(err, err_len,
				 "lcore %u is both rx and worker "
				 "(run-to-completion) but there are %u "
				 "workers: run-to-completion needs exactly one",
				 p->workers[i]->lcore_id, p->nb_workers);
			goto fail;
		}
	snprintf(p->journal_dir, sizeof(p->journal_dir), "%s",
		 cfg->journal.dir);
	return p;
fail:
	kc_pipeline_free(p);
	return NULL;
}

uint32_t kc_pipeline_worker_states(struct kc_pipeline *p,
				   struct kc_worker_state **ws, uint32_t max)
{
	uint32_t n = RTE_MIN(p->nb_workers, max);

	for (uint32_t i = 0; i < n; i++)
		ws[i] = &p->workers[i]->ws;
	return n;
}

int kc_pipeline_launch(struct kc_pipeline *p)
{
	for (uint32_t i = 0; i < p->nb_workers; i++) {
		struct kc_journal *j = p->workers[i]->ws.j;
		int rc = j != NULL ? kc_journal_start(j) : 0;

		if (rc != 0)
			return rc;
	}
	if (p->nb_workers != 0) {
		int rc = kc_ledger_ctl_start(&p->workers[0]->ws,
					     p->journal_dir);

		if (rc != 0)
			return rc;
	}
	for (uint32_t i = 0; i < p->nb_lcores; i++) {
		int rc = rte_eal_remote_launch(lcore_main, &p->lc[i],
					       p->lc[i].lcore_id);

		if (rc != 0) {
			kc_pipeline_stop(p);
			return rc;
		}
	}
	return 0;
}

void kc_pipeline_stop(struct kc_pipeline *p)
{
	__atomic_store_n(&p->quit, 1, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < p->nb_lcores; i++)
		rte_eal_wait_lcore(p->lc[i].lcore_id);
	/* TRAILs in flight are dropped (their clients retry). */
	if (p->nb_workers != 0)
		kc_ledger_ctl_stop(&p->workers[0]->ws);
	for (uint32_t i = 0; i < p->nb_lcores; i++) {
		struct kc_lcore_ctx *lc = &p->lc[i];
		void *m;

		/* Everything the lcore journaled is on disk once the I/O
		 * thread stops: the held REPLYs may go (or fail). */
		if (lc->ws.j != NULL) {
			kc_journal_stop(lc->ws.j);
			release_held(lc);
		}
		for (uint32_t pi = 0; pi < p->nb_ports; pi++)
			tx_flush(lc, pi);
		while (lc->ring != NULL && rte_ring_dequeue(lc->ring, &m) == 0)
			rte_pktmbuf_free(m);
	}
}

void kc_pipeline_free(struct kc_pipeline *p)
{
	if (p == NULL)
		return;
	for (uint32_t i = 0; p->lc != NULL && i < p->nb_lcores; i++) {
		rte_ring_free(p->lc[i].ring);
		rte_ring_free(p->lc[i].ctl);
		kc_ledger_ws_free(&p->lc[i].ws);
		kc_queue_store_free(p->lc[i].ws.store);
		kc_journal_close(p->lc[i].ws.j);
		kc_idem_free(p->lc[i].ws.idem);
		kc_refl_free(p->lc[i].ws.refl);
		for (uint32_t k = p->lc[i].ws.pend_tail;
		     k != p->lc[i].ws.pend_head; k++)
			rte_pktmbuf_free(p->lc[i].ws.pend[k &
							   p->lc[i].ws.pend_mask].m);
		kc_auth_mb_free(p->lc[i].auth_mb);
		rte_free(p->lc[i].ws.pend);
		rte_free(p->lc[i].ws.snap_buf);
	}
	rte_free(p->lc);
	rte_free(p);
}

static void journal_stats(const struct kc_pipeline *p,
			  struct kc_journal_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (uint32_t i = 0; i < p->nb_workers; i++) {
		struct kc_journal_stats st;

		if (p->workers[i]->ws.j == NULL)
			continue;
		kc_journal_stats(p->workers[i]->ws.j, &st);
		sum->groups += st.groups;
		sum->bytes_written += st.bytes_written;
		sum->fsyncs += st.fsyncs;
		sum->segments_created += st.segments_created;
		sum->segments_deleted += st.segments_deleted;
		sum->bytes_deleted += st.bytes_deleted;
		sum->write_errors += st.write_errors;
		if (st.fsync_ns_max > sum->fsync_ns_max)
			sum->fsync_ns_max = st.fsync_ns_max;
		if (st.group_records_max > sum->group_records_max)
			sum->group_records_max = st.group_records_max;
	}
}

void kc_pipeline_describe(const struct kc_pipeline *p, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < p->nb_lcores && used < len; i++) {
		const struct kc_lcore_ctx *lc = &p->lc[i];
		int n;

		if (lc->rtc)
			n = snprintf(out + used, len - used,
				     "  lcore %u: run-to-completion (rx queue "
				     "%u, worker %u, tx queue %u)\n",
				     lc->lcore_id, lc->rxq, lc->worker_idx,
				     lc->txq);
		else if (lc->rx && lc->worker)
			n = snprintf(out + used, len - used,
				     "  lcore %u: rx queue %u + worker %u "
				     "(ring %s), tx queue %u\n", lc->lcore_id,
				     lc->rxq, lc->worker_idx, lc->ring->name,
				     lc->txq);
		else if (lc->rx)
			n = snprintf(out + used, len - used,
				     "  lcore %u: rx queue %u -> %u worker "
				     "ring(s), tx queue %u\n", lc->lcore_id,
				     lc->rxq, p->nb_workers, lc->txq);
		else
			n = snprintf(out + used, len - used,
				     "  lcore %u: worker %u (ring %s), tx "
				     "queue %u\n", lc->lcore_id,
				     lc->worker_idx, lc->ring->name, lc->txq);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static bool ledger_summary(const struct kc_pipeline *p,
			   struct kc_ledger_summary *s)
{
	const struct kc_ledger_ws *lw = p->nb_workers != 0 ?
		p->workers[0]->ws.ledger : NULL;
	uint32_t seq;

	if (lw == NULL)
		return false;
	do {
		seq = __atomic_load_n(&lw->pub_seq, __ATOMIC_ACQUIRE);
		memcpy(s, (const void *)&lw->pub, sizeof(*s));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) != 0 ||
		 seq != __atomic_load_n(&lw->pub_seq, __ATOMIC_RELAXED));
	return true;
}

/* ---- the admin server's view ------------------------------------------- */

static uint32_t lcores(const struct kc_pipeline *p,
		       struct kc_lcore_info *out, uint32_t max)
{
	for (uint32_t i = 0; i < p->nb_lcores && i < max; i++) {
		const struct kc_lcore_ctx *lc = &p->lc[i];

		out[i] = (struct kc_lcore_info){
			.lcore_id = lc->lcore_id,
			.role = lc->rtc ? KC_ROLE_RTC :
				lc->worker ? KC_ROLE_WORKER : KC_ROLE_RX,
			.worker_idx = lc->worker_idx,
			.ring = lc->ring,
		};
	}
	return p->nb_lcores;
}

static uint32_t shards(const struct kc_pipeline *p,
		       struct kc_shard_info *out, uint32_t max)
{
	for (uint32_t i = 0; i < p->nb_workers && i < max; i++) {
		const struct kc_worker_state *w = &p->workers[i]->ws;

		memset(&out[i], 0, sizeof(out[i]));
		if (w->j == NULL)
			continue;
		out[i].journal = true;
		out[i].state = kc_journal_state(w->j);
		/* Written by the lcore: a value a little old, never torn. */
		out[i].last_seq = kc_journal_last_seq(w->j);
		out[i].durable_seq = kc_journal_durable_seq(w->j);
		out[i].held = __atomic_load_n(&w->pend_head, __ATOMIC_RELAXED) -
			      __atomic_load_n(&w->pend_tail, __ATOMIC_RELAXED);
		kc_journal_stats(w->j, &out[i].st);
	}
	return p->nb_workers;
}

int kc_pipeline_ctl(struct kc_pipeline *p, uint32_t w, struct kc_ctl *msg,
		    uint32_t timeout_ms)
{
	uint64_t until;

	if (w >= p->nb_workers || p->workers[w]->ctl == NULL)
		return -EINVAL;
	msg->done = 0;
	if (rte_ring_enqueue(p->workers[w]->ctl, msg) != 0)
		return -ENOBUFS;
	until = rte_get_timer_cycles() +
		rte_get_timer_hz() * timeout_ms / 1000;
	while (!__atomic_load_n(&msg->done, __ATOMIC_ACQUIRE)) {
		if (rte_get_timer_cycles() > until)
			return -ETIMEDOUT;
		rte_delay_us_sleep(100);
	}
	return 0;
}

void kc_pipeline_drain(struct kc_pipeline *p, bool on)
{
	__atomic_store_n(&p->draining, on ? 1 : 0, __ATOMIC_RELEASE);
}

static bool draining(const struct kc_pipeline *p)
{
	return __atomic_load_n(&p->draining, __ATOMIC_ACQUIRE) != 0;
}

static uint64_t in_flight(const struct kc_pipeline *p)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < p->nb_workers; i++) {
		const struct kc_lcore_ctx *lc = p->workers[i];
		const struct kc_ledger_ws *lw = lc->ws.ledger;

		if (lc->ring != NULL)
			n += rte_ring_count(lc->ring);
		n += __atomic_load_n(&lc->ws.pend_head, __ATOMIC_RELAXED) -
		     __atomic_load_n(&lc->ws.pend_tail, __ATOMIC_RELAXED);
		if (lw != NULL)
			n += KC_TRAIL_JOBS -
			     __atomic_load_n(&lw->nb_free, __ATOMIC_RELAXED);
	}
	return n;
}

void kc_pipeline_sample(const struct kc_pipeline *p,
			struct kc_pipeline_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->nb_lcores = RTE_MIN(lcores(p, s->lcores, KC_LCORES_MAX),
			       (uint32_t)KC_LCORES_MAX);
	s->nb_workers = shards(p, s->shards, KC_WORKERS_MAX);
	journal_stats(p, &s->journal);
	s->ledger = ledger_summary(p, &s->ledger_sum);
	s->draining = draining(p);
	s->in_flight = in_flight(p);
}
