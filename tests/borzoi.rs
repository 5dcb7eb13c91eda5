//! Borzoi-family models: Borzoi's published architecture (shrunk, two heads) converted
//! head by head from baskerville's per-head files, checked against the TensorFlow
//! reference; head bookkeeping in the safetensors; scoring with strand-paired tracks.
//! The 13 MB fixture lives in ../shared; tests print a NOTE and return when it is absent.

mod common;

use std::path::{Path, PathBuf};

use candle_core::Device;
use common::{assert_one_line_error, convert_cmd};
use shorkie::convert::{convert_head, save_safetensors};
use shorkie::keras_h5::KerasModel;
use shorkie::parity::check;
use shorkie::{Params, SeqNN};

const TOL: f32 = 1e-4;

/// `../shared/fixtures/seqnn/borzoi_small`, when it is beside the project.
fn borzoi_small() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/seqnn/borzoi_small");
    if dir.join("model.h5").exists() && dir.join("model_head1.h5").exists() {
        Some(dir)
    } else {
        eprintln!("NOTE: ../shared/fixtures/seqnn/borzoi_small is absent; Borzoi parity not checked here");
        None
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Converts the file holding `head`, round-trips it through safetensors and compares
/// with the reference predictions.
fn parity(dir: &Path, h5: &str, npz: &str, head: usize) -> (f32, SeqNN) {
    let params = Params::from_file(dir.join("params.json")).unwrap();
    let keras = KerasModel::open(dir.join(h5)).unwrap();
    let converted = convert_head(&keras, &params, head).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("model.safetensors");
    save_safetensors(&converted, &path).unwrap();
    let model = SeqNN::load(&params, &path, &Device::Cpu).unwrap();
    let io = shorkie::npz::read_npz(&dir.join(npz)).unwrap();
    let dev = check(&model, &io["input"], &io["output"], 1, &Device::Cpu).unwrap();
    eprintln!("{h5} head {head}: relative deviation {:.3e}", dev.relative());
    (dev.relative(), model)
}

#[test]
fn published_borzoi_params_load_with_every_baskerville_key() {
    // As published, `verbose`, `norm_type: batch-sync`, `l2_scale`, `kernel_initializer`
    // and the augmentation keys included; two heads in natural order.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/borzoi/params_pred.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => {
            eprintln!("NOTE: {} is absent; not checked here", path.display());
            return;
        }
    };
    let params = Params::from_json_str(&text, "params_pred.json").unwrap();
    let keys: Vec<&str> = params.model.heads.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["head_human", "head_mouse"]);
    assert_eq!(params.model.seq_length, 524_288);
}

#[test]
fn both_heads_of_borzoi_small_match_the_reference() {
    let Some(dir) = borzoi_small() else { return };
    let (rel0, m0) = parity(&dir, "model.h5", "io.npz", 0);
    assert!(rel0 <= TOL, "head 0: {rel0:e}");
    let (rel1, m1) = parity(&dir, "model_head1.h5", "io_head1.npz", 1);
    assert!(rel1 <= TOL, "head 1: {rel1:e}");
    // Each converted file carries its one head, named and counted; 32 bp bins.
    let r0 = m0.head_record.clone().expect("head recorded");
    let r1 = m1.head_record.clone().expect("head recorded");
    assert_eq!((r0.index, r0.key.as_str(), r0.tracks), (0, "head_human", 50));
    assert_eq!((r1.index, r1.key.as_str(), r1.tracks), (1, "head_mouse", 20));
    assert_eq!(m0.heads().len(), 1);
    assert_eq!(m1.heads()[0].shape.ch, 20);
    assert_eq!(m0.heads()[0].bin_bp, 32);
    assert_eq!(m0.heads()[0].shape.len, 480);
}

#[test]
fn cli_converts_and_checks_each_head() {
    let Some(dir) = borzoi_small() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let params = s(&dir.join("params.json"));
    for (head, h5, npz, tracks) in [("0", "model.h5", "io.npz", 50), ("1", "model_head1.h5", "io_head1.npz", 20)] {
        let out = tmp.path().join(format!("head{head}.safetensors"));
        let res = convert_cmd(&[
            &s(&dir.join(h5)), "--params", &params, "--head", head, "-o", &s(&out), "--check", &s(&dir.join(npz)),
        ]);
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(res.status.success(), "{stderr}");
        assert!(String::from_utf8_lossy(&res.stdout).contains("PASS"));
        assert!(stderr.contains(&format!("head {head}")) && stderr.contains(&format!("{tracks} tracks")), "{stderr}");
        // The converted file checks on its own; --head must agree with what it holds.
        let res = convert_cmd(&[&s(&out), "--params", &params, "--check", &s(&dir.join(npz))]);
        assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
        assert!(String::from_utf8_lossy(&res.stdout).contains("PASS"));
    }
    let res = convert_cmd(&[&s(&tmp.path().join("head1.safetensors")), "--params", &params, "--head", "0", "--check", &s(&dir.join("io.npz"))]);
    assert_one_line_error(&res, &["holds head 1", "not head 0"]);
}

