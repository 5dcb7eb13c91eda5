//! BigWig coverage → training targets, checked against an independent numpy computation of
//! baskerville's hound_data_read.py steps on BigWigs written by pyBigWig (libBigWig).

mod common;

use std::path::Path;

use common::{data, run_python};
use shorkie::coverage::{folds, Blacklist, CoverageSource, BLACKLIST_BUFFER};
use shorkie::formats::targets::Targets;

/// Writes the BigWigs, blacklist and sheet into argv[1], then prints the expected targets
/// of each window as JSON, following hound_data_read.py step by step in numpy.
const MAKE_AND_EXPECT: &str = r#"
import json, sys
import numpy as np
import pyBigWig

out = sys.argv[1]
chrI_len = int(sys.argv[2])
rng = np.random.default_rng(7)

def intervals(lo, hi, gap_p):
    # Random bedGraph runs over [lo, hi), leaving no-data gaps with probability gap_p.
    starts, ends, vals = [], [], []
    pos = lo
    while pos < hi:
        n = int(rng.integers(1, 60))
        end = min(pos + n, hi)
        if rng.random() >= gap_p:
            starts.append(pos); ends.append(end)
            vals.append(float(np.float32(rng.gamma(1.5, 4.0) * rng.choice([0.1, 1, 1, 3]))))
        pos = end
    return starts, ends, vals

def write_bedgraph(path, header, runs):
    bw = pyBigWig.open(path, "w")
    bw.addHeader(header)
    for chrom, (s, e, v) in runs:
        if s:
            bw.addEntries([chrom] * len(s), s, ends=e, values=v)
    bw.close()

# a.bw: chrI with gaps and a fully covered stretch [8000, 12600); chrII with gaps before 2000.
s1, e1, v1 = intervals(0, 8000, 0.3)
s2, e2, v2 = intervals(8000, 12600, 0.0)
s3, e3, v3 = intervals(12600, 20000, 0.3)
write_bedgraph(f"{out}/a.bw", [("chrI", chrI_len), ("chrII", 5000)],
               [("chrI", (s1 + s2 + s3, e1 + e2 + e3, v1 + v2 + v3)),
                ("chrII", tuple(a + b for a, b in zip(intervals(0, 2000, 0.2), intervals(2000, 5000, 0.0))))])

# b.bw: like a, plus one base above the float16 range (inf after astype float16).
s1, e1, v1 = intervals(0, 8000, 0.2)
k = next(i for i, st in enumerate(s1) if st >= 1000)
v1[k] = 70000.0
s2, e2, v2 = intervals(8000, 12600, 0.0)
write_bedgraph(f"{out}/b.bw", [("chrI", chrI_len), ("chrII", 5000)],
               [("chrI", (s1 + s2, e1 + e2, v1 + v2)), ("chrII", intervals(0, 5000, 0.5))])

# c.bw: chrI only and shorter than the FASTA's (6000 bp); fixedStep and variableStep
# sections, values large enough for soft clipping.
bw = pyBigWig.open(f"{out}/c.bw", "w")
bw.addHeader([("chrI", 6000)])
bw.addEntries("chrI", 0, values=[float(x) for x in rng.gamma(2.0, 30.0, 1000).astype(np.float32)], span=2, step=2)
bw.addEntries("chrI", [2500 + 3 * i for i in range(800)], values=[float(x) for x in rng.gamma(2.0, 10.0, 800).astype(np.float32)], span=2)
bw.addEntries(["chrI"], [5000], ends=[6000], values=[12.5])
bw.close()

# A BigWig with Ensembl-style names only.
bw = pyBigWig.open(f"{out}/ensembl.bw", "w")
bw.addHeader([("1", 1000), ("2", 1000)])
bw.addEntries(["1"], [0], ends=[10], values=[1.0])
bw.close()

with open(f"{out}/blacklist.bed", "w") as f:
    f.write("track name=blacklist\n")
    # Inside windows; starting just before a window (Python's negative slice start makes
    # hound skip these); starting more than a window length before one (slice from 0).
    for c, s, e in [("chrI", 9000, 9100), ("chrII", 100, 180),
                    ("chrI", 8150, 8250), ("chrI", 600, 700),
                    ("chrII", 1000, 2200)]:
        f.write(f"{c}\t{s}\t{e}\n")

