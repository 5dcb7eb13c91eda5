//! Attribution logo row: per-position A/C/G/T contributions drawn as stacked letters.
//!
//! Each letter is a `<text>` glyph set at font size 100, forced to a fixed advance with
//! `textLength`/`lengthAdjust="spacingAndGlyphs"`, then placed and sized with
//! `transform="translate(x, y) scale(sx, sy)"`: `sx` fits the glyph to one position's column,
//! `sy` makes the letter's cap height equal to `|score|` in pixels of the row's scale.
//! Positive contributions stack upwards from a shared baseline (largest on top), negative
//! ones stack downwards (largest magnitude at the bottom), glyphs upright in both cases.
//!
//! **Bar mode.** When a position gets fewer than [`MIN_PX_PER_LETTER`] pixels (more than
//! about one position per 3 px) letters would be unreadable, so each position is drawn as a
//! single bar whose signed height is the sum of its four scores, coloured by the base with
//! the largest |score|. When there are even more positions than pixels, positions falling in
//! the same 1-px column are pooled by keeping the one with the largest |sum| (max-abs pooling,
//! so isolated peaks stay visible instead of being averaged away).
//!
//! Non-finite scores count as 0. Positions outside the requested genome range are clipped.

use super::svg::{px, GenomeScale};

/// Per-position attribution scores starting at genome coordinate `start` (0-based).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logo {
    pub start: i64,
    /// Per position: A, C, G, T contribution (e.g. importance × one-hot, where only the
    /// reference base is nonzero, or mean-centred hypothetical scores).
    pub scores: Vec<[f32; 4]>,
}

/// Letters in score-column order.
pub const BASES: [char; 4] = ['A', 'C', 'G', 'T'];
/// Standard base colours: A green, C blue, G orange, T red.
pub const COLORS: [&str; 4] = ["#109648", "#255C99", "#F7B32B", "#D62839"];
/// Below this many pixels per position the row switches from letters to bars.
pub const MIN_PX_PER_LETTER: f64 = 3.0;

/// Font size the glyphs are set at before scaling.
pub const GLYPH_FONT_SIZE: f64 = 100.0;
/// Advance width every glyph is forced to (via `textLength`) at [`GLYPH_FONT_SIZE`].
pub const GLYPH_WIDTH: f64 = 60.0;
/// Approximate cap height of a bold sans-serif capital at [`GLYPH_FONT_SIZE`]; `sy` is
/// `letter height in px / GLYPH_CAP_HEIGHT`.
pub const GLYPH_CAP_HEIGHT: f64 = 72.0;

impl Logo {
    pub fn end(&self) -> i64 {
        self.start + self.scores.len() as i64
    }

    /// Scores at genome position `pos` with non-finite entries replaced by 0.
    fn at(&self, pos: i64) -> [f64; 4] {
        let s = self.scores[(pos - self.start) as usize];
        s.map(|v| if v.is_finite() { v as f64 } else { 0.0 })
    }
}

/// Draw `logo` into the box `[x0, x0 + width] × [y0, y0 + height]`, where the half-open
/// genome range `range = (start, end)` spans the box's width (the same map as the tracks
/// above it, so columns line up). Appends a `<g class="logo">` group to `svg`.
pub fn render_into(svg: &mut String, logo: &Logo, x0: f64, y0: f64, width: f64, height: f64, range: (i64, i64)) {
    let scale = GenomeScale::new(range.0, range.1, x0, width);
    let vis = scale.clip(logo.start, logo.end());
    let letters = scale.px_per_bp() >= MIN_PX_PER_LETTER;

    // Extent above / below the baseline, in score units.
    let (mut up, mut down) = (0f64, 0f64);
    if let Some((a, b)) = vis {
        for p in a..b {
            let s = logo.at(p);
            if letters {
                up = up.max(s.iter().filter(|v| **v > 0.0).sum());
                down = down.max(-s.iter().filter(|v| **v < 0.0).sum::<f64>());
            } else {
                let t: f64 = s.iter().sum();
                up = up.max(t);
                down = down.max(-t);
            }
        }
    }
    let total = up + down;
    let k = if total > 0.0 { height / total } else { 0.0 };
    let base_y = if total > 0.0 { y0 + up * k } else { y0 + height / 2.0 };

    svg.push_str(&format!("<g class=\"logo\" data-mode=\"{}\">\n", if letters { "letters" } else { "bars" }));
    svg.push_str(&format!(
        "<line class=\"logo-baseline\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\" stroke-width=\"0.5\"/>\n",
        px(x0),
        px(base_y),
        px(x0 + width),
        px(base_y)
    ));
    if let (Some((a, b)), true) = (vis, k > 0.0) {
        if letters {
            draw_letters(svg, logo, &scale, a, b, base_y, k);
        } else {
            draw_bars(svg, logo, &scale, a, b, base_y, k);
        }
    }
    svg.push_str("</g>\n");
}

