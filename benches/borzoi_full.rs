//! Human scale: Borzoi's full published architecture (`params_pred.json`: 524,288 bp in,
//! 16,384 bins of 32 bp, 7,611 human tracks) with random weights — no weights file is
//! needed — one window on the CPU: seconds per pass and peak resident memory.
//!
//! `cargo bench --bench borzoi_full` — reads ../shared/data/borzoi/params_pred.json (or
//! $BORZOI_PARAMS). $BORZOI_HEAD picks the head (default 0, human), $BORZOI_PASSES the
//! number of timed passes (default 1).

use std::path::PathBuf;
use std::time::Instant;

use candle_core::{Device, Tensor};
use shorkie::{Params, SeqNN};

/// Peak resident set size of this process so far (`VmHWM`), in GiB.
fn peak_rss_gib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / (1024.0 * 1024.0))
}

/// Resets `VmHWM` to the current RSS (Linux >= 4.0), so a later reading covers only
/// what follows.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> shorkie::Result<()> {
    let path = std::env::var_os("BORZOI_PARAMS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/borzoi/params_pred.json"));
    if !path.exists() {
        eprintln!("borzoi_full: {} not found; set BORZOI_PARAMS", path.display());
        std::process::exit(2);
    }
    let head = env_usize("BORZOI_HEAD", 0);
    let passes = env_usize("BORZOI_PASSES", 1).max(1);
    let params = Params::from_file(&path)?.select_head(head)?;
    let device = Device::Cpu;

    let start = Instant::now();
    // Fresh variables record every op for backpropagation (and skip the CPU fast paths);
    // inference runs on plain tensors, as a converted model does.
    let tensors: std::collections::HashMap<String, Tensor> = {
        let (_, varmap) = SeqNN::fresh(&params, 4, &device)?;
        let data = varmap.data().lock().map_err(|_| shorkie::Error::Other("variable map poisoned".into()))?;
        data.iter().map(|(k, v)| (k.clone(), v.as_tensor().detach())).collect()
    };
    let n_params: usize = tensors.values().map(|t| t.elem_count()).sum();
    let model = SeqNN::from_tensors(&params, 4, tensors, &device, "random weights")?;
    let h = &model.heads()[0];
    println!(
        "borzoi_full: {} ({}), {} bp in, {} bins x {} bp x {} tracks out, {:.1} M parameters (random), built in {:.1} s",
        path.display(),
        h.key,
        params.model.seq_length,
        h.shape.len,
        h.bin_bp,
        h.shape.ch,
        n_params as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    println!("CPU, {} threads, batch 1", candle_core::utils::get_num_threads());
    let weights_gib = peak_rss_gib().unwrap_or(f64::NAN);

    // A random one-hot window.
    let len = params.model.seq_length;
    let mut rng = shorkie::sim::rng::Rng::stream(7, "borzoi_full", 0);
    let mut x = vec![0f32; len * 4];
    for i in 0..len {
        x[i * 4 + rng.below(4) as usize] = 1.0;
    }
    let x = Tensor::from_vec(x, (1, len, 4), &device)?;

    let reset = reset_peak_rss();
    let mut times = Vec::new();
    let mut timings = Vec::new();
    for pass in 0..passes {
        let start = Instant::now();
        let y = if pass == 0 { model.forward_profiled(&x, &mut timings)? } else { model.forward(&x)? };
        // Bin sums per track, as scoring reduces the output.
        let sums = y.sum(1)?.flatten_all()?.to_vec1::<f32>()?;
        times.push(start.elapsed().as_secs_f64());
        if sums.iter().any(|v| !v.is_finite()) {
            return Err(shorkie::Error::Other("non-finite prediction".into()));
        }
    }
    let peak = peak_rss_gib().unwrap_or(f64::NAN);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!("seconds per pass: {mean:.1} (passes: {})", times.iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>().join(", "));
    println!(
        "peak RSS: {peak:.2} GiB{} (weights and model alone: {weights_gib:.2} GiB)",
        if reset { " during the passes" } else { " (whole run; VmHWM could not be reset)" }
    );
    let total: f64 = timings.iter().map(|(_, s)| s).sum();
    println!("\nwhere the time goes (first pass, {total:.1} s):");
    for (label, s) in &timings {
        println!("  {label:<32} {s:>8.2} s {:>6.1}%", 100.0 * s / total);
    }
    Ok(())
}
