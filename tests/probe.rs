//! shorkie-probe from the outside: planted signals are found, noise is not, homology-aware
//! and contig splits keep what they promise together (checked from the predictions file's
//! fold columns), every input format gives the same report, and bad input is one line.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_one_line_error, data, random_dna};
use shorkie::dna::reverse_complement;
use shorkie::sim::rng::Rng;

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn probe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shorkie-probe")).args(args).output().expect("run shorkie-probe")
}

/// Runs with a small bootstrap (quick) and returns (report, stderr).
fn probe_ok(args: &[&str]) -> (String, String) {
    let mut all: Vec<&str> = args.to_vec();
    if !args.contains(&"--bootstrap") {
        all.extend(["--bootstrap", "200"]);
    }
    let out = probe(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "shorkie-probe {all:?} failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).to_string(), stderr)
}

/// A report table row: (value, ci_low, ci_high).
fn cell(report: &str, split: &str, metric: &str) -> (f64, f64, f64) {
    let mut lines = report.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(lines.next(), Some("split\tmetric\tvalue\tci_low\tci_high\tn\talpha_median"), "{report}");
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 7, "{l}");
        if f[0] == split && f[1] == metric {
            return (f[2].parse().unwrap(), f[3].parse().unwrap(), f[4].parse().unwrap());
        }
    }
    panic!("no row {split} {metric} in\n{report}");
}

/// Column `name` of the predictions TSV, by id.
fn prediction_column(path: &Path, name: &str) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let c = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}: {header:?}"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[c].to_string())
        })
        .collect()
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("s{i}")).collect()
}

fn write_tsv(path: &Path, ids: &[String], x: &[Vec<f32>]) {
    let d = x[0].len();
    let mut t = String::from("id");
    for j in 0..d {
        t += &format!("\te{j}");
    }
    t.push('\n');
    for (id, row) in ids.iter().zip(x) {
        t += id;
        for v in row {
            t += &format!("\t{v}");
        }
        t.push('\n');
    }
    std::fs::write(path, t).unwrap();
}

/// The ID table shorkie-embed writes beside an .npy/.npz; `regions` as (contig, start, end).
fn write_id_table(path: &Path, ids: &[String], regions: Option<&[(String, u64, u64)]>) {
    let mut t = String::from("index\tid\tcontig\tstart\tend\tlength\n");
    for (i, id) in ids.iter().enumerate() {
        match regions {
            Some(r) => {
                let (c, a, b) = &r[i];
                t += &format!("{i}\t{id}\t{c}\t{a}\t{b}\t{}\n", b - a);
            }
            None => t += &format!("{i}\t{id}\t.\t.\t.\t400\n"),
        }
    }
    std::fs::write(path, t).unwrap();
}

fn flat(x: &[Vec<f32>]) -> Vec<f32> {
    x.iter().flatten().copied().collect()
}

fn write_npy(path: &Path, x: &[Vec<f32>]) {
    std::fs::write(path, shorkie::npz::npy_bytes(&[x.len(), x[0].len()], &flat(x))).unwrap();
}

fn write_labels(path: &Path, header: &str, rows: &[String]) {
    std::fs::write(path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
}

fn write_fasta(path: &Path, ids: &[String], seqs: &[Vec<u8>]) {
    let mut t = String::new();
    for (id, s) in ids.iter().zip(seqs) {
        t += &format!(">{id}\n{}\n", String::from_utf8_lossy(s));
    }
    std::fs::write(path, t).unwrap();
}

fn mutate(rng: &mut Rng, s: &[u8], rate: f64) -> Vec<u8> {
    s.iter()
        .map(|&b| {
            if rng.uniform() < rate {
                b"ACGT".iter().copied().filter(|&c| c != b).nth(rng.below(3) as usize).unwrap()
            } else {
                b
            }
        })
        .collect()
}

fn normal_rows(rng: &mut Rng, n: usize, d: usize) -> Vec<Vec<f32>> {
    (0..n).map(|_| (0..d).map(|_| rng.normal() as f32).collect()).collect()
}

fn dot(a: &[f32], w: &[f64]) -> f64 {
    a.iter().zip(w).map(|(x, w)| *x as f64 * w).sum()
}

fn variance(v: &[f64]) -> f64 {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / v.len() as f64
}

#[test]
fn regression_finds_a_linear_signal_and_nothing_in_noise() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng::stream(1, "probe-test-regression", 0);
    let (n, d) = (300, 20);
    let x = normal_rows(&mut rng, n, d);
    let w: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
    let signal: Vec<f64> = x.iter().map(|r| dot(r, &w)).collect();
    let y: Vec<f64> = signal.iter().map(|s| s + 1.5 * rng.normal() + 3.0).collect();
    let noise: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    let truth = variance(&signal) / variance(&y);
    let ids = ids(n);
    let emb = tmp.path().join("emb.tsv");
    write_tsv(&emb, &ids, &x);
    let labels = tmp.path().join("labels.tsv");
    let rows: Vec<String> = (0..n).map(|i| format!("{}\t{}\t{}", ids[i], y[i], noise[i])).collect();
    write_labels(&labels, "id\texpression\tnoise", &rows);

    let (report, stderr) = probe_ok(&["-e", &s(&emb), "-l", &s(&labels)]);
    let (r2, lo, hi) = cell(&report, "random", "r2");
    assert!(r2 > 0.85 && (r2 - truth).abs() < 0.05, "oof R² {r2}, truth {truth}");
    assert!(lo <= r2 && r2 <= hi && lo - 0.02 <= truth && truth <= hi + 0.02, "[{lo}, {hi}] vs truth {truth}");
    assert!(cell(&report, "random", "pearson").0 > 0.9);
    assert!(report.contains("# labels: ") && report.contains("column expression"), "{report}");
    assert!(report.contains("# samples: 300 (0 ") && report.contains("# features: 20\n"), "{report}");
    assert!(report.contains("# task: regression"), "{report}");
    assert!(stderr.contains("random: r2 0.") && stderr.lines().count() == 2, "{stderr}");

    let (report, _) = probe_ok(&["-e", &s(&emb), "-l", &s(&labels), "--label-column", "noise", "-q"]);
    let (r2, lo, hi) = cell(&report, "random", "r2");
    assert!(r2 < 0.1 || (lo <= 0.0 && 0.0 <= hi), "noise R² {r2} [{lo}, {hi}]");
    assert!(r2 < 0.05, "noise R² {r2}");
}

