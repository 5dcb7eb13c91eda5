//! shorkie-train: fine-tune (or train from scratch) a SeqNN on BigWig coverage tracks.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use shorkie::coverage::blacklist::{Blacklist, BLACKLIST_BUFFER};
use shorkie::coverage::folds;
use shorkie::train::loop_args::LoopArgs;
use shorkie::train::supervised::{shift_choices, CoverageData, CoverageTask, Geometry};
use shorkie::train::trainer::{Restore, Trainer};
use shorkie::formats::targets::Targets;
use shorkie::{Error, Params, SeqNN};

#[derive(Parser, Debug)]
#[command(args_override_self = true, name = "shorkie-train", version, about = "Train a Shorkie/SeqNN model on BigWig coverage (baskerville targets sheet)")]
struct Cli {
    /// baskerville targets sheet: identifier, file (BigWig), sum_stat, clip, clip_soft, scale, strand_pair, ...
    #[arg(long)]
    targets: PathBuf,
    /// Genome FASTA (plain, gzip or bgzip).
    #[arg(long)]
    fasta: PathBuf,
    /// Model and training parameters (baskerville params.json).
    #[arg(short, long)]
    params: PathBuf,
    /// Start from this pretrained model's trunk (e.g. a language model); heads start fresh.
    #[arg(long)]
    restore: Option<PathBuf>,
    /// Test fold; fold K+1 (mod --folds) validates, the rest train.
    #[arg(long, default_value_t = 0)]
    fold: usize,
    #[arg(long, default_value_t = 8)]
    folds: usize,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 44)]
    fold_seed: u64,
    /// Assembly gaps (BED): contigs are split there before folds are drawn.
    #[arg(long)]
    gaps: Option<PathBuf>,
    /// Break segments longer than this (bp) before folds are drawn.
    #[arg(long, default_value_t = folds::BREAK_T)]
    max_length: u64,
    /// Blacklisted regions (BED): their coverage is set to the window's baseline.
    #[arg(long)]
    blacklist: Option<PathBuf>,
    /// Unmappable regions (BED): windows with at least --umap-t of their bins unmappable
    /// are dropped, as hound_data.py does.
    #[arg(long)]
    umap: Option<PathBuf>,
    #[arg(long, default_value_t = shorkie::coverage::UMAP_T)]
    umap_t: f64,
    /// Clip targets in unmappable bins to this quantile of their window's track (1: off).
    #[arg(long, default_value_t = shorkie::coverage::UMAP_CLIP)]
    umap_clip: f64,
    /// Training window stride (default: half the window); held-out windows do not overlap.
    #[arg(long)]
    stride: Option<u64>,
    /// Drop windows with a larger fraction of N.
    #[arg(long, default_value_t = 0.1)]
    max_n_frac: f64,
    /// Species channel of the genome (models with species channels).
    #[arg(long)]
    species_index: Option<usize>,
    /// Run folder: checkpoint/, best.safetensors, model.safetensors, sequences.bed, train_log.tsv, train_curves.svg.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    run: LoopArgs,
    #[command(flatten)]
    common: shorkie::cli::CommonArgs,
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-train", || {
        let cli: Cli = shorkie::cli::parse();
        shorkie::cli::set_threads(cli.common.threads);
        let params = Params::from_file(&cli.params)?;
        let train = params.train.clone().unwrap_or_else(|| serde_json::from_str("{}").expect("empty train block"));
        match train.loss.as_deref() {
            None | Some("poisson_mn") => {}
            Some(other) => {
                return Err(Error::Input(format!(
                    "{}: train.loss \"{other}\" is not supported (shorkie-train uses poisson_mn)",
                    cli.params.display()
                )))
            }
        }
        cli.run.check(&train)?;
        shorkie::limits::fraction(cli.max_n_frac, "--max-n-frac")?;
        if !(3..=1000).contains(&cli.folds) {
            return Err(Error::Input(format!(
                "--folds {} must be between 3 and 1000 (fold K tests, fold K+1 validates, the rest train)",
                cli.folds
            )));
        }
        if cli.fold >= cli.folds {
            return Err(Error::Input(format!(
                "--fold {} is out of range: --folds {} gives folds 0-{}",
                cli.fold,
                cli.folds,
                cli.folds - 1
            )));
        }
        let targets = Targets::from_file(&cli.targets)?;
        let channels = params.model.num_features.unwrap_or(4);
        let (probe, _) = SeqNN::fresh(&params, channels, &candle_core::Device::Cpu)?;
        let geometry = Geometry::of(&probe, &targets, cli.species_index)?;
        drop(probe);
        let blacklist = match &cli.blacklist {
            Some(p) => Blacklist::from_bed(p, BLACKLIST_BUFFER)?,
            None => Blacklist::default(),
        };
        let unmap = match &cli.umap {
            Some(p) => Blacklist::from_bed(p, 0)?,
            None => Blacklist::default(),
        };
        if !(0.0..=1.0).contains(&cli.umap_clip) || !(0.0..=1.0).contains(&cli.umap_t) {
            return Err(Error::Input(format!("--umap-t {} and --umap-clip {} must be in [0, 1]", cli.umap_t, cli.umap_clip)));
        }
        let data = CoverageData::load(&cli.fasta, targets, blacklist, geometry.clone())?.with_unmappable(unmap, cli.umap_clip);
        let gaps = match &cli.gaps {
            Some(p) => shorkie::formats::bed::read_bed(p)?,
            None => Vec::new(),
        };
        let segments = folds::fold_segments(data.contig_sizes(), &gaps, geometry.seq_len as u64, cli.max_length);
        let assignment = folds::assign_folds(&segments, cli.folds, cli.fold_seed);
        let split = folds::split(&segments, &assignment, cli.folds, cli.fold)?;
        let seq_len = geometry.seq_len as u64;
        let keep = |w: &folds::Segment| data.n_fraction(w) <= cli.max_n_frac && data.unmappable_fraction(w) < cli.umap_t;
        let train_w: Vec<_> = folds::tile(&split.train, seq_len, cli.stride.unwrap_or(seq_len / 2).max(1)).into_iter().filter(keep).collect();
        let valid_w: Vec<_> = folds::tile(&split.valid, seq_len, seq_len).into_iter().filter(keep).collect();
        let test_w: Vec<_> = folds::tile(&split.test, seq_len, seq_len).into_iter().filter(keep).collect();
        data.check_windows_have_data(&valid_w, "valid")?;
        data.check_windows_have_data(&test_w, "test")?;
        // The run's directory holds sequences.bed and resumable checkpoints from here on.
        shorkie::io::prepare_output_dir(&cli.output)?.keep();
        let mut bed = String::new();
        for (label, ws) in [("train", &train_w), ("valid", &valid_w), ("test", &test_w)] {
            for w in ws.iter() {
                bed += &format!("{}\t{}\t{}\t{label}\n", w.contig, w.start, w.end);
            }
        }
        shorkie::io::write_atomic(&cli.output.join("sequences.bed"), bed.as_bytes())?;
        let mut err = std::io::stderr();
        if !cli.common.quiet {
            let _ = writeln!(
                err,
                "shorkie-train: {} segments in {} folds (test {}, valid {}); {} train / {} valid / {} test windows of {} bp; {} tracks at {} bp",
                segments.len(),
                cli.folds,
                cli.fold,
                (cli.fold + 1) % cli.folds,
                train_w.len(),
                valid_w.len(),
                test_w.len(),
                seq_len,
                data.targets.rows.len(),
                geometry.pool_width
            );
        }
        let mut task = CoverageTask::new(data, train_w, valid_w, cli.run.valid_windows(&train))?;
        task.augment_rc = params.model.augment_rc;
        task.shifts = shift_choices(&params.model.augment_shift);
        task.total_weight = train.total_weight.unwrap_or(1.0);
        let opts = cli.run.options(&train, &cli.output, cli.common.quiet)?;
        let restore = cli.restore.as_deref().map(|p| (p, Restore::Trunk));
        let mut trainer = Trainer::new(&params, task, opts, cli.run.resume, restore)?;
        let logs = trainer.run()?;
        trainer.finish(&cli.params)?;
        if !cli.common.quiet {
            for l in &logs {
                let _ = writeln!(
                    err,
                    "epoch {:>3} step {:>6}  train {:.4}  valid {:.4}  pearson_r {:.4}  {:.1} sequences/s",
                    l.epoch, l.step, l.train_loss, l.valid[0], l.valid[1], l.per_second
                );
            }
        }
        Ok(())
    })
}
