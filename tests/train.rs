//! shorkie-train / shorkie-eval on real BigWig files written by pyBigWig (UCSC format):
//! pooled targets (with reverse-complement strand swapping) equal numpy's computation,
//! training lowers the loss, resume equals an uninterrupted run, --restore takes the
//! language model's trunk, gene-level metrics equal an independent computation, and bad
//! input gets one named line.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use candle_core::Device;
use common::{assert_one_line_error, data, trainer_weights, run_python};
use shorkie::coverage::blacklist::Blacklist;
use shorkie::coverage::folds::Segment;
use shorkie::formats::targets::Targets;
use shorkie::train::adam::AdamConfig;
use shorkie::train::supervised::{Augment, CoverageData, CoverageTask, Geometry};
use shorkie::train::trainer::{Restore, TrainOptions, Trainer};
use shorkie::{Params, SeqNN};

/// 512 bp in, 16 bp bins, 2 bins cropped each side: 28 bins x 2 stranded tracks.
const TINY: &str = r#"{"train": {"batch_size": 4, "learning_rate": 0.002, "warmup_steps": 5, "global_clipnorm": 1.0,
   "loss": "poisson_mn", "total_weight": 0.2},
 "model": {"seq_length": 512, "num_features": 4, "augment_rc": true, "augment_shift": 2, "activation": "gelu",
  "norm_type": "batch", "bn_momentum": 0.9,
  "trunk": [{"name": "conv_dna", "filters": 16, "kernel_size": 11, "norm_type": null, "activation": "linear"},
            {"name": "res_tower", "filters_init": 16, "filters_end": 32, "divisible_by": 8, "kernel_size": 5, "repeat": 4},
            {"name": "transformer_tower", "key_size": 8, "heads": 2, "num_position_features": 16, "repeat": 1},
            {"name": "Cropping1D", "cropping": 2}],
  "head_rna": {"name": "final", "units": 2, "activation": "softplus"}}}"#;

/// Writes two stranded BigWigs over chrI with pyBigWig: per-base values from a smooth
/// function plus gene-shaped blocks, the minus track with a hole (no data) and written
/// as bedGraph runs; returns the run folder with `targets.txt`.
fn fixture(dir: &Path, sheet_extra: &str) -> PathBuf {
    let script = r#"
import sys, numpy as np, pyBigWig
out = sys.argv[1]
n = 230218
x = np.arange(n)
plus = (2.0 + np.sin(x / 97.0) + (x % 1500 < 400) * 5.0).astype(np.float64)
minus = (1.0 + np.cos(x / 53.0) ** 2 * 3.0).astype(np.float64)
bw = pyBigWig.open(out + "/plus.bw", "w"); bw.addHeader([("chrI", n)])
bw.addEntries("chrI", 0, values=plus.tolist(), span=1, step=1); bw.close()
bw = pyBigWig.open(out + "/minus.bw", "w"); bw.addHeader([("chrI", n)])
starts = list(range(0, 100000, 10)) + list(range(100500, n - 10, 10))
bw.addEntries(["chrI"] * len(starts), starts, ends=[s + 10 for s in starts], values=[float(minus[s]) for s in starts]); bw.close()
"#;
    run_python(script, &[dir.to_str().unwrap()]);
    let sheet = format!(
        "index\tidentifier\tfile\tclip\tclip_soft\tscale\tsum_stat\tstrand_pair\tdescription\tgroup{}\n0\tcov+\tplus.bw\t384\t32\t0.3\tsum_sqrt\t1\tRNA plus\tRNA{}\n1\tcov-\tminus.bw\t384\t32\t0.3\tsum_sqrt\t0\tRNA minus\tRNA{}\n",
        if sheet_extra.is_empty() { "" } else { "\tstrand" },
        if sheet_extra.is_empty() { "" } else { "\t+" },
        if sheet_extra.is_empty() { "" } else { "\t-" },
    );
    std::fs::write(dir.join("targets.txt"), sheet).unwrap();
    dir.to_path_buf()
}

fn tiny() -> Params {
    Params::from_json_str(TINY, "tiny.json").unwrap()
}

