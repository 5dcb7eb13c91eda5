//! Peak RSS of the streaming tools on a small input and on one ~50 times larger: windows
//! stream through bounded channels (and BigWig values wait on disk), so memory must not
//! grow with the input; each ratio must stay at or below 1.2.
//!
//! With a tiny random model (512 bp windows, 64 tracks), so the stream is what is measured:
//! - shorkie-predict, 4 BigWigs: chrI (230 kb) against all 16 nuclear chromosomes (12 Mb);
//! - shorkie-predict --fasta-input, bedGraph: 200 against 10,000 records of 1 kb;
//! - shorkie-embed, TSV: the same records;
//! - shorkie-ism --vcf -l 2, 4 columns: 20 against 1,000 SNVs.
//!
//! Needs ../shared (or $SHORKIE_SHARED) for the S288C FASTA. `cargo bench --bench
//! stream_rss` (release), or `cargo test --bench stream_rss` (dev profile, same memory
//! behaviour).

mod common;

use std::path::Path;

use common::{run_rss, shared, tiny_model};
use shorkie::formats::indexed_fasta::Fasta;

const NUCLEAR: [&str; 16] = [
    "chrI", "chrII", "chrIII", "chrIV", "chrV", "chrVI", "chrVII", "chrVIII", "chrIX", "chrX", "chrXI", "chrXII", "chrXIII",
    "chrXIV", "chrXV", "chrXVI",
];

