/* SPDX-License-Identifier: MIT */
/*
 * The "cuda" device back end: the T0 pool in GPU memory.
 *
 * The pool is one CUDA VMM allocation (cuMemCreate with a POSIX-fd handle
 * type), mapped into a reserved address range.  Exporting it hands out the
 * fd from cuMemExportToShareableHandle; a client on the same GPU imports the
 * fd and maps the same physical memory — no cudaIpc handles, no sockets of
 * CUDA's own, and the daemon's existing SCM_RIGHTS path carries it.
 *
 * Driver-API functions are reached through cudaGetDriverEntryPointByVersion,
 * so nothing links libcuda.so: a binary built here starts on a machine with
 * no driver, and open() then fails with -ENODEV (cudaGetDeviceCount's error
 * 35, "driver insufficient", or 100, "no device") so callers fall back to
 * the emu back end.
 *
 * Copies run on two streams of the back end's own (host->device and
 * device->host, so both directions of PCIe are used at once); a batch
 * records an event on each stream it used, and poll() queries events —
 * the reactor never blocks on the GPU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cuda.h>
#include <cuda_runtime_api.h>

#include "device.h"

#define CUDA_MAX_IN_FLIGHT 4096

typedef CUresult (*fn_cuMemCreate)(CUmemGenericAllocationHandle *, size_t,
				   const CUmemAllocationProp *, unsigned long long);
typedef CUresult (*fn_cuMemRelease)(CUmemGenericAllocationHandle);
typedef CUresult (*fn_cuMemAddressReserve)(CUdeviceptr *, size_t, size_t, CUdeviceptr,
					   unsigned long long);
typedef CUresult (*fn_cuMemAddressFree)(CUdeviceptr, size_t);
typedef CUresult (*fn_cuMemMap)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle,
				unsigned long long);
typedef CUresult (*fn_cuMemUnmap)(CUdeviceptr, size_t);
typedef CUresult (*fn_cuMemSetAccess)(CUdeviceptr, size_t, const CUmemAccessDesc *, size_t);
typedef CUresult (*fn_cuMemExportToShareableHandle)(void *, CUmemGenericAllocationHandle,
						    CUmemAllocationHandleType, unsigned long long);
typedef CUresult (*fn_cuMemImportFromShareableHandle)(CUmemGenericAllocationHandle *, void *,
						      CUmemAllocationHandleType);
typedef CUresult (*fn_cuMemGetAllocationGranularity)(size_t *, const CUmemAllocationProp *,
						     CUmemAllocationGranularity_flags);
typedef CUresult (*fn_cuDeviceGet)(CUdevice *, int);
typedef CUresult (*fn_cuDeviceGetAttribute)(int *, CUdevice_attribute, CUdevice);

struct drv {
	fn_cuMemCreate create;
	fn_cuMemRelease release;
	fn_cuMemAddressReserve reserve;
	fn_cuMemAddressFree addr_free;
	fn_cuMemMap map;
	fn_cuMemUnmap unmap;
	fn_cuMemSetAccess set_access;
	fn_cuMemExportToShareableHandle export_fd;
	fn_cuMemImportFromShareableHandle import_fd;
	fn_cuMemGetAllocationGranularity granularity;
	fn_cuDeviceGet device_get;
	fn_cuDeviceGetAttribute attribute;
};

struct cuda_batch {
	struct cuda_batch *next;
	uint64_t cookie;
	cudaEvent_t ev[2];     /* per stream used; NULL when not used */
	int status;
};

struct tier_dev {
	int ordinal;
	struct drv drv;
	struct tier_dev_info info;
	cudaStream_t stream[2]; /* [TIER_DEV_H2D], [TIER_DEV_D2H] */
	struct cuda_batch *head, *tail;
	size_t in_flight;
	cudaEvent_t *free_ev;
	size_t n_free_ev, cap_free_ev;
};

