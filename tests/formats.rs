//! Broken reference FASTAs and indexes, alias files, GTFs and targets sheets, given to the
//! binaries that read them: each gives one line and exit status 1 — never a panic, a
//! crash, an output from the wrong bases, or records dropped without a word.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{assert_one_line_error, data, score_cmd, small_lm, small_model};

fn s(p: &Path) -> String {
    p.display().to_string()
}

const VCF: &str = "##fileformat=VCFv4.2\n##contig=<ID=chrI,length=230218>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
                   chrI\t5000\t.\tA\tG\t.\t.\t.\n";

fn run(bin: &str, args: &[String], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    {
        let mut sin = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            let _ = sin.write_all(bytes);
        }
    }
    child.wait_with_output().expect("wait")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn score(fasta: &Path, extra: &[&str], vcf: &str) -> Output {
    let model = small_model();
    let mut args = strings(&["-m", model.to_str().unwrap(), "-p"]);
    args.push(s(&data("small_finetuned/params.json")));
    args.extend(strings(&["-f", &s(fasta), "--species-index", "0", "-q"]));
    args.extend(strings(extra));
    args.push("-".into());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    score_cmd(&argv, Some(vcf.as_bytes()))
}

fn track_model_args() -> Vec<String> {
    let model = small_model();
    strings(&[
        "-m",
        model.to_str().unwrap(),
        "-p",
        &s(&data("small_finetuned/params.json")),
        "-t",
        &s(&data("small_targets.txt")),
        "--species-index",
        "0",
        "-q",
    ])
}

fn predict(fasta: &Path, bed: &str, out: &Path) -> Output {
    let mut args = track_model_args();
    args.extend(strings(&["-f", &s(fasta), "-O", "bedgraph", "-o", &s(out), "-"]));
    run(env!("CARGO_BIN_EXE_shorkie-predict"), &args, Some(bed.as_bytes()))
}

fn embed(fasta: &Path, bed: &str) -> Output {
    let lm = small_lm();
    let args = strings(&[
        "-m",
        lm.to_str().unwrap(),
        "-p",
        &s(&data("small_lm/params.json")),
        "--species-index",
        "0",
        "-q",
        "--bed",
        "-",
        "-f",
        &s(fasta),
    ]);
    run(env!("CARGO_BIN_EXE_shorkie-embed"), &args, Some(bed.as_bytes()))
}

fn ism(fasta: &Path, bed: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = track_model_args();
    args.extend(strings(&["-f", &s(fasta), "-o", &s(out)]));
    args.extend(strings(extra));
    args.push(s(bed));
    run(env!("CARGO_BIN_EXE_shorkie-ism"), &args, None)
}

fn simulate(fasta: &Path, out: &Path) -> Output {
    let args = strings(&["-f", &s(fasta), "-g", &s(&data("chrI.genes.gtf")), "-o", &s(out)]);
    run(env!("CARGO_BIN_EXE_shorkie-simulate"), &args, None)
}

/// chrI uncompressed, with the `.fai` of the bgzip copy (offsets are the same).
fn plain_chr_i(dir: &Path) -> PathBuf {
    let mut text = Vec::new();
    let gz = std::fs::File::open(data("chrI.fa.gz")).unwrap();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(gz), &mut text).unwrap();
    let fa = dir.join("chrI.fa");
    std::fs::write(&fa, &text).unwrap();
    std::fs::copy(data("chrI.fa.gz.fai"), dir.join("chrI.fa.fai")).unwrap();
    fa
}

fn fai_of(fa: &Path) -> PathBuf {
    PathBuf::from(format!("{}.fai", fa.display()))
}

