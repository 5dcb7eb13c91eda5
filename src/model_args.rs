//! The command-line options every model-running binary shares (weights, params, targets
//! sheet, species, device, test-time augmentation, track choice) and what they load into.
//! shorkie-score, shorkie-predict and shorkie-ism flatten these so the flags agree.

use std::path::PathBuf;

use candle_core::Device;

use crate::device::parse_device;
use crate::error::{Error, Result};
use crate::score::encode::InputLayout;
use crate::score::tracks::{select, Column, TrackQuery};
use crate::formats::targets::Targets;
use crate::{Params, SeqNN};

#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model weights (safetensors from shorkie-convert, shorkie-pretrain or shorkie-train);
    /// repeat for fold ensembles. Without --model, the embedded default language model is used.
    #[arg(short, long = "model")]
    pub models: Vec<PathBuf>,
    /// The models' params.json (required with --model).
    #[arg(short, long)]
    pub params: Option<PathBuf>,
    /// Targets sheet (track names, groups, strand pairs, output transforms).
    #[arg(short, long)]
    pub targets: Option<PathBuf>,
    /// Species channel for multi-species models (Shorkie: 109 = S. cerevisiae R64, the default).
    #[arg(long)]
    pub species_index: Option<usize>,
    #[arg(long, value_name = "DEVICE", default_value = "auto", help = crate::cli::DEVICE_HELP)]
    pub device: String,
}

#[derive(clap::Args, Debug, Clone)]
pub struct AugmentArgs {
    /// Average with the reverse-complement prediction.
    #[arg(long)]
    pub rc: bool,
    /// Sequence shifts to average over, comma-separated (e.g. `-1,0,1`).
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    pub shifts: String,
}

impl AugmentArgs {
    /// The shifts, each shorter than the model's input (`seq_len`): a shift as long as the
    /// window would leave nothing of the sequence, so every binary refuses it the same way.
    pub fn shift_list(&self, seq_len: usize) -> Result<Vec<i64>> {
        let shifts: Vec<i64> = parse_list(&self.shifts, "--shifts")?;
        if shifts.is_empty() {
            return Err(Error::Input("--shifts: give at least one shift (0 for none)".into()));
        }
        if let Some(s) = shifts.iter().find(|s| s.unsigned_abs() >= seq_len as u64) {
            return Err(Error::Input(format!("--shifts: shift {s} is not shorter than the model's input ({seq_len} bp)")));
        }
        Ok(shifts)
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    None,
    Group,
}

#[derive(clap::Args, Debug, Clone)]
pub struct TrackArgs {
    /// Tracks: `all` or indices/ranges like `0,5-9`.
    #[arg(long, default_value = "all")]
    pub tracks: String,
    /// Keep tracks whose identifier or description matches this regex.
    #[arg(long)]
    pub track_regex: Option<String>,
    /// Keep tracks of this group (targets sheet `group` column).
    #[arg(long)]
    pub track_group: Option<String>,
    /// Average over the tracks of each group.
    #[arg(long, value_enum, default_value = "none")]
    pub aggregate: Aggregate,
}

/// Comma-separated values, each parsed as `T`; `what` names the option in errors.
pub fn parse_list<T>(s: &str, what: &str) -> Result<Vec<T>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| x.parse::<T>().map_err(|e| Error::Input(format!("{what}: bad value \"{x}\" ({e})"))))
        .collect()
}

/// The models of one run and what describes their outputs.
pub struct Loaded {
    pub params: Params,
    pub models: Vec<SeqNN>,
    pub targets: Option<Targets>,
    pub layout: InputLayout,
    pub device: Device,
    /// How the models were named on the command line (for provenance lines).
    pub names: Vec<String>,
    pub embedded_default: bool,
}

impl ModelArgs {
    pub fn load(&self) -> Result<Loaded> {
        let device = parse_device(&self.device)?;
        let (params, models, default_species, names) = if self.models.is_empty() {
            if self.params.is_some() {
                return Err(Error::Input("--params needs --model (the default model brings its own)".into()));
            }
            let (params, model) = crate::default_model::load(&device)?;
            let name = format!("embedded default LM (shorkie {})", env!("CARGO_PKG_VERSION"));
            (params, vec![model], Some(crate::default_model::DEFAULT_SPECIES_INDEX), vec![name])
        } else {
            let path = self.params.as_ref().ok_or_else(|| Error::Input("--model needs --params".into()))?;
            let params = Params::from_file(path)?;
            let models = self
                .models
                .iter()
                .map(|m| crate::weights_file::load_model(&params, m, &device))
                .collect::<Result<Vec<_>>>()?;
            let names = self.models.iter().map(|m| m.display().to_string()).collect();
            (params, models, None, names)
        };
        let tracks = models[0].heads()[0].shape.ch;
        let targets = match &self.targets {
            Some(p) => {
                let t = Targets::from_file(p)?;
                if t.rows.len() != tracks {
                    return Err(Error::Input(format!(
                        "{}: {} tracks, the model predicts {tracks}",
                        p.display(),
                        t.rows.len()
                    )));
                }
                Some(t)
            }
            None => None,
        };
        let layout = InputLayout::new(models[0].in_channels, self.species_index.or(default_species))?;
        Ok(Loaded { params, models, targets, layout, device, names, embedded_default: self.models.is_empty() })
    }
}

impl Loaded {
    /// Tracks of the first head.
    pub fn tracks(&self) -> usize {
        self.models[0].heads()[0].shape.ch
    }

    /// Each track's strand partner (itself when unstranded), from the sheet.
    pub fn strand_pair(&self) -> Option<Vec<usize>> {
        self.targets.as_ref().map(|t| t.strand_pairs())
    }

    /// A language model predicts 4 bases at every input position.
    pub fn looks_lm(&self) -> bool {
        let head = &self.models[0].heads()[0];
        head.shape.ch == 4 && head.shape.len == self.params.model.seq_length
    }

    /// The output columns the track options choose; without a sheet tracks are `t0, t1, …`.
    pub fn columns(&self, args: &TrackArgs) -> Result<Vec<Column>> {
        let aggregate_group = args.aggregate == Aggregate::Group;
        match &self.targets {
            Some(t) => select(t, &TrackQuery {
                indices: Some(args.tracks.clone()),
                regex: args.track_regex.clone(),
                group: args.track_group.clone(),
                aggregate_group,
            }),
            None => {
                if args.track_regex.is_some() || args.track_group.is_some() || aggregate_group {
                    return Err(Error::Input("--track-regex, --track-group and --aggregate need --targets".into()));
                }
                select(&self.generic_sheet()?, &TrackQuery { indices: Some(args.tracks.clone()), ..Default::default() })
            }
        }
    }

    /// The targets sheet, or one naming tracks `t0, t1, …` when none was given.
    pub fn sheet(&self) -> Result<Targets> {
        match &self.targets {
            Some(t) => Ok(t.clone()),
            None => self.generic_sheet(),
        }
    }

    fn generic_sheet(&self) -> Result<Targets> {
        let text = std::iter::once("identifier".to_string())
            .chain((0..self.tracks()).map(|t| format!("t{t}")))
            .collect::<Vec<_>>()
            .join("\n");
        Targets::parse(&text, "tracks")
    }
}