/// `P(y = 1) = logistic(3 x·w)` over 300 samples of 10 features.
fn logistic_data(seed: u64) -> (Vec<Vec<f32>>, Vec<bool>) {
    let mut rng = Rng::stream(seed, "probe-test-logistic", 0);
    let x = normal_rows(&mut rng, 300, 10);
    let w: Vec<f64> = (0..10).map(|_| rng.normal()).collect();
    let y = x.iter().map(|r| rng.uniform() < 1.0 / (1.0 + (-3.0 * dot(r, &w)).exp())).collect();
    (x, y)
}

#[test]
fn classification_with_numeric_and_named_classes() {
    let tmp = tempfile::tempdir().unwrap();
    let (x, y) = logistic_data(2);
    let ids = ids(x.len());
    let emb = tmp.path().join("emb.tsv");
    write_tsv(&emb, &ids, &x);
    let numeric = tmp.path().join("numeric.tsv");
    write_labels(
        &numeric,
        "id\tis_coding",
        &(0..x.len()).map(|i| format!("{}\t{}", ids[i], y[i] as u8)).collect::<Vec<_>>(),
    );
    let (report, stderr) = probe_ok(&["-e", &s(&emb), "-l", &s(&numeric)]);
    let auc = cell(&report, "random", "auroc");
    assert!(auc.0 > 0.9, "{auc:?}");
    assert!(cell(&report, "random", "auprc").0 > 0.85);
    assert!(report.contains("# positive_class: 1 (") && report.contains("picked by 1 of 0/1 labels"), "{report}");
    assert!(stderr.contains("positive class \"1\""), "{stderr}");

    let named = tmp.path().join("named.tsv");
    let rows: Vec<String> =
        (0..x.len()).map(|i| format!("{}\t{}", ids[i], if y[i] { "coding" } else { "intergenic" })).collect();
    write_labels(&named, "id\tclass", &rows);
    let (report, _) = probe_ok(&["-e", &s(&emb), "-l", &s(&named), "--positive", "coding", "-q"]);
    let same = cell(&report, "random", "auroc");
    assert!((same.0 - auc.0).abs() < 1e-6, "{same:?} vs {auc:?}");
    assert!(report.contains("# positive_class: coding (") && report.contains("picked by --positive"), "{report}");
    // Without --positive the class that sorts second is positive, and stderr says so.
    let (report, stderr) = probe_ok(&["-e", &s(&emb), "-l", &s(&named)]);
    assert!(stderr.contains("positive class \"intergenic\"") && stderr.contains("sorts second"), "{stderr}");
    assert!((cell(&report, "random", "auroc").0 - auc.0).abs() < 1e-3);
}

/// Ids, their sequences, and the planted near-duplicate pairs among them.
struct Planted {
    ids: Vec<String>,
    seqs: Vec<Vec<u8>>,
    pairs: Vec<(String, String)>,
}

