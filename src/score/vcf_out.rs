//! The INFO keys shorkie-score adds, declared with formulas and provenance.

use super::allele::SkipReason;
use super::stats::Stat;

pub const KEY: &str = "SHORKIE";
pub const SKIP_KEY: &str = "SHORKIE_SKIP";

/// What the header says about a run.
pub struct Provenance {
    pub value_names: Vec<String>,
    pub stats: Vec<Stat>,
    pub lm: bool,
    pub tracks: String,
    pub models: Vec<String>,
    pub ensemble: String,
    pub command: String,
    pub gene_mode: bool,
}

fn clean(s: &str) -> String {
    s.replace('"', "'").replace(['\n', '\r'], " ")
}

/// `##` header lines to add, in order. The INFO Description ends with `Format: A|B|C`
/// (what `bcftools +split-vep` reads); each statistic's formula has its own
/// `##shorkie_stat` line, so no `|` of a formula can be taken for a field separator.
pub fn header_lines(p: &Provenance) -> Vec<String> {
    let version = env!("CARGO_PKG_VERSION");
    let format = format!("ALLELE|Consequence|GENE|{}", p.value_names.join("|"));
    let what = if p.lm {
        "LLR: zero-shot language-model score ln(p_alt/p_ref) at the masked site".to_string()
    } else {
        let names: Vec<&str> = p.stats.iter().map(|s| s.name()).collect();
        format!(
            "Statistics {} (formulas in the ##shorkie_stat lines) over output bins on untransformed predictions, averaged over ensemble passes. \
             For each statistic S: S_max is the value of largest magnitude over the scored tracks and S_track that track's identifier; \
             S_<group> is the mean over the scored tracks of that targets-sheet group (S_mean: over all scored tracks when the sheet has no groups); \
             further S_<track> fields are per-track values asked for with --info-tracks. The full matrix goes to --scores-out",
            names.join(", ")
        )
    };
    let genes = if p.gene_mode {
        " Gene mode: one entry per (ALT, gene); bins are the gene's exon bins in a window holding both (or, for a gene too long to share one with the variant, its exon bins in a variant-centred window), and only tracks of the gene's strand (or unstranded) count; '.' where no track qualifies."
    } else {
        " GENE is '.' (whole output window)."
    };
    let desc = format!(
        "Shorkie variant effect per ALT allele. Consequence is the variant class (SNV, substitution, insertion, deletion, indel). {what}.{genes} Tracks: {}. Ensemble: {}. Models: {}. shorkie-score {version}. Format: {format}",
        p.tracks,
        p.ensemble,
        p.models.join(",")
    );
    let reasons: Vec<&str> = SkipReason::ALL.iter().map(|r| r.as_str()).collect();
    let mut lines = vec![format!("##shorkie_scoreVersion={version}"), format!("##shorkie_scoreCommand={}", clean(&p.command))];
    if !p.lm {
        for s in &p.stats {
            let formula = s.formula();
            let formula = formula.split_once('=').map_or(formula, |(_, f)| f);
            lines.push(format!("##shorkie_stat=<ID={},Formula=\"{}\">", s.name(), clean(formula)));
        }
    }
    // Everything before "Format: " is prose; a '|' there would confuse no parser, but
    // keeping it out leaves one '|'-separated list in the line.
    let (prose, fields) = desc.split_at(desc.rfind("Format: ").unwrap_or(desc.len()));
    lines.push(format!("##INFO=<ID={KEY},Number=.,Type=String,Description=\"{}{}\">", clean(prose).replace('|', "/"), clean(fields)));
    lines.push(format!(
        "##INFO=<ID={SKIP_KEY},Number=.,Type=String,Description=\"ALT alleles passed through unscored, as ALLELE|reason; reasons: {}\">",
        reasons.join(", ")
    ));
    lines
}
