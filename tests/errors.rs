//! Bad input gives one clear line and exit status 1, never a panic.

mod common;

use std::path::Path;

use candle_core::{Device, Tensor};
use common::{assert_one_line_error, convert_cmd, data};
use shorkie::{Params, SeqNN};

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn malformed_params_json() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("params.json");
    std::fs::write(&bad, "{\"model\": {\"seq_length\": 2048,,}}").unwrap();
    let out = convert_cmd(&[&s(&data("small_lm/model.h5")), "-p", &s(&bad), "-o", &s(&tmp.path().join("x.safetensors"))]);
    assert_one_line_error(&out, &["params.json", "malformed JSON", "line 1"]);
    assert!(!tmp.path().join("x.safetensors").exists());
}

#[test]
fn unknown_block_and_key_are_named() {
    let text = std::fs::read_to_string(data("small_lm/params.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("params.json");
    std::fs::write(&p, text.replacen("\"res_tower\"", "\"res_towr\"", 1)).unwrap();
    let out = convert_cmd(&[&s(&data("small_lm/model.h5")), "-p", &s(&p), "-o", &s(&tmp.path().join("x.st"))]);
    assert_one_line_error(&out, &["model.trunk[1]", "unknown block \"res_towr\""]);

    std::fs::write(&p, text.replacen("\"num_convs\"", "\"num_conv\"", 1)).unwrap();
    let out = convert_cmd(&[&s(&data("small_lm/model.h5")), "-p", &s(&p), "-o", &s(&tmp.path().join("x.st"))]);
    assert_one_line_error(&out, &["model.trunk[1] (res_tower)", "unknown key \"num_conv\""]);
}

#[test]
fn h5_from_a_different_architecture() {
    let tmp = tempfile::tempdir().unwrap();
    // The LM weights against the fine-tuned architecture.
    let out = convert_cmd(&[
        &s(&data("small_lm/model.h5")),
        "-p",
        &s(&data("small_finetuned/params.json")),
        "-o",
        &s(&tmp.path().join("x.safetensors")),
    ]);
    assert_one_line_error(&out, &["small_lm/model.h5", "different architecture"]);
    assert!(!tmp.path().join("x.safetensors").exists());
}

#[test]
fn truncated_h5() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(data("small_lm/model.h5")).unwrap();
    for cut in [100usize, bytes.len() / 2, bytes.len() - 1000] {
        let h5 = tmp.path().join("cut.h5");
        std::fs::write(&h5, &bytes[..cut]).unwrap();
        let out = convert_cmd(&[&s(&h5), "-p", &s(&data("small_lm/params.json")), "-o", &s(&tmp.path().join("x.st"))]);
        assert_one_line_error(&out, &["cut.h5"]);
    }
}

#[test]
fn not_an_h5_file() {
    let out = convert_cmd(&[&s(&data("small_lm/params.json")), "-p", &s(&data("small_lm/params.json")), "-o", "/tmp/never.st"]);
    assert_one_line_error(&out, &["params.json", "not a readable HDF5 file"]);
}

#[test]
fn wrong_channel_count() {
    // Library: a 4-channel input to an 8-channel model.
    let params = Params::from_file(data("small_lm/params.json")).unwrap();
    let keras = shorkie::keras_h5::KerasModel::open(data("small_lm/model.h5")).unwrap();
    let conv = shorkie::convert::convert(&keras, &params).unwrap();
    let model = SeqNN::from_tensors(&params, conv.in_channels, conv.tensors, &Device::Cpu, "m").unwrap();
    let x = Tensor::zeros((1, 2048, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
    let err = match model.forward(&x) {
        Ok(_) => panic!("a 4-channel input must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("input has 4 channels, the model expects 8"), "{err}");

    // Command line: params that declare a channel count the H5 does not have.
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(data("small_lm/params.json")).unwrap();
    let p = tmp.path().join("params.json");
    std::fs::write(&p, text.replacen("\"seq_length\": 2048", "\"seq_length\": 2048, \"num_features\": 170", 1)).unwrap();
    let out = convert_cmd(&[&s(&data("small_lm/model.h5")), "-p", &s(&p), "-o", &s(&tmp.path().join("x.st"))]);
    assert_one_line_error(&out, &["input has 8 channels", "num_features = 170"]);
}

#[test]
fn wrong_sequence_length() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(data("small_lm/params.json")).unwrap();
    let p = tmp.path().join("params.json");
    std::fs::write(&p, text.replacen("\"seq_length\": 2048", "\"seq_length\": 4096", 1)).unwrap();
    let out = convert_cmd(&[&s(&data("small_lm/model.h5")), "-p", &s(&p), "-o", &s(&tmp.path().join("x.st"))]);
    assert_one_line_error(&out, &["input length is 2048", "seq_length = 4096"]);
}

#[test]
fn safetensors_that_do_not_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let st = tmp.path().join("lm.safetensors");
    let out = convert_cmd(&[&s(&data("small_lm/model.h5")), "-p", &s(&data("small_lm/params.json")), "-o", &s(&st), "-q"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = convert_cmd(&[&s(&st), "-p", &s(&data("small_finetuned/params.json")), "--check", &s(&data("small_finetuned/io.npz"))]);
    assert_one_line_error(&out, &["lm.safetensors", "does not fit"]);
    // Garbage bytes are not safetensors.
    let junk = tmp.path().join("junk.safetensors");
    std::fs::write(&junk, b"not a tensor file").unwrap();
    let out = convert_cmd(&[&s(&junk), "-p", &s(&data("small_lm/params.json")), "--check", &s(&data("small_lm/io.npz"))]);
    assert_one_line_error(&out, &["junk.safetensors", "not a safetensors file"]);
}

#[test]
fn check_with_wrong_channels_in_npz() {
    // The LM fixture's npz against the fine-tuned model: same channels, other output shape.
    let out = convert_cmd(&[
        &s(&data("small_finetuned/model.h5")),
        "-p",
        &s(&data("small_finetuned/params.json")),
        "--check",
        &s(&data("small_lm/io.npz")),
    ]);
    assert_one_line_error(&out, &["model predicts [992, 37]", "reference has [2048, 4]"]);
}

#[test]
fn missing_files_are_named() {
    let out = convert_cmd(&["/nonexistent/model.h5", "-p", &s(&data("small_lm/params.json")), "-o", "/tmp/x.st"]);
    assert_one_line_error(&out, &["/nonexistent/model.h5"]);
    let out = convert_cmd(&[&s(&data("small_lm/model.h5")), "-p", "/nonexistent/params.json", "-o", "/tmp/x.st"]);
    assert_one_line_error(&out, &["/nonexistent/params.json"]);
    let out = convert_cmd(&[&s(&data("small_lm/model.h5")), "-p", &s(&data("small_lm/params.json")), "-o", "/nonexistent/dir/x.st"]);
    assert_one_line_error(&out, &["/nonexistent/dir/x.st", "does not exist"]);
}

#[test]
fn weights_missing_or_extra_tensors_are_named() {
    let params = Params::from_file(data("small_lm/params.json")).unwrap();
    let keras = shorkie::keras_h5::KerasModel::open(data("small_lm/model.h5")).unwrap();
    let conv = shorkie::convert::convert(&keras, &params).unwrap();

    let mut missing = conv.tensors.clone();
    missing.remove("trunk.1.0.conv0.conv.kernel").unwrap();
    let err = SeqNN::from_tensors(&params, 8, missing, &Device::Cpu, "w.st").err().unwrap().to_string();
    assert!(err.contains("trunk.1.0.conv0.conv.kernel"), "{err}");

    let mut extra = conv.tensors.clone();
    extra.insert("trunk.9.stray".into(), Tensor::zeros(3, candle_core::DType::F32, &Device::Cpu).unwrap());
    let err = SeqNN::from_tensors(&params, 8, extra, &Device::Cpu, "w.st").err().unwrap().to_string();
    assert!(err.contains("\"trunk.9.stray\" is not part of the architecture"), "{err}");
}
