//! Unmasking a streamed Messages API answer: server-sent events.

use std::collections::HashMap;
use std::fmt;

use super::json;
use super::{Masker, StreamUnmasker};
use crate::error::{Error, ErrorKind};

/// Restores the tokens of a streamed Claude Messages API answer (`"stream": true`), read as
/// the raw bytes of its server-sent events in chunks of any size.
///
/// Events keep their framing and order. In `content_block_delta` events the text of a
/// `text_delta` and the JSON of an `input_json_delta` go through one stream unmasker per
/// content block, so a token split across deltas, or across network chunks at any byte, is
/// restored; only the end of a delta that may be the start of a token is held back, and it
/// is sent with the next delta of that block, or in one more delta just before the block's
/// `content_block_stop`. A delta whose text is held back whole is not sent. A
/// `citations_delta` has its quoted text and title unmasked whole. `thinking`
/// blocks, `signature_delta`s and every other event (`message_start`, `message_delta`,
/// `message_stop`, `ping`, `error`, events this version does not know) pass through byte for
/// byte.
///
/// ```
/// # use awsmask::Masker;
/// let masker = Masker::new()?;
/// let token = masker.mask("i-0123456789abcdef0")?.text().to_owned();
/// let (a, b) = token.split_at(9);
/// let delta = |t: &str| format!(
///     "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\
///      \"delta\":{{\"type\":\"text_delta\",\"text\":\"{t}\"}}}}\n\n");
/// let mut sse = masker.sse_unmasker();
/// let mut out = sse.push(delta(&format!("see {a}")).as_bytes())?;
/// out.extend(sse.push(delta(b).as_bytes())?);
/// out.extend(sse.push(b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")?);
/// out.extend(sse.finish()?);
/// let out = String::from_utf8(out).unwrap();
/// assert!(out.contains("\"text\":\"see \"") && out.contains("\"text\":\"i-0123456789abcdef0\""));
/// # Ok::<(), awsmask::Error>(())
/// ```
pub struct SseUnmasker {
    masker: Masker,
    /// bytes of an event not complete yet
    pending: Vec<u8>,
    /// open content blocks by index
    blocks: HashMap<u64, Block>,
}

impl fmt::Debug for SseUnmasker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseUnmasker")
            .field("pending_bytes", &self.pending.len())
            .field("open_blocks", &self.blocks.len())
            .finish_non_exhaustive()
    }
}

/// A content block being streamed.
struct Block {
    /// `None` for blocks left as they are (`thinking`)
    unmasker: Option<StreamUnmasker>,
    /// the delta type this block's text came in, for a last delta of held-back text
    delta: Delta,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Delta {
    /// none seen yet
    None,
    Text,
    Json,
}

/// The longest event this accepts: a larger one is refused rather than held without bound.
const MAX_EVENT: usize = 64 << 20;

impl SseUnmasker {
    pub(super) fn new(masker: Masker) -> SseUnmasker {
        SseUnmasker {
            masker,
            pending: Vec::new(),
            blocks: HashMap::new(),
        }
    }

    /// Adds bytes of the stream; returns the bytes ready to send on.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Input`] for an event that is not UTF-8, a content block event whose data
    /// is not JSON, or an event over 64 MiB; store errors. Nothing is returned then.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, Error> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut start = 0;
        // taken out while its events are handled (they need `self`), put back after
        let pending = std::mem::take(&mut self.pending);
        let mut result = Ok(());
        while let Some(end) = event_end(&pending, start) {
            result = self.event(&pending[start..end], &mut out);
            if result.is_err() {
                break;
            }
            start = end;
        }
        self.pending = pending;
        result?;
        self.pending.drain(..start);
        if self.pending.len() > MAX_EVENT {
            return Err(Error::new(
                ErrorKind::Input,
                "a server-sent event is longer than 64 MiB",
            ));
        }
        Ok(out)
    }

    /// Ends the stream: returns an event left without its closing blank line, and the text
    /// still held back for blocks that never saw their `content_block_stop`.
    ///
    /// # Errors
    ///
    /// As for [`push`](Self::push).
    pub fn finish(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let event = std::mem::take(&mut self.pending);
        if !event.is_empty() {
            self.event(&event, &mut out)?;
        }
        let mut open: Vec<u64> = self.blocks.keys().copied().collect();
        open.sort_unstable();
        for index in open {
            self.close(index, "\n", &mut out)?;
        }
        Ok(out)
    }

    /// Writes `event` again with the strings of its `data` at `spans` unmasked, all at once.
    fn unmask_whole(
        &self,
        event: &str,
        data: &str,
        mut spans: Vec<json::Str>,
        newline: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        spans.sort_unstable_by_key(|s| s.start);
        let new = json::rewrite_with(data, &spans, |parts| self.masker.unmask_parts(parts))?;
        write_event(event, &new, newline, out);
        Ok(())
    }

