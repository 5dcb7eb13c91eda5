//! `--stats-json FILE`: the run's counts as a MultiQC custom-content file (a table
//! section). MultiQC picks up files named `*_mqc.json` by itself.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::allele::SkipReason;
use super::pipeline::Summary;
use crate::error::{Error, Result};

/// The sample name MultiQC shows: the input's file name without its VCF/BCF suffixes.
pub fn sample_name(input: &str) -> String {
    if input == "-" {
        return "stdin".into();
    }
    let name = Path::new(input).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| input.to_string());
    let mut s = name.as_str();
    for suffix in [".gz", ".bgz", ".vcf", ".bcf"] {
        s = s.strip_suffix(suffix).unwrap_or(s);
    }
    s.to_string()
}

/// The MultiQC custom-content document for one run.
pub fn mqc_json(sample: &str, summary: &Summary, seconds: f64) -> Value {
    let mut row = Map::new();
    row.insert("records".into(), json!(summary.records));
    row.insert("alts_scored".into(), json!(summary.alleles_scored));
    row.insert("alts_skipped".into(), json!(summary.skipped.values().sum::<u64>()));
    for r in SkipReason::ALL {
        row.insert(format!("skipped_{}", r.as_str()), json!(summary.skipped.get(r).copied().unwrap_or(0)));
    }
    row.insert("records_left_out".into(), json!(summary.dropped));
    row.insert("records_resumed".into(), json!(summary.resumed));
    row.insert("batches".into(), json!(summary.reference_passes));
    row.insert("model_passes".into(), json!(summary.model_passes));
    row.insert("local_reuse_passes".into(), json!(summary.local_reuse_passes));
    row.insert("seconds".into(), json!((seconds * 1000.0).round() / 1000.0));
    let mut data = Map::new();
    data.insert(sample.to_string(), Value::Object(row));
    json!({
        "id": "shorkie_score",
        "section_name": "shorkie-score",
        "description": "Records read, ALT alleles scored and skipped (by reason), model batches, sequence passes (whole, and substitutions reusing their reference's local tower) and wall time of shorkie-score.",
        "plot_type": "table",
        "pconfig": {"id": "shorkie_score_table", "title": "shorkie-score", "namespace": "shorkie-score"},
        "data": Value::Object(data),
    })
}

/// Writes the document to `path`, staged and renamed.
pub fn write_stats_json(path: &Path, sample: &str, summary: &Summary, seconds: f64) -> Result<()> {
    let text = serde_json::to_string_pretty(&mqc_json(sample, summary, seconds))
        .map_err(|e| Error::Other(format!("{}: cannot format the statistics ({e})", path.display())))?;
    let partial = super::resume::partial_path(path);
    std::fs::write(&partial, text + "\n").map_err(|e| Error::io(&partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_reason_and_names_the_sample() {
        let mut s = Summary { records: 11, alleles_scored: 9, reference_passes: 3, ..Default::default() };
        s.skipped.insert(SkipReason::StarAllele, 2);
        let v = mqc_json(&sample_name("/x/demo.vcf.gz"), &s, 1.23456);
        let row = &v["data"]["demo"];
        assert_eq!(row["records"], 11);
        assert_eq!(row["alts_skipped"], 2);
        assert_eq!(row["skipped_star_allele"], 2);
        assert_eq!(row["skipped_ref_mismatch"], 0);
        assert_eq!(row["seconds"], 1.235);
        assert_eq!(v["plot_type"], "table");
        assert_eq!(sample_name("-"), "stdin");
        assert_eq!(sample_name("a.bcf"), "a");
    }
}
