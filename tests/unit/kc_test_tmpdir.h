/* SPDX-License-Identifier: BSD-3-Clause */
/* A directory tree a test made, removed (the cluster tests' Raft logs and
 * journals). */
#ifndef KC_TEST_TMPDIR_H
#define KC_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static inline int kc_test_rm_one(const char *path, const struct stat *sb,
				 int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void kc_test_rm_tree(const char *root)
{
	nftw(root, kc_test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif /* KC_TEST_TMPDIR_H */
