//! Linear probes on real S288C labels: the embedded default LM's embeddings against k-mer
//! frequency features, under random, by-chromosome and homology-aware splits.
//!
//! `cargo bench --bench probe_yeast` — needs ../shared (or $SHORKIE_SHARED). Tasks, from
//! the sacCer3 gene annotation:
//! - **CDS vs intergenic**: 256-bp windows inside a protein-coding CDS segment (one per
//!   gene, random offset, in the gene's orientation) against windows overlapping no
//!   annotated gene of any biotype (random positions, forward strand).
//! - **intron presence**: the first 400 bp of each protein-coding ORF from its start codon
//!   (genomic, in the gene's orientation, so an intron there is included), labelled by
//!   whether the gene's CDS segments leave a gap of at least 20 bp (an intron; Ty
//!   frameshifts abut); all intron-containing genes and four times as many intronless ones.
//! - **naive label**: the same windows labelled by "more than one CDS segment", which also
//!   counts the Ty1/Ty2 ORFs (their ribosomal frameshift is annotated as two segments):
//!   dozens of near-identical positives, the leakage homology-aware splits are for.
//!
//! - **compositional, intron × TATA**: 200 bp upstream of the start codon plus the ORF's
//!   first 400 bp (600 bp, in the gene's orientation) of every intron-containing
//!   protein-coding gene and four times as many intronless ones; factor A = an intron
//!   (as above), factor B = a TATA box (TATAWAWR, Basehoar et al. 2004) in the 200 bp
//!   upstream; label = the gene's codon adaptation index (Sharp & Li, weights from the
//!   ribosomal-protein genes RPL*/RPS*), a sequence-derived proxy of expression that both
//!   elements relate to (intron genes are mostly highly expressed RP genes, TATA genes
//!   stress-regulated). Ridge probes train on genes with at most one element and are
//!   tested on the genes with both, beside a class-matched random hold-out of the same
//!   size, with a label-permutation test (999 permutations).
//!
//! `PROBE_YEAST_ONLY=compositional` runs only the last case.
//!
//! Every sample is embedded alone (N-padded to the model's 1,024 bp): transformer layer,
//! mean-pooled. The k-mer baseline is canonical 5-mer frequencies. Probes are L2 logistic
//! regressions with 5 outer x 4 inner folds; intervals are 95% bootstrap intervals over
//! the out-of-fold predictions; differences are paired.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use shorkie::dna::reverse_complement;
use shorkie::embed::source::fasta_items;
use shorkie::embed::{Embedder, Item, Layer, Pool};
use shorkie::formats::indexed_fasta::Fasta;
use shorkie::probe::kmer::kmer_matrix;
use shorkie::probe::{compare_splits, CvConfig, Matrix, Metric, ProbeData, SplitStrategy, Task};
use shorkie::sim::rng::Rng;

const CDS_WINDOW: usize = 256;
const ORF_WINDOW: usize = 400;
const PER_CLASS: usize = 800;
const HOMOLOGY: SplitStrategy = SplitStrategy::Homology { k: 12, threshold: 0.1, sketch: 128 };

struct Gene {
    id: String,
    chrom: String,
    strand: char,
    biotype: String,
    name: String,
    span: (i64, i64),
    cds: Vec<(i64, i64)>,
}

fn read_genes(path: &std::path::Path) -> Vec<Gene> {
    let mut genes: Vec<Gene> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for r in shorkie::formats::gtf::Records::open(path).expect("GTF") {
        let r = r.expect("GTF record");
        let id = r.attribute("gene_id").unwrap_or_default();
        match r.feature.as_str() {
            "gene" => {
                index.insert(id.clone(), genes.len());
                genes.push(Gene {
                    id: id.clone(),
                    chrom: r.contig.clone(),
                    strand: r.strand.unwrap_or('+'),
                    biotype: r.attribute("gene_biotype").unwrap_or_default(),
                    name: r.attribute("gene_name").unwrap_or_else(|| id.clone()),
                    span: (r.start, r.end),
                    cds: Vec::new(),
                });
            }
            "CDS" => {
                if let Some(&g) = index.get(&id) {
                    genes[g].cds.push((r.start, r.end));
                }
            }
            _ => {}
        }
    }
    genes.retain(|g| g.chrom != "chrM");
    for g in &mut genes {
        g.cds.sort();
    }
    genes
}

fn oriented(fasta: &Fasta, chrom: &str, start: i64, end: i64, strand: char) -> Vec<u8> {
    let s = fasta.fetch_padded(chrom, start, end).expect("fetch");
    if strand == '-' { reverse_complement(&s) } else { s }
}

