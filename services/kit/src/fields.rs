//! Fields of a JSON request body: telling a member sent as `null` from one left out, and
//! collecting every field's refusal into the one 422 problem that names them all.

use serde::{Deserialize, Deserializer};

use crate::problem::Problem;

/// The refusals of a body's fields so far, to become one 422 `validation-failed` problem
/// whose `errors` names each offending field.
///
/// ```
/// use kit::fields::FieldErrors;
///
/// let mut errors = FieldErrors::new();
/// let name = errors.check("name", Err::<String, _>("must not be empty"));
/// let age = errors.check("age", "42".parse::<u8>());
/// let problem = errors.finish(name.zip(age)).unwrap_err();
/// assert_eq!(problem.status, 422);
/// assert_eq!(problem.errors["name"], ["must not be empty"]);
/// assert!(!problem.errors.contains_key("age"));
/// ```
#[derive(Debug, Default)]
#[must_use = "the refusals are only reported by `finish`"]
pub struct FieldErrors {
    problem: Option<Problem>,
}

// === impl FieldErrors ===

impl FieldErrors {
    /// No refusal yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `field` when `result` holds one; otherwise records the error's message
    /// under `field` and gives `None`.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                let problem = self.problem.take().unwrap_or_else(Problem::validation);
                self.problem = Some(problem.with_field_error(field, err.to_string()));
                None
            }
        }
    }

    /// Records `message` under `field`: a refusal that no check returned, such as a
    /// required field left out.
    pub fn refuse(&mut self, field: &str, message: impl std::fmt::Display) {
        self.check::<(), _>(field, Err(message));
    }

    /// True when no field was refused.
    pub fn is_empty(&self) -> bool {
        self.problem.is_none()
    }

    /// `value` (the checked fields put together) when no field was refused, else the 422
    /// problem naming every refused field. A `None` with nothing refused (a field left
    /// unchecked) is a 422 too, never a panic.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Problem> {
        match (self.problem, value) {
            (None, Some(value)) => Ok(value),
            (Some(problem), _) => Err(problem),
            (None, None) => Err(Problem::validation()),
        }
    }
}

/// Deserializes a member that is present, `null` included, as `Some`: with
/// `#[serde(default, deserialize_with = "kit::fields::present")]` on an
/// `Option<Option<T>>`, an absent member is `None`, `null` is `Some(None)` and a value is
/// `Some(Some(value))`, as a PATCH body needs to tell "leave it" from "clear it".
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Patch {
        #[serde(default, deserialize_with = "present")]
        note: Option<Option<String>>,
    }

    #[test]
    fn present_tells_null_from_absent() {
        let patch: Patch = serde_json::from_str("{}").unwrap();
        assert_eq!(patch.note, None);
        let patch: Patch = serde_json::from_str(r#"{"note": null}"#).unwrap();
        assert_eq!(patch.note, Some(None));
        let patch: Patch = serde_json::from_str(r#"{"note": "hi"}"#).unwrap();
        assert_eq!(patch.note, Some(Some("hi".to_owned())));
        assert!(serde_json::from_str::<Patch>(r#"{"note": 5}"#).is_err());
    }

    #[test]
    fn every_refused_field_is_named_in_one_422() {
        let mut errors = FieldErrors::new();
        let a = errors.check("a", Err::<u8, _>("bad a"));
        let b = errors.check("b", Ok::<_, String>(2));
        let c = errors.check("c", Err::<u8, _>("bad c"));
        errors.refuse("c", "and worse");
        assert_eq!(b, Some(2));
        assert!(!errors.is_empty());
        let problem = errors.finish(a.zip(b).zip(c)).unwrap_err();
        assert_eq!(
            (problem.status, problem.code.as_str()),
            (422, "validation-failed")
        );
        assert_eq!(problem.errors.len(), 2);
        assert_eq!(problem.errors["a"], ["bad a"]);
        assert_eq!(problem.errors["c"], ["bad c", "and worse"]);
    }

    #[test]
    fn nothing_refused_gives_the_value() {
        let mut errors = FieldErrors::new();
        let a = errors.check("a", Ok::<_, String>(1));
        assert!(errors.is_empty());
        assert_eq!(errors.finish(a).unwrap(), 1);
        assert_eq!(
            FieldErrors::new().finish::<u8>(None).unwrap_err().status,
            422,
            "an unchecked field is a refusal, not a panic"
        );
    }
}