tracks = [
    # identifier, file, sum_stat, clip, clip_soft, scale
    ("a_sum", "a.bw", "sum", None, None, None),
    ("a_sqrt", "a.bw", "sum_sqrt", 12.0, 10.0, 0.5),
    ("b_mean", "b.bw", "mean", None, None, 2.0),
    ("b_max", "b.bw", "max", 100.0, None, None),
    ("c_sum", "c.bw", "sum", None, 200.0, 0.3),
    ("c_peak", "c.bw", "peak", None, None, 0.01),
    ("a_mean_sqrt", "a.bw", "mean_sqrt", None, None, None),
    ("a_median", "a.bw", "median", None, None, 1.7),
    ("b_exp75", "b.bw", "sum_exp75", None, 30.0, None),
]
with open(f"{out}/targets.txt", "w") as f:
    f.write("\tidentifier\tfile\tsum_stat\tclip\tclip_soft\tscale\tdescription\n")
    for i, (ident, fn, stat, clip, cs, scale) in enumerate(tracks):
        fmt = lambda x: "" if x is None else repr(x)
        f.write(f"{i}\t{ident}\t{fn}\t{stat}\t{fmt(clip)}\t{fmt(cs)}\t{fmt(scale)}\t{ident} track\n")

black = {}
for line in open(f"{out}/blacklist.bed"):
    a = line.split()
    if a[0] == "track":
        continue
    black.setdefault(a[0], []).append((max(0, int(a[1]) - 20), int(a[2]) + 20))

def hound_read(path, chrom, start, end, pool, crop, stat, clip, clip_soft, scale):
    bw = pyBigWig.open(path)
    chroms = bw.chroms()
    if chrom not in chroms:
        cov = np.zeros(end - start, dtype="float16")
    else:
        # pyBigWig raises past the contig end; the Rust reader gives no data (NaN) there.
        cov = np.full(end - start, np.nan, dtype="float32")
        stop = min(end, chroms[chrom])
        if start < stop:
            cov[: stop - start] = bw.values(chrom, start, stop, numpy=True)
        cov = cov.astype("float16")
    bw.close()
    seq_cov_nt = cov.astype("float32")
    target_length = (end - start - 2 * crop) // pool
    if target_length >= 8:
        baseline_cov = np.nan_to_num(np.percentile(seq_cov_nt, 100 * 0.5))
    else:
        baseline_cov = 0
    for (bs, be) in black.get(chrom, []):
        if bs < end and be > start:
            s, e = bs - start, be - start
            seq_cov_nt[s:e] = np.clip(seq_cov_nt[s:e], -baseline_cov, baseline_cov)
    seq_cov_nt[np.isnan(seq_cov_nt)] = baseline_cov
    if crop > 0:
        seq_cov_nt = seq_cov_nt[crop:-crop]
    # hound_data.py passes numbers as "%f".
    scale = float("%f" % (1.0 if scale is None else scale))
    seq_cov_nt = scale * seq_cov_nt
    x = seq_cov_nt.reshape(target_length, pool)
    if stat == "sum":
        x = x.sum(axis=1, dtype="float32")
    elif stat == "sum_sqrt":
        x = -1 + np.sqrt(1 + x.sum(axis=1, dtype="float32"))
    elif stat == "sum_exp75":
        x = -1 + (1 + x.sum(axis=1, dtype="float32")) ** 0.75
    elif stat == "mean":
        x = x.mean(axis=1, dtype="float32")
    elif stat == "mean_sqrt":
        x = -1 + np.sqrt(1 + x.mean(axis=1, dtype="float32"))
    elif stat == "median":
        x = np.median(x, axis=1)
    elif stat == "max":
        x = x.max(axis=1)
    elif stat == "peak":
        x = np.clip(np.sqrt(x.mean(axis=1, dtype="float32") * 4), 0, 1)
    if clip_soft is not None:
        cs = float("%f" % clip_soft)
        m = x > cs
        x[m] = cs - 1 + np.sqrt(x[m] - cs + 1)
    if clip is not None:
        c = float("%f" % clip)
        x = np.clip(x, -c, c)
    x = np.clip(x, np.finfo(np.float16).min, np.finfo(np.float16).max)
    return x.astype("float16")