struct Sample {
    id: String,
    chrom: String,
    seq: Vec<u8>,
    label: f64,
}

fn cds_vs_intergenic(genes: &[Gene], fasta: &Fasta, rng: &mut Rng) -> Vec<Sample> {
    let mut coding: Vec<&Gene> = genes
        .iter()
        .filter(|g| g.biotype == "protein_coding" && g.cds.iter().any(|c| c.1 - c.0 >= CDS_WINDOW as i64))
        .collect();
    rng.shuffle(&mut coding);
    let mut out = Vec::new();
    for g in coding.into_iter().take(PER_CLASS) {
        let seg = *g.cds.iter().filter(|c| c.1 - c.0 >= CDS_WINDOW as i64).max_by_key(|c| c.1 - c.0).unwrap();
        let room = (seg.1 - seg.0) as u64 - CDS_WINDOW as u64;
        let start = seg.0 + rng.below(room + 1) as i64;
        let seq = oriented(fasta, &g.chrom, start, start + CDS_WINDOW as i64, g.strand);
        out.push(Sample { id: format!("cds:{}", g.id), chrom: g.chrom.clone(), seq, label: 1.0 });
    }
    // Intergenic: random windows that touch no gene of any biotype.
    let mut by_chrom: HashMap<&str, Vec<(i64, i64)>> = HashMap::new();
    for g in genes {
        by_chrom.entry(g.chrom.as_str()).or_default().push(g.span);
    }
    let contigs: Vec<(String, u64)> = fasta.contigs().into_iter().filter(|(c, _)| by_chrom.contains_key(c.as_str())).collect();
    let total: u64 = contigs.iter().map(|c| c.1).sum();
    let mut n = 0;
    while n < PER_CLASS {
        let mut at = rng.below(total);
        let (chrom, len) = contigs.iter().find(|(_, l)| if at < *l { true } else { at -= l; false }).unwrap();
        if at + CDS_WINDOW as u64 > *len {
            continue;
        }
        let (s, e) = (at as i64, (at + CDS_WINDOW as u64) as i64);
        if by_chrom[chrom.as_str()].iter().any(|&(gs, ge)| gs < e && s < ge) {
            continue;
        }
        let seq = fasta.fetch_padded(chrom, s, e).expect("fetch");
        if seq.iter().filter(|b| **b == b'N').count() > 0 {
            continue;
        }
        out.push(Sample { id: format!("ig:{chrom}:{s}"), chrom: chrom.clone(), seq, label: 0.0 });
        n += 1;
    }
    out
}

/// A gap of at least 20 bp between CDS segments. Ty1/Ty2 ORFs are annotated as two
/// abutting or overlapping CDS segments (the TYA-TYB ribosomal frameshift), which is not
/// an intron.
fn has_intron(g: &Gene) -> bool {
    g.cds.windows(2).any(|w| w[1].0 - w[0].1 >= 20)
}

fn intron_presence(genes: &[Gene], fasta: &Fasta, rng: &mut Rng, positive: fn(&Gene) -> bool) -> Vec<Sample> {
    let coding: Vec<&Gene> = genes.iter().filter(|g| g.biotype == "protein_coding" && !g.cds.is_empty()).collect();
    let mut with: Vec<&Gene> = coding.iter().copied().filter(|g| positive(g)).collect();
    let mut without: Vec<&Gene> = coding.iter().copied().filter(|g| !positive(g)).collect();
    rng.shuffle(&mut without);
    without.truncate(4 * with.len());
    with.append(&mut without);
    with.iter()
        .map(|g| {
            let (start, end) = if g.strand == '-' {
                let atg_end = g.cds.last().unwrap().1;
                (atg_end - ORF_WINDOW as i64, atg_end)
            } else {
                let atg = g.cds[0].0;
                (atg, atg + ORF_WINDOW as i64)
            };
            let seq = oriented(fasta, &g.chrom, start, end, g.strand);
            Sample { id: g.id.clone(), chrom: g.chrom.clone(), seq, label: if positive(g) { 1.0 } else { 0.0 } }
        })
        .collect()
}

const UPSTREAM: i64 = 200;

/// The spliced CDS in the gene's orientation.
fn cds_sequence(fasta: &Fasta, g: &Gene) -> Vec<u8> {
    let mut seq = Vec::new();
    for &(s, e) in &g.cds {
        seq.extend(fasta.fetch_padded(&g.chrom, s, e).expect("fetch"));
    }
    if g.strand == '-' { reverse_complement(&seq) } else { seq }
}

