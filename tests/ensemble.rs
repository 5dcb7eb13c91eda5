//! Fold averaging and test-time augmentation on a real (fixture) model.

mod common;

use candle_core::{Device, Tensor};
use common::data;
use shorkie::ensemble::{reverse_complement, shift_sequence, unreverse_output, Ensemble};
use shorkie::{Params, SeqNN};

fn model() -> SeqNN {
    let params = Params::from_file(data("small_finetuned/params.json")).unwrap();
    let keras = shorkie::keras_h5::KerasModel::open(data("small_finetuned/model.h5")).unwrap();
    let conv = shorkie::convert::convert(&keras, &params).unwrap();
    SeqNN::from_tensors(&params, conv.in_channels, conv.tensors, &Device::Cpu, "m").unwrap()
}

fn input() -> Tensor {
    let io = shorkie::npz::read_npz(&data("small_finetuned/io.npz")).unwrap();
    let a = &io["input"];
    Tensor::from_vec(a.data.clone(), (a.shape[0], a.shape[1], a.shape[2]), &Device::Cpu)
        .unwrap()
        .narrow(0, 0, 1)
        .unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap()
}

#[test]
fn folds_average_and_augmentations_combine() {
    let m = model();
    let x = input();
    let plain = m.forward(&x).unwrap();

    // Two copies of one fold average to that fold.
    let twins = vec![model(), model()];
    let ens = Ensemble::new(&twins);
    assert!(max_diff(&ens.predict(&x).unwrap(), &plain) < 1e-6);

    // Reverse complement: the mean of the forward pass and the un-reversed RC pass,
    // with stranded tracks swapped back.
    let mut pairs: Vec<usize> = (0..37).collect();
    pairs.swap(0, 1);
    let single = vec![model()];
    let mut ens = Ensemble::new(&single);
    ens.reverse_complement = true;
    ens.strand_pair = Some(pairs.clone());
    let rc_pred = unreverse_output(&m.forward(&reverse_complement(&x).unwrap()).unwrap(), Some(&pairs)).unwrap();
    let want = ((&plain + &rc_pred).unwrap() / 2.0).unwrap();
    assert!(max_diff(&ens.predict(&x).unwrap(), &want) < 1e-6);
    // The RC pass is a different prediction (the model is not RC-symmetric), so the
    // ensemble really changes the output.
    assert!(max_diff(&rc_pred, &plain) > 1e-4);

    // Shifts average the shifted inputs' predictions.
    let mut ens = Ensemble::new(&single);
    ens.shifts = vec![-1, 0, 1];
    let sum = [-1i64, 0, 1]
        .iter()
        .map(|s| m.forward(&shift_sequence(&x, *s).unwrap()).unwrap())
        .reduce(|a, b| (a + b).unwrap())
        .unwrap();
    assert!(max_diff(&ens.predict(&x).unwrap(), &(sum / 3.0).unwrap()) < 1e-6);
}
