//! Output faults: a full disk (`ulimit -f` with SIGXFSZ ignored, stdout on /dev/full),
//! runs killed with SIGKILL and continued with `--resume` (v, z and b), two runs on one
//! `-o`, a closed pipe, `-o` on a symbolic link or a FIFO, non-UTF-8 bytes, partials from
//! another input or other options, the output type from the `-o` suffix, and `-W` on
//! unsorted input. Outputs only ever go to temporary directories (stdout may be /dev/full).

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_one_line_error, data, score_cmd, small_model};

const SCORE: &str = env!("CARGO_BIN_EXE_shorkie-score");
const HEADER: &str = "##fileformat=VCFv4.2\n##contig=<ID=chrI,length=230218>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn model_args() -> Vec<String> {
    model_args_with("0")
}

fn model_args_with(tracks: &str) -> Vec<String> {
    [
        "-m",
        small_model().to_str().unwrap(),
        "-p",
        data("small_finetuned/params.json").to_str().unwrap(),
        "-f",
        data("chrI.fa.gz").to_str().unwrap(),
        "--species-index",
        "0",
        "--tracks",
        tracks,
        "-q",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn score(extra: &[&str]) -> Output {
    let mut a = model_args();
    a.extend(extra.iter().map(|s| s.to_string()));
    score_cmd(&a.iter().map(String::as_str).collect::<Vec<_>>(), None)
}

fn score_ok(extra: &[&str]) -> Vec<u8> {
    let out = score(extra);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Quotes for `sh -c`.
fn q(a: &str) -> String {
    format!("'{}'", a.replace('\'', "'\\''"))
}

fn score_line(extra: &[&str]) -> String {
    score_line_with("0", extra)
}

fn score_line_with(tracks: &str, extra: &[&str]) -> String {
    let mut a = vec![q(SCORE)];
    a.extend(model_args_with(tracks).iter().map(|s| q(s)));
    a.extend(extra.iter().map(|s| q(s)));
    a.join(" ")
}

/// chrI bases `start0..start0 + len` (samtools, independent of the code under test).
fn fetch(start0: usize, len: usize) -> Vec<u8> {
    let out = common::sh(&format!("samtools faidx {} chrI:{}-{}", data("chrI.fa.gz").display(), start0 + 1, start0 + len));
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().lines().skip(1).collect::<String>().to_uppercase().into_bytes()
}

/// `n` SNVs along chrI (reference bases from the FASTA), as VCF text.
fn snvs(n: usize) -> String {
    let seq = fetch(0, 230_000);
    let mut vcf = String::from(HEADER);
    let mut pos = 3000usize;
    let mut k = 0;
    while k < n {
        let b = seq[pos - 1];
        if b"ACGT".contains(&b) {
            vcf.push_str(&format!("chrI\t{pos}\tv{k}\t{}\t{}\t.\t.\t.\n", b as char, common::other_base(b)));
            k += 1;
        }
        pos += 397;
    }
    vcf
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// The uncompressed bytes of a BGZF file.
fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

#[test]
fn non_utf8_bytes_pass_through_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vcf = b"##fileformat=VCFv4.2\n##contig=<ID=chrI,length=230218>\n##INFO=<ID=NOTE,Number=1,Type=String,Description=\"note\">\n##FILTER=<ID=lowQ,Description=\"low\">\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n##FORMAT=<ID=TXT,Number=1,Type=String,Description=\"text\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n".to_vec();
    let r = fetch(4999, 1)[0];
    vcf.extend(format!("chrI\t5000\trs_caf").bytes());
    vcf.extend(b"\xe9\t");
    vcf.extend(format!("{}\t{}\t.\tlowQ\tNOTE=Gr", r as char, common::other_base(r)).bytes());
    vcf.extend(b"\xfc\xdfe\tGT:TXT\t0/1:M\xfcller\n");
    let input = tmp.path().join("latin1.vcf");
    std::fs::write(&input, &vcf).unwrap();
    for (t, name) in [("v", "o.vcf"), ("z", "o.vcf.gz")] {
        let out = tmp.path().join(name);
        score_ok(&["-O", t, "-o", &s(&out), &s(&input)]);
        let bytes = std::fs::read(&out).unwrap();
        let text = if t == "z" { gunzip(&bytes) } else { bytes };
        let line = text.split(|b| *b == b'\n').find(|l| l.starts_with(b"chrI\t")).unwrap().to_vec();
        let fields: Vec<&[u8]> = line.split(|b| *b == b'\t').collect();
        assert_eq!(fields[2], b"rs_caf\xe9", "-O {t}");
        assert!(fields[7].starts_with(b"NOTE=Gr\xfc\xdfe;SHORKIE="), "-O {t}: {}", String::from_utf8_lossy(fields[7]));
        assert_eq!(fields[9], b"0/1:M\xfcller", "-O {t}");
    }
}

#[test]
fn a_full_disk_fails_with_the_file_named_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.vcf");
    std::fs::write(&input, snvs(40)).unwrap();
    for t in ["v", "z", "b"] {
        let dir = tmp.path().join(format!("out_{t}"));
        std::fs::create_dir(&dir).unwrap();
        let out = dir.join("scored");
        // 4 KiB (512-byte blocks in dash): the header fits, the records (every track and
        // statistic) do not, whatever the compression.
        let script = format!(
            "trap '' XFSZ; ulimit -f 8; exec {}",
            score_line_with("0-7", &["--stats", "logSED,SUM,D1,D2,logD2,JS,SAX,REF,ALT", "-O", t, "-o", &s(&out), &s(&input)])
        );
        let res = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        let err = assert_one_line_error(&res, &[&s(&out)]);
        assert!(err.contains("File too large") || err.contains("No space"), "-O {t}: {err}");
        assert!(files_in(&dir).is_empty(), "-O {t} left {:?}", files_in(&dir));
    }
}

#[test]
fn stdout_on_a_full_device_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.vcf");
    std::fs::write(&input, snvs(20)).unwrap();
    for t in ["v", "z", "b"] {
        let script = format!("exec {} > /dev/full", score_line(&["-O", t, &s(&input)]));
        let res = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert_one_line_error(&res, &["<stdout>", "No space left on device"]);
    }
}

#[test]
fn dash_is_stdout_and_the_suffix_picks_the_type() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.vcf");
    std::fs::write(&input, snvs(5)).unwrap();
    let out = score(&["-o", "-", &s(&input)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.starts_with(b"##fileformat=VCF"));
    assert!(!Path::new("-").exists());

    let gz = tmp.path().join("x.vcf.gz");
    let bgz = tmp.path().join("x.vcf.bgz");
    let bcf = tmp.path().join("x.bcf");
    let vcf = tmp.path().join("x.vcf");
    for p in [&gz, &bgz, &bcf, &vcf] {
        score_ok(&["-o", &s(p), &s(&input)]);
    }
    let bgzf_magic = |p: &Path| {
        let b = std::fs::read(p).unwrap();
        b.len() > 16 && b[..4] == [0x1f, 0x8b, 8, 4] && &b[12..14] == b"BC"
    };
    assert!(bgzf_magic(&gz) && bgzf_magic(&bgz) && bgzf_magic(&bcf));
    assert!(gunzip(&std::fs::read(&gz).unwrap()).starts_with(b"##fileformat=VCF"));
    assert!(gunzip(&std::fs::read(&bcf).unwrap()).starts_with(b"BCF\x02\x02"));
    assert!(std::fs::read(&vcf).unwrap().starts_with(b"##fileformat=VCF"));
    let view = common::sh(&format!("bcftools view -H {} | wc -l", s(&bcf)));
    assert_eq!(String::from_utf8_lossy(&view.stdout).trim(), "5");

    // An explicit type that contradicts the suffix is refused.
    let res = score(&["-O", "v", "-o", &s(&tmp.path().join("y.vcf.gz")), &s(&input)]);
    assert_one_line_error(&res, &["-O v", "y.vcf.gz", "bgzipped VCF"]);
    // Levels and uncompressed BCF.
    let z0 = tmp.path().join("l0.vcf.gz");
    let z9 = tmp.path().join("l9.vcf.gz");
    score_ok(&["-O", "z0", "-o", &s(&z0), &s(&input)]);
    score_ok(&["-O", "z9", "-o", &s(&z9), &s(&input)]);
    let (a, b) = (std::fs::read(&z0).unwrap(), std::fs::read(&z9).unwrap());
    assert!(a.len() > b.len(), "z0 {} bytes, z9 {}", a.len(), b.len());
    let body = |v: Vec<u8>| v.split(|b| *b == b'\n').filter(|l| !l.starts_with(b"##shorkie_scoreCommand")).map(<[u8]>::to_vec).collect::<Vec<_>>();
    assert_eq!(body(gunzip(&a)), body(gunzip(&b)));
    let u = tmp.path().join("u.bcf");
    score_ok(&["-O", "u", "-o", &s(&u), &s(&input)]);
    assert!(std::fs::read(&u).unwrap().starts_with(b"BCF\x02\x02"));
    let view = common::sh(&format!("bcftools view -H {} | wc -l", s(&u)));
    assert_eq!(String::from_utf8_lossy(&view.stdout).trim(), "5");
    // -W writes CSI by default, -W=tbi a tabix index.
    let w = tmp.path().join("w.vcf.gz");
    score_ok(&["-W", "-o", &s(&w), &s(&input)]);
    assert!(tmp.path().join("w.vcf.gz.csi").exists());
    let t = tmp.path().join("t.vcf.gz");
    score_ok(&["--write-index=tbi", "-o", &s(&t), &s(&input)]);
    assert!(tmp.path().join("t.vcf.gz.tbi").exists());
    let r = common::sh(&format!("bcftools view -H -r chrI:3000-3500 {} | wc -l", s(&t)));
    assert_eq!(String::from_utf8_lossy(&r.stdout).trim(), "2", "{}", String::from_utf8_lossy(&r.stderr));
}

#[test]
fn write_index_on_unsorted_input_fails_clearly_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let text = snvs(6);
    let mut lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    lines.swap(n - 3, n - 2);
    let input = tmp.path().join("unsorted.vcf");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let dir = tmp.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    for t in ["z", "b"] {
        let out = dir.join(format!("x.{t}"));
        let res = score(&["-O", t, "-W", "-o", &s(&out), &s(&input)]);
        assert_one_line_error(&res, &["record 5", "comes after", "sorted"]);
        assert!(files_in(&dir).is_empty(), "left {:?}", files_in(&dir));
    }
}

