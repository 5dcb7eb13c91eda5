//! The probe's inputs as files: embeddings as shorkie-embed writes them, a labels table,
//! the sequences a homology split needs, and the matching of labels to embedding rows.
//!
//! Embeddings come as a TSV (`id`, then one column per dimension), or as a float32 `.npy`
//! [N, D] or an `.npz` holding `embeddings` [N, D], each with an ID table beside it (the
//! path with its extension replaced by `.ids.tsv`: `index id contig start end length`, one
//! row per embedding row, in order; contig/start/end are `.` for FASTA records). Every
//! error names the file and, where there is one, the line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::linalg::Matrix;
use super::Task;
use crate::error::{Error, Result};
use crate::formats::table::{Row, Table};


/// A region an embedding was computed over (0-based, end exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub contig: String,
    pub start: u64,
    pub end: u64,
}

/// One row of an ID table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRow {
    pub id: String,
    /// None for FASTA records (`.` in the table).
    pub region: Option<Region>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct IdTable {
    pub source: String,
    pub rows: Vec<IdRow>,
}

/// Embedding rows with their ids.
#[derive(Debug, Clone)]
pub struct Embeddings {
    /// The file, as errors name it.
    pub source: String,
    pub ids: Vec<String>,
    pub x: Matrix,
    /// The ID table, when the input has one (always for .npy/.npz).
    pub id_table: Option<IdTable>,
}

impl Embeddings {
    /// Embeddings from features computed here (e.g. k-mer frequencies of a FASTA).
    pub fn computed(source: &str, ids: Vec<String>, x: Matrix) -> Self {
        Embeddings { source: source.to_string(), ids, x, id_table: None }
    }
}

/// Plain, gzip or bgzip text.
fn read_text(path: &Path) -> Result<String> {
    crate::formats::text::open_path(path)?.read_to_string()
}

/// Records where each id was first seen; a second sighting is an error naming both lines.
struct Seen<'a> {
    source: &'a str,
    first: HashMap<String, usize>,
}

impl<'a> Seen<'a> {
    fn new(source: &'a str) -> Self {
        Seen { source, first: HashMap::new() }
    }

    fn insert(&mut self, id: &str, line: usize) -> Result<()> {
        if id.is_empty() {
            return Err(Error::Input(format!("{}:{line}: empty id", self.source)));
        }
        match self.first.insert(id.to_string(), line) {
            Some(first) => {
                Err(Error::Input(format!("{}:{line}: duplicate id {id} (first on line {first})", self.source)))
            }
            None => Ok(()),
        }
    }
}

/// Reads embeddings by extension: `.npy`, `.npz`, anything else as TSV. `ids` overrides
/// the ID table beside an `.npy`/`.npz`, and gives a TSV one (for contigs and regions).
pub fn read_embeddings(path: &Path, ids: Option<&Path>) -> Result<Embeddings> {
    let source = path.display().to_string();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let binary = match ext.as_str() {
        "npy" => Some(read_npy(path)?),
        "npz" => Some(read_npz_embeddings(path)?),
        _ => None,
    };
    let Some((rows, cols, data)) = binary else {
        let (emb_ids, x) = read_tsv(path)?;
        let id_table = match ids {
            Some(p) => {
                let table = read_id_table(p)?;
                check_table_ids(&table, &emb_ids, &source)?;
                Some(table)
            }
            None => None,
        };
        return Ok(Embeddings { source, ids: emb_ids, x, id_table });
    };
    if rows == 0 {
        return Err(Error::Input(format!("{source}: no embeddings (0 rows)")));
    }
    let table_path = ids.map(Path::to_path_buf).unwrap_or_else(|| id_table_path(path));
    if !table_path.exists() {
        return Err(Error::Input(format!(
            "{source}: no ID table {} beside it (shorkie-embed writes one with the .{ext}; or name it with --ids)",
            table_path.display()
        )));
    }
    let table = read_id_table(&table_path)?;
    if table.rows.len() != rows {
        return Err(Error::Input(format!(
            "{}: {} ids for the {rows} embedding rows of {source}",
            table.source,
            table.rows.len()
        )));
    }
    let ids: Vec<String> = table.rows.iter().map(|r| r.id.clone()).collect();
    if let Some(p) = data.iter().position(|v| !v.is_finite()) {
        let (r, c) = (p / cols, p % cols);
        return Err(Error::Input(format!(
            "{source}: row {r} (id {}), column {c}: value {} is not finite",
            ids[r], data[p]
        )));
    }
    let x = Matrix::new(rows, cols, data.into_iter().map(f64::from).collect())?;
    Ok(Embeddings { source, ids, x, id_table: Some(table) })
}

