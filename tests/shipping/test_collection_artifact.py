# -*- coding: utf-8 -*-
"""The collection as it ships: the tarball `ansible-galaxy collection build` makes from
this checkout, installed offline into an empty path, used from there; and the build
context `ansible-builder create` makes for the execution environment.

Run by `tests/run build`. Needs no test bed, no network, no container runtime.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from unittest import mock

import pytest
import yaml
from bindep import depends

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FQCN = 'workload_aware.live_migration'
MAX_BYTES = 5 * 1000 * 1000  # issue #13: the artifact must not exceed 5 MB

# Top-level entries of the tarball. Everything else in the checkout (tests, CI, the
# test environment's tooling, the EE recipe, what runs leave behind) is not the collection.
SHIPPED_TOP = {'MANIFEST.json', 'FILES.json', 'README.md', 'requirements.txt', 'bindep.txt',
               'meta', 'plugins', 'roles', 'playbooks', 'docs', 'changelogs', 'scripts'}
# playbooks/benchmark.yml runs scripts/benchmark_report.py from the collection; the
# other scripts set up a checkout (bootstrap.sh, env.sh, demo.sh) or diagnose the test bed
# (migration_timeline.py) and do not ship.
SHIPPED_SCRIPTS = {'scripts/benchmark_report.py', 'scripts/app_load.py'}
# Directories whose every file a user of the collection needs.
COLLECTION_DIRS = ('meta/', 'plugins/', 'roles/', 'playbooks/', 'docs/', 'changelogs/')

# What the image's bindep computes on the EE's base image (quay.io/centos/centos:stream9).
EE_DISTRO = {'id': 'centos', 'version': '9', 'codename': '', 'name': 'CentOS Stream'}
BOOTSTRAP_DISTRO = {'id': 'debian', 'version': '12', 'codename': 'bookworm', 'name': 'Debian GNU/Linux'}


def _run(argv, env=None, cwd=None):
    proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, '%s failed (rc=%d):\n%s' % (' '.join(argv), proc.returncode, proc.stdout)
    return proc.stdout


def _galaxy():
    with open(os.path.join(REPO, 'galaxy.yml')) as f:
        return yaml.safe_load(f)


def _checkout_files(repo=REPO):
    """The files of the checkout that git does not ignore (tracked or not), as the
    sanity stage copies them: .gitignore names what runs and tools leave behind."""
    out = _run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=repo)
    return {p for p in out.split('\0') if p and os.path.isfile(os.path.join(repo, p))}


def _members(tarball):
    with tarfile.open(tarball) as tar:
        return {m.name: m for m in tar.getmembers()}


def _files(tarball):
    return {name for name, m in _members(tarball).items() if not m.isdir()}


def _build(source, output):
    os.makedirs(output, exist_ok=True)
    _run(['ansible-galaxy', 'collection', 'build', '--force', '--output-path', output, source], cwd=output)
    built = [f for f in os.listdir(output) if f.endswith('.tar.gz')]
    assert len(built) == 1, built
    return os.path.join(output, built[0])


def _bindep_names(text, distro, profiles):
    """The packages bindep selects from `text` on `distro` for `profiles`, as it would
    on that system (its platform profiles come from the distro it detects)."""
    with mock.patch.object(depends, 'distro') as fake:
        fake.id.return_value = distro['id']
        fake.version.return_value = distro['version']
        fake.codename.return_value = distro['codename']
        fake.name.return_value = distro['name']
        deps = depends.Depends(text)
        platform = deps.platform_profiles()
    return {rule[0] for rule in deps.active_rules(list(profiles) + platform)}


@pytest.fixture(scope='module')
def tmp(tmp_path_factory):
    return str(tmp_path_factory.mktemp('ship'))


@pytest.fixture(scope='module')
def artifact(tmp):
    """The tarball built from this checkout as it is (after `tests/run` it holds a
    .venv, build/, caches and test output: the case that once gave 99 MB)."""
    return _build(REPO, os.path.join(tmp, 'dist'))


@pytest.fixture(scope='module')
def installed_env(tmp):
    """An environment in which Ansible sees only the empty install path (and the
    collections of the installed ansible package): not the checkout, nor its
    build/collections link, nor the test-bed inventory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_') and k != 'PYTHONPATH'}
    env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(tmp, 'collections')
    env['ANSIBLE_LOCAL_TEMP'] = os.path.join(tmp, 'ansible-tmp')
    env['ANSIBLE_NOCOLOR'] = '1'
    return env


