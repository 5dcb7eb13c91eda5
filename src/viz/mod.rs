//! Self-contained SVG figures (no plotting crates, no font files), in the house style of
//! [`crate::train::plot`]: plain SVG strings, white background, sans-serif.
//!
//! * [`locus`] — one variant / region: reference vs alternate tracks, genome axis, gene
//!   models, variant marker and an optional attribution [`logo`] row.
//! * [`logo`] — per-position A/C/G/T attribution letters (bars when zoomed out).
//! * [`heatmap`] — square matrix heatmap and a multi-profile line chart.
//! * [`svg`] — escaping, number formatting and the genome → pixel map they share.
//!
//! Every renderer returns a complete SVG document (except [`logo::render_into`], which
//! appends a group to one); write it with [`write_svg`].

pub mod heatmap;
pub mod locus;
pub mod logo;
pub mod svg;

pub use heatmap::{render as render_heatmap, render_profiles};
pub use locus::{render as render_locus, GeneModel, LocusPlot, TrackRow, Variant};
pub use logo::Logo;

/// Write an SVG document atomically.
pub fn write_svg(path: &std::path::Path, svg: &str) -> crate::Result<()> {
    crate::io::write_atomic(path, svg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---------------------------------------------------------------- well-formedness checker

    #[derive(Debug)]
    struct Elem {
        name: String,
        attrs: Vec<(String, String)>,
        /// Decoded character data directly inside the element.
        text: String,
    }

    impl Elem {
        fn attr(&self, k: &str) -> Option<&str> {
            self.attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
        }
        fn num(&self, k: &str) -> f64 {
            self.attr(k).unwrap_or_else(|| panic!("no attribute {k} on {self:?}")).parse().unwrap()
        }
        fn has_class(&self, c: &str) -> bool {
            self.attr("class") == Some(c)
        }
    }

    const NUMERIC: [&str; 14] = ["x", "y", "x1", "y1", "x2", "y2", "width", "height", "cx", "cy", "r", "font-size", "stroke-width", "textLength"];

    /// Decode one entity starting at `s[i] == '&'`; returns (decoded char, chars consumed).
    fn entity(s: &[char], i: usize) -> Result<(char, usize), String> {
        let end = (i + 1..s.len().min(i + 12)).find(|&j| s[j] == ';').ok_or_else(|| format!("raw '&' at char {i}"))?;
        let name: String = s[i + 1..end].iter().collect();
        let c = match name.as_str() {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16).ok().and_then(char::from_u32).ok_or("bad char ref")?,
            n if n.starts_with('#') => n[1..].parse::<u32>().ok().and_then(char::from_u32).ok_or("bad char ref")?,
            _ => return Err(format!("unknown entity &{name};")),
        };
        Ok((c, end + 1 - i))
    }

    /// Minimal XML well-formedness check for our SVG output: one `<svg>` root, balanced and
    /// properly nested tags, double-quoted unique attributes, no raw `<`/`&` in attribute
    /// values, no raw `<`/`&`/`>` in text, no text outside the root, finite numbers in
    /// geometric attributes. Returns every element in document order.
    fn parse(doc: &str) -> Result<Vec<Elem>, String> {
        let s: Vec<char> = doc.chars().collect();
        let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.');
        let mut elems: Vec<Elem> = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        let mut roots = 0;
        let mut i = 0;
        while i < s.len() {
            let c = s[i];
            if c == '<' {
                i += 1;
                if i < s.len() && s[i] == '/' {
                    i += 1;
                    let a = i;
                    while i < s.len() && is_name(s[i]) {
                        i += 1;
                    }
                    let name: String = s[a..i].iter().collect();
                    while i < s.len() && s[i].is_whitespace() {
                        i += 1;
                    }
                    if i >= s.len() || s[i] != '>' {
                        return Err(format!("unterminated end tag </{name}"));
                    }
                    i += 1;
                    let open = stack.pop().ok_or_else(|| format!("end tag </{name}> without start"))?;
                    if elems[open].name != name {
                        return Err(format!("</{name}> closes <{}>", elems[open].name));
                    }
                    continue;
                }
                let a = i;
                while i < s.len() && is_name(s[i]) {
                    i += 1;
                }
                let name: String = s[a..i].iter().collect();
                if name.is_empty() || !s[a].is_ascii_alphabetic() {
                    return Err(format!("bad tag start at char {a}"));
                }
                if stack.is_empty() {
                    roots += 1;
                    if roots > 1 {
                        return Err("more than one root element".into());
                    }
                }
                let mut el = Elem { name, attrs: Vec::new(), text: String::new() };
                let self_closing;
                loop {
                    let ws = i < s.len() && s[i].is_whitespace();
                    while i < s.len() && s[i].is_whitespace() {
                        i += 1;
                    }
                    if i >= s.len() {
                        return Err(format!("unterminated tag <{}", el.name));
                    }
                    if s[i] == '>' {
                        i += 1;
                        self_closing = false;
                        break;
                    }
                    if s[i] == '/' {
                        if i + 1 < s.len() && s[i + 1] == '>' {
                            i += 2;
                            self_closing = true;
                            break;
                        }
                        return Err(format!("stray '/' in <{}", el.name));
                    }
                    if !ws {
                        return Err(format!("attributes of <{}> not separated by whitespace", el.name));
                    }
                    let a = i;
                    while i < s.len() && is_name(s[i]) {
                        i += 1;
                    }
                    let an: String = s[a..i].iter().collect();
                    if an.is_empty() {
                        return Err(format!("bad attribute name in <{}> at char {a}", el.name));
                    }
                    if i + 1 >= s.len() || s[i] != '=' || s[i + 1] != '"' {
                        return Err(format!("attribute {an} of <{}> not written as name=\"value\"", el.name));
                    }
                    i += 2;
                    let mut v = String::new();
                    loop {
                        match s.get(i) {
                            None => return Err(format!("unterminated value of {an}")),
                            Some('"') => {
                                i += 1;
                                break;
                            }
                            Some('<') => return Err(format!("raw '<' in attribute {an}")),
                            Some('&') => {
                                let (ch, n) = entity(&s, i)?;
                                v.push(ch);
                                i += n;
                            }
                            Some(ch) => {
                                v.push(*ch);
                                i += 1;
                            }
                        }
                    }
                    if el.attrs.iter().any(|(n, _)| *n == an) {
                        return Err(format!("duplicate attribute {an} on <{}>", el.name));
                    }
                    if NUMERIC.contains(&an.as_str()) && !v.ends_with('%') {
                        let f: f64 = v.parse().map_err(|_| format!("{an}=\"{v}\" is not a number"))?;
                        if !f.is_finite() {
                            return Err(format!("{an}=\"{v}\" is not finite"));
                        }
                    }
                    el.attrs.push((an, v));
                }
                elems.push(el);
                if !self_closing {
                    stack.push(elems.len() - 1);
                }
            } else {
                let ch = if c == '&' {
                    let (ch, n) = entity(&s, i)?;
                    i += n;
                    ch
                } else if c == '>' {
                    return Err(format!("raw '>' in text at char {i}"));
                } else {
                    i += 1;
                    c
                };
                match stack.last() {
                    Some(&top) => elems[top].text.push(ch),
                    None if ch.is_whitespace() => {}
                    None => return Err(format!("text outside the root element at char {i}")),
                }
            }
        }
        if let Some(&open) = stack.last() {
            return Err(format!("<{}> never closed", elems[open].name));
        }
        match elems.first() {
            Some(e) if e.name == "svg" => Ok(elems),
            _ => Err("root element is not <svg>".into()),
        }
    }

    fn well_formed(doc: &str) -> Vec<Elem> {
        parse(doc).unwrap_or_else(|e| panic!("malformed SVG: {e}\n{doc}"))
    }

    fn class<'a>(els: &'a [Elem], c: &str) -> Vec<&'a Elem> {
        els.iter().filter(|e| e.has_class(c)).collect()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// `translate(a,b) scale(c,d)` → (a, b, c, d).
    fn transform(e: &Elem) -> (f64, f64, f64, f64) {
        let t = e.attr("transform").unwrap();
        let inner = t.replace("translate(", " ").replace("scale(", " ").replace(')', " ");
        let nums: Vec<f64> = inner.split([' ', ',']).filter(|p| !p.is_empty()).map(|p| p.parse().unwrap()).collect();
        assert_eq!(nums.len(), 4, "{t}");
        (nums[0], nums[1], nums[2], nums[3])
    }

    fn rgb(hex: &str) -> (f64, f64, f64) {
        let h = hex.trim_start_matches('#');
        let c = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).unwrap() as f64;
        (c(0), c(2), c(4))
    }

    fn luminance(hex: &str) -> f64 {
        let (r, g, b) = rgb(hex);
        0.2126 * r + 0.7152 * g + 0.0722 * b
    }

    #[test]
    fn checker_rejects_malformed_documents() {
        assert!(parse("<svg><g></g></svg>").is_ok());
        assert!(parse("<svg a=\"1 &amp; 2\"><text>x &lt; y</text></svg>").is_ok());
        for bad in [
            "<svg><g></svg>",
            "<svg><g></svg></g>",
            "<svg a=1></svg>",
            "<svg a='1'></svg>",
            "<svg a=\"1\"b=\"2\"></svg>",
            "<svg a=\"1\" a=\"2\"></svg>",
            "<svg a=\"x<y\"></svg>",
            "<svg><text>a & b</text></svg>",
            "<svg><text>a < b</text></svg>",
            "<svg><text>a > b</text></svg>",
            "<svg><text>&bogus;</text></svg>",
            "<svg></svg><svg></svg>",
            "<svg></svg>tail",
            "<g></g>",
            "<svg><rect x=\"NaN\"/></svg>",
            "<svg><rect width=\"inf\"/></svg>",
            "<svg>",
        ] {
            assert!(parse(bad).is_err(), "accepted: {bad}");
        }
    }

    // ---------------------------------------------------------------- svg helpers

    #[test]
    fn svg_helpers_escape_truncate_and_format() {
        assert_eq!(svg::escape("a<b&c>\"d'"), "a&lt;b&amp;c&gt;&quot;d&apos;");
        assert_eq!(svg::truncate("abcdef", 4), "abc…");
        assert_eq!(svg::truncate("abc", 4), "abc");
        assert_eq!(svg::truncate("ééééé", 3).chars().count(), 3);
        assert_eq!(svg::label("<<<<<<", 3), "&lt;&lt;…");
        assert_eq!(svg::px(12.0), "12");
        assert_eq!(svg::px(12.5), "12.5");
        assert_eq!(svg::px(-0.001), "0");
        assert_eq!(svg::px(520.7201), "520.72");
        assert_eq!(svg::fmt_num(0.0), "0");
        assert_eq!(svg::fmt_num(1.0), "1");
        assert_eq!(svg::fmt_num(0.12345), "0.123");
        assert_eq!(svg::fmt_num(-123.456), "-123");
        assert_eq!(svg::fmt_num(f64::NAN), "NaN");
        assert_eq!(svg::fmt_num(2.5e7), "2.50e7");
        assert_eq!(svg::fmt_bp(1234567), "1,234,567");
        assert_eq!(svg::fmt_bp(-1000), "-1,000");
        assert_eq!(svg::fmt_bp(999), "999");
        assert_eq!(svg::nice_step(500.0, 5), 100.0);
        assert_eq!(svg::nice_step(700.0, 5), 200.0);
        let s = svg::GenomeScale::new(1000, 1500, 160.0, 720.0);
        assert!(close(s.x(1250.0), 520.0, 1e-9));
        assert_eq!(s.clip(900, 1050), Some((1000, 1050)));
        assert_eq!(s.clip(1500, 1600), None);
    }

    // ---------------------------------------------------------------- locus

    fn base_plot() -> LocusPlot {
        // 50 bins × 10 bp from 1000: shown range [1000, 1500) over x ∈ [160, 880] (1.44 px/bp).
        let reference: Vec<f32> = (0..50).map(|i| if i == 25 { 2.0 } else { 0.5 }).collect();
        let alternate: Vec<f32> = (0..50).map(|i| if i == 25 { 1.0 } else { 0.5 }).collect();
        LocusPlot {
            contig: "chrIV".into(),
            start: 1000,
            bin_bp: 10,
            tracks: vec![
                TrackRow { name: "RNA:t0".into(), reference: reference.clone(), alternate: Some(alternate) },
                TrackRow { name: "RNA:t1".into(), reference, alternate: None },
            ],
            genes: vec![
                GeneModel { id: "YDL001W".into(), strand: '+', exons: vec![(1100, 1200), (1300, 1350)] },
                GeneModel { id: "LEFTCLIP".into(), strand: '-', exons: vec![(900, 1050)] },
                GeneModel { id: "OUTSIDE".into(), strand: '+', exons: vec![(2000, 2100)] },
            ],
            variant: Some(Variant { pos0: 1250, reference: "A".into(), alternate: "G".into(), id: Some("rs1".into()) }),
            logo: Some(Logo { start: 1200, scores: (0..100).map(|i| [0.0, if i == 50 { 1.0 } else { 0.1 }, 0.0, 0.0]).collect() }),
            title: "chrIV:1,000-1,500 A>G".into(),
        }
    }

    #[test]
    fn locus_variant_line_at_variant_pixel_across_all_rows() {
        let out = render_locus(&base_plot());
        let els = well_formed(&out);
        let v = class(&els, "variant");
        assert_eq!(v.len(), 1);
        // Centre of base 1250: 160 + 250.5 / 500 * 720 = 520.72.
        assert!(close(v[0].num("x1"), 520.72, 1e-6), "{:?}", v[0]);
        assert!(close(v[0].num("x2"), 520.72, 1e-6));
        assert_eq!(v[0].attr("stroke-dasharray"), Some("4,3"));
        // Spans from above the first panel (top 44) to below the logo row.
        let logo_base = class(&els, "logo-baseline")[0].num("y1");
        assert!(v[0].num("y1") <= 44.0 && v[0].num("y2") >= logo_base, "{:?}", v[0]);
        assert_eq!(class(&els, "variant-label")[0].text, "rs1");
        // Variant outside the range: no line.
        let mut p = base_plot();
        p.variant.as_mut().unwrap().pos0 = 1500;
        assert!(class(&well_formed(&render_locus(&p)), "variant").is_empty());
    }

    #[test]
    fn locus_exons_clipped_to_range_and_placed_by_coordinate() {
        let els = well_formed(&render_locus(&base_plot()));
        let exons = class(&els, "exon");
        let spans: Vec<(f64, f64)> = exons.iter().map(|e| (e.num("x"), e.num("width"))).collect();
        // (1100,1200) → [304, 448]; (1300,1350) → [592, 664]; (900,1050) clipped → [160, 232].
        for want in [(304.0, 144.0), (592.0, 72.0), (160.0, 72.0)] {
            assert!(spans.iter().any(|s| close(s.0, want.0, 1e-6) && close(s.1, want.1, 1e-6)), "missing exon {want:?} in {spans:?}");
        }
        assert_eq!(exons.len(), 3, "the gene outside the range must not be drawn");
        assert!(els.iter().all(|e| e.text != "OUTSIDE"));
        // Intron line of YDL001W spans its clipped extent [1100, 1350) → [304, 664].
        let introns = class(&els, "intron");
        assert!(introns.iter().any(|e| close(e.num("x1"), 304.0, 1e-6) && close(e.num("x2"), 664.0, 1e-6)));
        // Strand chevrons: '+' points right (apex x greater than arms), '-' points left.
        let strands = class(&els, "strand");
        assert!(!strands.is_empty());
        let pts = |e: &Elem| -> Vec<f64> { e.attr("points").unwrap().split([' ', ',']).map(|v| v.parse().unwrap()).collect() };
        let right = strands.iter().filter(|e| pts(e)[2] > pts(e)[0]).count();
        let left = strands.iter().filter(|e| pts(e)[2] < pts(e)[0]).count();
        assert!(right > 0 && left > 0, "right {right} left {left}");
    }

    #[test]
    fn locus_track_area_scaled_to_panel_and_alt_overlaid() {
        let els = well_formed(&render_locus(&base_plot()));
        let refs = class(&els, "ref");
        assert_eq!(refs.len(), 2);
        let ys: Vec<f64> = refs[0].attr("d").unwrap().split(|c: char| c.is_ascii_alphabetic() || c == ' ').filter(|p| p.contains(',')).map(|p| p.split(',').nth(1).unwrap().parse().unwrap()).collect();
        // Panel 1 spans y ∈ [44, 108]; values 0..2: max at the top, zero baseline at the bottom.
        let (ymin, ymax) = ys.iter().fold((f64::MAX, f64::MIN), |a, y| (a.0.min(*y), a.1.max(*y)));
        assert!(close(ymin, 44.0, 1e-6) && close(ymax, 108.0, 1e-6), "{ymin} {ymax}");
        // Alternate peak is half the reference peak: y = 108 - 32 = 76.
        let alt = class(&els, "alt");
        assert_eq!(alt.len(), 1);
        assert!(alt[0].attr("points").unwrap().contains(",76"));
        assert!(class(&els, "ymax").iter().all(|e| e.text == "2"));
        assert!(els.iter().any(|e| e.text == "alternate"));
        // Ticks carry contig:pos on round coordinates.
        let ticks: Vec<&str> = class(&els, "tick").iter().map(|e| e.text.as_str()).collect();
        assert_eq!(ticks, ["chrIV:1,000", "chrIV:1,100", "chrIV:1,200", "chrIV:1,300", "chrIV:1,400", "chrIV:1,500"]);
    }

    #[test]
    fn locus_edge_cases_render_well_formed() {
        let mut cases: Vec<LocusPlot> = vec![LocusPlot::default()];
        let mut p = base_plot();
        p.tracks.clear();
        cases.push(p);
        let mut p = base_plot();
        p.tracks = vec![TrackRow { name: "zeros".into(), reference: vec![0.0; 50], alternate: Some(vec![0.0; 50]) }];
        cases.push(p);
        let mut p = base_plot();
        p.tracks = vec![TrackRow { name: "nan".into(), reference: vec![f32::NAN; 50], alternate: Some(vec![f32::INFINITY; 50]) }];
        cases.push(p);
        let mut p = base_plot();
        p.bin_bp = 0;
        p.genes.push(GeneModel { id: String::new(), strand: '.', exons: vec![] });
        p.genes.push(GeneModel { id: "backwards".into(), strand: '+', exons: vec![(1200, 1100)] });
        cases.push(p);
        let mut p = base_plot();
        p.tracks[0].reference = vec![-1.0, 3.0, f32::NAN, -2.0];
        p.tracks[0].alternate = Some(vec![]);
        p.variant = Some(Variant { pos0: 1000, reference: "<&>".into(), alternate: "\"".into(), id: None });
        p.logo = Some(Logo { start: 0, scores: vec![] });
        cases.push(p);
        for (k, c) in cases.iter().enumerate() {
            let out = render_locus(c);
            let els = parse(&out).unwrap_or_else(|e| panic!("case {k}: {e}\n{out}"));
            assert!(!out.contains("NaN") && !out.contains("inf"), "case {k} leaks non-finite numbers");
            assert!(els.len() > 3, "case {k}");
        }
        // All-zero panel: y axis 0..1, the area lies on the baseline.
        let els = well_formed(&render_locus(&cases[2]));
        assert_eq!(class(&els, "ymax")[0].text, "1");
        // All-NaN: nothing drawn for the track.
        let els = well_formed(&render_locus(&cases[3]));
        assert!(class(&els, "ref").is_empty() && class(&els, "alt").is_empty());
        // Variant label from ref/alt, escaped and decoded back.
        let els = well_formed(&render_locus(&cases[5]));
        assert_eq!(class(&els, "variant-label")[0].text, "<&>>\"");
    }

    #[test]
    fn locus_nan_breaks_area_and_long_names_are_escaped_and_truncated() {
        let mut p = base_plot();
        let name = format!("<&>\"{}", "x".repeat(100));
        p.tracks = vec![TrackRow { name: name.clone(), reference: vec![1.0, 2.0, f32::NAN, 2.0, 1.0], alternate: Some(vec![1.0, f32::NAN, 1.0, 1.0, 1.0]) }];
        p.genes = vec![GeneModel { id: "g<&>".repeat(20), strand: '+', exons: vec![(1000, 1040)] }];
        p.title = "t".repeat(500);
        let out = render_locus(&p);
        let els = well_formed(&out);
        assert!(out.contains("&lt;&amp;&gt;&quot;"));
        let shown = els.iter().find(|e| e.text.starts_with("<&>\"")).expect("track name");
        assert_eq!(shown.text.chars().count(), 20);
        assert!(shown.text.ends_with('…'));
        let gene = els.iter().find(|e| e.text.starts_with("g<&>")).expect("gene label");
        assert_eq!(gene.text.chars().count(), 24);
        let d = class(&els, "ref")[0].attr("d").unwrap().to_string();
        assert_eq!(d.matches('M').count(), 2, "NaN should split the area: {d}");
        assert_eq!(class(&els, "alt").len(), 2);
        // Range follows the bins: 5 × 10 bp.
        assert_eq!(p.range(), (1000, 1050));
    }

    // ---------------------------------------------------------------- logo

    fn logo_doc(logo: &Logo, range: (i64, i64), width: f64) -> Vec<Elem> {
        let mut s = svg::open(width, 120.0);
        logo::render_into(&mut s, logo, 0.0, 10.0, width, 100.0, range);
        svg::close(&mut s);
        well_formed(&s)
    }

    #[test]
    fn logo_letters_scale_with_score_and_negatives_go_below() {
        // 10 px per base; column maximum above = 1.0, below = 0.25 → 80 px per unit, baseline y = 10 + 80.
        let l = Logo { start: 100, scores: vec![[0.5, -0.25, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [f32::NAN, 0.0, 0.0, 0.0], [0.2, 0.0, 0.6, 0.0]] };
        let els = logo_doc(&l, (100, 110), 100.0);
        assert_eq!(els.iter().find(|e| e.name == "g").unwrap().attr("data-mode"), Some("letters"));
        let base = class(&els, "logo-baseline")[0].num("y1");
        assert!(close(base, 90.0, 1e-6), "{base}");
        let letters = class(&els, "logo-letter");
        assert_eq!(letters.len(), 5, "NaN and zero scores draw nothing");
        let get = |pos: &str, b: &str| *letters.iter().find(|e| e.attr("data-pos") == Some(pos) && e.text == b).unwrap();
        let (ax, ay, asx, asy) = transform(get("100", "A"));
        let (_, cy, _, csy) = transform(get("100", "C"));
        let (tx, ty, tsx, tsy) = transform(get("101", "T"));
        assert!(close(asy / tsy, 0.5, 1e-3) && close(csy / tsy, 0.25, 1e-3), "{asy} {csy} {tsy}");
        assert!(close(tsy * logo::GLYPH_CAP_HEIGHT, 80.0, 1e-2), "T is 1.0 × 80 px tall");
        assert!(close(ay, base, 1e-6) && close(ty, base, 1e-6), "positive letters sit on the baseline");
        assert!(cy > base && close(cy, base + 20.0, 1e-6), "negative letter hangs below: {cy}");
        assert!(close(tx - ax, 10.0, 1e-6) && close(asx, tsx, 1e-9), "one 10-px column per position");
        assert_eq!(get("101", "T").attr("fill"), Some("#D62839"));
        // Stacking: the smaller A sits on the baseline, G on top of it.
        let (_, a2, _, _) = transform(get("103", "A"));
        let (_, g2, _, _) = transform(get("103", "G"));
        assert!(close(a2, base, 1e-6) && close(g2, base - 0.2 * 80.0, 1e-6), "{a2} {g2}");
    }

    #[test]
    fn logo_switches_to_bars_when_zoomed_out() {
        // 2 px per base: one bar per position, signed sums.
        let l = Logo { start: 0, scores: (0..50).map(|i| if i == 10 { [0.0, 0.0, 0.0, -1.0] } else if i == 20 { [1.0, 1.0, 0.0, 0.0] } else { [0.0; 4] }).collect() };
        let els = logo_doc(&l, (0, 50), 100.0);
        assert!(class(&els, "logo-letter").is_empty());
        let bars = class(&els, "logo-bar");
        assert_eq!(bars.len(), 2);
        let base = class(&els, "logo-baseline")[0].num("y1");
        // up = 2, down = 1 → 100/3 px per unit.
        let neg = bars.iter().find(|b| close(b.num("x"), 20.0, 1e-6)).unwrap();
        let pos = bars.iter().find(|b| close(b.num("x"), 40.0, 1e-6)).unwrap();
        assert!(close(neg.num("y"), base, 1e-6) && close(neg.num("height"), 100.0 / 3.0, 0.01));
        assert!(close(pos.num("y") + pos.num("height"), base, 0.01) && close(pos.num("height"), 200.0 / 3.0, 0.01));
        assert_eq!(neg.attr("fill"), Some(logo::COLORS[3]));

        // 0.1 px per base: pooled into 1-px columns; the spike survives.
        let l = Logo { start: 0, scores: (0..1000).map(|i| [if i == 505 { 2.0 } else { 0.1 }, 0.0, 0.0, 0.0]).collect() };
        let els = logo_doc(&l, (0, 1000), 100.0);
        let bars = class(&els, "logo-bar");
        assert!(bars.len() <= 101 && bars.len() >= 99, "{}", bars.len());
        let tallest = bars.iter().max_by(|a, b| a.num("height").total_cmp(&b.num("height"))).unwrap();
        assert!(close(tallest.num("x"), 50.0, 1e-6) && close(tallest.num("height"), 100.0, 1e-6));
    }

    #[test]
    fn logo_clips_to_range_and_handles_empty() {
        let l = Logo { start: 95, scores: vec![[1.0, 0.0, 0.0, 0.0]; 10] };
        let els = logo_doc(&l, (100, 110), 100.0);
        let letters = class(&els, "logo-letter");
        assert_eq!(letters.len(), 5);
        assert!(letters.iter().all(|e| transform(e).0 >= 0.0));
        let els = logo_doc(&Logo::default(), (100, 110), 100.0);
        assert!(class(&els, "logo-letter").is_empty());
        assert!(close(class(&els, "logo-baseline")[0].num("y1"), 60.0, 1e-6));
        let els = logo_doc(&Logo { start: 0, scores: vec![[0.0; 4]; 3] }, (0, 0), 100.0);
        assert!(class(&els, "logo-letter").is_empty());
    }

    // ---------------------------------------------------------------- heatmap

    fn labels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn heatmap_colours_ordered_by_value_and_nan_grey() {
        let m = vec![vec![0.0, 3.0, 1.0], vec![3.0, 0.0, f64::NAN], vec![1.0, 2.0, 0.5]];
        let out = render_heatmap("dist", &labels(&["a<b&c>\"d\"", "t1", "t2"]), &m, "euclidean");
        let els = well_formed(&out);
        assert!(out.contains("a&lt;b&amp;c&gt;&quot;d&quot;"));
        assert_eq!(class(&els, "row-label")[0].text, "a<b&c>\"d\"");
        assert_eq!(class(&els, "col-label")[0].text, "a<b&c>\"d\"");
        assert!(class(&els, "col-label")[0].attr("transform").unwrap().starts_with("rotate(-90"));
        let cells = class(&els, "cell");
        assert_eq!(cells.len(), 9);
        let at = |i: usize, j: usize| cells.iter().find(|c| c.attr("data-row") == Some(&i.to_string()) && c.attr("data-col") == Some(&j.to_string())).unwrap().attr("fill").unwrap();
        // NaN: grey (r = g = b), unlike every finite colour.
        let (r, g, b) = rgb(at(1, 2));
        assert!(r == g && g == b, "{}", at(1, 2));
        // Luminance strictly decreasing with value: 0 < 0.5 < 1 < 2 < 3.
        let order = [(0, 0), (2, 2), (0, 2), (2, 1), (0, 1)];
        let lum: Vec<f64> = order.iter().map(|&(i, j)| luminance(at(i, j))).collect();
        assert!(lum.windows(2).all(|w| w[0] > w[1]), "{lum:?}");
        let darkest = cells.iter().filter(|c| c.attr("fill") != Some(heatmap::NAN_COLOR)).min_by(|a, b| luminance(a.attr("fill").unwrap()).total_cmp(&luminance(b.attr("fill").unwrap()))).unwrap();
        assert_eq!(darkest.attr("fill"), Some("#08306B"));
        assert_eq!(at(0, 0), "#FFFFFF");
        assert_eq!(at(0, 1), at(1, 0));
        assert_eq!(class(&els, "colorbar-max")[0].text, "3");
        assert_eq!(class(&els, "colorbar-min")[0].text, "0");
        let values: Vec<&str> = class(&els, "cell-value").iter().map(|e| e.text.as_str()).collect();
        assert_eq!(values.len(), 9);
        assert_eq!(values[1], "3");
        assert_eq!(values[5], "NaN");
    }

    #[test]
    fn heatmap_colour_scale_monotone() {
        let mut last = f64::MAX;
        for k in 0..=100 {
            let c = heatmap::color(k as f64 / 100.0);
            let (r, g, b) = rgb(&c);
            assert!(r <= 255.0 && g <= 255.0 && b <= 255.0);
            let l = luminance(&c);
            assert!(l < last || k == 0, "step {k}");
            last = l;
        }
        assert_eq!(heatmap::color(-1.0), "#FFFFFF");
        assert_eq!(heatmap::color(2.0), "#08306B");
    }

    #[test]
    fn heatmap_edge_cases_render_well_formed() {
        let one = render_heatmap("one", &labels(&["g"]), &[vec![1.5]], "d");
        let els = well_formed(&one);
        assert_eq!(class(&els, "cell").len(), 1);
        let constant = render_heatmap("c", &labels(&["a", "b"]), &[vec![2.0, 2.0], vec![2.0, 2.0]], "d");
        let els = well_formed(&constant);
        let fills: Vec<&str> = class(&els, "cell").iter().map(|c| c.attr("fill").unwrap()).collect();
        assert!(fills.iter().all(|f| *f == fills[0] && *f != heatmap::NAN_COLOR));
        let nan = render_heatmap("n", &labels(&["a", "b"]), &[vec![f64::NAN, f64::INFINITY], vec![f64::NAN]], "d");
        let els = well_formed(&nan);
        assert!(class(&els, "cell").iter().all(|c| c.attr("fill") == Some(heatmap::NAN_COLOR)));
        assert_eq!(class(&els, "colorbar-max")[0].text, "no data");
        well_formed(&render_heatmap("", &[], &[], ""));
        // 12 × 12 is annotated, 13 × 13 is not; 200 × 200 drops labels but stays valid.
        let sq = |n: usize| -> (Vec<String>, Vec<Vec<f64>>) { ((0..n).map(|i| format!("group{i}")).collect(), (0..n).map(|i| (0..n).map(|j| (i as f64 - j as f64).abs()).collect()).collect()) };
        let (l, m) = sq(12);
        assert_eq!(class(&well_formed(&render_heatmap("12", &l, &m, "d")), "cell-value").len(), 144);
        let (l, m) = sq(13);
        assert!(class(&well_formed(&render_heatmap("13", &l, &m, "d")), "cell-value").is_empty());
        let (l, m) = sq(200);
        let els = well_formed(&render_heatmap("200", &l, &m, "d"));
        assert_eq!(class(&els, "cell").len(), 40000);
        assert!(class(&els, "row-label").is_empty());
        // Fewer labels than rows: indices are used.
        let els = well_formed(&render_heatmap("few", &[], &[vec![0.0, 1.0], vec![1.0, 0.0]], "d"));
        assert_eq!(class(&els, "row-label")[1].text, "1");
    }

    #[test]
    fn profiles_one_line_per_label_with_breaks() {
        let p = vec![vec![0.1, 0.5, -0.2, 0.3], vec![0.2, f64::NAN, 0.4, 0.1], vec![f64::NAN, 1.0, f64::NAN, f64::NAN]];
        let out = render_profiles("ISM <t>", 4998, &labels(&["t0 & t1", "t2", "t3"]), &p);
        let els = well_formed(&out);
        let lines = class(&els, "profile");
        // profile 0: one polyline; profile 1: a dot then a 2-point line; profile 2: one dot.
        assert_eq!(lines.iter().filter(|e| e.name == "polyline").count(), 2);
        assert_eq!(lines.iter().filter(|e| e.name == "circle").count(), 2);
        let legend: Vec<&str> = class(&els, "legend").iter().map(|e| e.text.as_str()).collect();
        assert_eq!(legend, ["t0 & t1", "t2", "t3"]);
        assert!(class(&els, "zero").len() == 1, "values straddle 0");
        // Y ticks on round values: -0.2 … 1.0 in steps of 0.2, including an exact 0.
        let yt: Vec<&str> = class(&els, "ytick").iter().map(|e| e.text.as_str()).collect();
        assert_eq!(yt, ["-0.2", "0", "0.2", "0.4", "0.6", "0.8", "1"]);
        // Distinct colours per profile.
        let c0 = lines[0].attr("stroke").unwrap();
        assert!(lines.iter().filter(|e| e.name == "polyline").skip(1).all(|e| e.attr("stroke") != Some(c0)));
        for (t, l, p) in [("empty", vec![], vec![]), ("nan", labels(&["a"]), vec![vec![f64::NAN; 3]]), ("flat", labels(&["a"]), vec![vec![1.0; 3]]), ("single", labels(&["a"]), vec![vec![1.0]])] {
            let out = render_profiles(t, -5, &l, &p);
            well_formed(&out);
            assert!(!out.contains("NaN"), "{t}");
        }
        let many: Vec<Vec<f64>> = (0..30).map(|k| vec![k as f64; 5]).collect();
        let els = well_formed(&render_profiles("many", 0, &[], &many));
        assert!(els[0].num("height") >= 40.0 + 18.0 * 30.0);
    }
}
