//! Issue 15, section 2: options and params that used to panic, abort or be taken silently,
//! a reason of its own for impossible positions, stale ISM files, NaN metrics, and worker
//! threads whose failure was lost. Each test failed before its fix.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_one_line_error, data, other_base, run_python, score_cmd, sh, small_lm, small_model};

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Bases `start1..=end1` (1-based) of chrI in the test FASTA.
fn bases(start1: u64, end1: u64) -> String {
    let out = sh(&format!("samtools faidx {} chrI:{start1}-{end1}", s(&data("chrI.fa.gz"))));
    assert!(out.status.success(), "samtools: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().skip(1).collect::<String>().to_ascii_uppercase()
}

const HEADER: &str = "##fileformat=VCFv4.2\n##contig=<ID=chrI,length=230218>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

fn score_with(params: &Path, extra: &[&str], vcf: &str) -> Output {
    let model = small_model();
    let mut args = vec!["-m", model.to_str().unwrap(), "-p", params.to_str().unwrap(), "-f"];
    let fasta = s(&data("chrI.fa.gz"));
    args.push(&fasta);
    args.extend_from_slice(&["--species-index", "0", "-q"]);
    args.extend_from_slice(extra);
    args.push("-");
    score_cmd(&args, Some(format!("{HEADER}{vcf}").as_bytes()))
}

fn score(extra: &[&str], vcf: &str) -> Output {
    score_with(&data("small_finetuned/params.json"), extra, vcf)
}

fn records(out: &Output) -> Vec<String> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect()
}

#[test]
fn cluster_bp_never_places_a_record_outside_its_window() {
    let snv = bases(10000, 10000);
    let del = bases(12040, 12059);
    let vcf = format!(
        "chrI\t10000\tsnv\t{snv}\t{}\t.\t.\t.\nchrI\t12040\tdel\t{del}\t{}\t.\t.\t.\n",
        other_base(snv.as_bytes()[0]),
        &del[..1]
    );
    // Within one window length the two would share a window that cuts the deletion's
    // REF; each keeps a window of its own instead, so the scores are the unclustered ones.
    let alone = records(&score(&["--cluster-bp", "0"], &vcf));
    let clustered = records(&score(&["--cluster-bp", "2048"], &vcf));
    assert_eq!(alone.len(), 2);
    assert!(alone.iter().all(|l| l.contains("SHORKIE=")), "{alone:?}");
    assert_eq!(clustered, alone);
    // Longer than the window: refused (it used to panic slicing the window).
    let far = bases(12500, 12500);
    let vcf = format!(
        "chrI\t10000\tsnv\t{snv}\t{}\t.\t.\t.\nchrI\t12500\tsnv2\t{far}\t{}\t.\t.\t.\n",
        other_base(snv.as_bytes()[0]),
        other_base(far.as_bytes()[0])
    );
    assert_one_line_error(&score(&["--cluster-bp", "3000"], &vcf), &["--cluster-bp 3000", "2048 bp"]);
    assert_one_line_error(&score(&["--cluster-bp=-5"], &vcf), &["--cluster-bp -5"]);
}