/// Every binary that reads the reference refuses one cut short of what its `.fai` says
/// (htslib's faidx made a "capacity overflow" panic of it).
#[test]
fn fasta_shorter_than_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let fa = plain_chr_i(dir.path());
    let bytes = std::fs::read(&fa).unwrap();
    std::fs::write(&fa, &bytes[..bytes.len() / 2]).unwrap();
    let needles = ["chrI.fa: shorter than its index", "sequence chrI ends at byte"];
    assert_one_line_error(&score(&fa, &[], VCF), &needles);
    assert_one_line_error(&predict(&fa, "chrI\t5000\t6000\n", &dir.path().join("p.bedgraph")), &needles);
    assert_one_line_error(&embed(&fa, "chrI\t5000\t6000\n"), &needles);
    let bed = dir.path().join("r.bed");
    std::fs::write(&bed, "chrI\t5000\t5010\n").unwrap();
    assert_one_line_error(&ism(&fa, &bed, &dir.path().join("ism"), &[]), &needles);
    assert_one_line_error(&simulate(&fa, &dir.path().join("sim")), &needles);
    assert!(!dir.path().join("p.bedgraph").exists());
}

/// A `.fai` of junk, a directory where the `.fai` should be, and a plain-gzip FASTA
/// without a `.gzi` (each a segfault inside htslib before).
#[test]
fn broken_indexes_and_plain_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let fa = plain_chr_i(dir.path());
    std::fs::write(fai_of(&fa), b"\x89PNG\r\n\x1a\n\x00\x00junk").unwrap();
    assert_one_line_error(&score(&fa, &[], VCF), &["chrI.fa.fai: not a FASTA index (binary data at byte 0"]);
    std::fs::write(fai_of(&fa), "chrI 230218 6 60 61\n").unwrap();
    assert_one_line_error(&score(&fa, &[], VCF), &["chrI.fa.fai: line 1: expected 5 tab-separated columns"]);
    std::fs::write(fai_of(&fa), "chrI\t230218\tsix\t60\t61\n").unwrap();
    assert_one_line_error(&score(&fa, &[], VCF), &["chrI.fa.fai: line 1: offset \"six\" is not a whole number"]);
    std::fs::remove_file(fai_of(&fa)).unwrap();
    std::fs::create_dir(fai_of(&fa)).unwrap();
    assert_one_line_error(&score(&fa, &[], VCF), &["chrI.fa.fai: is a directory, not a .fai index"]);

    let gz = dir.path().join("gz.fa.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&std::fs::read(&fa).unwrap()).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    std::fs::copy(data("chrI.fa.gz.fai"), fai_of(&gz)).unwrap();
    let needles = ["gz.fa.gz", "plain gzip", "bgzip it and run samtools faidx"];
    assert_one_line_error(&score(&gz, &[], VCF), &needles);
    assert_one_line_error(&predict(&gz, "chrI\t5000\t6000\n", &dir.path().join("p.bedgraph")), &needles);

    // bgzip without its .gzi.
    let bg = dir.path().join("bg.fa.gz");
    std::fs::copy(data("chrI.fa.gz"), &bg).unwrap();
    std::fs::copy(data("chrI.fa.gz.fai"), fai_of(&bg)).unwrap();
    assert_one_line_error(&score(&bg, &[], VCF), &["bg.fa.gz: bgzip-compressed but there is no", "bg.fa.gz.gzi"]);
}

/// An index claiming 61 bases per line for a file of 60 fits the file's size, and read
/// the wrong bases before; now the first fetch finds the misplaced line end.
#[test]
fn wrong_line_width_is_an_error_not_wrong_scores() {
    let dir = tempfile::tempdir().unwrap();
    let fa = plain_chr_i(dir.path());
    std::fs::write(fai_of(&fa), "chrI\t230218\t6\t61\t62\n").unwrap();
    let needles = ["chrI.fa: sequence chrI: byte", "the index does not match the file"];
    assert_one_line_error(&score(&fa, &[], VCF), &needles);
    assert_one_line_error(&predict(&fa, "chrI\t5000\t6000\n", &dir.path().join("p.bedgraph")), &needles);
}

