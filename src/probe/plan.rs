//! What a probe run is made of, decided from the user's options before any fitting: the
//! splits asked for, the compositional factors, the penalty grid, the feature rows (an
//! embedding file or k-mer frequencies of a FASTA), and per sample its contig group and
//! sequence when a split needs them. `shorkie-probe` parses flags into these and runs them.

use std::path::Path;

use crate::error::{Error, Result};

use super::input::{
    parse_factor, read_embeddings, read_sequences, sequences_by_id, sequences_from_reference, Embeddings, Labels,
    Samples,
};
use super::kmer::kmer_matrix;
use super::log_grid;

/// A split of `--split`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitKind {
    Random,
    Contig,
    Homology,
    Compositional,
}

impl SplitKind {
    pub fn name(self) -> &'static str {
        match self {
            SplitKind::Random => "random",
            SplitKind::Contig => "contig",
            SplitKind::Homology => "homology",
            SplitKind::Compositional => "compositional",
        }
    }
}

/// `--split random,contig,...`: each split once; compositional only on its own.
pub fn parse_splits(text: &str) -> Result<Vec<SplitKind>> {
    let mut out = Vec::new();
    for word in text.split(',').map(str::trim) {
        let kind = match word {
            "random" => SplitKind::Random,
            "contig" => SplitKind::Contig,
            "homology" => SplitKind::Homology,
            "compositional" => SplitKind::Compositional,
            _ => {
                return Err(Error::Input(format!(
                    "--split: unknown split \"{word}\" (choose from random, contig, homology, compositional)"
                )))
            }
        };
        if out.contains(&kind) {
            return Err(Error::Input(format!("--split: {word} is listed twice")));
        }
        out.push(kind);
    }
    if out.contains(&SplitKind::Compositional) && out.len() > 1 {
        return Err(Error::Input(
            "--split: compositional is a hold-out of its own and cannot be combined with other splits".into(),
        ));
    }
    Ok(out)
}

/// `--factors A,B`: two different column names.
pub fn parse_factor_names(text: &str) -> Result<[String; 2]> {
    let names: Vec<&str> = text.split(',').map(str::trim).collect();
    match names[..] {
        [a, b] if !a.is_empty() && !b.is_empty() && a != b => Ok([a.to_string(), b.to_string()]),
        _ => Err(Error::Input(format!("--factors: expected two different column names A,B, got \"{text}\""))),
    }
}

/// `--alphas LO:HI:N`: N penalties log-spaced from LO to HI.
pub fn parse_alphas(text: &str) -> Result<Vec<f64>> {
    let bad = || Error::Input(format!("--alphas: expected LO:HI:N with 0 < LO <= HI and N >= 1, got \"{text}\""));
    let parts: Vec<&str> = text.split(':').collect();
    let [lo, hi, n] = parts[..] else { return Err(bad()) };
    let (lo, hi): (f64, f64) = (lo.trim().parse().map_err(|_| bad())?, hi.trim().parse().map_err(|_| bad())?);
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if !(lo > 0.0 && hi >= lo && hi.is_finite() && n >= 1) {
        return Err(bad());
    }
    crate::limits::at_most(n as u64, 1000, "--alphas: N")?;
    Ok(log_grid(lo, hi, n))
}

/// Each sample's two factors, parsed from the labels' factor columns.
pub fn sample_factors(labels: &Labels, samples: &Samples, names: &[String; 2]) -> Result<(Vec<bool>, Vec<bool>)> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for &j in &samples.labels {
        let r = &labels.rows[j];
        let values = r.factors.as_ref().ok_or_else(|| {
            Error::Input(format!("{}: the factor columns {} and {} were not read", labels.source, names[0], names[1]))
        })?;
        for (k, (value, out)) in values.iter().zip([&mut a, &mut b]).enumerate() {
            let v = parse_factor(value).ok_or_else(|| {
                Error::Input(format!(
                    "{}:{}: factor {} of id {} is \"{value}\", not 1/0, true/false or yes/no",
                    labels.source, r.line, names[k], r.id
                ))
            })?;
            out.push(v);
        }
    }
    Ok((a, b))
}

/// Where the feature rows come from.
pub enum FeatureSource<'a> {
    /// An embedding file (`.tsv`, `.npy`, `.npz`), with an optional ID table.
    Embeddings { path: &'a Path, ids: Option<&'a Path> },
    /// Canonical k-mer frequencies of each record of a FASTA.
    Kmers { k: usize, fasta: &'a Path },
}

/// The feature rows, with the sequences they came from for k-mer features (one per row),
/// and a description for the report.
pub struct Features {
    pub emb: Embeddings,
    pub own_sequences: Option<Vec<Vec<u8>>>,
    pub description: String,
}

