//! Peak RSS of `shorkie-score --scores-out FILE.h5` for 1 k vs 100 k records: the matrix
//! grows on disk, not in memory, so the ratio must stay near 1 (≤ 1.2).
//!
//! 1. The whole pipeline with a tiny random model (512 bp windows, 64 tracks), so the
//!    stream and the side output are what is measured; needs ../shared (or
//!    $SHORKIE_SHARED) for the S288C FASTA.
//! 2. The HDF5 writer alone at the published width (5,215 tracks, logSED and SUM), fed
//!    1 k and 100 k synthetic rows in a child process: 2 GB of float16 go to disk.
//!
//! `cargo bench --bench scores_rss` (release) or `cargo test --bench scores_rss` (dev
//! profile, same memory behaviour); `SCORES_RSS=writer` runs part 2 only, `SCORES_RSS=pipeline`
//! part 1 only.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::{run_rss, shared, tiny_model, wait_rss};
use shorkie::formats::indexed_fasta::Fasta;
use shorkie::score::scorer::MatrixRow;
use shorkie::score::side::{MatrixSpec, RecordMeta, SideOutputs};

const WIDE: usize = 5215;

/// Child mode: writes `n` rows of WIDE tracks x 2 statistics to `path` through the
/// side-output writer, one record per row.
fn write_wide(path: &Path, n: usize) -> shorkie::Result<()> {
    let spec = MatrixSpec {
        stats: vec!["logSED".into(), "SUM".into()],
        target_ids: (0..WIDE).map(|t| format!("track{t}")).collect(),
        target_labels: (0..WIDE).map(|t| format!("synthetic track {t}")).collect(),
        gene_mode: false,
    };
    let mut side = SideOutputs::new(vec![path.to_path_buf()], spec)?;
    side.open(false, 0)?;
    let mut values = vec![0f32; 2 * WIDE];
    for i in 0..n {
        for (k, v) in values.iter_mut().enumerate() {
            *v = ((i * 31 + k * 7) % 1000) as f32 / 100.0 - 5.0;
        }
        let id = format!("v{i}");
        let meta = RecordMeta { chrom: "chrIV", pos: 1000 + i as u64, id: &id, reference: "A" };
        side.record(&meta, &[MatrixRow { alt: "C".into(), allele: 1, gene: None, values: values.clone() }])?;
    }
    side.finish()
}

fn wide_writer(tmp: &Path) {
    println!("HDF5 writer alone: 5,215 tracks x logSED, SUM (child process)");
    println!("  {:>8} {:>10} {:>14} {:>12}", "rows", "seconds", "peak RSS MiB", "h5 MiB");
    let mut rss = Vec::new();
    let mut written = 0.0;
    for n in [1_000usize, 100_000] {
        let h5 = tmp.join(format!("wide{n}.h5"));
        let start = Instant::now();
        let child = Command::new(std::env::current_exe().unwrap())
            .env("SCORES_RSS_CHILD", format!("{n}"))
            .env("SCORES_RSS_OUT", &h5)
            .spawn()
            .expect("spawn child");
        let (ok, r) = wait_rss(child);
        assert!(ok, "writer child failed");
        let mib = std::fs::metadata(&h5).map(|m| m.len() as f64 / (1 << 20) as f64).unwrap_or(0.0);
        println!("  {n:>8} {:>10.1} {r:>14.1} {mib:>12.1}", start.elapsed().as_secs_f64());
        written = mib;
        let _ = std::fs::remove_file(&h5);
        rss.push(r);
    }
    // The child has no model, so its base is small (about 17 MiB) and a ratio would
    // magnify a few MiB of allocator and HDF5 cache state; what must not happen is growth
    // in proportion to the 2 GB written.
    let growth = rss[1] - rss[0];
    println!("  RSS ratio 100k / 1k: {:.2}, growth {growth:.1} MiB for {written:.0} MiB written (limit 8 MiB)", rss[1] / rss[0]);
    assert!(growth <= 8.0, "peak RSS grows with the rows: +{growth:.1} MiB");
}