fn load_data(dir: &Path, params: &Params) -> CoverageData {
    let targets = Targets::from_file(&dir.join("targets.txt")).unwrap();
    let (probe, _) = SeqNN::fresh(params, 4, &Device::Cpu).unwrap();
    let geometry = Geometry::of(&probe, &targets, None).unwrap();
    CoverageData::load(&data("chrI.fa.gz"), targets, Blacklist::default(), geometry).unwrap()
}

#[test]
fn pooled_targets_equal_numpy_on_pybigwig_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "");
    let d = load_data(&dir, &tiny());
    assert_eq!((d.geometry.pool_width, d.geometry.crop_bp, d.geometry.bins), (16, 32, 28));
    // The last window straddles the minus track's hole (no data: baseline 0 there).
    let windows = [(1000u64, false), (51_237, true), (99_800, false)];
    let segs: Vec<Segment> = windows.iter().map(|(s, _)| Segment { contig: "chrI".into(), start: *s, end: s + 512 }).collect();
    let aug: Vec<Augment> = windows.iter().map(|(_, rc)| Augment { rc: *rc, shift: 0 }).collect();
    let ours: Vec<Vec<Vec<f32>>> = d.targets(&segs, &aug, &Device::Cpu).unwrap().to_vec3().unwrap();
    // numpy, step by step as hound_data_read: values as float16 (NaN where no data),
    // baseline = median (NaN -> 0) replacing NaN, crop, scale, sum per bin, sqrt (sum_sqrt:
    // -1 + sqrt(1 + x)), soft clip above clip_soft, hard clip, float16 storage.
    let script = r#"
import sys, json, numpy as np, pyBigWig
d = sys.argv[1]; out = []
for start in [int(s) for s in sys.argv[2].split(",")]:
    rows = []
    for f in ["plus.bw", "minus.bw"]:
        bw = pyBigWig.open(d + "/" + f)
        v = np.array(bw.values("chrI", start, start + 512)).astype("float16").astype("float32")
        base = np.nan_to_num(np.percentile(v, 50))
        v[np.isnan(v)] = base
        v = v[32:-32] * np.float32(0.3)
        v = v.reshape(28, 16).sum(axis=1, dtype="float32")
        v = -1 + np.sqrt(1 + v)
        over = v > 32
        v[over] = 32 - 1 + np.sqrt(v[over] - 32 + 1)
        v = np.clip(v, -384, 384).astype("float16").astype("float32")
        rows.append(v.tolist())
    out.append(rows)
print(json.dumps(out))
"#;
    let starts: Vec<String> = windows.iter().map(|(s, _)| s.to_string()).collect();
    let expect: Vec<Vec<Vec<f64>>> = serde_json::from_str(&run_python(script, &[dir.to_str().unwrap(), &starts.join(",")])).unwrap();
    for (w, (_, rc)) in windows.iter().enumerate() {
        for b in 0..28 {
            for t in 0..2 {
                // Reverse complement: bins reversed, strands swapped.
                let (eb, et) = if *rc { (27 - b, 1 - t) } else { (b, t) };
                let (got, want) = (ours[w][b][t] as f64, expect[w][et][eb]);
                assert!((got - want).abs() <= 1e-3 * want.abs().max(1.0), "window {w} bin {b} track {t}: {got} vs {want}");
            }
        }
    }
    // The hole really is in the last window, and the plus track has its blocks.
    assert!(expect[2][1].iter().any(|v| *v == 0.0) && expect[2][1].iter().any(|v| *v > 1.0));
}

fn options(out: &Path, steps: usize, epochs: usize, max_steps: Option<u64>) -> TrainOptions {
    TrainOptions {
        out_dir: out.to_path_buf(),
        seed: 5,
        batch_size: 4,
        steps_per_epoch: steps,
        max_epochs: epochs,
        min_epochs: 1,
        patience: 100,
        adam: AdamConfig { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.0, warmup_steps: 5, clip_norm: 1.0 },
        progress: false,
        max_steps,
        device: candle_core::Device::Cpu,
    }
}

