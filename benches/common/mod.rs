//! What the memory benchmarks share: the tiny random model they run, where ../shared is,
//! and a child process's peak RSS.

// Each bench includes this module and uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use candle_core::Device;
use shorkie::{Params, SeqNN};

/// A tiny random model (512 bp windows, `tracks` tracks), so that the stream and the
/// outputs, not the model, are what a memory benchmark measures. Returns (params.json,
/// weights).
pub fn tiny_model(dir: &Path, tracks: usize) -> shorkie::Result<(PathBuf, PathBuf)> {
    let tiny = r#"{"model": {"seq_length": 512, "num_features": 4, "activation": "gelu", "norm_type": "batch",
        "trunk": [{"name": "conv_dna", "filters": 16, "kernel_size": 11, "norm_type": null, "activation": "linear"},
                  {"name": "res_tower", "filters_init": 16, "filters_end": 32, "divisible_by": 8, "kernel_size": 5, "repeat": 2},
                  {"name": "transformer_tower", "key_size": 8, "heads": 2, "num_position_features": 8, "repeat": 1},
                  {"name": "unet_conv", "kernel_size": 3, "upsample_conv": true},
                  {"name": "Cropping1D", "cropping": 8}],
        "head": {"name": "final", "units": TRACKS, "activation": "softplus"}}}"#;
    let params = dir.join("tiny.json");
    std::fs::write(&params, tiny.replace("TRACKS", &tracks.to_string())).map_err(|e| shorkie::Error::io(&params, e))?;
    let (_, varmap) = SeqNN::fresh(&Params::from_file(&params)?, 4, &Device::Cpu)?;
    let weights = dir.join("tiny.safetensors");
    varmap.save(&weights)?;
    Ok((params, weights))
}

/// ../shared, or $SHORKIE_SHARED.
pub fn shared() -> PathBuf {
    std::env::var_os("SHORKIE_SHARED").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Waits for `child`; (exited 0, its peak RSS in MiB).
#[allow(clippy::zombie_processes)]
pub fn wait_rss(child: std::process::Child) -> (bool, f64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    (libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, usage.ru_maxrss as f64 / 1024.0)
}

/// Runs `bin` with `args` (stdout to `stdout`, or discarded); returns (seconds, peak RSS
/// in MiB) of that process alone. A failed run stops the benchmark.
pub fn run_rss(bin: &str, args: &[String], stdout: Option<&Path>) -> (f64, f64) {
    let start = Instant::now();
    let out = match stdout {
        Some(p) => Stdio::from(std::fs::File::create(p).expect("stdout file")),
        None => Stdio::null(),
    };
    let child = Command::new(bin).args(args).stdout(out).stderr(Stdio::inherit()).spawn().expect("spawn");
    let (ok, rss) = wait_rss(child);
    assert!(ok, "{bin} failed: {args:?}");
    (start.elapsed().as_secs_f64(), rss)
}
