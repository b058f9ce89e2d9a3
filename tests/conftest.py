# -*- coding: utf-8 -*-
"""Make the collection importable as ansible_collections.workload_aware.live_migration
when pytest runs from a checkout (scripts/bootstrap.sh links it under build/)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

_COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'build', 'collections')
if os.path.isdir(_COLLECTIONS) and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