/// `emb.npy` → `emb.ids.tsv`: where shorkie-embed puts the ID table.
pub fn id_table_path(path: &Path) -> PathBuf {
    path.with_extension("ids.tsv")
}

/// Rows, columns and values of a 2-D float array.
fn matrix_shape(source: &str, what: &str, shape: &[usize]) -> Result<(usize, usize)> {
    match shape {
        [n, d] => {
            if *d == 0 && *n > 0 {
                return Err(Error::Input(format!("{source}: {what} has no columns (shape [{n}, 0])")));
            }
            Ok((*n, *d))
        }
        _ => Err(Error::Input(format!("{source}: {what} has shape {shape:?}, expected [sequences, dimensions]"))),
    }
}

fn read_npy(path: &Path) -> Result<(usize, usize, Vec<f32>)> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.is_empty() {
        return Err(Error::Input(format!("{source}: empty file, no embeddings")));
    }
    let array = crate::npz::parse_npy(&bytes).map_err(|m| Error::Input(format!("{source}: {m}")))?;
    let (n, d) = matrix_shape(&source, "the array", &array.shape)?;
    Ok((n, d, array.data))
}

fn read_npz_embeddings(path: &Path) -> Result<(usize, usize, Vec<f32>)> {
    let source = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() == 0 {
        return Err(Error::Input(format!("{source}: empty file, no embeddings")));
    }
    let mut arrays = crate::npz::read_npz(path)?;
    let Some(array) = arrays.remove("embeddings") else {
        let mut names: Vec<&String> = arrays.keys().collect();
        names.sort();
        let shown: Vec<&str> = names.iter().take(5).map(|s| s.as_str()).collect();
        let more = if names.len() > 5 { format!(", ... ({} arrays)", names.len()) } else { String::new() };
        return Err(Error::Input(format!(
            "{source}: no `embeddings` array (written with --pool none?); it holds {}{more}",
            if shown.is_empty() { "nothing".to_string() } else { shown.join(", ") }
        )));
    };
    let (n, d) = matrix_shape(&source, "`embeddings`", &array.shape)?;
    Ok((n, d, array.data))
}

/// The TSV shorkie-embed writes: a header `id e0 e1 ...`, then an id and D values per row.
/// Values are read as float32, what the embeddings are, so a TSV and an `.npy` of the
/// same embeddings give the same probe.
fn read_tsv(path: &Path) -> Result<(Vec<String>, Matrix)> {
    let source = path.display().to_string();
    let text = read_text(path)?;
    let Some(table) = Table::parse(&text, &source) else {
        return Err(Error::Input(format!("{source}: empty file, no embeddings")));
    };
    let (hline, columns) = (table.header_line, &table.columns);
    if columns.len() < 2 {
        return Err(Error::Input(format!(
            "{source}:{hline}: the header has no embedding columns (expected id, e0, e1, ... separated by tabs)"
        )));
    }
    if columns.get(1) == Some(&"position") {
        return Err(Error::Input(format!(
            "{source}:{hline}: one embedding per position (written with --pool none?); the probe needs one per sequence"
        )));
    }
    let d = columns.len() - 1;
    let mut seen = Seen::new(&source);
    let mut ids = Vec::new();
    let mut data: Vec<f64> = Vec::new();
    for Row { line, fields } in table.raw_rows() {
        let id = fields[0];
        if fields.len() != columns.len() {
            return Err(Error::Input(format!(
                "{source}:{line}: id {id} has {} values, the header on line {hline} has {d}",
                fields.len() - 1
            )));
        }
        seen.insert(id, line)?;
        for (c, &f) in fields[1..].iter().enumerate() {
            let v: f32 = f.parse().map_err(|_| {
                Error::Input(format!("{source}:{line}: id {id}, column {}: \"{f}\" is not a number", columns[c + 1]))
            })?;
            if !v.is_finite() {
                return Err(Error::Input(format!(
                    "{source}:{line}: id {id}, column {}: value {f} is not finite",
                    columns[c + 1]
                )));
            }
            data.push(v as f64);
        }
        ids.push(id.to_string());
    }
    if ids.is_empty() {
        return Err(Error::Input(format!("{source}: a header but no embedding rows")));
    }
    let x = Matrix::new(ids.len(), d, data)?;
    Ok((ids, x))
}

