//! Bases as indexes: A, C, G, T -> 0..4 (either case); anything else has none. Complements
//! of base letters.

pub fn base_index(b: u8) -> Option<usize> {
    match b.to_ascii_uppercase() {
        b'A' => Some(0),
        b'C' => Some(1),
        b'G' => Some(2),
        b'T' => Some(3),
        _ => None,
    }
}

/// The complementary base, keeping case; anything but A/C/G/T is N.
pub fn complement(b: u8) -> u8 {
    match b {
        b'A' => b'T',
        b'C' => b'G',
        b'G' => b'C',
        b'T' => b'A',
        b'a' => b't',
        b'c' => b'g',
        b'g' => b'c',
        b't' => b'a',
        _ => b'N',
    }
}

/// The reverse complement of a base sequence (see [`complement`]).
pub fn reverse_complement(seq: &[u8]) -> Vec<u8> {
    seq.iter().rev().map(|&b| complement(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_complement_keeps_case_and_maps_the_rest_to_n() {
        assert_eq!(reverse_complement(b"AACgtR"), b"NacGTT".to_vec());
    }
}
