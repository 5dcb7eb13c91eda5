//! Model sequences tiled along segments, as baskerville's `data.contig_sequences` does.

use super::folds::Segment;

/// Windows of `seq_length` every `stride` bp along each segment, starting at the segment
/// start. As in `contig_sequences`, a window is kept only while its end is *strictly*
/// before the segment end, so a window ending exactly at the segment end is not made.
/// In hound_data.py `seq_length` is the cropped length (`seq_length - 2*crop`); the model
/// input extends `crop` bp beyond each side.
pub fn tile(segments: &[Segment], seq_length: u64, stride: u64) -> Vec<Segment> {
    tile_snapped(segments, seq_length, stride, 1)
}

/// [`tile`] with hound_data.py's `--snap`: the first window of a segment starts at the
/// segment start rounded up to a multiple of `snap`.
pub fn tile_snapped(segments: &[Segment], seq_length: u64, stride: u64, snap: u64) -> Vec<Segment> {
    let snap = snap.max(1);
    let stride = stride.max(1);
    let mut out = Vec::new();
    for s in segments {
        let mut start = s.start.div_ceil(snap) * snap;
        while start + seq_length < s.end {
            out.push(Segment::new(s.contig.clone(), start, start + seq_length));
            start += stride;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_strictly_inside() {
        let s = vec![Segment::new("chrI", 0, 300)];
        // 0-100, 100-200; 200-300 ends at the segment end and is dropped.
        assert_eq!(tile(&s, 100, 100), vec![Segment::new("chrI", 0, 100), Segment::new("chrI", 100, 200)]);
        let s = vec![Segment::new("chrI", 0, 301)];
        assert_eq!(tile(&s, 100, 100).len(), 3);
        // Overlapping stride; segments shorter than a window give nothing.
        let s = vec![Segment::new("a", 10, 200), Segment::new("b", 0, 50)];
        let t = tile(&s, 100, 40);
        assert_eq!(t.iter().map(|w| w.start).collect::<Vec<_>>(), vec![10, 50, 90]);
        assert!(t.iter().all(|w| w.contig == "a" && w.len() == 100));
        // Snap rounds the first start up.
        let t = tile_snapped(&[Segment::new("a", 10, 400)], 100, 100, 64);
        assert_eq!(t.iter().map(|w| w.start).collect::<Vec<_>>(), vec![64, 164, 264]);
        assert!(tile(&[], 100, 100).is_empty());
    }
}
