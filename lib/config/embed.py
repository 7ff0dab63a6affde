#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a C file holding config/default.yaml as a NUL-terminated array."""
import sys

src, dst = sys.argv[1], sys.argv[2]
data = open(src, 'rb').read()
with open(dst, 'w') as out:
    out.write('/* Generated from config/default.yaml by embed.py. */\n')
    out.write('#include <stddef.h>\n')
    out.write('extern const char kc_default_config_yaml[];\n')
    out.write('extern const size_t kc_default_config_yaml_len;\n')
    out.write('const char kc_default_config_yaml[] = {\n')
    for i in range(0, len(data), 12):
        out.write('\t' + ' '.join('0x%02x,' % b for b in data[i:i + 12]) + '\n')
    out.write('\t0x00\n};\n')
    out.write('const size_t kc_default_config_yaml_len = %d;\n' % len(data))
