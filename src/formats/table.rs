//! Tab-separated tables with a header row (targets sheets, labels, ID tables, embedding
//! TSVs): blank lines are skipped, `\r\n` endings accepted, and a row must have as many
//! fields as the header; errors name the source and line.

use super::text::numbered_lines;
use crate::error::{Error, Result};

/// A table over borrowed text.
pub struct Table<'t> {
    pub source: String,
    /// The header's line number.
    pub header_line: usize,
    /// Header names, trimmed.
    pub columns: Vec<&'t str>,
    rows: Vec<(usize, &'t str)>,
}

/// One data row: its line number and its fields (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row<'t> {
    pub line: usize,
    pub fields: Vec<&'t str>,
}

impl<'t> Table<'t> {
    /// The table in `text`, or None when it has no non-blank line at all.
    pub fn parse(text: &'t str, source: &str) -> Option<Table<'t>> {
        let mut lines = numbered_lines(text).filter(|(_, l)| !l.trim().is_empty());
        let (header_line, header) = lines.next()?;
        Some(Table {
            source: source.to_string(),
            header_line,
            columns: header.split('\t').map(str::trim).collect(),
            rows: lines.collect(),
        })
    }

    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == name)
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Rows split into fields, without the width check (for readers with their own).
    pub fn raw_rows(&self) -> impl Iterator<Item = Row<'t>> + '_ {
        self.rows.iter().map(|&(line, text)| Row { line, fields: text.split('\t').map(str::trim).collect() })
    }

    /// Rows with exactly as many fields as the header; a short row names the first
    /// column it lacks.
    pub fn rows(&self) -> impl Iterator<Item = Result<Row<'t>>> + '_ {
        self.raw_rows().map(|row| {
            let (n, width) = (row.fields.len(), self.columns.len());
            if n == width {
                return Ok(row);
            }
            let missing = match self.columns.get(n) {
                Some(c) if n < width && !c.is_empty() => format!(" (no \"{c}\" field)"),
                Some(_) if n < width => format!(" (no field {})", n + 1),
                _ => String::new(),
            };
            Err(Error::Input(format!(
                "{}:{}: {n} fields, the header on line {} has {width}{missing}",
                self.source, row.line, self.header_line
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_checked_against_the_header() {
        let t = Table::parse("\n a\tb \tc\r\n1\t2\t3\r\n\n4\t5\n6\t7\t8\t9\n", "t.tsv").unwrap();
        assert_eq!((t.header_line, t.columns.clone(), t.len()), (2, vec!["a", "b", "c"], 3));
        assert_eq!(t.column("c"), Some(2));
        let rows: Vec<Result<Row>> = t.rows().collect();
        assert_eq!(rows[0].as_ref().unwrap(), &Row { line: 3, fields: vec!["1", "2", "3"] });
        assert_eq!(rows[1].as_ref().unwrap_err().to_string(), "t.tsv:5: 2 fields, the header on line 2 has 3 (no \"c\" field)");
        assert_eq!(rows[2].as_ref().unwrap_err().to_string(), "t.tsv:6: 4 fields, the header on line 2 has 3");
        assert!(Table::parse(" \n\r\n", "e").is_none());
    }
}
