//! Mutations: byte-level ones for every format, and structure-aware ones for text tables
//! (lines and fields, numbers made huge, negative or NaN) and for JSON (any node replaced,
//! removed, duplicated or renamed). Every mutation is a pure function of the RNG state.

use serde_json::Value;

use crate::rng::Rng;

/// How a target's input is shaped, which decides the mutations worth trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Binary containers (HDF5, safetensors, NPY/NPZ, BCF, BGZF).
    Binary,
    /// Line-based text tables (VCF, BED, GTF, FASTA, .fai, sheets).
    Text,
    /// JSON documents (params.json).
    Json,
}

/// Field values that break parsers: empty, signs, overflows, NaN/inf, non-UTF-8, separators.
pub const TEXT_TOKENS: &[&[u8]] = &[
    b"", b"0", b"-0", b"-1", b"1", b"2", b"-2147483649", b"2147483648", b"4294967296",
    b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
    b"18446744073709551615", b"18446744073709551616", b"99999999999999999999999999",
    b"1000000000000", b"1e12", b"1e308", b"1e309", b"-1e308", b"1e-320", b"NaN", b"nan", b"-nan", b"inf",
    b"-inf", b"Infinity", b"0x10", b"1.5", b".", b"*", b"-", b"+", b"\xff\xfe", b"\xc3\xa9", b"\xc3",
    b"\t", b" ", b",", b";", b"=", b"\"", b"'", b"#", b">", b"\r", b"\0", b"N", b"chrI", b"<DEL>",
    b"A,C,G,T,N", b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
];

const INTERESTING_INTS: &[u64] = &[
    0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127, 128, 255, 256, 512, 1000, 1024, 4096, 0x7fff,
    0x8000, 0xffff, 0x1_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, 0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000, u64::MAX, u64::MAX - 1,
];

/// One mutated copy of `input`; `other` is a second pool entry for splicing. The result
/// is at most `max_len` bytes.
pub fn mutate(rng: &mut Rng, flavour: Flavour, input: &[u8], other: &[u8], max_len: usize) -> Vec<u8> {
    let mut data = input.to_vec();
    // Stacked mutations, mostly one or two: several at once reach states a single
    // change cannot (a length field and the data it counts).
    let rounds = 1 + rng.small_len(8).min(8) / 2;
    for _ in 0..rounds {
        data = match flavour {
            Flavour::Json => match rng.below(10) {
                0..=5 => json_mutation(rng, &data, other).unwrap_or_else(|| text_mutation(rng, &data, other)),
                6..=8 => text_mutation(rng, &data, other),
                _ => byte_mutation(rng, &data, other),
            },
            Flavour::Text => match rng.below(10) {
                0..=6 => text_mutation(rng, &data, other),
                _ => byte_mutation(rng, &data, other),
            },
            // Binary formats here carry text headers (NPY's dictionary, safetensors' and
            // Keras' JSON): their numbers are worth changing as numbers.
            Flavour::Binary => match rng.below(5) {
                0 => number_mutation(rng, &data).unwrap_or_else(|| byte_mutation(rng, &data, other)),
                _ => byte_mutation(rng, &data, other),
            },
        };
        data.truncate(max_len);
    }
    data
}

/// A position biased towards the start, where headers and length fields live.
fn position(rng: &mut Rng, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    match rng.below(3) {
        0 => rng.below(len.min(256)),
        1 => rng.below(len.min(4096)),
        _ => rng.below(len),
    }
}