/// The ID table: `index id contig start end length` (only `id` is required; `index`, when
/// there, must count rows from 0 so that a reordered table is caught).
pub fn read_id_table(path: &Path) -> Result<IdTable> {
    let source = path.display().to_string();
    let text = read_text(path)?;
    let Some(table) = Table::parse(&text, &source) else {
        return Err(Error::Input(format!("{source}: empty ID table")));
    };
    let (hline, columns) = (table.header_line, &table.columns);
    let col = |name: &str| table.column(name);
    let id_col = col("id").ok_or_else(|| {
        Error::Input(format!("{source}:{hline}: the ID table has no `id` column (columns: {})", columns.join(", ")))
    })?;
    let (index_col, contig_col, start_col, end_col) = (col("index"), col("contig"), col("start"), col("end"));
    let mut seen = Seen::new(&source);
    let mut rows = Vec::new();
    for row in table.rows() {
        let Row { line, fields } = row?;
        let bad = |msg: String| Error::Input(format!("{source}:{line}: {msg}"));
        if let Some(c) = index_col {
            let expected = rows.len();
            if fields[c].parse::<usize>().ok() != Some(expected) {
                return Err(bad(format!("index {}, expected {expected} (rows must be in embedding order)", fields[c])));
            }
        }
        let id = fields[id_col];
        seen.insert(id, line)?;
        let region = match contig_col.map(|c| fields[c]) {
            None | Some(".") | Some("") => None,
            Some(contig) => {
                let coord = |c: Option<usize>, what: &str| -> Result<u64> {
                    let v = c
                        .map(|c| fields[c])
                        .ok_or_else(|| bad(format!("id {id} has a contig but no {what} column")))?;
                    v.parse().map_err(|_| bad(format!("id {id}: {what} \"{v}\" is not a position")))
                };
                let (start, end) = (coord(start_col, "start")?, coord(end_col, "end")?);
                if end <= start {
                    return Err(bad(format!("id {id}: empty region {contig}:{start}-{end}")));
                }
                Some(Region { contig: contig.to_string(), start, end })
            }
        };
        rows.push(IdRow { id: id.to_string(), region, line });
    }
    if rows.is_empty() {
        return Err(Error::Input(format!("{source}: a header but no ids")));
    }
    Ok(IdTable { source, rows })
}

/// A TSV's own ids must be the ID table's, row for row.
fn check_table_ids(table: &IdTable, ids: &[String], emb: &str) -> Result<()> {
    if table.rows.len() != ids.len() {
        return Err(Error::Input(format!(
            "{}: {} ids for the {} embedding rows of {emb}",
            table.source,
            table.rows.len(),
            ids.len()
        )));
    }
    for (i, (row, id)) in table.rows.iter().zip(ids).enumerate() {
        if row.id != *id {
            return Err(Error::Input(format!(
                "{}:{}: id {}, but row {i} of {emb} is {id}",
                table.source, row.line, row.id
            )));
        }
    }
    Ok(())
}

/// One labelled id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRow {
    pub id: String,
    /// As written (trimmed); parsed once the task is known.
    pub label: String,
    /// The group column's value, when there is one.
    pub group: Option<String>,
    /// The two factor columns' values as written, when asked for.
    pub factors: Option<[String; 2]>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Labels {
    pub source: String,
    pub label_column: String,
    /// The column the groups came from (`--group-column`, or a `contig` column).
    pub group_column: Option<String>,
    pub rows: Vec<LabelRow>,
}

