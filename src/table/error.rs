//! What is wrong with a routes file: each problem at its line and column, and the set of
//! them that refuses a load.

use std::fmt;

use serde::Serialize;

/// One problem in a routes file, at its line and column (both 1-based; 0 when the problem
/// is with the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConfigError {
    /// 1-based line, or 0.
    pub line: u64,
    /// 1-based column, or 0.
    pub column: u64,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// Every problem found in a routes file; the table it described was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<ConfigError>);

// === impl ConfigError ===

impl ConfigError {
    /// An error at `line`:`column`.
    pub fn new(line: u64, column: u64, message: impl Into<String>) -> Self {
        Self {
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "{}:{}: {}", self.line, self.column, self.message)
        }
    }
}

// === impl LoadErrors ===

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}