struct tier_dev_pool {
	struct tier_dev *dev;
	CUmemGenericAllocationHandle handle;
	CUdeviceptr base;
	uint64_t bytes;
};

static int fail(char *why, size_t whylen, int r, const char *what, cudaError_t e)
{
	if (why && whylen)
		snprintf(why, whylen, "%s: %s (CUDA error %d)", what, cudaGetErrorString(e), (int)e);
	return r;
}

static int get_fn(void **fn, const char *sym)
{
	enum cudaDriverEntryPointQueryResult q;
	cudaError_t e = cudaGetDriverEntryPointByVersion(sym, fn, CUDA_VERSION,
							 cudaEnableDefault, &q);

	return e == cudaSuccess && q == cudaDriverEntryPointSuccess && *fn ? 0 : -ENOSYS;
}

static int load_driver(struct drv *drv)
{
	int r = 0;

	r |= get_fn((void **)&drv->create, "cuMemCreate");
	r |= get_fn((void **)&drv->release, "cuMemRelease");
	r |= get_fn((void **)&drv->reserve, "cuMemAddressReserve");
	r |= get_fn((void **)&drv->addr_free, "cuMemAddressFree");
	r |= get_fn((void **)&drv->map, "cuMemMap");
	r |= get_fn((void **)&drv->unmap, "cuMemUnmap");
	r |= get_fn((void **)&drv->set_access, "cuMemSetAccess");
	r |= get_fn((void **)&drv->export_fd, "cuMemExportToShareableHandle");
	r |= get_fn((void **)&drv->import_fd, "cuMemImportFromShareableHandle");
	r |= get_fn((void **)&drv->granularity, "cuMemGetAllocationGranularity");
	r |= get_fn((void **)&drv->device_get, "cuDeviceGet");
	r |= get_fn((void **)&drv->attribute, "cuDeviceGetAttribute");
	return r ? -ENOSYS : 0;
}

static void pool_prop(const struct tier_dev *d, CUmemAllocationProp *prop)
{
	memset(prop, 0, sizeof(*prop));
	prop->type = CU_MEM_ALLOCATION_TYPE_PINNED;
	prop->location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	prop->location.id = d->ordinal;
	prop->requestedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
}

static void cuda_close(struct tier_dev *d);

static int cuda_open(int ordinal, struct tier_dev **ret, char *why, size_t whylen)
{
	struct cudaDeviceProp prop;
	CUmemAllocationProp mprop;
	struct tier_dev *d;
	int count = 0, vmm = 0, posix = 0;
	CUdevice cudev = 0;
	size_t gran = 0;
	cudaError_t e;

	e = cudaGetDeviceCount(&count);
	if (e != cudaSuccess)
		return fail(why, whylen, -ENODEV, "cudaGetDeviceCount", e);
	if (ordinal < 0 || ordinal >= count) {
		if (why && whylen)
			snprintf(why, whylen, "no CUDA device %d (%d present)", ordinal, count);
		return -ENODEV;
	}
	e = cudaSetDevice(ordinal);
	if (e == cudaSuccess)
		e = cudaFree(NULL); /* creates the primary context the driver calls use */
	if (e != cudaSuccess)
		return fail(why, whylen, -ENODEV, "cudaSetDevice", e);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->ordinal = ordinal;
	if (load_driver(&d->drv) < 0 || d->drv.device_get(&cudev, ordinal) != CUDA_SUCCESS) {
		free(d);
		if (why && whylen)
			snprintf(why, whylen, "driver entry points for CUDA VMM not found");
		return -ENODEV;
	}
	d->drv.attribute(&vmm, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, cudev);
	d->drv.attribute(&posix, CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED,
			 cudev);
	if (!vmm || !posix) {
		free(d);
		if (why && whylen)
			snprintf(why, whylen, "device %d lacks VMM or POSIX-fd export", ordinal);
		return -ENODEV;
	}
	pool_prop(d, &mprop);
	if (d->drv.granularity(&gran, &mprop, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED) !=
	    CUDA_SUCCESS || !gran)
		gran = 2u << 20;

	e = cudaGetDeviceProperties(&prop, ordinal);
	if (e != cudaSuccess) {
		free(d);
		return fail(why, whylen, -ENODEV, "cudaGetDeviceProperties", e);
	}
	snprintf(d->info.backend, sizeof(d->info.backend), "cuda");
	snprintf(d->info.name, sizeof(d->info.name), "%.63s", prop.name);
	cudaDeviceGetPCIBusId(d->info.pci_bus_id, sizeof(d->info.pci_bus_id), ordinal);
	d->info.ordinal = ordinal;
	d->info.total_bytes = prop.totalGlobalMem;
	d->info.granularity = gran;

	for (int i = 0; i < 2; i++) {
		e = cudaStreamCreateWithFlags(&d->stream[i], cudaStreamNonBlocking);
		if (e != cudaSuccess) {
			cuda_close(d);
			return fail(why, whylen, -ENODEV, "cudaStreamCreate", e);
		}
	}
	*ret = d;
	return 0;
}

