//! A minimal CSV reader for the input files (snapshots, metagraphs): a header line, one record per
//! line, cells optionally in double quotes (`""` is a quote inside one; a line break inside a
//! quoted cell is not supported). Every error names the file, the 1-based line and, for a cell,
//! its column, as [`Error::Parse`].

use crate::{Error, Result};

/// A CSV file split into cells, with the 1-based line number of each record.
pub(crate) struct CsvTable<'a> {
    /// The file's name in errors.
    pub(crate) file: &'a str,
    header: Vec<String>,
    records: Vec<(usize, Vec<String>)>,
}

impl<'a> CsvTable<'a> {
    /// Splits `text` (the contents of `file`) into its header and records; `example_header`
    /// shows the expected header in the error for an empty file.
    pub(crate) fn parse(file: &'a str, text: &str, example_header: &str) -> Result<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
        let header_err = |m: String| Error::Parse(format!("{file}: line 1 (header): {m}"));
        let header: Vec<String> = match lines.next() {
            Some((_, line)) if !line.trim().is_empty() => split_record(line)
                .map_err(header_err)?
                .into_iter()
                .map(|c| c.trim().to_string())
                .collect(),
            _ => {
                return Err(Error::Parse(format!(
                    "{file}: empty file (expected a header line such as `{example_header}`)"
                )));
            }
        };
        let mut records = Vec::new();
        for (line_no, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let cells = split_record(line)
                .map_err(|m| Error::Parse(format!("{file}: line {line_no}: {m}")))?;
            if cells.len() != header.len() {
                return Err(Error::Parse(format!(
                    "{file}: line {line_no}: {} cells, the header has {} columns",
                    cells.len(),
                    header.len()
                )));
            }
            records.push((line_no, cells));
        }
        Ok(Self { file, header, records })
    }

    /// The index of column `name`, if the header has it.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The index of column `name`, or an error naming it.
    pub(crate) fn required(&self, name: &str) -> Result<usize> {
        self.column(name).ok_or_else(|| {
            Error::Parse(format!(
                "{}: line 1 (header): missing required column `{name}`",
                self.file
            ))
        })
    }

    /// The records in file order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.records.iter().map(|(line, cells)| Row {
            file: self.file,
            line: *line,
            cells,
            header: &self.header,
        })
    }
}

/// Splits one CSV line into cells. A cell wrapped in double quotes may hold commas and `""`
/// (a literal quote); a quote anywhere else is an error.
fn split_record(line: &str) -> core::result::Result<Vec<String>, String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut cell_was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            ',' => {
                cells.push(std::mem::take(&mut cell));
                cell_was_quoted = false;
            }
            '"' if cell.trim().is_empty() && !cell_was_quoted => {
                cell.clear();
                quoted = true;
                cell_was_quoted = true;
            }
            '"' => return Err(format!("a stray double quote in cell {}", cells.len() + 1)),
            _ if cell_was_quoted && !c.is_whitespace() => {
                return Err(format!("text after a closing quote in cell {}", cells.len() + 1));
            }
            _ => cell.push(c),
        }
    }
    if quoted {
        return Err(format!("an unterminated quoted cell {}", cells.len() + 1));
    }
    cells.push(cell);
    Ok(cells)
}

/// One record, with what its errors need to name.
pub(crate) struct Row<'a> {
    file: &'a str,
    /// The record's 1-based line in the file.
    pub(crate) line: usize,
    cells: &'a [String],
    header: &'a [String],
}

impl Row<'_> {
    /// An error at this record's line and `column`.
    pub(crate) fn error(&self, column: &str, message: impl std::fmt::Display) -> Error {
        Error::Parse(format!("{}: line {}, column `{column}`: {message}", self.file, self.line))
    }

    /// The trimmed text of cell `col`.
    pub(crate) fn cell(&self, col: usize) -> &str {
        self.cells[col].trim()
    }

    /// Passes `value` through when `ok`, else names it as `what`.
    pub(crate) fn check(&self, ok: bool, column: &str, value: f64, what: &str) -> Result<f64> {
        if ok { Ok(value) } else { Err(self.error(column, format!("`{value}` is {what}"))) }
    }

    /// A required finite number.
    pub(crate) fn number(&self, col: usize, name: &str) -> Result<f64> {
        self.optional_number(Some(col), name)?
            .ok_or_else(|| self.error(name, "empty cell (a number is required)"))
    }

    /// A finite number, or `None` for an absent column or an empty cell.
    pub(crate) fn optional_number(&self, col: Option<usize>, name: &str) -> Result<Option<f64>> {
        let Some(col) = col else { return Ok(None) };
        debug_assert_eq!(self.header[col], name);
        let text = self.cell(col);
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.error(name, format!("`{text}` is not a finite number"))),
        }
    }

    /// A required non-negative integer that fits in `u32` (netuids, blocks).
    pub(crate) fn integer(&self, col: usize, name: &str) -> Result<u32> {
        self.optional_integer(col, name)?
            .ok_or_else(|| self.error(name, "empty cell (an integer is required)"))
    }

    /// A non-negative integer that fits in `u32`, or `None` for an empty cell.
    pub(crate) fn optional_integer(&self, col: usize, name: &str) -> Result<Option<u32>> {
        debug_assert_eq!(self.header[col], name);
        let text = self.cell(col);
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<u32>().map(Some).map_err(|_| {
            self.error(name, format!("`{text}` is not an integer in 0..={}", u32::MAX))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_record_handles_quotes() {
        assert_eq!(split_record("1,a,2").unwrap(), ["1", "a", "2"]);
        assert_eq!(split_record("1,\"a, b\",2").unwrap(), ["1", "a, b", "2"]);
        assert_eq!(split_record("1,\"say \"\"hi\"\"\",").unwrap(), ["1", "say \"hi\"", ""]);
        assert!(split_record("1,\"open,2").unwrap_err().contains("unterminated"));
        assert!(split_record("1,a\"b,2").unwrap_err().contains("stray"));
        assert!(split_record("1,\"a\"b,2").unwrap_err().contains("after a closing quote"));
    }
}
