//! `/dev/kmsg` records per the kernel ABI (Documentation/ABI/testing/dev-kmsg):
//!
//! ```text
//! 6,3964,206764307,-;nvidia-nvswitch2: open (major=510)
//!  SUBSYSTEM=pci
//!  DEVICE=+pci:0000:00:1f.0
//! ```
//! A header `priority,sequence,microseconds since boot,flags[,more fields]` then `;` and the
//! message; continuation lines start with a space and carry `KEY=value` pairs. Non-printable
//! bytes (and `\` itself) are escaped as `\xNN`. Reading the device returns one record per
//! `read`; a read fails with `EPIPE` when the ring buffer overwrote records not read yet, and
//! the next read continues with the oldest record still there. Sequence numbers that jump
//! show how many records were lost.
//!
//! [`KmsgStream`] turns bytes from the device, a pipe or a file into [`KmsgItem`]s.

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

/// A read that took this long waited for its data (a read of data already there takes
/// microseconds).
const READ_WAITED: Duration = Duration::from_millis(1);

/// A parsed kmsg record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsgRecord {
    /// Syslog level (0 emerg .. 7 debug).
    pub level: u8,
    /// Syslog facility (0 kern, 1 user, ...).
    pub facility: u32,
    /// The record's sequence number (64-bit, never reused within a boot).
    pub sequence: u64,
    /// Microseconds since boot (monotonic clock).
    pub timestamp_us: u64,
    /// The flags field: `-` normal, `c` continuation, `+` fragment.
    pub flags: String,
    /// The message, `\xNN` escapes decoded (invalid UTF-8 replaced).
    pub message: String,
    /// `KEY=value` pairs from continuation lines.
    pub dictionary: Vec<(String, String)>,
}

/// Why a record could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsgError {
    /// No `;` between header and message.
    #[error("kmsg record has no ';' after its header")]
    NoSeparator,
    /// Fewer than four header fields.
    #[error("kmsg header has {0} fields, needs priority,sequence,timestamp,flags")]
    ShortHeader(usize),
    /// A header field is not a number.
    #[error("kmsg header field {field} is not a number: {value:?}")]
    BadNumber {
        /// Which field.
        field: &'static str,
        /// Its text.
        value: String,
    },
}

/// Decodes the kernel's `\xNN` escapes.
pub fn unescape(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut index = 0;
    while index < raw.len() {
        let byte = raw[index];
        if byte == b'\\'
            && raw.get(index + 1) == Some(&b'x')
            && let (Some(high), Some(low)) = (
                raw.get(index + 2).and_then(|b| (*b as char).to_digit(16)),
                raw.get(index + 3).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
            index += 4;
            continue;
        }
        out.push(byte);
        index += 1;
    }
    match String::from_utf8(out) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    }
}

fn header_number(field: &'static str, text: &[u8]) -> Result<u64, KmsgError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| KmsgError::BadNumber {
            field,
            value: String::from_utf8_lossy(text).into_owned(),
        })
}

/// Parses one record: its header line and any continuation lines (each without `\n`).
pub fn parse_record(first_line: &[u8], continuation: &[&[u8]]) -> Result<KmsgRecord, KmsgError> {
    let separator = first_line
        .iter()
        .position(|b| *b == b';')
        .ok_or(KmsgError::NoSeparator)?;
    let (header, message) = (&first_line[..separator], &first_line[separator + 1..]);
    let fields: Vec<&[u8]> = header.split(|b| *b == b',').collect();
    if fields.len() < 4 {
        return Err(KmsgError::ShortHeader(fields.len()));
    }
    let priority = header_number("priority", fields[0])?;
    let sequence = header_number("sequence", fields[1])?;
    let timestamp_us = header_number("timestamp", fields[2])?;
    let dictionary = continuation
        .iter()
        .filter_map(|line| {
            let line = line.strip_prefix(b" ").unwrap_or(line);
            let equals = line.iter().position(|b| *b == b'=')?;
            Some((unescape(&line[..equals]), unescape(&line[equals + 1..])))
        })
        .collect();
    Ok(KmsgRecord {
        level: u8::try_from(priority & 7).unwrap_or(0),
        facility: u32::try_from(priority >> 3).unwrap_or(u32::MAX),
        sequence,
        timestamp_us,
        flags: String::from_utf8_lossy(fields[3]).into_owned(),
        message: unescape(message),
        dictionary,
    })
}

