//! Learning at bank scale: events and server-side conversions in Parquet (or JSON Lines,
//! converted to Parquet first), aggregated by [`super::sql`] on Apache DataFusion — all cores,
//! a memory limit, spilling to disk beyond it. Feature `warehouse` of the native CLI.
//!
//! Every row is checked before the query runs, with the same checks as the in-memory path
//! ([`super::events`]): a file with bad rows is refused, its bad rows named (file, row) and
//! counted. Parquet columns are snake_case: [`EVENT_COLUMNS`] and [`CONVERSION_COLUMNS`]
//! (strings may be any Arrow string type, integers any width). A corrupt file is an error naming
//! it, never a panic: the reader runs under `catch_unwind` as well, in case a malformed file
//! reaches a panic inside the Parquet decoder.

use std::fs::File;
use std::io::BufReader;
use std::num::NonZeroUsize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Int64Type, Schema, SchemaRef};
use datafusion::common::config::SpillCompression;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

use super::counts::{CountRow, Counts, Measure};
use super::events::{check_conversion, check_event, read_lines, BadRows, Conversion};
use crate::bundle::catalogue::Catalogue;
use crate::measure::{Measured, Measurement};
use crate::{Error, Result};

/// Rows per Arrow batch written and read.
const BATCH_ROWS: usize = 64 * 1024;
/// DataFusion's memory limit unless told otherwise: beyond it, aggregations spill to disk.
pub const DEFAULT_MEMORY_LIMIT_MB: usize = 4 * 1024;
/// The smallest limit accepted: DataFusion sets memory aside per operator and thread (10 MB for
/// each sort's spill merge, by default), so far below this a query fails part-way instead.
pub const MIN_MEMORY_LIMIT_MB: usize = 256;
const MB: usize = 1024 * 1024;
/// How many of the largest memory consumers an out-of-memory error names.
const MEMORY_CONSUMERS_REPORTED: usize = 5;

/// The columns of an events table, in order.
pub const EVENT_COLUMNS: [(&str, DataType); 12] = [
    ("decision_id", DataType::Utf8),
    ("proposition", DataType::Utf8),
    ("treatment", DataType::Utf8),
    ("holdout", DataType::Boolean),
    ("event", DataType::Utf8),
    ("time", DataType::Utf8),
    ("bundle", DataType::Utf8),
    ("bundle_version", DataType::Int64),
    ("placement", DataType::Utf8),
    ("position", DataType::Int32),
    ("selection_probability", DataType::Float64),
    ("subject", DataType::Utf8),
];

/// The columns of a conversions table (`proposition`, `product`, `token`: `''` or null when
/// absent).
pub const CONVERSION_COLUMNS: [(&str, DataType); 5] =
    [("subject", DataType::Utf8), ("proposition", DataType::Utf8), ("product", DataType::Utf8), ("time", DataType::Utf8), ("token", DataType::Utf8)];

/// The columns of the counts the query returns.
pub const COUNT_COLUMNS: [(&str, DataType); 9] = [
    ("measure", DataType::Utf8),
    ("proposition", DataType::Utf8),
    ("treatment", DataType::Utf8),
    ("holdout", DataType::Int64),
    ("event", DataType::Utf8),
    ("day", DataType::Utf8),
    ("n", DataType::Int64),
    ("inverse_sum", DataType::Float64),
    ("inverse_square_sum", DataType::Float64),
];

fn schema(columns: &[(&str, DataType)]) -> SchemaRef {
    Arc::new(Schema::new(columns.iter().map(|(name, t)| Field::new(*name, t.clone(), true)).collect::<Vec<_>>()))
}

fn named(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::argument(path.display(), e)
}

/// Is this file Parquet (by its name)?
pub fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Writes rows to a Parquet file in batches.
pub struct ParquetSink<T> {
    path: PathBuf,
    writer: ArrowWriter<File>,
    rows: Vec<T>,
    to_batch: fn(&[T]) -> Vec<ArrayRef>,
    schema: SchemaRef,
}

