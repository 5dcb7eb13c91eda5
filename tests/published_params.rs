//! The three published Shorkie params.json files parse strictly and build the expected
//! architectures (shapes from the Shorkie paper).

mod common;

use candle_core::Device;
use common::data;
use shorkie::{Params, SeqNN};

fn build(name: &str) -> SeqNN {
    let params = Params::from_file(data(&format!("shorkie/{name}"))).unwrap();
    SeqNN::fresh(&params, 170, &Device::Cpu).unwrap().0
}

#[test]
fn finetuned_and_scratch_predict_896_bins_of_5215_tracks() {
    for name in ["params_finetuned.json", "params_scratch.json"] {
        let m = build(name);
        assert_eq!(m.params.seq_length, 16384);
        let out = m.output_shape(0);
        assert_eq!((out.len, out.ch), (896, 5215), "{name}");
        assert_eq!(m.heads()[0].key, "head");
        assert_eq!((m.trunk_shape.len, m.trunk_shape.ch), (896, 384));
        let params: usize = m.keras_slots().iter().flat_map(|s| s.weights.iter().map(|w| w.shape.iter().product::<usize>())).sum();
        // The published model has 14.25 M parameters.
        assert_eq!(params, 14_253_567, "{name}");
    }
}

#[test]
fn language_model_predicts_four_bases_per_position() {
    let m = build("params_lm.json");
    let out = m.output_shape(0);
    assert_eq!((out.len, out.ch), (16384, 4));
    assert_eq!(m.heads()[0].key, "head_human");
}

#[test]
fn train_blocks_are_typed() {
    let p = Params::from_file(data("shorkie/params_lm.json")).unwrap();
    let t = p.train.unwrap();
    assert_eq!(t.loss.as_deref(), Some("mlm"));
    assert_eq!(t.mask_rate, Some(0.15));
    assert_eq!(t.exon_loss_scale, Some(0.1));
    let p = Params::from_file(data("shorkie/params_finetuned.json")).unwrap();
    assert_eq!(p.train.unwrap().total_weight, Some(0.2));
    assert_eq!(p.model.globals.values["norm_type"], "batch");
}
