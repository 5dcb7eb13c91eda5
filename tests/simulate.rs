//! shorkie-simulate: the planted-grammar benchmark, checked from the outside. BigWigs are
//! read back with pyBigWig, REF alleles with samtools, and motif counts are recounted here
//! with a matcher of the test's own (IUPAC letters, not the library's bit masks).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_one_line_error, data, run_python, sh};

const PROMOTER_BP: i64 = 400;

/// The grammar the benchmark promises (name, IUPAC consensus).
const GRAMMAR: &[(&str, &str)] = &[
    ("Rap1", "ACCCRTACA"),
    ("Abf1", "RTCRYNNNNNACG"),
    ("Reb1", "TTACCCG"),
    ("TATA", "TATAWAWR"),
    ("PAC", "GCGATGAG"),
    ("RRPE", "AAAAWTTTT"),
    ("Mig1", "SYGGGG"),
];

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn simulate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shorkie-simulate")).args(args).output().expect("run shorkie-simulate")
}

fn simulate_ok(args: &[&str]) -> String {
    let out = simulate(args);
    assert!(out.status.success(), "shorkie-simulate failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn chri_args(out: &Path) -> Vec<String> {
    vec![
        "-f".into(),
        s(&data("chrI.fa.gz")),
        "-g".into(),
        s(&data("chrI.genes.gtf")),
        "-o".into(),
        s(out),
    ]
}

fn run_chri(out: &Path, extra: &[&str]) -> String {
    let mut args = chri_args(out);
    args.extend(extra.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    simulate_ok(&refs)
}

/// A TSV as header-keyed rows, `#` lines skipped.
fn read_tsv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<String> = lines.next().expect("header").split('\t').map(String::from).collect();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), header.len(), "{}: ragged line {l}", path.display());
            header.iter().cloned().zip(f.iter().map(|v| v.to_string())).collect()
        })
        .collect()
}

fn fai(path: &Path) -> Vec<(String, u64)> {
    std::fs::read_to_string(format!("{}.fai", path.display()))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].parse().unwrap())
        })
        .collect()
}

/// A whole contig through samtools.
fn contig_seq(fasta: &Path, contig: &str) -> Vec<u8> {
    let out = sh(&format!("samtools faidx {} {contig}", fasta.display()));
    assert!(out.status.success(), "samtools: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().skip(1).collect::<String>().to_ascii_uppercase().into_bytes()
}

#[derive(Debug, Clone)]
struct TestGene {
    contig: String,
    strand: char,
    /// 0-based half-open.
    exons: Vec<(i64, i64)>,
}

impl TestGene {
    fn start(&self) -> i64 {
        self.exons.iter().map(|e| e.0).min().unwrap()
    }
    fn end(&self) -> i64 {
        self.exons.iter().map(|e| e.1).max().unwrap()
    }
    /// 0-based TSS proxy and promoter [lo, hi).
    fn promoter(&self, contig_len: i64) -> (i64, i64, i64) {
        if self.strand == '+' {
            (self.start(), (self.start() - PROMOTER_BP).max(0), self.start())
        } else {
            (self.end() - 1, self.end(), (self.end() + PROMOTER_BP).min(contig_len))
        }
    }
}

fn read_gtf(path: &Path) -> BTreeMap<String, TestGene> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut genes: BTreeMap<String, TestGene> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        if f[2] != "exon" {
            continue;
        }
        let id = f[8].split("gene_id \"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let g = genes.entry(id).or_insert_with(|| TestGene {
            contig: f[0].into(),
            strand: f[6].chars().next().unwrap(),
            exons: Vec::new(),
        });
        g.exons.push((f[3].parse::<i64>().unwrap() - 1, f[4].parse().unwrap()));
    }
    genes
}

// ---- the test's own motif matcher ----

fn allowed(letter: char) -> &'static str {
    match letter {
        'A' => "A",
        'C' => "C",
        'G' => "G",
        'T' => "T",
        'R' => "AG",
        'Y' => "CT",
        'S' => "CG",
        'W' => "AT",
        'K' => "GT",
        'M' => "AC",
        'B' => "CGT",
        'D' => "AGT",
        'H' => "ACT",
        'V' => "ACG",
        'N' => "ACGT",
        _ => panic!("not IUPAC: {letter}"),
    }
}

