//! What is fuzzed: one target per parser of user files. Pure-Rust and htslib readers run
//! inside the harness's worker process (a crash of C code kills the worker, which the
//! harness sees and restarts); the VCF/BCF path runs the real `shorkie-score` binary.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::mutate::Flavour;

pub type InProcess = fn(input: &[u8], path: &Path, dir: &Path) -> Result<(), String>;

pub enum Exec {
    /// Called in the worker process on the input, written to `path` first.
    InProcess(InProcess),
    /// A binary of the crate run on the input file: (binary path, arguments).
    Binary(fn(path: &Path) -> (PathBuf, Vec<OsString>)),
}

pub struct Target {
    pub name: &'static str,
    pub flavour: Flavour,
    /// The input's file name in the scratch directory (its extension matters to readers).
    pub file_name: &'static str,
    pub max_len: usize,
    pub exec: Exec,
    /// Seed files, relative to the crate root.
    pub seeds: &'static [&'static str],
    /// Seeds computed at start (inputs that are easier to build than to keep).
    pub generated: Option<fn() -> Vec<Vec<u8>>>,
    /// Only for the harness's own tests, never in a campaign.
    pub selftest: bool,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fuzz/fixtures").join(name)
}

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("harness: cannot write {}: {e}", path.display()))
}

// ---- params.json -------------------------------------------------------------------

/// Weights that are views of one zero, whatever their shape: the model is built (every
/// block's arguments read, every shape worked out) without allocating the weights, so a
/// large but allowed size (bounded by `shorkie::limits`) is not taken for a crash.
struct ShapeOnly;

impl candle_nn::var_builder::SimpleBackend for ShapeOnly {
    fn get(
        &self,
        s: candle_core::Shape,
        _: &str,
        _: candle_nn::Init,
        dtype: candle_core::DType,
        dev: &candle_core::Device,
    ) -> candle_core::Result<candle_core::Tensor> {
        candle_core::Tensor::zeros((), dtype, dev)?.broadcast_as(s)
    }