#[test]
fn wrong_head_is_named() {
    let Some(dir) = borzoi_small() else { return };
    let params = s(&dir.join("params.json"));
    // The human head's file read as the mouse head, and the other way round (the default).
    let res = convert_cmd(&[&s(&dir.join("model.h5")), "--params", &params, "--head", "1", "--check", &s(&dir.join("io.npz"))]);
    assert_one_line_error(&res, &["model.h5", "holds head 0 (head_human)", "--head 0"]);
    let res = convert_cmd(&[&s(&dir.join("model_head1.h5")), "--params", &params, "--check", &s(&dir.join("io_head1.npz"))]);
    assert_one_line_error(&res, &["model_head1.h5", "holds head 1 (head_mouse)", "--head 1"]);
    let res = convert_cmd(&[&s(&dir.join("model.h5")), "--params", &params, "--head", "2", "--check", &s(&dir.join("io.npz"))]);
    assert_one_line_error(&res, &["no head 2", "head_human, head_mouse"]);
}

// ---------- scoring with a Borzoi-shaped model and a strand-paired sheet ----------

use candle_core::Tensor;
use common::{random_dna, score_cmd};
use shorkie::model::{save_model_tensors_with_head, HeadRecord};

const L: usize = 2048;
/// Cropping1D 16 bins of 4 bp.
const CROP: i64 = 64;
const BIN: i64 = 4;

/// Borzoi's published layout (conv_dna k15 without norm, res_tower with divisible_by,
/// 8-head transformer_tower, two unet_conv with upsample_conv, Cropping1D, conv_nac, two
/// softplus heads), shrunk to 2,048 bp in and 480 bins of 4 bp out.
const PARAMS: &str = r#"{
  "train": {"batch_size": 2, "optimizer": "adam", "learning_rate": 6e-05, "loss": "poisson_mn"},
  "model": {
    "verbose": false, "seq_length": 2048, "augment_rc": true, "augment_shift": 3,
    "activation": "gelu", "norm_type": "batch-sync", "bn_momentum": 0.9,
    "kernel_initializer": "lecun_normal", "l2_scale": 2e-08,
    "trunk": [
      {"name": "conv_dna", "filters": 16, "kernel_size": 15, "norm_type": null, "activation": "linear", "pool_size": 2},
      {"name": "res_tower", "filters_init": 20, "filters_end": 32, "divisible_by": 8, "kernel_size": 5,
       "num_convs": 1, "pool_size": 2, "repeat": 3},
      {"name": "transformer_tower", "key_size": 8, "heads": 8, "num_position_features": 8, "dropout": 0.2,
       "mha_l2_scale": 1e-08, "l2_scale": 1e-08, "kernel_initializer": "he_normal", "repeat": 1},
      {"name": "unet_conv", "kernel_size": 3, "upsample_conv": true},
      {"name": "unet_conv", "kernel_size": 3, "upsample_conv": true},
      {"name": "Cropping1D", "cropping": 16},
      {"name": "conv_nac", "filters": 24, "dropout": 0.1}
    ],
    "head_human": {"name": "final", "units": 9, "activation": "softplus"},
    "head_mouse": {"name": "final", "units": 6, "activation": "softplus"}
  }
}"#;

/// A Borzoi sheet: no `strand` column, pairs named `+`/`-` (strands come from the names).
const SHEET: &str = "\tidentifier\tfile\tclip\tscale\tsum_stat\tstrand_pair\tdescription\n\
0\tA+\ta.bw\t384\t1\tsum\t1\tRNA:a\n\
1\tA-\ta.bw\t384\t1\tsum\t0\tRNA:a\n\
2\tB\tb.bw\t384\t1\tsum\t2\tDNASE:b\n\
3\tC-\tc.bw\t384\t1\tsum\t4\tRNA:c\n\
4\tC+\tc.bw\t384\t1\tsum\t3\tRNA:c\n\
5\tD\td.bw\t384\t1\tsum\t5\tCAGE:d\n";

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    seq: Vec<u8>,
    model: SeqNN,
}

