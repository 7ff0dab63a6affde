/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The admin server (docs/admin.md): an embedded HTTP(S) server (civetweb)
 * on control threads, never on a data-path lcore, serving the status page
 * `/`, the JSON API `/api/v1/...`, Prometheus `/metrics`, and token-guarded
 * actions (AUDIT, snapshot, drain, resume).
 *
 * It reads the data path only through what is published for other threads
 * (counters, ring counts, the journal's figures, the ledger summary) and
 * asks worker lcores for the rest through their control rings
 * (kc_pipeline_ctl): it takes no lock the data path uses.
 */
#ifndef KC_ADMIN_H
#define KC_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "kc_config.h"
#include "kc_pipeline.h"

struct kc_analytics;

/* A started port, as main.c knows it. */
struct kc_admin_port {
	uint16_t port_id;
	uint16_t nb_rxq;
	char name[KC_CFG_NAME_MAX];	/* the config's name */
	char driver[32];
	int socket_id;			/* NUMA socket of the port's mbufs */
	bool rx_cksum;			/* checksums done by the NIC */
	bool tx_cksum;
	char exception_iface[KC_CFG_NAME_MAX];	/* "": no exception path */
	char flow[96];			/* its flow steering: "on: ...", "off: ..." */
	const struct rte_mempool *mp;	/* its mbufs (NULL: not shown) */
};

struct kc_admin_ctx {
	const struct kc_config *cfg;
	struct kc_pipeline *p;
	const struct kc_admin_port *ports;
	uint16_t nb_ports;
	struct kc_analytics *analytics;	/* NULL: off */
};

struct kc_admin;

/*
 * Start the server (cfg->admin; NULL with err empty when admin.enabled is
 * false). NULL with a message in err when it cannot listen, read its
 * certificate or token file.
 */
struct kc_admin *kc_admin_start(const struct kc_admin_ctx *c, char *err,
				size_t err_len);
/* Stop serving and free. */
void kc_admin_stop(struct kc_admin *a);

#endif /* KC_ADMIN_H */
