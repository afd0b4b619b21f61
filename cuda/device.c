/* SPDX-License-Identifier: MIT */
/*
 * Device-tier registry: the back ends built in, "auto" selection (the GPU
 * when one opens, else the host-memory emulation, never an error just
 * because there is no GPU), and the fd passing that moves an exported pool
 * between processes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "device.h"

const struct tier_dev_ops *const tier_dev_backends[] = {
#if TIERD_HAVE_CUDA
	&tier_dev_cuda_ops,
#endif
	&tier_dev_emu_ops,
	NULL,
};

const struct tier_dev_ops *tier_dev_lookup(const char *name)
{
	for (size_t i = 0; tier_dev_backends[i]; i++)
		if (strcmp(tier_dev_backends[i]->name, name) == 0)
			return tier_dev_backends[i];
	return NULL;
}

int tier_dev_open(const char *name, int ordinal, const struct tier_dev_ops **ret_ops,
		  struct tier_dev **ret, char *why, size_t whylen)
{
	const struct tier_dev_ops *ops;
	int r;

	if (why && whylen)
		why[0] = 0;
	if (name && strcmp(name, "auto") != 0) {
		ops = tier_dev_lookup(name);
		if (!ops) {
			if (why && whylen)
				snprintf(why, whylen, "no device back end called '%s' in this build", name);
			return -ENOENT;
		}
		r = ops->open(ordinal, ret, why, whylen);
		if (r == 0)
			*ret_ops = ops;
		return r;
	}
	/* auto: every back end but emu, in registry order, then emu. */
	for (size_t i = 0; tier_dev_backends[i]; i++) {
		ops = tier_dev_backends[i];
		if (ops == &tier_dev_emu_ops)
			continue;
		r = ops->open(ordinal, ret, why, whylen);
		if (r == 0) {
			*ret_ops = ops;
			return 0;
		}
	}
	if (why && whylen && !why[0])
		snprintf(why, whylen, "built without CUDA");
	r = tier_dev_emu_ops.open(ordinal, ret, NULL, 0);
	if (r == 0)
		*ret_ops = &tier_dev_emu_ops;
	return r;
}

int tier_dev_send_export(int sock, const struct tier_dev_export *exp, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { (void *)exp, sizeof(*exp) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*exp) ? 0 : -EIO;
}

int tier_dev_recv_export(int sock, struct tier_dev_export *exp, int *ret_fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { exp, sizeof(*exp) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	int fd = -1;
	ssize_t n;

	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (n != (ssize_t)sizeof(*exp) || fd < 0 || exp->magic != TIER_DEV_EXPORT_MAGIC ||
	    exp->version != 1 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (fd >= 0)
			close(fd);
		return n == 0 ? -ECONNRESET : -EPROTO;
	}
	exp->backend[sizeof(exp->backend) - 1] = 0;
	exp->pci_bus_id[sizeof(exp->pci_bus_id) - 1] = 0;
	*ret_fd = fd;
	return 0;
}

int tier_dev_wait(const struct tier_dev_ops *ops, struct tier_dev *d, uint64_t cookie)
{
	struct tier_dev_completion c[16];

	for (;;) {
		int n = ops->poll(d, c, 16);

		if (n < 0)
			return n;
		for (int i = 0; i < n; i++)
			if (c[i].cookie == cookie)
				return c[i].status;
		if (n == 0) {
			if (ops->in_flight(d) == 0)
				return -ENOENT;
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
	}
}
