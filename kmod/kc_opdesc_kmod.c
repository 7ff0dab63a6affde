// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The op descriptors of lib/proto, compiled into the module unchanged: a
 * REPLY line shows an op's fields exactly as kcctl does.
 */
#include "kc_opdesc.c"