#[test]
fn a_symlink_or_fifo_output_is_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.vcf");
    std::fs::write(&input, snvs(5)).unwrap();
    let target = tmp.path().join("target.vcf");
    std::fs::write(&target, b"old").unwrap();
    let link = tmp.path().join("link.vcf");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // Written through: the link stays a link, its target gets the output.
    score_ok(&["-o", &s(&link), &s(&input)]);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read(&target).unwrap().starts_with(b"##fileformat=VCF"));
    let dangling = tmp.path().join("dangling.vcf");
    std::os::unix::fs::symlink(tmp.path().join("no/such/dir.vcf"), &dangling).unwrap();
    assert_one_line_error(&score(&["-o", &s(&dangling), &s(&input)]), &["dangling.vcf", "symbolic link"]);

    let fifo = tmp.path().join("fifo.vcf");
    let c = std::ffi::CString::new(s(&fifo)).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    // A non-blocking reader: a run that never opens the FIFO cannot hang the test.
    use std::os::unix::fs::OpenOptionsExt;
    let mut reader = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&fifo).unwrap();
    let mut a = model_args();
    a.extend(["-o".to_string(), s(&fifo), s(&input)]);
    let mut child = Command::new(SCORE).args(&a).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let status = loop {
        match reader.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => {
                if let Some(st) = child.try_wait().unwrap() {
                    while let Ok(n) = reader.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                    }
                    break st;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    assert!(status.success());
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");
    assert!(got.starts_with(b"##fileformat=VCF"));
    assert_eq!(got.split(|b| *b == b'\n').filter(|l| l.starts_with(b"chrI\t")).count(), 5);
}

#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.vcf");
    std::fs::write(&input, snvs(40)).unwrap();
    let script = format!("{} 2>{} | head -1; echo ${{PIPESTATUS[0]}}", score_line(&[&s(&input)]), q(&s(&tmp.path().join("err"))));
    let res = Command::new("bash").arg("-c").arg(&script).output().unwrap();
    let text = String::from_utf8_lossy(&res.stdout);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("##fileformat=VCFv4.2"));
    let status = lines.next().unwrap();
    assert!(status == "0" || status == "141", "exit {status}");
    assert_eq!(std::fs::read_to_string(tmp.path().join("err")).unwrap(), "");
}

