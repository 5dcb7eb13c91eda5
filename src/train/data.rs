//! Masked-language-model training data: genomes from a table, windows split by held-out
//! chromosomes, and BERT-style masked batches in Shorkie's input layout.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use super::rng::Rng;
use crate::error::{Error, Result};
use crate::formats::fasta_stream::{FastaRecord, FastaRecords};
use crate::formats::gtf::GeneIndex;

/// One row of `genomes.tsv`: species name, FASTA, optional GTF, species index.
#[derive(Debug, Clone, PartialEq)]
pub struct GenomeSpec {
    pub name: String,
    pub fasta: PathBuf,
    pub gtf: Option<PathBuf>,
    pub species: usize,
}

/// Reads `genomes.tsv` (tab-separated: name, fasta, gtf or `-`, species index; an optional
/// header line starting with `name` or `#`; plain or gzip). Relative paths are taken from the
/// table's folder.
pub fn read_genome_table(path: &Path) -> Result<Vec<GenomeSpec>> {
    let text = crate::formats::text::open_path(path)?.read_to_string()?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let resolve = |p: &str| {
        let p = PathBuf::from(p);
        if p.is_absolute() { p } else { base.join(p) }
    };
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') || (i == 0 && line.starts_with("name")) {
            continue;
        }
        let bad = |what: String| Error::Input(format!("{}: line {}: {what}", path.display(), i + 1));
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 4 {
            return Err(bad(format!("expected 4 tab-separated columns (name, fasta, gtf or -, species index), got {}", f.len())));
        }
        let species = f[3].trim().parse::<usize>().map_err(|_| bad(format!("bad species index \"{}\"", f[3])))?;
        if !names.insert(f[0].to_string()) {
            return Err(bad(format!("species {} listed twice", f[0])));
        }
        let gtf = match f[2].trim() {
            "" | "-" | "." => None,
            g => Some(resolve(g)),
        };
        out.push(GenomeSpec { name: f[0].to_string(), fasta: resolve(f[1]), gtf, species });
    }
    if out.is_empty() {
        return Err(Error::Input(format!("{}: no genomes listed", path.display())));
    }
    Ok(out)
}

pub struct Contig {
    pub name: String,
    /// As in the FASTA: lowercase marks soft-masked repeats.
    pub seq: Vec<u8>,
    pub exon: Vec<bool>,
}

pub struct Genome {
    pub spec: GenomeSpec,
    pub contigs: Vec<Contig>,
}

/// Reads a whole genome FASTA (plain, gzip or bgzip), bases as written: lowercase marks
/// soft-masked repeats.
pub fn read_fasta(path: &Path) -> Result<Vec<FastaRecord>> {
    let text = crate::formats::text::open_path(path)?;
    let source = text.source().to_string();
    let out: Vec<FastaRecord> = FastaRecords::as_written(text, &source).collect::<Result<_>>()?;
    if out.is_empty() {
        return Err(Error::Input(format!("{source}: no sequences in the FASTA")));
    }
    Ok(out)
}

/// A training example: `seq_len` bases of one contig.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub genome: usize,
    pub contig: usize,
    pub start: usize,
}

pub struct CorpusOptions {
    pub seq_len: usize,
    pub stride: usize,
    pub max_n_frac: f64,
    pub valid_contigs: Vec<String>,
    pub test_contigs: Vec<String>,
    /// Species channels; must exceed every species index in the table.
    pub num_species: usize,
}

pub struct Corpus {
    pub genomes: Vec<Genome>,
    pub train: Vec<Window>,
    pub valid: Vec<Window>,
    pub test: Vec<Window>,
    pub seq_len: usize,
    pub num_species: usize,
}

/// How batches are masked.
#[derive(Debug, Clone)]
pub struct MaskOptions {
    pub rate: f64,
    pub exon_weight: f32,
    pub repeat_weight: f32,
    pub reverse_complement: bool,
}

/// Inputs `[B, L, 5 + species]`, targets `[B, L]` (base index), and loss weights `[B, L]`
/// (0 where not masked).
pub struct Batch {
    pub x: Tensor,
    pub targets: Tensor,
    pub weights: Tensor,
    pub masked: usize,
}

fn base(b: u8) -> Option<u8> {
    crate::dna::base_index(b).map(|k| k as u8)
}

