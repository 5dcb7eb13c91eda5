//! The fuzzing harness for every parser of user files (issue 15 §3), on stable Rust.
//!
//! `scripts/fuzz SECONDS [SEED]` runs a campaign (the ignored test `campaign`); the
//! `replay_*` tests run every saved crashing input in `tests/fuzz_corpus/<target>/` (and
//! the seeds) and fail on any crash. A crash is a panic, a signal (segfault, abort on a
//! failed allocation), a hang, or a binary exiting with a status other than 0 or 1.

mod campaign;
mod exec;
mod mutate;
mod rng;
mod targets;

use std::path::PathBuf;
use std::time::Duration;

use campaign::{corpus_dir, fuzz_target, Settings};
use exec::{Limits, Outcome, Runner};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The harness's child process: reads inputs on stdin, runs them in-process.
#[test]
#[ignore = "the fuzz harness's worker process, started by the harness"]
fn worker() {
    if std::env::var_os("SHORKIE_FUZZ_WORKER").is_some() {
        exec::worker_main();
    }
}

/// A campaign over every target: SHORKIE_FUZZ_SECONDS in all (split evenly),
/// SHORKIE_FUZZ_SEED, SHORKIE_FUZZ_TARGETS (comma-separated names), SHORKIE_FUZZ_SAVE
/// (where minimised crashes go; default tests/fuzz_corpus, `none` to keep nothing).
#[test]
#[ignore = "a fuzz campaign; run with scripts/fuzz SECONDS [SEED]"]
fn campaign() {
    let seconds = env_u64("SHORKIE_FUZZ_SECONDS", 60);
    let seed = env_u64("SHORKIE_FUZZ_SEED", 1);
    let wanted: Option<Vec<String>> =
        std::env::var("SHORKIE_FUZZ_TARGETS").ok().map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let save_to = match std::env::var("SHORKIE_FUZZ_SAVE") {
        Ok(v) if v == "none" => None,
        Ok(v) => Some(PathBuf::from(v)),
        Err(_) => Some(targets::root().join("tests/fuzz_corpus")),
    };
    let chosen: Vec<_> = targets::all()
        .into_iter()
        .filter(|t| !t.selftest)
        .filter(|t| wanted.as_ref().is_none_or(|w| w.iter().any(|n| n == t.name)))
        .collect();
    assert!(!chosen.is_empty(), "no target matches SHORKIE_FUZZ_TARGETS");
    let per_target = Duration::from_secs_f64(seconds as f64 / chosen.len() as f64);
    let mut runner = Runner::new(Limits::default());
    let settings = Settings { seed, budget: per_target, max_executions: None, save_to, minimise_budget: 400, verbose: std::env::var_os("SHORKIE_FUZZ_VERBOSE").is_some() };
    println!("fuzz campaign: seed {seed}, {seconds} s over {} targets", chosen.len());
    println!("{:<14} {:>11} {:>6} {:>16}", "target", "executions", "pool", "distinct crashes");
    let mut found = Vec::new();
    let mut total = 0;
    for t in &chosen {
        let r = fuzz_target(&mut runner, t, &settings);
        println!("{:<14} {:>11} {:>6} {:>16}", t.name, r.executions, r.pool, r.crashes.len());
        total += r.executions;
        found.extend(r.crashes);
    }
    println!("{:<14} {:>11} {:>6} {:>16}", "total", total, "", found.len());
    for f in &found {
        let at = f.saved.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "(not saved)".into());
        println!("crash {}: {} ({}) -> {at}", f.target, f.crash.key, f.crash.detail);
    }
    assert!(found.is_empty(), "the campaign found {} distinct crashes (listed above)", found.len());
}

/// Every saved crashing input and every seed of a target runs without a crash, and at
/// least one seed is accepted (so a broken target cannot pass by refusing everything).
fn replay(name: &str) {
    let t = targets::by_name(name).expect("target");
    let mut runner = Runner::new(Limits::default());
    let mut crashes = Vec::new();
    let mut accepted = 0;
    // In the worker, each input runs past the leak margin, so a leaked descriptor shows.
    let times = if matches!(t.exec, targets::Exec::InProcess(_)) { exec::LEAK_MARGIN + 2 } else { 1 };
    for seed in targets::seeds(&t) {
        for _ in 0..times {
            match runner.run(&t, &seed) {
                Outcome::Ok => accepted += 1,
                Outcome::Error(_) => {}
                Outcome::Crash(c) => crashes.push(format!("a seed: {} ({})", c.key, c.detail)),
            }
        }
    }
    assert!(accepted > 0, "{name}: no seed is accepted; the target is broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir(name))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    for f in &files {
        let input = std::fs::read(f).expect("corpus file");
        for _ in 0..times {
            if let Outcome::Crash(c) = runner.run(&t, &input) {
                crashes.push(format!("{}: {} ({})", f.display(), c.key, c.detail));
                break;
            }
        }
    }
    assert!(crashes.is_empty(), "{name}: {} inputs crash:\n{}", crashes.len(), crashes.join("\n"));
}

