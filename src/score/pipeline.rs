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

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use crossbeam_channel::{bounded, select, unbounded, Receiver, Sender};
use rust_htslib::bcf::{self, Read};

use super::allele::SkipReason;
use super::resume::Output;
use super::scorer::{Cluster, Outcome, Planner, Predictor, VariantIn};
use super::sink::{self, Bytes, Sink};
use super::source::{Region, Source};
use super::side::{RecordMeta, SideOutputs};
use super::vcf_out::{KEY, SKIP_KEY};
use crate::error::{Error, Result};
use crate::staged::Target;
use crate::stream::Reorder;

pub use super::resume::partial_path;
pub use super::sink::OutFormat;

/// The index `-W` writes beside the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    Csi,
    Tbi,
}

pub struct RunOptions {
    pub input: String,
    /// `None` or `-`: standard output.
    pub output: Option<PathBuf>,
    pub format: OutFormat,
    pub index: Option<IndexKind>,
    pub resume: bool,
    /// `-r/-R`: only records whose POS lies in these regions (needs an indexed input).
    pub regions: Vec<Region>,
    /// Whether records may be left out of the output (`--on-ref-mismatch skip`): a
    /// partial's records then no longer count the input records it covers.
    pub may_drop: bool,
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
    /// Sequence passes per model and orientation: run whole, and substitutions that reused
    /// their reference pass's local tower.
    pub model_passes: u64,
    pub local_reuse_passes: u64,
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

fn worker(predictor: Predictor, windows: Receiver<Cluster>, results: Sender<Msg>, passes: Sender<[u64; 3]>) {
    let mut trimmed = std::time::Instant::now();
    while let Ok(first) = windows.recv() {
        crate::cli::release_freed_memory(&mut trimmed, std::time::Duration::from_secs(2));
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
        let before = predictor.pass_counts();
        let scored = predictor.score(&batch);
        let after = predictor.pass_counts();
        let _ = passes.send([batch.len() as u64, after.0 - before.0, after.1 - before.1]);
        let msg = match scored {
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

/// The first record out of coordinate order, for `-W` (an index needs sorted records).
#[derive(Default)]
struct SortCheck {
    done: HashSet<String>,
    last: Option<(String, i64)>,
}

impl SortCheck {
    fn check(&mut self, source: &str, record_no: u64, chrom: &str, pos0: i64) -> Result<()> {
        let unsorted = |after: String| {
            Error::Input(format!(
                "{source}: record {record_no} ({chrom}:{}) comes after {after}: -W/--write-index needs input sorted by contig and position (bcftools sort), or drop -W",
                pos0 + 1
            ))
        };
        match &self.last {
            Some((c, p)) if c == chrom => {
                if pos0 < *p {
                    return Err(unsorted(format!("{c}:{}", p + 1)));
                }
            }
            Some((c, p)) => {
                if self.done.contains(chrom) {
                    return Err(unsorted(format!("{c}:{} and earlier records on {chrom}", p + 1)));
                }
                self.done.insert(c.clone());
            }
            None => {}
        }
        self.last = Some((chrom.to_string(), pos0));
        Ok(())
    }
}

/// A joined thread's panic as an error.
fn joined(name: &str, r: std::thread::Result<()>) -> Result<()> {
    r.map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Error::Other(format!("the {name} thread failed: {}", crate::error::first_line(&msg)))
    })
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
    let reader = if opts.regions.is_empty() {
        Source::Whole(open_reader(&opts.input)?)
    } else {
        Source::indexed(&opts.input, &opts.regions)?
    };
    let mut header = bcf::Header::from_template(reader.header());
    header.remove_info(KEY.as_bytes());
    header.remove_info(SKIP_KEY.as_bytes());
    for line in &opts.header_lines {
        header.push_record(line.as_bytes());
    }

    let target = match opts.output.as_deref() {
        None => Target::Stdout,
        Some(p) => Target::of(p)?,
    };
    if opts.resume {
        if opts.input == "-" || !Path::new(&opts.input).is_file() {
            return Err(Error::Input("--resume needs the input as a regular file (a stream cannot be checked against the partial output)".into()));
        }
        if opts.may_drop {
            return Err(Error::Input(
                "--resume cannot continue a run with --on-ref-mismatch skip (left-out records leave no trace in the partial output to count)".into(),
            ));
        }
    }
    if opts.index.is_some() {
        if !matches!(opts.format, OutFormat::VcfGz(_) | OutFormat::Bcf(_)) {
            return Err(Error::Input(format!("-W/--write-index needs -O z or -O b (BGZF output), not {}", opts.format.name())));
        }
        if !matches!(target, Target::Regular(_)) {
            return Err(Error::Input(format!("-W/--write-index needs -o FILE (a regular file), not {}", target.shown())));
        }
    }
    let header_bytes = sink::header_bytes(opts.format, &header)?;
    let mut out = Output::open(target, opts.format, &header_bytes, opts.resume)?;
    // The full matrix (--scores-out) continues with the VCF: both must hold the same records.
    let mut side = std::mem::take(&mut opts.side);
    let held = side.open(!out.fresh, out.records)?;
    if held < out.records {
        // The killed run's VCF got further than its matrix: both continue from the matrix.
        if let Err(e) = out.keep_records(held, opts.format, &header_bytes) {
            side.abort();
            return Err(e);
        }
    }
    match run_into(&opts, &source, reader, &header, &header_bytes, &mut out, &mut side, planner, predictor) {
        Ok(summary) => Ok(summary),
        Err(e) => {
            // Never leave a half-written output that looks finished; a killed run (which
            // cannot get here) keeps its .partial for --resume.
            out.discard();
            std::mem::take(&mut side).abort();
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run_into(
    opts: &RunOptions,
    source: &str,
    mut reader: Source,
    header: &bcf::Header,
    header_bytes: &[u8],
    out: &mut Output,
    side: &mut SideOutputs,
    planner: Planner,
    predictor: Predictor,
) -> Result<Summary> {
    let shown = out.target.shown();
    let file = out.file.try_clone().map_err(|e| Error::io(&shown, e))?;
    let bytes = Bytes::new(opts.format, file, std::mem::take(&mut out.pending));
    let mut sink = Sink::new(opts.format, header, bytes, header_bytes, (!out.fresh).then_some(out.records), shown.clone())?;
    let mut summary = Summary::default();
    let mut skip_input = out.records;
    summary.resumed = skip_input;
    let mut sorted = opts.index.map(|_| SortCheck::default());

    let cap = (opts.batch_size * 4).max(16);
    let (job_tx, job_rx) = bounded::<VariantIn>(cap);
    let (win_tx, win_rx) = bounded::<Cluster>(4);
    let (res_tx, res_rx) = unbounded::<Msg>();
    let (pass_tx, pass_rx) = unbounded::<[u64; 3]>();
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
    let mut done: Reorder<Outcome> = Reorder::new(0);
    let mut pieces: HashMap<u64, Vec<Outcome>> = HashMap::new();
    let mut job_tx = Some(job_tx);
    let mut next_idx = 0u64;
    let mut input_done = false;
    let mut stash: Option<VariantIn> = None;
    let mut last_pos = String::from("start of input");

    let write_ready = |pending: &mut VecDeque<(u64, bcf::Record, String)>,
                       done: &mut Reorder<Outcome>,
                       sink: &mut Sink,
                       summary: &mut Summary,
                       sorted: &mut Option<SortCheck>,
                       side: &mut SideOutputs|
     -> Result<()> {
        while let Some((idx, outcome)) = done.pop() {
            let (read_idx, mut rec, chrom) =
                pending.pop_front().ok_or_else(|| Error::Other(format!("record {idx} was scored but never read")))?;
            if read_idx != idx {
                return Err(Error::Other(format!("record {idx} was scored where {read_idx} was due")));
            }
            summary.records += 1;
            summary.alleles_scored += outcome.entries.len() as u64;
            for (_, r) in &outcome.skips {
                *summary.skipped.entry(*r).or_default() += 1;
            }
            if outcome.drop {
                summary.dropped += 1;
                continue;
            }
            if let Some(check) = sorted.as_mut() {
                check.check(source, summary.resumed + idx + 1, &chrom, rec.pos())?;
            }
            sink.write(&mut rec, &outcome, source, summary.resumed + idx + 1, &chrom)?;
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
            write_ready(&mut pending, &mut done, &mut sink, &mut summary, &mut sorted, side)?;
            if let Some(bar) = &progress {
                bar.set_message(format!("{} alleles scored, {} skipped", summary.alleles_scored, summary.skipped.values().sum::<u64>()));
            }
        }
    })();
    drop(job_tx);
    drop(res_rx);
    let threads = joined("batcher", batcher_h.join()).and(joined("model worker", worker_h.join()));
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    for [clusters, whole, reused] in pass_rx.try_iter() {
        summary.reference_passes += clusters;
        summary.model_passes += whole;
        summary.local_reuse_passes += reused;
    }
    // A thread that died says why; "the threads stopped early" alone would not.
    threads.and(result)?;
    let file = sink.finish()?;
    std::mem::take(side).finish()?;
    let Target::Regular(dest) = &out.target else {
        return Ok(summary);
    };
    let partial = out.partial.clone().ok_or_else(|| Error::Other("no partial output to rename".into()))?;
    file.sync_all().map_err(|e| Error::io(&shown, e))?;
    drop(file);
    // The index is built on the partial and both are renamed only when both are complete.
    let index = opts.index.map(|kind| {
        let ext = match kind {
            IndexKind::Csi => "csi",
            IndexKind::Tbi => "tbi",
        };
        let mut staged = partial.clone().into_os_string();
        staged.push(format!(".{ext}"));
        let mut fin = dest.clone().into_os_string();
        fin.push(format!(".{ext}"));
        (kind, PathBuf::from(staged), PathBuf::from(fin))
    });
    if let Some((kind, staged, _)) = &index {
        let t = match kind {
            IndexKind::Csi => bcf::index::Type::Csi(14),
            IndexKind::Tbi => bcf::index::Type::Tbx,
        };
        if bcf::index::build(&partial, Some(staged), 1, t).is_err() {
            let _ = std::fs::remove_file(staged);
            return Err(Error::Other(format!("{}: htslib could not index the output", dest.display())));
        }
    }
    crate::staged::Target::of(dest)?;
    if let Some((_, staged, fin)) = &index {
        if let Err(e) = std::fs::rename(staged, fin) {
            let _ = std::fs::remove_file(staged);
            return Err(Error::io(fin, e));
        }
    }
    std::fs::rename(&partial, dest).map_err(|e| Error::io(dest, e))?;
    out.partial = None;
    crate::staged::sync_dir(dest);
    Ok(summary)
}

/// Files outcomes; a record scored in several pieces (gene mode) is complete when all
/// its pieces are in, and its entries are joined in piece order.
fn handle(msg: Option<Msg>, done: &mut Reorder<Outcome>, pieces: &mut HashMap<u64, Vec<Outcome>>) -> Result<()> {
    match msg {
        Some(Msg::Outcomes(list)) => {
            for o in list {
                if o.parts <= 1 {
                    done.insert(o.idx, o)?;
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
                    done.insert(idx, merged)?;
                }
            }
            Ok(())
        }
        Some(Msg::Failed(e)) => Err(e),
        None => Err(Error::Other("the scoring threads stopped early".into())),
    }
}