/// Which columns of the labels table to read.
#[derive(Debug, Clone, Default)]
pub struct LabelColumns<'a> {
    /// Default `id`.
    pub id: Option<&'a str>,
    /// Default: the first column other than the id and group columns.
    pub label: Option<&'a str>,
    /// Required when named; otherwise a column called `contig` is read if present.
    pub group: Option<&'a str>,
    /// Two binary columns for the compositional split (never the default label).
    pub factors: Option<[&'a str; 2]>,
}

/// A labels TSV with a header row (a leading `#` on the header is ignored).
pub fn read_labels(path: &Path, want: &LabelColumns) -> Result<Labels> {
    let source = path.display().to_string();
    let text = read_text(path)?;
    let Some(mut table) = Table::parse(&text, &source) else {
        return Err(Error::Input(format!("{source}: empty file, no labels")));
    };
    if let Some(first) = table.columns.first_mut() {
        *first = first.strip_prefix('#').unwrap_or(first).trim();
    }
    let (hline, columns) = (table.header_line, &table.columns);
    let listing = columns.join(", ");
    let find = |name: &str, flag: &str| -> Result<usize> {
        columns.iter().position(|c| *c == name).ok_or_else(|| {
            Error::Input(format!("{source}:{hline}: no column \"{name}\" ({flag}; the columns are {listing})"))
        })
    };
    let id_col = find(want.id.unwrap_or("id"), "--id-column")?;
    let group_col = match want.group {
        Some(g) => Some(find(g, "--group-column")?),
        None => columns.iter().position(|c| *c == "contig"),
    };
    let factor_cols = match want.factors {
        Some([a, b]) => Some([find(a, "--factors")?, find(b, "--factors")?]),
        None => None,
    };
    let is_factor = |c: usize| factor_cols.is_some_and(|f| f.contains(&c));
    let label_col = match want.label {
        Some(l) => find(l, "--label-column")?,
        None => (0..columns.len())
            .find(|&c| c != id_col && Some(c) != group_col && columns[c] != "contig" && !is_factor(c))
            .ok_or_else(|| {
                Error::Input(format!("{source}:{hline}: no label column besides the id (the columns are {listing})"))
            })?,
    };
    if label_col == id_col {
        return Err(Error::Input(format!("{source}:{hline}: the label column is the id column ({})", columns[id_col])));
    }
    let mut seen = Seen::new(&source);
    let mut rows = Vec::new();
    for row in table.rows() {
        let Row { line, fields } = row?;
        seen.insert(fields[id_col], line)?;
        rows.push(LabelRow {
            id: fields[id_col].to_string(),
            label: fields[label_col].to_string(),
            group: group_col.map(|c| fields[c].to_string()),
            factors: factor_cols.map(|[a, b]| [fields[a].to_string(), fields[b].to_string()]),
            line,
        });
    }
    if rows.is_empty() {
        return Err(Error::Input(format!("{source}: a header but no labels")));
    }
    Ok(Labels {
        source,
        label_column: columns[label_col].to_string(),
        group_column: group_col.map(|c| columns[c].to_string()),
        rows,
    })
}

/// A factor value of the compositional split: 1/0, true/false, yes/no (any case).
pub fn parse_factor(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "t" => Some(true),
        "0" | "false" | "no" | "n" | "f" => Some(false),
        _ => None,
    }
}

/// Labelled embedding rows, in embedding order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Samples {
    /// The embedding row of each sample.
    pub rows: Vec<usize>,
    /// Its row in the labels table.
    pub labels: Vec<usize>,
    /// Embedding ids without a label (left out).
    pub unlabelled: usize,
}

