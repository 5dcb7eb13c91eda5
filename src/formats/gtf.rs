//! GTF: typed records ([`Records`]) and the genes built from their exons ([`GeneIndex`]).
//! Plain, gzip or bgzip (see [`super::text`]); errors name the file and line.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use super::text::Lines;

use super::indexed_fasta::Fasta;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Gene {
    pub id: String,
    pub name: Option<String>,
    pub chrom: String,
    pub strand: char,
    /// 0-based half-open exon intervals, sorted.
    pub exons: Vec<(i64, i64)>,
}

impl Gene {
    pub fn start(&self) -> i64 {
        self.exons.first().map(|e| e.0).unwrap_or(0)
    }

    pub fn end(&self) -> i64 {
        self.exons.iter().map(|e| e.1).max().unwrap_or(0)
    }
}

/// Genes per contig, sorted by start.
#[derive(Debug, Clone, Default)]
pub struct GeneIndex {
    pub by_contig: HashMap<String, Vec<Gene>>,
}

fn attribute(attrs: &str, key: &str) -> Option<String> {
    attrs.split(';').map(str::trim).find_map(|kv| {
        let (k, v) = kv.split_once(' ')?;
        (k == key).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// One GTF line.
#[derive(Debug, Clone, PartialEq)]
pub struct GtfRecord {
    pub line: usize,
    pub contig: String,
    /// The feature type (`gene`, `exon`, `CDS`, ...).
    pub feature: String,
    /// 0-based half-open.
    pub start: i64,
    pub end: i64,
    /// `+`, `-`, or None for `.`.
    pub strand: Option<char>,
    /// The raw attribute column.
    pub attributes: String,
}

impl GtfRecord {
    /// The value of attribute `key` (`gene_id "X";` gives `X`).
    pub fn attribute(&self, key: &str) -> Option<String> {
        attribute(&self.attributes, key)
    }
}

/// The records of a GTF, comments and blank lines skipped.
pub struct Records<R> {
    lines: Lines<R>,
    done: bool,
}

impl Records<Box<dyn BufRead + Send>> {
    pub fn open(path: &Path) -> Result<Self> {
        let text = super::text::open_path(path)?;
        let source = text.source().to_string();
        Ok(Records::new(text.into_reader(), &source))
    }
}

impl<R: BufRead> Records<R> {
    pub fn new(reader: R, source: &str) -> Self {
        Records { lines: Lines::new(reader, source), done: false }
    }

    fn next_record(&mut self) -> Result<Option<GtfRecord>> {
        loop {
            let source = self.lines.source().to_string();
            let Some((lineno, line)) = self.lines.next_line()? else { return Ok(None) };
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let bad = |what: &str| Error::Input(format!("{source}: line {lineno}: {what}"));
            if f.len() < 9 {
                return Err(bad(&format!("expected 9 tab-separated GTF columns, got {}", f.len())));
            }
            let start: i64 = f[3].parse().map_err(|_| bad(&format!("bad start \"{}\"", f[3])))?;
            let end: i64 = f[4].parse().map_err(|_| bad(&format!("bad end \"{}\"", f[4])))?;
            if start < 1 || end < start {
                return Err(bad(&format!("bad {} interval {start}-{end}", f[2])));
            }
            let strand = match f[6] {
                "+" => Some('+'),
                "-" => Some('-'),
                "." | "?" => None,
                other => return Err(bad(&format!("strand must be +, - or ., got \"{other}\""))),
            };
            return Ok(Some(GtfRecord {
                line: lineno,
                contig: f[0].to_string(),
                feature: f[2].to_string(),
                start: start - 1,
                end,
                strand,
                attributes: f[8].to_string(),
            }));
        }
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Result<GtfRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_record();
        super::text::stop_after_error(&mut self.done, next)
    }
}

impl GeneIndex {
    /// Reads the exons of a GTF; one without any is an error, as every lookup would
    /// find nothing.
    pub fn from_path(path: &Path) -> Result<Self> {
        let mut genes: HashMap<String, Gene> = HashMap::new();
        let mut order = Vec::new();
        for record in Records::open(path)? {
            let r = record?;
            if r.feature != "exon" {
                continue;
            }
            let bad = |what: &str| Error::Input(format!("{}: line {}: {what}", path.display(), r.line));
            let Some(strand) = r.strand else { return Err(bad("exon strand must be + or -, got \".\"")) };
            let id = r.attribute("gene_id").ok_or_else(|| bad("exon without gene_id"))?;
            let gene = genes.entry(id.clone()).or_insert_with(|| {
                order.push(id.clone());
                Gene { id: id.clone(), name: r.attribute("gene_name"), chrom: r.contig.clone(), strand, exons: Vec::new() }
            });
            if gene.chrom != r.contig || gene.strand != strand {
                return Err(bad(&format!("gene {id} has exons on two contigs or strands")));
            }
            gene.exons.push((r.start, r.end));
        }
        if order.is_empty() {
            return Err(Error::Input(format!(
                "{}: no genes (no exon records with a gene_id, which gene lookups need)",
                path.display()
            )));
        }
        let mut by_contig: HashMap<String, Vec<Gene>> = HashMap::new();
        for id in order {
            let Some(mut g) = genes.remove(&id) else { continue };
            g.exons.sort();
            by_contig.entry(g.chrom.clone()).or_default().push(g);
        }
        for list in by_contig.values_mut() {
            list.sort_by_key(|g| (g.start(), g.end()));
        }
        Ok(GeneIndex { by_contig })
    }

    /// The contigs genes are on, sorted.
    pub fn contigs(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.by_contig.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// At least one of the GTF's contigs (or its [`chr_twin`]) must be in `fasta`: a GTF named for another
    /// assembly (`I` against `chrI`) would leave every lookup empty without a word.
    pub fn check_contigs(&self, gtf: &Path, fasta: &Fasta) -> Result<()> {
        let names: Vec<String> = fasta.contigs_in_file_order().into_iter().map(|(n, _)| n).collect();
        self.check_contig_names(gtf, fasta.path(), &names)
    }

    /// As [`GeneIndex::check_contigs`], against the contig `names` of the genome in `source`.
    pub fn check_contig_names(&self, gtf: &Path, source: &Path, names: &[String]) -> Result<()> {
        let ours = self.contigs();
        let have: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
        if ours.iter().any(|c| have.contains(*c) || have.contains(chr_twin(c).as_str())) {
            return Ok(());
        }
        let list = |names: Vec<String>| {
            let n = names.len();
            let mut shown = names.into_iter().take(6).collect::<Vec<_>>().join(", ");
            if n > 6 {
                shown += &format!(", ... ({n} in all)");
            }
            shown
        };
        Err(Error::Input(format!(
            "{}: none of its contigs ({}) is in {} ({}); use a GTF with the FASTA's contig names",
            gtf.display(),
            list(ours.iter().map(|s| s.to_string()).collect()),
            source.display(),
            list(names.to_vec())
        )))
    }

    /// Genes on `contig` overlapping `pos` ± `span` bp.
    pub fn near(&self, contig: &str, pos: i64, span: i64) -> Vec<&Gene> {
        let list = self.by_contig.get(contig).or_else(|| self.by_contig.get(&chr_twin(contig)));
        let Some(list) = list else { return Vec::new() };
        list.iter().filter(|g| g.start() < pos + span && g.end() > pos - span).collect()
    }
}

/// The same contig under the other naming habit: `chr1` for `1` and `1` for `chr1`, so a
/// GENCODE GTF (chr-prefixed) matches an Ensembl FASTA and the other way round.
pub fn chr_twin(contig: &str) -> String {
    match contig.strip_prefix("chr") {
        Some(bare) => bare.to_string(),
        None => format!("chr{contig}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_exons_by_gene() {
        let dir = tempfile::tempdir().unwrap();
        let gtf = write(
            dir.path(),
            "g.gtf",
            "#!genome\r\nchrI\tsgd\tgene\t1\t90\t.\t+\t.\tgene_id \"A\";\r\n\
             chrI\tsgd\texon\t50\t90\t.\t+\t.\tgene_id \"A\"; gene_name \"AA\";\r\n\
             chrI\tsgd\texon\t1\t10\t.\t+\t.\tgene_id \"A\";\r\n",
        );
        let g = GeneIndex::from_path(&gtf).unwrap();
        let a = &g.by_contig["chrI"][0];
        assert_eq!((a.id.as_str(), a.name.as_deref(), a.exons.clone()), ("A", Some("AA"), vec![(0, 10), (49, 90)]));
        assert_eq!(g.contigs(), vec!["chrI"]);
        assert_eq!(g.near("chrI", 95, 10).len(), 1);
        let bad = write(dir.path(), "b.gtf", "chrI\tsgd\texon\t5\t1\t.\t+\t.\tgene_id \"A\";\n");
        assert_eq!(GeneIndex::from_path(&bad).unwrap_err().to_string(), format!("{}: line 1: bad exon interval 5-1", bad.display()));
    }

    #[test]
    fn empty_and_foreign_gtfs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write(dir.path(), "e.gtf", "#only a comment\n");
        let e = GeneIndex::from_path(&empty).unwrap_err().to_string();
        assert!(e.contains("e.gtf: no genes (no exon records"), "{e}");
        let fa = write(dir.path(), "g.fa", ">chrI\nACGT\n");
        write(dir.path(), "g.fa.fai", "chrI\t4\t6\t4\t5\n");
        let fasta = Fasta::open(&fa).unwrap();
        // RefSeq accessions against UCSC names: nothing would ever match.
        let gtf = write(dir.path(), "i.gtf", "NC_001133.9\tsgd\texon\t1\t3\t.\t+\t.\tgene_id \"A\";\n");
        let g = GeneIndex::from_path(&gtf).unwrap();
        let e = g.check_contigs(&gtf, &fasta).unwrap_err().to_string();
        assert!(e.contains("i.gtf: none of its contigs (NC_001133.9) is in") && e.contains("g.fa (chrI)"), "{e}");
        // `I` against `chrI` is the same contig under the other naming habit, and found.
        let twin = write(dir.path(), "t.gtf", "I\tsgd\texon\t1\t3\t.\t+\t.\tgene_id \"A\";\n");
        let g = GeneIndex::from_path(&twin).unwrap();
        g.check_contigs(&twin, &fasta).unwrap();
        assert_eq!(g.near("chrI", 1, 10).len(), 1);
        let ok = write(dir.path(), "ok.gtf", "chrI\tsgd\texon\t1\t3\t.\t+\t.\tgene_id \"A\";\n");
        GeneIndex::from_path(&ok).unwrap().check_contigs(&ok, &fasta).unwrap();
    }
}
