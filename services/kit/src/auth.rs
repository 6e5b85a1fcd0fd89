//! Who is calling, as the gateway verified it: the subject of the caller's bearer token
//! arrives in [`X_AUTHENTICATED_USER`].
//!
//! # Trust boundary
//!
//! Only the gateway may reach the services: they listen on a private network (loopback
//! under `gateway up`), and the gateway removes any `x-authenticated-user` a client sends
//! before it sets its own from a verified token. A service therefore trusts the header as
//! it is. A request without it is an internal call on that network (the timeline calling
//! the users service, say) or a route the gateway does not protect, and is served as if
//! no user were known; a service that exposes the header check to anyone but the gateway
//! would let any caller claim any user.

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::ids::UserId;
use crate::problem::Problem;

/// The header the gateway forwards the verified token subject in.
pub const X_AUTHENTICATED_USER: &str = "x-authenticated-user";

/// The verified caller; extracting it from a request without one is a 401 problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    subject: String,
}

/// The verified caller when the gateway named one, `None` otherwise (internal calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeAuthenticatedUser(pub Option<AuthenticatedUser>);

// === impl AuthenticatedUser ===

impl AuthenticatedUser {
    /// The token subject, as sent.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The subject as a user id, when it is one.
    pub fn user_id(&self) -> Option<UserId> {
        self.subject.parse().ok()
    }

    /// Whether the caller is user `id`.
    pub fn is(&self, id: UserId) -> bool {
        self.user_id() == Some(id)
    }

    /// The caller named in `parts`, if any; a header that is not text names nobody.
    fn from_parts(parts: &Parts) -> Option<Self> {
        let value = parts.headers.get(X_AUTHENTICATED_USER)?.to_str().ok()?;
        (!value.is_empty()).then(|| Self {
            subject: value.to_owned(),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthenticatedUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        Self::from_parts(parts).ok_or_else(|| {
            Problem::new(
                http::StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            )
            .with_detail("this operation needs a caller authenticated by the gateway")
        })
    }
}

// === impl MaybeAuthenticatedUser ===

impl MaybeAuthenticatedUser {
    /// `Ok` unless a caller is known and is not user `owner`: then the 403 problem that
    /// says only `owner` may `what` (`"delete message 9"`).
    pub fn may_act_for(&self, owner: UserId, what: &str) -> Result<(), Problem> {
        match &self.0 {
            Some(user) if !user.is(owner) => Err(Problem::forbidden(format!(
                "only user {owner} may {what}; the caller is user {}",
                user.subject()
            ))),
            _ => Ok(()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuthenticatedUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Self(AuthenticatedUser::from_parts(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(header: Option<&str>) -> Parts {
        let mut builder = http::Request::builder().uri("/");
        if let Some(value) = header {
            builder = builder.header(X_AUTHENTICATED_USER, value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[tokio::test]
    async fn the_caller_is_read_from_the_header() {
        let MaybeAuthenticatedUser(user) =
            MaybeAuthenticatedUser::from_request_parts(&mut parts(Some("7")), &())
                .await
                .unwrap();
        let user = user.unwrap();
        assert!(user.is(UserId::new(7)));
        assert!(!user.is(UserId::new(8)));
        let none = MaybeAuthenticatedUser::from_request_parts(&mut parts(None), &())
            .await
            .unwrap();
        assert_eq!(none, MaybeAuthenticatedUser(None));
        let rejected = AuthenticatedUser::from_request_parts(&mut parts(None), &())
            .await
            .unwrap_err();
        assert_eq!(rejected.status, 401);
    }

    #[test]
    fn acting_for_someone_else_is_forbidden_and_internal_calls_are_not() {
        let caller = |s: &str| {
            MaybeAuthenticatedUser(Some(AuthenticatedUser {
                subject: s.to_owned(),
            }))
        };
        assert!(caller("3").may_act_for(UserId::new(3), "x").is_ok());
        let problem = caller("4")
            .may_act_for(UserId::new(3), "delete message 9")
            .unwrap_err();
        assert_eq!(problem.status, 403);
        assert_eq!(problem.code, "forbidden");
        assert_eq!(
            problem.detail.unwrap(),
            "only user 3 may delete message 9; the caller is user 4"
        );
        // A subject that is no user id is nobody's owner.
        assert!(caller("auth0|x").may_act_for(UserId::new(3), "x").is_err());
        assert!(
            MaybeAuthenticatedUser(None)
                .may_act_for(UserId::new(3), "x")
                .is_ok()
        );
    }
}