/// Every label must have an embedding (a missing one means the two files do not belong
/// together); embeddings without a label are left out.
pub fn match_samples(emb: &Embeddings, labels: &Labels) -> Result<Samples> {
    let row_of: HashMap<&str, usize> = emb.ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut missing = labels.rows.iter().filter(|r| !row_of.contains_key(r.id.as_str()));
    if let Some(first) = missing.next() {
        let others = missing.count();
        let more = if others > 0 { format!(" ({others} other label ids are missing too)") } else { String::new() };
        return Err(Error::Input(format!(
            "{}:{}: id {} is not in {}{more}",
            labels.source, first.line, first.id, emb.source
        )));
    }
    let mut label_of: Vec<Option<usize>> = vec![None; emb.ids.len()];
    for (j, r) in labels.rows.iter().enumerate() {
        label_of[row_of[r.id.as_str()]] = Some(j);
    }
    let (rows, labels): (Vec<usize>, Vec<usize>) =
        label_of.iter().enumerate().filter_map(|(i, l)| l.map(|l| (i, l))).unzip();
    Ok(Samples { unlabelled: emb.ids.len() - rows.len(), rows, labels })
}

/// How the positive class was picked, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositiveRule {
    Given,
    OneOfZeroOne,
    TrueOrYes,
    SortsSecond,
}

impl PositiveRule {
    pub fn describe(self) -> &'static str {
        match self {
            PositiveRule::Given => "--positive",
            PositiveRule::OneOfZeroOne => "1 of 0/1 labels",
            PositiveRule::TrueOrYes => "true/yes",
            PositiveRule::SortsSecond => "the value that sorts second; choose with --positive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classes {
    pub positive: String,
    pub negative: String,
    pub n_positive: usize,
    pub n_negative: usize,
    pub rule: PositiveRule,
}

/// Labels as numbers for the probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub task: Task,
    pub y: Vec<f64>,
    pub classes: Option<Classes>,
}

/// The label values of `samples` as a probe target. `task` None decides by the values:
/// exactly two distinct values make a classification, more a regression.
pub fn resolve_target(
    labels: &Labels,
    samples: &Samples,
    emb_source: &str,
    task: Option<Task>,
    positive: Option<&str>,
) -> Result<Target> {
    let values: Vec<&LabelRow> = samples.labels.iter().map(|&j| &labels.rows[j]).collect();
    let mut counts: Vec<(&str, usize)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for r in &values {
        let next = counts.len();
        let i = *index.entry(r.label.as_str()).or_insert(next);
        if i == next {
            counts.push((r.label.as_str(), 0));
        }
        counts[i].1 += 1;
    }
    let source = &labels.source;
    if counts.len() == 1 {
        let (v, n) = counts[0];
        return Err(Error::Input(format!(
            "{source}: all {n} labels matched to {emb_source} are \"{v}\"; a probe needs two classes or varying values"
        )));
    }
    let task = task.unwrap_or(if counts.len() == 2 { Task::Classification } else { Task::Regression });
    match task {
        Task::Regression => {
            let y = values
                .iter()
                .map(|r| match r.label.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(v),
                    _ => {
                        Err(Error::Input(format!("{source}:{}: label \"{}\" is not a finite number", r.line, r.label)))
                    }
                })
                .collect::<Result<_>>()?;
            Ok(Target { task, y, classes: None })
        }
        Task::Classification => {
            if counts.len() > 2 {
                counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let shown: Vec<String> = counts.iter().take(8).map(|(v, n)| format!("\"{v}\" ({n})")).collect();
                let more = if counts.len() > 8 { ", ..." } else { "" };
                return Err(Error::Input(format!(
                    "{source}: classification needs exactly two label values, found {}: {}{more}",
                    counts.len(),
                    shown.join(", ")
                )));
            }
            let (pos, rule) = pick_positive(counts[0].0, counts[1].0, positive)
                .map_err(|m| Error::Input(format!("{source}: {m}")))?;
            let neg = if pos == counts[0].0 { counts[1].0 } else { counts[0].0 };
            let y: Vec<f64> = values.iter().map(|r| if r.label == pos { 1.0 } else { 0.0 }).collect();
            let n_positive = y.iter().filter(|v| **v == 1.0).count();
            Ok(Target {
                task,
                classes: Some(Classes {
                    positive: pos.to_string(),
                    negative: neg.to_string(),
                    n_positive,
                    n_negative: y.len() - n_positive,
                    rule,
                }),
                y,
            })
        }
    }
}

