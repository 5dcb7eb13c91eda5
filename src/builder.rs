//! The model builder: a candle `VarBuilder` plus the record of which Keras layer each
//! group of our parameters corresponds to, in the order baskerville creates them.
//! The converter uses that record to map a Keras H5 onto our names.

use std::cell::RefCell;
use std::rc::Rc;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Init, VarBuilder};

use crate::error::Result;

/// The Keras layer classes that carry weights in a baskerville SeqNN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KerasClass {
    Conv1D,
    SeparableConv1D,
    Dense,
    BatchNormalization,
    LayerNormalization,
    Scale,
    MultiheadAttention,
}

impl KerasClass {
    pub fn from_class_name(name: &str) -> Option<Self> {
        Some(match name {
            "Conv1D" => KerasClass::Conv1D,
            "SeparableConv1D" => KerasClass::SeparableConv1D,
            "Dense" => KerasClass::Dense,
            "BatchNormalization" => KerasClass::BatchNormalization,
            "LayerNormalization" => KerasClass::LayerNormalization,
            "Scale" => KerasClass::Scale,
            "MultiheadAttention" => KerasClass::MultiheadAttention,
            _ => return None,
        })
    }

    pub fn class_name(self) -> &'static str {
        match self {
            KerasClass::Conv1D => "Conv1D",
            KerasClass::SeparableConv1D => "SeparableConv1D",
            KerasClass::Dense => "Dense",
            KerasClass::BatchNormalization => "BatchNormalization",
            KerasClass::LayerNormalization => "LayerNormalization",
            KerasClass::Scale => "Scale",
            KerasClass::MultiheadAttention => "MultiheadAttention",
        }
    }
}

/// One weight of a Keras layer: its name inside the layer (`kernel`, `q_layer/kernel`),
/// our full parameter name, and the shape our model needs.
#[derive(Debug, Clone)]
pub struct SlotWeight {
    pub keras: &'static str,
    pub ours: String,
    pub shape: Vec<usize>,
}

/// A Keras layer as our model sees it.
#[derive(Debug, Clone)]
pub struct KerasSlot {
    pub class: KerasClass,
    pub weights: Vec<SlotWeight>,
}

/// Training state shared by every layer of one model: whether batch norm uses batch
/// statistics, and the statistics it saw (applied to the moving averages after a step).
#[derive(Debug, Default)]
pub struct TrainCtx {
    pub training: std::sync::atomic::AtomicBool,
    /// (parameter prefix, batch mean, batch variance, momentum)
    pub bn_batches: std::sync::Mutex<Vec<(String, Tensor, Tensor, f64)>>,
}

impl TrainCtx {
    pub fn is_training(&self) -> bool {
        self.training.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Wraps a `VarBuilder`; `pp` descends into a sub-name as the `VarBuilder` does.
#[derive(Clone)]
pub struct Builder<'a> {
    vb: VarBuilder<'a>,
    slots: Rc<RefCell<Vec<KerasSlot>>>,
    train: std::sync::Arc<TrainCtx>,
}

impl<'a> Builder<'a> {
    pub fn new(vb: VarBuilder<'a>) -> Self {
        Builder { vb, slots: Rc::new(RefCell::new(Vec::new())), train: Default::default() }
    }

    pub fn pp(&self, name: impl ToString) -> Self {
        Builder { vb: self.vb.pp(name.to_string()), slots: self.slots.clone(), train: self.train.clone() }
    }

    pub fn train_ctx(&self) -> std::sync::Arc<TrainCtx> {
        self.train.clone()
    }

    pub fn prefix(&self) -> String {
        self.vb.prefix()
    }

    pub fn device(&self) -> &Device {
        self.vb.device()
    }

    pub fn dtype(&self) -> DType {
        self.vb.dtype()
    }

    /// Fetches the weights of one Keras layer, in the order given, and records the slot.
    pub fn keras_layer(
        &self,
        class: KerasClass,
        weights: &[(&'static str, &str, Vec<usize>, Init)],
    ) -> Result<Vec<Tensor>> {
        let mut slot = KerasSlot { class, weights: Vec::new() };
        let mut tensors = Vec::new();
        for (keras, ours, shape, init) in weights {
            crate::limits::weight_values(shape, &format!("{}.{ours}", self.vb.prefix()))?;
            let t = self.vb.get_with_hints(shape.as_slice(), ours, *init)?;
            let full = if self.vb.prefix().is_empty() {
                ours.to_string()
            } else {
                format!("{}.{}", self.vb.prefix(), ours)
            };
            slot.weights.push(SlotWeight { keras, ours: full, shape: shape.clone() });
            tensors.push(t);
        }
        self.slots.borrow_mut().push(slot);
        Ok(tensors)
    }

    /// The Keras layers requested so far, in creation order.
    pub fn slots(&self) -> Vec<KerasSlot> {
        self.slots.borrow().clone()
    }
}