/// 60 random 400-bp sequences plus a 1-2% mutated copy of each of the first 20 (every
/// third reverse-complemented), in shuffled order.
fn planted_pairs(seed: u64) -> Planted {
    let mut rng = Rng::stream(seed, "probe-test-pairs", 0);
    let mut seqs: Vec<(String, Vec<u8>)> = (0..60).map(|i| (format!("r{i}"), random_dna(&mut rng, 400))).collect();
    let mut pairs = Vec::new();
    for i in 0..20 {
        let mut copy = mutate(&mut rng, &seqs[i].1, if i % 2 == 0 { 0.01 } else { 0.02 });
        if i % 3 == 0 {
            copy = reverse_complement(&copy);
        }
        pairs.push((format!("r{i}"), format!("r{i}_copy")));
        seqs.push((format!("r{i}_copy"), copy));
    }
    rng.shuffle(&mut seqs);
    let (ids, seqs) = seqs.into_iter().unzip();
    Planted { ids, seqs, pairs }
}

#[test]
fn homology_split_keeps_near_duplicates_in_one_fold() {
    let tmp = tempfile::tempdir().unwrap();
    let Planted { ids, seqs, pairs } = planted_pairs(3);
    let mut rng = Rng::stream(3, "probe-test-pairs-x", 0);
    let x = normal_rows(&mut rng, ids.len(), 8);
    let emb = tmp.path().join("emb.tsv");
    write_tsv(&emb, &ids, &x);
    let fasta = tmp.path().join("seqs.fa");
    write_fasta(&fasta, &ids, &seqs);
    let labels = tmp.path().join("labels.tsv");
    write_labels(&labels, "id\ty", &ids.iter().map(|id| format!("{id}\t{}", rng.normal())).collect::<Vec<_>>());
    let pred = tmp.path().join("pred.tsv");
    let (report, _) =
        probe_ok(&["-e", &s(&emb), "-l", &s(&labels), "--sequences", &s(&fasta), "--predictions", &s(&pred), "-q"]);
    // The default with sequences is random,homology.
    assert!(
        report.contains("# split homology: canonical 15-mer Jaccard >= 0.2, sketch 128; 60 clusters, largest 2"),
        "{report}"
    );
    cell(&report, "random-homology", "r2");
    let hom = prediction_column(&pred, "fold_homology");
    let rand = prediction_column(&pred, "fold_random");
    assert_eq!(hom.len(), 80);
    for (a, b) in &pairs {
        assert_eq!(hom[a], hom[b], "planted pair {a}, {b} on both sides of the homology split");
    }
    // The check can fail: a random split does separate pairs.
    let separated = pairs.iter().filter(|(a, b)| rand[a] != rand[b]).count();
    assert!(separated >= 5, "random split separated only {separated} of 20 pairs");
}

#[test]
fn homology_split_from_reference_regions() {
    // 40 distinct 300-bp regions of chrI, and 10 more ids on regions overlapping the first
    // 10 by 290 bp: fetched through the ID table, each overlap stays with its original.
    let tmp = tempfile::tempdir().unwrap();
    let mut regions: Vec<(String, u64, u64)> =
        (0..40).map(|i| ("chrI".to_string(), 20_000 + 4_000 * i, 20_300 + 4_000 * i)).collect();
    for i in 0..10 {
        let (_, a, b) = regions[i].clone();
        regions.push(("chrI".to_string(), a + 10, b + 10));
    }
    let ids = ids(regions.len());
    let mut rng = Rng::stream(4, "probe-test-reference", 0);
    let x = normal_rows(&mut rng, ids.len(), 5);
    let emb = tmp.path().join("emb.npy");
    write_npy(&emb, &x);
    write_id_table(&tmp.path().join("emb.ids.tsv"), &ids, Some(&regions));
    let labels = tmp.path().join("labels.tsv");
    write_labels(&labels, "id\ty", &ids.iter().map(|id| format!("{id}\t{}", rng.normal())).collect::<Vec<_>>());
    let pred = tmp.path().join("pred.tsv");
    let (report, _) = probe_ok(&[
        "-e",
        &s(&emb),
        "-l",
        &s(&labels),
        "--reference",
        &s(&data("chrI.fa.gz")),
        "--split",
        "homology",
        "--predictions",
        &s(&pred),
        "-q",
    ]);
    assert!(report.contains("40 clusters, largest 2"), "{report}");
    let hom = prediction_column(&pred, "fold_homology");
    for i in 0..10 {
        assert_eq!(hom[&format!("s{i}")], hom[&format!("s{}", 40 + i)], "overlapping regions s{i}, s{} split", 40 + i);
    }
    // One contig cannot fill 5 folds.
    let out = probe(&["-e", &s(&emb), "-l", &s(&labels), "--split", "contig", "-q"]);
    assert_one_line_error(&out, &["1 groups", "5 folds"]);
}