/// Waits until `cond` holds or the child exits; true if `cond` held first.
fn wait_for(child: &mut std::process::Child, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        if cond() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn spawn(args: &[String]) -> std::process::Child {
    Command::new(SCORE).args(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Size of the header's BGZF block(s): the first block of a fresh output ends the header.
fn first_block_len(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    let mut r = &bytes[..];
    let (size, _) = shorkie::bgzf::read_block(&mut r).unwrap().unwrap();
    size as u64
}

#[test]
fn killed_runs_resume_to_the_uninterrupted_output_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.vcf");
    std::fs::write(&input, snvs(64)).unwrap();
    for (t, name) in [("v", "o.vcf"), ("z", "o.vcf.gz"), ("b", "o.bcf")] {
        let out = tmp.path().join(name);
        let partial = tmp.path().join(format!("{name}.partial"));
        let mut args = model_args();
        args.extend(["--batch-size".into(), "2".into(), "-O".into(), t.into(), "-o".into(), s(&out), s(&input)]);
        let run = |extra: &[&str]| {
            let mut a = args.clone();
            a.extend(extra.iter().map(|s| s.to_string()));
            let res = Command::new(SCORE).args(&a).output().unwrap();
            assert!(res.status.success(), "-O {t}: {}", String::from_utf8_lossy(&res.stderr));
        };
        run(&[]);
        let full = std::fs::read(&out).unwrap();
        let header_len = if t == "v" {
            full.windows(7).position(|w| w == b"#CHROM\t").map(|i| i + full[i..].iter().position(|b| *b == b'\n').unwrap() + 1).unwrap() as u64
        } else {
            first_block_len(&out)
        };
        std::fs::remove_file(&out).unwrap();
        // Kill points: as soon as the header is in the file, and mid-stream (records in
        // the file: the output is synced every 16 records, a BGZF block ended).
        for (point, beyond) in [("after the header", 0u64), ("mid-stream", 1)] {
            let mut killed = false;
            for _attempt in 0..3 {
                let mut child = spawn(&args);
                let reached = wait_for(&mut child, || {
                    std::fs::metadata(&partial).map(|m| m.len() >= header_len + beyond).unwrap_or(false)
                });
                let _ = child.kill();
                let status = child.wait().unwrap();
                if reached && !status.success() && !out.exists() {
                    killed = true;
                    break;
                }
                let _ = std::fs::remove_file(&out);
            }
            assert!(killed, "-O {t}: the run could not be killed {point}");
            assert!(partial.exists());
            run(&["--resume"]);
            assert!(!partial.exists());
            assert!(std::fs::read(&out).unwrap() == full, "-O {t}: resumed {point} differs from the uninterrupted output");
            std::fs::remove_file(&out).unwrap();
        }
    }
}

#[test]
fn two_runs_on_one_output_never_interleave() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.vcf");
    std::fs::write(&input, snvs(64)).unwrap();
    let out = tmp.path().join("o.vcf");
    let partial = tmp.path().join("o.vcf.partial");
    let mut args = model_args();
    args.extend(["--batch-size".into(), "2".into(), "-o".into(), s(&out), s(&input)]);
    let reference = tmp.path().join("ref.vcf");
    let mut solo = None;
    for _attempt in 0..3 {
        let mut first = spawn(&args);
        if !wait_for(&mut first, || partial.exists()) {
            let _ = first.wait();
            std::fs::rename(&out, &reference).unwrap();
            continue;
        }
        let second = Command::new(SCORE).args(&args).output().unwrap();
        let status = first.wait_with_output().unwrap();
        solo = Some((second, status));
        break;
    }
    let (second, first) = solo.expect("the first run finished before a second could start");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_one_line_error(&second, &["o.vcf", "another run is writing"]);
    let got = std::fs::read(&out).unwrap();
    assert_eq!(got.split(|b| *b == b'\n').filter(|l| l.starts_with(b"chrI\t")).count(), 64);
    let ids: Vec<String> = String::from_utf8_lossy(&got).lines().filter(|l| l.starts_with("chrI\t")).map(|l| l.split('\t').nth(2).unwrap().to_string()).collect();
    assert_eq!(ids, (0..64).map(|k| format!("v{k}")).collect::<Vec<_>>());
    assert!(!partial.exists());
}

#[test]
fn resume_refuses_a_partial_from_another_input_or_other_options() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.vcf");
    let text = snvs(8);
    std::fs::write(&input, &text).unwrap();
    let out = tmp.path().join("o.vcf");
    let partial = tmp.path().join("o.vcf.partial");
    score_ok(&["-o", &s(&out), &s(&input)]);
    let complete = std::fs::read(&out).unwrap();
    // A partial of that run: the header and three records.
    let cut = complete.split_inclusive(|b| *b == b'\n').take_while(|l| !l.starts_with(b"chrI")).map(<[u8]>::len).sum::<usize>();
    let three = cut + complete[cut..].split_inclusive(|b| *b == b'\n').take(3).map(<[u8]>::len).sum::<usize>();
    std::fs::remove_file(&out).unwrap();

    // Another input under the same name.
    std::fs::write(&partial, &complete[..three]).unwrap();
    std::fs::write(&input, snvs(9)).unwrap();
    let res = score(&["-o", &s(&out), "--resume", &s(&input)]);
    assert_one_line_error(&res, &["o.vcf.partial", "another input or with other options", "shorkie_scoreInput"]);
    assert!(!out.exists() && partial.exists());
    std::fs::write(&input, &text).unwrap();

    // Other options.
    let res = score(&["--stats", "SUM", "-o", &s(&out), "--resume", &s(&input)]);
    assert_one_line_error(&res, &["o.vcf.partial", "another input or with other options"]);
    assert!(!out.exists());

    // The same input and options continue it.
    score_ok(&["-o", &s(&out), "--resume", &s(&input)]);
    assert_eq!(std::fs::read(&out).unwrap(), complete);
}