@pytest.fixture(scope='module')
def installed(artifact, installed_env, tmp):
    """The tarball installed by ansible-galaxy into an empty path, offline: Galaxy is
    not reachable, and galaxy.yml's dependencies must resolve from what is installed."""
    path = installed_env['ANSIBLE_COLLECTIONS_PATH']
    assert not os.path.exists(path)
    out = _run(['ansible-galaxy', 'collection', 'install', '--offline', artifact, '-p', path],
               env=installed_env, cwd=tmp)
    root = os.path.join(path, 'ansible_collections', 'workload_aware', 'live_migration')
    return {'root': root, 'output': out}


def test_artifact_is_smaller_than_5_mb(artifact):
    size = os.path.getsize(artifact)
    print('\n%s: %d files, %d bytes' % (os.path.basename(artifact), len(_files(artifact)), size))
    assert size <= MAX_BYTES, '%s is %d bytes, more than %d' % (artifact, size, MAX_BYTES)


def test_artifact_holds_only_the_collection(artifact):
    files = _files(artifact) - {'MANIFEST.json', 'FILES.json'}
    foreign = sorted(f for f in _members(artifact) if f.split('/')[0] not in SHIPPED_TOP)
    assert not foreign, 'not the collection: %s' % foreign[:20]
    scripts = sorted(f for f in files if f.startswith('scripts/') and f not in SHIPPED_SCRIPTS)
    assert not scripts, 'checkout tooling in the artifact: %s' % scripts
    # Whatever git ignores (.venv, build/, caches, test output) was made by a run, not
    # written as part of the collection.
    ignored = sorted(files - _checkout_files())
    assert not ignored, 'files git ignores in the artifact: %s' % ignored[:20]


def test_artifact_holds_the_whole_collection(artifact):
    files = _files(artifact)
    needed = {f for f in _checkout_files() if f.startswith(COLLECTION_DIRS)}
    needed |= SHIPPED_SCRIPTS | {'README.md', 'requirements.txt', 'bindep.txt', 'meta/runtime.yml'}
    missing = sorted(needed - files)
    assert not missing, 'missing from the artifact: %s' % missing
    with tarfile.open(artifact) as tar:
        manifest = json.load(tar.extractfile('MANIFEST.json'))['collection_info']
    galaxy = _galaxy()
    assert (manifest['namespace'], manifest['name'], manifest['version']) == \
        (galaxy['namespace'], galaxy['name'], galaxy['version'])
    assert manifest['dependencies'] == galaxy['dependencies']