    fn get_unchecked(&self, name: &str, _: candle_core::DType, _: &candle_core::Device) -> candle_core::Result<candle_core::Tensor> {
        candle_core::bail!("no shape for {name}")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

/// params.json as every binary reads it: parsed, then the whole model built.
fn params(_: &[u8], path: &Path, _: &Path) -> Result<(), String> {
    let p = shorkie::Params::from_file(path).map_err(s)?;
    let channels = p.model.num_features.unwrap_or(4);
    let dev = candle_core::Device::Cpu;
    let vb = candle_nn::VarBuilder::from_backend(Box::new(ShapeOnly), candle_core::DType::F32, dev);
    let model = shorkie::SeqNN::new(&p, channels, vb).map_err(s)?;
    let _ = model.heads().len();
    Ok(())
}

// ---- safetensors ---------------------------------------------------------------------

fn tiny_params() -> Result<shorkie::Params, String> {
    shorkie::Params::from_file(fixture("tiny_params.json")).map_err(s)
}

/// Weights as every model-running binary loads them (`--model`), then one forward pass.
fn safetensors(input: &[u8], _: &Path, _: &Path) -> Result<(), String> {
    let p = tiny_params()?;
    let dev = candle_core::Device::Cpu;
    let model = shorkie::SeqNN::load_bytes(&p, input, &dev, "in.safetensors").map_err(s)?;
    let x = candle_core::Tensor::zeros((1, p.model.seq_length, model.in_channels), candle_core::DType::F32, &dev)
        .map_err(s)?;
    model.forward(&x).map_err(s)?;
    Ok(())
}

/// A valid file for the tiny model, with fixed weights (so the campaign is reproducible).
fn safetensors_seed() -> Vec<Vec<u8>> {
    let p = tiny_params().expect("tiny params");
    let dev = candle_core::Device::Cpu;
    let (_, vars) = shorkie::SeqNN::fresh(&p, 4, &dev).expect("tiny model");
    let mut tensors = HashMap::new();
    for (name, var) in vars.data().lock().expect("var map").iter() {
        let n = var.elem_count();
        let t = candle_core::Tensor::arange(0u32, n as u32, &dev)
            .and_then(|t| t.to_dtype(candle_core::DType::F32))
            .and_then(|t| t.affine(0.001, -0.01))
            .and_then(|t| t.reshape(var.dims().to_vec()))
            .expect("seed tensor");
        tensors.insert(name.clone(), t);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("seed.safetensors");
    shorkie::model::save_model_tensors(&tensors, 4, &path).expect("write seed");
    vec![std::fs::read(&path).expect("read seed")]
}

// ---- Keras H5 --------------------------------------------------------------------------

/// A Keras H5 as shorkie-convert reads it: the model config, then every layer's weights.
fn keras_h5(_: &[u8], path: &Path, _: &Path) -> Result<(), String> {
    let model = shorkie::keras_h5::KerasModel::open(path).map_err(s)?;
    let _ = (model.seq_length(), model.channels());
    for layer in model.layers.clone() {
        model.weights(&layer.name).map_err(s)?;
    }
    Ok(())
}

// ---- NPY / NPZ -------------------------------------------------------------------------

/// An ID table of `rows` rows beside the embeddings, so that shorkie-probe's reader gets
/// past the row-count check to the values.
fn id_table(dir: &Path, rows: usize) -> Result<PathBuf, String> {
    let path = dir.join("ids.tsv");
    let mut text = String::from("index\tid\n");
    for i in 0..rows.min(10_000) {
        text.push_str(&format!("{i}\ts{i}\n"));
    }
    write(&path, text.as_bytes())?;
    Ok(path)
}

fn rows_of(shape: &[usize]) -> usize {
    shape.first().copied().unwrap_or(0)
}

/// A `.npy` through the array parser, then through shorkie-probe's embeddings reader.
fn npy(input: &[u8], path: &Path, dir: &Path) -> Result<(), String> {
    let parsed = shorkie::npz::parse_npy(input);
    let rows = parsed.as_ref().map(|a| rows_of(&a.shape)).unwrap_or(2);
    let ids = id_table(dir, rows)?;
    let probe = shorkie::probe::input::read_embeddings(path, Some(&ids)).map(|_| ()).map_err(s);
    parsed.map(|_| ())?;
    probe
}

/// A `.npz` through the archive reader, then through shorkie-probe's embeddings reader.
fn npz(_: &[u8], path: &Path, dir: &Path) -> Result<(), String> {
    let parsed = shorkie::npz::read_npz(path).map_err(s);
    let rows = parsed.as_ref().ok().and_then(|m| m.get("embeddings")).map(|a| rows_of(&a.shape)).unwrap_or(2);
    let ids = id_table(dir, rows)?;
    let probe = shorkie::probe::input::read_embeddings(path, Some(&ids)).map(|_| ()).map_err(s);
    parsed?;
    probe
}

// ---- FASTA and its indexes ---------------------------------------------------------------

/// Fetches around both ends and the middle of every contig, as the scorer's windows do.
fn fetch_all(fasta: &Path) -> Result<(), String> {
    let f = shorkie::formats::indexed_fasta::Fasta::open(fasta).map_err(s)?;
    for (name, len) in f.contigs() {
        let len = len as i64;
        for (a, b) in [(-8, 24), (len / 2 - 10, len / 2 + 10), (len - 16, len + 8), (0, len.min(4096))] {
            f.fetch_padded(&name, a, b).map_err(s)?;
        }
    }
    Ok(())
}

/// A fixed file beside the input (linked, not copied: the fixtures are never written).
fn link(rel: &str, to: &Path) -> Result<(), String> {
    std::os::unix::fs::symlink(root().join(rel), to).map_err(|e| format!("harness: cannot link {rel}: {e}"))
}

/// A mutated `.fai` beside a good plain FASTA.
fn fai(_: &[u8], _: &Path, dir: &Path) -> Result<(), String> {
    let fa = dir.join("ref.fa");
    link("tests/fuzz/fixtures/small.fa", &fa)?;
    fetch_all(&fa)
}

/// A mutated `.gzi` beside a good bgzipped FASTA and its `.fai`.
fn gzi(_: &[u8], _: &Path, dir: &Path) -> Result<(), String> {
    let fa = dir.join("ref.fa.gz");
    link("tests/data/chrI.fa.gz", &fa)?;
    link("tests/data/chrI.fa.gz.fai", &dir.join("ref.fa.gz.fai"))?;
    fetch_all(&fa)
}

/// A mutated plain FASTA beside the `.fai` of the original (a file changed after indexing).
fn fasta_indexed(_: &[u8], path: &Path, dir: &Path) -> Result<(), String> {
    link("tests/fuzz/fixtures/small.fa.fai", &dir.join("ref.fa.fai"))?;
    fetch_all(path)
}

/// A FASTA read record by record (shorkie-embed, shorkie-predict, shorkie-probe).
fn fasta(_: &[u8], path: &Path, _: &Path) -> Result<(), String> {
    shorkie::probe::input::read_sequences(path).map(|_| ()).map_err(s)
}

// ---- tables ------------------------------------------------------------------------------

/// BED as shorkie-embed streams it (records with names) and as training reads intervals.
fn bed(_: &[u8], path: &Path, _: &Path) -> Result<(), String> {
    let streamed = shorkie::formats::bed::read_records(&path.display().to_string()).map(|_| ()).map_err(s);
    shorkie::formats::bed::read_bed(path).map_err(s)?;
    streamed
}

fn gtf(_: &[u8], path: &Path, _: &Path) -> Result<(), String> {
    let genes = shorkie::formats::gtf::GeneIndex::from_path(path).map_err(s)?;
    for (contig, list) in &genes.by_contig {
        for g in list.iter().take(4) {
            let _ = genes.near(contig, g.start(), 1000);
        }
    }
    Ok(())
}

fn targets_sheet(_: &[u8], path: &Path, _: &Path) -> Result<(), String> {
    let t = shorkie::formats::targets::Targets::from_file(path).map_err(s)?;
    let _ = t.strand_pairs();
    for i in 0..t.rows.len() {
        let _ = t.untransform(i, 3.5);
    }
    Ok(())
}

fn labels(_: &[u8], path: &Path, _: &Path) -> Result<(), String> {
    let want = shorkie::probe::input::LabelColumns::default();
    shorkie::probe::input::read_labels(path, &want).map(|_| ()).map_err(s)
}

fn ids(_: &[u8], path: &Path, _: &Path) -> Result<(), String> {
    shorkie::probe::input::read_id_table(path).map(|_| ()).map_err(s)
}

// ---- VCF / BCF through shorkie-score ---------------------------------------------------------

fn score_args(path: &Path) -> (PathBuf, Vec<OsString>) {
    let fasta = root().join("tests/data/chrI.fa.gz");
    let args = vec!["-f".into(), fasta.into_os_string(), "-q".into(), "--threads".into(), "1".into(), path.as_os_str().to_owned()];
    (PathBuf::from(env!("CARGO_BIN_EXE_shorkie-score")), args)
}

// ---- the harness's own check ---------------------------------------------------------------

/// Panics on a NUL byte, aborts on an input longer than 16 bytes: the harness's tests check
/// that a campaign finds, tells apart and minimises both.
fn selftest(input: &[u8], _: &Path, _: &Path) -> Result<(), String> {
    if input.len() > 16 {
        std::process::abort();
    }
    if input.contains(&0) {
        panic!("selftest: NUL byte");
    }
    if input.starts_with(b"x") {
        return Err("selftest: starts with x".into());
    }
    Ok(())
}

fn t(
    name: &'static str,
    flavour: Flavour,
    file_name: &'static str,
    max_len: usize,
    exec: Exec,
    seeds: &'static [&'static str],
) -> Target {
    Target { name, flavour, file_name, max_len, exec, seeds, generated: None, selftest: false }
}

pub fn all() -> Vec<Target> {
    use Flavour::*;
    vec![
        t("params", Json, "params.json", 64 << 10, Exec::InProcess(params), &[
            "tests/fuzz/fixtures/tiny_params.json",
            "tests/data/small_lm/params.json",
            "tests/data/small_finetuned/params.json",
        ]),
        Target {
            generated: Some(safetensors_seed),
            ..t("safetensors", Binary, "in.safetensors", 64 << 10, Exec::InProcess(safetensors), &[])
        },
        t("keras_h5", Binary, "model.h5", 64 << 10, Exec::InProcess(keras_h5), &[
            "tests/fuzz/seeds/keras_h5/tiny.h5",
            "tests/fuzz/seeds/keras_h5/tiny_vlen.h5",
            "tests/fuzz/seeds/keras_h5/tiny_chunked.h5",
            "tests/fuzz/seeds/keras_h5/tiny_latest.h5",
        ]),
        t("npy", Binary, "emb.npy", 16 << 10, Exec::InProcess(npy), &[
            "tests/fuzz/seeds/npy/f4.npy",
            "tests/fuzz/seeds/npy/f8.npy",
            "tests/fuzz/seeds/npy/v2.npy",
            "tests/fuzz/seeds/npy/vec.npy",
        ]),
        t("npz", Binary, "emb.npz", 16 << 10, Exec::InProcess(npz), &[
            "tests/fuzz/seeds/npz/stored.npz",
            "tests/fuzz/seeds/npz/deflated.npz",
        ]),
        t("vcf", Text, "in.vcf", 8 << 10, Exec::Binary(score_args), &[
            "tests/fuzz/seeds/vcf/small.vcf",
            "tests/fuzz/seeds/vcf/samples.vcf",
        ]),
        t("bcf", Binary, "in.bcf", 8 << 10, Exec::Binary(score_args), &[
            "tests/fuzz/seeds/bcf/small.bcf",
            "tests/fuzz/seeds/bcf/small.vcf.gz",
        ]),
        t("fai", Text, "ref.fa.fai", 4 << 10, Exec::InProcess(fai), &["tests/fuzz/fixtures/small.fa.fai"]),
        t("gzi", Binary, "ref.fa.gz.gzi", 4 << 10, Exec::InProcess(gzi), &["tests/data/chrI.fa.gz.gzi"]),
        t("fasta_indexed", Text, "ref.fa", 16 << 10, Exec::InProcess(fasta_indexed), &["tests/fuzz/fixtures/small.fa"]),
        t("fasta", Text, "in.fa", 16 << 10, Exec::InProcess(fasta), &["tests/fuzz/fixtures/small.fa"]),
        t("bed", Text, "in.bed", 8 << 10, Exec::InProcess(bed), &["tests/fuzz/seeds/bed/regions.bed"]),
        t("gtf", Text, "in.gtf", 16 << 10, Exec::InProcess(gtf), &["tests/fuzz/seeds/gtf/genes.gtf"]),
        t("targets", Text, "targets.txt", 8 << 10, Exec::InProcess(targets_sheet), &["tests/data/small_targets.txt"]),
        t("labels", Text, "labels.tsv", 8 << 10, Exec::InProcess(labels), &["tests/fuzz/seeds/labels/labels.tsv"]),
        t("ids", Text, "emb.ids.tsv", 8 << 10, Exec::InProcess(ids), &["tests/fuzz/seeds/ids/emb.ids.tsv"]),
        Target { selftest: true, ..t("selftest", Binary, "in.bin", 256, Exec::InProcess(selftest), &[]) },
    ]
}

pub fn by_name(name: &str) -> Option<Target> {
    all().into_iter().find(|t| t.name == name)
}

/// Seed inputs of a target (files, then generated ones).
pub fn seeds(t: &Target) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = t
        .seeds
        .iter()
        .map(|p| std::fs::read(root().join(p)).unwrap_or_else(|e| panic!("seed {p}: {e}")))
        .collect();
    if let Some(f) = t.generated {
        out.extend(f());
    }
    if out.is_empty() {
        out.push(b"seed".to_vec());
    }
    out
}
