# SPDX-License-Identifier: BSD-3-Clause
# Shared by the kmod suite's tests (sourced, bash): paths, the Debian kernel
# (tests/vm/lib.sh), and skip-or-fail when something is not installed.
set -u
BUILD=${KC_BUILD_DIR:?KC_BUILD_DIR must point at the meson build dir}
SRC=${KC_SOURCE_DIR:?KC_SOURCE_DIR must point at the source tree}
KMOD_OUT=$BUILD/kmod
# shellcheck source=../../tests/vm/lib.sh
. "$SRC/tests/vm/lib.sh"

# Missing tools: a failure in CI, a skip (77) elsewhere (tests/vm/lib.sh).
kmod_missing() { vm_missing kmod "$@"; }