impl<T> ParquetSink<T> {
    fn create(path: &Path, columns: &[(&str, DataType)], to_batch: fn(&[T]) -> Vec<ArrayRef>) -> Result<ParquetSink<T>> {
        let schema = schema(columns);
        let file = File::create(path).map_err(|e| named(path, e))?;
        let writer = ArrowWriter::try_new(file, schema.clone(), None).map_err(|e| named(path, e))?;
        Ok(ParquetSink { path: path.to_path_buf(), writer, rows: Vec::with_capacity(BATCH_ROWS), to_batch, schema })
    }

    pub fn push(&mut self, row: T) -> Result<()> {
        self.rows.push(row);
        if self.rows.len() == BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let batch = RecordBatch::try_new(self.schema.clone(), (self.to_batch)(&self.rows)).map_err(|e| named(&self.path, e))?;
        self.writer.write(&batch).map_err(|e| named(&self.path, e))?;
        self.rows.clear();
        Ok(())
    }

    /// Writes what is left and the file's footer.
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.writer.close().map_err(|e| named(&self.path, e))?;
        Ok(())
    }
}

fn strings<T>(rows: &[T], f: impl Fn(&T) -> &str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
}

/// A Parquet file of measurement events.
pub fn event_sink(path: &Path) -> Result<ParquetSink<Measurement>> {
    ParquetSink::create(path, &EVENT_COLUMNS, event_arrays)
}

/// The columns of [`EVENT_COLUMNS`] for these events.
fn event_arrays(rows: &[Measurement]) -> Vec<ArrayRef> {
    vec![
        strings(rows, |e| &e.decision_id),
        strings(rows, |e| &e.proposition),
        strings(rows, |e| &e.treatment),
        Arc::new(BooleanArray::from(rows.iter().map(|e| e.holdout).collect::<Vec<_>>())),
        strings(rows, |e| e.event.as_str()),
        strings(rows, |e| &e.time),
        strings(rows, |e| &e.bundle),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|e| i64::try_from(e.bundle_version).unwrap_or(i64::MAX)))),
        strings(rows, |e| &e.placement),
        Arc::new(Int32Array::from_iter_values(rows.iter().map(|e| i32::from(e.position)))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|e| e.selection_probability))),
        strings(rows, |e| &e.subject),
    ]
}

/// A Parquet file of server-side conversions.
pub fn conversion_sink(path: &Path) -> Result<ParquetSink<Conversion>> {
    ParquetSink::create(path, &CONVERSION_COLUMNS, |rows: &[Conversion]| {
        vec![
            strings(rows, |c| &c.subject),
            strings(rows, |c| c.proposition.as_deref().unwrap_or("")),
            strings(rows, |c| c.product.as_deref().unwrap_or("")),
            strings(rows, |c| &c.time),
            strings(rows, |c| c.token.as_deref().unwrap_or("")),
        ]
    })
}

/// A Parquet file of counts.
pub fn write_counts(path: &Path, counts: &Counts) -> Result<()> {
    let mut sink = ParquetSink::create(path, &COUNT_COLUMNS, |rows: &[CountRow]| {
        vec![
            strings(rows, |r| r.measure.as_str()),
            strings(rows, |r| &r.proposition),
            strings(rows, |r| &r.treatment),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| i64::from(r.holdout)))),
            strings(rows, |r| &r.event),
            strings(rows, |r| &r.day),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| i64::try_from(r.n).unwrap_or(i64::MAX)))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.inverse_sum))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.inverse_square_sum))),
        ]
    })?;
    for r in &counts.rows {
        sink.push(r.clone())?;
    }
    sink.finish()
}

/// The columns of one batch, cast to the types `columns` names, in that order. A column the
/// file lacks, or one it has that is not in `columns`, is an error naming it.
fn columns_of(path: &Path, batch: &RecordBatch, columns: &[(&str, DataType)], optional: &[&str]) -> Result<Vec<Option<ArrayRef>>> {
    let known: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    for field in batch.schema().fields() {
        if !known.contains(&field.name().as_str()) {
            return Err(named(path, format!("unknown column {:?} (the columns are {})", field.name(), known.join(", "))));
        }
    }
    columns
        .iter()
        .map(|(name, to)| match batch.column_by_name(name) {
            Some(column) => cast(column, to)
                .map(Some)
                .map_err(|e| named(path, format!("column {name:?} is {}, which cannot be read as {to}: {e}", column.data_type()))),
            None if optional.contains(name) => Ok(None),
            None => Err(named(path, format!("missing column {name:?} (the columns are {})", known.join(", ")))),
        })
        .collect()
}

