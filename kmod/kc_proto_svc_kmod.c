// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The service ops' KCP codecs of lib/proto, compiled into the module
 * unchanged (kc_opdesc describes their payloads through them).
 */
#include "kc_proto_svc.c"
