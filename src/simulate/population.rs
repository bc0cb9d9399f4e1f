//! The population a simulation runs over: profile snapshots (each with the context of its
//! visits, where the file has one), read in order and in batches, so a population larger than
//! memory streams through.
//!
//! Three forms, by the file's name:
//!
//! * `*.parquet`: a table from the bank's warehouse. Each row is read as a JSON object (arrow's
//!   JSON encoding: structs and maps become objects, lists arrays, nulls are left out). A row with
//!   a `profile` column is `{profile, context?}` (each a nested column or a JSON string); any other
//!   row is the snapshot itself (columns `id`, `loggedIn`, `attributes`, `propensities`,
//!   `consent`).
//! * `*.json`: `{"profiles": [...], "contexts": [...]}`, what `opmaat synth --people` writes
//!   (read whole: for large populations use one of the others); profile `i` visits with context
//!   `i`.
//! * anything else: JSON Lines, one snapshot or one `{"profile": ..., "context": ...}` per line.
//!
//! A row that cannot be read (bad JSON, a line longer than [`MAX_ROW_BYTES`], a row that is not
//! an object) is a [`Record`] with its reason, never the end of the file: the simulation names it
//! by row and skips it (or stops, with `--strict`). A file that cannot be read at all is an
//! error. [`write`] writes a population in any of the three forms.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value};

use crate::{Error, Result};

/// Longest row read (a snapshot is at most [`crate::profile::MAX_PROFILE_BYTES`]; the context
/// and the wrapper get as much again).
pub const MAX_ROW_BYTES: usize = 2 * crate::profile::MAX_PROFILE_BYTES;
/// Rows per Parquet batch, read and written.
const PARQUET_BATCH_ROWS: usize = 8_192;

/// One customer of the population.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub profile: Value,
    /// The context the customer's visits are decided in, if the file gives one.
    pub context: Option<Value>,
}

/// One row of the file: its position (1-based: the line of a JSON Lines file, the row of a
/// table, the index + 1 in `profiles`) and the customer, or why the row could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub row: u64,
    pub entry: std::result::Result<Entry, String>,
}

/// An open population file.
pub struct Population {
    /// Rows in the file, where known before reading (for progress).
    pub rows: Option<u64>,
    records: Box<dyn Iterator<Item = Result<Record>> + Send>,
}

impl Iterator for Population {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        self.records.next()
    }
}

fn named(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::argument(path.display(), e)
}

fn extension_is(path: &Path, ext: &str) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// Opens a population file (the form by its name, see the module docs).
pub fn open(path: &Path) -> Result<Population> {
    if extension_is(path, "parquet") {
        parquet_rows(path)
    } else if extension_is(path, "json") {
        people_file(path)
    } else {
        json_lines(path)
    }
}

/// A row's JSON object as a customer: `{profile, context?}` or the snapshot itself. Context and
/// profile given as JSON strings (a warehouse's text columns) are parsed.
fn entry_of(value: Value) -> std::result::Result<Entry, String> {
    let Value::Object(mut map) = value else {
        return Err("expected a JSON object: a profile snapshot, or {\"profile\": …, \"context\": …}".into());
    };
    if !map.contains_key("profile") {
        return Ok(Entry { profile: Value::Object(map), context: None });
    }
    let nested = |field: &str, value: Value| -> std::result::Result<Value, String> {
        match value {
            Value::String(text) => serde_json::from_str(&text).map_err(|e| format!("{field}: not JSON ({e})")),
            other => Ok(other),
        }
    };
    let profile = nested("profile", map.remove("profile").unwrap_or(Value::Null))?;
    let context = match map.remove("context") {
        None | Some(Value::Null) => None,
        Some(c) => Some(nested("context", c)?),
    };
    if let Some(field) = map.keys().next() {
        return Err(format!("unknown field {field:?} beside profile and context (it could carry personal data)"));
    }
    Ok(Entry { profile, context })
}

