//! shorkie-predict end to end on the small fine-tuned fixture: BigWig and bedGraph output
//! against the model run directly on independently placed windows, stitching, transforms,
//! group means, FASTA input and bad input.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use candle_core::{Device, Tensor};
use common::{assert_one_line_error, data, run_python, small_model};
use shorkie::formats::indexed_fasta::Fasta;
use shorkie::score::encode::InputLayout;
use shorkie::{Params, SeqNN};

const SPECIES: &str = "0";

/// The fixture model, run without the tool.
struct Direct {
    model: SeqNN,
    layout: InputLayout,
    seq_len: usize,
    bins: usize,
    bin_bp: i64,
    crop_bp: i64,
}

impl Direct {
    fn new() -> Self {
        let params = Params::from_file(&data("small_finetuned/params.json")).unwrap();
        let model = SeqNN::load(&params, &small_model(), &Device::Cpu).unwrap();
        let layout = InputLayout::new(model.in_channels, Some(SPECIES.parse().unwrap())).unwrap();
        let head = &model.heads()[0];
        let (bins, bin_bp, crop_bp) = (head.shape.len, head.bin_bp as i64, head.crop_bp as i64);
        let seq_len = params.model.seq_length;
        assert_eq!(crop_bp * 2 + bins as i64 * bin_bp, seq_len as i64, "symmetric crop");
        Direct { model, layout, seq_len, bins, bin_bp, crop_bp }
    }

    /// `[bins][tracks]` predictions (raw model outputs) for one window of bases.
    fn forward(&self, bases: &[u8]) -> Vec<Vec<f32>> {
        assert_eq!(bases.len(), self.seq_len);
        let mut x = Vec::new();
        self.layout.encode_into(bases, None, &mut x);
        let x = Tensor::from_vec(x, (1, self.seq_len, self.layout.channels), &Device::Cpu).unwrap();
        self.model.forward(&x).unwrap().squeeze(0).unwrap().to_vec2().unwrap()
    }

    /// The window of chrI starting at `start` (N outside the contig).
    fn genome(&self, fasta: &Fasta, start: i64) -> Vec<Vec<f32>> {
        self.forward(&fasta.fetch_padded("chrI", start, start + self.seq_len as i64).unwrap())
    }
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-6 * (1.0 + b.abs())
}

fn fasta_path() -> PathBuf {
    data("chrI.fa.gz")
}

fn model_args() -> Vec<String> {
    model_args_with(&data("small_targets.txt"))
}

fn model_args_with(targets: &Path) -> Vec<String> {
    [
        "-m",
        small_model().to_str().unwrap(),
        "-p",
        data("small_finetuned/params.json").to_str().unwrap(),
        "-t",
        targets.to_str().unwrap(),
        "--species-index",
        SPECIES,
        "-q",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn predict(args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_shorkie-predict"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run shorkie-predict");
    {
        let mut sin = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            let _ = sin.write_all(bytes);
        }
    }
    child.wait_with_output().expect("wait")
}

/// Runs with the fixture's model arguments; asserts success and returns stdout.
fn predict_ok(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    predict_ok_with(&data("small_targets.txt"), args, stdin)
}

