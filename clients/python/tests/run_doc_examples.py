#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run every ```python block of the given Markdown files against a
running appliance, with the interpreter running this script (a virtual
environment's, with the package installed):

    run_doc_examples.py SERVER KEYS_FILE DOC.md...

The examples name the appliance 10.77.0.2 and the keys files
client.keys (client 1) and service.keys (client 5); here they become
SERVER and KEYS_FILE's entries. Each block runs in a fresh process from a
directory outside the source tree, so it imports the installed package;
one that exits non-zero fails the run. Prints one line per block.
"""
import os
import re
import subprocess
import sys
import tempfile


def blocks(path):
    with open(path) as f:
        text = f.read()
    return [m.group(1) for m in re.finditer(r"^```python\n(.*?)^```", text,
                                            re.M | re.S)]


def main():
    server, keys, docs = sys.argv[1], sys.argv[2], sys.argv[3:]
    subst = [("10.77.0.2", server),
             ('keys_file="client.keys"',
              'keys_file=%r, client_id=1' % keys),
             ('keys_file="service.keys"',
              'keys_file=%r, client_id=5' % keys)]
    failed = ran = 0
    with tempfile.TemporaryDirectory() as cwd:
        for doc in docs:
            for i, code in enumerate(blocks(doc), 1):
                for a, b in subst:
                    code = code.replace(a, b)
                r = subprocess.run([sys.executable, "-c", code], cwd=cwd,
                                   capture_output=True, text=True, timeout=60)
                ran += 1
                name = "%s example %d" % (os.path.basename(doc), i)
                if r.returncode != 0:
                    failed += 1
                    print("FAIL: %s:\n%s%s" % (name, r.stdout, r.stderr))
                else:
                    print("ok: %s: %s" % (name, r.stdout.strip().replace(
                        "\n", " | ")[:150]))
    print("%d examples, %d failed" % (ran, failed))
    return 1 if failed or not ran else 0


if __name__ == "__main__":
    sys.exit(main())
