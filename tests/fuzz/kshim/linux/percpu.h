/* SPDX-License-Identifier: BSD-3-Clause */
/* tests/fuzz/kshim: see kc_kshim.h. */
#include "../kc_kshim.h"
