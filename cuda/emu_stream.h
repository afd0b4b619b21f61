/* SPDX-License-Identifier: MIT */
/*
 * Internals of the emulated stream (emu_stream.c): enqueue with an owned
 * argument, events as sequence numbers, run up to an event.  Not installed.
 */
#ifndef TIERD_CUDA_EMU_STREAM_H
#define TIERD_CUDA_EMU_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "tier_cuda.h"

/* Enqueue fn(arg); when owned, arg is free()d after fn ran (or at free). */
int emu_stream_enqueue(tier_emu_stream *s, void (*fn)(void *arg), void *arg, bool owned);
/* An event: everything enqueued so far.  Never fails. */
uint64_t emu_stream_record(const tier_emu_stream *s);
/* Run queued work until the event has passed. */
void emu_stream_run_until(tier_emu_stream *s, uint64_t ev);
bool emu_stream_passed(const tier_emu_stream *s, uint64_t ev);
/* Enqueue on s: "wait for event ev of src" (cudaStreamWaitEvent). */
int emu_stream_wait(tier_emu_stream *s, tier_emu_stream *src, uint64_t ev);

#endif
