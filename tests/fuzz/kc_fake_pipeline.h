/* SPDX-License-Identifier: BSD-3-Clause */
/* kc_fake_pipeline.c: what fuzz_admin sets for it to answer. */
#ifndef KC_FAKE_PIPELINE_H
#define KC_FAKE_PIPELINE_H

#include <stdint.h>

#include "kc_proto.h"

#define KC_FAKE_QUEUES 4
extern struct kc_name kc_fake_queue_names[KC_FAKE_QUEUES];
extern uint32_t kc_fake_nb_queues;

#endif /* KC_FAKE_PIPELINE_H */