/// The positive one of two class values.
fn pick_positive<'a>(
    a: &'a str,
    b: &'a str,
    given: Option<&str>,
) -> std::result::Result<(&'a str, PositiveRule), String> {
    if let Some(p) = given {
        return [a, b]
            .into_iter()
            .find(|v| *v == p)
            .map(|v| (v, PositiveRule::Given))
            .ok_or_else(|| format!("--positive \"{p}\" is not a label value (the values are \"{a}\" and \"{b}\")"));
    }
    let num = |v: &str| v.parse::<f64>().ok();
    match (num(a), num(b)) {
        (Some(x), Some(y)) if (x == 0.0 && y == 1.0) || (x == 1.0 && y == 0.0) => {
            return Ok((if x == 1.0 { a } else { b }, PositiveRule::OneOfZeroOne));
        }
        _ => {}
    }
    let yes = |v: &str| v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("yes");
    match (yes(a), yes(b)) {
        (true, false) => return Ok((a, PositiveRule::TrueOrYes)),
        (false, true) => return Ok((b, PositiveRule::TrueOrYes)),
        _ => {}
    }
    Ok((if a < b { b } else { a }, PositiveRule::SortsSecond))
}

/// FASTA records by name (plain, gzip or bgzip); a repeated name, an empty record or a
/// letter other than A/C/G/T/N is an error naming the line.
pub fn read_sequences(path: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let shown = path.display().to_string();
    let reader = crate::formats::text::open_path(path)?;
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for record in crate::formats::fasta_stream::FastaRecords::new(reader, &shown) {
        let r = record?;
        if let Some(line) = first.insert(r.name.clone(), r.line) {
            return Err(Error::Input(format!("{shown}:{}: duplicate sequence name {} (first on line {line})", r.line, r.name)));
        }
        out.push((r.name, r.seq));
    }
    if out.is_empty() {
        return Err(Error::Input(format!("{shown}: no sequences in the FASTA")));
    }
    Ok(out)
}

/// The sequence of each id, from FASTA records named by id.
pub fn sequences_by_id(records: &[(String, Vec<u8>)], ids: &[&str], source: &str) -> Result<Vec<Vec<u8>>> {
    let by_name: HashMap<&str, &Vec<u8>> = records.iter().map(|(n, s)| (n.as_str(), s)).collect();
    let mut missing = ids.iter().filter(|id| !by_name.contains_key(*id));
    if let Some(first) = missing.next() {
        let others = missing.count();
        let more = if others > 0 { format!(" ({others} other samples lack one too)") } else { String::new() };
        return Err(Error::Input(format!("{source}: no sequence for id {first}{more}")));
    }
    Ok(ids.iter().map(|id| by_name[id].clone()).collect())
}

