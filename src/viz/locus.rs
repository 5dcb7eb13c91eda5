//! Locus view for one variant / region: predicted tracks (reference vs alternate), a genome
//! coordinate axis, gene models and an optional attribution logo, stacked top to bottom and
//! sharing one genome → pixel map so everything lines up under the variant marker.
//!
//! The shown range is `[start, start + n_bins * bin_bp)` where `n_bins` is the longest
//! reference/alternate vector; with no track values it falls back to covering the logo and
//! the variant (at least one base). Bin `i` covers `[start + i*bin_bp, start + (i+1)*bin_bp)`.
//! Non-finite values are skipped (the area/line is broken there). Each panel's y range runs
//! from `min(0, smallest value)` to `max(0, largest value)` over reference and alternate
//! together; an all-zero (or all-NaN) panel uses `[0, 1]`. The variant is marked by a dashed
//! line through the centre of its first reference base. Axis ticks sit on base boundaries:
//! the tick labelled `k` lies between 1-based bases `k` and `k + 1`.

use super::logo::{self, Logo};
use super::svg::{self, fmt_bp, fmt_num, px, GenomeScale};

/// One output track: predictions per output bin for the reference and (optionally) the
/// alternate sequence.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackRow {
    pub name: String,
    pub reference: Vec<f32>,
    pub alternate: Option<Vec<f32>>,
}

/// A transcript / gene model; exons are 0-based half-open genome coordinates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GeneModel {
    pub id: String,
    /// `'+'` or `'-'`; anything else draws no strand arrows.
    pub strand: char,
    pub exons: Vec<(i64, i64)>,
}

/// The variant being shown; `pos0` is the 0-based position of the first reference base.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Variant {
    pub pos0: i64,
    pub reference: String,
    pub alternate: String,
    pub id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocusPlot {
    pub contig: String,
    /// Genome coordinate (0-based) of the first bin's first base.
    pub start: i64,
    /// Bases per output bin (0 is treated as 1).
    pub bin_bp: usize,
    pub tracks: Vec<TrackRow>,
    pub genes: Vec<GeneModel>,
    pub variant: Option<Variant>,
    /// Attribution row drawn at the bottom, see [`logo`].
    pub logo: Option<Logo>,
    pub title: String,
}

/// Total image width in px.
pub const WIDTH: f64 = 900.0;
/// Left margin (track names, y-axis labels); the data area starts here.
pub const LEFT: f64 = 160.0;
/// Right margin.
pub const RIGHT: f64 = 20.0;
/// Height of one track panel.
pub const TRACK_HEIGHT: f64 = 64.0;
/// Height of the logo row.
pub const LOGO_HEIGHT: f64 = 80.0;
/// Height of one gene lane.
pub const GENE_LANE: f64 = 30.0;

const TOP: f64 = 44.0;
const GAP: f64 = 10.0;
const REF_FILL: &str = "#7FA7D4";
const ALT_STROKE: &str = "#D62728";
const NAME_CHARS: usize = 20;

impl LocusPlot {
    /// The half-open genome range shown (see the module docs).
    pub fn range(&self) -> (i64, i64) {
        let bin = self.bin_bp.max(1) as i64;
        let n = self
            .tracks
            .iter()
            .map(|t| t.reference.len().max(t.alternate.as_ref().map_or(0, |a| a.len())))
            .max()
            .unwrap_or(0) as i64;
        if n > 0 {
            return (self.start, self.start + n * bin);
        }
        let mut end = self.start + 1;
        if let Some(l) = &self.logo {
            end = end.max(l.end());
        }
        if let Some(v) = &self.variant {
            end = end.max(v.pos0 + 1);
        }
        (self.start, end)
    }
}

