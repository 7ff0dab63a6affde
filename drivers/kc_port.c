/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_ring.h>

#include "kc_port.h"
#include "kc_port_priv.h"

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
	for (uint32_t i = 0; i < cfg->port_count && n + 2 <= max; i++) {
		const struct kc_port_cfg *pc = &cfg->ports[i];

		if (pc->exception_iface[0] == '\0')
			continue;
		snprintf(args[n++], len, "--vdev");
		snprintf(args[n++], len, "net_tap_exc%u,iface=%s", i,
			 pc->exception_iface);
	}
	if (!any_pci && n < max)
		snprintf(args[n++], len, "--no-pci");
	return n;
}

static bool unix_socket_served(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(a.sun_path))
		return false;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return rc == 0;
}

int kc_ports_check_free(const struct kc_config *cfg, char *err,
			size_t err_len)
{
	for (uint32_t i = 0; i < cfg->port_count; i++) {
		const struct kc_port_cfg *pc = &cfg->ports[i];
		const char *taken = NULL;

		if (pc->driver == KC_PORT_TAP && if_nametoindex(pc->iface) != 0)
			taken = pc->iface;
		else if (pc->exception_iface[0] != '\0' &&
			 if_nametoindex(pc->exception_iface) != 0)
			taken = pc->exception_iface;
		if (taken != NULL) {
			snprintf(err, err_len, "port %s: TAP interface %s "
				 "exists already: another appliance (or the "
				 "host) drives it, and a second would share "
				 "its frames; stop it, or remove the interface "
				 "(ip link del %s), or name another iface",
				 pc->name, taken, taken);
			return -EBUSY;
		}
		if (pc->driver == KC_PORT_MEMIF &&
		    pc->memif_role == KC_MEMIF_SERVER &&
		    unix_socket_served(pc->socket_path)) {
			snprintf(err, err_len, "port %s: memif socket %s is "
				 "served by another process (another "
				 "appliance?); stop it or name another socket",
				 pc->name, pc->socket_path);
			return -EBUSY;
		}
	}
	return 0;
}

/* Give the host side of a TAP interface its address and bring it up. */
static int tap_host_addr(const char *port, const char *iface,
			 const struct kc_ipv4_cidr *a, char *err,
			 size_t err_len)
{
	struct sockaddr_in *sin;
	struct ifreq ifr;
	int fd, rc = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "port %s: socket: %s", port,
			 strerror(errno));
		return rc;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(a->addr);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		goto fail;
	sin->sin_addr.s_addr = a->prefix == 0 ? 0 :
		htonl(~0u << (32 - a->prefix));
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
		 "%s: %s", port, iface, strerror(errno));
	close(fd);
	return rc;
}

int kc_port_socket(const struct kc_config *cfg, uint32_t i)
{
	char name[64];
	uint16_t port_id;
	int socket;

	dev_name(cfg, i, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, &port_id) != 0)
		return -ENODEV;
	socket = rte_eth_dev_socket_id(port_id);
	return socket < 0 ? (int)rte_socket_id() : socket;
}

/* Configure with the queues asked for, set them up, give the port the
 * config's MAC (before start: some PMDs only take it then) and start. */