/// 40 families of 4 near-identical sequences; a family's embeddings are its centroid plus
/// noise and its label a family value unrelated to the centroid, so only memorising a
/// family predicts the label.
#[test]
fn random_split_flatters_memorisation_that_homology_split_exposes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng::stream(5, "probe-test-families", 0);
    let (mut ids, mut seqs, mut x, mut y) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for f in 0..40 {
        let base = random_dna(&mut rng, 300);
        let centroid: Vec<f64> = (0..60).map(|_| rng.normal()).collect();
        let value = rng.normal();
        for m in 0..4 {
            ids.push(format!("f{f}_{m}"));
            seqs.push(mutate(&mut rng, &base, 0.01));
            x.push(centroid.iter().map(|c| (c + 0.1 * rng.normal()) as f32).collect::<Vec<f32>>());
            y.push(value + 0.1 * rng.normal());
        }
    }
    let emb = tmp.path().join("emb.tsv");
    write_tsv(&emb, &ids, &x);
    let fasta = tmp.path().join("seqs.fa");
    write_fasta(&fasta, &ids, &seqs);
    let labels = tmp.path().join("labels.tsv");
    write_labels(&labels, "id\ty", &(0..ids.len()).map(|i| format!("{}\t{}", ids[i], y[i])).collect::<Vec<_>>());
    let (report, stderr) = probe_ok(&["-e", &s(&emb), "-l", &s(&labels), "--sequences", &s(&fasta)]);
    let (random, homology) = (cell(&report, "random", "r2").0, cell(&report, "homology", "r2").0);
    assert!(random > 0.5 && homology < 0.2, "random {random}, homology {homology}");
    let diff = cell(&report, "random-homology", "r2");
    assert!(diff.1 > 0.0 && (diff.0 - (random - homology)).abs() < 1e-5, "{diff:?}");
    assert!(stderr.contains("random-homology: r2 difference +"), "{stderr}");
}

#[test]
fn tsv_npy_and_npz_inputs_give_the_same_report() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng::stream(6, "probe-test-formats", 0);
    let (n, d) = (120, 6);
    // Values with many digits, so the TSV's text round trip is exercised.
    let x: Vec<Vec<f32>> = (0..n).map(|_| (0..d).map(|_| (rng.normal() * 1.234_567) as f32).collect()).collect();
    let ids = ids(n);
    let y: Vec<f64> = x.iter().map(|r| r[0] as f64 - 2.0 * r[3] as f64 + rng.normal()).collect();
    let labels = tmp.path().join("labels.tsv");
    write_labels(&labels, "id\ty", &(0..n).rev().map(|i| format!("{}\t{}", ids[i], y[i])).collect::<Vec<_>>());
    let tsv = tmp.path().join("emb.tsv");
    write_tsv(&tsv, &ids, &x);
    let npy = tmp.path().join("emb.npy");
    write_npy(&npy, &x);
    write_id_table(&tmp.path().join("emb.ids.tsv"), &ids, None);
    let npz = tmp.path().join("other.npz");
    shorkie::npz::write_npz(&npz, &[("embeddings", vec![n, d], &flat(&x))]).unwrap();
    let table = tmp.path().join("elsewhere.tsv");
    write_id_table(&table, &ids, None);

    let table_rows =
        |report: &str| report.lines().filter(|l| !l.starts_with('#')).map(String::from).collect::<Vec<_>>();
    let run = |args: &[&str]| {
        let mut all = vec!["-l", labels.to_str().unwrap(), "--seed", "3", "-q"];
        all.extend(args);
        table_rows(&probe_ok(&all).0)
    };
    let from_tsv = run(&["-e", &s(&tsv)]);
    assert_eq!(from_tsv.len(), 4);
    assert_eq!(run(&["-e", &s(&npy)]), from_tsv);
    assert_eq!(run(&["-e", &s(&npz), "--ids", &s(&table)]), from_tsv);
    // The seed matters (so the comparison above is not vacuous).
    let other_seed = table_rows(&probe_ok(&["-e", &s(&tsv), "-l", &s(&labels), "--seed", "4", "-q"]).0);
    assert_ne!(other_seed, from_tsv);
    // -o writes the same report to a file.
    let out = tmp.path().join("report.tsv");
    let (stdout, _) = probe_ok(&["-e", &s(&npy), "-l", &s(&labels), "--seed", "3", "-q", "-o", &s(&out)]);
    assert!(stdout.is_empty());
    assert_eq!(table_rows(&std::fs::read_to_string(&out).unwrap()), from_tsv);
}

