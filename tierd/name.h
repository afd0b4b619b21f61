/* SPDX-License-Identifier: MIT */
/*
 * What a name (a client's, a namespace's) may hold: UTF-8 text without
 * control characters.  Names reach the operator's terminal through tierctl
 * and the log through the daemon's messages, so a C0 control (ESC, CR, LF),
 * DEL, a C1 control (U+0080 to U+009F, which some terminals obey as CSI and
 * the like) or a byte that is not UTF-8 could clear a screen or start a
 * forged log line.  Pure; shared by the daemon (validate.c) and tierctl
 * (which escapes what fails it).
 */
#ifndef TIERD_NAME_H
#define TIERD_NAME_H

#include <stddef.h>

/*
 * The bytes of the printable character at p (1 to 4, at most left), or 0
 * when what starts there is a control character or not well-formed UTF-8.
 */
size_t name_char_len(const unsigned char *p, size_t left);

#endif
