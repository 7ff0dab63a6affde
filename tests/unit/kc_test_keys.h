/* SPDX-License-Identifier: BSD-3-Clause */
/* A keyring of clients 1..n (key bytes all n), for the unit tests of the
 * state machines that check who a request is from. */
#ifndef KC_TEST_KEYS_H
#define KC_TEST_KEYS_H

#include <stdio.h>
#include <string.h>

#include "kc_auth.h"

static inline struct kc_keyring *kc_test_keys(int n)
{
	char text[4096] = "";
	char err[256];
	struct kc_keyring *keys;

	for (int i = 1; i <= n; i++) {
		char line[100];

		snprintf(line, sizeof(line), "%d %064x c%d\n", i, i, i);
		strcat(text, line);
	}
	keys = kc_keyring_parse(text, strlen(text), "test", err, sizeof(err));
	if (keys == NULL)
		fprintf(stderr, "%s\n", err);
	return keys;
}

#endif /* KC_TEST_KEYS_H */
