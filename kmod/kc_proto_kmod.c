// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The KCP codecs of lib/proto, compiled into the module unchanged: the
 * module and the appliance share one definition of the wire format.
 */
#include "kc_proto.c"