#[test]
fn huge_sizes_in_params_json_are_named_not_allocated() {
    let text = std::fs::read_to_string(data("small_finetuned/params.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("params.json");
    std::fs::write(&p, text.replacen("\"seq_length\": 2048", "\"seq_length\": 1000000000000", 1)).unwrap();
    let snv = bases(10000, 10000);
    let vcf = format!("chrI\t10000\tsnv\t{snv}\t{}\t.\t.\t.\n", other_base(snv.as_bytes()[0]));
    assert_one_line_error(&score_with(&p, &["--pad-ends"], &vcf), &["params.json", "model.seq_length 1000000000000", "limit"]);
    // A block's width: named with the block.
    let wide = text.replacen("\"units\": 37", "\"units\": 100000000", 1);
    assert_ne!(wide, text, "the fixture's head has 37 units");
    std::fs::write(&p, wide).unwrap();
    assert_one_line_error(&score_with(&p, &[], &vcf), &["params.json", "\"units\" 100000000", "limit"]);
}

#[test]
fn size_options_are_bounded() {
    let snv = bases(10000, 10000);
    let vcf = format!("chrI\t10000\tsnv\t{snv}\t{}\t.\t.\t.\n", other_base(snv.as_bytes()[0]));
    // A shift as long as the window used to become 0 silently in the scorer.
    assert_one_line_error(&score(&["--shifts", "0,2048"], &vcf), &["--shifts", "2048", "2048 bp"]);
    assert_one_line_error(&score(&["--shifts=-4096"], &vcf), &["--shifts", "-4096"]);
    assert!(records(&score(&["--shifts", "-2047,0"], &vcf))[0].contains("SHORKIE="));
    for bad in ["-1", "NaN", "1.5"] {
        assert_one_line_error(&score(&[&format!("--max-n-frac={bad}")], &vcf), &["--max-n-frac", "[0, 1]"]);
    }
    assert_one_line_error(&score(&["--batch-size", "0"], &vcf), &["--batch-size must be at least 1"]);
    assert_one_line_error(&score(&["--batch-size", "100000000"], &vcf), &["--batch-size 100000000", "limit"]);
}

#[test]
fn impossible_positions_have_their_own_reason() {
    let end = bases(230218, 230218);
    let vcf = format!("chrI\t0\tpos0\tA\tC\t.\t.\t.\nchrI\t240000\tpast\tA\tC\t.\t.\t.\nchrI\t230218\tover\t{end}AC\t{end}\t.\t.\t.\n");
    let out = score(&["--pad-ends"], &vcf);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("reasons: ") && text.contains("invalid_position"), "header lacks the reason");
    let recs = records(&out);
    assert_eq!(recs.len(), 3, "{recs:?}");
    for (r, alt) in recs.iter().zip(["C", "C", &end[..]]) {
        assert!(r.ends_with(&format!("SHORKIE_SKIP={alt}|invalid_position")), "{r}");
    }
    // Not a REF disagreement, so --on-ref-mismatch error does not stop on it.
    assert_eq!(records(&score(&["--on-ref-mismatch", "error"], &vcf)).len(), 3);
}

fn ism(args: &[&str]) {
    let model = small_model();
    let out = Command::new(env!("CARGO_BIN_EXE_shorkie-ism"))
        .args(["-m", model.to_str().unwrap(), "-p", data("small_finetuned/params.json").to_str().unwrap()])
        .args(["-t", data("small_targets.txt").to_str().unwrap(), "-f", data("chrI.fa.gz").to_str().unwrap()])
        .args(["--species-index", "0", "-q"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Every file under `dir`, relative, except the run manifest.
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.remove(Path::new("shorkie-ism.files"));
    out
}

#[test]
fn an_ism_rerun_leaves_no_files_of_the_earlier_run() {
    let tmp = tempfile::tempdir().unwrap();
    let bed = tmp.path().join("r.bed");
    std::fs::write(&bed, "chrI\t5000\t5003\tr1\n").unwrap();
    let (out, fresh) = (tmp.path().join("out"), tmp.path().join("fresh"));
    let (o, f, b) = (s(&out), s(&fresh), s(&bed));
    ism(&["--tracks", "0,2", "--saliency", "--plot", "-o", &o, &b]);
    let first = files(&out);
    assert!(first.iter().any(|p| p.to_string_lossy().starts_with("saliency.")) && first.iter().any(|p| p.starts_with("plots")), "{first:?}");
    std::fs::write(out.join("notes.txt"), "a file of the user's").unwrap();
    ism(&["--tracks", "0", "-o", &o, &b]);
    ism(&["--tracks", "0", "-o", &f, &b]);
    let mut want = files(&fresh);
    want.insert(PathBuf::from("notes.txt"));
    assert_eq!(files(&out), want);
}

#[test]
fn targets_without_data_on_the_evaluated_contigs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Two contigs; the BigWigs have data on chrA only (chrB listed without values in one,
    // absent from the other).
    let mut rng = shorkie::sim::rng::Rng::stream(3, "validation", 0);
    let a = common::random_dna(&mut rng, 40000);
    let b = common::random_dna(&mut rng, 40000);
    std::fs::write(
        dir.join("g.fa"),
        format!(">chrA\n{}\n>chrB\n{}\n", String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap()),
    )
    .unwrap();
    run_python(
        "import sys, pyBigWig\nd = sys.argv[1]\nbw = pyBigWig.open(d + '/a.bw', 'w'); bw.addHeader([('chrA', 40000), ('chrB', 40000)])\n\
bw.addEntries(['chrA'] * 400, list(range(0, 40000, 100)), ends=list(range(50, 40000, 100)), values=[float(i % 7) for i in range(400)]); bw.close()\n\
bw = pyBigWig.open(d + '/b.bw', 'w'); bw.addHeader([('chrA', 40000)])\n\
bw.addEntries(['chrA'] * 400, list(range(0, 40000, 100)), ends=list(range(50, 40000, 100)), values=[float(i % 5) for i in range(400)]); bw.close()",
        &[dir.to_str().unwrap()],
    );
    std::fs::write(dir.join("targets.txt"), "index\tidentifier\tfile\tsum_stat\tstrand_pair\n0\ta\ta.bw\tsum\t0\n1\tb\tb.bw\tsum\t1\n").unwrap();
    let params = r#"{"train": {"batch_size": 2, "loss": "poisson_mn"},
 "model": {"seq_length": 512, "num_features": 4, "activation": "gelu",
  "trunk": [{"name": "conv_dna", "filters": 8, "kernel_size": 5, "norm_type": null, "activation": "linear", "pool_size": 16}],
  "head": {"name": "final", "units": 2, "activation": "softplus"}}}"#;
    std::fs::write(dir.join("params.json"), params).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shorkie-train"))
        .args(["--targets", &s(&dir.join("targets.txt")), "--fasta", &s(&dir.join("g.fa")), "-p", &s(&dir.join("params.json"))])
        .args(["--folds", "4", "--fold", "0", "--max-length", "4096", "--epochs", "1", "--steps-per-epoch", "1", "-q"])
        .args(["-o", &s(&dir.join("run"))])
        .output()
        .unwrap();
    assert_one_line_error(&out, &["targets.txt", "no BigWig has data", "chrB"]);

    // The library check shorkie-eval runs before it predicts anything.
    let targets = shorkie::formats::targets::Targets::from_file(&dir.join("targets.txt")).unwrap();
    let p = shorkie::Params::from_json_str(params, "params.json").unwrap();
    let (model, _) = shorkie::SeqNN::fresh(&p, 4, &candle_core::Device::Cpu).unwrap();
    let geometry = shorkie::train::supervised::Geometry::of(&model, &targets, None).unwrap();
    let data = shorkie::train::supervised::CoverageData::load(
        &dir.join("g.fa"),
        targets,
        shorkie::coverage::blacklist::Blacklist::default(),
        geometry,
    )
    .unwrap();
    let w = |contig: &str| shorkie::coverage::folds::Segment { contig: contig.into(), start: 0, end: 512 };
    data.check_windows_have_data(&[w("chrA")], "test").unwrap();
    let e = data.check_windows_have_data(&[w("chrA"), w("chrB"), w("chrB")], "test").unwrap_err().to_string();
    assert!(e.contains("test contig(s) chrB (2 test window(s) there)"), "{e}");
}

#[test]
fn a_panicking_embed_reader_fails_the_run() {
    use shorkie::embed::pipeline::{run, RunOptions};
    let params = shorkie::Params::from_file(data("small_lm/params.json")).unwrap();
    let model = shorkie::SeqNN::load(&params, &small_lm(), &candle_core::Device::Cpu).unwrap();
    let layer = shorkie::embed::Layer::resolve(&model, "transformer").unwrap();
    let layout = shorkie::score::encode::InputLayout::new(model.in_channels, Some(0)).unwrap();
    let embedder = shorkie::embed::Embedder::new(model, layout, layer, shorkie::embed::Pool::Mean, false);
    let planner = embedder.planner();
    let mut text = String::new();
    for i in 0..12 {
        text.push_str(&format!(">r{i}\nACGTACGTAC\n"));
    }
    let source = move || {
        let items = shorkie::embed::source::fasta_items(std::io::Cursor::new(text.into_bytes()), "mem.fa", planner);
        Ok(items.enumerate().map(|(i, item)| if i == 7 { panic!("injected reader failure") } else { item }))
    };
    let mut rows = 0;
    let e = run(source, embedder, &RunOptions { batch_size: 2, progress: false }, |_, _| {
        rows += 1;
        Ok(())
    })
    .unwrap_err()
    .to_string();
    assert_eq!(e, "the reader thread panicked: injected reader failure");
    assert!(rows <= 7, "{rows}");
}

#[test]
fn an_embed_reader_error_mid_stream_fails_with_no_output() {
    // Hundreds of records are embedded and written before the bad one: the run must still
    // fail and leave no output.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut rng = shorkie::sim::rng::Rng::stream(4, "validation", 1);
    let mut text = String::new();
    for i in 0..400 {
        text.push_str(&format!(">r{i}\n{}\n", String::from_utf8(common::random_dna(&mut rng, 300)).unwrap()));
    }
    text.push_str(">bad\nACGT-ACGT\n");
    let fa = dir.join("in.fa");
    std::fs::write(&fa, text).unwrap();
    let npy = dir.join("e.npy");
    let lm = small_lm();
    let out = Command::new(env!("CARGO_BIN_EXE_shorkie-embed"))
        .args(["-m", lm.to_str().unwrap(), "-p", data("small_lm/params.json").to_str().unwrap(), "--species-index", "0", "-q"])
        .args([&s(&fa), "--batch-size", "4", "-o", &s(&npy)])
        .output()
        .unwrap();
    assert_one_line_error(&out, &["in.fa:802", "bad"]);
    let left: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert!(!left.iter().any(|n| n.starts_with("e.") || n.starts_with(".tmp")), "left behind: {left:?}");
}
