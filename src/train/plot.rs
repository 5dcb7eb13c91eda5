//! Small SVG charts (training curves, evaluation scatters) with no font files or plotting
//! crates needed.

use crate::error::Result;

pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub points: Vec<(f64, f64)>,
    /// Draw each point as a dot instead of joining them with a line.
    pub dots: bool,
}

pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let (w, h, ml, mr, mt, mb) = (640.0, 400.0, 70.0, 150.0, 40.0, 50.0);
    let pts: Vec<(f64, f64)> = series.iter().flat_map(|s| s.points.iter().copied()).filter(|p| p.1.is_finite()).collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in &pts {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    if pts.is_empty() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let pad = (y1 - y0) * 0.05;
    let (y0, y1) = (y0 - pad, y1 + pad);
    let sx = |x: f64| ml + (x - x0) / (x1 - x0) * (w - ml - mr);
    let sy = |y: f64| mt + (1.0 - (y - y0) / (y1 - y0)) * (h - mt - mb);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" font-size=\"15\">{title}</text>\n",
        ml
    );
    svg += &format!(
        "<line x1=\"{ml}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n<line x1=\"{ml}\" y1=\"{mt}\" x2=\"{ml}\" y2=\"{}\" stroke=\"black\"/>\n",
        h - mb, w - mr, h - mb, h - mb
    );
    for i in 0..=4 {
        let yv = y0 + (y1 - y0) * i as f64 / 4.0;
        let xv = x0 + (x1 - x0) * i as f64 / 4.0;
        svg += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.3}</text>\n", ml - 6.0, sy(yv) + 4.0, yv);
        let digits = if x1 - x0 < 20.0 { 1 } else { 0 };
        svg += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.digits$}</text>\n", sx(xv), h - mb + 18.0, xv);
    }
    svg += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{x_label}</text>\n", (ml + w - mr) / 2.0, h - 10.0);
    svg += &format!("<text x=\"16\" y=\"{}\" transform=\"rotate(-90 16 {})\" text-anchor=\"middle\">{y_label}</text>\n", (mt + h - mb) / 2.0, (mt + h - mb) / 2.0);
    for (k, s) in series.iter().enumerate() {
        let path: Vec<String> = s.points.iter().filter(|p| p.1.is_finite()).map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y))).collect();
        if s.dots {
            for p in s.points.iter().filter(|p| p.1.is_finite()) {
                svg += &format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"{}\" fill-opacity=\"0.5\"/>\n", sx(p.0), sy(p.1), s.color);
            }
        } else if !path.is_empty() {
            svg += &format!("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", s.color, path.join(" "));
        }
        let ly = mt + 10.0 + 18.0 * k as f64;
        svg += &format!(
            "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{}\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
            w - mr + 10.0, w - mr + 30.0, s.color, w - mr + 36.0, ly + 4.0, s.name
        );
    }
    svg += "</svg>\n";
    svg
}

pub fn write_chart(path: &std::path::Path, svg: &str) -> Result<()> {
    crate::io::write_atomic(path, svg.as_bytes())
}