/// Random weights for the mouse head (head 1), saved as one head's file; a random
/// contig `1` (Ensembl naming) with a GENCODE-style GTF naming it `chr1`.
fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    std::fs::write(dir.join("params.json"), PARAMS).unwrap();
    std::fs::write(dir.join("targets.txt"), SHEET).unwrap();
    let params = Params::from_file(dir.join("params.json")).unwrap();
    let head1 = params.select_head(1).unwrap();
    let (model, varmap) = SeqNN::fresh(&head1, 4, &Device::Cpu).unwrap();
    // Offsets on every bias and batch-norm statistic, so a dropped one shows.
    let mut rng = shorkie::sim::rng::Rng::stream(11, "borzoi-test", 0);
    let tensors: std::collections::HashMap<String, Tensor> = {
        let data = varmap.data().lock().unwrap();
        data.iter()
            .map(|(k, v)| {
                let t = v.as_tensor().clone();
                let t = if k.ends_with("bias") || k.ends_with("beta") || k.ends_with("moving_mean") {
                    let n = t.elem_count();
                    let noise: Vec<f32> = (0..n).map(|_| (rng.normal() * 0.1) as f32).collect();
                    let noise = Tensor::from_vec(noise, t.shape(), &Device::Cpu).unwrap();
                    (t + noise).unwrap()
                } else {
                    t
                };
                (k.clone(), t)
            })
            .collect()
    };
    drop(model);
    let record = HeadRecord { index: 1, key: "head_mouse".into(), tracks: 6 };
    save_model_tensors_with_head(&tensors, 4, Some(&record), &dir.join("mouse.safetensors")).unwrap();
    let model = SeqNN::load(&params, &dir.join("mouse.safetensors"), &Device::Cpu).unwrap();
    let mut rng = shorkie::sim::rng::Rng::stream(5, "borzoi-test-dna", 0);
    let seq = random_dna(&mut rng, 40_000);
    std::fs::write(dir.join("genome.fa"), format!(">1\n{}\n", String::from_utf8(seq.clone()).unwrap())).unwrap();
    assert!(common::sh(&format!("samtools faidx {}", dir.join("genome.fa").display())).status.success());
    // GENCODE style: chr-prefixed contig, versioned gene_id, gene/transcript/exon rows.
    let attrs = |g: &str, t: &str| format!("gene_id \"{g}\"; transcript_id \"{t}\"; gene_type \"protein_coding\"; gene_name \"G{}\"; level 2; tag \"basic\";", &g[4..8]);
    let gtf = [
        format!("chr1\tHAVANA\tgene\t20001\t20600\t.\t-\t.\tgene_id \"ENSG00000000003.15\"; gene_type \"protein_coding\";"),
        format!("chr1\tHAVANA\ttranscript\t20001\t20600\t.\t-\t.\t{}", attrs("ENSG00000000003.15", "ENST00000373020.9")),
        format!("chr1\tHAVANA\texon\t20001\t20150\t.\t-\t.\t{} exon_number 2;", attrs("ENSG00000000003.15", "ENST00000373020.9")),
        format!("chr1\tHAVANA\texon\t20401\t20600\t.\t-\t.\t{} exon_number 1;", attrs("ENSG00000000003.15", "ENST00000373020.9")),
        format!("chr1\tENSEMBL\texon\t20701\t20900\t.\t+\t.\t{} exon_number 1;", attrs("ENSG00000000005.6", "ENST00000373031.5")),
    ];
    std::fs::write(dir.join("genes.gtf"), format!("##description: GENCODE-style\n{}\n", gtf.join("\n"))).unwrap();
    Setup { _tmp: tmp, dir, seq, model }
}

fn one_hot(seq: &[u8]) -> Vec<f32> {
    let mut x = vec![0f32; L * 4];
    for (i, b) in seq.iter().take(L).enumerate() {
        if let Some(c) = b"ACGT".iter().position(|x| x == b) {
            x[i * 4 + c] = 1.0;
        }
    }
    x
}

/// [bins][tracks]
fn predict(model: &SeqNN, seq: &[u8]) -> Vec<Vec<f32>> {
    let t = Tensor::from_vec(one_hot(seq), (1, L, 4), &Device::Cpu).unwrap();
    model.forward(&t).unwrap().squeeze(0).unwrap().to_vec2().unwrap()
}

fn with_alt(seq: &[u8], pos0: usize) -> (Vec<u8>, u8) {
    let mut s = seq.to_vec();
    let alt = if s[pos0] == b'A' { b'C' } else { b'A' };
    s[pos0] = alt;
    (s, alt)
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 2e-4 * want.abs() + 1e-6
}

fn run_score(st: &Setup, vcf: &str, extra: &[&str]) -> std::process::Output {
    run_score_with(st, "targets.txt", vcf, extra)
}

