//! shorkie-score end to end: real bcftools in and out, scores against an independent
//! computation (direct model forward + the formula), determinism, resume, bad input.

mod common;

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use common::{assert_one_line_error, data, score_cmd, sh, small_model};
use shorkie::{Params, SeqNN};

const L: usize = 2048;
const CH: usize = 8;

fn base_args(model: &str) -> Vec<String> {
    vec![
        "-m".into(),
        model.into(),
        "-p".into(),
        data("small_finetuned/params.json").display().to_string(),
        "-f".into(),
        data("chrI.fa.gz").display().to_string(),
        "--species-index".into(),
        "0".into(),
        "-q".into(),
    ]
}

fn run_ok(extra: &[&str], stdin: Option<&[u8]>) -> String {
    let model = small_model();
    let mut args = base_args(model.to_str().unwrap());
    args.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = score_cmd(&argv, stdin);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// ID -> (SHORKIE entries, SHORKIE_SKIP entries) from VCF text.
fn parse_vcf(text: &str) -> HashMap<String, (Vec<String>, Vec<String>)> {
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let mut entries = Vec::new();
        let mut skips = Vec::new();
        for kv in f[7].split(';') {
            if let Some(v) = kv.strip_prefix("SHORKIE=") {
                entries = v.split(',').map(String::from).collect();
            } else if let Some(v) = kv.strip_prefix("SHORKIE_SKIP=") {
                skips = v.split(',').map(String::from).collect();
            }
        }
        out.insert(f[2].to_string(), (entries, skips));
    }
    out
}

fn values(entry: &str) -> Vec<f64> {
    entry.split('|').skip(2).map(|v| v.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {v} in {entry}"))).collect()
}

// ---------- an independent reference computation ----------

fn fetch(start0: i64, len: usize) -> Vec<u8> {
    let region = format!("chrI:{}-{}", start0 + 1, start0 + len as i64);
    let out = sh(&format!("samtools faidx {} {region}", data("chrI.fa.gz").display()));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().skip(1).collect::<String>().to_uppercase().into_bytes()
}

fn one_hot(seq: &[u8]) -> Vec<f32> {
    let mut x = vec![0f32; L * CH];
    for (i, b) in seq.iter().take(L).enumerate() {
        let c = match b {
            b'A' => Some(0),
            b'C' => Some(1),
            b'G' => Some(2),
            b'T' => Some(3),
            _ => None,
        };
        if let Some(c) = c {
            x[i * CH + c] = 1.0;
        }
        x[i * CH + 5] = 1.0; // species 0
    }
    x
}

fn shifted(x: &[f32], shift: i64) -> Vec<f32> {
    let mut y = vec![0f32; x.len()];
    for i in 0..L as i64 {
        let j = i - shift;
        if (0..L as i64).contains(&j) {
            y[i as usize * CH..(i as usize + 1) * CH].copy_from_slice(&x[j as usize * CH..(j as usize + 1) * CH]);
        }
    }
    y
}

fn rc(x: &[f32]) -> Vec<f32> {
    let mut y = vec![0f32; x.len()];
    for i in 0..L {
        let src = &x[(L - 1 - i) * CH..(L - i) * CH];
        let dst = &mut y[i * CH..(i + 1) * CH];
        dst.copy_from_slice(src);
        dst[0] = src[3];
        dst[1] = src[2];
        dst[2] = src[1];
        dst[3] = src[0];
    }
    y
}

struct Ref {
    model: SeqNN,
}

impl Ref {
    fn new() -> Self {
        let params = Params::from_file(data("small_finetuned/params.json")).unwrap();
        Ref { model: SeqNN::load(&params, &small_model(), &Device::Cpu).unwrap() }
    }

    /// [bins][37]
    fn predict(&self, x: &[f32], with_rc: bool) -> Vec<Vec<f32>> {
        let t = Tensor::from_vec(x.to_vec(), (1, L, CH), &Device::Cpu).unwrap();
        let y: Vec<Vec<f32>> = self.model.forward(&t).unwrap().squeeze(0).unwrap().to_vec2().unwrap();
        if !with_rc {
            return y;
        }
        let t = Tensor::from_vec(rc(x), (1, L, CH), &Device::Cpu).unwrap();
        let yr: Vec<Vec<f32>> = self.model.forward(&t).unwrap().squeeze(0).unwrap().to_vec2().unwrap();
        let n = y.len();
        (0..n).map(|b| y[b].iter().zip(&yr[n - 1 - b]).map(|(a, r)| (a + r) / 2.0).collect()).collect()
    }
}

fn sums(p: &[Vec<f32>], t: usize) -> f64 {
    p.iter().map(|row| row[t] as f64).sum()
}

fn stitch(a: &[Vec<f32>], b: &[Vec<f32>], bin: usize) -> Vec<Vec<f32>> {
    a[..bin].iter().chain(b[bin..].iter()).cloned().collect()
}

/// Bin of the variant, as baskerville: (pos1 - start - crop) // bin width.
const STITCH_BIN: usize = (L / 2 - 32) / 2;

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 2e-4 * want.abs() + 1e-9
}

