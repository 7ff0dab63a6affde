/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rte_flow steering for a port with an exception path: KCP (UDP to our
 * address and port), ARP and ICMP to our address go to the data-path RX
 * queues, everything else to one more queue that the data path hands to
 * the kernel unread. NICs that refuse any of the rules get none, and the
 * data path sorts the frames in software instead.
 */
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_ip.h>

#include "kc_port_priv.h"

#define KC_FLOW_RULES 4

static int rule(uint16_t port_id, uint32_t priority,
		const struct rte_flow_item *pattern,
		const struct rte_flow_action *actions, struct rte_flow **out,
		const char *what, char *why, size_t why_len)
{
	const struct rte_flow_attr attr = {
		.ingress = 1, .priority = priority,
	};
	struct rte_flow_error e;

	memset(&e, 0, sizeof(e));
	if (rte_flow_validate(port_id, &attr, pattern, actions, &e) == 0)
		*out = rte_flow_create(port_id, &attr, pattern, actions, &e);
	if (*out == NULL) {
		snprintf(why, why_len, "%s rule refused: %s", what,
			 e.message != NULL ? e.message : "no reason given");
		return -ENOTSUP;
	}
	return 0;
}

int kc_flow_steer(uint16_t port_id, uint32_t ip, uint16_t udp_port,
		  uint16_t nb_data_q, uint16_t exc_q, char *why,
		  size_t why_len)
{
	struct rte_flow_item_ipv4 ip_spec = { 0 }, ip_mask = { 0 };
	struct rte_flow_item_ipv4 icmp_spec = { 0 }, icmp_mask = { 0 };
	struct rte_flow_item_udp udp_spec = { 0 }, udp_mask = { 0 };
	struct rte_flow_item_eth arp_spec = { 0 }, arp_mask = { 0 };
	uint16_t queues[RTE_MAX_QUEUES_PER_PORT];
	struct rte_flow *flows[KC_FLOW_RULES] = { NULL };
	struct rte_flow_action_queue q0 = { .index = 0 };
	struct rte_flow_action_queue qx = { .index = exc_q };
	struct rte_flow_action_rss rss = {
		.types = RTE_ETH_RSS_NONFRAG_IPV4_UDP,
		.queue_num = nb_data_q,
		.queue = queues,
	};
	struct rte_flow_error e;
	int rc;

	for (uint16_t q = 0; q < nb_data_q; q++)
		queues[q] = q;
	ip_spec.hdr.dst_addr = rte_cpu_to_be_32(ip);
	ip_mask.hdr.dst_addr = RTE_BE32(0xffffffff);
	udp_spec.hdr.dst_port = rte_cpu_to_be_16(udp_port);
	udp_mask.hdr.dst_port = RTE_BE16(0xffff);
	icmp_spec.hdr.dst_addr = ip_spec.hdr.dst_addr;
	icmp_spec.hdr.next_proto_id = IPPROTO_ICMP;
	icmp_mask.hdr.dst_addr = ip_mask.hdr.dst_addr;
	icmp_mask.hdr.next_proto_id = 0xff;
	arp_spec.hdr.ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp_mask.hdr.ether_type = RTE_BE16(0xffff);
	{
		const struct rte_flow_item kcp[] = {
			{ .type = RTE_FLOW_ITEM_TYPE_ETH },
			{ .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip_spec,
			  .mask = &ip_mask },
			{ .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp_spec,
			  .mask = &udp_mask },
			{ .type = RTE_FLOW_ITEM_TYPE_END },
		};
		const struct rte_flow_item arp[] = {
			{ .type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &arp_spec,
			  .mask = &arp_mask },
			{ .type = RTE_FLOW_ITEM_TYPE_END },
		};
		const struct rte_flow_item icmp[] = {
			{ .type = RTE_FLOW_ITEM_TYPE_ETH },
			{ .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &icmp_spec,
			  .mask = &icmp_mask },
			{ .type = RTE_FLOW_ITEM_TYPE_END },
		};
		const struct rte_flow_item rest[] = {
			{ .type = RTE_FLOW_ITEM_TYPE_ETH },
			{ .type = RTE_FLOW_ITEM_TYPE_END },
		};
		/* One data queue: QUEUE, which more NICs take than RSS. */
		const struct rte_flow_action to_data[] = {
			nb_data_q == 1 ?
				(struct rte_flow_action){
					.type = RTE_FLOW_ACTION_TYPE_QUEUE,
					.conf = &q0 } :
				(struct rte_flow_action){
					.type = RTE_FLOW_ACTION_TYPE_RSS,
					.conf = &rss },
			{ .type = RTE_FLOW_ACTION_TYPE_END },
		};
		const struct rte_flow_action to_q0[] = {
			{ .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 },
			{ .type = RTE_FLOW_ACTION_TYPE_END },
		};
		const struct rte_flow_action to_exc[] = {
			{ .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &qx },
			{ .type = RTE_FLOW_ACTION_TYPE_END },
		};

		rc = rule(port_id, 0, kcp, to_data, &flows[0], "KCP", why,
			  why_len);
		if (rc == 0)
			rc = rule(port_id, 0, arp, to_q0, &flows[1], "ARP",
				  why, why_len);
		if (rc == 0)
			rc = rule(port_id, 0, icmp, to_q0, &flows[2], "ICMP",
				  why, why_len);
		if (rc == 0)
			rc = rule(port_id, 1, rest, to_exc, &flows[3],
				  "catch-all", why, why_len);
	}
	if (rc != 0) {
		for (int i = 0; i < KC_FLOW_RULES; i++)
			if (flows[i] != NULL)
				rte_flow_destroy(port_id, flows[i], &e);
		return rc;
	}
	snprintf(why, why_len, "KCP, ARP, ICMP to %u data queue(s), the rest "
		 "to queue %u", nb_data_q, exc_q);
	return 0;
}