fn task(dir: &Path, params: &Params) -> CoverageTask {
    let d = load_data(dir, params);
    let train: Vec<Segment> = (0..200).map(|i| Segment { contig: "chrI".into(), start: i * 1000, end: i * 1000 + 512 }).collect();
    let valid: Vec<Segment> = (0..8).map(|i| Segment { contig: "chrI".into(), start: 210_000 + i * 512, end: 210_512 + i * 512 }).collect();
    let mut t = CoverageTask::new(d, train, valid, 8).unwrap();
    t.augment_rc = true;
    t.shifts = vec![-2, -1, 0, 1, 2];
    t.total_weight = 0.2;
    t
}

#[test]
fn training_lowers_the_loss_and_resume_equals_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "");
    let params = tiny();
    let mut straight = Trainer::new(&params, task(&dir, &params), options(&tmp.path().join("a"), 10, 3, None), false, None).unwrap();
    let probe = straight.task.train[..24].to_vec();
    let (before, _) = straight.task.evaluate(&straight.model, &probe, 8, &Device::Cpu).unwrap();
    straight.run().unwrap();
    let (after, r) = straight.task.evaluate(&straight.model, &probe, 8, &Device::Cpu).unwrap();
    eprintln!("poisson_mn {before:.4} -> {after:.4}, Pearson R {r:.3}");
    assert!(after < before - 0.05, "loss did not go down: {before} -> {after}");
    let log = std::fs::read_to_string(tmp.path().join("a/train_log.tsv")).unwrap();
    assert!(log.starts_with("epoch\tstep\ttrain_loss\tvalid_loss\tvalid_pearson_r\t"), "{log}");
    assert_eq!(log.lines().count(), 4);

    let mut first = Trainer::new(&params, task(&dir, &params), options(&tmp.path().join("b"), 10, 3, Some(14)), false, None).unwrap();
    first.run().unwrap();
    assert_eq!(first.state.step, 14);
    drop(first);
    let mut resumed = Trainer::new(&params, task(&dir, &params), options(&tmp.path().join("b"), 10, 3, None), true, None).unwrap();
    resumed.run().unwrap();
    assert_eq!(resumed.state, straight.state);
    let (a, b) = (trainer_weights(&straight), trainer_weights(&resumed));
    assert_eq!(a.len(), b.len());
    for ((na, va), (nb, vb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(va == vb, "{na} differs after resume");
    }
}

#[test]
fn restore_takes_the_language_model_trunk() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "");
    let params = Params::from_file(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/planted/params.json")).unwrap();
    let targets = Targets::from_file(&dir.join("targets.txt")).unwrap();
    let (probe, _) = SeqNN::fresh(&params, 8, &Device::Cpu).unwrap();
    let geometry = Geometry::of(&probe, &targets, Some(0)).unwrap();
    let d = CoverageData::load(&data("chrI.fa.gz"), targets, Blacklist::default(), geometry).unwrap();
    let train = vec![Segment { contig: "chrI".into(), start: 5000, end: 6024 }];
    let lm = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/default_model/model.safetensors");
    let t = Trainer::new(&params, CoverageTask::new(d, train, vec![], 1).unwrap(), options(&tmp.path().join("r"), 1, 1, None), false, Some((&lm, Restore::Trunk))).unwrap();
    let donor = candle_core::safetensors::load(&lm, &Device::Cpu).unwrap();
    let ours = trainer_weights(&t);
    let trunk: Vec<_> = ours.iter().filter(|(n, _)| n.starts_with("trunk.")).collect();
    assert!(trunk.len() > 50, "{} trunk tensors", trunk.len());
    for (name, v) in &trunk {
        let d: Vec<f32> = donor[name].flatten_all().unwrap().to_vec1().unwrap();
        assert!(&d == v, "{name} not restored");
    }
    // The head is fresh: the LM's head predicts 4 bases, ours 2 tracks.
    assert!(ours.iter().any(|(n, _)| n.starts_with("head_rna.")));
}

fn train_cmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shorkie-train")).args(args).output().unwrap()
}

fn eval_cmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shorkie-eval")).args(args).output().unwrap()
}

