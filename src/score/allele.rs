//! What one ALT allele does to the reference window, or why it cannot be scored.

/// Why an ALT (or a whole record) was passed through unscored. The text is the value
/// written to the `SHORKIE_SKIP` INFO key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    MissingAlt,
    StarAllele,
    SymbolicAlt,
    InvalidBases,
    /// Lengths differ and the first bases differ: not a left-anchored indel.
    UnanchoredIndel,
    /// The indel is longer than half the window.
    TooLong,
    ContigNotInFasta,
    /// POS 0, or REF running past the end of the contig.
    InvalidPosition,
    NearContigEnd,
    RefMismatch,
    RefHasN,
    TooManyN,
    /// The language model's zero-shot score is defined for SNVs only.
    LmNeedsSnv,
    /// Gene mode: no gene's exons fit in an output region with the variant.
    NoGeneInRange,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::MissingAlt => "missing_alt",
            SkipReason::StarAllele => "star_allele",
            SkipReason::SymbolicAlt => "symbolic_alt",
            SkipReason::InvalidBases => "invalid_bases",
            SkipReason::UnanchoredIndel => "unanchored_indel",
            SkipReason::TooLong => "indel_too_long",
            SkipReason::ContigNotInFasta => "contig_not_in_fasta",
            SkipReason::InvalidPosition => "invalid_position",
            SkipReason::NearContigEnd => "near_contig_end",
            SkipReason::RefMismatch => "ref_mismatch",
            SkipReason::RefHasN => "ref_has_N",
            SkipReason::TooManyN => "too_many_N",
            SkipReason::LmNeedsSnv => "lm_needs_snv",
            SkipReason::NoGeneInRange => "no_gene_in_range",
        }
    }

    pub const ALL: &'static [SkipReason] = &[
        SkipReason::MissingAlt,
        SkipReason::StarAllele,
        SkipReason::SymbolicAlt,
        SkipReason::InvalidBases,
        SkipReason::UnanchoredIndel,
        SkipReason::TooLong,
        SkipReason::ContigNotInFasta,
        SkipReason::InvalidPosition,
        SkipReason::NearContigEnd,
        SkipReason::RefMismatch,
        SkipReason::RefHasN,
        SkipReason::TooManyN,
        SkipReason::LmNeedsSnv,
        SkipReason::NoGeneInRange,
    ];
}

/// A scorable ALT: the allele (upper case) and its length change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AltEdit {
    pub alt: Vec<u8>,
    /// len(ALT) - len(REF): > 0 insertion, < 0 deletion, 0 SNV/MNV.
    pub indel: i64,
}

fn is_base(b: u8) -> bool {
    matches!(b.to_ascii_uppercase(), b'A' | b'C' | b'G' | b'T' | b'N')
}

/// Classifies one ALT against REF (both as written in the VCF).
pub fn classify(reference: &[u8], alt: &[u8], window: usize) -> Result<AltEdit, SkipReason> {
    match alt {
        b"" | b"." => return Err(SkipReason::MissingAlt),
        b"*" => return Err(SkipReason::StarAllele),
        _ => {}
    }
    if alt.starts_with(b"<") || alt.contains(&b'[') || alt.contains(&b']') {
        return Err(SkipReason::SymbolicAlt);
    }
    if !alt.iter().all(|b| is_base(*b)) || !reference.iter().all(|b| is_base(*b)) || reference.is_empty() {
        return Err(SkipReason::InvalidBases);
    }
    let alt: Vec<u8> = alt.to_ascii_uppercase();
    let indel = alt.len() as i64 - reference.len() as i64;
    if indel != 0 && !alt[0].eq_ignore_ascii_case(&reference[0]) {
        return Err(SkipReason::UnanchoredIndel);
    }
    if indel.unsigned_abs() as usize * 2 > window || reference.len() * 2 > window {
        return Err(SkipReason::TooLong);
    }
    Ok(AltEdit { alt, indel })
}

/// The ALT window: REF at `offset` replaced by ALT, then trimmed or N-padded at the right
/// end back to the window length (baskerville's `make_alt_1hot`: an insertion pushes
/// the downstream sequence right, a deletion pulls it left and pads with N).
pub fn apply(reference_window: &[u8], offset: usize, ref_len: usize, edit: &AltEdit) -> Vec<u8> {
    let len = reference_window.len();
    let mut out = Vec::with_capacity(len + edit.alt.len());
    out.extend_from_slice(&reference_window[..offset]);
    out.extend_from_slice(&edit.alt);
    out.extend_from_slice(&reference_window[(offset + ref_len).min(len)..]);
    out.resize(len, b'N');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(classify(b"A", b"G", 100).unwrap().indel, 0);
        assert_eq!(classify(b"AC", b"GT", 100).unwrap().indel, 0);
        assert_eq!(classify(b"A", b"ATT", 100).unwrap().indel, 2);
        assert_eq!(classify(b"ATT", b"a", 100).unwrap().indel, -2);
        assert_eq!(classify(b"A", b"*", 100), Err(SkipReason::StarAllele));
        assert_eq!(classify(b"A", b"<DEL>", 100), Err(SkipReason::SymbolicAlt));
        assert_eq!(classify(b"A", b"G]chr1:5]", 100), Err(SkipReason::SymbolicAlt));
        assert_eq!(classify(b"A", b".", 100), Err(SkipReason::MissingAlt));
        assert_eq!(classify(b"AT", b"G", 100), Err(SkipReason::UnanchoredIndel));
        assert_eq!(classify(b"A", b"AX", 100), Err(SkipReason::InvalidBases));
        assert_eq!(classify(b"A", b"AAAAAA", 8), Err(SkipReason::TooLong));
    }

    #[test]
    fn applies_edits() {
        let w = b"ACGTACGT";
        let e = |r: &[u8], a: &[u8]| classify(r, a, 100).unwrap();
        assert_eq!(apply(w, 3, 1, &e(b"T", b"C")), b"ACGCACGT");
        assert_eq!(apply(w, 3, 1, &e(b"T", b"TGG")), b"ACGTGGAC");
        assert_eq!(apply(w, 3, 3, &e(b"TAC", b"T")), b"ACGTGTNN");
    }
}
