//! Which output tracks are scored, and whether their scores are averaged per group.

use regex::Regex;

use crate::error::{Error, Result};
use crate::formats::targets::Targets;

/// A column of scores in the output: one track, or the mean over a group of tracks.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub label: String,
    pub tracks: Vec<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct TrackQuery {
    /// `all`, or indices and ranges: `0,3,10-12`.
    pub indices: Option<String>,
    /// Matched against identifier and description.
    pub regex: Option<String>,
    /// Exact `group` value.
    pub group: Option<String>,
    /// Average scores within each group.
    pub aggregate_group: bool,
}

fn parse_indices(spec: &str, n: usize) -> Result<Vec<usize>> {
    if spec == "all" {
        return Ok((0..n).collect());
    }
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || Error::Input(format!("--tracks: bad index or range \"{part}\""));
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<usize>().map_err(|_| bad())?, b.trim().parse::<usize>().map_err(|_| bad())?),
            None => {
                let i = part.parse::<usize>().map_err(|_| bad())?;
                (i, i)
            }
        };
        if lo > hi || hi >= n {
            return Err(Error::Input(format!("--tracks: \"{part}\" is outside the {n} tracks (0..{})", n - 1)));
        }
        out.extend(lo..=hi);
    }
    Ok(out)
}

/// Resolves the query against the sheet: the tracks to predict and the output columns.
pub fn select(targets: &Targets, query: &TrackQuery) -> Result<Vec<Column>> {
    let n = targets.rows.len();
    let mut chosen: Vec<usize> = match &query.indices {
        Some(spec) => parse_indices(spec, n)?,
        None => (0..n).collect(),
    };
    if let Some(re) = &query.regex {
        let re = Regex::new(re).map_err(|e| Error::Input(format!("--track-regex: {e}")))?;
        chosen.retain(|&t| re.is_match(&targets.rows[t].identifier) || re.is_match(&targets.rows[t].description));
    }
    if let Some(g) = &query.group {
        chosen.retain(|&t| targets.rows[t].group.as_deref() == Some(g.as_str()));
    }
    if chosen.is_empty() {
        return Err(Error::Input("the track selection matches no track in the targets sheet".into()));
    }
    if !query.aggregate_group {
        return Ok(chosen
            .into_iter()
            .map(|t| Column { label: targets.rows[t].identifier.clone(), tracks: vec![t] })
            .collect());
    }
    let mut columns: Vec<Column> = Vec::new();
    for t in chosen {
        let group = targets.rows[t]
            .group
            .clone()
            .ok_or_else(|| Error::Input("--aggregate group: the targets sheet has no \"group\" column".into()))?;
        match columns.iter_mut().find(|c| c.label == group) {
            Some(c) => c.tracks.push(t),
            None => columns.push(Column { label: group, tracks: vec![t] }),
        }
    }
    Ok(columns)
}

/// One column per strand pair, as baskerville scores stranded sheets (`targets_prep_strand`):
/// each track stands for its pair under the pair's first track in sheet order, which
/// names the column when columns are single tracks. The scorer then sums the pair
/// (variant mode) or takes the gene's strand (gene mode).
pub fn collapse_strand_pairs(columns: Vec<Column>, targets: &Targets) -> Vec<Column> {
    let rep = |t: usize| t.min(targets.rows[t].strand_pair);
    let mut out: Vec<Column> = Vec::new();
    for c in columns {
        let mut tracks: Vec<usize> = Vec::new();
        for t in c.tracks.iter().map(|&t| rep(t)) {
            if !tracks.contains(&t) {
                tracks.push(t);
            }
        }
        let single = c.tracks.len() == 1;
        let label = if single { targets.rows[tracks[0]].identifier.clone() } else { c.label };
        if single && out.iter().any(|o| o.tracks == tracks) {
            continue;
        }
        out.push(Column { label, tracks });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Targets {
        Targets::parse(
            "index\tidentifier\tdescription\tgroup\n0\tA_RNA\tRNA one\tRNA\n1\tB_chip\tChIP x\tChIP\n2\tC_RNA\tRNA two\tRNA\n",
            "t",
        )
        .unwrap()
    }

    #[test]
    fn strand_pairs_collapse_to_their_first_track() {
        let t = Targets::parse(
            "index\tidentifier\tstrand_pair\tgroup\n0\tA+\t1\tRNA\n1\tA-\t0\tRNA\n2\tB\t2\tDNA\n3\tC-\t4\tRNA\n4\tC+\t3\tRNA\n",
            "t",
        )
        .unwrap();
        let all = select(&t, &TrackQuery { indices: Some("all".into()), ..Default::default() }).unwrap();
        let got = collapse_strand_pairs(all, &t);
        let want = vec![
            Column { label: "A+".into(), tracks: vec![0] },
            Column { label: "B".into(), tracks: vec![2] },
            Column { label: "C-".into(), tracks: vec![3] },
        ];
        assert_eq!(got, want);
        let groups = select(&t, &TrackQuery { aggregate_group: true, ..Default::default() }).unwrap();
        let got = collapse_strand_pairs(groups, &t);
        assert_eq!(got[0], Column { label: "RNA".into(), tracks: vec![0, 3] });
    }

    #[test]
    fn selections() {
        let t = sheet();
        let q = |i: Option<&str>, r: Option<&str>, g: Option<&str>, agg| TrackQuery {
            indices: i.map(String::from),
            regex: r.map(String::from),
            group: g.map(String::from),
            aggregate_group: agg,
        };
        assert_eq!(select(&t, &q(Some("0,2"), None, None, false)).unwrap().len(), 2);
        assert_eq!(select(&t, &q(Some("1-2"), None, None, false)).unwrap()[0].label, "B_chip");
        assert_eq!(select(&t, &q(None, Some("RNA"), None, false)).unwrap().len(), 2);
        let agg = select(&t, &q(None, None, None, true)).unwrap();
        assert_eq!(agg, vec![Column { label: "RNA".into(), tracks: vec![0, 2] }, Column { label: "ChIP".into(), tracks: vec![1] }]);
        assert_eq!(select(&t, &q(None, None, Some("ChIP"), false)).unwrap()[0].tracks, vec![1]);
        assert!(select(&t, &q(Some("5"), None, None, false)).is_err());
        assert!(select(&t, &q(None, Some("zzz"), None, false)).is_err());
    }
}
