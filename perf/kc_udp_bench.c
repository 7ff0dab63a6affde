/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-udp-bench: PING throughput through kernel UDP sockets, for the first
 * baseline (over TAP). Keeps WINDOW requests in flight on one socket with
 * sendmmsg/recvmmsg, each with its own message id and tag, for SECONDS, and
 * reports replies per second and the mean round trip. A throughput probe,
 * not a latency benchmark (that is kc-loadgen's job, with coordinated
 * omission handled).
 *
 *   kc-udp-bench SERVER[:PORT] SECONDS WINDOW
 * Prints one JSON object on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kc_auth.h"
#include "kc_proto.h"

#define BATCH 64
#define WINDOW_MAX 4096

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t build(uint8_t *buf, const struct kc_key *k, uint64_t seq)
{
	struct kc_hdr h = {
		.magic = KC_PROTO_MAGIC, .version = KC_PROTO_VERSION,
		.type = KC_TYPE_REQUEST, .op = KC_OP_PING,
		.client_id = k->client_id, .payload_len = 8,
	};

	kc_msg_id_make(h.msg_id, (uint64_t)time(NULL) * 1000, k->client_id,
		       seq);
	kc_hdr_encode(buf, &h);
	kc_put_u64(buf + KC_HDR_LEN, now_ns());
	kc_auth_sign(k, buf, KC_HDR_LEN + 8);
	return KC_HDR_LEN + 8;
}

int main(int argc, char **argv)
{
	static uint8_t out[BATCH][KC_HDR_LEN + 8];
	static uint8_t in[BATCH][256];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct kc_key key;
	char host[64], *colon;
	uint64_t seq = 0, replies = 0, rtt_sum = 0, sent = 0, t0, end;
	unsigned int seconds, window;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: kc-udp-bench SERVER[:PORT] SECONDS "
			"WINDOW\n");
		return 2;
	}
	snprintf(host, sizeof(host), "%s", argv[1]);
	colon = strchr(host, ':');
	dst.sin_port = htons(colon ? (uint16_t)atoi(colon + 1) :
			     KC_UDP_PORT_DEFAULT);
	if (colon)
		*colon = '\0';
	seconds = (unsigned int)atoi(argv[2]);
	window = (unsigned int)atoi(argv[3]);
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1 || seconds == 0 ||
	    seconds > 600 || window == 0 || window > WINDOW_MAX) {
		fprintf(stderr, "kc-udp-bench: bad arguments\n");
		return 2;
	}
	kc_key_init(&key, KC_DEV_CLIENT_ID, kc_dev_key, "dev");
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("kc-udp-bench: socket");
		return 1;
	}

	t0 = now_ns();
	end = t0 + (uint64_t)seconds * 1000000000ull;
	while (now_ns() < end) {
		uint64_t inflight = sent > replies ? sent - replies : 0;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n;

		/* Top the window up; a lost datagram shrinks it for good, so
		 * consider anything older than 100 ms lost. */
		if (inflight < window) {
			unsigned int want = window - (unsigned int)inflight;

			if (want > BATCH)
				want = BATCH;
			for (unsigned int i = 0; i < want; i++) {
				iov[i].iov_base = out[i];
				iov[i].iov_len = build(out[i], &key, seq++);
				memset(&msgs[i], 0, sizeof(msgs[i]));
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
			}
			n = sendmmsg(fd, msgs, want, 0);
			if (n > 0)
				sent += (uint64_t)n;
		}
		if (poll(&pfd, 1, 100) == 0) {
			sent = replies; /* everything in flight is lost */
			continue;
		}
		for (unsigned int i = 0; i < BATCH; i++) {
			iov[i].iov_base = in[i];
			iov[i].iov_len = sizeof(in[i]);
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			struct kc_hdr h;

			if (kc_hdr_decode(in[i], msgs[i].msg_len, &h) !=
				    KC_PARSE_OK || h.type != KC_TYPE_REPLY ||
			    h.status != KC_STATUS_OK || h.payload_len != 8 ||
			    !kc_auth_verify(&key, in[i], msgs[i].msg_len))
				continue;
			rtt_sum += now_ns() - kc_get_u64(in[i] + KC_HDR_LEN);
			replies++;
		}
	}
	end = now_ns();
	printf("{\"transport\":\"kernel-udp\",\"op\":\"ping\",\"seconds\":%.3f,"
	       "\"window\":%u,\"replies\":%llu,\"requests_per_s\":%.0f,"
	       "\"mean_rtt_us\":%.1f}\n",
	       (double)(end - t0) / 1e9, window,
	       (unsigned long long)replies,
	       (double)replies * 1e9 / (double)(end - t0),
	       replies ? (double)rtt_sum / (double)replies / 1e3 : 0.0);
	close(fd);
	return replies > 0 ? 0 : 1;
}