fn predict_ok_with(targets: &Path, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let base = model_args_with(targets);
    let mut all: Vec<&str> = base.iter().map(String::as_str).collect();
    all.extend_from_slice(args);
    let out = predict(&all, stdin);
    assert!(out.status.success(), "shorkie-predict failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "-q run wrote to stderr: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

struct BedGraph {
    header: Option<Vec<String>>,
    rows: Vec<(String, u64, u64, Vec<f32>)>,
}

fn parse_bedgraph(bytes: &[u8]) -> BedGraph {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut header = None;
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix('#') {
            assert!(rows.is_empty() && header.is_none(), "one header, first");
            header = Some(h.split('\t').map(String::from).collect());
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        rows.push((
            f[0].to_string(),
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
            f[3..].iter().map(|v| v.parse::<f32>().unwrap()).collect(),
        ));
    }
    BedGraph { header, rows }
}

/// A BigWig as pyBigWig reads it: chromosome sizes and every interval.
fn read_bigwig_py(path: &Path) -> (HashMap<String, u64>, Vec<(String, u64, u64, f32)>) {
    let script = "import sys, json, pyBigWig\n\
bw = pyBigWig.open(sys.argv[1])\n\
assert bw.isBigWig()\n\
chroms = bw.chroms()\n\
iv = [[c, s, e, v] for c in sorted(chroms) for (s, e, v) in (bw.intervals(c) or [])]\n\
print(json.dumps({'chroms': chroms, 'intervals': iv}))\n";
    let out = run_python(script, &[path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let chroms = v["chroms"].as_object().unwrap().iter().map(|(k, l)| (k.clone(), l.as_u64().unwrap())).collect();
    let iv = v["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_u64().unwrap(),
                r[2].as_u64().unwrap(),
                r[3].as_f64().unwrap() as f32,
            )
        })
        .collect();
    (chroms, iv)
}

/// The intervals of one chromosome as bigtools reads them.
fn read_bigwig_bigtools(path: &Path, chrom: &str) -> Vec<(u64, u64, f32)> {
    let mut bw = bigtools::BigWigRead::open_file(path).unwrap();
    let len = bw.chroms().iter().find(|c| c.name == chrom).unwrap().length;
    bw.get_interval(chrom, 0, len)
        .unwrap()
        .map(|v| {
            let v = v.unwrap();
            (v.start as u64, v.end as u64, v.value)
        })
        .collect()
}

fn grid(direct: &Direct) -> (i64, i64, i64) {
    (direct.bins as i64, direct.bin_bp, direct.crop_bp)
}

#[test]
fn bigwigs_hold_the_models_window_output() {
    let direct = Direct::new();
    let fasta = Fasta::open(&fasta_path()).unwrap();
    let (bins, b, crop) = grid(&direct);
    // With no edge bins dropped, tile 3 is the window whose output covers bins 3·bins.. .
    let (first_bp, end_bp) = (3 * bins * b, 4 * bins * b);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bw");
    let bed = dir.path().join("one.bed");
    std::fs::write(&bed, format!("chrI\t{first_bp}\t{end_bp}\n")).unwrap();
    predict_ok(
        &[
            bed.to_str().unwrap(),
            "-f",
            fasta_path().to_str().unwrap(),
            "--edge-bins",
            "0",
            "--tracks",
            "0,5",
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    let mut files: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(files, vec!["track0.bw", "track5.bw"], "one file per track, nothing else left");
    let expected = direct.genome(&fasta, first_bp - crop);
    for (file, track) in [("track0.bw", 0usize), ("track5.bw", 5)] {
        let path = out.join(file);
        let (chroms, iv) = read_bigwig_py(&path);
        assert_eq!(chroms, HashMap::from([("chrI".to_string(), 230218u64)]));
        assert_eq!(iv.len(), bins as usize);
        let tools = read_bigwig_bigtools(&path, "chrI");
        assert_eq!(tools.len(), iv.len());
        for (j, ((c, s, e, v), (ts, te, tv))) in iv.iter().zip(&tools).enumerate() {
            assert_eq!((c.as_str(), *s, *e), ("chrI", (first_bp + j as i64 * b) as u64, (first_bp + (j as i64 + 1) * b) as u64));
            assert_eq!((s, e, v.to_bits()), (ts, te, tv.to_bits()), "pyBigWig and bigtools agree");
            let want = expected[j][track];
            assert!(close(*v, want), "{file} bin {j}: {v} vs model {want}");
        }
    }
}

#[test]
fn long_regions_are_stitched_from_window_centres() {
    let direct = Direct::new();
    let fasta = Fasta::open(&fasta_path()).unwrap();
    let (bins, b, crop) = grid(&direct);
    let edge = bins / 8; // the documented default
    let step = bins - 2 * edge;
    // Not on the bin grid, spanning several windows, and ending at the contig's end in a
    // second region whose last window runs off chrI (N-padded).
    let region = (1001i64, 1001 + 3 * step * b + 7);
    let tail = (230218 - 5 * b - 1, 230218i64);
    let bed = format!("chrI\t{}\t{}\nchrI\t{}\t{}\n", tail.0, tail.1, region.0, region.1);
    let stdout = predict_ok(
        &["-", "-f", fasta_path().to_str().unwrap(), "-O", "bedgraph", "--tracks", "2,7"],
        Some(bed.as_bytes()),
    );
    let bg = parse_bedgraph(&stdout);
    assert_eq!(bg.header, Some(vec!["chrom", "start", "end", "track2", "track7"].into_iter().map(String::from).collect()));
    let first_bin = region.0 / b;
    let end_bin = (region.1 + b - 1) / b;
    let tail_first = tail.0 / b;
    let wanted_bins: Vec<i64> = (first_bin..end_bin).chain(tail_first..230218 / b).collect();
    assert_eq!(bg.rows.len(), wanted_bins.len());
    let mut cache: HashMap<i64, Vec<Vec<f32>>> = HashMap::new();
    let mut tiles_used = std::collections::BTreeSet::new();
    for (row, g) in bg.rows.iter().zip(&wanted_bins) {
        assert_eq!((row.0.as_str(), row.1, row.2), ("chrI", (g * b) as u64, ((g + 1) * b) as u64));
        let k = g.div_euclid(step);
        tiles_used.insert(k);
        let y = cache.entry(k).or_insert_with(|| direct.genome(&fasta, (k * step - edge) * b - crop));
        let j = (g - k * step + edge) as usize;
        for (c, track) in [2usize, 7].iter().enumerate() {
            assert!(close(row.3[c], y[j][*track]), "bin {g} track {track}: {} vs {}", row.3[c], y[j][*track]);
        }
    }
    assert!(tiles_used.len() >= 5, "the region spans several windows: {tiles_used:?}");
}

#[test]
fn bedgraph_and_bigwig_agree_and_overlaps_merge() {
    let dir = tempfile::tempdir().unwrap();
    let fa = fasta_path();
    // Unsorted, overlapping and duplicated regions; one reaching the contig's end.
    let bed = "chrI\t4000\t4100\nchrI\t100\t300\nchrI\t150\t250\nchrI\t150\t250\nchrI\t229900\t230218\n";
    let bed_path = dir.path().join("r.bed");
    std::fs::write(&bed_path, bed).unwrap();
    let common = ["-f", fa.to_str().unwrap(), "--tracks", "3"];
    fn join<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
        a.iter().chain(b).copied().collect()
    }

    let text = predict_ok(&join(&common, &[bed_path.to_str().unwrap(), "-O", "bedgraph"]), None);
    let bg = parse_bedgraph(&text);
    assert_eq!(bg.header, None, "a single column is plain bedGraph");
    let spans: Vec<(u64, u64)> = bg.rows.iter().map(|r| (r.1, r.2)).collect();
    let mut sorted = spans.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(spans, sorted, "sorted, each bin once");
    let b = spans[0].1 - spans[0].0;
    assert_eq!(bg.rows.len() as u64, (200 + 100 + 318) / b);
    assert_eq!(spans.last().unwrap().1, 230218);

    let bw_stdout = predict_ok(&join(&common, &[bed_path.to_str().unwrap(), "-o", "-"]), None);
    let staged = dir.path().join("stdout.bw");
    std::fs::write(&staged, &bw_stdout).unwrap();
    let (chroms, iv) = read_bigwig_py(&staged);
    assert_eq!(chroms["chrI"], 230218);
    assert_eq!(iv.len(), bg.rows.len());
    for (r, (c, s, e, v)) in bg.rows.iter().zip(&iv) {
        assert_eq!((r.0.as_str(), r.1, r.2), (c.as_str(), *s, *e));
        assert_eq!(r.3[0].to_bits(), v.to_bits(), "bedGraph and BigWig values are the same float");
    }
    let out = dir.path().join("out");
    predict_ok(&join(&common, &[bed_path.to_str().unwrap(), "-o", out.to_str().unwrap()]), None);
    let tools = read_bigwig_bigtools(&out.join("track3.bw"), "chrI");
    assert_eq!(tools, iv.iter().map(|(_, s, e, v)| (*s, *e, *v)).collect::<Vec<_>>());

    // A region alone gives the same values as inside the merged set (one bin grid).
    let alone = parse_bedgraph(&predict_ok(&join(&common, &["-", "-O", "bedgraph"]), Some(b"chrI\t150\t250\n")));
    assert_eq!(alone.rows.len() as u64, 100 / b);
    for r in &alone.rows {
        let same = bg.rows.iter().find(|x| x.1 == r.1).unwrap();
        assert_eq!(same.3[0].to_bits(), r.3[0].to_bits(), "bin at {}", r.1);
    }
}

/// The fixture sheet with output transforms: even tracks sum_sqrt, odd ones sum; a soft
/// clip at `clip_soft` on every track.
fn transformed_sheet(dir: &Path, clip_soft: f64) -> PathBuf {
    let text = std::fs::read_to_string(data("small_targets.txt")).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push_str(&format!("{line}\tsum_stat\tclip_soft\n"));
        } else {
            let stat = if (i - 1) % 2 == 0 { "sum_sqrt" } else { "sum" };
            out.push_str(&format!("{line}\t{stat}\t{clip_soft}\n"));
        }
    }
    let p = dir.join("targets_transformed.txt");
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn raw_and_untransformed_differ_by_the_sheets_transform() {
    let dir = tempfile::tempdir().unwrap();
    let clip_soft = 0.6;
    let sheet = transformed_sheet(dir.path(), clip_soft);
    let fa = fasta_path();
    let run = |raw: bool| {
        let mut args = vec![
            "-",
            "-f",
            fa.to_str().unwrap(),
            "-O",
            "bedgraph",
            "--tracks",
            "0-3",
        ];
        if raw {
            args.push("--raw");
        }
        parse_bedgraph(&predict_ok_with(&sheet, &args, Some(b"chrI\t10000\t12000\n")))
    };
    let (raw, untransformed) = (run(true), run(false));
    assert_eq!(raw.rows.len(), untransformed.rows.len());
    let mut changed = [0usize; 4];
    let mut clipped = 0usize;
    for (r, u) in raw.rows.iter().zip(&untransformed.rows) {
        for t in 0..4 {
            let x = r.3[t] as f64;
            let mut want = x;
            if want > clip_soft {
                want = clip_soft - 1.0 + (want - clip_soft + 1.0).powi(2);
                clipped += 1;
            }
            if t % 2 == 0 {
                want = -1.0 + (want + 1.0).powi(2);
            }
            let want = want as f32;
            assert!(close(u.3[t], want), "track {t} at {}: {} vs {want} from raw {x}", u.1, u.3[t]);
            if u.3[t] != r.3[t] {
                changed[t] += 1;
            }
        }
    }
    assert!(clipped > 0, "some predictions exceed the soft clip");
    assert!(changed.iter().all(|&n| n > 0), "every track is transformed somewhere: {changed:?}");
}

#[test]
fn aggregate_group_writes_group_means() {
    let dir = tempfile::tempdir().unwrap();
    let fa = fasta_path();
    let bed = b"chrI\t50000\t51000\n" as &[u8];
    let all = parse_bedgraph(&predict_ok(&["-", "-f", fa.to_str().unwrap(), "-O", "bedgraph"], Some(bed)));
    let out = dir.path().join("groups");
    predict_ok(&["-", "-f", fa.to_str().unwrap(), "--aggregate", "group", "-o", out.to_str().unwrap()], Some(bed));
    // Groups from the sheet (last column).
    let sheet = std::fs::read_to_string(data("small_targets.txt")).unwrap();
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for line in sheet.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (t, g) = (f[0].parse::<usize>().unwrap(), f.last().unwrap().to_string());
        match groups.iter_mut().find(|(n, _)| *n == g) {
            Some((_, v)) => v.push(t),
            None => groups.push((g, vec![t])),
        }
    }
    assert!(groups.len() >= 2);
    let mut files: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    let mut want_files: Vec<String> = groups.iter().map(|(g, _)| format!("{g}.bw")).collect();
    want_files.sort();
    assert_eq!(files, want_files);
    for (g, tracks) in &groups {
        let (_, iv) = read_bigwig_py(&out.join(format!("{g}.bw")));
        assert_eq!(iv.len(), all.rows.len());
        for ((_, s, _, v), row) in iv.iter().zip(&all.rows) {
            assert_eq!(*s, row.1);
            let mean = tracks.iter().map(|&t| row.3[t] as f64).sum::<f64>() / tracks.len() as f64;
            assert!(close(*v, mean as f32), "{g} at {s}: {v} vs mean {mean}");
        }
    }
}

#[test]
fn fasta_input_records_are_centred_and_tiled() {
    let direct = Direct::new();
    let (bins, b, crop) = grid(&direct);
    let edge = bins / 8;
    let step = bins - 2 * edge;
    let chr = Fasta::open(&fasta_path()).unwrap();
    // A short record with an odd length (the last bin is clipped), lower case and N, and
    // one longer than two windows' central bins.
    let mut short = chr.fetch_padded("chrI", 20000, 20301).unwrap();
    short[7] = b'N';
    let long = chr.fetch_padded("chrI", 30000, 30000 + (2 * step * b + 101) as i64).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fa = dir.path().join("seqs.fa");
    let lower = String::from_utf8(short.clone()).unwrap().to_ascii_lowercase();
    let long_text = String::from_utf8(long.clone()).unwrap();
    let wrapped: Vec<&str> = long_text.as_bytes().chunks(60).map(|c| std::str::from_utf8(c).unwrap()).collect();
    std::fs::write(&fa, format!(">zeta one\n{}\n{}\n>alpha\n{}\n", &lower[..150], &lower[150..], wrapped.join("\n")))
        .unwrap();
    let staged = dir.path().join("seqs.bw");
    std::fs::write(&staged, predict_ok(&["--fasta-input", fa.to_str().unwrap(), "--tracks", "4", "-o", "-"], None)).unwrap();
    let (chroms, iv) = read_bigwig_py(&staged);
    assert_eq!(
        chroms,
        HashMap::from([("zeta".to_string(), short.len() as u64), ("alpha".to_string(), long.len() as u64)])
    );
    // The default edge, and none: with no edge dropped, bins next to window edges are used,
    // and their values depend on exactly where the window lies.
    for edge_arg in [None, Some(0i64)] {
        let edge = edge_arg.unwrap_or(bins / 8);
        let step = bins - 2 * edge;
        let mut args = vec!["--fasta-input", fa.to_str().unwrap(), "-O", "bedgraph", "--tracks", "4"];
        let edge_text = edge.to_string();
        if edge_arg.is_some() {
            args.extend_from_slice(&["--edge-bins", &edge_text]);
        }
        let bg = parse_bedgraph(&predict_ok(&args, None));
        if edge_arg.is_none() {
            // bedGraph lines come in input order; the BigWig's chromosomes sorted by name.
            let mut sorted = bg.rows.clone();
            sorted.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            assert_eq!(iv.len(), sorted.len());
            for (i, r) in iv.iter().zip(&sorted) {
                assert_eq!((i.0.as_str(), i.1, i.2, i.3.to_bits()), (r.0.as_str(), r.1, r.2, r.3[0].to_bits()));
            }
        }
        let mut at = 0;
        for (name, seq) in [("zeta", &short), ("alpha", &long)] {
            let len = seq.len() as i64;
            let nb = (len + b - 1) / b;
            let tiles = (nb + step - 1) / step;
            let origin = -((tiles * step - nb) / 2);
            let mut windows: HashMap<i64, Vec<Vec<f32>>> = HashMap::new();
            for g in 0..nb {
                let row = &bg.rows[at];
                let end = ((g + 1) * b).min(len);
                assert_eq!((row.0.as_str(), row.1, row.2), (name, (g * b) as u64, end as u64));
                let k = (g - origin).div_euclid(step);
                let start = (origin + k * step - edge) * b - crop;
                let y = windows.entry(k).or_insert_with(|| {
                    let window: Vec<u8> = (start..start + direct.seq_len as i64)
                        .map(|p| if p < 0 || p >= len { b'N' } else { seq[p as usize] })
                        .collect();
                    direct.forward(&window)
                });
                let j = (g - origin - k * step + edge) as usize;
                assert!(close(row.3[0], y[j][4]), "edge {edge}: {name} bin {g}: {} vs {}", row.3[0], y[j][4]);
                at += 1;
            }
            assert_eq!(windows.len() as i64, tiles, "{name}: every window used");
        }
        assert_eq!(at, bg.rows.len());
    }
}

#[test]
fn bad_input_is_one_line_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fa = fasta_path();
    let out = dir.path().join("never");
    let base = model_args();
    let run = |args: &[&str], stdin: Option<&[u8]>| {
        let mut all: Vec<&str> = base.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        predict(&all, stdin)
    };
    let bed_case = |name: &str, text: &str, needles: &[&str]| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let o = run(&[p.to_str().unwrap(), "-f", fa.to_str().unwrap(), "-o", out.to_str().unwrap()], None);
        let mut n: Vec<&str> = vec![p.to_str().unwrap()];
        n.extend_from_slice(needles);
        assert_one_line_error(&o, &n);
        assert!(o.stdout.is_empty());
        assert!(!out.exists(), "{name}: output directory made");
    };
    bed_case("beyond.bed", "chrI\t100\t200\nchrI\t230000\t230300\n", &[":2:", "chrI:230000-230300", "past the end", "230218"]);
    bed_case("unknown.bed", "chrX\t1\t10\n", &[":1:", "chrX", "not in"]);
    bed_case("empty.bed", "# header\nchrI\t1\t2\nchrI\t50\t50\n", &[":3:", "empty region"]);
    bed_case("nothing.bed", "# only a comment\n", &["no regions"]);

    let bad_fa = dir.path().join("bad.fa");
    std::fs::write(&bad_fa, ">ok\nACGTN\n>seq2 x\nACGT\nACGTRA\n").unwrap();
    let o = run(&["--fasta-input", bad_fa.to_str().unwrap(), "-o", out.to_str().unwrap()], None);
    assert_one_line_error(&o, &[bad_fa.to_str().unwrap(), ":5:", "seq2", "'R'", "position 9"]);
    assert!(!out.exists());

    // An output "directory" under a regular file cannot be made.
    let file = dir.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    let bad_out = file.join("sub");
    let o = run(&["-", "-f", fa.to_str().unwrap(), "-o", bad_out.to_str().unwrap()], Some(b"chrI\t1\t100\n"));
    assert_one_line_error(&o, &[bad_out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");

    // A bedGraph file in a missing directory.
    let missing = dir.path().join("no/such/dir/x.bedGraph");
    let o = run(&["-", "-f", fa.to_str().unwrap(), "-O", "bedgraph", "-o", missing.to_str().unwrap()], Some(b"chrI\t1\t100\n"));
    assert_one_line_error(&o, &[missing.to_str().unwrap()]);

    // One BigWig on stdout needs one column.
    let o = run(&["-", "-f", fa.to_str().unwrap(), "--tracks", "0,1", "-o", "-"], Some(b"chrI\t1\t100\n"));
    assert_one_line_error(&o, &["-o -", "2 columns"]);
    assert!(o.stdout.is_empty());
    let o = run(&["-", "-f", fa.to_str().unwrap()], Some(b"chrI\t1\t100\n"));
    assert_one_line_error(&o, &["-o DIR"]);
    let o = run(&["-", "-f", fa.to_str().unwrap(), "-O", "bedgraph", "--edge-bins", "100000"], Some(b"chrI\t1\t100\n"));
    assert_one_line_error(&o, &["--edge-bins 100000"]);

    // Nothing but the inputs in the directory.
    let mut left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, vec!["bad.fa", "beyond.bed", "empty.bed", "nothing.bed", "plain", "unknown.bed"]);
}

#[test]
fn closed_stdout_exits_quietly() {
    let base = model_args();
    let mut all: Vec<&str> = base.iter().map(String::as_str).collect();
    let fa = fasta_path();
    all.extend_from_slice(&["-", "-f", fa.to_str().unwrap(), "-O", "bedgraph"]);
    let bin = env!("CARGO_BIN_EXE_shorkie-predict");
    let quoted: Vec<String> = all.iter().map(|a| format!("'{a}'")).collect();
    let out = common::sh(&format!(
        "set -o pipefail; printf 'chrI\\t0\\t3000\\nchrI\\t100000\\t103000\\n' | '{bin}' {} | head -n 2; echo \"status ${{PIPESTATUS[1]}}\"",
        quoted.join(" ")
    ));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
    let status = stdout.lines().last().unwrap();
    // Killed by SIGPIPE (141) or an orderly exit 0: never an error message.
    assert!(status == "status 141" || status == "status 0", "{status}");
}
