//! JSON bodies of the Claude Messages API.
//!
//! A body is parsed into a tree of byte spans (nothing is copied), the strings that people
//! and tools wrote are picked out by where they sit in the Messages API's shape, masked or
//! unmasked together in one batch, and written back in place: every byte outside a string
//! that changed is kept as it was, so ids, base64 data, `thinking` blocks and their
//! signatures, numbers and formatting pass through untouched. A string that changed is
//! written again with the fewest escapes JSON needs.

use std::borrow::Cow;

use crate::error::{Error, ErrorKind};

/// How deep arrays and objects may nest; deeper input is refused (a parser that recursed
/// without a bound could be made to overflow its stack).
pub(crate) const MAX_DEPTH: usize = 256;

/// A string literal in the text: `start..end` spans it with its quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Str {
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// it holds no escape: its content is the text between the quotes
    plain: bool,
}

impl Str {
    /// The string's value.
    pub(crate) fn decode<'t>(&self, text: &'t str) -> Result<Cow<'t, str>, Error> {
        let inner = &text[self.start + 1..self.end - 1];
        if self.plain {
            return Ok(Cow::Borrowed(inner));
        }
        decode(inner, self.start + 1).map(Cow::Owned)
    }

    /// Whether the string's value is `s` (for the short ASCII names of the API's shape).
    fn is(&self, text: &str, s: &str) -> bool {
        if self.plain {
            &text[self.start + 1..self.end - 1] == s
        } else {
            self.decode(text).is_ok_and(|v| v == s)
        }
    }
}

/// A JSON value as spans into its text.
#[derive(Debug)]
pub(crate) enum Node {
    Object(Vec<(Str, Node)>),
    Array(Vec<Node>),
    Str(Str),
    /// a number, `true`, `false` or `null`, and where it lies
    Scalar(usize, usize),
}

impl Node {
    /// The value of member `key` of an object.
    pub(crate) fn get(&self, text: &str, key: &str) -> Option<&Node> {
        match self {
            Node::Object(members) => members
                .iter()
                .find(|(k, _)| k.is(text, key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string member `key` of an object.
    pub(crate) fn get_str(&self, text: &str, key: &str) -> Option<Str> {
        match self.get(text, key) {
            Some(Node::Str(s)) => Some(*s),
            _ => None,
        }
    }

    /// The unsigned integer member `key` of an object.
    pub(crate) fn get_index(&self, text: &str, key: &str) -> Option<u64> {
        match self.get(text, key) {
            Some(Node::Scalar(s, e)) => text[*s..*e].parse().ok(),
            _ => None,
        }
    }

    /// The object's `type`, when it is `ty`.
    pub(crate) fn is_type(&self, text: &str, ty: &str) -> bool {
        self.get_str(text, "type").is_some_and(|s| s.is(text, ty))
    }
}

fn malformed(at: usize, what: &str) -> Error {
    Error::new(
        ErrorKind::Input,
        format!("malformed JSON at byte {at}: {what}"),
    )
}

/// Parses `text` as one JSON value (whitespace around it allowed).
///
/// # Errors
///
/// [`ErrorKind::Input`] for text that is not JSON, naming the byte offset (never the text),
/// or nested deeper than [`MAX_DEPTH`].
pub(crate) fn parse(text: &str) -> Result<Node, Error> {
    let mut p = Parser {
        h: text.as_bytes(),
        i: 0,
    };
    p.ws();
    let root = p.value(0)?;
    p.ws();
    if p.i != p.h.len() {
        return Err(malformed(p.i, "text after the end of the value"));
    }
    Ok(root)
}

struct Parser<'t> {
    h: &'t [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self
            .h
            .get(self.i)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, Error> {
        match self.h.get(self.i) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Node::Str),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(malformed(self.i, "expected a value")),
            None => Err(malformed(self.i, "unexpected end of input")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, Error> {
        if depth > MAX_DEPTH {
            return Err(malformed(self.i, "nested too deeply"));
        }
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.h.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Node::Object(members));
        }
        loop {
            self.ws();
            if self.h.get(self.i) != Some(&b'"') {
                return Err(malformed(self.i, "expected a member name"));
            }
            let key = self.string()?;
            self.ws();
            if self.h.get(self.i) != Some(&b':') {
                return Err(malformed(self.i, "expected `:`"));
            }
            self.i += 1;
            self.ws();
            let value = self.value(depth)?;
            members.push((key, value));
            self.ws();
            match self.h.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Node::Object(members));
                }
                _ => return Err(malformed(self.i, "expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node, Error> {
        if depth > MAX_DEPTH {
            return Err(malformed(self.i, "nested too deeply"));
        }
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.h.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Node::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth)?);
            self.ws();
            match self.h.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Node::Array(items));
                }
                _ => return Err(malformed(self.i, "expected `,` or `]`")),
            }
        }
    }

    fn string(&mut self) -> Result<Str, Error> {
        let start = self.i;
        self.i += 1;
        let mut plain = true;
        loop {
            // the next quote, backslash or control byte
            let rest = &self.h[self.i..];
            let Some(k) = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            else {
                return Err(malformed(start, "unterminated string"));
            };
            self.i += k;
            match self.h[self.i] {
                b'"' => {
                    self.i += 1;
                    return Ok(Str {
                        start,
                        end: self.i,
                        plain,
                    });
                }
                b'\\' => {
                    plain = false;
                    match self.h.get(self.i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.i += 2;
                        }
                        Some(b'u')
                            if self
                                .h
                                .get(self.i + 2..self.i + 6)
                                .is_some_and(|d| d.iter().all(u8::is_ascii_hexdigit)) =>
                        {
                            self.i += 6;
                        }
                        _ => return Err(malformed(self.i, "invalid escape in a string")),
                    }
                }
                _ => return Err(malformed(self.i, "control character in a string")),
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<Node, Error> {
        if self.h[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(Node::Scalar(self.i - word.len(), self.i))
        } else {
            Err(malformed(self.i, "expected a value"))
        }
    }

    fn number(&mut self) -> Result<Node, Error> {
        let start = self.i;
        let digits = |p: &mut Parser<'_>| {
            let from = p.i;
            while p.h.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - from
        };
        if self.h[self.i] == b'-' {
            self.i += 1;
        }
        match self.h.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(malformed(start, "invalid number")),
        }
        if self.h.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(malformed(start, "invalid number"));
            }
        }
        if matches!(self.h.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.h.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(malformed(start, "invalid number"));
            }
        }
        Ok(Node::Scalar(start, self.i))
    }
}