fn run_score_with(st: &Setup, sheet: &str, vcf: &str, extra: &[&str]) -> std::process::Output {
    let vcf_path = st.dir.join("in.vcf");
    std::fs::write(&vcf_path, vcf).unwrap();
    let p = |n: &str| s(&st.dir.join(n));
    let mut args = vec![
        "-m".to_string(), p("mouse.safetensors"), "-p".into(), p("params.json"), "-t".into(), p(sheet),
        "-f".into(), p("genome.fa"), "-q".into(), "--stats".into(), "logSED,SUM,D2".into(),
    ];
    args.extend(extra.iter().map(|x| x.to_string()));
    args.push(s(&vcf_path));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    score_cmd(&argv, None)
}

/// SHORKIE entries of the first record.
fn entries(out: &std::process::Output) -> Vec<Vec<String>> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text.lines().find(|l| !l.starts_with('#')).expect("a record");
    let info = line.split('\t').nth(7).unwrap();
    let v = info.split(';').find_map(|kv| kv.strip_prefix("SHORKIE=")).unwrap_or_else(|| panic!("no scores: {line}"));
    v.split(',').map(|e| e.split('|').map(String::from).collect()).collect()
}

/// logSED, SUM and D2 of one track over `bins`.
fn stats(r: &[Vec<f32>], a: &[Vec<f32>], t: usize, bins: &[usize]) -> [f64; 3] {
    let sum = |p: &[Vec<f32>]| bins.iter().map(|&b| p[b][t] as f64).sum::<f64>();
    let d2 = bins.iter().map(|&b| (a[b][t] as f64 - r[b][t] as f64).powi(2)).sum::<f64>().sqrt();
    [(sum(a) + 1.0).log2() - (sum(r) + 1.0).log2(), sum(a) - sum(r), d2]
}

#[test]
fn borzoi_shaped_scores_sum_strand_pairs_as_baskerville() {
    let st = setup();
    let pos1: usize = 10_000;
    let vcf = format!("##fileformat=VCFv4.2\n##contig=<ID=1,length=40000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t{pos1}\tv1\t{}\t{}\t.\t.\t.\n",
        st.seq[pos1 - 1] as char, with_alt(&st.seq, pos1 - 1).1 as char);
    let out = run_score(&st, &vcf, &["--strand-pairs", "sum"]);
    let got = entries(&out);
    let header = String::from_utf8_lossy(&out.stdout);
    assert!(header.contains("logSED:A+|logSED:B|logSED:C-|logSED:D|SUM:A+"), "columns per strand pair");
    // Centred as borzoi_sed: the variant at index L/2 - 1 of the window.
    let start = pos1 - L / 2;
    let window = &st.seq[start..start + L];
    let (alt_window, _) = with_alt(window, L / 2 - 1);
    let (r, a) = (predict(&st.model, window), predict(&st.model, &alt_window));
    assert_eq!(r.len(), 480);
    assert_eq!(r[0].len(), 6);
    let all: Vec<usize> = (0..r.len()).collect();
    let st_of = |t: usize| stats(&r, &a, t, &all);
    let units: [&[usize]; 4] = [&[0, 1], &[2], &[3, 4], &[5]];
    let fields = &got[0];
    for (si, stat) in ["logSED", "SUM", "D2"].iter().enumerate() {
        for (ui, unit) in units.iter().enumerate() {
            let want = if si == 2 {
                unit.iter().map(|&t| st_of(t)[2].powi(2)).sum::<f64>().sqrt()
            } else {
                unit.iter().map(|&t| st_of(t)[si]).sum::<f64>()
            };
            let got: f64 = fields[2 + si * 4 + ui].parse().unwrap();
            assert!(close(got, want), "{stat} unit {unit:?}: got {got}, want {want}");
        }
    }
    // Without summing, every track is its own column.
    let each = entries(&run_score(&st, &vcf, &[]));
    assert_eq!(each[0].len(), 2 + 3 * 6);
    let got: f64 = each[0][2 + 1].parse().unwrap();
    assert!(close(got, st_of(1)[0]), "logSED A-: {got} vs {}", st_of(1)[0]);
}