#[test]
fn contig_split_keeps_each_contig_in_one_fold() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng::stream(7, "probe-test-contig", 0);
    let n = 200;
    let x = normal_rows(&mut rng, n, 4);
    let ids = ids(n);
    let contig = |i: usize| format!("chr{}", (i * 7) % 11);
    let emb = tmp.path().join("emb.tsv");
    write_tsv(&emb, &ids, &x);
    let labels = tmp.path().join("labels.tsv");
    let rows: Vec<String> =
        (0..n).map(|i| format!("{}\t{}\t{}", ids[i], contig(i), x[i][0] as f64 + rng.normal())).collect();
    write_labels(&labels, "id\tcontig\tvalue", &rows);
    let pred = tmp.path().join("pred.tsv");
    let (report, _) =
        probe_ok(&["-e", &s(&emb), "-l", &s(&labels), "--split", "random,contig", "--predictions", &s(&pred), "-q"]);
    // The label column skipped the contig column.
    assert!(report.contains("column value") && report.contains("11 groups"), "{report}");
    let folds = prediction_column(&pred, "fold_contig");
    let mut fold_of_contig: HashMap<String, String> = HashMap::new();
    for i in 0..n {
        let f = fold_of_contig.entry(contig(i)).or_insert_with(|| folds[&ids[i]].clone());
        assert_eq!(*f, folds[&ids[i]], "contig {} in two folds", contig(i));
    }
    let random = prediction_column(&pred, "fold_random");
    let mixed = (0..n).filter(|&i| random[&ids[i]] != fold_of_contig[&contig(i)]).count();
    assert!(mixed > 0);

    // Contigs from the ID table of a BED-based run.
    let npy = tmp.path().join("bed.npy");
    write_npy(&npy, &x);
    let regions: Vec<(String, u64, u64)> = (0..n).map(|i| (contig(i), 100 * i as u64, 100 * i as u64 + 50)).collect();
    write_id_table(&tmp.path().join("bed.ids.tsv"), &ids, Some(&regions));
    let plain = tmp.path().join("plain.tsv");
    write_labels(&plain, "id\tvalue", &(0..n).map(|i| format!("{}\t{}", ids[i], rng.normal())).collect::<Vec<_>>());
    let (report, _) =
        probe_ok(&["-e", &s(&npy), "-l", &s(&plain), "--split", "contig", "--predictions", &s(&pred), "-q"]);
    assert!(report.contains("groups from contigs of") && report.contains("bed.ids.tsv; 11 groups"), "{report}");
    let folds = prediction_column(&pred, "fold_contig");
    for i in 0..n - 11 {
        assert_eq!(folds[&ids[i]], folds[&ids[i + 11]], "contig of s{i} split");
    }
}

#[test]
fn kmer_features_predict_gc_content() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng::stream(8, "probe-test-kmer", 0);
    let ids = ids(150);
    // GC content varies from sequence to sequence; 2-mer frequencies determine it.
    let seqs: Vec<Vec<u8>> = ids
        .iter()
        .map(|_| {
            let gc = 0.2 + 0.6 * rng.uniform();
            (0..300)
                .map(|_| {
                    let strong = rng.uniform() < gc;
                    let pick = rng.below(2) as usize;
                    if strong {
                        b"GC"[pick]
                    } else {
                        b"AT"[pick]
                    }
                })
                .collect()
        })
        .collect();
    let fasta = tmp.path().join("seqs.fa");
    write_fasta(&fasta, &ids, &seqs);
    let labels = tmp.path().join("labels.tsv");
    let gc = |s: &[u8]| s.iter().filter(|b| matches!(b, b'G' | b'C')).count() as f64 / s.len() as f64;
    write_labels(&labels, "id\tgc", &(0..150).map(|i| format!("{}\t{}", ids[i], gc(&seqs[i]))).collect::<Vec<_>>());
    let (report, _) = probe_ok(&["--kmer", "2", "--sequences", &s(&fasta), "-l", &s(&labels), "-q"]);
    assert!(
        report.contains("# embeddings: canonical 2-mer frequencies of") && report.contains("# features: 10\n"),
        "{report}"
    );
    assert!(cell(&report, "random", "r2").0 > 0.95, "{report}");
    assert!(cell(&report, "homology", "r2").0 > 0.95, "{report}");
}

/// A directory of small valid inputs to break one at a time: 30 samples of 3 features.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let f = Fixture { dir: tempfile::tempdir().unwrap() };
        let mut rng = Rng::stream(9, "probe-test-errors", 0);
        let x = normal_rows(&mut rng, 30, 3);
        let ids = ids(30);
        write_tsv(&f.path("emb.tsv"), &ids, &x);
        write_npy(&f.path("emb.npy"), &x);
        write_id_table(&f.path("emb.ids.tsv"), &ids, None);
        write_labels(
            &f.path("labels.tsv"),
            "id\ty",
            &(0..30).map(|i| format!("s{i}\t{}", rng.normal())).collect::<Vec<_>>(),
        );
        let seqs: Vec<Vec<u8>> = (0..30).map(|_| random_dna(&mut rng, 100)).collect();
        write_fasta(&f.path("seqs.fa"), &ids, &seqs);
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.path(name), text).unwrap();
        s(&self.path(name))
    }

    fn text(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.push("-q");
        probe(&all)
    }
}

