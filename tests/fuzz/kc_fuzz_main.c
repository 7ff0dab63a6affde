/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The replayer of a fuzz target in the unit build (gcc, no libFuzzer):
 * `fuzz_NAME FILE|DIR...` runs every file (a directory's files in name
 * order) through LLVMFuzzerTestOneInput once, each in an exactly sized
 * heap buffer. It exits 0 when all ran; a broken property aborts. So the
 * corpus, crashes found before included, is a regression test everywhere.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kc_fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	unsigned long runs = 0;
	int failed = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct dirent **ents;
		struct stat sb;
		int n;

		if (argv[i][0] == '-')
			continue; /* libFuzzer's flags mean nothing here */
		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		if (!S_ISDIR(sb.st_mode)) {
			failed |= run_file(argv[i]) != 0;
			runs++;
			continue;
		}
		n = scandir(argv[i], &ents, NULL, by_name);
		for (int k = 0; k < n; k++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 ents[k]->d_name);
			if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
				failed |= run_file(path) != 0;
				runs++;
			}
			free(ents[k]);
		}
		if (n >= 0)
			free(ents);
	}
	printf("%s: %lu inputs run\n", argv[0], runs);
	return failed || runs == 0;
}
