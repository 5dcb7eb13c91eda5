//! shorkie-score throughput and memory, measured side by side in one run:
//!
//! 1. Full-size Shorkie fixture (1 fold, --rc), CPU: variants/s next to the model's raw
//!    seconds per forward pass, and the saving when nearby variants share a reference
//!    pass (--cluster-bp).
//! 2. Peak RSS of the whole pipeline for 1 k vs 100 k records (a tiny random model, so
//!    the stream, not the network, is what is measured): it must stay flat.
//!
//! `cargo bench --bench score_throughput` — needs ../shared (or $SHORKIE_SHARED).

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
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_shorkie-score"))
        .args(args)
        .stdout(Stdio::null())
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
    let model = SeqNN::load(&params, &weights, &Device::Cpu)?;
    let x = Tensor::zeros((1, 16384, 170), candle_core::DType::F32, &Device::Cpu)?;
    model.forward(&x)?;
    let reps = 3;
    let start = Instant::now();
    for _ in 0..reps {
        model.forward(&x)?.sum_all()?.to_scalar::<f32>()?;
    }
    let per_pass = start.elapsed().as_secs_f64() / reps as f64;
    drop(model);

    let n_full = 12;
    let vcf = tmp.path().join("full.vcf");
    write_vcf(&vcf, &fasta, &[("chrIV", 1_531_933)], 150, n_full, 20_000);
    let base: Vec<String> = vec![
        "-m".into(), s(&weights), "-p".into(), s(&fixture.join("params.json")), "-f".into(), s(&fasta_path),
        "--rc".into(), "--tracks".into(), "0-99".into(), "-q".into(), "--batch-size".into(), "4".into(),
    ];
    let mut single = base.clone();
    single.push(s(&vcf));
    let (t_single, rss_full) = run_score(&single);
    let mut clustered = base.clone();
    clustered.extend(["--cluster-bp".into(), "4096".into(), s(&vcf)]);
    let (t_cluster, _) = run_score(&clustered);
    println!("full-size Shorkie (1 fold, --rc, CPU, {} threads)", candle_core::utils::get_num_threads());
    println!("  raw forward pass (batch 1)        {per_pass:>8.3} s");
    println!(
        "  {n_full} SNVs, own windows            {t_single:>8.2} s  {:>6.2} variants/s  ({:.1} passes/variant at {per_pass:.3} s => {:.2} s/variant expected)",
        n_full as f64 / t_single,
        4.0,
        4.0 * per_pass
    );
    println!(
        "  {n_full} SNVs, --cluster-bp 4096       {t_cluster:>8.2} s  {:>6.2} variants/s  shared reference passes: {:.2}x faster",
        n_full as f64 / t_cluster,
        t_single / t_cluster
    );
    println!("  peak RSS {rss_full:.0} MiB");

    // ---- 2. memory stays flat with input length ----
    let tiny = r#"{"model": {"seq_length": 512, "num_features": 4, "activation": "gelu", "norm_type": "batch",
        "trunk": [{"name": "conv_dna", "filters": 16, "kernel_size": 11, "norm_type": null, "activation": "linear"},
                  {"name": "res_tower", "filters_init": 16, "filters_end": 32, "divisible_by": 8, "kernel_size": 5, "repeat": 2},
                  {"name": "transformer_tower", "key_size": 8, "heads": 2, "num_position_features": 8, "repeat": 1},
                  {"name": "unet_conv", "kernel_size": 3, "upsample_conv": true},
                  {"name": "Cropping1D", "cropping": 8}],
        "head": {"name": "final", "units": 4, "activation": "softplus"}}}"#;
    let tiny_params = tmp.path().join("tiny.json");
    std::fs::write(&tiny_params, tiny).unwrap();
    let (_, varmap) = SeqNN::fresh(&Params::from_file(&tiny_params)?, 4, &Device::Cpu)?;
    let tiny_weights = tmp.path().join("tiny.safetensors");
    varmap.save(&tiny_weights)?;
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
