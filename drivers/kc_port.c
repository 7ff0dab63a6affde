/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "kc_port.h"

static const char *const vdev_prefix[] = {
	[KC_PORT_TAP] = "net_tap",
	[KC_PORT_AF_PACKET] = "net_af_packet",
	[KC_PORT_AF_XDP] = "net_af_xdp",
	[KC_PORT_MEMIF] = "net_memif",
	[KC_PORT_PCAP] = "net_pcap",
	[KC_PORT_RING] = "net_ring",
	[KC_PORT_NULL] = "net_null",
};

static bool mac_by_devarg(enum kc_port_driver d)
{
	return d == KC_PORT_TAP || d == KC_PORT_MEMIF;
}

static void dev_name(const struct kc_config *cfg, uint32_t i, char *out,
		     size_t len)
{
	const struct kc_port_cfg *pc = &cfg->ports[i];

	if (pc->driver == KC_PORT_PCI)
		snprintf(out, len, "%s", pc->pci);
	else
		snprintf(out, len, "%s%u", vdev_prefix[pc->driver], i);
}

int kc_ports_eal_args(const struct kc_config *cfg, uint16_t nb_rxq,
		      uint16_t nb_txq, char args[][2 * KC_CFG_ARG_MAX], int max)
{
	const size_t len = 2 * KC_CFG_ARG_MAX;
	bool any_pci = false;
	int n = 0;

	for (uint32_t i = 0; i < cfg->port_count && n + 2 <= max; i++) {
		const struct kc_port_cfg *pc = &cfg->ports[i];
		uint16_t rxq, txq;
		char name[64];
		char *a;
		int w;

		dev_name(cfg, i, name, sizeof(name));
		kc_port_queues(pc->driver, nb_rxq, nb_txq, &rxq, &txq);
		if (pc->driver == KC_PORT_PCI) {
			any_pci = true;
			snprintf(args[n++], len, "-a");
			snprintf(args[n++], len, "%s%s%s", pc->pci,
				 pc->devargs[0] ? "," : "", pc->devargs);
			continue;
		}
		snprintf(args[n++], len, "--vdev");
		a = args[n++];
		switch (pc->driver) {
		case KC_PORT_TAP:
			w = snprintf(a, len, "%s,iface=%s", name, pc->iface);
			break;
		case KC_PORT_AF_PACKET:
			w = snprintf(a, len, "%s,iface=%s,qpairs=%u", name,
				     pc->iface, rxq);
			break;
		case KC_PORT_AF_XDP:
			w = snprintf(a, len, "%s,iface=%s,queue_count=%u", name,
				     pc->iface, rxq);
			break;
		case KC_PORT_MEMIF:
			w = snprintf(a, len,
				     "%s,role=%s,id=%u,socket=%s,"
				     "socket-abstract=no", name,
				     pc->memif_role == KC_MEMIF_SERVER ?
					     "server" : "client",
				     pc->memif_id, pc->socket_path);
			break;
		case KC_PORT_PCAP:
			w = snprintf(a, len, "%s,rx_pcap=%s%s%s", name,
				     pc->rx_pcap, pc->tx_pcap[0] ?
					     ",tx_pcap=" : "", pc->tx_pcap);
			break;
		default:
			w = snprintf(a, len, "%s", name);
			break;
		}
		/* TAP and memif take the MAC as an argument (memif cannot
		 * change it later); the others get it set after configure. */
		if (pc->has_mac && mac_by_devarg(pc->driver) && w > 0 &&
		    (size_t)w < len)
			w += snprintf(a + w, len - (size_t)w,
				      ",mac=" RTE_ETHER_ADDR_PRT_FMT,
				      pc->mac[0], pc->mac[1], pc->mac[2],
				      pc->mac[3], pc->mac[4], pc->mac[5]);
		if (pc->devargs[0] != '\0' && w > 0 && (size_t)w < len)
			w += snprintf(a + w, len - (size_t)w, ",%s",
				      pc->devargs);
		if (w < 0 || (size_t)w >= len)
			return -ENAMETOOLONG;
	}
	if (!any_pci && n < max)
		snprintf(args[n++], len, "--no-pci");
	return n;
}

/* Give the host side of a TAP port its address and bring it up. */
static int tap_host_addr(const struct kc_port_cfg *pc, char *err,
			 size_t err_len)
{
	struct sockaddr_in *sin;
	struct ifreq ifr;
	int fd, rc = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "port %s: socket: %s", pc->name,
			 strerror(errno));
		return rc;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", pc->iface);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(pc->host_ip.addr);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		goto fail;
	sin->sin_addr.s_addr = pc->host_ip.prefix == 0 ? 0 :
		htonl(~0u << (32 - pc->host_ip.prefix));
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
		goto fail;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		goto fail;
	close(fd);
	return 0;
fail:
	rc = -errno;
	snprintf(err, err_len, "port %s: cannot set address of host interface "
		 "%s: %s", pc->name, pc->iface, strerror(errno));
	close(fd);
	return rc;
}

