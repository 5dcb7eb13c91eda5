//! shorkie-embed: embeddings are the model's own layer outputs (checked against the
//! TensorFlow reference through the LM head), windows pad and tile as documented, output
//! formats agree, order and batching do not change values, and bad input fails cleanly.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use candle_core::{Device, Tensor};
use common::{assert_one_line_error, data, small_lm as lm};
use shorkie::dna::reverse_complement;
use shorkie::npz::{parse_npy, read_npz, Array};

const L: usize = 2048;
const STRIDE: usize = 16;

fn embed(args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let lm = lm();
    let params = data("small_lm/params.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_shorkie-embed"))
        .args(["-m", lm.to_str().unwrap(), "-p", params.to_str().unwrap(), "--species-index", "0", "-q"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run shorkie-embed");
    {
        let mut sin = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            let _ = sin.write_all(bytes);
        }
    }
    child.wait_with_output().expect("wait")
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "shorkie-embed failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Every sequence's `--pool none` rows from an NPZ run, by index.
fn rows_none(fasta: &Path, extra: &[&str]) -> Vec<Array> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.npz");
    let mut args = vec![fasta.to_str().unwrap(), "--pool", "none", "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    ok(embed(&args, None));
    let arrays = read_npz(&out).unwrap();
    (0..arrays.len()).map(|i| arrays[&format!("s{i}")].clone()).collect()
}

/// Pooled embeddings `[N, dim]` from an NPY run.
fn pooled(fasta: &Path, extra: &[&str]) -> Array {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.npy");
    let mut args = vec![fasta.to_str().unwrap(), "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    ok(embed(&args, None));
    parse_npy(&std::fs::read(&out).unwrap()).unwrap()
}

fn write_fasta(dir: &Path, records: &[(&str, &[u8])]) -> PathBuf {
    let path = dir.join("in.fa");
    let mut text = String::new();
    for (name, seq) in records {
        text.push_str(&format!(">{name}\n"));
        for chunk in seq.chunks(60) {
            text.push_str(std::str::from_utf8(chunk).unwrap());
            text.push('\n');
        }
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn random_dna(len: usize, seed: u64) -> Vec<u8> {
    common::random_dna(&mut shorkie::sim::rng::Rng::stream(seed, "embed-test", 0), len)
}

/// The fixture's input sequences (one-hot in the first four channels) and species.
fn fixture_sequences() -> (Array, Vec<Vec<u8>>) {
    let io = read_npz(&data("small_lm/io.npz")).unwrap();
    let x = io["input"].clone();
    let (b, l, c) = (x.shape[0], x.shape[1], x.shape[2]);
    let seqs = (0..b)
        .map(|i| {
            (0..l)
                .map(|p| {
                    let row = &x.data[(i * l + p) * c..(i * l + p) * c + 4];
                    b"ACGT"[row.iter().position(|v| *v == 1.0).expect("one-hot")]
                })
                .collect()
        })
        .collect();
    (x, seqs)
}

fn assert_close(ours: &[f32], reference: &[f32], rel: f32, what: &str) {
    assert_eq!(ours.len(), reference.len(), "{what}: lengths");
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    let worst = ours.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst <= rel * scale, "{what}: max |diff| {worst} > {rel} x {scale}");
}

#[test]
fn trunk_embeddings_through_the_lm_head_reproduce_the_tensorflow_reference() {
    // The trunk layer (--layer trunk --pool none) of the fixture sequence, pushed through
    // the LM head (dense + softmax) by hand, must give baskerville's output: the embedding
    // is the model's layer output, not an approximation of it.
    let (_, seqs) = fixture_sequences();
    let dir = tempfile::tempdir().unwrap();
    let fasta = write_fasta(dir.path(), &[("fixture0", &seqs[0])]);
    let rows = rows_none(&fasta, &["--layer", "trunk"]);
    assert_eq!(rows[0].shape, vec![L, 96]);
    let weights = candle_core::safetensors::load(lm(), &Device::Cpu).unwrap();
    let kernel = &weights["head_human.0.dense.kernel"];
    let bias = &weights["head_human.0.dense.bias"];
    let trunk = Tensor::from_vec(rows[0].data.clone(), (L, 96), &Device::Cpu).unwrap();
    let logits = trunk.matmul(kernel).unwrap().broadcast_add(bias).unwrap();
    let probs = candle_nn::ops::softmax_last_dim(&logits).unwrap();
    let ours: Vec<f32> = probs.flatten_all().unwrap().to_vec1().unwrap();
    let io = read_npz(&data("small_lm/io.npz")).unwrap();
    let reference = &io["output"].data[..L * 4];
    assert_close(&ours, reference, 1e-4, "LM head over the trunk embedding");
}

#[test]
fn transformer_embeddings_equal_the_models_layer_output_and_pool_it() {
    let (x, seqs) = fixture_sequences();
    let params = shorkie::Params::from_file(&data("small_lm/params.json")).unwrap();
    let model = shorkie::SeqNN::load(&params, &lm(), &Device::Cpu).unwrap();
    let layer = shorkie::embed::Layer::resolve(&model, "transformer").unwrap();
    assert_eq!(layer.label, "trunk[2] transformer_tower");
    let c = x.shape[2];
    let input = Tensor::from_vec(x.data[..L * c].to_vec(), (1, L, c), &Device::Cpu).unwrap();
    let direct: Vec<f32> = model.trunk_block_forward(&input, 2).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let (p, d) = (L / STRIDE, 96);
    assert_eq!(direct.len(), p * d);

    let dir = tempfile::tempdir().unwrap();
    let fasta = write_fasta(dir.path(), &[("fixture0", &seqs[0])]);
    let rows = rows_none(&fasta, &[]);
    assert_eq!(rows[0].shape, vec![p, d]);
    assert_close(&rows[0].data, &direct, 1e-6, "--pool none vs trunk_block_forward");

    let direct_ref = &direct;
    let column = |j: usize| (0..p).map(move |r| direct_ref[r * d + j]);
    let mean: Vec<f32> = (0..d).map(|j| column(j).sum::<f32>() / p as f32).collect();
    let max: Vec<f32> = (0..d).map(|j| column(j).fold(f32::NEG_INFINITY, f32::max)).collect();
    assert_close(&pooled(&fasta, &[]).data, &mean, 1e-5, "mean pool");
    assert_close(&pooled(&fasta, &["--pool", "max"]).data, &max, 1e-6, "max pool");
    assert_close(&pooled(&fasta, &["--pool", "cls-bin"]).data, &direct[p / 2 * d..(p / 2 + 1) * d], 1e-6, "cls-bin");
}

#[test]
fn short_sequences_are_n_padded_and_long_ones_tiled() {
    let dir = tempfile::tempdir().unwrap();
    let long = random_dna(2 * L + 300, 7);
    let short = random_dna(200, 8);
    // The short record centred in Ns, written out in full as one model-length record.
    let offset = (L - 200) / 2;
    let mut padded = vec![b'N'; L];
    padded[offset..offset + 200].copy_from_slice(&short);
    let mut tail = long[2 * L..].to_vec();
    tail.resize(L, b'N');
    let fasta = write_fasta(
        dir.path(),
        &[("long", &long), ("short", &short), ("padded", &padded), ("t0", &long[..L]), ("t1", &long[L..2 * L]), ("t2", &tail)],
    );
    let rows = rows_none(&fasta, &[]);
    let d = 96;
    // Tiles: the long record's rows are the three windows' rows, the last cut at its end.
    let tail_positions = 300usize.div_ceil(STRIDE);
    assert_eq!(rows[0].shape, vec![2 * L / STRIDE + tail_positions, d]);
    let mut tiled = rows[3].data.clone();
    tiled.extend_from_slice(&rows[4].data);
    tiled.extend_from_slice(&rows[5].data[..tail_positions * d]);
    assert_close(&rows[0].data, &tiled, 1e-6, "long record = its tiles");
    // Padding: the short record's rows are the padded record's rows over it.
    let (first, last) = (offset / STRIDE, (offset + 200).div_ceil(STRIDE));
    assert_eq!(rows[1].shape, vec![last - first, d]);
    assert_close(&rows[1].data, &rows[2].data[first * d..last * d], 1e-6, "short record = padded window");
    // The long record's mean is position-weighted over its tiles.
    let n = rows[0].shape[0];
    let mean: Vec<f32> = (0..d).map(|j| (0..n).map(|r| rows[0].data[r * d + j]).sum::<f32>() / n as f32).collect();
    assert_close(&pooled(&fasta, &[]).data[..d], &mean, 1e-5, "mean over tiles");
}

#[test]
fn bed_regions_are_embedded_in_their_genome_context() {
    let genome = data("chrI.fa.gz");
    let fasta = shorkie::formats::indexed_fasta::Fasta::open(&genome).unwrap();
    let (start, end) = (10_000usize, 10_500usize);
    let offset = (L - 500) / 2;
    let window = fasta.fetch_padded("chrI", (start - offset) as i64, (start - offset + L) as i64).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fa = write_fasta(dir.path(), &[("window", &window)]);
    let rows = rows_none(&fa, &[]);
    let bed = format!("chrI\t{start}\t{end}\tregion1\n");
    let out = dir.path().join("bed.npz");
    ok(embed(&["--bed", "-", "-f", genome.to_str().unwrap(), "--pool", "none", "-o", out.to_str().unwrap()], Some(bed.as_bytes())));
    let region = &read_npz(&out).unwrap()["s0"];
    let (first, last) = (offset / STRIDE, (offset + 500).div_ceil(STRIDE));
    assert_close(&region.data, &rows[0].data[first * 96..last * 96], 1e-6, "BED region = genome window rows");
    let ids = std::fs::read_to_string(dir.path().join("bed.ids.tsv")).unwrap();
    assert_eq!(ids, "index\tid\tcontig\tstart\tend\tlength\n0\tregion1\tchrI\t10000\t10500\t500\n");
}

#[test]
fn rc_averages_the_forward_and_mapped_back_reverse_strand() {
    let dir = tempfile::tempdir().unwrap();
    let seq = random_dna(L, 11);
    let fasta = write_fasta(dir.path(), &[("fwd", &seq), ("rev", &reverse_complement(&seq))]);
    let plain = rows_none(&fasta, &[]);
    let with_rc = rows_none(&fasta, &["--rc"]);
    let (p, d) = (L / STRIDE, 96);
    let expected: Vec<f32> = (0..p * d)
        .map(|k| {
            let (r, j) = (k / d, k % d);
            (plain[0].data[k] + plain[1].data[(p - 1 - r) * d + j]) / 2.0
        })
        .collect();
    assert_close(&with_rc[0].data, &expected, 1e-5, "--rc");
}

#[test]
fn formats_batches_and_order_agree() {
    let dir = tempfile::tempdir().unwrap();
    let seqs: Vec<(String, Vec<u8>)> =
        (0..13).map(|i| (format!("s{i}"), random_dna(150 + 331 * i, 100 + i as u64))).collect();
    let records: Vec<(&str, &[u8])> = seqs.iter().map(|(n, s)| (n.as_str(), s.as_slice())).collect();
    let fasta = write_fasta(dir.path(), &records);
    let npy = pooled(&fasta, &["--batch-size", "1"]);
    assert_eq!(npy.shape, vec![13, 96]);
    let batched = pooled(&fasta, &["--batch-size", "5"]);
    assert_close(&batched.data, &npy.data, 1e-5, "batch size 5 vs 1");

    let tsv = ok(embed(&[fasta.to_str().unwrap(), "--batch-size", "3"], None));
    let text = String::from_utf8(tsv.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("id\te0\te1\t"));
    let mut from_tsv = Vec::new();
    for (i, line) in lines.enumerate() {
        let mut f = line.split('\t');
        assert_eq!(f.next().unwrap(), format!("s{i}"), "input order");
        from_tsv.extend(f.map(|v| v.parse::<f32>().unwrap()));
    }
    assert_close(&from_tsv, &npy.data, 1e-5, "TSV vs NPY");

    let npz = dir.path().join("e.npz");
    ok(embed(&[fasta.to_str().unwrap(), "-o", npz.to_str().unwrap()], None));
    let arrays: HashMap<String, Array> = read_npz(&npz).unwrap();
    assert_eq!(arrays["embeddings"], npy);
    let ids = std::fs::read_to_string(dir.path().join("e.ids.tsv")).unwrap();
    assert_eq!(ids.lines().count(), 14);
    assert!(ids.lines().nth(2).unwrap().starts_with("1\ts1\t.\t.\t.\t481"));

    // NPY to stdout is staged and copied out whole, with its ID table where asked.
    let ids_path = dir.path().join("ids.tsv");
    let out = ok(embed(&[fasta.to_str().unwrap(), "-O", "npy", "--ids", ids_path.to_str().unwrap()], None));
    assert_eq!(parse_npy(&out.stdout).unwrap(), npy);
}

#[test]
fn bad_input_fails_with_one_line_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    std::fs::write(path("empty.fa"), "").unwrap();
    assert_one_line_error(&embed(&[&path("empty.fa")], None), &["empty.fa", "no sequences"]);
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!(">r{i}\n{}\n", String::from_utf8(random_dna(300, i)).unwrap()));
    }
    text.push_str(">bad\nACGTXACGT\n");
    std::fs::write(path("bad.fa"), &text).unwrap();
    let out = path("out.npy");
    assert_one_line_error(&embed(&[&path("bad.fa"), "-o", &out], None), &["bad.fa:82", "bad", "'X'"]);
    let left: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert!(!left.iter().any(|n| n.starts_with("out") || n.starts_with(".tmp")), "left behind: {left:?}");
    std::fs::write(path("dup.fa"), ">a\nACGT\n>a\nACGT\n").unwrap();
    assert_one_line_error(&embed(&[&path("dup.fa")], None), &["dup.fa:3", "duplicate"]);

    let genome = data("chrI.fa.gz");
    let g = genome.to_str().unwrap();
    let bed = |text: &str| embed(&["--bed", "-", "-f", g], Some(text.as_bytes()));
    assert_one_line_error(&bed("chrI\t10\t20\nchrX\t1\t5\n"), &["<stdin>:2", "chrX"]);
    assert_one_line_error(&bed("chrI\t10\t5\n"), &["<stdin>:1", "end 5 is before start 10"]);
    assert_one_line_error(&bed("chrI\t10\t10\n"), &["<stdin>:1", "empty region"]);
    assert_one_line_error(&bed("chrI\t10\n"), &["<stdin>:1", "3 columns"]);
    assert_one_line_error(&bed("chrI\t230000\t240000\n"), &["<stdin>:1", "past the end"]);
    assert_one_line_error(&bed("# nothing\n"), &["<stdin>", "no regions"]);

    std::fs::write(path("ok.fa"), ">a\nACGT\n").unwrap();
    let fa = path("ok.fa");
    assert_one_line_error(&embed(&[&fa, "--pool", "none", "-O", "npy", "-o", &path("x.npy")], None), &["--pool none", "npz"]);
    assert_one_line_error(&embed(&[&fa, "-O", "npz"], None), &["--ids"]);
    assert_one_line_error(&embed(&[&fa, "--layer", "lstm"], None), &["--layer lstm", "transformer_tower"]);
    assert_one_line_error(&embed(&[&fa, "-m", lm().to_str().unwrap()], None), &["one --model"]);
}
