/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel module's text protocol (kmod/kc_cmd.c, compiled unchanged in
 * user space over kshim/): a command line from a TCP client, and the
 * REPLY line made from the appliance's answer. The first input byte
 * chooses which. Checked:
 * - a line it takes becomes a payload the appliance's own decoder for that
 *   op takes (lib/proto's descriptors), no longer than KC_PAYLOAD_MAX;
 * - a line it refuses gets a reason, sent as one BAD_COMMAND line;
 * - every line written back is one line: printable ASCII, one '\n' at the
 *   end, inside the buffer, whatever the reply bytes or the line held.
 */
#include "kc_kshim.h"
#include "kc_gw.h"
#include "kc_opdesc.h"

#include "kc_fuzz.h"

static void check_one_line(const char *text, unsigned int n, size_t cap)
{
	KC_FUZZ_CHECK(n > 0 && n <= cap, "line of %u bytes in %zu", n, cap);
	KC_FUZZ_CHECK(text[n - 1] == '\n', "no newline at the end");
	for (unsigned int i = 0; i + 1 < n; i++)
		KC_FUZZ_CHECK(text[i] >= 0x20 && text[i] < 0x7f,
			      "byte 0x%02x at %u of %.*s",
			      (unsigned char)text[i], i, (int)n, text);
}

static void command_line(struct kc_fuzz_in *in)
{
	size_t n;
	uint8_t *bytes = kc_fuzz_bytes(in, KC_MAX_LINE_LIMIT, &n);
	char *line = malloc(n + 1);
	uint8_t *payload = malloc(KC_PAYLOAD_MAX);
	char *text = malloc(KC_TEXT_MAX);
	u64 list[KC_COINS_PER_OP_MAX];
	struct kc_fields f;
	unsigned int len = 0, tn;
	char err[128] = "";
	u8 op = 0;
	int rc;

	if (line == NULL || payload == NULL || text == NULL)
		abort();
	memcpy(line, bytes, n);
	line[n] = '\0';
	rc = kc_cmd_parse(line, list, &op, payload, &len, err, sizeof(err));
	if (rc == 0) {
		KC_FUZZ_CHECK(len <= KC_PAYLOAD_MAX, "payload of %u", len);
		KC_FUZZ_CHECK(kc_op_request_fields(op, payload, len, &f),
			      "%s payload of %u bytes the appliance would "
			      "refuse", kc_op_name(op), len);
	} else {
		KC_FUZZ_CHECK(rc == -EINVAL || rc == -ERANGE, "rc %d", rc);
		KC_FUZZ_CHECK(err[0] != '\0', "refused without a reason");
		tn = kc_cmd_format_error(NULL, "BAD_COMMAND", err, text,
					 KC_TEXT_MAX);
		check_one_line(text, tn, KC_TEXT_MAX);
	}
	free(text);
	free(payload);
	free(line);
	free(bytes);
}

/* What the module hands kc_cmd_format_reply: an authenticated REPLY of at
 * least a header, at most a datagram, for a request of op. */
static void reply_line(struct kc_fuzz_in *in)
{
	struct kc_req r = { .op = kc_fuzz_u8(in) };
	size_t n;
	uint8_t *bytes = kc_fuzz_bytes(in, KC_DATAGRAM_MAX, &n);
	size_t len = n < KC_HDR_LEN ? KC_HDR_LEN : n;
	char *text = malloc(KC_TEXT_MAX);
	unsigned int tn;

	r.reply = calloc(1, len);
	if (r.reply == NULL || text == NULL)
		abort();
	memcpy(r.reply, bytes, n);
	r.reply_len = (unsigned int)len;
	memcpy(r.msg_id, r.reply + KC_OFF_MSG_ID, KC_MSG_ID_LEN);
	tn = kc_cmd_format_reply(&r, text, KC_TEXT_MAX);
	check_one_line(text, tn, KC_TEXT_MAX);
	free(text);
	free(r.reply);
	free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kc_fuzz_in in = { data, size };

	if (kc_fuzz_u8(&in) & 1)
		reply_line(&in);
	else
		command_line(&in);
	return 0;
}
