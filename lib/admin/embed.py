#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a C file holding a file as a NUL-terminated char array.

    embed.py INPUT OUTPUT SYMBOL

defines `const char SYMBOL[]` (the bytes, then a NUL) and
`const size_t SYMBOL_len` (the bytes without the NUL).
"""
import os
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit('usage: embed.py INPUT OUTPUT SYMBOL')
    src, dst, sym = sys.argv[1:]
    if not sym.isidentifier():
        sys.exit('embed.py: %r is not a C identifier' % sym)
    with open(src, 'rb') as f:
        data = f.read()
    lines = ['/* Generated from %s by embed.py. */' % os.path.basename(src),
             '#include <stddef.h>',
             'extern const char %s[];' % sym,
             'extern const size_t %s_len;' % sym,
             'const char %s[] = {' % sym]
    for i in range(0, len(data), 12):
        lines.append('\t' + ' '.join('0x%02x,' % b for b in data[i:i + 12]))
    lines += ['\t0x00', '};', 'const size_t %s_len = %d;' % (sym, len(data))]
    with open(dst, 'w') as out:
        out.write('\n'.join(lines) + '\n')


main()