/// An alias to a contig the FASTA lacks dropped every record of that contig as
/// `contig_not_in_fasta` without a word.
#[test]
fn contig_alias_to_a_missing_contig() {
    let dir = tempfile::tempdir().unwrap();
    let alias = dir.path().join("alias.tsv");
    std::fs::write(&alias, "# VCF FASTA\nI\tchrI\nII\tchrII\n").unwrap();
    let vcf = VCF.replace("ID=chrI,", "ID=I,").replace("\nchrI\t", "\nI\t");
    let out = score(&data("chrI.fa.gz"), &["--contig-alias", &s(&alias)], &vcf);
    assert_one_line_error(&out, &["alias.tsv: line 3: chrII (the alias of II) is not in", "chrI.fa.gz (it has chrI)"]);
}

/// Gene mode with a GTF named for another assembly (`I`, not `chrI`), or with no exons,
/// made every record `no_gene_in_range`.
#[test]
fn gtf_that_matches_no_contig_or_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(data("chrI.genes.gtf")).unwrap();
    let foreign = dir.path().join("roman.gtf");
    std::fs::write(&foreign, text.replace("chrI\t", "NC_001133.9\t")).unwrap();
    let needles = ["roman.gtf: none of its contigs (NC_001133.9) is in", "chrI.fa.gz (chrI)"];
    assert_one_line_error(&score(&data("chrI.fa.gz"), &["--gtf", &s(&foreign)], VCF), &needles);
    let bed = dir.path().join("r.bed");
    std::fs::write(&bed, "chrI\t5000\t5010\n").unwrap();
    assert_one_line_error(&ism(&data("chrI.fa.gz"), &bed, &dir.path().join("ism"), &["--gtf", &s(&foreign)]), &needles);

    let empty = dir.path().join("empty.gtf");
    std::fs::write(&empty, "#!genome-build R64\n").unwrap();
    assert_one_line_error(&score(&data("chrI.fa.gz"), &["--gtf", &s(&empty)], VCF), &["empty.gtf: no genes (no exon records"]);
}

/// Targets sheet rows with a missing field or an unknown strand were taken as unstranded
/// tracks with empty cells.
#[test]
fn targets_sheet_short_rows_and_unknown_strands() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = std::fs::read_to_string(data("small_targets.txt")).unwrap();
    let run_with = |text: &str| {
        let p = dir.path().join("targets.txt");
        std::fs::write(&p, text).unwrap();
        let mut args = track_model_args();
        let t = args.iter().position(|a| a == "-t").unwrap();
        args[t + 1] = s(&p);
        args.extend(strings(&["-f", &s(&data("chrI.fa.gz")), "-O", "bedgraph", "-o", &s(&dir.path().join("o")), "-"]));
        run(env!("CARGO_BIN_EXE_shorkie-predict"), &args, Some(b"chrI\t5000\t6000\n"))
    };
    let short = sheet.replacen("\t.\tRNA\n", "\n", 1);
    assert_one_line_error(&run_with(&short), &["targets.txt:4: 3 fields, the header on line 1 has 5 (no \"strand\" field)"]);
    let strand = sheet.replacen("\t+\tRNA", "\tplus\tRNA", 1);
    assert_one_line_error(&run_with(&strand), &["targets.txt: line 2: bad strand \"plus\""]);
}

/// A BED given as a FIFO (process substitution) is read like a file.
#[test]
fn regions_from_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("regions.bed");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, "chrI 5000 6000\r\n").unwrap())
    };
    let out_path = dir.path().join("p.bedgraph");
    let mut args = track_model_args();
    args.extend(strings(&["-f", &s(&data("chrI.fa.gz")), "-O", "bedgraph", "-o", &s(&out_path), &s(&fifo)]));
    let out = run(env!("CARGO_BIN_EXE_shorkie-predict"), &args, None);
    writer.join().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert!(text.lines().any(|l| l.starts_with("chrI\t")), "{text}");
}
