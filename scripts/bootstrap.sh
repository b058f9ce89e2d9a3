#!/usr/bin/env bash
# Install everything the collection, its test bed and its tests need on a fresh
# Debian 12 machine (root, no systemd): the hypervisor stack from
# bookworm-backports, the test-bed packages, a Python virtual environment with
# requirements-test.txt, and the collection linked where Ansible finds it.
# Idempotent; prints the environment to source at the end.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${WA_VENV:-$repo/.venv}
export DEBIAN_FRONTEND=noninteractive

apt_packages() {
    # bindep.txt is the list; its [platform:rpm] lines are for other systems.
    grep -vE '^\s*(#|$)|platform:rpm' "$repo/bindep.txt" | awk '{print $1}'
}

if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: run as root (it installs packages and starts daemons)" >&2
    exit 1
fi
if [ -r /etc/os-release ] && . /etc/os-release && [ "${VERSION_CODENAME:-}" = bookworm ]; then
    if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo 'deb http://deb.debian.org/debian bookworm-backports main' \
            > /etc/apt/sources.list.d/bookworm-backports.list
    fi
    backports=(-t bookworm-backports)
else
    backports=()
fi
missing=()
for p in $(apt_packages); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    apt-get update -qq || true  # an unreachable third-party source must not stop us
    apt-get install -y -qq --no-install-recommends "${backports[@]}" "${missing[@]}" >/dev/null
fi

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! cmp -s "$repo/requirements-test.txt" "$venv/.requirements-test.txt" ||
   ! cmp -s "$repo/requirements.txt" "$venv/.requirements.txt"; then
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r "$repo/requirements-test.txt"
    cp "$repo/requirements-test.txt" "$venv/.requirements-test.txt"
    cp "$repo/requirements.txt" "$venv/.requirements.txt"
fi

# Ansible finds the collection through this link.
mkdir -p "$repo/build/collections/ansible_collections/workload_aware"
ln -sfn "$repo" "$repo/build/collections/ansible_collections/workload_aware/live_migration"

# ansible-test fetches a pip bootstrap script from a host these machines cannot
# reach; ensurepip does the same job offline.
core=$("$venv/bin/python" -c 'import ansible.release as r; print(r.__version__)')
for v in 24_2 25_0 25_1; do
    f=$HOME/.ansible/test/cache/get_pip_$v.py
    [ -s "$f" ] || { mkdir -p "$(dirname "$f")"; echo 'import ensurepip; ensurepip.bootstrap(upgrade=True)' > "$f"; }
done
echo "bootstrap: ready (ansible-core $core, venv $venv)"