/// Decodes the escapes of a string's content; `at` is its offset, for errors.
fn decode(s: &str, at: usize) -> Result<String, Error> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut i = 0;
    let hex4 = |i: usize| u32::from_str_radix(&s[i..i + 4], 16).ok();
    while let Some(k) = memchr::memchr(b'\\', &b[i..]) {
        i += k;
        out.push_str(&s[last..i]);
        let c = match b[i + 1] {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            _ => {
                // `\uXXXX`, checked by the parser; a surrogate pair is two of them
                let u = hex4(i + 2).unwrap_or(0xFFFD);
                if (0xD800..0xDC00).contains(&u) {
                    let low = (b.get(i + 6) == Some(&b'\\') && b.get(i + 7) == Some(&b'u'))
                        .then(|| hex4(i + 8))
                        .flatten()
                        .filter(|l| (0xDC00..0xE000).contains(l));
                    let Some(low) = low else {
                        return Err(malformed(at + i, "unpaired surrogate escape in a string"));
                    };
                    i += 6;
                    char::from_u32(0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00))
                        .unwrap_or('\u{FFFD}')
                } else {
                    char::from_u32(u)
                        .ok_or_else(|| malformed(at + i, "unpaired surrogate escape in a string"))?
                }
            }
        };
        out.push(c);
        i += if b[i + 1] == b'u' { 6 } else { 2 };
        last = i;
    }
    out.push_str(&s[last..]);
    Ok(out)
}

/// Writes `s` as a JSON string literal, quotes included, escaping only what JSON requires.
pub(crate) fn encode_into(s: &str, out: &mut String) {
    out.push('"');
    escape_into(s, out);
    out.push('"');
}

/// Writes the content of a JSON string literal for `s` (no quotes).
pub(crate) fn escape_into(s: &str, out: &mut String) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        } else {
            out.push_str(esc);
        }
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// Members of content blocks that are structure, never text: left alone in blocks of a type
/// this module does not know.
const STRUCTURAL: &[&str] = &[
    "type",
    "id",
    "tool_use_id",
    "signature",
    "data",
    "media_type",
    "cache_control",
    "name",
];

