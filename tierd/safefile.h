/* SPDX-License-Identifier: MIT */
/* Opening the files the daemon keeps (nvme.path, the journal) so a planted link cannot redirect it. */
#ifndef TIERD_SAFEFILE_H
#define TIERD_SAFEFILE_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Open path (flags as for open(2); O_NOFOLLOW and O_CLOEXEC are added) for
 * what ("nvme.path", "nvme.journal"), refusing, with a logged reason:
 * - a directory on the way that is not owned by root or the daemon's user,
 *   or that is writable by group or others without the sticky bit;
 * - a last component that is a symbolic link, unless the link itself is
 *   owned by root or the daemon's user (then its target is opened the same
 *   way: /dev/disk/by-id links work, a link planted by another user does not);
 * - a file that is not owned by root or the daemon's user, or that is neither
 *   a regular file nor (allow_blk) a block device.
 * replace: remove what is at path first and create it with O_EXCL (a
 * temporary file: whatever another user put there is never opened).
 * Returns the descriptor or a negative errno.
 */
int safefile_open(const char *path, int flags, mode_t mode, const char *what, bool allow_blk,
		  bool replace);

#endif
