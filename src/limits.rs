//! Upper bounds on every size read from `params.json` or given as an option, so a typo such
//! as `"seq_length": 1000000000000` is a one-line error naming the key instead of an abort
//! in the allocator. The bounds are far above any model of this family: Borzoi, the
//! largest, reads 524,288 bp, has at most 1,920 channels, 7,611 output tracks, 8 heads
//! and towers of 8 blocks.

use serde_json::{Map, Value};

use crate::config::{BlockSpec, ModelParams};
use crate::error::{Error, Result};

/// Longest input a model may read (4× Borzoi's 524,288 bp).
pub const MAX_SEQ_LENGTH: u64 = 1 << 21;
/// Most channels, units, heads or tracks of one layer.
pub const MAX_CHANNELS: u64 = 1 << 16;
/// Most repeats of a block in a tower (Borzoi: 8).
pub const MAX_REPEAT: u64 = 1024;
/// Most values in one weight tensor (2^31 float32 = 8 GiB; Borzoi's largest has 15 M).
pub const MAX_WEIGHT_VALUES: u64 = 1 << 31;
/// Most sequences in one forward pass or training batch.
pub const MAX_BATCH: u64 = 1 << 16;

/// Block keys that are lengths in bp or bins.
const LENGTH_KEYS: &[&str] = &["kernel_size", "pool_size", "stride", "dilation_rate", "cropping", "seqlen_train", "out_size"];
/// Block keys that count channels, units or heads.
const WIDTH_KEYS: &[&str] =
    &["filters", "units", "qkv_width", "heads", "key_size", "value_size", "num_position_features", "divisible_by", "filters_init", "filters_end"];
/// Block keys that count repeated layers.
const REPEAT_KEYS: &[&str] = &["repeat", "num_convs", "num_layers"];

/// `value <= max`, else an error naming `what`.
pub fn at_most(value: u64, max: u64, what: &str) -> Result<()> {
    if value > max {
        return Err(Error::Input(format!("{what} {value} is larger than the limit ({max})")));
    }
    Ok(())
}

/// `1 <= value <= max`.
pub fn count(value: u64, max: u64, what: &str) -> Result<()> {
    if value == 0 {
        return Err(Error::Input(format!("{what} must be at least 1")));
    }
    at_most(value, max, what)
}

/// A fraction: finite and in [0, 1].
pub fn fraction(x: f64, what: &str) -> Result<()> {
    if !(0.0..=1.0).contains(&x) {
        return Err(Error::Input(format!("{what} {x} must be a number in [0, 1]")));
    }
    Ok(())
}

/// Every size of the `model` block: seq_length, num_features, augment_shift and each
/// block's widths, lengths and repeats.
pub fn check_model(m: &ModelParams, source: &str) -> Result<()> {
    let bad = |msg: String| Err(Error::config(source, msg));
    if m.seq_length as u64 > MAX_SEQ_LENGTH {
        return bad(format!("model.seq_length {} is larger than the limit ({MAX_SEQ_LENGTH} bp)", m.seq_length));
    }
    if let Some(n) = m.num_features.filter(|n| *n as u64 > MAX_CHANNELS) {
        return bad(format!("model.num_features {n} is larger than the limit ({MAX_CHANNELS})"));
    }
    if let Some(s) = m.augment_shift.iter().find(|s| s.unsigned_abs() >= m.seq_length as u64) {
        return bad(format!("model.augment_shift {s} is not shorter than model.seq_length ({})", m.seq_length));
    }
    let blocks = m
        .trunk
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("model.trunk[{i}]"), b))
        .chain(m.heads.iter().flat_map(|(key, bs)| bs.iter().enumerate().map(move |(i, b)| (format!("model.{key}[{i}]"), b))));
    for (at, b) in blocks {
        check_block(b, &at).map_err(|msg| Error::config(source, msg))?;
    }
    Ok(())
}

fn check_block(b: &BlockSpec, at: &str) -> std::result::Result<(), String> {
    let at = format!("{at} ({})", b.name);
    check_args(&b.args, &at)?;
    // Filters grown geometrically over a tower: init × mult^repeat.
    if let (Some(init), Some(mult)) = (num(&b.args, "filters_init"), num(&b.args, "filters_mult")) {
        let repeat = num(&b.args, "repeat").unwrap_or(1.0);
        let last = init * mult.powf(repeat);
        if !last.is_finite() || last > MAX_CHANNELS as f64 {
            return Err(format!("{at}: filters_init × filters_mult^repeat = {last:.0} is larger than the limit ({MAX_CHANNELS})"));
        }
    }
    Ok(())
}

fn num(args: &Map<String, Value>, key: &str) -> Option<f64> {
    args.get(key).and_then(Value::as_f64)
}

