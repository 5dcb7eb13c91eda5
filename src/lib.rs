//! shorkie: run Shorkie / baskerville SeqNN DNA sequence-to-function models in Rust.
//!
//! `params.json` is parsed into [`config::Params`]; [`model::SeqNN`] builds the network
//! through the block registry in [`blocks`]; [`keras_h5`] and [`convert`] bring the
//! published Keras weights over; [`ensemble`] averages folds and augmentations.

pub mod bgzf;
pub mod bigwig_out;
pub mod blocks;
pub mod cli;
pub mod builder;
pub mod config;
pub mod default_model;
pub mod convert;
pub mod coverage;
pub mod device;
pub mod dna;
pub mod ensemble;
pub mod error;
pub mod embed;
pub mod formats;
pub mod io;
pub mod ism;
pub mod keras_h5;
pub mod layers;
pub mod limits;
pub mod local_tower;
pub mod model_args;
pub mod model;
pub mod npz;
pub mod parity;
pub mod predict;
pub mod probe;
pub mod score;
pub mod sim;
pub mod staged;
pub mod stream;
pub mod weights_file;
pub mod threads;
pub mod train;
pub mod viz;

pub use config::Params;
pub use error::{Error, Result};
pub use model::SeqNN;