#[test]
fn cli_trains_and_evaluates_genes_as_an_independent_computation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "strand");
    let params = dir.join("params.json");
    std::fs::write(&params, TINY).unwrap();
    let run = tmp.path().join("run");
    let fasta = data("chrI.fa.gz");
    let out = train_cmd(&[
        "--targets", dir.join("targets.txt").to_str().unwrap(), "--fasta", fasta.to_str().unwrap(), "-p", params.to_str().unwrap(),
        "--fold", "1", "--folds", "4", "--max-length", "20000", "-o", run.to_str().unwrap(), "--epochs", "2",
        "--steps-per-epoch", "3", "--valid-batches", "2", "-q",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for f in ["model.safetensors", "best.safetensors", "params.json", "sequences.bed", "train_log.tsv", "train_curves.svg", "checkpoint/state.json"] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let bed = std::fs::read_to_string(run.join("sequences.bed")).unwrap();
    let count = |s: &str| bed.lines().filter(|l| l.ends_with(&format!("\t{s}"))).count();
    assert!(count("train") > 100 && count("valid") > 10 && count("test") > 10, "{}/{}/{}", count("train"), count("valid"), count("test"));
    // Test windows never overlap training windows.
    let spans = |s: &str| -> Vec<(u64, u64)> {
        bed.lines().filter(|l| l.ends_with(&format!("\t{s}"))).map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[1].parse().unwrap(), f[2].parse().unwrap())
        }).collect()
    };
    let (train, test) = (spans("train"), spans("test"));
    assert!(test.iter().all(|(s, e)| train.iter().all(|(a, b)| b <= s || e <= a)));

    let eval = tmp.path().join("eval");
    let out = eval_cmd(&[
        "-m", run.join("model.safetensors").to_str().unwrap(), "--targets", dir.join("targets.txt").to_str().unwrap(),
        "--fasta", fasta.to_str().unwrap(), "--sequences", run.join("sequences.bed").to_str().unwrap(),
        "--gtf", data("chrI.genes.gtf").to_str().unwrap(), "-o", eval.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A GTF in RefSeq accessions against the UCSC-named FASTA: one clear line, not zero genes.
    let refseq = tmp.path().join("refseq.gtf");
    std::fs::write(&refseq, std::fs::read_to_string(data("chrI.genes.gtf")).unwrap().replace("chrI\t", "NC_001133.9\t")).unwrap();
    let bad = eval_cmd(&[
        "-m", run.join("model.safetensors").to_str().unwrap(), "--targets", dir.join("targets.txt").to_str().unwrap(),
        "--fasta", fasta.to_str().unwrap(), "--sequences", run.join("sequences.bed").to_str().unwrap(),
        "--gtf", refseq.to_str().unwrap(), "-o", tmp.path().join("eval_bad").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && err.lines().count() == 1 && err.contains("NC_001133.9") && err.contains("none of its contigs"), "{err}");
    let tracks = std::fs::read_to_string(eval.join("eval_tracks.tsv")).unwrap();
    assert_eq!(tracks.lines().count(), 3, "{tracks}");
    assert!(eval.join("eval_genes.svg").exists());
    // Independently: the observed exon-bin sums straight from the BigWigs with numpy
    // (genes whose exon bins fall in test windows; each bin once; sum_sqrt etc. undone
    // exactly is not needed: compare the observed sums against untransformed targets
    // computed from the same hound steps), then Pearson across genes of log2(x+1).
    let script = r#"
import sys, json, numpy as np, pyBigWig
d, bed, gtf, sums_path, genes_path = sys.argv[1:6]
wins = [l.split("\t") for l in open(bed).read().splitlines() if l.endswith("\ttest")]
wins = [(int(s), int(e)) for _, s, e, _ in wins]
exons = {}
for l in open(gtf):
    f = l.rstrip("\n").split("\t")
    if len(f) < 9 or f[2] != "exon": continue
    gid = f[8].split('gene_id "')[1].split('"')[0]
    exons.setdefault(gid, [f[6], []])[1].append((int(f[3]) - 1, int(f[4])))
def pooled(bwf, start):
    bw = pyBigWig.open(d + "/" + bwf)
    v = np.array(bw.values("chrI", start, start + 512)).astype("float16").astype("float32")
    v[np.isnan(v)] = np.nan_to_num(np.percentile(v, 50))
    v = (v[32:-32] * np.float32(0.3)).reshape(28, 16).sum(axis=1, dtype="float32")
    v = -1 + np.sqrt(1 + v)
    over = v > 32; v[over] = 32 - 1 + np.sqrt(v[over] - 32 + 1)
    v = np.clip(v, -384, 384).astype("float16").astype("float32")
    # untransform: soft clip back, then square
    over = v > 32; v[over] = 32 - 1 + (v[over] - 32 + 1) ** 2
    return (v + 1) ** 2 - 1
obs = {}
seen = set()
for (ws, we) in wins:
    cov = [pooled("plus.bw", ws), pooled("minus.bw", ws)]
    first = ws + 32
    for gid, (strand, ex) in exons.items():
        for (s, e) in ex:
            s2, e2 = max(s, first), min(e, first + 28 * 16)
            if s2 >= e2: continue
            for b in range((s2 - first) // 16, (e2 - 1 - first) // 16 + 1):
                key = (gid, first + b * 16)
                if key in seen: continue
                seen.add(key)
                o = obs.setdefault(gid, [strand, 0.0, 0.0])
                o[1] += cov[0][b]; o[2] += cov[1][b]
ours = {}
for l in open(sums_path).read().splitlines()[1:]:
    g, strand, bins, track, p, o = l.split("\t")
    ours.setdefault(g, {})[track] = (float(p), float(o), int(bins))
assert set(ours) == set(obs), (len(ours), len(obs))
worst = max(abs(ours[g]["cov+"][1] - obs[g][1]) / max(1, obs[g][1]) for g in obs)
worst = max(worst, max(abs(ours[g]["cov-"][1] - obs[g][2]) / max(1, obs[g][2]) for g in obs))
rs = []
for track, strand in [("cov+", "+"), ("cov-", "-")]:
    gs = [g for g in ours if obs[g][0] == strand]
    p = np.log2(np.array([ours[g][track][0] for g in gs]) + 1)
    o = np.log2(np.array([ours[g][track][1] for g in gs]) + 1)
    n = np.array([ours[g][track][2] for g in gs])
    pm = np.log2(np.array([ours[g][track][0] for g in gs]) / n + 1)
    om = np.log2(np.array([ours[g][track][1] for g in gs]) / n + 1)
    rs.append((len(gs), float(np.corrcoef(p, o)[0, 1]), float(np.corrcoef(pm, om)[0, 1])))
genes = [l.split("\t") for l in open(genes_path).read().splitlines()[1:]]
print(json.dumps({"genes": len(obs), "worst": float(worst), "rs": rs, "ours": [(int(g[2]), float(g[3]), float(g[4])) for g in genes]}))
"#;
    let res: serde_json::Value = serde_json::from_str(&run_python(
        script,
        &[
            dir.to_str().unwrap(),
            run.join("sequences.bed").to_str().unwrap(),
            data("chrI.genes.gtf").to_str().unwrap(),
            eval.join("gene_sums.tsv").to_str().unwrap(),
            eval.join("eval_genes.tsv").to_str().unwrap(),
        ],
    ))
    .unwrap();
    eprintln!("{res}");
    assert!(res["genes"].as_u64().unwrap() >= 5, "{res}");
    assert!(res["worst"].as_f64().unwrap() < 2e-3, "{res}");
    for k in 0..2 {
        assert_eq!(res["rs"][k][0], res["ours"][k][0], "{res}");
        for col in 1..3 {
            let (a, b) = (res["rs"][k][col].as_f64().unwrap(), res["ours"][k][col].as_f64().unwrap());
            assert!((a - b).abs() < 1e-4, "{res}");
        }
    }
}

#[test]
fn bad_input_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "");
    let params = dir.join("params.json");
    std::fs::write(&params, TINY).unwrap();
    let fasta = data("chrI.fa.gz");
    let go = |sheet: &Path, extra: &[&str]| {
        let mut args = vec![
            "--targets", sheet.to_str().unwrap(), "--fasta", fasta.to_str().unwrap(), "-p", params.to_str().unwrap(),
            "--folds", "4", "--max-length", "20000", "--epochs", "1", "--steps-per-epoch", "1", "-q",
        ];
        args.extend_from_slice(extra);
        let out_dir = tmp.path().join(format!("run{}", extra.len()));
        let o = out_dir.to_str().unwrap().to_string();
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["-o".to_string(), o]);
        Command::new(env!("CARGO_BIN_EXE_shorkie-train")).args(&all).output().unwrap()
    };
    let sheet_with = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let header = "index\tidentifier\tfile\tsum_stat\tstrand_pair\n";
    // A missing BigWig.
    let s = sheet_with("missing.txt", &format!("{header}0\ta\tplus.bw\tsum\t0\n1\tb\tnope.bw\tsum\t1\n"));
    assert_one_line_error(&go(&s, &[]), &["nope.bw"]);
    // A BigWig with other contig names.
    run_python(
        "import sys, pyBigWig\nbw = pyBigWig.open(sys.argv[1], 'w'); bw.addHeader([('1', 5000), ('2', 5000)])\nbw.addEntries(['1'], [0], ends=[100], values=[1.0]); bw.close()",
        &[dir.join("ensembl.bw").to_str().unwrap()],
    );
    let s = sheet_with("contigs.txt", &format!("{header}0\ta\tplus.bw\tsum\t0\n1\tb\tensembl.bw\tsum\t1\n"));
    assert_one_line_error(&go(&s, &[]), &["ensembl.bw", "chrI"]);
    // A duplicate identifier.
    let s = sheet_with("dup.txt", &format!("{header}0\ta\tplus.bw\tsum\t0\n1\ta\tminus.bw\tsum\t1\n"));
    assert_one_line_error(&go(&s, &[]), &["dup.txt", "duplicate", "a"]);
    let good = dir.join("targets.txt");
    // A fold out of range.
    assert_one_line_error(&go(&good, &["--fold", "4"]), &["--fold 4", "0-3"]);
    // Restoring from an incompatible model: the default LM's trunk is wider than TINY's.
    let lm = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/default_model/model.safetensors");
    assert_one_line_error(&go(&good, &["--restore", lm.to_str().unwrap()]), &["model.safetensors", "incompatible"]);
    // ... or not a model at all.
    assert_one_line_error(&go(&good, &["--restore", good.to_str().unwrap()]), &["targets.txt"]);
    // A sheet whose track count does not fit the model.
    let s = sheet_with("one.txt", &format!("{header}0\ta\tplus.bw\tsum\t0\n"));
    assert_one_line_error(&go(&s, &[]), &["2 tracks", "1"]);
}

