//! scripts/fetch-weights on local files (no network here): a file:// manifest of the small
//! fixture stands in for the published one, so the checksum, resume and conversion logic
//! run for real.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::data;

fn md5(path: &Path) -> String {
    let out = Command::new("md5sum").arg(path).output().expect("md5sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string()
}

fn fetch(manifest: &Path, dir: &Path, models: &[&str]) -> Output {
    Command::new("bash")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-weights"))
        .arg("-d")
        .arg(dir)
        .args(models)
        .env("SHORKIE_WEIGHTS_MANIFEST", manifest)
        .env("SHORKIE_CONVERT", env!("CARGO_BIN_EXE_shorkie-convert"))
        .output()
        .expect("run fetch-weights")
}

/// A manifest row for a local file: model, file, file:// URL, size, MD5 (or the given one).
fn row(model: &str, file: &str, src: &Path, md5_override: Option<&str>) -> String {
    let size = std::fs::metadata(src).unwrap().len();
    let sum = md5_override.map(str::to_string).unwrap_or_else(|| md5(src));
    format!("{model}\t{file}\tfile://{}\t{size}\t{sum}\n", src.display())
}

#[test]
fn downloads_verify_convert_and_refuse_corrupt_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (h5, params) = (data("small_finetuned/model.h5"), data("small_finetuned/params.json"));
    let manifest = tmp.path().join("weights.tsv");
    let mut text = String::from("# model\tfile\turl\tsize\tmd5\n");
    text += &row("small", "params.json", &params, Some("-"));
    text += &row("small", "f0/model_best.h5", &h5, None);
    text += &row("small", "f1/model_best.h5", &h5, None);
    std::fs::write(&manifest, &text).unwrap();
    let dir = tmp.path().join("w");

    let out = fetch(&manifest, &dir, &["small"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty(), "progress goes to stderr");
    // The conversions equal shorkie-convert's own output, byte for byte.
    let direct = tmp.path().join("direct.safetensors");
    let conv = Command::new(env!("CARGO_BIN_EXE_shorkie-convert"))
        .args([h5.as_os_str(), "-p".as_ref(), params.as_os_str(), "-o".as_ref(), direct.as_os_str()])
        .output()
        .unwrap();
    assert!(conv.status.success());
    for fold in ["f0", "f1"] {
        let got = std::fs::read(dir.join(format!("small/{fold}.safetensors"))).unwrap();
        assert_eq!(got, std::fs::read(&direct).unwrap(), "{fold}");
        assert_eq!(md5(&dir.join(format!("small/{fold}/model_best.h5"))), md5(&h5));
    }

    // Verified files are not fetched again.
    let out = fetch(&manifest, &dir, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("present and verified").count(), 3, "{stderr}");
    assert!(!stderr.contains("file://"), "{stderr}");

    // A corrupt download (the checksum differs) is refused and leaves nothing behind.
    let bad = tmp.path().join("bad.tsv");
    std::fs::write(&bad, row("small", "f2/model_best.h5", &h5, Some("00000000000000000000000000000000"))).unwrap();
    let out = fetch(&bad, &dir, &["small"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("MD5") && stderr.contains("expected 00000000000000000000000000000000"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(dir.join("small/f2")).unwrap().collect();
    assert!(left.is_empty(), "no partial download is left: {left:?}");

    // A truncated download (the size differs) too.
    let short = tmp.path().join("short.tsv");
    let size = std::fs::metadata(&h5).unwrap().len() + 1;
    std::fs::write(&short, format!("small\tf3/model_best.h5\tfile://{}\t{size}\t-\n", h5.display())).unwrap();
    let out = fetch(&short, &dir, &["small"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("expected {size} (truncated")), "{stderr}");

    // An unknown model name is a usage error.
    let out = fetch(&manifest, &dir, &["shorky"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown model shorky (known: small)"));
}

#[test]
fn the_shipped_manifest_lists_eight_folds_and_the_lm_with_checksums() {
    let text = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/weights.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().filter(|l| !l.starts_with('#')).map(|l| l.split('\t').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == 5), "five tab-separated columns");
    let folds: Vec<_> = rows.iter().filter(|r| r[0] == "shorkie" && r[1].ends_with("model_best.h5")).collect();
    assert_eq!(folds.len(), 8);
    let weights: Vec<_> = rows.iter().filter(|r| r[1].ends_with(".h5")).collect();
    assert_eq!(weights.len(), 9, "8 folds and the LM");
    assert!(weights.iter().all(|r| r[4].len() == 32 && r[4].chars().all(|c| c.is_ascii_hexdigit())), "every weights file has an MD5");
    assert!(rows.iter().any(|r| r[0] == "shorkie_lm" && r[1] == "params.json"));
    assert!(rows.iter().all(|r| r[2].starts_with("https://") && r[3].parse::<u64>().is_ok()));
}
