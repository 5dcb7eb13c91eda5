//! Fast ISM against brute force on the full-size Shorkie architecture (CPU, release):
//! every alternative base over a 500 bp window at the centre of a 16 kb input.
//!
//! `cargo bench --bench ism_speed` — reads ../shared/fixtures/seqnn/shorkie_full (or
//! $SHORKIE_FULL_FIXTURE). ISM_WINDOW sets the window (default 500 bp); brute force is
//! timed on ISM_BRUTE_POSITIONS positions spread over the window (default 8, i.e. 24
//! mutants) and its per-mutant time scaled to the window, since running all of it takes
//! ~10 minutes here. The same mutants are compared for equality.

use std::path::PathBuf;
use std::time::Instant;

use shorkie::convert::convert;
use shorkie::ism::{FastIsm, Mutant};
use shorkie::keras_h5::KerasModel;
use shorkie::{Params, SeqNN};

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> shorkie::Result<()> {
    let dir = std::env::var_os("SHORKIE_FULL_FIXTURE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/seqnn/shorkie_full"));
    if !dir.join("model.h5").exists() {
        eprintln!("ism_speed: {} not found; set SHORKIE_FULL_FIXTURE", dir.display());
        std::process::exit(2);
    }
    let params = Params::from_file(dir.join("params.json"))?;
    let converted = convert(&KerasModel::open(dir.join("model.h5"))?, &params)?;
    let device = candle_core::Device::Cpu;
    let model = SeqNN::from_tensors(&params, converted.in_channels, converted.tensors, &device, "model.h5")?;
    let io = shorkie::npz::read_npz(&dir.join("io.npz"))?;
    let x = io["input"].data.clone();
    let (len, ch) = (params.model.seq_length, model.in_channels);
    let window = env_usize("ISM_WINDOW", 500);
    let brute_positions = env_usize("ISM_BRUTE_POSITIONS", 8).max(1);
    let batch = env_usize("ISM_BATCH", 6);
    let start = len / 2 - window / 2;
    let base_at = |p: usize| (0..4).find(|&c| x[p * ch + c] > 0.5);
    let mutants: Vec<Mutant> = (start..start + window)
        .flat_map(|pos| (0..4).filter(move |&b| base_at(pos) != Some(b)).take(3).map(move |base| Mutant { pos, base }))
        .collect();
    let threads = candle_core::utils::get_num_threads();
    println!("ISM on shorkie_full ({len} bp, {} tracks), CPU, {threads} threads", model.heads()[0].shape.ch);
    println!("window {window} bp at the centre: {} mutants; batch {batch}", mutants.len());

    // One track (what an ISM over a chosen track or group needs) and all tracks.
    for (label, tracks) in [("1 track", Some(vec![0usize])), ("all 5215 tracks", None)] {
        let engine = FastIsm::new(&model, tracks.as_deref())?;
        let t0 = Instant::now();
        let reference = engine.reference(&x)?;
        let ref_s = t0.elapsed().as_secs_f64();
        let step = (window / brute_positions).max(1);
        let sample: Vec<Mutant> = mutants.iter().copied().filter(|m| (m.pos - start) % step == 0).take(3 * brute_positions).collect();
        let t1 = Instant::now();
        let mut brute = Vec::new();
        for chunk in sample.chunks(batch) {
            brute.push(engine.predict_brute(&reference, chunk)?);
        }
        let brute_per = t1.elapsed().as_secs_f64() / sample.len() as f64;
        let t2 = Instant::now();
        let mut fast_sample = Vec::new();
        for chunk in sample.chunks(batch) {
            fast_sample.push(engine.predict(&reference, chunk)?);
        }
        let fast_sample_per = t2.elapsed().as_secs_f64() / sample.len() as f64;
        let mut worst = 0f64;
        for (a, b) in fast_sample.iter().zip(&brute) {
            let d = (a - b)?.abs()?.max_all()?.to_scalar::<f32>()? as f64;
            let s = b.abs()?.max_all()?.to_scalar::<f32>()? as f64;
            worst = worst.max(d / s.max(1e-12));
        }
        println!("\n[{label}] crop {} bp of {len} recomputed per mutant (reach ±{} bp, stride {})", engine.crop_len(), engine.prefix().reach.radius, engine.prefix().reach.stride);
        println!("  reference pass            {ref_s:>8.3} s");
        println!("  brute force, {:>3} mutants  {brute_per:>8.3} s/mutant", sample.len());
        println!("  fast, same mutants        {fast_sample_per:>8.3} s/mutant   max relative difference {worst:.2e}");
        if tracks.is_some() {
            let t3 = Instant::now();
            for chunk in mutants.chunks(batch) {
                engine.predict(&reference, chunk)?;
            }
            let fast_s = t3.elapsed().as_secs_f64();
            let brute_s = brute_per * mutants.len() as f64;
            println!("  fast, whole window        {fast_s:>8.1} s ({:.3} s/mutant)", fast_s / mutants.len() as f64);
            println!("  brute force, whole window {brute_s:>8.1} s (scaled from the sample)");
            println!("  speed-up                  {:>8.2}x", brute_s / fast_s);
        } else {
            println!("  speed-up                  {:>8.2}x", brute_per / fast_sample_per);
        }
    }
    let mut timings = Vec::new();
    let one = candle_core::Tensor::from_vec(x.clone(), (1, len, ch), &device)?;
    model.forward_profiled(&one, &mut timings)?;
    let total: f64 = timings.iter().map(|(_, s)| s).sum();
    let local: f64 = timings.iter().take(model.local_prefix().blocks).map(|(_, s)| s).sum();
    let head: f64 = timings.iter().filter(|(l, _)| l.starts_with("head")).map(|(_, s)| s).sum();
    println!("\nwhat bounds it (one forward pass, {total:.3} s): local tower {:.0}%, head {:.0}%, attention + U-net + rest {:.0}%",
        100.0 * local / total, 100.0 * head / total, 100.0 * (total - local - head) / total);
    println!("a single-base change reaches every position after the first attention layer, so that part runs in full for every mutant");
    Ok(())
}
