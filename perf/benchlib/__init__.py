# SPDX-License-Identifier: BSD-3-Clause
"""perf/bench's library: common.py (appliance, loadgen, namespaces, CPU
accounting), suites.py (the suites), peers.py (Redis, PostgreSQL and the
disk, for the durable suite)."""