    /// Handles one whole event (with its closing blank line, when it has one).
    fn event(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        let text = std::str::from_utf8(raw)
            .map_err(|_| Error::new(ErrorKind::Input, "a server-sent event is not UTF-8"))?;
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let Some(data) = data_of(text) else {
            out.extend_from_slice(raw);
            return Ok(());
        };
        // only content block events change; anything else is passed on as it came
        let interesting = [
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
        ]
        .iter()
        .any(|t| data.contains(t));
        if !interesting {
            out.extend_from_slice(raw);
            return Ok(());
        }
        let root = json::parse(&data)?;
        let Some(index) = root.get_index(&data, "index") else {
            out.extend_from_slice(raw);
            return Ok(());
        };
        if root.is_type(&data, "content_block_start") {
            let thinking = root.get(&data, "content_block").is_some_and(|b| {
                b.is_type(&data, "thinking") || b.is_type(&data, "redacted_thinking")
            });
            self.blocks.insert(
                index,
                Block {
                    unmasker: (!thinking).then(|| self.masker.stream_unmasker()),
                    delta: Delta::None,
                },
            );
            // a block that starts with content (rare: a server tool's result) has it unmasked
            if thinking {
                out.extend_from_slice(raw);
                return Ok(());
            }
            let Some(block) = root.get(&data, "content_block") else {
                out.extend_from_slice(raw);
                return Ok(());
            };
            let mut spans = Vec::new();
            json::content_block(&data, block, &mut spans);
            self.unmask_whole(text, &data, spans, newline, out)?;
        } else if root.is_type(&data, "content_block_delta") {
            let Some(delta) = root.get(&data, "delta") else {
                out.extend_from_slice(raw);
                return Ok(());
            };
            if delta.is_type(&data, "citations_delta") {
                // a whole citation in one event: unmasked as it is
                let mut spans = Vec::new();
                if let Some(c) = delta.get(&data, "citation") {
                    json::citation(&data, c, &mut spans);
                }
                self.unmask_whole(text, &data, spans, newline, out)?;
                return Ok(());
            }
            let (kind, field) = if delta.is_type(&data, "text_delta") {
                (Delta::Text, "text")
            } else if delta.is_type(&data, "input_json_delta") {
                (Delta::Json, "partial_json")
            } else {
                out.extend_from_slice(raw);
                return Ok(());
            };
            let Some(span) = delta.get_str(&data, field) else {
                out.extend_from_slice(raw);
                return Ok(());
            };
            let block = self.blocks.entry(index).or_insert_with(|| Block {
                unmasker: Some(self.masker.stream_unmasker()),
                delta: Delta::None,
            });
            let Some(unmasker) = &mut block.unmasker else {
                out.extend_from_slice(raw);
                return Ok(());
            };
            if block.delta == Delta::None {
                block.delta = kind;
                unmasker.json = kind == Delta::Json;
            }
            let ready = unmasker.push(&span.decode(&data)?)?;
            if ready.is_empty() {
                return Ok(());
            }
            let new = json::rewrite(&data, &[span], &[Some(ready)]);
            write_event(text, &new, newline, out);
        } else if root.is_type(&data, "content_block_stop") {
            self.close(index, newline, out)?;
            out.extend_from_slice(raw);
        } else {
            out.extend_from_slice(raw);
        }
        Ok(())
    }

    /// Ends block `index`: the text it still holds goes out in one more delta.
    fn close(&mut self, index: u64, newline: &str, out: &mut Vec<u8>) -> Result<(), Error> {
        let Some(mut block) = self.blocks.remove(&index) else {
            return Ok(());
        };
        let Some(unmasker) = &mut block.unmasker else {
            return Ok(());
        };
        let rest = unmasker.finish()?;
        if rest.is_empty() {
            return Ok(());
        }
        let (ty, field) = match block.delta {
            Delta::Json => ("input_json_delta", "partial_json"),
            _ => ("text_delta", "text"),
        };
        let mut data = format!(
            "{{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{{\"type\":\"{ty}\",\"{field}\":"
        );
        json::encode_into(&rest, &mut data);
        data.push_str("}}");
        let event = format!("event: content_block_delta{newline}data: {data}{newline}{newline}");
        out.extend_from_slice(event.as_bytes());
        Ok(())
    }
}

/// The end of the first whole event in `h` at or after `from`: just past the blank line
/// that closes it.
fn event_end(h: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(k) = memchr::memchr(b'\n', &h[at..]) {
        let p = at + k;
        match (h.get(p + 1), h.get(p + 2)) {
            (Some(b'\n'), _) => return Some(p + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(p + 3),
            // a blank line may still be on its way
            (None, _) | (Some(b'\r'), None) => return None,
            _ => at = p + 1,
        }
    }
    None
}

/// The event's data: its `data:` lines joined by line breaks, or `None` without one.
fn data_of(event: &str) -> Option<String> {
    let mut data: Option<String> = None;
    for line in event.lines() {
        let Some(rest) = line.strip_prefix("data:") else {
            continue;
        };
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        match &mut data {
            Some(d) => {
                d.push('\n');
                d.push_str(rest);
            }
            None => data = Some(rest.to_owned()),
        }
    }
    data
}

/// Writes `event` again with `data` as its data: its other lines as they were, the data
/// where the first `data:` line was.
fn write_event(event: &str, data: &str, newline: &str, out: &mut Vec<u8>) {
    let mut wrote = false;
    for line in event.lines() {
        if line.is_empty() {
            continue;
        }
        if line.starts_with("data:") {
            if !wrote {
                // line breaks in the data (JSON whitespace) each start a `data:` line again
                for part in data.split('\n') {
                    out.extend_from_slice(b"data: ");
                    out.extend_from_slice(part.as_bytes());
                    out.extend_from_slice(newline.as_bytes());
                }
                wrote = true;
            }
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(newline.as_bytes());
    }
    out.extend_from_slice(newline.as_bytes());
}
