/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-lcore counters. Declared once in KC_COUNTERS, kept in one cache-aligned
 * struct per lcore that only that lcore writes, and summed by readers (the
 * control thread, telemetry). Lcores count; they do not log.
 */
#ifndef KC_STATS_H
#define KC_STATS_H

#include <stdint.h>

#include <rte_common.h>
#include <rte_lcore.h>

#include "kc_proto.h"

/* symbol, description */
#define KC_COUNTERS(X)                                                        \
	X(rx_packets, "frames received")                                      \
	X(rx_bytes, "bytes received")                                         \
	X(tx_packets, "frames sent")                                          \
	X(tx_bytes, "bytes sent")                                             \
	X(rx_polls, "rx_burst calls")                                         \
	X(rx_idle_polls, "rx_burst calls that returned nothing")              \
	X(arp_replies, "ARP requests for our address answered")               \
	X(icmp_echo_replies, "ICMP echo requests answered")                   \
	X(kcp_requests, "authenticated KCP requests accepted")                \
	X(kcp_replies, "KCP replies sent")                                    \
	X(kcp_error_replies, "KCP replies with an error status")              \
	X(drop_runt, "frames shorter than an Ethernet header")                \
	X(drop_segmented, "frames that arrived in more than one mbuf")        \
	X(drop_not_ours, "frames for another MAC or IP address")            \
	X(drop_ethertype, "frames of an ethertype we do not serve")           \
	X(drop_arp, "ARP frames not asking for our address or malformed")     \
	X(drop_bad_ip, "IPv4 header malformed or truncated")                  \
	X(drop_ip_checksum, "IPv4 header checksum wrong")                     \
	X(drop_ip_options, "IPv4 packets with options")                       \
	X(drop_ip_fragment, "IPv4 fragments")                                 \
	X(drop_ip_proto, "IPv4 protocols we do not serve")                    \
	X(drop_icmp, "ICMP other than a well-formed echo request")            \
	X(drop_bad_udp, "UDP header or length malformed")                     \
	X(drop_udp_checksum, "UDP checksum wrong")                            \
	X(drop_udp_port, "UDP to a port we do not serve")                     \
	X(drop_kcp_short, "KCP datagrams shorter than the header")            \
	X(drop_kcp_magic, "KCP datagrams with a wrong magic")                 \
	X(drop_kcp_version, "KCP datagrams of an unknown version")            \
	X(drop_kcp_type, "KCP datagrams that are not a REQUEST")              \
	X(drop_kcp_flags, "KCP datagrams with unknown flags or status set")   \
	X(drop_kcp_length, "KCP payload length disagrees with the datagram")  \
	X(drop_kcp_too_large, "KCP payload length above the maximum")         \
	X(drop_bad_client, "KCP requests from an unknown client id")          \
	X(drop_bad_auth, "KCP requests whose tag does not verify")            \
	X(drop_ring_full, "requests dropped because a worker ring was full")  \
	X(drop_tx_full, "frames the TX queue did not take")                   \
	X(drop_no_mbuf, "replies not sent for lack of an mbuf or room")       \
	X(drop_reflection, "read replies not sent: longer than their "     \
	  "requests beyond kcp.reflection_limit_source or _client")          \
	X(exception_to_kernel, "frames handed to the kernel (exception "     \
	  "path)")                                                            \
	X(exception_steered, "frames flow steering put on the exception "   \
	  "queue (handed to the kernel unread)")                              \
	X(exception_from_kernel, "frames the kernel sent out through the "    \
	  "exception path")                                                   \
	X(drop_exception_in_ring, "frames for the kernel dropped: the ring "  \
	  "toward the exception thread was full")                             \
	X(drop_exception_tap, "frames for the kernel dropped: the TAP "       \
	  "refused the write (its interface down, or moving between "        \
	  "namespaces)")                                                      \
	X(drop_exception_out_ring, "frames from the kernel dropped: the "     \
	  "ring toward the sending lcore was full")                           \
	X(trail_busy, "TRAILs refused: too many in progress")                 \
	X(calls_delivered, "DELIVERs sent to services (first tries and "      \
	  "retries)")                                                         \
	X(call_retries_absorbed, "CALLs sent again while their call was in "  \
	  "flight (answered when it completes)")                              \
	X(deliver_no_link, "DELIVERs not sent: the service's address on "     \
	  "the link is not known since a restart (its next SERVE tells)")     \
	X(deliver_no_room, "DELIVERs or callers' REPLYs not sent: no mbuf "   \
	  "or no room among the held packets (tried again later)")            \
	X(settles_made, "SETTLEs the appliance made: deadlines, holds, "      \
	  "quarantines")                                                      \
	X(outcomes_unsent, "callers' REPLYs not sent: the caller's address "  \
	  "is not known since a restart (its retry gets it)")                 \
	X(ledger_snapshots, "ledger snapshots written to the journal")        \
	X(ledger_snapshots_deferred, "ledger snapshots that had to wait for " \
	  "journal room")                                                     \
	X(ledger_reaped, "DEAD coins reaped from memory")                     \
	X(refused_draining, "requests refused: an operator is draining the "  \
	  "appliance")                                                        \
	X(op_unknown, "requests with an unknown op (answered UNKNOWN_OP)")    \
	X(op_bad_request, "requests with a malformed payload (answered)")     \
	X(journal_records, "records appended to the journal")                 \
	X(kcp_held, "replies held until their journal group was on disk")     \
	X(refused_journal_busy, "requests refused: journal buffer or held "    \
	  "replies full (UNAVAILABLE)")                                       \
	X(refused_storage_full, "requests refused: journal disk full "         \
	  "(STORAGE_FULL)")                                                   \
	X(refused_storage_failed, "requests refused: a journal write failed " \
	  "(STORAGE_FAILED)")                                                 \
	X(replies_failed_unsynced, "held replies turned into STORAGE_FAILED " \
	  "by a failed journal write")                                        \
	X(kcp_duplicates, "retried requests answered with their first "      \
	  "REPLY (idempotency)")                                             \
	X(kcp_expired_old, "requests refused: message id older than the "     \
	  "replay window (EXPIRED)")                                          \
	X(kcp_expired_ahead, "requests refused: message id ahead of the "     \
	  "clock by more than max_clock_skew_s (EXPIRED)")                    \
	X(kcp_expired_forgotten, "state-changing requests refused: message "  \
	  "id no longer in the index (EXPIRED)")                              \
	X(snapshots, "queue snapshots written to the journal")                \
	X(snapshots_deferred, "queue snapshots left to the next cycle: no "   \
	  "room in the journal")                                              \
	X(idem_not_kept, "replies too long for the idempotency index "        \
	  "(never expected)")                                                 \
	X(idem_evicted_full, "index entries that left before the window "     \
	  "ended because the index was full (idempotency.entries)")          \
	X(ring_enqueued, "requests handed to a worker ring")                  \
	X(ring_dequeued, "requests taken from a worker ring")                 \
	X(service_cycles, "TSC cycles of request service time, summed over "  \
	  "the REPLYs in the latency histogram")                              \
	X(busy_cycles, "TSC cycles spent on polls that found work")           \
	X(total_cycles, "TSC cycles spent in the poll loop")

