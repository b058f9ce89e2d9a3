#!/usr/bin/env bash
# What encrypting the migration stream costs (#15): the same benchmark cells (a CPU-bound and a
# write-above guest, pre-copy, post-copy and hybrid, uncapped and at 50 MiB/s, two repetitions)
# run once with plain streams and once over TLS, into docs/evaluation/transport/{plain,tls}, then
# side by side in docs/evaluation/transport.md. About 10 minutes on 2 cores; needs the test bed
# to itself (tear it down first: playbooks/teardown_testbed.yml).
#
#   ./scripts/transport_benchmark.sh
set -eu
cd "$(dirname "$0")/.."
. scripts/env.sh
overrides='{"wa_benchmark_methods": ["precopy", "postcopy", "hybrid"], "wa_benchmark_overrides": {"cells": [{"workload": "cpu", "memory_mib": 256}, {"workload": "write-above", "memory_mib": 256}], "bandwidths_mibps": [0, 50], "repetitions": 2, "time_budget_s": 45}}'
for transport in plain tls; do
    ansible-playbook -i playbooks/inventories/testbed playbooks/benchmark.yml -e wa_benchmark_mode=long \
        -e wa_transport="$transport" -e wa_benchmark_dir="$PWD/docs/evaluation/transport/$transport" -e "$overrides"
done
python scripts/transport_report.py docs/evaluation/transport/plain docs/evaluation/transport/tls \
    docs/evaluation/transport.md --command "\`scripts/transport_benchmark.sh\`"
