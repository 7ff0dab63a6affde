#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# deploy/prometheus: the rules load (promtool check rules) and every alert
# fires on the series that should fire it and not on healthy ones
# (promtool test rules); and every metric the rules read is one the
# appliance exports (the names in lib/admin and lib/stats), so a renamed
# metric cannot leave an alert that never fires.
set -eu
SRC=${KC_SOURCE_DIR:?KC_SOURCE_DIR must point at the source tree}
DIR=$SRC/deploy/prometheus
command -v promtool >/dev/null || { echo "promtool missing (deploy/install-deps installs prometheus)"; exit 1; }
promtool check rules "$DIR/kingcobra-rules.yml"
(cd "$DIR" && promtool test rules kingcobra-rules.test.yml)

# The metric names the expressions use...
used=$(grep -E '^\s+expr:|^\s{10,}' "$DIR/kingcobra-rules.yml" |
	grep -oE 'kingcobra_[a-z0-9_]+' | sort -u)
# ...each exported: a counter of lib/stats/kc_stats.h as NAME_total, or a
# name written out in lib/admin.
missing=0
for m in $used; do
	base=${m#kingcobra_}
	if grep -q "X($(echo "$base" | sed 's/_total$//')," "$SRC/lib/stats/kc_stats.h" &&
	   [ "${base%_total}" != "$base" ]; then
		continue
	fi
	if grep -rqE "\"(kingcobra_)?$base[\"{ ]|\"$base\"" "$SRC/lib/admin"/*.c; then
		continue
	fi
	echo "the rules read $m, which the appliance does not export"
	missing=$((missing + 1))
done
[ "$missing" -eq 0 ]
echo "prometheus rules: $(echo "$used" | wc -l) metrics read, every one exported"