macro_rules! replay_tests {
    ($($(#[$attr:meta])* $test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            $(#[$attr])*
            fn $test() {
                replay($name);
            }
        )*
    };
}

replay_tests! {
    replay_params => "params",
    replay_safetensors => "safetensors",
    replay_keras_h5 => "keras_h5",
    replay_npy => "npy",
    replay_npz => "npz",
    replay_vcf => "vcf",
    replay_bcf => "bcf",
    replay_fai => "fai",
    replay_gzi => "gzi",
    replay_fasta_indexed => "fasta_indexed",
    replay_fasta => "fasta",
    replay_bed => "bed",
    replay_gtf => "gtf",
    replay_targets => "targets",
    replay_labels => "labels",
    replay_ids => "ids",
}

#[test]
fn every_target_has_a_replay_test() {
    let src = include_str!("main.rs");
    for t in targets::all().iter().filter(|t| !t.selftest) {
        assert!(src.contains(&format!("=> \"{}\"", t.name)), "target {} has no replay test", t.name);
    }
}

/// The harness itself: a planted panic and a planted abort are both found, told apart,
/// and minimised; the clean error is not a crash.
#[test]
fn harness_finds_and_minimises_planted_crashes() {
    let t = targets::by_name("selftest").expect("selftest target");
    let mut runner = Runner::new(Limits::default());
    assert_eq!(runner.run(&t, b"ok"), Outcome::Ok);
    assert!(matches!(runner.run(&t, b"xyz"), Outcome::Error(_)));
    let settings = Settings { seed: 7, budget: Duration::from_secs(120), max_executions: Some(400), save_to: None, minimise_budget: 400, verbose: false };
    let report = fuzz_target(&mut runner, &t, &settings);
    let mut keys: Vec<&str> = report.crashes.iter().map(|c| c.crash.key.as_str()).collect();
    keys.sort();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let panic = report.crashes.iter().find(|c| c.crash.key.starts_with("panic at tests/fuzz/targets.rs:")).expect("the panic");
    assert_eq!(panic.input, b"\0", "minimised to the one byte that matters");
    assert!(panic.crash.detail.contains("NUL byte"), "{:?}", panic.crash);
    let abort = report.crashes.iter().find(|c| c.crash.key == "signal 6").expect("the abort");
    assert_eq!(abort.input.len(), 17, "minimised to the shortest aborting length");
    // The worker was restarted after the abort and still answers.
    assert_eq!(runner.run(&t, b"ok"), Outcome::Ok);
}

#[test]
fn mutations_depend_only_on_the_seed() {
    let input = b"chrI\t100\t200\tname\nchrII\t5\t10\tx\n";
    let run = |seed| {
        let mut r = rng::Rng::new(seed);
        (0..200).map(|_| mutate::mutate(&mut r, mutate::Flavour::Text, input, b"other\n", 4096)).collect::<Vec<_>>()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
    let json = br#"{"model": {"seq_length": 8, "trunk": [{"name": "conv_dna"}]}}"#;
    let mut r = rng::Rng::new(5);
    let changed = (0..100).filter(|_| mutate::mutate(&mut r, mutate::Flavour::Json, json, json, 4096) != json).count();
    assert!(changed > 80, "only {changed} of 100 JSON mutations changed the input");
}

#[test]
fn binary_exits_are_classified() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    let st = |raw| Some(ExitStatus::from_raw(raw));
    assert_eq!(exec::classify_exit(st(0), ""), Outcome::Ok);
    assert!(matches!(exec::classify_exit(st(1 << 8), "x: bad line 3\n"), Outcome::Error(m) if m == "x: bad line 3"));
    let Outcome::Crash(c) = exec::classify_exit(st(101 << 8), "\nthread 'main' panicked at src/score/allele.rs:40:9:\nrange end index 9 out of range\n") else {
        panic!("a panic is a crash")
    };
    assert_eq!(c.key, "panic at src/score/allele.rs:40");
    assert_eq!(c.detail, "range end index 9 out of range");
    let Outcome::Crash(c) = exec::classify_exit(
        st(101 << 8),
        "thread 'main' panicked at /rustc/abc/library/core/src/iter/traits/accum.rs:204:1:\nattempt to multiply with overflow\nstack backtrace:\n   0: core::panicking::panic\n             at /rustc/abc/library/core/src/panicking.rs:10:5\n   1: shorkie::npz::parse_npy\n             at ./src/npz.rs:58:44\n",
    ) else {
        panic!("a panic is a crash")
    };
    assert_eq!(c.key, "panic at src/npz.rs:58", "a panic in std is named by its caller");
    assert!(matches!(exec::classify_exit(st(11), ""), Outcome::Crash(c) if c.key == "signal 11"));
    assert!(matches!(exec::classify_exit(st(2 << 8), ""), Outcome::Crash(c) if c.key == "exit Some(2)"));
    assert!(matches!(exec::classify_exit(None, ""), Outcome::Crash(c) if c.key == "hang"));
}