#[test]
fn label_errors_name_file_and_line() {
    let f = Fixture::new();
    let emb = s(&f.path("emb.tsv"));
    let lab = f.text("labels.tsv");
    // Ids without an embedding: the first is named, the others counted.
    let bad = f.write("missing.tsv", &format!("{lab}zz\t1\nyy\t2\nxx\t3\n"));
    assert_one_line_error(
        &f.run(&["-e", &emb, "-l", &bad]),
        &["missing.tsv:32: id zz is not in", "emb.tsv", "2 other"],
    );
    let bad = f.write("dup.tsv", &format!("{lab}s1\t5\n"));
    assert_one_line_error(&f.run(&["-e", &emb, "-l", &bad]), &["dup.tsv:32: duplicate id s1 (first on line 3)"]);
    for (value, line) in [("nan", 5), ("", 5), ("abc", 5)] {
        let text: String = lab
            .lines()
            .enumerate()
            .map(|(i, l)| if i + 1 == line { format!("s3\t{value}\n") } else { format!("{l}\n") })
            .collect();
        let bad = f.write("value.tsv", &text);
        assert_one_line_error(
            &f.run(&["-e", &emb, "-l", &bad]),
            &[&format!("value.tsv:{line}: label \"{value}\" is not a finite number")],
        );
    }
    // One class after matching (auto or classification), three with --task classification.
    let one: String = (0..30).map(|i| format!("s{i}\tcoding\n")).collect();
    let bad = f.write("one.tsv", &format!("id\tclass\n{one}"));
    assert_one_line_error(&f.run(&["-e", &emb, "-l", &bad]), &["one.tsv", "all 30 labels", "\"coding\""]);
    let three: String = (0..30).map(|i| format!("s{i}\t{}\n", ["a", "b", "c"][i % 3])).collect();
    let bad = f.write("three.tsv", &format!("id\tclass\n{three}"));
    assert_one_line_error(
        &f.run(&["-e", &emb, "-l", &bad, "--task", "classification"]),
        &["three.tsv", "found 3", "\"a\" (10)", "\"c\" (10)"],
    );
    // Three strings in auto mode are a regression, and not numbers.
    assert_one_line_error(&f.run(&["-e", &emb, "-l", &bad]), &["three.tsv:2: label \"a\" is not a finite number"]);
    let two: String = (0..30).map(|i| format!("s{i}\t{}\n", ["a", "b"][i % 2])).collect();
    let bad = f.write("two.tsv", &format!("id\tclass\n{two}"));
    assert_one_line_error(&f.run(&["-e", &emb, "-l", &bad, "--positive", "c"]), &["two.tsv", "--positive \"c\""]);
    assert_one_line_error(
        &f.run(&["-e", &emb, "-l", &bad, "--label-column", "kind"]),
        &["two.tsv:1: no column \"kind\""],
    );
    let short = f.write("short.tsv", "id\ty\ns0\t1\ts1\n");
    assert_one_line_error(&f.run(&["-e", &emb, "-l", &short]), &["short.tsv:2: 3 fields, the header on line 1 has 2"]);
    let empty = f.write("empty.tsv", "");
    assert_one_line_error(&f.run(&["-e", &emb, "-l", &empty]), &["empty.tsv", "no labels"]);
}

