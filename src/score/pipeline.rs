//! The streaming shape of `shorkie-score`:
//!
//! ```text
//! reader (main thread) --bounded--> batcher thread --bounded--> model worker thread
//!        ^                          (FASTA windows,             (ensemble passes,
//!        |                           clustering)                 statistics)
//!        +-- order-restoring writer (main thread) <-- outcomes --+
//! ```
//!
//! htslib records are tied to their header and stay on the main thread, which reads
//! and writes; only plain variant data crosses threads. Records wait in a queue until
//! their outcome arrives, so memory is bounded by the channel capacities, not the input.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};

use crossbeam_channel::{bounded, select, unbounded, Receiver, Sender};
use rust_htslib::bcf::{self, Read};

use super::allele::SkipReason;
use super::scorer::{Cluster, Outcome, Planner, Predictor, VariantIn};
use super::side::{RecordMeta, SideOutputs};
use super::vcf_out::{KEY, SKIP_KEY};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Vcf,
    VcfGz,
    Bcf,
}

pub struct RunOptions {
    pub input: String,
    pub output: Option<PathBuf>,
    pub format: OutFormat,
    pub write_index: bool,
    pub resume: bool,
    pub header_lines: Vec<String>,
    pub progress: bool,
    pub batch_size: usize,
    /// The full matrix beside the VCF (`--scores-out`).
    pub side: SideOutputs,
}

#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub records: u64,
    pub alleles_scored: u64,
    pub skipped: HashMap<SkipReason, u64>,
    pub dropped: u64,
    pub resumed: u64,
    pub reference_passes: u64,
}

enum Msg {
    Outcomes(Vec<Outcome>),
    Failed(Error),
}

fn batcher(mut planner: Planner, jobs: Receiver<VariantIn>, windows: Sender<Cluster>, results: Sender<Msg>) {
    let step = |r: Result<(Vec<Outcome>, Vec<Cluster>)>| -> bool {
        match r {
            Ok((outcomes, clusters)) => {
                if !outcomes.is_empty() && results.send(Msg::Outcomes(outcomes)).is_err() {
                    return false;
                }
                clusters.into_iter().all(|c| windows.send(c).is_ok())
            }
            Err(e) => {
                let _ = results.send(Msg::Failed(e));
                false
            }
        }
    };
    for v in jobs.iter() {
        if !step(planner.add(v)) {
            return;
        }
    }
    step(planner.finish());
}

fn worker(predictor: Predictor, windows: Receiver<Cluster>, results: Sender<Msg>, passes: Sender<u64>) {
    while let Ok(first) = windows.recv() {
        // Batch across clusters: take what is already waiting, up to about a batch.
        let mut batch = vec![first];
        let mut alleles: usize = batch[0].members.iter().map(|m| m.alts.len() + 1).sum();
        while alleles < predictor.batch_size {
            match windows.try_recv() {
                Ok(c) => {
                    alleles += c.members.iter().map(|m| m.alts.len() + 1).sum::<usize>();
                    batch.push(c);
                }
                Err(_) => break,
            }
        }
        let _ = passes.send(batch.len() as u64);
        let msg = match predictor.score(&batch) {
            Ok(o) => Msg::Outcomes(o),
            Err(e) => Msg::Failed(e),
        };
        let failed = matches!(msg, Msg::Failed(_));
        if results.send(msg).is_err() || failed {
            return;
        }
    }
}

fn htslib_quiet() {
    // htslib prints its own diagnostics; ours name the file and record instead.
    // SHORKIE_HTSLIB_LOG=1 keeps them for debugging.
    if std::env::var_os("SHORKIE_HTSLIB_LOG").is_none() {
        unsafe { rust_htslib::htslib::hts_set_log_level(rust_htslib::htslib::htsLogLevel_HTS_LOG_OFF) };
    }
}