def test_a_dirty_checkout_builds_the_same_artifact(artifact, tmp):
    """Whatever a checkout holds after bootstrap, `tests/run`, ansible-lint or
    ansible-builder, the artifact is the same: copy the checkout's files, add what
    those leave behind, build, and compare."""
    dirty = os.path.join(tmp, 'dirty', 'live_migration')
    for rel in _checkout_files():
        dest = os.path.join(dirty, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(os.path.join(REPO, rel), dest)
    leftovers = {
        '.venv/lib/python3.11/site-packages/libvirt.py': '',
        '.venv/pyvenv.cfg': 'home = /usr/bin\n',
        '.git/HEAD': 'ref: refs/heads/main\n',
        '.pytest_cache/v/cache/lastfailed': '{}',
        '.hypothesis/examples/0/0': 'x',
        '.ansible/collections/ansible_collections/x/y/galaxy.yml': '',
        '.cache/ansible-compat/x': 'x',
        'plugins/modules/__pycache__/wa_migrate.cpython-311.pyc': 'x',
        'plugins/module_utils/cost_model.pyc': 'x',
        'tests/output/junit/python3.11-sanity.xml': '<x/>',
        'build/ee/workload_aware-live_migration-0.1.0.tar.gz': 'x',
        'build/ee/context/Containerfile': 'FROM x\n',
        'context/Containerfile': 'FROM x\n',
        'workload_aware-live_migration-0.1.0.tar.gz': 'x',
        'playbooks/evacuate.retry': 'hv1\n',
    }
    for rel, text in leftovers.items():
        path = os.path.join(dirty, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
    os.makedirs(os.path.join(dirty, '.venv', 'bin'))
    os.symlink(sys.executable, os.path.join(dirty, '.venv', 'bin', 'python'))
    # scripts/bootstrap.sh links the checkout into build/collections
    link = os.path.join(dirty, 'build', 'collections', 'ansible_collections', 'workload_aware', 'live_migration')
    os.makedirs(os.path.dirname(link))
    os.symlink(dirty, link)

    built = _build(dirty, os.path.join(tmp, 'dist-dirty'))
    assert sorted(_files(built)) == sorted(_files(artifact))


def test_installs_offline_into_an_empty_path(artifact, installed):
    root, out = installed['root'], installed['output']
    assert '%s:%s was installed successfully' % (FQCN, _galaxy()['version']) in out, out
    # the dependencies were resolved (not skipped with --no-deps), from what is installed
    for dep in _galaxy()['dependencies']:
        assert re.search(r"'%s:[^']+' is already installed" % re.escape(dep), out), out
    on_disk = {os.path.relpath(os.path.join(d, f), root) for d, dummy, fs in os.walk(root) for f in fs}
    assert on_disk == _files(artifact)


def test_every_module_documents_from_the_installed_copy(installed, installed_env, tmp):
    root = installed['root']
    modules = sorted('%s.%s' % (FQCN, f[:-3]) for f in os.listdir(os.path.join(root, 'plugins', 'modules'))
                     if f.endswith('.py') and not f.startswith('_'))
    assert len(modules) >= 6, modules
    listed = json.loads(_run(['ansible-doc', '-l', '-j', FQCN], env=installed_env, cwd=tmp))
    assert sorted(listed) == modules
    docs = json.loads(_run(['ansible-doc', '-j'] + modules, env=installed_env, cwd=tmp))
    assert sorted(docs) == modules
    for name, doc in docs.items():
        assert doc['doc']['filename'].startswith(root + os.sep), (name, doc['doc']['filename'])
        assert doc['doc']['options'] and doc['doc']['short_description'], name
        assert doc['examples'].strip() and doc['return'], name


def test_every_role_documents_from_the_installed_copy(installed, installed_env, tmp):
    root = installed['root']
    roles = sorted('%s.%s' % (FQCN, r) for r in os.listdir(os.path.join(root, 'roles')))
    docs = json.loads(_run(['ansible-doc', '-t', 'role', '-j'] + roles, env=installed_env, cwd=tmp))
    assert sorted(docs) == roles
    for name, doc in docs.items():
        assert doc['path'] == root, (name, doc['path'])
        assert 'main' in doc['entry_points'], name


def test_every_playbook_passes_syntax_check_from_the_installed_copy(installed, installed_env, tmp):
    root = installed['root']
    names = sorted(f[:-4] for f in os.listdir(os.path.join(root, 'playbooks')) if f.endswith('.yml'))
    assert 'evacuate' in names, names
    playbooks = ['%s.%s' % (FQCN, n) for n in names]
    inventory = os.path.join(root, 'playbooks', 'inventories', 'testbed')
    out = _run(['ansible-playbook', '--syntax-check', '-i', inventory] + playbooks, env=installed_env, cwd=tmp)
    checked = re.findall(r'^playbook: (\S+)$', out, re.M)
    assert checked == [os.path.join(root, 'playbooks', n + '.yml') for n in names], out


def test_a_project_playbook_imports_the_evacuation_by_name(installed, installed_env, tmp):
    """How an AWX job template runs it: a playbook in the project imports the
    collection's playbook by name (docs/shipping.md)."""
    root = installed['root']
    project = os.path.join(tmp, 'project')
    os.makedirs(project)
    with open(os.path.join(project, 'evacuate.yml'), 'w') as f:
        f.write('---\n- name: Evacuate the failing host\n'
                '  ansible.builtin.import_playbook: workload_aware.live_migration.evacuate\n')
    inventory = os.path.join(root, 'playbooks', 'inventories', 'testbed')
    out = _run(['ansible-playbook', '--syntax-check', '-i', inventory, 'evacuate.yml'], env=installed_env, cwd=project)
    assert 'playbook: evacuate.yml' in out, out


@pytest.fixture(scope='module')
def ee_context(artifact, tmp):
    """`ansible-builder create` as docs/shipping.md has it: the tarball
    in build/ee/ beside execution-environment.yml (here a copy, not the checkout)."""
    top = os.path.join(tmp, 'ee')
    os.makedirs(os.path.join(top, 'build', 'ee'))
    shutil.copy2(os.path.join(REPO, 'execution-environment.yml'), top)
    shutil.copy2(artifact, os.path.join(top, 'build', 'ee'))
    context = os.path.join(top, 'build', 'ee', 'context')
    _run(['ansible-builder', 'create', '--file', 'execution-environment.yml', '--context', context,
          '--output-filename', 'Containerfile'], cwd=top)
    return context


def test_ee_context_installs_this_collection_and_its_dependencies(ee_context, artifact):
    with open(os.path.join(ee_context, 'Containerfile')) as f:
        containerfile = f.read()
    # the galaxy stage runs in /build, a copy of the context's _build
    assert 'COPY _build /build\nWORKDIR /build\n' in containerfile
    assert 'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml' in containerfile
    with open(os.path.join(ee_context, '_build', 'requirements.yml')) as f:
        collections = yaml.safe_load(f)['collections']
    assert len(collections) == 1 and collections[0]['type'] == 'file', collections
    name = collections[0]['name']
    assert name == '/build/collections/' + os.path.basename(artifact), \
        'execution-environment.yml installs %s, the build makes %s' % (name, os.path.basename(artifact))
    copied = os.path.join(ee_context, '_build', name[len('/build/'):])
    assert filecmp.cmp(copied, artifact, shallow=False)
    # ansible-core the modules were written for, and no dependency left to --no-deps
    assert 'ansible-core>=2.19,<2.20' in containerfile
    assert '--no-deps' not in containerfile


def test_ee_gets_python_and_system_packages_from_the_collection(ee_context, installed, installed_env, tmp):
    """Run the context's own introspection (what its builder stage runs) on the
    collections the image will hold, then resolve bindep as on the image's base."""
    root = installed['root']
    with open(os.path.join(ee_context, 'Containerfile')) as f:
        assert '/output/scripts/introspect.py introspect --user-bindep=bindep.txt' in f.read()
    # /usr/share/ansible/collections in the image: this collection and its dependencies
    shelf = os.path.join(tmp, 'ee-collections', 'ansible_collections')
    listing = json.loads(_run(['ansible-galaxy', 'collection', 'list', '--format', 'json'], env=installed_env, cwd=tmp))
    found = {name: os.path.join(path, *name.split('.')) for path, cols in listing.items() for name in cols}
    for name in [FQCN] + sorted(_galaxy()['dependencies']):
        os.makedirs(os.path.join(shelf, name.split('.')[0]), exist_ok=True)
        os.symlink(found[name], os.path.join(shelf, *name.split('.')))
    assert os.path.realpath(os.path.join(shelf, 'workload_aware', 'live_migration')) == os.path.realpath(root)
    pip_out, bindep_out = os.path.join(tmp, 'ee-requirements.txt'), os.path.join(tmp, 'ee-bindep.txt')
    _run([sys.executable, os.path.join(ee_context, '_build', 'scripts', 'introspect.py'), 'introspect',
          '--user-bindep=' + os.path.join(ee_context, '_build', 'bindep.txt'),
          '--write-bindep=' + bindep_out, '--write-pip=' + pip_out, os.path.dirname(shelf)])

    with open(pip_out) as f:
        python = {re.split(r'[<>=!~ ;\[]', line, maxsplit=1)[0].lower() for line in f if line.strip()}
    assert {'libvirt-python', 'lxml'} <= python, python
    assert not python & {'ansible', 'ansible-core'}, 'the EE has ansible-core from ansible_core: %s' % python

    with open(bindep_out) as f:
        text = f.read()
    runtime = _bindep_names(text, EE_DISTRO, ['default'])
    compile_ = _bindep_names(text, EE_DISTRO, ['compile'])
    # libvirt-python loads libvirt's client library; qemu+ssh:// URIs need ssh
    assert {'libvirt-libs', 'openssh-clients'} <= runtime, runtime
    hypervisor = sorted(p for p in runtime if p.startswith(('qemu', 'libvirt-daemon', 'libvirt-client')))
    assert not hypervisor, 'the EE is a libvirt client, not a hypervisor: %s' % hypervisor
    assert not runtime & {'busybox-static', 'nfs-ganesha', 'shellcheck', 'iptables', 'cpio'}, runtime
    # what the builder stage needs to build libvirt-python from source for python3.11,
    # and only there
    build_only = {'libvirt-devel', 'gcc', 'pkg-config', 'python3.11-devel'}
    assert build_only <= compile_, compile_
    assert not runtime & build_only, 'build-only packages in the image: %s' % (runtime & build_only)


def test_bootstrap_installs_what_bindep_lists_for_the_test_bed():
    """scripts/bootstrap.sh reads bindep.txt with grep (every line but [platform:rpm]);
    on Debian 12 that must be exactly bindep's answer for all profiles: the test bed is
    a hypervisor, builds libvirt-python and runs the tests."""
    with open(os.path.join(REPO, 'scripts', 'bootstrap.sh')) as f:
        function = re.search(r'^apt_packages\(\) \{\n.*?^\}\n', f.read(), re.M | re.S).group(0)
    out = _run(['bash', '-c', 'set -euo pipefail; repo="$1"; %s apt_packages' % function, 'bootstrap', REPO])
    with open(os.path.join(REPO, 'bindep.txt')) as f:
        expected = _bindep_names(f.read(), BOOTSTRAP_DISTRO, ['default', 'compile', 'hypervisor', 'test'])
    assert sorted(out.split()) == sorted(expected)