#[test]
fn unmappable_windows_are_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture(tmp.path(), "");
    let params = dir.join("params.json");
    std::fs::write(&params, TINY).unwrap();
    // chrI:60,000-120,000 unmappable, plus a short stretch that leaves windows in.
    std::fs::write(dir.join("umap.bed"), "chrI\t60000\t120000\nchrI\t150000\t150100\n").unwrap();
    let run = tmp.path().join("run");
    let out = train_cmd(&[
        "--targets", dir.join("targets.txt").to_str().unwrap(), "--fasta", data("chrI.fa.gz").to_str().unwrap(),
        "-p", params.to_str().unwrap(), "--folds", "4", "--max-length", "20000", "--umap", dir.join("umap.bed").to_str().unwrap(),
        "--umap-clip", "0.9", "-o", run.to_str().unwrap(), "--epochs", "1", "--steps-per-epoch", "1", "-q",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bed = std::fs::read_to_string(run.join("sequences.bed")).unwrap();
    let windows: Vec<(u64, u64)> = bed.lines().map(|l| {
        let f: Vec<&str> = l.split('\t').collect();
        (f[1].parse().unwrap(), f[2].parse().unwrap())
    }).collect();
    // A window's output region (crop 32) at least half unmappable is gone; others stay.
    assert!(windows.iter().all(|(s, e)| !(*s + 32 >= 60000 && *e - 32 <= 120000)), "an unmappable window was kept");
    assert!(windows.iter().any(|(s, e)| *s < 150000 && *e > 150100), "a mostly mappable window was dropped");
    assert!(windows.iter().any(|(s, _)| *s > 120000) && windows.iter().any(|(_, e)| *e < 60000));
}
