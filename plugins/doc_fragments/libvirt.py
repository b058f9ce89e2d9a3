# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # The host a module works on, and the libraries every libvirt module of the collection needs.
    DOCUMENTATION = r'''
options:
  uri:
    description:
      - libvirt URI of the host whose VMs the module works on (for a migration, the source).
    type: str
    default: qemu:///system
requirements:
  - libvirt-python
  - lxml
'''