pub fn byte_mutation(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = input.to_vec();
    let len = d.len();
    match rng.below(12) {
        // Flip one bit.
        0 if len > 0 => {
            let p = position(rng, len);
            d[p] ^= 1 << rng.below(8);
        }
        // Set a byte to a random or boundary value.
        1 if len > 0 => {
            let p = position(rng, len);
            d[p] = match rng.below(3) {
                0 => rng.next_u64() as u8,
                1 => *rng.pick(&[0u8, 1, 0x7f, 0x80, 0xff, b'\n', b'\t', b' ', b'0', b'9']),
                _ => d[p].wrapping_add(1 + rng.below(4) as u8).wrapping_sub(2),
            };
        }
        // Overwrite an integer field (1, 2, 4 or 8 bytes, little- or big-endian).
        2 | 3 if len > 0 => {
            let width = *rng.pick(&[1usize, 2, 4, 8]);
            let mut v = *rng.pick(INTERESTING_INTS);
            if rng.chance(4) {
                v = (len as u64).wrapping_add(rng.below(5) as u64).wrapping_sub(2);
            }
            let bytes = if rng.chance(4) { v.to_be_bytes()[8 - width..].to_vec() } else { v.to_le_bytes()[..width].to_vec() };
            let p = position(rng, len);
            for (i, b) in bytes.into_iter().enumerate() {
                if let Some(slot) = d.get_mut(p + i) {
                    *slot = b;
                }
            }
        }
        // Add to or subtract from an existing little-endian integer.
        4 if len >= 4 => {
            let p = position(rng, len - 3);
            let mut w = [0u8; 4];
            w.copy_from_slice(&d[p..p + 4]);
            let delta = rng.below(33) as i64 - 16;
            let v = (u32::from_le_bytes(w) as i64 + delta) as u32;
            d[p..p + 4].copy_from_slice(&v.to_le_bytes());
        }
        // Insert random or repeated bytes.
        5 => {
            let p = position(rng, len + 1).min(len);
            let n = rng.small_len(64);
            let fill: Vec<u8> = if rng.chance(2) {
                (0..n).map(|_| rng.next_u64() as u8).collect()
            } else {
                vec![*rng.pick(&[0u8, 0xff, b'A', b'\n', b'0']); n]
            };
            d.splice(p..p, fill);
        }
        // Delete a range.
        6 if len > 0 => {
            let p = position(rng, len);
            let n = rng.small_len(len - p);
            d.drain(p..(p + n).min(len));
        }
        // Duplicate a range in place.
        7 if len > 0 => {
            let p = position(rng, len);
            let n = rng.small_len(len - p);
            let chunk = d[p..(p + n).min(len)].to_vec();
            d.splice(p..p, chunk);
        }
        // Copy a range from elsewhere in the input over another place.
        8 if len > 1 => {
            let (a, b) = (rng.below(len), position(rng, len));
            let n = rng.small_len(len - a.max(b));
            let chunk = d[a..a + n].to_vec();
            d[b..b + n].copy_from_slice(&chunk);
        }
        // Truncate.
        9 if len > 0 => {
            d.truncate(rng.below(len));
        }
        // Splice: our head with the other input's tail.
        10 if !other.is_empty() => {
            let cut = rng.below(len + 1);
            let from = rng.below(other.len());
            d.truncate(cut);
            d.extend_from_slice(&other[from..]);
        }
        // Insert a text token (numbers and separators matter in binary headers too).
        _ => {
            let p = position(rng, len + 1).min(len);
            let token = rng.pick(TEXT_TOKENS).to_vec();
            d.splice(p..p, token);
        }
    }
    d
}

