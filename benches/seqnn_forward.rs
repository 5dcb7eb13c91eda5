//! Seconds per 16 kb sequence for the full-size Shorkie architecture (CPU, release),
//! at batch 1 and 4, with the time spent in each block.
//!
//! `cargo bench --bench seqnn_forward` — reads ../shared/fixtures/seqnn/shorkie_full
//! (or $SHORKIE_FULL_FIXTURE).

use std::path::PathBuf;
use std::time::Instant;

use candle_core::{Device, Tensor};
use shorkie::convert::convert;
use shorkie::keras_h5::KerasModel;
use shorkie::{Params, SeqNN};

/// The figure for baskerville/TensorFlow 2.15 on these 2-core machines; quoted,
/// not measured by this benchmark.
const REFERENCE_S_PER_SEQ: f64 = 0.33;

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

    println!("shorkie_full forward, CPU, {} threads", candle_core::utils::get_num_threads());
    model.forward(&one)?; // warm-up: page in weights, size buffers
    let mut rows = Vec::new();
    for (batch, x, reps) in [(1usize, &one, 5usize), (4, &four, 2)] {
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
    println!("{:>6} {:>12} {:>12} {:>22}", "batch", "s/seq mean", "s/seq best", "ratio vs 0.33 s (ref)");
    for (batch, mean, best) in &rows {
        println!("{batch:>6} {mean:>12.3} {best:>12.3} {:>22.2}", mean / REFERENCE_S_PER_SEQ);
    }

    let mut timings = Vec::new();
    let profile_input = if std::env::var_os("PROFILE_BATCH4").is_some() { &four } else { &one };
    model.forward_profiled(profile_input, &mut timings)?;
    let total: f64 = timings.iter().map(|(_, s)| s).sum();
    println!("\nwhere the time goes (batch 1, one pass, {total:.3} s):");
    for (label, s) in &timings {
        println!("  {label:<28} {s:>8.3} s {:>6.1}%", 100.0 * s / total);
    }
    Ok(())
}
