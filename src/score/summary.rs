//! The compact INFO of `shorkie-score`: per statistic, the value of largest magnitude over
//! the scored tracks and that track's identifier, and the mean per track group. Its size
//! depends on the number of groups, not of tracks, so a 5,215-track model still writes a
//! short line; the full matrix goes to `--scores-out`.
//!
//! INFO field names are what `bcftools +split-vep` turns into tag names: letters, digits
//! and `_` only (split-vep replaces anything else with `_`, which would make `cov+` and
//! `cov-` the same name), unique, and never starting with a digit.

use crate::formats::targets::Targets;

/// How the summary reads the scored tracks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Identifier of each scored track, in the order of the scored tracks.
    pub identifiers: Vec<String>,
    /// (group, positions among the scored tracks), in first-seen order. Empty when the
    /// sheet has no groups: the summary then holds one mean over all scored tracks.
    pub groups: Vec<(String, Vec<usize>)>,
}

impl Summary {
    /// The summary over `tracks` (sheet indices) of `sheet`.
    pub fn new(sheet: &Targets, tracks: &[usize]) -> Self {
        let identifiers = tracks.iter().map(|&t| sheet.rows[t].identifier.clone()).collect();
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        if tracks.iter().any(|&t| sheet.rows[t].group.is_some()) {
            for (k, &t) in tracks.iter().enumerate() {
                let g = sheet.rows[t].group.clone().unwrap_or_else(|| "ungrouped".into());
                match groups.iter_mut().find(|(name, _)| *name == g) {
                    Some((_, members)) => members.push(k),
                    None => groups.push((g, vec![k])),
                }
            }
        }
        Summary { identifiers, groups }
    }

    /// Field suffixes per statistic, before sanitising: `max`, `track`, then one per group
    /// (or `mean`).
    pub fn suffixes(&self) -> Vec<String> {
        let mut out = vec!["max".to_string(), "track".to_string()];
        if self.groups.is_empty() {
            out.push("mean".into());
        } else {
            out.extend(self.groups.iter().map(|(g, _)| g.clone()));
        }
        out
    }

    /// One statistic's summary values, formatted for INFO, in `suffixes` order. `ok[k]`
    /// says whether the `k`-th scored track counts ('.' where none does).
    pub fn fields(&self, per_track: &[f64], ok: &[bool]) -> Vec<String> {
        let mut best: Option<usize> = None;
        for k in (0..per_track.len()).filter(|&k| ok[k]) {
            // The first of equal magnitudes wins, as numpy's argmax.
            if best.is_none_or(|b| per_track[k].abs() > per_track[b].abs()) {
                best = Some(k);
            }
        }
        let mut out = Vec::with_capacity(2 + self.groups.len().max(1));
        match best {
            Some(k) => {
                out.push(super::scorer::format_value(per_track[k]));
                out.push(encode_value(&self.identifiers[k]));
            }
            None => out.extend([".".to_string(), ".".to_string()]),
        }
        let mean = |members: &mut dyn Iterator<Item = usize>| -> String {
            let (mut sum, mut n) = (0.0, 0usize);
            for k in members.filter(|&k| ok[k]) {
                sum += per_track[k];
                n += 1;
            }
            if n == 0 {
                ".".into()
            } else {
                super::scorer::format_value(sum / n as f64)
            }
        };
        if self.groups.is_empty() {
            out.push(mean(&mut (0..per_track.len())));
        } else {
            for (_, members) in &self.groups {
                out.push(mean(&mut members.iter().copied()));
            }
        }
        out
    }
}

/// `s` with every character other than an ASCII letter, digit or `_` replaced by `_`.
pub fn sanitise(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// Sanitised names made unique (`_2`, `_3`… on repeats), each starting with a letter or `_`.
pub fn unique_names(raw: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        let mut base = sanitise(r);
        if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            base.insert(0, '_');
        }
        let mut name = base.clone();
        let mut n = 2;
        while !seen.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

/// A text value safe inside a `|`-separated, comma-joined INFO entry: the characters
/// that would break it are percent-encoded (as VCF 4.3 does for INFO values).
pub fn encode_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' | '|' | ',' | ';' | '=' | ' ' | '\t' | '\n' | '\r' => out.push_str(&format!("%{:02X}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

/// The variant class of an ALT, in the Sequence Ontology terms VEP's VARIANT_CLASS uses.
pub fn consequence(reference: &str, alt: &[u8]) -> &'static str {
    let r = reference.as_bytes();
    if r.len() == alt.len() {
        if r.len() == 1 {
            "SNV"
        } else {
            "substitution"
        }
    } else if alt.len() > r.len() && alt[..r.len()].eq_ignore_ascii_case(r) {
        "insertion"
    } else if r.len() > alt.len() && r[..alt.len()].eq_ignore_ascii_case(alt) {
        "deletion"
    } else {
        "indel"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Targets {
        Targets::parse(
            "index\tidentifier\tdescription\tgroup\n0\tcov+\tx\tRNA-Seq\n1\tcov-\tx\t1000-RNA-Seq\n2\tc\tx\tRNA-Seq\n",
            "t",
        )
        .unwrap()
    }

    #[test]
    fn summary_picks_the_largest_magnitude_and_group_means() {
        let s = Summary::new(&sheet(), &[0, 1, 2]);
        assert_eq!(s.suffixes(), vec!["max", "track", "RNA-Seq", "1000-RNA-Seq"]);
        let f = s.fields(&[1.0, -3.0, 2.0], &[true, true, true]);
        assert_eq!(f, vec!["-3.00000e0", "cov-", "1.50000e0", "-3.00000e0"]);
        // A track that does not count is neither the maximum nor in a mean.
        let f = s.fields(&[1.0, -3.0, 2.0], &[true, false, true]);
        assert_eq!(f, vec!["2.00000e0", "c", "1.50000e0", "."]);
        assert_eq!(s.fields(&[1.0, 1.0, 1.0], &[false; 3]), vec![".", ".", ".", "."]);
        // Equal magnitudes: the first wins.
        assert_eq!(s.fields(&[-2.0, 2.0, 0.0], &[true; 3])[1], "cov+");
    }

    #[test]
    fn names_survive_split_vep_and_stay_unique() {
        let raw: Vec<String> = ["logSED_cov+", "logSED_cov-", "logSED_1000-RNA-Seq", "9x", "a.b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(unique_names(&raw), vec!["logSED_cov_", "logSED_cov__2", "logSED_1000_RNA_Seq", "_9x", "a_b"]);
        assert_eq!(encode_value("a|b,c;d=e f%"), "a%7Cb%2Cc%3Bd%3De%20f%25");
    }

    #[test]
    fn variant_classes() {
        assert_eq!(consequence("A", b"G"), "SNV");
        assert_eq!(consequence("AC", b"GT"), "substitution");
        assert_eq!(consequence("A", b"ATT"), "insertion");
        assert_eq!(consequence("ATT", b"A"), "deletion");
        assert_eq!(consequence("AT", b"AGG"), "indel");
    }
}
