#!/bin/bash
set -euxo pipefail

# conda-build does not pass HOME on: keep cargo's registry inside the work tree.
export CARGO_HOME="$(pwd)/.cargo"
export CARGO_NET_GIT_FETCH_WITH_CLI=true
# rust-htslib generates its bindings with bindgen: give clang conda's include paths.
export BINDGEN_EXTRA_CLANG_ARGS="${CPPFLAGS:-} ${CFLAGS:-} ${LDFLAGS:-}"
# hdf5-metno-sys finds conda's HDF5 here instead of the build machine's.
export HDF5_DIR="${PREFIX}"

cargo-bundle-licenses --format yaml --output THIRDPARTY.yml
cargo install --no-track --locked --path . --root "${PREFIX}"