/// The sequence of each embedding row in `rows`, fetched from an indexed genome through
/// the ID table's regions.
pub fn sequences_from_reference(emb: &Embeddings, rows: &[usize], genome: &Path) -> Result<Vec<Vec<u8>>> {
    let table = emb.id_table.as_ref().ok_or_else(|| {
        Error::Input(format!(
            "--reference needs the regions of an ID table, and {} has none (give --ids, or --sequences)",
            emb.source
        ))
    })?;
    let fasta = crate::formats::indexed_fasta::Fasta::open(genome)?;
    rows.iter()
        .map(|&i| {
            let row = &table.rows[i];
            let region = row.region.as_ref().ok_or_else(|| {
                Error::Input(format!(
                    "{}:{}: id {} has no region (contig `.`), so --reference cannot fetch it; use --sequences",
                    table.source, row.line, row.id
                ))
            })?;
            if !fasta.has(&region.contig) {
                return Err(Error::Input(format!(
                    "{}:{}: id {}: contig {} is not in {}",
                    table.source,
                    row.line,
                    row.id,
                    region.contig,
                    genome.display()
                )));
            }
            fasta.fetch_padded(&region.contig, region.start as i64, region.end as i64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn err<T: std::fmt::Debug>(r: Result<T>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn tsv_and_id_table() {
        let dir = tempfile::tempdir().unwrap();
        let emb = write(dir.path(), "e.tsv", "id\te0\te1\na\t1\t2\r\nb\t0.5\t-1e-3\n\n");
        let e = read_embeddings(&emb, None).unwrap();
        assert_eq!(e.ids, vec!["a", "b"]);
        assert_eq!(e.x.row(1), &[0.5, -1e-3f32 as f64]);
        let ids = write(
            dir.path(),
            "t.tsv",
            "index\tid\tcontig\tstart\tend\tlength\n0\ta\tchrI\t10\t20\t10\n1\tb\t.\t.\t.\t7\n",
        );
        let e = read_embeddings(&emb, Some(&ids)).unwrap();
        let t = e.id_table.unwrap();
        assert_eq!(t.rows[0].region, Some(Region { contig: "chrI".into(), start: 10, end: 20 }));
        assert_eq!((t.rows[1].region.clone(), t.rows[1].line), (None, 3));
        let swapped = write(dir.path(), "s.tsv", "id\nb\na\n");
        assert!(err(read_embeddings(&emb, Some(&swapped))).contains("s.tsv:2: id b, but row 0"));
        let reindexed = write(dir.path(), "r.tsv", "index\tid\n1\ta\n0\tb\n");
        assert!(err(read_id_table(&reindexed)).contains("r.tsv:2: index 1, expected 0"));
    }

    #[test]
    fn labels_columns_and_matching() {
        let dir = tempfile::tempdir().unwrap();
        let lab = write(dir.path(), "l.tsv", "#id\tcontig\tscore\tother\nb\tchrII\t2.5\tx\na\tchrI\t1\ty\n");
        let labels = read_labels(&lab, &LabelColumns::default()).unwrap();
        assert_eq!(labels.label_column, "score");
        assert_eq!(labels.group_column.as_deref(), Some("contig"));
        assert_eq!(labels.rows[0].group.as_deref(), Some("chrII"));
        let named =
            read_labels(&lab, &LabelColumns { label: Some("other"), group: Some("score"), ..Default::default() });
        assert_eq!(named.unwrap().rows[1].group.as_deref(), Some("1"));
        assert!(err(read_labels(&lab, &LabelColumns { id: Some("name"), ..Default::default() }))
            .contains("l.tsv:1: no column \"name\" (--id-column"));

        let emb = Embeddings::computed("e.tsv", vec!["a".into(), "c".into(), "b".into()], Matrix::zeros(3, 2));
        let s = match_samples(&emb, &labels).unwrap();
        assert_eq!(s, Samples { rows: vec![0, 2], labels: vec![1, 0], unlabelled: 1 });
        let t = resolve_target(&labels, &s, "e.tsv", None, None).unwrap();
        // "1" and "2.5" are not 0/1: the positive class is the one that sorts second.
        assert_eq!((t.task, t.y.clone()), (Task::Classification, vec![0.0, 1.0]));
        assert_eq!(t.classes.unwrap().positive, "2.5");
        let t = resolve_target(&labels, &s, "e.tsv", Some(Task::Regression), None).unwrap();
        assert_eq!(t.y, vec![1.0, 2.5]);
        let small = Embeddings::computed("e.tsv", vec!["a".into()], Matrix::zeros(1, 2));
        assert!(err(match_samples(&small, &labels)).ends_with("l.tsv:2: id b is not in e.tsv"));
    }

    #[test]
    fn positive_class_rules() {
        assert_eq!(pick_positive("1", "0", None).unwrap(), ("1", PositiveRule::OneOfZeroOne));
        assert_eq!(pick_positive("0.0", "1.0", None).unwrap(), ("1.0", PositiveRule::OneOfZeroOne));
        assert_eq!(pick_positive("Yes", "no", None).unwrap(), ("Yes", PositiveRule::TrueOrYes));
        assert_eq!(pick_positive("false", "TRUE", None).unwrap(), ("TRUE", PositiveRule::TrueOrYes));
        assert_eq!(pick_positive("intergenic", "coding", None).unwrap(), ("intergenic", PositiveRule::SortsSecond));
        assert_eq!(pick_positive("intergenic", "coding", Some("coding")).unwrap(), ("coding", PositiveRule::Given));
        assert!(pick_positive("a", "b", Some("c")).unwrap_err().contains("\"c\" is not a label value"));
    }
}
