//! Indexed reference FASTA (plain or bgzip with `.fai`/`.gzi`), via htslib's faidx.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub struct Fasta {
    path: PathBuf,
    reader: rust_htslib::faidx::Reader,
    lengths: HashMap<String, u64>,
}

impl Fasta {
    pub fn open(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
        let fai = PathBuf::from(format!("{}.fai", path.display()));
        if !fai.exists() {
            return Err(Error::Input(format!(
                "{}: no index {} (make one with `samtools faidx`)",
                path.display(),
                fai.display()
            )));
        }
        let reader = rust_htslib::faidx::Reader::from_path(path)
            .map_err(|e| Error::Input(format!("{}: cannot open indexed FASTA ({e})", path.display())))?;
        let names = reader
            .seq_names()
            .map_err(|e| Error::Input(format!("{}: cannot list sequences ({e})", path.display())))?;
        let lengths = names.into_iter().map(|n| {
            let len = reader.fetch_seq_len(&n);
            (n, len)
        }).collect();
        Ok(Fasta { path: path.to_path_buf(), reader, lengths })
    }

    pub fn length(&self, contig: &str) -> Option<u64> {
        self.lengths.get(contig).copied()
    }

    /// Every contig's name and length (from the `.fai`), sorted by name.
    pub fn contigs(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self.lengths.iter().map(|(n, l)| (n.clone(), *l)).collect();
        v.sort();
        v
    }

    pub fn has(&self, contig: &str) -> bool {
        self.lengths.contains_key(contig)
    }

    /// Bases `[start, end)` (0-based), upper-cased; positions outside the contig are N.
    pub fn fetch_padded(&self, contig: &str, start: i64, end: i64) -> Result<Vec<u8>> {
        let len = self.length(contig).ok_or_else(|| Error::Input(format!("{}: no contig {contig}", self.path.display())))? as i64;
        let mut out = Vec::with_capacity((end - start).max(0) as usize);
        if start < 0 {
            out.resize((-start).min(end - start) as usize, b'N');
        }
        let (lo, hi) = (start.max(0), end.min(len));
        if lo < hi {
            // faidx's end is inclusive.
            let seq = self
                .reader
                .fetch_seq(contig, lo as usize, hi as usize - 1)
                .map_err(|e| Error::Input(format!("{}: cannot read {contig}:{lo}-{hi} ({e})", self.path.display())))?;
            out.extend(seq.iter().map(|b| b.to_ascii_uppercase()));
        }
        out.resize((end - start).max(0) as usize, b'N');
        Ok(out)
    }
}

/// VCF contig name -> FASTA contig name: exact match, then an explicit alias map, then
/// adding a `chr` prefix when the FASTA has exactly that name. Names are never trimmed.
pub struct ContigResolver {
    aliases: HashMap<String, String>,
    cache: HashMap<String, Option<String>>,
}

impl ContigResolver {
    pub fn new(aliases: HashMap<String, String>) -> Self {
        ContigResolver { aliases, cache: HashMap::new() }
    }

    /// Reads a two-column alias file (VCF name, FASTA name); `#` lines are comments.
    pub fn read_aliases(path: &Path) -> Result<HashMap<String, String>> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut map = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split(['\t', ' ']).filter(|f| !f.is_empty()).collect();
            if fields.len() != 2 {
                return Err(Error::Input(format!(
                    "{}: line {}: expected two columns (VCF name, FASTA name), got {}",
                    path.display(),
                    i + 1,
                    fields.len()
                )));
            }
            if let Some(prev) = map.insert(fields[0].to_string(), fields[1].to_string()) {
                if prev != fields[1] {
                    return Err(Error::Input(format!(
                        "{}: line {}: {} is mapped twice ({prev}, {})",
                        path.display(),
                        i + 1,
                        fields[0],
                        fields[1]
                    )));
                }
            }
        }
        Ok(map)
    }

    pub fn resolve(&mut self, vcf_name: &str, fasta: &Fasta) -> Option<String> {
        if let Some(hit) = self.cache.get(vcf_name) {
            return hit.clone();
        }
        let found = if fasta.has(vcf_name) {
            Some(vcf_name.to_string())
        } else if let Some(alias) = self.aliases.get(vcf_name).filter(|a| fasta.has(a)) {
            Some(alias.clone())
        } else {
            let prefixed = format!("chr{vcf_name}");
            fasta.has(&prefixed).then_some(prefixed)
        };
        self.cache.insert(vcf_name.to_string(), found.clone());
        found
    }
}