/// The strings of a Messages API request body that carry text people and tools wrote, in
/// the order they appear.
pub(crate) fn request_strings(text: &str, root: &Node) -> Result<Vec<Str>, Error> {
    let Node::Object(members) = root else {
        return Err(Error::new(
            ErrorKind::Input,
            "a Messages API request body must be a JSON object",
        ));
    };
    let mut out = Vec::new();
    for (key, value) in members {
        if key.is(text, "system") {
            text_or_blocks(text, value, &mut out);
        } else if key.is(text, "messages") {
            if let Node::Array(messages) = value {
                for m in messages {
                    if let Some(content) = m.get(text, "content") {
                        text_or_blocks(text, content, &mut out);
                    }
                }
            }
        } else if key.is(text, "tools")
            && let Node::Array(tools) = value
        {
            for tool in tools {
                tool_strings(text, tool, &mut out);
            }
        }
    }
    out.sort_unstable_by_key(|s| s.start);
    Ok(out)
}

/// The strings of a Messages API response body to unmask: those of its content blocks, but
/// not `thinking` blocks.
pub(crate) fn response_strings(text: &str, root: &Node) -> Vec<Str> {
    let mut out = Vec::new();
    if let Some(Node::Array(blocks)) = root.get(text, "content") {
        for block in blocks {
            content_block(text, block, &mut out);
        }
    }
    out.sort_unstable_by_key(|s| s.start);
    out
}

fn text_or_blocks(text: &str, value: &Node, out: &mut Vec<Str>) {
    match value {
        Node::Str(s) => out.push(*s),
        Node::Array(blocks) => {
            for block in blocks {
                content_block(text, block, out);
            }
        }
        _ => {}
    }
}

/// One content block, in a request or a response.
pub(crate) fn content_block(text: &str, block: &Node, out: &mut Vec<Str>) {
    let is = |ty| block.is_type(text, ty);
    if is("thinking") || is("redacted_thinking") || is("image") {
        return;
    }
    if is("text") {
        out.extend(block.get_str(text, "text"));
        if let Some(Node::Array(citations)) = block.get(text, "citations") {
            for c in citations {
                citation(text, c, out);
            }
        }
    } else if is("tool_use") || is("server_tool_use") {
        if let Some(input) = block.get(text, "input") {
            all_strings(input, true, out);
        }
    } else if is("tool_result") {
        if let Some(content) = block.get(text, "content") {
            text_or_blocks(text, content, out);
        }
    } else if is("document") {
        for key in ["title", "context"] {
            out.extend(block.get_str(text, key));
        }
        if let Some(source) = block.get(text, "source") {
            if source.is_type(text, "text") {
                out.extend(source.get_str(text, "data"));
            } else if source.is_type(text, "content")
                && let Some(content) = source.get(text, "content")
            {
                text_or_blocks(text, content, out);
            }
        }
    } else if let Node::Object(members) = block {
        // a block this version does not know: every string but the structural ones
        for (key, value) in members {
            if !STRUCTURAL.iter().any(|s| key.is(text, s)) {
                all_strings(value, false, out);
            }
        }
    }
}

/// The strings of a citation (of a text block, or of a streamed `citations_delta`): what it
/// quotes comes from a document or a search result, and so does its title.
pub(crate) fn citation(text: &str, c: &Node, out: &mut Vec<Str>) {
    for key in ["cited_text", "document_title", "title"] {
        out.extend(c.get_str(text, key));
    }
}

/// Every string in `node`, member names too when `keys`.
fn all_strings(node: &Node, keys: bool, out: &mut Vec<Str>) {
    match node {
        Node::Str(s) => out.push(*s),
        Node::Array(items) => {
            for item in items {
                all_strings(item, keys, out);
            }
        }
        Node::Object(members) => {
            for (k, v) in members {
                if keys {
                    out.push(*k);
                }
                all_strings(v, keys, out);
            }
        }
        Node::Scalar(..) => {}
    }
}

/// The strings of a tool definition that people wrote: its `description`, its
/// `input_examples` (member names too, as in a `tool_use` input), and in its `input_schema`
/// (at any depth) every `description` and `title` and the values of `enum`, `const`,
/// `default` and `examples`, which the model may write back into a `tool_use` input. Its
/// other objects and arrays (those of tool types this version does not know) are read as
/// schemas too.
fn tool_strings(text: &str, tool: &Node, out: &mut Vec<Str>) {
    let Node::Object(members) = tool else { return };
    for (k, v) in members {
        if k.is(text, "input_schema") {
            schema_strings(text, v, out);
        } else if k.is(text, "input_examples") {
            all_strings(v, true, out);
        } else {
            match v {
                Node::Str(s) if k.is(text, "description") => out.push(*s),
                Node::Object(_) | Node::Array(_) => schema_strings(text, v, out),
                _ => {}
            }
        }
    }
}

