#!/usr/bin/env bash
# The main job on the built-in single-machine test bed: install everything,
# provision two hypervisor hosts with the benchmark VMs, show what each VM
# would need, evacuate hv1 onto hv2, and list what each host runs. Tear down
# afterwards with:
#   . scripts/env.sh && ansible-playbook playbooks/teardown_testbed.yml
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/bootstrap.sh"
# shellcheck source=env.sh
. "$repo/scripts/env.sh"
cd "$repo"
ansible-playbook playbooks/provision_testbed.yml
ansible-playbook playbooks/list_vms.yml
ansible-playbook playbooks/profile_vms.yml -l hv1
ansible-playbook playbooks/evacuate.yml -l hv1
ansible-playbook playbooks/list_vms.yml
echo "Guest health reports: tail -f /var/lib/wa-benchmark/console/<vm>.log"
