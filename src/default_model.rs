//! The embedded default model: a small masked-nucleotide language model trained by
//! `shorkie-pretrain` on S288C plus chrI of S. kudriavzevii and S. mikatae (see
//! `src/default_model/MODEL_CARD.md`). It is not the published Shorkie.

use candle_core::Device;

use crate::config::Params;
use crate::error::Result;
use crate::model::SeqNN;

pub const PARAMS_JSON: &str = include_str!("default_model/params.json");
pub const WEIGHTS: &[u8] = include_bytes!("default_model/model.safetensors");
pub const MODEL_CARD: &str = include_str!("default_model/MODEL_CARD.md");
/// Species channels: 0 = S. cerevisiae S288C (R64), 1 = S. kudriavzevii, 2 = S. mikatae.
pub const SPECIES: &[&str] = &["Saccharomyces cerevisiae S288C (R64)", "Saccharomyces kudriavzevii IFO1802", "Saccharomyces mikatae IFO1815"];
pub const DEFAULT_SPECIES_INDEX: usize = 0;

pub fn params() -> Result<Params> {
    Params::from_json_str(PARAMS_JSON, "<default model params.json>")
}

pub fn load(device: &Device) -> Result<(Params, SeqNN)> {
    let params = params()?;
    let model = SeqNN::load_bytes(&params, WEIGHTS, device, "<default model>")?;
    Ok((params, model))
}
