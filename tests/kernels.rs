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

/// A copy of `t` that records autograd ops, so layers take candle's generic path.
fn tracked(t: &Tensor) -> Tensor {
    candle_core::Var::from_tensor(t).unwrap().as_tensor().clone()
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn dense_with_activation_matches_candle() {
    let dev = Device::Cpu;
    // 600 rows: blocks of 256 plus a short one.
    let x = Tensor::randn(0f32, 1., (2, 300, 9), &dev).unwrap();
    let k = Tensor::randn(0f32, 1., (9, 13), &dev).unwrap();
    let b = Tensor::randn(0f32, 1., 13, &dev).unwrap();
    for act in [shorkie::layers::Activation::Softplus, shorkie::layers::Activation::Gelu, shorkie::layers::Activation::Linear] {
        let want = flat(&act.forward(&linear(&tracked(&x), &tracked(&k), Some(&tracked(&b))).unwrap()).unwrap());
        let got = cpu::dense_act(&flat(&x), 600, 9, &flat(&k), 13, Some(&flat(&b)), act).unwrap();
        assert!(max_diff(&want, &got) < 1e-4, "{act:?}");
    }
    assert!(cpu::dense_act(&flat(&x), 600, 9, &flat(&k), 13, None, shorkie::layers::Activation::Softmax).is_none());
}

#[test]
fn pointwise_with_fused_norm_matches_two_steps() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 2., (3, 101, 8), &dev).unwrap();
    let k = Tensor::randn(0f32, 1., (1, 8, 5), &dev).unwrap();
    let b = Tensor::randn(0f32, 1., 5, &dev).unwrap();
    let (scale, shift) = (flat(&Tensor::randn(0f32, 1., 8, &dev).unwrap()), flat(&Tensor::randn(0f32, 1., 8, &dev).unwrap()));
    let act = cpu::scale_shift_map(&flat(&x), 8, &scale, &shift, cpu::gelu_tanh);
    let act = Tensor::from_vec(act, (3, 101, 8), &dev).unwrap();
    let want = generic_conv(&act, &k, Some(&b), 1);
    let pre = Some((&scale[..], &shift[..], shorkie::layers::Activation::Gelu));
    let got = cpu::pointwise(&flat(&x), 303, 8, &flat(&k), 5, Some(&flat(&b)), pre, None).unwrap();
    assert!(max_diff(&want, &got) < 1e-4);
    // With a residual join: first + s * conv.
    let first = flat(&Tensor::randn(0f32, 1., (3, 101, 5), &dev).unwrap());
    let s = flat(&Tensor::randn(0f32, 1., 5, &dev).unwrap());
    let joined = cpu::pointwise(&flat(&x), 303, 8, &flat(&k), 5, Some(&flat(&b)), pre, Some((&first, &s))).unwrap();
    let want_joined: Vec<f32> = got.iter().zip(&first).enumerate().map(|(i, (g, f))| f + g * s[i % 5]).collect();
    assert_eq!(want_joined, joined);
    // Softmax is not a per-element pre-activation: the caller takes the generic path.
    let softmax = Some((&scale[..], &shift[..], shorkie::layers::Activation::Softmax));
    assert!(cpu::pointwise(&flat(&x), 303, 8, &flat(&k), 5, None, softmax, None).is_none());
}

#[test]
fn max_pool_with_fused_norm_matches_two_steps() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 2., (2, 261, 7), &dev).unwrap();
    let (scale, shift) = (flat(&Tensor::randn(0f32, 1., 7, &dev).unwrap()), flat(&Tensor::randn(0f32, 1., 7, &dev).unwrap()));
    for pool in [1usize, 2, 3] {
        let pooled = cpu::max_pool_same(&flat(&x), 2, 261, 7, pool);
        let want = cpu::scale_shift_map(&pooled, 7, &scale, &shift, cpu::gelu_tanh);
        let got = cpu::max_pool_scale_shift_act(&flat(&x), 2, 261, 7, pool, &scale, &shift, shorkie::layers::Activation::Gelu).unwrap();
        assert_eq!(want, got, "pool {pool}");
    }
}

