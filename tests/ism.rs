mod common;

use candle_core::Device;
use common::*;
use shorkie::ism::saliency::{gradient, objective, Objective};
use shorkie::ism::{FastIsm, Mutant, RunSpec, Runner};
use shorkie::score::encode::InputLayout;
use shorkie::{Params, SeqNN};

fn small() -> (Params, SeqNN) {
    let params = Params::from_file(data("small_finetuned/params.json")).unwrap();
    let model = SeqNN::load(&params, &small_model(), &Device::Cpu).unwrap();
    (params, model)
}

/// A pseudo-random genomic-looking sequence (fixed seed), one-hot encoded.
fn input(model: &SeqNN, seed: u64) -> (Vec<u8>, Vec<f32>) {
    let len = model.params.seq_length;
    let mut state = seed;
    let seq: Vec<u8> = (0..len)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            b"ACGT"[(state >> 62) as usize]
        })
        .collect();
    // Both fixtures have species channels: S. cerevisiae is 0.
    let layout = InputLayout::new(model.in_channels, Some(0)).unwrap();
    let mut x = Vec::new();
    layout.encode_into(&seq, None, &mut x);
    (seq, x)
}

fn max_rel_diff(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs() as f64)).max(1e-12);
    a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((*x as f64 - *y as f64).abs())) / scale
}

/// Every alternative base at positions spread over the window, including both edges and
/// the positions next to crop and pooling boundaries.
fn mutants(seq: &[u8], positions: &[usize]) -> Vec<Mutant> {
    let mut out = Vec::new();
    for &pos in positions {
        for base in 0..4 {
            if b"ACGT"[base] != seq[pos] {
                out.push(Mutant { pos, base });
            }
        }
    }
    out
}

#[test]
fn fast_ism_equals_brute_force_on_the_small_fixture() {
    let (_, model) = small();
    let prefix = model.local_prefix();
    // conv_dna + a 4-step res_tower (pool 2 each): local, 16 bp per position.
    assert_eq!(prefix.blocks, 2);
    assert_eq!(prefix.reach.stride, 16);
    let (seq, x) = input(&model, 7);
    let engine = FastIsm::new(&model, None).unwrap();
    assert!(engine.crop_len() < model.params.seq_length / 2, "crop {}", engine.crop_len());
    let reference = engine.reference(&x).unwrap();
    let full = model
        .forward(&candle_core::Tensor::from_vec(x.clone(), (1, 2048, model.in_channels), &Device::Cpu).unwrap())
        .unwrap();
    let pred_ref: Vec<f32> = engine.predict_reference(&reference).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(pred_ref, full.flatten_all().unwrap().to_vec1::<f32>().unwrap());

    let l = model.params.seq_length;
    let positions = [0, 1, 15, 16, 200, 223, 224, 1000, 1023, 1024, 1500, l - 17, l - 16, l - 2, l - 1];
    let muts = mutants(&seq, &positions);
    let fast: Vec<f32> = engine.predict(&reference, &muts).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let brute: Vec<f32> = engine.predict_brute(&reference, &muts).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let d = max_rel_diff(&fast, &brute);
    // Measured: 0 (bit-identical). Halving the reach gives 9e-6, so 1e-6 catches a reach
    // that is too short even where the 1e-5 would not.
    assert!(d < 1e-6, "fast vs brute relative difference {d}");
    // Each mutant changes the prediction (so the comparison is not vacuous).
    let per = brute.len() / muts.len();
    for (i, m) in muts.iter().enumerate() {
        let changed = max_rel_diff(&brute[i * per..(i + 1) * per], &pred_ref);
        assert!(changed > 1e-6, "mutant {m:?} left the prediction unchanged");
    }
}

#[test]
fn fast_ism_with_a_track_subset_equals_the_full_heads_columns() {
    let (_, model) = small();
    let (seq, x) = input(&model, 11);
    let tracks = [3usize, 0, 36];
    let all = FastIsm::new(&model, None).unwrap();
    let sub = FastIsm::new(&model, Some(&tracks)).unwrap();
    let muts = mutants(&seq, &[5, 700, 2040]);
    let full = all.predict(&all.reference(&x).unwrap(), &muts).unwrap();
    let idx = candle_core::Tensor::from_vec(tracks.iter().map(|&t| t as u32).collect::<Vec<_>>(), 3, &Device::Cpu).unwrap();
    let want: Vec<f32> = full.index_select(&idx, 2).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let got: Vec<f32> = sub.predict(&sub.reference(&x).unwrap(), &muts).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert!(max_rel_diff(&got, &want) < 1e-6);
}

