//! VCF contig names mapped to FASTA contig names: exact match, then an explicit alias
//! file, then adding a `chr` prefix when the FASTA has exactly that name. Names are never
//! trimmed.

use std::collections::HashMap;
use std::path::Path;

use super::indexed_fasta::Fasta;
use crate::error::{Error, Result};

pub struct ContigResolver {
    aliases: HashMap<String, String>,
    cache: HashMap<String, Option<String>>,
}

impl ContigResolver {
    pub fn new(aliases: HashMap<String, String>) -> Self {
        ContigResolver { aliases, cache: HashMap::new() }
    }

    /// Reads a two-column alias file (VCF name, FASTA name; tabs or spaces); `#` lines are
    /// comments. Every FASTA name must be in `fasta`: an alias to a missing contig would
    /// otherwise drop its records as `contig_not_in_fasta` without a word.
    pub fn read_aliases(path: &Path, fasta: &Fasta) -> Result<HashMap<String, String>> {
        let shown = path.display();
        let text = super::text::open_path(path)?.read_to_string()?;
        let mut map = HashMap::new();
        for (line, row) in super::text::numbered_lines(&text) {
            let row = row.trim();
            if row.is_empty() || row.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = row.split(['\t', ' ']).filter(|f| !f.is_empty()).collect();
            let &[vcf, target] = fields.as_slice() else {
                return Err(Error::Input(format!(
                    "{shown}: line {line}: expected two columns (VCF name, FASTA name), got {}",
                    fields.len()
                )));
            };
            if !fasta.has(target) {
                let mut names: Vec<String> = fasta.contigs().into_iter().map(|(n, _)| n).collect();
                let more = if names.len() > 8 { format!(", ... ({} in all)", names.len()) } else { String::new() };
                names.truncate(8);
                return Err(Error::Input(format!(
                    "{shown}: line {line}: {target} (the alias of {vcf}) is not in {} (it has {}{more})",
                    fasta.path().display(),
                    names.join(", ")
                )));
            }
            if let Some(prev) = map.insert(vcf.to_string(), target.to_string()) {
                if prev != target {
                    return Err(Error::Input(format!("{shown}: line {line}: {vcf} is mapped twice ({prev}, {target})")));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_and_missing_targets_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let fa = dir.path().join("g.fa");
        std::fs::write(&fa, ">chrI\nACGT\n>mito\nAC\n").unwrap();
        std::fs::write(dir.path().join("g.fa.fai"), "chrI\t4\t6\t4\t5\nmito\t2\t17\t2\t3\n").unwrap();
        let fasta = Fasta::open(&fa).unwrap();
        let alias = dir.path().join("alias.tsv");
        std::fs::write(&alias, "# vcf fasta\r\nMT mito\r\n").unwrap();
        let mut r = ContigResolver::new(ContigResolver::read_aliases(&alias, &fasta).unwrap());
        assert_eq!(r.resolve("MT", &fasta).as_deref(), Some("mito"));
        assert_eq!(r.resolve("I", &fasta).as_deref(), Some("chrI"));
        assert_eq!(r.resolve("II", &fasta), None);
        std::fs::write(&alias, "MT\tmito\nII\tchrII\n").unwrap();
        let e = ContigResolver::read_aliases(&alias, &fasta).unwrap_err().to_string();
        assert!(e.contains("alias.tsv: line 2: chrII (the alias of II) is not in") && e.contains("(it has chrI, mito)"), "{e}");
        std::fs::write(&alias, "MT\n").unwrap();
        let e = ContigResolver::read_aliases(&alias, &fasta).unwrap_err().to_string();
        assert!(e.contains("line 1: expected two columns"), "{e}");
    }
}
