/* SPDX-License-Identifier: BSD-3-Clause */
/* What the integration tests' clients share: their CHECK, and the raw
 * datagram exchange the client library does not do on purpose (sending
 * the very same datagram again, or one made by hand). Included by one
 * source file each: the counters are that file's. */
#ifndef KC_ITEST_NET_H
#define KC_ITEST_NET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include "kc_proto.h"

static int checks, failures;
static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;

/* Count a check, print it when it fails; threads may check at once (the
 * condition is evaluated before the lock is taken). */
#define CHECK(cond, ...)                                           \
	do {                                                       \
		bool check_ok_ = (cond);                           \
									   \
		pthread_mutex_lock(&check_lock);                   \
		checks++;                                          \
		if (!check_ok_) {                                  \
			failures++;                                \
			fprintf(stderr, "FAIL: " __VA_ARGS__);     \
			fprintf(stderr, "\n");                     \
		}                                                  \
		pthread_mutex_unlock(&check_lock);                 \
	} while (0)

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