#[test]
fn borzoi_shaped_gene_scores_take_the_gene_strand_of_each_pair() {
    let st = setup();
    let pos1: i64 = 20_101;
    let vcf = format!("##fileformat=VCFv4.2\n##contig=<ID=1,length=40000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t{pos1}\tv1\t{}\t{}\t.\t.\t.\n",
        st.seq[pos1 as usize - 1] as char, with_alt(&st.seq, pos1 as usize - 1).1 as char);
    let out = run_score(&st, &vcf, &["--strand-pairs", "sum", "-g", &s(&st.dir.join("genes.gtf"))]);
    let got = entries(&out);
    assert_eq!(got.len(), 2, "{got:?}");
    // (gene id as written, strand, exons 0-based half-open)
    let genes: [(&str, char, &[(i64, i64)]); 2] =
        [("ENSG00000000003.15", '-', &[(20000, 20150), (20400, 20600)]), ("ENSG00000000005.6", '+', &[(20700, 20900)])];
    for (id, strand, exons) in genes {
        let fields = got.iter().find(|e| e[1] == id).unwrap_or_else(|| panic!("{id} not scored: {got:?}"));
        let (gs, ge) = (exons[0].0, exons[exons.len() - 1].1);
        // The gene and the variant fit the gene-centred window's output region.
        let start = (gs + ge) / 2 - (L / 2) as i64;
        assert!(gs >= start + CROP && ge <= start + L as i64 - CROP && pos1 - 1 >= start + CROP);
        let window = &st.seq[start as usize..start as usize + L];
        let (alt_window, _) = with_alt(window, (pos1 - 1 - start) as usize);
        let (r, a) = (predict(&st.model, window), predict(&st.model, &alt_window));
        let bins: Vec<usize> = (0..r.len())
            .filter(|&b| {
                let lo = start + CROP + b as i64 * BIN;
                exons.iter().any(|&(s, e)| s < lo + BIN && e > lo)
            })
            .collect();
        // A-/C- for the minus gene, A+/C+ for the plus gene; B and D are unstranded.
        let members: [usize; 4] = if strand == '-' { [1, 2, 3, 5] } else { [0, 2, 4, 5] };
        for si in 0..3 {
            for (ui, &t) in members.iter().enumerate() {
                let want = stats(&r, &a, t, &bins)[si];
                let got: f64 = fields[2 + si * 4 + ui].parse().unwrap();
                assert!(close(got, want), "{id} stat {si} track {t}: got {got}, want {want}");
            }
        }
    }
}

#[test]
fn converted_head_decides_the_sheet_length() {
    let st = setup();
    assert_eq!(st.model.heads().len(), 1);
    assert_eq!(st.model.heads()[0].key, "head_mouse");
    // A sheet for the human head (9 tracks) does not fit the mouse head's file.
    let rows: String = (0..9).map(|i| format!("{i}\tt{i}\t{i}\n")).collect();
    std::fs::write(st.dir.join("human.txt"), format!("\tidentifier\tstrand_pair\n{rows}")).unwrap();
    let vcf = "##fileformat=VCFv4.2\n##contig=<ID=1,length=40000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    let out = run_score_with(&st, "human.txt", vcf, &[]);
    assert_one_line_error(&out, &["human.txt", "9 tracks", "predicts 6"]);
    // Summing strand pairs needs the sheet that names them.
    let p = |n: &str| s(&st.dir.join(n));
    let out = score_cmd(&["-m", &p("mouse.safetensors"), "-p", &p("params.json"), "-f", &p("genome.fa"), "--strand-pairs", "sum", &p("in.vcf")], None);
    assert_one_line_error(&out, &["--strand-pairs sum needs --targets"]);
}

#[test]
fn borzoi_shaped_predictions_land_on_the_heads_bin_grid() {
    let st = setup();
    let p = |n: &str| s(&st.dir.join(n));
    let bed = st.dir.join("r.bed");
    std::fs::write(&bed, "1\t10001\t10403\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shorkie-predict"))
        .args(["-m", &p("mouse.safetensors"), "-p", &p("params.json"), "-t", &p("targets.txt"), "-f", &p("genome.fa")])
        .args(["--tracks", "2", "-O", "bedgraph", "-q", &s(&bed)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<(i64, i64)> = text
        .lines()
        .filter(|l| !l.starts_with("track") && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f[0], "1", "{l}");
            (f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect();
    assert!(!rows.is_empty(), "{text}");
    // 4 bp bins (the head's), on the genome-wide grid, covering the region.
    for &(a, b) in &rows {
        assert!(a % BIN == 0 && b % BIN == 0 && b > a, "({a}, {b}) off the 4 bp grid");
    }
    assert!(rows[0].0 <= 10_001 && rows[rows.len() - 1].1 >= 10_403, "{rows:?}");
    // Random weights: neighbouring bins differ, so most rows are single 4 bp bins.
    let single = rows.iter().filter(|(a, b)| b - a == BIN).count();
    assert!(single * 2 > rows.len(), "{rows:?}");
}