static int port_start(const struct kc_config *cfg, uint32_t i,
		      uint16_t nb_rxq, uint16_t nb_txq,
		      struct rte_mempool *mp, struct kc_port_state *ps,
		      char *err, size_t err_len)
{
	const struct kc_port_cfg *pc = &cfg->ports[i];
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint16_t nb_rxd = pc->rx_desc, nb_txd = pc->tx_desc;
	struct rte_eth_link link;
	uint64_t deadline;
	int rc;

	kc_port_queues(pc->driver, nb_rxq, nb_txq, &nb_rxq, &nb_txq);
	ps->nb_rxq = nb_rxq;
	ps->nb_txq = nb_txq;
	dev_name(cfg, i, ps->dev_name, sizeof(ps->dev_name));
	rc = rte_eth_dev_get_port_by_name(ps->dev_name, &ps->port_id);
	if (rc != 0) {
		snprintf(err, err_len, "port %s: device %s not found (driver "
			 "%s): is it bound to vfio-pci and the PMD present?",
			 pc->name, ps->dev_name, kc_port_driver_name(pc->driver));
		return -ENODEV;
	}
	rc = rte_eth_dev_info_get(ps->port_id, &info);
	if (rc != 0)
		goto fail_rc;
	snprintf(ps->driver, sizeof(ps->driver), "%s", info.driver_name);
	ps->socket_id = rte_eth_dev_socket_id(ps->port_id);
	if (nb_rxq > info.max_rx_queues || nb_txq > info.max_tx_queues) {
		snprintf(err, err_len, "port %s: needs %u rx and %u tx queues "
			 "(one rx per rx lcore, one tx per data-path lcore), "
			 "%s offers %u and %u", pc->name, nb_rxq, nb_txq,
			 info.driver_name, info.max_rx_queues,
			 info.max_tx_queues);
		return -EINVAL;
	}
	conf.rxmode.mtu = pc->mtu;
	if (nb_rxq > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) &
			info.flow_type_rss_offloads;
	}
	rc = rte_eth_dev_configure(ps->port_id, nb_rxq, nb_txq, &conf);
	if (rc != 0)
		goto fail_rc;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(ps->port_id, &nb_rxd, &nb_txd);
	if (rc != 0)
		goto fail_rc;
	for (uint16_t q = 0; q < nb_rxq; q++) {
		rc = rte_eth_rx_queue_setup(ps->port_id, q, nb_rxd,
					    (unsigned int)ps->socket_id, NULL,
					    mp);
		if (rc != 0)
			goto fail_rc;
	}
	for (uint16_t q = 0; q < nb_txq; q++) {
		rc = rte_eth_tx_queue_setup(ps->port_id, q, nb_txd,
					    (unsigned int)ps->socket_id, NULL);
		if (rc != 0)
			goto fail_rc;
	}
	if (pc->has_mac && !mac_by_devarg(pc->driver)) {
		memcpy(ps->mac.addr_bytes, pc->mac, RTE_ETHER_ADDR_LEN);
		rc = rte_eth_dev_default_mac_addr_set(ps->port_id, &ps->mac);
		if (rc != 0) {
			snprintf(err, err_len, "port %s (%s): cannot set MAC "
				 "from 'mac:': %s", pc->name, ps->dev_name,
				 rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(ps->port_id);
	if (rc != 0)
		goto fail_rc;
	rc = rte_eth_macaddr_get(ps->port_id, &ps->mac);
	if (rc != 0)
		goto fail_rc;
	if (pc->driver == KC_PORT_TAP && pc->has_host_ip) {
		rc = tap_host_addr(pc, err, err_len);
		if (rc != 0)
			return rc;
	}

	deadline = rte_get_timer_cycles() +
		   rte_get_timer_hz() * pc->link_wait_ms / 1000;
	for (;;) {
		memset(&link, 0, sizeof(link));
		rc = rte_eth_link_get_nowait(ps->port_id, &link);
		if (rc != 0 || link.link_status == RTE_ETH_LINK_UP ||
		    rte_get_timer_cycles() >= deadline)
			break;
		rte_delay_us_sleep(100 * 1000);
	}
	ps->link_up = link.link_status == RTE_ETH_LINK_UP;
	ps->link_speed_mbps = link.link_speed;
	return 0;
fail_rc:
	snprintf(err, err_len, "port %s (%s): %s", pc->name, ps->dev_name,
		 rte_strerror(-rc));
	return rc;
}

int kc_ports_start(const struct kc_config *cfg, uint16_t nb_rxq,
		   uint16_t nb_txq, struct rte_mempool *mp,
		   struct kc_port_state *out, char *err, size_t err_len)
{
	for (uint32_t i = 0; i < cfg->port_count; i++) {
		int rc = port_start(cfg, i, nb_rxq, nb_txq, mp, &out[i], err,
				    err_len);

		if (rc != 0) {
			/* Undo the ports already started. */
			for (uint32_t j = 0; j < i; j++) {
				rte_eth_dev_stop(out[j].port_id);
				rte_eth_dev_close(out[j].port_id);
			}
			return rc;
		}
	}
	return 0;
}

void kc_ports_stop(const struct kc_config *cfg, struct kc_port_state *ps)
{
	for (uint32_t i = 0; i < cfg->port_count; i++) {
		rte_eth_dev_stop(ps[i].port_id);
		rte_eth_dev_close(ps[i].port_id);
	}
}
