//! Square-matrix heatmap (e.g. a group × group distance matrix) and a multi-profile line
//! chart (e.g. one ISM importance profile per time-point group).
//!
//! Heatmap colours run white → `#6BAED6` → dark blue `#08306B` from the smallest to the
//! largest finite value (every RGB channel decreases monotonically, so larger values are
//! always darker). A constant matrix is drawn in the mid colour. Non-finite cells (NaN, ±inf)
//! are grey ([`NAN_COLOR`]). Missing cells of ragged rows count as NaN. Cell values are
//! printed when the matrix is at most [`MAX_ANNOTATED`] × [`MAX_ANNOTATED`].

use super::svg::{self, fmt_bp, fmt_num, px};

/// Colour of non-finite cells.
pub const NAN_COLOR: &str = "#A0A0A0";
/// Largest matrix side that still gets its values printed in the cells.
pub const MAX_ANNOTATED: usize = 12;
/// Line colours for [`render_profiles`], cycled.
pub const PALETTE: [&str; 10] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

const STOPS: [(f64, [f64; 3]); 3] = [(0.0, [255.0, 255.0, 255.0]), (0.5, [107.0, 174.0, 214.0]), (1.0, [8.0, 48.0, 107.0])];

/// Sequential colour for `t` in `[0, 1]` (clamped) as `#RRGGBB`.
pub fn color(t: f64) -> String {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let (lo, hi) = if t <= STOPS[1].0 { (STOPS[0], STOPS[1]) } else { (STOPS[1], STOPS[2]) };
    let f = (t - lo.0) / (hi.0 - lo.0);
    let c: Vec<u8> = (0..3).map(|i| (lo.1[i] + (hi.1[i] - lo.1[i]) * f).round() as u8).collect();
    format!("#{:02X}{:02X}{:02X}", c[0], c[1], c[2])
}

fn cell(matrix: &[Vec<f64>], i: usize, j: usize) -> f64 {
    matrix.get(i).and_then(|r| r.get(j)).copied().unwrap_or(f64::NAN)
}

fn label_of(labels: &[String], i: usize) -> String {
    labels.get(i).cloned().unwrap_or_else(|| i.to_string())
}