/// The strings of a JSON schema that carry text or values (see [`tool_strings`]); member
/// names, types, formats and patterns stay as they are.
fn schema_strings(text: &str, node: &Node, out: &mut Vec<Str>) {
    match node {
        Node::Object(members) => {
            for (k, v) in members {
                let is = |name| k.is(text, name);
                match v {
                    Node::Str(s) if is("description") || is("title") => out.push(*s),
                    _ if is("enum") || is("const") || is("default") || is("examples") => {
                        all_strings(v, false, out);
                    }
                    // a map from names to schemas: a property may be called `enum`
                    Node::Object(props)
                        if is("properties")
                            || is("patternProperties")
                            || is("$defs")
                            || is("definitions") =>
                    {
                        for (_, sub) in props {
                            schema_strings(text, sub, out);
                        }
                    }
                    _ => schema_strings(text, v, out),
                }
            }
        }
        Node::Array(items) => {
            for item in items {
                schema_strings(text, item, out);
            }
        }
        _ => {}
    }
}

/// `text` with the strings of `spans` (sorted, not overlapping) given to `f` as their
/// values, and those it gives a new value written again.
pub(crate) fn rewrite_with<'t>(
    text: &'t str,
    spans: &[Str],
    f: impl FnOnce(&[Cow<'t, str>]) -> Result<Vec<Option<String>>, Error>,
) -> Result<Cow<'t, str>, Error> {
    let parts = spans
        .iter()
        .map(|s| s.decode(text))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rewrite(text, spans, &f(&parts)?))
}