/// Reads a Parquet file batch by batch, under `catch_unwind`.
fn each_batch(path: &Path, mut f: impl FnMut(&RecordBatch, usize) -> Result<()>) -> Result<()> {
    let run = AssertUnwindSafe(|| -> Result<()> {
        let file = File::open(path).map_err(|e| named(path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| named(path, format!("not a readable Parquet file: {e}")))?
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| named(path, format!("not a readable Parquet file: {e}")))?;
        let mut first_row = 0;
        for batch in reader {
            let batch = batch.map_err(|e| named(path, format!("a corrupt part after row {first_row}: {e}")))?;
            f(&batch, first_row)?;
            first_row += batch.num_rows();
        }
        Ok(())
    });
    catch_unwind(run).unwrap_or_else(|_| Err(named(path, "not a readable Parquet file: its decoder failed")))
}

fn text(column: &Option<ArrayRef>, row: usize) -> Option<&str> {
    let c = column.as_ref()?.as_string_opt::<i32>()?;
    (!c.is_null(row)).then(|| c.value(row))
}

/// Checks every row of a Parquet file of measurement events; returns how many there are.
pub fn check_events(path: &Path) -> Result<u64> {
    let name = path.display().to_string();
    let mut bad = BadRows::new(&name, "measurement event");
    let mut rows = 0u64;
    each_batch(path, |batch, first_row| {
        let c = columns_of(path, batch, &EVENT_COLUMNS, &[])?;
        for i in 0..batch.num_rows() {
            rows += 1;
            match event_at(&c, i) {
                Ok(e) => {
                    if let Err(why) = check_event(&e) {
                        bad.add(first_row + i + 1, why);
                    }
                }
                Err(why) => bad.add(first_row + i + 1, why),
            }
        }
        Ok(())
    })?;
    bad.finish()?;
    Ok(rows)
}

fn event_at(c: &[Option<ArrayRef>], i: usize) -> std::result::Result<Measurement, String> {
    let s = |k: usize| text(c.get(k).unwrap_or(&None), i).map(str::to_string).ok_or_else(|| format!("{}: missing value", EVENT_COLUMNS.get(k).map_or("", |c| c.0)));
    let number = |k: usize| -> Option<f64> {
        let a = c.get(k)?.as_ref()?;
        if a.is_null(i) {
            return None;
        }
        a.as_primitive_opt::<Int64Type>().map(|x| x.value(i) as f64).or_else(|| a.as_primitive_opt::<Int32Type>().map(|x| f64::from(x.value(i)))).or_else(|| a.as_primitive_opt::<Float64Type>().map(|x| x.value(i)))
    };
    let holdout = c.get(3).and_then(Option::as_ref).and_then(|a| a.as_boolean_opt()).filter(|a| !a.is_null(i)).map(|a| a.value(i)).ok_or("holdout: missing value")?;
    let event = s(4)?;
    let version = number(7).ok_or("bundle_version: missing value")?;
    let position = number(9).ok_or("position: missing value")?;
    Ok(Measurement {
        decision_id: s(0)?,
        proposition: s(1)?,
        treatment: s(2)?,
        holdout,
        event: Measured::parse(&event).ok_or_else(|| format!("event: {event:?} is not one of impression, click, dismiss, convert, withheld"))?,
        time: s(5)?,
        bundle: s(6)?,
        bundle_version: if version >= 0.0 { version as u64 } else { return Err(format!("bundle_version: {version} is negative")) },
        placement: s(8)?,
        position: u8::try_from(position as i64).map_err(|_| format!("position: {position} is not 0 to 255"))?,
        selection_probability: number(10).ok_or("selection_probability: missing value")?,
        subject: s(11)?,
    })
}