/// Byte ranges of lines (line ending included).
fn line_spans(d: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in d.iter().enumerate() {
        if *b == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < d.len() {
        out.push((start, d.len()));
    }
    out
}

/// Byte ranges of the numbers in `d` (digits with an optional sign and fraction).
fn number_spans(d: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < d.len() {
        if d[i].is_ascii_digit() {
            let mut s = i;
            if s > 0 && d[s - 1] == b'-' {
                s -= 1;
            }
            while i < d.len() && (d[i].is_ascii_digit() || d[i] == b'.' || d[i] == b'e' || d[i] == b'E') {
                i += 1;
            }
            out.push((s, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Byte ranges of the fields of one line (split on tabs, else on spaces, commas or `;`).
fn field_spans(line: &[u8]) -> Vec<(usize, usize)> {
    let sep: &[u8] = if line.contains(&b'\t') { b"\t" } else { b" ,;" };
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in line.iter().enumerate() {
        if sep.contains(b) || *b == b'\n' || *b == b'\r' {
            out.push((start, i));
            start = i + 1;
        }
    }
    if start <= line.len() {
        out.push((start, line.len()));
    }
    out
}

/// Replaces a number written in text with a boundary value, or nudges it.
fn number_mutation(rng: &mut Rng, input: &[u8]) -> Option<Vec<u8>> {
    let mut d = input.to_vec();
    let nums = number_spans(&d);
    if nums.is_empty() {
        return None;
    }
    let (s, e) = nums[rng.below(nums.len())];
    let text = String::from_utf8_lossy(&d[s..e]).to_string();
    let replacement: Vec<u8> = match (rng.below(4), text.parse::<i128>()) {
        // Saturating: the input may already hold a number at i128's edge.
        (0, Ok(v)) => v.saturating_add(rng.below(5) as i128 - 2).to_string().into_bytes(),
        (1, Ok(v)) => (v.saturating_mul(1 << rng.below(40))).to_string().into_bytes(),
        (2, Ok(v)) => v.checked_neg().unwrap_or(i128::MAX).to_string().into_bytes(),
        _ => rng.pick(TEXT_TOKENS).to_vec(),
    };
    d.splice(s..e, replacement);
    Some(d)
}

pub fn text_mutation(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = input.to_vec();
    let lines = line_spans(&d);
    if lines.is_empty() {
        return byte_mutation(rng, input, other);
    }
    let pick_line = |rng: &mut Rng| lines[rng.below(lines.len())];
    match rng.below(11) {
        0..=2 => return number_mutation(rng, &d).unwrap_or_else(|| byte_mutation(rng, input, other)),
        // Replace, delete or duplicate one field of a line.
        3..=5 => {
            let (ls, le) = pick_line(rng);
            let fields = field_spans(&d[ls..le]);
            let (fs, fe) = fields[rng.below(fields.len())];
            let (fs, fe) = (ls + fs, ls + fe);
            match rng.below(4) {
                0 => {
                    d.drain(fs..(fe + 1).min(le));
                }
                1 => {
                    let mut chunk = d[fs..fe].to_vec();
                    chunk.push(if d[ls..le].contains(&b'\t') { b'\t' } else { b' ' });
                    d.splice(fs..fs, chunk);
                }
                _ => {
                    let token = rng.pick(TEXT_TOKENS).to_vec();
                    d.splice(fs..fe, token);
                }
            }
        }
        // Delete a line.
        6 => {
            let (s, e) = pick_line(rng);
            d.drain(s..e);
        }
        // Duplicate a line (a repeated record), next to itself or elsewhere.
        7 => {
            let (s, e) = pick_line(rng);
            let mut chunk = d[s..e].to_vec();
            if !chunk.ends_with(b"\n") {
                chunk.push(b'\n');
            }
            let at = if rng.chance(2) { s } else { pick_line(rng).0 };
            d.splice(at..at, chunk);
        }
        // Swap two lines (order matters for sorted inputs and headers).
        8 => {
            let (a, b) = (pick_line(rng), pick_line(rng));
            let (first, second) = if a.0 <= b.0 { (a, b) } else { (b, a) };
            if first != second {
                let mut out = d[..first.0].to_vec();
                out.extend_from_slice(&d[second.0..second.1]);
                if !d[second.0..second.1].ends_with(b"\n") {
                    out.push(b'\n');
                }
                out.extend_from_slice(&d[first.1..second.0]);
                out.extend_from_slice(&d[first.0..first.1]);
                out.extend_from_slice(&d[second.1..]);
                d = out;
            }
        }
        // Insert a line of the other input, an empty line or a comment.
        9 => {
            let olines = line_spans(other);
            let line: Vec<u8> = match rng.below(3) {
                0 if !olines.is_empty() => {
                    let (s, e) = olines[rng.below(olines.len())];
                    let mut l = other[s..e].to_vec();
                    if !l.ends_with(b"\n") {
                        l.push(b'\n');
                    }
                    l
                }
                1 => b"\n".to_vec(),
                _ => rng.pick(&[&b"#\n"[..], b"track name=x\n", b">\n", b"\r\n", b" \t \n"]).to_vec(),
            };
            let at = pick_line(rng).0;
            d.splice(at..at, line);
        }
        // Line endings, or cut in the middle of a line.
        _ => {
            if rng.chance(2) {
                let mut out = Vec::with_capacity(d.len() + lines.len());
                for b in d {
                    if b == b'\n' {
                        out.push(b'\r');
                    }
                    out.push(b);
                }
                d = out;
            } else {
                let (s, e) = pick_line(rng);
                d.truncate(s + rng.below(e - s + 1));
            }
        }
    }
    d
}

/// JSON values that a params reader must refuse or bound.
fn interesting_json(rng: &mut Rng) -> Value {
    let text = *rng.pick(&[
        "0", "-1", "1", "2", "3", "-0.5", "0.5", "1e12", "-1e12", "1e308", "-1e308", "1e-300", "4294967296",
        "9223372036854775807", "-9223372036854775808", "18446744073709551615", "1000000", "65536", "null",
        "true", "false", "\"\"", "\"relu\"", "\"gelu\"", "\"NaN\"", "\"same\"", "\"valid\"", "[]", "{}", "[0]",
        "[-1, 1]", "[1e12]", "{\"name\": \"conv_dna\"}", "{\"name\": \"final\", \"units\": 1}",
        "{\"name\": \"unet_conv\"}", "{\"name\": \"transformer_tower\"}", "{\"name\": \"res_tower\"}",
    ]);
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// JSON pointers of every node.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        _ => {}
    }
}

fn parent_and_key(pointer: &str) -> (&str, String) {
    let cut = pointer.rfind('/').unwrap_or(0);
    (&pointer[..cut], pointer[cut + 1..].replace("~1", "/").replace("~0", "~"))
}

pub fn json_mutation(rng: &mut Rng, input: &[u8], other: &[u8]) -> Option<Vec<u8>> {
    let mut root: Value = serde_json::from_slice(input).ok()?;
    let mut all = Vec::new();
    pointers(&root, String::new(), &mut all);
    if all.is_empty() {
        return None;
    }
    let target = all[rng.below(all.len())].clone();
    let (parent_ptr, key) = parent_and_key(&target);
    match rng.below(6) {
        // Replace a node with a boundary value.
        0..=2 => {
            let new = interesting_json(rng);
            *root.pointer_mut(&target)? = new;
        }
        // Remove a node.
        3 => match root.pointer_mut(parent_ptr)? {
            Value::Object(m) => {
                m.remove(&key);
            }
            Value::Array(a) => {
                let i: usize = key.parse().ok()?;
                if i < a.len() {
                    a.remove(i);
                }
            }
            _ => return None,
        },
        // Duplicate a node: a repeated list element, or a copy under a new key.
        4 => {
            let copy = root.pointer(&target)?.clone();
            match root.pointer_mut(parent_ptr)? {
                Value::Object(m) => {
                    let name = if rng.chance(2) { format!("{key}2") } else { (*rng.pick(&["head", "head0", "trunk", "name", "seq_length", "units"])).to_string() };
                    m.insert(name, copy);
                }
                Value::Array(a) => {
                    let times = if rng.chance(4) { 1 + rng.below(64) } else { 1 };
                    for _ in 0..times {
                        a.push(copy.clone());
                    }
                }
                _ => return None,
            }
        }
        // Graft a node of the other document (or the other input's text as a string).
        _ => {
            let graft = match serde_json::from_slice::<Value>(other) {
                Ok(o) => {
                    let mut theirs = Vec::new();
                    pointers(&o, String::new(), &mut theirs);
                    if theirs.is_empty() {
                        o
                    } else {
                        o.pointer(&theirs[rng.below(theirs.len())]).cloned().unwrap_or(Value::Null)
                    }
                }
                Err(_) => Value::String(String::from_utf8_lossy(&other[..other.len().min(32)]).to_string()),
            };
            *root.pointer_mut(&target)? = graft;
        }
    }
    let text = if rng.chance(2) { serde_json::to_vec_pretty(&root) } else { serde_json::to_vec(&root) };
    text.ok()
}