#[test]
fn an_empty_partial_restarts_and_a_headerless_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.vcf");
    std::fs::write(&input, snvs(4)).unwrap();
    let out = tmp.path().join("o.vcf");
    let partial = tmp.path().join("o.vcf.partial");
    score_ok(&["-o", &s(&out), &s(&input)]);
    let complete = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();

    std::fs::write(&partial, b"").unwrap();
    score_ok(&["-o", &s(&out), "--resume", &s(&input)]);
    assert_eq!(std::fs::read(&out).unwrap(), complete);
    std::fs::remove_file(&out).unwrap();

    std::fs::write(&partial, &complete[..40]).unwrap();
    let res = score(&["-o", &s(&out), "--resume", &s(&input)]);
    assert_one_line_error(&res, &["o.vcf.partial", "no complete header"]);
    assert!(!out.exists());
}

fn predict_line(extra: &[&str]) -> String {
    let mut a = vec![q(env!("CARGO_BIN_EXE_shorkie-predict"))];
    for x in [
        "-m",
        small_model().to_str().unwrap(),
        "-p",
        data("small_finetuned/params.json").to_str().unwrap(),
        "-t",
        data("small_targets.txt").to_str().unwrap(),
        "--species-index",
        "0",
        "-q",
        "-f",
        data("chrI.fa.gz").to_str().unwrap(),
    ] {
        a.push(q(x));
    }
    a.extend(extra.iter().map(|s| q(s)));
    a.join(" ")
}

