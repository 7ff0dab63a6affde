/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The admin server's view of the pipeline (lib/pipeline's control-thread
 * API), answered from memory for fuzz_admin: one worker with a journal and
 * the ledger, queues named by the input (kc_fake_queue_names), AUDIT and
 * snapshot requests done at once, drain kept as a flag.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kc_pipeline.h"

#include "kc_fake_pipeline.h"

struct kc_name kc_fake_queue_names[KC_FAKE_QUEUES];
uint32_t kc_fake_nb_queues;
static bool draining;

void kc_pipeline_sample(const struct kc_pipeline *p,
			struct kc_pipeline_sample *s)
{
	(void)p;
	memset(s, 0, sizeof(*s));
	s->nb_lcores = 2;
	s->lcores[0] = (struct kc_lcore_info){ .lcore_id = 1,
					       .role = KC_ROLE_RX };
	s->lcores[1] = (struct kc_lcore_info){ .lcore_id = 2,
					       .role = KC_ROLE_WORKER };
	s->nb_workers = 1;
	s->shards[0].journal = true;
	s->shards[0].last_seq = 42;
	s->shards[0].durable_seq = 40;
	s->ledger = true;
	s->ledger_sum.accounts = 2;
	s->ledger_sum.live_coins = 3;
	s->ledger_sum.supply = 300;
	s->draining = draining;
}

int kc_pipeline_ctl(struct kc_pipeline *p, uint32_t w, struct kc_ctl *msg,
		    uint32_t timeout_ms)
{
	(void)p;
	(void)timeout_ms;
	if (w != 0)
		return -EINVAL;
	msg->rc = 0;
	switch (msg->op) {
	case KC_CTL_QUEUES:
		msg->nb_queues = 0;
		for (uint32_t i = 0; i < kc_fake_nb_queues &&
				     i < msg->max_queues; i++) {
			struct kc_ctl_queue *q = &msg->queues[i];

			memset(&q->info, 0, sizeof(q->info));
			q->info.name = kc_fake_queue_names[i];
			q->info.end = i;
			q->info.consumers = msg->max_consumers > 0;
			if (q->info.consumers)
				q->consumers[0] = (struct kc_ctl_consumer){
					.offset = i };
			if (q->info.consumers)
				memcpy(q->consumers[0].name,
				       kc_fake_queue_names[i].s,
				       kc_fake_queue_names[i].len + 1u);
			msg->nb_queues++;
		}
		break;
	case KC_CTL_AUDIT:
		memset(&msg->audit, 0, sizeof(msg->audit));
		msg->audit.ok = true;
		msg->audit.minted = msg->audit.live_sum = 300;
		break;
	case KC_CTL_SNAPSHOT:
		break;
	case KC_CTL_SERVICES:
		/* One of each, named like the fake queues, with a report
		 * text that needs escaping. */
		memset(&msg->svc_sum, 0, sizeof(msg->svc_sum));
		msg->nb_svcs = msg->nb_calls = msg->nb_reports = 0;
		if (kc_fake_nb_queues == 0)
			break;
		if (msg->max_svcs > 0) {
			memset(&msg->svcs[0], 0, sizeof(msg->svcs[0]));
			msg->svcs[0].type = kc_fake_queue_names[0];
			msg->svcs[0].account = 3;
			msg->svcs[0].score_ppm = 500000;
			msg->nb_svcs = 1;
		}
		if (msg->max_calls > 0) {
			memset(&msg->calls[0], 0, sizeof(msg->calls[0]));
			msg->calls[0].type = kc_fake_queue_names[0];
			msg->calls[0].state = 1;
			msg->nb_calls = 1;
		}
		if (msg->max_reports > 0) {
			memset(&msg->reports[0], 0, sizeof(msg->reports[0]));
			msg->reports[0].type = kc_fake_queue_names[0];
			msg->reports[0].kind = 1;
			memcpy(msg->reports[0].text, "\x01\"<\xff", 4);
			msg->reports[0].len = 4;
			msg->nb_reports = 1;
		}
		msg->svc_sum.services = msg->nb_svcs;
		break;
	case KC_CTL_RULE:
		msg->status = KC_STATUS_NOT_FOUND;
		snprintf(msg->reason, sizeof(msg->reason), "no such call");
		break;
	}
	__atomic_store_n(&msg->done, 1, __ATOMIC_RELEASE);
	return 0;
}

void kc_pipeline_drain(struct kc_pipeline *p, bool on)
{
	(void)p;
	draining = on;
}