/// Render the locus view as a standalone SVG document.
pub fn render(plot: &LocusPlot) -> String {
    let (start, end) = plot.range();
    let scale = GenomeScale::new(start, end, LEFT, WIDTH - LEFT - RIGHT);
    let bin = plot.bin_bp.max(1) as f64;
    let mut body = String::new();
    let mut y = TOP;

    // Track panels.
    let any_alt = plot.tracks.iter().any(|t| t.alternate.is_some());
    for t in &plot.tracks {
        track_panel(&mut body, t, &scale, bin, y);
        y += TRACK_HEIGHT + GAP;
    }
    if plot.tracks.is_empty() {
        body.push_str(&format!("<text x=\"{}\" y=\"{}\" fill=\"#888\" font-size=\"11\">no tracks</text>\n", px(LEFT), px(y + 12.0)));
        y += 20.0;
    }
    let panels_bottom = y - GAP;

    // Genome axis.
    y += 4.0;
    genome_axis(&mut body, &plot.contig, &scale, y);
    y += 34.0;

    // Gene row.
    let lanes = gene_row(&mut body, &plot.genes, &scale, y);
    y += lanes as f64 * GENE_LANE;
    if lanes > 0 {
        y += 6.0;
    }

    // Logo row.
    if let Some(l) = &plot.logo {
        body.push_str(&format!("<text x=\"8\" y=\"{}\" font-size=\"11\">attribution</text>\n", px(y + LOGO_HEIGHT / 2.0 + 4.0)));
        logo::render_into(&mut body, l, scale.x0, y, scale.width, LOGO_HEIGHT, (start, end));
        y += LOGO_HEIGHT + 6.0;
    }
    let bottom = y;
    let height = bottom + 10.0;

    let mut out = svg::open(WIDTH, height);
    out.push_str(&format!("<text x=\"{}\" y=\"22\" font-size=\"15\">{}</text>\n", px(LEFT), svg::label(&plot.title, 90)));
    if any_alt {
        let lx = WIDTH - RIGHT - 170.0;
        out.push_str(&format!(
            "<g class=\"legend\"><rect x=\"{}\" y=\"12\" width=\"14\" height=\"10\" fill=\"{REF_FILL}\"/><text x=\"{}\" y=\"21\" font-size=\"11\">reference</text><line x1=\"{}\" y1=\"17\" x2=\"{}\" y2=\"17\" stroke=\"{ALT_STROKE}\" stroke-width=\"1.5\"/><text x=\"{}\" y=\"21\" font-size=\"11\">alternate</text></g>\n",
            px(lx),
            px(lx + 18.0),
            px(lx + 85.0),
            px(lx + 99.0),
            px(lx + 103.0)
        ));
    }
    out.push_str(&body);

    if let Some(v) = &plot.variant {
        if v.pos0 >= start && v.pos0 < end {
            let x = scale.x(v.pos0 as f64 + 0.5);
            out.push_str(&format!(
                "<line class=\"variant\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#333\" stroke-width=\"1\" stroke-dasharray=\"4,3\"/>\n",
                px(TOP - 2.0),
                px(bottom.max(panels_bottom)),
                x = px(x)
            ));
            let name = match &v.id {
                Some(id) if !id.is_empty() => id.clone(),
                _ => format!("{}>{}", v.reference, v.alternate),
            };
            let anchor = if x > WIDTH - RIGHT - 80.0 {
                "end"
            } else if x < LEFT + 80.0 {
                "start"
            } else {
                "middle"
            };
            out.push_str(&format!(
                "<text class=\"variant-label\" x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"{anchor}\">{}</text>\n",
                px(x),
                px(TOP - 5.0),
                svg::label(&name, 30)
            ));
        }
    }
    svg::close(&mut out);
    out
}

fn finite(v: f32) -> Option<f64> {
    v.is_finite().then_some(v as f64)
}

