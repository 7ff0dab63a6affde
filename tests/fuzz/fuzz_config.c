/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The YAML config (lib/config) on any bytes, as kc_config_load hands a
 * file's text to it. Checked: it returns 0 or -EINVAL, and an error names
 * the file, a line and a column ("fuzz.yaml:LINE:COLUMN: ...").
 */
#include <errno.h>
#include <string.h>

#include "kc_config.h"
#include "kc_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kc_config cfg;
	char err[512];
	unsigned line, col;
	int rc;

	memset(err, 'x', sizeof(err));
	rc = kc_config_parse((const char *)data, size, "fuzz.yaml",
			     "/nonexistent", &cfg, err, sizeof(err));
	KC_FUZZ_CHECK(rc == 0 || rc == -EINVAL, "rc %d", rc);
	if (rc != 0) {
		KC_FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL,
			      "unterminated message");
		KC_FUZZ_CHECK(sscanf(err, "fuzz.yaml:%u:%u: ", &line, &col) == 2,
			      "message without file:line:column: %s", err);
	}
	return 0;
}