fn revcomp_iupac(s: &str) -> String {
    s.chars()
        .rev()
        .map(|c| match c {
            'A' => 'T',
            'T' => 'A',
            'C' => 'G',
            'G' => 'C',
            'R' => 'Y',
            'Y' => 'R',
            'K' => 'M',
            'M' => 'K',
            'B' => 'V',
            'V' => 'B',
            'D' => 'H',
            'H' => 'D',
            other => other, // S W N
        })
        .collect()
}

fn matches(window: &[u8], pattern: &str) -> bool {
    pattern.chars().zip(window).all(|(l, &b)| allowed(l).contains(b as char))
}

fn count(seq: &[u8], consensus: &str) -> u32 {
    let rc = revcomp_iupac(consensus);
    let l = consensus.len();
    if seq.len() < l {
        return 0;
    }
    (0..=seq.len() - l).filter(|&p| matches(&seq[p..p + l], consensus) || matches(&seq[p..p + l], &rc)).count() as u32
}

struct Grammar {
    names: Vec<String>,
    consensus: Vec<String>,
    effect: Vec<f64>,
    cap: Vec<u32>,
    base: f64,
}

impl Grammar {
    fn from_tsv(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap();
        let base: f64 = text.split("base_log2=").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
        let rows = read_tsv(path);
        let g = Grammar {
            names: rows.iter().map(|r| r["name"].clone()).collect(),
            consensus: rows.iter().map(|r| r["consensus"].clone()).collect(),
            effect: rows.iter().map(|r| r["log2_effect"].parse().unwrap()).collect(),
            cap: rows.iter().map(|r| r["cap"].parse().unwrap()).collect(),
            base,
        };
        let listed: Vec<(&str, &str)> = g.names.iter().map(String::as_str).zip(g.consensus.iter().map(String::as_str)).collect();
        assert_eq!(listed, GRAMMAR.to_vec(), "motifs.tsv lists another grammar");
        assert!(g.effect.iter().any(|&e| e > 0.0) && g.effect.iter().any(|&e| e < 0.0));
        g
    }

    fn counts(&self, seq: &[u8]) -> Vec<u32> {
        self.consensus.iter().map(|c| count(seq, c)).collect()
    }

    fn log2(&self, counts: &[u32]) -> f64 {
        self.base + (0..counts.len()).map(|i| self.effect[i] * counts[i].min(self.cap[i]) as f64).sum::<f64>()
    }

    fn effect(&self, ref_counts: &[u32], alt_counts: &[u32]) -> f64 {
        (0..ref_counts.len())
            .map(|i| self.effect[i] * (alt_counts[i].min(self.cap[i]) as f64 - ref_counts[i].min(self.cap[i]) as f64))
            .sum()
    }

    fn describe(&self, ref_counts: &[u32], alt_counts: &[u32]) -> String {
        let parts: Vec<String> = (0..ref_counts.len())
            .filter(|&i| alt_counts[i] != ref_counts[i])
            .map(|i| format!("{}:{:+}", self.names[i], alt_counts[i] as i64 - ref_counts[i] as i64))
            .collect();
        if parts.is_empty() {
            ".".into()
        } else {
            parts.join(",")
        }
    }
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let syy: f64 = y.iter().map(|b| (b - my) * (b - my)).sum();
    sxy / (sxx * syy).sqrt()
}

/// Dumps both BigWigs per base with pyBigWig: returns the chromosome lists and per-track
/// per-contig values (NaN where the file has no data).
#[allow(clippy::type_complexity)]
fn read_bigwigs(dir: &Path) -> (Vec<Vec<(String, u64)>>, HashMap<(String, String), Vec<f32>>) {
    let script = r#"
import sys, numpy as np, pyBigWig
d = sys.argv[1]
for track in ("plus", "minus"):
    bw = pyBigWig.open(f"{d}/rna.{track}.bw")
    assert bw.isBigWig()
    chroms = bw.chroms()
    print(track, " ".join(f"{c}={n}" for c, n in chroms.items()))
    for c, n in chroms.items():
        v = np.array(bw.values(c, 0, n, numpy=True), dtype="<f4")
        v.tofile(f"{d}/dump.{track}.{c}.f32")
    bw.close()
"#;
    let text = run_python(script, &[&s(dir)]);
    let mut chroms = Vec::new();
    let mut values = HashMap::new();
    for line in text.lines() {
        let (track, rest) = line.split_once(' ').unwrap();
        let list: Vec<(String, u64)> = rest
            .split(' ')
            .map(|kv| {
                let (c, n) = kv.split_once('=').unwrap();
                (c.to_string(), n.parse().unwrap())
            })
            .collect();
        for (c, _) in &list {
            let bytes = std::fs::read(dir.join(format!("dump.{track}.{c}.f32"))).unwrap();
            let v: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            values.insert((track.to_string(), c.clone()), v);
            std::fs::remove_file(dir.join(format!("dump.{track}.{c}.f32"))).unwrap();
        }
        chroms.push(list);
    }
    (chroms, values)
}

