/* SPDX-License-Identifier: MIT */
/*
 * The daemon's own files (the NVMe images, the journal, its temporary) are
 * opened so that another local user cannot make a root daemon create,
 * truncate or write a file elsewhere by planting a symbolic link or a file
 * of their own at the configured name.
 *
 * Design choice: rather than trusting the path, trust the directories.
 * Every directory from / down to the file's must be owned by root or the
 * daemon's user and not writable by anyone else, or be sticky (as /tmp and
 * /var/tmp are): in a sticky directory another user can add names but not
 * remove or rename ours, so what they can plant there is a new name, and
 * O_NOFOLLOW (a link), the owner check (their file, a FIFO) and O_EXCL (a
 * temporary) refuse each.  docs/SECURITY.md states the argument.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "safefile.h"

static bool trusted_uid(uid_t u)
{
	return u == 0 || u == geteuid();
}

/* Each directory of the resolved path dir, from / down. */
static int check_dirs(const char *dir, const char *what, const char *path)
{
	char p[PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, len + 1);
	for (size_t i = 0; i <= len; i++) {
		struct stat st;
		char c = p[i];
		int plen = i ? (int)i : 1, r;

		if (i && c != '/' && c != 0)
			continue;
		p[i] = 0;
		r = stat(i ? p : "/", &st);
		p[i] = c;
		if (r < 0)
			return log_ret(-errno, LOG_ERR, "%s %s: %.*s: %m", what, path, plen, p);
		if (!S_ISDIR(st.st_mode))
			return log_ret(-ENOTDIR, LOG_ERR, "%s %s: %.*s is not a directory", what,
				       path, plen, p);
		if (!trusted_uid(st.st_uid))
			return log_ret(-EPERM, LOG_ERR,
				       "%s %s: directory %.*s belongs to uid %u, not to root or the "
				       "daemon's user: refusing to keep a file there", what, path,
				       plen, p, (unsigned)st.st_uid);
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
			return log_ret(-EPERM, LOG_ERR,
				       "%s %s: directory %.*s is writable by group or others and not "
				       "sticky: another user could plant a link there; refusing",
				       what, path, plen, p);
	}
	return 0;
}

static int open_in_dir(const char *path, int flags, mode_t mode, const char *what,
		       bool allow_blk, bool replace, int depth)
{
	char dir[PATH_MAX], rdir[PATH_MAX];
	const char *base, *slash = strrchr(path, '/');
	struct stat st;
	int dfd, fd, r;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	} else {
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
		base = slash + 1;
	}
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return log_ret(-EINVAL, LOG_ERR, "%s %s: not a file name", what, path);
	if (!realpath(dir, rdir))
		return log_ret(-errno, LOG_ERR, "%s %s: %s: %m", what, path, dir);
	r = check_dirs(rdir, what, path);
	if (r < 0)
		return r;
	dfd = open(rdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return log_ret(-errno, LOG_ERR, "%s %s: %s: %m", what, path, rdir);
	if (!replace && fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];

		close(dfd);
		if (!trusted_uid(st.st_uid) || depth > 0)
			return log_ret(-ELOOP, LOG_ERR,
				       "%s %s: a symbolic link owned by uid %u: refusing to follow "
				       "it", what, path, (unsigned)st.st_uid);
		/* The operator's own link (/dev/disk/by-id): its target, checked the same way. */
		if (!realpath(path, target))
			return log_ret(-errno, LOG_ERR, "%s %s: %m", what, path);
		return open_in_dir(target, flags, mode, what, allow_blk, replace, depth + 1);
	}
	if (replace) {
		if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT) {
			r = log_ret(-errno, LOG_ERR, "%s %s: removing the old one: %m", what, path);
			close(dfd);
			return r;
		}
		flags |= O_CREAT | O_EXCL;
	}
	fd = openat(dfd, base, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	r = -errno;
	close(dfd);
	if (fd < 0) {
		/* O_DIRECT refused is the caller's to handle quietly. */
		if (r == -EINVAL && (flags & O_DIRECT))
			return r;
		if (r == -ELOOP)
			return log_ret(r, LOG_ERR, "%s %s: became a symbolic link: refusing to follow it",
				       what, path);
		return log_ret(r, LOG_ERR, "%s %s: %s", what, path, strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = log_ret(-errno, LOG_ERR, "%s %s: %m", what, path);
	} else if (!trusted_uid(st.st_uid)) {
		r = log_ret(-EPERM, LOG_ERR,
			    "%s %s: belongs to uid %u, not to root or the daemon's user: refused",
			    what, path, (unsigned)st.st_uid);
	} else if (!S_ISREG(st.st_mode) && !(allow_blk && S_ISBLK(st.st_mode))) {
		r = log_ret(-EINVAL, LOG_ERR, "%s %s: not a regular file%s: refused", what, path,
			    allow_blk ? " or a block device" : "");
	} else {
		return fd;
	}
	close(fd);
	return r;
}

int safefile_open(const char *path, int flags, mode_t mode, const char *what, bool allow_blk,
		  bool replace)
{
	return open_in_dir(path, flags, mode, what, allow_blk, replace, 0);
}
