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
use std::path::{Path, PathBuf};

use crossbeam_channel::{bounded, select, unbounded, Receiver, Sender};
use rust_htslib::bcf::{self, Read};

use super::allele::SkipReason;
use super::scorer::{Cluster, Outcome, Planner, Predictor, VariantIn};
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
    unsafe { rust_htslib::htslib::hts_set_log_level(rust_htslib::htslib::htsLogLevel_HTS_LOG_OFF) };
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

fn make_writer(opts: &RunOptions, header: &bcf::Header, path: Option<&Path>) -> Result<bcf::Writer> {
    let (uncompressed, format) = match opts.format {
        OutFormat::Vcf => (true, bcf::Format::Vcf),
        OutFormat::VcfGz => (false, bcf::Format::Vcf),
        OutFormat::Bcf => (false, bcf::Format::Bcf),
    };
    let w = match path {
        Some(p) => bcf::Writer::from_path(p, header, uncompressed, format),
        None => bcf::Writer::from_stdout(header, uncompressed, format),
    };
    w.map_err(|e| Error::Input(format!("{}: cannot write ({e})", path.map(|p| p.display().to_string()).unwrap_or("<stdout>".into()))))
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

pub fn run(opts: RunOptions, planner: Planner, predictor: Predictor) -> Result<Summary> {
    htslib_quiet();
    let source = shown(&opts.input).to_string();
    let mut reader = open_reader(&opts.input)?;
    let mut header = bcf::Header::from_template(reader.header());
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
    let mut writer = if appended {
        // Append records to the kept part; the header is already there.
        let file = std::fs::OpenOptions::new().append(true).open(tmp_path.as_ref().expect("checked"))
            .map_err(|e| Error::io(tmp_path.clone().expect("checked"), e))?;
        drop(file);
        None
    } else {
        Some(make_writer(&opts, &header, tmp_path.as_deref())?)
    };
    // Appending keeps plain text: records are formatted by a header-only writer to memory.
    let mut text_sink: Option<(bcf::Writer, std::fs::File, PathBuf)> = None;
    if appended {
        let scratch = tempfile::NamedTempFile::new().map_err(|e| Error::io("tempfile", e))?;
        let scratch_path = scratch.into_temp_path().keep().map_err(|e| Error::Other(e.to_string()))?;
        let w = bcf::Writer::from_path(&scratch_path, &header, true, bcf::Format::Vcf)
            .map_err(|e| Error::Other(format!("scratch writer: {e}")))?;
        let f = std::fs::OpenOptions::new().append(true).open(tmp_path.as_ref().expect("checked"))
            .map_err(|e| Error::io(tmp_path.clone().expect("checked"), e))?;
        text_sink = Some((w, f, scratch_path));
        summary.resumed = skip_input;
    }

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

    let mut pending: VecDeque<(u64, bcf::Record)> = VecDeque::new();
    let mut done: HashMap<u64, Outcome> = HashMap::new();
    let mut pieces: HashMap<u64, Vec<Outcome>> = HashMap::new();
    let mut job_tx = Some(job_tx);
    let mut next_idx = 0u64;
    let mut input_done = false;
    let mut stash: Option<VariantIn> = None;
    let mut last_pos = String::from("start of input");

    let write_ready = |pending: &mut VecDeque<(u64, bcf::Record)>,
                           done: &mut HashMap<u64, Outcome>,
                           writer: &mut Option<bcf::Writer>,
                           text_sink: &mut Option<(bcf::Writer, std::fs::File, PathBuf)>,
                           summary: &mut Summary|
     -> Result<()> {
        while let Some((idx, _)) = pending.front() {
            let Some(outcome) = done.remove(idx) else { break };
            let (_, mut rec) = pending.pop_front().expect("front exists");
            summary.records += 1;
            summary.alleles_scored += outcome.entries.len() as u64;
            for (_, r) in &outcome.skips {
                *summary.skipped.entry(*r).or_default() += 1;
            }
            if outcome.drop {
                summary.dropped += 1;
                continue;
            }
            let w: &mut bcf::Writer = match (writer.as_mut(), text_sink.as_mut()) {
                (Some(w), _) => w,
                (None, Some((w, _, _))) => w,
                _ => unreachable!("one sink is open"),
            };
            w.translate(&mut rec);
            if !outcome.entries.is_empty() {
                let joined = outcome.entries.join(",");
                rec.push_info_string(KEY.as_bytes(), &[joined.as_bytes()]).map_err(|e| write_err(None, e))?;
            }
            if !outcome.skips.is_empty() {
                let joined: Vec<String> = outcome.skips.iter().map(|(a, r)| format!("{a}|{}", r.as_str())).collect();
                let joined = joined.join(",");
                rec.push_info_string(SKIP_KEY.as_bytes(), &[joined.as_bytes()]).map_err(|e| write_err(None, e))?;
            }
            match text_sink.as_mut() {
                Some((_, file, _)) if writer.is_none() => {
                    use std::io::Write;
                    let line = rec.to_vcf_string().map_err(|e| write_err(None, e))?;
                    file.write_all(line.as_bytes()).map_err(|e| write_err(None, e))?;
                }
                _ => writer.as_mut().expect("writer").write(&rec).map_err(|e| write_err(None, e))?,
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
                            next_idx + skip_input + 1
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
                        let v = VariantIn { idx: next_idx, chrom, pos0: rec.pos(), reference, alts };
                        pending.push_back((next_idx, rec));
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
            write_ready(&mut pending, &mut done, &mut writer, &mut text_sink, &mut summary)?;
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
    if let Err(e) = result {
        // Never leave a half-written output that looks finished; a killed run (which
        // cannot get here) keeps its .partial for --resume.
        drop(writer);
        if let Some(tmp) = &tmp_path {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    drop(writer);
    if let Some((w, _, scratch)) = text_sink {
        drop(w);
        let _ = std::fs::remove_file(scratch);
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