#[test]
fn predict_bigwig_on_a_full_disk_is_one_line_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bed = tmp.path().join("r.bed");
    std::fs::write(&bed, "chrI\t0\t60000\n").unwrap();
    // Sizes of the two files the run writes: the spool of predicted values (4 bytes a
    // bin, in TMPDIR) and then the BigWig.
    let bedgraph = common::sh(&predict_line(&["--tracks", "0", "-O", "bedgraph", &s(&bed)]));
    assert!(bedgraph.status.success(), "{}", String::from_utf8_lossy(&bedgraph.stderr));
    let spool_bytes = 4 * bedgraph.stdout.iter().filter(|&&c| c == b'\n').count() as u64;
    let whole = tmp.path().join("whole");
    std::fs::create_dir(&whole).unwrap();
    assert!(common::sh(&predict_line(&["--tracks", "0", "-o", &s(&whole), &s(&bed)])).status.success());
    let bw_bytes = std::fs::metadata(whole.join("track0.bw")).unwrap().len();
    assert!(spool_bytes + 4096 < bw_bytes, "spool {spool_bytes} B, BigWig {bw_bytes} B");
    // A file-size limit (dash counts 512-byte blocks) that the spool, or only the BigWig, exceeds.
    for (blocks, needle) in [(8, "prediction spool"), ((spool_bytes + bw_bytes) / 2 / 512, ".bw")] {
        let dir: PathBuf = tmp.path().join(format!("bw{blocks}"));
        std::fs::create_dir(&dir).unwrap();
        let script = format!("trap '' XFSZ; ulimit -f {blocks}; exec {}", predict_line(&["--tracks", "0", "-o", &s(&dir), &s(&bed)]));
        let res = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        let err = assert_one_line_error(&res, &[needle]);
        assert!(err.contains("File too large") || err.contains("No space"), "{err}");
        assert!(files_in(&dir).is_empty(), "left {:?}", files_in(&dir));
    }
}