fn open_reader(input: &str) -> Result<bcf::Reader> {
    let r = if input == "-" {
        bcf::Reader::from_stdin()
    } else {
        if !Path::new(input).exists() {
            return Err(Error::io(input, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
        bcf::Reader::from_path(input)
    };
    let reader = r.map_err(|_| Error::Input(format!("{}: not a readable VCF/BCF (empty, or not VCF/BCF data)", shown(input))))?;
    // rust-htslib does not check that a header was read; a truncated or header-less
    // file would crash at the first record.
    if unsafe { reader.header().as_ptr().is_null() } {
        std::mem::forget(reader);
        return Err(Error::Input(format!("{}: no readable VCF/BCF header (truncated or not VCF?)", shown(input))));
    }
    Ok(reader)
}

fn shown(input: &str) -> &str {
    if input == "-" {
        "<stdin>"
    } else {
        input
    }
}

/// The partial output a killed `-o FILE` run leaves behind.
pub fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

/// Where annotated records go. VCF output is written as text from each record's own
/// header (so contigs that htslib learns mid-stream, in files without `##contig` lines,
/// still print); BCF needs every contig declared up front.
enum Sink {
    Text(Box<dyn Write>),
    Bcf(bcf::Writer),
}

/// The header text htslib would write for `header` (a plain-VCF writer into a scratch file).
fn header_text(header: &bcf::Header) -> Result<Vec<u8>> {
    let scratch = tempfile::NamedTempFile::new().map_err(|e| Error::io("temporary file", e))?;
    {
        let _w = bcf::Writer::from_path(scratch.path(), header, true, bcf::Format::Vcf)
            .map_err(|e| Error::Other(format!("cannot format the VCF header ({e})")))?;
    }
    std::fs::read(scratch.path()).map_err(|e| Error::io(scratch.path(), e))
}

fn open_sink(opts: &RunOptions, header: &bcf::Header, path: Option<&Path>, append: bool) -> Result<Sink> {
    let shown_path = path.map(|p| p.display().to_string()).unwrap_or("<stdout>".into());
    let fail = |e: &dyn std::fmt::Display| Error::Input(format!("{shown_path}: cannot write ({e})"));
    if opts.format == OutFormat::Bcf {
        let w = match path {
            Some(p) => bcf::Writer::from_path(p, header, false, bcf::Format::Bcf),
            None => bcf::Writer::from_stdout(header, false, bcf::Format::Bcf),
        };
        return w.map(Sink::Bcf).map_err(|e| fail(&e));
    }
    let mut out: Box<dyn Write> = match (opts.format, path) {
        (OutFormat::VcfGz, Some(p)) => Box::new(rust_htslib::bgzf::Writer::from_path(p).map_err(|e| fail(&e))?),
        (OutFormat::VcfGz, None) => Box::new(rust_htslib::bgzf::Writer::from_stdout().map_err(|e| fail(&e))?),
        (_, Some(p)) => {
            let f = std::fs::OpenOptions::new().create(true).write(true).append(append).truncate(!append).open(p).map_err(|e| Error::io(p, e))?;
            Box::new(std::io::BufWriter::new(f))
        }
        (_, None) => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    if !append {
        out.write_all(&header_text(header)?).map_err(|e| write_err(path, e))?;
    }
    Ok(Sink::Text(out))
}

impl Sink {
    fn write(&mut self, rec: &mut bcf::Record, outcome: &Outcome, source: &str, record_no: u64, chrom: &str) -> Result<()> {
        let entries = (!outcome.entries.is_empty()).then(|| outcome.entries.join(","));
        let skips = (!outcome.skips.is_empty()).then(|| {
            outcome.skips.iter().map(|(a, r)| format!("{a}|{}", r.as_str())).collect::<Vec<_>>().join(",")
        });
        match self {
            Sink::Bcf(w) => {
                if w.header().name2rid(chrom.as_bytes()).is_err() {
                    return Err(Error::Input(format!(
                        "{source}: record {record_no}: contig {chrom} is not declared in the VCF header; BCF output needs ##contig lines (use -O v or -O z, or bcftools reheader)"
                    )));
                }
                w.translate(rec);
                // Earlier scores of ours are replaced, never doubled.
                for key in [KEY, SKIP_KEY] {
                    rec.clear_info_string(key.as_bytes()).map_err(|e| write_err(None, e))?;
                }
                if let Some(e) = &entries {
                    rec.push_info_string(KEY.as_bytes(), &[e.as_bytes()]).map_err(|e| write_err(None, e))?;
                }
                if let Some(s) = &skips {
                    rec.push_info_string(SKIP_KEY.as_bytes(), &[s.as_bytes()]).map_err(|e| write_err(None, e))?;
                }
                w.write(rec).map_err(|e| write_err(None, e))
            }
            Sink::Text(out) => {
                let line = rec.to_vcf_string().map_err(|e| Error::Other(format!("{source}: record {record_no}: cannot format ({e})")))?;
                let line = line.trim_end_matches('\n');
                let mut fields: Vec<&str> = line.splitn(9, '\t').collect();
                // Earlier scores of ours are replaced, never doubled.
                let kept: Vec<&str> = fields
                    .get(7)
                    .copied()
                    .unwrap_or(".")
                    .split(';')
                    .filter(|kv| *kv != "." && !kv.is_empty())
                    .filter(|kv| {
                        let key = kv.split('=').next().unwrap_or("");
                        key != KEY && key != SKIP_KEY
                    })
                    .collect();
                let mut info: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
                if let Some(e) = entries {
                    info.push(format!("{KEY}={e}"));
                }
                if let Some(s) = skips {
                    info.push(format!("{SKIP_KEY}={s}"));
                }
                let info = if info.is_empty() { ".".to_string() } else { info.join(";") };
                if fields.len() >= 8 {
                    fields[7] = &info;
                }
                let mut text = fields.join("\t");
                text.push('\n');
                out.write_all(text.as_bytes()).map_err(|e| write_err(None, e))
            }
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Text(mut out) => out.flush().map_err(|e| write_err(None, e)),
            Sink::Bcf(w) => {
                drop(w);
                Ok(())
            }
        }
    }
}

fn write_err(path: Option<&Path>, e: impl std::fmt::Display) -> Error {
    let where_ = path.map(|p| p.display().to_string()).unwrap_or("<stdout>".into());
    if e.to_string().to_lowercase().contains("broken pipe") {
        return Error::io(where_, std::io::Error::from(std::io::ErrorKind::BrokenPipe));
    }
    Error::Input(format!("{where_}: write failed ({e})"))
}

/// Records already written by an earlier run into `partial` (plain VCF only): the file
/// is cut back to its last complete line and its records counted.
fn resume_count(partial: &Path) -> Result<u64> {
    let mut bytes = std::fs::read(partial).map_err(|e| Error::io(partial, e))?;
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    bytes.truncate(keep);
    std::fs::write(partial, &bytes).map_err(|e| Error::io(partial, e))?;
    Ok(bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty() && l[0] != b'#').count() as u64)
}

/// Cuts `partial` (plain VCF) back to its header and first `records` records, when side
/// outputs hold fewer records than it.
fn cut_records(partial: &Path, records: u64) -> Result<()> {
    let bytes = std::fs::read(partial).map_err(|e| Error::io(partial, e))?;
    let mut seen = 0u64;
    let mut keep = 0usize;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if !line.starts_with(b"#") {
            if seen == records {
                break;
            }
            seen += 1;
        }
        keep += line.len();
    }
    std::fs::write(partial, &bytes[..keep]).map_err(|e| Error::io(partial, e))
}

/// The side outputs' view of a record about to be written.
fn record_meta<'a>(rec: &bcf::Record, chrom: &'a str, id: &'a mut String, reference: &'a mut String) -> RecordMeta<'a> {
    *id = String::from_utf8_lossy(&rec.id()).into_owned();
    *reference = rec.alleles().first().map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
    RecordMeta { chrom, pos: (rec.pos() + 1).max(0) as u64, id, reference }
}

