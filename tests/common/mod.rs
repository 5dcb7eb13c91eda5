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

pub fn score_cmd(args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_shorkie-score"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run shorkie-score");
    {
        let mut sin = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            let _ = sin.write_all(bytes);
        }
    }
    child.wait_with_output().expect("wait")
}

/// A parity fixture (`tests/data/<name>/model.h5` + `params.json`) converted to
/// safetensors in a directory that outlives the test.
fn convert_fixture(name: &str) -> PathBuf {
    let dir = tempfile::tempdir().expect("tempdir").keep();
    let out = dir.join(format!("{name}.safetensors"));
    let res = convert_cmd(&[
        data(&format!("{name}/model.h5")).to_str().unwrap(),
        "-p",
        data(&format!("{name}/params.json")).to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    out
}

/// The small fine-tuned fixture converted once per test process.
pub fn small_model() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| convert_fixture("small_finetuned")).clone()
}

/// The small language-model fixture converted once per test process.
pub fn small_lm() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| convert_fixture("small_lm")).clone()
}

/// Uniform random A/C/G/T.
pub fn random_dna(rng: &mut shorkie::sim::rng::Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| b"ACGT"[rng.below(4) as usize]).collect()
}

/// Runs a shell pipeline (bash -c) and returns its output.
pub fn sh(script: &str) -> Output {
    Command::new("bash").arg("-c").arg(script).output().expect("bash")
}

/// The project's Python (scripts/setup-deps makes `.venv` with pyBigWig and numpy), or
/// `$SHORKIE_PYTHON`. Tests that need an independent BigWig tool fail loudly without it.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SHORKIE_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(venv.exists(), "{} is missing: run `bash scripts/setup-deps` (it installs pyBigWig)", venv.display());
    venv
}

/// Runs a Python snippet with the project's Python; panics with its stderr on failure.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let out = Command::new(python()).arg("-c").arg(script).args(args).output().expect("run python");
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Every tensor of a trainer's model (moving statistics included), sorted by name.
pub fn trainer_weights<T: shorkie::train::trainer::Task>(t: &shorkie::train::trainer::Trainer<T>) -> Vec<(String, Vec<f32>)> {
    let data = t.varmap.data().lock().unwrap();
    let mut v: Vec<(String, Vec<f32>)> =
        data.iter().map(|(k, v)| (k.clone(), v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// A base other than `b` (A→C→G→T→A), for writing SNVs with a known reference base.
pub fn other_base(b: u8) -> char {
    match b {
        b'A' => 'C',
        b'C' => 'G',
        b'G' => 'T',
        _ => 'A',
    }
}