/// logSED and SUM for tracks 0..3 from ref/alt prediction passes.
fn expect(refs: &[Vec<Vec<f32>>], alts: &[Vec<Vec<f32>>]) -> Vec<f64> {
    let n = refs.len() as f64;
    let mut out = Vec::new();
    for t in 0..3 {
        let r: f64 = refs.iter().map(|p| (sums(p, t) + 1.0).log2()).sum::<f64>() / n;
        let a: f64 = alts.iter().map(|p| (sums(p, t) + 1.0).log2()).sum::<f64>() / n;
        out.push(a - r);
    }
    for t in 0..3 {
        let d: f64 = refs.iter().zip(alts).map(|(r, a)| sums(a, t) - sums(r, t)).sum::<f64>() / n;
        out.push(d);
    }
    out
}

fn substitute(window: &[u8], offset: usize, ref_len: usize, alt: &[u8]) -> Vec<u8> {
    let mut s = window[..offset].to_vec();
    s.extend_from_slice(alt);
    s.extend_from_slice(&window[offset + ref_len..]);
    s.resize(L, b'N');
    s
}

#[test]
fn scores_equal_an_independent_computation() {
    let text = run_ok(&["--tracks", "0-2", data("demo.vcf").to_str().unwrap()], None);
    let got = parse_vcf(&text);
    let r = Ref::new();
    let off = L / 2 - 1;
    let check = |id: &str, pos1: i64, reference: &str, alts: &[&str]| {
        let start = pos1 - (L / 2) as i64;
        let window = fetch(start, L);
        assert_eq!(&window[off..off + reference.len()], reference.to_uppercase().as_bytes(), "{id}");
        let ref_x = one_hot(&window);
        let ref_p = r.predict(&ref_x, false);
        let (entries, _) = &got[id];
        for (k, alt) in alts.iter().enumerate() {
            let d = alt.len() as i64 - reference.len() as i64;
            let alt_x = one_hot(&substitute(&window, off, reference.len(), alt.to_uppercase().as_bytes()));
            let mut alt_p = r.predict(&alt_x, false);
            let mut ref_used = ref_p.clone();
            if d > 0 {
                alt_p = stitch(&alt_p, &r.predict(&shifted(&alt_x, -d), false), STITCH_BIN);
            } else if d < 0 {
                ref_used = stitch(&ref_p, &r.predict(&shifted(&ref_x, d), false), STITCH_BIN);
            }
            let want = expect(&[ref_used], &[alt_p]);
            let entry = &entries[k];
            assert!(entry.starts_with(&format!("{alt}|.|")), "{id}: {entry}");
            let v = values(entry);
            for (g, w) in v.iter().zip(&want) {
                assert!(close(*g, *w), "{id} {alt}: got {v:?}, want {want:?}");
            }
        }
    };
    let line = |id: &str| -> (i64, String, Vec<String>) {
        let l = std::fs::read_to_string(data("demo.vcf")).unwrap();
        let f: Vec<String> = l.lines().find(|x| x.contains(&format!("\t{id}\t"))).unwrap().split('\t').map(String::from).collect();
        (f[1].parse().unwrap(), f[3].clone(), f[4].split(',').map(String::from).collect())
    };
    for id in ["snv1", "mnv1", "ins1", "del1", "lowercase"] {
        let (pos, reference, alts) = line(id);
        let alts: Vec<&str> = alts.iter().map(String::as_str).collect();
        check(id, pos, &reference, &alts);
    }
    // Multi-allelic: both scorable ALTs, and the `*` passed through with its reason.
    let (pos, reference, alts) = line("multi1");
    check("multi1", pos, &reference, &[&alts[0], &alts[1]]);
    assert_eq!(got["multi1"].1, vec!["*|star_allele".to_string()]);
}

