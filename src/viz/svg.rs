//! Small helpers shared by the SVG renderers: XML escaping, label truncation, number and
//! coordinate formatting, the document header, and the genome-coordinate → pixel mapping.

/// Escape text for use in SVG character data or inside a double-quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 documents.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Shorten `s` to at most `max_chars` characters (counting Unicode scalar values), marking a
/// cut with a trailing `…`. Apply before [`escape`] so entities are never split.
pub fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    if max_chars == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max_chars - 1).collect();
    out.push('…');
    out
}

/// Truncate then escape: the usual treatment of a user-supplied label.
pub fn label(s: &str, max_chars: usize) -> String {
    escape(&truncate(s, max_chars))
}

/// A pixel coordinate with at most two decimals and no trailing zeros (`12.5`, `3`, `-0.25`).
pub fn px(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let mut s = format!("{v:.2}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

/// A data value for an axis or cell label: three significant digits, scientific notation
/// for very large or very small magnitudes, `NaN`/`inf` spelled out.
pub fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".to_string() } else { "-inf".to_string() };
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.2e}");
    }
    let mag = a.log10().floor() as i32;
    let decimals = (2 - mag).max(0) as usize;
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// A genome coordinate with thousands separators (`1,234,567`).
pub fn fmt_bp(pos: i64) -> String {
    let digits = pos.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if pos < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Opening `<svg>` tag plus the white background, in the house style of `train::plot`.
pub fn open(width: f64, height: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        w = px(width),
        h = px(height)
    )
}

/// Closing tag matching [`open`].
pub fn close(svg: &mut String) {
    svg.push_str("</svg>\n");
}

/// A "nice" tick step (1, 2 or 5 × 10^k) giving roughly `target` intervals over `span`.
pub fn nice_step(span: f64, target: usize) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / target.max(1) as f64;
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let f = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    f * p
}

/// Linear map from a half-open genome range `[start, end)` onto pixels `[x0, x0 + width]`.
/// Coordinates are base boundaries: base `p` (0-based) occupies `[x(p), x(p + 1)]`, its centre
/// is `x(p + 0.5)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GenomeScale {
    pub start: i64,
    pub end: i64,
    pub x0: f64,
    pub width: f64,
}

impl GenomeScale {
    /// `end <= start` is widened to a one-base range so the map is always defined.
    pub fn new(start: i64, end: i64, x0: f64, width: f64) -> Self {
        GenomeScale { start, end: end.max(start + 1), x0, width }
    }

    pub fn span(&self) -> i64 {
        self.end - self.start
    }

    /// Pixel of genome coordinate `pos` (fractional coordinates allowed).
    pub fn x(&self, pos: f64) -> f64 {
        self.x0 + (pos - self.start as f64) / self.span() as f64 * self.width
    }

    /// Pixels per base.
    pub fn px_per_bp(&self) -> f64 {
        self.width / self.span() as f64
    }

    /// Clip a half-open interval to the range; `None` when nothing of it is shown.
    pub fn clip(&self, a: i64, b: i64) -> Option<(i64, i64)> {
        let (a, b) = (a.max(self.start), b.min(self.end));
        (a < b).then_some((a, b))
    }
}