#[test]
fn chri_coverage_follows_the_planted_expression() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bench");
    let t0 = std::time::Instant::now();
    let msg = run_chri(&out, &["--seed", "3"]);
    eprintln!("chrI run: {:.2} s; {}", t0.elapsed().as_secs_f64(), msg.trim());
    for f in ["rna.plus.bw", "rna.minus.bw", "targets.txt", "genes.tsv", "motifs.tsv", "variants.vcf", "variants.truth.tsv"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }

    // targets.txt: a baskerville sheet, one stranded pair, files relative to the folder.
    let targets = read_tsv(&out.join("targets.txt"));
    let header = std::fs::read_to_string(out.join("targets.txt")).unwrap().lines().next().unwrap().to_string();
    assert_eq!(header, "index\tidentifier\tfile\tclip\tclip_soft\tscale\tsum_stat\tstrand_pair\tdescription\tgroup\tstrand");
    assert_eq!(targets.len(), 2);
    for (i, t) in targets.iter().enumerate() {
        assert_eq!(t["index"], i.to_string());
        assert_eq!(t["strand_pair"], (1 - i).to_string());
        assert_eq!(t["sum_stat"], "sum");
        assert_eq!(t["group"], "RNA");
        assert!(out.join(&t["file"]).is_file());
    }
    assert_eq!(targets[0]["file"], "rna.plus.bw");
    assert_eq!(targets[1]["file"], "rna.minus.bw");

    // Contig names and lengths as in the .fai; every base has a value.
    let (chroms, values) = read_bigwigs(&out);
    let fai = fai(&data("chrI.fa.gz"));
    for list in &chroms {
        assert_eq!(list, &fai);
    }
    for v in values.values() {
        assert!(v.iter().all(|x| x.is_finite() && *x >= 0.0 && x.fract() == 0.0), "coverage is not counts");
    }

    // Nonzero coverage only on exons of genes of the track's strand.
    let gtf = read_gtf(&data("chrI.genes.gtf"));
    let len = fai[0].1 as usize;
    for (track, strand) in [("plus", '+'), ("minus", '-')] {
        let mut mask = vec![false; len];
        for g in gtf.values().filter(|g| g.strand == strand) {
            for &(s, e) in &g.exons {
                mask[s as usize..e as usize].iter_mut().for_each(|m| *m = true);
            }
        }
        let v = &values[&(track.to_string(), "chrI".to_string())];
        let stray = (0..len).filter(|&i| v[i] != 0.0 && !mask[i]).count();
        assert_eq!(stray, 0, "{track}: {stray} covered bases off the exons of {strand} genes");
        let on = (0..len).filter(|&i| mask[i]).count();
        let covered = (0..len).filter(|&i| mask[i] && v[i] > 0.0).count();
        assert!(covered as f64 > 0.8 * on as f64, "{track}: only {covered} of {on} exon bases covered");
    }

    // Mean exon coverage per gene tracks the planted expression.
    let genes = read_tsv(&out.join("genes.tsv"));
    assert_eq!(genes.len(), gtf.len());
    let mut log_cov = Vec::new();
    let mut log_expr = Vec::new();
    let mut log_grammar = Vec::new();
    for row in &genes {
        let g = &gtf[&row["gene_id"]];
        assert_eq!(row["strand"], g.strand.to_string());
        // Genes sharing exon bases with another gene on the same strand add up: skip them.
        let shared = gtf.values().any(|o| {
            !std::ptr::eq(o, g)
                && o.strand == g.strand
                && o.exons.iter().any(|a| g.exons.iter().any(|b| a.0 < b.1 && b.0 < a.1))
        });
        let track = if g.strand == '+' { "plus" } else { "minus" };
        let v = &values[&(track.to_string(), "chrI".to_string())];
        // The other strand's track is zero here unless an antisense gene covers it.
        let other = &values[&((if g.strand == '+' { "minus" } else { "plus" }).to_string(), "chrI".to_string())];
        let antisense = gtf.values().any(|o| o.strand != g.strand && o.start() < g.end() && g.start() < o.end());
        if !antisense {
            assert!(g.exons.iter().all(|&(s, e)| other[s as usize..e as usize].iter().all(|&x| x == 0.0)));
        }
        if shared {
            continue;
        }
        let (sum, n) = g.exons.iter().fold((0f64, 0usize), |(sum, n), &(s, e)| {
            (sum + v[s as usize..e as usize].iter().map(|&x| x as f64).sum::<f64>(), n + (e - s) as usize)
        });
        let mean = sum / n as f64;
        let expected: f64 = row["depth"].parse().unwrap();
        let e: f64 = row["log2_expression"].parse().unwrap();
        assert!((expected / e.exp2() - 1.0).abs() < 1e-3, "depth column is 2^log2E at --depth 1");
        if n >= 300 {
            assert!((mean / expected - 1.0).abs() < 0.2, "{}: mean coverage {mean:.2}, planted {expected:.2}", row["gene_id"]);
        }
        log_cov.push(mean.max(1e-3).log2());
        log_expr.push(e);
        log_grammar.push(row["log2_grammar"].parse::<f64>().unwrap());
    }
    let r = pearson(&log_cov, &log_expr);
    let rg = pearson(&log_cov, &log_grammar);
    eprintln!("{} genes: Pearson(log2 coverage, log2 E) = {r:.4}, with the noiseless grammar {rg:.4}", log_cov.len());
    assert!(log_cov.len() > 80);
    assert!(r > 0.97, "coverage does not track expression: r = {r}");
    assert!(rg > 0.9, "coverage does not track the grammar: r = {rg}");
    let sd = {
        let m = log_expr.iter().sum::<f64>() / log_expr.len() as f64;
        (log_expr.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / log_expr.len() as f64).sqrt()
    };
    assert!(sd > 1.0, "expression hardly varies: sd {sd}");
}