static void cuda_close(struct tier_dev *d)
{
	struct cuda_batch *b, *next;

	if (!d)
		return;
	cudaSetDevice(d->ordinal);
	for (int i = 0; i < 2; i++)
		if (d->stream[i]) {
			cudaStreamSynchronize(d->stream[i]);
			cudaStreamDestroy(d->stream[i]);
		}
	for (b = d->head; b; b = next) {
		next = b->next;
		for (int i = 0; i < 2; i++)
			if (b->ev[i])
				cudaEventDestroy(b->ev[i]);
		free(b);
	}
	for (size_t i = 0; i < d->n_free_ev; i++)
		cudaEventDestroy(d->free_ev[i]);
	free(d->free_ev);
	free(d);
}

static int cuda_info(struct tier_dev *d, struct tier_dev_info *out)
{
	*out = d->info;
	return 0;
}

/* Reserve an address range for handle, map it, and allow read/write from our device. */
static int map_handle(struct tier_dev *d, CUmemGenericAllocationHandle h, uint64_t bytes,
		      CUdeviceptr *ret)
{
	CUmemAccessDesc acc = { .location = { .type = CU_MEM_LOCATION_TYPE_DEVICE,
					      .id = d->ordinal },
				.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE };
	CUdeviceptr va = 0;

	if (d->drv.reserve(&va, bytes, d->info.granularity, 0, 0) != CUDA_SUCCESS)
		return -ENOMEM;
	if (d->drv.map(va, bytes, 0, h, 0) != CUDA_SUCCESS) {
		d->drv.addr_free(va, bytes);
		return -ENOMEM;
	}
	if (d->drv.set_access(va, bytes, &acc, 1) != CUDA_SUCCESS) {
		d->drv.unmap(va, bytes);
		d->drv.addr_free(va, bytes);
		return -EIO;
	}
	*ret = va;
	return 0;
}

static int cuda_pool_alloc(struct tier_dev *d, uint64_t bytes, struct tier_dev_pool **ret)
{
	CUmemAllocationProp prop;
	struct tier_dev_pool *p;
	uint64_t g = d->info.granularity;
	int r;

	if (bytes == 0)
		return -EINVAL;
	bytes = (bytes + g - 1) / g * g;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	cudaSetDevice(d->ordinal);
	pool_prop(d, &prop);
	if (d->drv.create(&p->handle, bytes, &prop, 0) != CUDA_SUCCESS) {
		free(p);
		return -ENOMEM;
	}
	r = map_handle(d, p->handle, bytes, &p->base);
	if (r < 0) {
		d->drv.release(p->handle);
		free(p);
		return r;
	}
	p->dev = d;
	p->bytes = bytes;
	*ret = p;
	return 0;
}