/// Render `matrix` (rows × columns, both indexed by `labels`) as a standalone SVG document.
/// The matrix side is the larger of the row count and the longest row.
pub fn render(title: &str, labels: &[String], matrix: &[Vec<f64>], value_label: &str) -> String {
    let n = matrix.len().max(matrix.iter().map(|r| r.len()).max().unwrap_or(0));
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in matrix.iter().flatten().filter(|v| v.is_finite()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let has_data = lo <= hi;
    let t_of = |v: f64| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };

    let cs = if n == 0 { 40.0 } else { (480.0 / n as f64).clamp(2.0, 40.0) };
    let show_labels = cs >= 6.0;
    let font = (cs * 0.8).min(11.0);
    let shown: Vec<String> = (0..n).map(|i| svg::truncate(&label_of(labels, i), 20)).collect();
    let label_w = if show_labels { shown.iter().map(|s| s.chars().count()).max().unwrap_or(0) as f64 * font * 0.62 + 8.0 } else { 8.0 };
    let size = n as f64 * cs;
    let x0 = label_w.max(40.0);
    let y0 = 36.0 + label_w;
    let bar_h = size.max(120.0);
    let bar_x = x0 + size + 24.0;
    let w = bar_x + 14.0 + 90.0;
    let h = y0 + bar_h + 24.0;

    let mut out = svg::open(w, h);
    out.push_str(&format!("<text x=\"10\" y=\"22\" font-size=\"15\">{}</text>\n", svg::label(title, 80)));
    for i in 0..n {
        for j in 0..n {
            let v = cell(matrix, i, j);
            let fill = if v.is_finite() { color(t_of(v)) } else { NAN_COLOR.to_string() };
            out.push_str(&format!(
                "<rect class=\"cell\" data-row=\"{i}\" data-col=\"{j}\" x=\"{}\" y=\"{}\" width=\"{c}\" height=\"{c}\" fill=\"{fill}\" stroke=\"#e0e0e0\" stroke-width=\"0.5\"/>\n",
                px(x0 + j as f64 * cs),
                px(y0 + i as f64 * cs),
                c = px(cs)
            ));
            if n <= MAX_ANNOTATED {
                let ink = if v.is_finite() && t_of(v) > 0.55 { "white" } else { "black" };
                out.push_str(&format!(
                    "<text class=\"cell-value\" x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" fill=\"{ink}\">{}</text>\n",
                    px(x0 + (j as f64 + 0.5) * cs),
                    px(y0 + (i as f64 + 0.5) * cs + 3.5),
                    svg::escape(&fmt_num(v))
                ));
            }
        }
    }
    if show_labels {
        for (i, l) in shown.iter().enumerate() {
            let l = svg::escape(l);
            let cy = y0 + (i as f64 + 0.5) * cs + font * 0.35;
            out.push_str(&format!("<text class=\"row-label\" x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"end\">{l}</text>\n", px(x0 - 4.0), px(cy), px(font)));
            let cx = x0 + (i as f64 + 0.5) * cs + font * 0.35;
            let ly = y0 - 4.0;
            out.push_str(&format!(
                "<text class=\"col-label\" x=\"{x}\" y=\"{y}\" font-size=\"{}\" transform=\"rotate(-90 {x} {y})\">{l}</text>\n",
                px(font),
                x = px(cx),
                y = px(ly)
            ));
        }
    }
    // Colour bar: 40 steps, largest value at the top.
    let steps = 40;
    for k in 0..steps {
        let t = 1.0 - (k as f64 + 0.5) / steps as f64;
        out.push_str(&format!(
            "<rect class=\"colorbar\" x=\"{}\" y=\"{}\" width=\"14\" height=\"{}\" fill=\"{}\"/>\n",
            px(bar_x),
            px(y0 + k as f64 * bar_h / steps as f64),
            px(bar_h / steps as f64 + 0.3),
            color(t)
        ));
    }
    out.push_str(&format!("<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"{}\" fill=\"none\" stroke=\"#666\" stroke-width=\"0.5\"/>\n", px(bar_x), px(y0), px(bar_h)));
    let (max_s, min_s) = if has_data { (fmt_num(hi), fmt_num(lo)) } else { ("no data".to_string(), String::new()) };
    out.push_str(&format!("<text class=\"colorbar-max\" x=\"{}\" y=\"{}\" font-size=\"10\">{}</text>\n", px(bar_x + 18.0), px(y0 + 8.0), svg::escape(&max_s)));
    out.push_str(&format!("<text class=\"colorbar-min\" x=\"{}\" y=\"{}\" font-size=\"10\">{}</text>\n", px(bar_x + 18.0), px(y0 + bar_h), svg::escape(&min_s)));
    let (vx, vy) = (bar_x + 68.0, y0 + bar_h / 2.0);
    out.push_str(&format!(
        "<text x=\"{x}\" y=\"{y}\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 {x} {y})\">{}</text>\n",
        svg::label(value_label, 40),
        x = px(vx),
        y = px(vy)
    ));
    if n == 0 {
        out.push_str(&format!("<text x=\"{}\" y=\"{}\" fill=\"#888\" font-size=\"11\">empty matrix</text>\n", px(x0), px(y0 + 20.0)));
    }
    svg::close(&mut out);
    out
}

