/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exception thread: a control thread (never a data-path lcore) that
 * carries frames between each port's exception rings and its TAP device,
 * so the system calls a TAP costs stay off the lcores. Frames the kernel
 * writes are tagged with the NIC's port id for the lcore that sends them.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "kc_port.h"
#include "kc_stats.h"

#define KC_EXC_BURST 32u
#define KC_EXC_SLEEP_MAX_US 1000u

static struct {
	pthread_t tid;
	bool running;
	volatile int quit;
	uint32_t nb;
	struct kc_port_state *ps[KC_PORTS_MAX];
	struct kc_lcore_stats *st;
} exc;

/* Data path -> kernel. */
static unsigned int to_tap(struct kc_port_state *ps)
{
	struct rte_mbuf *pkts[KC_EXC_BURST];
	unsigned int n;
	uint16_t sent;

	n = rte_ring_dequeue_burst(ps->exc_in, (void **)pkts, KC_EXC_BURST,
				   NULL);
	if (n == 0)
		return 0;
	sent = rte_eth_tx_burst(ps->exc_port_id, 0, pkts, (uint16_t)n);
	if (sent < n) {
		KC_ADD(exc.st, drop_exception_tap, n - sent);
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
	return n;
}

/*
 * Kernel -> the lcore that sends on the NIC. Only as many as the ring has
 * room for: the rest waits in the TAP's queue, where the kernel's own
 * queueing pushes back on its senders (TCP), instead of being read and
 * dropped here. This thread is the ring's only producer, so the room can
 * only grow until the enqueue.
 */
static unsigned int from_tap(struct kc_port_state *ps)
{
	struct rte_mbuf *pkts[KC_EXC_BURST];
	unsigned int done, room;
	uint16_t n;

	room = rte_ring_free_count(ps->exc_out);
	if (room == 0)
		return 0;
	n = rte_eth_rx_burst(ps->exc_port_id, 0, pkts,
			     (uint16_t)RTE_MIN(room, KC_EXC_BURST));
	if (n == 0)
		return 0;
	for (uint16_t i = 0; i < n; i++) {
		pkts[i]->port = ps->port_id;
		/* No offloads on the way out; where the buffer lives
		 * stays said (lib/rx/kc_pkt.c, set_tx_flags). */
		pkts[i]->ol_flags &= RTE_MBUF_F_EXTERNAL |
				     RTE_MBUF_F_INDIRECT;
	}
	done = rte_ring_enqueue_burst(ps->exc_out, (void **)pkts, n, NULL);
	if (done < n) {
		KC_ADD(exc.st, drop_exception_out_ring, n - done);
		rte_pktmbuf_free_bulk(pkts + done, n - done);
	}
	return n;
}

static void *exception_main(void *arg)
{
	uint32_t sleep_us = 0;

	(void)arg;
	while (!__atomic_load_n(&exc.quit, __ATOMIC_RELAXED)) {
		unsigned int work = 0;

		for (uint32_t i = 0; i < exc.nb; i++) {
			work += to_tap(exc.ps[i]);
			work += from_tap(exc.ps[i]);
		}
		if (work != 0) {
			sleep_us = 0;
			continue;
		}
		/* Interactive traffic (a shell, a ping) waits at most a
		 * millisecond; an idle appliance wakes 1000 times a second. */
		sleep_us = sleep_us == 0 ? 10 : sleep_us * 2;
		if (sleep_us > KC_EXC_SLEEP_MAX_US)
			sleep_us = KC_EXC_SLEEP_MAX_US;
		nanosleep(&(struct timespec){ .tv_nsec = sleep_us * 1000L },
			  NULL);
	}
	return NULL;
}

int kc_exception_start(const struct kc_config *cfg, struct kc_port_state *ps,
		       unsigned int stats_lcore)
{
	int rc;

	exc.nb = 0;
	for (uint32_t i = 0; i < cfg->port_count; i++)
		if (ps[i].exception)
			exc.ps[exc.nb++] = &ps[i];
	if (exc.nb == 0)
		return 0;
	exc.st = &kc_stats[stats_lcore];
	exc.quit = 0;
	rc = rte_ctrl_thread_create(&exc.tid, "kc-exception", NULL,
				    exception_main, NULL);
	if (rc != 0)
		return -rc;
	exc.running = true;
	return 0;
}

void kc_exception_stop(void)
{
	if (!exc.running)
		return;
	__atomic_store_n(&exc.quit, 1, __ATOMIC_RELAXED);
	pthread_join(exc.tid, NULL);
	exc.running = false;
}