static void cuda_pool_free(struct tier_dev_pool *p)
{
	struct tier_dev *d;

	if (!p)
		return;
	d = p->dev;
	cudaSetDevice(d->ordinal);
	d->drv.unmap(p->base, p->bytes);
	d->drv.addr_free(p->base, p->bytes);
	d->drv.release(p->handle);
	free(p);
}

static void *cuda_pool_base(struct tier_dev_pool *p)
{
	return (void *)(uintptr_t)p->base;
}

static uint64_t cuda_pool_bytes(struct tier_dev_pool *p)
{
	return p->bytes;
}

static int cuda_pool_export(struct tier_dev_pool *p, struct tier_dev_export *ret, int *ret_fd)
{
	int fd = -1;

	if (p->dev->drv.export_fd(&fd, p->handle, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0) !=
	    CUDA_SUCCESS || fd < 0)
		return -EIO;
	memset(ret, 0, sizeof(*ret));
	ret->magic = TIER_DEV_EXPORT_MAGIC;
	ret->version = 1;
	snprintf(ret->backend, sizeof(ret->backend), "cuda");
	memcpy(ret->pci_bus_id, p->dev->info.pci_bus_id, sizeof(ret->pci_bus_id));
	ret->bytes = p->bytes;
	*ret_fd = fd;
	return 0;
}

static int cuda_pool_import(struct tier_dev *d, const struct tier_dev_export *exp, int fd,
			    struct tier_dev_pool **ret)
{
	struct tier_dev_pool *p;
	int r;

	if (exp->magic != TIER_DEV_EXPORT_MAGIC || strcmp(exp->backend, "cuda") != 0 ||
	    strncmp(exp->pci_bus_id, d->info.pci_bus_id, sizeof(exp->pci_bus_id)) != 0)
		return -EXDEV;
	if (exp->bytes == 0 || exp->bytes % d->info.granularity)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	cudaSetDevice(d->ordinal);
	/* The driver dups what it needs; the fd stays the caller's. */
	if (d->drv.import_fd(&p->handle, (void *)(uintptr_t)fd,
			     CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) != CUDA_SUCCESS) {
		free(p);
		return -EINVAL;
	}
	r = map_handle(d, p->handle, exp->bytes, &p->base);
	if (r < 0) {
		d->drv.release(p->handle);
		free(p);
		return r;
	}
	p->dev = d;
	p->bytes = exp->bytes;
	*ret = p;
	return 0;
}

static int cuda_host_register(struct tier_dev *d, void *p, size_t len)
{
	cudaError_t e;

	cudaSetDevice(d->ordinal);
	e = cudaHostRegister(p, len, cudaHostRegisterPortable);
	if (e == cudaErrorHostMemoryAlreadyRegistered) {
		cudaGetLastError();
		return -EEXIST;
	}
	return e == cudaSuccess ? 0 : -ENOMEM;
}

static int cuda_host_unregister(struct tier_dev *d, void *p)
{
	cudaSetDevice(d->ordinal);
	return cudaHostUnregister(p) == cudaSuccess ? 0 : -EINVAL;
}

static cudaEvent_t get_event(struct tier_dev *d)
{
	cudaEvent_t ev = NULL;

	if (d->n_free_ev)
		return d->free_ev[--d->n_free_ev];
	if (cudaEventCreateWithFlags(&ev, cudaEventDisableTiming) != cudaSuccess)
		return NULL;
	return ev;
}

static void put_event(struct tier_dev *d, cudaEvent_t ev)
{
	if (d->n_free_ev == d->cap_free_ev) {
		size_t cap = d->cap_free_ev ? 2 * d->cap_free_ev : 64;
		cudaEvent_t *n = realloc(d->free_ev, cap * sizeof(*n));

		if (!n) {
			cudaEventDestroy(ev);
			return;
		}
		d->free_ev = n;
		d->cap_free_ev = cap;
	}
	d->free_ev[d->n_free_ev++] = ev;
}