/// Several per-position profiles on one chart: profile `k` (named `labels[k]`, or its index)
/// has value `profiles[k][i]` at genome position `x_start + i`. Non-finite values break the
/// line; a run of one finite value is drawn as a dot. Colours cycle through [`PALETTE`].
pub fn render_profiles(title: &str, x_start: i64, labels: &[String], profiles: &[Vec<f64>]) -> String {
    let (w, ml, mr, mt, mb) = (800.0, 70.0, 170.0, 40.0, 50.0);
    // Grow downwards so a long legend still fits.
    let h = f64::max(360.0, mt + 18.0 * profiles.len() as f64 + mb);
    let n = profiles.iter().map(|p| p.len()).max().unwrap_or(0);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in profiles.iter().flatten().filter(|v| v.is_finite()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    if hi <= lo {
        (lo, hi) = (lo - 1.0, hi + 1.0);
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
    let x_span = (n.max(2) - 1) as f64;
    let sx = |i: f64| ml + i / x_span * (w - ml - mr);
    let sy = |v: f64| mt + (1.0 - (v - lo) / (hi - lo)) * (h - mt - mb);

    let mut out = svg::open(w, h);
    out.push_str(&format!("<text x=\"{}\" y=\"22\" font-size=\"15\">{}</text>\n", px(ml), svg::label(title, 80)));
    out.push_str(&format!(
        "<line x1=\"{ml}\" y1=\"{b}\" x2=\"{}\" y2=\"{b}\" stroke=\"black\"/>\n<line x1=\"{ml}\" y1=\"{mt}\" x2=\"{ml}\" y2=\"{b}\" stroke=\"black\"/>\n",
        px(w - mr),
        b = px(h - mb)
    ));
    if lo < 0.0 && hi > 0.0 {
        out.push_str(&format!("<line class=\"zero\" x1=\"{ml}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#ccc\"/>\n", px(w - mr), y = px(sy(0.0))));
    }
    // Y ticks on round values (snapped to exactly 0 near zero).
    let ystep = svg::nice_step(hi - lo, 8);
    let mut k = (lo / ystep).ceil();
    while k * ystep <= hi {
        let v = if (k * ystep).abs() < ystep * 1e-6 { 0.0 } else { k * ystep };
        k += 1.0;
        out.push_str(&format!("<text class=\"ytick\" x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"10\">{}</text>\n", px(ml - 6.0), px(sy(v) + 4.0), svg::escape(&fmt_num(v))));
    }
    let step = (svg::nice_step(x_span, 5) as i64).max(1);
    let mut i = 0i64;
    while n > 0 && i < n as i64 {
        // Ticks on round genome coordinates.
        let pos = x_start + i;
        if pos.rem_euclid(step) == 0 {
            let x = sx(i as f64);
            out.push_str(&format!(
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"black\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{}</text>\n",
                px(h - mb),
                px(h - mb + 5.0),
                px(h - mb + 18.0),
                fmt_bp(pos),
                x = px(x)
            ));
            i += step;
        } else {
            i += 1;
        }
    }
    out.push_str(&format!("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">genome position</text>\n", px((ml + w - mr) / 2.0), px(h - 10.0)));

    for (k, p) in profiles.iter().enumerate() {
        let c = PALETTE[k % PALETTE.len()];
        let mut j = 0;
        while j < p.len() {
            if !p[j].is_finite() {
                j += 1;
                continue;
            }
            let a = j;
            while j < p.len() && p[j].is_finite() {
                j += 1;
            }
            if j - a == 1 {
                out.push_str(&format!("<circle class=\"profile\" cx=\"{}\" cy=\"{}\" r=\"2\" fill=\"{c}\"/>\n", px(sx(a as f64)), px(sy(p[a]))));
            } else {
                let pts: Vec<String> = (a..j).map(|i| format!("{},{}", px(sx(i as f64)), px(sy(p[i])))).collect();
                out.push_str(&format!("<polyline class=\"profile\" fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" points=\"{}\"/>\n", pts.join(" ")));
            }
        }
        let ly = mt + 10.0 + 18.0 * k as f64;
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{c}\" stroke-width=\"2\"/><text class=\"legend\" x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n",
            px(w - mr + 10.0),
            px(w - mr + 30.0),
            px(w - mr + 36.0),
            px(ly + 4.0),
            svg::label(&label_of(labels, k), 20),
            y = px(ly)
        ));
    }
    if n == 0 {
        out.push_str(&format!("<text x=\"{}\" y=\"{}\" fill=\"#888\" font-size=\"11\">no data</text>\n", px(ml + 10.0), px(mt + 20.0)));
    }
    svg::close(&mut out);
    out
}
