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

/// The last `n` fields of an entry as numbers: the `--info-tracks` values (or the LLR).
fn values(entry: &str, n: usize) -> Vec<f64> {
    let f: Vec<&str> = entry.split('|').collect();
    assert!(f.len() >= 3 + n, "{entry}: fewer than {n} values");
    f[f.len() - n..].iter().map(|v| v.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {v} in {entry}"))).collect()
}

/// The field names of the SHORKIE entries, from the Format at the end of its header line.
fn format_names(text: &str) -> Vec<String> {
    let line = text.lines().find(|l| l.starts_with("##INFO=<ID=SHORKIE,")).expect("SHORKIE header line");
    let (_, format) = line.rsplit_once("Format: ").expect("the Description ends with its Format");
    format.trim_end_matches("\">").split('|').map(String::from).collect()
}

/// One entry's fields by name.
fn named(names: &[String], entry: &str) -> HashMap<String, String> {
    let f: Vec<&str> = entry.split('|').collect();
    assert_eq!(f.len(), names.len(), "{entry} against {names:?}");
    names.iter().cloned().zip(f.iter().map(|s| s.to_string())).collect()
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

/// logSED and SUM of tracks 0..3 for one ALT of a demo record, computed directly: the
/// window centred on the variant, the model's forward pass, indels stitched at the variant bin.
fn independent(r: &Ref, id: &str, pos1: i64, reference: &str, alt: &str) -> Vec<f64> {
    let off = L / 2 - 1;
    let window = fetch(pos1 - (L / 2) as i64, L);
    assert_eq!(&window[off..off + reference.len()], reference.to_uppercase().as_bytes(), "{id}");
    let ref_x = one_hot(&window);
    let ref_p = r.predict(&ref_x, false);
    let d = alt.len() as i64 - reference.len() as i64;
    let alt_x = one_hot(&substitute(&window, off, reference.len(), alt.to_uppercase().as_bytes()));
    let mut alt_p = r.predict(&alt_x, false);
    let mut ref_used = ref_p.clone();
    if d > 0 {
        alt_p = stitch(&alt_p, &r.predict(&shifted(&alt_x, -d), false), STITCH_BIN);
    } else if d < 0 {
        ref_used = stitch(&ref_p, &r.predict(&shifted(&ref_x, d), false), STITCH_BIN);
    }
    expect(&[ref_used], &[alt_p])
}

/// POS, REF and ALTs of a demo.vcf record.
fn demo_record(id: &str) -> (i64, String, Vec<String>) {
    let l = std::fs::read_to_string(data("demo.vcf")).unwrap();
    let f: Vec<String> = l.lines().find(|x| x.contains(&format!("\t{id}\t"))).unwrap().split('\t').map(String::from).collect();
    (f[1].parse().unwrap(), f[3].clone(), f[4].split(',').map(String::from).collect())
}

#[test]
fn scores_equal_an_independent_computation() {
    let text = run_ok(&["--tracks", "0-2", "--info-tracks", "0-2", data("demo.vcf").to_str().unwrap()], None);
    let got = parse_vcf(&text);
    let r = Ref::new();
    let check = |id: &str, pos1: i64, reference: &str, alts: &[&str]| {
        let (entries, _) = &got[id];
        for (k, alt) in alts.iter().enumerate() {
            let want = independent(&r, id, pos1, reference, alt);
            let entry = &entries[k];
            assert!(entry.starts_with(&format!("{alt}|")) && entry.split('|').nth(2) == Some("."), "{id}: {entry}");
            let v = values(entry, 6);
            for (g, w) in v.iter().zip(&want) {
                assert!(close(*g, *w), "{id} {alt}: got {v:?}, want {want:?}");
            }
        }
    };
    let line = demo_record;
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
    let text = run_ok(&["--tracks", "0-2", "--info-tracks", "all", "--rc", "--shifts", "-1,0,1", data("demo.vcf").to_str().unwrap()], None);
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
    let v = values(&got["snv1"].0[0], 6);
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
    // Every scored entry is ALLELE|Consequence|GENE then, per statistic, the largest-magnitude
    // value, its track and the mean over the 3 tracks (the model has no sheet: no groups).
    for (id, (entries, _)) in &rows {
        if *entries != "." {
            for e in entries.split(',') {
                let f: Vec<&str> = e.split('|').collect();
                assert_eq!(f.len(), 9, "{id}: {e}");
                for k in [3, 5, 6, 8] {
                    assert!(f[k].parse::<f64>().is_ok(), "{id}: {e}");
                }
                assert!(["t0", "t1", "t2"].contains(&f[4]) && ["t0", "t1", "t2"].contains(&f[7]), "{id}: {e}");
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
            "--tracks", "0-2", "--info-tracks", "0-2", "-g", data("chrI.genes.gtf").to_str().unwrap(), "-t",
            data("small_targets.txt").to_str().unwrap(), data("demo.vcf").to_str().unwrap(),
        ],
        None,
    );
    let got = parse_vcf(&text);
    let names = format_names(&text);
    let entries = &got["mnv1"].0;
    let entry = entries.iter().find(|e| e.split('|').nth(2) == Some("YAL065C")).expect("minus-strand gene scored");
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
    let fields = named(&names, entry);
    let num = |k: &str| -> f64 { fields[k].parse().unwrap_or_else(|_| panic!("{k}: {entry}")) };
    // Track 0 is '+': not counted for a '-' gene.
    assert_eq!(fields["logSED_track0"], ".");
    assert_eq!(fields["SUM_track0"], ".");
    for t in [1usize, 2] {
        let want = (sum(&alt_p, t) + 1.0).log2() - (sum(&ref_p, t) + 1.0).log2();
        let got = num(&format!("logSED_track{t}"));
        assert!(close(got, want), "logSED track {t}: got {got}, want {want}");
        let want = sum(&alt_p, t) - sum(&ref_p, t);
        let got = num(&format!("SUM_track{t}"));
        assert!((got - want).abs() <= 2e-4 * want.abs() + 1e-6, "SUM track {t}: got {got}, want {want}");
    }
    // The summary counts only those tracks too: the largest magnitude of tracks 1 and 2, the
    // RNA group (tracks 0 and 2) is track 2 alone, the ChIP group (1 and 3, 3 not scored) track 1.
    for stat in ["logSED", "SUM"] {
        let (v1, v2) = (num(&format!("{stat}_track1")), num(&format!("{stat}_track2")));
        let (best, id) = if v2.abs() > v1.abs() { (v2, "track2") } else { (v1, "track1") };
        assert_eq!(fields[&format!("{stat}_track")], id, "{entry}");
        assert_eq!(num(&format!("{stat}_max")), best);
        assert_eq!(num(&format!("{stat}_RNA")), v2);
        assert_eq!(num(&format!("{stat}_ChIP")), v1);
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
    assert!(text.contains("ln(p_alt/p_ref)"));
    assert_eq!(format_names(&text), vec!["ALLELE", "Consequence", "GENE", "LLR"]);
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
    let v = values(entry, 1);
    assert_eq!(entry.split('|').count(), 4, "{entry}");
    assert!(close(v[0], want), "got {}, want {want}", v[0]);
    // Indels and MNVs have no zero-shot score: an explicit reason.
    assert_eq!(got["ins1"].1, vec!["TGATTACA|lm_needs_snv".to_string()]);
    assert!(got["mnv1"].1[0].ends_with("|lm_needs_snv"));
}

#[test]
fn every_statistic_and_group_aggregation() {
    let demo = data("demo.vcf").display().to_string();
    let text = run_ok(&["--stats", "SUM,logSUM,logSED,D1,D2,logD2,JS,SAX,REF,ALT", "--tracks", "0-3", "--info-tracks", "0-3", &demo], None);
    assert!(text.contains("##shorkie_stat=<ID=JS,Formula=\"(KL(r||a)+KL(a||r))/2"), "formulas on their own header lines");
    let got = parse_vcf(&text);
    // 10 statistics x (max, track, mean) then 10 x 4 tracks.
    assert_eq!(got["snv1"].0[0].split('|').count(), 3 + 30 + 40);
    let v = values(&got["snv1"].0[0], 40);
    // D1 >= |SUM|, D2 >= 0, JS >= 0, REF and ALT are positive sums.
    for t in 0..4 {
        assert!(v[12 + t] + 1e-12 >= v[t].abs());
        assert!(v[16 + t] >= 0.0 && v[24 + t] >= 0.0);
        assert!(v[32 + t] > 0.0 && v[36 + t] > 0.0);
        // SUM = ALT - REF
        assert!((v[36 + t] - v[32 + t] - v[t]).abs() <= 1e-3 * v[32 + t].abs().max(1.0) * 1e-3 + 1e-6);
    }
    // Group aggregation: the RNA group is the mean of its tracks' scores, in the default
    // summary and in --info-tracks columns averaged per group.
    let targets = data("small_targets.txt").display().to_string();
    let text = run_ok(&["-t", &targets, "--tracks", "0-3", "--info-tracks", "0-3", "--stats", "SUM", &demo], None);
    let per_track = parse_vcf(&text);
    let grouped = parse_vcf(&run_ok(&["-t", &targets, "--tracks", "0-3", "--info-tracks", "all", "--stats", "SUM", "--aggregate", "group", &demo], None));
    let pt = values(&per_track["snv1"].0[0], 4);
    let gr = values(&grouped["snv1"].0[0], 2);
    assert!(close(gr[0], (pt[0] + pt[2]) / 2.0), "RNA = tracks 0 and 2");
    assert!(close(gr[1], (pt[1] + pt[3]) / 2.0), "ChIP = tracks 1 and 3");
    let summary = named(&format_names(&text), &per_track["snv1"].0[0]);
    assert_eq!(summary["SUM_RNA"].parse::<f64>().unwrap(), gr[0]);
    assert_eq!(summary["SUM_ChIP"].parse::<f64>().unwrap(), gr[1]);
    // A head narrowed to one column may round a few predictions an ulp differently from a
    // four-column one (the product's kernel depends on the width), and SUM (~1e-4 here) is
    // a difference of two sums of ~900 bins near 0.7: compare to within a few ulps of those
    // sums, still far below the gap to any other track.
    let close_sum = |got: f64, want: f64| (got - want).abs() <= 2e-4 * want.abs() + 1e-6;
    assert!(pt.iter().enumerate().all(|(t, v)| t == 1 || (v - pt[1]).abs() > 1e-5), "{pt:?}");
    let regex = parse_vcf(&run_ok(&["-t", &targets, "--track-regex", "^track1$", "--info-tracks", "all", "--stats", "SUM", &demo], None));
    assert!(close_sum(values(&regex["snv1"].0[0], 1)[0], pt[1]));
    let regex = parse_vcf(&run_ok(&["-t", &targets, "--tracks", "0-3", "--info-tracks", "^track1$", "--stats", "SUM", &demo], None));
    assert!(close_sum(values(&regex["snv1"].0[0], 1)[0], pt[1]));
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
    let v = values(&got["snv1"].0[0], 1);
    assert_eq!(got["snv1"].0[0].split('|').count(), 4, "one LLR per ALT");
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
            "--tracks", "0-2", "--info-tracks", "0-2", "-g", data("chrI.genes.gtf").to_str().unwrap(), "-t",
            data("small_targets.txt").to_str().unwrap(), data("demo.vcf").to_str().unwrap(),
        ],
        None,
    );
    let got = parse_vcf(&text);
    let names = format_names(&text);
    // multi1 (chrI:40000 A>C) lies inside YAL056W (one exon chrI:39259-41901, '+'), longer
    // than the model's 1,984 bp output region: the window is centred on the variant and
    // only the exon bins inside it count.
    let entry = got["multi1"].0.iter().find(|e| e.starts_with("C|SNV|YAL056W|")).expect("long gene scored");
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
    let fields = named(&names, entry);
    // Track 1 is '-': not counted for a '+' gene.
    assert_eq!(fields["logSED_track1"], ".");
    for t in [0usize, 2] {
        let want = (sum(&alt_p, t) + 1.0).log2() - (sum(&ref_p, t) + 1.0).log2();
        let got: f64 = fields[&format!("logSED_track{t}")].parse().unwrap();
        assert!(close(got, want), "logSED track {t}: got {got}, want {want}");
    }
}

// ---------- the compact INFO, bcftools +split-vep, and the full matrix (--scores-out) ----------

/// Every dataset of a scores.h5 as h5py reads it: strings decoded, float16 NaN as null.
const H5_DUMP: &str = r#"
import sys, json, h5py, numpy as np
out = {}
with h5py.File(sys.argv[1], "r") as f:
    for k in f.keys():
        d = f[k][()]
        if d.dtype.kind == "S":
            out[k] = {"dtype": "S", "shape": list(d.shape), "v": [x.decode() for x in d]}
        elif d.dtype == np.float16:
            out[k] = {"dtype": "float16", "shape": list(d.shape), "v": [[None if np.isnan(x) else float(x) for x in row] for row in d]}
        else:
            out[k] = {"dtype": str(d.dtype), "shape": list(d.shape), "v": d.tolist()}
print(json.dumps(out))
"#;

fn h5_dump(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&common::run_python(H5_DUMP, &[path.to_str().unwrap()])).unwrap()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    assert_eq!(v["dtype"], "S", "fixed-length byte strings, as baskerville writes them");
    v["v"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

/// [rows][tracks] of a float16 statistic; None where the track does not count.
fn matrix(v: &serde_json::Value) -> Vec<Vec<Option<f64>>> {
    assert_eq!(v["dtype"], "float16");
    v["v"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64()).collect()).collect()
}

fn close16(got: f64, want: f64) -> bool {
    // float16 keeps 11 significant bits.
    (got - want).abs() <= 1e-3 * want.abs() + 1e-6
}

#[test]
fn default_info_is_a_summary_whose_every_field_bcftools_split_vep_splits() {
    let tmp = tempfile::tempdir().unwrap();
    let targets = data("small_targets.txt").display().to_string();
    let demo = data("demo.vcf").display().to_string();
    for extra in [&[][..], &["--info-tracks", "all"][..]] {
        let mut args = vec!["-t", targets.as_str(), "--stats", "logSED,SUM,JS"];
        args.extend_from_slice(extra);
        args.push(&demo);
        let text = run_ok(&args, None);
        let names = format_names(&text);
        let want_len = if extra.is_empty() { 3 + 3 * 4 } else { 3 + 3 * 4 + 3 * 37 };
        assert_eq!(names.len(), want_len, "{names:?}");
        let mut seen = std::collections::HashSet::new();
        for n in &names {
            assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !n.starts_with(|c: char| c.is_ascii_digit()), "{n}");
            assert!(seen.insert(n.clone()), "{n} twice");
        }
        assert_eq!(&names[..7], &["ALLELE", "Consequence", "GENE", "logSED_max", "logSED_track", "logSED_RNA", "logSED_ChIP"]);
        // Formulas are on their own lines, not in the Description.
        let info = text.lines().find(|l| l.starts_with("##INFO=<ID=SHORKIE,")).unwrap();
        assert!(!info.contains("sum_bins") && text.contains("##shorkie_stat=<ID=logSED,Formula=\"log2(sum_bins(alt)+1)-log2(sum_bins(ref)+1)\">"));
        let vcf = tmp.path().join("s.vcf");
        std::fs::write(&vcf, &text).unwrap();
        // split-vep lists exactly our fields, in order.
        let res = sh(&format!("bcftools +split-vep -a SHORKIE -l {}", vcf.display()));
        assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
        let listed: Vec<String> = String::from_utf8(res.stdout).unwrap().lines().map(|l| l.split('\t').nth(1).unwrap().to_string()).collect();
        assert_eq!(listed, names);
        // And splits every field of every entry as we wrote it.
        let fmt: Vec<String> = names.iter().map(|n| format!("%{n}")).collect();
        let res = sh(&format!("bcftools +split-vep -a SHORKIE -d -f '%ID\\t{}\\n' {}", fmt.join("\\t"), vcf.display()));
        assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
        let split: Vec<String> = String::from_utf8(res.stdout).unwrap().lines().map(String::from).collect();
        let got = parse_vcf(&text);
        let mut ours = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let id = line.split('\t').nth(2).unwrap();
            for e in &got[id].0 {
                ours.push(format!("{id}\t{}", e.replace('|', "\t")));
            }
        }
        assert_eq!(split, ours);
        assert_eq!(split.len(), 8, "8 scored ALTs in demo.vcf");
        // The summary against per-track values: largest magnitude, its track, group means.
        if !extra.is_empty() {
            for id in ["snv1", "del1", "multi1"] {
                for e in &got[id].0 {
                    let f = named(&names, e);
                    for stat in ["logSED", "SUM", "JS"] {
                        let per: Vec<f64> = (0..37).map(|t| f[&format!("{stat}_track{t}")].parse().unwrap()).collect();
                        let best = (0..37).fold(0, |b, t| if per[t].abs() > per[b].abs() { t } else { b });
                        assert_eq!(f[&format!("{stat}_track")], format!("track{best}"), "{e}");
                        assert_eq!(f[&format!("{stat}_max")].parse::<f64>().unwrap(), per[best]);
                        let sheet = shorkie::formats::targets::Targets::from_file(&data("small_targets.txt")).unwrap();
                        for g in ["RNA", "ChIP"] {
                            let members: Vec<f64> = (0..37).filter(|&t| sheet.rows[t].group.as_deref() == Some(g)).map(|t| per[t]).collect();
                            let mean = members.iter().sum::<f64>() / members.len() as f64;
                            assert!(close(f[&format!("{stat}_{g}")].parse().unwrap(), mean), "{stat}_{g} in {e}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn scores_h5_and_tsv_equal_the_independent_computation() {
    let tmp = tempfile::tempdir().unwrap();
    let h5 = tmp.path().join("scores.h5");
    let tsv = tmp.path().join("scores.tsv.gz");
    let targets = data("small_targets.txt").display().to_string();
    let out = tmp.path().join("out.vcf");
    run_ok(
        &[
            "-t", &targets, "--tracks", "0-2", "--info-tracks", "all", "--scores-out", h5.to_str().unwrap(), "--scores-out", tsv.to_str().unwrap(),
            "-o", out.to_str().unwrap(), data("demo.vcf").to_str().unwrap(),
        ],
        None,
    );
    for p in ["scores.h5.partial", "scores.h5.partial.rows", "scores.h5.partial.done", "scores.tsv.gz.partial"] {
        assert!(!tmp.path().join(p).exists(), "{p} left behind");
    }
    let d = h5_dump(&h5);
    let mut keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, vec!["SUM", "allele", "alt_allele", "chr", "logSED", "pos", "ref_allele", "snp", "target_ids", "target_labels"]);
    assert_eq!(strings(&d["target_ids"]), vec!["track0", "track1", "track2"]);
    assert_eq!(strings(&d["target_labels"]), vec!["synthetic track 0", "synthetic track 1", "synthetic track 2"]);
    assert_eq!(d["pos"]["dtype"], "uint32");
    // Rows: every scored ALT in VCF order (SNVs, MNV, insertion, deletion, multi-allelic).
    let snp = strings(&d["snp"]);
    assert_eq!(snp, vec!["snv1", "snv_near", "mnv1", "ins1", "del1", "multi1", "multi1", "lowercase"]);
    assert_eq!(strings(&d["alt_allele"]), vec!["C", "A", "CA", "TGATTACA", "G", "C", "G", "c"]);
    assert_eq!(strings(&d["ref_allele"])[4], "GATT");
    assert_eq!(strings(&d["chr"]), vec!["chrI"; 8]);
    assert_eq!(d["pos"]["v"], serde_json::json!([5000, 5003, 12000, 20000, 30000, 40000, 40000, 70000]));
    assert_eq!(d["allele"]["v"], serde_json::json!([1, 1, 1, 1, 1, 1, 2, 1]));
    assert_eq!(d["logSED"]["shape"], serde_json::json!([8, 3]));
    let (logsed, sum) = (matrix(&d["logSED"]), matrix(&d["SUM"]));
    // The long TSV: (id, alt, track, statistic) -> value.
    let res = sh(&format!("gzip -dc {}", tsv.display()));
    assert!(res.status.success());
    let text = String::from_utf8(res.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "chrom\tpos\tid\tref\talt\tgene\ttrack\tstatistic\tvalue");
    let long: HashMap<(String, String, String, String), f64> = lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 9, "{l}");
            ((f[2].into(), f[4].into(), f[6].into(), f[7].into()), f[8].parse().unwrap())
        })
        .collect();
    assert_eq!(long.len(), 8 * 3 * 2);
    let r = Ref::new();
    let alts = strings(&d["alt_allele"]);
    for (row, id) in snp.iter().enumerate() {
        let (pos, reference, _) = demo_record(id);
        let want = independent(&r, id, pos, &reference, &alts[row]);
        for t in 0..3 {
            for (stat, m, w) in [("logSED", &logsed, want[t]), ("SUM", &sum, want[3 + t])] {
                let got = m[row][t].unwrap();
                assert!(close16(got, w), "{id} {} {stat} track {t}: h5 {got}, want {w}", alts[row]);
                let got = long[&(id.clone(), alts[row].clone(), format!("track{t}"), stat.to_string())];
                assert!(close(got, w), "{id} {} {stat} track {t}: tsv {got}, want {w}", alts[row]);
            }
        }
    }
}

#[test]
fn gene_mode_scores_h5_has_genes_and_nan_for_other_strand_tracks() {
    let tmp = tempfile::tempdir().unwrap();
    let h5 = tmp.path().join("genes.h5");
    let text = run_ok(
        &[
            "--tracks", "0-2", "--info-tracks", "0-2", "-g", data("chrI.genes.gtf").to_str().unwrap(), "-t", data("small_targets.txt").to_str().unwrap(),
            "--scores-out", h5.to_str().unwrap(), data("demo.vcf").to_str().unwrap(),
        ],
        None,
    );
    let names = format_names(&text);
    let got = parse_vcf(&text);
    let d = h5_dump(&h5);
    let (snp, genes, alts) = (strings(&d["snp"]), strings(&d["gene"]), strings(&d["alt_allele"]));
    // One row per (ALT, gene), in VCF order; the per-track INFO values (checked against an
    // independent computation in the gene-mode tests above) equal the matrix, '.' is NaN.
    let mut want_rows = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let id = line.split('\t').nth(2).unwrap();
        for e in &got[id].0 {
            want_rows.push((id.to_string(), named(&names, e)));
        }
    }
    assert!(want_rows.len() >= 4 && snp.len() == want_rows.len(), "{snp:?}");
    assert!(genes.contains(&"YAL065C".to_string()) && genes.contains(&"YAL056W".to_string()));
    let (logsed, sum) = (matrix(&d["logSED"]), matrix(&d["SUM"]));
    for (row, (id, f)) in want_rows.iter().enumerate() {
        assert_eq!(&snp[row], id);
        assert_eq!(genes[row], f["GENE"]);
        assert_eq!(alts[row], f["ALLELE"]);
        for t in 0..3 {
            for (stat, m) in [("logSED", &logsed), ("SUM", &sum)] {
                let info = &f[&format!("{stat}_track{t}")];
                match m[row][t] {
                    None => assert_eq!(info, ".", "{id} {} {stat} {t}", genes[row]),
                    Some(v) => assert!(close16(v, info.parse().unwrap()), "{id} {} {stat} {t}: {v} vs {info}", genes[row]),
                }
            }
        }
    }
    let minus = genes.iter().position(|g| g == "YAL065C").unwrap();
    assert_eq!(logsed[minus][0], None, "track 0 is '+', the gene '-'");
}

#[test]
fn a_killed_run_with_scores_out_resumes_to_the_uninterrupted_output() {
    let seq = fetch(0, 200_000);
    let mut vcf = String::from(HEADER);
    let mut n = 0;
    let mut pos = 3000usize;
    while n < 300 {
        let b = seq[pos - 1];
        if b"ACGT".contains(&b) {
            // Every third record multi-allelic: rows and records differ.
            let alt = if n % 3 == 0 { format!("{},{}", common::other_base(b), common::other_base(common::other_base(b) as u8)) } else { common::other_base(b).to_string() };
            vcf.push_str(&format!("chrI\t{pos}\tk{n}\t{}\t{alt}\t.\t.\t.\n", b as char));
            n += 1;
        }
        pos += 397;
    }
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("many.vcf");
    std::fs::write(&input, &vcf).unwrap();
    let model = small_model();
    let args = |name: &str, resume: bool| -> Vec<String> {
        let mut a = base_args(model.to_str().unwrap());
        for x in ["--batch-size", "2", "--stats", "logSED,SUM"] {
            a.push(x.into());
        }
        for (flag, suffix) in [("-o", "vcf"), ("--scores-out", "h5"), ("--scores-out", "tsv.gz")] {
            a.push(flag.into());
            a.push(tmp.path().join(format!("{name}.{suffix}")).display().to_string());
        }
        if resume {
            a.push("--resume".into());
        }
        a.push(input.display().to_string());
        a
    };
    let run = |a: Vec<String>| {
        let out = score_cmd(&a.iter().map(String::as_str).collect::<Vec<_>>(), None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    run(args("full", false));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shorkie-score")).args(args("killed", false)).spawn().unwrap();
    let start = std::time::Instant::now();
    let lines = |p: &str| std::fs::read_to_string(tmp.path().join(p)).map(|t| t.lines().count()).unwrap_or(0);
    // Kill once both side outputs have a checkpoint past their start (so resuming cuts
    // each at one, the BGZF one at a block boundary) and the VCF is well ahead.
    loop {
        let records = std::fs::read_to_string(tmp.path().join("killed.vcf.partial")).map(|t| t.lines().filter(|l| !l.starts_with('#')).count()).unwrap_or(0);
        let checkpointed = lines("killed.h5.partial.done") >= 2 && lines("killed.tsv.gz.partial.done") >= 2;
        if (checkpointed && records >= 40) || start.elapsed().as_secs() > 120 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success(), "the run was killed mid-way");
    assert!(tmp.path().join("killed.h5.partial").exists() && !tmp.path().join("killed.h5").exists());
    run(args("killed", true));
    for p in ["killed.h5.partial", "killed.h5.partial.rows", "killed.h5.partial.done", "killed.tsv.gz.partial", "killed.tsv.gz.partial.done"] {
        assert!(!tmp.path().join(p).exists(), "{p} left behind");
    }
    let strip = |p: &str| {
        std::fs::read_to_string(tmp.path().join(p)).unwrap().lines().filter(|l| !l.starts_with("##shorkie_scoreCommand")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(strip("killed.vcf"), strip("full.vcf"));
    let (a, b) = (h5_dump(&tmp.path().join("killed.h5")), h5_dump(&tmp.path().join("full.h5")));
    assert_eq!(a, b);
    assert_eq!(a["snp"]["shape"], serde_json::json!([400]), "300 records, 100 of them with 2 ALTs");
    let gz = |p: &str| sh(&format!("gzip -dc {}", tmp.path().join(p).display())).stdout;
    assert_eq!(gz("killed.tsv.gz"), gz("full.tsv.gz"));
}

#[test]
fn stats_json_is_multiqc_custom_content() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("demo_mqc.json");
    run_ok(&["--tracks", "0", "--stats-json", json.to_str().unwrap(), data("demo.vcf").to_str().unwrap()], None);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["plot_type"], "table");
    assert_eq!(v["id"], "shorkie_score");
    let row = &v["data"]["demo"];
    assert_eq!(row["records"], 11);
    assert_eq!(row["alts_scored"], 8);
    assert_eq!(row["alts_skipped"], 5);
    for reason in ["near_contig_end", "star_allele", "symbolic_alt", "ref_mismatch", "contig_not_in_fasta"] {
        assert_eq!(row[format!("skipped_{reason}")], 1, "{reason}");
    }
    assert_eq!(row["skipped_ref_has_N"], 0);
    assert!(row["batches"].as_u64().unwrap() >= 1 && row["seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_summary_and_matrix_options_are_clear_errors() {
    let demo = data("demo.vcf").display().to_string();
    let targets = data("small_targets.txt").display().to_string();
    run_err(&["-t", &targets, "--aggregate", "group", &demo], None, &["--aggregate group", "--info-tracks"]);
    run_err(&["--tracks", "0-2", "--info-tracks", "5", &demo], None, &["--info-tracks", "none of the scored tracks"]);
    run_err(&["--info-tracks", "(", &demo], None, &["--info-tracks", "regex"]);
    run_err(&["--scores-out", "/tmp/shorkie-never.npz", &demo], None, &["--scores-out", ".h5", ".tsv.gz"]);
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("no/such/dir/s.h5");
    run_err(&["--scores-out", bad.to_str().unwrap(), &demo], None, &["s.h5.partial"]);
    assert!(!tmp.path().join("no").exists());
}

/// The published scale: the full-size Shorkie fixture (5,215 tracks), 50 SNVs, default
/// options: about 110 forward passes of the full model on the CPU (2 minutes on 2 cores).
/// Needs ../shared; passes trivially without it.
#[test]
fn full_size_default_lines_are_short_and_the_h5_matrix_equals_restricted_info() {
    let Some(full) = common::shared_full() else { return };
    let shared = full.join("../../..");
    let fasta = shared.join("data/sacCer3/sacCer3.fa.gz");
    let sheet = shared.join("data/shorkie/targets_sheet.txt");
    let tmp = tempfile::tempdir().unwrap();
    let weights = tmp.path().join("full.safetensors");
    let res = common::convert_cmd(&[
        full.join("model.h5").to_str().unwrap(), "-p", full.join("params.json").to_str().unwrap(), "-o", weights.to_str().unwrap(), "-q",
    ]);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    // 50 SNVs on chrIV, REF from the FASTA.
    let out = sh(&format!("samtools faidx {} chrIV:400001-410000", fasta.display()));
    let seq: Vec<u8> = String::from_utf8(out.stdout).unwrap().lines().skip(1).collect::<String>().into_bytes();
    let mut vcf = String::from("##fileformat=VCFv4.2\n##contig=<ID=chrIV,length=1531933>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    for k in 0..50 {
        let off = k * 197;
        let b = seq[off].to_ascii_uppercase();
        vcf.push_str(&format!("chrIV\t{}\tv{k}\t{}\t{}\t.\t.\t.\n", 400_001 + off, b as char, common::other_base(b)));
    }
    let input = tmp.path().join("v.vcf");
    std::fs::write(&input, &vcf).unwrap();
    let few = tmp.path().join("few.vcf");
    std::fs::write(&few, vcf.lines().take(3 + 4).map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let h5 = tmp.path().join("s.h5");
    let params = full.join("params.json");
    let score = |extra: &[&str], input: &std::path::Path| -> String {
        let mut args = vec![
            "-m", weights.to_str().unwrap(), "-p", params.to_str().unwrap(), "-t", sheet.to_str().unwrap(), "-f",
            fasta.to_str().unwrap(), "-q",
        ];
        args.extend_from_slice(extra);
        args.push(input.to_str().unwrap());
        let out = score_cmd(&args, None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = score(&["--scores-out", h5.to_str().unwrap()], &input);
    for line in text.lines() {
        assert!(line.len() <= 2048, "{} bytes: {}", line.len(), &line[..200]);
    }
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 50);
    let d = h5_dump(&h5);
    assert_eq!(d["logSED"]["shape"], serde_json::json!([50, 5215]));
    assert_eq!(d["SUM"]["shape"], serde_json::json!([50, 5215]));
    let ids: Vec<String> = std::fs::read_to_string(&sheet).unwrap().lines().skip(1).map(|l| l.split('\t').nth(1).unwrap().to_string()).collect();
    assert_eq!(strings(&d["target_ids"]), ids);
    // A restricted run's per-track INFO values equal the matrix (each SNV has its own window).
    let picked = [0usize, 1, 2500, 5214];
    let restricted = score(&["--tracks", "0,1,2500,5214", "--info-tracks", "all"], &few);
    let names = format_names(&restricted);
    let got = parse_vcf(&restricted);
    let (logsed, sum) = (matrix(&d["logSED"]), matrix(&d["SUM"]));
    for k in 0..4 {
        let f = named(&names, &got[&format!("v{k}")].0[0]);
        for &t in &picked {
            for (stat, m) in [("logSED", &logsed), ("SUM", &sum)] {
                let info: f64 = f[&format!("{stat}_{}", ids[t])].parse().unwrap();
                let h5v = m[k][t].unwrap();
                assert!(close16(h5v, info), "v{k} {stat} {}: h5 {h5v}, INFO {info}", ids[t]);
            }
        }
    }
}

/// Statistics that need only bin sums reduce each pass as it is predicted; with one that
/// needs every bin (D1) in the run the passes are kept whole. Both give the same numbers,
/// for SNVs, an MNV, indels and multi-allelic records, with RC and shifts, per window and per gene.
#[test]
fn passes_reduced_to_bin_sums_equal_whole_passes() {
    let stats = "SUM,logSUM,logSED,REF,ALT";
    for gene_mode in [false, true] {
        let mut common_args = vec!["--tracks", "0-2", "--info-tracks", "0-2", "--rc", "--shifts", "-1,0,1", "-t"];
        let targets = data("small_targets.txt").display().to_string();
        common_args.push(&targets);
        let gtf = data("chrI.genes.gtf").display().to_string();
        if gene_mode {
            common_args.extend(["-g", gtf.as_str()]);
        }
        let demo = data("demo.vcf").display().to_string();
        let run = |stats: &str| {
            let mut a = common_args.clone();
            a.extend(["--stats", stats, demo.as_str()]);
            let text = run_ok(&a, None);
            let names = format_names(&text);
            let mut out = HashMap::new();
            for (id, (entries, _)) in parse_vcf(&text) {
                for e in entries {
                    let f = named(&names, &e);
                    out.insert(format!("{id}/{}/{}", f["ALLELE"], f["GENE"]), f);
                }
            }
            out
        };
        let (reduced, whole) = (run(stats), run(&format!("{stats},D1")));
        assert!(reduced.len() >= if gene_mode { 3 } else { 8 }, "{:?}", reduced.keys());
        assert_eq!(reduced.len(), whole.len());
        for (key, r) in &reduced {
            let w = &whole[key];
            for stat in stats.split(',') {
                for t in 0..3 {
                    let k = format!("{stat}_track{t}");
                    match (r[&k].parse::<f64>(), w[&k].parse::<f64>()) {
                        (Ok(x), Ok(y)) => assert!((x - y).abs() <= 2e-5 * y.abs() + 1e-9, "{key} {k}: {x} vs {y}"),
                        _ => assert_eq!(r[&k], w[&k], "{key} {k}"),
                    }
                }
            }
        }
    }
}

/// `-m model.h5` (Keras, as baskerville saves it) scores like its converted safetensors;
/// the conversion is cached, and a cache that cannot be written only costs a warning.
#[test]
fn keras_h5_models_score_directly_through_a_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let run = |model: &str, cache: &std::path::Path| {
        let mut args = base_args(model);
        args.push(data("demo.vcf").display().to_string());
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shorkie-score")).args(&args).env("SHORKIE_CACHE", cache).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        // Records only: the header names the model file.
        let body: Vec<String> = text.lines().filter(|l| !l.starts_with("##")).map(String::from).collect();
        (body, String::from_utf8(out.stderr).unwrap())
    };
    let h5 = data("small_finetuned/model.h5").display().to_string();
    let (want, _) = run(small_model().to_str().unwrap(), &cache);
    assert!(!cache.exists(), "safetensors need no cache");
    let (first, _) = run(&h5, &cache);
    let cached: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached[0].extension().is_some_and(|e| e == "safetensors"));
    let stamp = std::fs::metadata(&cached[0]).unwrap().modified().unwrap();
    let (second, _) = run(&h5, &cache);
    assert_eq!(std::fs::metadata(&cached[0]).unwrap().modified().unwrap(), stamp, "the second run reads the cache");
    assert_eq!(first, want);
    assert_eq!(second, want);
    // A cache path that is a file: converted anyway, with a warning.
    let blocked = tmp.path().join("not-a-dir");
    std::fs::write(&blocked, "x").unwrap();
    let (third, err) = run(&h5, &blocked);
    assert_eq!(third, want);
    assert!(err.contains("cannot cache it"), "{err}");
}

/// A run that needs a few tracks computes only those columns of the final layer (and, for
/// reverse-complement passes, their strand partners): the same scores as the whole head.
#[test]
fn a_narrowed_head_scores_like_the_whole_head_with_strand_pairs_and_rc() {
    let tmp = tempfile::tempdir().unwrap();
    let sheet = tmp.path().join("paired.txt");
    let mut text = String::from("index\tidentifier\tdescription\tstrand\tstrand_pair\n");
    for t in 0..37usize {
        let (strand, pair) = if t == 36 { (".", t) } else if t % 2 == 0 { ("+", t + 1) } else { ("-", t - 1) };
        text.push_str(&format!("{t}\ttrack{t}\tsynthetic {t}\t{strand}\t{pair}\n"));
    }
    std::fs::write(&sheet, text).unwrap();
    let demo = data("demo.vcf").display().to_string();
    let sheet = sheet.display().to_string();
    let run = |tracks: &str| {
        let text = run_ok(&["-t", &sheet, "--rc", "--shifts", "0,1", "--stats", "SUM,logSED,D2", "--tracks", tracks, "--info-tracks", "0,2,4", &demo], None);
        let names = format_names(&text);
        let mut out = std::collections::BTreeMap::new();
        for (id, (entries, _)) in parse_vcf(&text) {
            for e in entries {
                let f = named(&names, &e);
                for stat in ["SUM", "logSED", "D2"] {
                    for t in [0, 2, 4] {
                        let k = format!("{stat}_track{t}");
                        out.insert(format!("{id}/{}/{k}", f["ALLELE"]), f[&k].parse::<f64>().unwrap());
                    }
                }
            }
        }
        out
    };
    // 0, 2 and 4 with their '-' partners 1, 3, 5 computed for the RC passes, against all 37.
    let (narrow, whole) = (run("0,2,4"), run("0-36"));
    assert!(narrow.len() >= 8 * 9, "{}", narrow.len());
    assert_eq!(narrow.keys().collect::<Vec<_>>(), whole.keys().collect::<Vec<_>>());
    for (k, x) in &narrow {
        let y = whole[k];
        assert!((x - y).abs() <= 1e-5 * y.abs().max(1e-3), "{k}: {x} vs {y}");
    }
}

#[test]
fn substitutions_reusing_the_local_tower_score_exactly_as_whole_passes() {
    // SNVs, an MNV and a multi-allelic site reuse their reference pass's local tower; the
    // indels run whole. Both the bin-sum path (SUM, logSED) and the full-matrix path (D2, JS).
    let tmp = tempfile::tempdir().unwrap();
    let demo = data("demo.vcf").display().to_string();
    for extra in [&["--rc", "--shifts", "-1,0,1"][..], &["--rc", "--stats", "SUM,D2,JS,logD2", "--info-tracks", "0-3"][..]] {
        let run = |whole: bool| {
            let json = tmp.path().join(format!("{whole}.json"));
            let mut args: Vec<&str> = extra.to_vec();
            let json_arg = json.display().to_string();
            args.extend(["--stats-json", &json_arg, &demo]);
            if whole {
                args.push("--whole-passes");
            }
            let vcf = run_ok(&args, None);
            let body: Vec<String> = vcf.lines().filter(|l| !l.starts_with("##")).map(String::from).collect();
            let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
            let row = doc["data"].as_object().unwrap().values().next().unwrap().clone();
            (body, row["local_reuse_passes"].as_u64().unwrap(), row["model_passes"].as_u64().unwrap())
        };
        let (reused, n_reused, n_whole) = run(false);
        let (whole, zero, all) = run(true);
        assert_eq!(zero, 0);
        // 4 SNV/MNV alts x 2 strands (x 3 shifts) reuse; the rest is references and indels.
        assert!(n_reused >= 8 && n_reused + n_whole == all, "{n_reused} + {n_whole} vs {all}");
        assert!(reused.iter().filter(|l| l.contains("SHORKIE=")).count() >= 6);
        assert_eq!(reused, whole);
    }
}
