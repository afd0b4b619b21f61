/* SPDX-License-Identifier: MIT */
/*
 * The emulated stream: a FIFO of deferred work items.  Nothing runs when it
 * is enqueued; work runs in order when the stream is synchronised, or when
 * another stream reaches a "wait for event" item (cudaStreamWaitEvent's
 * meaning: the waiter's later work runs after the source's work up to the
 * event, and not before).  Deterministic, single-threaded: a test sees the
 * same interleaving every run, and a missing wait leaves pages visibly
 * unwritten instead of racing.
 */
#include <errno.h>
#include <stdlib.h>

#include "emu_stream.h"

struct item {
	struct item *next;
	void (*fn)(void *arg);
	void *arg;
	bool owned;
};

struct tier_emu_stream {
	struct item *head, *tail;
	uint64_t enqueued, done;
	bool running; /* a wait cycle would recurse forever; it is a deadlock on a GPU too */
};

int tier_emu_stream_new(tier_emu_stream **ret)
{
	tier_emu_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

void tier_emu_stream_free(tier_emu_stream *s)
{
	if (!s)
		return;
	tier_emu_stream_synchronize(s);
	free(s);
}

int emu_stream_enqueue(tier_emu_stream *s, void (*fn)(void *arg), void *arg, bool owned)
{
	struct item *it = malloc(sizeof(*it));

	if (!it)
		return -ENOMEM;
	it->next = NULL;
	it->fn = fn;
	it->arg = arg;
	it->owned = owned;
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	s->enqueued++;
	return 0;
}

int tier_emu_stream_launch(tier_emu_stream *s, void (*fn)(void *arg), void *arg)
{
	if (!s || !fn)
		return -EINVAL;
	return emu_stream_enqueue(s, fn, arg, false);
}

uint64_t emu_stream_record(const tier_emu_stream *s)
{
	return s->enqueued;
}

bool emu_stream_passed(const tier_emu_stream *s, uint64_t ev)
{
	return s->done >= ev;
}

void emu_stream_run_until(tier_emu_stream *s, uint64_t ev)
{
	if (s->running)
		return;
	s->running = true;
	while (s->done < ev && s->head) {
		struct item *it = s->head;

		s->head = it->next;
		if (!s->head)
			s->tail = NULL;
		it->fn(it->arg);
		if (it->owned)
			free(it->arg);
		free(it);
		s->done++;
	}
	s->running = false;
}

void tier_emu_stream_synchronize(tier_emu_stream *s)
{
	if (s)
		emu_stream_run_until(s, s->enqueued);
}

size_t tier_emu_stream_pending(const tier_emu_stream *s)
{
	return s ? (size_t)(s->enqueued - s->done) : 0;
}

struct wait_arg {
	tier_emu_stream *src;
	uint64_t ev;
};

static void run_wait(void *arg)
{
	struct wait_arg *w = arg;

	emu_stream_run_until(w->src, w->ev);
}

int emu_stream_wait(tier_emu_stream *s, tier_emu_stream *src, uint64_t ev)
{
	struct wait_arg *w;
	int r;

	if (s == src)
		return 0; /* a stream is ordered with itself */
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->src = src;
	w->ev = ev;
	r = emu_stream_enqueue(s, run_wait, w, true);
	if (r < 0)
		free(w);
	return r;
}
