"""Checks a generated bioconda recipe offline, as far as that goes without conda.

Usage: check-bioconda.py RECIPE_DIR CRATE

Renders meta.yaml with Jinja2 the way conda-build does (compiler(), pin_subpackage() and
stdlib() stand-ins), parses the YAML and checks what bioconda's linter and reviewers ask
for: name/version equal to the crate's, the source sha256 equal to the crate file's, a
build number, run_exports pinned, a Rust compiler, test commands, an SPDX licence with its
files. Prints, one per line, the build.sh `cargo install` command and then the test
commands, for check-package to run against the packaged crate.
"""
import hashlib
import sys
import tarfile
from pathlib import Path

import jinja2
import yaml


def fail(msg):
    sys.exit(f"check-bioconda: {msg}")


def main():
    recipe, crate = Path(sys.argv[1]), Path(sys.argv[2])
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    text = env.from_string((recipe / "meta.yaml").read_text()).render(
        compiler=lambda lang: f"{lang}_compiler_stub",
        stdlib=lambda lang: f"{lang}_stdlib_stub",
        pin_subpackage=lambda name, max_pin=None, exact=False: f"{name} {max_pin or ''}".strip(),
    )
    meta = yaml.safe_load(text)
    with tarfile.open(crate) as tar:
        top = tar.getnames()[0].split("/")[0]
        cargo_toml = tar.extractfile(f"{top}/Cargo.toml").read().decode()
    name, version = top.rsplit("-", 1)
    if meta["package"]["name"] != name or str(meta["package"]["version"]) != version:
        fail(f"recipe is {meta['package']['name']} {meta['package']['version']}, the crate {name} {version}")
    if f'version = "{version}"' not in cargo_toml:
        fail(f"the crate's Cargo.toml does not say version {version}")
    sha = hashlib.sha256(crate.read_bytes()).hexdigest()
    if meta["source"]["sha256"] != sha:
        fail(f"source sha256 {meta['source']['sha256']} is not the crate's {sha}")
    if not meta["source"]["url"].endswith(f"/crates/{name}/{version}/download"):
        fail(f"source url {meta['source']['url']} is not the crates.io download of {name} {version}")
    build = meta["build"]
    if not isinstance(build.get("number"), int):
        fail("build.number missing")
    if not build.get("run_exports"):
        fail("build.run_exports missing (bioconda requires pinned run_exports)")
    reqs = meta["requirements"]
    if "rust_compiler_stub" not in reqs["build"]:
        fail("no {{ compiler('rust') }} in requirements.build")
    about = meta["about"]
    if about.get("license") != "Apache-2.0":
        fail(f"licence {about.get('license')} is not the crate's Apache-2.0")
    if "LICENSE" not in about.get("license_file", []):
        fail("about.license_file must list LICENSE")
    if "license = \"Apache-2.0\"" not in cargo_toml:
        fail("the crate's Cargo.toml does not declare Apache-2.0")
    commands = meta["test"]["commands"]
    if not commands:
        fail("no test commands")
    installs = [l.strip() for l in (recipe / "build.sh").read_text().splitlines() if l.strip().startswith("cargo install")]
    if len(installs) != 1:
        fail("build.sh must hold exactly one `cargo install` line")
    print(installs[0])
    for c in commands:
        print(c)


if __name__ == "__main__":
    main()