#[test]
fn ensemble_ism_with_rc_and_shifts_equals_brute_force_and_the_scorers_ensemble() {
    let (_, model) = small();
    let models = vec![model];
    let targets = shorkie::targets::Targets::from_file(&data("small_targets.txt")).unwrap();
    let tracks: Vec<usize> = vec![0, 2, 5, 30];
    let spec = |fast| RunSpec {
        tracks: tracks.clone(),
        shifts: vec![-1, 0, 2],
        rc: true,
        strand_pair: Some(targets.strand_pairs()),
        fast,
    };
    let (seq, x) = input(&models[0], 3);
    let muts = mutants(&seq, &[0, 1, 1024, 2046, 2047]);
    let fast = Runner::new(&models, spec(true)).unwrap();
    let brute = Runner::new(&models, spec(false)).unwrap();
    let wf = fast.prepare(&x).unwrap();
    let pf = fast.predict(&wf, &muts).unwrap();
    let pb = brute.predict(&brute.prepare(&x).unwrap(), &muts).unwrap();
    for (a, b) in pf.iter().zip(&pb) {
        assert!(max_rel_diff(a, b) < 1e-5);
    }
    // The reference passes agree with the scorer's ensemble (model, shift, RC average).
    let bins = fast.bins();
    let x_t = candle_core::Tensor::from_vec(x.clone(), (1, 2048, models[0].in_channels), &Device::Cpu).unwrap();
    for (si, &shift) in [-1i64, 0, 2].iter().enumerate() {
        let mut ens = shorkie::ensemble::Ensemble::new(&models);
        ens.reverse_complement = true;
        ens.shifts = vec![shift];
        ens.strand_pair = Some(targets.strand_pairs());
        let y: Vec<Vec<f32>> = ens.predict(&x_t).unwrap().squeeze(0).unwrap().to_vec2().unwrap();
        for b in 0..bins {
            for (ti, &t) in tracks.iter().enumerate() {
                let got = wf.reference[(si * bins + b) * tracks.len() + ti];
                assert!((got - y[b][t]).abs() <= 1e-5 * y[b][t].abs().max(1.0), "shift {shift} bin {b} track {t}");
            }
        }
    }
}

#[test]
fn fast_ism_on_the_default_language_model() {
    let (_, model) = shorkie::default_model::load(&Device::Cpu).unwrap();
    let (seq, x) = input(&model, 5);
    let engine = FastIsm::new(&model, None).unwrap();
    let r = engine.reference(&x).unwrap();
    let l = model.params.seq_length;
    let muts = mutants(&seq, &[0, 300, l / 2, l - 1]);
    let fast: Vec<f32> = engine.predict(&r, &muts).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let brute: Vec<f32> = engine.predict_brute(&r, &muts).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert!(max_rel_diff(&fast, &brute) < 1e-5);
}

#[test]
fn gradient_matches_finite_differences_on_the_small_fixture() {
    let (_, model) = small();
    let (_, x) = input(&model, 13);
    let obj = Objective { tracks: vec![1, 4], bins: Some((20..40).collect()) };
    let g = gradient(&model, &x, &obj).unwrap();
    let ch = model.in_channels;
    let h = 1e-2f32;
    let mut checked = 0;
    let mut worst = 0f64;
    let scale = g.iter().flat_map(|v| v.iter()).fold(0f32, |m, v| m.max(v.abs())) as f64;
    for pos in [400usize, 512, 600, 640, 700, 900] {
        for c in 0..4 {
            let mut up = x.clone();
            up[pos * ch + c] += h;
            let mut down = x.clone();
            down[pos * ch + c] -= h;
            let fd = (objective(&model, &up, &obj).unwrap() - objective(&model, &down, &obj).unwrap()) / (2.0 * h as f64);
            let diff = (fd - g[pos][c] as f64).abs() / scale;
            worst = worst.max(diff);
            checked += 1;
        }
    }
    assert_eq!(checked, 24);
    assert!(scale > 0.0);
    assert!(worst < 2e-2, "finite difference disagrees with the gradient by {worst} of the largest gradient");
}