fn track_panel(svg_out: &mut String, t: &TrackRow, scale: &GenomeScale, bin: f64, top: f64) {
    let vals = t.reference.iter().chain(t.alternate.iter().flatten()).filter_map(|v| finite(*v));
    let (mut lo, mut hi) = (0f64, 0f64);
    for v in vals {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi - lo <= 0.0 {
        hi = lo + 1.0;
    }
    let bottom = top + TRACK_HEIGHT;
    let sy = |v: f64| bottom - (v - lo) / (hi - lo) * TRACK_HEIGHT;
    let bx = |i: usize| scale.x(scale.start as f64 + i as f64 * bin);
    let zero = sy(0.0);

    svg_out.push_str(&format!("<g class=\"track\">\n<text x=\"8\" y=\"{}\" font-size=\"11\">{}</text>\n", px(top + TRACK_HEIGHT / 2.0 + 4.0), svg::label(&t.name, NAME_CHARS)));
    svg_out.push_str(&format!(
        "<line x1=\"{l}\" y1=\"{}\" x2=\"{l}\" y2=\"{}\" stroke=\"black\"/>\n<line x1=\"{l}\" y1=\"{z}\" x2=\"{}\" y2=\"{z}\" stroke=\"#ccc\"/>\n",
        px(top),
        px(bottom),
        px(scale.x0 + scale.width),
        l = px(scale.x0),
        z = px(zero)
    ));
    svg_out.push_str(&format!(
        "<text class=\"ymax\" x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>\n<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">0</text>\n",
        px(scale.x0 - 4.0),
        px(top + 8.0),
        fmt_num(hi),
        px(scale.x0 - 4.0),
        px(zero + 4.0)
    ));
    if lo < 0.0 {
        svg_out.push_str(&format!("<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>\n", px(scale.x0 - 4.0), px(bottom), fmt_num(lo)));
    }

    // Reference: filled step area, one closed path per run of finite values.
    let mut d = String::new();
    for (a, b) in runs(&t.reference) {
        d.push_str(&format!("M{},{}", px(bx(a)), px(zero)));
        for i in a..b {
            let yv = px(sy(t.reference[i] as f64));
            d.push_str(&format!(" L{},{yv} L{},{yv}", px(bx(i)), px(bx(i + 1))));
        }
        d.push_str(&format!(" L{},{} Z ", px(bx(b)), px(zero)));
    }
    if !d.is_empty() {
        svg_out.push_str(&format!("<path class=\"ref\" d=\"{}\" fill=\"{REF_FILL}\" stroke=\"none\"/>\n", d.trim_end()));
    }
    // Alternate: step line on top.
    if let Some(alt) = &t.alternate {
        for (a, b) in runs(alt) {
            let pts: Vec<String> = (a..b)
                .flat_map(|i| {
                    let yv = px(sy(alt[i] as f64));
                    [format!("{},{yv}", px(bx(i))), format!("{},{yv}", px(bx(i + 1)))]
                })
                .collect();
            svg_out.push_str(&format!("<polyline class=\"alt\" fill=\"none\" stroke=\"{ALT_STROKE}\" stroke-width=\"1.2\" points=\"{}\"/>\n", pts.join(" ")));
        }
    }
    svg_out.push_str("</g>\n");
}

/// Maximal runs `[a, b)` of finite values.
fn runs(v: &[f32]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        if !v[i].is_finite() {
            i += 1;
            continue;
        }
        let a = i;
        while i < v.len() && v[i].is_finite() {
            i += 1;
        }
        out.push((a, i));
    }
    out
}

fn genome_axis(svg_out: &mut String, contig: &str, scale: &GenomeScale, y: f64) {
    svg_out.push_str(&format!(
        "<g class=\"axis\">\n<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"black\"/>\n",
        px(scale.x0),
        px(scale.x0 + scale.width),
        y = px(y)
    ));
    let step = (svg::nice_step(scale.span() as f64, 5) as i64).max(1);
    let first = scale.start.div_euclid(step) * step + if scale.start.rem_euclid(step) == 0 { 0 } else { step };
    let contig = svg::label(contig, 16);
    let mut t = first;
    while t <= scale.end {
        let x = scale.x(t as f64);
        svg_out.push_str(&format!(
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"black\"/><text class=\"tick\" x=\"{x}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{contig}:{}</text>\n",
            px(y),
            px(y + 5.0),
            px(y + 17.0),
            fmt_bp(t),
            x = px(x)
        ));
        t += step;
    }
    svg_out.push_str("</g>\n");
}

