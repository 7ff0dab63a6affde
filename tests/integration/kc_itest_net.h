/* SPDX-License-Identifier: BSD-3-Clause */
/* Raw datagram exchange for the integration tests' clients: what the
 * client library does not do on purpose (sending the very same datagram
 * again, or one made by hand). */
#ifndef KC_ITEST_NET_H
#define KC_ITEST_NET_H

#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include "kc_proto.h"

/* Send a datagram on a connected socket, wait up to 1 s for the REPLY
 * with its message id. Its length, or -1. */
static inline ssize_t kc_itest_exchange(int fd, const uint8_t *req,
					size_t len, uint8_t *rep, size_t cap)
{
	struct timeval tv = { .tv_sec = 1 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, len, 0) < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, rep, cap, 0);

		if (n < 0)
			return -1;
		if ((size_t)n >= KC_HDR_LEN &&
		    memcmp(rep + KC_OFF_MSG_ID, req + KC_OFF_MSG_ID,
			   KC_MSG_ID_LEN) == 0)
			return n;
	}
}

#endif /* KC_ITEST_NET_H */