#[test]
fn regions_select_the_records_of_an_indexed_input() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.vcf");
    std::fs::write(&input, snvs(12)).unwrap();
    let gz = tmp.path().join("in.vcf.gz");
    let made = common::sh(&format!("bgzip -c {} > {} && bcftools index {}", s(&input), s(&gz), s(&gz)));
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let ids = |vcf: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(vcf).lines().filter(|l| !l.starts_with('#')).map(|l| l.split('\t').nth(2).unwrap().to_string()).collect()
    };
    let want = |regions: &str| {
        let out = common::sh(&format!("bcftools view -H --regions-overlap pos -r {regions} {} | cut -f3", s(&gz)));
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect::<Vec<_>>()
    };
    // Overlapping regions give each record once, in file order.
    let regions = "chrI:4500-5000,chrI:3000-4000,chrI:3500-3900";
    let got = ids(&score_ok(&["-r", regions, &s(&gz)]));
    assert_eq!(got, want(regions));
    assert!(got.len() >= 3 && got.len() < 12, "{got:?}");
    let file = tmp.path().join("regions.tsv");
    std::fs::write(&file, "chrI\t3000\t4000\nchrI\t4500\t5000\n").unwrap();
    assert_eq!(ids(&score_ok(&["-R", &s(&file), &s(&gz)])), want("chrI:3000-4000,chrI:4500-5000"));
    let res = score(&["-r", "chrI:1-10", &s(&input)]);
    assert_one_line_error(&res, &["in.vcf", "index"]);
    let res = score(&["-r", "chrV", &s(&gz)]);
    assert_one_line_error(&res, &["chrV", "not in the header"]);
}
