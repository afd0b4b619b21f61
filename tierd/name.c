/* SPDX-License-Identifier: MIT */
/*
 * Printable UTF-8, decoded by hand: a name is at most 63 bytes and the rule
 * (RFC 3629 well-formedness, then no C0, DEL or C1) is a dozen lines, which a
 * locale-dependent mbrtowc() would not give the same way on every machine.
 */
#include "name.h"

size_t name_char_len(const unsigned char *p, size_t left)
{
	unsigned cp;
	size_t n;

	if (left == 0)
		return 0;
	if (p[0] < 0x80)
		return p[0] >= 0x20 && p[0] != 0x7f ? 1 : 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07u;
	else
		return 0; /* a continuation byte, an overlong lead (C0, C1) or beyond U+10FFFF */
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	/* Overlong forms, surrogates, beyond Unicode, and the C1 controls. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}