/// What a kmsg stream yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KmsgItem {
    /// A record.
    Record(KmsgRecord),
    /// Sequence numbers were skipped: `missed` records were lost before `next`.
    Gap {
        /// The sequence number expected.
        expected: u64,
        /// The sequence number read.
        next: u64,
        /// How many records were lost.
        missed: u64,
    },
    /// A read failed with `EPIPE`: the ring buffer overwrote records not read yet.
    Overrun,
    /// A line that is not a record (reported, then skipped).
    Malformed {
        /// The parse error.
        error: KmsgError,
        /// The line, lossily decoded.
        line: String,
    },
}

/// Incremental record splitter: feed it bytes as they are read.
#[derive(Debug, Default)]
pub struct KmsgStream {
    partial: Vec<u8>,
    header: Option<Vec<u8>>,
    continuation: Vec<Vec<u8>>,
    last_sequence: Option<u64>,
}

impl KmsgStream {
    /// A new stream.
    pub fn new() -> KmsgStream {
        KmsgStream::default()
    }

    /// Feeds one read's bytes and appends the records completed by it. A read that ends at a
    /// line end completes its last record too (the device returns whole records per read).
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<KmsgItem>) {
        self.partial.extend_from_slice(bytes);
        let Some(last_newline) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return;
        };
        let complete: Vec<u8> = self.partial.drain(..=last_newline).collect();
        for line in complete[..complete.len() - 1].split(|b| *b == b'\n') {
            if line.first() == Some(&b' ') {
                if self.header.is_some() {
                    self.continuation.push(line.to_vec());
                }
                continue;
            }
            self.flush(out);
            if !line.is_empty() {
                self.header = Some(line.to_vec());
            }
        }
        if self.partial.is_empty() {
            self.flush(out);
        }
    }

    /// Completes the pending record (end of input).
    pub fn flush(&mut self, out: &mut Vec<KmsgItem>) {
        let Some(header) = self.header.take() else {
            return;
        };
        let continuation: Vec<&[u8]> = self.continuation.iter().map(Vec::as_slice).collect();
        match parse_record(&header, &continuation) {
            Ok(record) => {
                if let Some(last) = self.last_sequence {
                    let expected = last.wrapping_add(1);
                    if record.sequence > expected {
                        out.push(KmsgItem::Gap {
                            expected,
                            next: record.sequence,
                            missed: record.sequence - expected,
                        });
                    }
                }
                self.last_sequence = Some(record.sequence);
                out.push(KmsgItem::Record(record));
            }
            Err(error) => out.push(KmsgItem::Malformed {
                error,
                line: String::from_utf8_lossy(&header).into_owned(),
            }),
        }
        self.continuation.clear();
    }

    /// Ends the input: a last line without `\n` counts as complete.
    pub fn finish(&mut self, out: &mut Vec<KmsgItem>) {
        if !self.partial.is_empty() {
            self.feed(b"\n", out);
        }
        self.flush(out);
    }

    /// Reads until EOF (or an error other than `EPIPE`/`EINTR`), calling `emit` per item.
    /// `EPIPE` yields [`KmsgItem::Overrun`] and reading goes on. Returns Ok at EOF.
    pub fn read_to_end(
        &mut self,
        reader: &mut impl Read,
        emit: impl FnMut(KmsgItem) -> bool,
    ) -> std::io::Result<bool> {
        self.read_to_end_paced(reader, Duration::ZERO, emit)
    }

    /// [`KmsgStream::read_to_end`] for a source whose reads block (the device, a pipe): after a
    /// read that had to wait for its data, reading pauses for `pause`, so that records
    /// trickling in one at a time are read, matched and handed on in groups. The first record
    /// after a quiet spell is handed on at once; the ones after it wait at most `pause`; a
    /// flood (reads that never wait) is read without pauses.
    pub fn read_to_end_paced(
        &mut self,
        reader: &mut impl Read,
        pause: Duration,
        mut emit: impl FnMut(KmsgItem) -> bool,
    ) -> std::io::Result<bool> {
        self.read_batches(reader, pause, |items| items.drain(..).all(&mut emit))
    }

    /// [`KmsgStream::read_to_end_paced`] handing on the items of each read together
    /// (`emit_batch` takes them out of the vector; false stops reading).
    pub fn read_batches(
        &mut self,
        reader: &mut impl Read,
        pause: Duration,
        mut emit_batch: impl FnMut(&mut Vec<KmsgItem>) -> bool,
    ) -> std::io::Result<bool> {
        // The kernel limits a record to about 8 KiB; one read must hold a whole record.
        let mut buffer = vec![0u8; 16 * 1024];
        let mut items = Vec::new();
        loop {
            let started = Instant::now();
            let result = reader.read(&mut buffer);
            let waited = started.elapsed() >= READ_WAITED;
            match result {
                Ok(0) => {
                    self.flush(&mut items);
                    return Ok(emit_batch(&mut items));
                }
                Ok(read) => self.feed(&buffer[..read], &mut items),
                Err(error)
                    if error.raw_os_error() == Some(rustix::io::Errno::PIPE.raw_os_error()) =>
                {
                    self.flush(&mut items);
                    items.push(KmsgItem::Overrun);
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
            if !items.is_empty() && !emit_batch(&mut items) {
                return Ok(false);
            }
            items.clear();
            if waited && !pause.is_zero() {
                std::thread::sleep(pause);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out one record per read; the first read waits for its data like a device read.
    struct TrickleReader {
        records: Vec<&'static [u8]>,
        read_at: Vec<Instant>,
    }

    impl Read for TrickleReader {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            self.read_at.push(Instant::now());
            if self.read_at.len() == 1 {
                std::thread::sleep(Duration::from_millis(5));
            }
            if self.records.is_empty() {
                return Ok(0);
            }
            let record = self.records.remove(0);
            buffer[..record.len()].copy_from_slice(record);
            Ok(record.len())
        }
    }

    #[test]
    fn a_read_that_waited_is_followed_by_the_pause_and_ready_reads_are_not() {
        let pause = Duration::from_millis(100);
        let mut reader = TrickleReader {
            records: vec![b"6,1,1,-;one\n", b"6,2,2,-;two\n", b"6,3,3,-;three\n"],
            read_at: Vec::new(),
        };
        let mut messages = Vec::new();
        let finished = KmsgStream::new()
            .read_to_end_paced(&mut reader, pause, |item| {
                if let KmsgItem::Record(record) = item {
                    messages.push(record.message);
                }
                true
            })
            .unwrap();
        assert!(finished);
        assert_eq!(messages, ["one", "two", "three"]);
        let reads = &reader.read_at;
        assert_eq!(reads.len(), 4);
        assert!(
            reads[1] - reads[0] >= pause,
            "the waited read is followed by the pause"
        );
        assert!(reads[2] - reads[1] < pause, "a read of ready data is not");
    }

    fn records(input: &[u8]) -> Vec<KmsgItem> {
        let mut stream = KmsgStream::new();
        let mut out = Vec::new();
        stream.feed(input, &mut out);
        stream.flush(&mut out);
        out
    }

    #[test]
    fn parses_header_message_and_dictionary() {
        let items = records(
            b"3,17,9000,-,caller=T1;usb 1-1: bad\\x20thing \\x5c done\n SUBSYSTEM=usb\n DEVICE=c189:1\n",
        );
        let [KmsgItem::Record(record)] = items.as_slice() else {
            panic!("one record expected, got {items:?}");
        };
        assert_eq!(record.level, 3);
        assert_eq!(record.facility, 0);
        assert_eq!(record.sequence, 17);
        assert_eq!(record.timestamp_us, 9000);
        assert_eq!(record.flags, "-");
        assert_eq!(record.message, "usb 1-1: bad thing \\ done");
        assert_eq!(
            record.dictionary,
            vec![
                ("SUBSYSTEM".to_string(), "usb".to_string()),
                ("DEVICE".to_string(), "c189:1".to_string())
            ]
        );
    }

    #[test]
    fn facility_comes_from_the_high_bits() {
        let items = records(b"30,1,2,-;systemd[1]: hello\n");
        let [KmsgItem::Record(record)] = items.as_slice() else {
            panic!("{items:?}");
        };
        assert_eq!((record.facility, record.level), (3, 6));
    }

    #[test]
    fn sequence_jumps_are_reported_as_gaps() {
        let items = records(b"6,10,1,-;a\n6,11,2,-;b\n6,15,3,-;c\n");
        assert_eq!(items.len(), 4);
        assert_eq!(
            items[2],
            KmsgItem::Gap {
                expected: 12,
                next: 15,
                missed: 3
            }
        );
    }

    #[test]
    fn records_split_across_reads_are_joined() {
        let mut stream = KmsgStream::new();
        let mut out = Vec::new();
        stream.feed(b"6,1,5,-;hel", &mut out);
        assert!(out.is_empty());
        stream.feed(b"lo\n", &mut out);
        assert!(matches!(&out[..], [KmsgItem::Record(r)] if r.message == "hello"));
    }

    #[test]
    fn malformed_lines_are_reported_not_fatal() {
        let items = records(b"garbage\n6,x,1,-;m\n6,2,1;m\n6,3,1,-;ok\n");
        assert!(matches!(
            items[0],
            KmsgItem::Malformed {
                error: KmsgError::NoSeparator,
                ..
            }
        ));
        assert!(matches!(
            items[1],
            KmsgItem::Malformed {
                error: KmsgError::BadNumber {
                    field: "sequence",
                    ..
                },
                ..
            }
        ));
        assert!(matches!(
            items[2],
            KmsgItem::Malformed {
                error: KmsgError::ShortHeader(3),
                ..
            }
        ));
        assert!(matches!(&items[3], KmsgItem::Record(r) if r.message == "ok"));
    }

    struct EpipeOnce {
        data: Vec<&'static [u8]>,
        failed: bool,
    }

    impl Read for EpipeOnce {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if !self.failed && self.data.len() == 1 {
                self.failed = true;
                return Err(std::io::Error::from_raw_os_error(
                    rustix::io::Errno::PIPE.raw_os_error(),
                ));
            }
            let Some(chunk) = self.data.first().copied() else {
                return Ok(0);
            };
            self.data.remove(0);
            buf[..chunk.len()].copy_from_slice(chunk);
            Ok(chunk.len())
        }
    }

    #[test]
    fn epipe_resumes_and_reports_the_overrun_and_gap() {
        let mut reader = EpipeOnce {
            data: vec![b"6,1,1,-;first\n", b"6,9,2,-;after overrun\n"],
            failed: false,
        };
        let mut items = Vec::new();
        let finished = KmsgStream::new().read_to_end(&mut reader, |item| {
            items.push(item);
            true
        });
        assert!(matches!(finished, Ok(true)));
        assert!(matches!(&items[0], KmsgItem::Record(r) if r.sequence == 1));
        assert_eq!(items[1], KmsgItem::Overrun);
        assert_eq!(
            items[2],
            KmsgItem::Gap {
                expected: 2,
                next: 9,
                missed: 7
            }
        );
        assert!(matches!(&items[3], KmsgItem::Record(r) if r.message == "after overrun"));
    }
}
