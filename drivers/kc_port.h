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

/* Two arguments per port, two more per exception TAP, and --no-pci. */
#define KC_PORT_EAL_ARGS_MAX (4u * KC_PORTS_MAX + 1u)
#define KC_PORT_NO_QUEUE UINT16_MAX

struct kc_port_state {
	bool open;		/* found: kc_ports_stop closes it */
	uint16_t port_id;
	uint16_t nb_rxq;	/* data-path RX queues: all of them are polled */
	uint16_t nb_txq;
	struct rte_ether_addr mac;
	char dev_name[64];	/* ethdev name: "net_tap0", "0000:3b:00.0" */
	char driver[32];	/* the PMD's name */
	int socket_id;		/* the NUMA socket of the port and its mbufs */
	bool link_up;
	uint32_t link_speed_mbps;
	bool rx_cksum;		/* the NIC checks IPv4 and UDP checksums */
	bool tx_cksum;		/* the NIC fills them in */
	bool udp_cksum_none;	/* REPLYs carry UDP checksum 0 (memif) */
	/* Exception path (exception_iface set): a TAP device to the kernel
	 * and two rings to and from the data path. */
	bool exception;
	uint16_t exc_port_id;	/* the TAP's ethdev */
	uint16_t exc_rxq;	/* flow steering's queue, or KC_PORT_NO_QUEUE */
	struct rte_ring *exc_in;	/* data path -> kernel */
	struct rte_ring *exc_out;	/* kernel -> data path */
	char flow[96];		/* flow steering: "on ...", "off: why" */
};

/*
 * EAL arguments that create or allow the configured devices ("--vdev",
 * "net_tap0,iface=kc0", "-a", "0000:3b:00.0", "--no-pci" when no port is a
 * PCI NIC, a net_tap_excN per exception path), sized for nb_rxq/nb_txq
 * queues. Writes at most max strings of 2 * KC_CFG_ARG_MAX bytes into args;
 * returns the count, or -ENAMETOOLONG when a device's arguments do not fit
 * (long paths and devargs).
 */
int kc_ports_eal_args(const struct kc_config *cfg, uint16_t nb_rxq,
		      uint16_t nb_txq, char args[][2 * KC_CFG_ARG_MAX], int max);

/*
 * Before the EAL makes the devices: refuse a port another process already
 * drives where the driver lets us tell. A TAP interface (a port's or an
 * exception path's) that exists belongs to someone else: the TAP PMD would
 * join it as one more queue, and two appliances would share its frames. A
 * memif server socket that accepts a connection is another server's. (An
 * AF_PACKET or AF_XDP interface cannot tell: docs/operations.md.) 0, or
 * -EBUSY with a message naming the port in err.
 */
int kc_ports_check_free(const struct kc_config *cfg, char *err,
			size_t err_len);

/*
 * The NUMA socket of port i once the EAL is up (the main lcore's for
 * virtual devices), so its mbuf pool can be made there; -ENODEV if the
 * device is missing.
 */
int kc_port_socket(const struct kc_config *cfg, uint32_t i);

/*
 * Configure and start every port with nb_rxq RX and nb_txq TX queues, RSS
 * over the RX queues when there is more than one, mbufs of port i from
 * mp[i]. Uses the NIC's checksum offloads when it has them. Starts the
 * exception paths' TAP devices and, where the NIC takes the rules, steers
 * KCP, ARP and ICMP to the data queues and the rest to an exception queue.
 * Waits for the link (link_wait_ms), gives TAP host sides their addresses.
 * 0, or a negative errno with a message naming the port in err.
 */
int kc_ports_start(const struct kc_config *cfg, uint16_t nb_rxq,
		   uint16_t nb_txq, struct rte_mempool *const *mp,
		   struct kc_port_state *out, char *err, size_t err_len);

/* Stop and close every port started, exception TAPs and rings included. */
void kc_ports_stop(const struct kc_config *cfg, struct kc_port_state *ps);

/*
 * The exception thread: moves frames between the exception rings and the
 * TAP devices, sleeping up to a millisecond when there is nothing to move.
 * Counts in kc_stats[stats_lcore]. 0, or a negative errno (no thread is
 * started when no port has an exception path).
 */
int kc_exception_start(const struct kc_config *cfg, struct kc_port_state *ps,
		       unsigned int stats_lcore);
void kc_exception_stop(void);

#endif /* KC_PORT_H */
