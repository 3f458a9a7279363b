//! Credentials: the manage token that opens one booking for the patient who made it, staff
//! tokens with roles (`jwt`), and password hashing (`password`). Who may call which route is
//! decided at the edge, by the extractors of `routes::access`.

pub mod jwt;
pub(crate) mod password;
