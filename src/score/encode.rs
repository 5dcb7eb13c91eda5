//! Sequence -> model input: 4 DNA channels, then (for Shorkie-style models) a mask-flag
//! channel and one-hot species channels.

use crate::error::{Error, Result};

/// How the channels beyond A/C/G/T are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLayout {
    pub channels: usize,
    /// Species channel set to 1 (index among species, channel 5 + index).
    pub species: Option<usize>,
}

/// Shorkie's S. cerevisiae R64 species index among its 165 species.
pub const SHORKIE_R64_SPECIES: usize = 109;

impl InputLayout {
    /// Checks a species choice against the model's channels; Shorkie-sized models
    /// (170 channels) default to S. cerevisiae R64.
    pub fn new(channels: usize, species: Option<usize>) -> Result<Self> {
        match channels {
            4 => {
                if species.is_some() {
                    return Err(Error::Input("--species-index: the model has no species channels".into()));
                }
                Ok(InputLayout { channels, species: None })
            }
            5 => Ok(InputLayout { channels, species: None }),
            c if c > 5 => {
                let n = c - 5;
                let s = match species {
                    Some(s) => s,
                    None if n == 165 => SHORKIE_R64_SPECIES,
                    None => {
                        return Err(Error::Input(format!(
                            "the model has {n} species channels: choose one with --species-index (0..{})",
                            n - 1
                        )))
                    }
                };
                if s >= n {
                    return Err(Error::Input(format!(
                        "--species-index {s}: the model has {n} species (0..{})",
                        n - 1
                    )));
                }
                Ok(InputLayout { channels, species: Some(s) })
            }
            c => Err(Error::Input(format!("a model with {c} input channels cannot read DNA"))),
        }
    }

    /// Appends the encoding of `seq` (`len x channels`) to `out`; `mask` positions get
    /// no base and the mask flag.
    pub fn encode_into(&self, seq: &[u8], mask: Option<usize>, out: &mut Vec<f32>) {
        let c = self.channels;
        let start = out.len();
        out.resize(start + seq.len() * c, 0.0);
        for (i, b) in seq.iter().enumerate() {
            let row = &mut out[start + i * c..start + (i + 1) * c];
            if mask == Some(i) {
                if c >= 5 {
                    row[4] = 1.0;
                }
            } else {
                if let Some(k) = base_index(*b) {
                    row[k] = 1.0;
                }
            }
            if let Some(s) = self.species {
                row[5 + s] = 1.0;
            }
        }
    }
}

pub use crate::dna::base_index;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorkie_layout() {
        let l = InputLayout::new(170, None).unwrap();
        let mut v = Vec::new();
        l.encode_into(b"Ag", Some(1), &mut v);
        assert_eq!(v.len(), 340);
        assert_eq!(&v[..5], &[1., 0., 0., 0., 0.]);
        assert_eq!(v[5 + 109], 1.0);
        assert_eq!(&v[170..175], &[0., 0., 0., 0., 1.]);
        assert!(InputLayout::new(8, None).unwrap_err().to_string().contains("--species-index"));
        assert!(InputLayout::new(8, Some(3)).is_err());
        assert!(InputLayout::new(8, Some(2)).is_ok());
    }
}