/*
 * Then one counter per op of the op table (kc_proto.h), named op_NAME
 * ("op_publish"): KC_CTR_op_PUBLISH, found by value with kc_op_counter.
 */
enum kc_counter {
#define KC_COUNTER_ENUM(sym, desc) KC_CTR_##sym,
	KC_COUNTERS(KC_COUNTER_ENUM)
#undef KC_COUNTER_ENUM
#define KC_COUNTER_OP_ENUM(sym, ...) KC_CTR_op_##sym,
	KC_OP_LIST(KC_COUNTER_OP_ENUM)
#undef KC_COUNTER_OP_ENUM
	KC_CTR_COUNT
};

/* Each op value's counter (0, never an op's, for a value not an op). */
extern const uint16_t kc_op_counters[KC_OP_MAX_VALUE + 1];

/* The counter of requests of op executed; KC_CTR_op_unknown if op is
 * not in the op table. */
static inline enum kc_counter kc_op_counter(uint8_t op)
{
	uint16_t c = kc_op_counters[op];

	return c != 0 ? (enum kc_counter)c : KC_CTR_op_unknown;
}

/*
 * Request service time, from the RX burst that took the request to the
 * burst that sent its REPLY (held REPLYs included), in TSC cycles: bucket
 * b counts times in [2^b, 2^(b+1)) cycles (bucket 0 also counts 0 and 1).
 */
#define KC_LAT_BUCKETS 48u

/* One per lcore, written only by it. Readers may see a value a few
 * increments old; counters are 64-bit and aligned, so reads do not tear. */
struct kc_lcore_stats {
	uint64_t c[KC_CTR_COUNT];
	uint64_t lat[KC_LAT_BUCKETS];
} __rte_cache_aligned;

extern struct kc_lcore_stats kc_stats[RTE_MAX_LCORE];

#define KC_COUNT(st, sym) ((st)->c[KC_CTR_##sym]++)
#define KC_ADD(st, sym, n) ((st)->c[KC_CTR_##sym] += (n))

const char *kc_counter_name(enum kc_counter c);
const char *kc_counter_desc(enum kc_counter c);

/* Sum of every lcore's counters. */
void kc_stats_sum(uint64_t out[KC_CTR_COUNT]);
/* Sum of every lcore's latency histogram. */
void kc_stats_lat_sum(uint64_t out[KC_LAT_BUCKETS]);
/* Sum of the drop_* counters. */
uint64_t kc_stats_drops(const uint64_t sum[KC_CTR_COUNT]);

/*
 * Register the telemetry commands /kingcobra/stats (summed counters) and
 * /kingcobra/lcores (per-lcore counters). 0 or a negative errno.
 */
int kc_stats_telemetry_register(void);

#endif /* KC_STATS_H */
