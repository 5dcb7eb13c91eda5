//! shorkie-pretrain: masked-nucleotide language-model pretraining over several genomes.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use shorkie::train::loop_args::LoopArgs;
use shorkie::train::data::{default_split, read_genome_table, Corpus, CorpusOptions, MaskOptions};
use shorkie::train::lm::LmTask;
use shorkie::train::trainer::{Restore, Trainer};
use shorkie::{Error, Params};

#[derive(Parser, Debug)]
#[command(args_override_self = true, name = "shorkie-pretrain", version, about = "Pretrain a Shorkie masked-nucleotide language model on genomes")]
struct Cli {
    /// Tab-separated: species name, FASTA (plain/gz/bgzip), GTF or -, species index.
    #[arg(long)]
    genomes: PathBuf,
    /// Model and training parameters (baskerville params.json with a 4-base softmax head).
    #[arg(short, long)]
    params: PathBuf,
    /// Run folder: checkpoint/, best.safetensors, model.safetensors, train_log.tsv, train_curves.svg.
    #[arg(short, long)]
    output: PathBuf,
    /// Start from these weights (same architecture).
    #[arg(long)]
    restore: Option<PathBuf>,
    /// Window stride (default: half the window).
    #[arg(long)]
    stride: Option<usize>,
    /// Drop windows with a larger fraction of N.
    #[arg(long, default_value_t = 0.1)]
    max_n_frac: f64,
    /// Validation contigs, comma-separated (default chrXI,chrXIII,chrXV as Shorkie); `none` for none.
    #[arg(long)]
    valid_contigs: Option<String>,
    /// Test contigs (default chrXII,chrXIV,chrXVI); excluded from training.
    #[arg(long)]
    test_contigs: Option<String>,
    /// Species channels (default: largest species index + 1; Shorkie: 165).
    #[arg(long)]
    num_species: Option<usize>,
    /// Fraction of positions masked (default: params train.mask_rate, else 0.15).
    #[arg(long)]
    mask_rate: Option<f64>,
    /// Loss weight of exon positions (default: params train.exon_loss_scale, else 0.1).
    #[arg(long)]
    exon_weight: Option<f32>,
    /// Loss weight of soft-masked repeat positions (default: train.repeat_loss_scale, else 0.1).
    #[arg(long)]
    repeat_weight: Option<f32>,
    #[command(flatten)]
    run: LoopArgs,
    #[command(flatten)]
    common: shorkie::cli::CommonArgs,
}

fn contigs(arg: &Option<String>, default: Vec<String>) -> Vec<String> {
    match arg.as_deref() {
        None => default,
        Some("none") | Some("") => Vec::new(),
        Some(s) => s.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect(),
    }
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-pretrain", || {
        let cli: Cli = shorkie::cli::parse();
        shorkie::cli::set_threads(cli.common.threads);
        let params = Params::from_file(&cli.params)?;
        let train = params.train.clone().unwrap_or_else(|| serde_json::from_str("{}").expect("empty train block"));
        cli.run.check(&train)?;
        shorkie::limits::fraction(cli.max_n_frac, "--max-n-frac")?;
        for (w, what) in [(cli.exon_weight, "--exon-weight"), (cli.repeat_weight, "--repeat-weight")] {
            if let Some(w) = w.filter(|w| !(w.is_finite() && *w >= 0.0)) {
                return Err(Error::Input(format!("{what} {w} must be a number >= 0")));
            }
        }
        let specs = read_genome_table(&cli.genomes)?;
        let num_species = cli.num_species.unwrap_or_else(|| specs.iter().map(|s| s.species).max().unwrap_or(0).saturating_add(1));
        shorkie::limits::at_most(num_species as u64, shorkie::limits::MAX_CHANNELS, "species channels (--num-species, or the genome table's largest species index + 1)")?;
        let (valid_default, test_default) = default_split();
        let seq_len = params.model.seq_length;
        let corpus = Corpus::load(
            &specs,
            &CorpusOptions {
                seq_len,
                stride: cli.stride.unwrap_or(seq_len / 2).max(1),
                max_n_frac: cli.max_n_frac,
                valid_contigs: contigs(&cli.valid_contigs, valid_default),
                test_contigs: contigs(&cli.test_contigs, test_default),
                num_species,
            },
        )?;
        if let Some(n) = params.model.num_features {
            if n != corpus.channels() {
                return Err(Error::Input(format!(
                    "{}: model.num_features is {n}, the genome table gives {} channels (5 + {num_species} species)",
                    cli.params.display(),
                    corpus.channels()
                )));
            }
        }
        let mut err = std::io::stderr();
        if !cli.common.quiet {
            let _ = writeln!(err, "shorkie-pretrain: {}", corpus.describe());
        }
        let mask = MaskOptions {
            rate: cli.mask_rate.or(train.mask_rate).unwrap_or(0.15),
            exon_weight: cli.exon_weight.or(train.exon_loss_scale.map(|v| v as f32)).unwrap_or(0.1),
            repeat_weight: cli.repeat_weight.or(train.repeat_loss_scale.map(|v| v as f32)).unwrap_or(0.1),
            reverse_complement: true,
        };
        let opts = cli.run.options(&train, &cli.output, cli.common.quiet)?;
        if !(0.0..1.0).contains(&mask.rate) || mask.rate == 0.0 {
            return Err(Error::Input(format!("--mask-rate {} must be in (0, 1)", mask.rate)));
        }
        let task = LmTask::new(corpus, mask, cli.run.valid_windows(&train));
        let restore = cli.restore.as_deref().map(|p| (p, Restore::All));
        let mut trainer = Trainer::new(&params, task, opts, cli.run.resume, restore)?;
        let logs = trainer.run()?;
        trainer.finish(&cli.params)?;
        if !cli.common.quiet {
            for l in &logs {
                let _ = writeln!(
                    err,
                    "epoch {:>3} step {:>6}  train {:.4}  valid {:.4}  acc {:.4}  {:.0} tokens/s",
                    l.epoch, l.step, l.train_loss, l.valid[0], l.valid[1], l.per_second
                );
            }
        }
        Ok(())
    })
}