windows = [
    ("chrI", 0, 4096, 32, 0),
    ("chrI", 8192, 12288, 32, 64),
    ("chrI", 8200, 12296, 128, 0),
    ("chrI", 5000, 7048, 16, 0),
    ("chrII", 0, 2048, 16, 8),
    ("chrIII", 0, 512, 64, 0),
    ("chrI", 100, 164, 16, 0),
    ("chrI", 640, 1664, 1, 0),
    ("chrII", 2100, 2612, 16, 0),
]
result = []
for chrom, start, end, pool, crop in windows:
    cols = [hound_read(f"{out}/{fn}", chrom, start, end, pool, crop, stat, clip, cs, scale)
            for (_, fn, stat, clip, cs, scale) in tracks]
    vals = np.stack(cols, axis=1).astype("float64")
    assert np.isfinite(vals).all()
    result.append({"contig": chrom, "start": start, "end": end, "pool": pool, "crop": crop,
                   "values": vals.tolist()})
print(json.dumps({"tracks": [t[0] for t in tracks], "windows": result}))
"#;

fn chr_i_len() -> u64 {
    let fai = std::fs::read_to_string(data("chrI.fa.gz.fai")).unwrap();
    fai.lines().next().unwrap().split('\t').nth(1).unwrap().parse().unwrap()
}

fn fasta_contigs() -> Vec<(String, u64)> {
    vec![("chrI".into(), chr_i_len()), ("chrII".into(), 5000), ("chrIII".into(), 3000)]
}

/// Builds the fixture directory and returns it with numpy's expectations.
fn fixture() -> (tempfile::TempDir, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = run_python(MAKE_AND_EXPECT, &[dir.path().to_str().unwrap(), &chr_i_len().to_string()]);
    (dir, serde_json::from_str(&json).expect("python printed JSON"))
}