/// Checks every row of a Parquet file of server-side conversions; returns how many there are.
pub fn check_conversions(path: &Path) -> Result<u64> {
    let name = path.display().to_string();
    let mut bad = BadRows::new(&name, "server-side conversion");
    let mut rows = 0u64;
    each_batch(path, |batch, first_row| {
        let c = columns_of(path, batch, &CONVERSION_COLUMNS, &["proposition", "product", "token"])?;
        for i in 0..batch.num_rows() {
            rows += 1;
            let optional = |k: usize| c.get(k).and_then(|col| text(col, i)).filter(|t| !t.is_empty()).map(str::to_string);
            let (subject, time) = (text(c.first().unwrap_or(&None), i), text(c.get(3).unwrap_or(&None), i));
            let conversion = Conversion {
                subject: subject.unwrap_or("").to_string(),
                proposition: optional(1),
                product: optional(2),
                time: time.unwrap_or("").to_string(),
                token: optional(4),
            };
            if let Err(why) = check_conversion(&conversion) {
                bad.add(first_row + i + 1, why);
            }
        }
        Ok(())
    })?;
    bad.finish()?;
    Ok(rows)
}

/// Reads counts from Parquet (the query's result, written by `--print-sql`'s query elsewhere or
/// by [`write_counts`]).
pub fn read_counts(path: &Path) -> Result<Counts> {
    let name = path.display().to_string();
    let mut bad = BadRows::new(&name, "row of counts");
    let mut rows = Vec::new();
    each_batch(path, |batch, first_row| {
        let c = columns_of(path, batch, &COUNT_COLUMNS, &[])?;
        for i in 0..batch.num_rows() {
            match count_at(&c, i) {
                Ok(r) => rows.push(r),
                Err(why) => bad.add(first_row + i + 1, why),
            }
        }
        Ok(())
    })?;
    bad.finish()?;
    Ok(Counts::new(rows))
}

fn count_at(c: &[Option<ArrayRef>], i: usize) -> std::result::Result<CountRow, String> {
    let s = |k: usize| text(c.get(k).unwrap_or(&None), i).map(str::to_string).unwrap_or_default();
    let int = |k: usize| c.get(k).and_then(Option::as_ref).and_then(|a| a.as_primitive_opt::<Int64Type>()).filter(|a| !a.is_null(i)).map(|a| a.value(i));
    let float = |k: usize| c.get(k).and_then(Option::as_ref).and_then(|a| a.as_primitive_opt::<Float64Type>()).filter(|a| !a.is_null(i)).map_or(0.0, |a| a.value(i));
    let measure = s(0);
    let n = int(6).ok_or("n: missing value")?;
    Ok(CountRow {
        measure: Measure::parse(&measure).ok_or_else(|| format!("measure: {measure:?} is not one of events, exposed, converted, server_conversions, logged"))?,
        proposition: s(1),
        treatment: s(2),
        holdout: match int(3) {
            Some(0) | None => false,
            Some(1) => true,
            Some(other) => return Err(format!("holdout: expected 0 or 1, found {other}")),
        },
        event: s(4),
        day: s(5),
        n: u64::try_from(n).map_err(|_| format!("n: {n} is negative"))?,
        inverse_sum: float(7),
        inverse_square_sum: float(8),
    })
}