/// `--coverage tss`: coverage only on the first --tss-bp bases downstream of each TSS on
/// its strand, at the planted depth; the targets sheet says so; exon bodies stay empty.
#[test]
fn chri_tss_coverage_sits_beside_the_promoter() {
    const TSS_BP: i64 = 200;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bench");
    run_chri(&out, &["--seed", "3", "--coverage", "tss", "--tss-bp", "200", "-q"]);
    let sheet = std::fs::read_to_string(out.join("targets.txt")).unwrap();
    assert!(sheet.contains("simulated 5' RNA-seq (first 200 bp from the TSS), plus strand"), "{sheet}");
    assert!(sheet.contains("\t100000\t384\t1.0\tsum_sqrt\t1\t"), "TSS tracks train on square roots: {sheet}");
    let motifs = std::fs::read_to_string(out.join("motifs.tsv")).unwrap();
    assert!(motifs.lines().next().unwrap().ends_with("coverage=tss:200"), "{motifs}");
    let (_, values) = read_bigwigs(&out);
    let gtf = read_gtf(&data("chrI.genes.gtf"));
    let len = fai(&data("chrI.fa.gz"))[0].1 as i64;
    let span = |g: &TestGene| {
        let (tss, _, _) = g.promoter(len);
        if g.strand == '+' { (tss, (tss + TSS_BP).min(len)) } else { ((tss + 1 - TSS_BP).max(0), tss + 1) }
    };
    let genes = read_tsv(&out.join("genes.tsv"));
    let (mut log_cov, mut log_expr) = (Vec::new(), Vec::new());
    for (track, strand) in [("plus", '+'), ("minus", '-')] {
        let v = &values[&(track.to_string(), "chrI".to_string())];
        let mut mask = vec![false; len as usize];
        for g in gtf.values().filter(|g| g.strand == strand) {
            let (a, b) = span(g);
            mask[a as usize..b as usize].iter_mut().for_each(|m| *m = true);
        }
        let stray = (0..len as usize).filter(|&i| v[i] != 0.0 && !mask[i]).count();
        assert_eq!(stray, 0, "{track}: {stray} covered bases outside the TSS spans of {strand} genes");
        for row in genes.iter().filter(|r| r["strand"] == strand.to_string()) {
            let g = &gtf[&row["gene_id"]];
            let (a, b) = span(g);
            let alone = !gtf.values().any(|o| !std::ptr::eq(o, g) && o.strand == strand && {
                let (c, d) = span(o);
                c < b && a < d
            });
            let expected: f64 = row["depth"].parse().unwrap();
            if !alone || b - a < TSS_BP || expected < 4.0 {
                continue;
            }
            let mean = v[a as usize..b as usize].iter().map(|&x| x as f64).sum::<f64>() / (b - a) as f64;
            assert!((mean / expected - 1.0).abs() < 0.25, "{}: mean {mean:.2}, planted {expected:.2}", row["gene_id"]);
            log_cov.push(mean.max(1e-3).log2());
            log_expr.push(row["log2_expression"].parse::<f64>().unwrap());
        }
    }
    assert!(log_cov.len() > 50, "{} genes checked", log_cov.len());
    let r = pearson(&log_cov, &log_expr);
    assert!(r > 0.97, "TSS coverage does not track expression: r = {r}");
    let mut args = chri_args(&tmp.path().join("zero"));
    args.extend(["--coverage", "tss", "--tss-bp", "0"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out0 = simulate(&refs);
    assert!(!out0.status.success());
    assert!(String::from_utf8_lossy(&out0.stderr).contains("--tss-bp must be at least 1"));
}

#[test]
fn chri_variants_match_the_genome_and_an_independent_recount() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bench");
    run_chri(&out, &["--seed", "11", "-q"]);
    let grammar = Grammar::from_tsv(&out.join("motifs.tsv"));
    let fasta = data("chrI.fa.gz");
    let fai = fai(&fasta);
    let seq = contig_seq(&fasta, "chrI");
    let contig_len = seq.len() as i64;
    assert_eq!(contig_len as u64, fai[0].1);
    let gtf = read_gtf(&data("chrI.genes.gtf"));

    // genes.tsv: coordinates, counts and planted expression agree with the recount.
    let genes = read_tsv(&out.join("genes.tsv"));
    let mut promoters: BTreeMap<String, (i64, i64, i64, char)> = BTreeMap::new();
    for row in &genes {
        let g = &gtf[&row["gene_id"]];
        assert_eq!(row["contig"], g.contig);
        let (tss, lo, hi) = g.promoter(contig_len);
        assert_eq!(row["tss"], (tss + 1).to_string());
        assert_eq!(row["promoter_start"], (lo + 1).to_string());
        assert_eq!(row["promoter_end"], hi.to_string());
        let counts = grammar.counts(&seq[lo as usize..hi as usize]);
        for (i, name) in grammar.names.iter().enumerate() {
            assert_eq!(row[name], counts[i].to_string(), "{} {name}", row["gene_id"]);
        }
        let planted: f64 = row["log2_grammar"].parse().unwrap();
        assert!((planted - grammar.log2(&counts)).abs() < 1e-6, "{}", row["gene_id"]);
        promoters.insert(row["gene_id"].clone(), (tss, lo, hi, g.strand));
    }

    // VCF: header, sorting, REF from the genome (samtools), one SNV per record and position.
    let vcf = std::fs::read_to_string(out.join("variants.vcf")).unwrap();
    assert!(vcf.starts_with("##fileformat=VCFv4.2\n"));
    let contig_lines: Vec<&str> = vcf.lines().filter(|l| l.starts_with("##contig")).collect();
    assert_eq!(contig_lines, vec![format!("##contig=<ID=chrI,length={}>", fai[0].1).as_str()]);
    let records: Vec<Vec<String>> =
        vcf.lines().filter(|l| !l.starts_with('#')).map(|l| l.split('\t').map(String::from).collect()).collect();
    assert_eq!(records.len(), 400);
    let positions: Vec<i64> = records.iter().map(|r| r[1].parse().unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "VCF not sorted by position, or two records at one position");
    let regions: Vec<String> = positions.iter().map(|p| format!("chrI:{p}-{p}")).collect();
    let faidx = sh(&format!("samtools faidx {} {}", fasta.display(), regions.join(" ")));
    assert!(faidx.status.success());
    let genome_refs: Vec<String> =
        String::from_utf8_lossy(&faidx.stdout).lines().filter(|l| !l.starts_with('>')).map(|l| l.to_ascii_uppercase()).collect();
    assert_eq!(genome_refs.len(), records.len());
    for (r, g) in records.iter().zip(&genome_refs) {
        assert_eq!(r[0], "chrI");
        assert_eq!(&r[3], g, "{}: REF is not the genome", r[2]);
        assert!(["A", "C", "G", "T"].contains(&r[4].as_str()) && r[4] != r[3], "{}: not an SNV", r[2]);
    }

    // Truth: same records; causal effects recounted; nulls change nothing.
    let truth = read_tsv(&out.join("variants.truth.tsv"));
    assert_eq!(truth.len(), records.len());
    let mut causal_bins = HashMap::new();
    let mut null_bins = HashMap::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (t, r) in truth.iter().zip(&records) {
        assert_eq!((&t["id"], &t["chrom"], &t["pos"], &t["ref"], &t["alt"]), (&r[2], &r[0], &r[1], &r[3], &r[4]));
        let pos = t["pos"].parse::<i64>().unwrap() - 1;
        let alt = t["alt"].as_bytes()[0];
        let class = t["class"].as_str();
        assert!(t["id"].starts_with(&format!("{class}_")), "{} has class {class}", t["id"]);
        let k: usize = t["id"].split('_').nth(1).unwrap().parse().unwrap();
        // Every promoter holding the site: effect of the ALT.
        let mut effects: Vec<(String, f64, String)> = Vec::new();
        for (id, &(_, lo, hi, _)) in &promoters {
            if pos < lo || pos >= hi {
                continue;
            }
            let ref_seq = &seq[lo as usize..hi as usize];
            let mut alt_seq = ref_seq.to_vec();
            alt_seq[(pos - lo) as usize] = alt;
            let (rc, ac) = (grammar.counts(ref_seq), grammar.counts(&alt_seq));
            effects.push((id.clone(), grammar.effect(&rc, &ac), grammar.describe(&rc, &ac)));
        }
        let gene = &t["gene"];
        let (tss, lo, hi, strand) = promoters[gene];
        assert!(pos >= lo && pos < hi, "{}: not in the promoter of {gene}", t["id"]);
        let distance = if strand == '+' { tss - pos } else { pos - tss };
        assert_eq!(t["tss_distance"], distance.to_string());
        let reported: f64 = t["log2_effect"].parse().unwrap();
        let mine = effects.iter().find(|e| &e.0 == gene).unwrap();
        if class == "causal" {
            assert!(reported != 0.0, "{}: causal with no effect", t["id"]);
            assert!((reported - mine.1).abs() < 1e-6, "{}: effect {reported}, recount {}", t["id"], mine.1);
            assert_eq!(t["motif"], mine.2, "{}", t["id"]);
            let largest = effects.iter().map(|e| e.1.abs()).fold(0.0, f64::max);
            assert!((reported.abs() - largest).abs() < 1e-9, "{}: not the largest effect", t["id"]);
            causal_bins.insert(k, (distance - 1) / 50);
            let sign = if t["motif"].contains(":+") { "create" } else { "break" };
            *kinds.entry(format!("{}/{sign}", t["motif"].split(':').next().unwrap())).or_default() += 1;
        } else {
            assert_eq!(class, "null");
            assert_eq!(reported, 0.0);
            assert_eq!(t["motif"], ".");
            for e in &effects {
                assert_eq!(e.2, ".", "{}: changes {} of {}", t["id"], e.2, e.0);
            }
            null_bins.insert(k, (distance - 1) / 50);
        }
    }
    assert_eq!(causal_bins.len(), 200);
    assert_eq!(causal_bins, null_bins, "null_k is not in causal_k's TSS-distance bin");
    eprintln!("causal variants by motif and kind: {kinds:?}");
    assert!(kinds.len() >= 8, "causal variants cover few motifs: {kinds:?}");
}

#[test]
fn same_seed_same_bytes_other_seed_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c, d) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"), tmp.path().join("d"));
    run_chri(&a, &["--seed", "5", "-q"]);
    run_chri(&b, &["--seed", "5", "-q"]);
    run_chri(&c, &["--seed", "6", "-q"]);
    // Another depth changes the coverage only.
    run_chri(&d, &["--seed", "5", "--depth", "3", "-q"]);
    let files = ["rna.plus.bw", "rna.minus.bw", "targets.txt", "genes.tsv", "motifs.tsv", "variants.vcf", "variants.truth.tsv"];
    let read = |dir: &PathBuf, f: &str| std::fs::read(dir.join(f)).unwrap();
    for f in files {
        assert!(read(&a, f) == read(&b, f), "{f} differs between two runs with one seed");
    }
    for f in ["rna.plus.bw", "rna.minus.bw", "genes.tsv", "variants.vcf", "variants.truth.tsv"] {
        assert!(read(&a, f) != read(&c, f), "{f} is the same with another seed");
    }
    for f in ["variants.vcf", "variants.truth.tsv"] {
        assert!(read(&a, f) == read(&d, f), "{f} changed with --depth");
    }
    assert!(read(&a, "rna.plus.bw") != read(&d, "rna.plus.bw"));
    // No temporary files left behind.
    let mut names: Vec<String> = std::fs::read_dir(&a).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    let mut want: Vec<String> = files.iter().map(|f| f.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn bad_input_is_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let fa = s(&data("chrI.fa.gz"));
    let gtf = s(&data("chrI.genes.gtf"));
    let o = s(&out);

    let missing = s(&tmp.path().join("nope.fa.gz"));
    assert_one_line_error(&simulate(&["-f", &missing, "-g", &gtf, "-o", &o]), &["nope.fa.gz"]);
    let missing = s(&tmp.path().join("nope.gtf"));
    assert_one_line_error(&simulate(&["-f", &fa, "-g", &missing, "-o", &o]), &["nope.gtf"]);

    // FASTA without an index.
    let bare = tmp.path().join("bare.fa");
    std::fs::write(&bare, ">chrI\nACGT\n").unwrap();
    assert_one_line_error(&simulate(&["-f", &s(&bare), "-g", &gtf, "-o", &o]), &["bare.fa", "index"]);

    // A GTF contig the FASTA lacks.
    let text = std::fs::read_to_string(data("chrI.genes.gtf")).unwrap();
    let other = tmp.path().join("other.gtf");
    std::fs::write(&other, format!("{text}chrZ\tSGD\texon\t100\t400\t.\t+\t.\tgene_id \"YZZ001W\";\n")).unwrap();
    assert_one_line_error(&simulate(&["-f", &fa, "-g", &s(&other), "-o", &o]), &["other.gtf", "chrZ", "not in", "chrI.fa.gz"]);
    // ... which --contigs may leave aside.
    let side = tmp.path().join("side");
    simulate_ok(&["-f", &fa, "-g", &s(&other), "-o", &s(&side), "--contigs", "chrI", "--variants", "5", "-q"]);
    assert_eq!(read_tsv(&side.join("variants.truth.tsv")).len(), 10);

    // No genes at all.
    let empty = tmp.path().join("empty.gtf");
    std::fs::write(&empty, "# nothing\nchrI\tSGD\tgene\t100\t400\t.\t+\t.\tgene_id \"YAL001W\";\n").unwrap();
    assert_one_line_error(&simulate(&["-f", &fa, "-g", &s(&empty), "-o", &o]), &["empty.gtf", "no genes"]);

    // A gene past the contig end.
    let long = tmp.path().join("long.gtf");
    std::fs::write(&long, "chrI\tSGD\texon\t230000\t240000\t.\t+\t.\tgene_id \"YAL999W\";\n").unwrap();
    assert_one_line_error(&simulate(&["-f", &fa, "-g", &s(&long), "-o", &o]), &["long.gtf", "YAL999W", "beyond"]);

    // A malformed GTF line.
    let broken = tmp.path().join("broken.gtf");
    std::fs::write(&broken, "chrI\tSGD\texon\tten\t400\t.\t+\t.\tgene_id \"YAL001W\";\n").unwrap();
    assert_one_line_error(&simulate(&["-f", &fa, "-g", &s(&broken), "-o", &o]), &["broken.gtf", "line 1"]);

    assert_one_line_error(&simulate(&["-f", &fa, "-g", &gtf, "-o", &o, "--contigs", "chrQ"]), &["--contigs", "chrQ"]);
    assert_one_line_error(&simulate(&["-f", &fa, "-g", &gtf, "-o", &o, "--depth", "0"]), &["--depth"]);
    assert_one_line_error(&simulate(&["-f", &fa, "-g", &gtf, "-o", &o, "--promoter-bp", "0"]), &["--promoter-bp"]);
    assert!(!out.exists(), "a failed run left an output folder");

    // An output path that cannot be a folder.
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert_one_line_error(&simulate(&["-f", &fa, "-g", &gtf, "-o", &s(&file), "-q"]), &["file"]);
}