/// `text` with each string of `spans` (sorted, not overlapping) that has a new value in
/// `values` written again; borrowed when none has.
pub(crate) fn rewrite<'t>(text: &'t str, spans: &[Str], values: &[Option<String>]) -> Cow<'t, str> {
    if values.iter().all(Option::is_none) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut last = 0;
    for (s, v) in spans.iter().zip(values) {
        if let Some(v) = v {
            out.push_str(&text[last..s.start]);
            encode_into(v, &mut out);
            last = s.end;
        }
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(text: &str, spans: &[Str]) -> Vec<String> {
        spans
            .iter()
            .map(|s| s.decode(text).unwrap().into_owned())
            .collect()
    }

    #[test]
    fn parses_valid_json_and_refuses_the_rest() {
        for ok in [
            "{}",
            " [1, -0.5e+3, true, false, null, \"a\\u00e9\\n\"] ",
            r#"{"a":{"b":[{"c":"d"}]},"e":""}"#,
            "\"\\ud83d\\ude00\"",
            "0",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "{",
            "{\"a\" 1}",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            "-",
            "\"abc",
            "\"a\\x\"",
            "\"a\\u12\"",
            "\"tab\there\"",
            "tru",
            "{} {}",
            "{'a':1}",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Input, "{bad}");
            assert!(e.to_string().contains("malformed JSON at byte"), "{e}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&deep).is_ok());
        let deeper = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(&deeper).unwrap_err().to_string().contains("deeply"));
        let hostile = "[".repeat(1_000_000);
        assert!(parse(&hostile).is_err());
    }

    #[test]
    fn strings_decode_and_encode_back() {
        let text = r#"["arn:aws:s3:::b\/k", "caf\u00e9 \ud83d\ude00", "q\"\\\b\f\n\r\t\u0001"]"#;
        let Node::Array(items) = parse(text).unwrap() else {
            panic!()
        };
        let got: Vec<String> = items
            .iter()
            .map(|n| match n {
                Node::Str(s) => s.decode(text).unwrap().into_owned(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(
            got,
            ["arn:aws:s3:::b/k", "café 😀", "q\"\\\u{8}\u{c}\n\r\t\u{1}"]
        );
        for v in &got {
            let mut enc = String::new();
            encode_into(v, &mut enc);
            let Node::Str(s) = parse(&enc).unwrap() else {
                panic!()
            };
            assert_eq!(&s.decode(&enc).unwrap(), v);
        }
        let lone = r#""\ud800x""#;
        let Node::Str(s) = parse(lone).unwrap() else {
            panic!()
        };
        assert!(
            s.decode(lone)
                .unwrap_err()
                .to_string()
                .contains("surrogate")
        );
    }

    #[test]
    fn a_request_gives_its_text_and_nothing_structural() {
        let body = r#"{
          "model": "claude-x", "max_tokens": 10, "metadata": {"user_id": "u-1"},
          "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
          "tools": [{"name": "run", "description": "tool doc",
                     "input_schema": {"type": "object", "title": "schema title", "properties":
                       {"cmd": {"type": "string", "description": "prop doc"},
                        "host": {"type": "string", "enum": ["e1", "e2"], "default": "d",
                                 "examples": ["x1"], "pattern": "^p$", "format": "hostname"},
                        "enum": {"type": "object", "const": {"ck": "cv"},
                                 "required": ["r"], "additionalProperties": {"type": "integer"}}},
                       "required": ["cmd"]},
                     "input_examples": [{"cmd": "example"}]},
                    {"type": "web_search_20250305", "name": "web_search", "max_uses": 5,
                     "allowed_domains": ["example.com"]}],
          "messages": [
            {"role": "user", "content": "plain"},
            {"role": "assistant", "content": [
              {"type": "thinking", "thinking": "secret thought", "signature": "sig"},
              {"type": "redacted_thinking", "data": "opaque"},
              {"type": "text", "text": "said", "citations": [{"type": "char_location",
               "cited_text": "quoted", "document_index": 0, "document_title": "cited doc",
               "start_char_index": 0, "end_char_index": 6}]},
              {"type": "tool_use", "id": "toolu_1", "name": "run",
               "input": {"cmd": "in", "nested": [{"k": "deep"}]}}]},
            {"role": "user", "content": [
              {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                {"type": "text", "text": "result"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
              {"type": "tool_result", "tool_use_id": "toolu_2", "content": "result2"},
              {"type": "document", "title": "doc title",
               "source": {"type": "text", "media_type": "text/plain", "data": "doc text"}},
              {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}},
              {"type": "future_block", "id": "x", "body": {"note": "new text"}}]}
          ]}"#;
        let root = parse(body).unwrap();
        let got = strings(body, &request_strings(body, &root).unwrap());
        assert_eq!(
            got,
            [
                "sys",
                "tool doc",
                "schema title",
                "prop doc",
                "e1",
                "e2",
                "d",
                "x1",
                "cv",
                "cmd",
                "example",
                "plain",
                "said",
                "quoted",
                "cited doc",
                "cmd",
                "in",
                "nested",
                "k",
                "deep",
                "result",
                "result2",
                "doc title",
                "doc text",
                "new text",
            ]
        );
        assert!(
            request_strings("[]", &parse("[]").unwrap())
                .unwrap_err()
                .to_string()
                .contains("object")
        );
    }

    #[test]
    fn a_response_gives_its_text_but_not_thinking() {
        let body = r#"{"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
          "content": [
            {"type": "thinking", "thinking": "t", "signature": "s"},
            {"type": "text", "text": "answer"},
            {"type": "tool_use", "id": "toolu_1", "name": "run", "input": {"a": ["b"]}}],
          "stop_reason": "end_turn", "usage": {"input_tokens": 1}}"#;
        let root = parse(body).unwrap();
        assert_eq!(
            strings(body, &response_strings(body, &root)),
            ["answer", "a", "b"]
        );
        let err = r#"{"type":"error","error":{"type":"x","message":"m"}}"#;
        assert!(response_strings(err, &parse(err).unwrap()).is_empty());
    }

    #[test]
    fn rewriting_keeps_every_other_byte() {
        let text = "{ \"a\" : \"x\" ,\"b\":[ \"y\\/\" ] , \"c\": 1.50 }";
        let Node::Object(m) = parse(text).unwrap() else {
            panic!()
        };
        let (Node::Str(x), Node::Array(b)) = (&m[0].1, &m[1].1) else {
            panic!()
        };
        let Node::Str(y) = &b[0] else { panic!() };
        let spans = [*x, *y];
        assert_eq!(rewrite(text, &spans, &[None, None]), Cow::Borrowed(text));
        assert_eq!(
            rewrite(text, &spans, &[None, Some("z\"".into())]),
            "{ \"a\" : \"x\" ,\"b\":[ \"z\\\"\" ] , \"c\": 1.50 }"
        );
    }
}
