//! `--device cpu|cuda[:N]`, chosen at run time.

use candle_core::Device;

use crate::error::{Error, Result};

pub fn parse_device(spec: &str) -> Result<Device> {
    let spec = spec.trim();
    if spec == "cpu" {
        return Ok(Device::Cpu);
    }
    // auto: the first GPU when this build has CUDA and one answers, else the CPU.
    if spec == "auto" {
        if cfg!(feature = "cuda") {
            if let Ok(d) = Device::new_cuda(0) {
                return Ok(d);
            }
        }
        return Ok(Device::Cpu);
    }
    let ordinal = match spec {
        "cuda" | "gpu" => 0,
        s => match s.strip_prefix("cuda:") {
            Some(n) => n
                .parse::<usize>()
                .map_err(|_| Error::Input(format!("--device {spec}: bad GPU number \"{n}\"")))?,
            None => {
                return Err(Error::Input(format!(
                    "--device {spec}: expected auto, cpu, cuda or cuda:N"
                )))
            }
        },
    };
    if !cfg!(feature = "cuda") {
        return Err(Error::Input(format!(
            "--device {spec}: this build has no CUDA support; build one with `bash scripts/build-cuda` (CUDA from PyPI wheels, no GPU needed to build) or `cargo build --release --features cuda`"
        )));
    }
    Device::new_cuda(ordinal)
        .map_err(|e| Error::Input(format!("--device {spec}: cannot open GPU {ordinal}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_rejects_junk() {
        assert!(parse_device("cpu").unwrap().is_cpu());
        if !cfg!(feature = "cuda") {
            assert!(parse_device("auto").unwrap().is_cpu(), "auto without CUDA is the CPU");
        }
        assert!(parse_device("tpu").unwrap_err().to_string().contains("expected auto, cpu"));
        assert!(parse_device("cuda:x").unwrap_err().to_string().contains("bad GPU number"));
        if !cfg!(feature = "cuda") {
            let err = parse_device("cuda:1").unwrap_err().to_string();
            assert!(err.contains("no CUDA support") && err.contains("scripts/build-cuda"), "{err}");
        }
    }
}
