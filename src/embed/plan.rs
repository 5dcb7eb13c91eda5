//! The model windows one sequence needs, and which layer positions of each are pooled
//! (see the module docs of [`crate::embed`]).

use std::ops::Range;

use super::Pool;

/// A model window: where it starts relative to the sequence's first base (negative: it
/// begins before the sequence), and the layer positions pooled from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub positions: Range<usize>,
}

/// Windows for a sequence of `len` bases with a model of `seq_len` bases whose layer
/// has one position per `stride` bases.
pub fn plan_windows(len: usize, seq_len: usize, stride: usize, pool: Pool) -> Vec<Window> {
    let positions = seq_len / stride;
    // Positions overlapping bases [from, to) of a window.
    let covering = |from: usize, to: usize| from / stride..to.div_ceil(stride).min(positions);
    if pool == Pool::ClsBin {
        // Centred the way a short sequence is, then the position holding the centre base.
        let start = if len <= seq_len { -(((seq_len - len) / 2) as i64) } else { ((len - seq_len) / 2) as i64 };
        let centre = ((len / 2) as i64 - start) as usize / stride;
        return vec![Window { start, positions: centre..centre + 1 }];
    }
    if len <= seq_len {
        let offset = (seq_len - len) / 2;
        return vec![Window { start: -(offset as i64), positions: covering(offset, offset + len) }];
    }
    (0..len.div_ceil(seq_len))
        .map(|t| {
            let start = t * seq_len;
            Window { start: start as i64, positions: covering(0, (len - start).min(seq_len)) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_sequences_sit_centred_in_one_window() {
        // 100 bases in a 1024-bp window: offset 462, positions 28..36 of 16 bp each
        // (448..576 covers 462..562).
        let w = plan_windows(100, 1024, 16, Pool::Mean);
        assert_eq!(w, vec![Window { start: -462, positions: 28..36 }]);
        let w = plan_windows(1024, 1024, 16, Pool::Max);
        assert_eq!(w, vec![Window { start: 0, positions: 0..64 }]);
    }

    #[test]
    fn long_sequences_tile_and_every_base_is_covered_once() {
        let w = plan_windows(2500, 1024, 16, Pool::None);
        assert_eq!(
            w,
            vec![
                Window { start: 0, positions: 0..64 },
                Window { start: 1024, positions: 0..64 },
                Window { start: 2048, positions: 0..29 },
            ]
        );
        let covered: usize = w.iter().map(|w| w.positions.len()).sum();
        assert_eq!(covered, 2500usize.div_ceil(16));
    }

    #[test]
    fn the_cls_bin_window_is_centred_on_the_sequence() {
        for len in [1, 100, 1023, 1024, 5000] {
            let w = plan_windows(len, 1024, 16, Pool::ClsBin);
            assert_eq!(w.len(), 1);
            // The chosen position holds the sequence's centre base, near the window's middle.
            let p = w[0].positions.start as i64;
            let centre = w[0].start + p * 16;
            assert!((centre..centre + 16).contains(&((len / 2) as i64)), "len {len}");
            assert!((31..=32).contains(&p), "len {len}: position {p}");
        }
        assert_eq!(plan_windows(1024, 1024, 16, Pool::ClsBin), vec![Window { start: 0, positions: 32..33 }]);
    }
}