#[test]
fn bigwig_targets_match_numpy_hound_data_read() {
    let (dir, want) = fixture();
    let targets = Targets::from_file(&dir.path().join("targets.txt")).unwrap();
    let blacklist = Blacklist::from_bed(&dir.path().join("blacklist.bed"), BLACKLIST_BUFFER).unwrap();
    let mut source = CoverageSource::open(&targets, &fasta_contigs()).unwrap();
    let names: Vec<String> =
        want["tracks"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(source.identifiers(), names.as_slice());
    let ntracks = names.len();
    let mut nonzero_baseline_checked = false;
    for w in want["windows"].as_array().unwrap() {
        let contig = w["contig"].as_str().unwrap();
        let (start, end) = (w["start"].as_u64().unwrap(), w["end"].as_u64().unwrap());
        let (pool, crop) = (w["pool"].as_u64().unwrap() as usize, w["crop"].as_u64().unwrap() as usize);
        let got = source.read(contig, start, end, pool, crop, blacklist.get(contig)).unwrap();
        let rows = w["values"].as_array().unwrap();
        assert_eq!(got.len(), rows.len() * ntracks, "{contig}:{start}-{end}");
        for (b, row) in rows.iter().enumerate() {
            for (t, v) in row.as_array().unwrap().iter().enumerate() {
                let want = v.as_f64().unwrap();
                let got = got[b * ntracks + t] as f64;
                // sum_exp75 goes through powf, whose last bit may differ between numpy's
                // and Rust's libm: allow one float16 step there; everything else is exact.
                let tol = if names[t] == "b_exp75" { 1e-3 } else { 1e-5 };
                assert!(
                    (got - want).abs() <= tol * want.abs().max(1e-3),
                    "{contig}:{start}-{end} (pool {pool}, crop {crop}) bin {b} track {}: got {got}, numpy {want}",
                    names[t]
                );
            }
        }
        if start == 8192 {
            // The fully covered window has a nonzero baseline and blacklisted bases.
            nonzero_baseline_checked = rows.iter().any(|r| r[0].as_f64().unwrap() > 0.0);
        }
        if contig == "chrIII" {
            assert!(got.iter().all(|&x| x == 0.0), "a contig no BigWig has reads as zeros");
        }
    }
    assert!(nonzero_baseline_checked);
}

#[test]
fn coverage_source_is_send() {
    fn send<T: Send>(_: &T) {}
    let (dir, _) = fixture();
    let targets = Targets::from_file(&dir.path().join("targets.txt")).unwrap();
    let source = CoverageSource::open(&targets, &fasta_contigs()).unwrap();
    send(&source);
    let handle = std::thread::spawn(move || {
        let mut source = source;
        source.read("chrI", 0, 1024, 32, 0, &[]).map(|v| v.len())
    });
    assert_eq!(handle.join().unwrap().unwrap(), 32 * 9);
}

fn sheet(dir: &Path, rows: &[(&str, &str)]) -> Targets {
    let mut text = String::from("\tidentifier\tfile\tsum_stat\n");
    for (i, (id, file)) in rows.iter().enumerate() {
        text.push_str(&format!("{i}\t{id}\t{file}\tsum\n"));
    }
    let path = dir.join("sheet.txt");
    std::fs::write(&path, text).unwrap();
    Targets::from_file(&path).unwrap()
}

#[test]
fn missing_bigwig_is_named() {
    let (dir, _) = fixture();
    let t = sheet(dir.path(), &[("ok", "a.bw"), ("gone", "nowhere/missing.bw")]);
    let e = CoverageSource::open(&t, &fasta_contigs()).err().expect("error").to_string();
    assert!(
        e.contains("sheet.txt: row 1 (gone)") && e.contains("nowhere/missing.bw") && e.contains("cannot open BigWig"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    // A file that is not a BigWig.
    let t = sheet(dir.path(), &[("bed", "blacklist.bed")]);
    let e = CoverageSource::open(&t, &fasta_contigs()).err().expect("error").to_string();
    assert!(e.contains("row 0 (bed)") && e.contains("blacklist.bed: not a readable BigWig"), "{e}");
}

#[test]
fn bigwig_with_other_contig_names_is_named() {
    let (dir, _) = fixture();
    let t = sheet(dir.path(), &[("ens", "ensembl.bw")]);
    let e = CoverageSource::open(&t, &fasta_contigs()).err().expect("error").to_string();
    assert!(e.contains("row 0 (ens)") && e.contains("ensembl.bw"), "{e}");
    assert!(e.contains("the BigWig has 1, 2 but the FASTA has chrI, chrII, chrIII"), "{e}");
    // Lacking only some FASTA contigs is fine (c.bw has chrI only).
    let t = sheet(dir.path(), &[("c", "c.bw")]);
    let mut s = CoverageSource::open(&t, &fasta_contigs()).unwrap();
    assert!(s.read("chrII", 0, 64, 32, 0, &[]).unwrap().iter().all(|&x| x == 0.0));
    let e = s.read("chrX", 0, 64, 32, 0, &[]).unwrap_err().to_string();
    assert!(e.contains("chrX is not in the FASTA"), "{e}");
    let e = s.read("chrI", 0, 100, 32, 0, &[]).unwrap_err().to_string();
    assert!(e.contains("not a positive multiple of the pool width 32"), "{e}");
}

#[test]
fn duplicate_identifier_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("targets.txt");
    std::fs::write(&path, "\tidentifier\tfile\n0\tRNA_1\ta.bw\n1\tRNA_2\tb.bw\n2\tRNA_1\tc.bw\n").unwrap();
    let e = Targets::from_file(&path).unwrap_err().to_string();
    assert!(e.contains("targets.txt: line 4: duplicate identifier \"RNA_1\" (first on line 2)"), "{e}");
}

#[test]
fn fold_out_of_range_is_clear() {
    let contigs = fasta_contigs();
    let gaps =
        shorkie::formats::bed::read_bed(&data("../../../shared/data/shorkie/R64_assembly_gaps.bed")).unwrap_or_default();
    let segs = folds::fold_segments(&contigs, &gaps, 1000, 50_000);
    let assignment = folds::assign_folds(&segs, 4, 44);
    let e = folds::split(&segs, &assignment, 4, 7).unwrap_err().to_string();
    assert_eq!(e, "fold 7 is out of range: --folds 4 gives folds 0-3");
    let ok = folds::split(&segs, &assignment, 4, 3).unwrap();
    let total: u64 = segs.iter().map(|s| s.len()).sum();
    let split_total: u64 = ok.train.iter().chain(&ok.valid).chain(&ok.test).map(|s| s.len()).sum();
    assert_eq!(total, split_total);
}
