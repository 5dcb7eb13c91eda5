//! Genes and their exons from a GTF (plain or gzip/bgzip).

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

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

impl GeneIndex {
    pub fn from_path(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
        let reader = rust_htslib::bgzf::Reader::from_path(path)
            .map_err(|e| Error::Input(format!("{}: cannot open GTF ({e})", path.display())))?;
        let reader = std::io::BufReader::new(reader);
        let mut genes: HashMap<String, Gene> = HashMap::new();
        let mut order = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| Error::Input(format!("{}: line {}: {e}", path.display(), i + 1)))?;
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let bad = |what: &str| Error::Input(format!("{}: line {}: {what}", path.display(), i + 1));
            if f.len() < 9 {
                return Err(bad("expected 9 tab-separated GTF columns"));
            }
            if f[2] != "exon" {
                continue;
            }
            let start: i64 = f[3].parse().map_err(|_| bad(&format!("bad start \"{}\"", f[3])))?;
            let end: i64 = f[4].parse().map_err(|_| bad(&format!("bad end \"{}\"", f[4])))?;
            if start < 1 || end < start {
                return Err(bad(&format!("bad exon interval {start}-{end}")));
            }
            let strand = match f[6] {
                "+" => '+',
                "-" => '-',
                other => return Err(bad(&format!("exon strand must be + or -, got \"{other}\""))),
            };
            let id = attribute(f[8], "gene_id").ok_or_else(|| bad("exon without gene_id"))?;
            let gene = genes.entry(id.clone()).or_insert_with(|| {
                order.push(id.clone());
                Gene { id: id.clone(), name: attribute(f[8], "gene_name"), chrom: f[0].to_string(), strand, exons: Vec::new() }
            });
            if gene.chrom != f[0] || gene.strand != strand {
                return Err(bad(&format!("gene {id} has exons on two contigs or strands")));
            }
            gene.exons.push((start - 1, end));
        }
        let mut by_contig: HashMap<String, Vec<Gene>> = HashMap::new();
        for id in order {
            let mut g = genes.remove(&id).expect("listed");
            g.exons.sort();
            by_contig.entry(g.chrom.clone()).or_default().push(g);
        }
        for list in by_contig.values_mut() {
            list.sort_by_key(|g| (g.start(), g.end()));
        }
        Ok(GeneIndex { by_contig })
    }

    /// Genes on `contig` overlapping `pos` ± `span` bp. A GTF naming contigs with a
    /// `chr` prefix the FASTA lacks (GENCODE beside Ensembl), or the other way round,
    /// still matches.
    pub fn near(&self, contig: &str, pos: i64, span: i64) -> Vec<&Gene> {
        let list = self.by_contig.get(contig).or_else(|| match contig.strip_prefix("chr") {
            Some(bare) => self.by_contig.get(bare),
            None => self.by_contig.get(&format!("chr{contig}")),
        });
        let Some(list) = list else { return Vec::new() };
        list.iter().filter(|g| g.start() < pos + span && g.end() > pos - span).collect()
    }
}
