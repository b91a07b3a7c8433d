//! The error type of awsmask.

use std::fmt;

/// What went wrong, to branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration is invalid: an unknown kind, a bad pattern, a bad store URL or key.
    Config,
    /// Input that cannot be processed as asked (for example text that is not UTF-8).
    Input,
    /// A key is missing, malformed, or cannot be made.
    Key,
    /// The mapping store failed or cannot be reached.
    Store,
    /// The mapping store is full of live mappings.
    StoreFull,
    /// Reading or writing a stream failed.
    Io,
}

/// An error of awsmask. Its message never contains an identifier from the input.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: Box<str>,
    io: Option<std::io::ErrorKind>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<Box<str>>) -> Error {
        Error {
            kind,
            message: message.into(),
            io: None,
        }
    }

    pub(crate) fn io(message: impl Into<Box<str>>, err: &std::io::Error) -> Error {
        Error {
            kind: ErrorKind::Io,
            message: message.into(),
            io: Some(err.kind()),
        }
    }

    /// For an [`ErrorKind::Io`] error, the kind of the underlying I/O error (for example
    /// `BrokenPipe` when the reader of the output went away).
    #[must_use]
    pub fn io_error_kind(&self) -> Option<std::io::ErrorKind> {
        self.io
    }

    /// What kind of error this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether trying again later may succeed (a store that is down or full).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Store | ErrorKind::StoreFull | ErrorKind::Io
        )
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("io", &self.io)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        std::io::Error::other(e)
    }
}
