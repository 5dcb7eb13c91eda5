//! A campaign: for each target, mutate inputs from a pool (the seeds, plus every input
//! that drew an error message not seen before, a cheap stand-in for coverage), run them,
//! and keep one minimised input per distinct crash.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::exec::{Crash, Outcome, Runner};
use crate::mutate::mutate;
use crate::rng::Rng;
use crate::targets::{self, Target};

const POOL_MAX: usize = 512;

#[derive(Debug, Clone)]
pub struct Found {
    pub target: String,
    pub crash: Crash,
    /// The minimised input.
    pub input: Vec<u8>,
    pub saved: Option<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct TargetReport {
    pub executions: u64,
    pub pool: usize,
    pub crashes: Vec<Found>,
}

/// FNV-1a: stable names for saved inputs and per-target RNG streams.
pub fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// An error message with its numbers and paths blurred, so that "line 3" and "line 4" count
/// as one behaviour.
fn signature(outcome: &Outcome) -> String {
    let msg = match outcome {
        Outcome::Ok => return "ok".into(),
        Outcome::Error(m) => m,
        Outcome::Crash(c) => return c.key.clone(),
    };
    let mut out = String::new();
    let mut last_digit = false;
    for c in msg.chars().take(160) {
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('#');
            }
            last_digit = true;
        } else {
            last_digit = false;
            out.push(c);
        }
    }
    out.split_whitespace().filter(|w| !w.contains('/')).collect::<Vec<_>>().join(" ")
}

/// Whether `input` still gives the crash `key`.
fn same_crash(runner: &mut Runner, t: &Target, input: &[u8], key: &str) -> bool {
    matches!(runner.run(t, input), Outcome::Crash(c) if c.key == key)
}

/// Delta reduction: drop line-sized then byte-sized chunks while the same crash remains,
/// within `budget` executions.
pub fn minimise(runner: &mut Runner, t: &Target, input: &[u8], key: &str, budget: usize) -> Vec<u8> {
    let mut best = input.to_vec();
    let mut runs = 0;
    // Whole lines first: text inputs shrink fastest that way.
    let mut i = 0;
    while runs < budget {
        let lines: Vec<usize> =
            std::iter::once(0).chain(best.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1)).collect();
        if lines.len() < 3 || i + 1 >= lines.len() {
            break;
        }
        let mut candidate = best[..lines[i]].to_vec();
        candidate.extend_from_slice(&best[lines[i + 1]..]);
        runs += 1;
        if same_crash(runner, t, &candidate, key) {
            best = candidate;
        } else {
            i += 1;
        }
    }
    let mut chunk = (best.len() / 2).max(1);
    while runs < budget && !best.is_empty() {
        let mut start = 0;
        let mut shrank = false;
        while start < best.len() && runs < budget {
            let end = (start + chunk).min(best.len());
            let mut candidate = best[..start].to_vec();
            candidate.extend_from_slice(&best[end..]);
            runs += 1;
            if same_crash(runner, t, &candidate, key) {
                best = candidate;
                shrank = true;
            } else {
                start += chunk;
            }
        }
        if chunk == 1 && !shrank {
            break;
        }
        if !shrank {
            chunk = (chunk / 2).max(1);
        }
    }
    best
}

/// Where a target's crashing inputs are kept.
pub fn corpus_dir(target: &str) -> PathBuf {
    targets::root().join("tests/fuzz_corpus").join(target)
}

fn save(dir: &Path, t: &Target, input: &[u8]) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let ext = t.file_name.rsplit('.').next().unwrap_or("bin");
    let path = dir.join(format!("{:016x}.{ext}", fnv(input)));
    std::fs::write(&path, input).ok()?;
    Some(path)
}

pub struct Settings {
    pub seed: u64,
    pub budget: Duration,
    pub max_executions: Option<u64>,
    /// Where to save minimised crashes (None: keep them in memory only).
    pub save_to: Option<PathBuf>,
    pub minimise_budget: usize,
    /// Print every input's outcome (SHORKIE_FUZZ_VERBOSE).
    pub verbose: bool,
}

/// Fuzzes one target until its time or execution budget is spent.
pub fn fuzz_target(runner: &mut Runner, t: &Target, s: &Settings) -> TargetReport {
    let start = Instant::now();
    let mut rng = Rng::new(s.seed ^ fnv(t.name.as_bytes()));
    let mut report = TargetReport::default();
    let mut pool = targets::seeds(t);
    let mut seen_signatures = HashSet::new();
    let mut seen_crashes: BTreeMap<String, ()> = BTreeMap::new();
    let mut queue: Vec<Vec<u8>> = pool.clone();
    loop {
        if start.elapsed() >= s.budget || s.max_executions.is_some_and(|m| report.executions >= m) {
            break;
        }
        // The seeds run as they are first; a seed that crashes counts like any input.
        let (input, is_seed) = match queue.pop() {
            Some(seed) => (seed, true),
            None => {
                let a = rng.below(pool.len());
                let b = rng.below(pool.len());
                (mutate(&mut rng, t.flavour, &pool[a], &pool[b], t.max_len), false)
            }
        };
        let outcome = runner.run(t, &input);
        report.executions += 1;
        if s.verbose {
            eprintln!("fuzz {} #{}: {} bytes -> {}", t.name, report.executions, input.len(), signature(&outcome));
        }
        match outcome {
            Outcome::Crash(crash) => {
                if seen_crashes.insert(crash.key.clone(), ()).is_none() {
                    // Each try of a hang costs the whole time limit: keep a hang as found.
                    let budget = if crash.key == "hang" { 0 } else { s.minimise_budget };
                    let small = minimise(runner, t, &input, &crash.key, budget);
                    let saved = s.save_to.as_ref().and_then(|d| save(&d.join(t.name), t, &small));
                    eprintln!("fuzz {}: crash {} ({}) in {} bytes, minimised to {}", t.name, crash.key, crash.detail, input.len(), small.len());
                    report.crashes.push(Found { target: t.name.to_string(), crash, input: small, saved });
                }
            }
            other => {
                if seen_signatures.insert(signature(&other)) && !is_seed && pool.len() < POOL_MAX {
                    pool.push(input);
                }
            }
        }
    }
    report.pool = pool.len();
    report
}
