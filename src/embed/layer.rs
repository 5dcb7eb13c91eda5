//! Which trunk layer embeddings come from (`--layer`).

use crate::blocks::Shape;
use crate::error::{Error, Result};
use crate::SeqNN;

/// A resolved layer: the trunk block whose output is taken (None: the trunk output after
/// the final activation), a label for provenance, and its output shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub block: Option<usize>,
    pub label: String,
    pub shape: Shape,
    /// Input bases per layer position.
    pub stride: usize,
}

impl Layer {
    /// `transformer` (the last transformer_tower block), `trunk`, a block index, or a
    /// params.json block name (its last occurrence).
    pub fn resolve(model: &SeqNN, choice: &str) -> Result<Layer> {
        let layers = model.trunk_layers();
        let seq_len = model.params.seq_length;
        let make = |block: Option<usize>, label: String, shape: Shape| -> Result<Layer> {
            if shape.len == 0 || seq_len % shape.len != 0 {
                return Err(Error::Input(format!(
                    "--layer {choice}: {} positions do not tile the {seq_len} bp input",
                    shape.len
                )));
            }
            Ok(Layer { block, label, shape, stride: seq_len / shape.len })
        };
        if choice == "trunk" {
            return make(None, "trunk".into(), model.trunk_shape);
        }
        let name = if choice == "transformer" { "transformer_tower" } else { choice };
        let found = match choice.parse::<usize>() {
            Ok(i) => layers.get(i),
            Err(_) => layers.iter().rev().find(|l| l.name == name),
        };
        match found {
            Some(l) => make(Some(l.index), format!("trunk[{}] {}", l.index, l.name), l.shape),
            None => {
                let names: Vec<String> = layers.iter().map(|l| format!("{} {}", l.index, l.name)).collect();
                Err(Error::Input(format!(
                    "--layer {choice}: the model has no such trunk layer (blocks: {}; or `trunk`)",
                    names.join(", ")
                )))
            }
        }
    }

    /// One line per choosable layer: index, name, positions, channels, bases per position.
    pub fn listing(model: &SeqNN) -> Vec<String> {
        let seq_len = model.params.seq_length;
        let mut out: Vec<String> = model
            .trunk_layers()
            .iter()
            .map(|l| format!("{}\t{}\t{}\t{}\t{}", l.index, l.name, l.shape.len, l.shape.ch, seq_len / l.shape.len.max(1)))
            .collect();
        let t = model.trunk_shape;
        out.push(format!("trunk\t(after {})\t{}\t{}\t{}", model.params.activation, t.len, t.ch, seq_len / t.len.max(1)));
        out
    }
}
