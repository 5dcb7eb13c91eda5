//! shorkie-score throughput and memory, measured side by side in one run:
//!
//! 1. Full-size Shorkie fixture (all 5,215 tracks, --rc), CPU: variants/s for 1 fold and an
//!    8-fold ensemble (the fixture 8 times), whole passes vs substitutions reusing their
//!    reference's local tower (scores compared), with and without --cluster-bp; beside the
//!    reference implementation (baskerville on TensorFlow, 4 passes per SNV at its batch-4
//!    speed) measured in the same run before and after ours, when its environment exists
//!    (../shared/tools/reference/README.md; `SHORKIE_TF_PYTHON`, default /tmp/tfenv/bin/python,
//!    and `BASKERVILLE_SRC`, default /tmp/bsk/src).
//! 2. Peak RSS of the whole pipeline for 1 k vs 100 k records (a tiny random model, so
//!    the stream, not the network, is what is measured): it must stay flat.
//!
//! `cargo bench --bench score_throughput` — needs ../shared (or $SHORKIE_SHARED).
//! `SHORKIE_BENCH_SNVS` (default 36) sets the SNV count (a third of it for 8 folds);
//! `SHORKIE_BENCH_RSS=0` skips part 2.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use candle_core::{Device, Tensor};
use shorkie::convert::{convert, save_safetensors};
use shorkie::formats::indexed_fasta::Fasta;
use shorkie::keras_h5::KerasModel;
use shorkie::{Params, SeqNN};

fn shared() -> PathBuf {
    std::env::var_os("SHORKIE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// SNVs every `step` bp along `contigs`, REF from the FASTA, ALT its complement.
fn write_vcf(path: &Path, fasta: &Fasta, contigs: &[(&str, u64)], step: u64, n: usize, margin: u64) {
    let mut text = String::from("##fileformat=VCFv4.2\n");
    for (c, len) in contigs {
        text.push_str(&format!("##contig=<ID={c},length={len}>\n"));
    }
    text.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    let mut count = 0;
    'outer: for (c, len) in contigs {
        let mut pos = margin;
        while pos + margin < *len {
            let b = fasta.fetch_padded(c, pos as i64 - 1, pos as i64).unwrap()[0];
            let alt = match b {
                b'A' => 'C',
                b'C' => 'G',
                b'G' => 'T',
                b'T' => 'A',
                _ => {
                    pos += step;
                    continue;
                }
            };
            text.push_str(&format!("{c}\t{pos}\tv{count}\t{}\t{alt}\t.\t.\t.\n", b as char));
            count += 1;
            if count == n {
                break 'outer;
            }
            pos += step;
        }
    }
    assert_eq!(count, n, "not enough positions for {n} variants");
    std::fs::write(path, text).unwrap();
}

/// Runs shorkie-score; returns (seconds, peak RSS in MiB) of that process alone.
// The child is reaped by wait4, which also reports its own rusage.
#[allow(clippy::zombie_processes)]
fn run_score(args: &[String]) -> (f64, f64) {
    run_score_to(args, None)
}

fn run_score_to(args: &[String], out: Option<&Path>) -> (f64, f64) {
    let start = Instant::now();
    let stdout = match out {
        Some(p) => Stdio::from(std::fs::File::create(p).unwrap()),
        None => Stdio::null(),
    };
    let child = Command::new(env!("CARGO_BIN_EXE_shorkie-score"))
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn shorkie-score");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "shorkie-score failed: {args:?}");
    (start.elapsed().as_secs_f64(), usage.ru_maxrss as f64 / 1024.0)
}

/// The reference implementation's seconds per sequence at batch 4 (median of 3), when its
/// environment is there.
fn tf_seconds_per_seq(fixture: &Path) -> Option<f64> {
    let python = std::env::var("SHORKIE_TF_PYTHON").unwrap_or_else(|_| "/tmp/tfenv/bin/python".into());
    let script = shared().join("tools/reference/tf_forward_bench.py");
    if !Path::new(&python).exists() || !script.exists() {
        return None;
    }
    let out = Command::new(&python)
        .arg(&script)
        .arg(fixture)
        .args(["4", "3"])
        .env("BASKERVILLE_SRC", std::env::var("BASKERVILLE_SRC").unwrap_or_else(|_| "/tmp/bsk/src".into()))
        .env("TF_CPP_MIN_LOG_LEVEL", "2")
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let median = text.split_whitespace().find_map(|w| w.strip_prefix("median="))?;
    median.parse().ok()
}

/// Largest relative difference between the numbers of two VCFs' SHORKIE INFO fields.
fn max_rel_diff(a: &Path, b: &Path) -> f64 {
    let values = |p: &Path| -> Vec<f64> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .flat_map(|l| l.split('\t').nth(7).unwrap_or("").split(';').map(String::from).collect::<Vec<_>>())
            .filter_map(|kv| kv.strip_prefix("SHORKIE=").map(String::from))
            .flat_map(|v| v.split([',', '|']).filter_map(|x| x.parse::<f64>().ok()).collect::<Vec<_>>())
            .collect()
    };
    let (x, y) = (values(a), values(b));
    assert_eq!(x.len(), y.len(), "the two runs scored different numbers of values");
    assert!(!x.is_empty(), "no scores to compare");
    x.iter().zip(&y).map(|(p, q)| (p - q).abs() / q.abs().max(1e-6)).fold(0.0, f64::max)
}