#[test]
fn embedding_errors_name_file_and_row() {
    let f = Fixture::new();
    let lab = s(&f.path("labels.tsv"));
    let tsv = f.text("emb.tsv");
    let run = |emb: &str, extra: &[&str]| {
        let mut a = vec!["-e", emb, "-l", lab.as_str()];
        a.extend(extra);
        f.run(&a)
    };
    let empty = f.write("empty.tsv", "");
    assert_one_line_error(&run(&empty, &[]), &["empty.tsv", "no embeddings"]);
    let header_only = f.write("header.tsv", "id\te0\te1\te2\n");
    assert_one_line_error(&run(&header_only, &[]), &["header.tsv", "no embedding rows"]);
    let empty_npy = f.write("empty.npy", "");
    assert_one_line_error(&run(&empty_npy, &[]), &["empty.npy", "no embeddings"]);
    let ragged = f.write("ragged.tsv", &tsv.replacen("s1\t", "s1\t7\t", 1));
    assert_one_line_error(&run(&ragged, &[]), &["ragged.tsv:3: id s1 has 4 values, the header on line 1 has 3"]);
    let nan: String = tsv
        .lines()
        .map(|l| if l.starts_with("s2\t") { "s2\t0.5\tnan\t1\n".to_string() } else { format!("{l}\n") })
        .collect();
    let nan = f.write("nan.tsv", &nan);
    assert_one_line_error(&run(&nan, &[]), &["nan.tsv:4: id s2, column e1: value nan is not finite"]);
    let word = f.write("word.tsv", &tsv.replacen("s4\t", "s4\tx", 1));
    assert_one_line_error(&run(&word, &[]), &["word.tsv:6: id s4, column e0", "is not a number"]);
    let dup = f.write("dup.tsv", &format!("{tsv}s3\t1\t2\t3\n"));
    assert_one_line_error(&run(&dup, &[]), &["dup.tsv:32: duplicate id s3 (first on line 5)"]);

    // NaN in an .npy names the row and its id from the ID table.
    let mut values = vec![0.5f32; 90];
    values[3 * 7 + 2] = f32::NAN;
    std::fs::write(f.path("nan.npy"), shorkie::npz::npy_bytes(&[30, 3], &values)).unwrap();
    std::fs::copy(f.path("emb.ids.tsv"), f.path("nan.ids.tsv")).unwrap();
    assert_one_line_error(&run(&s(&f.path("nan.npy")), &[]), &["nan.npy: row 7 (id s7), column 2", "not finite"]);
    // An .npy without its ID table, or with one of the wrong length or with a repeated id.
    std::fs::copy(f.path("emb.npy"), f.path("alone.npy")).unwrap();
    assert_one_line_error(&run(&s(&f.path("alone.npy")), &[]), &["alone.npy", "no ID table", "alone.ids.tsv", "--ids"]);
    let table = f.text("emb.ids.tsv");
    let short: String = table.lines().take(20).map(|l| format!("{l}\n")).collect();
    let short = f.write("short.ids.tsv", &short);
    assert_one_line_error(
        &run(&s(&f.path("emb.npy")), &["--ids", &short]),
        &["short.ids.tsv: 19 ids for the 30 embedding rows", "emb.npy"],
    );
    let dup = f.write("dup.ids.tsv", &table.replacen("\ts5\t", "\ts2\t", 1));
    assert_one_line_error(
        &run(&s(&f.path("emb.npy")), &["--ids", &dup]),
        &["dup.ids.tsv:7: duplicate id s2 (first on line 4)"],
    );
    // An .npz written with --pool none holds per-sequence arrays only.
    let npz = f.path("none.npz");
    shorkie::npz::write_npz(&npz, &[("s0", vec![4, 3], &[0.0; 12]), ("s1", vec![5, 3], &[0.0; 15])]).unwrap();
    std::fs::copy(f.path("emb.ids.tsv"), f.path("none.ids.tsv")).unwrap();
    assert_one_line_error(&run(&s(&npz), &[]), &["none.npz: no `embeddings` array (written with --pool none?)"]);
    let per_position = f.write("pos.tsv", "id\tposition\te0\ns0\t0\t1.5\ns0\t1\t2.5\n");
    assert_one_line_error(&run(&per_position, &[]), &["pos.tsv:1: one embedding per position (written with --pool none?)"]);
    let missing = s(&f.path("nowhere.tsv"));
    assert_one_line_error(&run(&missing, &[]), &["nowhere.tsv"]);
}

#[test]
fn split_and_sequence_errors() {
    let f = Fixture::new();
    let (emb, lab) = (s(&f.path("emb.tsv")), s(&f.path("labels.tsv")));
    let empty = f.write("empty.fa", "");
    assert_one_line_error(&f.run(&["-e", &emb, "-l", &lab, "--sequences", &empty]), &["empty.fa", "no sequences"]);
    let fa = f.text("seqs.fa");
    let cut: String = fa.lines().take(40).map(|l| format!("{l}\n")).collect();
    let cut = f.write("cut.fa", &cut);
    assert_one_line_error(
        &f.run(&["-e", &emb, "-l", &lab, "--sequences", &cut]),
        &["cut.fa: no sequence for id s20", "9 other"],
    );
    assert_one_line_error(
        &f.run(&["-e", &emb, "-l", &lab, "--split", "homology"]),
        &["homology split needs sequences"],
    );
    assert_one_line_error(
        &f.run(&["-e", &emb, "-l", &lab, "--split", "contig"]),
        &["contig split needs contigs", "labels.tsv"],
    );
    assert_one_line_error(&f.run(&["-e", &emb, "-l", &lab, "--split", "random,genes"]), &["unknown split \"genes\""]);
    assert_one_line_error(&f.run(&["-e", &emb, "-l", &lab, "--alphas", "1:0.1:5"]), &["--alphas"]);
    // --reference needs regions; a FASTA-based ID table has none.
    let npy = s(&f.path("emb.npy"));
    assert_one_line_error(
        &f.run(&["-e", &npy, "-l", &lab, "--reference", &s(&data("chrI.fa.gz"))]),
        &["emb.ids.tsv:2: id s0 has no region"],
    );
    let short = f.write("n.fa", ">a\nACGTAC\n>b\nNNNNNN\n");
    let labels = f.write("ab.tsv", "id\ty\na\t1\nb\t2\n");
    assert_one_line_error(
        &f.run(&["--kmer", "3", "--sequences", &short, "-l", &labels]),
        &["n.fa: sequence b has no complete 3-mer"],
    );
}

