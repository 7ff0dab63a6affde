/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to drivers/: flow steering for kc_port.c. */
#ifndef KC_PORT_PRIV_H
#define KC_PORT_PRIV_H

#include <stddef.h>
#include <stdint.h>

/*
 * Steer KCP (UDP to ip:udp_port, over RSS when nb_data_q > 1), ARP and
 * ICMP to ip to queues 0..nb_data_q-1 and the rest to exc_q. 0 with the
 * rules in place and a summary in why, or -ENOTSUP with no rule left and
 * the rule the NIC refused in why.
 */
int kc_flow_steer(uint16_t port_id, uint32_t ip, uint16_t udp_port,
		  uint16_t nb_data_q, uint16_t exc_q, char *why,
		  size_t why_len);

#endif /* KC_PORT_PRIV_H */
