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
    // that is too short even where the issue's 1e-5 would not.
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
    let targets = shorkie::formats::targets::Targets::from_file(&data("small_targets.txt")).unwrap();
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

fn ism_cmd(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_shorkie-ism")).args(args).output().expect("run shorkie-ism")
}

fn small_args(model: &str) -> Vec<String> {
    [
        "-m", model,
        "-p", data("small_finetuned/params.json").to_str().unwrap(),
        "-t", data("small_targets.txt").to_str().unwrap(),
        "-f", data("chrI.fa.gz").to_str().unwrap(),
        "--species-index", "0", "-q",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn tsv_rows(path: &std::path::Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn cli_bed_run_writes_consistent_tsv_npz_and_bedgraph() {
    let model = small_model();
    let dir = tempfile::tempdir().unwrap();
    let bed = dir.path().join("r.bed");
    std::fs::write(&bed, "chrI\t5000\t5030\tr1\nchrI\t100\t110\n").unwrap();
    let out = dir.path().join("out");
    let mut args = small_args(model.to_str().unwrap());
    args.extend(["--tracks", "0,2,5", "--stats", "logSED,SUM", "--rc", "--plot", "-o", out.to_str().unwrap(), bed.to_str().unwrap()].map(String::from));
    let res = ism_cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let rows = tsv_rows(&out.join("ism.tsv"));
    assert_eq!(rows.len(), 3 * (30 + 10));
    assert_eq!(rows[0][..5], ["r1", "chrI", "5001", "A", "C"].map(String::from)[..]);
    assert_eq!(rows[3 * 30][0], "chrI:101-110");
    // The reference base of every row matches the FASTA (samtools).
    let faidx = sh(&format!("samtools faidx {} chrI:5001-5030 | grep -v '>' | tr -d '\\n'", data("chrI.fa.gz").display()));
    let reference = String::from_utf8_lossy(&faidx.stdout).to_string();
    for (i, r) in rows[..90].iter().enumerate() {
        assert_eq!(r[3], reference[i / 3..i / 3 + 1].to_string());
        assert_ne!(r[3], r[4]);
    }
    // NPZ (read by numpy) and bedGraph from the same first statistic (logSED) per track.
    let script = r##"
import sys, numpy as np
z = np.load(sys.argv[1])
h, s = z["hyp_scores"], z["seqs"]
assert h.shape == (2, 30, 4) and s.shape == (2, 30, 4), (h.shape, s.shape)
assert np.allclose(h.sum(-1), 0, atol=1e-6)
assert np.all(s[0].sum(-1) == 1) and np.all(s[1, :10].sum(-1) == 1) and np.all(s[1, 10:] == 0)
rows = [l.split("\t") for l in open(sys.argv[2]) if not l.startswith("#")]
col = 5  # logSED of track 0
ism = np.zeros((30, 4))
for i, r in enumerate(rows[:90]):
    ism[i // 3, "ACGT".index(r[4])] = float(r[col])
want = ism - ism.mean(-1, keepdims=True)
assert np.allclose(h[0], want, rtol=1e-4, atol=1e-9), np.abs(h[0] - want).max()
bg = [l.split() for l in open(sys.argv[3]) if not l.startswith("track")]
proj = {int(b[1]): float(b[3]) for b in bg}
ref = s[0].argmax(-1)
for i in range(30):
    assert abs(proj[5000 + i] - h[0, i, ref[i]]) <= 1e-6 + 1e-4 * abs(h[0, i, ref[i]])
print("ok")
"##;
    let res = run_python(
        script,
        &[out.join("ism.track0.npz").to_str().unwrap(), out.join("ism.tsv").to_str().unwrap(), out.join("ism.track0.bedgraph").to_str().unwrap()],
    );
    assert_eq!(res.trim(), "ok");
    assert!(out.join("plots/r1.svg").exists());

    // Brute force gives the same scores.
    let out2 = dir.path().join("brute");
    let mut args = small_args(model.to_str().unwrap());
    args.extend(["--tracks", "0,2,5", "--stats", "logSED,SUM", "--rc", "--brute-force", "-o", out2.to_str().unwrap(), bed.to_str().unwrap()].map(String::from));
    let res = ism_cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let brute = tsv_rows(&out2.join("ism.tsv"));
    assert_eq!(brute.len(), rows.len());
    for (a, b) in rows.iter().zip(&brute) {
        assert_eq!(a[..5], b[..5]);
        for (x, y) in a[5..].iter().zip(&b[5..]) {
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((x - y).abs() <= 1e-5 * y.abs().max(1e-3), "{x} vs {y}");
        }
    }
}

#[test]
fn cli_vcf_mode_agrees_with_shorkie_score_at_the_variant() {
    let model = small_model();
    let dir = tempfile::tempdir().unwrap();
    let vcf = dir.path().join("v.vcf");
    std::fs::write(&vcf, "##fileformat=VCFv4.2\n##contig=<ID=chrI,length=230218>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchrI\t5000\tsnv1\tA\tC\t.\tPASS\t.\n").unwrap();
    let out = dir.path().join("out");
    let mut args = small_args(model.to_str().unwrap());
    args.extend(["--vcf", "-l", "3", "--tracks", "1,4", "--stats", "logSED,SUM", "--rc", "--shifts", "-1,0", "-o", out.to_str().unwrap(), vcf.to_str().unwrap()].map(String::from));
    let res = ism_cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let rows = tsv_rows(&out.join("ism.tsv"));
    assert_eq!(rows.len(), 3 * 7);
    let at = rows.iter().find(|r| r[2] == "5000" && r[4] == "C").expect("the variant's own row");
    let mut sargs = small_args(model.to_str().unwrap());
    sargs.extend(["--tracks", "1,4", "--info-tracks", "all", "--stats", "logSED,SUM", "--rc", "--shifts", "-1,0", vcf.to_str().unwrap()].map(String::from));
    let scored = score_cmd(&sargs.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert!(scored.status.success(), "{}", String::from_utf8_lossy(&scored.stderr));
    let text = String::from_utf8_lossy(&scored.stdout).to_string();
    let line = text.lines().find(|l| l.starts_with("chrI\t5000")).unwrap();
    let info = line.split('\t').nth(7).unwrap();
    let entry = info.split(';').find_map(|kv| kv.strip_prefix("SHORKIE=")).unwrap();
    let ism: Vec<f64> = at[5..].iter().map(|v| v.parse().unwrap()).collect();
    // The --info-tracks values end the entry, statistic by statistic.
    let fields: Vec<&str> = entry.split('|').collect();
    let values: Vec<f64> = fields[fields.len() - ism.len()..].iter().map(|v| v.parse().unwrap()).collect();
    for (a, b) in ism.iter().zip(&values) {
        assert!((a - b).abs() <= 1e-4 * b.abs().max(1e-6), "ISM {a} vs shorkie-score {b}");
    }
}

#[test]
fn cli_group_by_writes_a_symmetric_distance_matrix_of_the_group_profiles() {
    let model = small_model();
    let dir = tempfile::tempdir().unwrap();
    let bed = dir.path().join("r.bed");
    std::fs::write(&bed, "chrI\t6000\t6012\n").unwrap();
    let out = dir.path().join("out");
    let mut args = small_args(model.to_str().unwrap());
    args.extend(["--tracks", "0-11", "--group-by", r"synthetic track (\d)$", "--stats", "SUM", "--saliency", "-o", out.to_str().unwrap(), bed.to_str().unwrap()].map(String::from));
    let res = ism_cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    // Tracks 0-9 match (one group each); 10 and 11 do not end in a single digit.
    let d = std::fs::read_to_string(out.join("groups.distance.tsv")).unwrap();
    let lines: Vec<Vec<&str>> = d.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines[0][1..], ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    let m: Vec<Vec<f64>> = lines[1..].iter().map(|r| r[1..].iter().map(|v| v.parse().unwrap()).collect()).collect();
    let profile = |g: usize| -> Vec<f64> {
        std::fs::read_to_string(out.join(format!("ism.{g}.bedgraph"))).unwrap().lines().skip(1).map(|l| l.split('\t').nth(3).unwrap().parse().unwrap()).collect()
    };
    for i in 0..10 {
        assert_eq!(m[i][i], 0.0);
        for j in 0..10 {
            assert!((m[i][j] - m[j][i]).abs() < 1e-12);
            let want: f64 = profile(i).iter().zip(profile(j)).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
            assert!((m[i][j] - want).abs() <= 1e-4 * want.max(1e-9), "{i},{j}: {} vs {want}", m[i][j]);
        }
    }
    assert!(m[0][1] > 0.0);
    for f in ["groups.heatmap.svg", "groups.profiles.svg", "saliency.3.npz", "saliency.3.bedgraph"] {
        assert!(out.join(f).exists(), "{f}");
    }
}

#[test]
fn cli_bad_input_gives_one_line_errors() {
    let model = small_model();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("chrI\t230000\t230300\n", vec![":1: ", "runs past the end of chrI"]),
        ("chrX\t1\t10\n", vec![":1: ", "chrX", "not in the FASTA"]),
        ("chrI\t1\t10\nchrI\t50\t50\n", vec![":2: ", "empty"]),
        ("chrI\t100\t5000\n", vec![":1: ", "longer than the model"]),
        ("chrI\tten\t20\n", vec![":1: ", "not a whole number"]),
    ];
    for (i, (bed, needles)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("b{i}.bed"));
        std::fs::write(&p, bed).unwrap();
        let out = dir.path().join(format!("o{i}"));
        let mut args = small_args(model.to_str().unwrap());
        args.extend(["-o", out.to_str().unwrap(), p.to_str().unwrap()].map(String::from));
        let res = ism_cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let mut n: Vec<&str> = needles.clone();
        n.push(p.to_str().unwrap());
        assert_one_line_error(&res, &n);
        assert!(!out.exists(), "case {i}: the output directory the failed run made is left behind");
    }
    // An output directory that cannot be written.
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let file_as_dir = dir.path().join("plainfile");
    std::fs::write(&file_as_dir, "x").unwrap();
    let p = dir.path().join("ok.bed");
    std::fs::write(&p, "chrI\t1000\t1002\n").unwrap();
    let mut args = small_args(model.to_str().unwrap());
    args.extend(["-o", file_as_dir.join("sub").to_str().unwrap(), p.to_str().unwrap()].map(String::from));
    assert_one_line_error(&ism_cmd(&args.iter().map(String::as_str).collect::<Vec<_>>()), &["cannot create output directory"]);
    // A REF that does not match the FASTA in VCF mode.
    let vcf = dir.path().join("bad.vcf");
    std::fs::write(&vcf, "##fileformat=VCFv4.2\n##contig=<ID=chrI,length=230218>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchrI\t5000\tx\tG\tC\t.\tPASS\t.\n").unwrap();
    let mut args = small_args(model.to_str().unwrap());
    args.extend(["--vcf", "-o", dir.path().join("ov").to_str().unwrap(), vcf.to_str().unwrap()].map(String::from));
    assert_one_line_error(&ism_cmd(&args.iter().map(String::as_str).collect::<Vec<_>>()), &["record 1", "REF G does not match"]);
    // Windows stream: a bad record after a good one fails the run after the good window
    // was scored, and leaves neither a partial TSV nor a changed earlier one.
    let vcf = dir.path().join("late.vcf");
    std::fs::write(&vcf, "##fileformat=VCFv4.2\n##contig=<ID=chrI,length=230218>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchrI\t5000\tok\tA\tC\t.\tPASS\t.\nchrI\t5000\tbad\tG\tC\t.\tPASS\t.\n").unwrap();
    let late = dir.path().join("late");
    std::fs::create_dir(&late).unwrap();
    std::fs::write(late.join("ism.tsv"), "earlier run\n").unwrap();
    let mut args = small_args(model.to_str().unwrap());
    args.extend(["--vcf", "-l", "2", "-o", late.to_str().unwrap(), vcf.to_str().unwrap()].map(String::from));
    assert_one_line_error(&ism_cmd(&args.iter().map(String::as_str).collect::<Vec<_>>()), &["record 2", "REF G does not match"]);
    assert_eq!(std::fs::read_to_string(late.join("ism.tsv")).unwrap(), "earlier run\n");
    let left: Vec<String> = std::fs::read_dir(&late).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert_eq!(left, vec!["ism.tsv".to_string()], "nothing but the earlier TSV");
}

#[test]
fn the_local_tower_spliced_around_multi_base_edits_equals_whole_passes() {
    use shorkie::local_tower::{Edit, LocalTower};
    let (_, model) = small();
    let tower = LocalTower::new(&model);
    let (l, ch) = (model.params.seq_length, model.in_channels);
    let (_, x) = input(&model, 5);
    let window = candle_core::Tensor::from_vec(x.clone(), (1, l, ch), &Device::Cpu).unwrap();
    let (_, _, mut acts) = tower.run(&model, &window).unwrap();
    let acts = acts.remove(0);
    let head = model.head_view(0, None).unwrap();
    // Spans from 1 to 40 bp at both edges, across pooling boundaries and in the middle.
    let cases = [(0, 1), (0, 7), (15, 2), (16, 40), (223, 3), (1000, 25), (1023, 2), (l - 40, 40), (l - 3, 3), (l - 1, 1)];
    let mut inputs = Vec::new();
    for (k, &(first, span)) in cases.iter().enumerate() {
        let mut edited = x.clone();
        for row in first..first + span {
            // Rotate the base (A->C->G->T->A), a different base at every row.
            let at = row * ch;
            let hot = (0..4).find(|&c| edited[at + c] == 1.0).unwrap();
            edited[at + hot] = 0.0;
            edited[at + (hot + 1 + k % 3) % 4] = 1.0;
        }
        inputs.push(edited);
    }
    let edits: Vec<Edit> = cases.iter().zip(&inputs).map(|(&(first, span), input)| Edit { input, first, last: first + span - 1, rows: None }).collect();
    assert!(tower.crop_len(40).unwrap() < l / 2, "crop {:?}", tower.crop_len(40));
    let bases = vec![&acts; edits.len()];
    let fast: Vec<f32> = tower.predict_edited(&model, &bases, &edits, &head, &Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let all: Vec<f32> = inputs.concat();
    let whole = model.forward(&candle_core::Tensor::from_vec(all, (cases.len(), l, ch), &Device::Cpu).unwrap()).unwrap();
    let whole: Vec<f32> = whole.flatten_all().unwrap().to_vec1().unwrap();
    let d = max_rel_diff(&fast, &whole);
    assert!(d < 1e-6, "spliced vs whole relative difference {d}");
    // Each edit changes the prediction, so the comparison is not vacuous.
    let reference: Vec<f32> = model.forward(&window).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let per = whole.len() / cases.len();
    for (k, case) in cases.iter().enumerate() {
        assert!(max_rel_diff(&whole[k * per..(k + 1) * per], &reference) > 1e-6, "edit {case:?} left the prediction unchanged");
    }
    // The edited rows may also be given on their own, over the unedited window.
    let rows: Vec<f32> = inputs[3][16 * ch..56 * ch].to_vec();
    let alone = Edit { input: &x, first: 16, last: 55, rows: Some(&rows) };
    let y: Vec<f32> = tower.predict_edited(&model, &[&acts], &[alone], &head, &Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert!(max_rel_diff(&y, &whole[3 * per..4 * per]) < 1e-6);
}
