//! Where pruned records go before they are deleted: JSON lines or CSV.

use std::io::{self, Write};

use crate::HistoryTableSpec;

/// The file format of an [`Archive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// One JSON object per line, `{"column": value, ..}`, values in their
    /// JSON types and dates as the database writes them.
    JsonLines,
    /// RFC 4180 CSV with a header of the history table's columns; NULL is
    /// an empty field.
    Csv,
}

impl ArchiveFormat {
    /// The usual file extension (`jsonl`, `csv`).
    pub const fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::JsonLines => "jsonl",
            ArchiveFormat::Csv => "csv",
        }
    }
}

/// A writer that receives every record a prune deletes, written and flushed
/// before each chunk's `DELETE`, so a record is deleted only once it is in
/// the archive. (A chunk that then fails to commit leaves records in the
/// archive that are still in the table: a copy too many, never one too
/// few.)
pub struct Archive<'w> {
    writer: &'w mut dyn Write,
    format: ArchiveFormat,
    header_written: bool,
}

impl std::fmt::Debug for Archive<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl<'w> Archive<'w> {
    /// Archives into `writer` (a file, usually) in `format`.
    pub fn new(writer: &'w mut dyn Write, format: ArchiveFormat) -> Self {
        Archive {
            writer,
            format,
            header_written: false,
        }
    }

    /// Writes records given as JSON objects of one row each, then flushes.
    pub(crate) fn write(&mut self, spec: &HistoryTableSpec, rows: &[String]) -> io::Result<()> {
        match self.format {
            ArchiveFormat::JsonLines => {
                for row in rows {
                    self.writer.write_all(row.as_bytes())?;
                    self.writer.write_all(b"\n")?;
                }
            }
            ArchiveFormat::Csv => {
                let columns = spec.column_names();
                if !self.header_written {
                    let header: Vec<String> = columns.iter().map(|name| csv_field(name)).collect();
                    writeln!(self.writer, "{}", header.join(","))?;
                    self.header_written = true;
                }
                for row in rows {
                    let object: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(row).map_err(io::Error::other)?;
                    let fields: Vec<String> = columns
                        .iter()
                        .map(|name| match object.get(*name) {
                            None | Some(serde_json::Value::Null) => String::new(),
                            Some(serde_json::Value::String(text)) => csv_field(text),
                            Some(other) => csv_field(&other.to_string()),
                        })
                        .collect();
                    writeln!(self.writer, "{}", fields.join(","))?;
                }
            }
        }
        self.writer.flush()
    }
}

/// A CSV field, quoted when it holds a separator, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("paid"), "paid");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
