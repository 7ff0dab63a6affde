/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * KCP values as JSON (jansson), for the user-space tools: an op's fields
 * from its descriptor (kc_opdesc.h), a money-trail hop, and the helpers
 * both kcctl and kcq need. Not part of the kernel module.
 */
#ifndef KC_PROTO_JSON_H
#define KC_PROTO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kc_opdesc.h"
#include "kc_proto.h"

/*
 * JSON integers are signed 64-bit: a u64 above INT64_MAX is given as a
 * string of its decimal digits rather than as a wrong negative number.
 */
json_t *kc_json_u64(uint64_t v);

/* Valid UTF-8 without control characters (tab allowed; newline and CR
 * only if allow_lines): shown as text; anything else in hex. */
bool kc_bytes_are_text(const uint8_t *p, size_t n, bool allow_lines);

/* Member key: the bytes as a string if they are text, else member
 * key_hex with their hex digits. 0 or -1 (out of memory). */
int kc_json_set_data(json_t *o, const char *key, const uint8_t *p, size_t n);

/*
 * Every field as a member of o, by the field's name: U64 an integer (or a
 * string above INT64_MAX), BOOL a boolean, WORD and NAME strings, DATA as
 * kc_json_set_data, U64_LIST an array, RECORDS an array of {offset, data},
 * HOPS an array of kc_hop_json objects. A bare word (no name) is left out.
 * 0 or -1.
 */
int kc_fields_json(const struct kc_fields *f, json_t *o);

/* time_ns since the Unix epoch as ISO 8601 UTC with nanoseconds. */
void kc_time_iso(uint64_t time_ns, char *out, size_t len);

/* A hop as kcctl and kcq show it: {seq, time, time_ns, kind, coin,
 * denomination, from, to}; NULL when out of memory. */
json_t *kc_hop_json(const struct kc_hop *h);

/* A hop as one line of text (no newline): "seq=S TIME KIND coin=C
 * denomination=D FROM -> TO". */
void kc_hop_line(const struct kc_hop *h, char *out, size_t len);

#endif /* KC_PROTO_JSON_H */
