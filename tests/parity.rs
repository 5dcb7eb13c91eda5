//! Our forward pass against baskerville/TensorFlow reference outputs (fixtures made
//! with the reference implementation): max |ours - ref| <= 1e-4 * max |ref|.

mod common;

use candle_core::Device;
use common::{convert_cmd, data, shared_full};
use shorkie::convert::{convert, save_safetensors};
use shorkie::keras_h5::KerasModel;
use shorkie::parity::check;
use shorkie::{Params, SeqNN};

const TOL: f32 = 1e-4;

fn parity(dir: &std::path::Path) -> f32 {
    let params = Params::from_file(dir.join("params.json")).unwrap();
    let keras = KerasModel::open(dir.join("model.h5")).unwrap();
    let converted = convert(&keras, &params).unwrap();
    // Round-trip through the safetensors file users will load.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("model.safetensors");
    save_safetensors(&converted, &path).unwrap();
    let model = SeqNN::load(&params, &path, &Device::Cpu).unwrap();
    let io = shorkie::npz::read_npz(&dir.join("io.npz")).unwrap();
    let dev = check(&model, &io["input"], &io["output"], 2, &Device::Cpu).unwrap();
    eprintln!("{}: relative deviation {:.3e}", dir.display(), dev.relative());
    dev.relative()
}

#[test]
fn small_finetuned_matches_reference() {
    assert!(parity(&data("small_finetuned")) <= TOL);
}

#[test]
fn small_lm_matches_reference() {
    assert!(parity(&data("small_lm")) <= TOL);
}

#[test]
fn full_shorkie_matches_reference() {
    if let Some(dir) = shared_full() {
        assert!(parity(&dir) <= TOL);
    }
}

#[test]
fn cli_converts_and_checks_full_shorkie() {
    let Some(dir) = shared_full() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("full.safetensors");
    let s = |p: std::path::PathBuf| p.display().to_string();
    let res = convert_cmd(&[
        &s(dir.join("model.h5")),
        "--params",
        &s(dir.join("params.json")),
        "-o",
        &s(out.clone()),
        "--check",
        &s(dir.join("io.npz")),
    ]);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(stdout.contains("PASS"), "{stdout}");
    // The converted file runs on its own, from the command line.
    let res = convert_cmd(&[&s(out), "--params", &s(dir.join("params.json")), "--check", &s(dir.join("io.npz"))]);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(String::from_utf8_lossy(&res.stdout).contains("PASS"));
}

#[test]
fn cli_reports_deviation_and_fails_above_tolerance() {
    let dir = data("small_finetuned");
    let s = |p: std::path::PathBuf| p.display().to_string();
    let args = |tol: &'static str| {
        vec![s(dir.join("model.h5")), "--params".into(), s(dir.join("params.json")), "--check".into(), s(dir.join("io.npz")), "--tol".into(), tol.into()]
    };
    let ok = convert_cmd(&args("1e-4").iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("relative = "));
    // A tolerance below float32 round-off must fail with a named reason.
    let fail = convert_cmd(&args("1e-12").iter().map(String::as_str).collect::<Vec<_>>());
    common::assert_one_line_error(&fail, &["exceeds --tol"]);
}