/// TATAWAWR anywhere in `seq`.
fn has_tata(seq: &[u8]) -> bool {
    let ok = |b: u8, set: &[u8]| set.contains(&b);
    seq.windows(8).any(|w| {
        w[..4] == *b"TATA" && ok(w[4], b"AT") && w[5] == b'A' && ok(w[6], b"AT") && ok(w[7], b"AG")
    })
}

/// Codon weights (relative adaptiveness) from a reference set: each codon's count over
/// its amino acid's most used codon, with half a pseudocount so unseen codons stay finite.
fn codon_weights(reference: &[Vec<u8>]) -> HashMap<[u8; 3], f64> {
    const BASES: &[u8; 4] = b"TCAG";
    // The standard genetic code in TCAG order.
    const AA: &[u8; 64] = b"FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG";
    let mut counts: HashMap<[u8; 3], f64> = HashMap::new();
    for seq in reference {
        for c in seq.chunks_exact(3) {
            *counts.entry([c[0], c[1], c[2]]).or_default() += 1.0;
        }
    }
    let mut codons = Vec::new();
    for (i, &a) in BASES.iter().enumerate() {
        for (j, &b) in BASES.iter().enumerate() {
            for (k, &c) in BASES.iter().enumerate() {
                codons.push(([a, b, c], AA[16 * i + 4 * j + k]));
            }
        }
    }
    let mut best: HashMap<u8, f64> = HashMap::new();
    for (codon, aa) in &codons {
        let n = counts.get(codon).copied().unwrap_or(0.0) + 0.5;
        let e = best.entry(*aa).or_default();
        *e = e.max(n);
    }
    codons
        .iter()
        // Single-codon amino acids and stops carry no codon choice.
        .filter(|(_, aa)| !matches!(aa, b'M' | b'W' | b'*'))
        .map(|(codon, aa)| (*codon, (counts.get(codon).copied().unwrap_or(0.0) + 0.5) / best[aa]))
        .collect()
}

/// Geometric mean of the codon weights over a CDS.
fn cai(cds: &[u8], weights: &HashMap<[u8; 3], f64>) -> Option<f64> {
    let logs: Vec<f64> = cds.chunks_exact(3).filter_map(|c| weights.get(&[c[0], c[1], c[2]])).map(|w| w.ln()).collect();
    (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
}

/// (samples, intron flags, TATA flags) for the compositional task.
fn intron_tata_cai(genes: &[Gene], fasta: &Fasta, rng: &mut Rng) -> (Vec<Sample>, Vec<bool>, Vec<bool>) {
    let coding: Vec<&Gene> = genes.iter().filter(|g| g.biotype == "protein_coding" && !g.cds.is_empty()).collect();
    let reference: Vec<Vec<u8>> = coding
        .iter()
        .filter(|g| g.name.starts_with("RPL") || g.name.starts_with("RPS"))
        .map(|g| cds_sequence(fasta, g))
        .collect();
    let weights = codon_weights(&reference);
    let mut with: Vec<&Gene> = coding.iter().copied().filter(|g| has_intron(g)).collect();
    let mut without: Vec<&Gene> = coding.iter().copied().filter(|g| !has_intron(g)).collect();
    rng.shuffle(&mut without);
    without.truncate(4 * with.len());
    with.append(&mut without);
    let (mut samples, mut intron, mut tata) = (Vec::new(), Vec::new(), Vec::new());
    for g in with {
        let (start, end) = if g.strand == '-' {
            let atg_end = g.cds.last().expect("has CDS").1;
            (atg_end - ORF_WINDOW as i64, atg_end + UPSTREAM)
        } else {
            let atg = g.cds[0].0;
            (atg - UPSTREAM, atg + ORF_WINDOW as i64)
        };
        let seq = oriented(fasta, &g.chrom, start, end, g.strand);
        let Some(label) = cai(&cds_sequence(fasta, g), &weights) else { continue };
        tata.push(has_tata(&seq[..UPSTREAM as usize]));
        intron.push(has_intron(g));
        samples.push(Sample { id: g.id.clone(), chrom: g.chrom.clone(), seq, label });
    }
    (samples, intron, tata)
}

fn embed(embedder: &Embedder, samples: &[Sample]) -> Matrix {
    let mut text = Vec::new();
    for s in samples {
        text.extend_from_slice(format!(">{}\n", s.id).as_bytes());
        text.extend_from_slice(&s.seq);
        text.push(b'\n');
    }
    let items: Vec<Item> = fasta_items(text.as_slice(), "samples", embedder.planner()).collect::<shorkie::Result<_>>().expect("items");
    let mut data = Vec::new();
    for chunk in items.chunks(64) {
        for e in embedder.embed(chunk, 16).expect("embed") {
            data.extend(e.data.iter().map(|v| *v as f64));
        }
    }
    Matrix::new(samples.len(), embedder.dim(), data).expect("matrix")
}

/// What the homology split keeps together: samples in multi-member clusters, their share
/// of positives, and the members of the largest clusters (gene names where known).
fn describe_clusters(task: &str, samples: &[Sample], genes: &[Gene]) -> shorkie::Result<()> {
    let SplitStrategy::Homology { k, threshold, sketch } = HOMOLOGY else { unreachable!() };
    let seqs: Vec<&[u8]> = samples.iter().map(|s| s.seq.as_slice()).collect();
    let c = shorkie::probe::homology::cluster(&seqs, k, threshold, sketch)?;
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, &cl) in c.cluster_of.iter().enumerate() {
        members.entry(cl).or_default().push(i);
    }
    let mut multi: Vec<Vec<usize>> = members.into_values().filter(|m| m.len() > 1).collect();
    multi.sort_by_key(|m| std::cmp::Reverse(m.len()));
    let in_multi: usize = multi.iter().map(Vec::len).sum();
    let pos = multi.iter().flatten().filter(|&&i| samples[i].label == 1.0).count();
    let names: HashMap<&str, &str> = genes.iter().map(|g| (g.id.as_str(), g.name.as_str())).collect();
    eprintln!("{task}: {in_multi} samples in {} multi-member clusters ({pos} positive)", multi.len());
    for m in multi.iter().take(4) {
        let shown: Vec<String> = m
            .iter()
            .take(12)
            .map(|&i| {
                let id = samples[i].id.trim_start_matches("cds:");
                format!("{}{}", names.get(id).copied().unwrap_or(id), if samples[i].label == 1.0 { "+" } else { "" })
            })
            .collect();
        eprintln!("  cluster of {}: {}", m.len(), shown.join(" "));
    }
    Ok(())
}

