//! Seconds per 16 kb sequence for the full-size Shorkie architecture (CPU, release),
//! at batch 1 and 4, with the time spent in each block; beside the reference implementation
//! (baskerville on TensorFlow 2.15) measured in the same run, before and after ours, when
//! its environment exists (../shared/tools/reference/README.md; `SHORKIE_TF_PYTHON`, default
//! /tmp/tfenv/bin/python, and `BASKERVILLE_SRC`, default /tmp/bsk/src).
//!
//! `cargo bench --bench seqnn_forward` — reads ../shared/fixtures/seqnn/shorkie_full
//! (or $SHORKIE_FULL_FIXTURE).

use std::path::PathBuf;
use std::time::Instant;

use candle_core::{Device, Tensor};
use shorkie::convert::convert;
use shorkie::keras_h5::KerasModel;
use shorkie::{Params, SeqNN};

/// The reference implementation's median seconds per sequence at `batch` (5 runs), when
/// its environment is there.
fn tf_seconds_per_seq(fixture: &std::path::Path, batch: usize) -> Option<f64> {
    let python = std::env::var("SHORKIE_TF_PYTHON").unwrap_or_else(|_| "/tmp/tfenv/bin/python".into());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/reference/tf_forward_bench.py");
    if !std::path::Path::new(&python).exists() || !script.exists() {
        return None;
    }
    let out = std::process::Command::new(&python)
        .arg(&script)
        .arg(fixture)
        .args([batch.to_string(), "5".to_string()])
        .env("BASKERVILLE_SRC", std::env::var("BASKERVILLE_SRC").unwrap_or_else(|_| "/tmp/bsk/src".into()))
        .env("TF_CPP_MIN_LOG_LEVEL", "2")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().find_map(|w| w.strip_prefix("median="))?.parse().ok()
}

fn main() -> shorkie::Result<()> {
    let dir = std::env::var_os("SHORKIE_FULL_FIXTURE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/seqnn/shorkie_full"));
    if !dir.join("model.h5").exists() {
        eprintln!("seqnn_forward: {} not found; set SHORKIE_FULL_FIXTURE", dir.display());
        std::process::exit(2);
    }
    let params = Params::from_file(dir.join("params.json"))?;
    let keras = KerasModel::open(dir.join("model.h5"))?;
    let converted = convert(&keras, &params)?;
    let device = Device::Cpu;
    let model = SeqNN::from_tensors(&params, converted.in_channels, converted.tensors, &device, "model.h5")?;
    let io = shorkie::npz::read_npz(&dir.join("io.npz"))?;
    let input = &io["input"];
    let one = Tensor::from_vec(input.data.clone(), (1, input.shape[1], input.shape[2]), &device)?;
    let four = Tensor::cat(&[&one, &one, &one, &one], 0)?;

    let tf_before: Vec<Option<f64>> = [1, 4].iter().map(|&b| tf_seconds_per_seq(&dir, b)).collect();
    println!("shorkie_full forward, CPU, {} threads", candle_core::utils::get_num_threads());
    model.forward(&one)?; // warm-up: page in weights, size buffers
    let mut rows = Vec::new();
    let reps4: usize = std::env::var("SEQNN_REPS4").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    for (batch, x, reps) in [(1usize, &one, 5usize), (4, &four, reps4)] {
        let mut best = f64::INFINITY;
        let mut total = 0.0;
        for _ in 0..reps {
            let start = Instant::now();
            let y = model.forward(x)?;
            let _ = y.sum_all()?.to_scalar::<f32>()?;
            let s = start.elapsed().as_secs_f64();
            best = best.min(s);
            total += s;
        }
        let per_seq = total / reps as f64 / batch as f64;
        rows.push((batch, per_seq, best / batch as f64));
    }
    let tf_after: Vec<Option<f64>> = [1, 4].iter().map(|&b| tf_seconds_per_seq(&dir, b)).collect();
    println!("{:>6} {:>12} {:>12} {:>26} {:>16}", "batch", "s/seq mean", "s/seq best", "TF s/seq before / after", "TF / ours (mean)");
    for (i, (batch, mean, best)) in rows.iter().enumerate() {
        match (tf_before[i], tf_after[i]) {
            (Some(a), Some(b)) => println!("{batch:>6} {mean:>12.3} {best:>12.3} {:>26} {:>16.2}", format!("{a:.3} / {b:.3}"), (a + b) / 2.0 / mean),
            _ => println!("{batch:>6} {mean:>12.3} {best:>12.3} {:>26} {:>16}", "not measured", "-"),
        }
    }
    if tf_before.iter().any(Option::is_none) {
        println!("(baskerville/TF not measured: no reference environment; see ../shared/tools/reference/README.md)");
    }

    // Per-block times: the fastest of three passes for each block (single passes on a
    // shared machine wander by 20%).
    let profile_batch = if std::env::var_os("PROFILE_BATCH4").is_some() { 4 } else { 1 };
    let profile_input = if profile_batch == 4 { &four } else { &one };
    let mut best: Vec<(String, f64)> = Vec::new();
    for _ in 0..3 {
        let mut timings = Vec::new();
        model.forward_profiled(profile_input, &mut timings)?;
        if best.is_empty() {
            best = timings;
        } else {
            for ((_, b), (_, t)) in best.iter_mut().zip(&timings) {
                *b = b.min(*t);
            }
        }
    }
    let total: f64 = best.iter().map(|(_, s)| s).sum();
    println!("\nwhere the time goes (batch {profile_batch}, fastest of 3 passes per block, {total:.3} s):");
    for (label, s) in &best {
        println!("  {label:<28} {s:>8.3} s {:>6.1}%", 100.0 * s / total);
    }
    Ok(())
}
