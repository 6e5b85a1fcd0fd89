/// How much the view holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewSize {
    /// Profiles.
    pub users: usize,
    /// Friendships (pairs).
    pub friendships: usize,
    /// Authors with kept messages.
    pub authors: usize,
    /// Messages kept.
    pub messages: usize,
    /// Repairs in flight.
    pub repairs: usize,
}