#[test]
fn rc_and_shift_ensemble_equals_independent_computation() {
    let text = run_ok(&["--tracks", "0-2", "--rc", "--shifts", "-1,0,1", data("demo.vcf").to_str().unwrap()], None);
    let got = parse_vcf(&text);
    let r = Ref::new();
    let (pos1, off) = (5000i64, L / 2 - 1);
    let window = fetch(pos1 - (L / 2) as i64, L);
    let ref_x = one_hot(&window);
    let alt_base = got["snv1"].0[0].split('|').next().unwrap().as_bytes().to_vec();
    let alt_x = one_hot(&substitute(&window, off, 1, &alt_base));
    let refs: Vec<_> = [-1i64, 0, 1].iter().map(|s| r.predict(&shifted(&ref_x, *s), true)).collect();
    let alts: Vec<_> = [-1i64, 0, 1].iter().map(|s| r.predict(&shifted(&alt_x, *s), true)).collect();
    let want = expect(&refs, &alts);
    let v = values(&got["snv1"].0[0]);
    for (g, w) in v.iter().zip(&want) {
        assert!(close(*g, *w), "got {v:?}, want {want:?}");
    }
}

#[test]
fn bcftools_in_and_out_with_every_reason() {
    let model = small_model();
    let args = base_args(model.to_str().unwrap()).join(" ");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("scored.bcf");
    let script = format!(
        "set -euo pipefail; bcftools view -Ob {demo} | {bin} {args} --tracks 0-2 - -O b -o {out} --write-index && bcftools view -H {out} | wc -l && bcftools query -f '%ID\\t%INFO/SHORKIE\\t%INFO/SHORKIE_SKIP\\n' {out}",
        demo = data("demo.vcf").display(),
        bin = env!("CARGO_BIN_EXE_shorkie-score"),
        out = out.display()
    );
    let res = sh(&script);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(out.with_extension("bcf.csi").exists(), "index written");
    let text = String::from_utf8(res.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap().trim(), "11", "every record written");
    let rows: HashMap<&str, (&str, &str)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0], (f[1], f[2]))
        })
        .collect();
    // Every scored entry parses as ALLELE|GENE|6 numbers.
    for (id, (entries, _)) in &rows {
        if *entries != "." {
            for e in entries.split(',') {
                assert_eq!(values(e).len(), 6, "{id}: {e}");
            }
        }
    }
    let reason = |id: &str| rows[id].1.split('|').nth(1).unwrap().to_string();
    assert_eq!(reason("nearstart"), "near_contig_end");
    assert_eq!(reason("sym1"), "symbolic_alt");
    assert_eq!(reason("refmm"), "ref_mismatch");
    assert_eq!(reason("nocontig"), "contig_not_in_fasta");
    assert_eq!(rows["snv1"].1, ".");
}

#[test]
fn output_is_identical_across_batch_sizes_and_threads() {
    let demo = data("demo.vcf").display().to_string();
    let strip = |s: String| s.lines().filter(|l| !l.starts_with("##shorkie_scoreCommand")).collect::<Vec<_>>().join("\n");
    let a = strip(run_ok(&["--batch-size", "1", "--threads", "1", &demo], None));
    let b = strip(run_ok(&["--batch-size", "64", "--threads", "2", &demo], None));
    let c = strip(run_ok(&["--batch-size", "3", "--threads", "2", "--cluster-bp", "0", &demo], None));
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = data("demo.vcf").display().to_string();
    // The partial must come from the same command line (it is recorded in the header).
    let resumed = tmp.path().join("resumed.vcf");
    run_ok(&["-o", resumed.to_str().unwrap(), &demo], None);
    let text = std::fs::read_to_string(&resumed).unwrap();
    std::fs::remove_file(&resumed).unwrap();
    // A killed run: the header, four records and half of the fifth.
    let mut cut = 0;
    let mut records = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' && i + 1 < text.len() && text.as_bytes()[i + 1] != b'#' {
            records += 1;
            if records == 5 {
                cut = i + 12;
                break;
            }
        }
    }
    std::fs::write(tmp.path().join("resumed.vcf.partial"), &text.as_bytes()[..cut]).unwrap();
    run_ok(&["-o", resumed.to_str().unwrap(), "--resume", &demo], None);
    assert!(!tmp.path().join("resumed.vcf.partial").exists());
    assert_eq!(std::fs::read_to_string(&resumed).unwrap(), text);
}