static int port_setup(struct kc_port_state *ps, const struct kc_port_cfg *pc,
		      const struct rte_eth_conf *conf, uint16_t nb_rxq,
		      uint16_t nb_txq, struct rte_mempool *mp, char *err,
		      size_t err_len)
{
	uint16_t nb_rxd = pc->rx_desc, nb_txd = pc->tx_desc;
	struct rte_eth_dev_info info;
	struct rte_eth_txconf txconf;
	int rc;

	rc = rte_eth_dev_configure(ps->port_id, nb_rxq, nb_txq, conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(ps->port_id, &nb_rxd,
						      &nb_txd);
	if (rc == 0)
		rc = rte_eth_dev_info_get(ps->port_id, &info);
	if (rc != 0)
		goto fail;
	txconf = info.default_txconf;
	txconf.offloads = conf->txmode.offloads;
	for (uint16_t q = 0; q < nb_rxq; q++) {
		rc = rte_eth_rx_queue_setup(ps->port_id, q, nb_rxd,
					    (unsigned int)ps->socket_id, NULL,
					    mp);
		if (rc != 0)
			goto fail;
	}
	for (uint16_t q = 0; q < nb_txq; q++) {
		rc = rte_eth_tx_queue_setup(ps->port_id, q, nb_txd,
					    (unsigned int)ps->socket_id,
					    &txconf);
		if (rc != 0)
			goto fail;
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
	if (rc == 0)
		return 0;
fail:
	snprintf(err, err_len, "port %s (%s): %s", pc->name, ps->dev_name,
		 rte_strerror(-rc));
	return rc;
}

/*
 * The kernel's side of a port's exception path: a TAP device with the
 * port's MAC and MTU (so the host's replies leave with the right source
 * address), one queue pair, and the rings between it and the data path.
 */
static int exception_start(uint32_t i, const struct kc_port_cfg *pc,
			   struct kc_port_state *ps, struct rte_mempool *mp,
			   char *err, size_t err_len)
{
	const struct rte_eth_conf conf = { 0 };
	struct rte_ether_addr mac = ps->mac;
	char name[RTE_RING_NAMESIZE];
	int rc;

	snprintf(name, sizeof(name), "net_tap_exc%u", i);
	if (rte_eth_dev_get_port_by_name(name, &ps->exc_port_id) != 0) {
		snprintf(err, err_len, "port %s: exception device %s not "
			 "found (is the net_tap PMD present?)", pc->name,
			 name);
		return -ENODEV;
	}
	ps->exception = true;
	rc = rte_eth_dev_configure(ps->exc_port_id, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(ps->exc_port_id, 0,
					    KC_CFG_EXCEPTION_TAP_DESC,
					    (unsigned int)ps->socket_id, NULL,
					    mp);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(ps->exc_port_id, 0,
					    KC_CFG_EXCEPTION_TAP_DESC,
					    (unsigned int)ps->socket_id, NULL);
	if (rc == 0)
		rc = rte_eth_dev_set_mtu(ps->exc_port_id, pc->mtu);
	if (rc == 0)
		rc = rte_eth_dev_start(ps->exc_port_id);
	if (rc == 0)
		rc = rte_eth_dev_default_mac_addr_set(ps->exc_port_id, &mac);
	if (rc != 0) {
		snprintf(err, err_len, "port %s: exception interface %s: %s",
			 pc->name, pc->exception_iface, rte_strerror(-rc));
		return rc;
	}
	if (pc->has_exception_host_ip) {
		rc = tap_host_addr(pc->name, pc->exception_iface,
				   &pc->exception_host_ip, err, err_len);
		if (rc != 0)
			return rc;
	}
	snprintf(name, sizeof(name), "kc_exc_in_%u", i);
	ps->exc_in = rte_ring_create(name, KC_CFG_EXCEPTION_IN_RING, ps->socket_id,
				     RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "kc_exc_out_%u", i);
	ps->exc_out = rte_ring_create(name, KC_CFG_EXCEPTION_OUT_RING, ps->socket_id,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (ps->exc_in == NULL || ps->exc_out == NULL) {
		snprintf(err, err_len, "port %s: cannot create the exception "
			 "rings: %s", pc->name, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

static int port_start(const struct kc_config *cfg, uint32_t i,
		      uint16_t nb_rxq, uint16_t nb_txq,
		      struct rte_mempool *mp, struct kc_port_state *ps,
		      char *err, size_t err_len)
{
	const struct kc_port_cfg *pc = &cfg->ports[i];
	const uint64_t cksum_rx = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
				  RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	const uint64_t cksum_tx = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
				  RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	struct rte_eth_link link;
	bool steer;
	uint64_t deadline;
	int rc;

	kc_port_queues(pc->driver, nb_rxq, nb_txq, &nb_rxq, &nb_txq);
	ps->nb_rxq = nb_rxq;
	ps->nb_txq = nb_txq;
	ps->exc_rxq = KC_PORT_NO_QUEUE;
	dev_name(cfg, i, ps->dev_name, sizeof(ps->dev_name));
	rc = rte_eth_dev_get_port_by_name(ps->dev_name, &ps->port_id);
	if (rc != 0) {
		snprintf(err, err_len, "port %s: device %s not found (driver "
			 "%s): is it bound to vfio-pci and the PMD present?",
			 pc->name, ps->dev_name, kc_port_driver_name(pc->driver));
		return -ENODEV;
	}
	ps->open = true;
	rc = rte_eth_dev_info_get(ps->port_id, &info);
	if (rc != 0)
		goto fail_rc;
	snprintf(ps->driver, sizeof(ps->driver), "%s", info.driver_name);
	ps->socket_id = rte_eth_dev_socket_id(ps->port_id);
	if (ps->socket_id < 0)
		ps->socket_id = (int)rte_socket_id();
	/* Flow steering wants one RX queue more, for the exception path. */
	steer = pc->exception_iface[0] != '\0' && pc->flow_steering &&
		(pc->driver == KC_PORT_PCI || pc->driver == KC_PORT_TAP);
	if (steer && nb_rxq + 1u > info.max_rx_queues) {
		steer = false;
		snprintf(ps->flow, sizeof(ps->flow), "off: %s has no RX "
			 "queue to spare", info.driver_name);
	}
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
	/* Checksums: the NIC's when it does both, else ours (kc_pkt.c
	 * checks what the NIC did not and sums what it will not). */
	if ((info.rx_offload_capa & cksum_rx) == cksum_rx) {
		conf.rxmode.offloads |= cksum_rx;
		ps->rx_cksum = true;
	}
	if ((info.tx_offload_capa & cksum_tx) == cksum_tx) {
		conf.txmode.offloads |= cksum_tx;
		ps->tx_cksum = true;
	}
	/* memif is shared memory with a process on this host: no wire to
	 * damage a frame. A REPLY's UDP checksum is then left 0 (no
	 * checksum, RFC 768), as the kernel leaves loopback's unchecked;
	 * the tag authenticates every byte of KCP either way. */
	ps->udp_cksum_none = pc->driver == KC_PORT_MEMIF && !ps->tx_cksum;
	/* A TAP queue is a pair: the spare RX queue comes with a TX one. */
	rc = port_setup(ps, pc, &conf, steer ? nb_rxq + 1 : nb_rxq,
			steer && pc->driver == KC_PORT_TAP ? nb_txq + 1 : nb_txq,
			mp, err, err_len);
	if (rc != 0)
		return rc;
	if (steer) {
		char why[sizeof(ps->flow) - 8];

		rc = kc_flow_steer(ps->port_id, pc->ip.addr, cfg->kcp.udp_port,
				   nb_rxq, nb_rxq, why, sizeof(why));
		snprintf(ps->flow, sizeof(ps->flow), "%s: %s",
			 rc == 0 ? "on" : "off", why);
		if (rc == 0) {
			ps->exc_rxq = nb_rxq;
		} else {
			/* Without the rules RSS or the kernel would spread
			 * frames over the spare queue too: drop it. */
			rc = rte_eth_dev_stop(ps->port_id);
			if (rc != 0)
				goto fail_rc;
			rc = port_setup(ps, pc, &conf, nb_rxq, nb_txq, mp, err,
					err_len);
			if (rc != 0)
				return rc;
		}
	} else if (pc->exception_iface[0] != '\0' && ps->flow[0] == '\0') {
		snprintf(ps->flow, sizeof(ps->flow), "off: %s",
			 pc->flow_steering ? "the driver has no rte_flow" :
			 "flow_steering: false");
	}
	rc = rte_eth_macaddr_get(ps->port_id, &ps->mac);
	if (rc != 0)
		goto fail_rc;
	if (pc->driver == KC_PORT_TAP && pc->has_host_ip) {
		rc = tap_host_addr(pc->name, pc->iface, &pc->host_ip, err,
				   err_len);
		if (rc != 0)
			return rc;
	}
	if (pc->exception_iface[0] != '\0') {
		rc = exception_start(i, pc, ps, mp, err, err_len);
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

/* Stop and close one port and what its exception path holds. */
static void port_stop(struct kc_port_state *ps)
{
	struct rte_flow_error e;
	void *m;

	if (!ps->open)
		return;
	ps->open = false;
	if (ps->exc_rxq != KC_PORT_NO_QUEUE)
		rte_flow_flush(ps->port_id, &e);
	rte_eth_dev_stop(ps->port_id);
	rte_eth_dev_close(ps->port_id);
	if (ps->exception) {
		rte_eth_dev_stop(ps->exc_port_id);
		rte_eth_dev_close(ps->exc_port_id);
		ps->exception = false;
	}
	while (ps->exc_in != NULL && rte_ring_dequeue(ps->exc_in, &m) == 0)
		rte_pktmbuf_free(m);
	while (ps->exc_out != NULL && rte_ring_dequeue(ps->exc_out, &m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(ps->exc_in);
	rte_ring_free(ps->exc_out);
	ps->exc_in = ps->exc_out = NULL;
}

int kc_ports_start(const struct kc_config *cfg, uint16_t nb_rxq,
		   uint16_t nb_txq, struct rte_mempool *const *mp,
		   struct kc_port_state *out, char *err, size_t err_len)
{
	memset(out, 0, sizeof(*out) * cfg->port_count);
	for (uint32_t i = 0; i < cfg->port_count; i++) {
		int rc = port_start(cfg, i, nb_rxq, nb_txq, mp[i], &out[i],
				    err, err_len);

		if (rc != 0) {
			/* Undo this port and the ones already started. */
			for (uint32_t j = 0; j <= i; j++)
				port_stop(&out[j]);
			return rc;
		}
	}
	return 0;
}

void kc_ports_stop(const struct kc_config *cfg, struct kc_port_state *ps)
{
	for (uint32_t i = 0; i < cfg->port_count; i++)
		port_stop(&ps[i]);
}
