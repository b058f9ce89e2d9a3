# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # The migration settings shared by wa_migrate, wa_evacuate and wa_benchmark_run
    # (argument spec: module_utils/settings.py MIGRATION_ARGUMENT_SPEC; ranges: settings.BOUNDS).
    DOCUMENTATION = r'''
options:
  bandwidth_mibps:
    description:
      - Bandwidth limit in MiB/s for both the pre-copy and the post-copy phase of each migration.
      - 0 for none, or from 1 to 100000.
    type: int
    default: 0
  max_downtime_ms:
    description: Largest acceptable pause of the VM in milliseconds (QEMU's downtime limit), from 1 to 60000.
    type: int
    default: 300
  time_budget_s:
    description:
      - Seconds after which a migration still in pre-copy is aborted (the VM stays on the source), from 1 to 86400.
    type: int
    default: 900
  precopy_budget_s:
    description:
      - Seconds the pre-copy phase may take before it counts as not converging, from 1 to 86400 and not more than
        O(time_budget_s); 0 derives it from the prediction (twice the predicted pre-copy time, at least 10 s).
    type: int
    default: 0
  postcopy_allowed:
    description:
      - Whether post-copy may be used, as the method or as the fallback of a pre-copy that is re-predicted not to
        converge or to be slower, or has stalled.
    type: bool
    default: true
  auto_converge:
    description:
      - QEMU auto-converge (throttles a guest that dirties memory faster than it can be sent).
      - C(auto) enables it when post-copy is not possible, so pre-copy is helped before it is aborted.
    type: str
    choices: [auto, always, never]
    default: auto
  compression:
    description: Compress the migration stream (costs CPU on both hosts).
    type: bool
    default: false
  parallel_connections:
    description: Migrate over this many parallel connections, from 2 to 64; 0 for one. Pre-copy only.
    type: int
    default: 0
  transport:
    description:
      - C(tls) (the default) encrypts the migration stream (C(VIR_MIGRATE_TLS)); both hosts need QEMU's TLS
        certificates, which the C(pki) role issues (docs/tls.md). A destination without them, or whose
        certificate the source does not trust, refuses the migration before any memory moves, and the VM
        keeps running on the source.
      - C(plain) sends the VM's memory unencrypted and is refused unless the destination's migration
        address is loopback only.
    type: str
    choices: [plain, tls]
    default: tls
  progress_file:
    description:
      - Append a JSON line about every second per running migration - VM, phase, pass, memory remaining, estimated
        seconds left - so an operator can C(tail -f) it.
    type: path
  stop_file:
    description:
      - While pre-copy runs, if this file exists the migration is aborted and the VM keeps running on the source;
        no new migration starts. A migration already in post-copy always finishes.
    type: path
  link_timeout_s:
    description:
      - Seconds without a byte sent before the migration link counts as down, from 1 to 3600. Pre-copy is then
        aborted (never switched to post-copy, which over a dead link would pause the VM on both hosts); post-copy
        is paused so that it can be resumed.
    type: int
    default: 10
  recovery_budget_s:
    description:
      - After a post-copy fails on its link, how long to keep trying to resume it (libvirt's post-copy recovery)
        before failing with the VM's exact state and the steps an operator must take; from 1 to 86400, or 0 for
        one attempt only.
    type: int
    default: 120
  postcopy_recoverable:
    description:
      - Whether a post-copy between these hosts whose link fails can be resumed (libvirt's post-copy recovery).
      - Unset, it is judged from both hosts' libvirt versions - 8.5 or later, but not 11.2 - 11.3, whose destination
        daemon crashes on every resume. The P(workload_aware.live_migration.libvirt_host#role) role records it per
        host as C(ansible_local.wa_libvirt.postcopy_resume) (true for an 11.3 it built the upstream fix into).
      - Where it cannot, a failed post-copy is the VM's loss, so C(auto) prefers a less exposed method predicted
        within 50 % of the fastest, and a failed post-copy is not resumed but reported with the operator's steps.
    type: bool
'''
