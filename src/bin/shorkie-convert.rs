//! shorkie-convert: Keras H5 (baskerville `SeqNN.save`) -> safetensors, with an optional
//! parity check against reference inputs/outputs.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use shorkie::convert::{convert_head, save_safetensors};
use shorkie::device::parse_device;
use shorkie::keras_h5::KerasModel;
use shorkie::{Error, Params, SeqNN};

#[derive(Parser, Debug)]
#[command(args_override_self = true, name = "shorkie-convert", version, about = "Convert baskerville/Shorkie Keras H5 weights to safetensors")]
struct Cli {
    /// Keras model file (model_best.h5), or an already converted .safetensors to check.
    model: PathBuf,
    /// The model's params.json.
    #[arg(short, long)]
    params: PathBuf,
    /// For a multi-head params.json (head_human, head_mouse, …): the head this file holds,
    /// in baskerville's order (baskerville saves one file per head). Default 0.
    #[arg(long, value_name = "N")]
    head: Option<usize>,
    /// Output safetensors file (written to a temporary file, then renamed).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Compare predictions on this npz's `input` with its `output`.
    #[arg(long, value_name = "IO.npz")]
    check: Option<PathBuf>,
    /// Largest allowed max|ours - reference| / max|reference| for --check.
    #[arg(long, default_value_t = 1e-4)]
    tol: f32,
    #[arg(long, value_name = "DEVICE", default_value = "auto", help = shorkie::cli::DEVICE_HELP)]
    device: String,
    #[command(flatten)]
    batch: shorkie::cli::BatchArgs,
    #[command(flatten)]
    common: shorkie::cli::CommonArgs,
}

fn main() {
    shorkie::cli::run_main("shorkie-convert", || {
        let cli: Cli = shorkie::cli::parse();
        shorkie::limits::count(cli.batch.batch_size as u64, shorkie::limits::MAX_BATCH, "--batch-size")?;
        let device = parse_device(&cli.device)?;
        let params = Params::from_file(&cli.params)?;
        let is_safetensors = cli.model.extension().is_some_and(|e| e == "safetensors");
        if cli.output.is_none() && cli.check.is_none() {
            return Err(Error::Input("nothing to do: give -o OUTPUT and/or --check IO.npz".into()));
        }
        let mut err = std::io::stderr();
        let model = if is_safetensors {
            if cli.output.is_some() {
                return Err(Error::Input(format!(
                    "{} is already safetensors; -o applies to Keras .h5 input",
                    cli.model.display()
                )));
            }
            let model = SeqNN::load(&params, &cli.model, &device)?;
            let held = model.head_record.as_ref().map_or(0, |h| h.index);
            if let Some(want) = cli.head.filter(|&h| h != held) {
                return Err(Error::Input(format!(
                    "{} holds head {held}, not head {want} (--head)",
                    cli.model.display()
                )));
            }
            model
        } else {
            let keras = KerasModel::open(&cli.model)?;
            let converted = convert_head(&keras, &params, cli.head.unwrap_or(0))?;
            if let Some(out) = &cli.output {
                save_safetensors(&converted, out)?;
                if !cli.common.quiet {
                    let n: usize = converted.tensors.values().map(|t| t.elem_count()).sum();
                    let head = match &converted.head {
                        Some(h) => format!(", head {} ({}, {} tracks)", h.index, h.key, h.tracks),
                        None => String::new(),
                    };
                    let _ = writeln!(
                        err,
                        "wrote {} ({} tensors, {n} parameters, {} input channels{head})",
                        out.display(),
                        converted.tensors.len(),
                        converted.in_channels
                    );
                }
            }
            let origin = cli.model.display().to_string();
            let tensors = converted
                .tensors
                .into_iter()
                .map(|(k, v)| Ok((k, v.to_device(&device)?)))
                .collect::<shorkie::Result<_>>()?;
            let selected = match &converted.head {
                Some(h) => params.select_head(h.index)?,
                None => params.clone(),
            };
            let mut model = SeqNN::from_tensors(&selected, converted.in_channels, tensors, &device, &origin)?;
            model.head_record = converted.head.clone();
            model
        };
        if let Some(npz) = &cli.check {
            let arrays = shorkie::npz::read_npz(npz)?;
            let get = |k: &str| {
                arrays.get(k).ok_or_else(|| Error::Input(format!("{}: no \"{k}\" array", npz.display())))
            };
            let dev = shorkie::parity::check(&model, get("input")?, get("output")?, cli.batch.batch_size, &device)?;
            let rel = dev.relative();
            let mut out = std::io::stdout();
            writeln!(
                out,
                "max|ours-ref| = {:.3e}  max|ref| = {:.4e}  relative = {:.3e}  tol = {:.1e}  {}",
                dev.max_abs_diff,
                dev.max_abs_ref,
                rel,
                cli.tol,
                if rel <= cli.tol { "PASS" } else { "FAIL" }
            )
            .map_err(|e| Error::io("stdout", e))?;
            if rel > cli.tol {
                return Err(Error::Other(format!(
                    "{}: relative deviation {rel:.3e} exceeds --tol {:.1e}",
                    npz.display(),
                    cli.tol
                )));
            }
        }
        Ok(())
    })
}