#[test]
fn stdin_and_compressed_output() {
    let demo = std::fs::read(data("demo.vcf")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x.vcf.gz");
    run_ok(&["-O", "z", "-o", out.to_str().unwrap(), "--write-index", "-"], Some(&demo));
    let res = sh(&format!("bcftools view -H -r chrI:5000 {}", out.display()));
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(String::from_utf8_lossy(&res.stdout).contains("snv1"));
}

// ---------- bad input: one clear line, or an explicit per-record reason ----------

fn run_err(extra: &[&str], stdin: Option<&[u8]>, needles: &[&str]) {
    let model = small_model();
    let mut args = base_args(model.to_str().unwrap());
    args.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = score_cmd(&argv, stdin);
    assert_one_line_error(&out, needles);
}

const HEADER: &str = "##fileformat=VCFv4.2\n##contig=<ID=chrI,length=230218>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

fn with_header(body: &str) -> Vec<u8> {
    format!("{HEADER}{body}").into_bytes()
}

#[test]
fn bad_vcf_input_is_a_clear_error() {
    // Empty input.
    run_err(&["-"], Some(b""), &["<stdin>"]);
    // No header at all.
    run_err(&["-"], Some(b"chrI\t5000\t.\tA\tC\t.\t.\t.\n"), &["<stdin>"]);
    // Non-numeric POS.
    run_err(&["-"], Some(&with_header("chrI\tfive\t.\tA\tC\t.\t.\t.\n")), &["<stdin>", "record 1"]);
    // Truncated: the last line is cut in its REF column.
    let mut t = with_header("chrI\t5000\tsnv1\tA\tC\t.\tPASS\t.\n");
    t.extend_from_slice(b"chrI\t50");
    run_err(&["-"], Some(&t), &["<stdin>", "record 2"]);
    // Truncated bgzip file.
    let tmp = tempfile::tempdir().unwrap();
    let gz = tmp.path().join("demo.vcf.gz");
    assert!(sh(&format!("bgzip -c {} > {}", data("demo.vcf").display(), gz.display())).status.success());
    let bytes = std::fs::read(&gz).unwrap();
    std::fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
    run_err(&[gz.to_str().unwrap()], None, &["demo.vcf.gz"]);
    // Missing file.
    run_err(&["/nonexistent.vcf"], None, &["/nonexistent.vcf"]);
    // REF mismatch as an error names the record and both alleles.
    run_err(&["--on-ref-mismatch", "error", data("demo.vcf").to_str().unwrap()], None, &["record 9", "chrI:60000", "does not match"]);
}

#[test]
fn bad_options_are_clear_errors() {
    let demo = data("demo.vcf").display().to_string();
    run_err(&["--stats", "logSED,nope", &demo], None, &["unknown statistic \"nope\""]);
    run_err(&["--tracks", "99", &demo], None, &["--tracks", "outside the 37 tracks"]);
    run_err(&["--shifts", "x", &demo], None, &["--shifts: bad value \"x\""]);
    run_err(&["--resume", &demo], None, &["--resume needs -o FILE"]);
    run_err(&["-O", "v", "--write-index", "-o", "/tmp/shorkie-never.vcf", &demo], None, &["--write-index needs -O z or -O b"]);
    // The species channel of a multi-species model must be chosen.
    let model = small_model();
    let out = score_cmd(
        &["-m", model.to_str().unwrap(), "-p", data("small_finetuned/params.json").to_str().unwrap(), "-f", data("chrI.fa.gz").to_str().unwrap(), &demo],
        None,
    );
    assert_one_line_error(&out, &["--species-index"]);
    // A FASTA without its index.
    let tmp = tempfile::tempdir().unwrap();
    let fa = tmp.path().join("x.fa");
    std::fs::write(&fa, ">chrI\nACGT\n").unwrap();
    let out = score_cmd(
        &["-m", model.to_str().unwrap(), "-p", data("small_finetuned/params.json").to_str().unwrap(), "-f", fa.to_str().unwrap(), "--species-index", "0", &demo],
        None,
    );
    assert_one_line_error(&out, &["x.fa", "no index"]);
}

#[test]
fn per_record_reasons_for_awkward_records() {
    let tmp = tempfile::tempdir().unwrap();
    // A FASTA with an N run, to test N in the window and N in REF.
    let fa = tmp.path().join("n.fa");
    let mut seq = fetch(0, 6000);
    for b in &mut seq[2500..3500] {
        *b = b'N';
    }
    std::fs::write(&fa, format!(">chrI\n{}\n", String::from_utf8(seq.clone()).unwrap())).unwrap();
    assert!(sh(&format!("samtools faidx {}", fa.display())).status.success());
    let at = |p: usize| (seq[p - 1] as char).to_string();
    let body = format!(
        "chrI\t1\tfirst\t{}\tA\t.\t.\t.\nchrI\t3000\tinN\tN\tA\t.\t.\t.\nchrI\t3600\tnearN\t{}\tA\t.\t.\t.\nchrI\t6000\tlast\t{}\tA\t.\t.\t.\nchrI\t3600\tdup\t{}\tA\t.\t.\t.\nchrI\t3601\tnoalt\t{}\t.\t.\t.\t.\n",
        at(1), at(3600), at(6000), at(3600), at(3601)
    );
    let model = small_model();
    let params = data("small_finetuned/params.json");
    let run = |extra: &[&str]| {
        let mut args = vec!["-m", model.to_str().unwrap(), "-p", params.to_str().unwrap(), "-f", fa.to_str().unwrap(), "--species-index", "0", "-q"];
        args.extend_from_slice(extra);
        args.push("-");
        let out = score_cmd(&args, Some(&with_header(&body)));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        parse_vcf(&String::from_utf8(out.stdout).unwrap())
    };
    let got = run(&["--max-n-frac", "0.1"]);
    assert_eq!(got["first"].1, vec!["A|near_contig_end"]);
    assert_eq!(got["last"].1, vec!["A|near_contig_end"]);
    assert_eq!(got["inN"].1, vec!["A|ref_has_N"]);
    assert_eq!(got["nearN"].1, vec!["A|too_many_N"]);
    assert_eq!(got["noalt"].1, vec![".|missing_alt"]);
    // With N padding at contig ends and a permissive N threshold, they are scored;
    // a duplicate record gets the same scores as its twin.
    let got = run(&["--pad-ends", "--max-n-frac", "0.9"]);
    for id in ["first", "last", "nearN", "dup"] {
        assert_eq!(got[id].0.len(), 1, "{id}: {:?}", got[id]);
    }
    assert_eq!(got["dup"].0, got["nearN"].0);
}

#[test]
fn gene_mode_minus_strand_gene_equals_independent_computation() {
    let text = run_ok(
        &[
            "--tracks", "0-2", "-g", data("chrI.genes.gtf").to_str().unwrap(), "-t", data("small_targets.txt").to_str().unwrap(),
            data("demo.vcf").to_str().unwrap(),
        ],
        None,
    );
    let got = parse_vcf(&text);
    let entries = &got["mnv1"].0;
    let entry = entries.iter().find(|e| e.split('|').nth(1) == Some("YAL065C")).expect("minus-strand gene scored");
    // YAL065C: one exon chrI:11565-11951 on '-'. Its window is centred on the gene
    // (the variant at 12000 falls in that window's output region).
    let (gs, ge) = (11564i64, 11951i64);
    let start = (gs + ge) / 2 - (L / 2) as i64;
    let crop = 32i64;
    assert!(11999 >= start + crop && 11999 < start + L as i64 - crop);
    let window = fetch(start, L);
    let off = (11999 - start) as usize;
    let r = Ref::new();
    let line = std::fs::read_to_string(data("demo.vcf")).unwrap();
    let f: Vec<&str> = line.lines().find(|x| x.contains("\tmnv1\t")).unwrap().split('\t').collect();
    let ref_p = r.predict(&one_hot(&window), false);
    let alt_p = r.predict(&one_hot(&substitute(&window, off, f[3].len(), f[4].as_bytes())), false);
    let bins: Vec<usize> = (0..ref_p.len())
        .filter(|b| {
            let lo = start + crop + 2 * *b as i64;
            gs < lo + 2 && ge > lo
        })
        .collect();
    let sum = |p: &[Vec<f32>], t: usize| bins.iter().map(|b| p[*b][t] as f64).sum::<f64>();
    let fields: Vec<&str> = entry.split('|').collect();
    // Track 0 is '+': not counted for a '-' gene.
    assert_eq!(fields[2], ".");
    assert_eq!(fields[5], ".");
    for (k, t) in [(3usize, 1usize), (4, 2)] {
        let want = (sum(&alt_p, t) + 1.0).log2() - (sum(&ref_p, t) + 1.0).log2();
        let got: f64 = fields[k].parse().unwrap();
        assert!(close(got, want), "logSED track {t}: got {got}, want {want}");
        let want = sum(&alt_p, t) - sum(&ref_p, t);
        let got: f64 = fields[k + 3].parse().unwrap();
        assert!((got - want).abs() <= 2e-4 * want.abs() + 1e-6, "SUM track {t}: got {got}, want {want}");
    }
    // Records with no gene in reach say so; symbolic ALTs keep their own reason.
    assert!(got["snv1"].1[0].ends_with("|no_gene_in_range"), "{:?}", got["snv1"]);
    assert_eq!(got["multi1"].1.last().unwrap(), "*|star_allele");
}

#[test]
fn gene_mode_needs_sorted_input() {
    let body = std::fs::read_to_string(data("demo.vcf")).unwrap();
    let mut lines: Vec<&str> = body.lines().collect();
    let n = lines.len();
    lines.swap(n - 2, n - 4);
    let text = lines.join("\n") + "\n";
    run_err(
        &["-g", data("chrI.genes.gtf").to_str().unwrap(), "-"],
        Some(text.as_bytes()),
        &["<stdin>", "not sorted", "bcftools sort"],
    );
}

#[test]
fn language_model_zero_shot_equals_independent_computation() {
    let lm = common::small_lm();
    let out = score_cmd(
        &[
            "-m", lm.to_str().unwrap(), "-p", data("small_lm/params.json").to_str().unwrap(), "-f", data("chrI.fa.gz").to_str().unwrap(),
            "--species-index", "0", "-q", data("demo.vcf").to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("LLR=ln(p_alt/p_ref)"));
    let got = parse_vcf(&text);
    let params = Params::from_file(data("small_lm/params.json")).unwrap();
    let model = SeqNN::load(&params, &lm, &Device::Cpu).unwrap();
    let off = L / 2 - 1;
    let window = fetch(5000 - (L / 2) as i64, L);
    let mut x = one_hot(&window);
    x[off * CH..off * CH + 4].fill(0.0);
    x[off * CH + 4] = 1.0; // the mask flag
    let p: Vec<Vec<f32>> = model
        .forward(&Tensor::from_vec(x, (1, L, CH), &Device::Cpu).unwrap())
        .unwrap()
        .squeeze(0)
        .unwrap()
        .to_vec2()
        .unwrap();
    let idx = |b: u8| b"ACGT".iter().position(|c| *c == b).unwrap();
    let entry = &got["snv1"].0[0];
    let alt = entry.as_bytes()[0];
    let want = (p[off][idx(alt)] as f64).ln() - (p[off][idx(window[off])] as f64).ln();
    let v = values(entry);
    assert_eq!(v.len(), 1);
    assert!(close(v[0], want), "got {}, want {want}", v[0]);
    // Indels and MNVs have no zero-shot score: an explicit reason.
    assert_eq!(got["ins1"].1, vec!["TGATTACA|lm_needs_snv".to_string()]);
    assert!(got["mnv1"].1[0].ends_with("|lm_needs_snv"));
}

#[test]
fn every_statistic_and_group_aggregation() {
    let demo = data("demo.vcf").display().to_string();
    let text = run_ok(&["--stats", "SUM,logSUM,logSED,D1,D2,logD2,JS,SAX,REF,ALT", "--tracks", "0-3", &demo], None);
    assert!(text.contains("JS=(KL(r||a)+KL(a||r))/2"), "formulas in the header");
    let got = parse_vcf(&text);
    let v = values(&got["snv1"].0[0]);
    assert_eq!(v.len(), 40);
    // D1 >= |SUM|, D2 >= 0, JS >= 0, REF and ALT are positive sums.
    for t in 0..4 {
        assert!(v[12 + t] + 1e-12 >= v[t].abs());
        assert!(v[16 + t] >= 0.0 && v[24 + t] >= 0.0);
        assert!(v[32 + t] > 0.0 && v[36 + t] > 0.0);
        // SUM = ALT - REF
        assert!((v[36 + t] - v[32 + t] - v[t]).abs() <= 1e-3 * v[32 + t].abs().max(1.0) * 1e-3 + 1e-6);
    }
    // Group aggregation: the RNA group is the mean of its tracks' scores.
    let targets = data("small_targets.txt").display().to_string();
    let per_track = parse_vcf(&run_ok(&["-t", &targets, "--tracks", "0-3", "--stats", "SUM", &demo], None));
    let grouped = parse_vcf(&run_ok(&["-t", &targets, "--tracks", "0-3", "--stats", "SUM", "--aggregate", "group", &demo], None));
    let pt = values(&per_track["snv1"].0[0]);
    let gr = values(&grouped["snv1"].0[0]);
    assert_eq!(gr.len(), 2);
    assert!(close(gr[0], (pt[0] + pt[2]) / 2.0), "RNA = tracks 0 and 2");
    assert!(close(gr[1], (pt[1] + pt[3]) / 2.0), "ChIP = tracks 1 and 3");
    let regex = parse_vcf(&run_ok(&["-t", &targets, "--track-regex", "^track1$", "--stats", "SUM", &demo], None));
    assert!(close(values(&regex["snv1"].0[0])[0], pt[1]));
}

#[test]
fn contig_names_resolve_by_alias_and_chr_prefix_only() {
    let body = std::fs::read_to_string(data("demo.vcf")).unwrap();
    let snv: Vec<&str> = body.lines().filter(|l| l.contains("\tsnv1\t")).collect();
    let f: Vec<&str> = snv[0].split('\t').collect();
    let rec = |chrom: &str, id: &str| format!("{chrom}\t{}\t{id}\t{}\t{}\t.\t.\t.\n", f[1], f[3], f[4]);
    let vcf = format!(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n{}{}{}{}",
        rec("chrI", "exact"),
        rec("I", "prefixed"),
        rec("NC_001133.9", "aliased"),
        rec("hrI", "stripped_never"),
    );
    let tmp = tempfile::tempdir().unwrap();
    let alias = tmp.path().join("alias.tsv");
    std::fs::write(&alias, "# VCF\tFASTA\nNC_001133.9\tchrI\n").unwrap();
    let got = parse_vcf(&run_ok(&["--tracks", "0", "--contig-alias", alias.to_str().unwrap(), "-"], Some(vcf.as_bytes())));
    assert_eq!(got["exact"].0, got["prefixed"].0);
    assert_eq!(got["exact"].0, got["aliased"].0);
    assert!(got["stripped_never"].1[0].ends_with("|contig_not_in_fasta"));
    // A malformed alias file is named with its line.
    std::fs::write(&alias, "NC_001133.9\tchrI\textra\n").unwrap();
    run_err(&["--contig-alias", alias.to_str().unwrap(), "-"], Some(vcf.as_bytes()), &["alias.tsv", "line 1", "two columns"]);
}

#[test]
fn rescoring_replaces_earlier_scores_and_bcf_needs_declared_contigs() {
    let demo = data("demo.vcf").display().to_string();
    let strip = |s: &str| s.lines().filter(|l| !l.starts_with("##shorkie_score")).collect::<Vec<_>>().join("\n");
    let once = run_ok(&["--tracks", "0", &demo], None);
    let twice = run_ok(&["--tracks", "0", "-"], Some(once.as_bytes()));
    assert_eq!(strip(&once), strip(&twice));
    assert_eq!(twice.matches("##INFO=<ID=SHORKIE,").count(), 1);
    // VCF without ##contig lines: text output works, BCF output says what is missing.
    let vcf = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchrI\t5000\tx\tA\tC\t.\t.\t.\n";
    let got = parse_vcf(&run_ok(&["--tracks", "0", "-"], Some(vcf.as_bytes())));
    assert_eq!(got["x"].0.len(), 1);
    run_err(&["--tracks", "0", "-O", "b", "-"], Some(vcf.as_bytes()), &["<stdin>: record 1", "contig chrI is not declared", "-O v"]);
}

#[test]
fn embedded_default_model_scores_without_model_flags() {
    let out = score_cmd(&["-f", data("chrI.fa.gz").to_str().unwrap(), "-q", data("demo.vcf").to_str().unwrap()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("embedded default LM"), "provenance names the default model");
    let got = parse_vcf(&text);
    let v = values(&got["snv1"].0[0]);
    assert_eq!(v.len(), 1, "one LLR per ALT");
    assert!(v[0].is_finite());
    assert!(got["del1"].1[0].ends_with("|lm_needs_snv"));
    // --params without --model is refused: the default model brings its own.
    let out = score_cmd(&["-f", data("chrI.fa.gz").to_str().unwrap(), "-p", data("small_lm/params.json").to_str().unwrap(), data("demo.vcf").to_str().unwrap()], None);
    assert_one_line_error(&out, &["--params needs --model"]);
}

#[test]
fn a_killed_run_resumes_to_the_uninterrupted_output() {
    // 250 SNVs along chrI, long enough to kill mid-way.
    let seq = fetch(0, 200_000);
    let mut vcf = String::from(HEADER);
    let mut n = 0;
    let mut pos = 3000usize;
    while n < 250 {
        let b = seq[pos - 1];
        if b"ACGT".contains(&b) {
            vcf.push_str(&format!("chrI\t{pos}\tk{n}\t{}\t{}\t.\t.\t.\n", b as char, common::other_base(b)));
            n += 1;
        }
        pos += 397;
    }
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("many.vcf");
    std::fs::write(&input, &vcf).unwrap();
    let model = small_model();
    let mut args = base_args(model.to_str().unwrap());
    args.extend(["--tracks".to_string(), "0".to_string(), "--batch-size".to_string(), "2".to_string()]);
    let full = tmp.path().join("full.vcf");
    let mut a = args.clone();
    a.extend(["-o".to_string(), full.display().to_string(), input.display().to_string()]);
    let out = score_cmd(&a.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let killed = tmp.path().join("killed.vcf");
    let partial = tmp.path().join("killed.vcf.partial");
    let mut a = args.clone();
    a.extend(["-o".to_string(), killed.display().to_string(), input.display().to_string()]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shorkie-score")).args(&a).spawn().unwrap();
    let start = std::time::Instant::now();
    loop {
        let records = std::fs::read_to_string(&partial).map(|t| t.lines().filter(|l| !l.starts_with('#')).count()).unwrap_or(0);
        if records >= 20 || start.elapsed().as_secs() > 60 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the run was killed mid-way");
    assert!(!killed.exists() && partial.exists());
    let kept = std::fs::read_to_string(&partial).unwrap().lines().filter(|l| !l.starts_with('#')).count();
    assert!(kept > 0 && kept < 250, "killed after {kept} records");
    let mut a = args.clone();
    a.extend(["-o".to_string(), killed.display().to_string(), "--resume".to_string(), input.display().to_string()]);
    let out = score_cmd(&a.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let strip = |p: &std::path::Path| {
        std::fs::read_to_string(p).unwrap().lines().filter(|l| !l.starts_with("##shorkie_scoreCommand")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(strip(&killed), strip(&full));
}

#[test]
fn gene_mode_long_gene_is_scored_over_its_exon_bins_in_a_variant_centred_window() {
    let text = run_ok(
        &[
            "--tracks", "0-2", "-g", data("chrI.genes.gtf").to_str().unwrap(), "-t", data("small_targets.txt").to_str().unwrap(),
            data("demo.vcf").to_str().unwrap(),
        ],
        None,
    );
    let got = parse_vcf(&text);
    // multi1 (chrI:40000 A>C) lies inside YAL056W (one exon chrI:39259-41901, '+'), longer
    // than the model's 1,984 bp output region: the window is centred on the variant and
    // only the exon bins inside it count.
    let entry = got["multi1"].0.iter().find(|e| e.starts_with("C|YAL056W|")).expect("long gene scored");
    let (gs, ge) = (39258i64, 41901i64);
    let start = 39999 - (L / 2) as i64;
    let crop = 32i64;
    assert!(ge - gs > L as i64 - 2 * crop);
    let window = fetch(start, L);
    let r = Ref::new();
    let ref_p = r.predict(&one_hot(&window), false);
    let alt_p = r.predict(&one_hot(&substitute(&window, (39999 - start) as usize, 1, b"C")), false);
    let bins: Vec<usize> = (0..ref_p.len())
        .filter(|b| {
            let lo = start + crop + 2 * *b as i64;
            gs < lo + 2 && ge > lo
        })
        .collect();
    assert!(!bins.is_empty() && bins.len() < ref_p.len(), "the exon covers part of the output region");
    let sum = |p: &[Vec<f32>], t: usize| bins.iter().map(|b| p[*b][t] as f64).sum::<f64>();
    let fields: Vec<&str> = entry.split('|').collect();
    // Track 1 is '-': not counted for a '+' gene.
    assert_eq!(fields[3], ".");
    for (k, t) in [(2usize, 0usize), (4, 2)] {
        let want = (sum(&alt_p, t) + 1.0).log2() - (sum(&ref_p, t) + 1.0).log2();
        let got: f64 = fields[k].parse().unwrap();
        assert!(close(got, want), "logSED track {t}: got {got}, want {want}");
    }
}
