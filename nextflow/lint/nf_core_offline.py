"""Run `nf-core modules lint` / `nf-core subworkflows lint` (nf-core/tools 4.2.1) offline.

Called by scripts/lint-nextflow with the venv's python. nf-core/tools normally needs:

  * a git clone of github.com/nf-core/modules, for the JSON schemas of meta.yml and
    environment.yml. Offline we hand it a throwaway local git repository holding this
    project's own schemas (nextflow/lint/*.json) instead, so `meta_yml_valid` /
    `environment_yml_valid` validate against those, and the checks that depend on a valid
    meta.yml (name, inputs, outputs, topics against main.nf) run as usual.
  * `nextflow config` on tests/config (its result is unused by the module checks) and
    `nextflow inspect` for the container checks: no nextflow binary here, so the first is
    replaced by an empty config and the second returns nothing (nf-core then skips the
    meta.yml container-section checks by itself).
  * api.anaconda.org for `bioconda_version` (is the pinned version published, is it the
    latest): answered "offline" and reported as skipped.

Exit status: 1 when any lint test failed (warnings do not fail), else 0.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NF_DIR = HERE.parent

SKIPPED = []  # (check, reason)

# Lint tests this project ignores on purpose, with the reason printed on every run.
IGNORED = {
    "module_process_name": "the layout is modules/shorkie/<tool> (org `shorkie`) with processes named "
    "SHORKIE_<TOOL>; nf-core derives the expected name from <tool> alone (e.g. SCORE)",
}


def make_schema_remote(tmp: Path) -> Path:
    repo = tmp / "nf-core-modules-offline"
    (repo / "modules").mkdir(parents=True)
    (repo / "subworkflows").mkdir(parents=True)
    (repo / ".nf-core.yml").write_text("repository_type: modules\norg_path: nf-core\n")
    (repo / "modules" / "meta-schema.json").write_text((HERE / "meta-schema.json").read_text())
    (repo / "modules" / "environment-schema.json").write_text((HERE / "environment-schema.json").read_text())
    (repo / "subworkflows" / "yaml-schema.json").write_text((HERE / "subworkflow-schema.json").read_text())
    git = ["git", "-C", str(repo), "-c", "user.name=lint", "-c", "user.email=lint@localhost", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", "-b", "master", str(repo)], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "offline schemas"], check=True)
    return repo


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="lint-nextflow-"))
    # nf-core keeps its clones and caches under these; keep them out of $HOME.
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "NXF_HOME"):
        os.environ[var] = str(tmp / var.lower())
    os.environ["HIDE_PROGRESS"] = "1"
    os.environ["NFCORE_NO_VERSION_CHECK"] = "1"
    remote = make_schema_remote(tmp)
    # nf-core clones the remote to $XDG_CONFIG_HOME/nfcore/<remote path>; an absolute path
    # would make that the remote itself, so name it relative to the temporary directory.
    os.chdir(tmp)
    remote = remote.relative_to(tmp)

    import nf_core.utils

    def no_nextflow_config(wf_path, cache_config=True):
        SKIPPED.append(("`nextflow config` workflow config load", "needs the nextflow binary; the module and subworkflow checks do not use its result"))
        return {}

    def offline_anaconda(dep, dep_channels=None):
        raise LookupError("offline")

    def no_nextflow_inspect(*args, **kwargs):
        # NFCoreComponent.get_container_with_inspect() asks for the nextflow version first and
        # returns None ("cannot resolve") when it is too old: that is what "absent" means here.
        SKIPPED.append(("`nextflow inspect` container resolution: main_nf container checks, meta.yml containers_* checks", "needs the nextflow binary"))
        return False

    import nf_core.components.nfcore_component

    nf_core.components.nfcore_component.check_nextflow_version = no_nextflow_inspect
    nf_core.utils.fetch_wf_config = no_nextflow_config
    nf_core.utils.anaconda_package = offline_anaconda

    from nf_core.modules.lint import ModuleLint
    from nf_core.subworkflows.lint import SubworkflowLint

    failed = 0
    for kind, cls in (("modules", ModuleLint), ("subworkflows", SubworkflowLint)):
        print(f"\n=== nf-core {kind} lint (nf-core/tools {nf_core.__version__}) ===", flush=True)
        lint = cls(NF_DIR, remote_url=str(remote), branch="master", no_pull=True, hide_progress=True)
        lint.lint(all_modules=True, print_results=False, plain_text=True) if kind == "modules" else lint.lint(
            all_subworkflows=True, print_results=False, plain_text=True
        )
        # Without `nextflow inspect` nf-core cannot resolve the container and fails docker_tag /
        # singularity_tag with "Unable to resolve ...": that is a check that could not run.
        unresolved = [r for r in lint.failed if r.lint_test in ("docker_tag", "singularity_tag") and "Unable to resolve" in r.message]
        lint.failed = [r for r in lint.failed if r not in unresolved]
        for r in unresolved:
            SKIPPED.append((f"{r.lint_test} ({r.component_name})", "container tag comes from `nextflow inspect`: needs the nextflow binary"))
        ignored = [r for r in lint.failed + lint.warned if r.lint_test in IGNORED]
        lint.failed = [r for r in lint.failed if r.lint_test not in IGNORED]
        lint.warned = [r for r in lint.warned if r.lint_test not in IGNORED]
        for r in ignored:
            print(f"ignored: {r.component_name} {r.lint_test}: {r.message} ({IGNORED[r.lint_test]})")
        # bioconda_version only warns offline ("Conda version not specified correctly"): report as skipped.
        offline = [r for r in lint.warned if r.lint_test == "bioconda_version"]
        lint.warned = [r for r in lint.warned if r.lint_test != "bioconda_version"]
        for r in offline:
            SKIPPED.append((f"bioconda_version ({r.component_name})", "needs api.anaconda.org"))
        lint._print_results(show_passed=False, sort_by="test", plain_text=True)
        lint.print_summary(plain_text=True)
        print(f"{kind}: {len(lint.passed)} passed, {len(lint.warned)} warned, {len(lint.failed)} failed", flush=True)
        failed += len(lint.failed)

    grouped = {}
    for check, why in SKIPPED:
        name, _, comp = check.partition(" (")
        comps = grouped.setdefault((name if comp else check, why), [])
        if comp and comp.rstrip(")") not in comps:
            comps.append(comp.rstrip(")"))
    print("\nnf-core checks that could not run offline:")
    for (check, why), comps in grouped.items():
        print(f"  - {check}{' [' + ', '.join(sorted(comps)) + ']' if comps else ''}: {why}")
    print("  - module_version / module_changes / module_patch: pipeline-only checks (this is a modules repository)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