/// The whole S288C genome, when ../shared/data/sacCer3 is beside the project.
#[test]
fn whole_s288c_genome() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/sacCer3");
    let (fa, gtf) = (dir.join("sacCer3.fa.gz"), dir.join("sacCer3.genes.gtf.gz"));
    if !fa.exists() || !gtf.exists() {
        eprintln!("NOTE: {} is absent; whole-genome run not checked here", dir.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bench");
    let t0 = std::time::Instant::now();
    let msg = simulate_ok(&["-f", &s(&fa), "-g", &s(&gtf), "-o", &s(&out)]);
    eprintln!("S288C run: {:.2} s; {}", t0.elapsed().as_secs_f64(), msg.trim());
    let genes = read_tsv(&out.join("genes.tsv"));
    let n_genes = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("zcat {} | awk -F'\\t' '$3==\"exon\"' | grep -o 'gene_id \"[^\"]*\"' | sort -u | wc -l", gtf.display()))
        .output()
        .unwrap();
    let n_genes: usize = String::from_utf8_lossy(&n_genes.stdout).trim().parse().unwrap();
    assert_eq!(genes.len(), n_genes);
    let truth = read_tsv(&out.join("variants.truth.tsv"));
    assert_eq!(truth.iter().filter(|t| t["class"] == "causal").count(), 200);
    assert_eq!(truth.iter().filter(|t| t["class"] == "null").count(), 200);
    let fai = fai(&fa);
    let vcf = std::fs::read_to_string(out.join("variants.vcf")).unwrap();
    let contig_lines: Vec<String> = vcf.lines().filter(|l| l.starts_with("##contig")).map(String::from).collect();
    let want: Vec<String> = fai.iter().map(|(c, n)| format!("##contig=<ID={c},length={n}>")).collect();
    assert_eq!(contig_lines, want);
    // Records in FASTA contig order, then position.
    let order: HashMap<&str, usize> = fai.iter().enumerate().map(|(i, (c, _))| (c.as_str(), i)).collect();
    let keys: Vec<(usize, u64)> = vcf
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (order[f[0]], f[1].parse().unwrap())
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));

    // Per-gene mean exon coverage (pyBigWig, exact) against the planted expression.
    let script = r#"