fn json_lines(path: &Path) -> Result<Population> {
    let count = BufReader::new(File::open(path).map_err(|e| named(path, e))?)
        .split(b'\n')
        .try_fold(0u64, |n, line| line.map(|l| n + u64::from(!l.iter().all(u8::is_ascii_whitespace))))
        .map_err(|e| named(path, e))?;
    let reader = BufReader::new(File::open(path).map_err(|e| named(path, e))?);
    Ok(Population { rows: Some(count), records: Box::new(Lines { reader, path: path.to_path_buf(), line: 0, done: false }) })
}

/// JSON Lines, a line at a time, each at most [`MAX_ROW_BYTES`] long.
struct Lines {
    reader: BufReader<File>,
    path: PathBuf,
    line: u64,
    done: bool,
}

impl Iterator for Lines {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        loop {
            if self.done {
                return None;
            }
            self.line += 1;
            let mut buf = Vec::new();
            let limit = MAX_ROW_BYTES as u64 + 1;
            match (&mut self.reader).take(limit).read_until(b'\n', &mut buf) {
                Err(e) => {
                    self.done = true;
                    return Some(Err(named(&self.path, format!("line {}: {e}", self.line))));
                }
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
            }
            if buf.last() != Some(&b'\n') && buf.len() as u64 == limit {
                // Too long: skip to the end of the line without holding it.
                let mut rest = Vec::new();
                loop {
                    rest.clear();
                    match (&mut self.reader).take(64 * 1024).read_until(b'\n', &mut rest) {
                        Ok(0) => break,
                        Ok(_) if rest.last() == Some(&b'\n') => break,
                        Ok(_) => {}
                        Err(e) => return Some(Err(named(&self.path, format!("line {}: {e}", self.line)))),
                    }
                }
                return Some(Ok(Record { row: self.line, entry: Err(format!("longer than {MAX_ROW_BYTES} bytes")) }));
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let entry = serde_json::from_slice::<Value>(&buf).map_err(|e| format!("not JSON: {e}")).and_then(entry_of);
            return Some(Ok(Record { row: self.line, entry }));
        }
    }
}

fn people_file(path: &Path) -> Result<Population> {
    let text = std::fs::read_to_string(path).map_err(|e| named(path, e))?;
    let mut value: Value = serde_json::from_str(&text).map_err(|e| {
        named(path, format!("not JSON ({e}); a .json population is {{\"profiles\": [...], \"contexts\": [...]}}, name JSON Lines files .jsonl"))
    })?;
    let mut take = |field: &str| match value.get_mut(field).map(Value::take) {
        Some(Value::Array(items)) => Ok(items),
        None => Ok(Vec::new()),
        Some(_) => Err(named(path, format!("{field}: expected an array"))),
    };
    let profiles = take("profiles")?;
    let mut contexts = take("contexts")?.into_iter();
    if profiles.is_empty() && value.as_object().is_none_or(|m| !m.contains_key("profiles")) {
        return Err(named(path, "expected {\"profiles\": [...], \"contexts\": [...]} (the form `opmaat synth --people` writes); name JSON Lines files .jsonl"));
    }
    let rows = profiles.len() as u64;
    let records = profiles.into_iter().zip(1u64..).map(move |(profile, row)| {
        let context = contexts.next();
        Ok(Record {
            row,
            entry: if profile.is_object() {
                Ok(Entry { profile, context: context.filter(|c| !c.is_null()) })
            } else {
                Err("expected a profile snapshot (a JSON object)".into())
            },
        })
    });
    Ok(Population { rows: Some(rows), records: Box::new(records) })
}