fn draw_letters(svg: &mut String, logo: &Logo, scale: &GenomeScale, a: i64, b: i64, base_y: f64, k: f64) {
    let col = scale.px_per_bp();
    let sx = col * 0.94 / GLYPH_WIDTH;
    for p in a..b {
        let s = logo.at(p);
        let x = scale.x(p as f64) + col * 0.03;
        let mut order: Vec<usize> = (0..4).filter(|&i| s[i] != 0.0).collect();
        // Smallest magnitude nearest the baseline.
        order.sort_by(|&i, &j| s[i].abs().total_cmp(&s[j].abs()));
        let (mut above, mut below) = (0.0, 0.0);
        for i in order {
            let h = s[i].abs() * k;
            if h < 0.01 {
                continue;
            }
            // `<text>` is anchored at its baseline, i.e. the bottom of the letter.
            let bottom = if s[i] > 0.0 {
                let y = base_y - above;
                above += h;
                y
            } else {
                below += h;
                base_y + below
            };
            svg.push_str(&format!(
                "<text class=\"logo-letter\" data-pos=\"{p}\" transform=\"translate({},{}) scale({:.5},{:.5})\" font-size=\"{}\" font-weight=\"bold\" textLength=\"{}\" lengthAdjust=\"spacingAndGlyphs\" fill=\"{}\">{}</text>\n",
                px(x),
                px(bottom),
                sx,
                h / GLYPH_CAP_HEIGHT,
                GLYPH_FONT_SIZE,
                GLYPH_WIDTH,
                COLORS[i],
                BASES[i]
            ));
        }
    }
}

fn draw_bars(svg: &mut String, logo: &Logo, scale: &GenomeScale, a: i64, b: i64, base_y: f64, k: f64) {
    // (x, width, summed score, dominant base) per drawn bar.
    let mut bars: Vec<(f64, f64, f64, usize)> = Vec::new();
    let dominant = |s: &[f64; 4]| (0..4).max_by(|&i, &j| s[i].abs().total_cmp(&s[j].abs())).unwrap_or(0);
    if scale.px_per_bp() >= 1.0 {
        for p in a..b {
            let s = logo.at(p);
            let x = scale.x(p as f64);
            bars.push((x, scale.px_per_bp(), s.iter().sum(), dominant(&s)));
        }
    } else {
        // Max-abs pooling into 1-px columns.
        let mut cur: Option<(i64, f64, usize)> = None;
        for p in a..b {
            let colx = (scale.x(p as f64) - scale.x0).floor() as i64;
            let s = logo.at(p);
            let t: f64 = s.iter().sum();
            match cur {
                Some((c, v, _)) if c == colx => {
                    if t.abs() > v.abs() {
                        cur = Some((c, t, dominant(&s)));
                    }
                }
                _ => {
                    if let Some((c, v, d)) = cur {
                        bars.push((scale.x0 + c as f64, 1.0, v, d));
                    }
                    cur = Some((colx, t, dominant(&s)));
                }
            }
        }
        if let Some((c, v, d)) = cur {
            bars.push((scale.x0 + c as f64, 1.0, v, d));
        }
    }
    for (x, w, v, d) in bars {
        let h = v.abs() * k;
        if h < 0.01 {
            continue;
        }
        let top = if v > 0.0 { base_y - h } else { base_y };
        svg.push_str(&format!(
            "<rect class=\"logo-bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n",
            px(x),
            px(top),
            px(w),
            px(h),
            COLORS[d]
        ));
    }
}