impl Corpus {
    pub fn load(specs: &[GenomeSpec], opts: &CorpusOptions) -> Result<Self> {
        if let Some(s) = specs.iter().find(|s| s.species >= opts.num_species) {
            return Err(Error::Input(format!(
                "species {} has index {}, but the model has {} species channels",
                s.name, s.species, opts.num_species
            )));
        }
        let valid: HashSet<&str> = opts.valid_contigs.iter().map(String::as_str).collect();
        let test: HashSet<&str> = opts.test_contigs.iter().map(String::as_str).collect();
        let mut genomes = Vec::new();
        let (mut train_w, mut valid_w, mut test_w) = (Vec::new(), Vec::new(), Vec::new());
        let mut longest = 0;
        for (gi, spec) in specs.iter().enumerate() {
            let records = read_fasta(&spec.fasta)?;
            let genes = match &spec.gtf {
                Some(g) => Some(GeneIndex::from_path(g)?),
                None => None,
            };
            let mut contigs = Vec::new();
            for (ci, FastaRecord { name, accession, seq, .. }) in records.into_iter().enumerate() {
                let mut exon = vec![false; seq.len()];
                if let Some(genes) = &genes {
                    // GTF contigs match the FASTA name or its RefSeq accession (first word
                    // of the description).
                    let list = genes.by_contig.get(&name).or_else(|| accession.as_ref().and_then(|a| genes.by_contig.get(a)));
                    for g in list.into_iter().flatten() {
                        for &(s, e) in &g.exons {
                            let (s, e) = (s.max(0) as usize, (e.max(0) as usize).min(seq.len()));
                            if s < e {
                                exon[s..e].fill(true);
                            }
                        }
                    }
                }
                longest = longest.max(seq.len());
                let split = if valid.contains(name.as_str()) {
                    &mut valid_w
                } else if test.contains(name.as_str()) {
                    &mut test_w
                } else {
                    &mut train_w
                };
                let mut start = 0;
                while start + opts.seq_len <= seq.len() {
                    let n = seq[start..start + opts.seq_len].iter().filter(|b| base(**b).is_none()).count();
                    if (n as f64) <= opts.max_n_frac * opts.seq_len as f64 {
                        split.push(Window { genome: gi, contig: ci, start });
                    }
                    start += opts.stride.max(1);
                }
                contigs.push(Contig { name, seq, exon });
            }
            genomes.push(Genome { spec: spec.clone(), contigs });
        }
        if longest < opts.seq_len {
            return Err(Error::Input(format!(
                "the window ({} bp) is longer than every contig (longest {longest} bp)",
                opts.seq_len
            )));
        }
        if train_w.is_empty() {
            return Err(Error::Input("no training windows: every contig is held out or too full of N".into()));
        }
        Ok(Corpus { genomes, train: train_w, valid: valid_w, test: test_w, seq_len: opts.seq_len, num_species: opts.num_species })
    }

    pub fn channels(&self) -> usize {
        5 + self.num_species
    }

    /// Counts of contigs and bases per split, for logs.
    pub fn describe(&self) -> String {
        format!(
            "{} genomes, {} train / {} valid / {} test windows of {} bp",
            self.genomes.len(),
            self.train.len(),
            self.valid.len(),
            self.test.len(),
            self.seq_len
        )
    }

    /// A masked batch of `windows`, with all randomness from `rng`.
    pub fn batch(&self, windows: &[Window], rng: &mut Rng, mask: &MaskOptions, device: &Device) -> Result<Batch> {
        let (l, c) = (self.seq_len, self.channels());
        let n = windows.len();
        let mut x = vec![0f32; n * l * c];
        let mut targets = vec![0u32; n * l];
        let mut weights = vec![0f32; n * l];
        let mut masked = 0;
        for (k, w) in windows.iter().enumerate() {
            let g = &self.genomes[w.genome];
            let contig = &g.contigs[w.contig];
            let rc = mask.reverse_complement && rng.uniform() < 0.5;
            for i in 0..l {
                let src = if rc { w.start + l - 1 - i } else { w.start + i };
                let raw = contig.seq[src];
                let b = base(raw).map(|b| if rc { 3 - b } else { b });
                let row = &mut x[(k * l + i) * c..(k * l + i + 1) * c];
                row[5 + g.spec.species] = 1.0;
                let selected = b.is_some() && rng.uniform() < mask.rate;
                let b_in = if selected {
                    let r = rng.uniform();
                    let t = b.expect("selected bases are ACGT");
                    targets[k * l + i] = t as u32;
                    let mut wt = 1.0;
                    if contig.exon[src] {
                        wt *= mask.exon_weight;
                    }
                    if raw.is_ascii_lowercase() {
                        wt *= mask.repeat_weight;
                    }
                    weights[k * l + i] = wt;
                    masked += 1;
                    if r < 0.8 {
                        row[4] = 1.0;
                        None
                    } else if r < 0.9 {
                        Some(rng.below(4) as u8)
                    } else {
                        Some(t)
                    }
                } else {
                    b
                };
                if let Some(bi) = b_in {
                    row[bi as usize] = 1.0;
                }
            }
        }
        Ok(Batch {
            x: Tensor::from_vec(x, (n, l, c), device)?,
            targets: Tensor::from_vec(targets, (n, l), device)?,
            weights: Tensor::from_vec(weights, (n, l), device)?,
            masked,
        })
    }
}

/// Default held-out chromosomes, as Shorkie: validation chrXI, chrXIII, chrXV; test
/// chrXII, chrXIV, chrXVI.
pub fn default_split() -> (Vec<String>, Vec<String>) {
    (
        vec!["chrXI".into(), "chrXIII".into(), "chrXV".into()],
        vec!["chrXII".into(), "chrXIV".into(), "chrXVI".into()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_genome_table_is_read_like_every_other_text_file() {
        let dir = tempfile::tempdir().unwrap();
        let table = "name\tfasta\tgtf\tspecies\r\nyeast\tgenome.fa.gz\t-\t0\r\n";
        let gz = dir.path().join("genomes.tsv.gz");
        let mut e = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
        e.write_all(table.as_bytes()).unwrap();
        e.finish().unwrap();
        let specs = read_genome_table(&gz).unwrap();
        assert_eq!(specs, vec![GenomeSpec { name: "yeast".into(), fasta: dir.path().join("genome.fa.gz"), gtf: None, species: 0 }]);
        let err = read_genome_table(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()) && !err.contains('\n'), "{err}");
        let latin1 = dir.path().join("latin1.tsv");
        std::fs::write(&latin1, b"yeast\tg\xe9nome.fa\t-\t0\n").unwrap();
        let err = read_genome_table(&latin1).unwrap_err().to_string();
        assert!(err.contains("latin1.tsv:1") && err.contains("UTF-8"), "{err}");
    }
}