fn parquet_rows(path: &Path) -> Result<Population> {
    let file = File::open(path).map_err(|e| named(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| named(path, format!("not a Parquet file we can read: {e}")))?;
    let rows = u64::try_from(builder.metadata().file_metadata().num_rows()).ok();
    let reader = builder.with_batch_size(PARQUET_BATCH_ROWS).build().map_err(|e| named(path, e))?;
    Ok(Population { rows, records: Box::new(ParquetRows { reader, path: path.to_path_buf(), pending: Vec::new().into_iter(), row: 0 }) })
}

/// A Parquet file's rows as JSON objects, a batch at a time.
struct ParquetRows {
    reader: ParquetRecordBatchReader,
    path: PathBuf,
    pending: std::vec::IntoIter<Value>,
    row: u64,
}

impl Iterator for ParquetRows {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        loop {
            if let Some(value) = self.pending.next() {
                self.row += 1;
                return Some(Ok(Record { row: self.row, entry: entry_of(value) }));
            }
            let batch = match self.reader.next()? {
                Ok(batch) => batch,
                Err(e) => return Some(Err(named(&self.path, format!("after row {}: {e}", self.row)))),
            };
            match batch_as_json(&batch) {
                Ok(values) => self.pending = values.into_iter(),
                Err(e) => return Some(Err(named(&self.path, format!("rows {}…: {e}", self.row + 1)))),
            }
        }
    }
}

/// A batch's rows as JSON objects (arrow's JSON encoding; nulls left out).
fn batch_as_json(batch: &RecordBatch) -> std::result::Result<Vec<Value>, String> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    writer.write(batch).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    match serde_json::from_slice::<Value>(&bytes).map_err(|e| e.to_string())? {
        Value::Array(rows) => Ok(rows),
        _ => Err("arrow's JSON encoding is not an array".into()),
    }
}

