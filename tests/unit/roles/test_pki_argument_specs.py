# -*- coding: utf-8 -*-
"""The pki role documents every variable it has, with the default it has: its
meta/argument_specs.yml and defaults/main.yml name the same variables, with the
same defaults, and every one has a type and a description."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'pki')


def load(relative):
    with open(os.path.join(ROLE, relative)) as f:
        return yaml.safe_load(f)


def test_every_default_is_documented_with_its_value():
    defaults = load('defaults/main.yml')
    options = load('meta/argument_specs.yml')['argument_specs']['main']['options']
    assert sorted(options) == sorted(defaults)
    for name, spec in options.items():
        assert spec['default'] == defaults[name], name
        assert spec.get('type') and spec.get('description'), name
        assert name.startswith('pki_'), name


def test_internal_variables_keep_the_prefix():
    assert all(name.startswith('pki_') for name in load('vars/main.yml'))