fn fmt(i: &shorkie::probe::Interval) -> String {
    format!("{:.3} [{:.3}, {:.3}]", i.estimate, i.lo, i.hi)
}

fn main() -> shorkie::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("SHORKIE_SHARED").map(PathBuf::from).unwrap_or_else(|| root.join("../shared"));
    let sac = shared.join("data/sacCer3");
    if !sac.join("sacCer3.fa.gz").exists() {
        eprintln!("probe_yeast: ../shared not found; set SHORKIE_SHARED");
        std::process::exit(2);
    }
    let fasta = Fasta::open(&sac.join("sacCer3.fa.gz"))?;
    let genes = read_genes(&sac.join("sacCer3.genes.gtf.gz"));
    let mut rng = Rng::stream(2026, "probe_yeast", 0);
    let tasks = vec![
        ("CDS vs intergenic (256 bp)", cds_vs_intergenic(&genes, &fasta, &mut rng)),
        ("intron presence (ORF 0-400)", intron_presence(&genes, &fasta, &mut rng, has_intron)),
        ("naive label: >1 CDS segment (ORF 0-400)", intron_presence(&genes, &fasta, &mut rng, |g| g.cds.len() > 1)),
    ];
    let (_, model) = shorkie::default_model::load(&Device::Cpu)?;
    let layout = shorkie::score::encode::InputLayout::new(model.in_channels, Some(shorkie::default_model::DEFAULT_SPECIES_INDEX))?;
    let layer = Layer::resolve(&model, "transformer")?;
    let embedder = Embedder::new(model, layout, layer, Pool::Mean, false);
    // PROBE_YEAST_ONLY=compositional runs only the compositional case.
    if std::env::var("PROBE_YEAST_ONLY").is_ok_and(|v| v == "compositional") {
        return compositional_case(&genes, &fasta, &mut rng, &embedder);
    }
    let splits = [SplitStrategy::Random, SplitStrategy::ByGroup, HOMOLOGY];
    let mut table = vec![
        "| task | n (pos) | features | split | groups (largest) | AUROC [95% CI] | AUPRC [95% CI] | AUROC: random − this split [95% CI] |".to_string(),
        "|---|---|---|---|---|---|---|---|".to_string(),
    ];
    for (name, samples) in &tasks {
        let y: Vec<f64> = samples.iter().map(|s| s.label).collect();
        let pos = y.iter().filter(|v| **v == 1.0).count();
        let groups: Vec<String> = samples.iter().map(|s| s.chrom.clone()).collect();
        let seqs: Vec<Vec<u8>> = samples.iter().map(|s| s.seq.clone()).collect();
        let ids: Vec<String> = samples.iter().map(|s| s.id.clone()).collect();
        describe_clusters(name, samples, &genes)?;
        let t = Instant::now();
        let lm = embed(&embedder, samples);
        eprintln!("{name}: embedded {} sequences in {:.1} s", samples.len(), t.elapsed().as_secs_f64());
        let kmers = kmer_matrix(&ids, &seqs, 5, name)?;
        for (features, x) in [("LM transformer, mean (128)", &lm), ("5-mer frequencies (512)", &kmers)] {
            let t = Instant::now();
            let data = ProbeData::new(x, &y).with_groups(&groups).with_sequences(&seqs);
            let cmp = compare_splits(&data, &splits, &CvConfig::new(Task::Classification))?;
            eprintln!("{name} / {features}: probes in {:.1} s", t.elapsed().as_secs_f64());
            for (i, r) in cmp.reports.iter().enumerate() {
                let split = match r.strategy {
                    SplitStrategy::Random => "random".to_string(),
                    SplitStrategy::ByGroup => "by chromosome".to_string(),
                    SplitStrategy::Homology { k, threshold, .. } => format!("homology (k={k}, J≥{threshold})"),
                };
                let diff = if i == 0 {
                    "—".to_string()
                } else {
                    cmp.differences
                        .iter()
                        .find(|d| d.metric == Metric::Auroc && d.other == r.strategy.to_string())
                        .map(|d| fmt(&d.difference))
                        .unwrap_or_default()
                };
                table.push(format!(
                    "| {name} | {} ({pos}) | {features} | {split} | {} ({}) | {} | {} | {diff} |",
                    samples.len(),
                    r.n_groups,
                    r.largest_group,
                    fmt(r.metric(Metric::Auroc).expect("auroc")),
                    fmt(r.metric(Metric::Auprc).expect("auprc")),
                ));
            }
        }
    }
    for line in table {
        println!("{line}");
    }
    compositional_case(&genes, &fasta, &mut rng, &embedder)
}

