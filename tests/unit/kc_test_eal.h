/* SPDX-License-Identifier: BSD-3-Clause */
/* EAL start-up for unit tests: no hugepages, no shared files, no PCI, so
 * they run anywhere without host set-up. */
#ifndef KC_TEST_EAL_H
#define KC_TEST_EAL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

/* Leave nothing behind: the EAL's runtime directory holds a few files
 * even with --no-shconf. */
static inline void kc_test_eal_cleanup(void)
{
	char dir[256], path[512];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	d = opendir(dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

/* lcores in EAL --lcores syntax, e.g. "0" or "(0-3)@0". */
static inline void kc_test_eal_init_lcores(const char *name,
					   const char *lcores)
{
	char prefix[64];
	char lc[64];
	char *argv[] = {
		(char *)name, lc, "--no-huge", "-m", "128",
		"--no-shconf", "--no-pci", "--log-level=error",
		"--no-telemetry", prefix, NULL,
	};

	snprintf(prefix, sizeof(prefix), "--file-prefix=%s_%d", name,
		 (int)getpid());
	snprintf(lc, sizeof(lc), "--lcores=%s", lcores);
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
		fprintf(stderr, "%s: cannot initialise the EAL: %s\n", name,
			rte_strerror(rte_errno));
		exit(1);
	}
	atexit(kc_test_eal_cleanup);
}

static inline void kc_test_eal_init(const char *name)
{
	kc_test_eal_init_lcores(name, "0");
}

#endif /* KC_TEST_EAL_H */