/// Writes customers as a population file, in the form its name says (see the module docs; a
/// Parquet file has the text columns `profile` and `context`, each a JSON document).
pub fn write(path: &Path, entries: impl Iterator<Item = Entry>) -> Result<u64> {
    let file = File::create(path).map_err(|e| named(path, e))?;
    let mut written = 0u64;
    if extension_is(path, "parquet") {
        let schema = Arc::new(Schema::new(vec![Field::new("profile", DataType::Utf8, false), Field::new("context", DataType::Utf8, true)]));
        let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(properties)).map_err(|e| named(path, e))?;
        let mut rows: Vec<Entry> = Vec::with_capacity(PARQUET_BATCH_ROWS);
        let flush = |rows: &mut Vec<Entry>, writer: &mut ArrowWriter<File>| -> Result<()> {
            let profiles: ArrayRef = Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.profile.to_string())));
            let contexts: ArrayRef = Arc::new(rows.iter().map(|r| r.context.as_ref().map(Value::to_string)).collect::<StringArray>());
            let batch = RecordBatch::try_new(schema.clone(), vec![profiles, contexts]).map_err(|e| named(path, e))?;
            writer.write(&batch).map_err(|e| named(path, e))?;
            rows.clear();
            Ok(())
        };
        for entry in entries {
            rows.push(entry);
            written += 1;
            if rows.len() == PARQUET_BATCH_ROWS {
                flush(&mut rows, &mut writer)?;
            }
        }
        if !rows.is_empty() {
            flush(&mut rows, &mut writer)?;
        }
        writer.close().map_err(|e| named(path, e))?;
    } else if extension_is(path, "json") {
        let (mut profiles, mut contexts) = (Vec::new(), Vec::new());
        for entry in entries {
            profiles.push(entry.profile);
            contexts.push(entry.context.unwrap_or(Value::Null));
            written += 1;
        }
        let mut people = Map::new();
        people.insert("profiles".into(), Value::Array(profiles));
        people.insert("contexts".into(), Value::Array(contexts));
        std::fs::write(path, Value::Object(people).to_string() + "\n").map_err(|e| named(path, e))?;
    } else {
        let mut w = BufWriter::new(file);
        for entry in entries {
            let mut line = Map::new();
            line.insert("profile".into(), entry.profile);
            if let Some(context) = entry.context {
                line.insert("context".into(), context);
            }
            serde_json::to_writer(&mut w, &Value::Object(line)).map_err(|e| named(path, e))?;
            w.write_all(b"\n").map_err(|e| named(path, e))?;
            written += 1;
        }
        w.flush().map_err(|e| named(path, e))?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("opmaat-population-{}-{:?}", std::process::id(), std::thread::current().id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries() -> Vec<Entry> {
        (0..20u64)
            .map(|i| Entry {
                profile: json!({"id": format!("p-{i}"), "loggedIn": true, "attributes": {"age": 20 + i, "segments": ["student"]}}),
                context: (i % 3 != 0).then(|| json!({"page": "/sparen", "formFactor": "small"})),
            })
            .collect()
    }

    #[test]
    fn every_form_reads_back_what_was_written() {
        let dir = dir();
        for name in ["people.parquet", "people.json", "people.jsonl"] {
            let path = dir.join(name);
            assert_eq!(write(&path, entries().into_iter()).unwrap(), 20);
            let population = open(&path).unwrap();
            assert_eq!(population.rows, Some(20), "{name}");
            let read: Vec<Record> = population.map(Result::unwrap).collect();
            let expected: Vec<Record> = entries().into_iter().zip(1u64..).map(|(e, row)| Record { row, entry: Ok(e) }).collect();
            assert_eq!(read, expected, "{name}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_table_of_snapshot_columns_reads_as_snapshots() {
        use arrow::array::{Array, BooleanArray, Int64Array, StructArray};
        let dir = dir();
        let path = dir.join("warehouse.parquet");
        let attributes = StructArray::from(vec![(Arc::new(Field::new("age", DataType::Int64, true)), Arc::new(Int64Array::from(vec![Some(31), None])) as ArrayRef)]);
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("loggedIn", DataType::Boolean, false),
            Field::new("attributes", attributes.data_type().clone(), false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec!["p-1", "p-2"])), Arc::new(BooleanArray::from(vec![true, false])), Arc::new(attributes)],
        )
        .unwrap();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let read: Vec<Record> = open(&path).unwrap().map(Result::unwrap).collect();
        assert_eq!(read[0].entry, Ok(Entry { profile: json!({"id": "p-1", "loggedIn": true, "attributes": {"age": 31}}), context: None }));
        assert_eq!(read[1].entry, Ok(Entry { profile: json!({"id": "p-2", "loggedIn": false, "attributes": {}}), context: None }));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_lines_are_named_and_the_rest_is_read() {
        let dir = dir();
        let path = dir.join("bad.jsonl");
        let long = format!("{{\"id\": \"{}\"}}", "x".repeat(MAX_ROW_BYTES));
        let text = format!("{{\"id\": \"a\"}}\n\nnot json\n[1]\n{long}\n{{\"profile\": {{}}, \"email\": \"x@y.nl\"}}\n{{\"profile\": \"{{\\\"id\\\": \\\"b\\\"}}\"}}\n");
        std::fs::write(&path, text).unwrap();
        let population = open(&path).unwrap();
        assert_eq!(population.rows, Some(6));
        let read: Vec<Record> = population.map(Result::unwrap).collect();
        let rows: Vec<u64> = read.iter().map(|r| r.row).collect();
        assert_eq!(rows, [1, 3, 4, 5, 6, 7]);
        assert!(read[0].entry.is_ok());
        assert!(read[1].entry.as_ref().unwrap_err().starts_with("not JSON"), "{:?}", read[1]);
        assert!(read[2].entry.as_ref().unwrap_err().starts_with("expected a JSON object"));
        assert!(read[3].entry.as_ref().unwrap_err().starts_with("longer than"));
        assert!(read[4].entry.as_ref().unwrap_err().contains("\"email\""));
        assert_eq!(read[5].entry, Ok(Entry { profile: json!({"id": "b"}), context: None }));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unreadable_files_say_so() {
        let dir = dir();
        let path = dir.join("not.parquet");
        std::fs::write(&path, "hello").unwrap();
        assert!(open(&path).err().unwrap().to_string().contains("not a Parquet file"));
        let path = dir.join("list.json");
        std::fs::write(&path, "[1, 2]").unwrap();
        assert!(open(&path).err().unwrap().to_string().contains("synth --people"));
        assert!(open(&dir.join("missing.jsonl")).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
