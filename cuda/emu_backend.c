/* SPDX-License-Identifier: MIT */
/*
 * The "emu" device back end: the device-tier interface on host memory, so
 * that the daemon's T0 paths and the client helpers run in CI without a GPU.
 *
 * The choice that matters: copies are asynchronous in the same way as on a
 * GPU, and deterministically so.  copy_submit only queues the batch (the
 * caller's host buffer must stay valid, exactly as with cudaMemcpyAsync);
 * poll performs queued batches in submission order, one per completion slot
 * the caller offers, and reports them.  A caller that reads the destination
 * before poll reported the cookie sees the old bytes — in every run, not
 * only when a race goes wrong — so missing waits show up in tests.
 *
 * The pool is a memfd mapping; export hands out that memfd, import maps it,
 * so a client process maps the "device pool" the way it would on a GPU.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"
#include "proto.h"

#define EMU_GRANULARITY (2u << 20)
#define EMU_MAX_IN_FLIGHT 4096

struct emu_batch {
	struct emu_batch *next;
	struct tier_dev_pool *pool;
	uint64_t cookie;
	size_t n;
	struct tier_dev_copy copies[];
};

struct tier_dev {
	int ordinal;
	struct emu_batch *head, *tail; /* FIFO of submitted batches */
	size_t in_flight;
};

struct tier_dev_pool {
	struct tier_dev *dev;
	int fd;
	uint8_t *base;
	uint64_t bytes;
};

static int emu_open(int ordinal, struct tier_dev **ret, char *why, size_t whylen)
{
	struct tier_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->ordinal = ordinal;
	*ret = d;
	return 0;
}

static void emu_close(struct tier_dev *d)
{
	struct emu_batch *b, *next;

	if (!d)
		return;
	for (b = d->head; b; b = next) {
		next = b->next;
		free(b);
	}
	free(d);
}

static int emu_info(struct tier_dev *d, struct tier_dev_info *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->backend, sizeof(out->backend), "emu");
	snprintf(out->name, sizeof(out->name), "emulated (host memory)");
	out->ordinal = d->ordinal;
	out->granularity = EMU_GRANULARITY;
	return 0;
}

static int emu_map(struct tier_dev *d, int fd, uint64_t bytes, struct tier_dev_pool **ret)
{
	struct tier_dev_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p->base == MAP_FAILED) {
		int r = -errno;

		free(p);
		return r;
	}
	p->dev = d;
	p->fd = fd;
	p->bytes = bytes;
	*ret = p;
	return 0;
}

static int emu_pool_alloc(struct tier_dev *d, uint64_t bytes, struct tier_dev_pool **ret)
{
	int fd, r;

	if (bytes == 0)
		return -EINVAL;
	bytes = (bytes + EMU_GRANULARITY - 1) / EMU_GRANULARITY * EMU_GRANULARITY;
	/* Exported to clients: sealed, so no importer can truncate it under the daemon. */
	fd = tier_memfd_sealed("tierd-t0-emu", MFD_CLOEXEC, bytes);
	if (fd < 0)
		return fd;
	r = emu_map(d, fd, bytes, ret);
	if (r < 0)
		close(fd);
	return r;
}

static void emu_pool_free(struct tier_dev_pool *p)
{
	if (!p)
		return;
	munmap(p->base, p->bytes);
	close(p->fd);
	free(p);
}

static void *emu_pool_base(struct tier_dev_pool *p)
{
	return p->base;
}

static uint64_t emu_pool_bytes(struct tier_dev_pool *p)
{
	return p->bytes;
}

static int emu_pool_export(struct tier_dev_pool *p, struct tier_dev_export *ret, int *ret_fd)
{
	int fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	memset(ret, 0, sizeof(*ret));
	ret->magic = TIER_DEV_EXPORT_MAGIC;
	ret->version = 1;
	snprintf(ret->backend, sizeof(ret->backend), "emu");
	ret->bytes = p->bytes;
	*ret_fd = fd;
	return 0;
}

static int emu_pool_import(struct tier_dev *d, const struct tier_dev_export *exp, int fd,
			   struct tier_dev_pool **ret)
{
	struct stat st;
	int dup_fd, r;

	if (exp->magic != TIER_DEV_EXPORT_MAGIC || strcmp(exp->backend, "emu") != 0)
		return -EXDEV;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* A pool larger than its memfd would SIGBUS on first touch. */
	if (exp->bytes == 0 || (uint64_t)st.st_size < exp->bytes)
		return -EINVAL;
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return -errno;
	r = emu_map(d, dup_fd, exp->bytes, ret);
	if (r < 0)
		close(dup_fd);
	return r;
}

static int emu_host_register(struct tier_dev *d, void *p, size_t len)
{
	return 0; /* host memory is host memory */
}

static int emu_host_unregister(struct tier_dev *d, void *p)
{
	return 0;
}

static int emu_copy_submit(struct tier_dev *d, struct tier_dev_pool *p,
			   const struct tier_dev_copy *copies, size_t n, uint64_t cookie)
{
	struct emu_batch *b;

	if (d->in_flight >= EMU_MAX_IN_FLIGHT)
		return -EAGAIN;
	for (size_t i = 0; i < n; i++) {
		const struct tier_dev_copy *c = &copies[i];

		if (c->dir > TIER_DEV_D2H || (c->len && !c->host) || c->pool_off > p->bytes ||
		    c->len > p->bytes - c->pool_off)
			return -EINVAL;
	}
	b = malloc(sizeof(*b) + n * sizeof(b->copies[0]));
	if (!b)
		return -ENOMEM;
	b->next = NULL;
	b->pool = p;
	b->cookie = cookie;
	b->n = n;
	memcpy(b->copies, copies, n * sizeof(copies[0]));
	if (d->tail)
		d->tail->next = b;
	else
		d->head = b;
	d->tail = b;
	d->in_flight++;
	return 0;
}

static int emu_poll(struct tier_dev *d, struct tier_dev_completion *out, size_t max)
{
	size_t done = 0;

	while (done < max && d->head) {
		struct emu_batch *b = d->head;

		for (size_t i = 0; i < b->n; i++) {
			const struct tier_dev_copy *c = &b->copies[i];
			uint8_t *dev = b->pool->base + c->pool_off;

			if (c->dir == TIER_DEV_H2D)
				memmove(dev, c->host, c->len);
			else
				memmove(c->host, dev, c->len);
		}
		out[done].cookie = b->cookie;
		out[done].status = 0;
		done++;
		d->head = b->next;
		if (!d->head)
			d->tail = NULL;
		d->in_flight--;
		free(b);
	}
	return (int)done;
}

static size_t emu_in_flight(struct tier_dev *d)
{
	return d->in_flight;
}

const struct tier_dev_ops tier_dev_emu_ops = {
	.name = "emu",
	.open = emu_open,
	.close = emu_close,
	.info = emu_info,
	.pool_alloc = emu_pool_alloc,
	.pool_free = emu_pool_free,
	.pool_base = emu_pool_base,
	.pool_bytes = emu_pool_bytes,
	.pool_export = emu_pool_export,
	.pool_import = emu_pool_import,
	.host_register = emu_host_register,
	.host_unregister = emu_host_unregister,
	.copy_submit = emu_copy_submit,
	.poll = emu_poll,
	.in_flight = emu_in_flight,
};