pub fn load_features(source: FeatureSource) -> Result<Features> {
    match source {
        FeatureSource::Kmers { k, fasta } => {
            let source = fasta.display().to_string();
            let records = read_sequences(fasta)?;
            let (ids, seqs): (Vec<String>, Vec<Vec<u8>>) = records.into_iter().unzip();
            let x = kmer_matrix(&ids, &seqs, k, &source)?;
            Ok(Features {
                description: format!("canonical {k}-mer frequencies of {source}"),
                emb: Embeddings::computed(&source, ids, x),
                own_sequences: Some(seqs),
            })
        }
        FeatureSource::Embeddings { path, ids } => {
            let emb = read_embeddings(path, ids)?;
            let description = match &emb.id_table {
                Some(t) if t.source != emb.source => format!("{} (ids from {})", emb.source, t.source),
                _ => emb.source.clone(),
            };
            Ok(Features { emb, own_sequences: None, description })
        }
    }
}

/// A group per sample for the contig split, and where the groups came from: the labels'
/// `group_column` when named, else the contigs of the ID table's regions, else the labels'
/// own contig column.
pub fn contig_groups(
    group_column: Option<&str>,
    emb: &Embeddings,
    labels: &Labels,
    samples: &Samples,
) -> Result<(Vec<String>, String)> {
    let from_labels = |column: &str| -> Result<(Vec<String>, String)> {
        let groups = samples
            .labels
            .iter()
            .map(|&j| {
                let r = &labels.rows[j];
                match r.group.as_deref() {
                    Some(g) if !g.is_empty() && g != "." => Ok(g.to_string()),
                    _ => Err(Error::Input(format!(
                        "{}:{}: id {} has no value in column {column}",
                        labels.source, r.line, r.id
                    ))),
                }
            })
            .collect::<Result<_>>()?;
        Ok((groups, format!("column {column} of {}", labels.source)))
    };
    if let Some(column) = group_column {
        return from_labels(column);
    }
    if let Some(table) = emb.id_table.as_ref().filter(|t| t.rows.iter().any(|r| r.region.is_some())) {
        let groups = samples
            .rows
            .iter()
            .map(|&i| {
                let r = &table.rows[i];
                r.region.as_ref().map(|g| g.contig.clone()).ok_or_else(|| {
                    Error::Input(format!(
                        "{}:{}: id {} has no contig, which the contig split needs (or use --group-column)",
                        table.source, r.line, r.id
                    ))
                })
            })
            .collect::<Result<_>>()?;
        return Ok((groups, format!("contigs of {}", table.source)));
    }
    if let Some(column) = &labels.group_column {
        return from_labels(column);
    }
    Err(Error::Input(format!(
        "the contig split needs contigs: {} has no ID table with regions and {} no contig column \
         (name one with --group-column)",
        emb.source, labels.source
    )))
}

/// Where the homology split finds the samples' sequences.
pub enum SequenceSource<'a> {
    /// The records of a FASTA, named by id.
    Fasta(&'a Path),
    /// Each id's region of the ID table, fetched from an indexed genome.
    Reference(&'a Path),
}

/// The samples' sequences for the homology split: the k-mer features' own sequences when
/// the features came from a FASTA, else from `source`.
pub fn sample_sequences(
    source: Option<SequenceSource>,
    emb: &Embeddings,
    own: Option<&Vec<Vec<u8>>>,
    samples: &Samples,
) -> Result<Vec<Vec<u8>>> {
    if let Some(seqs) = own {
        return Ok(samples.rows.iter().map(|&i| seqs[i].clone()).collect());
    }
    match source {
        Some(SequenceSource::Fasta(fasta)) => {
            let records = read_sequences(fasta)?;
            let ids: Vec<&str> = samples.rows.iter().map(|&i| emb.ids[i].as_str()).collect();
            sequences_by_id(&records, &ids, &fasta.display().to_string())
        }
        Some(SequenceSource::Reference(genome)) => sequences_from_reference(emb, &samples.rows, genome),
        None => Err(Error::Input(
            "the homology split needs sequences: --sequences FASTA (records named by id) or --reference GENOME.fa \
             (regions from the ID table)"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_parse_once_each_and_compositional_alone() {
        assert_eq!(parse_splits("random, homology").unwrap(), vec![SplitKind::Random, SplitKind::Homology]);
        assert_eq!(parse_splits("contig").unwrap(), vec![SplitKind::Contig]);
        let err = |t: &str| parse_splits(t).unwrap_err().to_string();
        assert!(err("random,random").contains("random is listed twice"));
        assert!(err("random,kmer").contains("unknown split \"kmer\""));
        assert!(err("random,compositional").contains("cannot be combined"));
    }

    #[test]
    fn factor_names_are_two_different_columns() {
        assert_eq!(parse_factor_names("intron, tata").unwrap(), ["intron".to_string(), "tata".to_string()]);
        for bad in ["intron", "a,a", "a,", "a,b,c"] {
            assert!(parse_factor_names(bad).unwrap_err().to_string().contains("two different column names"), "{bad}");
        }
    }

    #[test]
    fn alphas_are_a_log_grid_with_checked_bounds() {
        let a = parse_alphas("0.01:100:5").unwrap();
        assert_eq!(a.len(), 5);
        assert!((a[0] - 0.01).abs() < 1e-12 && (a[4] - 100.0).abs() < 1e-9 && (a[2] - 1.0).abs() < 1e-12);
        for bad in ["0:1:3", "1:0.5:3", "1:2", "1:2:0", "a:2:3", "1:inf:3"] {
            assert!(parse_alphas(bad).is_err(), "{bad}");
        }
    }
}
