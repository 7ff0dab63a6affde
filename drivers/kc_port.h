/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port backends over DPDK ethdev: a PCI NIC bound to vfio-pci, or a virtual
 * device (TAP, AF_PACKET, AF_XDP, memif, pcap, ring, null), all from the
 * ports of the YAML config.
 */
#ifndef KC_PORT_H
#define KC_PORT_H

#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "kc_config.h"

#define KC_PORT_EAL_ARGS_MAX (2u * KC_CFG_PORTS_MAX + 1u)

struct kc_port_state {
	uint16_t port_id;
	uint16_t nb_rxq;	/* RX queues configured: all of them are polled */
	uint16_t nb_txq;
	struct rte_ether_addr mac;
	char dev_name[64];	/* ethdev name: "net_tap0", "0000:3b:00.0" */
	char driver[32];	/* the PMD's name */
	int socket_id;
	bool link_up;
	uint32_t link_speed_mbps;
};

/*
 * EAL arguments that create or allow the configured devices ("--vdev",
 * "net_tap0,iface=kc0", "-a", "0000:3b:00.0", "--no-pci" when no port is a
 * PCI NIC), sized for nb_rxq/nb_txq queues. Writes at most max strings of
 * 2 * KC_CFG_ARG_MAX bytes into args; returns the count, or -ENAMETOOLONG
 * when a device's arguments do not fit (long paths and devargs).
 */
int kc_ports_eal_args(const struct kc_config *cfg, uint16_t nb_rxq,
		      uint16_t nb_txq, char args[][2 * KC_CFG_ARG_MAX], int max);

/*
 * Configure and start every port with nb_rxq RX and nb_txq TX queues, RSS
 * over the RX queues when there is more than one, mbufs from mp. Waits for
 * the link (link_wait_ms), gives a TAP port's host side its address.
 * 0, or a negative errno with a message naming the port in err.
 */
int kc_ports_start(const struct kc_config *cfg, uint16_t nb_rxq,
		   uint16_t nb_txq, struct rte_mempool *mp,
		   struct kc_port_state *out, char *err, size_t err_len);

/* Stop and close every port started. */
void kc_ports_stop(const struct kc_config *cfg, struct kc_port_state *ps);

#endif /* KC_PORT_H */
