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

/// `##` header lines to add, in order.
pub fn header_lines(p: &Provenance) -> Vec<String> {
    let version = env!("CARGO_PKG_VERSION");
    let format = format!("ALLELE|GENE|{}", p.value_names.join("|"));
    let what = if p.lm {
        "zero-shot language-model score LLR=ln(p_alt/p_ref) at the masked site".to_string()
    } else {
        let formulas: Vec<&str> = p.stats.iter().map(|s| s.formula()).collect();
        format!(
            "{} over output bins on untransformed predictions, averaged over ensemble passes",
            formulas.join("; ")
        )
    };
    let genes = if p.gene_mode {
        " Gene mode: one entry per (ALT, gene); bins are the gene's exon bins in a window holding both (or, for a gene too long to share one with the variant, its exon bins in a variant-centred window), and only tracks of the gene's strand (or unstranded) count; '.' where no track qualifies."
    } else {
        " GENE is '.' (whole output window)."
    };
    let desc = format!(
        "Shorkie variant effect per ALT allele. Format: {format}. {what}.{genes} Tracks: {}. Ensemble: {}. Models: {}. shorkie-score {version}",
        p.tracks,
        p.ensemble,
        p.models.join(",")
    );
    let reasons: Vec<&str> = SkipReason::ALL.iter().map(|r| r.as_str()).collect();
    vec![
        format!("##shorkie_scoreVersion={version}"),
        format!("##shorkie_scoreCommand={}", clean(&p.command)),
        format!("##INFO=<ID={KEY},Number=.,Type=String,Description=\"{}\">", clean(&desc)),
        format!(
            "##INFO=<ID={SKIP_KEY},Number=.,Type=String,Description=\"ALT alleles passed through unscored, as ALLELE|reason; reasons: {}\">",
            reasons.join(", ")
        ),
    ]
}