static int cuda_copy_submit(struct tier_dev *d, struct tier_dev_pool *p,
			    const struct tier_dev_copy *copies, size_t n, uint64_t cookie)
{
	struct cuda_batch *b;
	bool used[2] = { false, false };

	if (d->in_flight >= CUDA_MAX_IN_FLIGHT)
		return -EAGAIN;
	for (size_t i = 0; i < n; i++) {
		const struct tier_dev_copy *c = &copies[i];

		if (c->dir > TIER_DEV_D2H || (c->len && !c->host) || c->pool_off > p->bytes ||
		    c->len > p->bytes - c->pool_off)
			return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cookie = cookie;
	cudaSetDevice(d->ordinal);
	for (size_t i = 0; i < n; i++) {
		const struct tier_dev_copy *c = &copies[i];
		void *dev = (void *)(uintptr_t)(p->base + c->pool_off);
		cudaError_t e;

		if (!c->len)
			continue;
		if (c->dir == TIER_DEV_H2D)
			e = cudaMemcpyAsync(dev, c->host, c->len, cudaMemcpyHostToDevice,
					    d->stream[TIER_DEV_H2D]);
		else
			e = cudaMemcpyAsync(c->host, dev, c->len, cudaMemcpyDeviceToHost,
					    d->stream[TIER_DEV_D2H]);
		if (e != cudaSuccess)
			b->status = -EIO; /* reported with the batch, after what was queued */
		used[c->dir] = true;
	}
	for (int s = 0; s < 2; s++) {
		if (!used[s])
			continue;
		b->ev[s] = get_event(d);
		if (!b->ev[s] || cudaEventRecord(b->ev[s], d->stream[s]) != cudaSuccess) {
			/* Without an event we cannot tell when it is done: wait now. */
			cudaStreamSynchronize(d->stream[s]);
			if (b->ev[s])
				put_event(d, b->ev[s]);
			b->ev[s] = NULL;
		}
	}
	if (d->tail)
		d->tail->next = b;
	else
		d->head = b;
	d->tail = b;
	d->in_flight++;
	return 0;
}

static int cuda_poll(struct tier_dev *d, struct tier_dev_completion *out, size_t max)
{
	struct cuda_batch **pp = &d->head, *b, *prev = NULL;
	size_t done = 0;

	cudaSetDevice(d->ordinal);
	while (done < max && (b = *pp) != NULL) {
		bool ready = true;

		for (int s = 0; s < 2 && ready; s++) {
			cudaError_t e;

			if (!b->ev[s])
				continue;
			e = cudaEventQuery(b->ev[s]);
			if (e == cudaErrorNotReady) {
				cudaGetLastError(); /* not sticky, but keep the error slot clean */
				ready = false;
			} else if (e != cudaSuccess) {
				b->status = -EIO;
			}
		}
		if (!ready) {
			prev = b;
			pp = &b->next;
			continue;
		}
		out[done].cookie = b->cookie;
		out[done].status = b->status;
		done++;
		*pp = b->next;
		if (d->tail == b)
			d->tail = prev;
		for (int s = 0; s < 2; s++)
			if (b->ev[s])
				put_event(d, b->ev[s]);
		free(b);
		d->in_flight--;
	}
	return (int)done;
}

static size_t cuda_in_flight(struct tier_dev *d)
{
	return d->in_flight;
}

const struct tier_dev_ops tier_dev_cuda_ops = {
	.name = "cuda",
	.open = cuda_open,
	.close = cuda_close,
	.info = cuda_info,
	.pool_alloc = cuda_pool_alloc,
	.pool_free = cuda_pool_free,
	.pool_base = cuda_pool_base,
	.pool_bytes = cuda_pool_bytes,
	.pool_export = cuda_pool_export,
	.pool_import = cuda_pool_import,
	.host_register = cuda_host_register,
	.host_unregister = cuda_host_unregister,
	.copy_submit = cuda_copy_submit,
	.poll = cuda_poll,
	.in_flight = cuda_in_flight,
};
