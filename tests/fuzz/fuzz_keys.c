/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The keys file (lib/auth) on any bytes. Checked: a keyring or NULL with
 * "FILE:LINE: ..." in err; every key it holds is found under its own
 * client id, and signing with it works.
 */
#include <string.h>

#include "kc_auth.h"
#include "kc_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kc_keyring *kr;
	char err[512];
	unsigned line;

	memset(err, 'x', sizeof(err));
	kr = kc_keyring_parse((const char *)data, size, "fuzz.keys", err,
			      sizeof(err));
	if (kr == NULL) {
		KC_FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL,
			      "unterminated message");
		KC_FUZZ_CHECK(sscanf(err, "fuzz.keys:%u: ", &line) == 1 ||
			      strncmp(err, "fuzz.keys: ", 11) == 0,
			      "message without file:line: %s", err);
		return 0;
	}
	for (uint32_t i = 0; i < kr->count; i++) {
		uint32_t id = kr->keys[i].client_id;
		const struct kc_key *k = kc_keyring_find(kr, id);
		uint8_t msg[KC_HDR_LEN + 8] = { 0 };

		KC_FUZZ_CHECK(k == &kr->keys[i], "client %u: found %p, not %p",
			      id, (const void *)k, (const void *)&kr->keys[i]);
		kc_auth_sign(k, msg, sizeof(msg));
		KC_FUZZ_CHECK(kc_auth_verify(k, msg, sizeof(msg)),
			      "a signed message does not verify");
	}
	kc_keyring_free(kr);
	return 0;
}