/// The intron × TATA compositional split on codon adaptation, LM embeddings vs 5-mers.
fn compositional_case(genes: &[Gene], fasta: &Fasta, rng: &mut Rng, embedder: &Embedder) -> shorkie::Result<()> {
    use shorkie::probe::compositional::{compositional, Factors};
    let (samples, intron, tata) = intron_tata_cai(genes, fasta, rng);
    let y: Vec<f64> = samples.iter().map(|s| s.label).collect();
    let seqs: Vec<Vec<u8>> = samples.iter().map(|s| s.seq.clone()).collect();
    let ids: Vec<String> = samples.iter().map(|s| s.id.clone()).collect();
    let t = Instant::now();
    let lm = embed(embedder, &samples);
    eprintln!("intron x TATA: embedded {} sequences in {:.1} s", samples.len(), t.elapsed().as_secs_f64());
    let kmers = kmer_matrix(&ids, &seqs, 5, "intron x TATA")?;
    println!();
    println!(
        "| task | features | neither / intron / TATA / both | split | n test | R² [95% CI] | Pearson [95% CI] | R²: random − compositional [95% CI] | permutation p (R²) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let factors = Factors { a: &intron, b: &tata, names: ("intron", "TATA") };
    for (features, x) in [("LM transformer, mean (128)", &lm), ("5-mer frequencies (512)", &kmers)] {
        let t = Instant::now();
        let r = compositional(&ProbeData::new(x, &y), &factors, &CvConfig::new(Task::Regression), 999)?;
        eprintln!("intron x TATA / {features}: probes in {:.1} s", t.elapsed().as_secs_f64());
        let c = r.counts;
        let gap = r.gaps.iter().find(|(m, _)| *m == Metric::R2).map(|(_, g)| fmt(g)).unwrap_or_default();
        let p = r.permutation.as_ref().map(|p| format!("{:.3}", p.p_value)).unwrap_or_default();
        for (split, h) in [("compositional", &r.compositional), ("random hold-out", &r.random)] {
            let first = split == "compositional";
            println!(
                "| codon adaptation (600 bp) | {features} | {} / {} / {} / {} | {split} | {} | {} | {} | {} | {} |",
                c[0],
                c[1],
                c[2],
                c[3],
                h.n_test,
                fmt(h.metric(Metric::R2).expect("r2")),
                fmt(h.metric(Metric::Pearson).expect("pearson")),
                if first { gap.as_str() } else { "—" },
                if first { p.as_str() } else { "—" },
            );
        }
    }
    Ok(())
}