#[test]
fn max_pool_matches_candle_for_even_and_odd_lengths() {
    let dev = Device::Cpu;
    for (len, pool) in [(10usize, 2usize), (11, 2), (11, 3), (7, 4)] {
        let x = Tensor::randn(0f32, 1., (2, len, 3), &dev).unwrap();
        let want = flat(&shorkie::layers::reshape::max_pool_same(&tracked(&x), pool).unwrap());
        let got = cpu::max_pool_same(&flat(&x), 2, len, 3, pool);
        assert_eq!(want, got, "len {len} pool {pool}");
    }
}

#[test]
fn layer_norm_upsample_add_and_depthwise_match_candle() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 3., (2, 37, 6), &dev).unwrap();
    let gamma = Tensor::randn(0f32, 1., 6, &dev).unwrap();
    let beta = Tensor::randn(0f32, 1., 6, &dev).unwrap();
    let mean = x.mean_keepdim(2).unwrap();
    let centred = x.broadcast_sub(&mean).unwrap();
    let var = centred.sqr().unwrap().mean_keepdim(2).unwrap();
    let want = centred.broadcast_div(&(var + 1e-3).unwrap().sqrt().unwrap()).unwrap().broadcast_mul(&gamma).unwrap().broadcast_add(&beta).unwrap();
    let got = cpu::layer_norm(&flat(&x), 6, &flat(&gamma), &flat(&beta), 1e-3);
    assert!(max_diff(&flat(&want), &got) < 1e-5);

    let skip = Tensor::randn(0f32, 1., (2, 74, 6), &dev).unwrap();
    let want = (shorkie::layers::reshape::upsample(&x, 2).unwrap() + &skip).unwrap();
    assert_eq!(flat(&want), cpu::upsample_add(&flat(&x), &flat(&skip), 6, 2));

    for width in [3usize, 4] {
        let taps = Tensor::randn(0f32, 1., (width, 6), &dev).unwrap();
        let (left, right) = shorkie::layers::conv::same_padding(width);
        let padded = x.pad_with_zeros(1, left, right).unwrap();
        let mut want = padded.narrow(1, 0, 37).unwrap().broadcast_mul(&taps.get(0).unwrap()).unwrap();
        for t in 1..width {
            want = (want + padded.narrow(1, t, 37).unwrap().broadcast_mul(&taps.get(t).unwrap()).unwrap()).unwrap();
        }
        let got = cpu::depthwise_same(&flat(&x), 2, 37, 6, &flat(&taps), width);
        assert!(max_diff(&flat(&want), &got) < 1e-6, "width {width}");
    }
}

#[test]
fn relative_attention_matches_a_direct_sum() {
    let dev = Device::Cpu;
    let (batch, t, heads, key, value) = (2usize, 9usize, 3usize, 4usize, 5usize);
    let r = |n: usize| flat(&Tensor::randn(0f32, 1., n, &dev).unwrap());
    let (q, k, v) = (r(batch * t * heads * key), r(batch * t * heads * key), r(batch * t * heads * value));
    let (rk, rw, rr) = (r((2 * t - 1) * heads * key), r(heads * key), r(heads * key));
    let shape = cpu::AttentionShape { batch, len: t, heads, key, value };
    let got = cpu::relative_attention(&q, &k, &v, &rk, &rw, &rr, &shape);
    let (hk, hv) = (heads * key, heads * value);
    let s = 1.0 / (key as f64).sqrt();
    for b in 0..batch {
        for h in 0..heads {
            for i in 0..t {
                let logits: Vec<f64> = (0..t)
                    .map(|j| {
                        (0..key)
                            .map(|d| {
                                let qs = q[(b * t + i) * hk + h * key + d] as f64 * s;
                                (qs + rw[h * key + d] as f64) * k[(b * t + j) * hk + h * key + d] as f64
                                    + (qs + rr[h * key + d] as f64) * rk[(t - 1 - i + j) * hk + h * key + d] as f64
                            })
                            .sum()
                    })
                    .collect();
                let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
                let z: f64 = e.iter().sum();
                for c in 0..value {
                    let want: f64 = (0..t).map(|j| e[j] / z * v[(b * t + j) * hv + h * value + c] as f64).sum();
                    let g = got[(b * t + i) * hv + h * value + c] as f64;
                    assert!((g - want).abs() < 1e-5, "b {b} h {h} i {i} c {c}: {g} vs {want}");
                }
            }
        }
    }
}