/// Draws visible genes in greedy non-overlapping lanes; returns the number of lanes used.
fn gene_row(svg_out: &mut String, genes: &[GeneModel], scale: &GenomeScale, top: f64) -> usize {
    struct Shown<'a> {
        g: &'a GeneModel,
        a: i64,
        b: i64,
        label: String,
        label_x: f64,
        anchor: &'static str,
        x_lo: f64,
        x_hi: f64,
    }
    let right = scale.x0 + scale.width;
    let mut shown: Vec<Shown> = Vec::new();
    for g in genes {
        let valid = g.exons.iter().filter(|(s, e)| s < e);
        let (Some(gs), Some(ge)) = (valid.clone().map(|e| e.0).min(), valid.map(|e| e.1).max()) else {
            continue;
        };
        let Some((a, b)) = scale.clip(gs, ge) else { continue };
        let label = svg::truncate(&g.id, 24);
        let lw = label.chars().count() as f64 * 6.0;
        let (xa, xb) = (scale.x(a as f64), scale.x(b as f64));
        let (label_x, anchor, lx0, lx1) = if xa + lw <= right {
            (xa, "start", xa, xa + lw)
        } else {
            (xb, "end", xb - lw, xb)
        };
        shown.push(Shown { g, a, b, label: svg::escape(&label), label_x, anchor, x_lo: xa.min(lx0), x_hi: xb.max(lx1) });
    }
    shown.sort_by(|p, q| p.x_lo.total_cmp(&q.x_lo));
    let mut lane_end: Vec<f64> = Vec::new();
    if !shown.is_empty() {
        svg_out.push_str(&format!("<text x=\"8\" y=\"{}\" font-size=\"11\">genes</text>\n", px(top + GENE_LANE / 2.0 + 4.0)));
    }
    for s in &shown {
        let lane = match lane_end.iter().position(|e| *e + 6.0 < s.x_lo) {
            Some(l) => l,
            None => {
                lane_end.push(f64::MIN);
                lane_end.len() - 1
            }
        };
        lane_end[lane] = s.x_hi;
        let ly = top + lane as f64 * GENE_LANE;
        let mid = ly + 20.0;
        let (xa, xb) = (scale.x(s.a as f64), scale.x(s.b as f64));
        svg_out.push_str(&format!(
            "<g class=\"gene\">\n<text x=\"{}\" y=\"{}\" font-size=\"10\" font-style=\"italic\" text-anchor=\"{}\">{}</text>\n<line class=\"intron\" x1=\"{}\" y1=\"{m}\" x2=\"{}\" y2=\"{m}\" stroke=\"#333\"/>\n",
            px(s.label_x),
            px(ly + 9.0),
            s.anchor,
            s.label,
            px(xa),
            px(xb),
            m = px(mid)
        ));
        let dir = match s.g.strand {
            '+' => 1.0,
            '-' => -1.0,
            _ => 0.0,
        };
        if dir != 0.0 && xb - xa > 10.0 {
            let mut x = xa + 8.0;
            while x < xb - 4.0 {
                svg_out.push_str(&format!(
                    "<polyline class=\"strand\" fill=\"none\" stroke=\"#333\" points=\"{},{} {},{} {},{}\"/>\n",
                    px(x - 3.0 * dir),
                    px(mid - 3.0),
                    px(x),
                    px(mid),
                    px(x - 3.0 * dir),
                    px(mid + 3.0)
                ));
                x += 30.0;
            }
        }
        for &(es, ee) in &s.g.exons {
            if let Some((ca, cb)) = scale.clip(es, ee) {
                let (x0, x1) = (scale.x(ca as f64), scale.x(cb as f64));
                svg_out.push_str(&format!(
                    "<rect class=\"exon\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"10\" fill=\"#1F3A5F\"/>\n",
                    px(x0),
                    px(mid - 5.0),
                    px((x1 - x0).max(0.5))
                ));
            }
        }
        svg_out.push_str("</g>\n");
    }
    lane_end.len()
}