import sys, csv, numpy as np, pyBigWig
d, gtf = sys.argv[1], sys.argv[2]
import gzip
exons = {}
for line in gzip.open(gtf, "rt"):
    f = line.rstrip("\n").split("\t")
    if len(f) < 9 or f[2] != "exon": continue
    gid = f[8].split('gene_id "')[1].split('"')[0]
    exons.setdefault(gid, []).append((f[0], int(f[3]) - 1, int(f[4])))
bws = {"+": pyBigWig.open(f"{d}/rna.plus.bw"), "-": pyBigWig.open(f"{d}/rna.minus.bw")}
chroms = bws["+"].chroms()
print("chroms", " ".join(f"{c}={n}" for c, n in chroms.items()))
x, y = [], []
for r in csv.DictReader(open(f"{d}/genes.tsv"), delimiter="\t"):
    ex = exons[r["gene_id"]]
    vals = np.concatenate([bws[r["strand"]].values(c, s, e, numpy=True) for c, s, e in ex])
    x.append(np.log2(max(vals.mean(), 1e-3))); y.append(float(r["log2_expression"]))
y = np.array(y)
print("pearson", np.corrcoef(x, y)[0, 1])
print("spread", y.std(), *np.percentile(y, [0, 5, 50, 95, 100]))
"#;
    let text = run_python(script, &[&s(&out), &s(&gtf)]);
    eprintln!("{text}");
    let chroms = text.lines().find(|l| l.starts_with("chroms ")).unwrap();
    let mut listed: Vec<String> = chroms["chroms ".len()..].split(' ').map(String::from).collect();
    listed.sort();
    let mut want: Vec<String> = fai.iter().map(|(c, n)| format!("{c}={n}")).collect();
    want.sort();
    assert_eq!(listed, want);
    let r: f64 = text.lines().find(|l| l.starts_with("pearson ")).unwrap()[8..].trim().parse().unwrap();
    // Same-strand overlapping genes are included here, so a little below chrI's figure.
    assert!(r > 0.95, "coverage does not track expression genome-wide: r = {r}");
}
