#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel)
}

/// The full-size Shorkie fixture from ../shared, when it is beside the project.
pub fn shared_full() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/seqnn/shorkie_full");
    if dir.join("model.h5").exists() {
        Some(dir)
    } else {
        eprintln!("NOTE: ../shared/fixtures/seqnn/shorkie_full is absent; full-size check not run here");
        None
    }
}

pub fn convert_cmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shorkie-convert")).args(args).output().expect("run shorkie-convert")
}

/// Asserts a clean failure: exit status 1, one line on stderr containing every `needle`,
/// and no panic.
pub fn assert_one_line_error(out: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "expected exit 1, stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "not one line: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
    stderr
}
