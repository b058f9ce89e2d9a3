# Source me: the environment in which this collection's playbooks and tests run.
# shellcheck shell=bash
WA_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export WA_REPO
export PATH="${WA_VENV:-$WA_REPO/.venv}/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$WA_REPO/build/collections"
export ANSIBLE_INVENTORY="$WA_REPO/playbooks/inventories/testbed"
export ANSIBLE_HOST_KEY_CHECKING=False
export ANSIBLE_STDOUT_CALLBACK=default
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