/// SNVs every `step` bp along `contigs`, REF from the FASTA.
fn write_vcf(path: &Path, fasta: &Fasta, contigs: &[(String, u64)], step: u64, n: usize) {
    let mut text = String::from("##fileformat=VCFv4.2\n");
    for (c, len) in contigs {
        text.push_str(&format!("##contig=<ID={c},length={len}>\n"));
    }
    text.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    let mut count = 0;
    'outer: for (c, len) in contigs {
        let mut pos = 2_000;
        while pos + 2_000 < *len {
            let b = fasta.fetch_padded(c, pos as i64 - 1, pos as i64).unwrap()[0];
            if let Some(k) = b"ACGT".iter().position(|x| *x == b) {
                text.push_str(&format!("{c}\t{pos}\tv{count}\t{}\t{}\t.\t.\t.\n", b as char, b"CGTA"[k] as char));
                count += 1;
                if count == n {
                    break 'outer;
                }
            }
            pos += step;
        }
    }
    assert_eq!(count, n, "not enough positions for {n} variants");
    std::fs::write(path, text).unwrap();
}

fn main() -> shorkie::Result<()> {
    if let (Some(n), Some(out)) = (std::env::var_os("SCORES_RSS_CHILD"), std::env::var_os("SCORES_RSS_OUT")) {
        let n: usize = n.to_string_lossy().parse().expect("row count");
        return write_wide(Path::new(&out), n);
    }
    if std::env::var("SCORES_RSS").as_deref() == Ok("writer") {
        let tmp = tempfile::tempdir().unwrap();
        wide_writer(tmp.path());
        return Ok(());
    }
    let fasta_path = shared().join("data/sacCer3/sacCer3.fa.gz");
    if !fasta_path.exists() {
        eprintln!("scores_rss: ../shared not found; set SHORKIE_SHARED");
        std::process::exit(2);
    }
    let tmp = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.display().to_string();
    let (params, weights) = tiny_model(tmp.path(), 64)?;
    let fasta = Fasta::open(&fasta_path)?;
    let contigs: Vec<(String, u64)> = ["chrIV", "chrVII", "chrXII", "chrXV", "chrXVI", "chrII", "chrXIII", "chrXIV"]
        .iter()
        .map(|c| (c.to_string(), fasta.length(c).unwrap()))
        .collect();
    println!("shorkie-score --scores-out s.h5 (tiny random model, 512 bp, 64 tracks, logSED+SUM, batch 64)");
    println!("  {:>8} {:>10} {:>12} {:>14} {:>12}", "records", "seconds", "records/s", "peak RSS MiB", "h5 MiB");
    let mut rss = Vec::new();
    // SCORES_RSS_COUNTS=a,b compares other record counts (default 1000,100000).
    let counts: Vec<usize> = std::env::var("SCORES_RSS_COUNTS")
        .ok()
        .map(|v| v.split(',').map(|x| x.trim().parse().expect("SCORES_RSS_COUNTS: numbers")).collect())
        .unwrap_or_else(|| vec![1_000, 100_000]);
    assert_eq!(counts.len(), 2, "SCORES_RSS_COUNTS: two counts");
    for &n in &counts {
        let vcf = tmp.path().join(format!("v{n}.vcf"));
        write_vcf(&vcf, &fasta, &contigs, 60, n);
        let h5 = tmp.path().join(format!("s{n}.h5"));
        let args: Vec<String> = vec![
            "-m".into(), s(&weights), "-p".into(), s(&params), "-f".into(), s(&fasta_path), "-q".into(), "--batch-size".into(), "64".into(),
            "--cluster-bp".into(), "200".into(), "--scores-out".into(), s(&h5), s(&vcf),
        ];
        let (t, r) = run_rss(env!("CARGO_BIN_EXE_shorkie-score"), &args, None);
        let mib = |p: &Path| std::fs::metadata(p).map(|m| m.len() as f64 / (1 << 20) as f64).unwrap_or(0.0);
        println!("  {n:>8} {t:>10.1} {:>12.0} {r:>14.1} {:>12.1}", n as f64 / t, mib(&h5));
        rss.push(r);
    }
    let ratio = rss[1] / rss[0];
    println!("  RSS ratio {} / {}: {ratio:.2} (limit 1.20)", counts[1], counts[0]);
    assert!(ratio <= 1.2, "peak RSS grows with the input: {ratio:.2}");
    println!();
    if std::env::var("SCORES_RSS").as_deref() != Ok("pipeline") {
        wide_writer(tmp.path());
    }
    Ok(())
}
