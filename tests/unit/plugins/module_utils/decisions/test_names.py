# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import names
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput


@pytest.mark.parametrize('name, problem', [
    ('', 'it is empty'),
    ('../../../../tmp/x', "it contains '/'"),
    ('a;b/c', "it contains '/'"),
    ('vm\nrm', 'a control character'),
    ('x' * 81, 'longer than 80 bytes'),
])
def test_names_that_cannot_be_domains_are_refused_with_the_reason(name, problem):
    with pytest.raises(BadInput, match=problem):
        names.check_domain_name(name)


@pytest.mark.parametrize('name', ['wa-cpu', 'web_1.example', 'a;b', '..', 'é+vm'])
def test_names_libvirt_accepts_pass(name):
    names.check_domain_name(name)


@pytest.mark.parametrize('name, stem', [
    ('wa-cpu', 'wa-cpu'),
    ('..', '%2E.'),
    ('.hidden', '%2Ehidden'),
    ('a;b c', 'a%3Bb%20c'),
    ('../x', '%2E.%2Fx'),
])
def test_file_stems_stay_in_their_directory(name, stem):
    assert names.file_stem(name) == stem
    assert '/' not in stem and stem not in ('.', '..')


def test_file_stems_of_different_names_differ():
    assert names.file_stem('a%3B') != names.file_stem('a;')