/// Embeddings that carry two elements A and B (columns 0 and 1) and five other
/// informative columns; the label is `z·w + 2A + 2B + interaction·A·B + noise`.
fn factor_data(interaction: f64, seed: u64) -> (Vec<Vec<f32>>, Vec<String>) {
    let mut rng = Rng::stream(seed, "probe-test-compositional", 0);
    let w: Vec<f64> = (0..5).map(|_| rng.normal()).collect();
    let (mut x, mut rows) = (Vec::new(), Vec::new());
    for i in 0..400 {
        let (a, b) = ((i % 2) as f64, ((i / 2) % 2) as f64);
        let z: Vec<f32> = (0..5).map(|_| rng.normal() as f32).collect();
        let mut row = vec![(a + 0.05 * rng.normal()) as f32, (b + 0.05 * rng.normal()) as f32];
        row.extend(&z);
        row.extend((0..5).map(|_| rng.normal() as f32));
        let y = dot(&z, &w) + 2.0 * a + 2.0 * b + interaction * a * b + 0.3 * rng.normal();
        let yes = |v: f64| if v > 0.5 { "yes" } else { "no" };
        rows.push(format!("s{i}\t{y}\t{}\t{}", yes(a), if b > 0.5 { 1 } else { 0 }));
        x.push(row);
    }
    (x, rows)
}

#[test]
fn compositional_split_opens_a_gap_only_for_an_interaction() {
    let tmp = tempfile::tempdir().unwrap();
    let ids = ids(400);
    let mut gaps = Vec::new();
    for (name, interaction) in [("additive", 0.0), ("interacting", -3.0)] {
        let (x, rows) = factor_data(interaction, 4);
        let emb = tmp.path().join(format!("{name}.tsv"));
        write_tsv(&emb, &ids, &x);
        let labels = tmp.path().join(format!("{name}.labels.tsv"));
        write_labels(&labels, "id\texpression\tintron\ttata", &rows);
        let preds = tmp.path().join(format!("{name}.pred.tsv"));
        let (report, stderr) = probe_ok(&[
            "-e", &s(&emb), "-l", &s(&labels), "--split", "compositional", "--factors", "intron,tata",
            "--permutations", "199", "--predictions", &s(&preds),
        ]);
        assert!(report.contains("# split compositional: factors intron, tata; train on 300 samples"), "{report}");
        assert!(report.contains("column expression"), "the factor columns are not the default label: {report}");
        assert!(stderr.contains("permutation test: compositional r2"), "{stderr}");
        // The compositional test set is exactly the samples with both factors.
        let set = prediction_column(&preds, "set_compositional");
        for (i, id) in ids.iter().enumerate() {
            let both = i % 4 == 3;
            assert_eq!(set[id] == "test", both, "{id}: {}", set[id]);
        }
        let random_test = prediction_column(&preds, "set_random").values().filter(|v| *v == "test").count();
        assert_eq!(random_test, 100);
        let p: f64 = report
            .lines()
            .find(|l| l.starts_with("# permutation test"))
            .and_then(|l| l.split("p = ").nth(1))
            .and_then(|t| t.split_whitespace().next())
            .unwrap()
            .parse()
            .unwrap();
        if interaction == 0.0 {
            assert!(p <= 0.01, "{name}: the probe beats permuted labels: p = {p}");
        } else {
            // R² counts the offset the probe cannot know for the unseen combination.
            assert!(p > 0.05, "{name}: no better than permuted labels on the unseen combination: p = {p}");
        }
        gaps.push(cell(&report, "random-compositional", "r2"));
    }
    let (additive, interacting) = (gaps[0], gaps[1]);
    assert!(additive.1 <= 0.0 || additive.0 < 0.05, "additive elements generalise: {additive:?}");
    assert!(interacting.1 > 0.5, "an unseen interaction is detected: {interacting:?}");
}

#[test]
fn compositional_split_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let ids = ids(400);
    let (x, mut rows) = factor_data(0.0, 4);
    let emb = tmp.path().join("e.tsv");
    write_tsv(&emb, &ids, &x);
    let labels = tmp.path().join("l.tsv");
    write_labels(&labels, "id\texpression\tintron\ttata", &rows);
    let l = s(&labels);
    let e = s(&emb);
    let out = probe(&["-e", &e, "-l", &l, "--split", "compositional"]);
    assert_one_line_error(&out, &["--split compositional and --factors A,B go together"]);
    let out = probe(&["-e", &e, "-l", &l, "--split", "random,compositional", "--factors", "intron,tata"]);
    assert_one_line_error(&out, &["cannot be combined"]);
    let out = probe(&["-e", &e, "-l", &l, "--split", "compositional", "--factors", "intron,tatabox"]);
    assert_one_line_error(&out, &["no column \"tatabox\""]);
    rows[6] = rows[6].replace("\tyes\t", "\tmaybe\t").replace("\tno\t", "\tmaybe\t");
    write_labels(&labels, "id\texpression\tintron\ttata", &rows);
    let out = probe(&["-e", &e, "-l", &l, "--split", "compositional", "--factors", "intron,tata", "-q"]);
    assert_one_line_error(&out, &["l.tsv:8: factor intron of id s6 is \"maybe\""]);
}