fn main() -> shorkie::Result<()> {
    let shared = shared();
    let fixture = shared.join("fixtures/seqnn/shorkie_full");
    let fasta_path = shared.join("data/sacCer3/sacCer3.fa.gz");
    if !fixture.join("model.h5").exists() || !fasta_path.exists() {
        eprintln!("score_throughput: ../shared not found; set SHORKIE_SHARED");
        std::process::exit(2);
    }
    let tmp = tempfile::tempdir().unwrap();
    let fasta = Fasta::open(&fasta_path)?;
    let s = |p: &Path| p.display().to_string();

    // ---- 1. full-size Shorkie ----
    let params = Params::from_file(fixture.join("params.json"))?;
    let converted = convert(&KerasModel::open(fixture.join("model.h5"))?, &params)?;
    let weights = tmp.path().join("full.safetensors");
    save_safetensors(&converted, &weights)?;
    let tf_before = tf_seconds_per_seq(&fixture);
    let model = SeqNN::load(&params, &weights, &Device::Cpu)?;
    let x = Tensor::zeros((4, 16384, 170), candle_core::DType::F32, &Device::Cpu)?;
    model.forward(&x)?;
    let reps = 2;
    let start = Instant::now();
    for _ in 0..reps {
        model.forward(&x)?.sum_all()?.to_scalar::<f32>()?;
    }
    let per_pass = start.elapsed().as_secs_f64() / (4 * reps) as f64;
    drop(model);

    // 36 SNVs 150 bp apart: two 4 kb clusters, and enough passes that loading the model (~0.4 s)
    // is not a large share of a run (the reference side is timed on forward passes only).
    let n_full: usize = std::env::var("SHORKIE_BENCH_SNVS").ok().and_then(|v| v.parse().ok()).unwrap_or(36);
    let vcf = tmp.path().join("full.vcf");
    write_vcf(&vcf, &fasta, &[("chrIV", 1_531_933)], 150, n_full, 20_000);
    let n_ens = (n_full / 3).max(1);
    let vcf_ens = tmp.path().join("ensemble.vcf");
    write_vcf(&vcf_ens, &fasta, &[("chrIV", 1_531_933)], 150, n_ens, 20_000);
    let args = |folds: usize, extra: &[&str], vcf: &Path| -> Vec<String> {
        let mut a = Vec::new();
        for _ in 0..folds {
            a.extend(["-m".to_string(), s(&weights)]);
        }
        a.extend(["-p".into(), s(&fixture.join("params.json")), "-f".into(), s(&fasta_path), "--rc".into(), "-q".into()]);
        a.extend(["--batch-size".into(), "4".into()]);
        a.extend(extra.iter().map(|x| x.to_string()));
        a.push(s(vcf));
        a
    };
    let out = |name: &str| tmp.path().join(format!("{name}.vcf"));
    let (t_whole, rss_full) = run_score_to(&args(1, &["--whole-passes"], &vcf), Some(&out("whole")));
    let (t_reuse, _) = run_score_to(&args(1, &[], &vcf), Some(&out("reuse")));
    let (t_cluster, _) = run_score(&args(1, &["--cluster-bp", "4096"], &vcf));
    let (t_ens, _) = run_score(&args(8, &[], &vcf_ens));
    let (t_ens_cluster, _) = run_score(&args(8, &["--cluster-bp", "4096"], &vcf_ens));
    let tf_after = tf_seconds_per_seq(&fixture);
    let diff = max_rel_diff(&out("whole"), &out("reuse"));

    let tf = match (tf_before, tf_after) {
        (Some(a), Some(b)) => Some((a + b) / 2.0),
        _ => None,
    };
    println!("full-size Shorkie (5,215 tracks, --rc, batch 4, CPU, {} threads)", candle_core::utils::get_num_threads());
    match (tf_before, tf_after) {
        (Some(a), Some(b)) => println!(
            "  baskerville (TF) forward, batch 4   {a:.3} s/seq before ours, {b:.3} after  => {:.2} variants/s (4 passes per SNV)",
            1.0 / (4.0 * (a + b) / 2.0)
        ),
        _ => println!("  baskerville (TF): not measured here (no reference environment; see ../shared/tools/reference/README.md)"),
    }
    println!("  ours forward, batch 4               {per_pass:.3} s/seq");
    // Baskerville runs 4 passes per SNV per fold (ref, alt; forward, RC).
    let row = |label: &str, n: usize, t: f64, base: f64, folds: f64| {
        let vs = n as f64 / t;
        let tf_ratio = tf.map(|tf| format!("  {:.2}x baskerville", vs * 4.0 * folds * tf)).unwrap_or_default();
        println!("  {label:<42} {t:>8.2} s  {vs:>6.2} variants/s  {:.2}x whole passes{tf_ratio}", base / t);
    };
    row(&format!("1 fold, {n_full} SNVs, whole passes"), n_full, t_whole, t_whole, 1.0);
    row(&format!("1 fold, {n_full} SNVs, local-tower reuse"), n_full, t_reuse, t_whole, 1.0);
    row(&format!("1 fold, {n_full} SNVs, reuse + --cluster-bp 4096"), n_full, t_cluster, t_whole, 1.0);
    let per_fold_whole = t_whole / n_full as f64 * n_ens as f64 * 8.0;
    row(&format!("8 folds, {n_ens} SNVs, local-tower reuse"), n_ens, t_ens, per_fold_whole, 8.0);
    row(&format!("8 folds, {n_ens} SNVs, reuse + --cluster-bp 4096"), n_ens, t_ens_cluster, per_fold_whole, 8.0);
    println!("  (8-fold rows: 'x whole passes' against 8 x the 1-fold whole-pass time per variant, 'x baskerville' against 32 of its passes per SNV)");
    println!("  scores, reuse vs whole passes: max relative difference {diff:.2e}");
    println!("  peak RSS {rss_full:.0} MiB");

    if std::env::var("SHORKIE_BENCH_RSS").as_deref() == Ok("0") {
        return Ok(());
    }
    // ---- 2. memory stays flat with input length ----
    let (tiny_params, tiny_weights) = common::tiny_model(tmp.path(), 4)?;
    let contigs: Vec<(String, u64)> = ["chrIV", "chrVII", "chrXII", "chrXV", "chrXVI", "chrII", "chrXIII", "chrXIV"]
        .iter()
        .map(|c| (c.to_string(), fasta.length(c).unwrap()))
        .collect();
    let contigs: Vec<(&str, u64)> = contigs.iter().map(|(c, l)| (c.as_str(), *l)).collect();
    println!("\npipeline memory (tiny random model, 512 bp windows, batch 64)");
    println!("  {:>8} {:>10} {:>12} {:>14}", "records", "seconds", "records/s", "peak RSS MiB");
    let mut rss = Vec::new();
    for n in [1_000usize, 100_000] {
        let vcf = tmp.path().join(format!("tiny_{n}.vcf"));
        write_vcf(&vcf, &fasta, &contigs, 60, n, 2_000);
        let args: Vec<String> = vec![
            "-m".into(), s(&tiny_weights), "-p".into(), s(&tiny_params), "-f".into(), s(&fasta_path),
            "-q".into(), "--batch-size".into(), "64".into(), s(&vcf),
        ];
        let (t, r) = run_score(&args);
        println!("  {n:>8} {t:>10.2} {:>12.0} {r:>14.1}", n as f64 / t);
        rss.push(r);
    }
    println!("  RSS ratio 100k / 1k: {:.2}", rss[1] / rss[0]);
    Ok(())
}