/// Positions `first`, `first + step`, … along each nuclear chromosome in turn, while
/// `p + room` stays within it.
fn positions(fasta: &Fasta, first: i64, step: usize, room: i64) -> impl Iterator<Item = (&'static str, i64)> + '_ {
    NUCLEAR.into_iter().flat_map(move |c| {
        let len = fasta.length(c).unwrap() as i64;
        (first..).step_by(step).take_while(move |p| p + room <= len).map(move |p| (c, p))
    })
}

/// `n` records of 1 kb cut from the genome in order.
fn write_records(path: &Path, fasta: &Fasta, n: usize) {
    let mut text = String::new();
    for (c, at) in positions(fasta, 0, 1000, 1000).take(n) {
        let seq = fasta.fetch_padded(c, at, at + 1000).unwrap();
        text.push_str(&format!(">{c}_{at}\n{}\n", String::from_utf8_lossy(&seq)));
    }
    assert_eq!(text.matches('>').count(), n);
    std::fs::write(path, text).unwrap();
}

/// `n` SNVs 2 kb apart (ALT the next base after REF), REF from the FASTA.
fn write_snvs(path: &Path, fasta: &Fasta, n: usize) {
    let mut text = String::from("##fileformat=VCFv4.2\n");
    for c in NUCLEAR {
        text.push_str(&format!("##contig=<ID={c},length={}>\n", fasta.length(c).unwrap()));
    }
    text.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    let snvs = positions(fasta, 1000, 2000, 1000).filter_map(|(c, pos)| {
        let b = fasta.fetch_padded(c, pos - 1, pos).unwrap()[0].to_ascii_uppercase();
        b"ACGT".iter().position(|x| *x == b).map(|k| (c, pos, b, b"CGTA"[k]))
    });
    let mut made = 0;
    for (c, pos, reference, alt) in snvs.take(n) {
        text.push_str(&format!("{c}\t{pos}\tv{made}\t{}\t{}\t.\t.\t.\n", reference as char, alt as char));
        made += 1;
    }
    assert_eq!(made, n);
    std::fs::write(path, text).unwrap();
}

struct Case {
    name: &'static str,
    bin: &'static str,
    /// Arguments for the small and the large input.
    small: Vec<String>,
    large: Vec<String>,
    /// Where stdout goes (the tools that write to it).
    stdout: bool,
}

fn main() -> shorkie::Result<()> {
    let fasta_path = shared().join("data/sacCer3/sacCer3.fa.gz");
    if !fasta_path.exists() {
        eprintln!("stream_rss: ../shared not found; set SHORKIE_SHARED");
        std::process::exit(2);
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let s = |p: &Path| p.display().to_string();
    let (params, weights) = tiny_model(dir, 64)?;
    let fasta = Fasta::open(&fasta_path)?;
    let model: Vec<String> = vec!["-m".into(), s(&weights), "-p".into(), s(&params), "-q".into(), "--batch-size".into(), "32".into()];
    let with = |extra: &[String]| -> Vec<String> { model.iter().cloned().chain(extra.iter().cloned()).collect() };

    let one = dir.join("chrI.bed");
    std::fs::write(&one, format!("chrI\t0\t{}\n", fasta.length("chrI").unwrap())).unwrap();
    let all = dir.join("genome.bed");
    std::fs::write(&all, NUCLEAR.iter().map(|c| format!("{c}\t0\t{}\n", fasta.length(c).unwrap())).collect::<String>()).unwrap();
    let (few, many) = (dir.join("few.fa"), dir.join("many.fa"));
    write_records(&few, &fasta, 200);
    write_records(&many, &fasta, 10_000);
    let (snv_few, snv_many) = (dir.join("few.vcf"), dir.join("many.vcf"));
    write_snvs(&snv_few, &fasta, 20);
    write_snvs(&snv_many, &fasta, 1_000);
    let out = |name: &str| s(&dir.join(name));
    let strs = |v: &[&str]| -> Vec<String> { v.iter().map(|x| x.to_string()).collect() };
    let f = s(&fasta_path);

    let cases = vec![
        Case {
            name: "predict, 4 BigWigs: chrI / 16 chromosomes",
            bin: env!("CARGO_BIN_EXE_shorkie-predict"),
            small: with(&strs(&["-f", &f, "--tracks", "0-3", "-o", &out("bw_small"), &s(&one)])),
            large: with(&strs(&["-f", &f, "--tracks", "0-3", "-o", &out("bw_large"), &s(&all)])),
            stdout: false,
        },
        Case {
            name: "predict --fasta-input, bedGraph: 200 / 10,000 records",
            bin: env!("CARGO_BIN_EXE_shorkie-predict"),
            small: with(&strs(&["--fasta-input", &s(&few), "-O", "bedgraph", "--tracks", "0-3"])),
            large: with(&strs(&["--fasta-input", &s(&many), "-O", "bedgraph", "--tracks", "0-3"])),
            stdout: true,
        },
        Case {
            name: "embed, TSV: 200 / 10,000 records",
            bin: env!("CARGO_BIN_EXE_shorkie-embed"),
            small: with(&strs(&[&s(&few)])),
            large: with(&strs(&[&s(&many)])),
            stdout: true,
        },
        Case {
            name: "ism --vcf -l 2, 4 columns: 20 / 1,000 SNVs",
            bin: env!("CARGO_BIN_EXE_shorkie-ism"),
            small: with(&strs(&["-f", &f, "--vcf", "-l", "2", "--tracks", "0-3", "-o", &out("ism_small"), &s(&snv_few)])),
            large: with(&strs(&["-f", &f, "--vcf", "-l", "2", "--tracks", "0-3", "-o", &out("ism_large"), &s(&snv_many)])),
            stdout: false,
        },
    ];
    println!("Peak RSS, small input vs ~50x larger (tiny random model, 512 bp, 64 tracks, batch 32)");
    println!("  {:<52} {:>9} {:>9} {:>10} {:>10} {:>7}", "tool", "s small", "s large", "MiB small", "MiB large", "ratio");
    let mut worst: f64 = 0.0;
    let sink = dir.join("stdout");
    for c in &cases {
        let stdout = c.stdout.then_some(sink.as_path());
        let (ts, rs) = run_rss(c.bin, &c.small, stdout);
        let (tl, rl) = run_rss(c.bin, &c.large, stdout);
        let ratio = rl / rs;
        worst = worst.max(ratio);
        println!("  {:<52} {ts:>9.1} {tl:>9.1} {rs:>10.1} {rl:>10.1} {ratio:>7.2}", c.name);
    }
    println!("  largest ratio {worst:.2} (limit 1.20)");
    assert!(worst <= 1.2, "peak RSS grows with the input: {worst:.2}");
    Ok(())
}
