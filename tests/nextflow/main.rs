//! The Nextflow modules' commands, run for real: each module's `script:` block is rendered
//! with the Groovy subset of nextflow/modules/shorkie/CONVENTIONS.md and run with bash in a
//! directory of staged inputs, against this build's binaries, so a wrong flag in a module
//! fails here. Declared outputs must appear, `eval()` version commands must print the
//! version, and `stub:` blocks must make every declared output. The scatter/gather
//! workflow is reproduced by hand from the split, score and concat modules and compared
//! with an unchunked shorkie-score run, record for record.

#[path = "../common/mod.rs"]
mod common;
mod groovy;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::data;
use groovy::{Bindings, Module, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn module(name: &str) -> Module {
    Module::read(&root().join("nextflow/modules/shorkie").join(name).join("main.nf"))
}

fn bin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_shorkie-score")).parent().unwrap().to_path_buf()
}

fn path_env() -> String {
    format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default())
}

/// A task directory: inputs staged under their names, as Nextflow stages them.
struct Task {
    dir: tempfile::TempDir,
    bindings: Bindings,
    staged: Vec<String>,
}

impl Task {
    fn new(id: &str) -> Task {
        let mut bindings = Bindings::new();
        bindings.insert("meta.id".into(), Value::s(id));
        bindings.insert("task.cpus".into(), Value::s("2"));
        bindings.insert("task.process".into(), Value::s("SHORKIE_TEST"));
        Task { dir: tempfile::tempdir().unwrap(), bindings, staged: Vec::new() }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Stages files under their own names and binds them to an input (a list when several).
    fn input(&mut self, name: &str, files: &[&Path]) -> &mut Task {
        let mut names = Vec::new();
        for f in files {
            let base = f.file_name().unwrap().to_str().unwrap().to_string();
            let dest = self.path().join(&base);
            if !dest.exists() {
                std::os::unix::fs::symlink(std::fs::canonicalize(f).unwrap(), &dest).unwrap();
            }
            self.staged.push(base.clone());
            names.push(base);
        }
        let v = if names.len() == 1 { Value::Str(names.remove(0)) } else { Value::List(names) };
        self.bindings.insert(name.into(), v);
        self
    }

    /// An optional input left out: callers pass `[]`.
    fn absent(&mut self, name: &str) -> &mut Task {
        self.bindings.insert(name.into(), Value::List(Vec::new()));
        self
    }

    fn set(&mut self, key: &str, value: &str) -> &mut Task {
        self.bindings.insert(key.into(), Value::s(value));
        self
    }

    fn bash(&self, script: &str, what: &str) -> String {
        std::fs::write(self.path().join(".command.sh"), script).unwrap();
        // nf-core's default process shell.
        let out = Command::new("bash")
            .args(["-euo", "pipefail", ".command.sh"])
            .current_dir(self.path())
            .env("PATH", path_env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{what} failed:\n--- command\n{script}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs the module's script block, then checks its declared outputs and version commands.
    fn run(&self, m: &Module) -> String {
        let script = m.script(&self.bindings).unwrap_or_else(|e| panic!("{e}"));
        assert!(script.contains("shorkie-") || script.contains("bcftools"), "{}: the script runs no tool:\n{script}", m.path);
        self.bash(&script, &m.path);
        check_outputs(m, &self.bindings, self.path(), &self.staged);
        for cmd in &m.evals {
            let v = self.bash(cmd, &format!("{}: eval({cmd})", m.path));
            let v = v.trim();
            assert!(!v.is_empty() && v.chars().next().unwrap().is_ascii_digit(), "{}: eval({cmd}) printed {v:?}, not a version", m.path);
        }
        script
    }

    /// Runs the stub block in a fresh directory with the same bindings and checks the outputs.
    fn stub(&self, m: &Module) {
        let stub_dir = tempfile::tempdir().unwrap();
        let script = m.stub(&self.bindings).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(stub_dir.path().join(".command.sh"), &script).unwrap();
        let out = Command::new("bash").args(["-euo", "pipefail", ".command.sh"]).current_dir(stub_dir.path()).env("PATH", path_env()).output().unwrap();
        assert!(out.status.success(), "{} stub failed:\n{script}\n{}", m.path, String::from_utf8_lossy(&out.stderr));
        check_outputs(m, &self.bindings, stub_dir.path(), &[]);
    }
}

/// Nextflow's output globs skip staged inputs (includeInputs is off), and so does this.
fn check_outputs(m: &Module, b: &Bindings, dir: &Path, staged: &[String]) {
    let patterns = m.output_patterns(b).unwrap_or_else(|e| panic!("{e}"));
    assert!(!patterns.is_empty(), "{}: no path outputs declared", m.path);
    let files: Vec<String> = walk(dir).into_iter().filter(|f| !staged.contains(f) && !f.starts_with(".command")).collect();
    for (pattern, optional, line) in patterns {
        let hit = files.iter().any(|f| glob_match(&pattern, f));
        assert!(hit || optional, "{}: output `{line}` (pattern {pattern}) matched nothing in {files:?}", m.path);
    }
}

/// Relative paths of every file and directory under `dir`.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().to_str().unwrap().to_string());
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Nextflow output globs: `*` and `?` within a path component, `**` across components.
fn glob_match(pattern: &str, path: &str) -> bool {
    fn rec(p: &[u8], s: &[u8]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => (0..=s.len()).any(|i| rec(&p[2..], &s[i..])),
            Some(b'*') => (0..=s.len()).take_while(|&i| i == 0 || s[i - 1] != b'/').any(|i| rec(&p[1..], &s[i..])),
            Some(b'?') => !s.is_empty() && s[0] != b'/' && rec(&p[1..], &s[1..]),
            Some(c) => s.first() == Some(c) && rec(&p[1..], &s[1..]),
        }
    }
    rec(pattern.as_bytes(), path.as_bytes())
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The records of a VCF/BCF (no header), as bcftools prints them.
fn records(path: &Path) -> Vec<String> {
    let out = Command::new("bcftools").args(["view", "-H"]).arg(path).output().unwrap();
    assert!(out.status.success(), "bcftools view {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn glob_matching() {
    assert!(glob_match("*.bw", "a.bw"));
    assert!(!glob_match("*.bw", "d/a.bw"));
    assert!(glob_match("out/*.bw", "out/a.bw"));
    assert!(glob_match("**.bw", "d/e/a.bw"));
    assert!(glob_match("chunk_??.vcf.gz", "chunk_07.vcf.gz"));
    assert!(!glob_match("x", "xy"));
}

/// A two-contig genome cut from chrI (plain FASTA + .fai) and a sorted VCF over it: SNVs
/// every few kb with the real reference base, an indel, a multi-allelic site, records
/// near the contig ends (skipped and flagged by the scorer) and a reference mismatch.
fn two_contig_fixture(dir: &Path) -> (PathBuf, PathBuf) {
    let chr_i = shorkie::formats::indexed_fasta::Fasta::open(&data("chrI.fa.gz")).unwrap();
    let seq = chr_i.fetch_padded("chrI", 0, 200_000).unwrap();
    let (a, b) = seq.split_at(110_000);
    let mut fa = String::new();
    for (name, s) in [("chrIa", a), ("chrIb", b)] {
        fa.push_str(&format!(">{name}\n"));
        for line in s.chunks(60) {
            fa.push_str(std::str::from_utf8(line).unwrap());
            fa.push('\n');
        }
    }
    let fasta = dir.join("two.fa");
    std::fs::write(&fasta, fa).unwrap();
    let out = Command::new("samtools").arg("faidx").arg(&fasta).output().unwrap();
    assert!(out.status.success());

    let mut vcf = String::from("##fileformat=VCFv4.2\n##contig=<ID=chrIa,length=110000>\n##contig=<ID=chrIb,length=90000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    let next = common::other_base;
    let mut n = 0;
    for (name, s) in [("chrIa", a), ("chrIb", b)] {
        let mut pos = 200usize;
        while pos < s.len() {
            let r = s[pos - 1];
            n += 1;
            let line = match n % 9 {
                3 => format!("{name}\t{pos}\tv{n}\t{}\t{}{}\t.\tPASS\t.\n", r as char, r as char, "GATT"),
                5 => format!("{name}\t{pos}\tv{n}\t{}\t{},{}\t.\tPASS\t.\n", r as char, next(r), next(next(r) as u8)),
                7 => format!("{name}\t{pos}\tv{n}\t{}\t{}\t.\tPASS\t.\n", next(r), r as char),
                _ => format!("{name}\t{pos}\tv{n}\t{}\t{}\t.\tPASS\t.\n", r as char, next(r)),
            };
            vcf.push_str(&line);
            pos += 4_700 + (n * 613) % 2_900;
        }
    }
    let path = dir.join("input.vcf");
    std::fs::write(&path, vcf).unwrap();
    (fasta, path)
}

fn chr_i(t: &mut Task) {
    t.set("meta2.id", "chrI");
    t.input("fasta", &[&data("chrI.fa.gz")]).input("fai", &[&data("chrI.fa.gz.fai")]).input("gzi", &[&data("chrI.fa.gz.gzi")]);
}

/// The small fine-tuned model (37 tracks, species channels: `--species-index 0`).
fn small_track_model(t: &mut Task) {
    t.set("meta3.id", "small");
    t.input("models", &[&common::small_model()]).input("params_json", &[&data("small_finetuned/params.json")]).input("targets", &[&data("small_targets.txt")]);
}

fn module_test_file(m: &str, name: &str) -> PathBuf {
    root().join("nextflow/modules/shorkie").join(m).join("tests").join(name)
}

fn info_has(records: &[String], key: &str) -> usize {
    records.iter().filter(|r| r.split('\t').nth(7).is_some_and(|i| i.split(';').any(|f| f.starts_with(&format!("{key}="))))).count()
}

#[test]
fn score_module_with_track_model_default_model_and_genes() {
    let m = module("score");
    let input = records(&data("demo.vcf"));

    let mut t = Task::new("tracks");
    t.input("vcf", &[&data("demo.vcf")]).absent("gtf").set("task.ext.args", "--species-index 0");
    chr_i(&mut t);
    small_track_model(&mut t);
    let script = t.run(&m);
    assert!(script.contains("--model small_finetuned.safetensors") && script.contains("--device cpu"), "{script}");
    let out = records(&t.path().join("tracks.vcf.gz"));
    assert_eq!(out.len(), input.len(), "every record comes back");
    assert!(info_has(&out, "SHORKIE") >= 5, "{out:?}");
    t.stub(&m);

    // Embedded default model: no model, params or targets given.
    let mut t = Task::new("lm");
    t.input("vcf", &[&data("demo.vcf")]).absent("gtf").absent("models").absent("params_json").absent("targets").set("meta3.id", "default");
    chr_i(&mut t);
    let script = t.run(&m);
    assert!(!script.contains("--model") && !script.contains("--params"), "{script}");
    assert_eq!(records(&t.path().join("lm.vcf.gz")).len(), input.len());

    // Gene mode, with a GPU-labelled task: the device flag follows task.accelerator.
    let mut t = Task::new("genes");
    t.input("vcf", &[&data("demo.vcf")]).input("gtf", &[&data("chrI.genes.gtf")]).set("task.ext.args", "--species-index 0");
    chr_i(&mut t);
    small_track_model(&mut t);
    t.set("task.accelerator", "1");
    let rendered = m.script(&t.bindings).unwrap();
    assert!(rendered.contains("--device cuda") && rendered.contains("--gtf chrI.genes.gtf"), "{rendered}");
    t.bindings.remove("task.accelerator");
    t.run(&m);
    assert_eq!(records(&t.path().join("genes.vcf.gz")).len(), input.len());
}

#[test]
fn predict_module_writes_a_bigwig_per_track() {
    let m = module("predict");
    let mut t = Task::new("test");
    t.input("bed", &[&module_test_file("predict", "regions.bed")]).set("task.ext.args", "--species-index 0");
    chr_i(&mut t);
    small_track_model(&mut t);
    t.run(&m);
    let bigwigs = walk(t.path()).into_iter().filter(|f| glob_match("test/*.bw", f)).count();
    assert_eq!(bigwigs, 37, "one BigWig per track of the small model");
    t.stub(&m);
}

#[test]
fn ism_module_over_bed_regions_and_vcf_variants() {
    let m = module("ism");
    let mut t = Task::new("bed");
    t.input("bed", &[&module_test_file("ism", "ism.bed")]).absent("vcf").absent("gtf").set("task.ext.args", "--species-index 0 --tracks 0-1");
    chr_i(&mut t);
    small_track_model(&mut t);
    t.run(&m);
    // 10 bases x 3 alternatives, one row each.
    let tsv = text(&t.path().join("bed/ism.tsv"));
    assert_eq!(tsv.lines().filter(|l| !l.starts_with('#') && !l.starts_with("region")).count() % 30, 0, "{tsv}");
    t.stub(&m);

    let tmp = tempfile::tempdir().unwrap();
    let vcf = tmp.path().join("one.vcf");
    std::fs::write(&vcf, "##fileformat=VCFv4.2\n##contig=<ID=chrI,length=230218>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchrI\t5000\tsnv1\tA\tC\t.\tPASS\t.\n").unwrap();
    let mut t = Task::new("vcf");
    t.absent("bed").input("vcf", &[&vcf]).input("gtf", &[&data("chrI.genes.gtf")]).set("task.ext.args", "--species-index 0 --tracks 0-1 --flank 3");
    chr_i(&mut t);
    small_track_model(&mut t);
    let script = t.run(&m);
    assert!(script.contains("--vcf one.vcf"), "{script}");
}

#[test]
fn convert_module_writes_the_same_weights_as_the_cli() {
    let m = module("convert");
    let mut t = Task::new("small");
    t.input("model", &[&data("small_finetuned/model.h5")]).input("params_json", &[&data("small_finetuned/params.json")]).input("io_npz", &[&data("small_finetuned/io.npz")]);
    let script = t.run(&m);
    assert!(script.contains("--check io.npz"), "{script}");
    assert_eq!(std::fs::read(t.path().join("small.safetensors")).unwrap(), std::fs::read(common::small_model()).unwrap());
    t.stub(&m);
}

/// A 256 bp masked-LM and a 512 bp coverage model small enough to train a step in seconds.
const LM_PARAMS: &str = r#"{"train": {"batch_size": 4, "learning_rate": 0.002, "warmup_steps": 2},
 "model": {"seq_length": 256, "activation": "gelu", "norm_type": "batch", "bn_momentum": 0.9,
  "trunk": [{"name": "conv_dna", "filters": 16, "kernel_size": 11, "norm_type": null, "activation": "linear"},
            {"name": "res_tower", "filters_init": 16, "filters_end": 24, "divisible_by": 8, "kernel_size": 5, "repeat": 2},
            {"name": "unet_conv", "kernel_size": 3, "upsample_conv": true},
            {"name": "unet_conv", "kernel_size": 3, "upsample_conv": true}],
  "head_lm": {"name": "final", "units": 4, "activation": "softmax"}}}"#;

const COVERAGE_PARAMS: &str = r#"{"train": {"batch_size": 2, "learning_rate": 0.002, "warmup_steps": 2, "loss": "poisson_mn"},
 "model": {"seq_length": 512, "activation": "gelu", "norm_type": "batch", "bn_momentum": 0.9,
  "trunk": [{"name": "conv_dna", "filters": 16, "kernel_size": 11, "norm_type": null, "activation": "linear"},
            {"name": "res_tower", "filters_init": 16, "filters_end": 24, "divisible_by": 8, "kernel_size": 5, "repeat": 4},
            {"name": "Cropping1D", "cropping": 2}],
  "head_rna": {"name": "final", "units": 2, "activation": "softplus"}}}"#;

#[test]
fn pretrain_module_trains_a_language_model() {
    let m = module("pretrain");
    let tmp = tempfile::tempdir().unwrap();
    let params = tmp.path().join("lm.json");
    std::fs::write(&params, LM_PARAMS).unwrap();
    let mut t = Task::new("lm");
    t.input("genomes", &[&module_test_file("pretrain", "genomes.tsv")])
        .input("fastas", &[&data("chrI.fa.gz")])
        .input("gtfs", &[&data("chrI.genes.gtf")])
        .input("params_json", &[&params])
        .absent("restore")
        .set("task.ext.args", "--epochs 1 --steps-per-epoch 2 --valid-contigs none --quiet");
    t.run(&m);
    let lm = shorkie::Params::from_file(&t.path().join("lm/params.json")).unwrap();
    assert_eq!(lm.model.seq_length, 256);
    t.stub(&m);
}

#[test]
fn train_then_eval_modules_on_simulated_coverage() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let out = Command::new(env!("CARGO_BIN_EXE_shorkie-simulate"))
        .args(["--fasta", data("chrI.fa.gz").to_str().unwrap(), "--gtf", data("chrI.genes.gtf").to_str().unwrap(), "-o", sim.to_str().unwrap(), "--variants", "4", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let params = tmp.path().join("coverage.json");
    std::fs::write(&params, COVERAGE_PARAMS).unwrap();

    let train = module("train");
    let mut t = Task::new("run");
    t.input("targets", &[&sim.join("targets.txt")])
        .input("bigwigs", &[&sim.join("rna.plus.bw"), &sim.join("rna.minus.bw")])
        .input("fasta", &[&data("chrI.fa.gz")])
        .set("meta2.id", "chrI")
        .input("params_json", &[&params])
        .absent("restore")
        .set("task.ext.args", "--epochs 1 --steps-per-epoch 2 --valid-batches 1 --folds 4 --max-length 20000 --quiet");
    t.run(&train);
    t.stub(&train);

    let eval = module("eval");
    let run = t.path().join("run");
    let mut e = Task::new("eval");
    e.input("model", &[&run.join("model.safetensors")])
        .input("params_json", &[&run.join("params.json")])
        .input("sequences", &[&run.join("sequences.bed")])
        .input("targets", &[&sim.join("targets.txt")])
        .input("bigwigs", &[&sim.join("rna.plus.bw"), &sim.join("rna.minus.bw")])
        .input("fasta", &[&data("chrI.fa.gz")])
        .input("gtf", &[&data("chrI.genes.gtf")])
        .set("meta2.id", "sim")
        .set("meta3.id", "chrI")
        .set("task.ext.args", "--quiet");
    e.run(&eval);
    // Header plus one row per track.
    assert_eq!(text(&e.path().join("eval/eval_tracks.tsv")).lines().count(), 3);
    e.stub(&eval);
}

/// What the scatter_score subworkflow does, by hand: SHORKIE_SPLIT, one SHORKIE_SCORE per
/// chunk (meta.id `<id>.chunk<N>`), SHORKIE_CONCAT of the scored chunks in chunk order.
fn scatter_gather(vcf: &Path, fasta: &Path, chunk_size: &str) -> (usize, Vec<String>) {
    let mut split = Task::new("input");
    split.input("vcf", &[vcf]).set("chunk_size", chunk_size);
    split.run(&module("split"));
    let mut chunks: Vec<String> =
        walk(split.path()).into_iter().filter(|f| glob_match("*.part*.vcf.gz", f) && !split.staged.contains(f)).collect();
    chunks.sort();

    let score = module("score");
    let mut scored = Vec::new();
    let keep = tempfile::tempdir().unwrap();
    for chunk in &chunks {
        let idx = chunk.trim_end_matches(".vcf.gz").rsplit(".part").next().unwrap();
        let mut t = Task::new(&format!("input.chunk{idx}"));
        t.input("vcf", &[&split.path().join(chunk)]).absent("gtf").absent("gzi").set("task.ext.args", "--species-index 0");
        t.set("meta2.id", "two");
        t.input("fasta", &[fasta]).input("fai", &[&PathBuf::from(format!("{}.fai", fasta.display()))]);
        small_track_model(&mut t);
        t.run(&score);
        let name = format!("input.chunk{idx}.vcf.gz");
        std::fs::copy(t.path().join(&name), keep.path().join(&name)).unwrap();
        scored.push(keep.path().join(&name));
    }

    let mut concat = Task::new("input");
    let refs: Vec<&Path> = scored.iter().map(PathBuf::as_path).collect();
    concat.input("vcfs", &refs);
    let script = concat.run(&module("concat"));
    // The chunks go to bcftools concat in chunk order.
    let order: Vec<usize> = scored.iter().map(|p| script.find(p.file_name().unwrap().to_str().unwrap()).unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{script}");
    assert!(concat.path().join("input.vcf.gz.tbi").exists());
    (chunks.len(), records(&concat.path().join("input.vcf.gz")))
}

#[test]
fn scatter_gather_equals_one_unchunked_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (fasta, vcf) = two_contig_fixture(tmp.path());
    let whole = tmp.path().join("whole.vcf.gz");
    let out = Command::new(env!("CARGO_BIN_EXE_shorkie-score"))
        .args(["--species-index", "0", "-m", common::small_model().to_str().unwrap()])
        .args(["-p", data("small_finetuned/params.json").to_str().unwrap(), "-t", data("small_targets.txt").to_str().unwrap()])
        .args(["--fasta", fasta.to_str().unwrap(), "-O", "z", "-o", whole.to_str().unwrap(), "-q", vcf.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = records(&whole);
    let n = records(&vcf).len();
    assert!(n > 30 && expected.len() == n, "{n} input records, {} scored", expected.len());
    assert!(info_has(&expected, "SHORKIE") > 25 && info_has(&expected, "SHORKIE_SKIP") >= 2, "the fixture has scored and skipped records");

    let (chunks, gathered) = scatter_gather(&vcf, &fasta, "7");
    assert_eq!(chunks, n.div_ceil(7));
    assert_eq!(gathered, expected, "7-record chunks");

    let (chunks, gathered) = scatter_gather(&vcf, &fasta, "0");
    assert_eq!(chunks, 2, "one chunk per contig");
    assert_eq!(gathered, expected, "per-contig chunks");
}

/// 60 FASTA records of 300 bp and their labels: 15 uniform-random and 15 AT-rich (label 1)
/// sequences, each with a near copy (3% substitutions) beside it, so the homology split
/// has 30 clusters of two and the label is learnable from the embeddings.
fn embed_probe_fixture(dir: &Path) -> (PathBuf, PathBuf) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut fa, mut labels) = (String::new(), String::from("id\tlabel\n"));
    for i in 0..30 {
        let at_rich = i % 2 == 1;
        let base = |u: f64| match (at_rich, u) {
            (true, u) if u < 0.35 => b'A',
            (true, u) if u < 0.70 => b'T',
            (true, u) if u < 0.85 => b'C',
            (true, _) => b'G',
            (false, u) => b"ACGT"[(u * 4.0) as usize],
        };
        let seq: Vec<u8> = (0..300).map(|_| base(next())).collect();
        let copy: Vec<u8> = seq.iter().map(|&b| if next() < 0.03 { common::other_base(b) as u8 } else { b }).collect();
        for (id, s) in [(format!("s{i:02}a"), &seq), (format!("s{i:02}b"), &copy)] {
            fa.push_str(&format!(">{id}\n{}\n", std::str::from_utf8(s).unwrap()));
            labels.push_str(&format!("{id}\t{}\n", u8::from(at_rich)));
        }
    }
    let (fasta, tsv) = (dir.join("windows.fa"), dir.join("labels.tsv"));
    std::fs::write(&fasta, fa).unwrap();
    std::fs::write(&tsv, labels).unwrap();
    (fasta, tsv)
}

/// The report's table rows (split, metric, ...), comment lines and header left out.
fn probe_rows(report: &str) -> Vec<Vec<String>> {
    report.lines().filter(|l| !l.starts_with('#') && !l.starts_with("split\t")).map(|l| l.split('\t').map(str::to_string).collect()).collect()
}

#[test]
fn embed_then_probe_modules() {
    let tmp = tempfile::tempdir().unwrap();
    let (fasta, labels) = embed_probe_fixture(tmp.path());

    // SHORKIE_EMBED with the embedded default language model: models and params absent.
    let embed = module("embed");
    let mut e = Task::new("windows");
    e.input("sequences", &[&fasta]).absent("models").absent("params_json").set("meta2.id", "default").set("task.ext.args", "--pool mean");
    let script = e.run(&embed);
    assert!(!script.contains("--model") && !script.contains("--params") && script.contains("--device cpu"), "{script}");
    assert!(script.contains("--pool mean") && script.contains("--threads 2"), "{script}");
    let ids = e.path().join("windows.ids.tsv");
    assert_eq!(text(&ids).lines().count(), 61, "header plus one row per record");
    e.stub(&embed);
    e.set("task.accelerator", "1");
    assert!(embed.script(&e.bindings).unwrap().contains("--device cuda"));

    // SHORKIE_PROBE on those embeddings, with the sequences for the homology split.
    let probe = module("probe");
    let mut p = Task::new("windows");
    p.input("embeddings", &[&e.path().join("windows.npz")])
        .input("ids", &[&ids])
        .input("labels", &[&labels])
        .input("sequences", &[&fasta])
        .set("task.ext.args", "--split random,homology --outer-folds 3 --inner-folds 2 --bootstrap 100 --quiet");
    let script = p.run(&probe);
    assert!(script.contains("--ids windows.ids.tsv") && script.contains("--sequences windows.fa"), "{script}");
    let rows = probe_rows(&text(&p.path().join("windows.probe.tsv")));
    for split in ["random", "homology", "random-homology"] {
        for metric in ["auroc", "auprc"] {
            assert!(rows.iter().any(|r| r[0] == split && r[1] == metric), "no {split} {metric} row: {rows:?}");
        }
    }
    let auroc: f64 = rows.iter().find(|r| r[0] == "random" && r[1] == "auroc").unwrap()[2].parse().unwrap();
    assert!(auroc > 0.8, "AT-rich vs uniform windows should be separable: auroc {auroc}");
    let predictions = text(&p.path().join("windows.predictions.tsv"));
    let predicted: Vec<&str> = predictions.lines().skip(1).map(|l| l.split('\t').next().unwrap()).collect();
    let expected: Vec<String> = text(&labels).lines().skip(1).map(|l| l.split('\t').next().unwrap().to_string()).collect();
    assert_eq!(predicted, expected, "one prediction row per sample, in embedding order");
    p.stub(&probe);

    // The nf-test inputs: embed's FASTA, and probe's TSV embeddings with ids and sequences
    // left out (`[]`).
    let mut e = Task::new("test");
    e.input("sequences", &[&module_test_file("embed", "sequences.fa")]).absent("models").absent("params_json").set("meta2.id", "default");
    e.run(&embed);
    assert_eq!(text(&e.path().join("test.ids.tsv")).lines().count(), 5);
    let mut p = Task::new("test");
    p.input("embeddings", &[&module_test_file("probe", "embeddings.tsv")])
        .absent("ids")
        .input("labels", &[&module_test_file("probe", "labels.tsv")])
        .absent("sequences")
        .set("task.ext.args", "--outer-folds 3 --inner-folds 2 --bootstrap 100");
    let script = p.run(&probe);
    assert!(!script.contains("--ids") && !script.contains("--sequences"), "{script}");
    assert_eq!(text(&p.path().join("test.predictions.tsv")).lines().count(), 25);
}