pub fn run(mut opts: RunOptions, planner: Planner, predictor: Predictor) -> Result<Summary> {
    htslib_quiet();
    let source = shown(&opts.input).to_string();
    let mut reader = open_reader(&opts.input)?;
    let mut header = bcf::Header::from_template(reader.header());
    header.remove_info(KEY.as_bytes());
    header.remove_info(SKIP_KEY.as_bytes());
    for line in &opts.header_lines {
        header.push_record(line.as_bytes());
    }

    let mut summary = Summary::default();
    let mut skip_input = 0u64;
    let out_path = opts.output.clone();
    let tmp_path = out_path.as_deref().map(partial_path);
    let mut appended = false;
    if opts.resume {
        let (Some(tmp), Some(_)) = (&tmp_path, &out_path) else {
            return Err(Error::Input("--resume needs -o FILE".into()));
        };
        if opts.format != OutFormat::Vcf {
            return Err(Error::Input("--resume works with -O v output".into()));
        }
        if tmp.exists() {
            skip_input = resume_count(tmp)?;
            appended = true;
        }
    }
    let mut side = std::mem::take(&mut opts.side);
    let held = side.open(appended, skip_input)?;
    if appended && held < skip_input {
        if let Some(tmp) = &tmp_path {
            cut_records(tmp, held)?;
        }
        skip_input = held;
    }
    let mut sink = match open_sink(&opts, &header, tmp_path.as_deref(), appended) {
        Ok(s) => s,
        Err(e) => {
            side.abort();
            return Err(e);
        }
    };
    summary.resumed = skip_input;

    let cap = (opts.batch_size * 4).max(16);
    let (job_tx, job_rx) = bounded::<VariantIn>(cap);
    let (win_tx, win_rx) = bounded::<Cluster>(4);
    let (res_tx, res_rx) = unbounded::<Msg>();
    let (pass_tx, pass_rx) = unbounded::<u64>();
    let res_tx2 = res_tx.clone();
    let batcher_h = std::thread::spawn(move || batcher(planner, job_rx, win_tx, res_tx2));
    let worker_h = std::thread::spawn(move || worker(predictor, win_rx, res_tx, pass_tx));

    let progress = if opts.progress {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {pos} records ({per_sec}) {msg}")
                .expect("valid template"),
        );
        Some(bar)
    } else {
        None
    };

    let mut pending: VecDeque<(u64, bcf::Record, String)> = VecDeque::new();
    let mut done: HashMap<u64, Outcome> = HashMap::new();
    let mut pieces: HashMap<u64, Vec<Outcome>> = HashMap::new();
    let mut job_tx = Some(job_tx);
    let mut next_idx = 0u64;
    let mut input_done = false;
    let mut stash: Option<VariantIn> = None;
    let mut last_pos = String::from("start of input");

    let write_ready = |pending: &mut VecDeque<(u64, bcf::Record, String)>,
                       done: &mut HashMap<u64, Outcome>,
                       sink: &mut Sink,
                       side: &mut SideOutputs,
                       summary: &mut Summary|
     -> Result<()> {
        while let Some((idx, _, _)) = pending.front() {
            let Some(outcome) = done.remove(idx) else { break };
            let (idx, mut rec, chrom) = pending.pop_front().expect("front exists");
            summary.records += 1;
            summary.alleles_scored += outcome.entries.len() as u64;
            for (_, r) in &outcome.skips {
                *summary.skipped.entry(*r).or_default() += 1;
            }
            if outcome.drop {
                summary.dropped += 1;
                continue;
            }
            sink.write(&mut rec, &outcome, &source, idx + 1, &chrom)?;
            if !side.is_empty() {
                let (mut id, mut reference) = (String::new(), String::new());
                side.record(&record_meta(&rec, &chrom, &mut id, &mut reference), &outcome.matrix)?;
            }
        }
        Ok(())
    };

    let result: Result<()> = (|| {
        loop {
            if stash.is_none() && !input_done {
                let mut rec = reader.empty_record();
                match reader.read(&mut rec) {
                    None => {
                        input_done = true;
                        job_tx = None;
                    }
                    Some(Err(e)) => {
                        return Err(Error::Input(format!(
                            "{source}: record {} (after {last_pos}): cannot parse ({e}); check that the file is complete and every line has valid CHROM, POS, REF and ALT",
                            // Records before this one: those kept from the partial output
                            // and already passed, plus those read for scoring.
                            summary.resumed - skip_input + next_idx + 1
                        )))
                    }
                    Some(Ok(())) => {
                        let chrom = rec
                            .rid()
                            .and_then(|rid| reader.header().rid2name(rid).ok())
                            .map(|n| String::from_utf8_lossy(n).to_string())
                            .ok_or_else(|| Error::Input(format!("{source}: record {}: no CHROM", next_idx + 1)))?;
                        let alleles = rec.alleles();
                        let reference = alleles.first().map(|a| String::from_utf8_lossy(a).to_string()).unwrap_or_default();
                        let alts: Vec<String> = if alleles.len() > 1 {
                            alleles[1..].iter().map(|a| String::from_utf8_lossy(a).to_string()).collect()
                        } else {
                            vec![".".to_string()]
                        };
                        last_pos = format!("{chrom}:{}", rec.pos() + 1);
                        if skip_input > 0 {
                            skip_input -= 1;
                            continue;
                        }
                        let v = VariantIn { idx: next_idx, chrom: chrom.clone(), pos0: rec.pos(), reference, alts };
                        pending.push_back((next_idx, rec, chrom));
                        next_idx += 1;
                        if let Some(bar) = &progress {
                            bar.set_position(next_idx);
                        }
                        stash = Some(v);
                    }
                }
            }
            if input_done && pending.is_empty() {
                return Ok(());
            }
            // Hand the next record over, or take outcomes back, whichever can go first.
            match (&job_tx, stash.take()) {
                (Some(tx), Some(v)) => {
                    select! {
                        send(tx, v.clone()) -> r => {
                            if r.is_err() { return Err(Error::Other("the batcher stopped".into())); }
                        },
                        recv(res_rx) -> msg => {
                            stash = Some(v);
                            handle(msg.ok(), &mut done, &mut pieces)?;
                        },
                    }
                }
                (_, v) => {
                    stash = v;
                    let msg = res_rx.recv().ok();
                    handle(msg, &mut done, &mut pieces)?;
                }
            }
            write_ready(&mut pending, &mut done, &mut sink, &mut side, &mut summary)?;
            if let Some(bar) = &progress {
                bar.set_message(format!("{} alleles scored, {} skipped", summary.alleles_scored, summary.skipped.values().sum::<u64>()));
            }
        }
    })();
    drop(job_tx);
    drop(res_rx);
    let _ = batcher_h.join();
    let _ = worker_h.join();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    summary.reference_passes = pass_rx.try_iter().sum();
    let result = result.and_then(|()| sink.finish());
    let result = match result {
        Ok(()) => std::mem::take(&mut side).finish(),
        Err(e) => {
            std::mem::take(&mut side).abort();
            Err(e)
        }
    };
    if let Err(e) = result {
        // Never leave a half-written output that looks finished; a killed run (which
        // cannot get here) keeps its .partial for --resume.
        if let Some(tmp) = &tmp_path {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    if let (Some(out), Some(tmp)) = (&out_path, &tmp_path) {
        std::fs::rename(tmp, out).map_err(|e| Error::io(out, e))?;
        if opts.write_index {
            if opts.format == OutFormat::Vcf {
                return Err(Error::Input("--write-index needs -O z or -O b".into()));
            }
            let tbx = opts.format == OutFormat::VcfGz;
            bcf::index::build(out, None::<&PathBuf>, 1, if tbx { bcf::index::Type::Tbx } else { bcf::index::Type::Csi(14) })
                .map_err(|e| Error::Input(format!("{}: cannot index ({e})", out.display())))?;
        }
    }
    Ok(summary)
}

/// Files outcomes; a record scored in several pieces (gene mode) is complete when all
/// its pieces are in, and its entries are joined in piece order.
fn handle(msg: Option<Msg>, done: &mut HashMap<u64, Outcome>, pieces: &mut HashMap<u64, Vec<Outcome>>) -> Result<()> {
    match msg {
        Some(Msg::Outcomes(list)) => {
            for o in list {
                if o.parts <= 1 {
                    done.insert(o.idx, o);
                    continue;
                }
                let idx = o.idx;
                let parts = o.parts as usize;
                let got = pieces.entry(idx).or_default();
                got.push(o);
                if got.len() == parts {
                    let mut got = pieces.remove(&idx).expect("present");
                    got.sort_by_key(|p| p.part);
                    let mut merged = Outcome { idx, parts: 1, ..Default::default() };
                    for p in got {
                        merged.entries.extend(p.entries);
                        merged.matrix.extend(p.matrix);
                        for s in p.skips {
                            if !merged.skips.contains(&s) {
                                merged.skips.push(s);
                            }
                        }
                        merged.drop |= p.drop;
                    }
                    done.insert(idx, merged);
                }
            }
            Ok(())
        }
        Some(Msg::Failed(e)) => Err(e),
        None => Err(Error::Other("the scoring threads stopped early".into())),
    }
}