/// A directory for converted inputs, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("opmaat-learn-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| named(&dir, e))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// JSON Lines checked line by line into a Parquet file.
fn jsonl_to_parquet<T: serde::de::DeserializeOwned>(
    from: &Path,
    what: &str,
    check: impl Fn(&T) -> std::result::Result<(), String>,
    mut sink: ParquetSink<T>,
) -> Result<()> {
    let file = File::open(from).map_err(|e| named(from, e))?;
    let mut failed = None;
    read_lines(BufReader::new(file), &from.display().to_string(), what, check, |row| {
        if failed.is_none() {
            failed = sink.push(row).err();
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    sink.finish()
}

/// How DataFusion runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub memory_limit_mb: usize,
    pub threads: usize,
}

/// The counts of the events (and conversions) in these files (Parquet, or JSON Lines by any
/// other name), by DataFusion running [`super::sql`] (in the two steps of
/// [`super::counts::sql_in_two_steps`]).
pub fn counts(events: &Path, conversions: Option<&Path>, catalogue: &Catalogue, limits: Limits) -> Result<Counts> {
    if limits.memory_limit_mb < MIN_MEMORY_LIMIT_MB {
        return Err(Error::argument("--memory-limit-mb", format!("{}: at least {MIN_MEMORY_LIMIT_MB}", limits.memory_limit_mb)));
    }
    let scratch = Scratch::new()?;
    let events = if is_parquet(events) {
        check_events(events)?;
        events.to_path_buf()
    } else {
        let to = scratch.0.join("events.parquet");
        jsonl_to_parquet(events, "measurement event", check_event, event_sink(&to)?)?;
        to
    };
    let conversions = match conversions {
        Some(path) if is_parquet(path) => {
            check_conversions(path)?;
            path.to_path_buf()
        }
        Some(path) => {
            let to = scratch.0.join("conversions.parquet");
            jsonl_to_parquet(path, "server-side conversion", check_conversion, conversion_sink(&to)?)?;
            to
        }
        None => {
            let to = scratch.0.join("conversions.parquet");
            conversion_sink(&to)?.finish()?;
            to
        }
    };
    let (distinct_events, rest) = super::counts::sql_in_two_steps(catalogue);
    let distinct_dir = format!("{}/", scratch.0.join("distinct_events").to_string_lossy());
    let run = AssertUnwindSafe(|| -> Result<Vec<RecordBatch>> {
        let df = |e: datafusion::error::DataFusionError| match e.find_root() {
            datafusion::error::DataFusionError::ResourcesExhausted(_) => Error::argument(
                "--memory-limit-mb",
                format!("the aggregation needs more than {} MB: raise --memory-limit-mb ({e})", limits.memory_limit_mb),
            ),
            _ => Error::argument("learn", format!("the aggregation failed: {e}")),
        };
        // Fair: the query's aggregations run at once and each spills at its share of the limit
        // (a greedy pool lets the first take it all and the next fail).
        let pool = FairSpillPool::new(limits.memory_limit_mb.saturating_mul(MB));
        let pool = TrackConsumersPool::new(pool, NonZeroUsize::new(MEMORY_CONSUMERS_REPORTED).unwrap_or(NonZeroUsize::MIN));
        let runtime = RuntimeEnvBuilder::new().with_memory_pool(Arc::new(pool)).build_arc().map_err(df)?;
        // Spills compressed: uncompressed, 100 M events spilled more than 37 GB to the temporary
        // directory (`TMPDIR`); LZ4 is fast enough not to show in the time.
        let config = SessionConfig::new().with_target_partitions(limits.threads.max(1)).with_spill_compression(SpillCompression::Lz4Frame);
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(limits.threads.max(1))
            .build()
            .map_err(|e| Error::argument("learn", format!("cannot start the query's threads: {e}")))?;
        tokio.block_on(async {
            let path = |p: &Path| p.to_string_lossy().into_owned();
            ctx.register_parquet("events", path(&events), ParquetReadOptions::default()).await.map_err(df)?;
            ctx.register_parquet("conversions", path(&conversions), ParquetReadOptions::default()).await.map_err(df)?;
            // DataFusion computes a `WITH` clause wherever it is used: the distinct events, the
            // biggest step, are computed once and stored (compressed Parquet in the scratch
            // directory), and the rest of the same query reads them, with their schema given
            // (an empty table leaves no file to read it from).
            let frame = ctx.sql(distinct_events).await.map_err(df)?;
            let schema = frame.schema().as_arrow().clone();
            frame.write_parquet(&distinct_dir, DataFrameWriteOptions::new(), None).await.map_err(df)?;
            ctx.register_parquet("distinct_events", &distinct_dir, ParquetReadOptions::default().schema(&schema)).await.map_err(df)?;
            ctx.sql(&rest).await.map_err(df)?.collect().await.map_err(df)
        })
    });
    let batches = catch_unwind(run).unwrap_or_else(|_| Err(Error::argument("learn", "the aggregation failed inside DataFusion")))?;
    let mut rows = Vec::new();
    for batch in &batches {
        let c = columns_of(Path::new("(query result)"), batch, &COUNT_COLUMNS, &[])?;
        for i in 0..batch.num_rows() {
            rows.push(count_at(&c, i).map_err(|why| Error::argument("(query result)", why))?);
        }
    }
    drop(scratch);
    Ok(Counts::new(rows))
}

#[cfg(test)]
mod tests;
