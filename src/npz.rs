//! NumPy `.npz` archives of float arrays (the parity fixtures' `io.npz`).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// A float array with its shape, C order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

pub fn read_npz(path: &Path) -> Result<HashMap<String, Array>> {
    let shown = path.display().to_string();
    let fail = |msg: String| Error::Input(format!("{shown}: {msg}"));
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| fail(format!("not an .npz archive ({e})")))?;
    let mut out = HashMap::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| fail(format!("entry {i}: {e}")))?;
        let name = entry.name().trim_end_matches(".npy").to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| fail(format!("{name}: {e}")))?;
        let array = parse_npy(&bytes).map_err(|msg| fail(format!("{name}: {msg}")))?;
        out.insert(name, array);
    }
    Ok(out)
}

/// Parses one `.npy` payload of little-endian f32 or f64 in C order.
pub fn parse_npy(bytes: &[u8]) -> std::result::Result<Array, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy array".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(header).map_err(|_| "non-text .npy header")?;
    let descr = dict_value(header, "descr").ok_or("no descr in .npy header")?;
    let fortran = dict_value(header, "fortran_order").ok_or("no fortran_order in .npy header")?;
    if fortran.trim() != "False" {
        return Err("Fortran-ordered arrays are not supported".into());
    }
    let shape_text = dict_value(header, "shape").ok_or("no shape in .npy header")?;
    let shape: Vec<usize> = shape_text
        .trim_matches(|c| c == '(' || c == ')' || c == ' ')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad shape {shape_text}")))
        .collect::<std::result::Result<_, _>>()?;
    // The shape comes from the file: a product or byte count that overflows is a shape
    // no file of this size can hold.
    let too_large = || format!("shape {} is too large", shape_text.trim());
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or_else(too_large)?;
    let body = &bytes[start + header_len..];
    let descr = descr.trim().trim_matches('\'');
    let needs = |width: usize| -> std::result::Result<(), String> {
        let want = count.checked_mul(width).ok_or_else(too_large)?;
        if body.len() < want {
            return Err(format!("truncated array data: {} bytes for shape {}, need {want}", body.len(), shape_text.trim()));
        }
        Ok(())
    };
    let data: Vec<f32> = match descr {
        "<f4" => {
            needs(4)?;
            body.chunks_exact(4).take(count).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        }
        "<f8" => {
            needs(8)?;
            body.chunks_exact(8)
                .take(count)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                .collect()
        }
        other => return Err(format!("unsupported dtype {other} (need <f4 or <f8)")),
    };
    Ok(Array { shape, data })
}

/// The raw text of `'key': value` in a .npy header dict (value up to the next key).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("'{key}':");
    let start = header.find(&pat)? + pat.len();
    let rest = &header[start..];
    let rest = rest.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find(',').unwrap_or(rest.len())
    };
    Some(&rest[..end])
}

/// The `.npy` header (magic, version, length, dictionary) for a little-endian f32 C-order
/// array of `shape`, padded to a multiple of 64 bytes and to at least `min_len` bytes (a
/// fixed length lets a streaming writer rewrite it once the row count is known).
pub fn npy_header(shape: &[usize], min_len: usize) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 || 10 + header.len() + 1 < min_len {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

/// One `.npy` payload: little-endian f32, C order.
pub fn npy_bytes(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let mut out = npy_header(shape, 0);
    out.reserve(4 * data.len());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Writes named f32 arrays as an `.npz` (atomically).
pub fn write_npz(path: &Path, arrays: &[(&str, Vec<usize>, &[f32])]) -> Result<()> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, shape, data) in arrays {
            let expected: usize = shape.iter().product();
            if expected != data.len() {
                return Err(Error::Other(format!("array {name}: shape {shape:?} does not hold {} values", data.len())));
            }
            let fail = |e: String| Error::Other(format!("{}: {e}", path.display()));
            zip.start_file(format!("{name}.npy"), opts).map_err(|e| fail(e.to_string()))?;
            zip.write_all(&npy_bytes(shape, data)).map_err(|e| fail(e.to_string()))?;
        }
        zip.finish().map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
    }
    crate::io::write_atomic(path, &buf.into_inner())
}

#[cfg(test)]
mod write_tests {
    use super::*;

    /// A .npy payload with a hand-written header dictionary (and no data).
    fn npy_with_header(dict: &str) -> Vec<u8> {
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out
    }

    #[test]
    fn shapes_that_overflow_are_errors() {
        for shape in ["(4294967296, 4294967296)", "(9223372036854775807,)", "(4611686018427387904,)"] {
            for descr in ["<f4", "<f8"] {
                let bytes = npy_with_header(&format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"));
                let err = parse_npy(&bytes).unwrap_err();
                assert!(err.contains("too large"), "{shape} {descr}: {err}");
            }
        }
        let short = npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
        assert!(parse_npy(&short).unwrap_err().contains("truncated array data: 0 bytes for shape (2, 3), need 24"));
    }

    #[test]
    fn written_arrays_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npz");
        let data: Vec<f32> = (0..24).map(|i| i as f32 * 0.5).collect();
        write_npz(&p, &[("x", vec![2, 3, 4], &data), ("v", vec![3], &data[..3])]).unwrap();
        let back = read_npz(&p).unwrap();
        assert_eq!(back["x"].shape, vec![2, 3, 4]);
        assert_eq!(back["x"].data, data);
        assert_eq!(back["v"].shape, vec![3]);
        assert!(write_npz(&p, &[("bad", vec![5], &data[..3])]).is_err());
    }
}