fn check_args(args: &Map<String, Value>, at: &str) -> std::result::Result<(), String> {
    for (key, v) in args {
        let max = if LENGTH_KEYS.contains(&key.as_str()) {
            MAX_SEQ_LENGTH
        } else if WIDTH_KEYS.contains(&key.as_str()) {
            MAX_CHANNELS
        } else if REPEAT_KEYS.contains(&key.as_str()) {
            MAX_REPEAT
        } else {
            // Nested blocks (e.g. a tower's inner arguments) carry the same keys.
            if let Value::Object(inner) = v {
                check_args(inner, &format!("{at}.{key}"))?;
            }
            continue;
        };
        let values: Vec<&Value> = match v {
            Value::Array(list) => list.iter().collect(),
            other => vec![other],
        };
        for x in values {
            if let Some(f) = x.as_f64() {
                if f > max as f64 {
                    return Err(format!("{at}: \"{key}\" {x} is larger than the limit ({max})"));
                }
            }
        }
    }
    Ok(())
}

/// Most input values of one forward pass (2^31 float32 = 8 GiB).
pub const MAX_BATCH_VALUES: u64 = 1 << 31;

/// A batch of `batch` sequences of `seq_len` × `channels` inputs must fit
/// [`MAX_BATCH_VALUES`]: a large `--batch-size` with a long model would abort allocating.
pub fn batch_input(batch: usize, seq_len: usize, channels: usize) -> Result<()> {
    count(batch as u64, MAX_BATCH, "--batch-size")?;
    let values = (batch as u64).saturating_mul(seq_len as u64).saturating_mul(channels as u64);
    if values > MAX_BATCH_VALUES {
        return Err(Error::Input(format!(
            "--batch-size {batch}: {batch} sequences of {seq_len} bp × {channels} channels are more than {MAX_BATCH_VALUES} input values per pass; use at most {}",
            (MAX_BATCH_VALUES / (seq_len as u64 * channels as u64).max(1)).max(1)
        )));
    }
    Ok(())
}

/// The number of values in a weight of `shape`, refused above [`MAX_WEIGHT_VALUES`].
pub fn weight_values(shape: &[usize], what: &str) -> Result<u64> {
    let n = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    match n {
        Some(n) if n <= MAX_WEIGHT_VALUES => Ok(n),
        _ => Err(Error::Input(format!("{what}: a weight of shape {shape:?} is larger than the limit ({MAX_WEIGHT_VALUES} values)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Params;

    fn params(model: &str) -> Result<Params> {
        Params::from_json_str(&format!(r#"{{"model": {{"activation": "relu", {model}}}}}"#), "p.json")
    }

    #[test]
    fn huge_sizes_in_params_are_named() {
        let e = params(r#""seq_length": 1000000000000, "trunk": []"#).unwrap_err().to_string();
        assert_eq!(e, "p.json: model.seq_length 1000000000000 is larger than the limit (2097152 bp)");
        let e = params(r#""seq_length": 8, "num_features": 100000000, "trunk": []"#).unwrap_err().to_string();
        assert!(e.contains("model.num_features 100000000"), "{e}");
        let e = params(r#""seq_length": 8, "augment_shift": [8], "trunk": []"#).unwrap_err().to_string();
        assert!(e.contains("model.augment_shift 8"), "{e}");
        let e = params(r#""seq_length": 8, "trunk": [{"name": "conv_dna", "filters": 10000000, "kernel_size": 3}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("model.trunk[0] (conv_dna): \"filters\" 10000000 is larger than the limit (65536)"), "{e}");
        let e = params(r#""seq_length": 8, "trunk": [{"name": "conv_dna", "filters": 4, "kernel_size": [99999999]}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"kernel_size\" 99999999"), "{e}");
        let e = params(r#""seq_length": 8, "trunk": [], "head": {"name": "final", "units": 1e9}"#).unwrap_err().to_string();
        assert!(e.contains("model.head[0] (final): \"units\""), "{e}");
        let e = params(r#""seq_length": 8, "trunk": [{"name": "res_tower", "filters_init": 64, "filters_mult": 100, "repeat": 50}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("filters_init × filters_mult^repeat"), "{e}");
        let e = params(r#""seq_length": 8, "trunk": [{"name": "res_tower", "repeat": 100000}]"#).unwrap_err().to_string();
        assert!(e.contains("\"repeat\" 100000"), "{e}");
    }

    #[test]
    fn published_sizes_pass() {
        assert!(params(r#""seq_length": 524288, "trunk": [{"name": "conv_dna", "filters": 1920, "kernel_size": 15}], "head_human": {"name": "final", "units": 7611}"#).is_ok());
    }

    #[test]
    fn option_bounds() {
        assert!(fraction(f64::NAN, "--max-n-frac").unwrap_err().to_string().contains("[0, 1]"));
        assert!(fraction(-1.0, "--max-n-frac").is_err());
        assert!(fraction(0.5, "--max-n-frac").is_ok());
        assert_eq!(count(0, 10, "--batch-size").unwrap_err().to_string(), "--batch-size must be at least 1");
        assert!(count(11, 10, "--batch-size").unwrap_err().to_string().contains("larger than the limit (10)"));
        assert!(batch_input(8, 16384, 170).is_ok());
        let e = batch_input(4096, 16384, 170).unwrap_err().to_string();
        assert!(e.starts_with("--batch-size 4096:") && e.ends_with("use at most 771"), "{e}");
        assert!(weight_values(&[1 << 20, 1 << 20, 4], "w").is_err());
        assert!(weight_values(&[usize::MAX, 2], "w").is_err());
        assert_eq!(weight_values(&[3, 4], "w").unwrap(), 12);
    }
}
