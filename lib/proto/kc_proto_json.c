/* SPDX-License-Identifier: BSD-3-Clause */
/* KCP values as JSON (kc_proto_json.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kc_proto_json.h"

json_t *kc_json_u64(uint64_t v)
{
	char s[24];

	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(s, sizeof(s), "%" PRIu64, v);
	return json_string(s);
}

bool kc_bytes_are_text(const uint8_t *p, size_t n, bool allow_lines)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t extra;
		uint32_t cp;
		size_t j;

		if (c < 0x80) {
			if (c == 0x7f)
				return false;
			if (c < 0x20 && c != '\t' &&
			    !(allow_lines && (c == '\n' || c == '\r')))
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			extra = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			extra = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			extra = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (extra > n - i - 1)
			return false;
		for (j = 1; j <= extra; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
		if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += 1 + extra;
	}
	return true;
}

int kc_json_set_data(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char hkey[64];
	char *hex;
	int rc;

	if (kc_bytes_are_text(p, n, true))
		return json_object_set_new(o, key,
					   json_stringn((const char *)p, n));
	hex = malloc(2 * n + 1);
	if (hex == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[p[i] >> 4];
		hex[2 * i + 1] = digits[p[i] & 0x0f];
	}
	hex[2 * n] = '\0';
	snprintf(hkey, sizeof(hkey), "%s_hex", key);
	rc = json_object_set_new(o, hkey, json_string(hex));
	free(hex);
	return rc;
}

void kc_time_iso(uint64_t time_ns, char *out, size_t len)
{
	time_t s = (time_t)(time_ns / 1000000000u);
	struct tm tm;
	size_t n = 0;

	if (gmtime_r(&s, &tm) != NULL)
		n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0) {
		snprintf(out, len, "?");
		return;
	}
	snprintf(out + n, len - n, ".%09" PRIu64 "Z", time_ns % 1000000000u);
}

json_t *kc_hop_json(const struct kc_hop *h)
{
	char when[64], call[2 * KC_MSG_ID_LEN + 1];
	json_t *o;

	kc_time_iso(h->time_ns, when, sizeof(when));
	o = json_pack("{s:o,s:s,s:o,s:s,s:o,s:o,s:I,s:I}",
		      "seq", kc_json_u64(h->seq), "time", when,
		      "time_ns", kc_json_u64(h->time_ns),
		      "kind", kc_hop_kind_name(h->kind),
		      "coin", kc_json_u64(h->coin),
		      "denomination", kc_json_u64(h->denomination),
		      "from", (json_int_t)h->from, "to", (json_int_t)h->to);
	if (o != NULL && kc_hop_kind_names_call(h->kind)) {
		kc_msg_id_format(h->call, call);
		json_object_set_new(o, "call", json_string(call));
	}
	return o;
}

void kc_hop_line(const struct kc_hop *h, char *out, size_t len)
{
	char when[64], call[2 * KC_MSG_ID_LEN + 1];

	kc_time_iso(h->time_ns, when, sizeof(when));
	if (kc_hop_kind_names_call(h->kind))
		kc_msg_id_format(h->call, call);
	snprintf(out, len, "seq=%" PRIu64 " %s %s coin=%" PRIu64
		 " denomination=%" PRIu64 " %u -> %u%s%s", h->seq, when,
		 kc_hop_kind_name(h->kind), h->coin, h->denomination, h->from,
		 h->to, kc_hop_kind_names_call(h->kind) ? " call=" : "",
		 kc_hop_kind_names_call(h->kind) ? call : "");
}

static json_t *records_json(const struct kc_field *f)
{
	struct kc_record_walk w;
	json_t *a = json_array();
	const uint8_t *m;
	uint32_t ml;
	uint64_t off;

	kc_record_walk_start(&w, f);
	while (a != NULL && kc_record_walk_next(&w, &off, &m, &ml)) {
		json_t *x = json_object();

		if (x == NULL ||
		    json_object_set_new(x, "offset", kc_json_u64(off)) != 0 ||
		    kc_json_set_data(x, "data", m, ml) != 0 ||
		    json_array_append_new(a, x) != 0) {
			json_decref(x);
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *field_json(const struct kc_field *f)
{
	json_t *a;
	uint32_t i;

	switch (f->kind) {
	case KC_FIELD_U64:
		return kc_json_u64(f->v);
	case KC_FIELD_BOOL:
		return json_boolean(f->v != 0);
	case KC_FIELD_WORD:
		return json_string(f->word);
	case KC_FIELD_NAME:
		return json_stringn((const char *)f->p, f->len);
	case KC_FIELD_U64_LIST:
		a = json_array();
		for (i = 0; a != NULL && i < f->count; i++)
			if (json_array_append_new(a, kc_json_u64(
				    kc_list_u64(f->p, i))) != 0) {
				json_decref(a);
				return NULL;
			}
		return a;
	case KC_FIELD_RECORDS:
		return records_json(f);
	case KC_FIELD_HOPS:
		a = json_array();
		for (i = 0; a != NULL && i < f->count; i++) {
			struct kc_hop h;

			kc_dec_hop(f->p + (size_t)i * KC_HOP_WIRE_LEN, &h);
			if (json_array_append_new(a, kc_hop_json(&h)) != 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	case KC_FIELD_ID: {
		char hex[2 * KC_MSG_ID_LEN + 1];

		kc_msg_id_format(f->p, hex);
		return json_string(hex);
	}
	}
	return NULL;
}

int kc_fields_json(const struct kc_fields *fs, json_t *o)
{
	for (uint32_t i = 0; i < fs->n; i++) {
		const struct kc_field *f = &fs->f[i];

		if (f->name == NULL)
			continue;
		if (f->kind == KC_FIELD_DATA) {
			if (kc_json_set_data(o, f->name, f->p, f->len) != 0)
				return -1;
			continue;
		}
		if (json_object_set_new(o, f->name, field_json(f)) != 0)
			return -1;
	}
	return 0;
}
