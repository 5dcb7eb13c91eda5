//! The CPU fast paths give the same numbers as candle's generic (differentiable) ops.

mod common;

use candle_core::{Device, Tensor};
use shorkie::layers::conv::im2col_same;
use shorkie::layers::cpu;
use shorkie::layers::dense::linear;

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn generic_conv(x: &Tensor, k: &Tensor, bias: Option<&Tensor>, dilation: usize) -> Vec<f32> {
    let (width, cin, cout) = k.dims3().unwrap();
    let cols = im2col_same(x, width, dilation).unwrap();
    let kernel = k.reshape((width * cin, cout)).unwrap();
    linear(&cols, &kernel, bias).unwrap().flatten_all().unwrap().to_vec1().unwrap()
}

fn fast_conv(x: &Tensor, k: &Tensor, bias: Option<&Tensor>, dilation: usize) -> Vec<f32> {
    let (batch, len, cin) = x.dims3().unwrap();
    let (width, _, cout) = k.dims3().unwrap();
    let xs: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
    let ks: Vec<f32> = k.flatten_all().unwrap().to_vec1().unwrap();
    let bs: Option<Vec<f32>> = bias.map(|b| b.to_vec1().unwrap());
    cpu::conv1d_same(&xs, batch, len, cin, &ks, width, cout, bs.as_deref(), dilation)
}

#[test]
fn dense_convolution_matches_generic() {
    let dev = Device::Cpu;
    // Odd length and batch > 1 so chunks straddle sequences; even and odd widths.
    for (width, dilation) in [(5usize, 1usize), (4, 1), (3, 2), (1, 1)] {
        let x = Tensor::randn(0f32, 1., (3, 301, 7), &dev).unwrap();
        let k = Tensor::randn(0f32, 1., (width, 7, 11), &dev).unwrap();
        let b = Tensor::randn(0f32, 1., 11, &dev).unwrap();
        let d = max_diff(&generic_conv(&x, &k, Some(&b), dilation), &fast_conv(&x, &k, Some(&b), dilation));
        assert!(d < 1e-4, "width {width} dilation {dilation}: {d}");
        let d = max_diff(&generic_conv(&x, &k, None, dilation), &fast_conv(&x, &k, None, dilation));
        assert!(d < 1e-4, "no bias, width {width}: {d}");
    }
}

#[test]
fn sparse_convolution_matches_generic() {
    let dev = Device::Cpu;
    // One-hot DNA plus a constant species channel among 40: the sparse path.
    let (len, ch) = (257usize, 40usize);
    let mut data = vec![0f32; 2 * len * ch];
    for (i, row) in data.chunks_mut(ch).enumerate() {
        row[(i * 7 + i / 3) % 4] = 1.0;
        row[20] = 1.0;
        if i % 50 == 0 {
            row[4] = 0.5;
        }
    }
    let x = Tensor::from_vec(data, (2, len, ch), &dev).unwrap();
    let k = Tensor::randn(0f32, 1., (11, ch, 9), &dev).unwrap();
    let b = Tensor::randn(0f32, 1., 9, &dev).unwrap();
    let d = max_diff(&generic_conv(&x, &k, Some(&b), 1), &fast_conv(&x, &k, Some(&b), 1));
    assert!(d < 1e-4, "{d}");
}

#[test]
fn fused_scale_shift_gelu_matches_candle() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 3., (2, 130, 6), &dev).unwrap();
    let scale = Tensor::randn(0f32, 1., 6, &dev).unwrap();
    let shift = Tensor::randn(0f32, 1., 6, &dev).unwrap();
    let want: Vec<f32> =
        x.broadcast_mul(&scale).unwrap().broadcast_add(&shift).unwrap().gelu().unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let xs: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
    let got = cpu::scale_shift_map(&xs, 6, &scale.to_vec1().unwrap(), &shift.to_vec1().unwrap(), cpu::gelu_tanh);
    assert!(max_diff(&want, &got) < 1e-5);
}
